"""``sources.toml``: what the data manager declares about every raw file.

The raw folder (``--raw DIR``) holds the files exactly as downloaded plus one ``sources.toml``,
written once by the data manager. Nothing about a file is guessed: its instrument, round, format,
encoding, delimiter and sheets come from here, and the readers check the file against them.

Example::

    # one [[files]] entry per survey export
    [[files]]
    path = "kobo/apprentice_baseline.xlsx"   # relative to the raw folder
    instrument = "apprentice"                # instrument family in surveys/
    round = "baseline"
    format = "kobo-xlsx"                     # see FORMATS
    sheet = "QALL2 apprentice and worker..." # main sheet (default: the first sheet)
    sheets = { members = "members" }         # repeat -> sheet (default: repeat name, 31 chars)
    expected_rows = 1520                     # optional: the count the server showed
    timezone = "Asia/Shanghai"               # local time of start/end values without an offset

    [[files]]
    path = "odk/apprentice_endline.zip"
    instrument = "apprentice"
    round = "endline"
    format = "odk-zip"
    encoding = "utf-8"                       # required for every text format; never guessed

    [[files]]
    path = "firm/endline.csv"
    instrument = "apprentice"
    round = "endline"
    format = "surveycto-long"
    encoding = "utf-8"
    repeats = { jobs = "firm/endline-jobs.csv" }
    date_formats = { submitted_at = "%b %d, %Y %I:%M:%S %p", start = "%b %d, %Y %I:%M:%S %p" }
    timezone = "Asia/Shanghai"

    [[files]]
    path = "partner/baseline.dta"
    instrument = "apprentice"
    round = "baseline"
    format = "stata"
    encoding = "gb18030"                     # required for dta <= 117 holding Chinese text
    metadata = { instance_id = "qid" }       # canonical metadata from named columns

    [[backchecks]]                           # back-check exports: same keys as [[files]];
    path = "kobo/backcheck_baseline.csv"     # instrument/round name the form checked
    instrument = "apprentice"
    round = "baseline"
    format = "kobo-csv"
    encoding = "utf-8"

    [sample_frame]
    path = "frame/sample_frame.csv"
    format = "csv"
    encoding = "utf-8"
    delimiter = ","
    key = "resp_id"
    key_pattern = "^[A-Z]{2}[0-9]{6}$"
    enterprise = "enterprise_id"
    enterprise_pattern = "^[A-Z]{2}[0-9]{3}$"
    treatment = "treatment"
    treatment_values = ["0", "1"]
    strata = ["city"]

    [roster]                                 # optional: a partner's roster, same keys
    path = "frame/enterprise_roster.xlsx"
    format = "xlsx"
    sheet = "名单"
    key = "resp_id"

Keys of ``[[files]]`` and ``[[backchecks]]``:

``path`` (required)
    The file, relative to the raw folder.
``instrument``, ``round`` (required)
    The questionnaire and round (for back-checks: the round being checked).
``format`` (required)
    One of :data:`FORMATS`.
``encoding``
    Required for text formats (``kobo-csv``, ``odk-zip``, ``surveycto-wide``,
    ``surveycto-long``, ``csv``), not allowed for workbooks, optional for SPSS (overrides the
    file's own declaration) and Stata (required for files of format 117 or older that hold
    non-ASCII text). Python codec names: ``utf-8``, ``utf-8-sig`` (UTF-8 with a byte-order mark,
    as Excel saves "CSV UTF-8"), ``gb18030``, ``gbk``.
``delimiter``
    One ASCII character; required for ``csv``; defaults to ``;`` for ``kobo-csv`` and ``,``
    for ODK and SurveyCTO (and checked against the header).
``sheet``, ``sheets``
    Workbooks only: the main sheet and ``{repeat = "sheet"}``.
``repeats``
    ``surveycto-long`` only: ``{repeat = "file.csv"}``.
``date_formats``
    ``{submitted_at, start, end = format}``: ``"iso8601"``, ``"excel-serial"`` or a
    `strptime <https://docs.python.org/3/library/datetime.html#format-codes>`__ format.
    Defaults: ISO 8601 for ODK and KoboToolbox; required for SurveyCTO and for any metadata
    column named in ``metadata``.
``timezone``
    IANA zone (``Asia/Shanghai``) of date-times written without a UTC offset; required when
    such values occur in ``start``/``end`` or in SurveyCTO submission times.
``metadata``
    ``{instance_id, submitted_at, start, end, form_version, device_id, review_state = column}``:
    where canonical metadata comes from when the platform's columns are absent.
``expected_rows``
    The number of submissions the server reported; fewer rows is an error (truncated file).
"""

