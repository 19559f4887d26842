"""The analysis plan: parsing, every validation error, deviations, hashes and EffectSpecs."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import EffectSpec, ancova, estimate_effects
from evaluation.plan import AnalysisPlan, PlanError, parse_plan, read_plan

ROOT = pathlib.Path(__file__).resolve().parents[2]

BASE = """
[plan]
title = "Test plan"
version = "1"
results_framework = "results_framework.toml"
seed = 12345

[design]
treatment = "treatment"

[instruments.apprentice]
rounds = ["baseline", "endline"]
key = "resp_id"
cluster = "enterprise_id"
fixed_effects = ["stratum"]
covariates = ["dem_age"]
categorical_covariates = ["dem_sex"]

[families.employability]
label = "Employability"
label_zh = "就业能力"
instrument = "apprentice"
outcomes = ["employed", "wage_month"]

[families.skills]
label = "Skills"
instrument = "apprentice"
outcomes = ["core_skills_index"]
multiple_testing = "holm"

[subgroups.sex]
column = "dem_sex"
instrument = "apprentice"

[estimators]
primary = "ancova"
robustness = ["did"]

[inference]
method = "analytic"
vcov = "CR1"
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def fails(text: str, *parts: str) -> PlanError:
    with pytest.raises(PlanError) as info:
        parse_plan(text, source="plan.toml")
    message = str(info.value)
    assert message.startswith("plan.toml: ")
    for part in parts:
        assert part in message, message
    return info.value


def registered(text: str = BASE) -> str:
    """Register a plan body: the hash comes from the reader's own error message."""
    draft = edit("seed = 12345", 'seed = 12345\nstatus = "registered"\nregistered_hash = "x"', text)
    error = fails(draft, "registered_hash")
    body_hash = error.problem.split("hashes to ")[1].split(",")[0]
    return draft.replace('registered_hash = "x"', f'registered_hash = "{body_hash}"')


# --- parsing -------------------------------------------------------------------------------


def test_committed_plan_is_valid():
    plan = read_plan(ROOT / "analysis" / "plan.toml")
    assert [f.name for f in plan.families] == [
        "employability",
        "job_quality",
        "mismatch",
        "skills",
        "apprenticeship_quality",
        "enterprise",
    ]
    assert plan.primary == "ancova"
    assert plan.robustness == ("did", "ipw", "aipw", "matching")
    assert [g.name for g in plan.subgroups] == ["sex", "hukou", "disability", "city"]
    assert plan.results_framework_path == ROOT / "analysis" / "results_framework.toml"
    assert plan.estimated_instruments == ("apprentice", "enterprise")
    assert plan.disclosure.threshold == 5
    assert plan.inference.method == "auto"
    assert plan.attrition is not None
    assert set(plan.attrition.lee_outcomes) <= set(plan.outcomes())
    assert plan.indicators["wage"]["bracket_method"] == "midpoint"
    assert plan.folder == ROOT / "analysis"


def test_indicators_table_is_kept_read_only():
    text = BASE + '\n[indicators]\nindex_method = "icw"\n[indicators.wage]\nwinsor = [0.01, 0.99]\n'
    plan = parse_plan(text)
    assert plan.indicators["wage"]["winsor"] == (0.01, 0.99)
    with pytest.raises(TypeError):
        plan.indicators["index_method"] = "zscore"  # type: ignore[index]
    assert parse_plan(BASE).indicators == {}
    assert parse_plan(text).body_hash != parse_plan(BASE).body_hash


