"""Behaviour of the ODK XPath expression evaluator: parse, evaluate, frames, describe, cycles.

Expected values are worked by hand from the JavaRosa rules written in the module docstring
(``XPathEqExpr``: booleans first, then numbers, then strings; ``XPathCmpExpr``: numbers;
unanswered is ``''``; ``number('')`` is NaN).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.expressions import (
    Expression,
    ExpressionError,
    dependency_graph,
    describe,
    evaluate,
    evaluate_frame,
    find_cycle,
    holds,
    holds_frame,
    parse,
)

TODAY = dt.date(2024, 6, 1)
ROW = {
    "a": "1",
    "b": "1 3",
    "age": 25,
    "age_text": "25",
    "blank": "",
    "none": None,
    "nan": math.nan,
    "dob": dt.date(2000, 1, 1),
    "id": "AB123456",
    "phone": "13812345678",
    "x": 2.5,
    "flag": True,
}


def ev(source: str, row: dict | None = None, **kwargs):
    return evaluate(source, ROW if row is None else row, today=TODAY, **kwargs)


# --- parsing -----------------------------------------------------------------------------


def test_parse_collects_references_functions_paths_and_current():
    e = parse("${a} = 1 and selected(${b}, '3') and /data/g/q > . and jr:choice-name(${c}, '${c}')")
    assert isinstance(e, Expression)
    assert e.references == {"a", "b", "c"}
    assert e.functions == {"selected", "jr:choice-name"}
    assert e.paths == {"/data/g/q"}
    assert e.uses_current
    assert not parse("${a} > 1").uses_current
    assert parse("string-length() < 5").uses_current  # the current answer, implicitly


def test_parse_is_cached_and_frozen():
    assert parse("${a} + 1") is parse("${a} + 1")
    with pytest.raises(AttributeError):
        parse("${a}").source = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("source", "problem", "column"),
    [
        ("(${a} = 1", "this '(' is never closed", 1),
        ("${a} = 1)", "this ')' has no matching '('", 9),
        ("${age} >=> 16", "unexpected '>' after '>='", 10),
        ("foo(${a})", "unknown function 'foo'", 1),
        ("selectd(${a}, '1')", "unknown function 'selectd' (did you mean selected()?)", 1),
        ("1 + selected(${a})", "function 'selected' takes 2 arguments, got 1", 5),
        ("if(${a}, 1)", "function 'if' takes 3 arguments, got 2", 1),
        ("round(1, 2, 3)", "function 'round' takes 1 to 2 arguments, got 3", 1),
        ("${} = 1", "empty reference '${}'", 1),
        ("${a = 1", "unterminated reference", 1),
        ("concat('a", "unterminated string", 8),
        ("selected(${a}, 3)", "needs the choice name in quotes, like '3'", 1),
        ("sum(1)", "needs a question reference (a node-set)", 1),
        ("1 + ..", "'..' is only supported as position(..)", 5),
        ("${a} = ", "the expression is incomplete", 7),
        ("floor(${a})", "unknown function 'floor'", 1),  # ODK Validate 1.20 rejects it too
    ],
)
def test_parse_errors_name_problem_and_column(source, problem, column):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    message = str(info.value)
    assert problem in message
    assert f"at column {column}" in message
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 4 == column - 1  # the caret sits under the column
    assert isinstance(info.value, InstrumentError)
    assert isinstance(info.value, ValueError)


def test_parse_rejects_non_strings():
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(None)  # type: ignore[arg-type]


# --- operators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # precedence: 2 * 3 first, then +, then =
        ("1 + 2 * 3 = 7", True),
        ("(1 + 2) * 3", 9.0),
        ("7 - 2 - 1", 4.0),  # left-associative
        ("-2 * 3", -6.0),
        ("- - 1", 1.0),
        ("7 div 2", 3.5),
        ("7 mod 3", 1.0),
        ("-7 mod 3", -1.0),  # Java %: sign of the dividend
        ("1 div 0", math.inf),
        ("1 < 2 = 1", True),  # (1 < 2) = 1 -> true = boolean(1)
        # a = 1 is true, so not(...) false; b = 2 is false, and binds tighter than or
        ("not(${a} = 1) or ${b} = 2 and ${c} = 3", False),
        ("${a} = 1 or ${undefined} = 2", True),  # or stops at the first true operand
        # equality: number beats string, boolean beats number
        ("'01' = 1", True),
        ("'01' = '1'", False),
        ("${age} = 25", True),
        ("${age} = '25'", True),  # typed 25 reads '25'
        ("${age_text} = 25.0", True),
        ("${x} = '2.5'", True),
        ("${flag} = 1", True),
        ("${flag} = 'false'", True),  # boolean('false') is true: a non-empty string
        ("true() = 'x'", True),
        ("1 = 1.0000000000001", True),  # tolerance 1e-12
        # relational operators compare numbers
        ("'10' > '9'", True),
        ("${age} >= 16 and ${age} <= 30", True),
        ("${age_text} < 16", False),
    ],
)
def test_operators(source, expected):
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${blank} = 5", False),  # NaN = 5
        ("${blank} != 5", True),  # != is the negation of =
        ("${none} = ''", True),
        ("${nan} = ''", True),
        ("${blank} < 5", False),
        ("${blank} >= 5", False),
        ("${blank} + 1", math.nan),
        ("-${blank}", math.nan),
        ("${blank} and true()", False),
        ("${blank} or true()", True),
        ("${blank} = 0", False),  # unanswered is not zero
        ("${blank} = ${none}", True),  # '' = ''
        ("${blank} = true()", False),  # boolean('') is false
        ("not(${blank})", True),
    ],
)
def test_unanswered_values_in_every_operator(source, expected):
    result = ev(source)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected


def test_missing_reference_is_an_error_not_a_blank():
    with pytest.raises(ExpressionError, match=r"\$\{nope\} is not in the row") as info:
        ev("${nope} = 1")
    assert "${nope} = 1" in str(info.value)


# --- functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("selected(${b}, '3')", True),
        ("selected(${b}, '2')", False),
        ("selected(${b}, ' 1 ')", True),  # JavaRosa trims the choice
        ("selected(${blank}, '1')", False),
        ("count-selected(${b})", 2.0),
        ("count-selected(${blank})", 0.0),
        ("selected-at(${b}, 1)", "3"),
        ("selected-at(${b}, 5)", ""),
        ("regex(${id}, '^[A-Z]{2}[0-9]{6}$')", True),
        ("regex('AB12345', '^[A-Z]{2}[0-9]{6}$')", False),
        ("regex('ab123456', '^[A-Z]{2}[0-9]{6}$')", False),
        ("regex(${phone}, '^1[3-9][0-9]{9}$')", True),
        ("regex('12812345678', '^1[3-9][0-9]{9}$')", False),
        ("regex('1381234567', '^1[3-9][0-9]{9}$')", False),
        ("regex('xx13812345678', '1[3-9][0-9]{9}')", False),  # whole-string match
        ("regex('张三', '\\p{IsHan}+')", True),
        ("regex('Zhang', '\\p{L}+')", True),
        ("regex('a.b', '\\Qa.b\\E')", True),
        ("string-length(${id})", 8.0),
        ("string-length(${blank})", 0.0),
        ("if(${age} > 18, 'adult', 'minor')", "adult"),
        ("if(${blank} = '', 0, ${blank})", 0.0),
        ("coalesce(${blank}, ${a})", "1"),
        ("coalesce(${a}, 'x')", "1"),
        ("coalesce(${blank} + 1, 7)", 7.0),  # NaN counts as null
        ("today() - date('2024-01-01')", 152.0),  # 31+29+31+30+31 days (2024 is a leap year)
        ("today() - ${dob}", 8918.0),  # 2000-01-01 to 2024-06-01: 24*365 + 6 leap days + 152
        ("date('2024-01-01') + 1", 19724.0),  # 2024-01-01 is day 19723 of the Unix epoch
        ("date(19723)", "2024-01-01"),
        ("today()", "2024-06-01"),
        ("decimal-date-time('2024-01-01T12:00:00+08:00')", 19723 + 4 / 24),  # 04:00 UTC
        ("decimal-time('2024-01-01T18:00:00')", 0.75),
        ("format-date(${dob}, '%e %b %Y, %a')", "1 Jan 2000, Sat"),
        ("format-date('2024-03-05T07:08:09.010', '%d/%m/%y %H:%M:%S.%3')", "05/03/24 07:08:09.010"),
        ("format-date(${blank}, '%Y')", ""),
        ("int(-3.7)", -3.0),
        ("int('7.9')", 7.0),
        ("number('1,5')", 1.5),  # JavaRosa reads a decimal comma
        ("number('1e3')", math.nan),  # no exponents in XPath numbers
        ("number(true())", 1.0),
        ("string(1 div 3)", "0.3333333333333333"),
        ("string(2.0)", "2"),
        ("string(12345678.5)", "1.23456785E7"),  # Java Double.toString
        ("string(0.0001)", "1.0E-4"),
        ("string(0 div 0)", "NaN"),
        ("boolean('0')", True),
        ("boolean(0)", False),
        ("boolean-from-string('true')", True),
        ("boolean-from-string('yes')", False),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -2.0),  # toward zero for negative ties (BigDecimal HALF_DOWN)
        ("round(3.14159, 2)", 3.14),
        ("round(1234, -2)", 1200.0),
        ("abs(-2)", 2.0),
        ("pow(2, 10)", 1024.0),
        ("sqrt(16)", 4.0),
        ("sqrt(-1)", math.nan),
        ("log10(1000)", 3.0),
        ("min(3, ${blank}, 1)", 1.0),  # NaN is skipped
        ("max(3, '7', 1)", 7.0),
        ("max(${blank})", math.nan),
        ("sum(${age})", 25.0),
        ("sum(${blank})", 0.0),
        ("count(${age})", 1.0),
        ("concat(${a}, '-', ${x}, '-', ${blank})", "1-2.5-"),
        ("join(' ', 'a', 'b')", "a b"),
        ("contains(${id}, '123')", True),
        ("starts-with(${id}, 'AB')", True),
        ("ends-with(${id}, '56')", True),
        ("substr('abcdef', 1, 3)", "bc"),
        ("substr('abcdef', 4)", "ef"),
        ("substring-before('2024-06-01', '-')", "2024"),
        ("substring-after('2024-06-01', '-')", "06-01"),
        ("translate('abc', 'abc', 'AB')", "AB"),
        ("normalize-space('  a   b ')", "a b"),
        ("checklist(2, -1, true(), ${a} = 1, false())", True),
        ("weighted-checklist(3, 10, true(), 2, ${a} = 1, 1.5)", True),
        (
            "digest('abc', 'SHA-256', 'hex')[0:0]" if False else "string-length(digest('a','MD5'))",
            24.0,
        ),
        ("base64-decode('5L2g5aW9')", "你好"),
        ("once(5)", 5.0),
        ("true() and not(false())", True),
        ("pi() > 3.14", True),
    ],
)
def test_functions(source, expected):
    result = ev(source)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(result)
    elif isinstance(expected, float):
        assert result == pytest.approx(expected, rel=1e-12)
        assert isinstance(result, float)
    else:
        assert result == expected


def test_current_value_in_constraints():
    assert holds(". >= 0 and . <= 100", {}, current=55)
    assert not holds(". >= 0 and . <= 100", {}, current="101")
    assert not holds(". >= 0", {}, current=None)  # unanswered: NaN >= 0 is false
    assert holds("string-length() = 3", {}, current="abc")
    assert ev("once(5)", current="4") == "4"  # once() keeps an existing answer


def test_empty_expression():
    assert holds("", ROW)
    assert holds("   ", ROW)
    assert evaluate("", ROW) == ""
    assert parse("").is_empty
    assert holds_frame("", pd.DataFrame({"a": [1, 2]})).tolist() == [True, True]


def test_repeat_answers_as_lists():
    row = {"child_age": [3, "7", None], "kids": ["a"], "none": []}
    assert ev("sum(${child_age})", row) == 10.0
    assert ev("count(${child_age})", row) == 3.0
    assert ev("count-non-empty(${child_age})", row) == 2.0
    assert ev("max(${child_age})", row) == 7.0
    assert ev("join('-', ${child_age})", row) == "3-7-"
    assert ev("concat(${child_age})", row) == "37"
    # ${children} is the repeat group: a path, not an answer, so it need not be in the row
    assert ev("indexed-repeat(${child_age}, ${children}, 2)", row) == "7"
    assert ev("indexed-repeat(${child_age}, ${children}, 9)", row) == ""
    assert ev("indexed-repeat(${child_age}, ${children}, 0)", row) == "3"  # index <= 0 is 1
    assert ev("${kids} = 'a'", row) is True  # one answer is that answer
    assert ev("${none} = ''", row) is True
    with pytest.raises(ExpressionError, match="holds 3 answers of a repeat"):
        ev("${child_age} > 1", row)
    with pytest.raises(ExpressionError, match="needs repeat context"):
        ev("indexed-repeat(${age}, ${children}, 1)")


def test_context_is_explicit():
    with pytest.raises(ExpressionError, match="today\\(\\) and now\\(\\) need the evaluation date"):
        evaluate("today()", ROW)
    with pytest.raises(ExpressionError, match="random\\(\\) needs a random generator"):
        ev("random()")
    with pytest.raises(ExpressionError, match="position\\(\\) needs repeat context"):
        ev("position(..)")
    assert ev("position(..)", position=3) == 3.0
    assert evaluate("now()", {}, today=dt.datetime(2024, 6, 1, 8, 30)) == "2024-06-01T08:30:00.000"
    assert evaluate("today()", {}, today=dt.datetime(2024, 6, 1, 8, 30)) == "2024-06-01"
    first = ev("random()", rng=np.random.default_rng(7))
    assert first == ev("random()", rng=np.random.default_rng(7))
    assert 0 <= first < 1
    assert len(ev("uuid()", rng=np.random.default_rng(7))) == 36
    assert len(ev("uuid(10)", rng=np.random.default_rng(7))) == 10


def test_choice_name_uses_the_resolver():
    labels = {("sex", "2"): "Female"}
    assert ev("jr:choice-name('2', '${sex}')") == "2"
    assert ev("jr:choice-name('2', '${sex}')", choice_label=lambda q, c: labels.get((q, c))) == (
        "Female"
    )


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("regex(${a}, '[')", "regex(): invalid pattern '['"),
        ("regex(${a}, '[a-z&&[^b]]')", "Java-only"),
        ("${a} | ${b}", "union operator '|' is unsupported"),
        ("area(${a}) > 1", "function 'area' is unsupported in evaluation"),
        ("date('soon')", "cannot convert 'soon' to a date"),
        ("format-date(${dob}, '%Q')", "unknown format code '%Q'"),
        ("digest('a', 'CRC')", "unknown algorithm 'CRC'"),
    ],
)
def test_evaluation_errors_name_expression_and_problem(source, problem):
    with pytest.raises(ExpressionError) as info:
        ev(source)
    assert problem in str(info.value)
    assert repr(source) in str(info.value)


def test_typed_and_text_rows_agree():
    typed = {"age": 16, "wage": 2500.5, "dob": dt.date(2008, 5, 1), "n": np.int64(3)}
    text = {"age": "16", "wage": "2500.5", "dob": "2008-05-01", "n": "3"}
    for source in [
        "${age} >= 16 and ${wage} < 3000",
        "${age} = '16'",
        "concat(${age}, '/', ${wage}, '/', ${dob})",
        "today() - ${dob}",
        "${n} * 2",
    ]:
        assert ev(source, typed) == ev(source, text)


# --- frames ------------------------------------------------------------------------------


def test_evaluate_frame_preserves_index_and_matches_rows():
    frame = pd.DataFrame(
        {
            "a": ["1", "2", "", None],
            "b": ["1 3", "2", "3", ""],
            "age": [25, np.nan, 16, 3],
            "dob": pd.to_datetime(["2000-01-01", None, "2010-05-05", "2020-01-01"]),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
        },
        index=[10, 20, 30, 40],
    )
    for source in [
        "${a} = 1 and selected(${b}, '3')",
        "${age} >= 16",
        "today() - ${dob}",
        "if(${a} = '', 0, ${a})",
        "${flag} = 1",
        "${flag}",
        "concat(${a}, '-', ${age})",
        "count-selected(${b}) + sum(${age})",
    ]:
        result = evaluate_frame(source, frame, today=TODAY)
        assert result.index.equals(frame.index)
        rows = [evaluate(source, row, today=TODAY) for row in frame.to_dict("records")]
        assert _same(list(result), rows), source
    flags = holds_frame("${age} >= 16", frame)
    assert flags.dtype == bool
    assert flags.tolist() == [True, False, True, False]


def test_evaluate_frame_current_and_errors():
    frame = pd.DataFrame({"q": ["5", "150", ""]})
    assert holds_frame(". >= 0 and . <= 100", frame, current="q").tolist() == [True, False, False]
    assert holds_frame(". >= 0", frame, current=frame["q"]).tolist() == [True, True, False]
    with pytest.raises(ExpressionError, match="pass current="):
        evaluate_frame(". > 1", frame)
    with pytest.raises(ExpressionError, match=r"\$\{nope\} not among the frame's columns"):
        evaluate_frame("${nope} = 1", frame)
    with pytest.raises(ExpressionError, match="frame's index"):
        evaluate_frame(". > 1", frame, current=pd.Series([1, 2, 3], index=[7, 8, 9]))
    with pytest.raises(ExpressionError, match="regex\\(\\): invalid pattern"):
        evaluate_frame("regex(${q}, '(')", frame)


def test_evaluate_frame_repeat_lists():
    frame = pd.DataFrame({"ages": [[1, 2], [], [5]], "k": ["x", "y", "z"]})
    assert evaluate_frame("sum(${ages})", frame).tolist() == [3.0, 0.0, 5.0]
    assert evaluate_frame("count(${ages})", frame).tolist() == [2.0, 0.0, 1.0]
    assert evaluate_frame("indexed-repeat(${ages}, ${group}, 2)", frame).tolist() == ["2", "", ""]
    with pytest.raises(ExpressionError, match="holds 2 answers of a repeat"):
        evaluate_frame("${ages} > 1", frame)


def _same(left: list, right: list) -> bool:
    def one(a, b):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return type(a) is type(b) and a == b

    return len(left) == len(right) and all(one(a, b) for a, b in zip(left, right, strict=True))


# Random expressions over random rows: the frame evaluator equals the row evaluator.
_COLUMNS = ["num", "txt", "sel", "day", "int", "flag", "word"]
_atoms = st.sampled_from(
    [f"${{{name}}}" for name in _COLUMNS]
    + ["1", "2.5", "0", "-3", "'1'", "''", "'a'", "'2024-01-01'", "today()", "true()"]
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    ops = ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod"]
    binary = st.tuples(children, st.sampled_from(ops), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    unary = st.tuples(
        st.sampled_from(
            [
                "-{0}",
                "not({0})",
                "selected({0}, '2')",
                "count-selected({0})",
                "string-length({0})",
                "regex({0}, '^[0-9]+$')",
                "int({0})",
                "round({0}, 1)",
                "string({0})",
                "number({0})",
                "boolean({0})",
                "abs({0})",
                "substr({0}, 1, 3)",
                "normalize-space({0})",
            ]
        ),
        children,
    ).map(lambda t: t[0].format(t[1]))
    pair = st.tuples(
        st.sampled_from(
            ["coalesce({0}, {1})", "concat({0}, {1})", "contains({0}, {1})", "max({0}, {1})"]
        ),
        children,
        children,
    ).map(lambda t: t[0].format(t[1], t[2]))
    triple = st.tuples(children, children, children).map(lambda t: f"if({t[0]}, {t[1]}, {t[2]})")
    return binary | unary | pair | triple


# Always at least one operator or function at the top, so no example is a bare atom.
expressions = _extend(st.recursive(_atoms, _extend, max_leaves=6))


@st.composite
def frames(draw) -> pd.DataFrame:
    size = draw(st.integers(1, 6))
    blank = st.none()
    num = draw(
        st.lists(
            st.sampled_from([0.0, 1.0, 2.5, -3.0, 1e-7, 1e20, np.nan]), min_size=size, max_size=size
        )
    )
    txt = draw(
        st.lists(
            st.sampled_from(["", "1", "01", "2.5", "a", " 7 ", "1,5", "-"]),
            min_size=size,
            max_size=size,
        )
    )
    sel = draw(
        st.lists(st.sampled_from(["", "1", "1 2", "2 3", "3"]), min_size=size, max_size=size)
    )
    day = draw(
        st.lists(
            st.sampled_from([None, "2024-01-01", "2023-12-31T23:00:00+08:00"]),
            min_size=size,
            max_size=size,
        )
    )
    ints = draw(st.lists(st.one_of(blank, st.integers(-5, 5)), min_size=size, max_size=size))
    flag = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    word = draw(
        st.lists(
            st.one_of(blank, st.sampled_from(["x", "", "1 2", "0"])), min_size=size, max_size=size
        )
    )
    typed = pd.DataFrame(
        {
            "num": num,
            "txt": txt,
            "sel": sel,
            "day": pd.to_datetime(day, format="ISO8601", utc=True),
            "int": pd.array(ints, dtype="Int64"),
            "flag": flag,
            "word": pd.Series(word, dtype=object),
        }
    )
    if draw(st.booleans()):  # all text, as exports are read
        return pd.DataFrame(
            {
                name: [
                    evaluate(f"string(${{{name}}})", row)
                    if name != "flag"
                    else str(row[name]).lower()
                    for row in typed.to_dict("records")
                ]
                for name in _COLUMNS
            }
        ).replace({"NaN": ""})
    return typed


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=expressions, frame=frames())
def test_frame_equals_rows(source, frame):
    rows = []
    row_error = None
    for row in frame.to_dict("records"):
        try:
            rows.append(evaluate(source, row, today=TODAY))
        except ExpressionError as error:
            row_error = error
    if row_error is not None:
        with pytest.raises(ExpressionError):
            evaluate_frame(source, frame, today=TODAY)
        return
    result = evaluate_frame(source, frame, today=TODAY)
    assert _same(list(result), rows), (source, list(result), rows)
    assert holds_frame(source, frame, today=TODAY).tolist() == [
        holds(source, row, today=TODAY) for row in frame.to_dict("records")
    ]


# --- describe ----------------------------------------------------------------------------

LABELS_EN = {"dem_sex": "Sex", "age": "Age", "q": "Q"}
LABELS_ZH = {"dem_sex": "性别", "age": "年龄", "q": "Q"}
CHOICES_EN = {("dem_sex", "2"): "Female", ("q", "3"): "Option 3 label"}
CHOICES_ZH = {("dem_sex", "2"): "女", ("q", "3"): "选项三"}


def say(source: str, language: str = "en") -> str:
    labels, choices = (LABELS_ZH, CHOICES_ZH) if language == "zh" else (LABELS_EN, CHOICES_EN)
    return describe(
        source,
        language=language,
        question_label=labels.get,
        choice_label=lambda q, c: choices.get((q, c)),
    )


def test_describe_skip_instructions():
    source = "${dem_sex} = 2 and ${age} >= 16"
    assert say(source) == 'Sex (dem_sex) is "Female" and Age (age) is at least 16'
    assert say(source, "zh") == "性别（dem_sex）为“女” 且 年龄（age） 大于或等于 16"
    assert say("selected(${q}, '3')") == '"Option 3 label" is selected in Q (q)'
    assert say("selected(${q}, '3')", "zh") == "Q（q）中选择了“选项三”"
    assert say("not(selected(${q}, '3'))") == '"Option 3 label" is not selected in Q (q)'
    assert say(". >= 0 and . <= 100") == "the answer is between 0 and 100"
    assert say(". >= 0 and . <= 100", "zh") == "本题答案 在 0 到 100 之间"
    assert say("${age} > 15 and ${age} < 65") == "Age (age) is more than 15 and less than 65"


def test_describe_keeps_every_term():
    assert say("${other} = ''") == "other is empty"
    assert say("${other} != ''", "zh") == "other不为空"
    assert say("(${a} = 1 or ${b} = 2) and ${c} = 3") == "(a is 1 or b is 2) and c is 3"
    assert say("(${a} + 1) * 2 > 5") == "(a plus 1) times 2 is more than 5"
    assert say("${a} - (${b} - 1)") == "a minus (b minus 1)"
    assert (
        say("regex(., '^1[3-9][0-9]{9}$')") == 'the answer matches the pattern "^1[3-9][0-9]{9}$"'
    )
    assert say("decimal-time(${t}) < 0.5") == "decimal-time(t) is less than 0.5"  # generic
    assert say("not(${a} = 1)", "zh") == "并非\uff08a为1\uff09"
    assert describe("") == ""
    with pytest.raises(ValueError, match="language must be 'en' or 'zh'"):
        describe("1", language="fr")


# --- dependencies ------------------------------------------------------------------------


def test_dependency_graph_and_cycles():
    graph = dependency_graph(
        {"a": ["${b} = 1", ""], "b": "${c} > 2", "c": ["${a} != ''"], "d": ["${a}"]}
    )
    assert graph == {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a"}),
        "d": frozenset({"a"}),
    }
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"x": {"y"}}) is None  # y is not a key: no dependencies
    with pytest.raises(ExpressionError, match="question 'b'"):
        dependency_graph({"b": ["${a} >=> 1"]})


# A focused generator for arithmetic and comparisons, where sign and NaN rules bite.
_numeric_atoms = st.sampled_from(
    ["${num}", "${txt}", "${int}", "-3", "2.5", "0", "7", "-0.5", "''", "${day}"]
)
numeric_expressions = st.recursive(
    _numeric_atoms,
    lambda children: st.tuples(
        children,
        st.sampled_from(["+", "-", "*", "div", "mod", "<", ">=", "=", "!="]),
        children,
    ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    max_leaves=4,
).filter(lambda source: source.startswith("("))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=numeric_expressions, frame=frames())
def test_frame_equals_rows_in_arithmetic(source, frame):
    test_frame_equals_rows.hypothesis.inner_test(source=source, frame=frame)


# Exhaustive: every operator and common function over every pair of value kinds, frame vs
# rows (random generation alone rarely hits, say, a negative dividend of ``mod``).
_GRID = pd.DataFrame(
    {
        "num": [0.0, -3.0, 2.5, np.nan, 1e20, 7.0, -0.5, 1.0],
        "txt": ["", "1", "01", "-3", "a", " 7 ", "1,5", "2.5"],
        "int": pd.array([1, None, -2, 0, 3, 5, -7, 2], dtype="Int64"),
        "flag": [True, False, True, False, True, False, True, False],
        "maybe": pd.array([True, None, False, True, None, False, True, False], dtype="boolean"),
        "day": ["2024-01-01", "", "2023-12-31T23:30:00+08:00", "2024-02-29", "", "x", "1", ""],
        "sel": ["1 2", "", "3", "2", "1", "2 3", "", "1 2 3"],
    }
)
_GRID_ATOMS = [
    *(f"${{{name}}}" for name in _GRID.columns),
    "-3",
    "2.5",
    "0",
    "''",
    "'1'",
    "'a'",
    "true()",
    "today()",
    "if(${flag}, 1, 'x')",  # a value whose kind changes from row to row
]


@pytest.mark.parametrize(
    "op", ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod"]
)
def test_every_operator_on_every_kind_pair(op):
    rows = _GRID.to_dict("records")
    for left in _GRID_ATOMS:
        for right in _GRID_ATOMS:
            source = f"{left} {op} {right}"
            expected = [evaluate(source, row, today=TODAY) for row in rows]
            assert _same(list(evaluate_frame(source, _GRID, today=TODAY)), expected), source


@pytest.mark.parametrize(
    "template",
    [
        "-{0}",
        "not({0})",
        "boolean({0})",
        "number({0})",
        "string({0})",
        "int({0})",
        "round({0}, 1)",
        "abs({0})",
        "sqrt({0})",
        "string-length({0})",
        "normalize-space({0})",
        "selected({0}, '2')",
        "count-selected({0})",
        "regex({0}, '^-?[0-9]+$')",
        "contains({0}, '1')",
        "substr({0}, 1)",
        "coalesce({0}, 'z')",
        "if({0}, 'y', 0)",
        "concat({0}, '|', {0})",
        "max({0}, 1)",
        "decimal-date-time({0})",
    ],
)
def test_every_function_on_every_kind(template):
    rows = _GRID.to_dict("records")
    for atom in _GRID_ATOMS:
        source = template.format(atom)
        try:
            expected = [evaluate(source, row, today=TODAY) for row in rows]
        except ExpressionError:
            with pytest.raises(ExpressionError):
                evaluate_frame(source, _GRID, today=TODAY)
            continue
        assert _same(list(evaluate_frame(source, _GRID, today=TODAY)), expected), source


def test_string_subclasses_such_as_numpy_str_read_as_text():
    # numpy.str_ is a str subclass: it used to recurse without end in the string conversion
    row = {"t": np.str_("TJ001023"), "n": np.str_("25")}
    assert evaluate("concat(${t}, '-')", row) == "TJ001023-"
    assert evaluate("string-length(${t})", row) == 8.0
    assert evaluate("${n} + 1", row) == 26.0
