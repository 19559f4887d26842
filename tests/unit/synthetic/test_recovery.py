"""OLS on the clean simulated panel recovers the primary true effects; naive differences do not.

The panel is built here from the simulated questionnaire answers (not from the simulation's
internal states), with the indicator definitions written out below, so the test also checks that
the answers carry the truth: employment from the activity items, formality from the social
insurance and leave items, hourly wages from the wage and hours items, the core-skills index
from the 19 items, the quiz score from the answer keys, over-qualification from the job title
(coded to ISCO-08 with the simulation's title list) and the education level.

Estimator: ANCOVA by OLS (``evaluation.estimation.ancova``) with the baseline outcome, sex,
rural hukou, education and the enterprise characteristics that drive selection, city fixed
effects, CR2 standard errors clustered by enterprise (Bell-McCaffrey, the few-cluster
correction of METHODS.md 2.3). A 95% interval covers each truth in at least 90% of the
outcome x seed pairs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import FewClustersWarning, ancova
from evaluation.synthetic import tables
from evaluation.synthetic.answers import apprentice_answers
from evaluation.synthetic.population import CORE_SKILL_ITEMS, WorldConfig, simulate_population
from evaluation.synthetic.truth import truth

pytestmark = pytest.mark.slow

SEEDS = range(10)
ITEMS = [item for group in CORE_SKILL_ITEMS.values() for item in group]
TITLE_TO_ISCO = {t: o["isco"] for o in tables.OCCUPATIONS for t in o["titles"]}
REQUIRED = dict(tables.ISCO_REQUIRED_ISCED)
ISCED = dict(tables.EDU_LEVEL_ISCED)


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan))


def _indicators(answers: pd.DataFrame, quiz_key: str = "1") -> pd.DataFrame:
    """The primary indicators from one round's answers (definitions of clean_data.md)."""
    work = answers["act_work_pay"] == "1"
    absent = (answers["act_temp_absent"] == "1") & (answers["act_absent_return3m"] == "1")
    employed = (work | absent).astype(float)
    si = answers["job_si"].str.split()
    employer_insurance = si.map(lambda codes: "1" in codes or "2" in codes)
    leave = (answers["job_paid_leave"] == "1") & (answers["job_sick_leave"] == "1")
    formal = np.where(answers["job_si"] == "-99", leave, employer_insurance).astype(float)
    wage = _number(answers["job_wage"])
    hours = _number(answers["job_hours_usual"])
    log_wage = np.log(wage.where(wage > 0) / (hours * 4.33))
    core = answers[ITEMS].apply(_number).mean(axis=1)
    quiz = (answers[[f"grn_quiz_{j}" for j in range(1, 6)]] == quiz_key).mean(axis=1)
    isco = answers["job_title_text"].map(TITLE_TO_ISCO)
    major = isco.str.slice(0, 1).astype(float)
    high = major.map(lambda m: REQUIRED[int(m)][1] if m == m else np.nan)
    attained = _number(answers["edu_level"]).map(ISCED)
    over = (attained > high).astype(float)
    is_employed = employed == 1
    return pd.DataFrame(
        {
            "resp_id": answers["resp_id"],
            "employed": employed,
            "formal_job": np.where(is_employed, formal, np.nan),
            "log_wage_hour": np.where(is_employed, log_wage, np.nan),
            "core_mean": core,
            "green_knowledge_score": quiz,
            "overqual_norm": np.where(is_employed & isco.notna(), over, np.nan),
        }
    )


def _panel(seed: int):
    world = simulate_population(WorldConfig(seed=seed))
    base_answers = apprentice_answers(world, "baseline")[0]
    end_answers = apprentice_answers(world, "endline")[0]
    base_answers = base_answers[base_answers["resp_id"] != ""]
    end_answers = end_answers[end_answers["resp_id"] != ""]
    base = _indicators(base_answers)
    end = _indicators(end_answers)
    frame = base_answers[["resp_id", "enterprise_id", "meta_city", "meta_sample_group"]].assign(
        treatment=lambda d: d["meta_sample_group"].astype(int),
        female=(base_answers["dem_sex"] == "2").astype(float),
        rural=base_answers["dem_hukou_type"].isin(["1", "3"]).astype(float),
        isced=_number(base_answers["edu_level"]).map(ISCED),
    )
    enterprises = world.enterprises.set_index("enterprise_id")[["large", "soe", "manuf", "foreign"]]
    frame = frame.join(enterprises, on="enterprise_id")
    frame["secondary"] = (frame["isced"] >= 3).astype(float)
    frame["tertiary"] = (frame["isced"] >= 5).astype(float)
    comparison = frame["treatment"].to_numpy() == 0
    centre = base["core_mean"].to_numpy()[comparison].mean()
    spread = base["core_mean"].to_numpy()[comparison].std(ddof=1)
    for table in (base, end):
        table["core_skills_index"] = (table["core_mean"] - centre) / spread
    panel = frame.merge(base, on="resp_id", validate="one_to_one").merge(
        end, on="resp_id", suffixes=("_b", ""), validate="one_to_one"
    )
    return world, panel


COVARIATES = ["female", "rural", "secondary", "tertiary", "large", "soe", "manuf", "foreign"]
OUTCOMES = (
    "employed",
    "formal_job",
    "log_wage_hour",
    "core_skills_index",
    "green_knowledge_score",
    "overqual_norm",
)


@pytest.fixture(scope="module")
def results():
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        for seed in SEEDS:
            world, panel = _panel(seed)
            the_truth = truth(world)
            treated = panel["treatment"] == 1
            for outcome in OUTCOMES:
                target = the_truth.get(outcome)
                estimate = ancova(
                    panel,
                    outcome,
                    "treatment",
                    f"{outcome}_b",
                    covariates=COVARIATES,
                    fixed_effects=["meta_city"],
                    cluster="enterprise_id",
                    vcov="CR2",
                )
                naive = panel.loc[treated, outcome].mean() - panel.loc[~treated, outcome].mean()
                rows.append(
                    {
                        "seed": seed,
                        "outcome": outcome,
                        "truth": target.value,
                        "estimate": estimate.effect,
                        "inside": estimate.ci_lower <= target.value <= estimate.ci_upper,
                        "naive": naive,
                    }
                )
    return pd.DataFrame(rows)


def test_ols_recovers_the_primary_effects(results):
    assert len(results) == len(SEEDS) * len(OUTCOMES)
    coverage = results["inside"].mean()
    assert coverage >= 0.9, results.groupby("outcome")["inside"].mean().to_string()


def test_estimates_are_centred_on_the_truth(results):
    errors = (results["estimate"] - results["truth"]).groupby(results["outcome"])
    spread = results.groupby("outcome")["estimate"].std()
    mean_error = errors.mean()
    # The mean error over ten seeds is within two standard errors of that mean.
    assert (mean_error.abs() <= 2 * spread / np.sqrt(len(SEEDS))).all(), mean_error.to_string()


def test_unadjusted_differences_are_biased(results):
    bias = (results["naive"] - results["truth"]).groupby(results["outcome"]).mean()
    # Selection on enterprise size, ownership and sector favours the treated.
    assert bias["formal_job"] > 0.03
    assert bias["log_wage_hour"] > 0.03