from __future__ import annotations

import codecs
import pathlib
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaluation.loaders.errors import SourcesConfigError

__all__ = [
    "CANONICAL_METADATA",
    "FORMATS",
    "FrameSource",
    "Source",
    "Sources",
    "parse_sources",
]

#: Declared formats and how they are read.
FORMATS = {
    "kobo-xlsx": "xlsx",
    "kobo-csv": "csv",
    "odk-zip": "zip",
    "surveycto-wide": "csv",
    "surveycto-long": "csv",
    "spss": "labelled",
    "stata": "labelled",
    "csv": "csv",
    "xlsx": "xlsx",
}
#: The platform each format comes from (``None``: a generic file).
PLATFORM_OF = {
    "kobo-xlsx": "kobo",
    "kobo-csv": "kobo",
    "odk-zip": "odk",
    "surveycto-wide": "surveycto",
    "surveycto-long": "surveycto",
}
_DEFAULT_DELIMITER = {
    "kobo-csv": ";",
    "odk-zip": ",",
    "surveycto-wide": ",",
    "surveycto-long": ",",
}
#: Canonical metadata a ``metadata`` table may point at.
CANONICAL_METADATA = (
    "instance_id",
    "submitted_at",
    "start",
    "end",
    "form_version",
    "device_id",
    "review_state",
)
_DATE_FIELDS = ("submitted_at", "start", "end")
_FILE_KEYS = frozenset(
    {
        "path",
        "instrument",
        "round",
        "format",
        "encoding",
        "delimiter",
        "sheet",
        "sheets",
        "repeats",
        "date_formats",
        "timezone",
        "metadata",
        "expected_rows",
        "note",
    }
)
_FRAME_KEYS = frozenset(
    {
        "path",
        "format",
        "encoding",
        "delimiter",
        "sheet",
        "key",
        "key_pattern",
        "enterprise",
        "enterprise_pattern",
        "treatment",
        "treatment_values",
        "strata",
        "expected_rows",
        "note",
    }
)
_TOP_KEYS = frozenset({"files", "backchecks", "sample_frame", "roster"})


@dataclass(frozen=True, slots=True)
class Source:
    """One survey export as declared in ``sources.toml``.

    Attributes
    ----------
    name : str
        The path as declared (relative to the raw folder); used in every message.
    path : pathlib.Path
        The file on disk.
    instrument : str
        Instrument family (``apprentice``...).
    round : str
        Round (``baseline``, ``endline``...).
    format : str
        One of :data:`FORMATS`.
    encoding : str or None
        Declared text encoding.
    delimiter : str or None
        Field delimiter of CSV files (the platform default filled in).
    sheet : str or None
        Main sheet of a workbook.
    sheets : tuple of (str, str)
        Repeat name to sheet.
    repeats : tuple of (str, str)
        Repeat name to file (SurveyCTO long format), relative to the raw folder.
    date_formats : tuple of (str, str)
        Canonical date field to its format.
    timezone : str or None
        IANA zone of date-times without an offset.
    metadata : tuple of (str, str)
        Canonical metadata name to the column holding it.
    expected_rows : int or None
        Number of submissions the server reported.
    kind : str
        ``survey`` or ``backcheck``.
    root : pathlib.Path or None
        The raw folder the declared paths are relative to.
    """

    name: str
    path: pathlib.Path
    instrument: str
    round: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: tuple[tuple[str, str], ...] = ()
    repeats: tuple[tuple[str, str], ...] = ()
    date_formats: tuple[tuple[str, str], ...] = ()
    timezone: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    expected_rows: int | None = None
    kind: str = "survey"
    root: pathlib.Path | None = None

    def __post_init__(self) -> None:
        """Fill in the platform's default delimiter and check the declaration."""
        if self.delimiter is None and self.format in _DEFAULT_DELIMITER:
            object.__setattr__(self, "delimiter", _DEFAULT_DELIMITER[self.format])
        _check_source(self)

    def resolve(self, name: str) -> pathlib.Path:
        """Return the path of another file declared relative to the raw folder.

        Parameters
        ----------
        name : str
            A path as written in ``sources.toml`` (e.g. a SurveyCTO repeat file).

        Returns
        -------
        pathlib.Path
            The file under ``root`` (or beside ``path`` when no root is known).
        """
        root = self.root if self.root is not None else self.path.parent
        return root / pathlib.Path(*pathlib.PurePosixPath(name).parts)

    @property
    def platform(self) -> str | None:  # numpydoc ignore=RT01
        """The platform the format comes from (``kobo``, ``odk``, ``surveycto``) or ``None``."""
        return PLATFORM_OF.get(self.format)

    def date_format(self, field: str) -> str | None:
        """Return the declared format of a canonical date field.

        Parameters
        ----------
        field : str
            ``submitted_at``, ``start`` or ``end``.

        Returns
        -------
        str or None
            The declared format, or ``None``.
        """
        return dict(self.date_formats).get(field)

    def metadata_column(self, field: str) -> str | None:
        """Return the column declared to hold a canonical metadata field.

        Parameters
        ----------
        field : str
            One of :data:`CANONICAL_METADATA`.

        Returns
        -------
        str or None
            The column header, or ``None``.
        """
        return dict(self.metadata).get(field)


