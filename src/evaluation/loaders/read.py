"""The public entry points: :func:`read_round` (one file) and :func:`read_sources` (a raw folder).

Reading a file goes through the same steps whatever its format: bytes are read and hashed;
tables are parsed as text (strict decoding, raw header row, ragged rows refused); headers are
mapped onto the instrument (unknown and missing columns reported); the platform is recognised
from its signature columns and checked against the declared format; label exports are refused;
canonical metadata is built; repeat tables are linked; identifier columns are checked for
spreadsheet mangling; row counts are checked against the declaration and the previous run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.model import Instrument
from evaluation.loaders.columns import (
    ColumnMap,
    TableSpec,
    check_label_values,
    detect_platform,
    instrument_tables,
    label_headers,
    map_headers,
    missing_column_issues,
    refuse_label_export,
    wide_patterns,
)
from evaluation.loaders.errors import (
    HeaderError,
    LinkError,
    MangledValueError,
    RowCountError,
    SourcesConfigError,
)
from evaluation.loaders.files import digest, read_bytes, read_sources_toml, zip_members
from evaluation.loaders.frame import SampleFrame, read_sample_frame
from evaluation.loaders.labelled import LabelledData, read_labelled
from evaluation.loaders.manifest import Manifest, ManifestEntry, check_row_counts
from evaluation.loaders.model import MAIN_TABLE, RawRound, SourceInfo, SourceIssue, issue
from evaluation.loaders.parsing import TextTable, parse_csv, parse_xlsx
from evaluation.loaders.platforms import (
    canonical_meta,
    link_by_index,
    link_by_keys,
    reshape_wide,
)
from evaluation.loaders.sources import FORMATS, Source
from evaluation.loaders.text import mangled_reason, normalise_header

__all__ = ["LoadedSources", "read_round", "read_sources"]

logger = logging.getLogger("evaluation.loaders")

#: Question types whose answers may be numeric identifiers kept as text (checked for mangling).
TEXT_ID_TYPES = frozenset(
    {
        "text",
        "barcode",
        "select_one_from_file",
        "select_multiple_from_file",
        "phonenumber",
        "simserial",
        "subscriberid",
    }
)
_EXCEL_SHEET_LIMIT = 31
_MANGLE_CANDIDATE = r"^\s*(?:[+-]?\d+(?:\.\d+)?[eE][+-]?\d+|\d{16,})\s*$"


@dataclass(frozen=True, slots=True)
class _Tables:
    tables: dict[str, TextTable]
    sheets: tuple[tuple[str, str], ...] = ()
    members: tuple[tuple[str, str, str], ...] = ()
    issues: tuple[SourceIssue, ...] = ()


def _kobo_sheets(
    source: Source, specs: Mapping[str, TableSpec], names: tuple[str, ...]
) -> dict[str, str]:
    declared = dict(source.sheets)
    chosen = {MAIN_TABLE: source.sheet or names[0]}
    if chosen[MAIN_TABLE] not in names:
        msg = (
            f"{source.name}: no sheet named {chosen[MAIN_TABLE]!r}; the workbook's sheets are "
            f"{list(names)}"
        )
        raise HeaderError(msg)
    for table in specs:
        if table == MAIN_TABLE:
            continue
        sheet = declared.get(table, table[:_EXCEL_SHEET_LIMIT])
        if sheet not in names:
            msg = (
                f"{source.name}: no sheet {sheet!r} for repeat {table!r} of the instrument; the "
                f"workbook's sheets are {list(names)} (export XLSX with repeat groups, or declare "
                f"sheets.{table} in sources.toml)"
            )
            raise HeaderError(msg)
        chosen[table] = sheet
    return chosen


def _generic_sheets(
    source: Source, specs: Mapping[str, TableSpec], names: tuple[str, ...]
) -> dict[str, str]:
    main = source.sheet
    if main is None:
        if len(names) != 1:
            msg = (
                f"{source.name}: the workbook has {len(names)} sheets {list(names)}; declare "
                "which one holds the data (sheet = ...) in sources.toml"
            )
            raise HeaderError(msg)
        main = names[0]
    chosen = {MAIN_TABLE: main}
    for table, sheet in source.sheets:
        if table not in specs:
            msg = (
                f"{source.name}: sheets.{table} names no repeat of the instrument ({sorted(specs)})"
            )
            raise SourcesConfigError(msg)
        chosen[table] = sheet
    for table, sheet in chosen.items():
        if sheet not in names:
            msg = (
                f"{source.name}: no sheet named {sheet!r} (for table {table!r}); the workbook's "
                f"sheets are {list(names)}"
            )
            raise HeaderError(msg)
    return chosen


def _load_xlsx(source: Source, data: bytes, specs: Mapping[str, TableSpec]) -> _Tables:
    chooser = _kobo_sheets if source.format == "kobo-xlsx" else _generic_sheets
    picked: dict[str, str] = {}

    def _select(names: tuple[str, ...]) -> dict[str, str]:
        picked.update(chooser(source, specs, names))
        return picked

    names, tables = parse_xlsx(
        data, _select, source.name, allow_empty=[t for t in specs if t != MAIN_TABLE]
    )
    unread = [n for n in names if n not in picked.values()]
    issues = tuple(
        issue(
            "unread_sheet",
            MAIN_TABLE,
            f"{source.name}: sheet {n!r} is not read (no table of the instrument)",
        )
        for n in unread
    )
    return _Tables(tables=tables, sheets=tuple(picked.items()), issues=issues)


def _load_csv(source: Source, data: bytes, specs: Mapping[str, TableSpec]) -> _Tables:
    assert source.encoding is not None
    assert source.delimiter is not None
    tables = {
        MAIN_TABLE: parse_csv(
            data,
            encoding=source.encoding,
            delimiter=source.delimiter,
            where=source.name,
            table=MAIN_TABLE,
        )
    }
    members: list[tuple[str, str, str]] = []
    issues: list[SourceIssue] = []
    repeats = dict(source.repeats)
    for table in specs:
        if table == MAIN_TABLE:
            continue
        if source.format == "surveycto-wide":
            continue
        if table not in repeats:
            issues.append(
                issue(
                    "missing_table",
                    table,
                    f"{source.name}: the instrument's repeat {table!r} is not in this export "
                    + (
                        "(KoboToolbox CSV holds the main table only: export XLSX for repeats)"
                        if source.format == "kobo-csv"
                        else "(declare its file under repeats in sources.toml)"
                    ),
                )
            )
            continue
        name = repeats[table]
        content = read_bytes(source.resolve(name), name)
        tables[table] = parse_csv(
            content,
            encoding=source.encoding,
            delimiter=source.delimiter,
            where=name,
            table=table,
            allow_empty=True,
        )
        members.append((table, name, digest(content)))
    for table in repeats:
        if table not in specs:
            msg = (
                f"{source.name}: repeats.{table} names no repeat of the instrument "
                f"({sorted(specs)})"
            )
            raise SourcesConfigError(msg)
    return _Tables(tables=tables, members=tuple(members), issues=tuple(issues))


def _load_zip(source: Source, data: bytes, specs: Mapping[str, TableSpec]) -> _Tables:
    assert source.encoding is not None
    assert source.delimiter is not None
    members = zip_members(data, source.name)
    csvs = {m: b for m, b in members.items() if m.lower().endswith(".csv")}
    issues = [
        issue("unread_member", MAIN_TABLE, f"{source.name}: member {m!r} is not a CSV; not read")
        for m in members
        if m not in csvs
    ]
    parsed = {
        m: parse_csv(
            b,
            encoding=source.encoding,
            delimiter=source.delimiter,
            where=f"{source.name}:{m}",
            table=m,
            allow_empty=True,
        )
        for m, b in csvs.items()
    }
    mains = [
        m for m, t in parsed.items() if "SubmissionDate" in {normalise_header(h) for h in t.headers}
    ]
    if len(mains) != 1:
        msg = (
            f"{source.name}: expected one main CSV with a SubmissionDate column among "
            f"{list(csvs)}, found {len(mains)}; is this an ODK Central CSV export?"
        )
        raise HeaderError(msg)
    main = mains[0]
    if parsed[main].frame.empty:
        msg = f"{source.name}:{main}: the file has a header but no data rows"
        raise RowCountError(msg)
    stem = main.rsplit("/", 1)[-1][: -len(".csv")]
    folder = main[: -len(stem) - len(".csv")]
    tables = {MAIN_TABLE: parsed[main]}
    listed = [(MAIN_TABLE, main, digest(csvs[main]))]
    for member, table in parsed.items():
        if member == main:
            continue
        base = member[len(folder) : -len(".csv")] if member.startswith(folder) else member
        repeat = base[len(stem) + 1 :] if base.startswith(f"{stem}-") else None
        if repeat not in specs or repeat == MAIN_TABLE:
            issues.append(
                issue(
                    "unread_member",
                    MAIN_TABLE,
                    f"{source.name}: member {member!r} is no repeat of the instrument; not read",
                )
            )
            continue
        tables[repeat] = table
        listed.append((repeat, member, digest(csvs[member])))
    issues += [
        issue(
            "missing_table",
            name,
            f"{source.name}: no member {stem}-{name}.csv for the instrument's repeat {name!r}",
        )
        for name in specs
        if name not in (MAIN_TABLE, *tables)
    ]
    return _Tables(tables=tables, members=tuple(listed), issues=tuple(issues))


def _check_platform(
    source: Source, headers: tuple[str, ...]
) -> tuple[str | None, list[SourceIssue]]:
    detected = detect_platform(normalise_header(h) for h in headers)
    declared = source.platform
    signature = {
        "odk": "SubmissionDate and KEY",
        "kobo": "_uuid and _submission_time",
        "surveycto": "formdef_version",
    }
    if declared is None:
        if detected is not None and FORMATS[source.format] != "labelled":
            msg = (
                f"{source.name}: declared format {source.format!r} but the columns "
                f"{signature[detected]} are those of a {detected} export; declare its platform "
                "format in sources.toml"
            )
            raise HeaderError(msg)
        return detected, []
    if detected == declared:
        return detected, []
    if detected is not None:
        msg = (
            f"{source.name}: declared format {source.format!r} but the columns "
            f"{signature[detected]} are those of a {detected} export"
        )
        raise HeaderError(msg)
    if declared == "kobo":
        return declared, [
            issue(
                "platform_metadata_missing",
                MAIN_TABLE,
                f"{source.name}: no KoboToolbox submission columns (_uuid, _submission_time): "
                "instance IDs and submission times are missing (download the export from the "
                "server with its metadata)",
            )
        ]
    msg = (
        f"{source.name}: declared format {source.format!r} but the header has no "
        f"{signature[declared]} columns; is this a {declared} export?"
    )
    raise HeaderError(msg)


def _check_mangled(
    frame: pd.DataFrame, cmap: ColumnMap, by_name: Mapping[str, str], rows: np.ndarray, where: str
) -> None:
    columns = [
        name
        for name, kind, question in zip(cmap.names, cmap.kinds, cmap.questions, strict=True)
        if kind == "question"
        and by_name.get(question or "") in TEXT_ID_TYPES
        and pd.api.types.is_string_dtype(frame[name])
    ]
    if not columns or frame.empty:
        return
    # One pass over every identifier column at once (RE2 through pyarrow), then the exact rule
    # (which spares genuine 18-digit ID numbers) on the few candidates.
    chunks = []
    for name in columns:
        column = pa.array(frame[name], type=pa.large_string())
        chunks += column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    cells = pa.chunked_array(chunks, type=pa.large_string())
    hits = pc.fill_null(pc.match_substring_regex(cells, _MANGLE_CANDIDATE), False)
    positions = np.flatnonzero(hits.to_numpy(zero_copy_only=False))
    if not positions.size:
        return
    values = cells.take(pa.array(positions)).to_pylist()
    found: dict[str, list[tuple[int, str]]] = {}
    for position, value in zip(positions.tolist(), values, strict=True):
        reason = mangled_reason(str(value))
        if reason is not None:
            column, row = divmod(position, len(frame))
            found.setdefault(columns[column], []).append((row, reason))
    for name, rows_found in found.items():
        listed = ", ".join(f"row {rows[i]} ({r})" for i, r in rows_found[:10])
        msg = (
            f"{where}: column {name!r} holds {len(rows_found)} values mangled by a spreadsheet: "
            f"{listed}; the digits are lost: recover the values from the server or the "
            "original file (format ID columns as text before opening in Excel)"
        )
        raise MangledValueError(msg)


def _labelled_table(source: Source) -> tuple[LabelledData, TextTable]:
    labelled = read_labelled(source.path, encoding=source.encoding, name=source.name)
    data = labelled.data
    table = TextTable(
        where=source.name,
        headers=tuple(str(c) for c in data.columns),
        frame=data.set_axis(range(data.shape[1]), axis=1),
        source_rows=np.arange(1, len(data) + 1, dtype=np.int64),
    )
    return labelled, table


def read_round(
    source: Source, instrument: Instrument, *, previous_rows: int | None = None
) -> RawRound:
    """Read one declared survey export into a :class:`~evaluation.loaders.model.RawRound`.

    Parameters
    ----------
    source : Source
        The file's declaration from ``sources.toml``.
    instrument : Instrument
        The questionnaire the file answers (the instrument round, or its back-check form).
    previous_rows : int, optional
        Rows the previous run read from the same file (from its manifest).

    Returns
    -------
    RawRound
        The responses as received, repeat tables linked by keys, canonical metadata, source
        metadata and the issues found.

    Raises
    ------
    SourceFormatError
        Or one of its subclasses (:class:`~evaluation.loaders.errors.DecodingError`,
        :class:`~evaluation.loaders.errors.HeaderError`,
        :class:`~evaluation.loaders.errors.LabelExportError`,
        :class:`~evaluation.loaders.errors.RowCountError`,
        :class:`~evaluation.loaders.errors.MangledValueError`,
        :class:`~evaluation.loaders.errors.LinkError`) when the file cannot be read safely; the
        message names the file, the row or line, the column, the value (unless it may be an
        identifier) and what was expected.
    SourcesConfigError
        When the file does not exist.

    Notes
    -----
    Reads: the declared file (and, for ``surveycto-long``, its repeat files). Unit of
    observation: submission; key: ``meta.source_row`` (``instance_id`` may repeat and is
    reported, not resolved). Nothing is dropped: columns the instrument does not know are kept
    under their header and reported.
    """
    data = read_bytes(source.path, source.name)
    specs = instrument_tables(instrument)
    kind = FORMATS[source.format]
    labels = None
    format_version = None
    encoding_used = source.encoding
    if kind == "labelled":
        labelled, main_table = _labelled_table(source)
        loaded = _Tables(tables={MAIN_TABLE: main_table})
        labels = labelled.labels
        format_version = labelled.format_version
        encoding_used = labelled.encoding
    elif kind == "xlsx":
        loaded = _load_xlsx(source, data, specs)
    elif kind == "zip":
        loaded = _load_zip(source, data, specs)
    else:
        loaded = _load_csv(source, data, specs)
    tables = loaded.tables
    platform, issues = _check_platform(source, tables[MAIN_TABLE].headers)
    issues = [*loaded.issues, *issues]
    for table in tables.values():
        issues += table.issues
    # SurveyCTO wide files, and SPSS/Stata files a survey firm made from them, spread repeats
    options = {cl.name: [c.special or c.name for c in cl.choices] for cl in instrument.choice_lists}
    patterns = (
        wide_patterns(specs, options)
        if source.format == "surveycto-wide" or kind == "labelled"
        else ()
    )
    maps: dict[str, ColumnMap] = {}
    for name, table in tables.items():
        maps[name] = map_headers(
            table.headers,
            specs[name],
            instrument,
            platform=platform,
            where=table.where,
            declared=[h for _, h in source.metadata] if name == MAIN_TABLE else (),
            case_insensitive=kind == "labelled",
            wide=patterns if name == MAIN_TABLE else (),
        )
    labelled = {q.name for q, _ in instrument.walk() if q.label}
    names_hits = sum(
        k in {"question", "wide"} and q in labelled
        for m in maps.values()
        for k, q in zip(m.kinds, m.questions, strict=True)
    )
    label_hits = sum(label_headers(maps[t].headers, maps[t].kinds, specs[t]) for t in maps)
    refuse_label_export(label_hits, names_hits, source.name)
    frames = {
        name: table.frame.set_axis(list(maps[name].names), axis=1) for name, table in tables.items()
    }
    by_name = {q.name: q.type for q, _ in instrument.walk()}
    for name, frame in frames.items():
        check_label_values(frame, maps[name], instrument, tables[name].where)
        _check_mangled(frame, maps[name], by_name, tables[name].source_rows, tables[name].where)
    for name, cmap in maps.items():
        issues += cmap.issues
        issues += [
            found
            for position, found in tables[name].typed_cells
            if found.kind == "date_cells"
            or cmap.kinds[position] == "unknown"
            or by_name.get(cmap.questions[position] or "") in TEXT_ID_TYPES
        ]
    main = frames[MAIN_TABLE]
    meta, meta_issues = canonical_meta(
        main,
        maps[MAIN_TABLE],
        specs[MAIN_TABLE],
        source,
        platform=platform,
        source_rows=tables[MAIN_TABLE].source_rows,
        where=source.name,
    )
    issues += meta_issues
    source_path = {name: cmap.source_path() for name, cmap in maps.items()}
    where = {name: table.where for name, table in tables.items()}
    repeat_inputs = {
        name: (frames[name], tables[name].source_rows) for name in frames if name != MAIN_TABLE
    }
    if patterns:
        main, repeats, paths = reshape_wide(main, maps[MAIN_TABLE], specs, patterns, meta)
        source_path[MAIN_TABLE] = {
            k: v for k, v in source_path[MAIN_TABLE].items() if k in main.columns
        }
        source_path.update(paths)
        issues += _wide_missing(specs, repeats, source.name)
    elif not repeat_inputs:
        repeats = {}
    elif all({"PARENT_KEY", "KEY"} <= set(f.columns) for f, _ in repeat_inputs.values()):
        repeats = link_by_keys(repeat_inputs, specs, meta, where)
        for name in repeats:
            source_path[name] = {
                "parent_key": "PARENT_KEY",
                "key": "KEY",
                **{k: v for k, v in source_path[name].items() if v not in {"PARENT_KEY", "KEY"}},
            }
    elif all("_parent_index" in f.columns for f, _ in repeat_inputs.values()):
        repeats = link_by_index(repeat_inputs, specs, main, meta, where)
    else:
        msg = (
            f"{source.name}: repeat tables carry neither PARENT_KEY/KEY nor _parent_index "
            "columns; they cannot be linked to their submissions"
        )
        raise LinkError(msg)
    rows = len(main)
    check_row_counts(
        source.name, MAIN_TABLE, rows, expected=source.expected_rows, previous=previous_rows
    )
    if source.expected_rows is not None and rows > source.expected_rows:
        issues.append(
            issue(
                "row_count_changed",
                MAIN_TABLE,
                f"{source.name}: {rows} rows, more than expected_rows = {source.expected_rows} "
                "declared in sources.toml (update the declaration)",
            )
        )
    info = SourceInfo(
        name=source.name,
        sha256=digest(data),
        size=len(data),
        format=source.format,
        platform=platform,
        encoding=encoding_used,
        delimiter=source.delimiter,
        sheets=loaded.sheets,
        members=loaded.members,
        rows=((MAIN_TABLE, rows), *((name, len(frame)) for name, frame in repeats.items())),
        format_version=format_version,
    )
    if labels is not None:
        renamed = dict(zip(tables[MAIN_TABLE].headers, maps[MAIN_TABLE].names, strict=True))
        labels = labels.renamed(renamed)
    for found in issues:
        logger.warning("%s", found.message)
    return RawRound(
        instrument=instrument,
        round=source.round,
        source=source,
        info=info,
        data=main,
        meta=meta,
        repeats=repeats,
        source_path=source_path,
        labels=labels,
        issues=tuple(issues),
    )


def _wide_missing(
    specs: Mapping[str, TableSpec], repeats: Mapping[str, pd.DataFrame], name: str
) -> list[SourceIssue]:
    found: list[SourceIssue] = []
    for table, spec in specs.items():
        if table != MAIN_TABLE:
            present = repeats[table].columns if table in repeats else ()
            found += missing_column_issues(spec, present, f"{name} repeat {table!r}")
    return found


@dataclass(frozen=True, slots=True)
class LoadedSources:
    """Everything read from a raw folder.

    Attributes
    ----------
    rounds : tuple of RawRound
        Survey exports, in the order declared.
    backchecks : tuple of RawRound
        Back-check exports (each read with the back-check form of its instrument round).
    sample_frame : SampleFrame or None
        The validated sample frame.
    roster : SampleFrame or None
        The validated roster.
    manifest : Manifest
        Hash, size, format, encoding and rows of every file read.
    """

    rounds: tuple[RawRound, ...]
    backchecks: tuple[RawRound, ...] = ()
    sample_frame: SampleFrame | None = None
    roster: SampleFrame | None = None
    manifest: Manifest = field(default_factory=Manifest)


def _entry(
    info: SourceInfo, kind: str, instrument: str | None = None, round_: str | None = None
) -> ManifestEntry:
    return ManifestEntry(
        name=info.name,
        kind=kind,
        instrument=instrument,
        round=round_,
        format=info.format,
        sha256=info.sha256,
        size=info.size,
        encoding=info.encoding,
        delimiter=info.delimiter,
        sheets=info.sheets,
        members=info.members,
        rows=info.rows,
        format_version=info.format_version,
    )


def read_sources(
    raw_dir: str | os.PathLike[str],
    instruments: Mapping[tuple[str, str], Instrument],
    *,
    previous: Manifest | None = None,
) -> LoadedSources:
    """Read every file declared in a raw folder's ``sources.toml``.

    Parameters
    ----------
    raw_dir : path-like
        The raw folder (``--raw DIR``), read-only.
    instruments : Mapping
        ``(instrument, round)`` to the built form, as returned by
        :func:`evaluation.instruments.files.read_instruments`.
    previous : Manifest, optional
        The previous run's manifest: a file with fewer rows than then is refused.

    Returns
    -------
    LoadedSources
        The survey rounds, back-checks, sample frame, roster and the run's manifest.

    Raises
    ------
    SourcesConfigError
        When ``sources.toml`` is missing or invalid, or names an instrument round that does not
        exist (the message lists the known ones).
    SourceFormatError
        From any file (see :func:`read_round`).

    Notes
    -----
    Reads: ``sources.toml`` and every file it declares; writes nothing. Back-check files are read
    with :func:`evaluation.instruments.backcheck.backcheck_instrument` of the round they check.
    """
    sources = read_sources_toml(raw_dir)

    def _form(source: Source) -> Instrument:
        key = (source.instrument, source.round)
        if key not in instruments:
            msg = (
                f"{source.name}: sources.toml names instrument {source.instrument!r} round "
                f"{source.round!r}, which is not defined; known: {sorted(instruments)}"
            )
            raise SourcesConfigError(msg)
        built = instruments[key]
        return backcheck_instrument(built) if source.kind == "backcheck" else built

    def _previous_rows(source: Source) -> int | None:
        entry = previous.entry(source.name) if previous is not None else None
        return entry.rows_of(MAIN_TABLE) if entry is not None else None

    rounds = tuple(read_round(s, _form(s), previous_rows=_previous_rows(s)) for s in sources.files)
    backchecks = tuple(
        read_round(s, _form(s), previous_rows=_previous_rows(s)) for s in sources.backchecks
    )
    frame = read_sample_frame(sources.sample_frame) if sources.sample_frame else None
    roster = read_sample_frame(sources.roster) if sources.roster else None
    entries = [
        _entry(r.info, r.source.kind, r.source.instrument, r.round) for r in (*rounds, *backchecks)
    ]
    entries += [
        _entry(table.info, kind)
        for kind, table in (("sample_frame", frame), ("roster", roster))
        if table is not None
    ]
    return LoadedSources(
        rounds=rounds,
        backchecks=backchecks,
        sample_frame=frame,
        roster=roster,
        manifest=Manifest(tuple(entries)),
    )
