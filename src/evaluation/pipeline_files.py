"""The I/O edge of the pipeline: a data folder in (with a parsed-file cache), the report out.

A data folder holds ``raw/`` (read-only, with ``sources.toml``), ``decisions/`` (the reviewed
cleaning decisions and ``occupation_coding.csv``, optional), ``private/`` (identifiers and
anything derived from raw files that still holds them: the private store and the parsed-file
cache) and ``clean/`` (the clean data). :func:`read_inputs` reads it, caching the parsed raw
files by content hash under ``private/cache/``; :func:`run_report` runs
:func:`evaluation.pipeline.run`, writes the clean data and the private store, and writes the
report with :func:`evaluation.reporting.write_report`, then scans the report folder for every
identifier the intake split off.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import io
import os
import pathlib
import pickle
import subprocess
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluation import __version__, pipeline
from evaluation.checks.workbook import read_config
from evaluation.cleaning import Decisions
from evaluation.cleaning.outputs import (
    check_paths,
    identifier_values,
    read_decisions,
    scan_outputs,
    write_clean,
    write_private,
)
from evaluation.indicators.files import indicator_config, read_manual_coding
from evaluation.indicators.framework import read_results_framework
from evaluation.instruments.files import read_instruments
from evaluation.instruments.model import Instrument
from evaluation.loaders import LoadedSources, read_sources
from evaluation.pipeline_report import build_report
from evaluation.plan import AnalysisPlan, read_plan
from evaluation.reporting import OutputRecord, Provenance, write_report

__all__ = ["Inputs", "ReportRun", "git_commit", "read_inputs", "run_data_dir", "run_report"]

#: Cache format; bump when the cached values change shape.
_CACHE_VERSION = "1"
#: Package folders whose code shapes the parsed values (part of the cache key).
_PARSING_CODE = ("loaders", "instruments")
_MANUAL_CODING = "occupation_coding.csv"


@dataclass(frozen=True)
class Inputs:
    """What a data folder holds, read and parsed.

    Attributes
    ----------
    folder : pathlib.Path
        The data folder.
    instruments : Mapping
        ``(family, round)`` to its form.
    sources : LoadedSources
        The raw rounds, sample frame, roster, back-checks and file manifest.
    decisions : Decisions
        The reviewed cleaning decisions (``decisions/``; none when absent).
    manual_coding : pathlib.Path or None
        ``decisions/occupation_coding.csv`` when present.
    data_hash : str
        SHA-256 over every raw file's name and hash (the manifest), for the provenance.
    cached : bool
        The parsed raw files came from the cache.
    """

    folder: pathlib.Path
    instruments: Mapping[tuple[str, str], Instrument]
    sources: LoadedSources
    decisions: Decisions
    manual_coding: pathlib.Path | None
    data_hash: str
    cached: bool


def _proxy(values: dict[str, Any]) -> types.MappingProxyType:
    return types.MappingProxyType(values)


def _dumps(value: Any) -> bytes:
    """Pickle, with read-only mappings stored as dicts and rebuilt read-only."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[types.MappingProxyType] = lambda m: (_proxy, (dict(m),))
    pickler.dispatch_table = table
    pickler.dump(value)
    return buffer.getvalue()


