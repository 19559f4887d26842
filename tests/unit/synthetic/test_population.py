"""The data-generating process: units and IDs, covariates, clustering, selection, attrition, truth.

Independent sources: the GB 11643-1999 check-digit rule written out here and its published
example (``11010519491231002X``), the one-way ANOVA estimator of the intra-cluster correlation,
the education list of ``surveys/lists/education.yaml`` and exact identities of averages.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evaluation.synthetic import tables
from evaluation.synthetic.population import (
    WorldConfig,
    gb11643_check_digit,
    simulate_capacity,
    simulate_enterprise_rounds,
    simulate_population,
)
from evaluation.synthetic.truth import truth

from .conftest import ROOT


@pytest.fixture(scope="module")
def world():
    return simulate_population(WorldConfig(seed=0))


@pytest.fixture(scope="module")
def the_truth(world):
    return truth(world)


def _check_digit(body: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643-1999 states it: weights 2^(17-i) mod 11."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    remainder = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    return "10X98765432"[remainder]


def test_check_digit_matches_the_standard():
    assert _check_digit("11010519491231002") == "X"  # the standard's own example
    assert gb11643_check_digit("11010519491231002") == "X"
    rng = np.random.default_rng(0)
    for _ in range(200):
        body = "".join(str(d) for d in rng.integers(0, 10, 17))
        assert gb11643_check_digit(body) == _check_digit(body)


def test_units_and_identifiers(world):
    app, ent, cities = world.apprentices, world.enterprises, world.cities
    assert cities["city"].str.fullmatch(r"[A-Z]{2}").all()
    phase1 = set(cities.loc[cities["status"] == "Phase 1 pilot city", "en"])
    assert phase1 == {"Chongqing", "Huzhou", "Rizhao", "Tianjin"}
    assert set(cities["status"]) == {"Phase 1 pilot city", "illustrative"}
    assert ent["enterprise_id"].str.fullmatch(r"[A-Z]{2}[0-9]{3}").all()
    assert (ent["enterprise_id"].str.slice(0, 2) == ent["city"]).all()
    assert app["resp_id"].str.fullmatch(r"[A-Z]{2}[0-9]{6}").all()
    assert app["resp_id"].is_unique
    assert (app["resp_id"].str.slice(0, 5) == app["enterprise_id"]).all()
    assert 4500 < len(app) < 5500
    assert len(ent) == 60
    assert app["phone"].str.fullmatch(r"1[3-9][0-9]{9}").all()
    ids = app["resident_id"]
    assert ids.str.fullmatch(r"[0-9]{17}[0-9X]").all()
    assert (ids.str.slice(17) == ids.str.slice(0, 17).map(_check_digit)).all()
    births = pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d")
    assert (births.dt.year == app["birth_year"]).all()
    sex_digit = ids.str.slice(16, 17).astype(int)
    assert ((sex_digit % 2 == 0) == (app["female"] == 1)).all()
    assert app["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()


def test_selection_on_observables(world):
    ent = world.enterprises
    assert (ent.loc[ent["pilot_city"] == 0, "treatment"] == 0).all()
    treated = ent[ent["treatment"] == 1]
    control = ent[ent["treatment"] == 0]
    assert 10 <= len(treated) <= 40
    for column in ("large", "soe", "manuf"):
        assert treated[column].mean() > control[column].mean()
    assert ent["stratum"].str.fullmatch(r"[A-T]-(small|medium|large)").all()


def _icc(values: np.ndarray, groups: np.ndarray) -> float:
    """One-way ANOVA estimator of the intra-cluster correlation."""
    frame = pd.DataFrame({"y": values, "g": groups})
    sizes = frame.groupby("g").size()
    k, n = len(sizes), len(frame)
    n0 = (n - (sizes**2).sum() / n) / (k - 1)
    grand = frame["y"].mean()
    means = frame.groupby("g")["y"].mean()
    msb = (sizes * (means - grand) ** 2).sum() / (k - 1)
    msw = ((frame["y"] - frame["g"].map(means)) ** 2).sum() / (n - k)
    return (msb - msw) / (msb + (n0 - 1) * msw)


def test_intra_cluster_correlation_is_realistic(world):
    app = world.apprentices
    employed = app["employed_b"] == 1
    hourly = np.log(app.loc[employed, "wage_b"] / (app.loc[employed, "hours_b"] * 4.33))
    icc_wage = _icc(hourly.to_numpy(), app.loc[employed, "enterprise_id"].to_numpy())
    core = app[[c for c in app.columns if c.startswith("cs_") and c.endswith("__b")]].mean(axis=1)
    icc_core = _icc(core.to_numpy(), app["enterprise_id"].to_numpy())
    assert 0.05 <= icc_wage <= 0.2
    assert 0.05 <= icc_core <= 0.2


def test_baseline_endline_correlation_and_wage_floor(world):
    app = world.apprentices
    both = (app["employed_b"] == 1) & (app["employed_e"] == 1)
    log_b = np.log(app.loc[both, "wage_b"] / app.loc[both, "hours_b"])
    log_e = np.log(app.loc[both, "wage_e"] / app.loc[both, "hours_e"])
    assert np.corrcoef(log_b, log_e)[0, 1] > 0.5
    minimum = app["city"].map(
        dict(zip(world.cities["city"], world.cities["min_wage"], strict=True))
    )
    below = (app["wage_b"] < minimum).mean()
    assert 0.0 < below < 0.08
    assert (app["wage_b"] >= 0.9 * minimum).all()
    core_b = app[[c for c in app.columns if c.startswith("cs_") and c.endswith("__b")]].mean(axis=1)
    core_e = app[[c for c in app.columns if c.startswith("cs_") and c.endswith("__0")]].mean(axis=1)
    assert np.corrcoef(core_b, core_e)[0, 1] > 0.3


def test_attrition_depends_on_treatment_and_baseline(world):
    app = world.apprentices[world.apprentices["in_panel"]]
    lost = ~app["responded_e"]
    assert 0.08 < lost.mean() < 0.25
    assert lost[app["treatment"] == 1].mean() < lost[app["treatment"] == 0].mean()
    assert lost[app["employed_b"] == 1].mean() < lost[app["employed_b"] == 0].mean()
    assert set(app.loc[lost, "trk_status"]) <= {3, 4, 5}
    assert set(app.loc[~lost, "trk_status"]) <= {1, 2}


def test_education_isced_matches_the_questionnaire_list():
    from evaluation.instruments.files import read_definitions

    definitions = read_definitions(ROOT / "surveys")
    lists = {}
    for doc in definitions.lists:
        lists.update(doc.content["lists"])
    isced = {int(c["name"]): int(c["isced"]) for c in lists["edu_level"]["choices"]}
    assert isced == dict(tables.EDU_LEVEL_ISCED)


def test_occupations_are_consistent():
    isco = [o["isco"] for o in tables.OCCUPATIONS]
    assert len(set(isco)) == len(isco)
    assert all(len(code) == 4 and code.isdigit() for code in isco)
    titles = [t for o in tables.OCCUPATIONS for t in o["titles"]]
    assert len(set(titles)) == len(titles)  # a title codes to exactly one ISCO group
    for o in tables.OCCUPATIONS:
        assert o["dadian"] in range(1, 9)
        assert o["up"] is None or o["up"] in isco
        major = int(o["isco"][0])
        # DOMAIN.md 4.2: managers are 大典 1, professionals 2, clerks 3; crafts and operators
        # in production are 6, service jobs 4.
        if major == 1:
            assert o["dadian"] == 1
        if major == 2:
            assert o["dadian"] == 2
        if o["isco"] == "4110":
            assert o["dadian"] == 3


def test_truth_speaks_about_the_indicators(the_truth):
    primary = {e.outcome: e for e in the_truth.primary()}
    assert set(primary) == {
        "employed",
        "formal_job",
        "log_wage_hour",
        "core_skills_index",
        "green_knowledge_score",
        "overqual_norm",
    }
    assert primary["employed"].population == "all_sampled"
    assert primary["log_wage_hour"].population == "always_employed"
    assert primary["log_wage_hour"].scale == "log points"
    assert all(e.estimand == "ATE" for e in primary.values())
    assert the_truth.get("log_wage_hour", estimand="ATT").population == "always_employed"


def test_subgroup_effects_average_to_the_total(the_truth):
    for outcome in ("employed", "core_skills_index", "log_wage_hour"):
        total = the_truth.get(outcome)
        for a, b in (("female", "male"), ("rural_hukou", "urban_hukou")):
            left, right = the_truth.get(outcome, subgroup=a), the_truth.get(outcome, subgroup=b)
            assert left.n + right.n == total.n
            weighted = (left.value * left.n + right.value * right.n) / total.n
            assert weighted == pytest.approx(total.value, abs=1e-12)


def test_truth_follows_the_parameters(world, the_truth):
    app = world.apprentices[world.apprentices["in_panel"]]
    effects = world.config.effects
    expected = (
        effects.employed
        + effects.employed_female * app["female"].mean()
        + effects.employed_rural * app["rural"].mean()
    )
    assert the_truth.get("employed").value == pytest.approx(expected, abs=0.01)
    women = the_truth.get("employed", subgroup="female").value
    men = the_truth.get("employed", subgroup="male").value
    assert women - men == pytest.approx(effects.employed_female, abs=0.02)
    assert the_truth.get("core_skills_index").value > 0.2
    assert the_truth.get("underqual_norm").value > 0  # promotions of ISCED 3 workers


def test_truth_json_is_deterministic(the_truth):
    again = truth(simulate_population(WorldConfig(seed=0)))
    assert again.to_json() == the_truth.to_json()
    document = json.loads(the_truth.to_json())
    assert {e["outcome"] for e in document["effects"]} >= {"score_gain", "skill_gap_share"}


def test_capacity_learning_gain_is_recovered(world, the_truth):
    tests = simulate_capacity(world)
    pre = tests[tests["round"] == "pre"].set_index("participant_id")
    post = tests[(tests["round"] == "post") & tests["present"]].set_index("participant_id")
    items = [c for c in tests.columns if c.startswith("cb_q")]
    scores = {
        name: 100 * (frame[items] == 1).mean(axis=1)
        for name, frame in (("pre", pre), ("post", post))
    }
    gain = scores["post"] - scores["pre"].reindex(post.index)
    true_gain = the_truth.get("score_gain", population="pre_and_post", estimand="mean gain")
    assert true_gain.value > 10
    assert abs(gain.mean() - true_gain.value) < 3 * gain.std(ddof=1) / np.sqrt(len(gain))


def test_enterprise_rounds(world):
    rounds = simulate_enterprise_rounds(world)
    assert len(rounds) == 2 * len(world.enterprises)
    assert (rounds["ent_employees_female"] <= rounds["ent_employees_total"]).all()
    assert (rounds["ent_vacancies_htf"] <= rounds["ent_vacancies"]).all()
    assert rounds["ent_skill_gap_share"].between(0, 100).all()
    learners = world.apprentices[world.apprentices["apprentice_b"] == 1]
    sampled = learners.groupby("enterprise_id").size()
    totals = rounds.set_index("enterprise_id")["ent_appr_total"]
    assert (totals.to_numpy() >= sampled.reindex(totals.index).fillna(0).to_numpy()).all()
    assert (rounds["ent_appr_total"] <= rounds["ent_employees_total"]).all()
    # Employees stay inside the enterprise's size band (the form's cross-check).
    low = rounds["ent_size"].map({1: 1, 2: 10, 3: 50, 4: 300, 5: 1000})
    high = rounds["ent_size"].map({1: 9, 2: 49, 3: 299, 4: 999, 5: 500_000})
    assert rounds["ent_employees_total"].between(low, high).all()
    certified = rounds[[c for c in rounds.columns if c.startswith("ent_emp_cert_")]].sum(axis=1)
    assert (certified <= rounds["ent_employees_total"]).all()
    assert (rounds["ent_appr_completed"] + rounds["ent_appr_dropped"] <= totals.to_numpy()).all()
    assert (rounds["ent_appr_retained_12m"] <= rounds["ent_appr_retained_6m"]).all()
    assert (rounds["ent_appr_retained_6m"] <= rounds["ent_appr_cohort"]).all()
    assert (rounds["ent_appr_certified"] <= rounds["ent_appr_completed"]).all()
    assert (rounds["ent_mentor_trained"] <= rounds["ent_mentor_n"]).all()
    baseline = rounds[rounds["round"] == "baseline"]
    assert (baseline["ent_visit_status"] == 1).all()
    endline = rounds[rounds["round"] == "endline"]
    assert endline["ent_visit_status"].isin([1, 2, 3, 5, 6]).all()
    subsidy = rounds["ent_appr_subsidy_status"] == 1
    assert (rounds.loc[subsidy, "ent_appr_subsidy"] >= 5000).all()
    assert (rounds.loc[~subsidy, "ent_appr_subsidy"] == 0).all()


def test_enterprises_hold_their_sample(world):
    sampled = world.apprentices.groupby("enterprise_id").size()
    employees = world.enterprises.set_index("enterprise_id")["employees"]
    assert (sampled <= np.maximum(1, np.floor(0.8 * employees.reindex(sampled.index)))).all()
    # Bands too small for 1.5 x the mean sample (95) are not drawn: none below 50 employees.
    assert (world.enterprises["size"] >= 3).all()
    assert 4500 <= len(world.apprentices) <= 5500  # the design's ~5,000


def test_capacity_gain_differs_by_module(world, the_truth):
    from evaluation.synthetic.population import CAPACITY_MODULE_GAIN

    gains = {
        module: the_truth.get(f"score_gain_{module}", estimand="mean gain").value
        for module in dict.fromkeys(world.config.capacity_modules)
    }
    assert set(gains) == set(CAPACITY_MODULE_GAIN)
    assert all(g > 0 for g in gains.values())
    # The module with the largest gain parameter gains more than the one with the smallest
    # (by far more than the sampling noise of about 180 participants).
    assert gains["appr_systems"] > gains["tracer_me"] + 3
    overall = the_truth.get("score_gain", estimand="mean gain").value
    weights = pd.Series(world.config.capacity_modules).value_counts()
    weighted = sum(gains[m] * weights[m] for m in gains) / weights.sum()
    assert weighted == pytest.approx(overall, abs=1e-9)  # items weigh equally in the score


def test_other_seeds_give_other_worlds(world):
    other = simulate_population(WorldConfig(seed=1))
    assert not other.apprentices["resp_id"].equals(world.apprentices["resp_id"])


def test_configuration_errors():
    with pytest.raises(ValueError, match="apprentices_per_enterprise"):
        WorldConfig(apprentices_per_enterprise=1000)
    with pytest.raises(ValueError, match="n_enterprises"):
        WorldConfig(n_enterprises=1)
