"""The plan's estimation part, end to end on a simulated analysis frame.

Independent route: every number the pipeline reports is recomputed here by calling the
estimation layer directly, with arguments written out by hand from the plan text below and
samples built by hand with pandas from the long frame (not through the pipeline's helpers).
Every plan option is changed once and must change what is executed; the reporting tables
render every result through the disclosure gate.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from evaluation import pipeline
from evaluation.estimation import (
    EffectEstimates,
    adjust_pvalues,
    aipw_effect,
    ancova,
    attach_balancing_weights,
    did,
    fit_propensity,
    ipw_effect,
    lee_bounds,
    match_effect,
    trim_propensity,
    weighted_did,
)
from evaluation.plan import PlanError, parse_plan
from evaluation.reporting import figures, gate, render, tables

PLAN = """
[plan]
title = "Pipeline test plan"
version = "1"
results_framework = "results_framework.toml"
seed = 20250601

[design]
treatment = "treatment"

[instruments.apprentice]
rounds = ["baseline", "endline"]
key = "resp_id"
cluster = "enterprise_id"
fixed_effects = ["stratum"]
strata = "stratum"
covariates = ["dem_age", "female"]
categorical_covariates = ["edu_level"]
propensity_covariates = ["dem_age", "female", "rural_hukou"]
propensity_categorical = ["meta_city"]

[instruments.enterprise]
rounds = ["baseline", "endline"]
key = "enterprise_id"
cluster = "enterprise_id"
fixed_effects = ["stratum"]
propensity_covariates = ["ent_age"]

[families.employability]
label = "Employability"
instrument = "apprentice"
outcomes = ["employed", "wage_month"]

[families.skills]
label = "Skills"
instrument = "apprentice"
outcomes = ["core_skills_index"]
multiple_testing = "holm"

[families.enterprise]
label = "Enterprise"
instrument = "enterprise"
outcomes = ["skill_gap_share"]

[subgroups.sex]
column = "female"
instrument = "apprentice"

[estimators]
primary = "ancova"
robustness = ["did", "ipw", "aipw", "matching", "weighted_ancova", "weighted_did"]

[inference]
method = "wild"
vcov = "CR2"
bootstrap_draws = 199
bootstrap_weights = "rademacher"

[multiple_testing]
within = "anderson"
across = "romano_wolf"
draws = 199

[attrition]
instrument = "apprentice"
response = "interviewed"
lee_outcomes = ["wage_month"]
lee_observed = "employed"
lee_tighten_by = ["female"]
lee_draws = 49

[comparison]
estimand = "ATT"
trim = [0.05, 0.95]
caliper = 0.5

