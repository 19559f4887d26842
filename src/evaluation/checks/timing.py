"""Interview timing: durations, impossible and out-of-fieldwork times, hours of activity.

Durations come from the device's ``start`` and ``end`` (``meta.start``, ``meta.end``, UTC, shown in
the fieldwork's time zone); the submission time is the server's. Short and long interviews are
judged on completed interviews only (a refusal is short by nature). An enumerator whose median
interview is much shorter than everyone else's is flagged as rushing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.prepare import PreparedRound, prepared
from evaluation.loaders.model import RawRound

__all__ = ["check_durations", "durations"]

_MIN_INTERVIEWS = 3


def durations(data: RawRound | PreparedRound, config: CheckConfig | None = None) -> np.ndarray:
    """Return each submission's interview duration in minutes.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    numpy.ndarray
        ``(end - start)`` in minutes (NaN when either is unknown; negative when the end is
        before the start).
    """
    round_ = prepared(data, config)
    delta = round_.end - round_.start
    return (delta.dt.total_seconds() / 60).to_numpy(dtype=float)


def _night(hours: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    first, last = window
    if first == last:
        return np.zeros(len(hours), dtype=bool)
    if first < last:
        return (hours >= first) & (hours < last)
    return (hours >= first) | (hours < last)


def check_durations(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """Flag short, long and impossible interviews, out-of-fieldwork dates and night work.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings: ``end_before_start`` and ``submitted_before_start`` (errors);
        ``before_fieldwork`` (error: the interview or submission is dated before
        ``fieldwork_start``); ``after_fieldwork``, ``submitted_before_end``,
        ``short_interview``, ``long_interview``, ``night_interview`` and, per enumerator,
        ``rushing_enumerator`` (warnings); ``times_missing`` (info, one per form). Tables
        ``interview_durations`` (per completed interview: key, submission, enumerator, day, hour,
        minutes), ``durations_by_enumerator`` (interviews, quartiles, share short),
        ``activity_by_hour`` (day x hour counts) and ``activity_by_enumerator_hour``.

    Notes
    -----
    Unit: submission. Durations are ``end - start`` in minutes; short means below
    ``short_minutes``, long above ``long_minutes``, both on completed interviews only. An
    enumerator with at least three completed interviews whose median duration is below
    ``enumerator_share`` times the median of all completed interviews is flagged. Night means
    a local start hour in the ``night`` window.
    """
    round_ = prepared(data, config)
    config = round_.plan.config
    minutes = durations(round_)
    n = len(minutes)
    completed = round_.completed
    main = round_.main
    parts = []

    def add(mask: np.ndarray, rule: str, severity: str, messages) -> None:  # numpydoc ignore=GL08
        # messages: a text, or a function of the flagged rows returning their texts
        rows = np.flatnonzero(mask)
        if len(rows):
            chosen = messages if isinstance(messages, str) else messages(rows)
            value = np.array(
                [f"{m:.1f} min" if np.isfinite(m) else "" for m in minutes[rows]], dtype=object
            )
            parts.append(
                round_.findings(
                    "durations",
                    main,
                    rows,
                    variable="duration",
                    rule=rule,
                    severity=severity,
                    message=chosen,
                    value=value,
                )
            )

    def when(times: pd.Series, rows: np.ndarray) -> np.ndarray:  # numpydoc ignore=GL08
        text = times.iloc[rows].dt.strftime("%Y-%m-%d %H:%M").fillna("")
        return text.to_numpy(dtype=object)

    known = np.isfinite(minutes)
    add(
        known & (minutes < 0),
        "end_before_start",
        "error",
        lambda r: "end " + when(round_.end, r) + " is before start " + when(round_.start, r),
    )
    before_start = (round_.submitted < round_.start).to_numpy(dtype=bool)
    before_end = (round_.submitted < round_.end).to_numpy(dtype=bool) & ~before_start
    add(
        before_start,
        "submitted_before_start",
        "error",
        lambda r: (
            "submitted "
            + when(round_.submitted, r)
            + " before the interview started "
            + when(round_.start, r)
        ),
    )
    add(
        before_end,
        "submitted_before_end",
        "warning",
        lambda r: (
            "submitted "
            + when(round_.submitted, r)
            + " before the interview ended "
            + when(round_.end, r)
            + " (device clock?)"
        ),
    )
    if config.fieldwork_start is not None or config.fieldwork_end is not None:
        start_day = round_.start.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
        sub_day = round_.submitted.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
    if config.fieldwork_start is not None:
        first = config.fieldwork_start.isoformat()
        early = ((start_day != "") & (start_day < first)) | ((sub_day != "") & (sub_day < first))
        add(early, "before_fieldwork", "error", f"dated before the fieldwork start {first}")
    if config.fieldwork_end is not None:
        last = config.fieldwork_end.isoformat()
        late = (start_day != "") & (start_day > last)
        add(late, "after_fieldwork", "warning", f"started after the fieldwork end {last}")
    add(
        completed & known & (minutes >= 0) & (minutes < config.short_minutes),
        "short_interview",
        "warning",
        f"completed interview shorter than {config.short_minutes:g} minutes",
    )
    add(
        completed & known & (minutes > config.long_minutes),
        "long_interview",
        "warning",
        f"completed interview longer than {config.long_minutes:g} minutes",
    )
    hours = round_.start.dt.hour.to_numpy(dtype=float)
    night = _night(np.nan_to_num(hours, nan=-1).astype(int), config.night) & np.isfinite(hours)
    add(
        night,
        "night_interview",
        "warning",
        lambda r: (
            "started at "
            + when(round_.start, r)
            + f" (night hours {config.night[0]}:00-{config.night[1]}:00)"
        ),
    )
    missing_times = int((~known).sum())
    if missing_times:
        parts.append(
            finding_frame(
                check="durations",
                form=round_.label,
                variable="duration",
                value=str(missing_times),
                rule="times_missing",
                severity="info",
                message=f"{missing_times} of {n} submissions lack a start or end time",
            )
        )
    done = completed & known & (minutes >= 0)
    table = pd.DataFrame(
        {
            "key": round_.key[done],
            "submission": round_.submission[done],
            "enumerator": round_.enumerator[done],
            "day": round_.day[done],
            "hour": hours[done],
            "minutes": minutes[done],
        }
    )
    by_enumerator = (
        table.groupby("enumerator", sort=True)["minutes"]
        .agg(
            interviews="size",
            minimum="min",
            p25=lambda s: s.quantile(0.25),
            median="median",
            p75=lambda s: s.quantile(0.75),
            maximum="max",
        )
        .reset_index()
    )
    short = table.assign(short=table["minutes"] < config.short_minutes)
    by_enumerator["share_short"] = (
        short.groupby("enumerator", sort=True)["short"].mean().reindex(by_enumerator["enumerator"])
    ).to_numpy()
    overall = float(table["minutes"].median()) if len(table) else float("nan")
    if np.isfinite(overall):
        rushing = by_enumerator[
            (by_enumerator["interviews"] >= _MIN_INTERVIEWS)
            & (by_enumerator["median"] < config.enumerator_share * overall)
        ]
        if len(rushing):
            parts.append(
                finding_frame(
                    check="durations",
                    form=round_.label,
                    enumerator=rushing["enumerator"].to_numpy(dtype=object),
                    variable="duration",
                    value=np.array([f"{m:.1f} min" for m in rushing["median"]], dtype=object),
                    rule="rushing_enumerator",
                    severity="warning",
                    message=np.array(
                        [
                            f"median interview {m:.1f} minutes over {int(k)} completed "
                            f"interviews, below {config.enumerator_share:.0%} of the overall "
                            f"median {overall:.1f}"
                            for m, k in zip(rushing["median"], rushing["interviews"], strict=True)
                        ],
                        dtype=object,
                    ),
                )
            )
    activity = pd.DataFrame({"day": round_.day, "hour": hours, "enumerator": round_.enumerator})
    activity = activity[np.isfinite(hours)].astype({"hour": int})
    by_hour = (
        activity.groupby(["day", "hour"]).size().unstack("hour", fill_value=0)
        if len(activity)
        else pd.DataFrame()
    )
    by_hour = (
        by_hour.reindex(columns=range(24), fill_value=0).reset_index() if len(activity) else by_hour
    )
    by_enum_hour = (
        activity.groupby(["enumerator", "hour"]).size().unstack("hour", fill_value=0)
        if len(activity)
        else pd.DataFrame()
    )
    if len(activity):
        by_enum_hour = by_enum_hour.reindex(columns=range(24), fill_value=0).reset_index()
        by_hour.columns = [str(c) for c in by_hour.columns]
        by_enum_hour.columns = [str(c) for c in by_enum_hour.columns]
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    return CheckResult(
        findings,
        {
            "interview_durations": table.reset_index(drop=True),
            "durations_by_enumerator": by_enumerator,
            "activity_by_hour": by_hour,
            "activity_by_enumerator_hour": by_enum_hour,
        },
    )