@dataclass(frozen=True, slots=True)
class FrameSource:
    """The sample frame or a roster as declared in ``sources.toml``.

    Attributes
    ----------
    name : str
        The path as declared.
    path : pathlib.Path
        The file on disk.
    format : str
        ``csv`` or ``xlsx``.
    encoding, delimiter, sheet : str or None
        As for :class:`Source`.
    key : str
        The column holding the unique key (default ``resp_id``).
    key_pattern : str or None
        Regular expression every key must match in full.
    enterprise : str or None
        Column of the enterprise ID.
    enterprise_pattern : str or None
        Regular expression every enterprise ID must match.
    treatment : str or None
        Column of the treatment assignment.
    treatment_values : tuple of str
        Allowed treatment values (checked when given).
    strata : tuple of str
        Columns defining the strata.
    expected_rows : int or None
        Expected number of rows.
    """

    name: str
    path: pathlib.Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    key: str = "resp_id"
    key_pattern: str | None = None
    enterprise: str | None = None
    enterprise_pattern: str | None = None
    treatment: str | None = None
    treatment_values: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()
    expected_rows: int | None = None


@dataclass(frozen=True, slots=True)
class Sources:
    """Everything declared in one ``sources.toml``.

    Attributes
    ----------
    raw_dir : pathlib.Path
        The raw folder.
    files : tuple of Source
        Survey exports, in declaration order.
    backchecks : tuple of Source
        Back-check exports.
    sample_frame : FrameSource or None
        The sample frame.
    roster : FrameSource or None
        A roster file.
    """

    raw_dir: pathlib.Path
    files: tuple[Source, ...] = ()
    backchecks: tuple[Source, ...] = ()
    sample_frame: FrameSource | None = None
    roster: FrameSource | None = None


def _fail(where: str, key: str, problem: str) -> SourcesConfigError:
    return SourcesConfigError(f"{where}: {key}: {problem}")


