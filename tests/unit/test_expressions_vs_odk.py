"""The expression parser accepts exactly what pyxform and ODK Validate accept.

The independent source is the platform toolchain itself: each expression is written into a small
XLSForm (as a ``calculate``), converted by pyxform and checked by ODK Validate (the JavaRosa
parser bundled with pyxform, the same code ODK Collect runs). Our parser must accept every
expression the toolchain accepts and refuse every one it refuses.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from pyxform.errors import PyXFormError
from pyxform.validators.odk_validate import ODKValidateError
from pyxform.xls2xform import convert

from evaluation.instruments.expressions import ExpressionError, evaluate, parse

# Expressions of the kind the project's forms use (DOMAIN.md section 7.1).
ACCEPTED = (
    "${a} > 1 and ${a} < 5",
    "${a} >= 16 or ${a} <= 64",
    "not(${a} = 1)",
    "${a} != 3",
    "(${a} + 1) * 2 - 3 div 4",
    "${a} mod 3",
    "-${a}",
    "selected(${s}, '1')",
    "not(selected(${s}, '0') and count-selected(${s}) > 1)",
    "count-selected(${s}) >= 1",
    "regex(${t}, '^[A-Z]{2}[0-9]{6}$')",
    "regex(${t}, '^1[3-9][0-9]{9}$')",
    "string-length(${t}) = 8",
    "if(${a} > 1, 'x', 'y')",
    "coalesce(${a}, 0)",
    "today()",
    "format-date(${d}, '%Y')",
    "int(format-date(today(), '%Y')) - ${a}",
    "decimal-date-time(today()) - decimal-date-time(${d})",
    "date(${d} + 30)",
    "int(${a} div 2)",
    "round(${a}, 1)",
    "concat(${t}, '-', ${a})",
    "${a} = '' or ${a} >= 0",
    "if(${a} > 0, ${a}, '')",
    "jr:choice-name(${o}, '${o}')",
    "position(..)",
    "true() and false() or true()",
    "number(${t}) + 1",
    "string(${a})",
    "min(${a}, 3) + max(${a}, 4)",
    "abs(${a}) + pow(${a}, 2) + sqrt(${a})",
)

# Expressions the toolchain refuses; each is checked in a form of its own.
REFUSED = (
    "${a} >=> 1",
    "${a} = ",
    "foo(${a})",
    "if(${a}, 1)",
    "concat('a",
    "(${a} + 1",
    "${a} + * 2",
    "floor(${a})",  # XPath 1.0 has floor(), but ODK Validate 1.20 (JavaRosa) refuses it
    "ceiling(${a})",
)


def _form(expressions: tuple[str, ...]) -> bytes:
    """An XLSForm with a few typed questions and one calculate per expression."""
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "calculation"])
    survey.append(["integer", "a", "A", ""])
    survey.append(["text", "t", "T", ""])
    survey.append(["date", "d", "D", ""])
    survey.append(["select_multiple l", "s", "S", ""])
    survey.append(["select_one l", "o", "O", ""])
    survey.append(["begin_repeat", "r", "R", ""])
    for i, expression in enumerate(expressions):
        survey.append(["calculate", f"c{i}", "", expression])
    survey.append(["end_repeat", "", "", ""])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["l", "0", "None"])
    choices.append(["l", "1", "One"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title", "version"])
    settings.append(["expr_check", "Expression check", "2026120301"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _toolchain_accepts(expressions: tuple[str, ...]) -> bool:
    try:
        convert(xlsform=_form(expressions), file_type=".xlsx", validate=True, warnings=[])
    except (PyXFormError, ODKValidateError):
        return False
    return True


def _parser_accepts(expression: str) -> bool:
    try:
        parse(expression)
    except ExpressionError:
        return False
    return True


@pytest.mark.java
def test_toolchain_accepts_what_the_parser_accepts(java):
    assert all(_parser_accepts(e) for e in ACCEPTED), [
        e for e in ACCEPTED if not _parser_accepts(e)
    ]
    assert _toolchain_accepts(ACCEPTED)


@pytest.mark.java
@pytest.mark.parametrize("expression", REFUSED)
def test_toolchain_and_parser_refuse_the_same(java, expression):
    assert not _parser_accepts(expression)
    assert not _toolchain_accepts((expression,))


def test_accepted_expressions_evaluate_on_a_hand_worked_row():
    # a = 20, t = 'TJ001023', d = 2024-03-05, s = '1', o = '1'
    row = {"a": 20, "t": "TJ001023", "d": "2024-03-05", "s": "1", "o": "1"}
    assert evaluate("${a} > 1 and ${a} < 5", row) is False
    assert evaluate("(${a} + 1) * 2 - 3 div 4", row) == 41.25  # 21 * 2 - 0.75
    assert evaluate("${a} mod 3", row) == 2.0  # 20 = 6 * 3 + 2
    assert evaluate("regex(${t}, '^[A-Z]{2}[0-9]{6}$')", row) is True
    assert evaluate("string-length(${t}) = 8", row) is True
    assert evaluate("count-selected(${s}) >= 1", row) is True
    assert evaluate("format-date(${d}, '%Y')", row) == "2024"
    assert evaluate("date(${d} + 30)", row) is not None
    assert evaluate("int(${a} div 2)", row) == 10.0
    assert evaluate("concat(${t}, '-', ${a})", row) == "TJ001023-20"