[power]
alpha = 0.05
power = 0.8
"""

APPRENTICE_OUTCOMES = ["employed", "wage_month", "core_skills_index"]
UNIT_COLUMNS = [
    "enterprise_id",
    "stratum",
    "treatment",
    "dem_age",
    "female",
    "edu_level",
    "rural_hukou",
    "meta_city",
]
TERMS = ["dem_age", "female", "rural_hukou", "C(meta_city)"]
EFFECTS = {"employed": 0.15, "wage_month": 400.0, "core_skills_index": 0.4, "skill_gap_share": -0.1}


def simulate(seed: int = 7, g: int = 40, n: int = 10) -> dict[str, pd.DataFrame]:
    """Long analysis frames: g enterprises of n apprentices, half of them treated by enterprise.

    Known effects (EFFECTS), enterprise random effects, attrition of 18% (control) and 10%
    (treated) at endline, wages only for the employed, and five apprentices with no endline
    row at all.
    """
    rng = np.random.default_rng(seed)
    enterprises = np.arange(g)
    city = np.where((enterprises // 2) % 2 == 0, "TJ", "SZ")
    treated = (enterprises % 2).astype(float)
    stratum = (enterprises // 2) % 4
    shock = rng.normal(0, 0.5, g)
    eid = np.array([f"{city[e]}{e:03d}" for e in enterprises])
    firm = np.repeat(enterprises, n)
    size = g * n
    t = treated[firm]
    units = pd.DataFrame(
        {
            "resp_id": [f"{eid[f]}{i % n:03d}" for i, f in enumerate(firm)],
            "enterprise_id": eid[firm],
            "meta_city": city[firm],
            "stratum": stratum[firm],
            "treatment": t,
            "dem_age": rng.normal(22, 3, size).round(),
            "female": rng.integers(0, 2, size).astype(float),
            "rural_hukou": (rng.random(size) < 0.4).astype(float),
            "edu_level": rng.choice([3, 4, 5], size),
        }
    )
    skill0 = shock[firm] + rng.normal(0, 1, size)
    employed0 = (rng.random(size) < 0.5).astype(float)
    wage0 = np.where(employed0 == 1, 3000 + 400 * shock[firm] + rng.normal(0, 500, size), np.nan)
    baseline = units.assign(
        round="baseline",
        interviewed=1.0,
        employed=employed0,
        wage_month=wage0,
        core_skills_index=skill0,
    )
    employed1 = (rng.random(size) < 0.5 + EFFECTS["employed"] * t).astype(float)
    wage1 = 3100 + 400 * shock[firm] + EFFECTS["wage_month"] * t + rng.normal(0, 500, size)
    skill1 = 0.5 * skill0 + shock[firm] + EFFECTS["core_skills_index"] * t + rng.normal(0, 1, size)
    interviewed = (rng.random(size) < 0.82 + 0.08 * t).astype(float)
    seen = interviewed == 1
    endline = units.assign(
        round="endline",
        interviewed=interviewed,
        employed=np.where(seen, employed1, np.nan),
        wage_month=np.where(seen & (employed1 == 1), wage1, np.nan),
        core_skills_index=np.where(seen, skill1, np.nan),
    ).iloc[: size - 5]
    apprentice = pd.concat([baseline, endline], ignore_index=True)
    firms = pd.DataFrame(
        {
            "enterprise_id": eid,
            "stratum": stratum,
            "treatment": treated,
            "ent_age": rng.normal(10, 4, g).round(),
        }
    )
    gap0 = rng.normal(0.4, 0.1, g)
    gap1 = 0.6 * gap0 + 0.15 + EFFECTS["skill_gap_share"] * treated + rng.normal(0, 0.08, g)
    enterprise = pd.concat(
        [
            firms.assign(round="baseline", skill_gap_share=gap0),
            firms.assign(round="endline", skill_gap_share=gap1),
        ],
        ignore_index=True,
    )
    return {"apprentice": apprentice, "enterprise": enterprise}


def edit(old: str, new: str, text: str = PLAN) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return simulate()


@pytest.fixture(scope="module")
def plan():
    return parse_plan(PLAN)


@pytest.fixture(scope="module")
def results(plan, frames):
    return pipeline.estimate(plan, frames)


# --- samples built by hand from the long frame ----------------------------------------------


def by_hand(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The apprentice samples, built with pandas: rows in resp_id order."""
    long = frames["apprentice"]
    base = long.loc[long["round"] == "baseline"]
    end = long.loc[long["round"] == "endline"]
    baseline_values = base[["resp_id", *UNIT_COLUMNS]].assign(
        **{f"{o}_baseline": base[o] for o in APPRENTICE_OUTCOMES}
    )
    stayers = end.loc[end["interviewed"] == 1, ["resp_id", *APPRENTICE_OUTCOMES]]
    endline = (
        stayers.merge(baseline_values, on="resp_id").sort_values("resp_id").reset_index(drop=True)
    )
    responded = end.set_index("resp_id")["interviewed"].reindex(base["resp_id"]).eq(1)
    ends = end.set_index("resp_id")[["employed", "wage_month"]].reindex(base["resp_id"])
    units = baseline_values.assign(
        interviewed=responded.astype(float).to_numpy(),
        employed=ends["employed"].to_numpy(),
        wage_month=ends["wage_month"].to_numpy(),
    )
    panel = long.loc[long["resp_id"].isin(endline["resp_id"])].sort_values(["resp_id", "round"])
    panel = panel.assign(post=(panel["round"] == "endline").astype(float)).reset_index(drop=True)
    return {
        "endline": endline,
        "units": units.sort_values("resp_id").reset_index(drop=True),
        "panel": panel,
    }


@pytest.fixture(scope="module")
def hand(frames):
    return by_hand(frames)


def rows_of(estimates: EffectEstimates, estimator: str) -> dict[str, object]:
    return {e.outcome: e for e in estimates if e.estimator == estimator and e.subgroup is None}


def assert_same(ours, direct, rel=1e-9) -> None:
    assert ours.effect == pytest.approx(direct.effect, rel=rel, abs=1e-10)
    assert ours.std_error == pytest.approx(direct.std_error, rel=rel)
    assert ours.pvalue == pytest.approx(direct.pvalue, rel=rel, abs=1e-12)
    assert ours.ci_lower == pytest.approx(direct.ci_lower, rel=rel, abs=1e-10)
    assert ours.nobs == direct.nobs
    assert ours.vcov == direct.vcov


# --- the primary analysis ------------------------------------------------------------------


