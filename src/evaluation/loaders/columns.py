"""Headers against the instrument: which column is which question, and what is wrong with them.

Platforms write a question's column as its group path joined by a separator (ODK Central ``-``,
KoboToolbox ``/``) or as its bare name (SurveyCTO, KoboToolbox by default, partners' files).
Instead of splitting headers (names may themselves contain ``-``), every header the instrument can
produce is generated from the question tree and looked up: the question's name preceded by any
tail of its group path, select_multiple indicators ``<path>/<choice>``, geopoint parts. Stripping
the path is safe because names are unique within a table (the instrument lint enforces unique
names in the project's own forms; a clash in a partner's form is reported as an ambiguity).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from evaluation.instruments.model import Instrument, Question
from evaluation.loaders.errors import HeaderError, LabelExportError
from evaluation.loaders.model import LINK_COLUMNS, MAIN_TABLE, SourceIssue, issue
from evaluation.loaders.text import normalise_header

__all__ = [
    "ColumnMap",
    "TableSpec",
    "check_label_values",
    "detect_platform",
    "instrument_tables",
    "label_headers",
    "map_headers",
    "missing_column_issues",
    "normalised_headers",
    "refuse_label_export",
    "wide_patterns",
]

#: Question types that never hold data (not expected in an export).
_NO_DATA_TYPES = frozenset({"note"})
_ODK_MAIN = frozenset(
    {
        "SubmissionDate",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
        "meta-instanceID",
        "instanceID",
        "meta-deprecatedID",
        "deprecatedID",
        "meta-instanceName",
        "instanceName",
    }
)
_REPEAT_LINKS = frozenset({"PARENT_KEY", "KEY"})
_SURVEYCTO_MAIN = frozenset(
    {
        "SubmissionDate",
        "CompletionDate",
        "KEY",
        "instanceID",
        "instanceName",
        "formdef_version",
        "review_status",
        "review_comments",
        "review_corrections",
        "review_quality",
    }
)
_KOBO_NAMED = frozenset(
    {
        "meta/instanceID",
        "meta/rootUuid",
        "meta/deprecatedID",
        "meta/instanceName",
        "formhub/uuid",
        "instanceID",
        "rootUuid",
        "deprecatedID",
    }
)
_KOBO_VERSION = re.compile(r"__version\d*__")
_ODK_GEO = ("Latitude", "Longitude", "Altitude", "Accuracy")
_KOBO_GEO = ("latitude", "longitude", "altitude", "precision")
_GEO_TYPES = frozenset({"geopoint", "start-geopoint"})
#: Separators of group paths per platform (``None``: a generic file, where both are tried).
_SEPARATORS = {"kobo": ("/",), "odk": ("-",), "surveycto": (), None: ("/", "-")}


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table of an instrument: the main form or a repeat, with the questions it holds.

    Attributes
    ----------
    name : str
        :data:`~evaluation.loaders.model.MAIN_TABLE` or the repeat's name.
    parent : str or None
        The enclosing table (``None`` for the main table).
    relpath : tuple of str
        Names from the parent table down to this repeat (groups and the repeat itself), as in ODK
        Central keys ``<parent key>/<relpath joined by '/'>[n]``.
    depth : int
        Number of repeats enclosing the table's questions (0 for the main table).
    questions : tuple of (Question, tuple of str)
        Every question stored in this table (not in a nested repeat), with the names of all its
        ancestors from the form's root.
    """

    name: str
    parent: str | None
    relpath: tuple[str, ...]
    depth: int
    questions: tuple[tuple[Question, tuple[str, ...]], ...]

    def expected(self) -> tuple[str, ...]:
        """Return the names of the questions expected as columns of this table.

        Returns
        -------
        tuple of str
            Every question except groups and notes, in form order.
        """
        return tuple(q.name for q, _ in self.questions if q.type not in _NO_DATA_TYPES)


