"""Platform exports of simulated submissions, one writer per format, and the demo folder's files.

Each writer renders :class:`~evaluation.synthetic.submissions.Submissions` to the bytes a platform
or a survey firm delivers, following DOMAIN.md section 8, DATA.md section 5 and the real exports
in ``../shared/data/platform/`` (KoboToolbox's formpack exporter, ODK Central's test suite):

==================  =========================================================================
``kobo-xlsx``       KoboToolbox XLSX, XML values and headers: one sheet per table, repeats with
                    ``_index`` / ``_parent_table_name`` / ``_parent_index`` and ``_submission_``
                    copies of the server fields; values as text, ``_id`` and indexes as numbers
``kobo-csv``        KoboToolbox CSV: ``;``, every field quoted, CRLF, UTF-8 without BOM, main table
                    only; select_multiple as the answer plus ``q/option`` 1/0 columns (blank when
                    not asked); trailing ``_id _uuid _submission_time _validation_status _notes
                    _status _submitted_by __version__ _tags _index``
``odk``             ODK Central CSV zip: ``{form_id}.csv`` (``SubmissionDate`` first, ``-``-joined
                    group paths, ``meta-instanceID``, ``KEY`` ... ``FormVersion``, newest first)
                    and ``{form_id}-{repeat}.csv`` with ``PARENT_KEY`` / ``KEY``
``surveycto``       SurveyCTO wide CSV: bare names, repeats as ``field_1, field_2``, text dates
                    such as ``Dec 3, 2026 9:15:22 AM``, trailing ``instanceID formdef_version KEY``
``spss``            SPSS ``.sav`` as a survey firm delivers it: Chinese variable and value labels,
                    special codes declared user-missing, select_multiple as 0/1 dummies
``stata``           Stata ``.dta`` release 118: labels, special codes as extended missing values
                    ``.a`` (don't know), ``.b`` (refused), ``.c`` (not applicable)
``gb18030-csv``     the SurveyCTO wide table opened and saved by Chinese Excel: GB18030, CRLF,
                    dates as ``2026/12/3 9:15``, numbers of 12 or more digits in scientific form
==================  =========================================================================

Writers are pure (submissions in, ``{file name: bytes}`` out, byte-for-byte reproducible);
:func:`write_files` is the only function that touches the disk.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evaluation.instruments.expressions import evaluate_frame
from evaluation.instruments.model import Instrument, Question
from evaluation.synthetic.submissions import Submissions

if TYPE_CHECKING:
    from evaluation.synthetic.demo import DemoOptions

__all__ = [
    "FORMATS",
    "demo_folder",
    "excel_gb18030_csv",
    "kobo_csv",
    "kobo_sheet_name",
    "kobo_xlsx",
    "odk_zip",
    "spss_sav",
    "stata_dta",
    "surveycto_csv",
    "wide_table",
    "write_files",
]

_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_KOBO_COPY_FIELDS = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
)
_ODK_TRAILER = (
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
)


@dataclass(frozen=True, slots=True)
class _Leaf:
    question: Question
    table: str
    path: tuple[str, ...]
    local: tuple[str, ...]


def _layout(instrument: Instrument) -> dict[str, list[_Leaf]]:
    """Leaves of every table, in form order, with their ancestors' names."""
    tables: dict[str, list[_Leaf]] = {"main": []}

    def walk(questions, table, path, local):
        for q in questions:
            if q.type == "group":
                walk(q.children, table, (*path, q.name), (*local, q.name))
            elif q.type in ("repeat", "loop"):
                tables.setdefault(q.name, [])
                walk(q.children, q.name, (*path, q.name), ())
            else:
                tables[table].append(_Leaf(q, table, path, local))

    walk(instrument.questions, "main", (), ())
    return tables


def _repeat_paths(instrument: Instrument) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Each repeat's parent table and the group names between the parent and the repeat."""
    found: dict[str, tuple[str | None, tuple[str, ...]]] = {}

    def walk(questions, parent, between):
        for q in questions:
            if q.type == "group":
                walk(q.children, parent, (*between, q.name))
            elif q.type in ("repeat", "loop"):
                found[q.name] = (parent, between)
                walk(q.children, q.name, ())

    walk(instrument.questions, "main", ())
    return found


def _options(instrument: Instrument, q: Question) -> list[str]:
    if q.list_name is None or q.type != "select_multiple":
        return []
    return list(instrument.choice_list(q.list_name).codes)


