"""Who and what was submitted: source problems, duplicate IDs, unique fields, form versions.

- :func:`check_source`: what the loaders reported about the file (unknown or missing columns,
  duplicate instance IDs, mixed form versions...) and what preparing could not check.
- :func:`check_ids`: respondent IDs submitted more than once (IPA ``ipacheckids``): every
  submission of a duplicate group is compared with the group's first submission, giving
  ``# compared``, ``# different`` and ``% different`` and the variables that differ.
- :func:`check_unique`: fields that must differ between respondents (phone numbers), compared
  after normalisation and shown only as a keyed hash or a group number, never the value.
- :func:`check_form_versions`: versions in use by day, and submissions made with an outdated
  version after the current one was put into use (IPA ``ipacheckversions``).
"""

from __future__ import annotations

import hashlib
import hmac
import re

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.plan import MAIN
from evaluation.checks.prepare import ANSWERED, PreparedRound, prepared, submission_order
from evaluation.loaders.model import RawRound

__all__ = ["check_form_versions", "check_ids", "check_source", "check_unique"]

_ISSUE_SEVERITY = {
    "duplicate_instance_id": "error",
    "row_count_changed": "error",
    "suspected_mojibake": "error",
    "unexpected_form_version": "warning",
    "mixed_form_versions": "warning",
    "unknown_column": "warning",
    "missing_column": "warning",
    "unknown_choice_column": "warning",
    "non_text_cells": "warning",
    "date_cells": "warning",
    "platform_metadata_missing": "warning",
}
_SEPARATORS = re.compile(r"[\s\-()]")
_COUNTRY_CODE = re.compile(r"^(?:\+86|0086)(?=1\d{10}$)")
_DIFFERING_SHOWN = 15


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def check_source(data: RawRound | PreparedRound, config: CheckConfig | None = None) -> CheckResult:
    """Report what the loaders found in the file and what could not be checked.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        One finding per reported source issue (rule: its kind; value: its count) and per note
        of preparation (missing key or enumerator column, skip logic that cannot be evaluated).

    Notes
    -----
    Reads ``raw.issues`` (:class:`~evaluation.loaders.SourceIssue`) and the preparation notes.
    """
    round_ = prepared(data, config)
    issues = round_.raw.issues
    parts = []
    if issues:
        parts.append(
            finding_frame(
                check="source",
                form=round_.label,
                variable=np.array([i.column or "" for i in issues], dtype=object),
                value=np.array([str(i.count) for i in issues], dtype=object),
                rule=np.array([i.kind for i in issues], dtype=object),
                severity=np.array([_ISSUE_SEVERITY.get(i.kind, "info") for i in issues], object),
                message=np.array(
                    [f"{round_.raw.info.name}: {i.message}" for i in issues], dtype=object
                ),
            )
        )
    if round_.notes:
        parts.append(
            finding_frame(
                check="source",
                form=round_.label,
                variable=np.array([n[0] for n in round_.notes], dtype=object),
                rule=np.array([n[1] for n in round_.notes], dtype=object),
                severity="info",
                message=np.array([n[2] for n in round_.notes], dtype=object),
            )
        )
    return CheckResult(pd.concat(parts, ignore_index=True) if parts else finding_frame())


