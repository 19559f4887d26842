"""Internal accounting entries, keyed by table and row position until keys are final.

Every step works on the full stacked tables (rows are never removed before the end, only marked
excluded), so a row's position identifies it throughout; the entries are turned into the public
log, exclusions and problems tables (with source, source row and final key) once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.cleaning.model import EXCLUSION_COLUMNS, LOG_COLUMNS, PROBLEM_COLUMNS

LOG = ("table", "position", "variable", "old", "new", "rule")
EXCLUDE = ("table", "position", "reason", "detail")
PROBLEM = ("table", "position", "source", "variable", "kind", "severity", "value", "message")


def _frame(columns: Sequence[str], data: Mapping[str, object], size: int) -> pd.DataFrame:
    out = {}
    for column in columns:
        value = data.get(column, pd.NA)
        if np.ndim(value) == 0:
            value = [value] * size
        out[column] = pd.Series(np.asarray(value, dtype=object), dtype="object")
    return pd.DataFrame(out)


def log_entries(
    table: str,
    positions: np.ndarray,
    variable: str,
    old: object,
    new: object,
    *,
    rule: str,
) -> pd.DataFrame:
    """Cleaning-log entries for changed cells of one column.

    Parameters
    ----------
    table : str
        The table.
    positions : numpy.ndarray
        Row positions of the changed cells.
    variable : str
        The column.
    old, new : object
        Old and new values (arrays aligned with ``positions``, or one value for all).
    rule : str
        The rule or decision.

    Returns
    -------
    pandas.DataFrame
        Entries with columns :data:`LOG`.
    """
    size = len(positions)
    return _frame(
        LOG,
        {
            "table": table,
            "position": np.asarray(positions),
            "variable": variable,
            "old": old,
            "new": new,
            "rule": rule,
        },
        size,
    )


def exclusion_entries(
    table: str, positions: np.ndarray, reason: str, detail: object = pd.NA
) -> pd.DataFrame:
    """Exclusion entries for rows of one table.

    Parameters
    ----------
    table : str
        The table.
    positions : numpy.ndarray
        Row positions excluded.
    reason : str
        Why.
    detail : object, optional
        Further detail (one value, or an array aligned with ``positions``).

    Returns
    -------
    pandas.DataFrame
        Entries with columns :data:`EXCLUDE`.
    """
    return _frame(
        EXCLUDE,
        {"table": table, "position": np.asarray(positions), "reason": reason, "detail": detail},
        len(positions),
    )


def problem_entries(
    table: str,
    positions: np.ndarray | None,
    variable: str | None,
    kind: str,
    severity: str,
    *,
    message: object,
    value: object = pd.NA,
    source: object = pd.NA,
) -> pd.DataFrame:
    """Problem entries (flags for review).

    Parameters
    ----------
    table : str
        The table.
    positions : numpy.ndarray or None
        Row positions flagged (``None``: one entry for the whole table).
    variable : str or None
        The column.
    kind : str
        The kind of problem.
    severity : str
        ``error``, ``warning`` or ``info``.
    message : object
        A sentence (or one per position) that never holds an identifier.
    value : object, optional
        The flagged value(s), only for columns that cannot hold identifiers.
    source : object, optional
        The source file, for entries without positions.

    Returns
    -------
    pandas.DataFrame
        Entries with columns :data:`PROBLEM`.
    """
    rows = np.asarray([pd.NA] if positions is None else positions, dtype=object)
    return _frame(
        PROBLEM,
        {
            "table": table,
            "position": rows,
            "source": source,
            "variable": variable if variable is not None else pd.NA,
            "kind": kind,
            "severity": severity,
            "value": value,
            "message": message,
        },
        len(rows),
    )


def unused_decision(line: str, variable: str, what: str) -> pd.DataFrame:
    """Warn that a reviewed decision found nothing to apply to.

    Parameters
    ----------
    line : str
        The decision file and line (``duplicates.csv: line 4``).
    variable : str
        The column the decision is about.
    what : str
        What was not found (``submission 'uuid:...'``).

    Returns
    -------
    pandas.DataFrame
        One problem entry of kind ``unused_decision``.
    """
    return problem_entries(
        "main",
        None,
        variable,
        "unused_decision",
        "warning",
        message=f"{line}: {what} is not in the data (decision not used)",
    )


def concat(parts: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate entries, or return an empty table with the columns.

    Parameters
    ----------
    parts : sequence of pandas.DataFrame
        Entry tables.
    columns : sequence of str
        Their columns.

    Returns
    -------
    pandas.DataFrame
        All entries.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return pd.concat(parts, ignore_index=True)[list(columns)]


def finalise(
    entries: pd.DataFrame,
    columns: Sequence[str],
    rows: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Turn positional entries into a public accounting table.

    Parameters
    ----------
    entries : pandas.DataFrame
        Entries with ``table`` and ``position``.
    columns : sequence of str
        :data:`~evaluation.cleaning.model.LOG_COLUMNS`, ``EXCLUSION_COLUMNS`` or
        ``PROBLEM_COLUMNS``.
    rows : Mapping
        Table to a frame giving, per position, ``source``, ``source_row``, ``key`` and
        ``instance_id``.

    Returns
    -------
    pandas.DataFrame
        The public table, sorted by source, table, source row and variable; ``source_row`` is
        ``Int64`` and every other column ``string``.
    """
    if entries.empty:
        out = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    else:
        parts = []
        for table, group in entries.groupby("table", sort=False):
            lookup = rows.get(str(table))
            known = group["position"].notna().to_numpy()
            if lookup is None:
                known = np.zeros(len(group), dtype=bool)
            positions = group["position"].to_numpy()
            filled = group.copy()
            for field in ("source", "source_row", "key", "instance_id"):
                if field not in columns:
                    continue
                values = np.full(len(group), pd.NA, dtype=object)
                if known.any():
                    values[known] = lookup[field].to_numpy(dtype=object)[
                        positions[known].astype(np.int64)
                    ]
                if field in filled.columns:
                    values = np.where(known, values, filled[field].to_numpy(dtype=object))
                filled[field] = values
            parts.append(filled)
        out = pd.concat(parts, ignore_index=True)
    out = out.reindex(columns=list(columns))
    typed = {}
    for column in columns:
        if column == "source_row":
            typed[column] = pd.array(out[column].to_numpy(dtype=object), dtype="Int64")
        else:
            typed[column] = (
                pd.Series(out[column].to_numpy(dtype=object), dtype=object).astype("string").array
            )
    result = pd.DataFrame(typed)
    order = [c for c in ("source", "table", "source_row", "variable") if c in result.columns]
    return result.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


__all__ = [
    "EXCLUDE",
    "EXCLUSION_COLUMNS",
    "LOG",
    "LOG_COLUMNS",
    "PROBLEM",
    "PROBLEM_COLUMNS",
    "concat",
    "exclusion_entries",
    "finalise",
    "log_entries",
    "problem_entries",
    "unused_decision",
]
