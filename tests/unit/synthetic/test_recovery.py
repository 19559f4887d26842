"""OLS on the clean simulated panel recovers the primary true effects; naive differences do not.

The panel is built here from the simulated questionnaire answers (the coded answer columns the
indicators read, never the simulation's internal states), with the indicator definitions written
out below: employment from the activity items (19th ICLS: at work, on leave, or absent with a
return within three months), formality from ``job_si`` and the paid-leave fallback (21st ICLS),
hourly wages from ``job_wage`` and ``job_hours_usual``, the core-skills index as the
standardised mean of the four subscale means, the green-knowledge score against the form's
``answer_key``s (percent correct), over-qualification from the ISCO-08 code the indicators'
occupation coding gives the job title (keyword table plus the demo's manual-coding file), the
``isced`` column of the form's ``edu_level`` list and the normative table of the indicators.
The sample-frame file gives the enterprise characteristics.

The answers are those of :func:`evaluation.synthetic.answers.apprentice_answers`, at the
design's size (60 enterprises, about 5,000 apprentices): the answering engine takes each of them
unchanged (``test_demo.test_writers_answer_alike_through_the_engine`` checks that every value
comes out identical with no note), and skipping the engine keeps ten worlds within a minute.

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
from evaluation.instruments.files import read_instruments
from evaluation.synthetic.answers import apprentice_answers, manual_coding
from evaluation.synthetic.demo import attachments
from evaluation.synthetic.population import WorldConfig, simulate_population
from evaluation.synthetic.truth import truth

from .conftest import ROOT

pytestmark = pytest.mark.slow

SEEDS = range(10)
SUBSCALES = {
    "social": ("cs_se_communication", "cs_se_teamwork", "cs_se_conflict", "cs_se_emotional"),
    "cognitive": (
        "cs_cg_literacy_numeracy",
        "cs_cg_critical",
        "cs_cg_creative",
        "cs_cg_strategic",
        "cs_cg_problem_solving",
        "cs_cg_learning",
        "cs_cg_information",
        "cs_cg_planning",
        "cs_cg_career",
    ),
    "digital": ("cs_dg_hardware", "cs_dg_software", "cs_dg_online_safety"),
    "green": ("cs_gr_environment", "cs_gr_waste", "cs_gr_energy_water"),
}


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan))


@pytest.fixture(scope="module")
def forms():
    return read_instruments(ROOT / "surveys")


@pytest.fixture(scope="module")
def coding():
    occupations = pytest.importorskip("evaluation.indicators.occupations")
    files = pytest.importorskip("evaluation.indicators.files")
    table = files.reference_table("isco_isced_normative")
    normative = pd.DataFrame(
        {"isced_max": pd.to_numeric(table["isced_max"]).to_numpy()},
        index=table["isco_major"].astype(int).to_numpy(),
    )
    return occupations.code_occupations, manual_coding("2026-04-13"), normative


def _indicators(answers: pd.DataFrame, form, coding) -> pd.DataFrame:
    """The primary indicators from one round's answers (the definitions of the indicators)."""
    code_occupations, manual, normative = coding
    leave = answers["act_absent_reason"].isin(["1", "2", "3"])
    absent = (answers["act_temp_absent"] == "1") & (leave | (answers["act_absent_return3m"] == "1"))
    employed = ((answers["act_work_pay"] == "1") | absent).astype(float)
    is_employed = employed == 1
    si = answers["job_si"].str.split()
    employer_insurance = si.map(lambda codes: "1" in codes or "2" in codes)
    leave_both = (answers["job_paid_leave"] == "1") & (answers["job_sick_leave"] == "1")
    formal = np.where(answers["job_si"] == "-99", leave_both, employer_insurance).astype(float)
    wage = _number(answers["job_wage"])
    hours = _number(answers["job_hours_usual"])
    log_wage = np.log(wage.where(wage > 0) / (hours * 4.33))
    means = [answers[list(items)].apply(_number).mean(axis=1) for items in SUBSCALES.values()]
    core = pd.concat(means, axis=1).mean(axis=1)
    keys = {f"grn_quiz_{j}": form.question(f"grn_quiz_{j}").answer_key for j in range(1, 6)}
    quiz = 100 * pd.concat([answers[q] == k for q, k in keys.items()], axis=1).mean(axis=1)
    isced = {c.name: c.get("isced") for c in form.choice_list("edu_level").choices}
    attained = answers["edu_level"].map(isced).astype(float)
    coded = code_occupations(answers.loc[is_employed], manual)
    major = coded["isco_major"].astype(float).reindex(answers.index)
    highest = major.map(normative["isced_max"]).astype(float)
    assert highest[major.notna()].notna().all()
    over = (attained > highest).astype(float)
    return pd.DataFrame(
        {
            "resp_id": answers["resp_id"],
            "employed": employed,
            "formal_job": np.where(is_employed, formal, np.nan),
            "log_wage_hour": np.where(is_employed, log_wage, np.nan),
            "core_mean": core,
            "green_knowledge_score": quiz,
            "overqual_norm": np.where(is_employed & major.notna(), over, np.nan),
        }
    )


