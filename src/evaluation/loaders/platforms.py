"""Platform conventions: canonical metadata, repeat links and the reshaping of wide files.

Pure functions from parsed tables to the parts of a :class:`~evaluation.loaders.model.RawRound`:

- :func:`canonical_meta` finds each submission's instance ID, submission time, start and end,
  form version, device and review state wherever the platform keeps them, and parses times with
  the declared format into tz-aware UTC;
- :func:`link_by_keys` links ODK Central and SurveyCTO long repeat tables through
  ``PARENT_KEY``/``KEY``;
- :func:`link_by_index` links KoboToolbox repeat sheets through ``_parent_index``/``_index``
  and builds ODK-style keys for them;
- :func:`reshape_wide` turns SurveyCTO wide columns (``name_1``, ``name_2``...) into repeat
  tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from evaluation.loaders.columns import ColumnMap, TableSpec
from evaluation.loaders.errors import LinkError, SourceFormatError
from evaluation.loaders.model import LINK_COLUMNS, MAIN_TABLE, META_COLUMNS, SourceIssue
from evaluation.loaders.sources import Source

__all__ = [
    "canonical_meta",
    "link_by_index",
    "link_by_keys",
    "parse_times",
    "reshape_wide",
]

_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_KOBO_VERSION = re.compile(r"__version\d*__")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Platform columns per canonical field, in order of preference.
_PLATFORM_FIELDS = {
    "odk": {
        "instance_id": ("KEY",),
        "submitted_at": ("SubmissionDate",),
        "form_version": ("FormVersion",),
        "device_id": ("DeviceID",),
        "review_state": ("ReviewState",),
    },
    "surveycto": {
        "instance_id": ("KEY",),
        "submitted_at": ("SubmissionDate",),
        "form_version": ("formdef_version",),
        "review_state": ("review_status",),
    },
    "kobo": {
        "instance_id": ("meta/instanceID", "instanceID", "_uuid"),
        "submitted_at": ("_submission_time",),
        "review_state": ("_validation_status",),
    },
}
# Question types that fill a canonical field when the platform has no column for it.
_QUESTION_FIELDS = {"start": "start", "end": "end", "device_id": "deviceid"}


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a date-time column comes from and how its naive values are read (for messages)."""

    file: str
    column: str
    rows: np.ndarray
    timezone: str | None
    naive_is_utc: bool


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values if values.dtype == "str" else values.astype("str")
    return text.mask(text == "")


def parse_times(
    values: pd.Series,
    fmt: str | None,
    timezone: str | None,
    *,
    naive_is_utc: bool,
    where: str,
    column: str,
    rows: np.ndarray,
) -> pd.Series:
    """Parse date-time text with a declared format into tz-aware UTC.

    Parameters
    ----------
    values : pandas.Series
        Text (empty means missing), numbers (Excel serials) or datetime64 values.
    fmt : str or None
        ``"iso8601"`` (default when ``None``), ``"excel-serial"`` or a strptime format.
    timezone : str or None
        IANA zone of values written without a UTC offset.
    naive_is_utc : bool
        Values without an offset are UTC by the platform's definition (KoboToolbox
        ``_submission_time``); ``timezone`` is then not needed for them.
    where : str
        The file as named in messages.
    column : str
        The column as named in messages.
    rows : numpy.ndarray
        ``source_row`` of each value, for messages.

    Returns
    -------
    pandas.Series
        Tz-aware UTC date-times; NaT where the value is missing.

    Raises
    ------
    SourceFormatError
        When a value does not match the declared format (the message gives the row, column, value
        and format), or values without an offset need a time zone and none is declared.
    """
    at = _Where(where, column, rows, timezone, naive_is_utc)
    fmt = fmt or "iso8601"
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.Series(values, copy=False)
        if parsed.dt.tz is not None:
            return parsed.dt.tz_convert("UTC")
        return _localise(at, parsed)
    if fmt == "excel-serial":
        text = _blank_to_na(values)
        numbers = pd.to_numeric(text, errors="coerce")
        _refuse(at, numbers.isna() & text.notna(), text, "an Excel serial day number")
        return _localise(at, _EXCEL_EPOCH + pd.to_timedelta(numbers, unit="D"))
    text = _blank_to_na(values)
    present = text.notna()
    if fmt == "iso8601":
        fast = _iso_fast(text)
        if fast is not None:
            if fast.dt.tz is not None:
                return fast.dt.tz_convert("UTC")
            return _localise(at, fast)
        offset = text.str.contains(_OFFSET, regex=True, na=False)
        parsed = pd.to_datetime(text.where(offset), format="ISO8601", utc=True, errors="coerce")
        naive_values = text.where(present & ~offset)
        if naive_values.notna().any():
            naive = pd.to_datetime(naive_values, format="ISO8601", errors="coerce")
            _refuse(at, naive.isna() & naive_values.notna(), text, "ISO 8601")
            parsed = parsed.where(offset, _localise(at, naive))
        _refuse(at, parsed.isna() & present, text, "ISO 8601")
        return parsed
    aware = "%z" in fmt or "%Z" in fmt
    if not aware and "%f" not in fmt:
        fast = _arrow_strptime(text, fmt)
        if fast is not None and not (fast.isna() & present).any():
            return _localise(at, fast)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=aware)
    _refuse(at, parsed.isna() & present, text, f"the declared format {fmt!r}")
    return parsed if aware else _localise(at, parsed)


