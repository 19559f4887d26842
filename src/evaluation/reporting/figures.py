"""Figures (matplotlib): each function takes data and returns a :class:`~matplotlib.figure.Figure`.

Figures are made with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so they
need no interactive backend and leave no global state behind. Every figure

- uses the Okabe-Ito colour-blind-safe palette and type sizes that stay legible when printed;
- carries a footer with its N (and clusters, SE type and df where there are estimates) and
  the data source, and a banner when the data are simulated;
- shows Chinese labels when a CJK font is installed (Noto Sans CJK, Noto Sans SC or
  WenQuanYi, found through matplotlib's font manager; Debian package ``fonts-noto-cjk``).
  Without one it falls back to English labels, without warnings, and records a note
  (:func:`figure_notes`);
- applies the disclosure threshold to what it draws: histogram bins and bars resting on fewer
  than ``threshold`` observations are not drawn, and figures of counts take gated tables.
"""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

from evaluation.estimation import EffectEstimates
from evaluation.reporting.disclosure import DEFAULT_THRESHOLD, PublishedTable, small_count_mask
from evaluation.reporting.render import FIGURE_RC_ATTRIBUTE, check_published
from evaluation.reporting.tables import ESTIMATOR_LABELS
from evaluation.reporting.text import arm_label, estimates_note, label_for, round_label, span, text

__all__ = [
    "CJK_FONT_PACKAGE",
    "PALETTE",
    "attrition_plot",
    "balance_love_plot",
    "cjk_font",
    "coefficient_plot",
    "core_skills_plot",
    "distribution_plot",
    "figure_notes",
    "knowledge_gains_plot",
    "logframe_progress_plot",
    "mismatch_composition_plot",
    "power_curve_plot",
]

#: Okabe & Ito (2008) colours, distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: The Debian package that provides a CJK font matplotlib can use.
CJK_FONT_PACKAGE = "fonts-noto-cjk"
# In order of preference: Simplified Chinese faces first, then any face of the same families.
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK",
    "Source Han Sans",
    "WenQuanYi",
)
_CJK_CHARACTERS = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_NOTES_ATTRIBUTE = "_evaluation_notes"
_WIDTH = 7.5


def cjk_font(names: Sequence[str] | None = None) -> str | None:
    """Return the name of an installed font that can draw Chinese, if any.

    Parameters
    ----------
    names : sequence of str, optional
        Font family names to search; by default every font matplotlib's font manager knows.

    Returns
    -------
    str or None
        A family for Chinese text, Simplified Chinese faces first (Noto Sans CJK SC, Noto Sans
        SC, Source Han Sans SC/CN, WenQuanYi), then any Noto Sans CJK, Source Han Sans or
        WenQuanYi face; ``None`` when there is none (install the Debian package
        ``fonts-noto-cjk``; matplotlib rebuilds its font cache when it finds new fonts, or
        delete the cache folder ``matplotlib.get_cachedir()``).
    """
    if names is None:
        names = [f.name for f in font_manager.fontManager.ttflist]
    available = sorted(set(names))
    for prefix in _CJK_FAMILIES:
        found = [n for n in available if n.startswith(prefix)]
        if found:
            return found[0]
    return None


def figure_notes(figure: Figure) -> tuple[str, ...]:
    """Return the notes a figure function recorded (for example the English fallback).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        A figure made by this module.

    Returns
    -------
    tuple of str
        The notes, possibly empty.
    """
    return tuple(getattr(figure, _NOTES_ATTRIBUTE, ()))


