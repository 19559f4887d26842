"""XLSForm export and import: deployable, lossless, deterministic; partners' forms import."""

from __future__ import annotations

import io
import pathlib
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyxform.xls2xform import convert

from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.definitions import to_definitions
from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.files import dump_yaml, read_instruments, write_definitions
from evaluation.instruments.model import Question, full_constraint, split_constraint
from evaluation.instruments.xlsform import read_xlsform, to_xlsform, xlsform_tables

from .test_lint import CODES

THIRD_PARTY = (
    "UCL_Biomass_Plot_Form.xlsx",
    "case_insensitivity.xlsx",
    "choice_filter_test.xlsx",
    "field-list.xlsx",
    "group.xlsx",
    "loop.xlsx",
    "or_other.xlsx",
    "xl_date_ambiguous.xlsx",
    "xlsform_spec_test.xlsx",
)


def _all_forms(project_forms):
    forms = list(project_forms.values())
    forms += [backcheck_instrument(f) for f in project_forms.values()]
    return forms


def test_export_then_import_is_lossless(project_forms):
    for form in _all_forms(project_forms):
        imported = read_xlsform(to_xlsform(form))
        assert imported.instrument == form, form.form_id
        # mapping columns of the choice lists (isced, gbt4754, icse18...) travel verbatim in
        # Choice.extra and are reported as such; nothing else may need a note
        assert [n for n in imported.notes if not n.startswith("choices columns kept")] == []


def test_export_is_byte_for_byte_reproducible(project_forms):
    form = next(iter(project_forms.values()))
    assert to_xlsform(form) == to_xlsform(form)


def test_layout_uses_language_codes_and_model_columns(project_forms):
    form = project_forms[("apprentice", "baseline")]
    header = xlsform_tables(form)["survey"][0]
    assert header[:2] == ["type", "name"]
    assert {"label::English (en)", "label::Chinese (zh)", "rounds", "pii", "backcheck"} <= set(
        header
    )
    settings_header, settings_rows = xlsform_tables(form)["settings"]
    settings = dict(zip(settings_header, settings_rows[0], strict=True))
    assert settings["default_language"] == "Chinese (zh)"
    assert settings["form_id"] == "qall2_apprentice_baseline"
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in xlsform_tables(form)["survey"][1]}
    birth = rows["dem_birth_year"]
    assert birth["constraint"] == "(. >= 1955 and . <= 2012) or . = -99 or . = -98"
    assert birth["range"] == "1955 2012"
    assert rows["id_phone"]["pii"] == "direct"


@pytest.mark.java
def test_every_generated_form_passes_pyxform_and_odk_validate(project_forms, java):
    for form in _all_forms(project_forms):
        result = convert(xlsform=to_xlsform(form), file_type=".xlsx", validate=True, warnings=[])
        assert result.warnings == [], form.form_id
        assert f'id="{form.form_id}"' in result.xform


def _canonical(xform: str) -> str:
    """An XForm with translations and their texts in a fixed order (order carries no meaning)."""
    root = ET.fromstring(xform)
    for element in root.iter():
        element.attrib = dict(sorted(element.attrib.items()))
    for parent in root.iter():
        children = list(parent)
        if children and all(c.tag.endswith("translation") for c in children):
            parent[:] = sorted(children, key=lambda c: c.get("lang", ""))
        if children and all(c.tag.endswith("text") for c in children):
            parent[:] = sorted(children, key=lambda c: c.get("id", ""))
    return ET.tostring(root, encoding="unicode")


# pyxform reads the original workbooks with openpyxl, which warns about an Excel data-validation
# extension in xl_date_ambiguous.xlsx; our own reader (calamine) is not involved in that warning.
@pytest.mark.filterwarnings("ignore:Unknown extension is not supported:UserWarning")
@pytest.mark.parametrize("name", THIRD_PARTY)
def test_third_party_forms_import_losslessly(platform_data, name):
    path = platform_data / "xlsforms" / name
    imported = read_xlsform(path)
    exported = to_xlsform(imported.instrument)
    assert read_xlsform(exported).instrument == imported.instrument
    original = convert(xlsform=str(path), validate=False, warnings=[]).xform
    again = convert(xlsform=exported, file_type=".xlsx", validate=False, warnings=[]).xform
    assert _canonical(original) == _canonical(again)