def test_samples_match_the_hand_built_ones(plan, frames, hand):
    samples = pipeline.analysis_samples(plan, frames["apprentice"], "apprentice")
    endline = samples.endline[hand["endline"].columns]
    pd.testing.assert_frame_equal(endline, hand["endline"], check_dtype=False)
    assert len(samples.units) == 400  # everyone interviewed at baseline
    assert samples.units["interviewed"].sum() == hand["units"]["interviewed"].sum()
    assert len(samples.panel) == 2 * len(hand["endline"])
    assert samples.panel["post"].sum() == len(hand["endline"])


def test_primary_ancova_follows_the_plan(results, hand):
    primary = rows_of(results.primary, "ancova")
    assert list(primary) == [*APPRENTICE_OUTCOMES, "skill_gap_share"]
    for outcome in APPRENTICE_OUTCOMES:
        direct = ancova(
            hand["endline"],
            outcome,
            "treatment",
            f"{outcome}_baseline",
            covariates=["dem_age", "female", "C(edu_level)"],
            fixed_effects=["stratum"],
            cluster="enterprise_id",
            vcov="CR2",
            inference="wild",
            bootstrap_draws=199,
            weights_type="rademacher",
            seed=results.seed,
            strata="stratum",
            permutations=199,
        )
        ours = primary[outcome]
        assert_same(ours, direct)
        assert ours.inference == direct.inference
        assert ours.inference.startswith("wild (WCR, Rademacher, 199 draws")
        assert ours.specification == "ancova:apprentice"
    assert primary["employed"].family == "employability"
    assert primary["core_skills_index"].family == "skills"
    assert primary["skill_gap_share"].n_clusters == 40
    # The effects are those built into the simulation, within their intervals.
    for outcome, effect in EFFECTS.items():
        assert primary[outcome].ci_lower < effect < primary[outcome].ci_upper


def test_family_and_across_adjustments_equal_adjust_pvalues(results):
    primary = results.primary
    frame = primary.to_frame()
    anderson = adjust_pvalues(primary, "anderson", by="family").to_frame()["qvalue_anderson"]
    holm = adjust_pvalues(primary, "holm", by="family").to_frame()["pvalue_holm"]
    skills = frame["family"] == "skills"
    np.testing.assert_array_equal(frame.loc[~skills, "qvalue_anderson"], anderson[~skills])
    assert frame.loc[skills, "qvalue_anderson"].isna().all()
    np.testing.assert_array_equal(frame.loc[skills, "pvalue_holm"], holm[skills])
    assert frame.loc[~skills, "pvalue_holm"].isna().all()
    across = adjust_pvalues(
        primary,
        "romano_wolf",
        by="estimator",
        bootstrap_draws=199,
        weights_type="rademacher",
        seed=results.seed,
    ).to_frame()["pvalue_romano_wolf"]
    np.testing.assert_array_equal(frame["pvalue_romano_wolf_across"], across)


def test_heterogeneity_contrasts_adjusted_within_family_and_subgroup(results):
    frame = results.heterogeneity.to_frame()
    assert set(frame["estimator"]) == {"subgroup", "difference"}
    assert set(frame["subgroup"]) == {"female=0.0", "female=1.0", "female=1.0 - female=0.0"}
    differences = frame["estimator"] == "difference"
    employability = EffectEstimates(
        tuple(
            e
            for e in results.heterogeneity
            if e.estimator == "difference" and e.family == "employability"
        )
    )
    expected = adjust_pvalues(employability, "anderson").to_frame()["qvalue_anderson"]
    mine = frame.loc[differences & (frame["family"] == "employability"), "qvalue_anderson"]
    np.testing.assert_array_equal(mine, expected)
    assert frame.loc[~differences, "qvalue_anderson"].isna().all()
    # One skills contrast: Holm leaves it unchanged.
    skills = frame.loc[differences & (frame["family"] == "skills")].iloc[0]
    assert skills["pvalue_holm"] == skills["pvalue"]


# --- secondary estimators equal direct calls -----------------------------------------------


@pytest.fixture(scope="module")
def score(hand):
    return fit_propensity(hand["endline"], "treatment", TERMS)


def test_propensity_estimators_equal_direct_calls(results, hand, score):
    robustness = results.robustness
    ipw, aipw = rows_of(robustness, "ipw-hajek"), rows_of(robustness, "aipw")
    matching = rows_of(robustness, "matching")
    kept = hand["endline"].loc[trim_propensity(score, (0.05, 0.95)).keep]
    caliper = 0.5 * np.std(logit(score.score.loc[kept.index]), ddof=1)
    common = {"cluster": "enterprise_id", "weights": None, "level": 0.95}
    for outcome in APPRENTICE_OUTCOMES:
        args = (hand["endline"], outcome, "treatment", score)
        assert_same(ipw[outcome], ipw_effect(*args, estimand="ATT", trim=(0.05, 0.95), **common))
        assert_same(aipw[outcome], aipw_effect(*args, estimand="ATT", trim=(0.05, 0.95), **common))
        direct = match_effect(
            kept,
            outcome,
            "treatment",
            score,
            neighbors=1,
            replace=True,
            caliper=caliper,
            estimand="ATT",
            distance="logit",
            vcov="CR2",
            **common,
        )
        assert_same(matching[outcome], direct)
        assert matching[outcome].extra["caliper"] == pytest.approx(caliper)
        assert ipw[outcome].specification == "ipw:apprentice"
        assert ipw[outcome].family == (
            "skills" if outcome == "core_skills_index" else "employability"
        )


