"""Progress against the sample list (IPA ``ipatracksurvey``).

Every sampled unit gets a status from its submissions: ``completed``, ``refused``, ``not_found``,
``deceased``, ``other`` or, without any submission, ``pending``. The status comes from the
tracking outcome (``trk_status`` at endline: interviewed in person or by phone, refused, not
found, deceased) or, when the form has none, from consent. Counts are given by stratum and
treatment group. Submissions whose key is not in the sample list are errors (a mistyped ID).
Only keys, strata and treatment are shown: the sample frame's other columns (names, phones) are
never read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.prepare import PreparedRound, prepared
from evaluation.loaders.frame import SampleFrame
from evaluation.loaders.model import RawRound

__all__ = ["STATUSES", "check_progress"]

#: Statuses of a sampled unit, best first (a unit with several submissions takes the best).
STATUSES = ("completed", "refused", "deceased", "not_found", "other", "pending")


def _submission_status(round_: PreparedRound) -> np.ndarray:
    config = round_.plan.config
    frame = round_.main.frame
    status = np.full(len(frame), "other", dtype=object)
    decided = np.zeros(len(frame), dtype=bool)
    if round_.plan.outcome is not None and round_.plan.outcome in frame.columns:
        outcome = frame[round_.plan.outcome].map(dict(config.progress_outcomes))
        known = outcome.notna().to_numpy()
        status[known] = outcome[known].to_numpy(dtype=object)
        decided |= known
    if round_.consented is not None:
        consent = frame[round_.plan.consent].to_numpy(dtype=object)
        declined = ~round_.consented & (consent != "")
        status[~decided & round_.consented] = "completed"
        status[(~decided | (status == "completed")) & declined] = "refused"
    else:
        status[~decided] = "completed"
    return status


def check_progress(
    data: RawRound | PreparedRound,
    sample: SampleFrame | None,
    config: CheckConfig | None = None,
) -> CheckResult:
    """Compare submissions with the sample list.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    sample : SampleFrame or None
        The validated sample frame (``loaders.read_sample_frame``); ``None`` skips the check.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings: ``not_in_sample`` (error) for each submission whose key is not a sampled
        unit. Tables ``progress_by_group`` (per stratum and treatment group, and ``all``: units,
        submitted, each status, pct_completed) and ``progress_units`` (per unit: key, treatment,
        strata, status, submissions, last day).

    Notes
    -----
    Unit: the frame's key when the form's key is the frame's key (respondents); the frame's
    enterprise column when the form's key is the enterprise ID (enterprises, with the
    treatment and strata of their first row). A form keyed otherwise (capacity building) is
    not tracked. A submission's status is its tracking outcome mapped by
    ``[progress] outcomes``; without one, consent (given: ``completed``, declined:
    ``refused``); a respondent found but declining consent is ``refused``. Statuses are ranked
    as :data:`STATUSES`; a unit's status is the best of its submissions.
    """
    round_ = prepared(data, config)
    empty = CheckResult(finding_frame(), {})
    if sample is None or round_.plan.key is None:
        return empty
    source = sample.source
    frame = sample.data
    if round_.plan.key == source.key:
        unit = source.key
    elif source.enterprise is not None and round_.plan.key == source.enterprise:
        unit = source.enterprise
    else:
        return empty
    design = [c for c in (source.treatment, *source.strata) if c and c != unit]
    units = frame[[unit, *design]].astype(str).drop_duplicates(subset=unit, keep="first")
    units = units.rename(columns={unit: "key"}).reset_index(drop=True)
    status = _submission_status(round_)
    keys = round_.key
    submitted = pd.DataFrame({"key": keys, "status": status, "day": round_.day})
    submitted = submitted[submitted["key"] != ""]
    rank = {s: i for i, s in enumerate(STATUSES)}
    submitted["rank"] = submitted["status"].map(rank)
    best = submitted.groupby("key").agg(
        rank=("rank", "min"), submissions=("rank", "size"), last_day=("day", "max")
    )
    best["status"] = np.asarray(STATUSES, dtype=object)[best["rank"].to_numpy(dtype=int)]
    merged = units.merge(
        best[["status", "submissions", "last_day"]],
        left_on="key",
        right_index=True,
        how="left",
        validate="one_to_one",
    )
    merged["status"] = merged["status"].fillna("pending")
    merged["submissions"] = merged["submissions"].fillna(0).astype(int)
    merged["last_day"] = merged["last_day"].fillna("")
    sampled = units["key"].to_numpy(dtype=object)
    outside = ~pd.Series(keys, dtype=object).isin(sampled).to_numpy(dtype=bool) & (keys != "")
    rows = np.flatnonzero(outside)
    findings = round_.findings(
        "progress",
        round_.main,
        rows,
        variable=round_.plan.key,
        rule="not_in_sample",
        severity="error",
        message=f"this {round_.plan.key} is not in the sample list ({sample.info.name})",
        value=keys[rows],
    )
    progress = []
    if design:
        for group, part in merged.groupby(design, sort=True):
            values = group if isinstance(group, tuple) else (group,)
            progress.append({**dict(zip(design, values, strict=True)), **_status_counts(part)})
    progress.append({**dict.fromkeys(design, "all"), **_status_counts(merged)})
    return CheckResult(
        findings,
        {
            "progress_by_group": pd.DataFrame(progress),
            "progress_units": merged.sort_values("key", kind="stable").reset_index(drop=True),
        },
    )


def _status_counts(part: pd.DataFrame) -> dict[str, float]:
    statuses = part["status"].to_numpy(dtype=object)
    counts: dict[str, float] = {"units": len(part), "submitted": int((statuses != "pending").sum())}
    for status in STATUSES:
        counts[status] = int((statuses == status).sum())
    counts["pct_completed"] = counts["completed"] / len(part) if len(part) else 0.0
    return counts
