"""The pipeline's data part and baseline estimates on small hand-built values.

Independent routes: the analysis frame is compared cell by cell with a frame assembled here by
hand (pandas merge written out in the test); subgroup levels with one arm are found by exact
enumeration of the arms in each city x stratum cell; the baseline estimates equal the
estimation layer's functions called directly on baseline rows selected by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation import pipeline
from evaluation.cleaning import Panel
from evaluation.estimation import balance_table
from evaluation.indicators import IndicatorSet
from evaluation.plan import PlanError, parse_plan
from tests.unit.test_pipeline import PLAN, simulate

FRAME_PLAN = """
[plan]
title = "Data test plan"
version = "1"
results_framework = "results_framework.toml"
seed = 1

[design]
treatment = "treatment"

[instruments.apprentice]
rounds = ["baseline", "endline"]
key = "resp_id"
cluster = "enterprise_id"
fixed_effects = ["stratum"]
covariates = ["dem_age"]
categorical_covariates = ["edu_level"]

[families.employability]
label = "Employability"
instrument = "apprentice"
outcomes = ["employed"]

[estimators]
primary = "ancova"
"""


def indicator_set(respondents: pd.DataFrame) -> IndicatorSet:
    empty = pd.DataFrame()
    return IndicatorSet(respondents, None, None, None, empty, empty, (), {})


def panel(data: pd.DataFrame) -> Panel:
    empty = pd.DataFrame()
    return Panel("resp_id", data, {}, empty, empty, ("baseline", "endline"))


def clean_panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resp_id": pd.array(["TJ001001", "TJ001001", "TJ002001", "TJ002001"], "string"),
            "round": pd.array(["baseline", "endline", "baseline", "endline"], "string"),
            "dem_age": pd.array(["23", "24", "", "31"], "string"),  # a calculation: text
            "edu_level": pd.array([4, 4, pd.NA, 6], "Int64"),
            "job_wage": pd.array([3000, 3200, pd.NA, 4100], "Int64"),
        }
    )


def indicators() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resp_id": pd.array(["TJ002001", "TJ001001", "TJ002001", "TJ001001"], "string"),
            "round": pd.array(["baseline", "baseline", "endline", "endline"], "string"),
            "enterprise_id": pd.array(["TJ002", "TJ001", "TJ002", "TJ001"], "string"),
            "treatment": pd.array([0, 1, 0, 1], "Int64"),
            "stratum": pd.array(["TJ|C", "TJ|C", "TJ|C", "TJ|C"], "string"),
            "employed": pd.array([1.0, pd.NA, 0.0, 1.0], "Float64"),
        }
    )


def test_analysis_frame_joins_the_plans_covariates_from_the_panel():
    plan = parse_plan(FRAME_PLAN)
    frames = pipeline.analysis_frames(
        plan, {"apprentice": panel(clean_panel())}, indicator_set(indicators())
    )
    frame = frames["apprentice"]
    # By hand: indicator rows in their order, the two covariates looked up by (resp_id, round).
    expected_age = [math.nan, 23.0, 31.0, 24.0]
    expected_edu = [math.nan, 4.0, 6.0, 4.0]
    assert list(frame.columns) == [*indicators().columns, "dem_age", "edu_level"]
    np.testing.assert_array_equal(frame["dem_age"].to_numpy(), expected_age)
    np.testing.assert_array_equal(frame["edu_level"].to_numpy(), expected_edu)
    np.testing.assert_array_equal(frame["employed"].to_numpy(), [1.0, math.nan, 0.0, 1.0])
    assert frame["treatment"].dtype == np.float64
    assert frame["resp_id"].dtype == object
    assert frame["resp_id"].tolist() == indicators()["resp_id"].tolist()
    assert "job_wage" not in frame.columns  # only what the plan names


def test_analysis_frame_errors_name_the_column():
    plan = parse_plan(FRAME_PLAN)
    text = clean_panel().assign(dem_age=pd.array(["23", "24", "about 30", "31"], "string"))
    with pytest.raises(ValueError, match=r"covariate 'dem_age' has 1 values .*'about 30'"):
        pipeline.analysis_frames(plan, {"apprentice": panel(text)}, indicator_set(indicators()))
    missing = clean_panel().drop(columns="edu_level")
    with pytest.raises(PlanError, match="'edu_level'"):
        pipeline.analysis_frames(plan, {"apprentice": panel(missing)}, indicator_set(indicators()))


def test_has_endline():
    plan = parse_plan(PLAN)
    frames = simulate()
    assert pipeline.has_endline(plan, frames)
    baseline = {k: f.loc[f["round"] == "baseline"] for k, f in frames.items()}
    assert not pipeline.has_endline(plan, baseline)


CITY_PLAN = PLAN.replace(
    '[subgroups.sex]\ncolumn = "female"\ninstrument = "apprentice"',
    '[subgroups.sex]\ncolumn = "female"\ninstrument = "apprentice"\n\n'
    '[subgroups.city]\ncolumn = "meta_city"\ninstrument = "apprentice"',
)


def test_a_subgroup_level_with_one_arm_is_left_out_with_a_note():
    plan = parse_plan(CITY_PLAN)
    frames = simulate()
    apprentice = frames["apprentice"].copy()
    # Make every enterprise of one city a comparison enterprise, as in the demo's comparison
    # cities; add a third city so that two identified levels remain.
    apprentice.loc[apprentice["meta_city"] == "SZ", "treatment"] = 0.0
    firms = apprentice["enterprise_id"].str[2:].astype(int)
    apprentice.loc[(firms % 8 >= 4) & (apprentice["meta_city"] == "TJ"), "meta_city"] = "BJ"
    frames = {**frames, "apprentice": apprentice}
    samples = pipeline.analysis_samples(plan, apprentice, "apprentice")
    # Exact enumeration: a city is identified when a (city, stratum) cell holds both arms.
    cells = samples.endline.groupby(["meta_city", "stratum"])["treatment"].nunique()
    identified = sorted({city for (city, _), n in cells.items() if n == 2})
    assert identified == ["BJ", "TJ"]
    results = pipeline.estimate(plan, frames)
    assert any("levels ['SZ'] left out" in n for n in results.notes)
    groups = {e.subgroup for e in results.heterogeneity if e.estimator == "subgroup"}
    assert {g for g in groups if g.startswith("meta_city")} == {"meta_city=BJ", "meta_city=TJ"}
    assert len({g for g in groups if g.startswith("female")}) == 2  # both levels kept
    differences = {e.subgroup for e in results.heterogeneity if e.estimator == "difference"}
    assert "meta_city=TJ - meta_city=BJ" in differences


def test_baseline_estimates_equal_direct_calls():
    plan = parse_plan(PLAN)
    frames = {k: f.loc[f["round"] == "baseline"] for k, f in simulate().items()}
    results = pipeline.estimate_baseline(plan, frames)
    assert results.baseline_only
    assert len(results.primary) == 0
    assert results.attrition is None
    base = frames["apprentice"].sort_values("resp_id")
    direct = balance_table(
        base.assign(employed_baseline=base["employed"]),
        "treatment",
        ["dem_age", "female", "employed_baseline"],
        cluster="enterprise_id",
        fixed_effects=["stratum"],
        vcov="CR2",
    )
    ours = results.balance["apprentice"].table
    for variable in ("dem_age", "female", "employed_baseline"):
        a = ours.loc[ours["variable"] == variable].reset_index(drop=True)
        b = direct.loc[direct["variable"] == variable].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    outcomes = set(results.ex_ante_mde["outcome"])
    assert {"employed", "wage_month", "core_skills_index", "skill_gap_share"} == outcomes