def instrument_tables(instrument: Instrument) -> dict[str, TableSpec]:
    """Split an instrument into its tables: the main form and one table per repeat.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire.

    Returns
    -------
    dict
        Table name to :class:`TableSpec`, parents before children (form order).

    Raises
    ------
    HeaderError
        When a repeat is named like the main table or like another repeat, or a question is named
        like a link column (``key``, ``parent_key``...), which would make tables ambiguous.
    """
    specs: dict[str, dict[str, object]] = {
        MAIN_TABLE: {"parent": None, "relpath": (), "depth": 0, "questions": []}
    }

    def _visit(q: Question, names: tuple[str, ...], table: str, rel: tuple[str, ...]) -> None:
        if q.type in {"repeat", "loop"}:
            if q.name in specs:
                msg = (
                    f"form {instrument.form_id!r}: repeat {q.name!r} clashes with another table "
                    f"name ({sorted(specs)}); rename it"
                )
                raise HeaderError(msg)
            depth = int(specs[table]["depth"]) + 1  # type: ignore[call-overload]
            specs[q.name] = {
                "parent": table,
                "relpath": (*rel, q.name),
                "depth": depth,
                "questions": [],
            }
            for child in q.children:
                _visit(child, (*names, q.name), q.name, ())
            return
        if q.type == "group":
            for child in q.children:
                _visit(child, (*names, q.name), table, (*rel, q.name))
            return
        if table != MAIN_TABLE and q.name in LINK_COLUMNS:
            msg = (
                f"form {instrument.form_id!r}: question {q.name!r} in repeat {table!r} is named "
                f"like a link column {list(LINK_COLUMNS)}; rename it"
            )
            raise HeaderError(msg)
        specs[table]["questions"].append((q, names))  # type: ignore[union-attr]

    for top in instrument.questions:
        _visit(top, (), MAIN_TABLE, ())
    return {
        name: TableSpec(
            name=name,
            parent=spec["parent"],  # type: ignore[arg-type]
            relpath=spec["relpath"],  # type: ignore[arg-type]
            depth=spec["depth"],  # type: ignore[arg-type]
            questions=tuple(spec["questions"]),  # type: ignore[arg-type]
        )
        for name, spec in specs.items()
    }


def detect_platform(headers: Iterable[str]) -> str | None:
    """Recognise the platform that wrote a table from its signature columns.

    Parameters
    ----------
    headers : iterable of str
        The header row (main table or a KoboToolbox repeat sheet).

    Returns
    -------
    str or None
        ``surveycto`` (``formdef_version``), ``odk`` (``SubmissionDate`` and ``KEY``), ``kobo``
        (``_uuid`` and ``_submission_time``, or their ``_submission_`` copies in repeat sheets),
        or ``None``.
    """
    found = set(headers)
    if "formdef_version" in found:
        return "surveycto"
    if {"SubmissionDate", "KEY"} <= found:
        return "odk"
    if {"_uuid", "_submission_time"} <= found or {
        "_submission__uuid",
        "_submission__submission_time",
    } <= found:
        return "kobo"
    return None


def _is_platform_column(header: str, platform: str | None, table: str) -> bool:
    if platform == "odk":
        return header in (_ODK_MAIN if table == MAIN_TABLE else _REPEAT_LINKS)
    if platform == "surveycto":
        return header in (
            _SURVEYCTO_MAIN if table == MAIN_TABLE else _REPEAT_LINKS
        ) or header.startswith("SET-OF-")
    if platform == "kobo":
        return (
            header.startswith("_")
            or header in _KOBO_NAMED
            or _KOBO_VERSION.fullmatch(header) is not None
        )
    return False


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """How the columns of one table map onto the instrument.

    Attributes
    ----------
    headers : tuple of str
        The headers as found in the file.
    names : tuple of str
        The column names in the :class:`~evaluation.loaders.model.RawRound` (same order).
    kinds : tuple of str
        Per column: ``question``, ``choice`` (a select_multiple indicator), ``geo`` (a geopoint
        part), ``wide`` (a SurveyCTO wide repeat column), ``platform`` or ``unknown``.
    questions : tuple of (str or None)
        Per column, the question it belongs to.
    issues : tuple of SourceIssue
        Unknown columns, missing questions, indicators of options not in the list, normalised
        headers.
    """

    headers: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    questions: tuple[str | None, ...]
    issues: tuple[SourceIssue, ...]

    def source_path(self) -> dict[str, str]:
        """Return column name to header in the file.

        Returns
        -------
        dict
            One entry per column.
        """
        return dict(zip(self.names, self.headers, strict=True))

    def columns_of(self, question: str) -> list[str]:
        """Return the columns that belong to a question (its own and its indicators or parts).

        Parameters
        ----------
        question : str
            The question name.

        Returns
        -------
        list of str
            Column names in file order.
        """
        return [n for n, q in zip(self.names, self.questions, strict=True) if q == question]


