"""The file edge of cleaning: decisions in; clean data, accounting and the private store out.

The only module of the stage that touches the disk. Three folders, never mixed:

- ``--decisions DIR`` (read): ``cleaning.toml`` and the reviewed decision tables
  (:mod:`evaluation.cleaning.decisions`);
- ``--out DIR`` (written): clean rounds, panels and their repeat tables as parquet, the cleaning
  log, exclusions and problems as CSV, ``summary.json``, and on request partner files
  (``.sav``, ``.dta`` Stata 118) with their disclosure report; nothing in it holds an
  identifier, which :func:`scan_outputs` checks after writing;
- ``--private DIR`` (written, never inside ``--out``): the identifiers split off at intake,
  keyed by the project respondent ID, in files readable by their owner only (folders 0700, files
  0600), encrypted with Fernet (``cryptography``) when a key is given through an environment
  variable.

Every file is written deterministically (sorted rows and keys, no timestamps).
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyreadstat

from evaluation.cleaning.decisions import DECISION_COLUMNS, Decisions
from evaluation.cleaning.disclosure import DisclosureReport, check_disclosure, quasi_identifiers
from evaluation.cleaning.errors import DecisionsError, DisclosureError, PrivacyError
from evaluation.cleaning.export import labelled_table
from evaluation.cleaning.model import CleanRound, Panel, PrivateRecords
from evaluation.cleaning.rules import parse_rules

__all__ = [
    "DEFAULT_KEY_ENV",
    "DEFAULT_PRIVATE",
    "CleanRun",
    "PartnerFiles",
    "check_paths",
    "fernet_from_env",
    "identifier_values",
    "read_decisions",
    "read_private",
    "run_clean",
    "scan_outputs",
    "summary",
    "write_clean",
    "write_duplicates_report",
    "write_partner",
    "write_private",
]

#: The default private folder (relative to the working directory).
DEFAULT_PRIVATE = "data/private"
#: The environment variable holding the Fernet key of the private store.
DEFAULT_KEY_ENV = "EVALUATION_PRIVATE_KEY"
_ENCRYPTED = ".fernet"


def read_decisions(directory: str | os.PathLike[str] | None) -> Decisions:
    """Read the decisions folder: ``cleaning.toml`` and the decision tables present.

    Parameters
    ----------
    directory : path-like or None
        The folder (``--decisions DIR``); ``None`` gives the default rules and no decisions.

    Returns
    -------
    Decisions
        The validated decisions.

    Raises
    ------
    DecisionsError
        When the folder does not exist, a file is not UTF-8, or a table or rule is malformed
        (see :func:`evaluation.cleaning.decisions.parse_decision_table`).
    """
    if directory is None:
        return Decisions()
    root = pathlib.Path(directory)
    if not root.is_dir():
        msg = f"decisions folder {root} does not exist"
        raise DecisionsError(msg)
    toml = root / "cleaning.toml"
    rules = parse_rules(_text(toml), str(toml)) if toml.exists() else None
    frames, where = {}, {}
    for kind in DECISION_COLUMNS:
        path = root / f"{kind}.csv"
        if not path.exists():
            continue
        text = _text(path)
        frames[kind] = (
            pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
            if text.strip()
            else pd.DataFrame(columns=list(DECISION_COLUMNS[kind]))
        )
        where[kind] = str(path)
    return Decisions.from_tables(rules, frames, where)


def _text(path: pathlib.Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        msg = f"{path}: not UTF-8 (byte {err.start}); save it as UTF-8 (Excel: CSV UTF-8)"
        raise DecisionsError(msg) from None


def check_paths(
    out: str | os.PathLike[str],
    private: str | os.PathLike[str],
    raw: str | os.PathLike[str] | None = None,
) -> None:
    """Refuse folder layouts that would mix identifiers with outputs or write into raw data.

    Parameters
    ----------
    out : path-like
        The output folder.
    private : path-like
        The private folder.
    raw : path-like, optional
        The raw folder (read-only).

    Raises
    ------
    PrivacyError
        When the private folder is the output folder or inside it (or contains it), or when
        the output or private folder is inside the raw folder.
    """
    out_path = pathlib.Path(out).resolve()
    private_path = pathlib.Path(private).resolve()
    if private_path == out_path or out_path in private_path.parents:
        msg = f"--private {private} is inside --out {out}: identifiers would be published"
        raise PrivacyError(msg)
    if private_path in out_path.parents:
        msg = f"--out {out} is inside --private {private}: keep the two folders apart"
        raise PrivacyError(msg)
    if raw is not None:
        raw_path = pathlib.Path(raw).resolve()
        for name, path in (("--out", out_path), ("--private", private_path)):
            if path == raw_path or raw_path in path.parents:
                msg = f"{name} {path} is inside --raw {raw}: raw data are read-only"
                raise PrivacyError(msg)


def fernet_from_env(variable: str | None, *, required: bool = False) -> Any:
    """Return a Fernet cipher from a key held in an environment variable.

    Parameters
    ----------
    variable : str or None
        The variable's name (``None``: no encryption).
    required : bool, optional
        Fail when the variable is unset instead of writing unencrypted files.

    Returns
    -------
    cryptography.fernet.Fernet or None
        The cipher, or ``None`` when the variable is unset and not required.

    Raises
    ------
    PrivacyError
        When the variable is required and unset, or does not hold a valid Fernet key (32
        url-safe base64-encoded bytes, as ``Fernet.generate_key()`` makes); the key is never
        printed.
    """
    from cryptography.fernet import Fernet

    if variable is None:
        return None
    key = os.environ.get(variable, "")
    if not key:
        if required:
            msg = f"environment variable {variable} holds no key for the private store"
            raise PrivacyError(msg)
        return None
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        msg = (
            f"environment variable {variable} does not hold a Fernet key (generate one with "
            "cryptography.fernet.Fernet.generate_key())"
        )
        raise PrivacyError(msg) from None


def _secure_dir(path: pathlib.Path, top: pathlib.Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    current = path
    while True:
        os.chmod(current, stat.S_IRWXU)
        if current == top or top not in current.parents:
            break
        current = current.parent


def _secure_write(path: pathlib.Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            descriptor = -1
            handle.write(data)
    finally:
        if descriptor >= 0:
            os.close(descriptor)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_private(
    rounds: Iterable[CleanRound], directory: str | os.PathLike[str], *, cipher: Any = None
) -> list[pathlib.Path]:
    """Write the identifiers of each round to the private store.

    Parameters
    ----------
    rounds : iterable of CleanRound
        Clean rounds (their ``private`` records).
    directory : path-like
        The private folder (created 0700 when missing).
    cipher : cryptography.fernet.Fernet, optional
        Encrypts every file (``.parquet.fernet``) when given.

    Returns
    -------
    list of pathlib.Path
        The files written: ``<instrument>/<round>/identifiers.parquet``, ``redactions.parquet``
        and ``<repeat>.parquet`` per repeat with identifiers.

    Notes
    -----
    Folders are made 0700 and files 0600 whatever the umask; each file holds one table keyed by
    the project respondent ID (and, for excluded submissions, the source and row).
    """
    top = pathlib.Path(directory)
    written = []
    for result in rounds:
        folder = top / result.family / result.round
        _secure_dir(folder, top)
        tables = {
            "identifiers": result.private.identifiers,
            "redactions": result.private.redactions,
            **dict(result.private.repeats),
        }
        for name, frame in sorted(tables.items()):
            data = _parquet(frame)
            suffix = ".parquet"
            if cipher is not None:
                data = cipher.encrypt(data)
                suffix += _ENCRYPTED
            path = folder / f"{name}{suffix}"
            _secure_write(path, data)
            written.append(path)
    return written


def read_private(path: str | os.PathLike[str], *, cipher: Any = None) -> pd.DataFrame:
    """Read one table of the private store.

    Parameters
    ----------
    path : path-like
        A file written by :func:`write_private`.
    cipher : cryptography.fernet.Fernet, optional
        Needed for ``.fernet`` files.

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    PrivacyError
        When an encrypted file is read without a cipher, or the key is wrong.
    """
    from cryptography.fernet import InvalidToken

    file = pathlib.Path(path)
    data = file.read_bytes()
    if file.name.endswith(_ENCRYPTED):
        if cipher is None:
            msg = f"{file} is encrypted: give the key"
            raise PrivacyError(msg)
        try:
            data = cipher.decrypt(data)
        except InvalidToken:
            msg = f"{file}: the key does not decrypt it"
            raise PrivacyError(msg) from None
    return pd.read_parquet(io.BytesIO(data))


def _write_bytes(path: pathlib.Path, data: bytes) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _accounting(results: Sequence[CleanRound], attribute: str) -> pd.DataFrame:
    frames = []
    for result in results:
        table = getattr(result, attribute)
        frames.append(
            table.assign(instrument=result.family, round=result.round)[
                ["instrument", "round", *table.columns]
            ]
        )
    if not frames:
        return pd.DataFrame()
    merged = pd.concat(frames, ignore_index=True)
    order = [c for c in ("instrument", "round", "source", "table", "source_row") if c in merged]
    return merged.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)


def summary(
    results: Sequence[CleanRound], panels: Mapping[str, Panel] | None = None
) -> dict[str, Any]:
    """Return the run's accounting as plain data (``summary.json``).

    Parameters
    ----------
    results : sequence of CleanRound
        The clean rounds.
    panels : Mapping, optional
        Instrument family to its panel.

    Returns
    -------
    dict
        ``{"sources": {file: counts}, "panels": {family: rows, units, attrited}}`` with
        per source ``rows_in``, ``rows_kept``, ``rows_excluded``, ``values_changed`` and
        ``problems`` by kind (see :meth:`CleanRound.summary`).
    """
    sources: dict[str, Any] = {}
    for result in results:
        sources.update(result.summary())
    out: dict[str, Any] = {"sources": dict(sorted(sources.items()))}
    if panels:
        out["panels"] = {
            family: {
                "rows": len(panel.data),
                "rounds": list(panel.rounds),
                "units": len(panel.attrition),
                "attrited": int(panel.attrition["attrited"].fillna(0).sum()),
                "problems": {
                    str(k): int(v) for k, v in sorted(panel.problems.groupby("kind").size().items())
                },
            }
            for family, panel in sorted(panels.items())
        }
    return out


def write_clean(
    results: Sequence[CleanRound],
    panels: Mapping[str, Panel],
    out: str | os.PathLike[str],
) -> list[pathlib.Path]:
    """Write the clean data and the accounting.

    Parameters
    ----------
    results : sequence of CleanRound
        The clean rounds.
    panels : Mapping
        Instrument family to its panel.
    out : path-like
        The output folder.

    Returns
    -------
    list of pathlib.Path
        ``<instrument>/<round>.parquet``, ``<instrument>/<round>__<repeat>.parquet``,
        ``<instrument>/panel.parquet``, ``<instrument>/panel__<repeat>.parquet``,
        ``<instrument>/attrition.parquet``, ``cleaning_log.csv``, ``exclusions.csv``,
        ``problems.csv`` and ``summary.json``.
    """
    root = pathlib.Path(out)
    written = []
    for result in results:
        folder = root / result.family
        written.append(_write_bytes(folder / f"{result.round}.parquet", _parquet(result.data)))
        for name, table in sorted(result.repeats.items()):
            written.append(
                _write_bytes(folder / f"{result.round}__{name}.parquet", _parquet(table))
            )
    for family, panel in sorted(panels.items()):
        folder = root / family
        written.append(_write_bytes(folder / "panel.parquet", _parquet(panel.data)))
        written.append(_write_bytes(folder / "attrition.parquet", _parquet(panel.attrition)))
        for name, table in sorted(panel.repeats.items()):
            written.append(_write_bytes(folder / f"panel__{name}.parquet", _parquet(table)))
    for name, attribute in (
        ("cleaning_log.csv", "log"),
        ("exclusions.csv", "exclusions"),
        ("problems.csv", "problems"),
    ):
        written.append(_write_bytes(root / name, _csv(_accounting(results, attribute))))
    panel_problems = [p.problems.assign(instrument=f) for f, p in sorted(panels.items())]
    if panel_problems:
        written.append(
            _write_bytes(
                root / "panel_problems.csv", _csv(pd.concat(panel_problems, ignore_index=True))
            )
        )
    document = json.dumps(summary(results, panels), indent=2, sort_keys=True, ensure_ascii=False)
    written.append(_write_bytes(root / "summary.json", (document + "\n").encode("utf-8")))
    return written


def write_duplicates_report(report: pd.DataFrame, out: str | os.PathLike[str]) -> pathlib.Path:
    """Write the report of unresolved duplicate groups, to fill in as ``duplicates.csv``.

    Parameters
    ----------
    report : pandas.DataFrame
        From :class:`~evaluation.cleaning.errors.UnresolvedDuplicatesError`.
    out : path-like
        The output folder.

    Returns
    -------
    pathlib.Path
        ``duplicates_report.csv`` (UTF-8 with a byte-order mark, for Excel).
    """
    path = pathlib.Path(out) / "duplicates_report.csv"
    data = report.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")
    return _write_bytes(path, data)


@dataclass(frozen=True, slots=True)
class PartnerFiles:
    """Partner files written and their disclosure reports.

    Attributes
    ----------
    paths : tuple of pathlib.Path
        The files.
    reports : Mapping
        File stem to its :class:`~evaluation.cleaning.disclosure.DisclosureReport`.
    """

    paths: tuple[pathlib.Path, ...]
    reports: Mapping[str, DisclosureReport] = field(default_factory=dict)


def write_partner(
    results: Sequence[CleanRound],
    out: str | os.PathLike[str],
    *,
    formats: Sequence[str],
    language: str,
    k: int,
    quasi: Sequence[str] | None = None,
    override: bool = False,
) -> PartnerFiles:
    """Write partner files (``.sav``, ``.dta``) after the disclosure check.

    Parameters
    ----------
    results : sequence of CleanRound
        The clean rounds.
    out : path-like
        The output folder (files go to ``partner/``).
    formats : sequence of str
        ``sav`` and/or ``dta``.
    language : str
        Label language (``en`` or ``zh``).
    k : int
        The k-anonymity required.
    quasi : sequence of str, optional
        The quasi-identifiers (default: the instrument's ``pii: indirect`` items in the file).
    override : bool, optional
        Write even when k is not reached (the report says so).

    Returns
    -------
    PartnerFiles
        The files and reports; ``partner/disclosure.json`` holds every report.

    Raises
    ------
    DisclosureError
        When a table is below k and not overridden: the report is written first, no data file.
    """
    root = pathlib.Path(out) / "partner"
    paths: list[pathlib.Path] = []
    reports: dict[str, DisclosureReport] = {}
    checked = []
    for result in results:
        stem = f"{result.family}_{result.round}"
        table = labelled_table(
            result.data, result.instrument, kind="sav", language=language, keep=(result.key,)
        )
        qis = (
            tuple(quasi)
            if quasi is not None
            else quasi_identifiers(result.instrument, list(table.data.columns))
        )
        qis = tuple(q for q in qis if q in table.data.columns)
        report = check_disclosure(table.data, qis, k, override=True)
        reports[stem] = report
        checked.append((result, stem))
    document = json.dumps(
        {stem: r.to_dict() for stem, r in sorted(reports.items())},
        indent=2,
        sort_keys=True,
        ensure_ascii=False,
    )
    paths.append(_write_bytes(root / "disclosure.json", (document + "\n").encode("utf-8")))
    failing = [stem for stem, r in reports.items() if not r.passes]
    if failing and not override:
        listed = "; ".join(
            f"{stem}: {reports[stem].k}-anonymous on {list(reports[stem].quasi_identifiers)}, "
            f"{reports[stem].records_below} of {reports[stem].records} records below k = {k}"
            for stem in failing
        )
        msg = (
            f"partner export refused ({listed}); see {paths[0]}; recode or choose the "
            "quasi-identifiers ([disclosure] in cleaning.toml), or override knowingly"
        )
        raise DisclosureError(msg)
    for result, stem in checked:
        for kind in formats:
            table = labelled_table(
                result.data, result.instrument, kind=kind, language=language, keep=(result.key,)
            )
            path = root / f"{stem}.{kind}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "sav":
                pyreadstat.write_sav(
                    table.data,
                    str(path),
                    column_labels=dict(table.column_labels),
                    variable_value_labels={k_: dict(v) for k_, v in table.value_labels.items()},
                    missing_ranges={k_: list(v) for k_, v in table.missing_ranges.items()},
                )
            else:
                pyreadstat.write_dta(
                    table.data,
                    str(path),
                    version=14,
                    column_labels=dict(table.column_labels),
                    variable_value_labels={k_: dict(v) for k_, v in table.value_labels.items()},
                    missing_user_values={
                        k_: list(v) for k_, v in table.missing_user_values.items()
                    },
                )
            paths.append(path)
    return PartnerFiles(paths=tuple(paths), reports=reports)


def identifier_values(records: Iterable[PrivateRecords]) -> list[str]:
    """Collect every identifier value held in private records (for the output scan).

    Parameters
    ----------
    records : iterable of PrivateRecords
        The private records of the rounds.

    Returns
    -------
    list of str
        Distinct values, as received and normalised, longest first: every identifier answered
        (special codes such as "refused" and blanks left out) and the original text of redacted
        cells. Values of fewer than two characters, and numbers of fewer than seven digits
        (a mistyped phone such as ``12345`` identifies nobody and would match any count), are
        left out.
    """
    values: set[str] = set()
    for record in records:
        for frame in (record.identifiers, *record.repeats.values()):
            for column in frame.columns:
                if not column.endswith("__normalised"):
                    continue
                answered = frame[column].notna().to_numpy()
                raw = frame[column.removesuffix("__normalised")].astype("string")[answered]
                norm = frame[column].astype("string")[answered]
                values.update(v.strip() for v in (*raw.tolist(), *norm.tolist()))
        values.update(record.redactions["original"].astype("string").dropna().str.strip().tolist())
    return sorted((v for v in values if _identifying(v)), key=lambda v: (-len(v), v))


def _identifying(value: str) -> bool:
    if len(value) < 2:
        return False
    digits = sum(ch.isdigit() for ch in value)
    if digits and not any(ch.isalpha() for ch in value):
        return digits >= 7
    return True


def _file_texts(path: pathlib.Path) -> list[pa.Array]:
    """Every text a file holds, as arrow string arrays (names, values, labels)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = pq.read_table(path)
        arrays = [pa.array([str(n) for n in table.column_names], type=pa.large_string())]
        for column in table.columns:
            try:
                arrays.append(pc.cast(column, pa.large_string()).combine_chunks())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                arrays.append(
                    pa.array([str(v) for v in column.to_pylist()], type=pa.large_string())
                )
        return arrays
    if suffix in {".sav", ".dta"}:
        reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
        frame, meta = reader(str(path), user_missing=True)
        texts = [str(c) for c in frame.columns]
        texts += [str(v) for v in (meta.column_labels or []) if v]
        for mapping in (meta.variable_value_labels or {}).values():
            texts += [str(v) for v in mapping.values()]
        texts += [str(v) for v in frame.to_numpy(dtype=object).ravel()]
        return [pa.array(texts, type=pa.large_string())]
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [pa.array(text.splitlines(), type=pa.large_string())]


def scan_outputs(out: str | os.PathLike[str], identifiers: Sequence[str]) -> None:
    """Check that no file under the output folder holds an identifier value.

    Parameters
    ----------
    out : path-like
        The output folder.
    identifiers : sequence of str
        Identifier values (from :func:`identifier_values`).

    Raises
    ------
    PrivacyError
        Naming each file that holds one (never the value); the data must not be shared until
        the leak is found and the file removed.

    Notes
    -----
    Parquet, SPSS and Stata files are read (their values, labels and column names are
    searched); every other file is searched as text. Matching uses pyarrow's RE2 engine on a
    pattern of all identifiers, once per file over all its texts.
    """
    values = [v for v in identifiers if v]
    if not values:
        return
    pattern = "|".join(re.escape(v) for v in values)
    leaking = []
    for path in sorted(pathlib.Path(out).rglob("*")):
        if not path.is_file():
            continue
        # One regex call per file: RE2 compiles the pattern of every identifier on each call,
        # which dominated the scan when it ran per column.
        texts = pa.concat_arrays(_file_texts(path))
        if len(texts) and pc.any(pc.match_substring_regex(texts, pattern)).as_py():
            leaking.append(str(path))
    if leaking:
        msg = (
            f"identifiers found in {len(leaking)} output files: {leaking[:10]}; remove them "
            "before sharing the folder"
        )
        raise PrivacyError(msg)


@dataclass(frozen=True, slots=True)
class CleanRun:
    """What a cleaning run produced.

    Attributes
    ----------
    rounds : tuple of CleanRound
        The clean rounds.
    panels : Mapping
        Instrument family to its panel.
    summary : Mapping
        As written to ``summary.json``.
    written : tuple of pathlib.Path
        Files written under ``--out``.
    private : tuple of pathlib.Path
        Files written under ``--private``.
    """

    rounds: tuple[CleanRound, ...]
    panels: Mapping[str, Panel]
    summary: Mapping[str, Any]
    written: tuple[pathlib.Path, ...]
    private: tuple[pathlib.Path, ...]


def run_clean(
    raw: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    private: str | os.PathLike[str] = DEFAULT_PRIVATE,
    decisions: str | os.PathLike[str] | None = None,
    surveys: str | os.PathLike[str] = "surveys",
    language: str = "en",
    partner: Sequence[str] = (),
    override_disclosure: bool = False,
    key_env: str | None = DEFAULT_KEY_ENV,
    require_key: bool = False,
) -> CleanRun:
    """Clean every file of a raw folder: read, clean, link, write, scan.

    Parameters
    ----------
    raw : path-like
        The raw folder with ``sources.toml`` (read-only).
    out : path-like
        The output folder.
    private : path-like, optional
        The private folder (default ``data/private``; never inside ``out``).
    decisions : path-like, optional
        The decisions folder.
    surveys : path-like, optional
        The instrument definitions (default ``surveys``).
    language : str, optional
        Label language of partner files (``en`` or ``zh``).
    partner : sequence of str, optional
        Partner formats to write (``sav``, ``dta``); none by default.
    override_disclosure : bool, optional
        Write partner files even below the required k.
    key_env : str or None, optional
        Environment variable holding the Fernet key of the private store.
    require_key : bool, optional
        Refuse to write the private store unencrypted.

    Returns
    -------
    CleanRun
        The rounds, panels, summary and files written.

    Raises
    ------
    UnresolvedDuplicatesError
        After writing ``duplicates_report.csv`` to ``out`` (every round's unresolved groups).
    CleaningError
        Or a loader's ``SourceFormatError``, when the data cannot be cleaned safely.

    Notes
    -----
    Reads: ``sources.toml`` and every file it declares (through :mod:`evaluation.loaders`),
    the instruments, the decisions folder and the previous run's ``manifest.json`` (a download
    with fewer rows than then is refused). Writes: see :func:`write_clean`,
    :func:`write_private`, :func:`write_partner`; then scans ``out`` with :func:`scan_outputs`.
    """
    from evaluation.cleaning.errors import UnresolvedDuplicatesError
    from evaluation.cleaning.panel import clean_sources
    from evaluation.instruments.files import read_instruments
    from evaluation.loaders import read_manifest, read_sources, write_manifest

    check_paths(out, private, raw)
    chosen = decisions
    rules_and_tables = read_decisions(chosen)
    cipher = fernet_from_env(key_env, required=require_key)
    forms = read_instruments(surveys)
    manifest_path = pathlib.Path(out) / "manifest.json"
    previous = read_manifest(manifest_path) if manifest_path.exists() else None
    loaded = read_sources(raw, forms, previous=previous)
    try:
        results, panels = clean_sources(loaded.rounds, forms, rules_and_tables, loaded.sample_frame)
    except UnresolvedDuplicatesError as err:
        path = write_duplicates_report(err.report, out)
        raise UnresolvedDuplicatesError(f"{err}; the report is {path}", err.report) from None
    private_paths = write_private(results, private, cipher=cipher)
    written = write_clean(results, panels, out)
    written.append(write_manifest(loaded.manifest, manifest_path))
    if partner:
        rules = rules_and_tables.rules
        files = write_partner(
            results,
            out,
            formats=partner,
            language=language,
            k=rules.k,
            quasi=rules.quasi_identifiers,
            override=override_disclosure,
        )
        written += list(files.paths)
    scan_outputs(out, identifier_values(r.private for r in results))
    return CleanRun(
        rounds=tuple(results),
        panels=panels,
        summary=summary(results, panels),
        written=tuple(written),
        private=tuple(private_paths),
    )
