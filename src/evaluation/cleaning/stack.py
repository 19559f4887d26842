"""Intake: the files of one instrument round stacked into one table of text, rows accounted for.

Several exports may hold one round (two cities, two downloads): they are stacked, every row
keeping its ``source`` file and ``source_row``, so that duplicates across files are found and each
file is accounted for on its own. SPSS and Stata values, which keep their types when read, become
the text a platform would have exported (``25``, ``-99``, ``2024-03-05``), so that one set of
rules types every source; Stata extended missing values (``.d``) become the instrument's special
codes through ``[stata_missing]``, and SPSS user-missing values that are not special codes stop
the run until they are mapped under ``[code_aliases]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import PROBLEM
from evaluation.cleaning.errors import LinkageError, TypingError
from evaluation.cleaning.rules import CleaningRules
from evaluation.instruments.model import Instrument
from evaluation.loaders.columns import TableSpec, instrument_tables
from evaluation.loaders.model import LINK_COLUMNS, MAIN_TABLE, RawRound

__all__ = ["Stacked", "labelled_text", "stack_rounds"]

#: Question types whose columns hold no data.
NO_DATA_TYPES = frozenset({"note", "group", "repeat", "loop"})


@dataclass(frozen=True, slots=True)
class Stacked:
    """The raw rows of one instrument round, from one or more files, as text.

    Attributes
    ----------
    instrument : Instrument
        The questionnaire.
    round : str
        The round.
    specs : Mapping
        The instrument's tables (main form and repeats).
    data : pandas.DataFrame
        Main table: every column of every file as ``string`` (blank ``""`` or ``<NA>``), on a
        ``RangeIndex`` in file order.
    meta : pandas.DataFrame
        Per row of ``data``: ``source``, ``source_row``, ``instance_id``, ``submitted_at``,
        ``start``, ``end``, ``form_version``, ``device_id``, ``review_state``.
    repeats : Mapping
        Repeat name to its rows: ``source``, ``source_row``, ``parent`` (position of the parent
        row in ``data`` or in the enclosing repeat's table), ``repeat_key`` and the repeat's
        columns as text.
    unknown : Mapping
        Table to the columns the instrument does not know (as the loaders reported them).
    issues : pandas.DataFrame
        What the loaders reported, as problem entries (kept as warnings).
    rows_in : Mapping
        ``(source, table)`` to rows read.
    """

    instrument: Instrument
    round: str
    specs: Mapping[str, TableSpec]
    data: pd.DataFrame
    meta: pd.DataFrame
    repeats: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    unknown: Mapping[str, frozenset[str]] = field(default_factory=dict)
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows_in: Mapping[tuple[str, str], int] = field(default_factory=dict)


def _number_text(values: np.ndarray) -> np.ndarray:
    """Numbers as a platform writes them: whole numbers without a decimal point."""
    out = np.full(values.shape, "", dtype=object)
    finite = np.isfinite(values)
    whole = finite & (values == np.round(values)) & (np.abs(values) < 2**53)
    out[whole] = values[whole].astype(np.int64).astype(str).astype(object)
    other = finite & ~whole
    if other.any():
        out[other] = [repr(float(v)) for v in values[other]]
    return out


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return str(_number_text(np.array([value]))[0])
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def labelled_text(
    raw: RawRound, instrument: Instrument, rules: CleaningRules
) -> tuple[pd.DataFrame, list[str]]:
    """Turn the typed values of an SPSS or Stata file into the text a platform would export.

    Parameters
    ----------
    raw : RawRound
        A round read from an SPSS or Stata file (``raw.labels`` is set).
    instrument : Instrument
        The questionnaire (its special codes).
    rules : CleaningRules
        ``[stata_missing]`` and ``[code_aliases]``.

    Returns
    -------
    tuple of (pandas.DataFrame, list of str)
        The main table as ``string`` columns, and the columns whose Stata missing letters were
        replaced by special codes.

    Raises
    ------
    TypingError
        When a Stata missing letter is not mapped under ``[stata_missing]``, or an SPSS
        user-missing value is neither a special code of the instrument nor mapped under
        ``[code_aliases]``; the message names the file, the column and the value.
    """
    special = {c.key: c.value for c in instrument.special_codes}
    known_codes = {float(v) for v in special.values()} | {float(a) for a in rules.code_aliases}
    labels = raw.labels
    columns: dict[str, pd.Series] = {}
    mapped: list[str] = []
    where = raw.info.name
    for name in raw.data.columns:
        values = raw.data[name]
        letters = set(labels.missing_user_values.get(name, ())) if labels else set()
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            text = _number_text(values.to_numpy(dtype=float, na_value=np.nan))
        elif pd.api.types.is_datetime64_any_dtype(values):
            stamps = pd.Series(values)
            midnight = (stamps.dt.normalize() == stamps).fillna(True)
            text = np.where(
                midnight,
                stamps.dt.strftime("%Y-%m-%d").fillna(""),
                stamps.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna(""),
            ).astype(object)
        else:
            cells = values.to_numpy(dtype=object)
            codes, uniques = pd.factorize(pd.Series(cells, dtype=object), use_na_sentinel=True)
            converted = np.array([_cell_text(u) for u in uniques] + [""], dtype=object)
            text = converted[codes]
        if letters:
            for letter in sorted(letters):
                hit = text == letter
                if not hit.any():
                    continue
                key = rules.stata_missing.get(letter)
                if key is None or key not in special:
                    msg = (
                        f"{where}: column {name!r} holds Stata missing value .{letter} on "
                        f"{int(hit.sum())} rows; map it to a special code of the instrument "
                        f"({sorted(special)}) under [stata_missing] in cleaning.toml"
                    )
                    raise TypingError(msg)
                text = np.where(hit, str(special[key]), text)
            mapped.append(name)
        if labels is not None and name in labels.missing_ranges:
            for spec in labels.missing_ranges[name]:
                low, high = spec.get("lo"), spec.get("hi")
                if not isinstance(low, int | float) or not isinstance(high, int | float):
                    continue
                numbers = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce")
                inside = numbers.between(low, high).to_numpy()
                unknown = sorted(set(numbers[inside].tolist()) - known_codes)
                if unknown:
                    msg = (
                        f"{where}: column {name!r} holds {unknown[0]!r}, declared user-missing "
                        f"in the file but not a special code of the instrument "
                        f"({dict(special)}); map it under [code_aliases] "
                        "in cleaning.toml"
                    )
                    raise TypingError(msg)
        columns[name] = pd.Series(text, index=raw.data.index, dtype="string")
    return pd.DataFrame(columns, index=raw.data.index), mapped


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: frame[c].astype("string") for c in frame.columns}, index=frame.index)


def _issues(raw: RawRound) -> list[dict[str, object]]:
    return [
        {
            "table": found.table,
            "position": pd.NA,
            "source": raw.info.name,
            "variable": found.column,
            "kind": found.kind,
            "severity": "warning",
            "value": pd.NA,
            "message": found.message,
        }
        for found in raw.issues
    ]


def stack_rounds(
    raws: RawRound | Sequence[RawRound], instrument: Instrument, rules: CleaningRules
) -> Stacked:
    """Stack the files of one instrument round into one table of text.

    Parameters
    ----------
    raws : RawRound or sequence of RawRound
        One or more files of the same instrument round.
    instrument : Instrument
        The questionnaire they answer.
    rules : CleaningRules
        The standing rules (Stata missing letters, code aliases).

    Returns
    -------
    Stacked
        The rows as text, their metadata and sources, repeat rows linked to their parents.

    Raises
    ------
    LinkageError
        When no file is given, the files declare different rounds, two files have the same
        name, or a repeat row has no parent row.
    TypingError
        From :func:`labelled_text`.
    """
    rounds = [raws] if isinstance(raws, RawRound) else list(raws)
    if not rounds:
        msg = "clean_round: no raw file given"
        raise LinkageError(msg)
    names = [r.info.name for r in rounds]
    if len(set(names)) != len(names):
        msg = f"clean_round: the same file is given twice: {sorted(names)}"
        raise LinkageError(msg)
    round_names = sorted({r.round for r in rounds})
    if len(round_names) != 1:
        msg = f"clean_round: files of different rounds {round_names} given together: {names}"
        raise LinkageError(msg)
    specs = instrument_tables(instrument)
    datas, metas, issues = [], [], []
    rows_in: dict[tuple[str, str], int] = {}
    unknown: dict[str, set[str]] = {}
    for raw in rounds:
        name = raw.info.name
        if raw.labels is not None:
            text, _ = labelled_text(raw, instrument, rules)
        else:
            text = _as_text(raw.data)
        datas.append(text.reset_index(drop=True))
        meta = raw.meta.reset_index(drop=True).copy()
        meta.insert(0, "source", pd.Series(name, index=meta.index, dtype="string"))
        metas.append(meta)
        rows_in[(name, MAIN_TABLE)] = len(raw.data)
        for repeat, frame in raw.repeats.items():
            rows_in[(name, repeat)] = len(frame)
        for found in raw.issues_of("unknown_column"):
            if found.column:
                unknown.setdefault(found.table, set()).add(found.column)
        issues += _issues(raw)
    data = pd.concat(datas, ignore_index=True) if len(datas) > 1 else datas[0]
    data = _as_text(data)
    meta = pd.concat(metas, ignore_index=True) if len(metas) > 1 else metas[0]
    meta = meta.drop(columns=["key"])
    repeats = _stack_repeats(rounds, specs, meta)
    problems = pd.DataFrame(issues, columns=list(PROBLEM))
    return Stacked(
        instrument=instrument,
        round=round_names[0],
        specs=specs,
        data=data,
        meta=meta,
        repeats=repeats,
        unknown={k: frozenset(v) for k, v in unknown.items()},
        issues=problems,
        rows_in=rows_in,
    )


def _stack_repeats(
    rounds: Sequence[RawRound], specs: Mapping[str, TableSpec], meta: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    main_position = pd.Series(
        np.arange(len(meta)), index=pd.MultiIndex.from_arrays([meta["source"], meta["source_row"]])
    )
    stacked: dict[str, pd.DataFrame] = {}
    for table, spec in specs.items():
        if table == MAIN_TABLE:
            continue
        parts = []
        for raw in rounds:
            if table not in raw.repeats:
                continue
            frame = raw.repeats[table].reset_index(drop=True)
            body = _as_text(frame.drop(columns=[c for c in LINK_COLUMNS if c in frame.columns]))
            links = pd.DataFrame(
                {
                    "source": pd.Series(raw.info.name, index=frame.index, dtype="string"),
                    "source_row": frame["source_row"].astype("int64"),
                    "submission_row": frame["submission_row"].astype("int64"),
                    "parent_key": frame["parent_key"].astype("string"),
                    "repeat_key": frame["key"].astype("string"),
                }
            )
            parts.append(pd.concat([links, body], axis=1))
        if not parts:
            continue
        rows = pd.concat(parts, ignore_index=True)
        if spec.parent == MAIN_TABLE:
            lookup = pd.MultiIndex.from_arrays([rows["source"], rows["submission_row"]])
            parent = main_position.reindex(lookup).to_numpy()
        else:
            enclosing = stacked.get(spec.parent or "")
            if enclosing is None:
                parent = np.full(len(rows), np.nan)
            else:
                positions = pd.Series(
                    np.arange(len(enclosing)),
                    index=pd.MultiIndex.from_arrays([enclosing["source"], enclosing["repeat_key"]]),
                )
                lookup = pd.MultiIndex.from_arrays([rows["source"], rows["parent_key"]])
                parent = positions.reindex(lookup).to_numpy()
        orphan = np.isnan(parent.astype(float))
        if orphan.any():
            first = int(np.flatnonzero(orphan)[0])
            msg = (
                f"{rows['source'].iloc[first]}: repeat {table!r} row "
                f"{rows['source_row'].iloc[first]} ({int(orphan.sum())} rows in all) has no "
                "parent row"
            )
            raise LinkageError(msg)
        rows.insert(2, "parent", parent.astype("int64"))
        stacked[table] = rows.drop(columns=["submission_row", "parent_key"])
    return stacked
