"""Small shared helpers of the indicator stage: errors, column access and 0/1 indicators.

Everything here is pure. Clean data follow the contract of the cleaning stage: select_one and
integer answers are nullable ``Int64`` codes, special codes are never left in value columns (the
reason sits in ``<name>__reason``), and binary indicators are ``Float64`` 0/1 with ``<NA>`` where
undefined, so that a mean is a share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ConfigError",
    "IndicatorError",
    "as_float",
    "as_int",
    "binary",
    "codes",
    "column",
    "multi_count",
    "reason",
    "require",
]


class IndicatorError(ValueError):
    """Input data that an indicator cannot be built from (missing column, wrong type or code)."""


class ConfigError(ValueError):
    """An indicator setting or reference table that is invalid or incomplete."""


def require(data: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`IndicatorError` when ``data`` lacks any of ``columns``.

    Parameters
    ----------
    data : DataFrame
        The data.
    columns : iterable of str
        Columns that must be present.
    what : str
        What needs them, for the message (e.g. ``"labour_status"``).

    Raises
    ------
    IndicatorError
        Naming every missing column.
    """
    missing = [c for c in columns if c not in data.columns]
    if missing:
        msg = f"{what} needs columns {missing}, absent from the data (columns: {len(data.columns)})"
        raise IndicatorError(msg)


def column(data: pd.DataFrame, name: str, what: str) -> pd.Series:
    """Return a column, or raise :class:`IndicatorError` naming it.

    Parameters
    ----------
    data : DataFrame
        The data.
    name : str
        The column.
    what : str
        What needs it, for the message.

    Returns
    -------
    Series
        The column.
    """
    require(data, [name], what)
    return data[name]


def as_float(values: pd.Series | Sequence[float]) -> pd.Series:
    """Return values as nullable ``Float64`` (``<NA>`` for missing, never NaN).

    Parameters
    ----------
    values : Series or sequence
        Numbers, possibly with missing values.

    Returns
    -------
    Series
        ``Float64`` values.

    Raises
    ------
    IndicatorError
        When a value is not a number.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    try:
        out = pd.to_numeric(series, errors="raise")
    except (TypeError, ValueError) as exc:
        name = series.name if series.name is not None else "values"
        msg = f"{name}: expected numbers, got {series.dtype} ({exc})"
        raise IndicatorError(msg) from exc
    return out.astype("Float64")


def as_int(values: pd.Series, name: str | None = None) -> pd.Series:
    """Return integer codes as nullable ``Int64``.

    Parameters
    ----------
    values : Series
        Codes (``Int64``, integer-valued floats or numeric text).
    name : str, optional
        Name for the message; defaults to the series name.

    Returns
    -------
    Series
        ``Int64`` codes.

    Raises
    ------
    IndicatorError
        When a value is not an integer.
    """
    numbers = as_float(values)
    finite = numbers.dropna()
    if (finite != np.floor(finite.astype(float))).any():
        bad = finite[finite != np.floor(finite.astype(float))].iloc[0]
        label = name or (values.name if values.name is not None else "values")
        msg = f"{label}: expected integer codes, found {bad!r}"
        raise IndicatorError(msg)
    return numbers.round().astype("Int64")


def reason(data: pd.DataFrame, name: str) -> pd.Series:
    """Return the reason column of a question (``<name>__reason``), or all ``<NA>``.

    Parameters
    ----------
    data : DataFrame
        Clean data.
    name : str
        Question name.

    Returns
    -------
    Series
        ``string`` reasons (``dont_know``, ``refused``, ``not_applicable``, ``skipped``,
        ``missing``) or ``<NA>`` where the value is present.
    """
    col = f"{name}__reason"
    if col in data.columns:
        return data[col].astype("string")
    return pd.Series(pd.NA, index=data.index, dtype="string")


def binary(condition: pd.Series, defined: pd.Series, name: str | None = None) -> pd.Series:
    """Build a 0/1 ``Float64`` indicator that is ``<NA>`` where it is undefined.

    Parameters
    ----------
    condition : Series of bool
        Where the indicator is 1 (missing counts as False).
    defined : Series of bool
        Where the indicator is defined (missing counts as False).
    name : str, optional
        Name of the result.

    Returns
    -------
    Series
        1.0 where ``condition & defined``, 0.0 where ``defined`` only, ``<NA>`` elsewhere.
    """
    cond = condition.astype("boolean").fillna(False).to_numpy(dtype=bool)
    ok = defined.astype("boolean").fillna(False).to_numpy(dtype=bool)
    values = np.where(cond, 1.0, 0.0)
    out = pd.Series(values, index=condition.index, dtype="Float64", name=name)
    return out.mask(~ok)


def codes(data: pd.DataFrame, name: str) -> pd.Series:
    """Return a column as ``Int64`` codes, or all ``<NA>`` when the column is absent.

    Parameters
    ----------
    data : DataFrame
        Clean data.
    name : str
        The question.

    Returns
    -------
    Series
        ``Int64`` codes.
    """
    if name not in data.columns:
        return pd.Series(pd.NA, index=data.index, dtype="Int64")
    return as_int(data[name], name)


def multi_count(
    data: pd.DataFrame, name: str, exclusive: Iterable[str] = ("0",)
) -> tuple[pd.Series, pd.Series]:
    """Count the options chosen in a select_multiple question, from its dummies.

    Parameters
    ----------
    data : DataFrame
        Clean data with the dummies ``<name>__<code>`` (non-negative codes) and
        ``<name>__<special key>`` (e.g. ``__dont_know``).
    name : str
        The question.
    exclusive : iterable of str, default ("0",)
        Codes not counted (the exclusive "none of these" option; the project's lists use 0).

    Returns
    -------
    count : Series
        ``Float64`` number of non-exclusive options chosen; missing where the question was not
        asked (dummies missing) or a special option ("don't know") was chosen.
    known : Series of bool
        Where the count is defined.
    """
    prefix = f"{name}__"
    suffixes = [c.removeprefix(prefix) for c in data.columns if c.startswith(prefix)]
    skip = set(exclusive)
    options = sorted((s for s in suffixes if s.isdigit() and s not in skip), key=int)
    specials = [s for s in suffixes if not s.lstrip("-").isdigit() and s != "reason"]
    if not options:
        return (
            pd.Series(pd.NA, index=data.index, dtype="Float64"),
            pd.Series(False, index=data.index),
        )
    frame = pd.DataFrame({s: as_float(data[prefix + s]) for s in options})
    asked = frame.notna().all(axis=1)
    unknown = pd.Series(False, index=data.index)
    for s in specials:
        unknown |= as_float(data[prefix + s]).eq(1).fillna(False)
    known = asked & ~unknown
    return frame.sum(axis=1).astype("Float64").where(known), known
