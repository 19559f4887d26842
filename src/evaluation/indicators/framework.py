"""The project's results framework (logframe) as data, and its table of progress.

``analysis/results_framework.toml`` lists the logframe indicators of Outcomes 1-4 (quality
apprenticeship capacity; skill anticipation and matching; core and green skills; knowledge
exchange). It is read into a frozen :class:`ResultsFramework` with validation, and
:func:`results_framework_table` computes one tidy table of baseline, endline, change, target
and status by disaggregation. Targets the project cannot source are left empty: the table says
``target missing`` and :func:`missing_targets` lists them; none is invented.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.indicators._common import ConfigError
from evaluation.indicators.files import read_toml
from evaluation.indicators.registry import REGISTRY

__all__ = [
    "FrameworkIndicator",
    "Outcome",
    "ResultsFramework",
    "missing_targets",
    "parse_results_framework",
    "read_results_framework",
    "results_framework_table",
]

_LEVELS = ("respondent", "enterprise", "participant")
_STATISTICS = ("mean", "share", "median")
_DIRECTIONS = ("increase", "decrease")
_TARGET_TYPES = ("level", "change")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One outcome of the logframe.

    Attributes
    ----------
    id : int
        Outcome number (1-4).
    title_en, title_zh : str
        Titles.
    """

    id: int
    title_en: str
    title_zh: str


@dataclass(frozen=True, slots=True)
class FrameworkIndicator:
    """One logframe indicator.

    Attributes
    ----------
    id : str
        Indicator number in the framework (``"1.1"``).
    outcome : int
        The outcome it measures.
    indicator : str
        Column name of the indicator (registered in :data:`REGISTRY`).
    statistic : str
        ``mean``, ``share`` (mean of a 0/1 indicator) or ``median``.
    unit, definition, population, source : str
        Texts for the report.
    level : str
        ``respondent``, ``enterprise`` or ``participant``.
    filter : tuple of (str, tuple)
        Column -> allowed values defining the population (e.g. treatment = 1).
    disaggregations : tuple of str
        Columns to break the indicator down by (sex, hukou, disability, city).
    direction : str
        ``increase`` or ``decrease``: which way is progress.
    baseline : float or None
        A baseline fixed in the logframe; ``None`` computes it from the baseline round.
    target : float or None
        The target; ``None`` when not yet supplied.
    target_type : str
        ``level`` (endline value) or ``change`` (endline minus baseline).
    logframe_ref : str
        The indicator's code in the project document, when known.
    """

    id: str
    outcome: int
    indicator: str
    statistic: str
    unit: str
    definition: str
    population: str
    source: str
    level: str
    filter: tuple[tuple[str, tuple[Any, ...]], ...]
    disaggregations: tuple[str, ...]
    direction: str
    baseline: float | None
    target: float | None
    target_type: str
    logframe_ref: str


@dataclass(frozen=True, slots=True)
class ResultsFramework:
    """The logframe: outcomes and their indicators.

    Attributes
    ----------
    title : str
        Project title.
    outcomes : tuple of Outcome
        The outcomes.
    indicators : tuple of FrameworkIndicator
        The indicators, in file order.
    """

    title: str
    outcomes: tuple[Outcome, ...]
    indicators: tuple[FrameworkIndicator, ...]


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        msg = f"{where}: {key!r} must be a non-empty text, got {value!r}"
        raise ConfigError(msg)
    return value


def _number(entry: Mapping[str, Any], key: str, where: str) -> float | None:
    value = entry.get(key, "")
    if value in ("", "data", None):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{where}: {key!r} must be a number or empty, got {value!r}"
        raise ConfigError(msg)
    return float(value)


def _choice(
    entry: Mapping[str, Any], key: str, options: tuple[str, ...], where: str, default: str
) -> str:
    value = entry.get(key, default)
    if value not in options:
        msg = f"{where}: {key!r} must be one of {options}, got {value!r}"
        raise ConfigError(msg)
    return value


