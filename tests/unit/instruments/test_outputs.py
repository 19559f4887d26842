"""Codebooks, printable forms, back-check forms and the build of every output."""

from __future__ import annotations

import csv
import io

import pytest

from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.build import build_outputs
from evaluation.instruments.codebook import (
    CODEBOOK_COLUMNS,
    codebook_csv,
    codebook_markdown,
    codebook_rows,
)
from evaluation.instruments.lint import lint_instrument
from evaluation.instruments.printable import printable_html


@pytest.fixture(scope="module")
def baseline(project_forms):
    return project_forms[("apprentice", "baseline")]


def test_codebook_rows_describe_every_variable(baseline):
    rows = {r["name"]: r for r in codebook_rows(baseline)}
    assert "dem_wg" not in rows  # groups are not variables
    assert "meta_consent_note" not in rows  # notes hold no data
    hukou = rows["dem_hukou_type"]
    assert hukou["module"] == "demographics"
    assert hukou["label_zh"] == "您现在的户口性质是？"
    assert hukou["choices"].startswith("1=Agricultural hukou / 农业户口 | 2=")
    assert hukou["choices"].endswith("-99=Don't know / 不知道")
    birth = rows["dem_birth_year"]
    assert birth["valid_values"] == "1955 to 2012"
    assert birth["special_codes"] == "-99=Don't know | -98=Refused"
    assert birth["rounds"] == "baseline"
    assert rows["id_phone"]["pii"] == "direct"
    # skip logic in words, combining the module's relevance with the question's own
    local = rows["dem_months_nonfarm_local"]
    assert "Do you agree to take part in this survey? (meta_consent)" in local["asked_if"]
    assert '"Agricultural hukou"' in local["asked_if"]
    assert "农业户口" in local["asked_if_zh"]


def test_codebook_files(baseline):
    text = codebook_csv(baseline).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CODEBOOK_COLUMNS
    assert len(rows) == len(codebook_rows(baseline))
    markdown = codebook_markdown(baseline)
    assert "Draft pending field pre-test" in markdown
    assert "## M2 Demographics / M2 个人基本情况 (`demographics`)" in markdown
    recorded = baseline.replace(
        settings=(*baseline.settings, ("pretest", "2026-12-03, Tianjin, 12 interviews"))
    )
    assert "Pre-tested / 已预调查：2026-12-03, Tianjin" in codebook_markdown(recorded)


def test_printable_form_is_self_contained_and_bilingual(baseline):
    page = printable_html(baseline)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "src=" not in page  # nothing external to fetch
    assert "href=" not in page
    assert "您看东西是否有困难（即使戴眼镜）？" in page
    assert "Do you have difficulty seeing, even if wearing glasses?" in page
    assert "Ask only if:" in page
    assert "仅当以下条件成立时提问" in page
    assert "Valid answers / 有效范围：1955 – 2012" in page
    assert "Draft pending field pre-test" in page
    assert "[dem_hukou_type]" in page
    assert page == printable_html(baseline)


def test_backcheck_form_keeps_tagged_items_and_their_dependencies(baseline):
    form = backcheck_instrument(baseline)
    names = [q.name for q in form.all_questions()]
    assert form.form_id == "qall2_apprentice_baseline_backcheck"
    assert names[:2] == ["metadata", "bc_backchecker_id"]
    tagged = {q.name for q in baseline.all_questions() if q.backcheck}
    assert tagged <= set(names)
    # meta_city is untagged but enterprise_id filters on it; consent gates the modules
    assert {"meta_city", "meta_consent", "meta_minor_guardian", "meta_under18", "resp_id"} <= set(
        names
    )
    assert "id_phone" not in names  # identifiers are not re-asked
    assert "id_name" not in names
    assert "dem_wg_seeing" not in names
    assert lint_instrument(form) == ()
    with pytest.raises(ValueError, match="has no question with a backcheck category"):
        backcheck_instrument(
            baseline.replace(questions=(baseline.questions[2].replace(children=()),))
        )


def test_build_outputs_lists_every_file(project_forms):
    files = build_outputs(project_forms)
    for form_id in ("qall2_apprentice_baseline", "qall2_apprentice_endline"):
        for suffix in (".xlsx", ".codebook.md", ".codebook.csv", ".html"):
            assert f"{form_id}{suffix}" in files
            assert f"{form_id}_backcheck{suffix}" in files
    index = files["index.md"].decode()
    assert "| apprentice | baseline | `qall2_apprentice_baseline` v2026120301 |" in index
    assert build_outputs(project_forms) == files