def check_ids(data: RawRound | PreparedRound, config: CheckConfig | None = None) -> CheckResult:
    """Find respondent IDs submitted more than once and compare the submissions.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings for every submission of a duplicate group: rule ``duplicate_id`` (error) when
        a submission's answers differ from the group's first, ``duplicate_id_identical``
        (warning) when they are all equal (a resubmission). Table ``ids_groups``: per submission its
        order in the group, ``n_compared``, ``n_different``, ``pct_different`` and the
        variables that differ.

    Notes
    -----
    As IPA's ``ipacheckids``: within a group, submissions are ordered by submission time (then
    start time, then file order) and each is compared with the first. Compared are the
    questions an enumerator enters in the main table, except the key and its re-entry, on their
    normalised text; a variable counts as compared when either submission answered it, and as
    different when the normalised answers differ. The first submission has 0 compared.
    Submissions without a respondent key are not grouped.
    """
    round_ = prepared(data, config)
    plan = round_.plan
    keys = round_.key
    present = keys != ""
    counts = pd.Series(keys[present]).value_counts()
    repeated = set(counts[counts > 1].index)
    columns = [
        "key",
        "submission",
        "enumerator",
        "submitted_at",
        "order",
        "n_submissions",
        "n_compared",
        "n_different",
        "pct_different",
        "differing",
    ]
    if not repeated:
        return CheckResult(finding_frame(), {"ids_groups": pd.DataFrame(columns=columns)})
    order = submission_order(round_)
    rows = np.array([r for r in order if keys[r] in repeated], dtype=int)
    group_keys = keys[rows]
    position = pd.Series(group_keys).groupby(group_keys).cumcount().to_numpy() + 1
    size = pd.Series(group_keys).map(counts).to_numpy(dtype=int)
    skip = {plan.key, f"{plan.key}_check"}
    compared_vars = [
        v.name
        for v in plan.asked(MAIN)
        if v.name not in skip and v.name in round_.main.frame.columns
    ]
    values = round_.main.frame[compared_vars].to_numpy(dtype=object)[rows]
    first_row = pd.Series(np.arange(len(rows))).groupby(group_keys).transform("first")
    first = values[first_row.to_numpy()]
    answered = (values != "") | (first != "")
    differs = answered & (values != first)
    n_compared = np.where(position > 1, answered.sum(axis=1), 0)
    n_different = np.where(position > 1, differs.sum(axis=1), 0)
    pct = np.divide(
        n_different, n_compared, out=np.zeros(len(rows), dtype=float), where=n_compared > 0
    )
    names = np.array(compared_vars, dtype=object)
    differing = [", ".join(names[d]) for d in differs]
    conflicting = pd.Series(n_different > 0).groupby(group_keys).transform("max").to_numpy()
    rule = np.where(conflicting, "duplicate_id", "duplicate_id_identical")
    severity = np.where(conflicting, "error", "warning")
    messages = []
    for i in range(len(rows)):
        head = f"{_ordinal(position[i])} of {size[i]} submissions with this ID"
        if position[i] == 1:
            messages.append(f"{head} (the reference for the comparison)")
            continue
        shown = differing[i].split(", ")[:_DIFFERING_SHOWN]
        more = (
            ""
            if n_different[i] <= _DIFFERING_SHOWN
            else f" and {n_different[i] - _DIFFERING_SHOWN} more"
        )
        detail = (
            f"{n_different[i]} of {n_compared[i]} answers differ from the first "
            f"({pct[i]:.1%}): {', '.join(shown)}{more}"
            if n_different[i]
            else f"all {n_compared[i]} answers equal the first: a resubmission"
        )
        messages.append(f"{head}; {detail}")
    findings = round_.findings(
        "ids",
        round_.main,
        rows,
        variable=plan.key or "",
        rule=rule,
        severity=severity,
        message=np.array(messages, dtype=object),
        value=keys[rows],
    )
    table = pd.DataFrame(
        {
            "key": keys[rows],
            "submission": round_.submission[rows],
            "enumerator": round_.enumerator[rows],
            "submitted_at": round_.submitted.iloc[rows].dt.strftime("%Y-%m-%d %H:%M").fillna(""),
            "order": position,
            "n_submissions": size,
            "n_compared": n_compared,
            "n_different": n_different,
            "pct_different": pct,
            "differing": differing,
        }
    ).reset_index(drop=True)
    return CheckResult(findings, {"ids_groups": table})


def _comparable(values: pd.Series) -> pd.Series:
    text = values.str.replace(_SEPARATORS, "", regex=True).str.casefold()
    return text.str.replace(_COUNTRY_CODE, "", regex=True)