def _candidates(
    spec: TableSpec, platform: str | None, choice_codes: Mapping[str, Sequence[str]]
) -> tuple[dict[str, tuple[str, str, str]], dict[str, str]]:
    """Every header the table's questions can produce: header -> (kind, name, question)."""
    found: dict[str, tuple[str, str, str]] = {}
    ambiguous: dict[str, str] = {}
    multi_prefixes: dict[str, str] = {}

    def _add(header: str, value: tuple[str, str, str]) -> None:
        if header in found and found[header] != value:
            ambiguous[header] = f"{found[header][2]} and {value[2]}"
        found.setdefault(header, value)

    separators = _SEPARATORS.get(platform, ())
    for q, ancestors in spec.questions:
        paths = [q.name]
        for sep in separators:
            paths += [sep.join((*ancestors[k:], q.name)) for k in range(len(ancestors))]
        if q.type == "audit":
            paths += ["meta-audit", "meta/audit"]
        for path in paths:
            _add(path, ("question", q.name, q.name))
        if q.type == "select_multiple" or (q.is_select and q.or_other):
            codes = list(choice_codes.get(q.list_name or "", ()))
            if q.or_other:
                codes.append("other")
            for path in paths:
                multi_prefixes[f"{path}/"] = q.name
                for code in codes:
                    _add(f"{path}/{code}", ("choice", f"{q.name}/{code}", q.name))
        if q.type in _GEO_TYPES:
            for path in paths:
                for part in _ODK_GEO:
                    _add(f"{path}-{part}", ("geo", f"{q.name}/{part.lower()}", q.name))
            for part in _KOBO_GEO:
                _add(f"_{q.name}_{part}", ("geo", f"{q.name}/{part}", q.name))
    for prefix, name in multi_prefixes.items():
        found.setdefault(f"\0prefix\0{prefix}", ("prefix", name, name))
    return found, ambiguous


def normalised_headers(
    headers: Sequence[str], where: str, table: str
) -> tuple[list[str], list[SourceIssue]]:
    """Normalise a raw header row and refuse blank or repeated headers.

    Parameters
    ----------
    headers : sequence of str
        The header row exactly as read, before pandas could rename duplicates.
    where : str
        File and table as named in messages.
    table : str
        The table (for issues).

    Returns
    -------
    tuple of (list of str, list of SourceIssue)
        The headers after :func:`~evaluation.loaders.text.normalise_header`, and one
        ``header_normalised`` issue per header that changed.

    Raises
    ------
    HeaderError
        On a blank header or a header that appears twice (after normalisation); the message
        gives the column positions.
    """
    issues: list[SourceIssue] = []
    normalised: list[str] = []
    for position, raw in enumerate(headers, start=1):
        header = normalise_header(raw)
        if not header:
            msg = (
                f"{where}: column {position} has a blank header; every column needs a name "
                "(delete empty columns or name them)"
            )
            raise HeaderError(msg)
        if header != raw:
            issues.append(
                issue(
                    "header_normalised",
                    table,
                    f"{where}: header of column {position} {raw!r} normalised to {header!r} "
                    "(spaces, invisible characters or full-width letters)",
                    column=header,
                )
            )
        normalised.append(header)
    seen: dict[str, int] = {}
    for position, header in enumerate(normalised, start=1):
        if header in seen:
            msg = (
                f"{where}: header {header!r} appears twice (columns {seen[header]} and "
                f"{position}); the file must name every column once"
            )
            raise HeaderError(msg)
        seen[header] = position
    return normalised, issues