def test_regression_robustness_equal_direct_calls(results, hand, score):
    robustness = results.robustness
    did_rows = rows_of(robustness, "did")
    weighted = rows_of(robustness, "ancova-weighted")
    abadie = rows_of(robustness, "did-ipw")
    inference = {
        "inference": "wild",
        "bootstrap_draws": 199,
        "weights_type": "rademacher",
        "seed": results.seed,
        "strata": "stratum",
        "permutations": 199,
    }
    balanced = attach_balancing_weights(
        hand["endline"], score, estimand="ATT", trim=(0.05, 0.95), name="w"
    )
    for outcome in APPRENTICE_OUTCOMES:
        direct = did(
            hand["panel"],
            outcome,
            "treatment",
            post="post",
            unit="resp_id",
            period="round",
            cluster="enterprise_id",
            vcov="CR2",
            **inference,
        )
        assert_same(did_rows[outcome], direct)
        direct = ancova(
            balanced,
            outcome,
            "treatment",
            f"{outcome}_baseline",
            covariates=["dem_age", "female", "C(edu_level)"],
            fixed_effects=["stratum"],
            cluster="enterprise_id",
            weights="w",
            weights_kind="sampling",
            vcov="CR2",
            **inference,
        )
        assert_same(weighted[outcome], direct)
        direct = weighted_did(
            hand["panel"],
            outcome,
            "treatment",
            TERMS,
            post="post",
            unit="resp_id",
            estimand="ATT",
            trim=(0.05, 0.95),
            cluster="enterprise_id",
        )
        assert_same(abadie[outcome], direct)


def test_every_estimator_side_by_side(results):
    labels = {e.estimator for e in results.robustness}
    assert labels == {
        "ancova",
        "did",
        "ipw-hajek",
        "aipw",
        "matching",
        "ancova-weighted",
        "did-ipw",
        "ancova-ipaw",
    }
    # Reporting has a display name for every estimator and adjustment the pipeline produces.
    assert labels <= set(tables.ESTIMATOR_LABELS)
    assert set(pipeline.RESULT_ESTIMATORS.values()) <= set(tables.ESTIMATOR_LABELS)
    assert {"subgroup", "difference"} <= set(tables.ESTIMATOR_LABELS)
    shown = {*results.primary.adjustments, *results.heterogeneity.adjustments}
    assert shown <= set(tables.ADJUSTMENT_LABELS)
    # The enterprise outcome has every estimator too (no attrition plan there).
    enterprise = {e.estimator for e in results.robustness if e.outcome == "skill_gap_share"}
    assert enterprise == labels - {"ancova-ipaw"}
    assert results.notes == (
        "joint orthogonality test: ['meta_city=TJ'] left out (constant within the fixed effects)",
    )


# --- attrition, bounds, balance, power -----------------------------------------------------


def test_lee_bounds_equal_direct_calls(results, hand):
    units = hand["units"]
    observed = units["interviewed"].eq(1) & units["employed"].eq(1) & units["wage_month"].notna()
    direct = lee_bounds(
        units.assign(observed=observed.astype(float)),
        "wage_month",
        "treatment",
        "observed",
        tighten_by=["female"],
        cluster="enterprise_id",
        trimming="quantile",
        n_boot=49,
        level=0.95,
        seed=results.seed,
    )
    (ours,) = results.attrition.lee
    assert ours == direct
    assert ours.nobs == 400


def test_attrition_diagnostics(results, hand):
    attrition = results.attrition
    units = hand["units"]
    assert list(attrition.sample.columns) == ["treatment", "interviewed"]
    assert attrition.sample["interviewed"].sum() == units["interviewed"].sum()
    rates = attrition.rates.set_index("level")
    lost = 1 - units.groupby("treatment")["interviewed"].mean()
    assert rates.loc["difference", "attrition_rate"] == pytest.approx(lost[1.0] - lost[0.0])
    assert attrition.differential.effect == pytest.approx(lost[1.0] - lost[0.0])
    assert attrition.differential.vcov == "CR2"
    assert set(attrition.stayers["sample"]) == {"baseline", "stayers"}
    assert "joint: arm and interactions" in set(attrition.regression["term"])


