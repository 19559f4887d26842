"""Table builders: contents against hand calculations and the estimation layer's own output."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evaluation.estimation import (
    EffectEstimates,
    EffectSpec,
    balance_table,
    did_table,
    estimate_effects,
    joint_orthogonality_test,
    lee_bounds,
)
from evaluation.reporting import gate, render, tables
from evaluation.reporting.tables import Column, Table
from evaluation.reporting.text import format_value, label_for, text
from tests.unit.reporting._data import framework_rows


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    """Seeded baseline-endline data: 200 apprentices in 20 enterprises, treatment by enterprise."""
    rng = np.random.default_rng(11)
    n, g = 200, 20
    firm = rng.integers(0, g, size=n)
    treatment = (firm % 2).astype(float)
    female = rng.integers(0, 2, size=n).astype(float)
    frame = pd.DataFrame(
        {
            "resp": np.arange(n),
            "firm": firm,
            "treatment": treatment,
            "female": female,
            "sex": np.where(female == 1, 2, 1),
            "age": rng.normal(24, 3, size=n),
        }
    )
    for outcome in ("employed", "wage"):
        base = rng.normal(size=n)
        frame[f"{outcome}_baseline"] = base
        frame[outcome] = 0.25 * treatment + 0.5 * base + rng.normal(size=n)
    return frame


@pytest.fixture(scope="module")
def panel(survey) -> pd.DataFrame:
    pre = survey.assign(post=0.0, round="baseline", y=survey["wage_baseline"])
    post = survey.assign(post=1.0, round="endline", y=survey["wage"])
    return pd.concat([pre, post], ignore_index=True)


def spec(**kw) -> EffectSpec:
    base = {
        "outcomes": ("employed", "wage"),
        "treatment": "treatment",
        "baseline": {"employed": "employed_baseline", "wage": "wage_baseline"},
        "cluster": "firm",
        "family": {"employed": "employability", "wage": "job_quality"},
        "name": "ancova:apprentice",
    }
    return EffectSpec(**(base | kw))


# --- descriptive statistics ----------------------------------------------------------------


def test_descriptive_table_by_hand():
    data = pd.DataFrame(
        {
            "treatment": [0] * 6 + [1] * 5 + [0] * 6 + [1] * 5,
            "round": ["baseline"] * 11 + ["endline"] * 11,
            "x": [1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10] * 2,
            "firm": [1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4] * 2,
        }
    ).astype({"x": float})
    table = tables.descriptive_table(
        data, ["x"], treatment="treatment", round="round", cluster="firm", source="hand"
    )
    row = table.frame.iloc[0]
    # Control 1..6: mean 3.5, SD sqrt(17.5 / 5); treated 2, 4, ..., 10: mean 6, SD sqrt(40 / 4).
    assert row["baseline|0|mean"] == pytest.approx(3.5)
    assert row["baseline|0|sd"] == pytest.approx(math.sqrt(17.5 / 5))
    assert row["baseline|1|mean"] == pytest.approx(6.0)
    assert row["baseline|1|sd"] == pytest.approx(math.sqrt(10.0))
    assert row["endline|total|n"] == 11
    assert row["endline|total|mean"] == pytest.approx((21 + 30) / 11)
    groups = [c.group for c in table.columns if c.key.endswith("|mean")]
    assert groups[:3] == ["Baseline: Control", "Baseline: Treatment", "Baseline: Total"]
    assert "Clusters by arm: Baseline: Control 2, Treatment 2" in " ".join(table.notes)
    assert table.notes[-1] == "Source: hand."
    # x is not 0/1: no implied counts; N margins per round: total = control + treatment.
    assert all(len(q.cells) == 1 for q in table.quantities)
    assert len(table.margins) == 2


def test_enterprise_table_is_named_and_titled():
    data = pd.DataFrame({"treatment": [0, 0, 1, 1] * 3, "skill_gap_share": np.arange(12.0)})
    table = tables.enterprise_table(data, ["skill_gap_share"], treatment="treatment", source="s")
    assert table.name == "enterprise_indicators"
    assert table.title == "Enterprise indicators by arm and round"
    assert table.producer.endswith("enterprise_table")


# --- balance -------------------------------------------------------------------------------


def test_balance_table_layout_and_values(survey):
    balance = balance_table(survey, "treatment", ["female", "age"], cluster="firm", total=True)
    joint = joint_orthogonality_test(survey, "treatment", ["female", "age"], cluster="firm")
    table = tables.balance_table(balance, joint=joint, source="s")
    frame = table.frame.set_index("variable")
    means = survey.groupby("treatment")["age"].mean()
    sds = survey.groupby("treatment")["age"].std(ddof=1)
    assert frame.loc["age", "0|mean"] == pytest.approx(means[0.0])
    assert frame.loc["age", "1|mean"] == pytest.approx(means[1.0])
    pooled = math.sqrt((sds[0.0] ** 2 + sds[1.0] ** 2) / 2)
    assert frame.loc["age", "1|smd"] == pytest.approx((means[1.0] - means[0.0]) / pooled)
    assert frame.loc["age", "total|n"] == len(survey)
    labels = [c.label for c in table.columns]
    assert "Norm. diff. (pooled SD)" in labels
    assert any("Joint orthogonality test" in n and "F(2, 19)" in n for n in table.notes)
    assert any("SE: CR1, t on 19 df" in n for n in table.notes)
    # female is 0/1 (SD identity holds): its means imply counts; age does not.
    implied = {q.id[2] for q in table.quantities if len(q.cells) == 2}
    rows = dict(enumerate(table.frame["variable"]))
    assert {rows[q.id[1]] for q in table.quantities if len(q.cells) == 2} == {"female"}
    assert implied == {"0|mean", "1|mean", "total|mean"}


def test_balance_table_names_other_denominators(survey):
    balance = balance_table(survey, "treatment", ["age"], smd_denominator="control", pvalues=False)
    table = tables.balance_table(balance, source="s", binary=[])
    labels = [c.label for c in table.columns]
    assert "Norm. diff. (SD of the control arm)" in labels
    assert "p" not in labels
    assert all(len(q.cells) == 1 for q in table.quantities)


# --- effects -------------------------------------------------------------------------------


def test_effects_table_with_adjustments(survey):
    results = estimate_effects(survey, spec())
    pvalues = [e.pvalue for e in results]
    holm = multipletests(pvalues, method="holm")[1]  # statsmodels as the independent source
    # Both outcomes in one family (they share the specification); the column is adjust()'s own.
    adjusted = results.adjust("holm", by="specification")
    table = tables.effects_table(
        adjusted, source="s", families={"employability": "Employability"}, labels={"wage": "Wage"}
    )
    frame = table.frame.set_index("outcome")
    expected = results.to_frame().set_index("outcome")
    for column in ("effect", "std_error", "ci_lower", "ci_upper", "pvalue", "control_mean"):
        assert frame.loc["wage", column] == expected.loc["wage", column]
    assert list(frame["pvalue_holm"]) == pytest.approx(list(holm))
    assert [c.label for c in table.columns if c.key == "pvalue_holm"] == ["Holm p"]
    # A frame (to_frame()) shows the same column, and never the auto-inference extras.
    from_frame = tables.effects_table(adjusted.to_frame().assign(pvalue_cr1=0.5), source="s")
    assert [c.key for c in from_frame.columns if c.kind == "pvalue"] == ["pvalue", "pvalue_holm"]
    assert list(frame["label"]) == ["employed", "Wage"]
    assert list(frame["family_label"]) == ["Employability", "job_quality"]
    assert table.row_group == "family_label"
    note = table.notes[0]
    assert "Estimator: ANCOVA" in note
    assert "N = 200" in note
    assert "clusters = 20" in note
    assert "SE: CR1, t on 19 df" in note
    assert "inference: analytic" in note
    assert "95% confidence intervals" in note
    assert "Holm p" in table.notes[1]


def test_effects_table_one_family(survey):
    results = estimate_effects(survey, spec())
    table = tables.effects_table(results, source="s", family="job_quality")
    assert list(table.frame["outcome"]) == ["wage"]
    assert table.name == "effects_job_quality"
    assert table.title == "Effects on job_quality"
    with pytest.raises(ValueError, match="no full-sample 'ancova' estimates"):
        tables.effects_table(results, source="s", family="skills")


def test_heterogeneity_table(survey):
    results = estimate_effects(survey, spec(subgroups=("sex",)))
    table = tables.heterogeneity_table(results, source="s", labels={"sex=1": "Male", "sex": "Sex"})
    frame = table.frame
    source = results.to_frame()
    wage = source.loc[source["outcome"] == "wage"].set_index("subgroup")
    block = frame.loc[frame["outcome"] == "wage"].set_index("subgroup")
    assert block.loc["sex=1", "effect"] == wage.loc["sex=1", "effect"]
    assert block.loc["sex=2 - sex=1", "pvalue"] == wage.loc["sex=2 - sex=1", "pvalue"]
    assert math.isnan(block.loc["sex=2 - sex=1", "control_mean"])
    assert list(block["subgroup_label"]) == ["Male", "Sex = 2", "Difference: Sex = 2 - Male"]
    assert set(frame["group"]) == {"employed: Sex", "wage: Sex"}
    # Pooled N = sum of the subgroup Ns (a margin for the gate).
    assert (
        block.loc["sex=2 - sex=1", "nobs"]
        == block.loc["sex=1", "nobs"] + block.loc["sex=2", "nobs"]
    )
    assert len(table.margins) == 2


def test_robustness_table_side_by_side(survey, panel):
    ancova_results = estimate_effects(survey, spec(outcomes=("wage",)))
    did_results = estimate_effects(
        panel.assign(wage=panel["y"]),
        EffectSpec(
            outcomes=("wage",),
            treatment="treatment",
            estimator="did",
            post="post",
            unit="resp",
            period="round",
            cluster="firm",
        ),
    )
    both = EffectEstimates.concat([ancova_results, did_results])
    table = tables.robustness_table(both, source="s")
    row = table.frame.iloc[0]
    assert row["ancova|effect"] == ancova_results[0].effect
    assert row["did|effect"] == did_results[0].effect
    assert row["did|n"] == 400
    assert [c.group for c in table.columns if c.key.endswith("|effect")] == ["ANCOVA", "DiD"]
    assert table.notes[0].startswith("ANCOVA: N = 200")
    assert table.notes[1].startswith("DiD: N = 400")


def test_did_table_ieddtab_layout(panel):
    did = did_table(panel, ["y"], "treatment", post="post", cluster="firm")
    table = tables.did_table(did, source="s")
    row = table.frame.iloc[0]
    assert row["did"] == did.loc[0, "did"]
    # Hand check of the means: the baseline treated mean is the raw mean of those rows.
    treated_base = panel.loc[(panel["treatment"] == 1) & (panel["post"] == 0), "y"].mean()
    assert row["baseline_mean_treatment"] == pytest.approx(treated_base)
    counts = sum(
        row[f"{r}_n_{a}"] for r in ("baseline", "followup") for a in ("control", "treatment")
    )
    assert counts == row["nobs"] == 400
    assert len(table.margins) == 1
    assert any("SE: CR1, t on 19 df" in n for n in table.notes)


# --- attrition, bounds, results framework, capacity building -------------------------------


def test_lee_bounds_table():
    # The columns are those of LeeBounds.to_frame(); the numbers are METHODS 4.8 (Job Corps).
    bounds = pd.DataFrame(
        {
            "outcome": ["log_wage_hour"],
            "lower": [-0.0159],
            "upper": [0.1001],
            "ci_lower": [-0.09],
            "ci_upper": [0.17],
            "im_lower": [-0.05],
            "im_upper": [0.13],
            "trimming_share": [0.0577],
            "nobs": [9145],
            "n_boot": [999],
            "trimming": ["quantile"],
        }
    )
    published = gate(tables.lee_bounds_table(bounds, source="Job Corps"))
    cells = render.display_rows(published)[0][1]
    # The interval shown is Imbens-Manski's (for the effect), not the identified set's.
    assert cells == ["log_wage_hour", "-0.016", "0.100", "[-0.050, 0.130]", "5.8", "9,145"]
    assert "Trimming: quantile." in published.notes
    assert any("Imbens-Manski" in n and "999 draws" in n for n in published.notes)
    with pytest.raises(KeyError, match="missing columns"):
        tables.lee_bounds_table(bounds.drop(columns="nobs"), source="s")


def test_lee_bounds_table_reads_the_estimation_result():
    # Hand case: treated observed 4 of 5 (y = 1, 2, 3, 4), control 2 of 5 (y = 1, 3):
    # p = (0.8 - 0.4) / 0.8 = 0.5; keep y <= Q(0.5) = 2.5 -> mean 1.5, or y >= 2.5 -> 3.5;
    # control mean 2: bounds [-0.5, 1.5].
    data = pd.DataFrame(
        {
            "t": [1.0] * 5 + [0.0] * 5,
            "obs": [1, 1, 1, 1, 0, 1, 1, 0, 0, 0],
            "y": [1, 2, 3, 4, np.nan, 1, 3, np.nan, np.nan, np.nan],
        }
    )
    result = lee_bounds(data, "y", "t", "obs")
    table = tables.lee_bounds_table([result], source="hand")
    row = table.frame.iloc[0]
    assert (row["lower"], row["upper"], row["trimming_share"]) == (-0.5, 1.5, 0.5)
    assert row["nobs"] == 10
    assert table.frame.equals(tables.lee_bounds_table(result.to_frame(), source="hand").frame)


def test_results_framework_layout():
    labels = {"appr_completion": "Completed apprenticeship", "disability=1": "With disability"}
    labels |= {"outcome=1": "Outcome 1: quality apprenticeships"}
    table = tables.results_framework_table(framework_rows(), source="s", labels=labels)
    frame = table.frame
    assert list(frame["id"]) == ["1.1", "", "", "3.1", "4.1"]
    assert list(frame["label"])[:3] == [
        "Completed apprenticeship",
        "  disability = 0",
        "  With disability",
    ]
    assert list(frame["status_label"]) == [
        "not achieved",
        "not achieved",
        "achieved",
        "target missing",
        "no data",
    ]
    assert table.row_group == "outcome_label"
    assert frame.loc[0, "outcome_label"] == "Outcome 1: quality apprenticeships"
    cells = render.display_rows(gate(table, threshold=2))[0][1]
    assert cells[:8] == [
        "1.1",
        "Completed apprenticeship",
        "0.400",
        "0.550",
        "0.150",
        "0.600",
        "75",
        "not achieved",
    ]
    zh = tables.results_framework_table(framework_rows(), source="s", language="zh")
    assert list(zh.frame["status_label"])[3:] == ["缺少目标值", "无数据"]


def test_results_framework_small_group_suppressed_with_complement():
    # The disability group of 3 is below 5: its N, values and status are hidden. The "all" row's
    # N is the margin of the two groups, so the other group's N is hidden as complement (the
    # "all" row stays). Its share also implies counts (1 of 3 at baseline), protected the same way.
    published = gate(tables.results_framework_table(framework_rows(), source="s"))
    hidden = {(r, c) for r, c in published.hidden}
    for column in ("n_baseline", "n_endline", "baseline", "endline", "status_label"):
        assert (2, column) in hidden, column
    assert (1, "n_baseline") in hidden
    assert (1, "n_endline") in hidden
    assert not any(r == 0 for r, _ in hidden)
    assert not any(r == 3 for r, _ in hidden)


def test_capacity_gains_by_hand():
    scores = pd.DataFrame(
        {
            "score_pre": [40.0, 50, 60, 70, 80, 50],
            "score_post": [60.0, 70, 65, 90, 85, 75],
            "cb_sex": [1, 1, 1, 2, 2, 2],
        }
    )
    table = tables.capacity_gains_table(scores, by=["cb_sex"], source="s")
    everyone = table.frame.iloc[0]
    pre, post = 350 / 6, 445 / 6
    assert everyone["n"] == 6
    assert everyone["pre"] == pytest.approx(pre)
    assert everyone["post"] == pytest.approx(post)
    assert everyone["norm_gain"] == pytest.approx((post - pre) / (100 - pre))
    d = np.array([20.0, 20, 5, 20, 5, 25])
    t_stat = d.mean() / (d.std(ddof=1) / math.sqrt(6))
    assert everyone["pvalue"] == pytest.approx(2 * stats.t.sf(t_stat, 5))
    assert list(table.frame["n"]) == [6, 3, 3]
    assert table.margins  # All = sum of the groups
    published = gate(table)  # groups of 3 are suppressed, and so is "All" as complement
    assert all(published.is_hidden(r, "n") for r in (1, 2))


# --- language, labels, formats, validation --------------------------------------------------


def test_chinese_headers_and_labels(survey):
    results = estimate_effects(survey, spec())
    table = tables.effects_table(results, source="演示", language="zh", labels={"wage": "月工资"})
    assert [c.label for c in table.columns][:3] == ["结果指标", "对照组均值", "效应"]
    assert "月工资" in list(table.frame["label"])
    assert table.notes[-1] == "数据来源:演示。"
    with pytest.raises(ValueError, match="language"):
        text("mean", "fr")


def test_label_for():
    labels = {"dem_sex": "Sex", "dem_sex=2": "Female"}
    assert label_for("dem_sex=2", labels) == "Female"
    assert label_for("dem_sex=1", labels) == "Sex = 1"
    assert label_for("wage", None) == "wage"


@pytest.mark.parametrize(
    ("value", "kind", "digits", "expected"),
    [
        (0.0004, "pvalue", None, "<0.001"),
        (0.0456, "pvalue", None, "0.046"),
        (1234, "count", None, "1,234"),
        (-0.0001, "number", None, "0.000"),
        (4567.8, "number", None, "4,568"),
        (123.456, "number", None, "123.5"),
        (0.0577, "percent", None, "5.8"),
        (0.12345, "se", None, "(0.123)"),
        ((0.1, 0.25), "interval", None, "[0.100, 0.250]"),
        (float("nan"), "number", None, ""),
        (pd.NA, "count", None, ""),
        (1.5, "number", 1, "1.5"),
    ],
)
def test_format_value(value, kind, digits, expected):
    assert format_value(value, kind, digits) == expected


def test_table_checks_its_references():
    frame = pd.DataFrame({"n": [10]})
    with pytest.raises(ValueError, match=r"columns \['x'\] are not in its frame"):
        Table(name="t", title="t", frame=frame, columns=(Column("x", "x"),), notes=(), source="s")
    with pytest.raises(ValueError, match="kind must be one of"):
        Column("n", "N", "money")
