"""A whole messy round: every kind of problem detected, and the workbook, CSV and HTML outputs.

The round plants each problem the issue names (a rushing enumerator, a duplicate submission, an
out-of-range value, a skip-logic violation, an "other, specify" that is an existing option) and
direct identifiers in free text; the outputs must report the problems and never the
identifiers.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from evaluation.checks import (
    CHECKS,
    FINDING_COLUMNS,
    CheckConfig,
    Findings,
    check_round,
    output_files,
    run_checks,
    write_outputs,
)
from evaluation.checks.workbook import TABLE_ORDER, WORKBOOK
from tests.unit.checks.conftest import (
    FRAME,
    NAME,
    PHONE,
    RESIDENT_ID,
    answers,
    assert_no_identifiers,
    backcheck_answers,
    backcheck_round,
    raw_round,
    sample_frame,
)


def _at(hour: int, minutes: int, day: int = 5) -> dict[str, str]:
    start = dt.datetime(2026, 12, day, hour, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    end = start + dt.timedelta(minutes=minutes)
    return {
        "start": start.isoformat(timespec="milliseconds"),
        "end": end.isoformat(timespec="milliseconds"),
        "today": start.date().isoformat(),
    }


def messy_rows() -> list[dict[str, str]]:
    rows = [answers(i, **_at(8 + i % 8, 35 + i % 5)) for i in range(1, 13)]
    rows[0].update(id_name=NAME, id_phone=PHONE)
    rows += [answers(20 + i, meta_enum_id="E007", **_at(9 + i, 8)) for i in range(1, 5)]  # rusher
    rows.append(dict(rows[1]))  # TJ001002 submitted twice, same answers
    rows[3]["job_wage"] = "250000"  # above the hard range [0, 100000]
    rows[4].update(job_status="2", job_hours="")  # required and asked, but empty
    rows[5].update(job_status="96", job_status_other="学徒", job_wage="4000")  # wage not asked
    rows[5].update(job_hours="", job_benefits="", job_title_text="")
    rows[6]["job_title_text"] = f"电工 身份证{RESIDENT_ID} 电话{PHONE}"
    return rows


@pytest.fixture(scope="module")
def findings() -> Findings:
    survey = raw_round(messy_rows())
    backcheck = backcheck_round(
        [
            backcheck_answers("TJ001003", "B001", dem_sex="2"),
            backcheck_answers("TJ001004", "B001"),
            backcheck_answers("TJ001007", "B001"),
        ]
    )
    frame = sample_frame([(f"TJ001{i:03d}", "1", "TJ") for i in range(1, 13)] + FRAME[3:])
    return check_round(survey, sample=frame, backchecks=[backcheck])


@pytest.fixture(scope="module")
def files(findings) -> dict[str, bytes]:
    return output_files(findings)


def test_every_planted_problem_is_reported(findings):
    table = findings.findings
    rules = set(zip(table["key"], table["rule"], strict=True))
    assert ("", "rushing_enumerator") in rules
    assert set(table.loc[table["rule"] == "rushing_enumerator", "enumerator"]) == {"E007"}
    assert ("TJ001002", "duplicate_id_identical") in rules
    assert ("TJ001004", "hard_range") in rules
    assert ("TJ001005", "required_missing") in rules
    assert ("TJ001006", "answered_not_relevant") in rules  # job_wage of a non-employee
    assert ("TJ001006", "specify_matches_option") in rules  # 学徒 is option 2, Apprentice
    assert ("TJ001003", "backcheck_should_not_change") in rules
    assert ("TJ001021", "not_in_sample") in rules  # the rusher's respondents were not sampled
    assert ("TJ001007", "identifier_in_text") in rules
    assert list(table.columns) == list(FINDING_COLUMNS)


def test_a_clean_round_has_no_duplicate_constraint_or_skip_findings():
    rows = [answers(i, **_at(8 + i % 8, 35 + i % 5)) for i in range(1, 13)]
    clean = check_round(raw_round(rows)).findings
    assert clean[clean["check"].isin(["ids", "unique", "constraints", "skip_logic"])].empty
    assert clean.empty


def test_the_workbook(findings, files):
    book = openpyxl.load_workbook(io.BytesIO(files[WORKBOOK]))
    tables = [t for t in TABLE_ORDER if t in findings.tables]
    assert book.sheetnames == ["summary", *CHECKS, *tables]
    assert {"enumerators", "survey_by_day", "progress_by_group", "bc_variables"} <= set(tables)
    sheet = book["constraints"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:J")
    assert [c.value for c in sheet[1]] == list(FINDING_COLUMNS)
    (formatting,) = sheet.conditional_formatting
    assert [rule.formula[0] for rule in formatting.rules] == [
        '$I2="error"',
        '$I2="warning"',
        '$I2="info"',
    ]
    enumerators = book["enumerators"]
    header = [c.value for c in enumerators[1]]
    pct = header.index("pct_consent") + 1
    assert enumerators.cell(row=2, column=pct).number_format == "0.0%"
    assert isinstance(enumerators.cell(row=2, column=header.index("submissions") + 1).value, int)
    assert book["summary"].max_row == len(findings.counts()) + 1


def test_csv_html_and_determinism(findings, files, tmp_path):
    read = pd.read_csv(io.BytesIO(files["findings.csv"]), dtype=str, keep_default_na=False)
    assert read.equals(findings.findings.astype(str))
    assert set(files) >= {"tables/enumerators.csv", "tables/survey_by_city.csv", "summary.html"}
    page = files["summary.html"].decode("utf-8")
    assert page.count("<img ") == 2
    assert "Submissions per day" in page
    assert "Durations per enumerator" in page
    assert output_files(findings) == files  # byte-identical
    marked = output_files(findings, note="Synthetic demo data")["summary.html"].decode("utf-8")
    assert "<strong>Synthetic demo data</strong>" in marked
    assert marked != page  # the plots carry the note in their titles too
    folder = write_outputs(findings, tmp_path, day=dt.date(2026, 12, 9))
    assert folder == tmp_path / "2026-12-09"
    assert (folder / WORKBOOK).read_bytes() == files[WORKBOOK]
    assert (folder / "tables" / "progress_units.csv").exists()


def test_no_identifier_in_any_output(findings, files):
    for name, content in files.items():
        if name.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(content))
            text = "\n".join(
                str(cell.value)
                for sheet in book.worksheets
                for row in sheet.iter_rows()
                for cell in row
                if cell.value is not None
            )
        else:
            text = content.decode("utf-8")
        assert_no_identifiers(text)
    # The free text with a planted ID number and phone is shown masked where it is compared.
    compared = findings.tables["bc_comparisons"].set_index(["key", "variable"])
    assert compared.loc[("TJ001007", "job_title_text"), "survey_value"] == (
        "电工 身份证[ID number] 电话[phone]"
    )


def test_run_checks_on_rounds_with_a_sample_file(tmp_path):
    path = tmp_path / "frame.csv"
    path.write_text("resp_id\nTJ001001\n", encoding="utf-8")
    result = run_checks([raw_round([answers(1), answers(2)])], sample=path)
    assert result.of("progress")["key"].tolist() == ["TJ001002"]
    with pytest.raises(ValueError, match="a back-check file is read with its declaration"):
        run_checks([raw_round([answers(1)])], backchecks=tmp_path / "bc.csv")


def test_run_checks_on_rounds_labels_forms_and_matches_backchecks():
    survey = raw_round(messy_rows())
    backcheck = backcheck_round([backcheck_answers("TJ001003", "B001", dem_sex="2")])
    result = run_checks([survey], backchecks=[backcheck], config=CheckConfig())
    assert set(result.findings["form"]) == {"small/baseline"}
    assert "bc_comparisons" in result.tables
    assert result.tables["overview"]["submissions"].tolist() == [17]
    twice = run_checks([survey, raw_round(messy_rows(), name="second.csv")])
    assert set(twice.findings["form"]) == {
        "small/baseline (small.csv)",
        "small/baseline (second.csv)",
    }