class _Style:
    """The language, fonts and notes of one figure being drawn."""

    def __init__(self, language: str, labels: Mapping[str, str] | None) -> None:
        text("mean", language)  # validates the language
        self.font = cjk_font()
        self.notes: list[str] = []
        self.language = language
        if language == "zh" and self.font is None:
            self.language = "en"
            self.notes.append(
                "Chinese labels need a CJK font (Debian package "
                f"{CJK_FONT_PACKAGE}); English labels are shown."
            )
        self.labels = dict(labels or {})

    def clean(self, value: str, fallback: str = "") -> str:
        """Return text the installed fonts can draw (CJK characters need a CJK font)."""
        if self.font is not None or not _CJK_CHARACTERS.search(value):
            return value
        note = f"Labels in Chinese are shown by name: install {CJK_FONT_PACKAGE}."
        if note not in self.notes:
            self.notes.append(note)
        return fallback or _CJK_CHARACTERS.sub("", value).strip() or "?"

    def label(self, name: str) -> str:
        return self.clean(label_for(name, self.labels), fallback=name)

    def word(self, key: str, **fields: object) -> str:
        return text(key, self.language, **fields)

    def rc(self) -> dict[str, Any]:
        families = [self.font, "DejaVu Sans"] if self.font else ["DejaVu Sans"]
        return {
            "font.family": families,  # named families: a generic one resolves at draw time
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.unicode_minus": self.font is None,
            "legend.frameon": False,
            "svg.hashsalt": "evaluation",
        }


@contextlib.contextmanager
def _drawing(language: str, labels: Mapping[str, str] | None) -> Iterator[_Style]:
    style = _Style(language, labels)
    with mpl.rc_context(style.rc()):
        yield style


def _finish(
    figure: Figure,
    style: _Style,
    *,
    footer: Sequence[str],
    source: str,
    simulated: bool,
) -> Figure:
    """Add the banner and the footer, reserve room for them and record the notes."""
    given = [style.clean(line) for line in footer if line]
    if source:
        given.append(style.clean(text("note_source", style.language, source=source)))
    width = int(figure.get_figwidth() * 15)
    lines = [part for line in given for part in textwrap.wrap(line, width) or [""]]
    bottom = min(0.4, (0.12 + 0.15 * len(lines)) / figure.get_figheight())
    figure.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom))
    if simulated:
        figure.suptitle(
            style.word("note_simulated"),
            color="white",
            fontweight="bold",
            fontsize=9,
            bbox={"facecolor": "#b3470f", "edgecolor": "none", "pad": 3},
        )
    figure.text(0.01, 0.01, "\n".join(lines), ha="left", va="bottom", fontsize=7.5, color="#333")
    setattr(figure, _NOTES_ATTRIBUTE, tuple(style.notes))
    setattr(figure, FIGURE_RC_ATTRIBUTE, style.rc())
    # Lay out once and freeze: constrained layout is iterative, and a second pass would move
    # the axes by tiny amounts, so two saves of one figure would differ.
    figure.draw_without_rendering()
    figure.set_layout_engine("none")
    return figure


def _figure(width: float, height: float) -> Figure:
    """Return an empty figure with room for the banner and the footer (constrained layout)."""
    return Figure(figsize=(width, max(height, 1.8) + 0.9), layout="constrained")


def _legend(ax: Any) -> None:
    """Place the axes' legend in one row just above the plotting area (kept by the layout)."""
    handles, names = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            names,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.01),
            ncols=min(len(names), 4),
            borderaxespad=0.0,
        )


# --- effects -------------------------------------------------------------------------------