def test_minimal_plan_and_defaults():
    plan = parse_plan(BASE, source="analysis/plan.toml")
    assert isinstance(plan, AnalysisPlan)
    assert plan.status == "draft"
    assert plan.registered_hash is None
    assert plan.seed == 12345
    assert plan.round == "round"
    assert (plan.baseline_round, plan.endline_round) == ("baseline", "endline")
    assert plan.baseline_column == "{outcome}_baseline"
    assert plan.level == 0.95
    assert plan.outcomes() == ("employed", "wage_month", "core_skills_index")
    assert plan.outcome_families["core_skills_index"] == "skills"
    assert [f.multiple_testing for f in plan.families] == ["anderson", "holm"]
    assert plan.multiple_testing.across == "romano_wolf"
    assert plan.subgroups[0].label == "sex"
    assert plan.instrument("apprentice").regressors == ("dem_age", "C(dem_sex)")
    assert plan.attrition is None
    assert plan.comparison.trim == (0.1, 0.9)
    assert plan.disclosure.threshold_for(["employed"]) == 5
    assert len(plan.body_hash) == 64
    assert plan.plan_hash != plan.body_hash
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seed = 1  # type: ignore[misc]


def test_hash_ignores_layout_but_not_values():
    plan = parse_plan(BASE)
    relaid = parse_plan("# a comment\n" + BASE.replace(' = "', '   =   "'))
    assert relaid.body_hash == plan.body_hash
    assert relaid.plan_hash == plan.plan_hash
    changed = parse_plan(edit("seed = 12345", "seed = 12346"))
    assert changed.body_hash != plan.body_hash


def test_read_plan_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(PlanError, match=r"nope\.toml: \(top level\): cannot read the plan"):
        read_plan(path)