def test_balance_before_and_after_weighting(results):
    balance = results.balance["apprentice"]
    assert balance.variables[:4] == ("dem_age", "female", "rural_hukou", "edu_level=3")
    assert "core_skills_index_baseline" in balance.variables
    assert set(balance.weighted["sample"]) == {"before", "after"}
    assert balance.trimming.startswith("trimming (fixed): kept 0.05 <= e <= 0.95")
    assert balance.joint is not None
    assert results.balance["enterprise"].variables == ("ent_age", "skill_gap_share_baseline")


def test_ex_ante_and_ex_post_mde(results):
    ante = results.ex_ante_mde.set_index("outcome")
    assert list(ante.index) == [*APPRENTICE_OUTCOMES, "skill_gap_share"]
    assert ante.loc["skill_gap_share", "icc"] == 0.0  # one enterprise per cluster
    assert ante.loc["core_skills_index", "n_clusters"] == 40
    post = results.ex_post_mde.set_index("outcome")
    primary = rows_of(results.primary, "ancova")
    for outcome, estimate in primary.items():
        # The ex-post MDE model is the primary ANCOVA (missing baselines dummied out).
        assert post.loc[outcome, "std_error"] == pytest.approx(estimate.std_error, rel=1e-12)
    assert math.isnan(post.loc["skill_gap_share", "icc"])


# --- reporting renders every result through the gate ---------------------------------------


def test_reporting_renders_every_result(results, plan):
    source = "simulated test world"
    families = {f.name: f.label for f in plan.families}
    built = [
        tables.effects_table(results.primary, source=source, families=families),
        *[
            tables.effects_table(results.primary, source=source, family=f.name)
            for f in plan.families
        ],
        tables.heterogeneity_table(results.heterogeneity, source=source),
        tables.robustness_table(results.robustness, source=source),
        tables.did_table(results.did, source=source),
        tables.lee_bounds_table(results.attrition.lee, source=source),
        tables.attrition_table(
            results.attrition.sample,
            treatment="treatment",
            response="interviewed",
            differential=results.attrition.differential,
            source=source,
        ),
    ]
    for sample, rows in results.attrition.stayers.groupby("sample"):
        built.append(tables.balance_table(rows, source=source, name=f"balance_{sample}"))
    for name, balance in results.balance.items():
        built.append(tables.balance_table(balance.table, joint=balance.joint, source=source))
        if balance.weighted is not None:
            for sample, rows in balance.weighted.groupby("sample"):
                built.append(
                    tables.balance_table(rows, source=source, name=f"balance_{name}_{sample}")
                )
    for table in built:
        published = gate(table, plan.disclosure.threshold_for(table.variables))
        assert render.table_html(published)
    effects = built[0]
    keys = [c.key for c in effects.columns]
    assert {"qvalue_anderson", "pvalue_holm", "pvalue_romano_wolf_across"} <= set(keys)
    labels = {c.key: c.label for c in effects.columns}
    assert labels["pvalue_romano_wolf_across"] == "Romano-Wolf p, all families"
    skills = built[2]
    assert [c.key for c in skills.columns if c.kind == "pvalue"][1:] == [
        "pvalue_holm",
        "pvalue_romano_wolf_across",
    ]
    heterogeneity = built[len(plan.families) + 1]
    assert "qvalue_anderson" in [c.key for c in heterogeneity.columns]
    robustness = built[len(plan.families) + 2]
    groups = {c.group for c in robustness.columns if c.group}
    assert {"IPW (Hajek)", "IPW DiD (Abadie)", "ANCOVA, attrition-weighted"} <= groups
    for figure in (
        figures.coefficient_plot(results.primary),
        figures.balance_love_plot(
            dict(tuple(results.balance["apprentice"].weighted.groupby("sample")))
        ),
    ):
        plt.close(figure)


# --- every plan option is honoured ---------------------------------------------------------


CHANGED = edit(
    "[estimators]\nprimary",
    '[estimators]\nlin = true\nmissing_baseline = "drop"\nprimary',
)
CHANGED = edit(
    'estimand = "ATT"\ntrim = [0.05, 0.95]\ncaliper = 0.5',
    ('estimand = "ATE"\ntrim = "crump"\ncaliper = 0.3\nneighbors = 2\nreplace = false'),
    CHANGED,
)
CHANGED = edit(
    'lee_tighten_by = ["female"]\nlee_draws = 49',
    'lee_tighten_by = []\nlee_draws = 19\nlee_trimming = "order"\n'
    "inverse_probability_weights = false",
    CHANGED,
)
CHANGED = edit("alpha = 0.05\npower = 0.8", "alpha = 0.1\npower = 0.9", CHANGED)
CHANGED = edit(
    'within = "anderson"\nacross = "romano_wolf"\ndraws = 199',
    'within = "bh"\nacross = "bonferroni"\ndraws = 99',
    CHANGED,
)
CHANGED = edit(
    'bootstrap_draws = 199\nbootstrap_weights = "rademacher"',
    'bootstrap_draws = 99\nbootstrap_weights = "webb"',
    CHANGED,
)
CHANGED = edit('treatment = "treatment"', 'treatment = "treatment"\nlevel = 0.9', CHANGED)


