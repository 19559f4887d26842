"""Duplicate submissions: found, classified as ``iecompdup`` does, resolved by reviewed decisions.

Two kinds of duplicates (DATA.md sections 3.1, 3.2, 8 step 2; section 10, #1, #2, #28):

1. The **same submission twice** (the same instance ID and the same content: duplicate
   downloads concatenated, a file declared twice): later copies are excluded automatically
   (``duplicate_download``) and logged.
2. **Several submissions under one respondent ID.** Each group is compared field by field on
   its content (metadata such as start and end times, devices and calculations left out) and
   classified: ``identical`` (a double submission), ``edited`` (a few answers differ: an edited
   resubmission) or ``different_person`` (many answers differ, or an answer that should never
   change, such as sex or birth year, differs: two people share an ID). Identical groups are
   resolved automatically, keeping the first submission (``exact_resubmission``). Every other
   group needs a reviewed decision for each of its submissions in ``duplicates.csv``: ``keep``,
   ``drop`` or ``newid`` (with initials and notes); while any group is unresolved the run stops
   and a report listing them (respondent ID, submission, the names of the fields that differ,
   never their values) is written for the field team to fill in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import (
    exclusion_entries,
    log_entries,
    problem_entries,
    unused_decision,
)
from evaluation.cleaning.decisions import Decisions
from evaluation.cleaning.errors import DecisionsError
from evaluation.loaders.model import MAIN_TABLE

__all__ = [
    "REPORT_COLUMNS",
    "classify_groups",
    "duplicate_downloads",
    "resolve_duplicates",
    "submission_ids",
]

#: Columns of the duplicates report (the decision columns come last, empty, to fill in).
REPORT_COLUMNS = (
    "instrument",
    "round",
    "key",
    "instance_id",
    "source",
    "source_row",
    "submitted_at",
    "group",
    "classification",
    "n_compared",
    "n_different",
    "fields_different",
    "action",
    "newid",
    "initials",
    "notes",
)


def submission_ids(meta: pd.DataFrame) -> pd.Series:
    """Return each row's submission ID: the instance ID, else ``<source>#row<n>``.

    Parameters
    ----------
    meta : pandas.DataFrame
        Stacked metadata (``source``, ``source_row``, ``instance_id``).

    Returns
    -------
    pandas.Series
        ``string`` IDs, unique per file row.
    """
    fallback = meta["source"].astype("string") + "#row" + meta["source_row"].astype("string")
    instance = meta["instance_id"].astype("string")
    return instance.mask(instance.isna() | instance.eq(""), fallback)


def duplicate_downloads(
    content: pd.DataFrame, meta: pd.DataFrame, active: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Exclude later copies of the same submission (same instance ID, same content).

    Parameters
    ----------
    content : pandas.DataFrame
        The main table as text (every column).
    meta : pandas.DataFrame
        Stacked metadata (``instance_id``).
    active : numpy.ndarray
        Rows not yet excluded.

    Returns
    -------
    tuple of (numpy.ndarray, pandas.DataFrame, pandas.DataFrame)
        Rows kept; exclusions (``duplicate_download``); problems (``instance_id_reused``: one
        instance ID with different contents, an error to review).
    """
    instance = meta["instance_id"].astype("string")
    usable = instance.notna().to_numpy() & instance.ne("").fillna(False).to_numpy() & active
    repeated = usable & instance.duplicated(keep=False).to_numpy()
    keep = active.copy()
    if not repeated.any():
        empty = exclusion_entries(MAIN_TABLE, np.zeros(0, np.int64), "")
        return (
            keep,
            empty,
            problem_entries(MAIN_TABLE, np.zeros(0, np.int64), None, "", "", message=""),
        )
    rows = np.flatnonzero(repeated)
    sub = content.iloc[rows].astype("string").fillna("")
    sub.insert(0, "__instance", instance.to_numpy()[rows])
    copies = sub.duplicated(keep="first").to_numpy()
    keep[rows[copies]] = False
    exclusions = exclusion_entries(
        MAIN_TABLE,
        rows[copies],
        "duplicate_download",
        "same instance ID and content as an earlier row",
    )
    left = rows[~copies]
    reused = pd.Series(instance.to_numpy()[left]).duplicated(keep=False).to_numpy()
    problems = problem_entries(
        MAIN_TABLE,
        left[reused],
        "instance_id",
        "instance_id_reused",
        "error",
        message=(
            "the same instance ID holds different contents (an edited submission exported twice?)"
        ),
    )
    return keep, exclusions, problems


