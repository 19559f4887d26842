"""Figures: each returns a Figure with the expected axes, labels, footer and banner, hides small
cells, saves without warnings, and falls back to English without a CJK font."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from evaluation.estimation import EffectSpec, balance_table, estimate_effects
from evaluation.reporting import figures, gate, tables
from evaluation.reporting.render import figure_bytes
from tests.unit.reporting._data import framework_rows


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n, g = 240, 24
    firm = rng.integers(0, g, size=n)
    frame = pd.DataFrame(
        {
            "firm": firm,
            "treatment": (firm % 2).astype(float),
            "female": rng.integers(0, 2, size=n).astype(float),
            "age": rng.normal(24, 3, size=n),
            "responded": (rng.random(n) > 0.1).astype(float),
            "isco_major": rng.integers(1, 6, size=n),
            "qual_mismatch_norm": rng.choice(
                ["under", "matched", "over"], size=n, p=[0.2, 0.6, 0.2]
            ),
            "core_skills_social": rng.normal(3, 1, size=n),
            "core_skills_digital": rng.normal(3, 1, size=n),
        }
    )
    for outcome in ("employed", "wage"):
        frame[f"{outcome}_baseline"] = rng.normal(size=n)
        frame[outcome] = frame[f"{outcome}_baseline"] + rng.normal(size=n)
    return frame


@pytest.fixture(scope="module")
def results(data):
    return estimate_effects(
        data,
        EffectSpec(
            outcomes=("employed", "wage"),
            treatment="treatment",
            baseline={"employed": "employed_baseline", "wage": "wage_baseline"},
            cluster="firm",
            family={"employed": "employability", "wage": "job_quality"},
        ),
    )


def footer(figure: Figure) -> str:
    return "\n".join(t.get_text() for t in figure.texts)


def saves(figure: Figure) -> None:
    """Both formats render (warnings are errors in the test suite)."""
    assert figure_bytes(figure, "png").startswith(b"\x89PNG")
    assert b"<svg" in figure_bytes(figure, "svg")


def test_coefficient_plot(results):
    figure = figures.coefficient_plot(
        results,
        families={"employability": "Employability"},
        labels={"wage": "Monthly wage"},
        simulated=True,
        source="demo",
    )
    assert isinstance(figure, Figure)
    axes = figure.axes
    assert [ax.get_title(loc="left") for ax in axes] == ["Employability", "job_quality"]
    assert [t.get_text() for t in axes[1].get_yticklabels()] == ["Monthly wage"]
    assert axes[-1].get_xlabel() == "Effect (95% CI)"
    text = footer(figure)
    assert "N = 240; clusters = 24; treated clusters = 12; SE: CR1, t on 23 df" in text
    assert "inference: analytic" in text
    assert "Source: demo." in text
    assert figure.get_suptitle().startswith("SIMULATED DATA")
    saves(figure)


def test_love_plot_names_denominator(data):
    balance = balance_table(data, "treatment", ["female", "age"], cluster="firm")
    figure = figures.balance_love_plot({"Unweighted": balance, "Weighted": balance})
    ax = figure.axes[0]
    assert ax.get_xlabel() == "|Norm. diff.| (pooled SD)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["age", "female"]
    assert "N by arm Control:" in footer(figure)
    assert not figure.get_suptitle()
    saves(figure)


def test_attrition_plot_marks_suppressed_rates():
    frame = pd.DataFrame(
        {"treatment": [0] * 40 + [1] * 50, "responded": [1] * 37 + [0] * 3 + [1] * 48 + [0] * 2}
    )
    published = gate(
        tables.attrition_table(frame, treatment="treatment", response="responded", source="s")
    )
    figure = figures.attrition_plot(published)
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert labels.count("[c]") == 2  # both arms' rates are suppressed
    assert "5.6%" in labels  # the total's rate is shown
    saves(figure)
    with pytest.raises(TypeError, match="gate"):
        figures.attrition_plot(published.table)  # type: ignore[arg-type]


def test_distribution_plot_hides_small_bins():
    # Treated: 30 values near 0 and one outlier at 10; the outlier's bin (1 < 5) is not drawn.
    values = np.r_[np.linspace(0, 1, 30), [10.0], np.linspace(0, 1, 30)]
    frame = pd.DataFrame({"treatment": [1] * 31 + [0] * 30, "wage": values})
    figure = figures.distribution_plot(frame, "wage", treatment="treatment", bins=10)
    steps = list(figure.axes[0].patches)
    heights = {p.get_label(): p.get_data().values for p in steps}
    treated = heights["Treatment (N = 31)"]
    assert treated[-1] == 0.0  # the bin holding the single outlier
    assert treated[0] > 0
    # Bins [0, 1) hold 29 per arm; [1, 2) one per arm (hidden) and [9, 10] the outlier (hidden).
    assert figure.axes[0].get_xlim() == pytest.approx((0.0, 1.0))  # extremes not revealed
    assert "Bins with fewer than 5 observations are not drawn" in footer(figure)
    saves(figure)


def test_distribution_plot_by_round(data):
    panel = pd.concat([data.assign(round="baseline"), data.assign(round="endline")])
    figure = figures.distribution_plot(panel, "age", treatment="treatment", round="round")
    assert [ax.get_title(loc="left") for ax in figure.axes] == ["Baseline", "Endline"]
    saves(figure)


def test_mismatch_plot_drops_groups_with_small_cells(data):
    frame = pd.concat(
        [
            data[["isco_major", "qual_mismatch_norm"]],
            pd.DataFrame(
                {"isco_major": [9] * 12, "qual_mismatch_norm": ["over"] * 2 + ["matched"] * 10}
            ),
        ]
    )
    figure = figures.mismatch_composition_plot(frame)
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert not any(t.startswith("isco_major=9") for t in ticks)
    assert len(ticks) == 5
    assert "1 group(s) with a category below 5 not shown." in footer(figure)
    saves(figure)


def test_core_skills_plot(data):
    figure = figures.core_skills_plot(
        data, ["core_skills_social", "core_skills_digital"], treatment="treatment"
    )
    ax = figure.axes[0]
    assert ax.get_xlabel() == "Mean (95% CI)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Control", "Treatment"]
    saves(figure)


def test_logframe_and_knowledge_gains_plots():
    framework = framework_rows()
    figure = figures.logframe_progress_plot(
        gate(tables.results_framework_table(framework, source="s"))
    )
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert " 75%" in texts
    assert "target missing" in texts
    assert "no data" in texts
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert ticks == ["1.1: appr_completion", "3.1: core_skills_index", "4.1: norm_gain"]
    saves(figure)
    scores = pd.DataFrame(
        {"score_pre": np.linspace(30, 70, 12), "score_post": np.linspace(50, 90, 12)}
    )
    figure = figures.knowledge_gains_plot(gate(tables.capacity_gains_table(scores, source="s")))
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["All (N = 12)"]
    saves(figure)


def test_power_curve_plot():
    power = pd.DataFrame({"n_clusters": [10, 20, 40] * 2, "icc": [0.05] * 3 + [0.1] * 3})
    power["mde"] = 2.8 * np.sqrt(power["icc"] * 4 / power["n_clusters"])
    figure = figures.power_curve_plot(power, by="icc", reference=0.2, note="alpha 0.05, power 0.8")
    ax = figure.axes[0]
    assert len(ax.get_lines()) == 3  # two curves and the reference
    assert ax.get_xlabel() == "Clusters"
    assert "alpha 0.05, power 0.8" in footer(figure)
    saves(figure)


# --- Chinese labels ------------------------------------------------------------------------


def test_cjk_font_detection():
    fonts = ["DejaVu Sans", "Noto Sans CJK HK", "WenQuanYi Zen Hei", "Noto Sans CJK SC"]
    assert figures.cjk_font(fonts) == "Noto Sans CJK SC"  # Simplified Chinese first
    assert figures.cjk_font(["Noto Sans CJK JP", "WenQuanYi Micro Hei"]) == "WenQuanYi Micro Hei"
    assert figures.cjk_font(["Noto Sans CJK TC", "Noto Sans CJK JP"]) == "Noto Sans CJK JP"
    assert figures.cjk_font(["DejaVu Sans", "STIXGeneral"]) is None


def test_english_fallback_without_cjk_font(results, monkeypatch):
    monkeypatch.setattr(figures, "cjk_font", lambda names=None: None)
    figure = figures.coefficient_plot(results, language="zh", labels={"wage": "月工资"})
    notes = figures.figure_notes(figure)
    assert any("fonts-noto-cjk" in n and "English labels" in n for n in notes)
    ticks = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels()]
    assert "wage" in ticks  # the Chinese label is replaced by the variable name
    assert figure.axes[-1].get_xlabel() == "Effect (95% CI)"
    saves(figure)  # no "Glyph missing" warnings


def test_chinese_labels_with_a_cjk_font(results):
    if figures.cjk_font() is None:
        reason = f"no CJK font installed (Debian package {figures.CJK_FONT_PACKAGE})"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason}; under CI=true .ci/run installs it and this test must run")
        pytest.skip(reason)
    figure = figures.coefficient_plot(results, language="zh", labels={"wage": "月工资"})
    assert figures.figure_notes(figure) == ()
    assert figure.axes[-1].get_xlabel() == "效应 (95% 置信区间)"
    saves(figure)