@pytest.fixture(scope="module")
def changed(frames):
    return pipeline.estimate(parse_plan(CHANGED), frames)


def test_every_option_changes_what_is_executed(results, changed):
    base, new = rows_of(results.primary, "ancova"), rows_of(changed.primary, "ancova-lin")
    # [estimators] lin, missing_baseline
    assert set(new) == set(base)
    assert new["wage_month"].nobs < base["wage_month"].nobs  # rows without a baseline wage
    # [design] level
    assert {e.level for e in changed.primary} == {0.9}
    # [inference] bootstrap_draws, bootstrap_weights
    assert new["employed"].inference.startswith("wild (WCR, Webb, 99 draws")
    # [multiple_testing] within, across, draws
    assert set(changed.primary.adjustments) == {
        "qvalue_bh",
        "pvalue_holm",
        "pvalue_bonferroni_across",
    }
    # [comparison]
    ipw = rows_of(changed.robustness, "ipw-hajek")["employed"]
    assert ipw.extra["estimand"] == "ATE"
    assert ipw.extra["trim_lower"] != 0.05  # Crump's bound
    matching = rows_of(changed.robustness, "matching")["employed"].extra
    assert (matching["neighbors"], matching["replace"], matching["estimand"]) == (2, False, "ATE")
    assert (
        matching["caliper"] != rows_of(results.robustness, "matching")["employed"].extra["caliper"]
    )
    # [attrition]
    (bounds,) = changed.attrition.lee
    assert (bounds.trimming, bounds.n_boot, bounds.tightened_by) == ("order", 19, ())
    assert "ancova-ipaw" not in {e.estimator for e in changed.robustness}
    # [power]
    assert (changed.ex_ante_mde["alpha"] == 0.1).all()
    assert (changed.ex_ante_mde["power"] == 0.9).all()
    assert (changed.ex_ante_mde["mde"] != results.ex_ante_mde["mde"]).all()


def test_seed_and_generator(plan, frames, results):
    # [plan] seed: by default the one seed of every draw comes from default_rng(plan.seed);
    # another generator gives other draws.
    assert results.seed == int(np.random.default_rng(plan.seed).integers(2**32))
    assert results.primary.to_frame()["inference"].str.contains(str(results.seed)).all()
    other = pipeline.estimate(plan, frames, np.random.default_rng(plan.seed + 1))
    assert other.seed != results.seed
    assert other.primary.to_frame()["inference"].str.contains(str(other.seed)).all()
    assert [e.effect for e in other.primary] == [e.effect for e in results.primary]


def test_deviation_changes_the_executed_setting_and_is_recorded(plan, frames, results):
    draft = edit('version = "1"', 'version = "1"\nstatus = "registered"\nregistered_hash = "x"')
    with pytest.raises(PlanError) as info:
        parse_plan(draft)
    body = info.value.problem.split("hashes to ")[1].split(",")[0]
    registered = draft.replace('registered_hash = "x"', f'registered_hash = "{body}"')
    deviated = registered + (
        "\n[deviations.D01]\n"
        'what = "Analytic CR1 inference; randomization inference for the enterprise outcomes"\n'
        'why = "Reviewer request"\nwho = "Evaluation manager"\ndate = 2026-01-15\n'
        'set = { "inference.method" = "analytic", "inference.vcov" = "CR1", '
        '"instruments.apprentice.covariates" = ["dem_age"] }\n'
    )
    amended = parse_plan(deviated)
    out = pipeline.estimate(amended, frames)
    assert out.deviations == amended.deviations
    assert out.deviations[0].changes["inference.method"] == "analytic"
    assert out.plan_hash == amended.plan_hash != plan.plan_hash
    employed = rows_of(out.primary, "ancova")["employed"]
    assert (employed.inference, employed.vcov) == ("analytic", "CR1")
    assert "female" not in employed.fit.params.index
    assert "female" in rows_of(results.primary, "ancova")["employed"].fit.params.index