def parse_results_framework(
    document: Mapping[str, Any], where: str = "results framework"
) -> ResultsFramework:
    """Validate a parsed results-framework document into a frozen value.

    Parameters
    ----------
    document : mapping
        The parsed TOML (``[framework]``, ``[[outcome]]``, ``[[indicator]]``).
    where : str
        The file, for messages.

    Returns
    -------
    ResultsFramework
        The framework.

    Raises
    ------
    ConfigError
        Naming the entry and key: missing or empty texts, unknown outcomes or indicator
        names, duplicated ids, invalid numbers or choices.
    """
    head = document.get("framework", {})
    title = _text(head, "title", f"{where} [framework]")
    outcomes = []
    for pos, entry in enumerate(document.get("outcome", [])):
        w = f"{where} [[outcome]] #{pos + 1}"
        oid = entry.get("id")
        if not isinstance(oid, int):
            msg = f"{w}: 'id' must be an integer, got {oid!r}"
            raise ConfigError(msg)
        outcomes.append(Outcome(oid, _text(entry, "title_en", w), _text(entry, "title_zh", w)))
    ids = [o.id for o in outcomes]
    if len(set(ids)) != len(ids) or not ids:
        msg = f"{where}: outcome ids must be present and unique, got {ids}"
        raise ConfigError(msg)
    indicators = []
    seen: set[str] = set()
    for pos, entry in enumerate(document.get("indicator", [])):
        w = f"{where} [[indicator]] #{pos + 1}"
        iid = _text(entry, "id", w)
        w = f"{where} indicator {iid}"
        if iid in seen:
            msg = f"{w}: duplicated id"
            raise ConfigError(msg)
        seen.add(iid)
        outcome = entry.get("outcome")
        if outcome not in ids:
            msg = f"{w}: outcome {outcome!r} is not one of {ids}"
            raise ConfigError(msg)
        name = _text(entry, "indicator", w)
        if name not in REGISTRY:
            msg = f"{w}: indicator {name!r} is not a registered indicator"
            raise ConfigError(msg)
        filt = entry.get("filter", {})
        if not isinstance(filt, Mapping) or not all(isinstance(v, list) for v in filt.values()):
            msg = f"{w}: 'filter' must map columns to lists of values, got {filt!r}"
            raise ConfigError(msg)
        disagg = entry.get("disaggregations", [])
        if not isinstance(disagg, list) or not all(isinstance(d, str) for d in disagg):
            msg = f"{w}: 'disaggregations' must be a list of column names"
            raise ConfigError(msg)
        indicators.append(
            FrameworkIndicator(
                id=iid,
                outcome=int(outcome),
                indicator=name,
                statistic=_choice(entry, "statistic", _STATISTICS, w, "mean"),
                unit=_text(entry, "unit", w),
                definition=_text(entry, "definition", w),
                population=_text(entry, "population", w),
                source=_text(entry, "source", w),
                level=_choice(entry, "level", _LEVELS, w, REGISTRY[name].level),
                filter=tuple((k, tuple(v)) for k, v in sorted(filt.items())),
                disaggregations=tuple(disagg),
                direction=_choice(entry, "direction", _DIRECTIONS, w, "increase"),
                baseline=_number(entry, "baseline", w),
                target=_number(entry, "target", w),
                target_type=_choice(entry, "target_type", _TARGET_TYPES, w, "level"),
                logframe_ref=_text(entry, "logframe_ref", w, required=False),
            )
        )
    if not indicators:
        msg = f"{where}: no [[indicator]] entries"
        raise ConfigError(msg)
    return ResultsFramework(title, tuple(outcomes), tuple(indicators))


def read_results_framework(path: str | os.PathLike[str]) -> ResultsFramework:
    """Read and validate ``analysis/results_framework.toml``.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    ResultsFramework
        The framework.
    """
    return parse_results_framework(read_toml(path, "results framework"), str(path))


def missing_targets(framework: ResultsFramework) -> list[str]:
    """List the targets and logframe references the user still has to supply.

    Parameters
    ----------
    framework : ResultsFramework
        The framework.

    Returns
    -------
    list of str
        One line per gap, e.g. ``"1.1 appr_quality_index: target missing"``.
    """
    out = []
    for ind in framework.indicators:
        if ind.target is None:
            out.append(f"{ind.id} {ind.indicator}: target missing")
        if not ind.logframe_ref:
            out.append(f"{ind.id} {ind.indicator}: logframe reference missing")
    return out


def _statistic(values: pd.Series, statistic: str) -> float:
    v = pd.to_numeric(values, errors="coerce").astype(float).dropna()
    if v.empty:
        return np.nan
    return float(v.median() if statistic == "median" else v.mean())


