"""Respondent IDs, corrections after call-backs and "other, specify" recodes, from reviewed files.

- **IDs** are normalised first (NFKC, white space, upper case: ``ｔｊ００１０２３`` is
  ``TJ001023``), each change logged; then ``id_corrections.csv`` fixes IDs typed wrong, by
  submission (the old ID must be what the file holds, or the decision is stale). A submission
  left without an ID stops the run: it cannot be linked to anyone.
- **Corrections** (``corrections.csv``, ``iecorrect``): ``replace`` a value after a call-back
  (the old value must match), ``blank`` a value given where the question was not relevant, or
  mark a value ``okay`` so that range and constraint checks stop flagging it.
- **Specify recodes** (``specify.csv``, ``ipacheckspecifyrecode``): an "other" answer whose
  text names an existing option becomes that option.

Every change is logged with its rule and the decision file's line; nothing here prints the value
of a direct identifier.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import log_entries, unused_decision
from evaluation.cleaning.decisions import Decisions
from evaluation.cleaning.errors import DecisionsError, LinkageError
from evaluation.cleaning.values import normalise
from evaluation.instruments.model import Instrument
from evaluation.loaders.model import MAIN_TABLE

__all__ = ["apply_corrections", "apply_id_corrections", "apply_specify", "normalise_keys"]


def normalise_keys(values: pd.Series, key_name: str) -> tuple[pd.Series, pd.DataFrame]:
    """Normalise respondent IDs: NFKC, surrounding white space removed, upper case.

    Parameters
    ----------
    values : pandas.Series
        The key column as received.
    key_name : str
        Its name, for the log.

    Returns
    -------
    tuple of (pandas.Series, pandas.DataFrame)
        The IDs (``string``; ``<NA>`` where blank) and the log entries of changed IDs.
    """
    raw = values.astype("string")
    keys = normalise(raw).str.upper()
    keys = keys.mask(keys.eq(""))
    changed = (keys.fillna("") != raw.fillna("")).to_numpy() & keys.notna().to_numpy()
    positions = np.flatnonzero(changed)
    log = log_entries(
        MAIN_TABLE,
        positions,
        key_name,
        raw.to_numpy(dtype=object)[positions],
        keys.to_numpy(dtype=object)[positions],
        rule="id_normalised",
    )
    return keys, log


def apply_id_corrections(
    keys: pd.Series,
    ids: pd.Series,
    active: np.ndarray,
    decisions: Decisions,
    *,
    instrument: str,
    round_name: str,
    key_name: str,
    sources: pd.Series,
    source_rows: pd.Series,
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Apply ``id_corrections.csv`` and refuse submissions left without an ID.

    Parameters
    ----------
    keys : pandas.Series
        Normalised IDs.
    ids : pandas.Series
        Submission IDs (see :func:`evaluation.cleaning.duplicates.submission_ids`).
    active : numpy.ndarray
        Rows still in the data (excluded rows may lack an ID).
    decisions : Decisions
        The ``id_corrections`` table.
    instrument : str
        The instrument family.
    round_name : str
        The round.
    key_name : str
        The key column.
    sources : pandas.Series
        Source file of each row (messages).
    source_rows : pandas.Series
        Row in the source file (messages).

    Returns
    -------
    tuple of (pandas.Series, pandas.DataFrame, pandas.DataFrame)
        The corrected IDs, log entries (``id_correction``) and problems (``unused_decision``).

    Raises
    ------
    DecisionsError
        When a correction's ``old_id`` is not what the file holds (stale decision).
    LinkageError
        When an active submission has no ID after the corrections; the message lists the files,
        rows and submission IDs and says how to fix it.
    """
    table = decisions.table("id_corrections", instrument, round_name)
    where = decisions.where["id_corrections"]
    keys = keys.copy()
    position_of = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    logs, problems = [], []
    for _, row in table.iterrows():
        line = f"{where}: line {int(row['line'])}"
        instance = str(row["instance_id"])
        if instance not in position_of.index:
            problems.append(unused_decision(line, key_name, f"submission {instance!r}"))
            continue
        position = int(np.atleast_1d(position_of[instance])[0])
        current = keys.iloc[position]
        old = str(normalise(pd.Series([row["old_id"]])).str.upper().iloc[0])
        if (current if isinstance(current, str) else "") != old:
            held = current if isinstance(current, str) else ""
            msg = (
                f"{line}: submission {instance!r} holds ID {held!r}, not old_id "
                f"{row['old_id']!r}; the decision is stale"
            )
            raise DecisionsError(msg)
        new = str(normalise(pd.Series([row["new_id"]])).str.upper().iloc[0])
        logs.append(
            log_entries(MAIN_TABLE, np.array([position]), key_name, old, new, rule="id_correction")
        )
        keys.iloc[position] = new
    missing = keys.isna().to_numpy() & active
    if missing.any():
        rows = np.flatnonzero(missing)
        listed = "; ".join(
            f"{sources.iloc[p]} row {int(source_rows.iloc[p])} (submission {ids.iloc[p]})"
            for p in rows[:10]
        )
        msg = (
            f"{int(missing.sum())} submissions have no {key_name!r}: {listed}; add the right ID "
            f"in {where} (old_id empty is not allowed: give the submission and the ID), or "
            "exclude them with a [[drop]] rule"
        )
        raise LinkageError(msg)
    logs_frame = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    problems_frame = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame()
    return keys, logs_frame, problems_frame