def check_unique(
    data: RawRound | PreparedRound,
    config: CheckConfig | None = None,
    *,
    run_key: bytes | None = None,
) -> CheckResult:
    """Find values shared by different respondents in fields that must be unique.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.
    run_key : bytes, optional
        Key of the keyed hash (HMAC-SHA256) shown in place of the value; fresh for every run
        so that hashes cannot be compared across runs or reversed by enumerating phone numbers.
        Without it, groups are numbered instead (``group 1``...), deterministically.

    Returns
    -------
    CheckResult
        One finding (error, rule ``duplicate_value``) per submission whose value is shared
        with another respondent; the value column holds the hash or group number, never the
        value. Table ``unique_groups``: variable, group, number of respondents and their keys.

    Notes
    -----
    Values are compared after normalisation (NFKC, separators and a +86 prefix removed,
    case folded); special codes and empty answers are ignored. Several submissions of one
    respondent are the duplicate-ID check's business: a group is reported when it holds at
    least two different respondent keys (or submissions without a key).
    """
    round_ = prepared(data, config)
    frame = round_.main.frame
    parts = []
    tables = []
    for variable in round_.plan.unique:
        if variable not in frame.columns:
            continue
        status = round_.main.status.get(variable)
        usable = status == ANSWERED if status is not None else frame[variable] != ""
        rows = np.flatnonzero(usable)
        if not len(rows):
            continue
        values = _comparable(frame[variable].iloc[rows])
        who = np.where(round_.key[rows] != "", round_.key[rows], round_.submission[rows])
        distinct = pd.Series(who).groupby(values.to_numpy()).nunique()
        shared = distinct[distinct > 1].index
        if not len(shared):
            continue
        mask = values.isin(shared).to_numpy()
        flagged = rows[mask]
        flagged_values = values.to_numpy(dtype=object)[mask]
        keyed = pd.DataFrame({"value": flagged_values, "who": who[mask]})
        first_key = keyed.groupby("value")["who"].min().sort_values(kind="stable")
        if run_key is not None:
            label = {
                v: "hmac:" + hmac.new(run_key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:12]
                for v in first_key.index
            }
        else:
            label = {v: f"group {i}" for i, v in enumerate(first_key.index, start=1)}
        labels = np.array([label[v] for v in flagged_values], dtype=object)
        members = keyed.groupby("value")["who"].agg(lambda s: sorted(set(s)))
        messages = np.array(
            [
                f"{variable}: the same value as {len(members[v]) - 1} other respondent(s): "
                + ", ".join(k for k in members[v] if k != w)
                for v, w in zip(flagged_values, keyed["who"], strict=True)
            ],
            dtype=object,
        )
        parts.append(
            round_.findings(
                "unique",
                round_.main,
                flagged,
                variable=variable,
                rule="duplicate_value",
                severity="error",
                message=messages,
                value=labels,
            )
        )
        tables.append(
            pd.DataFrame(
                {
                    "variable": variable,
                    "group": [label[v] for v in first_key.index],
                    "n_respondents": [len(members[v]) for v in first_key.index],
                    "keys": [", ".join(members[v]) for v in first_key.index],
                }
            )
        )
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["variable", "group", "n_respondents", "keys"])
    )
    return CheckResult(findings, {"unique_groups": table})


def check_form_versions(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """Tabulate form versions by day and flag submissions made with an outdated version.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings (warning, rule ``outdated_form_version``) for submissions with a version other
        than the current one, submitted after the current version's first submission. Tables
        ``versions`` (version, first and last day, submissions, current) and
        ``versions_by_day`` (day, version, submissions).

    Notes
    -----
    The current versions are those configured in ``[form_versions] current``; else the
    instrument's version when submissions carry it; else the version whose first submission is
    the latest (the one most recently put into use). Versions come from ``meta.form_version``
    (Kobo ``__version__``, ODK ``FormVersion``, SurveyCTO ``formdef_version``).
    """
    round_ = prepared(data, config)
    versions = round_.raw.meta["form_version"].astype(object)
    versions = versions.where(versions.notna(), "").astype(str).to_numpy(dtype=object)
    columns = ["form_version", "first_day", "last_day", "submissions", "current"]
    if (versions == "").all():
        empty = pd.DataFrame(columns=columns)
        return CheckResult(
            finding_frame(),
            {"versions": empty, "versions_by_day": pd.DataFrame(columns=["day"])},
        )
    moment = round_.submitted.where(round_.submitted.notna(), round_.start)
    frame = pd.DataFrame(
        {"version": versions, "day": round_.day, "moment": moment.reset_index(drop=True)}
    )
    known = frame[frame["version"] != ""]
    first_seen = known.groupby("version")["moment"].min()
    configured = [v for v in round_.plan.config.current_versions if v in set(known["version"])]
    if configured:
        current = set(configured)
    elif round_.plan.instrument.version in first_seen.index:
        current = {round_.plan.instrument.version}
    else:
        latest = first_seen.sort_values(kind="stable", na_position="first")
        current = {latest.index[-1]}
    since = first_seen[list(current)].min()
    outdated = (
        (frame["version"] != "")
        & ~frame["version"].isin(current)
        & (frame["moment"] > since if pd.notna(since) else False)
    ).to_numpy(dtype=bool)
    rows = np.flatnonzero(outdated)
    current_text = ", ".join(sorted(current))
    findings = round_.findings(
        "form_versions",
        round_.main,
        rows,
        variable="form_version",
        rule="outdated_form_version",
        severity="warning",
        message=f"submitted with an outdated form version; current: {current_text}",
        value=versions[rows],
    )
    summary = (
        known.groupby("version")
        .agg(first_day=("day", "min"), last_day=("day", "max"), submissions=("day", "size"))
        .reset_index()
        .rename(columns={"version": "form_version"})
    )
    summary["current"] = summary["form_version"].isin(current)
    by_day = (
        known.groupby(["day", "version"])
        .size()
        .rename("submissions")
        .reset_index()
        .rename(columns={"version": "form_version"})
    )
    return CheckResult(findings, {"versions": summary, "versions_by_day": by_day})