def map_headers(
    headers: Sequence[str],
    spec: TableSpec,
    instrument: Instrument,
    *,
    platform: str | None,
    where: str,
    declared: Iterable[str] = (),
    case_insensitive: bool = False,
    wide: Sequence[tuple[re.Pattern[str], str, str]] = (),
) -> ColumnMap:
    """Map the header row of one table onto the instrument.

    Parameters
    ----------
    headers : sequence of str
        The header row exactly as read (before any renaming by pandas).
    spec : TableSpec
        The table of the instrument the file's table holds.
    instrument : Instrument
        The questionnaire (for choice lists).
    platform : str or None
        The platform (``kobo``, ``odk``, ``surveycto``) or ``None`` for a generic file.
    where : str
        File and table as named in messages.
    declared : iterable of str, optional
        Headers declared in ``sources.toml`` as metadata columns (treated as platform columns).
    case_insensitive : bool, optional
        Match names ignoring case (SPSS and Stata variable names).
    wide : sequence of (re.Pattern, str, str), optional
        SurveyCTO wide repeat columns ``<name>_<i>[_<j>...]`` (from :func:`wide_patterns`),
        mapped with kind ``wide`` under their own header; the caller reshapes them.

    Returns
    -------
    ColumnMap
        Names, kinds and questions of every column, and the issues found.

    Raises
    ------
    HeaderError
        On a blank header (the column is named by its position), a header repeated (after
        normalisation), a header matching two questions (group paths needed), or two headers
        mapping to the same column name.
    """
    normalised, issues = normalised_headers(headers, where, spec.name)
    codes = {cl.name: cl.codes for cl in instrument.choice_lists}
    candidates, ambiguous = _candidates(spec, platform, codes)
    lowered = {k.lower(): v for k, v in candidates.items()} if case_insensitive else {}
    prefixes = {
        k.removeprefix("\0prefix\0"): v[1] for k, v in candidates.items() if v[0] == "prefix"
    }
    declared_set = set(declared)
    names: list[str] = []
    kinds: list[str] = []
    questions: list[str | None] = []
    unknown_choice: list[str] = []
    for header in normalised:
        if header in ambiguous:
            msg = (
                f"{where}: header {header!r} matches questions {ambiguous[header]}; export with "
                "group paths so that each column names one question"
            )
            raise HeaderError(msg)
        hit = candidates.get(header) or lowered.get(header.lower())
        if hit is not None and hit[0] == "prefix":
            hit = None
        if hit is None and (
            header in declared_set or _is_platform_column(header, platform, spec.name)
        ):
            names.append(header)
            kinds.append("platform")
            questions.append(None)
            continue
        if hit is None:
            prefix = next((p for p in prefixes if header.startswith(p)), None)
            if prefix is not None:
                question = prefixes[prefix]
                option = header[len(prefix) :]
                hit = ("choice", f"{question}/{option}", question)
                unknown_choice.append(header)
        if hit is None:
            for pattern, question, _ in wide:
                if pattern.fullmatch(header):
                    hit = ("wide", header, question)
                    break
        if hit is None:
            names.append(header)
            kinds.append("unknown")
            questions.append(None)
            continue
        names.append(hit[1])
        kinds.append(hit[0])
        questions.append(hit[2])
    owners: dict[str, str] = {}
    for name, header in zip(names, normalised, strict=True):
        if name in owners:
            msg = (
                f"{where}: headers {owners[name]!r} and {header!r} both map to column {name!r}; "
                "the same question appears twice"
            )
            raise HeaderError(msg)
        owners[name] = header
    issues += _header_issues(
        spec,
        where,
        headers=normalised,
        kinds=kinds,
        questions=questions,
        unknown_choice=unknown_choice,
    )
    return ColumnMap(
        headers=tuple(normalised),
        names=tuple(names),
        kinds=tuple(kinds),
        questions=tuple(questions),
        issues=tuple(issues),
    )


def wide_patterns(
    specs: Mapping[str, TableSpec], options: Mapping[str, Sequence[str]] | None = None
) -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """Return the column patterns of SurveyCTO wide files for every repeat question.

    Parameters
    ----------
    specs : Mapping
        The instrument's tables (from :func:`instrument_tables`).
    options : Mapping, optional
        Choice-list name to the suffixes of its options' indicator columns (codes, and the keys
        of special options), for select_multiple questions in repeats.

    Returns
    -------
    tuple of (re.Pattern, str, str)
        ``(pattern, column, table)``: ``<name>_<i>`` for a question in a repeat, with one
        ``_<index>`` per enclosing repeat (column: the question); and for a select_multiple
        ``<name>_<i>_<option>`` (column: its indicator ``<name>_<option>``), as survey firms'
        SPSS and Stata files spread them.
    """
    found = []
    for spec in specs.values():
        if spec.depth == 0:
            continue
        for q, _ in spec.questions:
            suffix = "".join(r"_([0-9]+)" for _ in range(spec.depth))
            found.append((re.compile(re.escape(q.name) + suffix), q.name, spec.name))
            if q.type == "select_multiple" and options:
                found += [
                    (
                        re.compile(re.escape(q.name) + suffix + "_" + re.escape(option)),
                        f"{q.name}_{option}",
                        spec.name,
                    )
                    for option in options.get(q.list_name or "", ())
                ]
    return tuple(found)


