"""Reviewed decision files (DATA.md section 3), validated and re-applied on every run.

The decisions folder (``--decisions DIR``) holds ``cleaning.toml`` (standing rules, see
:mod:`evaluation.cleaning.rules`) and these tables, each a UTF-8 CSV (a byte-order mark is
allowed, as Excel writes one) that a person fills in and signs with initials and notes:

``duplicates.csv``
    ``instrument, round, key, instance_id, action, newid, initials, notes``: one row per
    submission of a duplicate group (``ieduplicates``); ``action`` is ``keep``, ``drop`` or
    ``newid`` (then ``newid`` is the respondent's right ID). Every member of a group needs a row.
``id_corrections.csv``
    ``instrument, round, instance_id, old_id, new_id, initials, notes``: a submission's
    respondent ID was typed wrong (``old_id`` must be what the file holds).
``corrections.csv``
    ``instrument, round, key, variable, action, old, new, initials, notes``: after a call-back,
    ``replace`` a value (``old`` must match what the file holds, ``*`` matches anything),
    ``blank`` it (a value given where the question was not relevant), or mark it ``okay`` (a
    checked outlier or constraint failure that stays as it is and is no longer flagged).
``specify.csv``
    ``instrument, parent, other_code, variable, text, code, initials, notes``: "other, specify"
    answers: where ``parent`` holds ``other_code`` and the text question ``variable`` holds
    ``text``, ``other_code`` becomes ``code``.
``harmonise.csv``
    ``instrument, round, form_version, column, name, recode, notes`` (``iecodebook``): a column
    of a file (``column``, for the given round and, when not empty, form version) is renamed to
    the instrument's question ``name`` (empty: dropped on purpose) and its codes recoded
    (``recode``: ``old=new`` pairs separated by ``;``).

Parsing here is pure (tables of text in, validated tables out); the files are read by
:mod:`evaluation.cleaning.outputs`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from evaluation.cleaning.errors import DecisionsError
from evaluation.cleaning.rules import CleaningRules

__all__ = [
    "DECISION_COLUMNS",
    "Decisions",
    "parse_decision_table",
    "parse_recode",
]

#: Columns of each decision table (the first ones identify a row; initials and notes sign it).
DECISION_COLUMNS = {
    "duplicates": (
        "instrument",
        "round",
        "key",
        "instance_id",
        "action",
        "newid",
        "initials",
        "notes",
    ),
    "id_corrections": (
        "instrument",
        "round",
        "instance_id",
        "old_id",
        "new_id",
        "initials",
        "notes",
    ),
    "corrections": (
        "instrument",
        "round",
        "key",
        "variable",
        "action",
        "old",
        "new",
        "initials",
        "notes",
    ),
    "specify": (
        "instrument",
        "parent",
        "other_code",
        "variable",
        "text",
        "code",
        "initials",
        "notes",
    ),
    "harmonise": ("instrument", "round", "form_version", "column", "name", "recode", "notes"),
}
_ACTIONS = {
    "duplicates": ("keep", "drop", "newid"),
    "corrections": ("replace", "blank", "okay"),
}
#: Columns that may be left empty (every other column is required).
_OPTIONAL = {
    "duplicates": frozenset({"newid"}),
    "id_corrections": frozenset(),
    "corrections": frozenset({"old", "new"}),
    "specify": frozenset(),
    "harmonise": frozenset({"form_version", "name", "recode", "notes"}),
}
_SIGNED = frozenset({"duplicates", "id_corrections", "corrections", "specify"})


def _empty(kind: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="string") for c in DECISION_COLUMNS[kind]})


def parse_recode(text: str, where: str) -> dict[str, str]:
    """Parse a recode cell such as ``1=2; 2=1``.

    Parameters
    ----------
    text : str
        ``old=new`` pairs separated by ``;`` (empty: no recode).
    where : str
        File and row as named in messages.

    Returns
    -------
    dict
        Old code to new code (as text).

    Raises
    ------
    DecisionsError
        When a pair is malformed or a code is recoded twice.
    """
    pairs: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        match = re.fullmatch(r"([^=\s]+)\s*=\s*([^=\s]*)", part)
        if match is None:
            msg = f"{where}: recode {part!r} is not old=new"
            raise DecisionsError(msg)
        old, new = match.groups()
        if old in pairs:
            msg = f"{where}: recode gives code {old!r} twice"
            raise DecisionsError(msg)
        pairs[old] = new
    return pairs


def parse_decision_table(frame: pd.DataFrame, kind: str, where: str) -> pd.DataFrame:
    """Validate a decision table read as text.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read (every cell text, empty cells ``""``).
    kind : str
        One of :data:`DECISION_COLUMNS`.
    where : str
        The file as named in messages.

    Returns
    -------
    pandas.DataFrame
        The table with exactly the columns of its kind (``string``), cells stripped, plus
        ``line`` (the line of the CSV file, the header being line 1).

    Raises
    ------
    DecisionsError
        When a column is missing or unknown, a required cell is empty (decisions must be signed
        with initials and notes), an action is not allowed, ``newid`` is missing for a ``newid``
        decision (or given for another), ``new`` is missing for ``replace``, a recode is
        malformed, or the same row is decided twice. The message names the file, the line and
        the column.
    """
    if kind not in DECISION_COLUMNS:
        msg = f"unknown decision table {kind!r}; known: {sorted(DECISION_COLUMNS)}"
        raise DecisionsError(msg)
    columns = DECISION_COLUMNS[kind]
    present = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in present]
    extra = [c for c in present if c not in columns]
    if missing or extra:
        msg = (
            f"{where}: columns must be {list(columns)}; "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {extra}" if extra else "")
        )
        raise DecisionsError(msg)
    table = frame.set_axis(present, axis=1)[list(columns)]
    table = table.astype("string").fillna("").apply(lambda c: c.str.strip())
    lines = pd.Series(range(2, len(table) + 2), index=table.index, dtype="int64")
    for column in (c for c in columns if c not in _OPTIONAL[kind]):
        empty = table[column].eq("")
        if empty.any():
            line = int(lines[empty].iloc[0])
            why = (
                " (decisions are signed with initials and notes)"
                if column
                in {
                    "initials",
                    "notes",
                }
                else ""
            )
            msg = f"{where}: line {line}: column {column!r} is empty{why}"
            raise DecisionsError(msg)
    if kind in _ACTIONS:
        actions = table["action"].str.lower()
        bad = ~actions.isin(_ACTIONS[kind])
        if bad.any():
            line = int(lines[bad].iloc[0])
            msg = (
                f"{where}: line {line}: action {table['action'][bad].iloc[0]!r} is not one of "
                f"{list(_ACTIONS[kind])}"
            )
            raise DecisionsError(msg)
        table["action"] = actions
    if kind == "duplicates":
        needs = table["action"].eq("newid")
        wrong = needs & table["newid"].eq("") | ~needs & table["newid"].ne("")
        if wrong.any():
            line = int(lines[wrong].iloc[0])
            msg = f"{where}: line {line}: newid is required for action 'newid' and only for it"
            raise DecisionsError(msg)
    if kind == "corrections":
        wrong = table["action"].eq("replace") & table["new"].eq("")
        if wrong.any():
            line = int(lines[wrong].iloc[0])
            msg = f"{where}: line {line}: action 'replace' needs the new value in column 'new'"
            raise DecisionsError(msg)
    if kind == "harmonise":
        for position, value in table["recode"].items():
            parse_recode(str(value), f"{where}: line {int(lines[position])}")
    identity = {
        "duplicates": ["instrument", "round", "instance_id", "key"],
        "id_corrections": ["instrument", "round", "instance_id"],
        "corrections": ["instrument", "round", "key", "variable"],
        "specify": ["instrument", "parent", "other_code", "variable", "text"],
        "harmonise": ["instrument", "round", "form_version", "column"],
    }[kind]
    repeated = table.duplicated(identity, keep="first")
    if repeated.any():
        line = int(lines[repeated].iloc[0])
        msg = f"{where}: line {line}: the same {'/'.join(identity)} is decided twice"
        raise DecisionsError(msg)
    table["line"] = lines
    return table.reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class Decisions:
    """Every reviewed decision and standing rule of a cleaning run.

    Attributes
    ----------
    rules : CleaningRules
        ``cleaning.toml``.
    tables : Mapping
        Kind (``duplicates``, ``id_corrections``, ``corrections``, ``specify``,
        ``harmonise``) to its validated table (see :func:`parse_decision_table`); kinds without
        a file are empty tables.
    where : Mapping
        Kind to the file it came from, for messages.

    Notes
    -----
    ``Decisions()`` is the empty set: default rules and no decisions.
    """

    rules: CleaningRules = field(default_factory=CleaningRules)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    where: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Fill in empty tables and freeze the mappings."""
        tables = {
            kind: _empty(kind).assign(line=pd.Series([], dtype="int64"))
            for kind in DECISION_COLUMNS
        }
        tables.update(self.tables)
        unknown = sorted(set(tables) - set(DECISION_COLUMNS))
        if unknown:
            msg = f"unknown decision tables {unknown}; known: {sorted(DECISION_COLUMNS)}"
            raise DecisionsError(msg)
        from types import MappingProxyType

        object.__setattr__(self, "tables", MappingProxyType(tables))
        where = {kind: f"{kind}.csv" for kind in DECISION_COLUMNS}
        where.update(self.where)
        object.__setattr__(self, "where", MappingProxyType(where))

    def table(
        self, kind: str, instrument: str | None, round_name: str | None = None
    ) -> pd.DataFrame:
        """Return the decisions of one kind for an instrument (and round).

        Parameters
        ----------
        kind : str
            The table.
        instrument : str or None
            The instrument family.
        round_name : str, optional
            The round (tables without a round column ignore it).

        Returns
        -------
        pandas.DataFrame
            The matching rows.
        """
        table = self.tables[kind]
        mask = table["instrument"].eq(instrument or "")
        if round_name is not None and "round" in table.columns:
            mask &= table["round"].eq(round_name)
        return table[mask.fillna(False).astype(bool)]

    @classmethod
    def from_tables(
        cls,
        rules: CleaningRules | None = None,
        frames: Mapping[str, pd.DataFrame] | None = None,
        where: Mapping[str, str] | None = None,
    ) -> Decisions:
        """Build decisions from raw text tables, validating each.

        Parameters
        ----------
        rules : CleaningRules, optional
            The standing rules (default rules when omitted).
        frames : Mapping, optional
            Kind to its table as read (text).
        where : Mapping, optional
            Kind to the file name for messages.

        Returns
        -------
        Decisions
            The validated decisions.

        Raises
        ------
        DecisionsError
            As :func:`parse_decision_table`.
        """
        names = dict(where or {})
        tables = {
            kind: parse_decision_table(frame, kind, names.get(kind, f"{kind}.csv"))
            for kind, frame in (frames or {}).items()
        }
        return cls(rules=rules or CleaningRules(), tables=tables, where=names)
