"""The HTML report, the manifest and the writers: self-contained, numbered, complete, and
byte-identical when run twice."""

from __future__ import annotations

import pathlib
import re

import openpyxl
import pytest

from evaluation.reporting import (
    Section,
    gate,
    tables,
    write_report,
    write_table,
)
from evaluation.reporting.report import SECTIONS, manifest_markdown, report_html
from evaluation.reporting.writers import workbook_bytes
from tests.unit.reporting._data import PROVENANCE, build_report, survey


def test_sections_in_standard_order(report):
    assert [s.key for s in report.sections] == ["design", "data", "balance", "results", "methods"]
    assert list(SECTIONS)[:3] == ["design", "data", "balance"]


def test_html_is_self_contained(report):
    page = report_html(report)
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.replace("&#x27;", "")), (
        "external URL"
    )
    assert "<link" not in page
    assert "<script" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page


def test_html_sections_numbers_captions_and_banner(report):
    page = report_html(report)
    headings = re.findall(r"<h2>(\d+)\. ([^<]+)</h2>", page)
    assert headings == [
        ("1", "Design"),
        ("2", "Data and attrition"),
        ("3", "Balance"),
        ("4", "Results: employability"),
        ("5", "Methods notes"),
    ]
    tables_ = re.findall(r"<caption>(Table \d+)\. ", page)
    figures_ = re.findall(r"<strong>(Figure \d+)\.</strong>", page)
    assert tables_ == ["Table 1", "Table 2", "Table 3"]
    assert figures_ == ["Figure 1", "Figure 2"]
    # Every estimates table says its N, clusters and SE type in its notes.
    assert "N = 240; clusters = 24; treated clusters = 12; SE: CR1, t on 23 df" in page
    assert page.count("SIMULATED DATA") >= 1 + 3 + 2  # page, every table, every figure
    assert "Deviations from the analysis plan" in page
    assert "inference.method = &#x27;wild&#x27;" in page
    assert "p" * 64 in page
    assert "c" * 40 in page


def test_no_banner_on_real_data():
    page = report_html(build_report(simulated=False))
    assert "SIMULATED" not in page
    assert "No deviations from the analysis plan are recorded." in page


def test_section_refuses_ungated_tables():
    table = tables.attrition_table(
        survey(), treatment="treatment", response="responded", source="s"
    )
    with pytest.raises(TypeError, match="not a gated table"):
        Section("data", (table,))
    with pytest.raises(ValueError, match="unknown report section"):
        Section("appendix", ())


def test_write_report_and_manifest(report, tmp_path):
    out = tmp_path / "reports"
    (out / "tables").mkdir(parents=True)
    stale = out / "tables" / "old_table.csv"
    stale.write_text("stale", encoding="utf-8")
    readme = out / "README.md"
    readme.write_text("hand-written", encoding="utf-8")
    records = write_report(report, out)
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert not stale.exists()
    assert readme.read_text(encoding="utf-8") == "hand-written"
    assert files - {"README.md"} == {r.path for r in records}
    assert {"index.html", "MANIFEST.md", "tables/tables.xlsx", "figures/coefficients.svg"} <= files
    for stem in ("attrition", "balance", "effects_employability"):
        for fmt in ("csv", "md", "html", "tex"):
            assert f"tables/{stem}.{fmt}" in files
    manifest = (out / "MANIFEST.md").read_text(encoding="utf-8")
    for record in records:
        assert f"`{record.path}`" in manifest
    assert "`evaluation.reporting.tables.balance_table`" in manifest
    assert "`evaluation.reporting.figures.coefficient_plot`" in manifest
    assert "data dddddddddddd, plan pppppppppppp, commit cccccccccccc" in manifest
    assert "**Simulated data**" in manifest
    paths = [line.split("`")[1] for line in manifest.splitlines() if line.startswith("| `")]
    assert paths == sorted(paths)
    banner = "SIMULATED DATA: the demo world, not survey responses."
    for fmt in ("md", "html", "tex"):
        assert banner in (out / "tables" / f"balance.{fmt}").read_text(encoding="utf-8"), fmt
    assert "SIMULATED" not in (out / "tables" / "balance.csv").read_text(encoding="utf-8")
    book = openpyxl.load_workbook(out / "tables" / "tables.xlsx")
    assert book["balance"]["A1"].value == banner
    assert book["Contents"]["A1"].value == banner


@pytest.mark.slow
def test_two_runs_are_byte_identical(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_report(build_report(), first)
    write_report(build_report(), second)  # rebuilt from scratch: new figures, new estimates
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    write_report(build_report(), first)  # and again into the same folder
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_workbook_contents(report):
    import io

    numbered = [
        (f"Table {k}", item)
        for k, item in enumerate(
            (i for s in report.sections for i in s.items if hasattr(i, "hidden")), start=1
        )
    ]
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(numbered)))
    assert book.sheetnames == ["Contents", "attrition", "balance", "effects_employability"]
    sheet = book["attrition"]
    assert sheet["A1"].value.startswith("Table 1. Attrition")  # no banner unless asked
    rows = list(sheet.iter_rows(min_row=4, max_row=6, values_only=True))
    assert rows[2][:2] == ("Total", 240)
    assert isinstance(rows[2][4], float)
    assert book["Contents"]["B2"].value.startswith("Attrition")


def test_writers_refuse_ungated_tables(tmp_path):
    table = tables.attrition_table(
        survey(), treatment="treatment", response="responded", source="s"
    )
    with pytest.raises(TypeError, match=r"passed .*gate\(\)"):
        write_table(table, tmp_path)
    with pytest.raises(TypeError, match=r"passed .*gate\(\)"):
        workbook_bytes([("Table 1", table)])
    assert list(tmp_path.iterdir()) == []


def test_write_table_formats(tmp_path):
    table = gate(
        tables.attrition_table(survey(), treatment="treatment", response="responded", source="s")
    )
    paths = write_table(table, tmp_path, number="Table 4")
    assert [p.name for p in paths] == [
        "attrition.csv",
        "attrition.md",
        "attrition.html",
        "attrition.tex",
    ]
    tex = (tmp_path / "attrition.tex").read_text(encoding="utf-8")
    assert r"\toprule" in tex
    assert r"\begin{tablenotes}" in tex
    assert r"\end{threeparttable}" in tex
    assert "**Table 4. Attrition" in (tmp_path / "attrition.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown table format"):
        write_table(table, tmp_path, formats=["docx"])


def test_manifest_markdown_escapes_pipes():
    from evaluation.reporting import OutputRecord

    text = manifest_markdown([OutputRecord("a.csv", "x | y", "f", "i")], PROVENANCE)
    assert "x \\| y" in text
    assert pathlib.PurePosixPath("a.csv").name in text


def test_plan_deviations_are_printed():
    from evaluation.plan import Deviation

    deviation = Deviation(
        id="D02",
        what="Drop the city subgroup",
        why="Two cities withdrew",
        who="Evaluation manager",
        date="2025-10-01",
        changes={"subgroups.city.column": "meta_city"},
    )
    page = report_html(build_report(simulated=False, deviations=(deviation,)))
    assert "<td>D02</td><td>2025-10-01</td><td>Evaluation manager</td>" in page
    assert "Two cities withdrew" in page
    assert "subgroups.city.column = &#x27;meta_city&#x27;" in page
