"""Bytes to tables of text: CSV and XLSX parsing with the raw header row kept.

The functions here take the bytes of a file (already read by :mod:`evaluation.loaders.files`) and
return a :class:`TextTable`: the header row exactly as written, before pandas could rename a
duplicate (``q`` and ``q.1``), the data as strings, and the file's own row number of every record.
They decode strictly, refuse ragged rows and unterminated quotes with line numbers, and never skip
a bad line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from evaluation.loaders.errors import DecodingError, HeaderError, RowCountError
from evaluation.loaders.model import SourceIssue, issue
from evaluation.loaders.text import (
    RecordLines,
    RecordScan,
    all_common,
    common_hanzi_share,
    decode_strict,
    mojibake_repair,
    mojibake_runs,
    record_lines,
    scan_records,
)

__all__ = ["TextTable", "cell_text", "check_declared_encoding", "parse_csv", "parse_xlsx"]

_OTHER_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE = 1 << 16  # characters of text sampled for the mojibake heuristic (start, middle, end)


@dataclass(frozen=True, slots=True)
class TextTable:
    """One table read from a file, before it is matched with the instrument.

    Attributes
    ----------
    where : str
        The file (and sheet or member) as named in messages.
    headers : tuple of str
        The header row exactly as written.
    frame : pandas.DataFrame
        The data rows, every cell a string, columns numbered ``0..n-1`` in header order.
    source_rows : numpy.ndarray
        Per data row: the line where the CSV record starts, or the worksheet row.
    issues : tuple of SourceIssue
        What was noticed while parsing (blank lines, empty rows, suspected mojibake...).
    typed_cells : tuple of (int, SourceIssue)
        Worksheet columns (by position) holding numbers (``non_text_cells``) or dates
        (``date_cells``) rather than text; the reader decides which matter for which column.
    """

    where: str
    headers: tuple[str, ...]
    frame: pd.DataFrame
    source_rows: np.ndarray
    issues: tuple[SourceIssue, ...] = ()
    typed_cells: tuple[tuple[int, SourceIssue], ...] = ()


def check_declared_encoding(data: bytes, text: str, encoding: str, where: str) -> None:
    """Refuse a file declared in a Chinese legacy encoding that is in fact UTF-8.

    Parameters
    ----------
    data : bytes
        The raw bytes.
    text : str
        The bytes decoded with the declared encoding.
    encoding : str
        The declared encoding.
    where : str
        The file as named in messages.

    Raises
    ------
    DecodingError
        When the declared codec is GB18030, GBK or GB2312, the bytes are also valid UTF-8, and the
        UTF-8 reading is common Chinese while the declared reading is not: decoding would silently
        produce mojibake such as ``寮犱笁`` for ``张三``.
    """
    codec = codecs.lookup(encoding).name
    if codec not in {"gb18030", "gbk", "gb2312"} or text.isascii():
        return
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    sample = "".join(run for _, run in mojibake_runs(utf8, limit=500))
    declared = "".join(run for _, run in mojibake_runs(text, limit=500))
    as_utf8 = common_hanzi_share(sample) or 0.0
    as_declared = common_hanzi_share(declared) or 0.0
    if as_utf8 >= 0.9 and as_declared < as_utf8:
        msg = (
            f"{where}: sources.toml declares encoding {encoding!r} but the file is valid UTF-8 "
            f"and reads as Chinese only in UTF-8 ({as_utf8:.0%} common characters, against "
            f"{as_declared:.0%} in {encoding}); declare 'utf-8'"
        )
        raise DecodingError(msg)


def _mojibake_issues(text: str, where: str, table: str) -> list[SourceIssue]:
    # Sample the start, middle and end of the text; report runs that look like mojibake.
    if text.isascii():
        return []
    size = len(text)
    if size <= 3 * _SAMPLE:
        windows = [(0, text)]
    else:
        middle = size // 2
        windows = [
            (0, text[:_SAMPLE]),
            (middle, text[middle : middle + _SAMPLE]),
            (size - _SAMPLE, text[-_SAMPLE:]),
        ]
    hits: list[int] = []
    pairs: dict[tuple[str, str], int] = {}
    for offset, window in windows:
        runs = list(mojibake_runs(window, limit=300))
        if all_common("".join(run for _, run in runs)):
            continue  # only common Chinese: nothing can be mojibake
        for start, run in runs:
            found = mojibake_repair(run)
            if found is not None:
                hits.append(offset + start)
                pairs[found[:2]] = pairs.get(found[:2], 0) + 1
    if not hits:
        return []
    lines = tuple(text.count("\n", 0, position) + 1 for position in hits[:10])
    (wrong, right), _ = max(pairs.items(), key=lambda item: item[1])
    return [
        SourceIssue(
            kind="suspected_mojibake",
            table=table,
            column=None,
            count=len(hits),
            rows=lines,
            message=(
                f"{where}: {len(hits)} runs of text in the sampled parts look like {right} "
                f"text decoded as {wrong} (mojibake), first on line {lines[0]}; check the "
                "declared encoding or how the file was produced"
            ),
        )
    ]


def _header_record(text: str, delimiter: str, where: str) -> list[str]:
    if text.startswith(("\n", "\r\n")):
        msg = f"{where}: line 1 is blank; the header must be the first line"
        raise HeaderError(msg)
    size = 1 << 16
    while True:
        # parse the first record from a slice; widen it while a quoted cell runs past the end
        head = text[:size]
        try:
            header = next(
                csv.reader(io.StringIO(head, newline=""), delimiter=delimiter, strict=True)
            )
            break
        except StopIteration:
            msg = f"{where}: the file has no header row"
            raise RowCountError(msg) from None
        except csv.Error as err:
            if "unexpected end of data" not in str(err):
                # text after a closing quote: literal, as for pandas (lenient reading)
                header = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))
                break
            if size >= len(text):
                msg = f"{where}: line 1: a quoted header cell is never closed (unterminated quote)"
                raise RowCountError(msg) from None
            size *= 2
    if len(header) == 1:
        end = text.find("\n", 0, size)
        line = text[: end if end >= 0 else size]
        for other in _OTHER_DELIMITERS:
            if other != delimiter and other in line:
                columns = next(csv.reader(io.StringIO(line), delimiter=other))
                if len(columns) > 1:
                    msg = (
                        f"{where}: declared delimiter {delimiter!r} leaves the header as one "
                        f"column, but {other!r} splits it into {len(columns)} columns; declare "
                        f"delimiter = {other!r} in sources.toml"
                    )
                    raise HeaderError(msg)
    return header


def parse_csv(
    data: bytes,
    *,
    encoding: str,
    delimiter: str,
    where: str,
    table: str,
    allow_empty: bool = False,
) -> TextTable:
    """Parse a delimited text file into a table of strings.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    encoding : str
        The declared encoding (decoded strictly).
    delimiter : str
        The declared field delimiter.
    where : str
        The file (and member) as named in messages.
    table : str
        The table the file holds (for issues).
    allow_empty : bool, optional
        Accept a header without data rows (a repeat table no submission filled in).

    Returns
    -------
    TextTable
        Header row, data as strings (empty fields are ``""``), and each record's starting line.

    Raises
    ------
    RowCountError
        On an empty file, a file with a header but no data rows, an unterminated quote, or a
        record whose field count differs from the header's (every such line is listed, up to
        ten).
    DecodingError
        When the bytes are not valid in the declared encoding, a byte-order mark contradicts it,
        or a file declared GB18030/GBK is really UTF-8.
    HeaderError
        When the header line is blank or the declared delimiter does not split it.
    """
    if not data:
        msg = f"{where}: the file is empty (0 bytes): no header and no data rows"
        raise RowCountError(msg)
    text = decode_strict(data, encoding, where)
    check_declared_encoding(data, text, encoding, where)
    codec = codecs.lookup(encoding).name
    if codec == "utf-8":
        utf8 = data
    elif codec == "utf-8-sig":
        utf8 = data.removeprefix(codecs.BOM_UTF8)
    else:
        utf8 = text.encode("utf-8")
    header = _header_record(text, delimiter, where)
    width = len(header)
    found: RecordLines | RecordScan = record_lines(utf8, delimiter)
    if not found.balanced:
        # an unterminated quote (raised here) or literal quotes: follow the parser exactly
        found = scan_records(utf8, text, delimiter, where)
        _refuse_ragged(found, width, where)
    lines = found.lines
    rows = lines.size - 1
    if rows <= 0 and not allow_empty:
        msg = f"{where}: the file has a header but no data rows"
        raise RowCountError(msg)
    if rows <= 0:
        return TextTable(
            where=where,
            headers=tuple(header),
            frame=pd.DataFrame({i: pd.Series([], dtype="str") for i in range(width)}),
            source_rows=np.zeros(0, dtype=np.int64),
        )
    try:
        frame = _read_text_frame(utf8, delimiter, width)
    except pa.ArrowInvalid:
        # a record with more or fewer fields than the header: list them all, with their lines
        _refuse_ragged(scan_records(utf8, text, delimiter, where), width, where)
        msg = (
            f"{where}: the CSV parser does not find {width} fields on every line although the "
            "record scan does (a lone carriage return, or a quote the two read differently): "
            "refusing rather than guessing"
        )
        raise RowCountError(msg) from None
    if len(frame) != rows and isinstance(found, RecordLines):
        # literal quotes in unquoted fields can pair up across lines and fool the quick scan
        found = scan_records(utf8, text, delimiter, where)
        _refuse_ragged(found, width, where)
        lines = found.lines
        rows = lines.size - 1
    if len(frame) != rows:
        msg = (
            f"{where}: the parser read {len(frame)} data rows but the file has {rows} records "
            "(a lone carriage return?); refusing rather than guessing"
        )
        raise RowCountError(msg)
    issues = _mojibake_issues(text, where, table)
    if found.blank_lines:
        blank = found.blank_lines
        issues.append(
            issue(
                "blank_lines",
                table,
                f"{where}: {len(blank)} blank lines skipped (they hold no data)",
                count=len(blank),
                rows=blank,
            )
        )
    if not found.ends_with_newline:
        issues.append(
            SourceIssue(
                kind="no_final_newline",
                table=table,
                column=None,
                count=1,
                rows=(int(lines[-1]),),
                message=(
                    f"{where}: the last line has no line break; platforms end every line with "
                    "one, so the file may have been cut: compare the row count with the server"
                ),
            )
        )
    return TextTable(
        where=where,
        headers=tuple(header),
        frame=frame,
        source_rows=lines[1:].astype(np.int64),
        issues=tuple(issues),
    )


def _refuse_ragged(scan: RecordScan, width: int, where: str) -> None:
    bad = np.flatnonzero(scan.field_counts != width)
    if not bad.size:
        return
    listed = "; ".join(f"line {scan.lines[i]}: {scan.field_counts[i]} fields" for i in bad[:10])
    more = f" and {bad.size - 10} more" if bad.size > 10 else ""
    msg = (
        f"{where}: {bad.size} records do not have the header's {width} fields ({listed}"
        f"{more}); the file is ragged (a stray delimiter or quote, or a cut line): fix the "
        "export, never skip lines"
    )
    raise RowCountError(msg)


def _read_text_frame(utf8: bytes, delimiter: str, width: int) -> pd.DataFrame:
    # pyarrow's CSV reader (RFC 4180 quoting, quoted line breaks allowed, every column read as
    # text, nothing turned into null) gives the same cells as pandas' C parser on such files in
    # a fraction of the time; the record scan before it has already refused what the two
    # parsers would read differently (unterminated quotes, ragged rows), and the caller checks
    # the row count against the scan afterwards.
    table = pacsv.read_csv(
        io.BytesIO(utf8),
        read_options=pacsv.ReadOptions(autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, quote_char='"', double_quote=True, newlines_in_values=True
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(width)},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.slice(1).to_pandas().set_axis(list(range(width)), axis=1)


def cell_text(value: object) -> str:
    """Return the text of a worksheet cell as a person would type it.

    Parameters
    ----------
    value : object
        A cell value from python-calamine: ``str``, ``int``, ``float``, ``bool``,
        ``datetime``, ``date``, ``time`` or ``timedelta``.

    Returns
    -------
    str
        Strings unchanged; whole floats without ``.0`` (``7.0`` → ``"7"``); other floats in
        Python's shortest round-trip form; booleans ``TRUE``/``FALSE`` as Excel shows them;
        date-times in ISO 8601 (``2024-03-05T10:00:00``, no time zone: Excel stores none).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _text_columns(
    frame: pd.DataFrame, where: str, table: str, headers: Sequence[str], rows: np.ndarray
) -> tuple[pd.DataFrame, list[tuple[int, SourceIssue]]]:
    columns = {}
    issues = []
    for position in frame.columns:
        values = frame[position]
        if pd.api.types.infer_dtype(values, skipna=False) == "string":
            columns[position] = values.astype(str)
            continue
        kinds = values.map(type)
        numeric = kinds.isin([int, float]).to_numpy()
        dated = kinds.isin([dt.datetime, dt.date, dt.time, dt.timedelta]).to_numpy()
        columns[position] = values.map(cell_text).astype(str)
        header = headers[position] if position < len(headers) else str(position)
        for mask, kind, what in (
            (numeric, "non_text_cells", "number cells"),
            (dated, "date_cells", "date cells (converted to ISO text without time zone)"),
        ):
            if mask.any():
                issues.append(
                    (
                        int(position),
                        SourceIssue(
                            kind=kind,
                            table=table,
                            column=header,
                            count=int(mask.sum()),
                            rows=tuple(int(r) for r in rows[mask][:10]),
                            message=f"{where}: column {header!r} has {int(mask.sum())} {what}",
                        ),
                    )
                )
    return pd.DataFrame(columns, index=frame.index), issues


