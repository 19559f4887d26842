"""Issue 7 on the demo world: raw exports -> cleaning -> indicators recover the true effects.

For each of ten seeds a clean-mode demo of the apprentice questionnaires (20 enterprises of about
10 apprentices, Kobo CSV) is cleaned by :func:`evaluation.cleaning.outputs.run_clean` and its
panel turned into indicators by :func:`evaluation.indicators.construct.construct_indicators`
with the demo's reviewed manual occupation-coding file. The true effects are the simulation's
(:func:`evaluation.synthetic.truth.truth`, on the indicators' scales), never computed from the
data.

Estimator: ANCOVA by OLS (:func:`evaluation.estimation.ancova`) of the endline indicator on
treatment and its baseline value, with sex, rural hukou, education (ISCED 3+, 5+) and the
enterprise characteristics that drive selection (size, ownership, sector, from the sample
frame's ``enterprises.csv``), city fixed effects and CR2 standard errors clustered by enterprise
(Bell-McCaffrey, METHODS.md 2.3). The 95% interval must cover the truth in at least 90% of the
outcome x seed pairs (each pair covers with probability about 0.95 when the estimator is right:
with 60 pairs, 54 or more covered fails a correct estimator with probability about 8% if the
pairs were independent; outcomes of one seed are positively correlated, which widens the spread).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import FewClustersWarning, ancova

from .conftest import run_clean_demo

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-indicators")]

SEEDS = range(10)
SIZE = {"n_enterprises": 20, "apprentices_per_enterprise": 10}
OUTCOMES = (
    "employed",
    "formal_job",
    "log_wage_hour",
    "core_skills_index",
    "green_knowledge_score",
    "overqual_norm",
)
COVARIATES = ["female", "rural", "secondary", "tertiary", "large", "soe", "manuf", "foreign"]


def _indicators(folder, demo, forms):
    from evaluation.indicators.construct import IndicatorConfig, construct_indicators
    from evaluation.indicators.files import read_manual_coding

    run_clean_demo(folder, folder / "out", folder / "private")
    panel = pd.read_parquet(folder / "out" / "apprentice" / "panel.parquet")
    config = IndicatorConfig(
        manual_coding=read_manual_coding(folder / "decisions" / "occupation_coding.csv")
    )
    apprentice = {k: f for k, f in forms.items() if k[0] == "apprentice"}
    return panel, construct_indicators(panel, apprentice, config)


def _analysis_frame(folder, indicators) -> pd.DataFrame:
    data = indicators.respondents
    base = data[data["round"] == "baseline"].set_index("resp_id")
    end = data[(data["round"] == "endline") & (data["interviewed"] == 1)].set_index("resp_id")
    end = end[end.index.isin(base.index)]
    frame = pd.read_csv(folder / "raw" / "frame" / "enterprises.csv", dtype=str).set_index("name")
    enterprise = base["enterprise_id"]
    rows = pd.DataFrame(
        {
            "treatment": base["treatment"].astype(float),
            "enterprise_id": enterprise.astype(str),
            "meta_city": base["meta_city"].astype(str),
            "female": base["female"].astype(float),
            "rural": base["rural_hukou"].astype(float),
            "secondary": (base["isced_attained"].astype(float) >= 3).astype(float),
            "tertiary": (base["isced_attained"].astype(float) >= 5).astype(float),
            "large": (enterprise.map(frame["size"]).astype(int) >= 4).astype(float),
            "soe": (enterprise.map(frame["ownership"]) == "1").astype(float),
            "foreign": (enterprise.map(frame["ownership"]) == "4").astype(float),
            "manuf": (enterprise.map(frame["gbt4754"]) == "C").astype(float),
        }
    )
    for outcome in OUTCOMES:
        rows[f"{outcome}_b"] = base[outcome].astype(float)
        rows[outcome] = end[outcome].astype(float).reindex(rows.index)
    return rows.loc[end.index].reset_index()


@pytest.fixture(scope="module")
def seeds(demo_folder, demo_forms):
    out = []
    for seed in SEEDS:
        folder, demo = demo_folder(
            families=("apprentice",), seed=seed, format="kobo-csv", clean=True, **SIZE
        )
        panel, indicators = _indicators(folder, demo, demo_forms)
        out.append((seed, demo, panel, indicators, _analysis_frame(folder, indicators)))
    return out


@pytest.fixture(scope="module")
def results(seeds):
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        for seed, demo, _, _, frame in seeds:
            for outcome in OUTCOMES:
                target = demo.truth.get(outcome)
                estimate = ancova(
                    frame,
                    outcome,
                    "treatment",
                    f"{outcome}_b",
                    covariates=COVARIATES,
                    fixed_effects=["meta_city"],
                    cluster="enterprise_id",
                    vcov="CR2",
                )
                rows.append(
                    {
                        "seed": seed,
                        "outcome": outcome,
                        "truth": target.value,
                        "estimate": estimate.effect,
                        "inside": estimate.ci_lower <= target.value <= estimate.ci_upper,
                    }
                )
    return pd.DataFrame(rows)


def test_indicators_recover_the_true_effects(results):
    assert len(results) == len(SEEDS) * len(OUTCOMES)
    coverage = results["inside"].mean()
    assert coverage >= 0.9, results.groupby("outcome")["inside"].mean().to_string()


def test_estimates_are_centred_on_the_truth(results):
    # mean error over ten seeds within three standard errors of that mean (t, 9 df)
    errors = (results["estimate"] - results["truth"]).groupby(results["outcome"])
    spread = results.groupby("outcome")["estimate"].std()
    assert (errors.mean().abs() <= 3 * spread / np.sqrt(len(SEEDS))).all(), errors.mean()


def test_occupation_coding_covers_every_simulated_title(seeds):
    # Every employed respondent's job title is coded by the keyword table or the manual-coding
    # file (never left uncoded), to the ISCO-08 code the simulation drew (population table).
    titles = set()
    for _, demo, _, indicators, _ in seeds:
        coding = indicators.coding
        world = demo.population.apprentices.set_index("resp_id")
        respondents = indicators.respondents.set_index(["resp_id", "round"])
        for round_name, state in (("baseline", "b"), ("endline", "e")):
            rows = coding[coding["round"] == round_name].set_index("resp_id")
            employed = respondents.xs(round_name, level="round")["employed"] == 1
            titled = rows.loc[employed[employed].index]
            titled = titled[titled["job_title_norm"].fillna("") != ""]
            assert len(titled) > 20
            assert set(titled["isco_method"]) <= {"manual", "keyword_title"}
            simulated = world.loc[titled.index, f"isco_{state}"].astype(str)
            assert (titled["isco08"].astype(str) == simulated).all(), round_name
            assert (titled["isco_major"].astype(str) == simulated.str[0]).all(), round_name
            titles |= set(titled["job_title_norm"])
    # over ten worlds, both routes are used
    methods = pd.concat([s[3].coding["isco_method"] for s in seeds])
    assert {"manual", "keyword_title"} <= set(methods)
    assert len(titles) > 10
