"""The analysis plan: parsing, every validation error, deviations, hashes, and its vocabulary.

How the plan drives the estimation layer is tested with the pipeline (tests/unit/test_pipeline.py).
"""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from evaluation import plan as plan_module
from evaluation.estimation import attrition, bootstrap, covariance, effects, inference, propensity
from evaluation.estimation._design import WEIGHTS_KINDS
from evaluation.estimation.multiple_testing import ADJUSTMENT_COLUMNS
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
    assert plan.robustness == (
        "did",
        "ipw",
        "aipw",
        "matching",
        "weighted_ancova",
        "weighted_did",
    )
    assert [g.name for g in plan.subgroups] == ["sex", "hukou", "disability", "city"]
    assert plan.results_framework_path == ROOT / "analysis" / "results_framework.toml"
    assert plan.estimated_instruments == ("apprentice", "enterprise")
    assert plan.disclosure.threshold == 5
    assert plan.inference.method == "auto"
    assert plan.attrition is not None
    assert plan.attrition.response == "interviewed"
    assert set(plan.attrition.lee_outcomes) <= set(plan.outcomes())
    apprentice = plan.instrument("apprentice")
    assert apprentice.strata == "stratum"
    assert apprentice.propensity_terms[-2:] == ("C(edu_level)", "C(meta_city)")
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


def test_committed_plan_names_registered_indicators():
    # Every outcome, derived subgroup and attrition column of the committed plan must be an
    # indicator the indicators stage constructs.
    registry = pytest.importorskip("evaluation.indicators.registry").REGISTRY
    plan = read_plan(ROOT / "analysis" / "plan.toml")
    assert set(plan.outcomes()) - set(registry) == set()
    derived = {g.column for g in plan.subgroups} - {"meta_city"}
    assert derived - set(registry) == set()
    a = plan.attrition
    assert {a.response, a.lee_observed, *a.lee_tighten_by} - set(registry) == set()


# --- the plan's vocabulary is the estimation layer's ---------------------------------------


def test_vocabulary_is_the_estimation_layers():
    # Each choice the plan accepts is the estimation layer's own name for it: a plan value that
    # validates is one the estimation layer takes.
    assert set(plan_module.INFERENCE_METHODS) == set(inference.INFERENCE_METHODS)
    assert set(plan_module.VCOVS) == set(covariance.VCOV_TYPES)
    assert set(plan_module.BOOTSTRAP_WEIGHTS) == set(bootstrap.WEIGHT_TYPES)
    assert set(plan_module.ADJUSTMENTS) == {*ADJUSTMENT_COLUMNS, "none"}
    assert set(plan_module.MISSING_BASELINE) == set(effects.MISSING_BASELINE)
    assert set(plan_module.LEE_TRIMMING) == set(attrition.TRIMMING)
    assert set(plan_module.ESTIMANDS) == set(propensity.ESTIMANDS)
    assert set(plan_module.WEIGHTS_KINDS) == set(WEIGHTS_KINDS)


def test_propensity_terms_and_strata_are_required_columns():
    text = edit(
        'categorical_covariates = ["dem_sex"]',
        'categorical_covariates = ["dem_sex"]\nstrata = "stratum"\n'
        'propensity_covariates = ["dem_age"]\npropensity_categorical = ["meta_city"]',
    )
    plan = parse_plan(edit('robustness = ["did"]', 'robustness = ["matching"]', text))
    spec = plan.instrument("apprentice")
    assert spec.propensity_terms == ("dem_age", "C(meta_city)")
    named = dict(plan.required_columns("apprentice"))
    assert named["stratum"] == "[instruments.apprentice] fixed_effects"
    assert named["meta_city"] == "[instruments.apprentice] propensity_categorical"
    # Without a propensity estimator (or attrition weights) the score's columns are not needed.
    assert "meta_city" not in dict(parse_plan(text).required_columns("apprentice"))


def test_propensity_covariate_listed_twice():
    text = edit(
        'categorical_covariates = ["dem_sex"]',
        'categorical_covariates = ["dem_sex"]\npropensity_covariates = ["dem_age"]\n'
        'propensity_categorical = ["dem_age"]',
    )
    fails(text, "propensity_categorical: also listed in propensity_covariates: ['dem_age']")


def test_randomization_inference_with_subgroups():
    fails(
        edit('method = "analytic"', 'method = "randomization"'),
        "[inference] method",
        "not defined for the subgroup contrasts",
    )
    no_subgroups = BASE.replace(
        '[subgroups.sex]\ncolumn = "dem_sex"\ninstrument = "apprentice"\n', ""
    )
    plan = parse_plan(edit('method = "analytic"', 'method = "randomization"', no_subgroups))
    assert plan.inference.method == "randomization"


def test_survey_weights_need_fractional_lee_trimming():
    text = edit('cluster = "enterprise_id"', 'cluster = "enterprise_id"\nweights = "w"') + (
        '\n[attrition]\ninstrument = "apprentice"\nresponse = "interviewed"\n'
        'lee_outcomes = ["wage_month"]\nlee_observed = "employed"\n'
    )
    fails(text, "[attrition] lee_trimming", "'fractional'")
    plan = parse_plan(text + 'lee_trimming = "fractional"\n')
    assert plan.attrition.lee_trimming == "fractional"


def test_new_estimators_are_accepted():
    text = edit('robustness = ["did"]', 'robustness = ["weighted_ancova", "weighted_did"]')
    plan = parse_plan(text)
    assert plan.estimators == ("ancova", "weighted_ancova", "weighted_did")
    assert plan.uses_propensity("apprentice")
    assert not parse_plan(BASE).uses_propensity("apprentice")
