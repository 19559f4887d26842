"""Bilingual built-in text (column headers, captions, notes) and number formatting.

Tables and figures are built in one language (``"en"`` or ``"zh"``); variable and outcome labels
come from a label mapping the caller passes (usually the instrument's labels). This module holds
the package's own words, so that one dictionary covers every table and figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = [
    "LANGUAGES",
    "arm_label",
    "df_text",
    "estimates_note",
    "format_value",
    "label_for",
    "round_label",
    "span",
    "text",
]

LANGUAGES = ("en", "zh")

_TEXT: dict[str, tuple[str, str]] = {
    # column headers
    "variable": ("Variable", "变量"),
    "outcome": ("Outcome", "结果指标"),
    "family": ("Family", "指标组"),
    "mean": ("Mean", "均值"),
    "sd": ("SD", "标准差"),
    "n": ("N", "样本量"),
    "clusters": ("Clusters", "聚类数"),
    "control_mean": ("Control mean", "对照组均值"),
    "effect": ("Effect", "效应"),
    "se": ("SE", "标准误"),
    "ci": ("CI", "置信区间"),
    "pvalue": ("p", "p值"),
    "difference": ("Difference", "差异"),
    "smd": ("Norm. diff.", "标准化差异"),
    "variance_ratio": ("Var. ratio", "方差比"),
    "arm": ("Arm", "组别"),
    "control": ("Control", "对照组"),
    "treatment": ("Treatment", "处理组"),
    "total": ("Total", "合计"),
    "all": ("All", "全部"),
    "subgroup": ("Subgroup", "子群体"),
    "estimator": ("Estimator", "估计方法"),
    "baseline": ("Baseline", "基线"),
    "endline": ("Endline", "终线"),
    "followup": ("Follow-up", "追踪"),
    "first_diff": ("First difference", "前后差异"),
    "did": ("DiD", "双重差分"),
    "baseline_n": ("Baseline N", "基线样本量"),
    "followed_n": ("Interviewed at endline", "终线受访"),
    "attrited_n": ("Attrited", "流失"),
    "attrition_rate": ("Attrition (%)", "流失率(%)"),
    "lower_bound": ("Lower bound", "下界"),
    "upper_bound": ("Upper bound", "上界"),
    "trimming_share": ("Trimmed share", "修剪比例"),
    "indicator": ("Indicator", "指标"),
    "target": ("Target", "目标值"),
    "progress": ("Progress to target (%)", "目标完成度(%)"),
    "status": ("Status", "状态"),
    "pre": ("Pre-test", "培训前"),
    "post": ("Post-test", "培训后"),
    "gain": ("Gain (points)", "提高(分)"),
    "norm_gain": ("Normalised gain", "标准化提高"),
    "group": ("Group", "群体"),
    # statuses
    "achieved": ("achieved", "已实现"),
    "not_achieved": ("not achieved", "未实现"),
    "target_missing": ("target missing", "缺少目标值"),
    "no_data": ("no data", "无数据"),
    # captions
    "title_descriptives": ("Descriptive statistics by arm and round", "按组别和轮次的描述统计"),
    "title_enterprise": ("Enterprise indicators by arm and round", "按组别和轮次的企业指标"),
    "title_balance": ("Balance at baseline by arm", "基线平衡性检验"),
    "title_attrition": ("Attrition between baseline and endline by arm", "基线至终线的样本流失"),
    "title_effects": ("Effects on {family}", "对{family}的影响"),
    "title_effects_all": ("Effects by outcome family", "按指标组的影响估计"),
    "title_heterogeneity": ("Effects by subgroup", "分群体的影响估计"),
    "title_robustness": ("Robustness: estimators side by side", "稳健性:不同估计方法的比较"),
    "title_lee": ("Lee (2009) bounds for outcomes observed only when selected", "Lee (2009) 界"),
    "title_framework": (
        "Results framework: baselines, targets and progress",
        "成果框架:基线、目标与进展",
    ),
    "title_capacity": (
        "Capacity building: knowledge test before and after",
        "能力建设:培训前后知识测试",
    ),
    "title_did": ("Difference-in-differences by outcome", "双重差分表"),
    # notes
    "note_n": ("N = {n}", "样本量 = {n}"),
    "note_clusters": ("clusters = {clusters}", "聚类数 = {clusters}"),
    "note_clusters_by_arm": ("Clusters by arm: {clusters}", "各组聚类数:{clusters}"),
    "note_treated_clusters": ("treated clusters = {clusters}", "处理组聚类数 = {clusters}"),
    "note_se": ("SE: {vcov}, t on {df} df", "标准误:{vcov},t分布自由度 {df}"),
    "note_inference": ("inference: {inference}", "推断方法:{inference}"),
    "note_level": ("{level}% confidence intervals", "{level}%置信区间"),
    "note_estimator": ("Estimator: {estimator}", "估计方法:{estimator}"),
    "note_suppressed": (
        (
            "[c] suppressed: fewer than {threshold} observations, or needed to protect such a cell "
            "(complementary suppression); statistics derived from them are suppressed too."
        ),
        (
            "[c] 已隐藏:观测值少于{threshold}个,或为保护此类单元格而隐藏(补充隐藏);"
            "由其计算的统计量也已隐藏。"
        ),
    ),
    "note_source": ("Source: {source}.", "数据来源:{source}。"),
    "note_simulated": (
        "SIMULATED DATA: the demo world, not survey responses.",
        "模拟数据:演示数据,并非真实调查结果。",
    ),
}


def text(key: str, language: str = "en", **fields: object) -> str:
    """Return a built-in text in one language.

    Parameters
    ----------
    key : str
        The text's key.
    language : {"en", "zh"}, optional
        Language.
    **fields : object
        Values for the ``{placeholders}`` of the text.

    Returns
    -------
    str
        The text.

    Raises
    ------
    ValueError
        Unknown language.
    KeyError
        Unknown key.
    """
    if language not in LANGUAGES:
        msg = f"language must be one of {LANGUAGES}; got {language!r}"
        raise ValueError(msg)
    english, chinese = _TEXT[key]
    chosen = chinese if language == "zh" else english
    return chosen.format(**fields) if fields else chosen


def label_for(name: str, labels: Mapping[str, str] | None) -> str:
    """Return the display label of a variable, or its name when none is given.

    Parameters
    ----------
    name : str
        Variable, outcome or value name (for example ``"dem_sex=2"``).
    labels : Mapping of str to str or None
        Names to labels, in the table's language.

    Returns
    -------
    str
        The label.
    """
    if labels and name in labels:
        return labels[name]
    if "=" in name and labels:
        column, value = name.split("=", 1)
        return f"{labels.get(column, column)} = {labels.get(name, value)}"
    return name


def format_value(value: object, kind: str, digits: int | None = None) -> str:
    """Format one cell for people.

    Parameters
    ----------
    value : object
        The raw value.
    kind : str
        ``"text"``, ``"count"``, ``"number"``, ``"se"``, ``"pvalue"``, ``"percent"`` or
        ``"interval"`` (a pair).
    digits : int, optional
        Decimals; by default 3, or fewer for large magnitudes (0 from 1,000, 1 from 100).

    Returns
    -------
    str
        The formatted text; empty for a missing value.
    """
    if kind == "interval":
        low, high = value  # type: ignore[misc]
        if _missing(low) or _missing(high):
            return ""
        return f"[{_number(low, digits)}, {_number(high, digits)}]"
    if _missing(value):
        return ""
    if kind == "text":
        return str(value)
    if kind == "count":
        return f"{int(value):,}"  # type: ignore[call-overload]
    if kind == "pvalue":
        v = float(value)  # type: ignore[arg-type]
        return "<0.001" if v < 0.001 else f"{v:.3f}"
    if kind == "percent":
        return f"{float(value) * 100:.{1 if digits is None else digits}f}"  # type: ignore[arg-type]
    if kind == "se":
        return f"({_number(value, digits)})"
    return _number(value, digits)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _number(value: object, digits: int | None) -> str:
    v = float(value)  # type: ignore[arg-type]
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if digits is None:
        digits = 0 if abs(v) >= 1000 else 1 if abs(v) >= 100 else 3
    out = f"{v:,.{digits}f}"
    return out.lstrip("-") if float(out.replace(",", "")) == 0 else out


def span(values: Iterable[Any], fmt: str = "{:,}") -> str:
    """Return the range of some values as text (``"200"`` or ``"180-200"``).

    Parameters
    ----------
    values : iterable
        Values; missing ones are ignored.
    fmt : str, optional
        Format of each end.

    Returns
    -------
    str
        ``"NA"`` when there is no value.
    """
    clean = sorted({v for v in values if v is not None and not pd.isna(v)})
    if not clean:
        return "NA"
    low, high = clean[0], clean[-1]
    return fmt.format(low) if low == high else f"{fmt.format(low)}-{fmt.format(high)}"


def df_text(values: Iterable[float]) -> str:
    """Return the range of degrees of freedom (one decimal; ``inf`` for normal inference).

    Parameters
    ----------
    values : iterable of float
        Degrees of freedom.

    Returns
    -------
    str
        The range.
    """
    finite = [float(v) for v in values if v is not None and not pd.isna(v)]
    if finite and all(math.isinf(v) for v in finite):
        return "inf"
    return span([round(v, 1) for v in finite if not math.isinf(v)], "{:g}")


def _present(frame: pd.DataFrame) -> set[str]:
    return {c for c in frame.columns if bool(frame[c].notna().any())}


def _joined(values: pd.Series) -> str:
    return ", ".join(sorted(set(values.dropna().astype(str))))


def estimates_note(frame: pd.DataFrame, language: str = "en") -> str | None:
    """Summarise the N, clusters, SE type, df, inference and level a results frame carries.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy results (``EffectEstimates.to_frame()`` or any frame with some of ``nobs``,
        ``n_clusters``, ``n_treated_clusters``, ``vcov``, ``df``, ``inference``, ``level``).
    language : {"en", "zh"}, optional
        Language.

    Returns
    -------
    str or None
        One sentence, for example ``"N = 200; clusters = 20; SE: CR2, t on 12.3-17.9 df;
        inference: analytic; 95% confidence intervals."``; ``None`` when the frame has none of
        these columns.
    """
    present = _present(frame)
    parts = []
    if "nobs" in present:
        parts.append(text("note_n", language, n=span(frame["nobs"])))
    if "n_clusters" in present:
        parts.append(text("note_clusters", language, clusters=span(frame["n_clusters"])))
    if "n_treated_clusters" in present:
        treated = span(frame["n_treated_clusters"])
        parts.append(text("note_treated_clusters", language, clusters=treated))
    if "vcov" in present:
        df = df_text(frame["df"]) if "df" in frame else "NA"
        parts.append(text("note_se", language, vcov=_joined(frame["vcov"]), df=df))
    if "inference" in present:
        parts.append(text("note_inference", language, inference=_joined(frame["inference"])))
    if "level" in present:
        level = span([round(float(v) * 100, 1) for v in frame["level"].dropna()], "{:g}")
        parts.append(text("note_level", language, level=level))
    return "; ".join(parts) + "." if parts else None


def arm_label(
    arm: Any, treatment: str = "", labels: Mapping[str, str] | None = None, language: str = "en"
) -> str:
    """Return the display name of an arm.

    Parameters
    ----------
    arm : object
        Arm value (0 control, 1 treatment, ``"total"``, or another value).
    treatment : str, optional
        Arm column, for ``"<treatment>=<arm>"`` labels.
    labels : Mapping of str to str, optional
        Labels.
    language : {"en", "zh"}, optional
        Language.

    Returns
    -------
    str
        The label.
    """
    key = f"{treatment}={arm}"
    if labels and key in labels:
        return labels[key]
    if arm in (0, 0.0, False):
        return text("control", language)
    if arm in (1, 1.0, True):
        return text("treatment", language)
    return text("total", language) if arm == "total" else str(arm)


def round_label(value: Any, language: str = "en") -> str:
    """Return the display name of a round (``baseline`` -> ``Baseline``).

    Parameters
    ----------
    value : object
        Round value.
    language : {"en", "zh"}, optional
        Language.

    Returns
    -------
    str
        The label; the value itself when it is not a known round.
    """
    try:
        return text(str(value), language)
    except KeyError:
        return str(value)