def _check_encoding(where: str, encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _fail(where, "encoding", f"unknown encoding {encoding!r}") from None


def _check_source(source: Source) -> None:
    where = f"source {source.name!r}"
    if source.format not in FORMATS:
        raise _fail(where, "format", f"{source.format!r} is not one of {sorted(FORMATS)}")
    kind = FORMATS[source.format]
    if kind in {"csv", "zip"} and not source.encoding:
        raise _fail(
            where,
            "encoding",
            f"required for format {source.format!r} (text is never decoded by guessing); "
            "e.g. 'utf-8', 'utf-8-sig' or 'gb18030'",
        )
    if kind == "xlsx" and source.encoding:
        raise _fail(where, "encoding", "not allowed for workbooks (xlsx files are always UTF-8)")
    if source.encoding:
        _check_encoding(where, source.encoding)
    if source.delimiter is not None:
        if kind not in {"csv", "zip"}:
            raise _fail(where, "delimiter", f"not allowed for format {source.format!r}")
        if len(source.delimiter) != 1 or not source.delimiter.isascii():
            raise _fail(where, "delimiter", f"{source.delimiter!r} is not one ASCII character")
        if source.delimiter in {'"', "\n", "\r"}:
            raise _fail(where, "delimiter", f"{source.delimiter!r} cannot be a delimiter")
    elif kind in {"csv", "zip"} and source.format not in _DEFAULT_DELIMITER:
        raise _fail(where, "delimiter", f"required for format {source.format!r} (e.g. ',')")
    if (source.sheet or source.sheets) and kind != "xlsx":
        raise _fail(where, "sheet", f"only workbooks have sheets, not {source.format!r}")
    if source.repeats and source.format != "surveycto-long":
        raise _fail(where, "repeats", "repeat files are declared only for 'surveycto-long'")
    for field, value in source.date_formats:
        if field not in _DATE_FIELDS:
            raise _fail(where, "date_formats", f"{field!r} is not one of {list(_DATE_FIELDS)}")
        if value not in {"iso8601", "excel-serial"} and "%" not in value:
            raise _fail(
                where,
                f"date_formats.{field}",
                f"{value!r} is neither 'iso8601', 'excel-serial' nor a strptime format",
            )
    for field, _ in source.metadata:
        if field not in CANONICAL_METADATA:
            raise _fail(where, "metadata", f"{field!r} is not one of {list(CANONICAL_METADATA)}")
    if source.timezone is not None:
        try:
            zoneinfo.ZoneInfo(source.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _fail(where, "timezone", f"unknown IANA zone {source.timezone!r}") from None
    if source.expected_rows is not None and source.expected_rows < 0:
        raise _fail(where, "expected_rows", "must be a non-negative integer")


def _string(where: str, entry: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise _fail(where, key, "missing (required)")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, key, f"must be a non-empty string, not {value!r}")
    return value


def _table(where: str, entry: Mapping[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    value = entry.get(key, {})
    if not isinstance(value, Mapping):
        raise _fail(where, key, f'must be a table such as {{ name = "value" }}, not {value!r}')
    for k, v in value.items():
        if not isinstance(v, str) or not v:
            raise _fail(where, f"{key}.{k}", f"must be a non-empty string, not {v!r}")
    return tuple((str(k), v) for k, v in value.items())


def _delimiter(where: str, entry: Mapping[str, Any], default: str | None) -> str | None:
    value = entry.get("delimiter", default)
    if value is not None and (not isinstance(value, str) or len(value) != 1 or not value.isascii()):
        raise _fail(where, "delimiter", f"{value!r} is not one ASCII character")
    return value


def _count(where: str, entry: Mapping[str, Any]) -> int | None:
    value = entry.get("expected_rows")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(where, "expected_rows", f"must be a non-negative integer, not {value!r}")
    return value


def _relative(where: str, raw_dir: pathlib.Path, name: str) -> pathlib.Path:
    path = pathlib.PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise _fail(where, "path", f"{name!r} must be relative to the raw folder, without '..'")
    return raw_dir / pathlib.Path(*path.parts)


def _unknown_keys(where: str, entry: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise _fail(where, unknown[0], f"unknown key; allowed: {sorted(allowed)}")


def _source(entry: Any, where: str, raw_dir: pathlib.Path, kind: str) -> Source:
    if not isinstance(entry, Mapping):
        raise _fail(where, "entry", "must be a table")
    name = _string(where, entry, "path", required=True)
    assert name is not None
    where = f"{where} ({name})"
    _unknown_keys(where, entry, _FILE_KEYS)
    fmt = _string(where, entry, "format", required=True)
    assert fmt is not None
    if fmt not in FORMATS:
        raise _fail(where, "format", f"{fmt!r} is not one of {sorted(FORMATS)}")
    repeats = _table(where, entry, "repeats")
    for repeat, file in repeats:
        _relative(f"{where} repeats.{repeat}", raw_dir, file)
    fields = {
        "name": name,
        "path": _relative(where, raw_dir, name),
        "instrument": str(_string(where, entry, "instrument", required=True)),
        "round": str(_string(where, entry, "round", required=True)),
        "format": fmt,
        "encoding": _string(where, entry, "encoding", required=False),
        "delimiter": _delimiter(where, entry, _DEFAULT_DELIMITER.get(fmt)),
        "sheet": _string(where, entry, "sheet", required=False),
        "sheets": _table(where, entry, "sheets"),
        "repeats": repeats,
        "date_formats": _table(where, entry, "date_formats"),
        "timezone": _string(where, entry, "timezone", required=False),
        "metadata": _table(where, entry, "metadata"),
        "expected_rows": _count(where, entry),
        "kind": kind,
        "root": raw_dir,
    }
    try:
        return Source(**fields)  # type: ignore[arg-type]
    except SourcesConfigError as err:
        # the declaration's own checks name the source; name the entry of sources.toml instead
        problem = str(err).removeprefix(f"source {name!r}: ")
        raise SourcesConfigError(f"{where}: {problem}") from None


def _frame(entry: Any, where: str, raw_dir: pathlib.Path) -> FrameSource:
    if not isinstance(entry, Mapping):
        raise _fail(where, "entry", "must be a table")
    name = _string(where, entry, "path", required=True)
    assert name is not None
    where = f"{where} ({name})"
    _unknown_keys(where, entry, _FRAME_KEYS)
    fmt = _string(where, entry, "format", required=True)
    if fmt not in {"csv", "xlsx"}:
        raise _fail(where, "format", f"{fmt!r}: a frame or roster is 'csv' or 'xlsx'")
    encoding = _string(where, entry, "encoding", required=fmt == "csv")
    delimiter = _delimiter(where, entry, None)
    if fmt == "csv" and delimiter is None:
        raise _fail(where, "delimiter", "missing (required for csv, e.g. ',')")
    if fmt == "xlsx" and (encoding or delimiter):
        raise _fail(where, "encoding", "workbooks take neither encoding nor delimiter")
    if encoding:
        _check_encoding(where, encoding)
    if fmt == "csv" and entry.get("sheet") is not None:
        raise _fail(where, "sheet", "only workbooks have sheets")

    def _strings(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise _fail(where, key, f"must be a list of strings, not {value!r}")
        return tuple(value)

    return FrameSource(
        name=name,
        path=_relative(where, raw_dir, name),
        format=str(fmt),
        encoding=encoding,
        delimiter=delimiter,
        sheet=_string(where, entry, "sheet", required=False),
        key=_string(where, entry, "key", required=False) or "resp_id",
        key_pattern=_string(where, entry, "key_pattern", required=False),
        enterprise=_string(where, entry, "enterprise", required=False),
        enterprise_pattern=_string(where, entry, "enterprise_pattern", required=False),
        treatment=_string(where, entry, "treatment", required=False),
        treatment_values=_strings("treatment_values"),
        strata=_strings("strata"),
        expected_rows=_count(where, entry),
    )


def parse_sources(text: str, where: str, raw_dir: pathlib.Path) -> Sources:
    """Parse the text of a ``sources.toml`` into frozen declarations.

    Parameters
    ----------
    text : str
        The TOML text.
    where : str
        The file as named in messages (``raw/sources.toml``).
    raw_dir : pathlib.Path
        The raw folder the declared paths are relative to.

    Returns
    -------
    Sources
        Every declared file, the sample frame and the roster.

    Raises
    ------
    SourcesConfigError
        On invalid TOML (with line and column), unknown keys, missing required keys, unknown
        formats or encodings, a missing encoding for a text format, options that do not apply to
        the format, and paths declared twice. The message names the file, the entry and the key.

    Notes
    -----
    The format is documented in this module's docstring and in the README.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SourcesConfigError(f"{where}: not valid TOML: {err}") from None
    _unknown_keys(where, document, _TOP_KEYS)
    lists = {}
    for key, kind in (("files", "survey"), ("backchecks", "backcheck")):
        entries = document.get(key, [])
        if not isinstance(entries, list):
            raise _fail(where, key, f"must be an array of tables ([[{key}]])")
        lists[key] = tuple(
            _source(entry, f"{where} [[{key}]] #{number}", raw_dir, kind)
            for number, entry in enumerate(entries, start=1)
        )
    if not lists["files"]:
        raise _fail(where, "files", "no [[files]] entry: nothing to read")
    seen: dict[str, str] = {}
    for source in (*lists["files"], *lists["backchecks"]):
        if source.name in seen:
            raise _fail(where, "path", f"{source.name!r} is declared twice")
        seen[source.name] = source.kind
    return Sources(
        raw_dir=raw_dir,
        files=lists["files"],
        backchecks=lists["backchecks"],
        sample_frame=(
            _frame(document["sample_frame"], f"{where} [sample_frame]", raw_dir)
            if "sample_frame" in document
            else None
        ),
        roster=(
            _frame(document["roster"], f"{where} [roster]", raw_dir)
            if "roster" in document
            else None
        ),
    )