def test_randomization_inference_permutes_within_the_plans_strata(frames, hand):
    text = edit('method = "wild"', 'method = "randomization"')
    text = edit('[subgroups.sex]\ncolumn = "female"\ninstrument = "apprentice"\n', "", text)
    text = edit(
        'robustness = ["did", "ipw", "aipw", "matching", "weighted_ancova", "weighted_did"]',
        "robustness = []",
        text,
    )
    out = pipeline.estimate(parse_plan(text), frames)
    ours = rows_of(out.primary, "ancova")["core_skills_index"]
    model = {
        "covariates": ["dem_age", "female", "C(edu_level)"],
        "fixed_effects": ["stratum"],
        "cluster": "enterprise_id",
        "vcov": "CR2",
        "inference": "randomization",
        "permutations": 199,
        "seed": out.seed,
    }
    args = (hand["endline"], "core_skills_index", "treatment", "core_skills_index_baseline")
    direct = ancova(*args, strata="stratum", **model)
    assert_same(ours, direct)
    assert ours.inference.startswith("randomization")
    unstratified = ancova(*args, **model)
    assert ours.pvalue != unstratified.pvalue or ours.ci_lower != unstratified.ci_lower


def test_survey_weights_reach_every_estimator(frames, hand):
    text = edit(
        'cluster = "enterprise_id"\nfixed_effects = ["stratum"]\nstrata',
        'cluster = "enterprise_id"\nweights = "w"\nweights_kind = "sampling"\n'
        'fixed_effects = ["stratum"]\nstrata',
    )
    text = edit("lee_draws = 49", 'lee_draws = 49\nlee_trimming = "fractional"', text)
    long = frames["apprentice"]
    ids = long["resp_id"].unique()
    weights = pd.Series(np.random.default_rng(1).uniform(0.5, 2.0, ids.size), index=ids)
    out = pipeline.estimate(
        parse_plan(text), {**frames, "apprentice": long.assign(w=long["resp_id"].map(weights))}
    )
    endline = hand["endline"].assign(w=hand["endline"]["resp_id"].map(weights))
    direct = ancova(
        endline,
        "wage_month",
        "treatment",
        "wage_month_baseline",
        covariates=["dem_age", "female", "C(edu_level)"],
        fixed_effects=["stratum"],
        cluster="enterprise_id",
        weights="w",
        weights_kind="sampling",
        vcov="CR2",
        inference="wild",
        bootstrap_draws=199,
        weights_type="rademacher",
        seed=out.seed,
    )
    assert_same(rows_of(out.primary, "ancova")["wage_month"], direct)
    score = fit_propensity(endline, "treatment", TERMS, weights="w")
    direct = ipw_effect(
        endline,
        "wage_month",
        "treatment",
        score,
        estimand="ATT",
        trim=(0.05, 0.95),
        cluster="enterprise_id",
        weights="w",
    )
    assert_same(rows_of(out.robustness, "ipw-hajek")["wage_month"], direct)
    units = hand["units"].assign(w=hand["units"]["resp_id"].map(weights))
    observed = units["interviewed"].eq(1) & units["employed"].eq(1) & units["wage_month"].notna()
    direct = lee_bounds(
        units.assign(observed=observed.astype(float)),
        "wage_month",
        "treatment",
        "observed",
        tighten_by=["female"],
        cluster="enterprise_id",
        weights="w",
        trimming="fractional",
        n_boot=49,
        seed=out.seed,
    )
    assert out.attrition.lee == (direct,)
    assert len({e.estimator for e in out.robustness}) == 8  # every estimator ran


# --- bad input and data the robustness estimators cannot use -------------------------------


def test_a_separating_score_is_recorded_not_fatal(frames):
    # The enterprise score on a covariate equal to the treatment separates the arms perfectly:
    # the enterprise's propensity estimators are skipped with a note; everything else runs.
    enterprise = frames["enterprise"].assign(ent_age=frames["enterprise"]["treatment"])
    out = pipeline.estimate(parse_plan(PLAN), {**frames, "enterprise": enterprise})
    assert any(
        n.startswith("propensity score (enterprise): not estimated on these data (SeparationError")
        for n in out.notes
    )
    enterprise_rows = {e.estimator for e in out.robustness if e.outcome == "skill_gap_share"}
    assert enterprise_rows == {"ancova", "did"}
    assert "skill_gap_share" in rows_of(out.primary, "ancova")


