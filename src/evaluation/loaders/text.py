"""Pure text helpers: header normalisation, strict decoding, record scanning, mojibake detection.

Also the detector of numbers mangled by spreadsheets and the GB 11643 resident-ID check digit.

Nothing here reads files; every function takes text or bytes and returns a value. The detectors
never change data: they report what they find and the readers decide whether it is an error or a
counted flag.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from evaluation.loaders.errors import DecodingError, RowCountError

__all__ = [
    "RecordLines",
    "RecordScan",
    "all_common",
    "common_hanzi_share",
    "decode_strict",
    "is_valid_resident_id",
    "mangled_reason",
    "mojibake_repair",
    "mojibake_runs",
    "normalise_header",
    "record_lines",
    "resident_id_check_digit",
    "scan_records",
]

# Characters that are invisible in a spreadsheet but break name matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_UTF8_BOM = codecs.BOM_UTF8


def _gb2312_hanzi() -> frozenset[str]:
    # The 6,763 hanzi of GB 2312: rows 0xB0-0xF7, cells 0xA1-0xFE (five cells of row 0xD7 empty).
    found = set()
    for row in range(0xB0, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(found)


# Common Chinese: GB 2312 hanzi, CJK punctuation (U+3000..U+303F) and full-width forms.
_COMMON = (
    _gb2312_hanzi()
    | frozenset(map(chr, range(0x3000, 0x3040)))
    | frozenset(map(chr, range(0xFF00, 0xFFF0)))
)
# (encoding the text was wrongly decoded with, encoding its bytes really were in)
MOJIBAKE_PAIRS = (
    ("gb18030", "utf-8"),
    ("utf-8", "gb18030"),
    ("cp1252", "gb18030"),
    ("latin-1", "gb18030"),
)
# The characters Windows-1252 puts at 0x80-0x9F (five of those bytes are undefined).
_CP1252_EXTRA = frozenset("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")
_LONG_DIGITS = re.compile(r"\d{16,}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalise_header(raw: str) -> str:
    """Normalise a column header: NFKC, invisible characters removed, surrounding space stripped.

    Parameters
    ----------
    raw : str
        The header cell as read.

    Returns
    -------
    str
        The header a person sees: full-width letters and digits become ASCII (NFKC), zero-width
        characters and byte-order marks are removed, leading and trailing white space (including
        no-break spaces) is stripped. Inner spaces are kept.

    Notes
    -----
    Idempotent: ``normalise_header(normalise_header(x)) == normalise_header(x)``.
    """
    text = unicodedata.normalize("NFKC", raw).translate(_INVISIBLE)
    # NFKC can expose new invisible characters only through compatibility mappings, which map
    # none to U+200B..U+FEFF; a second pass keeps the function idempotent regardless.
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()


def decode_strict(data: bytes, encoding: str, where: str) -> str:
    """Decode bytes with a declared encoding, failing loudly with the line and byte offset.

    Parameters
    ----------
    data : bytes
        The file contents.
    encoding : str
        The declared encoding (a Python codec name such as ``utf-8``, ``utf-8-sig``, ``gb18030``).
    where : str
        The file as named in messages.

    Returns
    -------
    str
        The text. A UTF-8 byte-order mark is removed only when the declared encoding is
        ``utf-8-sig``.

    Raises
    ------
    DecodingError
        When the codec is unknown; when the file starts with a UTF-8 byte-order mark but another
        encoding is declared; or when a byte sequence is invalid (the message gives the line and
        the first offending byte, never the text around it, and hints at the likely encoding).
        Decoding is never lenient: no ``errors="replace"`` or ``"ignore"``.
    """
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        msg = f"{where}: unknown encoding {encoding!r} declared in sources.toml"
        raise DecodingError(msg) from None
    if data.startswith(_UTF8_BOM) and codec != "utf-8-sig":
        msg = (
            f"{where}: the file starts with a UTF-8 byte-order mark but sources.toml declares "
            f"encoding {encoding!r}; declare 'utf-8-sig' (Excel's 'CSV UTF-8') if the file is "
            "UTF-8 with a byte-order mark"
        )
        raise DecodingError(msg)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        bad = f"0x{data[err.start]:02x}"  # one byte: never enough to show a character
        hint = ""
        if codec in {"utf-8", "utf-8-sig"}:
            try:
                data.decode("gb18030")
            except UnicodeDecodeError:
                pass
            else:
                hint = "; the whole file decodes as GB18030: was it saved in GBK/GB18030?"
        msg = (
            f"{where}: line {line}, byte {column}: byte {bad} starts a sequence that is not "
            f"valid {encoding} (declared in sources.toml){hint}"
        )
        raise DecodingError(msg) from None


def common_hanzi_share(text: str) -> float | None:
    """Return the share of non-ASCII characters that are common Chinese characters or punctuation.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    float or None
        Among the non-ASCII characters, the fraction that are CJK ideographs in GB 2312 (the
        6,763 common hanzi), CJK punctuation (U+3000..U+303F) or full-width forms; ``None`` when
        the text is pure ASCII.

    Notes
    -----
    Genuine Chinese text scores close to 1. UTF-8 read as GB18030 yields rare ideographs outside
    GB 2312 (``张三`` → ``寮犱笁`` scores 1/3) and GBK read as Windows-1252 yields Latin letters
    (``ÕÅÈý`` scores 0), which is what :func:`mojibake_repair` relies on.
    """
    total = common = 0
    for ch in text:
        if ch < "\x80":
            continue
        total += 1
        common += ch in _COMMON
    return common / total if total else None


def all_common(text: str) -> bool:
    """Say whether a text holds only ASCII and common Chinese characters.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    bool
        True when every character is ASCII or in the common set of :func:`common_hanzi_share`
        (such text cannot be mojibake of Chinese).
    """
    return all(ch < "\x80" or ch in _COMMON for ch in set(text))


def mojibake_repair(text: str) -> tuple[str, str, str] | None:
    """Say whether a text looks like Chinese decoded with the wrong codec, and how to repair it.

    Parameters
    ----------
    text : str
        A run of text containing non-ASCII characters.

    Returns
    -------
    tuple of (str, str, str) or None
        ``(read_as, really, repaired)``: the codec the bytes were wrongly decoded with, the codec
        they were written in, and the repaired text; ``None`` when the text does not look like
        mojibake.

    Notes
    -----
    For each pair in ``MOJIBAKE_PAIRS`` the text is re-encoded with the wrong codec and decoded
    with the right one; it is reported when that round trip succeeds, the result is at least 90%
    common Chinese (:func:`common_hanzi_share`) and the original at most 50%. Genuine Chinese text
    never qualifies because its share is already above 50%. Text made only of single-byte
    characters is tried with the single-byte codecs first (Windows-1252, Latin-1).
    """
    share = common_hanzi_share(text)
    if share is None or share > 0.5:
        return None
    pairs = MOJIBAKE_PAIRS
    if all(ord(ch) < 0x100 or ch in _CP1252_EXTRA for ch in text):
        # only single-byte characters: a single-byte codec misread two-byte text
        pairs = tuple(sorted(pairs, key=lambda pair: pair[0] not in {"cp1252", "latin-1"}))
    for wrong, right in pairs:
        try:
            repaired = text.encode(wrong).decode(right)
        except UnicodeError:
            continue
        fixed = common_hanzi_share(repaired)
        if repaired != text and fixed is not None and fixed >= 0.9:
            return wrong, right, repaired
    return None


def mojibake_runs(text: str, limit: int = 2000) -> Iterable[tuple[int, str]]:
    """Yield the non-ASCII runs of a text with their offsets, at most ``limit`` of them.

    Parameters
    ----------
    text : str
        Decoded file contents (or a sample of them).
    limit : int, optional
        Maximum number of runs yielded.

    Yields
    ------
    tuple of (int, str)
        Offset of the run in ``text`` and the run.
    """
    for count, match in enumerate(_NON_ASCII_RUN.finditer(text)):
        if count >= limit:
            return
        yield match.start(), match.group()


def resident_id_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character of a resident ID number.

    Parameters
    ----------
    first17 : str
        The first 17 digits.

    Returns
    -------
    str
        ``0``-``9`` or ``X``: ISO 7064 MOD 11-2 with weights 2^(17-i) mod 11.

    Raises
    ------
    ValueError
        When ``first17`` is not 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        msg = "a resident ID check digit needs exactly 17 ASCII digits"
        raise ValueError(msg)
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_resident_id(value: str) -> bool:
    """Say whether a text is an 18-character resident ID with a correct check character.

    Parameters
    ----------
    value : str
        The text.

    Returns
    -------
    bool
        True for 17 ASCII digits followed by the right check character (``X`` upper case).
    """
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit():
        return False
    return resident_id_check_digit(value[:17]) == value[17]


def mangled_reason(value: str) -> str | None:
    """Say whether a text looks like a number mangled by a spreadsheet, and how.

    Parameters
    ----------
    value : str
        A cell of a column that holds identifiers or codes as text.

    Returns
    -------
    str or None
        ``"scientific notation"`` (``1.10105E+17``), ``"N digits ending in 000"`` (an 18-digit ID
        number after Excel kept only 15 significant digits, when the check digit does not hold),
        or ``None``.

    Notes
    -----
    Excel stores numbers with 15 significant digits, so an 18-digit ID number typed into a
    numeric cell comes back with its last three digits ``000``. A genuine ID number may end in
    ``0`` only as its check character, so an 18-digit value ending ``000`` is flagged unless its
    check character is right; values of 16, 17 or 19 and more digits ending ``000`` are flagged.
    """
    text = value.strip()
    if _SCIENTIFIC.fullmatch(text):
        return "scientific notation"
    if _LONG_DIGITS.fullmatch(text) and text.endswith("000"):
        if len(text) == 18 and is_valid_resident_id(text):
            return None
        return f"{len(text)} digits ending in 000"
    return None


@dataclass(frozen=True, slots=True)
class RecordLines:
    """Where the records of a delimited file start (see :func:`record_lines`).

    Attributes
    ----------
    lines : numpy.ndarray
        Physical line number (1-based) where each non-blank record starts, the header first.
    blank_lines : tuple of int
        Line numbers of empty lines.
    ends_with_newline : bool
        Whether the last record is terminated by a line break.
    balanced : bool
        Whether the quoting is regular: quotes balance, and every quoted field opens at the
        start of a field and closes at its end (RFC 4180).
    starts : numpy.ndarray
        Byte offset of each non-blank record.
    lengths : numpy.ndarray
        Byte length of each non-blank record (without its line feed).
    """

    lines: np.ndarray
    blank_lines: tuple[int, ...]
    ends_with_newline: bool
    balanced: bool
    starts: np.ndarray
    lengths: np.ndarray


@dataclass(frozen=True, slots=True)
class RecordScan:
    """The record structure of a delimited text file, found before any parsing.

    Attributes
    ----------
    field_counts : numpy.ndarray
        Number of fields of every non-blank record, the header first.
    lines : numpy.ndarray
        Physical line number (1-based) where each non-blank record starts.
    blank_lines : tuple of int
        Physical line numbers of empty lines (skipped by the parser).
    ends_with_newline : bool
        Whether the last record is terminated by a line break.
    """

    field_counts: np.ndarray
    lines: np.ndarray
    blank_lines: tuple[int, ...]
    ends_with_newline: bool


def _outside_quotes(arr: np.ndarray, positions: np.ndarray) -> np.ndarray:
    # A byte is outside quotes when an even number of quote characters precede it (doubled
    # quotes toggle twice). Exact for files quoted by RFC 4180; a literal quote inside an
    # unquoted field breaks the parity, which an odd total of quotes reveals.
    quotes = np.flatnonzero(arr == 0x22)
    if not quotes.size:
        return positions
    return positions[(np.searchsorted(quotes, positions) & 1) == 0]


def _regular_quotes(arr: np.ndarray, delimiter: int) -> bool:
    # RFC 4180 quoting: an even number of quotes, every opening quote at the start of a field
    # (after a delimiter, a line break or the start of the file, or right after a closing quote
    # for a doubled quote) and every closing quote at the end of one. Then the parity rule of
    # _outside_quotes is exact.
    quotes = np.flatnonzero(arr == 0x22)
    if quotes.size % 2:
        return False
    if not quotes.size:
        return True
    ends = np.array([delimiter, 0x0A, 0x0D, 0x22], dtype=np.uint8)
    opening, closing = quotes[0::2], quotes[1::2]
    before = arr[np.maximum(opening - 1, 0)]
    after = arr[np.minimum(closing + 1, arr.size - 1)]
    opened_well = (opening == 0) | np.isin(before, ends)
    closed_well = (closing == arr.size - 1) | np.isin(after, ends)
    return bool(opened_well.all() and closed_well.all())


def record_lines(data: bytes, delimiter: str) -> RecordLines:
    """Find where every record of a delimited file starts, without counting its fields.

    Parameters
    ----------
    data : bytes
        The file encoded as UTF-8.
    delimiter : str
        The field delimiter (one ASCII character).

    Returns
    -------
    RecordLines
        The starting line of every non-blank record (the header first), the blank lines, whether
        the file ends with a line break, and whether its quoting is regular (RFC 4180).

    Notes
    -----
    Vectorised over the bytes: only quote characters, line feeds and the bytes next to quotes
    are looked at. When the quoting is not regular (an unterminated quote, or a literal quote
    inside an unquoted field), the caller must use :func:`scan_records`, which follows the
    parser's rules exactly.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 0x0A)
    record_nl = _outside_quotes(arr, newlines)
    balanced = _regular_quotes(arr, ord(delimiter))
    ends_nl = bool(arr.size) and arr[-1] == 0x0A
    starts = np.concatenate(([0], record_nl + 1))
    ends = np.concatenate((record_nl, [arr.size]))
    if ends_nl:
        starts, ends = starts[:-1], ends[:-1]
    lengths = ends - starts
    has_cr = (lengths > 0) & (arr[np.maximum(ends - 1, 0)] == 0x0D)
    blank = (lengths - has_cr) == 0
    lines = np.searchsorted(newlines, starts) + 1
    return RecordLines(
        lines=lines[~blank],
        blank_lines=tuple(int(x) for x in lines[blank]),
        ends_with_newline=bool(ends_nl),
        balanced=balanced,
        starts=starts[~blank],
        lengths=lengths[~blank],
    )


