"""Run every check on a round, or on everything a raw folder holds.

:func:`check_round` runs the checks of one round (with its sample frame and back-checks);
:func:`run_checks` runs them on every survey export of a raw folder (or of rounds already read)
and collects the findings. Both are pure given their inputs: no dates, no files written (reading a
raw folder goes through :mod:`evaluation.loaders`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from evaluation.checks.backchecks import compare_backchecks
from evaluation.checks.config import CheckConfig
from evaluation.checks.dashboards import check_dashboards
from evaluation.checks.findings import CheckResult, Findings, finding_frame
from evaluation.checks.identity import check_form_versions, check_ids, check_source, check_unique
from evaluation.checks.missing import check_missing
from evaluation.checks.prepare import PreparedRound, prepare_round
from evaluation.checks.progress import check_progress
from evaluation.checks.specify import check_other_specify
from evaluation.checks.timing import check_durations
from evaluation.checks.values import (
    check_constraints,
    check_logic,
    check_outliers,
    check_skip_logic,
)
from evaluation.instruments.model import Instrument
from evaluation.loaders.frame import SampleFrame
from evaluation.loaders.model import RawRound
from evaluation.loaders.read import LoadedSources

__all__ = ["check_round", "round_results", "run_checks"]


def round_results(
    data: RawRound | PreparedRound,
    config: CheckConfig | None = None,
    *,
    sample: SampleFrame | None = None,
    backchecks: Sequence[RawRound] = (),
    run_key: bytes | None = None,
) -> list[CheckResult]:
    """Run every check on one round and return each check's result.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The survey round.
    config : CheckConfig, optional
        The settings (defaults when omitted; ignored for a prepared round).
    sample : SampleFrame, optional
        The sample frame, for progress.
    backchecks : sequence of RawRound, optional
        Back-check exports of this round.
    run_key : bytes, optional
        Key of the hashes shown for unique fields (see :func:`check_unique`).

    Returns
    -------
    list of CheckResult
        In the order of :data:`evaluation.checks.findings.CHECKS`.
    """
    round_ = data if isinstance(data, PreparedRound) else prepare_round(data, config)
    results = [
        check_source(round_),
        check_ids(round_),
        check_unique(round_, run_key=run_key),
        check_form_versions(round_),
        check_missing(round_),
        check_outliers(round_),
        check_constraints(round_),
        check_logic(round_),
        check_skip_logic(round_),
        check_other_specify(round_),
        check_durations(round_),
        check_dashboards(round_),
        check_progress(round_, sample),
    ]
    results += [compare_backchecks(round_, bc, round_.plan.config) for bc in backchecks]
    return results


def _overview(round_: PreparedRound) -> CheckResult:
    plan = round_.plan
    table = pd.DataFrame(
        [
            {
                "file": round_.raw.info.name,
                "form_id": plan.instrument.form_id,
                "form_version": plan.instrument.version,
                "submissions": len(round_.main),
                "completed": int(round_.completed.sum()),
                "respondents": len(set(round_.key[round_.key != ""])),
                "key": plan.key or "",
                "enumerator": plan.enumerator or "",
                "variables_asked": len(plan.asked()),
                "first_day": min((d for d in round_.day if d), default=""),
                "last_day": max((d for d in round_.day if d), default=""),
            }
        ]
    )
    return CheckResult(finding_frame(), {"overview": table})


def check_round(
    data: RawRound | PreparedRound,
    config: CheckConfig | None = None,
    *,
    sample: SampleFrame | None = None,
    backchecks: Sequence[RawRound] = (),
    run_key: bytes | None = None,
    label: str | None = None,
) -> Findings:
    """Run every check on one round.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The survey round.
    config : CheckConfig, optional
        The settings (defaults when omitted).
    sample : SampleFrame, optional
        The sample frame, for progress.
    backchecks : sequence of RawRound, optional
        Back-check exports of this round.
    run_key : bytes, optional
        Key of the hashes shown for unique fields.
    label : str, optional
        The form's label in findings (default ``family/round``).

    Returns
    -------
    Findings
        The findings and tables of every check.
    """
    round_ = data if isinstance(data, PreparedRound) else prepare_round(data, config)
    results = [_overview(round_)]
    results += round_results(round_, sample=sample, backchecks=backchecks, run_key=run_key)
    name = label or round_.label
    return Findings.collect((name, r) for r in results)


def _as_config(config: CheckConfig | str | os.PathLike[str] | None) -> CheckConfig:
    if config is None or isinstance(config, CheckConfig):
        return config or CheckConfig()
    from evaluation.checks.workbook import read_config

    return read_config(config)


def run_checks(
    source: str | os.PathLike[str] | LoadedSources | RawRound | Sequence[RawRound],
    config: CheckConfig | str | os.PathLike[str] | None = None,
    *,
    instruments: Mapping[tuple[str, str], Instrument] | str | os.PathLike[str] = "surveys",
    sample: SampleFrame | str | os.PathLike[str] | None = None,
    backchecks: Sequence[RawRound] | str | os.PathLike[str] | None = None,
    run_key: bytes | None = None,
) -> Findings:
    """Run every check on every survey export of a raw folder (or of rounds already read).

    Parameters
    ----------
    source : path-like, LoadedSources, RawRound or sequence of RawRound
        A raw folder with its ``sources.toml`` (read with :func:`evaluation.loaders.read_sources`),
        what was read from one, or rounds.
    config : CheckConfig or path-like, optional
        The settings, or a ``checks.toml`` to read (defaults when omitted).
    instruments : Mapping or path-like, optional
        The built forms (``(instrument, round)`` to form), or the ``surveys/`` folder to build
        them from (default ``surveys``); used only to read a raw folder.
    sample : SampleFrame or path-like, optional
        The sample frame; a path replaces the file declared in ``sources.toml`` (same
        declaration). Default: the declared sample frame.
    backchecks : sequence of RawRound or path-like, optional
        Back-check exports; a path replaces the file of the one ``[[backchecks]]`` entry of
        ``sources.toml``. Default: the declared back-checks.
    run_key : bytes, optional
        Key of the hashes shown for unique fields (default: numbered groups).

    Returns
    -------
    Findings
        Every finding and table, forms labelled ``family/round`` (with the file name when two
        files hold the same form). Back-checks go with the survey export of the same
        instrument and round.

    Raises
    ------
    ConfigError
        When the configuration is invalid.
    SourceFormatError
        From the loaders, when a raw file cannot be read.
    ValueError
        When a back-check file path is given with rounds instead of a raw folder.
    """
    config = _as_config(config)
    frame = sample if isinstance(sample, SampleFrame) else None
    bc_rounds: tuple[RawRound, ...] = ()
    if isinstance(backchecks, Sequence) and not isinstance(backchecks, str | bytes):
        bc_rounds = tuple(backchecks)
    if isinstance(source, str | os.PathLike):
        from evaluation.checks.workbook import read_raw

        loaded = read_raw(
            source,
            instruments,
            sample=None if isinstance(sample, SampleFrame) else sample,
            backchecks=None if bc_rounds else backchecks,  # type: ignore[arg-type]
        )
    else:
        if isinstance(backchecks, str | os.PathLike):
            msg = (
                f"backchecks={backchecks!r}: a back-check file is read with its declaration in "
                "sources.toml; pass the raw folder, or back-check rounds already read"
            )
            raise ValueError(msg)
        if isinstance(sample, str | os.PathLike):
            from evaluation.checks.workbook import sample_source
            from evaluation.loaders.frame import read_sample_frame

            frame = read_sample_frame(sample_source(sample, None))
        if isinstance(source, LoadedSources):
            loaded = source
        else:
            rounds = (source,) if isinstance(source, RawRound) else tuple(source)
            loaded = LoadedSources(rounds=rounds)
    frame = frame or loaded.sample_frame
    bc_rounds = bc_rounds or loaded.backchecks
    labels = [f"{r.source.instrument}/{r.round}" for r in loaded.rounds]
    results: list[tuple[str, CheckResult]] = []
    used: set[int] = set()
    for raw, label in zip(loaded.rounds, labels, strict=True):
        name = f"{label} ({raw.info.name})" if labels.count(label) > 1 else label
        mine = [
            (i, bc)
            for i, bc in enumerate(bc_rounds)
            if i not in used
            and (bc.source.instrument, bc.round) == (raw.source.instrument, raw.round)
        ]
        used.update(i for i, _ in mine)
        round_ = prepare_round(raw, config)
        results.append((name, _overview(round_)))
        results += [
            (name, r)
            for r in round_results(
                round_, sample=frame, backchecks=[bc for _, bc in mine], run_key=run_key
            )
        ]
    return Findings.collect(results)
