"""Small hand-built inputs shared by the reporting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.estimation import EffectSpec, balance_table, estimate_effect, estimate_effects
from evaluation.reporting import (
    FigureItem,
    Paragraph,
    Provenance,
    Report,
    Section,
    figures,
    gate,
    tables,
)


def framework_rows() -> pd.DataFrame:
    """Rows in the shape of evaluation.indicators.framework.results_framework_table."""
    columns = ["outcome", "id", "indicator", "statistic", "disaggregation", "group"]
    columns += ["n_baseline", "baseline", "baseline_source", "n_endline", "endline", "change"]
    columns += ["target", "status", "progress"]
    rows = [
        [
            1,
            "1.1",
            "appr_completion",
            "share",
            "all",
            "all",
            300,
            0.40,
            "data",
            280,
            0.55,
            0.15,
            0.60,
            "not achieved",
            0.75,
        ],
        [
            1,
            "1.1",
            "appr_completion",
            "share",
            "disability",
            "0",
            297,
            0.40,
            "data",
            277,
            0.55,
            0.15,
            0.60,
            "not achieved",
            0.75,
        ],
        [
            1,
            "1.1",
            "appr_completion",
            "share",
            "disability",
            "1",
            3,
            0.0 + 1 / 3,
            "data",
            3,
            2 / 3,
            1 / 3,
            0.60,
            "achieved",
            1.33,
        ],
        [
            3,
            "3.1",
            "core_skills_index",
            "mean",
            "all",
            "all",
            300,
            0.0,
            "data",
            280,
            0.2,
            0.2,
            np.nan,
            "target missing",
            np.nan,
        ],
        [
            4,
            "4.1",
            "norm_gain",
            "mean",
            "all",
            "all",
            np.nan,
            np.nan,
            "data",
            np.nan,
            np.nan,
            np.nan,
            np.nan,
            "no data",
            np.nan,
        ],
    ]
    return pd.DataFrame(rows, columns=columns)


PROVENANCE = Provenance(
    data_hash="d" * 64,
    plan_hash="p" * 64,
    commit="c" * 40,
    source="demo world (simulated), seed 7",
    simulated=True,
    seed=7,
    version="0.1.0",
)


def survey() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n, g = 240, 24
    firm = rng.integers(0, g, size=n)
    treatment = (firm % 2).astype(float)
    frame = pd.DataFrame(
        {
            "firm": firm,
            "treatment": treatment,
            "female": rng.integers(0, 2, size=n).astype(float),
            "age": rng.normal(24, 3, size=n),
            "responded": (rng.random(n) > 0.08).astype(float),
        }
    )
    frame.loc[:2, "responded"] = 0.0  # a few attriters in each arm
    for outcome in ("employed", "wage"):
        base = rng.normal(size=n)
        frame[f"{outcome}_baseline"] = base
        frame[outcome] = 0.25 * treatment + 0.5 * base + rng.normal(size=n)
    return frame


def build_report(simulated: bool = True, deviations=()) -> Report:
    """Everything built from scratch (new data, estimates, tables and figures)."""
    data = survey()
    results = estimate_effects(
        data,
        EffectSpec(
            outcomes=("employed", "wage"),
            treatment="treatment",
            baseline={"employed": "employed_baseline", "wage": "wage_baseline"},
            cluster="firm",
            family={"employed": "employability", "wage": "job_quality"},
            name="ancova:apprentice",
        ),
    )
    balance = balance_table(data, "treatment", ["female", "age"], cluster="firm")
    attrited = data.assign(attrited=1.0 - data["responded"])
    differential = estimate_effect(attrited, "attrited", "treatment", cluster="firm")
    source = PROVENANCE.source
    attrition = gate(
        tables.attrition_table(
            data,
            treatment="treatment",
            response="responded",
            source=source,
            differential=differential,
        )
    )
    sections = (
        Section("methods", (Paragraph("ANCOVA with CR1 standard errors.", "Estimation"),)),
        Section(
            "results",
            (
                gate(tables.effects_table(results, source=source, family="employability")),
                FigureItem(
                    "coefficients",
                    figures.coefficient_plot(results, simulated=simulated, source=source),
                    "Effects with 95% confidence intervals",
                    "evaluation.reporting.figures.coefficient_plot",
                ),
            ),
            title="Results: employability",
        ),
        Section("design", (Paragraph("Treatment assigned by enterprise; not random."),)),
        Section(
            "data",
            (
                attrition,
                FigureItem(
                    "attrition",
                    figures.attrition_plot(attrition, simulated=simulated),
                    "Attrition by arm",
                    "evaluation.reporting.figures.attrition_plot",
                ),
            ),
        ),
        Section("balance", (gate(tables.balance_table(balance, source=source)),)),
    )
    provenance = Provenance(**{**PROVENANCE.__dict__, "simulated": simulated})
    return Report("Outcome evaluation", sections, provenance, deviations=deviations)