def _field_counts(data: bytes, delimiter: int, found: RecordLines) -> np.ndarray:
    # Fields per non-blank record: delimiters outside quotes, assigned to the record they follow.
    arr = np.frombuffer(data, dtype=np.uint8)
    delims = _outside_quotes(arr, np.flatnonzero(arr == delimiter))
    record = np.searchsorted(found.starts, delims, side="right") - 1
    return np.bincount(record, minlength=found.starts.size) + 1


def _scan_exact(text: str, delimiter: str, where: str, *, strict: bool) -> RecordScan | None:
    # Python's csv module follows pandas' C parser: a quote inside an unquoted field, or text
    # after a closing quote, is literal (strict=False). The strict pass tells an unterminated
    # quote (end of data inside a quoted field) from those; it returns None on any other
    # strictness complaint so that the caller re-scans leniently.
    counts: list[int] = []
    lines: list[int] = []
    blank: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    previous = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            if "unexpected end of data" not in str(err):
                return None
            msg = (
                f"{where}: line {previous + 1}: a quoted field opened in this record is never "
                "closed (unterminated quote); the file may be truncated or hand-edited"
            )
            raise RowCountError(msg) from None
        start = previous + 1
        previous = reader.line_num
        if not row:
            blank.append(start)
            continue
        counts.append(len(row))
        lines.append(start)
    return RecordScan(
        field_counts=np.asarray(counts, dtype=np.int64),
        lines=np.asarray(lines, dtype=np.int64),
        blank_lines=tuple(blank),
        ends_with_newline=text.endswith("\n"),
    )