def parse_xlsx(
    data: bytes,
    select: Callable[[tuple[str, ...]], Mapping[str, str]],
    where: str,
    *,
    allow_empty: Collection[str] = (),
) -> tuple[tuple[str, ...], dict[str, TextTable]]:
    """Read sheets of a workbook as tables of strings (python-calamine through pandas).

    Parameters
    ----------
    data : bytes
        The ``.xlsx`` file's bytes.
    select : callable
        Given the workbook's sheet names, returns table name to the sheet to read it from (it
        raises when a required sheet is missing).
    where : str
        The file as named in messages.
    allow_empty : collection of str, optional
        Tables that may have a header and no data rows (repeats nobody filled in).

    Returns
    -------
    tuple of (tuple of str, dict)
        The workbook's sheet names, and table name to :class:`TextTable`.

    Raises
    ------
    RowCountError
        When a sheet is empty or has a header but no data rows, or the file is not a workbook.

    Notes
    -----
    The header is the first non-empty row; every cell becomes text with :func:`cell_text`
    (numbers, dates and booleans are counted per column as ``non_text_cells`` and
    ``date_cells`` issues). Entirely empty rows are skipped and counted; ``source_rows`` are
    worksheet row numbers (1-based), as Excel shows them.
    """
    if not data:
        msg = f"{where}: the file is empty (0 bytes)"
        raise RowCountError(msg)
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="calamine")
    except Exception as err:
        msg = f"{where}: not a readable .xlsx workbook ({type(err).__name__}: {err})"
        raise RowCountError(msg) from None
    names = tuple(book.sheet_names)
    chosen = dict(select(names))
    sheets = list(dict.fromkeys(chosen.values()))
    loaded = pd.read_excel(book, sheet_name=sheets, header=None, dtype=object, na_filter=False)
    tables = {
        table: _sheet_table(
            loaded[sheet], f"{where} sheet {sheet!r}", table, allow_empty=table in allow_empty
        )
        for table, sheet in chosen.items()
    }
    return names, tables