def test_read_plan_from_file_names_it(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(edit('primary = "ancova"', 'primary = "tobit"'), encoding="utf-8")
    with pytest.raises(PlanError, match=r"plan\.toml: \[estimators\] primary: unknown value"):
        read_plan(path)


# --- one test per validation error ---------------------------------------------------------


def test_invalid_toml():
    fails(BASE + "\n[broken\n", "not valid TOML", "line")


def test_unknown_top_level_table():
    fails(BASE + "\n[extras]\nx = 1\n", "(top level) extras: unknown key")


def test_unknown_key():
    fails(edit('vcov = "CR1"', 'vcov = "CR1"\nmethd = "wild"'), "[inference] methd: unknown key")


def test_unknown_key_in_family():
    fails(edit('multiple_testing = "holm"', 'outcome = "x"'), "[families.skills] outcome")


def test_missing_required_key():
    fails(edit('treatment = "treatment"', ""), "[design] treatment: missing required key")


def test_wrong_type():
    fails(edit('cluster = "enterprise_id"', "cluster = 3"), "[instruments.apprentice] cluster")


def test_family_without_outcomes():
    fails(
        edit('outcomes = ["core_skills_index"]', "outcomes = []"),
        "[families.skills] outcomes: a family needs at least one outcome",
    )


def test_family_missing_outcomes_key():
    fails(edit('outcomes = ["core_skills_index"]', ""), "[families.skills] outcomes: missing")


def test_outcome_in_two_families():
    fails(
        edit('outcomes = ["core_skills_index"]', 'outcomes = ["core_skills_index", "employed"]'),
        "[families.skills] outcomes",
        "'employed' is already in family 'employability'",
    )


def test_outcome_listed_twice():
    fails(
        edit('["employed", "wage_month"]', '["employed", "employed"]'),
        "[families.employability] outcomes: listed more than once: ['employed']",
    )


def test_family_unknown_instrument():
    text = edit(
        'instrument = "apprentice"\noutcomes = ["core', 'instrument = "firm"\noutcomes = ["core'
    )
    fails(text, "[families.skills] instrument: unknown instrument 'firm'")


def test_no_family():
    text = (
        BASE.split("[families.employability]", maxsplit=1)[0]
        + BASE.split("[subgroups.sex]", maxsplit=1)[0].split('multiple_testing = "holm"')[1]
    )
    text += BASE[BASE.index("[estimators]") :]
    fails(text, "[families]: the plan names no outcome family")


def test_unknown_primary_estimator():
    fails(edit('primary = "ancova"', 'primary = "tobit"'), "[estimators] primary", "'tobit'")


def test_unknown_robustness_estimator():
    fails(edit('robustness = ["did"]', 'robustness = ["did", "rdd"]'), "unknown estimator 'rdd'")


def test_primary_also_robustness():
    fails(edit('robustness = ["did"]', 'robustness = ["ancova"]'), "cannot also be a robustness")


@pytest.mark.parametrize("seed", ["-1", "true", "1.5", '"42"', str(2**63)])
def test_bad_seed(seed):
    fails(edit("seed = 12345", f"seed = {seed}"), "[plan] seed")


def test_unknown_inference_method():
    fails(edit('method = "analytic"', 'method = "jackknife"'), "[inference] method")


def test_unknown_vcov():
    fails(edit('vcov = "CR1"', 'vcov = "CR3"'), "[inference] vcov: unknown value 'CR3'")


def test_bootstrap_draws_positive():
    fails(edit('vcov = "CR1"', 'vcov = "CR1"\nbootstrap_draws = 0'), "bootstrap_draws", ">= 1")


def test_unknown_multiple_testing_method():
    fails(edit('multiple_testing = "holm"', 'multiple_testing = "fdr"'), "multiple_testing")


def test_disclosure_threshold_too_small():
    fails(
        BASE + "\n[disclosure]\nthreshold = 1\n", "[disclosure] threshold: expected an integer >= 2"
    )


def test_sensitive_threshold_below_general():
    text = BASE + "\n[disclosure]\nthreshold = 10\nsensitive_threshold = 5\n"
    fails(text, "[disclosure] sensitive_threshold")


def test_level_out_of_range():
    fails(edit('treatment = "treatment"', 'treatment = "treatment"\nlevel = 95'), "[design] level")


def test_baseline_column_template():
    text = edit('treatment = "treatment"', 'treatment = "treatment"\nbaseline_column = "bl"')
    fails(text, "[design] baseline_column", "{outcome}")


def test_round_missing_from_instrument():
    fails(edit('rounds = ["baseline", "endline"]', 'rounds = ["baseline"]'), "'endline' round")


def test_results_framework_must_be_relative_toml():
    fails(edit('"results_framework.toml"', '"/etc/rf.toml"'), "[plan] results_framework")


def test_categorical_covariate_also_numeric():
    text = edit('categorical_covariates = ["dem_sex"]', 'categorical_covariates = ["dem_age"]')
    fails(text, "categorical_covariates: also listed in covariates: ['dem_age']")


def test_subgroup_unknown_instrument():
    text = edit('column = "dem_sex"\ninstrument = "apprentice"', 'column = "s"\ninstrument = "x"')
    fails(text, "[subgroups.sex] instrument: unknown instrument 'x'")


def test_lee_outcome_not_in_a_family():
    text = BASE + (
        '\n[attrition]\ninstrument = "apprentice"\nresponse = "responded"\n'
        'lee_outcomes = ["wage_hour"]\nlee_observed = "employed"\n'
    )
    fails(text, "[attrition] lee_outcomes: not outcomes of any family: ['wage_hour']")


@pytest.mark.parametrize("trim", ["[0.9, 0.1]", "[0.1]", '"none"', "[true, 0.9]"])
def test_bad_trim(trim):
    fails(BASE + f"\n[comparison]\ntrim = {trim}\n", "[comparison] trim")


def test_bad_caliper():
    fails(BASE + "\n[comparison]\ncaliper = -1\n", "[comparison] caliper")


# --- registration and deviations -----------------------------------------------------------


def test_registered_plan_with_its_hash():
    plan = parse_plan(registered())
    assert plan.status == "registered"
    assert plan.registered_hash == plan.body_hash


def test_registered_plan_whose_body_changed():
    text = registered().replace("seed = 12345", "seed = 999")
    fails(text, "[plan] registered_hash", "changes only through [deviations.<id>]")


def test_deviation_changes_the_plan_and_is_logged():
    text = registered() + (
        "\n[deviations.D01]\n"
        'what = "Wild cluster bootstrap instead of analytic CR1"\n'
        'why = "Only 12 enterprises joined"\n'
        'who = "Evaluation manager"\n'
        "date = 2025-09-01\n"
        'set = { "inference.method" = "wild", "estimators.robustness" = [] }\n'
    )
    plan = parse_plan(text)
    base = parse_plan(registered())
    assert plan.inference.method == "wild"
    assert plan.robustness == ()
    assert plan.body_hash == base.body_hash  # the registered body is untouched
    assert plan.plan_hash != base.plan_hash  # the plan as run is not
    (deviation,) = plan.deviations
    assert (deviation.id, deviation.date, deviation.who) == (
        "D01",
        "2025-09-01",
        "Evaluation manager",
    )
    assert dict(deviation.changes) == {"inference.method": "wild", "estimators.robustness": []}


def test_deviation_missing_field():
    text = registered() + '\n[deviations.D01]\nwhat = "x"\nwhy = "y"\ndate = 2025-09-01\n'
    fails(text, "[deviations.D01] who: missing required key")


def test_deviation_bad_date():
    text = registered() + '\n[deviations.D01]\nwhat = "x"\nwhy = "y"\nwho = "z"\ndate = "soon"\n'
    fails(text, "[deviations.D01] date: expected a date")


def test_deviation_sets_unknown_path():
    text = registered() + (
        '\n[deviations.D01]\nwhat = "x"\nwhy = "y"\nwho = "z"\ndate = 2025-09-01\n'
        'set = { "inferences.method" = "wild" }\n'
    )
    fails(text, "[deviations.D01] set", "'inferences.method'")


def test_deviation_sets_invalid_value_names_the_deviation():
    text = registered() + (
        '\n[deviations.D02]\nwhat = "x"\nwhy = "y"\nwho = "z"\ndate = 2025-09-01\n'
        'set = { "inference.method" = "magic" }\n'
    )
    fails(text, "[inference] method: unknown value 'magic'", "set by [deviations.D02]")


def test_deviations_in_a_draft_plan():
    text = BASE + '\n[deviations.D01]\nwhat = "x"\nwhy = "y"\nwho = "z"\ndate = 2025-09-01\n'
    fails(text, "[deviations]: a draft plan has nothing to deviate from")


def test_registered_plan_needs_a_hash():
    fails(edit("seed = 12345", 'seed = 12345\nstatus = "registered"'), "this body hashes to")


# --- columns and specifications ------------------------------------------------------------


def test_validate_columns_lists_every_missing_column_and_where():
    plan = parse_plan(BASE, source="plan.toml")
    columns = ["treatment", "round", "resp_id", "enterprise_id", "stratum", "dem_age", "dem_sex"]
    columns += ["employed", "wage_month", "core_skills_index"]
    plan.validate_columns(columns, "apprentice")
    with pytest.raises(PlanError) as info:
        plan.validate_columns(
            [c for c in columns if c not in {"stratum", "wage_month"}], "apprentice"
        )
    message = str(info.value)
    assert "2 column(s) not in the apprentice data" in message
    assert "'stratum' (named in [instruments.apprentice] fixed_effects)" in message
    assert "'wage_month' (named in [families.employability] outcomes)" in message


@pytest.fixture(scope="module")
def apprentices() -> pd.DataFrame:
    """Seeded endline frame: 300 apprentices in 30 enterprises, treatment by enterprise."""
    rng = np.random.default_rng(3)
    n, g = 300, 30
    firm = rng.integers(0, g, size=n)
    treatment = (firm % 2).astype(float)
    sex = rng.integers(1, 3, size=n)
    frame = pd.DataFrame(
        {
            "resp_id": [f"TJ{f:03d}{i:03d}" for i, f in enumerate(firm)],
            "enterprise_id": [f"TJ{f:03d}" for f in firm],
            "stratum": firm % 3,
            "treatment": treatment,
            "dem_age": rng.normal(24, 3, size=n),
            "dem_sex": sex,
        }
    )
    for outcome, scale in [("employed", 0.3), ("wage_month", 500.0), ("core_skills_index", 1.0)]:
        base = rng.normal(size=n) * scale
        frame[f"{outcome}_baseline"] = base
        frame[outcome] = 0.2 * scale * treatment + 0.5 * base + rng.normal(size=n) * scale
    return frame


def test_effect_specs_run_through_estimate_effects(apprentices):
    plan = parse_plan(BASE)
    specs = plan.effect_specs(EffectSpec, estimators=["ancova"])
    (spec,) = specs
    assert spec.name == "ancova:apprentice"
    assert spec.subgroups == ("dem_sex",)
    assert spec.baseline["wage_month"] == "wage_month_baseline"
    results = estimate_effects(apprentices, spec).to_frame()
    full = results.loc[results["subgroup"].isna()].set_index("outcome")
    # Independent route: the same model called directly through ancova().
    direct = ancova(
        apprentices,
        "wage_month",
        "treatment",
        "wage_month_baseline",
        covariates=["dem_age", "C(dem_sex)"],
        fixed_effects=["stratum"],
        cluster="enterprise_id",
        vcov="CR1",
    )
    assert full.loc["wage_month", "effect"] == pytest.approx(direct.effect, rel=1e-12)
    assert full.loc["wage_month", "std_error"] == pytest.approx(direct.std_error, rel=1e-12)
    assert full.loc["core_skills_index", "family"] == "skills"
    assert full.loc["employed", "specification"] == "ancova:apprentice"
    assert set(results["subgroup"].dropna()) >= {"dem_sex=1", "dem_sex=2"}


def test_did_spec_arguments():
    plan = parse_plan(BASE)
    args = plan.effect_spec_arguments("did", "apprentice")
    assert (args["post"], args["unit"], args["period"]) == ("post", "resp_id", "round")
    assert args["fixed_effects"] == ()
    assert "subgroups" not in args
    assert "baseline" not in args
    assert EffectSpec(**args).estimator == "did"


def test_spec_type_without_a_field_for_the_plans_option():
    # The inference option is never dropped silently: a spec type without the field is refused.
    @dataclasses.dataclass(frozen=True)
    class OldSpec:
        outcomes: tuple
        treatment: str
        estimator: str = "ancova"
        covariates: tuple = ()
        fixed_effects: tuple = ()
        cluster: str | None = None
        subgroups: tuple = ()
        vcov: str = "CR1"
        weights: str | None = None
        weights_kind: str = "analytic"
        baseline: dict = dataclasses.field(default_factory=dict)
        missing_baseline: str = "indicator"
        lin: bool = False
        level: float = 0.95
        family: dict = dataclasses.field(default_factory=dict)
        name: str | None = None

    plan = parse_plan(edit('method = "analytic"', 'method = "auto"'))
    with pytest.raises(PlanError, match=r"\[inference\] method: OldSpec has no field for"):
        plan.effect_specs(OldSpec, estimators=["ancova"])
    assert len(parse_plan(BASE).effect_specs(OldSpec, estimators=["ancova"])) == 1


def test_propensity_estimator_options_reach_the_spec_or_fail_loudly():
    plan = parse_plan(edit('robustness = ["did"]', 'robustness = ["matching"]'))
    args = plan.effect_spec_arguments("matching", "apprentice")
    assert (args["estimand"], args["trim"], args["neighbors"]) == ("ATT", (0.1, 0.9), 1)
    fields = {f.name for f in dataclasses.fields(EffectSpec)}
    if "propensity_covariates" not in fields:
        with pytest.raises(PlanError, match=r"\[estimators\] robustness: EffectSpec has no field"):
            plan.effect_specs(EffectSpec, estimators=["matching"])


def test_effect_spec_arguments_unknown_estimator():
    with pytest.raises(PlanError, match="'ipw' is not an estimator of the plan"):
        parse_plan(BASE).effect_spec_arguments("ipw", "apprentice")


def test_committed_plan_names_registered_indicators():
    # Runs once the indicators stage is in the tree: every outcome and derived subgroup of the
    # committed plan must be an indicator it constructs.
    registry = pytest.importorskip("evaluation.indicators.registry").REGISTRY
    plan = read_plan(ROOT / "analysis" / "plan.toml")
    assert set(plan.outcomes()) - set(registry) == set()
    derived = {g.column for g in plan.subgroups} - {"meta_city"}
    assert derived - set(registry) == set()
