"""Reading instrument definitions: the built model, and one InstrumentError per kind of breakage."""

from __future__ import annotations

import pytest

from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.files import read_instruments
from evaluation.instruments.lint import check_instruments

from .conftest import INSTRUMENT, LISTS, MODULE, write_surveys


def test_mini_definition_builds_both_rounds(mini_surveys):
    forms = read_instruments(mini_surveys)
    assert list(forms) == [("mini", "baseline"), ("mini", "endline")]
    baseline, endline = forms[("mini", "baseline")], forms[("mini", "endline")]
    assert [q.name for q in baseline.all_questions()] == ["basics", "bas_sex", "bas_age"]
    assert [q.name for q in endline.all_questions()] == ["basics", "bas_sex", "bas_age", "bas_kids"]
    age = baseline.question("bas_age")
    assert age.value_range == (16, 64)
    assert age.special == ("dont_know",)
    assert age.label.get("zh") == "年龄"
    assert age.label.get("English (en)") == "Age"
    assert age.rounds == ("baseline", "endline")
    assert endline.question("bas_kids").rounds == ("endline",)
    # the list's special code is appended from the instrument's declaration, flagged and exclusive
    sex = baseline.choice_list("sex")
    assert sex.codes == ("1", "2", "-98")
    assert sex.choice("-98").special == "refused"
    assert sex.choice("-98").label.get("zh") == "拒绝回答"
    assert baseline.origin["bas_age"].endswith("modules/basics.yaml:9")


def test_project_instruments_build_and_lint_clean(project_forms):
    assert set(project_forms) == {
        ("apprentice", "baseline"),
        ("apprentice", "endline"),
        ("enterprise", "baseline"),
        ("enterprise", "endline"),
        ("capacity", "pre"),
        ("capacity", "post"),
        ("capacity", "followup"),
    }
    # no error and no warning either (Chinese typography, unused lists...)
    assert check_instruments(project_forms) == ()


def _broken(tmp_path, **files):
    surveys = write_surveys(tmp_path, **files)
    with pytest.raises(InstrumentError) as info:
        read_instruments(surveys)
    return str(info.value)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    message = _broken(tmp_path, module=MODULE.replace("  - name: bas_age", "  - name: [bas_age"))
    assert "modules/basics.yaml:" in message
    assert "YAML syntax error" in message


def test_duplicate_yaml_key_is_an_error(tmp_path):
    module = MODULE.replace(
        "    required: true\n    backcheck",
        "    required: true\n    required: false\n    backcheck",
    )
    message = _broken(tmp_path, module=module)
    assert "duplicate keys ['required']" in message
    assert "modules/basics.yaml" in message


def test_unknown_type(tmp_path):
    message = _broken(
        tmp_path,
        module=MODULE.replace(
            'type: integer\n    label: {en: "Age"', 'type: intger\n    label: {en: "Age"'
        ),
    )
    assert "modules/basics.yaml:9: bas_age: unknown type 'intger'" in message


def test_missing_list(tmp_path):
    message = _broken(tmp_path, module=MODULE.replace("select_one sex", "select_one gender"))
    assert "modules/basics.yaml:4: bas_sex: choice list 'gender' is not defined" in message


def test_duplicate_name(tmp_path):
    message = _broken(tmp_path, module=MODULE.replace("name: bas_kids", "name: bas_age"))
    assert "bas_age" in message
    assert "[name_unique]" in message
    assert "modules/basics.yaml" in message


def test_dangling_reference(tmp_path):
    message = _broken(tmp_path, module=MODULE.replace("${bas_age} >= 18", "${bas_agee} >= 18"))
    assert "modules/basics.yaml:15: bas_kids: [reference_unknown]" in message
    assert "bas_agee" in message


def test_missing_translation(tmp_path):
    message = _broken(
        tmp_path, module=MODULE.replace('label: {en: "Age", zh: "年龄"}', 'label: {en: "Age"}')
    )
    assert (
        "modules/basics.yaml:9: bas_age: [translation_missing] label has no ['Chinese (zh)'] text"
        in message
    )


def test_relevance_cycle(tmp_path):
    module = MODULE.replace(
        "    range: [16, 64]\n    special: [dont_know]",
        '    range: [16, 64]\n    special: [dont_know]\n    relevant: "${bas_kids} >= 0"',
    )
    message = _broken(tmp_path, module=module)
    assert "[dependency_cycle]" in message
    assert (
        "bas_age -> bas_kids -> bas_age" in message or "bas_kids -> bas_age -> bas_kids" in message
    )


def test_malformed_expression(tmp_path):
    message = _broken(tmp_path, module=MODULE.replace("${bas_age} >= 18", "${bas_age} >=> 18"))
    assert "modules/basics.yaml:15: bas_kids: [expression_syntax]" in message


def test_unknown_key_is_not_silently_ignored(tmp_path):
    message = _broken(
        tmp_path,
        module=MODULE.replace(
            "    backcheck: should_not_change", "    backchek: should_not_change"
        ),
    )
    assert "bas_sex: unknown keys ['backchek']" in message


def test_unknown_language_and_bad_range(tmp_path):
    message = _broken(
        tmp_path,
        module=MODULE.replace('label: {en: "Sex", zh: "性别"}', 'label: {en: "Sex", fr: "Sexe"}'),
    )
    assert "unknown language 'fr'" in message
    message = _broken(tmp_path, module=MODULE.replace("range: [16, 64]", "range: [64, 16]"))
    assert "bas_age: range lower bound 64 exceeds upper bound 16" in message


def test_undeclared_special_code_in_list(tmp_path):
    message = _broken(
        tmp_path, lists=LISTS.replace("special: [refused]", "special: [not_applicable]")
    )
    assert "lists/common.yaml" in message
    assert "special code 'not_applicable'" in message


def test_missing_module_file(tmp_path):
    message = _broken(
        tmp_path, instrument=INSTRUMENT.replace("modules: [basics]", "modules: [basics, jobs]")
    )
    assert "instruments/mini.yaml" in message
    assert "module 'jobs' has no file surveys/modules/jobs.yaml" in message