def _sheet_table(raw: pd.DataFrame, where: str, sheet: str, *, allow_empty: bool) -> TextTable:
    if raw.empty:
        msg = f"{where}: the sheet is empty: no header and no data rows"
        raise RowCountError(msg)
    cells = raw.to_numpy(dtype=object)
    filled = np.asarray(cells != "", dtype=bool)
    nonempty_rows = np.flatnonzero(filled.any(axis=1))
    if nonempty_rows.size == 0:
        msg = f"{where}: the sheet is empty: no header and no data rows"
        raise RowCountError(msg)
    head = int(nonempty_rows[0])
    issues: list[SourceIssue] = []
    if head > 0:
        issues.append(
            SourceIssue(
                kind="empty_rows",
                table=sheet,
                column=None,
                count=head,
                rows=tuple(range(1, head + 1))[:10],
                message=f"{where}: header found on row {head + 1}; rows above it are empty",
            )
        )
    used = np.flatnonzero(filled[head:].any(axis=0))
    width = int(used[-1]) + 1
    headers = tuple(cell_text(v) for v in cells[head, :width])
    for position, header in enumerate(headers):
        if not header.strip() and filled[head + 1 :, position].any():
            rows = np.flatnonzero(filled[head + 1 :, position]) + head + 2
            msg = (
                f"{where}: column {position + 1} has no header but holds cells on rows "
                f"{', '.join(str(r) for r in rows[:10])}; the rows are longer than the header "
                "(ragged export): fix the export, never drop cells"
            )
            raise HeaderError(msg)
    body_rows = np.arange(head + 1, len(cells))
    keep = body_rows[filled[head + 1 :, :width].any(axis=1)] if body_rows.size else body_rows
    skipped = sorted(set(body_rows.tolist()) - set(keep.tolist()))
    trailing = [r for r in skipped if r > (keep.max() if keep.size else head)]
    inner = [r for r in skipped if r not in trailing]
    if inner:
        issues.append(
            SourceIssue(
                kind="empty_rows",
                table=sheet,
                column=None,
                count=len(inner),
                rows=tuple(r + 1 for r in inner[:10]),
                message=f"{where}: {len(inner)} empty rows between data rows skipped",
            )
        )
    if keep.size == 0 and not allow_empty:
        msg = f"{where}: the sheet has a header but no data rows"
        raise RowCountError(msg)
    body = raw.iloc[keep, :width].reset_index(drop=True)
    body.columns = list(range(width))
    source_rows = (keep + 1).astype(np.int64)
    frame, typed = _text_columns(body, where, sheet, headers, source_rows)
    return TextTable(
        where=where,
        headers=headers,
        frame=frame,
        source_rows=source_rows,
        issues=tuple(issues),
        typed_cells=tuple(typed),
    )