def _status(ind: FrameworkIndicator, baseline: float, endline: float) -> tuple[str, float]:
    if np.isnan(endline):
        return "no data", np.nan
    if ind.target is None:
        return "target missing", np.nan
    achieved_value = endline - baseline if ind.target_type == "change" else endline
    if np.isnan(achieved_value):
        return "no data", np.nan
    good = (
        achieved_value >= ind.target
        if ind.direction == "increase"
        else achieved_value <= ind.target
    )
    wanted = ind.target if ind.target_type == "change" else ind.target - baseline
    progress = (endline - baseline) / wanted if wanted and not np.isnan(wanted) else np.nan
    return ("achieved" if good else "not achieved"), progress


def results_framework_table(
    frames: Mapping[str, pd.DataFrame],
    framework: ResultsFramework,
    *,
    baseline_round: str = "baseline",
    endline_round: str = "endline",
) -> pd.DataFrame:
    """Baseline, endline, change, target and status of every logframe indicator.

    Parameters
    ----------
    frames : mapping
        Level -> indicator frame with a ``round`` column: ``respondent``
        (``IndicatorSet.respondents``), ``enterprise`` and ``participant``.
    framework : ResultsFramework
        The logframe.
    baseline_round, endline_round : str
        The rounds compared (``pre``/``post`` for participant-level indicators are used
        automatically).

    Returns
    -------
    DataFrame
        One row per indicator x disaggregation x group (``all`` first): ``outcome``, ``id``,
        ``indicator``, ``statistic``, ``disaggregation``, ``group``, ``n_baseline``,
        ``baseline``, ``baseline_source`` (``data`` or ``framework``), ``n_endline``,
        ``endline``, ``change``, ``target``, ``status`` (``achieved``, ``not achieved``,
        ``target missing``, ``no data``) and ``progress`` (share of the way from baseline to
        target).

    Notes
    -----
    Disaggregated rows compare the group's own baseline and endline with the indicator's
    target. Unweighted statistics over the filtered population.
    """
    rows = []
    for ind in framework.indicators:
        frame = frames.get(ind.level)
        rounds = ("pre", "post") if ind.level == "participant" else (baseline_round, endline_round)
        if frame is None or ind.indicator not in frame.columns:
            rows.append(
                {
                    "outcome": ind.outcome,
                    "id": ind.id,
                    "indicator": ind.indicator,
                    "statistic": ind.statistic,
                    "disaggregation": "all",
                    "group": "all",
                    "status": "no data",
                }
            )
            continue
        data = frame
        for col, allowed in ind.filter:
            if col not in data.columns:
                msg = f"results framework indicator {ind.id}: filter column {col!r} is not in data"
                raise ConfigError(msg)
            data = data[data[col].isin(list(allowed)).fillna(False)]
        splits: list[tuple[str, str, pd.Series]] = [
            ("all", "all", pd.Series(True, index=data.index))
        ]
        for col in ind.disaggregations:
            if col not in data.columns:
                msg = f"results framework indicator {ind.id}: no disaggregation column {col!r}"
                raise ConfigError(msg)
            splits.extend(
                (col, str(value), data[col].eq(value).fillna(False))
                for value in sorted(data[col].dropna().unique(), key=str)
            )
        for dis, group, mask in splits:
            part = data[mask]
            base_part = part[part["round"].eq(rounds[0]).fillna(False)][ind.indicator]
            end_part = part[part["round"].eq(rounds[1]).fillna(False)][ind.indicator]
            base = _statistic(base_part, ind.statistic)
            source = "data"
            if ind.baseline is not None and dis == "all":
                base, source = ind.baseline, "framework"
            end = _statistic(end_part, ind.statistic)
            status, progress = _status(ind, base, end)
            rows.append(
                {
                    "outcome": ind.outcome,
                    "id": ind.id,
                    "indicator": ind.indicator,
                    "statistic": ind.statistic,
                    "disaggregation": dis,
                    "group": group,
                    "n_baseline": int(base_part.notna().sum()),
                    "baseline": base,
                    "baseline_source": source,
                    "n_endline": int(end_part.notna().sum()),
                    "endline": end,
                    "change": end - base,
                    "target": ind.target if ind.target is not None else np.nan,
                    "status": status,
                    "progress": progress,
                }
            )
    columns = [
        "outcome",
        "id",
        "indicator",
        "statistic",
        "disaggregation",
        "group",
        "n_baseline",
        "baseline",
        "baseline_source",
        "n_endline",
        "endline",
        "change",
        "target",
        "status",
        "progress",
    ]
    return pd.DataFrame(rows, columns=columns)