def _panel(seed: int, forms, coding):
    world = simulate_population(WorldConfig(seed=seed))
    answered = {}
    for round_name in ("baseline", "endline"):
        main = apprentice_answers(world, round_name, forms[("apprentice", round_name)]).main
        interviewed = (main["meta_consent"] == "1") & (main["meta_minor_guardian"] != "0")
        answered[round_name] = main[interviewed].reset_index(drop=True)
    base_answers, end_answers = answered["baseline"], answered["endline"]
    base = _indicators(base_answers, forms[("apprentice", "baseline")], coding)
    end = _indicators(end_answers, forms[("apprentice", "endline")], coding)
    frame = base_answers[["resp_id", "enterprise_id", "meta_city", "meta_sample_group"]].assign(
        treatment=lambda d: d["meta_sample_group"].astype(int),
        female=(base_answers["dem_sex"] == "2").astype(float),
        rural=base_answers["dem_hukou_type"].isin(["1", "3"]).astype(float),
        isced=base_answers["edu_level"]
        .map(
            {
                c.name: c.get("isced")
                for c in forms[("apprentice", "baseline")].choice_list("edu_level").choices
            }
        )
        .astype(float),
    )
    sample_frame = attachments(world)["enterprises.csv"].set_index("name")
    enterprises = pd.DataFrame(
        {
            "large": (sample_frame["size"].astype(int) >= 4).astype(float),
            "soe": (sample_frame["ownership"] == "1").astype(float),
            "foreign": (sample_frame["ownership"] == "4").astype(float),
            "manuf": (sample_frame["gbt4754"] == "C").astype(float),
        }
    )
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
def results(forms, coding):
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        for seed in SEEDS:
            world, panel = _panel(seed, forms, coding)
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
    # The mean error over ten seeds is within three standard errors of that mean (a t with 9
    # degrees of freedom: six outcomes at once at two standard errors would fail one in three
    # correct simulations).
    assert (mean_error.abs() <= 3 * spread / np.sqrt(len(SEEDS))).all(), mean_error.to_string()


def test_unadjusted_differences_are_biased(results):
    bias = (results["naive"] - results["truth"]).groupby(results["outcome"]).mean()
    # Selection on enterprise size, ownership and sector favours the treated.
    assert bias["formal_job"] > 0.03
    assert bias["log_wage_hour"] > 0.03


def test_the_truth_is_on_the_indicators_scales(results):
    truths = results.groupby("outcome")["truth"].mean()
    assert 2 < truths["green_knowledge_score"] < 40  # percentage points
    assert 0.1 < truths["core_skills_index"] < 1  # SD of the baseline comparison group
    assert 0 < truths["employed"] < 0.2  # probability
