"""Issue 6 on the demo world: the quality checks report every injected problem they cover.

The expected problems are the demo's manifest (the messiness injector's own record); each kind
is looked for in the findings of :func:`evaluation.checks.run_checks` with the project's
``analysis/checks.toml``, by the submission (instance ID) it was injected into:

==========================  ============================================================
``rushed_interview``        ``short_interview`` on the submission, and (interviewer forms
                            with at least five interviews by the enumerator)
                            ``rushing_enumerator`` on the enumerator
``exact_resubmission``      ``duplicate_id_identical`` on the copy
``conflicting_duplicate``   ``duplicate_id`` on the changed copy
``out_of_range``            ``hard_range`` on the submission and variable
``skip_logic_violation``    ``answered_not_relevant`` on the submission and variable
``other_specify_existing``  ``specify_matches_option`` on the submission and the text
``pii_in_free_text``        ``identifier_in_text`` on the submission and variable
==========================  ============================================================

In clean mode (no injected problem) there is no duplicate, constraint or skip-logic finding,
no outlier rule flags more than ``max_share`` of the values it checks (the checks' own
guard), and outlier findings over all checked variables stay within ``max_share``.
"""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from .conftest import ROOT

# the messy Kobo CSV folder is the one test_clean_demo cleans: same worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-kobo-csv")]

RULES = {
    "exact_resubmission": "duplicate_id_identical",
    "conflicting_duplicate": "duplicate_id",
    "out_of_range": "hard_range",
    "skip_logic_violation": "answered_not_relevant",
    "other_specify_existing": "specify_matches_option",
    "pii_in_free_text": "identifier_in_text",
    "rushed_interview": "short_interview",
}
#: Rules of the checks that must stay silent on clean data.
NEVER_ON_CLEAN = {
    "duplicate_id",
    "duplicate_id_identical",
    "duplicate_value",
    "hard_range",
    "constraint",
    "answered_not_relevant",
    "required_missing",
}


def _form(file: str) -> str:
    family, round_name = file.rsplit("/", 1)[1].removeprefix("qall2_").split(".")[0].split("_", 1)
    return f"{family}/{round_name}"


def test_every_injected_problem_the_checks_cover_is_reported(checked_demo):
    demo, findings = checked_demo(seed=1, format="kobo-csv")
    table = findings.findings
    by_submission = set(
        zip(table["form"], table["submission"], table["variable"], table["rule"], strict=True)
    )
    by_rule = {(f, s, r) for f, s, _, r in by_submission}
    manifest = demo.manifest[demo.manifest["kind"].isin(RULES)]
    assert set(manifest["kind"]) == set(RULES)
    missed = []
    for row in manifest.itertuples():
        form, rule = _form(row.file), RULES[row.kind]
        if row.kind in {"exact_resubmission", "conflicting_duplicate", "rushed_interview"}:
            found = (form, row.instance_id, rule) in by_rule
        else:
            found = (form, row.instance_id, row.column, rule) in by_submission
        if not found:
            missed.append((form, row.key, row.column, row.kind))
    assert not missed, missed


def test_the_rushing_enumerator_is_named(checked_demo):
    demo, findings = checked_demo(seed=1, format="kobo-csv")
    table = findings.findings
    rushed = demo.manifest[demo.manifest["kind"] == "rushed_interview"]
    assert len(rushed)
    for file, group in rushed.groupby("file"):
        enumerator = group["detail"].iloc[0].removeprefix("enumerator ")
        submissions = demo.submissions[tuple(_form(file).split("/"))]
        main = submissions.responses.main
        # the injector picks the enumerator by username; the checks name meta_enum_id
        named = set(main.loc[main["username"] == enumerator, "meta_enum_id"])
        interviews = int((main["username"] == enumerator).sum())
        if interviews < 5:  # too few interviews for a median to say anything
            continue
        flagged = table[(table["form"] == _form(file)) & (table["rule"] == "rushing_enumerator")]
        assert named & set(flagged["enumerator"]), (file, named)


def test_clean_demo_has_no_duplicate_constraint_or_skip_findings(checked_demo):
    _, findings = checked_demo(seed=1, format="kobo-csv", clean=True)
    table = findings.findings
    wrong = table[table["rule"].isin(NEVER_ON_CLEAN)]
    assert wrong.empty, wrong[["form", "key", "variable", "rule", "message"]].to_string()


def test_clean_demo_outliers_stay_within_the_configured_rate(checked_demo):
    demo, findings = checked_demo(seed=1, format="kobo-csv", clean=True)
    config = tomllib.loads((ROOT / "analysis" / "checks.toml").read_text("utf-8"))
    max_share = config["outliers"]["max_share"]
    table = findings.findings
    assert table[table["rule"] == "outlier_rule_flags_many"].empty
    outliers = table[table["rule"].isin(["outlier_iqr", "outlier_sd"])]
    # the checks' own guard (no rule flags more than max_share of what it checks, counted by
    # the checks), and pooled over every checked variable: flagged values over the numeric
    # answers of the forms' number questions in the export (counted here, not by the checks)
    checked = 0
    for submissions in demo.submissions.values():
        main = submissions.responses.main
        for q, _ in submissions.instrument.walk():
            if q.type in {"integer", "decimal"} and q.name in main.columns:
                values = pd.to_numeric(main[q.name], errors="coerce")
                checked += int((values.notna() & (values >= 0)).sum())
    assert len(outliers) <= max_share * checked, (len(outliers), checked)