def scan_records(data: bytes, text: str, delimiter: str, where: str) -> RecordScan:
    """Find every record of a delimited file with its field count and starting line.

    Parameters
    ----------
    data : bytes
        The file encoded as UTF-8 (used by the fast vectorised scan).
    text : str
        The same contents decoded (used by the exact scan when the fast one is inconclusive).
    delimiter : str
        One ASCII character.
    where : str
        The file as named in messages.

    Returns
    -------
    RecordScan
        Field counts and line numbers of the header and every data record.

    Raises
    ------
    RowCountError
        When a quoted field is never closed (the message gives the line where it opens).

    Notes
    -----
    Quotes follow RFC 4180 (``"`` doubled inside quoted fields), as ODK Central, KoboToolbox and
    Excel write them. The fast scan is exact for such files; when the quotes do not balance or a
    record's field count differs from the header's, the file is re-scanned with Python's
    :mod:`csv` module, whose rules match the parsers', so the verdict is theirs. Lines are
    counted by line feeds.
    """
    found = record_lines(data, delimiter)
    if found.balanced:
        counts = _field_counts(data, ord(delimiter), found)
        if counts.size == 0 or (counts == counts[0]).all():
            return RecordScan(
                field_counts=counts,
                lines=found.lines,
                blank_lines=found.blank_lines,
                ends_with_newline=found.ends_with_newline,
            )
    exact = _scan_exact(text, delimiter, where, strict=True)
    if exact is None:
        exact = _scan_exact(text, delimiter, where, strict=False)
    assert exact is not None
    return exact