def missing_column_issues(
    spec: TableSpec, present: Iterable[str | None], where: str
) -> list[SourceIssue]:
    """Report the questions of a table that have no column in the file.

    Parameters
    ----------
    spec : TableSpec
        The instrument's table.
    present : iterable of (str or None)
        Questions that have at least one column.
    where : str
        File and table as named in messages.

    Returns
    -------
    list of SourceIssue
        One ``missing_column`` issue per expected question without a column.
    """
    found = set(present)
    return [
        issue(
            "missing_column",
            spec.name,
            f"{where}: question {name!r} of the instrument has no column",
            column=name,
        )
        for name in spec.expected()
        if name not in found
    ]


def _header_issues(
    spec: TableSpec,
    where: str,
    *,
    headers: Sequence[str],
    kinds: Sequence[str],
    questions: Sequence[str | None],
    unknown_choice: Sequence[str],
) -> list[SourceIssue]:
    unknown = [
        issue(
            "unknown_column",
            spec.name,
            f"{where}: column {header!r} is not a question of the instrument; kept as is",
            column=header,
        )
        for header, kind in zip(headers, kinds, strict=True)
        if kind == "unknown"
    ]
    choices = [
        issue(
            "unknown_choice_column",
            spec.name,
            f"{where}: indicator column {header!r} names an option that is not in the "
            "question's choice list",
            column=header,
        )
        for header in unknown_choice
    ]
    return [*unknown, *choices, *missing_column_issues(spec, questions, where)]


def label_headers(headers: Sequence[str], kinds: Sequence[str], spec: TableSpec) -> int:
    """Count the unknown headers of a table that are question labels instead of names.

    Parameters
    ----------
    headers : sequence of str
        The (normalised) headers.
    kinds : sequence of str
        Their kinds from :func:`map_headers`.
    spec : TableSpec
        The table.

    Returns
    -------
    int
        Headers equal to a label (in any language), or made of labels joined by ``/`` (KoboToolbox
        ``hierarchy_in_labels`` and indicator columns).
    """
    labels = set()
    for q, _ in spec.questions:
        labels |= {normalise_header(text) for _, text in q.label.items if text.strip()}
    if not labels:
        return 0
    count = 0
    for header, kind in zip(headers, kinds, strict=True):
        if kind != "unknown":
            continue
        if header in labels or any(part.strip() in labels for part in header.split("/")):
            count += 1
    return count


def check_label_values(
    frame: pd.DataFrame, column_map: ColumnMap, instrument: Instrument, where: str
) -> None:
    """Refuse a table whose select columns hold choice labels instead of codes.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as text, columns named as in ``column_map.names``.
    column_map : ColumnMap
        The table's column map.
    instrument : Instrument
        The questionnaire.
    where : str
        File and table as named in messages.

    Raises
    ------
    LabelExportError
        When a select_one answer equals a choice label but is not a code, or a select_multiple
        answer starts with a label and is not made of codes: the file was exported with labels.
    """
    by_name = {q.name: q for q, _ in instrument.walk()}
    for name, kind in zip(column_map.names, column_map.kinds, strict=True):
        if kind != "question":
            continue
        q = by_name.get(name)
        if q is None or not q.is_select or q.list_name is None:
            continue
        try:
            choices = instrument.choice_list(q.list_name)
        except KeyError:
            continue
        codes = set(choices.codes)
        labels = {text for c in choices.choices for _, text in c.label.items if text}
        labels -= codes
        if not labels:
            continue
        uniques = frame[name].unique().tolist()  # in order of appearance
        others = [v for v in uniques if isinstance(v, str) and v not in codes and v != ""]
        for value in others[:1000]:
            text = str(value)
            if q.type == "select_multiple" and all(t in codes for t in text.split()):
                continue
            if text in labels or (
                q.type == "select_multiple" and any(text.startswith(lab) for lab in labels)
            ):
                msg = (
                    f"{where}: column {name!r} holds the choice label {text!r} instead of a "
                    f"code of list {q.list_name!r}: this is a label export; export XML values "
                    "and headers"
                )
                raise LabelExportError(msg)


def refuse_label_export(label_hits: int, question_hits: int, where: str) -> None:
    """Refuse a file whose headers are question labels rather than names.

    Parameters
    ----------
    label_hits : int
        Headers that are labels (:func:`label_headers`), over every table of the file.
    question_hits : int
        Headers that map to questions.
    where : str
        The file as named in messages.

    Raises
    ------
    LabelExportError
        When at least one header is a label and labels are at least as many as names.
    """
    if label_hits and label_hits >= question_hits:
        msg = (
            f"{where}: {label_hits} column headers are question labels, not names (only "
            f"{question_hits} headers are names): this is a label export; export XML values "
            "and headers"
        )
        raise LabelExportError(msg)
