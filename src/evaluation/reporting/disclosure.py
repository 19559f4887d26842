"""The disclosure gate: the one function every published table passes (DATA.md section 9.4).

:func:`gate` turns a :class:`~evaluation.reporting.tables.Table` into a
:class:`PublishedTable`, the only kind of table the renderers and writers accept. A
:class:`PublishedTable` cannot be made any other way.

The gate

1. refuses microdata: a table with an identifier column or identifier-like values, or whose rows
   each rest on a single unit, or a table that declares no counts (it could not be checked);
2. suppresses every count below the threshold (primary suppression), including the counts a
   binary mean implies (mean x N ones and the remaining zeros);
3. suppresses every statistic computed from a suppressed count;
4. adds complementary suppression so that no suppressed count can be recovered from a margin
   (a total and its parts): in every margin with exactly one suppressed member, the smallest
   non-zero remaining part (else the smallest remaining member) is suppressed too, repeated
   until no margin has a single suppressed member.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from evaluation.reporting.tables import Cell, Quantity, Table
from evaluation.reporting.text import text

__all__ = [
    "DEFAULT_THRESHOLD",
    "IDENTIFIER_COLUMNS",
    "SUPPRESSED",
    "DisclosureError",
    "PublishedTable",
    "gate",
    "small_count_mask",
]

#: Counts below this are suppressed unless the plan says otherwise.
DEFAULT_THRESHOLD = 5
#: What a suppressed cell shows ("confidential", as the UK ONS marks it).
SUPPRESSED = "[c]"
#: Column names that identify units: a table holding them is microdata.
IDENTIFIER_COLUMNS = frozenset(
    {"resp_id", "participant_id", "enterprise_id", "id_name", "id_phone", "id_number", "deviceid"}
)
_IDENTIFIER_VALUES = (
    re.compile(r"^[A-Z]{2}[0-9]{6}$"),  # resp_id
    re.compile(r"^P[0-9]{5}$"),  # participant_id
    re.compile(r"^[A-Z]{2}[0-9]{3}$"),  # enterprise_id
    re.compile(r"^[1-9][0-9]{16}[0-9Xx]$"),  # resident ID number
    re.compile(r"^1[3-9][0-9]{9}$"),  # mobile phone
)
_TOKEN = object()


class DisclosureError(ValueError):
    """A table cannot be published: it is microdata or cannot be checked."""


@dataclass(frozen=True)
class PublishedTable:
    """A table that passed the disclosure gate; made only by :func:`gate`.

    Attributes
    ----------
    table : Table
        The table as built.
    hidden : frozenset of Cell
        Suppressed cells (primary, derived and complementary).
    primary : frozenset of Cell
        Cells suppressed because their count is below the threshold.
    threshold : int
        The threshold applied.
    """

    table: Table
    hidden: frozenset[Cell]
    primary: frozenset[Cell]
    threshold: int
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse construction outside :func:`gate`."""
        if self._token is not _TOKEN:
            msg = "a PublishedTable is made only by evaluation.reporting.disclosure.gate()"
            raise DisclosureError(msg)

    @property
    def name(self) -> str:
        """Return the table's name.

        Returns
        -------
        str
            The name.
        """
        return self.table.name

    @property
    def title(self) -> str:
        """Return the table's caption text.

        Returns
        -------
        str
            The title.
        """
        return self.table.title

    @property
    def notes(self) -> tuple[str, ...]:
        """Return the notes, with the suppression note when cells were suppressed.

        Returns
        -------
        tuple of str
            The notes.
        """
        if not self.hidden:
            return self.table.notes
        note = text("note_suppressed", self.table.language, threshold=self.threshold)
        return (*self.table.notes, note)

    def _repr_html_(self) -> str:
        """Render the published table in a notebook, suppressed cells shown as such."""
        from evaluation.reporting.render import table_html

        return table_html(self)

    def is_hidden(self, row: int, column: str) -> bool:
        """Return whether a frame cell is suppressed.

        Parameters
        ----------
        row : int
            Row position.
        column : str
            Frame column.

        Returns
        -------
        bool
            True when suppressed.
        """
        return (row, column) in self.hidden


def small_count_mask(counts: Iterable[float], threshold: int = DEFAULT_THRESHOLD) -> list[bool]:
    """Flag counts the primary rule suppresses (1 to ``threshold - 1``).

    Parameters
    ----------
    counts : iterable of float
        Counts (for example histogram bins of a figure).
    threshold : int, optional
        Smallest count shown.

    Returns
    -------
    list of bool
        True where the count is positive and below the threshold.
    """
    return [0 < float(c) < threshold for c in counts]


def _shows_numbers(table: Table) -> bool:
    """Return whether any displayed non-text cell holds a value."""
    sources = [s for c in table.columns if c.kind != "text" for s in c.sources]
    return bool(sources) and bool(table.frame[sources].notna().to_numpy().any())