def _tree_digest(digest: Any, root: pathlib.Path, pattern: str = "*") -> None:
    for path in sorted(p for p in root.rglob(pattern) if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def _cache_key(raw: pathlib.Path, surveys: pathlib.Path) -> str:
    digest = hashlib.sha256(f"{_CACHE_VERSION}\0{__version__}\0".encode())
    package = pathlib.Path(__file__).parent
    for folder in _PARSING_CODE:
        _tree_digest(digest, package / folder, "*.py")
    _tree_digest(digest, surveys)
    _tree_digest(digest, raw)
    return digest.hexdigest()


def _secure_write(path: pathlib.Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    partial.replace(path)


def read_inputs(
    folder: str | os.PathLike[str],
    *,
    surveys: str | os.PathLike[str] = "surveys",
    cache: bool = True,
) -> Inputs:
    """Read a data folder: instruments, raw files (cached), decisions.

    Parameters
    ----------
    folder : path-like
        The data folder (``raw/`` required; ``decisions/`` optional).
    surveys : path-like, optional
        The instrument definitions (default ``surveys``).
    cache : bool, optional
        Reuse (and store) the parsed instruments and raw files under ``private/cache/``,
        keyed by the SHA-256 of the raw files, the definitions and the parsing code.

    Returns
    -------
    Inputs
        The parsed inputs.

    Raises
    ------
    FileNotFoundError
        No ``raw/sources.toml`` in the folder.
    SourceFormatError
        From the loaders, when a raw file cannot be read.

    Notes
    -----
    The cache holds parsed raw rows (with identifiers), so it lives in ``private/`` with
    owner-only permissions and is never written under the report folder. A changed byte in
    any raw file, definition or parsing module gives a new key; stale entries are removed.
    """
    root = pathlib.Path(folder)
    raw = root / "raw"
    if not (raw / "sources.toml").is_file():
        msg = f"{root}: no raw/sources.toml (a data folder holds raw/, decisions/, private/)"
        raise FileNotFoundError(msg)
    decisions_dir = root / "decisions"
    has_decisions = decisions_dir.is_dir()
    key = _cache_key(raw, pathlib.Path(surveys)) if cache else ""
    store = root / "private" / "cache" / f"sources-{key}.pickle"
    cached = cache and store.is_file()
    if cached:
        instruments, sources = pickle.loads(store.read_bytes())  # noqa: S301 - our own file
    else:
        instruments = read_instruments(surveys)
        sources = read_sources(raw, instruments)
        if cache:
            for stale in store.parent.glob("sources-*.pickle"):
                stale.unlink()
            _secure_write(store, _dumps((instruments, sources)))
    digest = hashlib.sha256()
    for entry in sorted(sources.manifest.entries, key=lambda e: e.name):
        digest.update(f"{entry.name}\0{entry.sha256}\n".encode())
    manual = decisions_dir / _MANUAL_CODING
    return Inputs(
        folder=root,
        instruments=instruments,
        sources=sources,
        decisions=read_decisions(decisions_dir) if has_decisions else Decisions(),
        manual_coding=manual if manual.is_file() else None,
        data_hash=digest.hexdigest(),
        cached=cached,
    )


def git_commit(folder: str | os.PathLike[str] = ".") -> str:
    """Return the git commit of a checkout, or ``"unknown"`` outside one.

    Parameters
    ----------
    folder : path-like, optional
        A folder inside the checkout.

    Returns
    -------
    str
        The 40-digit commit hash.
    """
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else "unknown"


def _indicator_settings(plan: AnalysisPlan, inputs: Inputs) -> Any:
    config = indicator_config(dict(plan.indicators), plan.folder)
    changes: dict[str, Any] = {"treatment": plan.treatment}
    if "reference_round" not in plan.indicators:
        changes["reference_round"] = plan.baseline_round
    if config.manual_coding is None and inputs.manual_coding is not None:
        changes["manual_coding"] = read_manual_coding(inputs.manual_coding)
    return dataclasses.replace(config, **changes)


def run_data_dir(
    plan: AnalysisPlan | str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    surveys: str | os.PathLike[str] = "surveys",
    cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[pipeline.PipelineRun, Inputs]:
    """Run the pipeline on a data folder (no outputs written): for notebooks.

    Parameters
    ----------
    plan : AnalysisPlan or path-like
        The plan, or its file (``analysis/plan.toml``).
    folder : path-like
        The data folder.
    surveys : path-like, optional
        The instrument definitions.
    cache : bool, optional
        Use the parsed-file cache (see :func:`read_inputs`).
    progress : callable, optional
        Called with the name of each step.

    Returns
    -------
    tuple of (PipelineRun, Inputs)
        The run (``run.data.frames``, ``run.results``) and what was read.
    """
    plan = plan if isinstance(plan, AnalysisPlan) else read_plan(plan)
    step = progress or (lambda _: None)
    step("reading the raw files")
    inputs = read_inputs(folder, surveys=surveys, cache=cache)
    checks = plan.folder / "checks.toml"
    run = pipeline.run(
        plan,
        inputs.sources,
        inputs.instruments,
        inputs.decisions,
        indicator_config=_indicator_settings(plan, inputs),
        check_config=read_config(checks) if checks.is_file() else None,
        rng=np.random.default_rng(plan.seed),
        progress=progress,
    )
    return run, inputs


@dataclass(frozen=True)
class ReportRun:
    """What :func:`run_report` did.

    Attributes
    ----------
    run : PipelineRun
        The pipeline run.
    records : tuple of OutputRecord
        Every file written under the report folder.
    clean : tuple of pathlib.Path
        Files written under ``clean/``.
    private : tuple of pathlib.Path
        Files written under ``private/`` (the identifiers of the intake).
    cached : bool
        The parsed raw files came from the cache.
    """

    run: pipeline.PipelineRun
    records: tuple[OutputRecord, ...]
    clean: tuple[pathlib.Path, ...]
    private: tuple[pathlib.Path, ...]
    cached: bool


def run_report(
    plan_file: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    surveys: str | os.PathLike[str] = "surveys",
    simulated: bool = False,
    source: str | None = None,
    language: str = "en",
    cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ReportRun:
    """Run the analysis plan on a data folder and write the report.

    Parameters
    ----------
    plan_file : path-like
        ``analysis/plan.toml``.
    folder : path-like
        The data folder (``raw/``, ``decisions/``; ``clean/`` and ``private/`` are written).
    out : path-like
        The report folder (``reports/``); never inside the data folder's ``private/``.
    surveys : path-like, optional
        The instrument definitions.
    simulated : bool, optional
        The data are the demo world's: every output says so at the top.
    source : str, optional
        The data source line of every table and figure (the folder by default).
    language : {"en", "zh"}, optional
        Language of the report.
    cache : bool, optional
        Use the parsed-file cache.
    progress : callable, optional
        Called with the name of each step.

    Returns
    -------
    ReportRun
        The run and every file written.

    Raises
    ------
    PrivacyError
        The report folder and the private folder overlap, or a written file holds an
        identifier split off at intake (the file is named, never the value).

    Notes
    -----
    Writes ``clean/`` (:func:`evaluation.cleaning.outputs.write_clean`), ``private/``
    (:func:`~evaluation.cleaning.outputs.write_private`, unencrypted: the demo and local
    runs; use ``evaluation clean`` with a key for the shared store) and ``out``
    (:func:`evaluation.reporting.write_report`); then scans ``clean/`` and ``out`` for every
    identifier value.
    """
    root = pathlib.Path(folder)
    check_paths(out, root / "private", root / "raw")
    plan = read_plan(plan_file)
    step = progress or (lambda _: None)
    run, inputs = run_data_dir(plan, root, surveys=surveys, cache=cache, progress=progress)
    step("writing the clean data")
    clean = write_clean(run.data.rounds, run.data.panels, root / "clean")
    private = write_private(run.data.rounds, root / "private")
    identifiers = identifier_values(r.private for r in run.data.rounds)
    scan_outputs(root / "clean", identifiers)
    step("writing the report")
    framework_file = plan.results_framework_path
    provenance = Provenance(
        data_hash=inputs.data_hash,
        plan_hash=plan.plan_hash,
        commit=git_commit(),
        source=source or f"data folder {root.name}",
        simulated=simulated,
        seed=plan.seed,
        version=__version__,
    )
    report = build_report(
        plan,
        run,
        provenance,
        framework=read_results_framework(framework_file) if framework_file.is_file() else None,
        language=language,
    )
    records = write_report(report, out)
    scan_outputs(out, identifiers)
    return ReportRun(run, tuple(records), tuple(clean), tuple(private), inputs.cached)