def classify_groups(
    content: pd.DataFrame,
    keys: pd.Series,
    active: np.ndarray,
    stable: Sequence[str],
    different_share: float,
) -> pd.DataFrame:
    """Find and classify groups of submissions sharing a respondent ID.

    Parameters
    ----------
    content : pandas.DataFrame
        The answers compared (normalised text), one column per content question.
    keys : pandas.Series
        The respondent ID of every row.
    active : numpy.ndarray
        Rows still in the data.
    stable : sequence of str
        Questions whose answer should never change (``backcheck: should_not_change``): if one
        differs, the group is two people.
    different_share : float
        Share of compared fields that differ above which a group is two people.

    Returns
    -------
    pandas.DataFrame
        One row per member of a group, indexed by row position: ``group`` (0, 1, ...; ordered
        by key), ``classification`` (``identical``, ``edited``, ``different_person``),
        ``n_compared`` (fields answered by any member), ``n_different`` and
        ``fields_different`` (names joined by ``;``).

    Notes
    -----
    As ``iecompdup``: a field differs when the members do not all hold the same value (a
    blank and an answer differ); it is compared when some member answered it.
    """
    key = keys.astype("string").where(active)
    dup = (key.notna() & key.duplicated(keep=False)).to_numpy(dtype=bool)
    columns = ["group", "classification", "n_compared", "n_different", "fields_different"]
    if not dup.any():
        return pd.DataFrame(columns=columns)
    rows = np.flatnonzero(dup)
    group_keys = key.to_numpy()[rows]
    codes, uniques = pd.factorize(pd.Series(group_keys), sort=True)
    sub = content.iloc[rows].astype("string").fillna("").reset_index(drop=True)
    differs = {}
    answered = {}
    for column in sub.columns:
        grouped = sub[column].groupby(codes)
        differs[column] = (grouped.nunique() > 1).to_numpy()
        answered[column] = sub[column].ne("").groupby(codes).any().to_numpy()
    diff = pd.DataFrame(differs)
    ans = pd.DataFrame(answered)
    n_compared = ans.sum(axis=1).to_numpy()
    n_different = diff.sum(axis=1).to_numpy()
    names = np.array(
        [";".join(diff.columns[diff.iloc[g].to_numpy()]) for g in range(len(uniques))], dtype=object
    )
    stable_cols = [c for c in stable if c in diff.columns]
    stable_diff = (
        diff[stable_cols].any(axis=1).to_numpy() if stable_cols else np.zeros(len(uniques), bool)
    )
    share = np.divide(n_different, np.maximum(n_compared, 1))
    label = np.where(
        n_different == 0,
        "identical",
        np.where(stable_diff | (share > different_share), "different_person", "edited"),
    )
    return pd.DataFrame(
        {
            "group": codes,
            "classification": label[codes],
            "n_compared": n_compared[codes],
            "n_different": n_different[codes],
            "fields_different": names[codes],
        },
        index=rows,
    )