def _refuse_microdata(table: Table) -> None:
    names = {str(c).lower() for c in table.frame.columns}
    names |= {str(c.key).lower() for c in table.columns}
    found = sorted(names & IDENTIFIER_COLUMNS)
    if found:
        msg = (
            f"table {table.name!r} holds identifier column(s) {found}: microdata are never "
            "published; aggregate first"
        )
        raise DisclosureError(msg)
    for column in table.frame.columns:
        values = table.frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        for value in values.dropna().astype(str):
            if any(p.match(value.strip()) for p in _IDENTIFIER_VALUES):
                msg = (
                    f"table {table.name!r}, column {column!r}: a value has the form of a unit "
                    "identifier (respondent, enterprise, participant, ID or phone number); "
                    "microdata are never published"
                )
                raise DisclosureError(msg)
    counts = [q for q in table.quantities if len(q.cells) == 1]
    if not counts and _shows_numbers(table):
        msg = (
            f"table {table.name!r} declares no counts, so the gate cannot check it; "
            "build tables with evaluation.reporting.tables"
        )
        raise DisclosureError(msg)
    rows: dict[int, list[int]] = {}
    for q in counts:
        rows.setdefault(q.hide[0], []).append(q.value)
    if len(table.frame) > 1 and all(max(v) <= 1 for v in rows.values()):
        msg = (
            f"table {table.name!r}: every row rests on at most one unit, so its rows are "
            "individuals (microdata); aggregate first"
        )
        raise DisclosureError(msg)


def _visibility(by_id: dict[Hashable, Quantity], hidden: set[Cell]) -> Callable[[Hashable], bool]:
    """Return a test of whether a quantity is hidden (any cell revealing it is hidden)."""
    return lambda qid: any(cell in hidden for cell in by_id[qid].cells)


def gate(
    table: Table, threshold: int = DEFAULT_THRESHOLD, *, suppress_zeros: bool = False
) -> PublishedTable:
    """Apply disclosure control to a table before it is published.

    Parameters
    ----------
    table : Table
        A table from :mod:`evaluation.reporting.tables` (or built the same way).
    threshold : int, optional
        Counts from 1 to ``threshold - 1`` are suppressed (5 by default; the plan's
        ``[disclosure]`` table sets it, stricter for sensitive variables).
    suppress_zeros : bool, optional
        Suppress zero counts too (sdcTable's ``allowZeros = FALSE`` keeps them, as here by
        default: a zero identifies nobody, although it can reveal an attribute of a group).

    Returns
    -------
    PublishedTable
        The table with its suppressed cells recorded.

    Raises
    ------
    TypeError
        ``table`` is not a :class:`Table` (a bare DataFrame cannot be checked).
    DisclosureError
        The table is microdata or declares no counts.
    ValueError
        A threshold below 2.

    Notes
    -----
    A quantity is hidden when any of the cells that reveal it is hidden. Complementary
    suppression is the usual heuristic for linked tables with margins: it guarantees that no
    margin has exactly one hidden member, not an optimal (minimum-loss) pattern, and not a
    minimum protection interval; zeros are chosen as complements only when nothing else is
    left. Statistics are hidden when any quantity they derive from is hidden, which closes the
    loop: hiding a count hides its mean, and hiding a mean of a 0/1 variable hides the counts it
    implies.
    """
    if not isinstance(table, Table):
        msg = (
            f"the disclosure gate takes a Table from evaluation.reporting.tables; got "
            f"{type(table).__name__}"
        )
        raise TypeError(msg)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        msg = f"threshold must be an integer >= 2; got {threshold!r}"
        raise ValueError(msg)
    _refuse_microdata(table)
    by_id: dict[Hashable, Quantity] = {q.id: q for q in table.quantities}
    hidden: set[Cell] = set()
    primary = {
        q.hide
        for q in table.quantities
        if 0 < q.value < threshold or (suppress_zeros and q.value == 0)
    }
    hidden |= primary
    is_hidden = _visibility(by_id, hidden)
    order = {qid: position for position, qid in enumerate(by_id)}
    changed = True
    while changed:
        changed = False
        for cell, sources in table.derived.items():
            if cell not in hidden and any(is_hidden(q) for q in sources):
                hidden.add(cell)
                changed = True
        for total, parts in table.margins:
            members = [total, *parts]
            if sum(is_hidden(q) for q in members) != 1:
                continue
            candidates = [q for q in members if not is_hidden(q)]
            pick = min(
                candidates,
                key=lambda q: (by_id[q].value == 0, q == total, by_id[q].value, order[q]),
            )
            hidden.add(by_id[pick].hide)
            changed = True
    return PublishedTable(
        table=table,
        hidden=frozenset(hidden),
        primary=frozenset(primary),
        threshold=threshold,
        _token=_TOKEN,
    )
