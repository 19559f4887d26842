"""Other-specify listings for recoding (IPA ``ipacheckspecify``).

Every "other, specify" text is listed with its parent question's answer, so that the data
manager can recode texts that belong to an existing option and spot new categories; texts that
equal an existing option's label (in any language, ignoring case, width, spaces and punctuation)
are flagged as recoding candidates. The parent question's "other" rate, overall and per
enumerator, shows enumerators who over-use "other".
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.missing import selected_any
from evaluation.checks.prepare import ANSWERED, EMPTY, PreparedRound, prepared
from evaluation.loaders.model import RawRound

__all__ = ["check_other_specify"]

_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)


def _comparable(text: str) -> str:
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text).casefold())


def check_other_specify(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """List other-specify texts and flag those that match an existing option.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        One finding per specify text: rule ``specify_matches_option`` (warning) when the text
        is the label of one of the parent list's regular options (the message names it), else
        ``other_specify`` (info). The value is the text, redacted. Tables ``specify_by_parent`` (per
        pair: parent answered, "other" chosen, share, texts, matching an option) and
        ``other_by_enumerator`` (per enumerator and parent: answered, other, share).

    Notes
    -----
    Pairs come from the instrument (see :func:`evaluation.checks.plan.plan_form`) and
    ``[[other_specify]]`` in ``checks.toml``. Unit: submission (or repeat instance) with a
    specify text.
    """
    round_ = prepared(data, config)
    plan = round_.plan
    parts, summary, by_enumerator = [], [], []
    for pair in plan.specify:
        parent = plan.variables[pair.parent]
        text_var = plan.variables[pair.text]
        if parent.table != text_var.table:
            continue
        table = round_.table(parent.table) if parent.table in ("main", *round_.repeats) else None
        if table is None or pair.text not in table.frame or pair.parent not in table.frame:
            continue
        choices = {}
        if parent.question.list_name:
            for choice in plan.instrument.choice_list(parent.question.list_name).choices:
                if choice.special or choice.name in parent.other_codes:
                    continue
                for _, label in choice.label.items:
                    choices.setdefault(_comparable(label), (choice.name, choice.label.first()))
        parent_values = table.frame[pair.parent].to_numpy(dtype=object)
        parent_status = table.status[pair.parent]
        answered = parent_status == ANSWERED
        if parent.type == "select_multiple":
            is_other = answered & selected_any(parent_values, parent.other_codes)
        else:
            is_other = answered & np.isin(parent_values, parent.other_codes)
        rows = np.flatnonzero(table.status[pair.text] != EMPTY)
        texts = table.shown[pair.text].to_numpy(dtype=object)[rows]
        matches = [choices.get(_comparable(t)) for t in texts]
        matched = np.array([m is not None for m in matches], dtype=bool)
        messages = np.array(
            [
                f"{pair.parent} = {p}; the text is option {m[0]} ({m[1]}): recode"
                if m
                else f"{pair.parent} = {p}; review for recoding"
                for p, m in zip(parent_values[rows], matches, strict=True)
            ],
            dtype=object,
        )
        if len(rows):
            parts.append(
                round_.findings(
                    "other_specify",
                    table,
                    rows,
                    variable=pair.text,
                    rule=np.where(matched, "specify_matches_option", "other_specify"),
                    severity=np.where(matched, "warning", "info"),
                    message=messages,
                )
            )
        summary.append(
            {
                "parent": pair.parent,
                "text": pair.text,
                "answered": int(answered.sum()),
                "other": int(is_other.sum()),
                "pct_other": float(is_other.sum() / answered.sum()) if answered.any() else 0.0,
                "texts": len(rows),
                "matching_option": int(matched.sum()),
            }
        )
        enumerators = round_.enumerator[table.parent]
        grouped = (
            pd.DataFrame({"enumerator": enumerators, "answered": answered, "other": is_other})
            .groupby("enumerator", sort=True)[["answered", "other"]]
            .sum()
            .reset_index()
        )
        grouped.insert(1, "parent", pair.parent)
        grouped["pct_other"] = np.divide(
            grouped["other"].to_numpy(dtype=float),
            grouped["answered"].to_numpy(dtype=float),
            out=np.zeros(len(grouped)),
            where=grouped["answered"].to_numpy() > 0,
        )
        by_enumerator.append(grouped)
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    tables = {
        "specify_by_parent": pd.DataFrame(
            summary,
            columns=[
                "parent",
                "text",
                "answered",
                "other",
                "pct_other",
                "texts",
                "matching_option",
            ],
        ),
        "other_by_enumerator": (
            pd.concat(by_enumerator, ignore_index=True)
            if by_enumerator
            else pd.DataFrame(columns=["enumerator", "parent", "answered", "other", "pct_other"])
        ),
    }
    return CheckResult(findings, tables)