def test_third_party_notes_report_what_is_not_interpreted(platform_data):
    spec = read_xlsform(platform_data / "xlsforms" / "xlsform_spec_test.xlsx")
    assert "sheet 'columns' kept verbatim, not interpreted" in spec.notes
    assert any("media::audio::chinese" in n for n in spec.notes)
    case = read_xlsform(platform_data / "xlsforms" / "case_insensitivity.xlsx")
    assert "sheet 'EXTERNAL_CHOICES' kept verbatim, not interpreted" in case.notes
    assert [name for name, _ in case.instrument.extra_sheets] == [
        "EXTERNAL_CHOICES",
        "ENTITIES",
        "OSM",
    ]
    loop = read_xlsform(platform_data / "xlsforms" / "loop.xlsx")
    assert any("legacy type" in n for n in loop.notes)
    assert loop.instrument.question("available_toilet_types").or_other
    biomass = read_xlsform(platform_data / "xlsforms" / "UCL_Biomass_Plot_Form.xlsx")
    assert biomass.instrument.languages == ("Swahili (sw)", "English (en)")
    assert biomass.instrument.version  # the =NOW() formula is read through its cached value


def test_imported_form_to_yaml_and_back(platform_data, tmp_path):
    imported = read_xlsform(platform_data / "xlsforms" / "choice_filter_test.xlsx").instrument
    write_definitions(to_definitions(imported), tmp_path / "surveys")
    rebuilt = read_instruments(tmp_path / "surveys", check=False)
    (form,) = rebuilt.values()

    def strip_rounds(q: Question) -> Question:
        return q.replace(rounds=(), children=tuple(strip_rounds(c) for c in q.children))

    form = form.replace(
        questions=tuple(strip_rounds(q) for q in form.questions), instrument=None, round=None
    )
    assert form == imported
    assert "选择" not in dump_yaml({"a": "选择"}).encode("ascii", "replace").decode()


def _workbook(rows):
    wb = openpyxl.Workbook()
    wb.active.title = "survey"
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_import_errors_name_the_row():
    with pytest.raises(
        InstrumentError, match=r"survey row 3: 'end_group' without a matching begin"
    ):
        read_xlsform(_workbook([["type", "name"], ["text", "a"], ["end_group", ""]]))
    with pytest.raises(InstrumentError, match=r"the group 'g' opened at .*row 2 is never closed"):
        read_xlsform(_workbook([["type", "name"], ["begin_group", "g"], ["text", "a"]]))
    with pytest.raises(InstrumentError, match="survey row 2: row has no type"):
        read_xlsform(_workbook([["type", "name"], [None, "a"]]))
    with pytest.raises(InstrumentError, match=r"not a readable \.xlsx"):
        read_xlsform(b"not a workbook")


def test_hand_edited_constraint_is_reported(project_forms):
    form = project_forms[("apprentice", "baseline")]
    data = to_xlsform(form)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sheet = wb["survey"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == "dem_birth_year":
            row[header.index("constraint")].value = ". > 1900"
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(InstrumentError, match="edited by hand"):
        read_xlsform(buffer.getvalue())


bounds = st.integers(min_value=0, max_value=10_000)


@given(
    low=bounds,
    width=bounds,
    own=st.sampled_from([None, ". != 5", "${x} > 0 or . = 1"]),
    special=st.sampled_from([(), ("dont_know",), ("dont_know", "refused")]),
)
def test_constraint_composition_inverts(low, width, own, special):
    value_range = (low, low + width)
    question = Question("q", "integer", value_range=value_range, constraint=own, special=special)
    composed = full_constraint(question, CODES)
    assert split_constraint(composed, value_range, special, CODES) == own


def test_generated_outputs_written_by_write_definitions(tmp_path):
    written = write_definitions({"lists/x.yaml": {"lists": {}}}, tmp_path)
    assert written == [pathlib.Path(tmp_path / "lists" / "x.yaml")]