def resolve_duplicates(
    groups: pd.DataFrame,
    keys: pd.Series,
    meta: pd.DataFrame,
    active: np.ndarray,
    decisions: Decisions,
    *,
    instrument: str,
    round_name: str,
    key_name: str,
) -> tuple[np.ndarray, pd.Series, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Apply reviewed duplicate decisions and resolve identical groups automatically.

    Parameters
    ----------
    groups : pandas.DataFrame
        From :func:`classify_groups`.
    keys : pandas.Series
        Respondent IDs.
    meta : pandas.DataFrame
        Stacked metadata (``source``, ``source_row``, ``instance_id``, ``submitted_at``).
    active : numpy.ndarray
        Rows still in the data.
    decisions : Decisions
        The ``duplicates`` table.
    instrument : str
        The instrument family.
    round_name : str
        The round.
    key_name : str
        The key column, for the log.

    Returns
    -------
    tuple
        ``(keep, keys, exclusions, log, problems, report)``: rows kept, the keys after
        ``newid`` decisions, exclusions (``exact_resubmission``, ``duplicate_dropped``), log
        entries (``duplicate_newid``), problems (``unused_decision``), and the report of
        groups still unresolved (:data:`REPORT_COLUMNS`; empty when all are resolved).

    Raises
    ------
    DecisionsError
        When a group is decided only in part, a decision's key does not match the submission,
        or after the decisions two kept submissions still share a key.
    """
    table = decisions.table("duplicates", instrument, round_name)
    where = decisions.where["duplicates"]
    ids = submission_ids(meta)
    keep = active.copy()
    keys = keys.astype("string").copy()
    exclusions, logs, problems = [], [], []
    by_id = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    decided = np.zeros(len(ids), dtype=bool)
    for _, row in table.iterrows():
        line = f"{where}: line {int(row['line'])}"
        instance = str(row["instance_id"])
        if instance not in by_id.index:
            problems.append(unused_decision(line, key_name, f"submission {instance!r}"))
            continue
        position = int(np.atleast_1d(by_id[instance])[0])
        if str(keys.iloc[position]) != str(row["key"]):
            msg = (
                f"{line}: submission {instance!r} has key {keys.iloc[position]!r} in the data, "
                f"not {row['key']!r}; the decision is stale"
            )
            raise DecisionsError(msg)
        decided[position] = True
        if not keep[position]:
            continue
        action = str(row["action"])
        if action == "drop":
            keep[position] = False
            exclusions.append(
                exclusion_entries(MAIN_TABLE, np.array([position]), "duplicate_dropped", line)
            )
        elif action == "newid":
            new = str(row["newid"])
            logs.append(
                log_entries(
                    MAIN_TABLE,
                    np.array([position]),
                    key_name,
                    keys.iloc[position],
                    new,
                    rule="duplicate_newid",
                )
            )
            keys.iloc[position] = new
    report_rows = []
    if not groups.empty:
        for _, members in groups.groupby("group", sort=True):
            positions = members.index.to_numpy()
            done = decided[positions]
            if done.any() and not done.all():
                missing = ", ".join(str(ids.iloc[p]) for p in positions[~done])
                msg = (
                    f"{where}: the duplicate group of key {keys.iloc[positions[0]]!r} is decided "
                    f"only in part: submissions {missing} need a decision too (whole groups)"
                )
                raise DecisionsError(msg)
            if done.all():
                continue
            label = str(members["classification"].iloc[0])
            if label == "identical":
                order = (
                    meta.iloc[positions]
                    .sort_values(
                        ["submitted_at", "source", "source_row"], na_position="last", kind="stable"
                    )
                    .index.to_numpy()
                )
                later = order[1:]
                keep[later] = False
                exclusions.append(
                    exclusion_entries(
                        MAIN_TABLE,
                        later,
                        "exact_resubmission",
                        f"identical content to submission {ids.iloc[order[0]]}",
                    )
                )
                continue
            for p in positions:
                stamp = meta["submitted_at"].iloc[p]
                report_rows.append(
                    {
                        "instrument": instrument,
                        "round": round_name,
                        "key": str(keys.iloc[p]),
                        "instance_id": str(ids.iloc[p]),
                        "source": str(meta["source"].iloc[p]),
                        "source_row": int(meta["source_row"].iloc[p]),
                        "submitted_at": "" if pd.isna(stamp) else pd.Timestamp(stamp).isoformat(),
                        "group": f"{instrument}/{round_name}/{keys.iloc[p]}",
                        "classification": label,
                        "n_compared": int(members.loc[p, "n_compared"]),
                        "n_different": int(members.loc[p, "n_different"]),
                        "fields_different": str(members.loc[p, "fields_different"]),
                        "action": "",
                        "newid": "",
                        "initials": "",
                        "notes": "",
                    }
                )
    report = pd.DataFrame(report_rows, columns=list(REPORT_COLUMNS))
    if report.empty:
        kept_keys = keys[keep]
        clash = kept_keys.duplicated(keep=False)
        if clash.any():
            shown = sorted(kept_keys[clash].unique().tolist())[:10]
            msg = (
                f"{where}: after the decisions these keys are still held by more than one kept "
                f"submission: {shown}; decide drop or newid for all but one"
            )
            raise DecisionsError(msg)
    return (
        keep,
        keys,
        _concat(exclusions),
        _concat(logs),
        _concat(problems),
        report,
    )


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