def test_bad_frames(plan, frames):
    with pytest.raises(KeyError, match="no analysis frame for instrument 'enterprise'"):
        pipeline.estimate(plan, {"apprentice": frames["apprentice"]})
    with pytest.raises(PlanError, match=r"'dem_age' \(named in \[instruments.apprentice\]"):
        pipeline.analysis_samples(plan, frames["apprentice"].drop(columns="dem_age"), "apprentice")
    long = frames["apprentice"]
    twice = pd.concat([long, long.iloc[:3]], ignore_index=True)
    with pytest.raises(ValueError, match="3 rows repeat a \\('resp_id', 'round'\\) pair"):
        pipeline.analysis_samples(plan, twice, "apprentice")
    switched = long.copy()
    switched.loc[switched["round"] == "endline", "treatment"] = 1.0
    with pytest.raises(ValueError, match="units have a different 'treatment' at endline"):
        pipeline.analysis_samples(plan, switched, "apprentice")
    late = long.drop(index=long.index[(long["round"] == "baseline")][:2])
    samples = pipeline.analysis_samples(plan, late, "apprentice")
    assert samples.notes == (
        "apprentice: 2 endline units without a baseline interview are left out",
    )
    assert len(samples.units) == 398


# --- the committed plan runs ---------------------------------------------------------------


def plan_world(plan, seed: int = 3, g: int = 40, n: int = 8) -> dict[str, pd.DataFrame]:
    """A long frame per estimated instrument holding every column the plan names.

    Outcomes are normal with a 0.3 SD effect (0/1 columns for the Lee selection, raised by the
    treatment at endline, and the response); numeric covariates are normal, categorical ones
    take three codes, ``meta_city`` two cities; treatment and clusters by enterprise.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for instrument in plan.estimated_instruments:
        spec = plan.instrument(instrument)
        per = n if spec.key != spec.cluster else 1
        firm = np.repeat(np.arange(g), per)
        size = g * per
        units = pd.DataFrame(
            {
                spec.key: [f"U{i:05d}" for i in range(size)],
                spec.cluster: [f"E{f:03d}" for f in firm],
                plan.treatment: (firm % 2).astype(float),
                "meta_city": np.where((firm // 2) % 2 == 0, "TJ", "SZ"),
            }
        )
        categorical = {*spec.categorical_covariates, *spec.propensity_categorical}
        for column, _ in plan.required_columns(instrument):
            if column in units.columns or column == plan.round:
                continue
            if column in spec.fixed_effects or column == spec.strata:
                units[column] = (firm // 4) % 3
            elif column in categorical:
                units[column] = rng.integers(1, 4, size)
            else:
                units[column] = rng.normal(size=size)
        rounds = []
        for rnd, post in ((plan.baseline_round, 0.0), (plan.endline_round, 1.0)):
            frame = units.assign(**{plan.round: rnd})
            for outcome in plan.outcomes(instrument):
                frame[outcome] = rng.normal(size=size) + 0.3 * post * frame[plan.treatment]
            for column in {g.column for g in plan.subgroups if g.instrument == instrument}:
                if column != "meta_city":
                    frame[column] = units[column].gt(0).astype(float)
            attrition = plan.attrition
            if attrition is not None and attrition.instrument == instrument:
                treated = frame[plan.treatment].to_numpy()
                chance = 0.5 + 0.3 * post * treated  # the project raises employment
                frame[attrition.lee_observed] = (rng.random(size) < chance).astype(float)
                frame[attrition.response] = (rng.random(size) < 0.85 + 0.15 * (1 - post)).astype(
                    float
                )
                for column in attrition.lee_tighten_by:
                    frame[column] = units[column].gt(0).astype(float)
            rounds.append(frame)
        out[instrument] = pd.concat(rounds, ignore_index=True)
    return out


@pytest.mark.slow
def test_committed_plan_runs_end_to_end():
    # The committed analysis/plan.toml, with fewer resampling draws so the test stays quick.
    text = (pipeline_root() / "analysis" / "plan.toml").read_text(encoding="utf-8")
    for old, new in [
        ("bootstrap_draws = 9999", "bootstrap_draws = 99"),
        ("draws = 9999", "draws = 99"),
        ("lee_draws = 999", "lee_draws = 19"),
    ]:
        text = edit(old, new, text)
    committed = parse_plan(text, source="analysis/plan.toml")
    out = pipeline.estimate(committed, plan_world(committed))
    primary = {e.outcome for e in out.primary}
    assert primary == set(committed.outcomes())
    assert {e.inference.split(":")[0] for e in out.primary} == {"auto"}
    assert {e.vcov for e in out.primary} == {"CR2"}
    assert {f"{c}" for c in out.primary.adjustments} == {
        "qvalue_anderson",
        "pvalue_romano_wolf_across",
    }
    assert len(out.attrition.lee) == len(committed.attrition.lee_outcomes)
    dimensions = {str(e.subgroup).split("=")[0] for e in out.heterogeneity}
    assert dimensions == {g.column for g in committed.subgroups}


def pipeline_root():
    import pathlib

    return pathlib.Path(__file__).resolve().parents[2]