def apply_corrections(
    data: pd.DataFrame,
    private: pd.DataFrame,
    keys: pd.Series,
    active: np.ndarray,
    *,
    decisions: Decisions,
    instrument: Instrument,
    round_name: str,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
    """Apply ``corrections.csv`` to the main table (and to identifiers in the private records).

    Parameters
    ----------
    data : pandas.DataFrame
        The main table as text.
    private : pandas.DataFrame
        The main table's identifiers (corrections of a phone number after a call-back).
    keys : pandas.Series
        Respondent IDs after duplicates are resolved.
    active : numpy.ndarray
        Rows kept.
    decisions : Decisions
        The ``corrections`` table.
    instrument : Instrument
        The questionnaire.
    round_name : str
        The round.

    Returns
    -------
    tuple
        ``(data, private, okay, log, problems)``: the corrected tables, per variable the rows
        marked okay, log entries (``correction``, ``blanked``) and problems
        (``unused_decision``). Corrections of identifiers are logged without their values.

    Raises
    ------
    DecisionsError
        When a variable is not a question of the main table, or ``old`` does not match the
        value the file holds (stale decision).
    """
    family = instrument.instrument or instrument.form_id
    table = decisions.table("corrections", family, round_name)
    where = decisions.where["corrections"]
    data = data.copy()
    private = private.copy()
    okay: dict[str, np.ndarray] = {}
    logs, problems = [], []
    live = keys.where(active)
    position_of = pd.Series(np.arange(len(keys)), index=live.fillna("\0none").to_numpy())
    for _, row in table.iterrows():
        line = f"{where}: line {int(row['line'])}"
        variable, action = str(row["variable"]), str(row["action"])
        identifier = variable in private.columns
        if not identifier and variable not in data.columns:
            msg = f"{line}: variable {variable!r} is not a column of the main table of {family!r}"
            raise DecisionsError(msg)
        key = str(normalise(pd.Series([row["key"]])).str.upper().iloc[0])
        if key not in position_of.index:
            problems.append(unused_decision(line, variable, f"key {key!r} (kept submissions)"))
            continue
        position = int(np.atleast_1d(position_of[key])[0])
        target = private if identifier else data
        current = target[variable].iloc[position]
        current_text = "" if pd.isna(current) else str(current)
        if action == "okay":
            okay.setdefault(variable, np.zeros(len(data), dtype=bool))[position] = True
            continue
        old = str(row["old"])
        if (
            old != "*"
            and normalise(pd.Series([current_text])).iloc[0] != normalise(pd.Series([old])).iloc[0]
        ):
            shown = "the file's value" if identifier else repr(current_text)
            msg = (
                f"{line}: {variable} of {key!r} is {shown}, not the old value given; the "
                "decision is stale"
            )
            raise DecisionsError(msg)
        new = "" if action == "blank" else str(row["new"])
        column = target[variable].astype("string").copy()
        column.iloc[position] = new
        target[variable] = column
        rule = "blanked" if action == "blank" else "correction"
        logs.append(
            log_entries(
                MAIN_TABLE,
                np.array([position]),
                variable,
                "<identifier>" if identifier else current_text,
                "<identifier>" if identifier else new,
                rule=rule,
            )
        )
    logs_frame = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    problems_frame = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame()
    return data, private, okay, logs_frame, problems_frame


def _swap(parts: list[str], *, old: str, new: str) -> str:
    return " ".join(dict.fromkeys(new if p == old else p for p in parts))


def apply_specify(
    frames: Mapping[str, pd.DataFrame],
    decisions: Decisions,
    instrument: Instrument,
    active: Mapping[str, np.ndarray],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Recode "other, specify" answers whose text names an existing option.

    Parameters
    ----------
    frames : Mapping
        Table name to its rows as text.
    decisions : Decisions
        The ``specify`` table.
    instrument : Instrument
        The questionnaire (parents must be selects, codes in their lists).
    active : Mapping
        Table name to the rows kept.

    Returns
    -------
    tuple of (dict, pandas.DataFrame)
        The tables with recoded parents, and the log entries (``specify_recode``).

    Raises
    ------
    DecisionsError
        When the parent is not a select question, the text question is not in the same table,
        or a code is not in the parent's list.
    """
    family = instrument.instrument or instrument.form_id
    table = decisions.table("specify", family)
    where = decisions.where["specify"]
    out = {name: frame.copy() for name, frame in frames.items()}
    logs = []
    for _, row in table.iterrows():
        line = f"{where}: line {int(row['line'])}"
        parent, variable = str(row["parent"]), str(row["variable"])
        try:
            question = instrument.question(parent)
        except KeyError:
            question = None
        if question is None or not question.is_select or question.list_name is None:
            msg = f"{line}: parent {parent!r} is not a select question of {family!r}"
            raise DecisionsError(msg)
        codes = set(instrument.choice_list(question.list_name).codes) | (
            {"other"} if question.or_other else set()
        )
        other, code = str(row["other_code"]), str(row["code"])
        for value in (other, code):
            if value not in codes:
                msg = f"{line}: code {value!r} is not in list {question.list_name!r} of {parent!r}"
                raise DecisionsError(msg)
        holder = next((n for n, f in out.items() if parent in f.columns), None)
        if holder is None:
            continue
        frame = out[holder]
        if variable not in frame.columns:
            msg = f"{line}: text question {variable!r} is not in the table of {parent!r}"
            raise DecisionsError(msg)
        answers = normalise(frame[parent]).fillna("")
        texts = normalise(frame[variable]).fillna("")
        wanted = str(normalise(pd.Series([row["text"]])).iloc[0])
        if question.type == "select_multiple":
            chosen = answers.str.contains(rf"(?:^|\s){other}(?:\s|$)", regex=True)
        else:
            chosen = answers.eq(other)
        hit = (chosen & texts.eq(wanted)).fillna(False).to_numpy() & active[holder]
        if not hit.any():
            continue
        positions = np.flatnonzero(hit)
        if question.type == "select_multiple":
            recoded = (
                answers.iloc[positions]
                .str.split()
                .map(functools.partial(_swap, old=other, new=code))
            )
        else:
            recoded = pd.Series(code, index=answers.index[positions])
        logs.append(
            log_entries(
                holder,
                positions,
                parent,
                answers.to_numpy(dtype=object)[positions],
                recoded.to_numpy(dtype=object),
                rule="specify_recode",
            )
        )
        column = frame[parent].astype("string").copy()
        column.iloc[positions] = recoded.to_numpy(dtype=object)
        out[holder] = frame.assign(**{parent: column})
    return out, (pd.concat(logs, ignore_index=True) if logs else pd.DataFrame())
