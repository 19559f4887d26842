"""Capacity-building knowledge test: scores by module, normalised gain and item analysis (P1).

Unit: participant x phase (``pre``, ``post``, ``followup``); key ``participant_id`` + ``round``.
A pre/post test has no counterfactual: it measures learning, not impact (DOMAIN.md section 3.4).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.indicators._common import IndicatorError, as_float
from evaluation.indicators.skills import answer_score

__all__ = ["capacity_scores", "item_analysis", "normalized_gain"]


def normalized_gain(
    pre: pd.Series | float, post: pd.Series | float, max_score: float = 100.0
) -> pd.Series | float:
    """Hake's normalised gain: the share of the possible improvement achieved.

    Parameters
    ----------
    pre, post : Series or float
        Scores before and after training, on the same scale.
    max_score : float, default 100
        Highest possible score.

    Returns
    -------
    Series or float
        ``(post - pre) / (max_score - pre)``; missing (NaN) where ``pre`` is at the maximum
        or a score is missing. Negative when the score fell.

    Raises
    ------
    IndicatorError
        When a score lies outside ``[0, max_score]``.

    Notes
    -----
    Hake (1998, Am. J. Phys. 66:64) defines g on class averages, ``<g> = (<post> - <pre>) /
    (100 - <pre>)``; applied to each participant this gives individual gains, whose mean
    differs from ``<g>`` in general. Report both (``capacity_scores`` gives the class value).

    Examples
    --------
    >>> normalized_gain(40.0, 70.0)
    0.5
    """
    scalar = np.isscalar(pre) and np.isscalar(post)
    a = as_float(pd.Series([pre]) if np.isscalar(pre) else pre).astype(float)
    b = as_float(pd.Series([post]) if np.isscalar(post) else post).astype(float)
    if not scalar and len(a) != len(b):
        msg = f"pre has {len(a)} scores and post {len(b)}"
        raise IndicatorError(msg)
    for name, s in (("pre", a), ("post", b)):
        bad = s[(s < 0) | (s > max_score)]
        if len(bad):
            msg = f"{name} score {bad.iloc[0]!r} is outside [0, {max_score}]"
            raise IndicatorError(msg)
    if not scalar and isinstance(pre, pd.Series):
        b.index = a.index = pre.index
    room = max_score - a.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(room > 0, (b.to_numpy() - a.to_numpy()) / room, np.nan)
    if scalar:
        return float(g[0])
    return pd.Series(g, index=a.index, name="norm_gain").astype("Float64")


def capacity_scores(
    data: pd.DataFrame,
    keys: Mapping[str, str | int],
    modules: Mapping[str, str] | None = None,
    *,
    key: str = "participant_id",
    round_col: str = "round",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of every participant and phase, by module, and pre/post gains.

    Parameters
    ----------
    data : DataFrame
        Clean capacity-test data (``participant_id``, ``round``, ``cb_q01`` .. items).
    keys : mapping
        Item -> correct option code (the instrument's ``answer_key``).
    modules : mapping, optional
        Item -> module tag; adds ``score_<module>`` columns.
    key, round_col : str
        Participant and phase columns.

    Returns
    -------
    long : DataFrame
        One row per participant x phase: ``score`` (percent correct, "don't know" = 0) and
        ``score_<module>``.
    wide : DataFrame
        One row per participant: ``score_pre``, ``score_post``, ``score_followup`` (where
        present) and ``norm_gain`` (individual Hake gain, pre to post).

    Raises
    ------
    IndicatorError
        When key columns are missing or a participant has two rows in a phase.
    """
    for c in (key, round_col):
        if c not in data.columns:
            msg = f"capacity-test scores need the {c!r} column"
            raise IndicatorError(msg)
    if data.duplicated([key, round_col]).any():
        msg = f"capacity-test data have duplicated {[key, round_col]} rows"
        raise IndicatorError(msg)
    score, _ = answer_score(data, keys)
    long = data[[key, round_col]].copy()
    long["score"] = score
    for module in sorted(set((modules or {}).values())):
        items = {i: k for i, k in keys.items() if (modules or {}).get(i) == module}
        long[f"score_{module}"] = answer_score(data, items)[0]
    wide = long.pivot(index=key, columns=round_col, values="score")
    wide.columns = [f"score_{c}" for c in wide.columns]
    wide = wide.astype("Float64")
    if {"score_pre", "score_post"} <= set(wide.columns):
        wide["norm_gain"] = normalized_gain(wide["score_pre"], wide["score_post"])
    return long.reset_index(drop=True), wide.reset_index()


def item_analysis(
    data: pd.DataFrame,
    keys: Mapping[str, str | int],
    *,
    corrected: bool = True,
    too_easy: float = 0.9,
) -> pd.DataFrame:
    """Item difficulty and point-biserial discrimination, with repair flags.

    Parameters
    ----------
    data : DataFrame
        One phase of capacity-test data (normally ``pre``).
    keys : mapping
        Item -> correct option code.
    corrected : bool, default True
        Correlate each item with the total of the *other* items (corrected item-total
        correlation), so an item does not correlate with itself.
    too_easy : float, default 0.9
        Difficulty above which an item is flagged.

    Returns
    -------
    DataFrame
        One row per item: ``difficulty`` (share correct, the classical p-value),
        ``discrimination`` (point-biserial = Pearson correlation of the 0/1 item with the
        total score), ``n`` and ``flag`` (``too_easy``, ``negative_discrimination`` or empty).

    Notes
    -----
    Uses participants who answered every item (listwise), "don't know" scored 0. DOMAIN.md
    section 3.4: repair or drop items with difficulty > 0.9 or negative discrimination.
    """
    _, correct = answer_score(data, keys)
    complete = correct.dropna().astype(float)
    total = complete.sum(axis=1)
    rows = []
    for item in keys:
        x = complete[item]
        rest = total - x if corrected else total
        r = (
            float(np.corrcoef(x, rest)[0, 1])
            if len(x) > 2 and x.std() > 0 and rest.std() > 0
            else np.nan
        )
        p = float(x.mean()) if len(x) else np.nan
        flag = "too_easy" if p > too_easy else "negative_discrimination" if r < 0 else ""
        rows.append({"item": item, "difficulty": p, "discrimination": r, "n": len(x), "flag": flag})
    return pd.DataFrame(rows)
