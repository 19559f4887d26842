"""Screening: test, training and pilot submissions, mixed waves, interviews and non-interviews.

- Submissions matched by a configured ``[[drop]]`` rule (test enumerators, test IDs, pilot
  dates, undecrypted records) are excluded with the rule's reason and counted (DATA.md section
  8, step 1; section 10, #27).
- A file declared as one round must not hold submissions of another (``meta_round``): that
  would count people twice (#28). Such rows stop the run unless a drop rule excludes them.
- An interview is a record where consent was given (``[interview] condition``). At a round that
  asks a tracking question (``trk_status``, ``ent_visit_status``), records of people refused,
  not found or deceased are kept with ``interviewed = 0``: they are the attrition analysis'
  data, not interviews. At other rounds a record without consent is excluded (reason
  ``not_interviewed``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import exclusion_entries
from evaluation.cleaning.errors import LinkageError
from evaluation.cleaning.rules import CleaningRules, DropRule
from evaluation.cleaning.values import normalise
from evaluation.instruments.expressions import ExpressionError, holds_frame
from evaluation.instruments.model import Instrument
from evaluation.loaders.model import MAIN_TABLE

__all__ = ["check_round_marker", "interview_condition", "interviews", "screen_drops"]


def _rule_mask(rule: DropRule, data: pd.DataFrame, meta: pd.DataFrame) -> np.ndarray:
    if rule.column is not None:
        if rule.column not in data.columns:
            return np.zeros(len(data), dtype=bool)
        values = normalise(data[rule.column])
    else:
        values = meta[rule.field]
    if rule.before is not None or rule.after is not None:
        days = pd.to_datetime(values, utc=True).dt.date
        mask = pd.Series(False, index=values.index)
        if rule.before is not None:
            mask |= (days < rule.before).fillna(False)
        if rule.after is not None:
            mask |= (days > rule.after).fillna(False)
        return mask.fillna(False).to_numpy(dtype=bool)
    text = values.astype("string")
    if rule.values:
        return text.isin(list(rule.values)).fillna(False).to_numpy(dtype=bool)
    assert rule.pattern is not None
    return text.str.contains(rule.pattern, regex=True).fillna(False).to_numpy(dtype=bool)


def screen_drops(
    data: pd.DataFrame,
    meta: pd.DataFrame,
    rules: CleaningRules,
    instrument: Instrument,
    round_name: str,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Apply the configured drop rules (test, training, pilot, undecrypted submissions).

    Parameters
    ----------
    data : pandas.DataFrame
        The main table as text.
    meta : pandas.DataFrame
        Its canonical metadata (``submitted_at``, ``start``...).
    rules : CleaningRules
        The ``[[drop]]`` rules, applied in order (a row takes the first rule that matches).
    instrument : Instrument
        The questionnaire (for rule scopes).
    round_name : str
        The round (for rule scopes).

    Returns
    -------
    tuple of (numpy.ndarray, pandas.DataFrame)
        Rows kept, and the exclusion entries (reason = the rule's reason, detail = the rule).
    """
    keep = np.ones(len(data), dtype=bool)
    parts = []
    for number, rule in enumerate(rules.drops, start=1):
        if not rule.applies_to(instrument.instrument, round_name):
            continue
        hit = _rule_mask(rule, data, meta) & keep
        if hit.any():
            what = rule.column or rule.field
            parts.append(
                exclusion_entries(
                    MAIN_TABLE,
                    np.flatnonzero(hit),
                    rule.reason,
                    f"cleaning.toml [[drop]] #{number} ({what})",
                )
            )
            keep &= ~hit
    entries = (
        pd.concat(parts, ignore_index=True)
        if parts
        else exclusion_entries(MAIN_TABLE, np.zeros(0, np.int64), "")
    )
    return keep, entries


def check_round_marker(
    data: pd.DataFrame, meta: pd.DataFrame, round_name: str, active: np.ndarray
) -> None:
    """Refuse submissions of another round in a file declared for this one.

    Parameters
    ----------
    data : pandas.DataFrame
        The main table as text.
    meta : pandas.DataFrame
        Its metadata (``source``, ``source_row``).
    round_name : str
        The declared round.
    active : numpy.ndarray
        Rows not yet excluded.

    Raises
    ------
    LinkageError
        When ``meta_round`` holds another round on some rows; the message gives the file, the
        rows and the rounds found.
    """
    if "meta_round" not in data.columns:
        return
    marker = normalise(data["meta_round"]).fillna("")
    other = (marker.ne("") & marker.ne(round_name)).to_numpy() & active
    if not other.any():
        return
    first = int(np.flatnonzero(other)[0])
    rounds = sorted(marker[other].unique().tolist())
    rows = ", ".join(str(int(r)) for r in meta["source_row"].to_numpy()[other][:10])
    msg = (
        f"{meta['source'].iloc[first]}: declared round {round_name!r} in sources.toml but "
        f"meta_round is {rounds} on {int(other.sum())} rows (rows {rows}); an export holding "
        "several waves would count people twice: split it, or exclude those rows with a "
        "[[drop]] rule on column meta_round"
    )
    raise LinkageError(msg)


def interview_condition(instrument: Instrument, rules: CleaningRules) -> str | None:
    """Return the XPath condition of an interview for an instrument.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire.
    rules : CleaningRules
        ``[interview] condition`` when configured.

    Returns
    -------
    str or None
        The configured condition; else ``${meta_consent} = 1`` (and
        ``not(${meta_minor_guardian} = 0)`` when the form asks for guardian consent) when the
        form asks for consent; else ``None`` (every record is an interview).
    """
    if rules.interview_condition:
        return rules.interview_condition
    names = {q.name for q, _ in instrument.walk()}
    if "meta_consent" not in names:
        return None
    condition = "${meta_consent} = 1"
    if "meta_minor_guardian" in names:
        condition += " and not(${meta_minor_guardian} = 0)"
    return condition


def interviews(
    coded: pd.DataFrame,
    instrument: Instrument,
    rules: CleaningRules,
    active: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Tell interviews from non-interviews, keeping tracking records for attrition.

    Parameters
    ----------
    coded : pandas.DataFrame
        The main table as coded text (the condition's columns).
    instrument : Instrument
        The questionnaire.
    rules : CleaningRules
        The interview condition and tracking question.
    active : numpy.ndarray
        Rows not yet excluded.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray, pandas.DataFrame)
        Rows kept, whether each row is an interview, and the exclusions (``not_interviewed``,
        at rounds that do not ask the tracking question).

    Raises
    ------
    LinkageError
        When the condition cannot be evaluated on the data.
    """
    condition = interview_condition(instrument, rules)
    size = len(coded)
    if condition is None:
        return (
            active.copy(),
            np.ones(size, dtype=bool),
            exclusion_entries(MAIN_TABLE, np.zeros(0, np.int64), ""),
        )
    try:
        interviewed = holds_frame(condition, coded).to_numpy(dtype=bool)
    except ExpressionError as err:
        msg = f"[interview] condition {condition!r} cannot be evaluated: {err}"
        raise LinkageError(msg) from None
    tracked = bool(set(rules.tracking) & {q.name for q, _ in instrument.walk()})
    if tracked:
        return active.copy(), interviewed, exclusion_entries(MAIN_TABLE, np.zeros(0, np.int64), "")
    dropped = active & ~interviewed
    entries = exclusion_entries(
        MAIN_TABLE, np.flatnonzero(dropped), "not_interviewed", f"condition not met: {condition}"
    )
    return active & interviewed, interviewed, entries
