"""Enumerator and survey dashboards (IPA ``ipacheckenumdb`` and ``ipachecksurveydb``).

The enumerator dashboard gives, per enumerator: submissions, completed interviews, consent rate,
durations, the rates of missing, don't-know, refused and "other" answers, the days worked and
productivity per day. The survey dashboard gives the same by day and by city, and one line for
the whole round. Rates are among the questions asked (skip logic respected).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.missing import answer_counts
from evaluation.checks.prepare import EMPTY, PreparedRound, prepared
from evaluation.checks.timing import durations
from evaluation.loaders.model import RawRound

__all__ = ["check_dashboards", "enumerator_dashboard", "survey_dashboard"]


def _base(round_: PreparedRound) -> pd.DataFrame:
    counts = answer_counts(round_)
    consent_asked = (
        round_.main.status[round_.plan.consent] != EMPTY
        if round_.plan.consent in round_.main.status
        else np.zeros(len(round_.main), dtype=bool)
    )
    consented = round_.consented if round_.consented is not None else np.zeros(len(counts), bool)
    minutes = durations(round_)
    city = (
        round_.main.frame[round_.plan.city].to_numpy(dtype=object)
        if round_.plan.city in round_.main.frame.columns
        else np.full(len(counts), "", dtype=object)
    )
    versions = round_.raw.meta["form_version"].astype(object)
    return counts.assign(
        enumerator=round_.enumerator,
        day=round_.day,
        city=city,
        completed=round_.completed,
        consent_asked=consent_asked,
        consented=consented & consent_asked,
        minutes=np.where(round_.completed & (minutes >= 0), minutes, np.nan),
        form_version=versions.where(versions.notna(), "").to_numpy(dtype=object),
        version_known=versions.where(versions.notna() & (versions != ""), None).to_numpy(object),
        day_known=np.where(round_.day != "", round_.day, None),
    )


def _summarise(base: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    grouped = base.groupby(by, sort=True) if by else base.groupby(np.zeros(len(base)))
    table = grouped.agg(
        submissions=("completed", "size"),
        completed=("completed", "sum"),
        consent_asked=("consent_asked", "sum"),
        consented=("consented", "sum"),
        minutes_min=("minutes", "min"),
        minutes_mean=("minutes", "mean"),
        minutes_median=("minutes", "median"),
        minutes_max=("minutes", "max"),
        asked=("asked", "sum"),
        missing=("missing", "sum"),
        dont_know=("dont_know", "sum"),
        refused=("refused", "sum"),
        selects=("selects", "sum"),
        other=("other", "sum"),
        enumerators=("enumerator", "nunique"),
        form_versions=("version_known", "nunique"),
        first_day=("day_known", "min"),
        last_day=("day_known", "max"),
        days=("day_known", "nunique"),
    )
    table["first_day"] = table["first_day"].fillna("")
    table["last_day"] = table["last_day"].fillna("")

    def rate(numerator: str, denominator: str) -> np.ndarray:
        top = table[numerator].to_numpy(dtype=float)
        bottom = table[denominator].to_numpy(dtype=float)
        return np.divide(top, bottom, out=np.full(len(top), np.nan), where=bottom > 0)

    table["pct_consent"] = rate("consented", "consent_asked")
    table["pct_missing"] = rate("missing", "asked")
    table["pct_dont_know"] = rate("dont_know", "asked")
    table["pct_refused"] = rate("refused", "asked")
    table["pct_other"] = rate("other", "selects")
    days = table["days"].to_numpy(dtype=float)
    table["per_day"] = np.divide(
        table["submissions"].to_numpy(dtype=float),
        days,
        out=np.full(len(days), np.nan),
        where=days > 0,
    )
    order = [
        "submissions",
        "completed",
        "pct_consent",
        "minutes_min",
        "minutes_mean",
        "minutes_median",
        "minutes_max",
        "pct_missing",
        "pct_dont_know",
        "pct_refused",
        "pct_other",
        "enumerators",
        "form_versions",
        "first_day",
        "last_day",
        "days",
        "per_day",
    ]
    table = table[order]
    return table.reset_index() if by else table.reset_index(drop=True)


def enumerator_dashboard(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> dict[str, pd.DataFrame]:
    """Build the enumerator dashboard.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    dict
        ``enumerators``: one row per enumerator with submissions, completed, pct_consent
        (among submissions where consent was asked), minimum, mean, median and maximum duration
        of completed interviews (minutes), pct_missing, pct_dont_know, pct_refused (among
        questions asked), pct_other (among select answers with an "other" option), first and
        last day, days worked and submissions per day worked. ``productivity``: submissions
        per enumerator (rows) and day (columns), with a total.
    """
    return _enumerator_tables(_base(prepared(data, config)))


def _enumerator_tables(base: pd.DataFrame) -> dict[str, pd.DataFrame]:
    table = _summarise(base, ["enumerator"]).drop(columns=["enumerators"])
    per_day = (
        base[base["day"] != ""].groupby(["enumerator", "day"]).size().unstack("day", fill_value=0)
    )
    per_day["total"] = per_day.sum(axis=1)
    per_day.columns = [str(c) for c in per_day.columns]
    return {"enumerators": table, "productivity": per_day.reset_index()}


def survey_dashboard(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> dict[str, pd.DataFrame]:
    """Build the survey dashboard: the round overall, by day and by city.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    dict
        ``survey`` (one row), ``survey_by_day`` and ``survey_by_city`` with the statistics of
        :func:`enumerator_dashboard` plus the number of enumerators and form versions.
    """
    return _survey_tables(_base(prepared(data, config)))


def _survey_tables(base: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "survey": _summarise(base, []),
        "survey_by_day": _summarise(base, ["day"]),
        "survey_by_city": _summarise(base, ["city"]),
    }


def check_dashboards(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """Build both dashboards as one check's tables (no findings of their own).

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        No findings (enumerator rates and durations are judged by
        :func:`~evaluation.checks.check_missing` and :func:`~evaluation.checks.check_durations`);
        the tables of :func:`enumerator_dashboard` and :func:`survey_dashboard`.
    """
    round_ = prepared(data, config)
    base = _base(round_)
    return CheckResult(finding_frame(), {**_enumerator_tables(base), **_survey_tables(base)})