def coefficient_plot(
    estimates: EffectEstimates | pd.DataFrame,
    *,
    estimator: str | None = None,
    families: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot each outcome's effect with its confidence interval, one panel per family.

    Parameters
    ----------
    estimates : EffectEstimates or pandas.DataFrame
        Results (or their ``to_frame()``); full-sample rows of one estimator are drawn.
    estimator : str, optional
        Estimator to draw; by default the first full-sample row's.
    families : Mapping of str to str, optional
        Family display labels.
    labels : Mapping of str to str, optional
        Outcome labels.
    language : {"en", "zh"}, optional
        Language of the built-in text.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal panel per family: point estimates with their intervals and a line at 0.

    Raises
    ------
    ValueError
        No full-sample estimates.
    """
    frame = estimates.to_frame() if isinstance(estimates, EffectEstimates) else estimates
    rows = frame.loc[frame["subgroup"].isna()] if "subgroup" in frame else frame
    if estimator is None and len(rows):
        estimator = str(rows["estimator"].iloc[0])
    rows = rows.loc[rows["estimator"] == estimator]
    if rows.empty:
        msg = f"coefficient_plot: no full-sample estimates for {estimator!r}"
        raise ValueError(msg)
    fams = rows["family"].fillna("").astype(str)
    groups = list(dict.fromkeys(fams))
    sizes = [int((fams == g).sum()) for g in groups]
    with _drawing(language, labels) as style:
        height = 1.0 + 0.32 * sum(sizes) + 0.45 * len(groups)
        figure = _figure(_WIDTH, height)
        axes = figure.subplots(len(groups), 1, squeeze=False, height_ratios=sizes)[:, 0]
        level = float(rows["level"].iloc[0]) if "level" in rows else 0.95
        for ax, group, colour in zip(axes, groups, PALETTE * 4, strict=False):
            mine = rows.loc[fams == group].iloc[::-1]
            y = np.arange(len(mine))
            effect = mine["effect"].to_numpy(dtype=float)
            low = effect - mine["ci_lower"].to_numpy(dtype=float)
            high = mine["ci_upper"].to_numpy(dtype=float) - effect
            ax.errorbar(effect, y, xerr=[low, high], fmt="o", color=colour, capsize=3, ms=4)
            ax.axvline(0.0, color="#555", lw=0.8, ls="--")
            ax.set_yticks(y, [style.label(o) for o in mine["outcome"]])
            ax.set_title(style.clean((families or {}).get(group, group), group), loc="left")
            ax.set_ylim(-0.6, len(mine) - 0.4)
        axes[-1].set_xlabel(f"{style.word('effect')} ({level:.0%} {style.word('ci')})")
        footer = [
            f"{style.word('estimator')}: {ESTIMATOR_LABELS.get(estimator, estimator)}",
            estimates_note(rows, style.language) or "",
        ]
        return _finish(figure, style, footer=footer, source=source, simulated=simulated)


def balance_love_plot(
    samples: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    threshold: float = 0.1,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot absolute normalised differences by variable (a love plot).

    Parameters
    ----------
    samples : pandas.DataFrame or Mapping of str to pandas.DataFrame
        Output of :func:`evaluation.estimation.balance_table`, or several (for example
        ``{"Unweighted": ..., "Weighted": ...}``) drawn with different markers.
    threshold : float, optional
        Reference line (0.1 by default, cobalt's).
    labels : Mapping of str to str, optional
        Variable labels.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        One row per variable; the x axis names the normalised-difference denominator.
    """
    if isinstance(samples, pd.DataFrame):
        samples = {"": samples}
    first = next(iter(samples.values()))
    variables = list(dict.fromkeys(first["variable"]))[::-1]
    with _drawing(language, labels) as style:
        figure = _figure(_WIDTH * 0.8, 1.2 + 0.3 * len(variables))
        ax = figure.subplots()
        footer = []
        markers = ("o", "s", "^", "D")
        for (name, frame), colour, marker in zip(samples.items(), PALETTE, markers, strict=False):
            compared = frame.loc[~frame["is_control"].astype(bool) & (frame["arm"] != "total")]
            smd = compared.groupby("variable", sort=False)["smd"].apply(
                lambda s: float(np.nanmax(np.abs(s)))
            )
            ax.scatter(
                [smd.get(v, np.nan) for v in variables],
                np.arange(len(variables)),
                color=colour,
                marker=marker,
                label=style.clean(name) or None,
                zorder=3,
            )
            arms = frame.loc[frame["arm"] != "total"].groupby("arm", sort=True)["n"].max()
            counts = ", ".join(
                f"{style.clean(arm_label(arm, language=style.language))}: {int(n):,}"
                for arm, n in arms.items()
            )
            footer.append(f"{style.clean(name) + ': ' if name else ''}N by arm {counts}")
        ax.axvline(threshold, color="#555", lw=0.8, ls="--")
        ax.set_yticks(np.arange(len(variables)), [style.label(v) for v in variables])
        denominator = first.get("smd_denominator", pd.Series(dtype=object)).dropna()
        described = str(denominator.iloc[0]).split(" sqrt(")[0] if len(denominator) else ""
        ax.set_xlabel(f"|{style.word('smd')}| ({described})" if described else style.word("smd"))
        ax.set_xlim(left=0)
        if len(samples) > 1:
            _legend(ax)
        return _finish(figure, style, footer=footer, source=source, simulated=simulated)


# --- data and attrition --------------------------------------------------------------------


def attrition_plot(
    table: PublishedTable,
    *,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot attrition rates by arm from the gated attrition table.

    Parameters
    ----------
    table : PublishedTable
        :func:`evaluation.reporting.tables.attrition_table` after the disclosure gate.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per arm (and the total) labelled with its baseline N; suppressed rates are
        marked ``[c]`` and not drawn.
    """
    published = check_published(table)
    frame = published.table.frame
    with _drawing(language, None) as style:
        figure = _figure(_WIDTH * 0.7, 3.2)
        ax = figure.subplots()
        for r in range(len(frame)):
            colour = PALETTE[r % len(PALETTE)]
            if published.is_hidden(r, "rate"):
                ax.bar(r, 0.0, color=colour)
                ax.text(r, 0.0, "[c]", ha="center", va="bottom")
            else:
                rate = 100 * float(frame.at[r, "rate"])
                ax.bar(r, rate, color=colour)
                ax.text(r, rate, f"{rate:.1f}%", ha="center", va="bottom")
            n = "[c]" if published.is_hidden(r, "baseline") else f"{int(frame.at[r, 'baseline']):,}"
            ax.annotate(
                f"N = {n}", (r, 0), xytext=(0, -24), textcoords="offset points", ha="center"
            )
        ax.set_xticks(range(len(frame)), [style.clean(str(v)) for v in frame["label"]])
        ax.set_ylabel(style.word("attrition_rate"))
        ax.margins(y=0.15)
        return _finish(
            figure, style, footer=list(published.notes[:1]), source=source, simulated=simulated
        )


def distribution_plot(
    data: pd.DataFrame,
    variable: str,
    *,
    treatment: str,
    round: str | None = None,
    rounds: Sequence[Any] | None = None,
    bins: int = 20,
    threshold: int = DEFAULT_THRESHOLD,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot the distribution of a variable by arm, one panel per round.

    Parameters
    ----------
    data : pandas.DataFrame
        Analysis frame (long).
    variable : str
        Numeric variable (wages, skills index).
    treatment : str
        Arm column.
    round : str, optional
        Round column.
    rounds : sequence, optional
        Rounds in panel order.
    bins : int, optional
        Histogram bins (common edges across arms and rounds).
    threshold : int, optional
        Bins with fewer observations than this (in an arm) are not drawn, and the x axis spans
        only the drawn bins (disclosure).
    labels : Mapping of str to str, optional
        Labels.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        Step histograms (shares of the arm) per round.
    """
    values = pd.to_numeric(data[variable], errors="coerce")
    finite = values.dropna().to_numpy(dtype=float)
    edges = (
        np.histogram_bin_edges(finite, bins=bins) if finite.size else np.linspace(0, 1, bins + 1)
    )
    round_values = [None] if round is None else list(rounds or pd.unique(data[round].dropna()))
    arms = sorted(pd.unique(data[treatment].dropna()).tolist())
    with _drawing(language, labels) as style:
        figure = _figure(_WIDTH, 2.8)
        axes = figure.subplots(1, len(round_values), squeeze=False, sharey=True)[0]
        footer, hidden_bins = [], 0
        shown = np.zeros(len(edges) - 1, dtype=bool)
        for ax, rd in zip(axes, round_values, strict=True):
            in_round = data if rd is None else data.loc[data[round] == rd]
            for arm, colour in zip(arms, PALETTE, strict=False):
                x = pd.to_numeric(
                    in_round.loc[in_round[treatment] == arm, variable], errors="coerce"
                )
                x = x.dropna().to_numpy(dtype=float)
                counts, _ = np.histogram(x, bins=edges)
                small = np.array(small_count_mask(counts, threshold), dtype=bool)
                hidden_bins += int(small.sum())
                shares = np.where(small, 0.0, counts / max(x.size, 1))
                shown |= (counts > 0) & ~small
                label = style.clean(arm_label(arm, language=style.language))
                ax.stairs(shares, edges, color=colour, lw=1.5, label=f"{label} (N = {x.size:,})")
            if rd is not None:
                ax.set_title(style.clean(round_label(rd, style.language)), loc="left")
            ax.set_xlabel(style.label(variable))
            ax.legend(fontsize=7.5)
        axes[0].set_ylabel("Share")
        # The axis spans the drawn bins only, so it does not reveal where hidden extremes lie.
        if shown.any():
            first, last = np.flatnonzero(shown)[[0, -1]]
            for ax in axes:
                ax.set_xlim(edges[first], edges[last + 1])
        if hidden_bins:
            footer.append(
                f"Bins with fewer than {threshold} observations are not drawn ({hidden_bins})."
            )
        return _finish(figure, style, footer=footer, source=source, simulated=simulated)


def mismatch_composition_plot(
    data: pd.DataFrame,
    *,
    group: str = "isco_major",
    category: str = "qual_mismatch_norm",
    categories: Sequence[str] = ("under", "matched", "over"),
    threshold: int = DEFAULT_THRESHOLD,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot the composition of qualification mismatch by occupation group (100% bars).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per employed respondent with the occupation group and the mismatch category.
    group : str, optional
        Occupation group column (ISCO major group).
    category : str, optional
        Mismatch column (``under``, ``matched``, ``over``).
    categories : sequence of str, optional
        Categories in stacking order.
    threshold : int, optional
        Groups with any category count from 1 to ``threshold - 1`` are not drawn (the shares
        of a 100% bar would reveal it).
    labels : Mapping of str to str, optional
        Labels of groups (``"<group>=<value>"``) and categories.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal 100% bar per occupation group.
    """
    counts = pd.crosstab(data[group], data[category]).reindex(
        columns=list(categories), fill_value=0
    )
    small = counts.apply(lambda col: small_count_mask(col, threshold)).any(axis=1)
    shown = counts.loc[~small]
    with _drawing(language, labels) as style:
        figure = _figure(_WIDTH, 1.2 + 0.32 * max(len(shown), 1))
        ax = figure.subplots()
        y = np.arange(len(shown))
        left = np.zeros(len(shown))
        totals = shown.sum(axis=1).to_numpy(dtype=float)
        for cat, colour in zip(categories, PALETTE, strict=False):
            share = np.divide(
                shown[cat].to_numpy(dtype=float), totals, where=totals > 0, out=np.zeros(len(shown))
            )
            ax.barh(y, 100 * share, left=100 * left, color=colour, label=style.label(str(cat)))
            left += share
        names = [style.label(f"{group}={g}") for g in shown.index]
        ax.set_yticks(y, [f"{n} (N = {int(t):,})" for n, t in zip(names, totals, strict=True)])
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        _legend(ax)
        footer = [f"N = {int(totals.sum()):,}"]
        if small.any():
            footer.append(
                f"{int(small.sum())} group(s) with a category below {threshold} not shown."
            )
        return _finish(figure, style, footer=footer, source=source, simulated=simulated)


def core_skills_plot(
    data: pd.DataFrame,
    subscales: Sequence[str],
    *,
    treatment: str,
    threshold: int = DEFAULT_THRESHOLD,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot the core-skills profile: mean of each subscale by arm with 95% intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent (one round).
    subscales : sequence of str
        Subscale columns (``core_skills_social``, ``core_skills_cognitive``, ...).
    treatment : str
        Arm column.
    threshold : int, optional
        Means of fewer observations are not drawn.
    labels : Mapping of str to str, optional
        Labels.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        Grouped horizontal markers: one row per subscale, one marker per arm.

    Notes
    -----
    Intervals are mean +/- 1.96 SE with SE = SD / sqrt(n), ignoring clustering (descriptive).
    """
    arms = sorted(pd.unique(data[treatment].dropna()).tolist())
    with _drawing(language, labels) as style:
        figure = _figure(_WIDTH * 0.8, 1.2 + 0.4 * len(subscales))
        ax = figure.subplots()
        y = np.arange(len(subscales))[::-1]
        offsets = np.linspace(-0.15, 0.15, len(arms)) if len(arms) > 1 else [0.0]
        footer = []
        for arm, colour, offset in zip(arms, PALETTE, offsets, strict=False):
            rows = data.loc[data[treatment] == arm]
            means, half, sizes = [], [], []
            for s in subscales:
                x = pd.to_numeric(rows[s], errors="coerce").dropna().to_numpy(dtype=float)
                ok = x.size >= threshold
                means.append(float(x.mean()) if ok else np.nan)
                half.append(
                    1.96 * float(x.std(ddof=1)) / math.sqrt(x.size) if ok and x.size > 1 else np.nan
                )
                sizes.append(x.size)
            label = style.clean(arm_label(arm, language=style.language))
            ax.errorbar(means, y + offset, xerr=half, fmt="o", color=colour, capsize=3, label=label)
            footer.append(f"{label}: N = {span(sizes)}")
        ax.set_yticks(y, [style.label(s) for s in subscales])
        ax.set_xlabel(style.word("mean") + " (95% CI)")
        _legend(ax)
        return _finish(
            figure, style, footer=["; ".join(footer)], source=source, simulated=simulated
        )


# --- results framework, power, capacity building -------------------------------------------


def logframe_progress_plot(
    table: PublishedTable,
    *,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot progress towards each logframe target from the gated results-framework table.

    Parameters
    ----------
    table : PublishedTable
        :func:`evaluation.reporting.tables.results_framework_table` after the gate.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per indicator (the ``all`` rows; disaggregations are in the table): percent of
        the distance from baseline to target covered, the target at 100%, green when achieved;
        indicators without endline data or target, or suppressed, are labelled so.
    """
    published = check_published(table)
    frame = published.table.frame
    rows = [r for r in range(len(frame)) if frame.at[r, "disaggregation"] == "all"]
    with _drawing(language, None) as style:
        figure = _figure(_WIDTH, 1.2 + 0.35 * len(rows))
        ax = figure.subplots()
        y = np.arange(len(rows))[::-1]
        for r, yy in zip(rows, y, strict=True):
            progress = frame.at[r, "progress"]
            if published.is_hidden(r, "progress"):
                ax.text(1, yy, "[c]", va="center")
            elif pd.isna(progress):
                ax.text(1, yy, style.word(str(frame.at[r, "status"])), va="center", color="#555")
            else:
                value = 100 * float(progress)
                colour = PALETTE[2] if frame.at[r, "status"] == "achieved" else PALETTE[1]
                ax.barh(yy, value, color=colour)
                ax.text(value, yy, f" {value:.0f}%", va="center")
        ax.axvline(100, color="#555", lw=0.8, ls="--")
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.margins(x=0.12)
        names = [
            style.clean(f"{frame.at[r, 'id']}: {frame.at[r, 'label']}", str(frame.at[r, "id"]))
            for r in rows
        ]
        ax.set_yticks(y, names)
        ax.set_xlabel(style.word("progress"))
        ax.set_xlim(left=0)
        return _finish(
            figure, style, footer=list(published.notes[:1]), source=source, simulated=simulated
        )


def power_curve_plot(
    power: pd.DataFrame,
    *,
    x: str = "n_clusters",
    y: str = "mde",
    by: str | None = None,
    reference: float | None = None,
    xlabel: str = "Clusters",
    ylabel: str = "Minimum detectable effect",
    language: str = "en",
    simulated: bool = False,
    source: str = "",
    note: str = "",
) -> Figure:
    """Plot a power or minimum-detectable-effect curve.

    Parameters
    ----------
    power : pandas.DataFrame
        Plot-ready frame from the estimation layer's power functions.
    x, y : str, optional
        Columns on the axes (clusters and MDE by default).
    by : str, optional
        Column whose values get one line each (for example the ICC or the design).
    reference : float, optional
        Horizontal reference line (for example the effect the project expects).
    xlabel, ylabel : str, optional
        Axis labels.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.
    note : str, optional
        Assumptions for the footer (alpha, power, ICC, R squared).

    Returns
    -------
    matplotlib.figure.Figure
        One line per ``by`` value.
    """
    with _drawing(language, None) as style:
        figure = _figure(_WIDTH * 0.8, 3.4)
        ax = figure.subplots()
        groups = [(None, power)] if by is None else list(power.groupby(by, sort=True))
        for (value, unsorted), colour in zip(groups, PALETTE * 4, strict=False):
            rows = unsorted.sort_values(x)
            label = None if value is None else f"{by} = {value}"
            ax.plot(rows[x], rows[y], marker="o", ms=3, color=colour, label=label)
        if reference is not None:
            ax.axhline(reference, color="#555", lw=0.8, ls="--")
        ax.set_xlabel(style.clean(xlabel))
        ax.set_ylabel(style.clean(ylabel))
        if by is not None:
            _legend(ax)
        return _finish(figure, style, footer=[note], source=source, simulated=simulated)


def knowledge_gains_plot(
    table: PublishedTable,
    *,
    language: str = "en",
    simulated: bool = False,
    source: str = "",
) -> Figure:
    """Plot mean pre- and post-test scores per group from the gated capacity-building table.

    Parameters
    ----------
    table : PublishedTable
        :func:`evaluation.reporting.tables.capacity_gains_table` after the gate.
    language : {"en", "zh"}, optional
        Language.
    simulated : bool, optional
        Add the simulated-data banner.
    source : str, optional
        Data source for the footer.

    Returns
    -------
    matplotlib.figure.Figure
        A dumbbell per group from the pre-test mean to the post-test mean; suppressed groups
        are marked ``[c]``.
    """
    published = check_published(table)
    frame = published.table.frame
    with _drawing(language, None) as style:
        figure = _figure(_WIDTH * 0.8, 1.2 + 0.35 * len(frame))
        ax = figure.subplots()
        y = np.arange(len(frame))[::-1]
        for r, yy in zip(range(len(frame)), y, strict=True):
            if published.is_hidden(r, "pre") or published.is_hidden(r, "post"):
                ax.text(50, yy, "[c]", va="center", ha="center")
                continue
            pre, post = float(frame.at[r, "pre"]), float(frame.at[r, "post"])
            ax.plot([pre, post], [yy, yy], color="#999", lw=2, zorder=1)
            ax.scatter(
                [pre], [yy], color=PALETTE[1], zorder=2, label=style.word("pre") if r == 0 else None
            )
            ax.scatter(
                [post],
                [yy],
                color=PALETTE[0],
                zorder=2,
                label=style.word("post") if r == 0 else None,
            )
        names = []
        for r in range(len(frame)):
            n = "[c]" if published.is_hidden(r, "n") else f"{int(frame.at[r, 'n']):,}"
            names.append(f"{style.clean(str(frame.at[r, 'label']))} (N = {n})")
        ax.set_yticks(y, names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("Score (% correct)")
        ax.set_ylim(-0.6, len(frame) - 0.4)
        _legend(ax)
        return _finish(
            figure, style, footer=list(published.notes[:1]), source=source, simulated=simulated
        )