def _by_unique(values: np.ndarray, function: Callable[[str], str]) -> np.ndarray:
    """Apply a text function once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object))
    pool = np.array([function(str(u)) for u in uniques] + [""], dtype=object)
    return pool[codes]


def _selected(values: np.ndarray, option: str) -> np.ndarray:
    """``1``/``0`` for each answer (blank where the question was not answered)."""
    return _by_unique(values, lambda v: "" if v == "" else ("1" if option in v.split() else "0"))


def _geo_parts(values: np.ndarray) -> list[np.ndarray]:
    """Latitude, longitude, altitude and accuracy of geopoint answers (once per distinct value)."""
    return [_by_unique(values, lambda v, k=k: ([*v.split(), "", "", "", ""])[k]) for k in range(4)]


def _joined(*parts: np.ndarray | str) -> np.ndarray:
    """Join strings element by element (vectorised); plain strings are repeated."""
    text = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        text = np.char.add(text, np.asarray(part, dtype=str))
    return text.astype(object)


def _csv_bytes(
    header: list[str],
    columns: list[np.ndarray],
    *,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    terminator: str = "\n",
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=terminator)
    writer.writerow(header)
    if columns:
        writer.writerows(zip(*[list(c) for c in columns], strict=True))
    return buffer.getvalue().encode(encoding)


# --------------------------------------------------------------------------------------------
# KoboToolbox
# --------------------------------------------------------------------------------------------


def kobo_sheet_name(name: str, others: list[str]) -> str:
    r"""Return a unique Excel sheet name as formpack makes it.

    Parameters
    ----------
    name : str
        The table's name (the form title for the main table).
    others : list of str
        Sheet names already taken.

    Returns
    -------
    str
        ``[]:*?/\\`` replaced by ``_``, at most 31 characters (cut with ``...``), unique.
    """
    clean = re.sub(r"[\[\]:*?/\\]", "_", name)
    clean = re.sub(r"(^'|'$)", "_", clean)

    def cut(suffix: str) -> str:  # numpydoc ignore=GL08
        return clean if len(clean) <= 31 else clean[: 31 - len(suffix)] + suffix

    candidate, i = cut("..."), 1
    while candidate in others:
        candidate, i = cut(f"... ({i})"), i + 1
    return candidate


def _kobo_fields(
    instrument: Instrument, leaves: list[_Leaf], data: pd.DataFrame, group_paths: bool
) -> tuple[list[str], list[np.ndarray]]:
    header: list[str] = []
    columns: list[np.ndarray] = []
    for leaf in leaves:
        q = leaf.question
        name = "/".join((*leaf.path, q.name)) if group_paths else q.name
        values = data[q.name].to_numpy(dtype=object)
        header.append(name)
        columns.append(values)
        if q.type == "select_multiple":
            for option in _options(instrument, q):
                header.append(f"{name}/{option}")
                columns.append(_selected(values, option))
        elif q.type == "geopoint":
            for part, suffix in zip(
                _geo_parts(values), ("latitude", "longitude", "altitude", "precision"), strict=True
            ):
                header.append(f"_{name}_{suffix}")
                columns.append(part)
    return header, columns


def _kobo_copy(envelope: pd.DataFrame) -> list[np.ndarray]:
    n = len(envelope)
    blank = np.full(n, "", dtype=object)
    uuids = envelope["instance_id"].str.replace("uuid:", "", regex=False).to_numpy(dtype=object)
    times = np.datetime_as_string(envelope["submitted_at"].to_numpy().astype("datetime64[s]"))
    return [
        envelope["server_id"].to_numpy(),
        uuids,
        times.astype(object),
        blank,
        blank,
        np.full(n, "submitted_via_web", dtype=object),
        envelope["submitter_name"].to_numpy(dtype=object),
        envelope["kobo_version"].to_numpy(dtype=object),
        blank,
    ]


def kobo_csv(submissions: Submissions, *, group_paths: bool = True) -> dict[str, bytes]:
    """Render a KoboToolbox CSV export (XML values and headers, main table only).

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.
    group_paths : bool, optional
        Headers with group paths joined by ``/`` (Kobo's "include groups in headers", formpack
        ``hierarchy_in_labels``); the fixture exports in ``../shared/data/platform/kobo`` have
        them off, so a header is the bare question name.

    Returns
    -------
    dict
        ``{"<form_id>.csv": bytes}``.

    Notes
    -----
    ``;`` separated, every field quoted, CRLF line ends, UTF-8 without BOM (formpack's
    ``to_csv`` as the KoboToolbox server writes it). The server fields follow the questions;
    ``_index`` is the row number.
    """
    instrument = submissions.instrument
    data = submissions.responses.main
    header, columns = _kobo_fields(instrument, _layout(instrument)["main"], data, group_paths)
    copy = _kobo_copy(submissions.envelope)
    columns = [*columns, *[c.astype(str).astype(object) for c in copy]]
    columns.append(np.arange(1, len(data) + 1).astype(str).astype(object))
    header = [*header, *_KOBO_COPY_FIELDS, "_index"]
    body = _csv_bytes(header, columns, delimiter=";", quoting=csv.QUOTE_ALL, terminator="\r\n")
    return {f"{instrument.form_id}.csv": body}


def kobo_xlsx(submissions: Submissions, *, group_paths: bool = True) -> dict[str, bytes]:
    """Render a KoboToolbox XLSX export (XML values and headers, one sheet per table).

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.
    group_paths : bool, optional
        Headers with group paths joined by ``/``.

    Returns
    -------
    dict
        ``{"<form_id>.xlsx": bytes}``.

    Notes
    -----
    The main sheet is named after the form title (cut to 31 characters with ``...``, Excel's
    forbidden characters replaced by ``_``); each repeat has a sheet named after it. Every row
    has ``_index``; repeat rows have ``_parent_table_name`` (the parent's full name),
    ``_parent_index`` and the server fields prefixed ``_submission_``. Cells are text except
    ``_id``, ``_index`` and ``_parent_index`` (numbers); empty answers are empty cells.
    """
    instrument = submissions.instrument
    layout = _layout(instrument)
    parents = _repeat_paths(instrument)
    envelope = submissions.envelope
    copy = _kobo_copy(envelope)
    sheets: list[tuple[str, list[str], list[np.ndarray], set[int]]] = []
    main_index = {}
    for table in submissions.responses.tables:
        data = table.data
        header, columns = _kobo_fields(instrument, layout[table.name], data, group_paths)
        index = np.arange(1, len(data) + 1)
        main_index[table.name] = index
        if table.name == "main":
            title = instrument.title
            header = [*header, *_KOBO_COPY_FIELDS, "_index"]
            columns = [*columns, *copy, index]
        else:
            parent = parents[table.name][0]
            parent_title = instrument.title if parent == "main" else parent
            parent_rows = data["_parent"].to_numpy()
            main_rows = _main_rows(submissions, table.name)
            header = [
                *header,
                "_index",
                "_parent_table_name",
                "_parent_index",
                *[f"_submission_{f}" for f in _KOBO_COPY_FIELDS],
            ]
            columns = [
                *columns,
                index,
                np.full(len(data), parent_title, dtype=object),
                main_index[parent][parent_rows] if len(data) else index,
                *[c[main_rows] for c in copy],
            ]
            title = table.name
        name = kobo_sheet_name(title, [s[0] for s in sheets])
        numeric = {
            k
            for k, h in enumerate(header)
            if h in ("_id", "_submission__id", "_index", "_parent_index")
        }
        sheets.append((name, header, columns, numeric))
    return {f"{instrument.form_id}.xlsx": _xlsx(sheets)}


def _column_letters(count: int) -> list[str]:
    letters = []
    for k in range(count):
        name, k1 = "", k + 1
        while k1:
            k1, rest = divmod(k1 - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(value: str) -> str:
    text = _ILLEGAL_XML.sub("", value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<t{space}>{text}</t>"


def _sheet_xml(
    header: list[str], columns: list[np.ndarray], numeric: set[int], chunk: int = 2000
) -> Iterator[bytes]:
    """Yield one worksheet's XML in pieces of ``chunk`` rows.

    Text is written as inline strings, the numeric columns as numbers; blank answers are
    omitted cells.
    """
    letters = _column_letters(len(header))
    fragments = []
    for k, column in enumerate(columns):
        codes, uniques = pd.factorize(np.asarray(column, dtype=object))
        if k in numeric:
            pool = [f"><v>{int(u)}</v></c>" for u in uniques]
        else:
            pool = [
                f' t="inlineStr"><is>{_xml_text(str(u))}</is></c>' if str(u) else ""
                for u in uniques
            ]
        fragments.append(np.array([*pool, ""], dtype=object)[codes])
    first = "".join(
        f'<c r="{letters[k]}1" t="inlineStr"><is>{_xml_text(h)}</is></c>'
        for k, h in enumerate(header)
    )
    yield (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{first}</row>'
    ).encode()
    n = len(columns[0]) if columns else 0
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            r = i + 2
            cells = "".join(
                f'<c r="{letters[k]}{r}"{fragment[i]}'
                for k, fragment in enumerate(fragments)
                if fragment[i]
            )
            rows.append(f'<row r="{r}">{cells}</row>')
        yield "".join(rows).encode()
    yield b"</sheetData></worksheet>"


def _xlsx(sheets: list[tuple[str, list[str], list[np.ndarray], set[int]]]) -> bytes:
    """Return a minimal, reproducible XLSX package (what openpyxl and Excel need)."""
    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package_ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    book_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{sheet_type}"/>'
        for k in range(1, len(sheets) + 1)
    )
    files = {
        "[Content_Types].xml": head
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{book_type}"/>{overrides}</Types>',
        "_rels/.rels": head
        + f'<Relationships xmlns="{package_ns}"><Relationship Id="rId1" Type="{rel_ns}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": head
        + f'<workbook xmlns="{main_ns}" xmlns:r="{rel_ns}"><sheets>'
        + "".join(
            f'<sheet name="{_xml_text(name)[3:-4]}" sheetId="{k}" r:id="rId{k}"/>'
            for k, (name, *_) in enumerate(sheets, start=1)
        )
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": head
        + f'<Relationships xmlns="{package_ns}">'
        + "".join(
            f'<Relationship Id="rId{k}" Type="{rel_ns}/worksheet" '
            f'Target="worksheets/sheet{k}.xml"/>'
            for k in range(1, len(sheets) + 1)
        )
        + "</Relationships>",
    }
    parts: dict[str, bytes | Iterator[bytes]] = {
        name: text.encode("utf-8") for name, text in files.items()
    }
    for k, (_, header, columns, numeric) in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{k}.xml"] = _sheet_xml(header, columns, numeric)
    return _zip(parts)


def _main_rows(submissions: Submissions, table: str) -> np.ndarray:
    """For each row of a table, the row of the main table it belongs to."""
    by_name = {t.name: t for t in submissions.responses.tables}
    rows = np.arange(len(by_name[table].data))
    current = by_name[table]
    while current.parent is not None:
        rows = current.data["_parent"].to_numpy()[rows]
        current = by_name[current.parent]
    return rows


# --------------------------------------------------------------------------------------------
# ODK Central
# --------------------------------------------------------------------------------------------


def _odk_leaves(instrument: Instrument, table: str) -> list[tuple[str, Question | str]]:
    """Column paths of a table as in the XForm: pyxform moves ``audit`` into a final ``meta``.

    The main table ends with ``meta-audit`` (when the form has an audit), ``meta-instanceID``
    and ``meta-instanceName`` (when the form sets ``instance_name``), as pyxform writes the
    instance.
    """
    leaves = _layout(instrument)[table]
    columns: list[tuple[str, Question | str]] = []
    audit = None
    for leaf in leaves:
        if leaf.question.type == "audit":
            audit = leaf.question
            continue
        columns.append(("-".join((*leaf.local, leaf.question.name)), leaf.question))
    if table == "main":
        if audit is not None:
            columns.append(("meta-audit", audit))
        columns.append(("meta-instanceID", "instanceID"))
        if dict(instrument.settings).get("instance_name"):
            columns.append(("meta-instanceName", "instanceName"))
    return columns


def _odk_columns(
    instrument: Instrument, table: str, data: pd.DataFrame, special: Mapping[str, np.ndarray]
) -> tuple[list[str], list[np.ndarray]]:
    header: list[str] = []
    columns: list[np.ndarray] = []
    for path, item in _odk_leaves(instrument, table):
        if isinstance(item, str):
            header.append(path)
            columns.append(special[item])
            continue
        values = data[item.name].to_numpy(dtype=object)
        if item.type == "geopoint":
            for part, suffix in zip(
                _geo_parts(values), ("Latitude", "Longitude", "Altitude", "Accuracy"), strict=True
            ):
                header.append(f"{path}-{suffix}")
                columns.append(part)
        else:
            header.append(path)
            columns.append(values)
    return header, columns


def _instance_names(submissions: Submissions) -> np.ndarray:
    expression = dict(submissions.instrument.settings).get("instance_name")
    main = submissions.responses.main
    if not expression:
        return np.full(len(main), "", dtype=object)
    values = evaluate_frame(expression, main).to_numpy(dtype=object)
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


def _iso_utc(moments: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(np.asarray(moments).astype("datetime64[ms]"), unit="ms")
    return np.array([t + "Z" for t in text], dtype=object)


def odk_zip(submissions: Submissions) -> dict[str, bytes]:
    r"""Render an ODK Central CSV zip export (``submissions.csv.zip``).

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.

    Returns
    -------
    dict
        ``{"<form_id>.zip": bytes}`` holding ``<form_id>.csv`` and one
        ``<form_id>-<repeat>.csv`` per repeat.

    Notes
    -----
    As Central's briefcase export writes them: ``,`` separated, quotes only where needed,
    ``\\n`` line ends, UTF-8 without BOM; ``SubmissionDate`` (UTC, ``...Z``) first, the form's
    fields in instance order with group paths joined by ``-``, then ``KEY`` (the instance ID),
    ``SubmitterID``, ``SubmitterName``, ``AttachmentsPresent``, ``AttachmentsExpected``,
    ``Status``, ``ReviewState``, ``DeviceID``, ``Edits``, ``FormVersion``; newest submissions
    first. select_multiple answers stay one space-separated column (the default,
    ``splitSelectMultiples=false``). A repeat row's ``KEY`` is its parent's key plus the path
    to it, ``/<group>/<repeat>[n]``; ``PARENT_KEY`` is the parent's key.
    """
    instrument = submissions.instrument
    envelope = submissions.envelope
    main = submissions.responses.main
    n = len(main)
    keys = envelope["instance_id"].to_numpy(dtype=object)
    special = {"instanceID": keys, "instanceName": _instance_names(submissions)}
    header, columns = _odk_columns(instrument, "main", main, special)
    blank = np.full(n, "", dtype=object)
    trailer = [
        keys,
        envelope["submitter_id"].astype(str).to_numpy(dtype=object),
        envelope["submitter_name"].to_numpy(dtype=object),
        envelope["attachments_present"].astype(str).to_numpy(dtype=object),
        envelope["attachments_expected"].astype(str).to_numpy(dtype=object),
        blank,
        blank,
        envelope["device_id"].to_numpy(dtype=object),
        envelope["edits"].astype(str).to_numpy(dtype=object),
        np.full(n, instrument.version, dtype=object),
    ]
    order = np.argsort(-envelope["submitted_at"].to_numpy().astype("int64"), kind="stable")
    columns = [_iso_utc(envelope["submitted_at"].to_numpy()), *columns, *trailer]
    files = {
        f"{instrument.form_id}.csv": _csv_bytes(
            ["SubmissionDate", *header, *_ODK_TRAILER], [c[order] for c in columns]
        )
    }
    row_keys = {"main": keys}
    position_in_order = np.empty(n, dtype=int)
    position_in_order[order] = np.arange(n)
    parents = _repeat_paths(instrument)
    for table in submissions.responses.tables[1:]:
        data = table.data
        parent, between = parents[table.name]
        parent_keys = row_keys[parent][data["_parent"].to_numpy()]
        path = "/".join((*between, table.name))
        own = _joined(
            parent_keys.astype(str), f"/{path}[", data["_position"].to_numpy().astype(str), "]"
        )
        row_keys[table.name] = own
        sub_header, sub_columns = _odk_columns(instrument, table.name, data, {})
        rank = position_in_order[_main_rows(submissions, table.name)]
        sub_order = np.lexsort((np.arange(len(data)), rank))
        sub_columns = [*sub_columns, parent_keys, own]
        files[f"{instrument.form_id}-{table.name}.csv"] = _csv_bytes(
            [*sub_header, "PARENT_KEY", "KEY"], [c[sub_order] for c in sub_columns]
        )
    return {f"{instrument.form_id}.zip": _zip(files)}


def _zip(files: Mapping[str, bytes | Iterator[bytes]]) -> bytes:
    """Zip files with fixed timestamps; an iterator of byte pieces is streamed in."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            if isinstance(content, bytes):
                archive.writestr(entry, content)
                continue
            with archive.open(entry, "w") as handle:
                for piece in content:
                    handle.write(piece)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Wide tables: SurveyCTO, survey-firm SPSS and Stata files, Excel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WideColumn:
    """One column of a wide table (repeats spread over ``name_1, name_2``).

    Attributes
    ----------
    name : str
        Column name.
    question : Question
        The question it holds (one instance of it, for repeats).
    values : numpy.ndarray
        Text answers, one per submission.
    """

    name: str
    question: Question
    values: np.ndarray


def _chains(submissions: Submissions, table: str) -> np.ndarray:
    """Instance numbers from the outermost repeat down, joined by ``_`` (``2``, ``2_1``...)."""
    by_name = {t.name: t for t in submissions.responses.tables}
    current = by_name[table]
    chain = current.data["_position"].astype(str).to_numpy(dtype=object)
    rows = current.data["_parent"].to_numpy()
    parent = current.parent
    while parent is not None and parent != "main":
        data = by_name[parent].data
        chain = data["_position"].astype(str).to_numpy(dtype=object)[rows] + "_" + chain
        rows = data["_parent"].to_numpy()[rows]
        parent = by_name[parent].parent
    return chain


def wide_table(submissions: Submissions, *, include_notes: bool = False) -> list[WideColumn]:
    """Spread a form's submissions into one row each (repeats as ``field_1, field_2``).

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.
    include_notes : bool, optional
        Keep note fields (SurveyCTO and survey firms drop them).

    Returns
    -------
    list of WideColumn
        Columns in form order; a repeat's fields appear where the repeat is, instance by
        instance (``a_1, b_1, a_2, b_2``; nested ``a_1_2``).
    """
    instrument = submissions.instrument
    main = submissions.responses.main
    n = len(main)
    out: list[WideColumn] = []

    def spread(table: str) -> None:  # numpydoc ignore=GL08
        leaves = list(_layout(instrument)[table])
        data = submissions.responses.table(table).data
        rows = _main_rows(submissions, table)
        chains = _chains(submissions, table)
        order = sorted(set(chains), key=lambda c: tuple(int(p) for p in c.split("_")))
        for chain in order:
            mask = chains == chain
            for leaf in leaves:
                if leaf.question.type == "note" and not include_notes:
                    continue
                values = np.full(n, "", dtype=object)
                values[rows[mask]] = data[leaf.question.name].to_numpy(dtype=object)[mask]
                out.append(WideColumn(f"{leaf.question.name}_{chain}", leaf.question, values))

    def walk(questions):  # numpydoc ignore=GL08
        for q in questions:
            if q.type == "group":
                walk(q.children)
            elif q.type in ("repeat", "loop"):
                spread(q.name)
            elif q.type == "note" and not include_notes:
                continue
            elif q.name in main.columns:
                out.append(WideColumn(q.name, q, main[q.name].to_numpy(dtype=object)))

    walk(instrument.questions)
    return out


_MONTHS = np.array(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    dtype=object,
)


def _local(values: np.ndarray) -> np.ndarray:
    """Wall-clock datetimes of ODK date-time text (``2026-12-03T09:15:22.000+08:00``)."""
    return pd.to_datetime(
        pd.Series(values, dtype=object).str.slice(0, 19), errors="coerce"
    ).to_numpy()


def _surveycto_time(moments: np.ndarray, with_time: bool = True) -> np.ndarray:
    stamps = pd.DatetimeIndex(moments)
    out = np.full(len(stamps), "", dtype=object)
    ok = ~stamps.isna()
    s = stamps[ok]
    hour12 = ((s.hour + 11) % 12) + 1

    def text(values, width=1):  # numpydoc ignore=GL08
        return np.char.zfill(np.asarray(values).astype(str), width)

    date = _joined(
        _MONTHS[np.asarray(s.month) - 1].astype(str), " ", text(s.day), ", ", text(s.year)
    )
    if with_time:
        half = np.where(np.asarray(s.hour) < 12, "AM", "PM")
        clock = (text(hour12), ":", text(s.minute, 2), ":", text(s.second, 2), " ", half)
        date = _joined(date, " ", *clock)
    out[ok] = date
    return out


_DATETIME_TYPES = frozenset({"start", "end", "dateTime"})
_DATE_TYPES = frozenset({"today", "date"})


def surveycto_csv(submissions: Submissions) -> dict[str, bytes]:
    r"""Render a SurveyCTO wide CSV export.

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.

    Returns
    -------
    dict
        ``{"<form title>_WIDE.csv": bytes}`` (characters not allowed in file names become
        ``_``).

    Notes
    -----
    ``SubmissionDate`` first, then the fields by bare name (groups dropped, notes dropped),
    repeats spread as ``field_1, field_2``; geopoints as ``<name>Latitude``, ``Longitude``,
    ``Altitude``, ``Accuracy``; then ``instanceID``, ``formdef_version`` and ``KEY`` (the same
    instance ID). Dates are text in SurveyCTO's format (``Dec 3, 2026 9:15:22 AM``, dates
    ``Dec 3, 2026``) in the devices' local time, submission dates included. ``,`` separated,
    UTF-8, ``\\n`` line ends.
    """
    header, columns = _surveycto_columns(submissions)
    title = re.sub(r'[\\/:*?"<>|]', "_", submissions.instrument.title)
    return {f"{title}_WIDE.csv": _csv_bytes(header, columns)}


def _surveycto_columns(submissions: Submissions) -> tuple[list[str], list[np.ndarray]]:
    instrument = submissions.instrument
    envelope = submissions.envelope
    local_submitted = envelope["submitted_at"].to_numpy().astype("datetime64[s]") + np.timedelta64(
        8, "h"
    )
    header = ["SubmissionDate"]
    columns = [_surveycto_time(local_submitted)]
    for column in wide_table(submissions):
        q = column.question
        if q.type in _DATETIME_TYPES:
            header.append(column.name)
            columns.append(_surveycto_time(_local(column.values)))
        elif q.type in _DATE_TYPES:
            header.append(column.name)
            columns.append(_surveycto_time(_local(column.values), with_time=False))
        elif q.type == "geopoint":
            for part, suffix in zip(
                _geo_parts(column.values),
                ("Latitude", "Longitude", "Altitude", "Accuracy"),
                strict=True,
            ):
                header.append(f"{column.name}{suffix}")
                columns.append(part)
        else:
            header.append(column.name)
            columns.append(column.values)
    keys = envelope["instance_id"].to_numpy(dtype=object)
    version = re.sub(r"\D", "", instrument.version) or "1"
    header += ["instanceID", "formdef_version", "KEY"]
    columns += [keys, np.full(len(keys), version, dtype=object), keys]
    return header, columns


def excel_gb18030_csv(submissions: Submissions) -> dict[str, bytes]:
    """Render the SurveyCTO wide table as Chinese Excel saves it as CSV.

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.

    Returns
    -------
    dict
        ``{"<form_id>.csv": bytes}`` encoded in GB18030.

    Notes
    -----
    What "Save as CSV (逗号分隔)" on a Chinese Windows does to the table: the text is written in
    the ANSI code page (GBK; written here as GB18030, its superset, with identical bytes for
    GBK characters), CRLF line ends, quotes only where needed, no BOM; dates and times are
    shown as Excel displays them (``2026/12/3 9:15``, ``2026/12/3``); numbers of 12 digits or
    more are shown in scientific notation with six significant digits (``1.10105E+17``) and
    leading zeros of numbers are gone.
    """
    header, columns = _surveycto_columns(submissions)
    converted = []
    for name, values in zip(header, columns, strict=True):
        del name
        converted.append(_excel_display(values))
    return {
        f"{submissions.instrument.form_id}.csv": _csv_bytes(
            header, converted, terminator="\r\n", encoding="gb18030"
        )
    }


_SCTO_DATETIME = re.compile(
    r"^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})(?: (\d{1,2}):(\d{2}):(\d{2}) ([AP]M))?$"
)
_NUMBER = re.compile(r"^-?\d+$")


def _excel_display(values: np.ndarray) -> np.ndarray:
    """Text as Excel shows it after reading a CSV cell (dates, long numbers, leading zeros)."""
    return _by_unique(values, _excel_cell)


_MONTH_NUMBER = {m: i + 1 for i, m in enumerate(_MONTHS)}


def _excel_cell(text: str) -> str:
    match = _SCTO_DATETIME.match(text)
    if match:
        mon, day, year, hour, minute, _, half = match.groups()
        date = f"{year}/{_MONTH_NUMBER[mon]}/{int(day)}"
        if hour is not None:
            date += f" {int(hour) % 12 + (12 if half == 'PM' else 0)}:{minute}"
        return date
    if _NUMBER.match(text):
        digits = text.lstrip("-")
        if len(digits) >= 12:
            mantissa, exponent = f"{float(text):.5E}".split("E")
            mantissa = mantissa.rstrip("0").rstrip(".")
            return f"{mantissa}E+{int(exponent):02d}"
        if len(digits) > 1 and digits.startswith("0"):
            return str(int(text))
    return text


# --------------------------------------------------------------------------------------------
# Survey-firm SPSS and Stata files
# --------------------------------------------------------------------------------------------

_STATA_MISSING = {"dont_know": "a", "refused": "b", "not_applicable": "c"}


def _label(q: Question, instrument: Instrument, limit: int) -> str:
    language = instrument.default_language or ""
    text = q.label.get(language) or q.label.get("zh") or q.label.first() or q.name
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def _numeric(values: np.ndarray) -> np.ndarray | None:
    """Float values when every non-blank answer is a number, else ``None``."""
    series = pd.Series(values, dtype=object)
    answered = series != ""
    numbers = pd.to_numeric(series.where(answered), errors="coerce")
    if (numbers.isna() & answered).any():
        return None
    return numbers.to_numpy(dtype=float)


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str
    label: str
    values: np.ndarray
    value_labels: dict | None
    specials: dict[float, str]
    kind: str  # "numeric", "string", "date", "datetime"


def _firm_variables(submissions: Submissions, name_limit: int, label_limit: int) -> list[_Variable]:
    """Return the variables a survey firm delivers: wide answers, dummies, typed dates."""
    instrument = submissions.instrument
    envelope = submissions.envelope
    codes = {float(c.value): c.key for c in instrument.special_codes}
    special_labels = {
        float(c.value): (c.label.get(instrument.default_language or "") or c.label.first())
        for c in instrument.special_codes
    }
    local_submitted = envelope["submitted_at"].to_numpy().astype("datetime64[s]") + np.timedelta64(
        8, "h"
    )
    variables = [
        _Variable("key", "KEY", envelope["instance_id"].to_numpy(dtype=object), None, {}, "string"),
        _Variable("submissiondate", "SubmissionDate", local_submitted, None, {}, "datetime"),
    ]
    used = {"key", "submissiondate"}

    def unique(name: str) -> str:
        base = name[:name_limit]
        candidate, k = base, 1
        while candidate.lower() in used:
            suffix = f"_{k}"
            candidate, k = base[: name_limit - len(suffix)] + suffix, k + 1
        used.add(candidate.lower())
        return candidate

    for column in wide_table(submissions):
        q = column.question
        label = _label(q, instrument, label_limit)
        values = column.values
        if q.type in _DATETIME_TYPES:
            variables.append(
                _Variable(unique(column.name), label, _local(values), None, {}, "datetime")
            )
            continue
        if q.type in _DATE_TYPES:
            dates = _local(values).astype("datetime64[D]")
            variables.append(_Variable(unique(column.name), label, dates, None, {}, "date"))
            continue
        labels = None
        if q.list_name and q.type in ("select_one", "select_multiple"):
            labels = {}
            for c in instrument.choice_list(q.list_name).choices:
                try:
                    labels[float(c.name)] = (
                        c.label.get(instrument.default_language or "") or c.label.first()
                    )[:label_limit]
                except ValueError:
                    labels = None
                    break
        if q.type == "select_multiple":
            variables.append(_Variable(unique(column.name), label, values, None, {}, "string"))
            for option in _options(instrument, q):
                suffix = option if not option.startswith("-") else codes.get(float(option), option)
                dummy = _selected(values, option)
                numbers = np.where(dummy == "", np.nan, np.where(dummy == "1", 1.0, 0.0))
                option_label = (labels or {}).get(float(option), option) if labels else option
                variables.append(
                    _Variable(
                        unique(f"{column.name}_{suffix}"),
                        f"{label[: max(0, label_limit - len(option_label) - 3)]} - {option_label}",
                        numbers,
                        {0.0: "否", 1.0: "是"},
                        {},
                        "numeric",
                    )
                )
            continue
        numbers = _numeric(values) if q.type != "text" or q.special else None
        if numbers is not None and q.type != "text":
            accepted = {
                float(c.value): c.key
                for c in instrument.special_codes
                if c.key in q.special or float(c.value) in (labels or {})
            }
            value_labels = {**(labels or {}), **{v: special_labels[v] for v in accepted}}
            variables.append(
                _Variable(
                    unique(column.name), label, numbers, value_labels or None, accepted, "numeric"
                )
            )
        else:
            variables.append(_Variable(unique(column.name), label, values, None, {}, "string"))
    return variables


def _patch_sav_timestamp(data: bytes) -> bytes:
    """Fix the creation date and time in a .sav header (bytes 92-108) for reproducible files."""
    return data[:92] + b"01 Jan 00" + b"00:00:00" + data[109:]


def _patch_dta_timestamp(data: bytes) -> bytes:
    return re.sub(
        rb"<timestamp>.{0,18}</timestamp>",
        b"<timestamp>\x11 1 Jan 2000 00:00</timestamp>",
        data,
        count=1,
    )


def _write_temporary(writer: Callable[[str], None], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"export{suffix}")
        writer(path)
        return pathlib.Path(path).read_bytes()


def spss_sav(submissions: Submissions) -> dict[str, bytes]:
    """Render an SPSS ``.sav`` file as a survey firm delivers it.

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.

    Returns
    -------
    dict
        ``{"<form_id>.sav": bytes}``.

    Notes
    -----
    One row per submission, repeats spread wide; variable labels and value labels in the
    form's default language (Chinese); the project's special codes (-99, -98, -97) are kept as
    values with their labels and declared user-missing on every variable that can hold them;
    select_multiple answers as the code string plus one 0/1 dummy per option
    (``job_si_1``, ``job_si_dont_know``; system-missing where not asked); dates and times as
    SPSS dates. The header's creation date is fixed so that files are reproducible.
    """
    import pyreadstat

    variables = _firm_variables(submissions, name_limit=64, label_limit=120)
    frame, labels, value_labels, missing = _frame_of(variables, stata=False)

    def write(path: str) -> None:  # numpydoc ignore=GL08
        pyreadstat.write_sav(
            frame,
            path,
            file_label=submissions.instrument.title[:64],
            column_labels=labels,
            variable_value_labels=value_labels,
            missing_ranges=missing,
        )

    data = _patch_sav_timestamp(_write_temporary(write, ".sav"))
    return {f"{submissions.instrument.form_id}.sav": data}


def stata_dta(submissions: Submissions) -> dict[str, bytes]:
    """Render a Stata ``.dta`` file (release 118) as a survey firm delivers it.

    Parameters
    ----------
    submissions : Submissions
        The form's submissions.

    Returns
    -------
    dict
        ``{"<form_id>.dta": bytes}``.

    Notes
    -----
    As :func:`spss_sav`, with Stata's rules: names of at most 32 characters, labels of at most
    80; the special codes become extended missing values (``.a`` don't know, ``.b`` refused,
    ``.c`` not applicable) labelled in the value labels. The header's timestamp is fixed.
    """
    import pyreadstat

    variables = _firm_variables(submissions, name_limit=32, label_limit=80)
    frame, labels, value_labels, missing = _frame_of(variables, stata=True)

    def write(path: str) -> None:  # numpydoc ignore=GL08
        pyreadstat.write_dta(
            frame,
            path,
            file_label=submissions.instrument.title[:80],
            column_labels=labels,
            version=14,
            variable_value_labels=value_labels,
            missing_user_values=missing,
        )

    data = _patch_dta_timestamp(_write_temporary(write, ".dta"))
    return {f"{submissions.instrument.form_id}.dta": data}


def _frame_of(variables: list[_Variable], *, stata: bool):
    columns = {}
    labels = {}
    value_labels = {}
    missing = {}
    for v in variables:
        labels[v.name] = v.label
        if v.kind == "numeric":
            values = v.values.astype(float)
            vl = dict(v.value_labels or {})
            present = {x for x in v.specials if np.any(values == x)}
            if stata and present:
                letters = {x: _STATA_MISSING.get(v.specials[x], "z") for x in present}
                cells = values.astype(object)
                for x, letter in letters.items():
                    cells[values == x] = letter
                    if x in vl:
                        vl[letter] = vl.pop(x)
                vl = {k: t for k, t in vl.items() if not (isinstance(k, float) and k in v.specials)}
                columns[v.name] = cells
                missing[v.name] = sorted(set(letters.values()))
            else:
                columns[v.name] = values
                if v.specials and not stata:
                    missing[v.name] = sorted(v.specials)[:3]
                if stata:
                    vl = {k: t for k, t in vl.items() if k not in v.specials}
            if vl:
                value_labels[v.name] = vl
        elif v.kind in ("date", "datetime"):
            columns[v.name] = pd.Series(v.values).to_numpy()
        else:
            columns[v.name] = np.asarray(v.values, dtype=object)
    return pd.DataFrame(columns), labels, value_labels, missing


#: Format name -> writer.
FORMATS: dict[str, Callable[[Submissions], dict[str, bytes]]] = {
    "kobo-xlsx": kobo_xlsx,
    "kobo-csv": kobo_csv,
    "odk": odk_zip,
    "surveycto": surveycto_csv,
    "spss": spss_sav,
    "stata": stata_dta,
    "gb18030-csv": excel_gb18030_csv,
}


def write_files(files: Mapping[str, bytes], out: str | os.PathLike[str]) -> list[pathlib.Path]:
    """Write files under a folder, creating subfolders.

    Parameters
    ----------
    files : Mapping of str to bytes
        Relative paths (``/`` separated) and contents.
    out : str or os.PathLike
        The folder (created when missing).

    Returns
    -------
    list of pathlib.Path
        The paths written, sorted.
    """
    root = pathlib.Path(out)
    written = []
    for relative, content in sorted(files.items()):
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def demo_folder(
    root: str | os.PathLike[str],
    options: DemoOptions,
    *,
    surveys: str | os.PathLike[str] = "surveys",
) -> pathlib.Path:
    """Return the demo world's data folder for these options, building it the first time.

    Parameters
    ----------
    root : str or os.PathLike
        Where demo folders are kept (``data/demo``; never under ``reports/``: the demo's
        sample frame holds its planted identifiers).
    options : DemoOptions
        The demo's seed, size, format and mode.
    surveys : str or os.PathLike, optional
        The instrument definitions (default ``surveys``).

    Returns
    -------
    pathlib.Path
        ``root/seed<seed>-<enterprises>x<apprentices>[-<format>][-messy]``, holding ``raw/``,
        ``decisions/``, ``truth.json`` and ``manifest.csv`` as
        :func:`~evaluation.synthetic.demo.build_demo` makes them.

    Notes
    -----
    Reads nothing but ``surveys`` (and the folder's ``raw/sources.toml``, to see whether it is
    built); writes the folder once. The same options give the same folder, so
    ``evaluation report`` and the analysis notebooks share one build.
    """
    from evaluation.instruments.files import read_instruments
    from evaluation.synthetic.demo import DemoOptions, build_demo  # demo imports this module

    name = f"seed{options.seed}-{options.n_enterprises}x{options.apprentices_per_enterprise}"
    if options.format != DemoOptions().format:
        name += f"-{options.format}"
    if not options.clean:
        name += "-messy"
    folder = pathlib.Path(root) / name
    if not (folder / "raw" / "sources.toml").is_file():
        write_files(build_demo(read_instruments(surveys), options).files, folder)
    return folder
