"""The values cleaning returns: :class:`CleanRound`, :class:`PrivateRecords` and :class:`Panel`.

Three accounting tables travel with every clean round (DESIGN.md section 3, conservation):

- the **cleaning log**, one row per changed value (:data:`LOG_COLUMNS`): which source, table,
  row and key, which variable, the old and new value and the rule or decision that changed it;
- the **exclusions**, one row per raw row that is not in the clean data (:data:`EXCLUSION_COLUMNS`),
  with its reason (test submission, duplicate download, dropped duplicate, no consent...);
- the **problems**, one row per flag raised and left for a person to review
  (:data:`PROBLEM_COLUMNS`): out-of-range values, skip-logic violations, required answers
  missing, constraint failures, mismatching select_multiple indicators...

No table holds the value of a direct identifier: those values live only in
:class:`PrivateRecords`, which is written to the private store and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from evaluation.cleaning.errors import ConservationError
from evaluation.instruments.model import Instrument

__all__ = [
    "EXCLUSION_COLUMNS",
    "LOG_COLUMNS",
    "PROBLEM_COLUMNS",
    "REASONS",
    "CleanRound",
    "Panel",
    "PrivateRecords",
    "check_conservation",
    "empty_table",
    "source_counts",
]

#: Columns of the cleaning log.
LOG_COLUMNS = ("source", "table", "source_row", "key", "variable", "old", "new", "rule")
#: Columns of the exclusions table.
EXCLUSION_COLUMNS = ("source", "table", "source_row", "key", "instance_id", "reason", "detail")
#: Columns of the problems table (``value`` is empty for free text and identifiers).
PROBLEM_COLUMNS = (
    "source",
    "table",
    "source_row",
    "key",
    "variable",
    "kind",
    "severity",
    "value",
    "message",
)
#: Missing reasons besides the instrument's special-code keys.
REASONS = ("skipped", "missing")

_INT_COLUMNS = frozenset({"source_row"})


def empty_table(columns: tuple[str, ...]) -> pd.DataFrame:
    """Return an empty accounting table with the given columns.

    Parameters
    ----------
    columns : tuple of str
        One of :data:`LOG_COLUMNS`, :data:`EXCLUSION_COLUMNS`, :data:`PROBLEM_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        No rows; ``source_row`` is ``Int64``, every other column ``string``.
    """
    return pd.DataFrame(
        {c: pd.Series([], dtype="Int64" if c in _INT_COLUMNS else "string") for c in columns}
    )


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class PrivateRecords:
    """Identifiers split off at intake, for the private store only.

    Attributes
    ----------
    identifiers : pandas.DataFrame
        One row per raw submission: ``source``, ``source_row``, ``instance_id``, ``round``,
        the final respondent key (``key``; the key at exclusion for excluded rows), then every
        direct identifier (``pii: direct``, and geolocations) as received, with
        ``<column>__normalised`` and ``<column>__valid`` for phone and resident-ID columns.
    redactions : pandas.DataFrame
        Free-text cells in which an identifier was found: ``source``, ``table``,
        ``source_row``, the key, ``variable`` and the ``original`` text (the clean data holds
        the redacted text).
    repeats : Mapping
        Repeat name to the identifiers found in its rows (key, ``<repeat>_index``, columns).

    Notes
    -----
    Never printed: the representation shows the number of rows only.
    """

    identifiers: pd.DataFrame
    redactions: pd.DataFrame
    repeats: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Describe the records without showing any value."""
        return (
            f"PrivateRecords({len(self.identifiers)} submissions, "
            f"{self.identifiers.shape[1]} columns, {len(self.redactions)} redactions)"
        )


@dataclass(frozen=True, slots=True)
class CleanRound:
    """One clean, de-identified survey round with its accounting.

    Attributes
    ----------
    instrument : Instrument
        The questionnaire (labels, lists with extra columns, special codes).
    round : str
        The round.
    key : str
        The key column (``resp_id``, ``enterprise_id`` or ``participant_id``).
    data : pandas.DataFrame
        One row per respondent (``notes/clean_data.md``): the key, ``round``, ``instance_id``,
        ``submitted_at``, ``interviewed`` (``Int64`` 0/1), then every question in form order,
        typed by its XLSForm type, each asked question followed by ``<name>__reason`` and each
        select_multiple by its ``<name>__<code>`` dummies. No direct identifiers.
    repeats : Mapping
        Repeat name to its table: the key, ``round``, ``<repeat>_index`` (1-based, with the
        indices of enclosing repeats before it), then the repeat's typed columns and reasons.
    log : pandas.DataFrame
        The cleaning log (:data:`LOG_COLUMNS`).
    exclusions : pandas.DataFrame
        Raw rows not in the clean data, with reasons (:data:`EXCLUSION_COLUMNS`).
    problems : pandas.DataFrame
        Flags for review (:data:`PROBLEM_COLUMNS`).
    rows_in : Mapping
        ``(source, table)`` to the number of raw rows read.
    rows_kept : Mapping
        ``(source, table)`` to the number of rows in the clean data.
    private : PrivateRecords
        The identifiers split off at intake; for :mod:`evaluation.cleaning.outputs` to write to
        the private store, never to pass on.

    Notes
    -----
    Unit of observation: respondent (repeat instance in repeat tables). Key: ``key``
    (unique, non-missing) plus ``round``. Conservation holds for every source and table:
    ``rows_in == kept + excluded``, checked when the value is built.
    """

    instrument: Instrument
    round: str
    key: str
    data: pd.DataFrame
    repeats: Mapping[str, pd.DataFrame]
    log: pd.DataFrame
    exclusions: pd.DataFrame
    problems: pd.DataFrame
    rows_in: Mapping[tuple[str, str], int]
    rows_kept: Mapping[tuple[str, str], int]
    private: PrivateRecords = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        """Freeze the mappings and check conservation.

        Raises
        ------
        ConservationError
            When, for a source and table, rows in differ from rows kept plus rows excluded.
        """
        object.__setattr__(self, "repeats", _freeze(self.repeats))
        object.__setattr__(self, "rows_in", _freeze(self.rows_in))
        object.__setattr__(self, "rows_kept", _freeze(self.rows_kept))
        check_conservation(self.rows_in, self.rows_kept, self.exclusions)

    @property
    def family(self) -> str:  # numpydoc ignore=RT01
        """The instrument family (``apprentice``...), or its form ID when it has none."""
        return self.instrument.instrument or self.instrument.form_id

    def summary(self) -> dict[str, dict[str, Any]]:
        """Return the accounting per source: rows in, kept, excluded, values changed, problems.

        Returns
        -------
        dict
            Source file to ``{"instrument", "round", "rows_in", "rows_kept", "rows_excluded",
            "values_changed", "problems"}`` (main table), with ``"repeats"`` giving the same
            row counts per repeat table; ``problems`` counts flags by kind.
        """
        return source_counts(self)


def check_conservation(
    rows_in: Mapping[tuple[str, str], int],
    rows_kept: Mapping[tuple[str, str], int],
    exclusions: pd.DataFrame,
) -> None:
    """Check that every raw row is kept or excluded, per source and table.

    Parameters
    ----------
    rows_in : Mapping
        ``(source, table)`` to rows read.
    rows_kept : Mapping
        ``(source, table)`` to rows in the clean data.
    exclusions : pandas.DataFrame
        The exclusions table.

    Raises
    ------
    ConservationError
        Naming every source and table where ``rows_in != rows_kept + rows_excluded``.
    """
    excluded = exclusions.groupby(["source", "table"]).size().to_dict()
    keys = set(rows_in) | set(rows_kept) | set(excluded)
    broken = [
        f"{source} ({table}): {rows_in.get((source, table), 0)} rows in, "
        f"{rows_kept.get((source, table), 0)} kept, {excluded.get((source, table), 0)} excluded"
        for source, table in sorted(keys)
        if rows_in.get((source, table), 0)
        != rows_kept.get((source, table), 0) + excluded.get((source, table), 0)
    ]
    if broken:
        msg = "rows are not accounted for: " + "; ".join(broken)
        raise ConservationError(msg)


def source_counts(result: CleanRound) -> dict[str, dict[str, Any]]:
    """Count rows in, kept and excluded, values changed and problems per source.

    Parameters
    ----------
    result : CleanRound
        A clean round.

    Returns
    -------
    dict
        As :meth:`CleanRound.summary`.
    """
    kept = result.rows_kept
    excluded = result.exclusions.groupby(["source", "table"]).size().to_dict()
    changed = result.log.groupby("source").size().to_dict()
    summary: dict[str, dict[str, Any]] = {}
    for (source, table), rows_in in sorted(result.rows_in.items()):
        entry = summary.setdefault(
            source,
            {
                "instrument": result.family,
                "round": result.round,
                "values_changed": int(changed.get(source, 0)),
                "problems": {
                    str(kind): int(n)
                    for kind, n in sorted(
                        result.problems[result.problems["source"] == source]
                        .groupby("kind")
                        .size()
                        .items()
                    )
                },
            },
        )
        counts = {
            "rows_in": int(rows_in),
            "rows_kept": int(kept.get((source, table), 0)),
            "rows_excluded": int(excluded.get((source, table), 0)),
        }
        if table == "main":
            entry.update(counts)
        else:
            entry.setdefault("repeats", {})[table] = counts
    return summary


@dataclass(frozen=True, slots=True)
class Panel:
    """Rounds of one instrument stacked long, linked to the sample frame, with attrition.

    Attributes
    ----------
    key : str
        The key column.
    data : pandas.DataFrame
        One row per respondent per round (``round`` column, never suffixed names), the design
        variables of the sample frame joined in (``treatment``, ``stratum``, and
        ``enterprise_id`` and ``meta_city`` where the frame has them), and ``attrited``.
    repeats : Mapping
        Repeat name to its rounds stacked long.
    attrition : pandas.DataFrame
        One row per unit of the sample frame (or of the first round when there is no frame):
        the key, design variables, per round whether a record exists and whether it is an
        interview, ``attrited`` (``Int64``: interviewed in the first round, not in the last)
        and ``attrition_reason``.
    problems : pandas.DataFrame
        Linking flags (design variables that disagree with the form, choice lists that drift).
    rounds : tuple of str
        The rounds, in order.
    """

    key: str
    data: pd.DataFrame
    repeats: Mapping[str, pd.DataFrame]
    attrition: pd.DataFrame
    problems: pd.DataFrame
    rounds: tuple[str, ...]

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        object.__setattr__(self, "repeats", _freeze(self.repeats))
