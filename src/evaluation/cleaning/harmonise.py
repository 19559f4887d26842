"""Form-version harmonisation across waves (``iecodebook``): renames, recodes, choice lists.

A file exported from an older form version, or from a partner's form, names some columns
differently or codes some answers differently. The harmonisation table (``harmonise.csv`` in the
decisions folder) maps each such column, for a round and optionally a form version, onto the
instrument's question and recodes its answers. After it is applied **every column is mapped**: a
column the instrument does not know and the table does not map (or drop on purpose) stops the
run, because silently dropping it could lose data and silently keeping it could leak
identifiers. Choice lists of the same question are compared across rounds before rounds are
stacked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import LOG, PROBLEM, concat, log_entries, problem_entries
from evaluation.cleaning.decisions import Decisions, parse_recode
from evaluation.cleaning.errors import HarmonisationError
from evaluation.cleaning.model import PROBLEM_COLUMNS
from evaluation.cleaning.selects import indicator_names
from evaluation.cleaning.stack import Stacked
from evaluation.cleaning.values import blank, normalise
from evaluation.instruments.model import Choice, Instrument
from evaluation.loaders.model import MAIN_TABLE

__all__ = ["compare_choice_lists", "harmonise"]


def _recode(values: pd.Series, pairs: Mapping[str, str], multiple: bool) -> pd.Series:
    text = normalise(values)
    if not pairs:
        return values
    if not multiple:
        return text.map(lambda v: pairs.get(v, v) if isinstance(v, str) else v).astype("string")
    return text.map(
        lambda v: " ".join(pairs.get(t, t) for t in v.split()) if isinstance(v, str) else v
    ).astype("string")


def harmonise(stacked: Stacked, decisions: Decisions) -> tuple[Stacked, pd.DataFrame, pd.DataFrame]:
    """Apply the harmonisation table and check that every column is mapped.

    Parameters
    ----------
    stacked : Stacked
        The stacked raw rows of one instrument round.
    decisions : Decisions
        Its ``harmonise`` table (rows of this instrument and round).

    Returns
    -------
    tuple of (Stacked, pandas.DataFrame, pandas.DataFrame)
        The rows with columns renamed, recoded and dropped as the table says; the cleaning-log
        entries of the recoded values (``source``, ``table``, ``row`` position, ``variable``,
        ``old``, ``new``); and a problems table (columns dropped on purpose, counted).

    Raises
    ------
    HarmonisationError
        When a column the instrument does not know is not mapped; when a row maps onto a
        question that is not in the instrument; when a renamed column's values would overwrite
        values already in the target column; or when a column restricted to some form versions
        holds values in rows of other versions. The message names the file and the columns.
    """
    family = stacked.instrument.instrument or stacked.instrument.form_id
    table = decisions.table("harmonise", family, stacked.round)
    where = decisions.where["harmonise"]
    questions = {q.name: q for q, _ in stacked.instrument.walk()}
    frames = {MAIN_TABLE: stacked.data.copy(), **{k: v.copy() for k, v in stacked.repeats.items()}}
    unknown = {t: set(c) for t, c in stacked.unknown.items()}
    logs: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    versions = stacked.meta["form_version"].astype("string")
    for _, row in table.iterrows():
        line = f"{where}: line {int(row['line'])}"
        column, name, version = str(row["column"]), str(row["name"]), str(row["form_version"])
        holders = [t for t, f in frames.items() if column in f.columns]
        if not holders:
            continue
        owner = holders[0]
        frame = frames[owner]
        if owner == MAIN_TABLE:
            rows = (
                versions.eq(version).fillna(False).to_numpy()
                if version
                else np.ones(len(frame), bool)
            )
        else:
            parent_version = versions.to_numpy()[_main_rows(frames, stacked, owner)]
            rows = parent_version == version if version else np.ones(len(frame), bool)
        values = frame[column]
        if version and column != name and (~blank(values[~rows])).any():
            msg = (
                f"{line}: column {column!r} is mapped for form version {version!r} only but "
                "holds values in submissions of other versions; map those versions too"
            )
            raise HarmonisationError(msg)
        if not name:
            frames[owner] = frame.drop(columns=[column])
            unknown.get(owner, set()).discard(column)
            problems.append(
                problem_entries(
                    owner,
                    None,
                    column,
                    "column_dropped",
                    "info",
                    message=f"{line}: column {column!r} dropped on purpose",
                    source=_sources(stacked),
                )
            )
            continue
        if name not in questions:
            msg = f"{line}: name {name!r} is not a question of the instrument {family!r}"
            raise HarmonisationError(msg)
        multiple = questions[name].type == "select_multiple"
        pairs = parse_recode(str(row["recode"]), line)
        recoded = _recode(values, pairs, multiple)
        changed = (
            rows & (recoded.fillna("") != normalise(values).fillna("")).to_numpy() & bool(pairs)
        )
        if changed.any():
            logs.append(
                log_entries(
                    owner,
                    np.flatnonzero(changed),
                    name,
                    values[changed].to_numpy(dtype=object),
                    recoded[changed].to_numpy(dtype=object),
                    rule="harmonise",
                )
            )
        if name != column and name in frame.columns:
            clash = rows & ~blank(frame[name]).to_numpy() & ~blank(values).to_numpy()
            if clash.any():
                msg = (
                    f"{line}: column {column!r} is renamed to {name!r} but {int(clash.sum())} "
                    f"rows hold values in both; decide which one is right"
                )
                raise HarmonisationError(msg)
            target = frame[name].copy()
            target[rows] = recoded[rows]
            frame = frame.assign(**{name: target})
        else:
            target = values.copy()
            target[rows] = recoded[rows]
            frame = frame.assign(**{name: target})
        if name != column:
            frame = frame.drop(columns=[column])
        frames[owner] = frame
        unknown.get(owner, set()).discard(column)
    indicators = {
        name
        for q, _ in stacked.instrument.walk()
        if q.type == "select_multiple" and q.list_name
        for choice in _choices(stacked.instrument, q.list_name)
        for name in indicator_names(q.name, choice.name, choice.special)
    }
    left = {t: sorted(c - indicators) for t, c in unknown.items() if c - indicators}
    if left:
        sources = _sources(stacked)
        listed = "; ".join(f"{t}: {c}" for t, c in sorted(left.items()))
        msg = (
            f"{sources}: columns not in instrument {family!r} round {stacked.round!r} and not "
            f"mapped in {where} ({listed}); map each one to a question or drop it on purpose "
            "(an empty name), so that no column is lost or kept unseen"
        )
        raise HarmonisationError(msg)
    harmonised = Stacked(
        instrument=stacked.instrument,
        round=stacked.round,
        specs=stacked.specs,
        data=frames[MAIN_TABLE],
        meta=stacked.meta,
        repeats={k: v for k, v in frames.items() if k != MAIN_TABLE},
        unknown={},
        issues=stacked.issues,
        rows_in=stacked.rows_in,
    )
    return harmonised, concat(logs, LOG), concat(problems, PROBLEM)


def _choices(instrument: Instrument, list_name: str) -> tuple[Choice, ...]:
    try:
        return instrument.choice_list(list_name).choices
    except KeyError:
        return ()


def _main_rows(frames: Mapping[str, pd.DataFrame], stacked: Stacked, table: str) -> np.ndarray:
    """Position in the main table of every row of a repeat table (through enclosing repeats)."""
    positions = frames[table]["parent"].to_numpy()
    parent = stacked.specs[table].parent
    while parent and parent != MAIN_TABLE:
        positions = frames[parent]["parent"].to_numpy()[positions]
        parent = stacked.specs[parent].parent
    return positions


def _sources(stacked: Stacked) -> str:
    return ", ".join(sorted(stacked.meta["source"].unique().tolist()))


def compare_choice_lists(instruments: Iterable[Instrument]) -> pd.DataFrame:
    """Compare the choice lists of every select question across rounds.

    Parameters
    ----------
    instruments : iterable of Instrument
        The rounds of one instrument family.

    Returns
    -------
    pandas.DataFrame
        One row per difference (:data:`~evaluation.cleaning.model.PROBLEM_COLUMNS`):
        ``choice_codes_differ`` (warning: options added or removed) and
        ``choice_label_differs`` (error: a code means something else in another round).

    Notes
    -----
    Labels are compared in every language the rounds share.
    """
    forms = list(instruments)
    seen: dict[str, tuple[str, dict[str, dict[str, str]]]] = {}
    rows: list[dict[str, object]] = []
    for form in forms:
        for q, _ in form.walk():
            if not q.is_select or q.list_name is None:
                continue
            try:
                choices = form.choice_list(q.list_name)
            except KeyError:
                continue
            labels = {c.name: c.label.as_dict() for c in choices.choices}
            if q.name not in seen:
                seen[q.name] = (form.round or form.form_id, labels)
                continue
            first_round, first = seen[q.name]
            here = form.round or form.form_id
            if set(first) != set(labels):
                added = sorted(set(labels) - set(first))
                removed = sorted(set(first) - set(labels))
                rows.append(
                    _drift(
                        q.name,
                        "choice_codes_differ",
                        "warning",
                        f"{q.name}: options differ between {first_round} and {here} "
                        f"(added {added}, removed {removed})",
                    )
                )
            for code in sorted(set(first) & set(labels)):
                changed = [
                    lang
                    for lang in first[code]
                    if lang in labels[code] and first[code][lang] != labels[code][lang]
                ]
                if changed:
                    rows.append(
                        _drift(
                            q.name,
                            "choice_label_differs",
                            "error",
                            f"{q.name}: code {code} is {first[code][changed[0]]!r} in "
                            f"{first_round} but {labels[code][changed[0]]!r} in {here} "
                            f"({changed[0]}); recode one round in harmonise.csv",
                        )
                    )
    return pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))


def _drift(name: str, kind: str, severity: str, message: str) -> dict[str, object]:
    return {
        "source": pd.NA,
        "table": MAIN_TABLE,
        "source_row": pd.NA,
        "key": pd.NA,
        "variable": name,
        "kind": kind,
        "severity": severity,
        "value": pd.NA,
        "message": message,
    }