def _arrow_strptime(text: pd.Series, fmt: str) -> pd.Series | None:
    # pyarrow's strptime is several times faster than pandas' for formats with month names and
    # AM/PM (SurveyCTO); any value it cannot read sends the column through pandas, whose error
    # names the value.
    try:
        parsed = pc.strptime(pa.array(text), format=fmt, unit="us", error_is_null=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(parsed.to_pandas(), index=text.index).astype("datetime64[us]")


def _iso_fast(text: pd.Series) -> pd.Series | None:
    # One strict pass with pyarrow when every value has a UTC offset (or none has one), the
    # usual case; mixed values go through the careful path, which also names a bad value.
    values = pa.array(text)
    for target in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
        try:
            parsed = pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return pd.Series(parsed.to_pandas(), index=text.index)
    return None


def _refuse(at: _Where, bad: pd.Series, values: pd.Series, expected: str) -> None:
    if not bad.any():
        return
    first = int(np.flatnonzero(bad.to_numpy())[0])
    msg = (
        f"{at.file}: row {at.rows[first]}, column {at.column!r}: {values.iloc[first]!r} is not a "
        f"date-time in {expected} ({int(bad.sum())} such values); fix date_formats in "
        "sources.toml"
    )
    raise SourceFormatError(msg)


def _localise(at: _Where, naive: pd.Series) -> pd.Series:
    present = naive.notna().to_numpy()
    if at.naive_is_utc:
        return naive.dt.tz_localize("UTC")
    if at.timezone is None:
        if present.any():
            first = int(np.flatnonzero(present)[0])
            msg = (
                f"{at.file}: row {at.rows[first]}, column {at.column!r}: date-times have no UTC "
                "offset and no time zone is declared; declare timezone (e.g. 'Asia/Shanghai') "
                "in sources.toml"
            )
            raise SourceFormatError(msg)
        return naive.dt.tz_localize("UTC")
    try:
        local = naive.dt.tz_localize(at.timezone, ambiguous="raise", nonexistent="raise")
    except (ValueError, TypeError) as err:
        msg = (
            f"{at.file}: column {at.column!r}: local times do not exist or are ambiguous in "
            f"{at.timezone}: {err}"
        )
        raise SourceFormatError(msg) from None
    return local.dt.tz_convert("UTC")


def _first_present(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series | None:
    """Coalesce the non-empty values of several columns, in order."""
    found = None
    for column in columns:
        if column not in frame.columns:
            continue
        values = _blank_to_na(frame[column])
        found = values if found is None else found.fillna(values)
    return found


def canonical_meta(
    frame: pd.DataFrame,
    column_map: ColumnMap,
    spec: TableSpec,
    source: Source,
    *,
    platform: str | None,
    source_rows: np.ndarray,
    where: str,
) -> tuple[pd.DataFrame, list[SourceIssue]]:
    """Build the canonical metadata of the main table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The main table, columns named as in ``column_map.names``.
    column_map : ColumnMap
        How the columns map onto the instrument.
    spec : TableSpec
        The main table of the instrument.
    source : Source
        The declaration (date formats, time zone, metadata columns).
    platform : str or None
        The platform recognised from the signature columns.
    source_rows : numpy.ndarray
        ``source_row`` of every row.
    where : str
        The file as named in messages.

    Returns
    -------
    tuple of (pandas.DataFrame, list of SourceIssue)
        The :data:`~evaluation.loaders.model.META_COLUMNS` frame (same index as ``frame``) and
        the issues found (duplicate instance IDs, mixed form versions).

    Raises
    ------
    SourceFormatError
        When a declared metadata column is absent, or a date-time does not parse.

    Notes
    -----
    Sources, in order: a column declared under ``metadata`` in ``sources.toml``; the platform's
    own column (ODK Central ``KEY``, ``SubmissionDate``, ``FormVersion``, ``DeviceID``,
    ``ReviewState``; KoboToolbox ``meta/instanceID`` or ``_uuid`` with ``uuid:`` prepended,
    ``_submission_time`` (UTC without offset), ``__version__``, ``_validation_status``;
    SurveyCTO ``KEY``, ``SubmissionDate``, ``formdef_version``, ``review_status``); the
    instrument's ``start``, ``end`` and ``deviceid`` questions. Times are parsed with
    :func:`parse_times`.
    """
    by_header = dict(zip(column_map.headers, column_map.names, strict=True))
    fields = _PLATFORM_FIELDS.get(platform or "", {})
    by_type: dict[str, str] = {}
    for q, _ in spec.questions:
        by_type.setdefault(q.type, q.name)
    columns: dict[str, pd.Series | None] = {}
    chosen: dict[str, str] = {}
    for field in META_COLUMNS[2:]:
        declared = source.metadata_column(field)
        if declared is not None:
            if declared not in by_header:
                msg = (
                    f"{where}: sources.toml declares metadata.{field} = {declared!r} but the "
                    "file has no such column"
                )
                raise SourceFormatError(msg)
            columns[field] = _blank_to_na(frame[by_header[declared]])
            chosen[field] = declared
            continue
        names = list(fields.get(field, ()))
        if field in _QUESTION_FIELDS and _QUESTION_FIELDS[field] in by_type:
            names.append(by_type[_QUESTION_FIELDS[field]])
        if field == "form_version" and platform == "kobo":
            names += [n for n in frame.columns if _KOBO_VERSION.fullmatch(str(n))]
        present = [n for n in names if n in frame.columns]
        columns[field] = _first_present(frame, present)
        if present:
            chosen[field] = present[0]
    index = frame.index
    instance = columns["instance_id"]
    if instance is not None and chosen.get("instance_id") == "_uuid":
        instance = instance.where(
            instance.isna() | instance.str.startswith("uuid:"), "uuid:" + instance
        )
    rows = pd.Series(source_rows, index=index, dtype="int64")
    instance = instance if instance is not None else pd.Series(np.nan, index=index, dtype="str")
    missing = instance.isna()
    key = instance.mask(missing, "row:" + rows[missing].astype(str)) if missing.any() else instance
    out: dict[str, pd.Series] = {
        "source_row": rows,
        "key": key.astype("str"),
        "instance_id": instance.astype("str"),
    }
    no_times = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    for field in ("submitted_at", "start", "end"):
        values = columns[field]
        if values is None or values.isna().all():
            out[field] = no_times
            continue
        fmt = source.date_format(field)
        if fmt is None and platform == "surveycto":
            msg = (
                f"{where}: column {chosen[field]!r} ({field}) holds SurveyCTO date text; declare "
                f"date_formats.{field} in sources.toml (e.g. '%b %d, %Y %I:%M:%S %p')"
            )
            raise SourceFormatError(msg)
        if fmt is None and platform is None and not pd.api.types.is_datetime64_any_dtype(values):
            msg = (
                f"{where}: column {chosen[field]!r} ({field}) has no declared format; declare "
                f"date_formats.{field} in sources.toml ('iso8601', 'excel-serial' or strptime)"
            )
            raise SourceFormatError(msg)
        out[field] = parse_times(
            values,
            fmt,
            source.timezone,
            naive_is_utc=(field == "submitted_at" and platform in {"kobo", "odk"}),
            where=where,
            column=chosen[field],
            rows=source_rows,
        )
    no_text = pd.Series(np.nan, index=index, dtype="str")
    for field in ("form_version", "device_id", "review_state"):
        values = columns[field]
        out[field] = values.astype("str") if values is not None else no_text
    meta = pd.DataFrame(out, index=index)[list(META_COLUMNS)]
    return meta, _meta_issues(meta, where)


def _meta_issues(meta: pd.DataFrame, where: str) -> list[SourceIssue]:
    issues = []
    instance = meta["instance_id"]
    repeated = instance.notna() & instance.duplicated(keep=False)
    if repeated.any():
        rows = meta.loc[repeated, "source_row"].to_numpy()
        groups = instance[repeated].nunique()
        issues.append(
            SourceIssue(
                kind="duplicate_instance_id",
                table=MAIN_TABLE,
                column="instance_id",
                count=int(repeated.sum()),
                rows=tuple(int(r) for r in rows[:10]),
                message=(
                    f"{where}: {int(repeated.sum())} rows share {groups} instance IDs (the same "
                    "submission more than once: duplicate downloads, edits or copies); cleaning "
                    "must resolve them"
                ),
            )
        )
    version = meta["form_version"]
    versions = version.fillna("(none)").value_counts().to_dict() if version.notna().any() else {}
    if len(versions) > 1:
        listed = ", ".join(f"{v!r}: {c}" for v, c in sorted(versions.items()))
        issues.append(
            SourceIssue(
                kind="mixed_form_versions",
                table=MAIN_TABLE,
                column="form_version",
                count=len(versions),
                rows=(),
                message=f"{where}: submissions come from {len(versions)} form versions ({listed})",
            )
        )
    return issues


def _link_frame(
    body: pd.DataFrame,
    *,
    submission_row: np.ndarray,
    instance_id: pd.Series,
    parent_key: pd.Series,
    key: pd.Series,
    source_rows: np.ndarray,
) -> pd.DataFrame:
    links = pd.DataFrame(
        {
            "submission_row": pd.Series(submission_row, dtype="int64"),
            "instance_id": pd.Series(instance_id.to_numpy(), dtype="str"),
            "parent_key": pd.Series(parent_key.to_numpy(), dtype="str"),
            "key": pd.Series(key.to_numpy(), dtype="str"),
            "source_row": pd.Series(source_rows, dtype="int64"),
        }
    )
    body = body.reset_index(drop=True)
    return pd.concat([links[list(LINK_COLUMNS)], body], axis=1)


def _parent_rows(
    parent: pd.DataFrame,
    links: pd.Series,
    *,
    column: str,
    parent_name: str | None,
    source_rows: np.ndarray,
    where: str,
) -> pd.DataFrame:
    """Look up each child row's parent, refusing orphans."""
    found = links.isin(parent.index).to_numpy()
    if not found.all():
        first = int(np.flatnonzero(~found)[0])
        msg = (
            f"{where}: {int((~found).sum())} rows have a {column} that matches no row of table "
            f"{parent_name or MAIN_TABLE!r} (orphans), first on row {source_rows[first]}: "
            f"{links.iloc[first]!r}"
        )
        raise LinkError(msg)
    return parent.loc[links.to_numpy()]


def link_by_keys(
    tables: Mapping[str, tuple[pd.DataFrame, np.ndarray]],
    specs: Mapping[str, TableSpec],
    meta: pd.DataFrame,
    where: Mapping[str, str],
) -> dict[str, pd.DataFrame]:
    """Link repeat tables written with ``PARENT_KEY``/``KEY`` (ODK Central, SurveyCTO long).

    Parameters
    ----------
    tables : Mapping
        Repeat name to ``(frame, source_rows)``; each frame has ``PARENT_KEY`` and ``KEY``.
    specs : Mapping
        The instrument's tables.
    meta : pandas.DataFrame
        Canonical metadata of the main table (its ``key`` is the parent key of top-level
        repeats).
    where : Mapping
        Table name to the file or member as named in messages.

    Returns
    -------
    dict
        Repeat name to its table with the link columns first (``submission_row``,
        ``instance_id``, ``parent_key``, ``key``, ``source_row``), then every other column;
        ``PARENT_KEY`` and ``KEY`` become ``parent_key`` and ``key``.

    Raises
    ------
    LinkError
        When a ``PARENT_KEY`` matches no row of the parent table, a ``KEY`` is empty or repeats
        within a table.
    """
    lookup: dict[str, pd.DataFrame] = {
        MAIN_TABLE: pd.DataFrame(
            {
                "submission_row": meta["source_row"].to_numpy(),
                "instance_id": meta["instance_id"].to_numpy(),
            },
            index=pd.Index(meta["key"].to_numpy(), dtype="str"),
        )
    }
    if lookup[MAIN_TABLE].index.has_duplicates:
        lookup[MAIN_TABLE] = lookup[MAIN_TABLE][~lookup[MAIN_TABLE].index.duplicated()]
    linked: dict[str, pd.DataFrame] = {}
    for name, spec in specs.items():
        if name == MAIN_TABLE or name not in tables:
            continue
        frame, source_rows = tables[name]
        for column in ("PARENT_KEY", "KEY"):
            if column not in frame.columns:
                msg = f"{where[name]}: no {column} column; repeat rows cannot be linked"
                raise LinkError(msg)
        keys = frame["KEY"].astype("str")
        empty = (keys.str.strip() == "").to_numpy()
        if empty.any():
            msg = f"{where[name]}: row {source_rows[np.flatnonzero(empty)[0]]}: empty KEY"
            raise LinkError(msg)
        duplicated = keys.duplicated().to_numpy()
        if duplicated.any():
            row = source_rows[np.flatnonzero(duplicated)[0]]
            value = keys.iloc[np.flatnonzero(duplicated)[0]]
            msg = f"{where[name]}: row {row}: KEY {value!r} repeats"
            raise LinkError(msg)
        parent = lookup.get(spec.parent or MAIN_TABLE)
        parents = frame["PARENT_KEY"].astype("str")
        if parent is None:
            msg = f"{where[name]}: parent table {spec.parent!r} was not read; cannot link"
            raise LinkError(msg)
        matched = _parent_rows(
            parent,
            parents,
            column="PARENT_KEY",
            parent_name=spec.parent,
            source_rows=source_rows,
            where=where[name],
        )
        body = frame.drop(columns=["PARENT_KEY", "KEY"])
        linked[name] = _link_frame(
            body,
            submission_row=matched["submission_row"].to_numpy(),
            instance_id=pd.Series(matched["instance_id"].to_numpy()),
            parent_key=parents,
            key=keys,
            source_rows=source_rows,
        )
        lookup[name] = pd.DataFrame(
            {
                "submission_row": matched["submission_row"].to_numpy(),
                "instance_id": matched["instance_id"].to_numpy(),
            },
            index=pd.Index(keys.to_numpy(), dtype="str"),
        )
    return linked


def _ordinal(groups: np.ndarray) -> np.ndarray:
    # 1-based position of each row among the rows sharing its group, in file order.
    return pd.Series(groups).groupby(groups, sort=False).cumcount().to_numpy() + 1


def link_by_index(
    tables: Mapping[str, tuple[pd.DataFrame, np.ndarray]],
    specs: Mapping[str, TableSpec],
    main: pd.DataFrame,
    meta: pd.DataFrame,
    where: Mapping[str, str],
) -> dict[str, pd.DataFrame]:
    """Link KoboToolbox repeat sheets through ``_parent_index`` and ``_index``.

    Parameters
    ----------
    tables : Mapping
        Repeat name to ``(frame, source_rows)`` of its sheet, with ``_parent_index``.
    specs : Mapping
        The instrument's tables.
    main : pandas.DataFrame
        The main sheet (with ``_index`` when the form has repeats).
    meta : pandas.DataFrame
        Canonical metadata of the main sheet.
    where : Mapping
        Table name to the sheet as named in messages.

    Returns
    -------
    dict
        Repeat name to its table with the link columns first; ``key`` is built as ODK Central
        builds it, ``<parent key>/<groups>/<repeat>[n]`` with ``n`` the row's position among the
        rows of the same parent, so keys are stable across downloads.

    Raises
    ------
    LinkError
        When a sheet lacks ``_parent_index``, its parent lacks ``_index`` or repeats an
        ``_index``, a ``_parent_index`` matches no parent row (orphans), or a
        ``_submission__uuid`` contradicts the submission it links to.

    Notes
    -----
    ``_index`` is assigned at export time, so it links rows only within one file; the keys built
    here do not depend on it.
    """
    index_of: dict[str, pd.DataFrame] = {}

    def _register(name: str, frame: pd.DataFrame, keys: pd.DataFrame) -> None:
        if "_index" not in frame.columns:
            return
        index = frame["_index"].astype("str")
        if index.duplicated().any():
            msg = f"{where[name]}: _index {index[index.duplicated()].iloc[0]!r} repeats"
            raise LinkError(msg)
        index_of[name] = keys.set_axis(pd.Index(index.to_numpy(), dtype="str"))

    _register(
        MAIN_TABLE,
        main,
        pd.DataFrame(
            {
                "key": meta["key"].to_numpy(),
                "submission_row": meta["source_row"].to_numpy(),
                "instance_id": meta["instance_id"].to_numpy(),
            }
        ),
    )
    linked: dict[str, pd.DataFrame] = {}
    for name, spec in specs.items():
        if name == MAIN_TABLE or name not in tables:
            continue
        frame, source_rows = tables[name]
        parent_name = spec.parent or MAIN_TABLE
        if "_parent_index" not in frame.columns:
            msg = f"{where[name]}: no _parent_index column; repeat rows cannot be linked"
            raise LinkError(msg)
        if parent_name not in index_of:
            shown = where.get(parent_name, parent_name)
            msg = f"{shown}: no _index column; its repeats cannot be linked"
            raise LinkError(msg)
        wanted = frame["_parent_index"].astype("str")
        matched = _parent_rows(
            index_of[parent_name],
            wanted,
            column="_parent_index",
            parent_name=parent_name,
            source_rows=source_rows,
            where=where[name],
        ).reset_index(drop=True)
        _check_submission_uuid(frame, matched, source_rows, where[name])
        ordinal = _ordinal(wanted.to_numpy())
        path = "/".join(spec.relpath)
        keys = matched["key"].astype(str) + f"/{path}[" + pd.Series(ordinal).astype(str) + "]"
        linked[name] = _link_frame(
            frame,
            submission_row=matched["submission_row"].to_numpy(),
            instance_id=matched["instance_id"],
            parent_key=matched["key"],
            key=keys,
            source_rows=source_rows,
        )
        _register(
            name,
            frame,
            pd.DataFrame(
                {
                    "key": keys.to_numpy(),
                    "submission_row": matched["submission_row"].to_numpy(),
                    "instance_id": matched["instance_id"].to_numpy(),
                }
            ),
        )
    return linked


def _check_submission_uuid(
    frame: pd.DataFrame, matched: pd.DataFrame, source_rows: np.ndarray, where: str
) -> None:
    if "_submission__uuid" not in frame.columns:
        return
    own = _blank_to_na(frame["_submission__uuid"]).reset_index(drop=True)
    expected = matched["instance_id"].astype("str").str.removeprefix("uuid:")
    bad = (own.notna() & expected.notna() & (own != expected)).to_numpy()
    if bad.any():
        row = source_rows[np.flatnonzero(bad)[0]]
        msg = (
            f"{where}: row {row}: _submission__uuid differs from the _uuid of the submission its "
            "_parent_index points to; the sheets do not belong together"
        )
        raise LinkError(msg)


def _cell_text(column: pd.Series) -> pd.Series:
    """Return a wide repeat column as text: typed whole numbers (SPSS, Stata) without ``.0``."""
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=float)
        whole = np.isfinite(values) & (values == np.round(values))
        if whole[~np.isnan(values)].all():
            return column.astype("Int64").astype("str")
    return column.astype("str")


def reshape_wide(
    frame: pd.DataFrame,
    column_map: ColumnMap,
    specs: Mapping[str, TableSpec],
    patterns: Sequence[tuple[re.Pattern[str], str, str]],
    meta: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Turn the repeat columns of a SurveyCTO wide file into repeat tables.

    Parameters
    ----------
    frame : pandas.DataFrame
        The wide main table, columns named as in ``column_map.names``.
    column_map : ColumnMap
        Its column map (repeat columns have kind ``wide``).
    specs : Mapping
        The instrument's tables.
    patterns : sequence of (re.Pattern, str, str)
        ``(pattern, question, table)`` from :func:`~evaluation.loaders.columns.wide_patterns`.
    meta : pandas.DataFrame
        Canonical metadata of the main table.

    Returns
    -------
    tuple of (pandas.DataFrame, dict, dict)
        The main table without the repeat columns; repeat name to its long table (link columns
        first, one row per instance, ordered by submission and index); and repeat name to
        ``{question: "<name>_<i>..."}`` for ``RawRound.source_path``.

    Notes
    -----
    An instance is kept when any of its cells, or any cell of an instance nested in it, is not
    empty: SurveyCTO writes empty cells for instances a submission does not have, so an instance
    whose every answer is blank cannot be told apart from an absent one.
    """
    cells: dict[str, dict[tuple[int, ...], dict[str, str]]] = {}
    for name, kind in zip(column_map.names, column_map.kinds, strict=True):
        if kind != "wide":
            continue
        for pattern, question, table in patterns:
            match = pattern.fullmatch(name)
            if match:
                index = tuple(int(g) for g in match.groups())
                cells.setdefault(table, {}).setdefault(index, {})[question] = name
                break
    wide_columns = [
        n for n, k in zip(column_map.names, column_map.kinds, strict=True) if k == "wide"
    ]
    main = frame.drop(columns=wide_columns)
    keep: dict[str, dict[tuple[int, ...], np.ndarray]] = {}
    order = [name for name in specs if name != MAIN_TABLE]
    for name in reversed(order):  # children before their parents
        spec = specs[name]
        masks = keep.setdefault(name, {})
        for index, columns in cells.get(name, {}).items():
            values = frame[list(columns.values())].astype("str").fillna("")
            filled = (values != "").any(axis=1).to_numpy()
            masks[index] = masks[index] | filled if index in masks else filled
        if spec.parent and spec.parent != MAIN_TABLE:
            parent_masks = keep.setdefault(spec.parent, {})
            for index, mask in masks.items():
                above = index[:-1]
                parent_masks[above] = parent_masks[above] | mask if above in parent_masks else mask
    main_keys = meta["key"].astype(str).to_numpy().astype(str)
    key_cache: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def _key_of(name: str, index: tuple[int, ...]) -> np.ndarray:
        if name == MAIN_TABLE:
            return main_keys
        if (name, index) not in key_cache:
            spec = specs[name]
            parent = _key_of(spec.parent or MAIN_TABLE, index[:-1])
            step = f"/{'/'.join(spec.relpath)}[{index[-1]}]"
            key_cache[(name, index)] = np.char.add(parent, step)
        return key_cache[(name, index)]

    tables: dict[str, pd.DataFrame] = {}
    paths: dict[str, dict[str, str]] = {}
    for name in order:
        spec = specs[name]
        present = {q for columns in cells.get(name, {}).values() for q in columns}
        questions = [q.name for q, _ in spec.questions if q.name in present]
        questions += sorted(present - set(questions))  # select_multiple indicators
        pieces = []
        for index in sorted(keep.get(name, {})):
            mask = keep[name][index]
            columns = cells.get(name, {}).get(index, {})
            piece = pd.DataFrame(
                {
                    "submission_row": meta["source_row"].to_numpy(),
                    "instance_id": meta["instance_id"].to_numpy(),
                    "parent_key": _key_of(spec.parent or MAIN_TABLE, index[:-1]),
                    "key": _key_of(name, index),
                    "source_row": meta["source_row"].to_numpy(),
                    "_order": np.arange(len(frame)),
                }
            )
            for q in questions:
                piece[q] = (
                    _cell_text(frame[columns[q]]).to_numpy()
                    if q in columns
                    else pd.Series(np.nan, index=piece.index, dtype="str")
                )
            pieces.append(piece[mask])
        if not pieces:
            continue
        table = pd.concat(pieces, ignore_index=True)
        table = table.sort_values("_order", kind="stable").drop(columns="_order")
        for column in ("instance_id", "parent_key", "key", *questions):
            table[column] = table[column].astype("str")
        tables[name] = table.reset_index(drop=True)
        suffix = "_<i>" * spec.depth
        paths[name] = {q: f"{q}{suffix}" for q in questions}
    return main, tables, paths
