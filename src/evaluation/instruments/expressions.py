r"""ODK XPath expressions of XLSForms: parse, evaluate (row or whole frame), describe in words.

One implementation serves the instrument lint (syntax, references, cycles), the simulated
respondents, data cleaning and the high-frequency checks (skip logic and constraints over
thousands of rows) and the codebook (expressions rendered in English and Chinese). The grammar
is the XPath 1.0 subset that XLSForms use, parsed by a LALR parser (:mod:`lark`).

Notes
-----
**Language.** ``${name}`` references; ``.`` (the current answer, in constraints); ``..`` only as
``position(..)``; paths such as ``/data/group/q`` (or a bare ``q``, as in choice filters) are
parsed as paths, listed in ``Expression.paths`` and evaluated by looking up their **last
step** (``q``) in the row. Numbers (``1``, ``2.5``, ``.5``), strings in single or double quotes
(no escapes inside quotes). Operators, loosest first: ``or``; ``and``; ``=`` ``!=``;
``<`` ``<=`` ``>`` ``>=``; ``+`` ``-``; ``*`` ``div`` ``mod``; unary ``-``; ``|`` (union: parsed,
but evaluating it raises, as ODK Validate also rejects it). The functions are the ones JavaRosa
(ODK Collect and ODK Validate) implements; an unknown function or a wrong number of arguments is
an :class:`ExpressionError` when parsing, with the column and a caret line. ODK Validate 1.20
rejects ``floor``, ``ceiling``, ``substring``, ``current`` and ``last``, so they are unknown here
too. ``area``, ``enclosed-area``, ``distance``, ``randomize``, ``pulldata`` and ``version`` parse
but cannot be evaluated (they need geo data, external files or the form itself).

**Values**, as JavaRosa's ``XPathFuncExpr``, ``XPathEqExpr``, ``XPathCmpExpr`` and
``XPathArithExpr`` define them:

- A value is a string, a number (float) or a boolean. An unanswered question is the empty
  string ``''``. In a row, ``None``, ``NaN``, ``pd.NA``, ``NaT`` and ``''`` are unanswered.
- A reference yields its answer **as text**, as ODK stores it and exports it: ``25`` and
  ``'25'`` are the same answer (typed integers and integral floats print without a decimal
  point, other floats in the shortest positional form that reads back to the same float), so
  typed and all-text rows give the same results. Dates print as ``YYYY-MM-DD``; date-times as
  ``YYYY-MM-DDTHH:MM:SS.fff`` with their UTC offset when they have one (a naive date-time at
  exactly midnight prints as a date, because pandas keeps dates as ``datetime64``). A Python
  ``bool`` in a row is an XPath boolean. A list (or tuple or array) is the answers of a
  question inside a repeat: ``sum``, ``count``, ``count-non-empty``, ``min``, ``max``, ``join``,
  ``concat`` and ``indexed-repeat`` use all of them; anywhere else a list with more than one
  answer is an error (an empty list is unanswered, one answer is that answer).
- ``number()``: booleans are 1/0; a string is trimmed, ``,`` becomes ``.`` (JavaRosa allows a
  decimal comma, so ``'1,000'`` is 1), and it is a number only if it has nothing but digits,
  ``-`` and ``.`` (no exponent, no ``+``); ``''`` and other text are NaN. *Extension*: JavaRosa
  knows that a date question holds a date; rows here do not carry types, so an ISO date string
  is read as days since 1970-01-01 and an ISO date-time as fractional days (UTC; a date-time
  without offset is taken as UTC). That is how ``today() - ${dob}`` gives days, as in ODK.
- ``string()`` of a number follows Java: integral values within 32-bit range print without a
  decimal point (``5``), others as Java's ``Double.toString`` (``0.5``, ``1.0E7``); NaN prints
  ``NaN``; booleans print ``true``/``false``.
- ``boolean()``: a number is true when non-zero (``|x| > 1e-12``) and not NaN; a string when
  non-empty (so ``'0'`` and ``'false'`` are true, as in ODK).
- ``=`` and ``!=``: if either side is a boolean, both are compared as booleans; else if either
  side is a number (a numeric literal or the result of arithmetic or a numeric function),
  numerically with tolerance ``1e-12``; else as strings. A reference is text, so
  ``${sex} = 2`` compares numbers and ``${sex} = '2'`` compares text (``'01' = 1`` is true, and
  ``'01' = '1'`` is false). NaN equals nothing, so with ``age`` unanswered ``${age} = 5`` is
  false and ``${age} != 5`` is true (``!=`` is the negation of ``=``, as in JavaRosa).
- ``<`` ``<=`` ``>`` ``>=`` always compare numbers (so with NaN they are false); arithmetic is
  IEEE double arithmetic (``div`` by zero gives an infinity or NaN, ``mod`` is Java's ``%``).
- ``regex(s, pattern)`` is true when the pattern matches the **whole** string, as JavaRosa's
  ``Pattern.matches`` does (ODK Collect and ODK Validate). The ODK XForms specification and
  Enketo search for the pattern anywhere instead (getodk/javarosa#531, open): anchor patterns
  with ``^`` and ``$`` so that both agree. Patterns are Java regular expressions, translated to
  Python's :mod:`re`: ``\p{...}`` classes for letters, decimal digits, Han characters and the
  POSIX ASCII classes, ``\Q...\E`` and ``\z`` are translated; other Java-only constructs
  (class intersections, nested classes) raise :class:`ExpressionError`.
- Dates and times: ``today()`` and ``now()`` come from the ``today`` argument (a
  ``datetime.date``, or a ``datetime.datetime`` to fix the time of ``now()`` too); without it they
  raise, so results never depend on the clock. ``date(x)`` gives ``YYYY-MM-DD``; ``date-time``,
  ``decimal-date-time``, ``decimal-time`` and ``format-date`` (``%Y %y %m %n %b %d %e %H %h %M
  %S %3 %a``) use the wall-clock time written in the value (JavaRosa would use the device's
  zone).
- ``random()`` and ``uuid()`` draw from the ``rng`` argument (a :class:`numpy.random.Generator`);
  without it they raise. ``once(x)`` is the current answer when there is one, else ``x``.
  ``position(..)`` needs the ``position`` argument (the 1-based repeat instance);
  ``indexed-repeat(${q}, ${group}, i)`` needs ``${q}`` to hold the list of its repeat answers.
  ``jr:choice-name(value, '${q}')`` is the label that ``choice_label(q, value)`` gives, or the
  value itself without a resolver.
- An empty expression: :func:`holds` is true (an empty ``relevant``, ``constraint`` or
  ``required`` imposes nothing); :func:`evaluate` gives ``''``.
- A reference to a name that is not in the row is an error, never a silent blank; an answer
  that is present but empty is simply unanswered.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import difflib
import functools
import hashlib
import math
import re
import string as _string
import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import lark
import numpy as np
import pandas as pd

from evaluation.instruments.errors import InstrumentError

__all__ = [
    "Expression",
    "ExpressionError",
    "dependency_graph",
    "describe",
    "evaluate",
    "evaluate_frame",
    "find_cycle",
    "holds",
    "holds_frame",
    "parse",
]


class ExpressionError(InstrumentError, ValueError):
    """An XPath expression cannot be parsed or evaluated; the message names it and the problem."""


class _Problem(Exception):  # noqa: N818 - internal signal, re-raised as ExpressionError
    """A problem found while evaluating, before the expression's source is known."""


# --------------------------------------------------------------------------------------------
# Functions: name -> (minimum, maximum or None for any number) of arguments
# --------------------------------------------------------------------------------------------

_ONE_NUMBER = [
    "abs",
    "acos",
    "asin",
    "atan",
    "cos",
    "exp",
    "exp10",
    "log",
    "log10",
    "sin",
    "sqrt",
    "tan",
]  # XPath 3.0 in JavaRosa
_ARITY: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(_ONE_NUMBER, (1, 1)),
    "atan2": (2, 2),
    "pow": (2, 2),
    "pi": (0, 0),
    "true": (0, 0),
    "false": (0, 0),
    "boolean": (1, 1),
    "number": (1, 1),
    "int": (1, 1),
    "round": (1, 2),
    "string": (1, 1),
    "not": (1, 1),
    "boolean-from-string": (1, 1),
    "date": (1, 1),
    "date-time": (1, 1),
    "decimal-date-time": (1, 1),
    "decimal-time": (1, 1),
    "format-date": (2, 2),
    "format-date-time": (2, 2),
    "today": (0, 0),
    "now": (0, 0),
    "selected": (2, 2),
    "selected-at": (2, 2),
    "count-selected": (1, 1),
    "jr:choice-name": (2, 2),
    "position": (0, 1),
    "count": (1, 1),
    "count-non-empty": (1, 1),
    "sum": (1, 1),
    "min": (1, None),
    "max": (1, None),
    "concat": (0, None),
    "join": (1, None),
    "substr": (2, 3),
    "substring-before": (2, 2),
    "substring-after": (2, 2),
    "translate": (3, 3),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "string-length": (0, 1),
    "normalize-space": (0, 1),
    "checklist": (2, None),
    "weighted-checklist": (2, None),
    "regex": (2, 2),
    "random": (0, 0),
    "once": (1, 1),
    "uuid": (0, 1),
    "if": (3, 3),
    "coalesce": (2, 2),
    "indexed-repeat": (3, 11),
    "digest": (2, 3),
    "base64-decode": (1, 1),
    "area": (1, 1),
    "enclosed-area": (1, 1),
    "distance": (1, None),
    "randomize": (1, 2),
    "pulldata": (4, 4),
    "version": (0, 0),
}
_NOT_EVALUATED = {
    "area": "it needs geo data",
    "enclosed-area": "it needs geo data",
    "distance": "it needs geo data",
    "randomize": "it shuffles repeat nodes",
    "pulldata": "it reads an external CSV file attached to the form",
    "version": "it reads the form's version",
}
# Functions whose node-set arguments use every answer of a repeat (the others unpack them).
_NODESET_FUNCTIONS = frozenset(
    ["count", "count-non-empty", "sum", "min", "max", "concat", "join", "indexed-repeat"]
)
_NEEDS_NODESET = frozenset(["count", "count-non-empty", "sum"])


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Num:
    value: float
    text: str


@dataclass(frozen=True, slots=True)
class _Str:
    value: str


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str


@dataclass(frozen=True, slots=True)
class _Path:
    text: str
    name: str  # the last step, looked up in the row


@dataclass(frozen=True, slots=True)
class _Current:
    pass


@dataclass(frozen=True, slots=True)
class _Parent:
    pass


@dataclass(frozen=True, slots=True)
class _ParentMark:
    column: int


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Binary:
    op: str  # or and = != < <= > >= + - * div mod
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class _Neg:
    operand: Any


@dataclass(frozen=True, slots=True)
class _Union:
    left: Any
    right: Any


_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_QNAME = rf"{_NAME}(?::{_NAME})?"
_GRAMMAR = rf"""
?start: or_expr
?or_expr: and_expr | or_expr "or" and_expr -> or_
?and_expr: eq_expr | and_expr "and" eq_expr -> and_
?eq_expr: rel_expr | eq_expr "=" rel_expr -> eq | eq_expr "!=" rel_expr -> ne
?rel_expr: add_expr
    | rel_expr "<" add_expr -> lt
    | rel_expr "<=" add_expr -> le
    | rel_expr ">" add_expr -> gt
    | rel_expr ">=" add_expr -> ge
?add_expr: mul_expr | add_expr "+" mul_expr -> add | add_expr "-" mul_expr -> sub
?mul_expr: unary_expr
    | mul_expr "*" unary_expr -> mul
    | mul_expr "div" unary_expr -> div
    | mul_expr "mod" unary_expr -> mod
?unary_expr: union_expr | "-" unary_expr -> neg
?union_expr: primary | union_expr "|" primary -> union
?primary: NUMBER -> number
    | STRING -> string
    | REF -> ref
    | DOT -> current
    | DOTDOT -> parent
    | PATH -> path
    | FUNC "(" [arguments] ")" -> call
    | "(" or_expr ")"
arguments: or_expr ("," or_expr)*

FUNC.2: /{_QNAME}(?=[ \t\r\n]*\()/
PATH: /\/?{_QNAME}(?:\/{_QNAME})*/
NUMBER: /[0-9]+(?:\.[0-9]*)?|\.[0-9]+/
STRING: /"[^"]*"|'[^']*'/
REF: /\$\{{[^}}]*\}}/
DOTDOT: ".."
DOT: "."
%ignore /[ \t\r\n]+/
"""
_VALID_NAME = re.compile(rf"{_NAME}\Z")


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(_GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True)


class _SyntaxProblem(Exception):  # noqa: N818 - internal signal, re-raised as ExpressionError
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


@lark.v_args(inline=True)
class _Builder(lark.Transformer):
    """Turns lark's parse tree into the frozen syntax tree, checking functions and arities."""

    def number(self, token: lark.Token) -> _Num:
        return _Num(float(token), str(token))

    def string(self, token: lark.Token) -> _Str:
        return _Str(str(token)[1:-1])

    def ref(self, token: lark.Token) -> _Ref:
        name = str(token)[2:-1]
        if not name.strip():
            raise _SyntaxProblem("empty reference '${}'", token.column)
        if not _VALID_NAME.match(name):
            raise _SyntaxProblem(f"invalid question name in reference '{token}'", token.column)
        return _Ref(name)

    def current(self, token: lark.Token) -> _Current:
        return _Current()

    def parent(self, token: lark.Token) -> _ParentMark:
        # ``..`` is legal only as the argument of position(); checked after the whole tree.
        return _ParentMark(token.column)

    def path(self, token: lark.Token) -> _Path:
        text = str(token)
        return _Path(text, text.rsplit("/", 1)[-1])

    def arguments(self, *args: Any) -> list[Any]:
        return list(args)

    def call(self, token: lark.Token, arguments: list[Any] | None) -> _Call:
        name = str(token)
        args = tuple(arguments or ())
        if name == "position" and len(args) == 1 and isinstance(args[0], _ParentMark):
            return _Call(name, (_Parent(),))
        _check_call(name, args, token.column)
        return _Call(name, args)

    def neg(self, operand: Any) -> _Neg:
        return _Neg(operand)

    def union(self, left: Any, right: Any) -> _Union:
        return _Union(left, right)


def _binary(op: str) -> Callable[..., _Binary]:
    def build(self: _Builder, left: Any, right: Any) -> _Binary:
        return _Binary(op, left, right)

    return lark.v_args(inline=True)(build)


for _rule, _op in {
    "or_": "or",
    "and_": "and",
    "eq": "=",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "div",
    "mod": "mod",
}.items():
    setattr(_Builder, _rule, _binary(_op))


def _check_call(name: str, args: tuple[Any, ...], column: int) -> None:
    arity = _ARITY.get(name)
    if arity is None:
        close = difflib.get_close_matches(name, _ARITY, n=1)
        hint = f" (did you mean {close[0]}()?)" if close else ""
        raise _SyntaxProblem(f"unknown function '{name}'{hint}", column)
    low, high = arity
    count = len(args)
    if count < low or (high is not None and count > high):
        expected = _arity_text(low, high)
        raise _SyntaxProblem(
            f"function '{name}' takes {expected}, got {count}",
            column,
        )
    if name == "indexed-repeat" and count % 2 == 0:
        raise _SyntaxProblem("function 'indexed-repeat' takes 3, 5, 7, 9 or 11 arguments", column)
    if name == "weighted-checklist" and count % 2:
        raise _SyntaxProblem("function 'weighted-checklist' takes an even number", column)
    if name == "selected" and isinstance(args[1], _Num):
        raise _SyntaxProblem(
            f"selected() needs the choice name in quotes, like '{args[1].text}'", column
        )
    if name in _NEEDS_NODESET | {"indexed-repeat"} and not isinstance(args[0], _Ref | _Path):
        raise _SyntaxProblem(
            f"function '{name}' needs a question reference (a node-set) as its first argument",
            column,
        )
    if name == "jr:choice-name" and not isinstance(args[1], _Str):
        raise _SyntaxProblem(
            "jr:choice-name() needs the question in quotes as its second argument, like '${q}'",
            column,
        )


def _arity_text(low: int, high: int | None) -> str:
    def plural(n: int) -> str:
        return f"{n} argument" + ("" if n == 1 else "s")

    if high is None:
        return f"at least {plural(low)}"
    if low == high:
        return plural(low)
    return f"{low} to {plural(high)}"


def _choice_question(literal: str) -> str:
    """Return the question named by ``jr:choice-name``'s quoted argument, ``'${q}'``."""
    text = literal.strip()
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Expression:
    """A parsed XPath expression of an XLSForm.

    Attributes
    ----------
    source : str
        The expression as written.
    references : frozenset of str
        Every ``${name}`` it references, including the quoted question of
        ``jr:choice-name(..., '${q}')`` (pyxform substitutes that one too).
    functions : frozenset of str
        Every function it calls.
    uses_current : bool
        Whether it reads the current answer: ``.``, or ``once()``, ``string-length()`` and
        ``normalize-space()`` without arguments.
    paths : frozenset of str
        Every XPath path written out (``/data/group/q``, or a bare ``q`` as in choice
        filters); they are evaluated by looking up their last step in the row.
    """

    source: str
    references: frozenset[str]
    functions: frozenset[str]
    uses_current: bool
    paths: frozenset[str] = frozenset()
    _tree: Any = field(default=None, repr=False, compare=False)

    @property
    def is_empty(self) -> bool:
        """Whether the expression is blank (an empty ``relevant`` or ``constraint``).

        Returns
        -------
        bool
            True for a blank expression, which :func:`holds` everywhere.
        """
        return self._tree is None


def parse(source: str) -> Expression:
    """Parse an XLSForm expression.

    Parameters
    ----------
    source : str
        The expression, for example ``"${age} >= 16 and selected(${langs}, 'en')"``. A blank
        string is the empty expression.

    Returns
    -------
    Expression
        The parsed expression with its references and functions. Results are cached, so
        parsing the same text again is free.

    Raises
    ------
    ExpressionError
        If the text is not a valid expression (unbalanced parentheses, an unexpected token,
        an empty ``${}``), calls an unknown function or calls one with the wrong number of
        arguments. The message names the problem and its column, and shows a caret line.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string; got {source!r}")
    return _parse_cached(source)


@functools.lru_cache(maxsize=8192)
def _parse_cached(source: str) -> Expression:
    if not source.strip():
        return Expression(source, frozenset(), frozenset(), False, frozenset(), None)
    try:
        tree = _Builder().transform(_parser().parse(source))
    except _SyntaxProblem as problem:
        raise _syntax_error(source, str(problem), problem.column) from None
    except lark.exceptions.VisitError as error:
        inner = error.orig_exc
        if isinstance(inner, _SyntaxProblem):
            raise _syntax_error(source, str(inner), inner.column) from None
        raise  # pragma: no cover - a bug in the builder
    except lark.exceptions.UnexpectedInput as error:
        message, column = _describe_syntax_error(source, error)
        raise _syntax_error(source, message, column) from None
    references: set[str] = set()
    functions: set[str] = set()
    paths: set[str] = set()
    uses_current = False
    for node in _walk(tree):
        if isinstance(node, _ParentMark):
            raise _syntax_error(source, "'..' is only supported as position(..)", node.column)
        if isinstance(node, _Ref):
            references.add(node.name)
        elif isinstance(node, _Path):
            paths.add(node.text)
        elif isinstance(node, _Current):
            uses_current = True
        elif isinstance(node, _Call):
            functions.add(node.name)
            if node.name == "jr:choice-name":
                literal = node.args[1].value.strip()
                if literal.startswith("${"):
                    references.add(_choice_question(literal))
            if node.name == "once" or (
                node.name in ("string-length", "normalize-space") and not node.args
            ):
                uses_current = True
    return Expression(
        source,
        frozenset(references),
        frozenset(functions),
        uses_current,
        frozenset(paths),
        tree,
    )


def _walk(node: Any) -> Iterable[Any]:
    yield node
    if isinstance(node, _Call):
        for arg in node.args:
            yield from _walk(arg)
    elif isinstance(node, _Binary | _Union):
        yield from _walk(node.left)
        yield from _walk(node.right)
    elif isinstance(node, _Neg):
        yield from _walk(node.operand)


def _syntax_error(source: str, message: str, column: int) -> ExpressionError:
    caret = " " * (column - 1) + "^"
    return ExpressionError(
        f"cannot parse expression {source!r}: {message} at column {column}\n"
        f"    {source}\n    {caret}"
    )


def _open_parentheses(source: str) -> list[int]:
    """Columns of the '(' not closed so far, and -column of a ')' without its '('."""
    stack: list[int] = []
    quote = ""
    for index, char in enumerate(source):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            stack.append(index + 1)
        elif char == ")":
            if not stack:
                return [-(index + 1)]
            stack.pop()
    return stack


def _describe_syntax_error(source: str, error: lark.exceptions.UnexpectedInput) -> tuple[str, int]:
    parentheses = _open_parentheses(source)
    if parentheses and parentheses[0] < 0:
        return "unbalanced parentheses: this ')' has no matching '('", -parentheses[0]
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        char = source[error.pos_in_stream]
        if char == "$":
            return "unterminated reference: '${' without its closing '}'", error.column
        if char in "'\"":
            return f"unterminated string: the {char} is never closed", error.column
        return f"unexpected character {char!r}", error.column
    token = getattr(error, "token", None)
    at_end = isinstance(error, lark.exceptions.UnexpectedEOF) or (
        token is not None and token.type == "$END"
    )
    if at_end:
        if parentheses:
            return "unbalanced parentheses: this '(' is never closed", parentheses[-1]
        return "the expression is incomplete", len(source.rstrip()) + 1
    text = str(token)
    before = source[: token.start_pos].rstrip()
    after = f" after {before.split()[-1]!r}" if before.split() else ""
    return f"unexpected {text!r}{after}", error.column


# --------------------------------------------------------------------------------------------
# Scalar values and conversions (shared by the row and the frame evaluators)
# --------------------------------------------------------------------------------------------

_JAVA_TRIM = "".join(chr(code) for code in range(33))  # String.trim() removes chars <= ' '
_NUMBER_CHARS = frozenset("-.0123456789")
_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY = dt.timedelta(days=1)
_INT_MAX = 2**31 - 1
_INT_MIN = -(2**31)


def _parse_moment(text: str) -> dt.date | dt.datetime | None:
    """Read an ISO date ``YYYY-MM-DD`` or date-time ``YYYY-MM-DDTHH:MM[:SS[.f]][offset]``."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return None
    digits = text[:4] + text[5:7] + text[8:10]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        if text[10] == "T":
            return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def _days(moment: dt.date) -> float:
    if isinstance(moment, dt.datetime):
        epoch = _EPOCH if moment.tzinfo is None else _EPOCH_UTC
        return (moment - epoch) / _DAY
    return float((moment - _EPOCH_DATE).days)


@functools.lru_cache(maxsize=65536)
def _parse_number(text: str) -> float:
    trimmed = text.strip(_JAVA_TRIM)
    candidate = trimmed.replace(",", ".")
    if candidate and _NUMBER_CHARS.issuperset(candidate):
        try:
            return float(candidate)
        except ValueError:
            pass
    moment = _parse_moment(trimmed)
    return math.nan if moment is None else _days(moment)


def _java_int(x: float) -> int:
    """Java's ``(int) x``: truncation toward zero, saturating at the 32-bit range."""
    if x >= _INT_MAX:
        return _INT_MAX
    if x <= _INT_MIN:
        return _INT_MIN
    return int(x)


def _java_double(x: float) -> str:
    """Java's ``Double.toString`` from the shortest round-trip digits."""
    text = repr(abs(x))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0)  # digits before the point
    if not digits:  # pragma: no cover - zero is handled by the caller
        return "0"
    point -= len(whole + fraction) - len((whole + fraction).lstrip("0"))
    digits = digits.rstrip("0") or "0"
    sign = "-" if x < 0 else ""
    if 1e-3 <= abs(x) < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{point - 1}"


@functools.lru_cache(maxsize=65536)
def _number_to_string(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if abs(x) < 1e-12:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    truncated = _java_int(x)
    if abs(x - truncated) < 1e-12:
        return str(truncated)
    return _java_double(x)


def _row_float(x: float) -> str:
    """Print a typed float as ODK would store it: no exponent, reads back to the same float."""
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x):
        return str(int(x))
    text = repr(x)
    if "e" in text:
        text = np.format_float_positional(x, unique=True, trim="-")
    return text


def _moment_text(moment: dt.datetime) -> str:
    if isinstance(moment, pd.Timestamp):
        moment = moment.to_pydatetime(warn=False)
    if moment.tzinfo is None and moment.time() == dt.time():
        return moment.date().isoformat()
    timespec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.isoformat(timespec=timespec)


def _row_value(value: object) -> Any:
    """Read one answer of a row as XPath: str, bool or a tuple (the answers of a repeat)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value if value.__class__ is str else str(value)  # numpy.str_ and other subclasses
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _row_float(float(value))
    if isinstance(value, dt.datetime):
        return _moment_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else _moment_text(pd.Timestamp(value))
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return tuple(_row_value(item) for item in value)
    raise _Problem(f"cannot use a value of type {type(value).__name__}: {value!r}")


def _to_number(value: Any) -> float:
    kind = value.__class__
    if kind is float:
        return value
    if kind is str:
        return _parse_number(value)
    if kind is bool:
        return 1.0 if value else 0.0
    return _to_number(_single(value))


def _to_string(value: Any) -> str:
    kind = value.__class__
    if kind is str:
        return value
    if kind is float:
        return _number_to_string(value)
    if kind is bool:
        return "true" if value else "false"
    return _to_string(_single(value))


def _to_bool(value: Any) -> bool:
    kind = value.__class__
    if kind is bool:
        return value
    if kind is str:
        return value != ""
    if kind is float:
        return abs(value) > 1e-12  # NaN compares false
    return _to_bool(_single(value))


def _single(value: Any) -> Any:
    """Unpack a repeat's answers where one value is expected."""
    if value.__class__ is not tuple:
        return value
    if not value:
        return ""
    if len(value) == 1:
        return _single(value[0])
    raise _Problem(
        f"a reference holds {len(value)} answers of a repeat where one value is expected; "
        "use sum(), count(), min(), max(), join() or indexed-repeat()"
    )


def _equals(left: Any, right: Any) -> bool:
    if left.__class__ is bool or right.__class__ is bool:
        return _to_bool(left) == _to_bool(right)
    if left.__class__ is float or right.__class__ is float:
        return abs(_to_number(left) - _to_number(right)) < 1e-12
    return _to_string(left) == _to_string(right)


def _divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _modulo(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)
    except ValueError:  # x % 0 and inf % y are NaN in Java
        return math.nan


def _arith(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        return _divide(a, b)
    return _modulo(a, b)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


# --------------------------------------------------------------------------------------------
# Function implementations on scalar values (the frame evaluator maps them over distinct values)
# --------------------------------------------------------------------------------------------


def _to_int(value: Any) -> float:
    x = _to_number(value)
    if math.isnan(x) or math.isinf(x) or abs(x) >= 2.0**63:
        return x
    return float(math.trunc(x)) if x != 0 or math.copysign(1, x) > 0 else x


def _round(value: Any, places: Any = 0.0) -> float:
    """Round as JavaRosa does, at ``places`` decimals.

    Ties go away from zero for positive numbers and toward zero for negative ones
    (``BigDecimal`` HALF_UP / HALF_DOWN).
    """
    x = _to_number(value)
    p = _to_number(places)
    digits = 0 if math.isnan(p) else _java_int(p)
    if math.isnan(x) or math.isinf(x):
        return x
    if abs(digits) > 30:
        return math.nan
    context = decimal.Context(prec=400)
    if digits >= 0:
        rounding = decimal.ROUND_HALF_DOWN if x < 0 else decimal.ROUND_HALF_UP
        quantum = decimal.Decimal(1).scaleb(-digits)
        return float(decimal.Decimal(repr(x)).quantize(quantum, rounding=rounding, context=context))
    scaled = float(decimal.Decimal(repr(x)).scaleb(digits, context=context))
    return float(decimal.Decimal(int(scaled + 0.5)).scaleb(-digits, context=context))


def _math(function: Callable[..., float], fallback: Callable[..., Any]) -> Callable[..., float]:
    """Wrap a math function: where Python raises, Java gives NaN or an infinity."""

    def apply(*values: Any) -> float:
        numbers = [_to_number(value) for value in values]
        try:
            return float(function(*numbers))
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(fallback(*(np.float64(n) for n in numbers)))

    return apply


_MATH: dict[str, Callable[..., float]] = {
    "abs": _math(abs, np.abs),
    "acos": _math(math.acos, np.arccos),
    "asin": _math(math.asin, np.arcsin),
    "atan": _math(math.atan, np.arctan),
    "atan2": _math(math.atan2, np.arctan2),
    "cos": _math(math.cos, np.cos),
    "exp": _math(math.exp, np.exp),
    "exp10": _math(lambda x: math.pow(10.0, x), lambda x: np.power(10.0, x)),
    "log": _math(math.log, np.log),
    "log10": _math(math.log10, np.log10),
    "pow": _math(math.pow, np.power),
    "sin": _math(math.sin, np.sin),
    "sqrt": _math(math.sqrt, np.sqrt),
    "tan": _math(math.tan, np.tan),
}


def _moment_of(value: Any, function: str) -> dt.date | dt.datetime | None:
    """JavaRosa ``toDate``: numbers are days since 1970-01-01; '' and NaN give None."""
    value = _single(value)
    if value.__class__ is float:
        if math.isnan(value):
            return None
        if math.isinf(value) or not _INT_MIN <= value <= _INT_MAX:
            raise _Problem(f"{function}(): {_number_to_string(value)} is out of range for a date")
        try:
            return _EPOCH + value * _DAY
        except OverflowError:
            raise _Problem(
                f"{function}(): {_number_to_string(value)} is out of range for a date"
            ) from None
    if value.__class__ is bool:
        raise _Problem(f"{function}(): cannot convert {_to_string(value)} to a date")
    if value == "":
        return None
    moment = _parse_moment(value.strip(_JAVA_TRIM))
    if moment is None:
        raise _Problem(f"{function}(): cannot convert {value!r} to a date")
    return moment


def _date(value: Any) -> Any:
    value = _single(value)
    if value.__class__ is float and not math.isnan(value):
        value = _to_int(value)
    moment = _moment_of(value, "date")
    if moment is None:
        return value if value.__class__ is float else ""
    if isinstance(moment, dt.datetime):
        moment = moment.date()
    return moment.isoformat()


def _date_time(value: Any) -> Any:
    moment = _moment_of(value, "date-time")
    if moment is None:
        return _single(value)
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time())
    return moment.isoformat(timespec="milliseconds")


def _decimal_date_time(value: Any) -> Any:
    value = _single(value)
    if value.__class__ is float:
        _moment_of(value, "decimal-date-time")  # range check
        return value
    moment = _moment_of(value, "decimal-date-time")
    return "" if moment is None else _days(moment)


def _decimal_time(value: Any) -> Any:
    value = _single(value)
    if value.__class__ is float:
        _moment_of(value, "decimal-time")
        return value - math.floor(value)
    moment = _moment_of(value, "decimal-time")
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        return 0.0
    wall = moment.replace(tzinfo=None)
    return (wall - dt.datetime.combine(wall.date(), dt.time())) / _DAY


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _format_date(value: Any, pattern: Any) -> str:
    moment = _moment_of(value, "format-date")
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time())
    fields = {
        "Y": f"{moment.year:04d}",
        "y": f"{moment.year:04d}"[2:],
        "m": f"{moment.month:02d}",
        "n": str(moment.month),
        "b": _MONTHS[moment.month - 1],
        "d": f"{moment.day:02d}",
        "e": str(moment.day),
        "H": f"{moment.hour:02d}",
        "h": str(moment.hour),
        "M": f"{moment.minute:02d}",
        "S": f"{moment.second:02d}",
        "3": f"{moment.microsecond // 1000:03d}",
        "a": _WEEKDAYS[moment.weekday()],
    }
    text = _to_string(pattern)
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        code = text[index + 1 : index + 2]
        if code == "%":
            out.append("%")
        elif code in fields:
            out.append(fields[code])
        else:
            raise _Problem(f"format-date(): unknown format code '%{code}' in {text!r}")
        index += 2
    return "".join(out)


def _selected(values: Any, choice: Any) -> bool:
    if choice.__class__ is not str:
        raise _Problem("selected() needs the choice name in quotes, like '1'")
    return f" {choice.strip()} " in f" {_to_string(values)} "


def _choices(values: Any) -> list[str]:
    return [part for part in _to_string(values).split(" ") if part]


def _selected_at(values: Any, index: Any) -> str:
    chosen = _choices(values)
    position = _java_int(_to_int(index)) if not math.isnan(_to_number(index)) else 0
    return chosen[position] if 0 <= position < len(chosen) else ""


def _substr(value: Any, start: Any, end: Any = None) -> str:
    text = _to_string(value)
    length = len(text)

    def index(bound: Any) -> int:
        x = _to_int(bound)
        return 0 if math.isnan(x) else _java_int(x)

    first = index(start)
    last = length if end is None else index(end)
    first = first + length if first < 0 else first
    last = last + length if last < 0 else last
    first = min(max(0, first), length)
    last = min(max(0, last), length)
    return text[first:last] if first <= last else ""


def _substring_before(value: Any, target: Any) -> str:
    text, part = _to_string(value), _to_string(target)
    position = text.find(part)
    return text[:position] if position >= 0 else ""


def _substring_after(value: Any, target: Any) -> str:
    text, part = _to_string(value), _to_string(target)
    position = text.find(part)
    return text[position + len(part) :] if position >= 0 else ""


def _translate(value: Any, source: Any, target: Any) -> str:
    text, old, new = _to_string(value), _to_string(source), _to_string(target)
    out = []
    for char in text:
        position = old.find(char)
        if position < 0:
            out.append(char)
        elif position < len(new):
            out.append(new[position])
    return "".join(out)


def _normalize_space(value: Any) -> str:
    return " ".join(_to_string(value).split())


def _boolean_from_string(value: Any) -> bool:
    text = _to_string(value)
    return text.lower() == "true" or text == "1"


def _checklist(low: Any, high: Any, *factors: Any) -> bool:
    minimum, maximum = _java_int(_to_number(low)), _java_int(_to_number(high))
    count = sum(_to_bool(factor) for factor in factors)
    return (minimum < 0 or count >= minimum) and (maximum < 0 or count <= maximum)


def _weighted_checklist(low: Any, high: Any, *pairs: Any) -> bool:
    total = sum(
        _to_number(weight)
        for flag, weight in zip(pairs[::2], pairs[1::2], strict=True)
        if _to_bool(flag)
    )
    return _to_number(low) <= total <= _to_number(high)


_DIGESTS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _digest(value: Any, algorithm: Any, encoding: Any = "base64") -> str:
    name = _DIGESTS.get(_to_string(algorithm).upper())
    if name is None:
        raise _Problem(
            f"digest(): unknown algorithm {_to_string(algorithm)!r}; expected one of "
            + ", ".join(_DIGESTS)
        )
    raw = hashlib.new(name, _to_string(value).encode("utf-8")).digest()
    kind = _to_string(encoding).lower()
    if kind == "base64":
        return base64.b64encode(raw).decode("ascii")
    if kind == "hex":
        return raw.hex()
    raise _Problem(f"digest(): unknown encoding {kind!r}; expected 'base64' or 'hex'")


def _base64_decode(value: Any) -> str:
    try:
        return base64.b64decode(_to_string(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


# Java regular expressions: the constructs Python's re spells differently.
_HAN = (
    "\u2e80-\u2e99\u2e9b-\u2ef3\u2f00-\u2fd5\u3005\u3007\u3021-\u3029\u3038-\u303b"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufa6d\ufa70-\ufad9\U00016fe2\U00016fe3"
    "\U00016ff0\U00016ff1\U00020000-\U0002a6df\U0002a700-\U0002b739\U0002b740-\U0002b81d"
    "\U0002b820-\U0002cea1\U0002ceb0-\U0002ebe0\U0002f800-\U0002fa1d\U00030000-\U0003134a"
    "\U00031350-\U000323af"
)
_JAVA_CLASSES = {  # name -> body usable inside [...]
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
    "Nd": "\\d",
    "IsDigit": "\\d",
    "Han": _HAN,
    "IsHan": _HAN,
    "script=Han": _HAN,
    "sc=Han": _HAN,
    "InCJKUnifiedIdeographs": "\u4e00-\u9fff",
    "InCJK_Unified_Ideographs": "\u4e00-\u9fff",
}
_JAVA_LETTER = ("L", "IsL", "IsLetter", "IsAlphabetic", "Alphabetic", "Letter")


def _translate_java_class(pattern: str, index: int, in_class: bool) -> tuple[str, int]:
    negated = pattern[index + 1] == "P"
    start = index + 2
    if start < len(pattern) and pattern[start] == "{":
        end = pattern.find("}", start)
        if end < 0:
            raise _Problem(f"regex(): unclosed \\p{{...}} in {pattern!r}")
        name, after = pattern[start + 1 : end], end + 1
    else:
        name, after = pattern[start : start + 1], start + 1
    if name in _JAVA_LETTER and not in_class:
        return ("[\\W\\d_]" if negated else "[^\\W\\d_]"), after
    body = _JAVA_CLASSES.get(name)
    if body is None or (in_class and negated):
        raise _Problem(f"regex(): the Java class \\{pattern[index + 1]}{{{name}}} is not supported")
    if in_class:
        return body, after
    return (f"[^{body}]" if negated else f"[{body}]"), after


@functools.lru_cache(maxsize=1024)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape = pattern[index + 1]
            if escape in "pP":
                text, index = _translate_java_class(pattern, index, in_class)
                out.append(text)
                continue
            if escape == "Q":
                end = pattern.find("\\E", index + 2)
                end = len(pattern) if end < 0 else end
                out.append(re.escape(pattern[index + 2 : end]))
                index = end + 2
                continue
            out.append({"z": "\\Z", "Z": "(?=\\n?\\Z)"}.get(escape, "\\" + escape))
            index += 2
            continue
        if in_class:
            if char == "[" or pattern.startswith("&&", index):
                raise _Problem(
                    f"regex(): nested character classes and '&&' in {pattern!r} are Java-only"
                )
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern.startswith("[^]", index) or pattern.startswith("[]", index):
                raise _Problem(f"regex(): ']' first in a class is ambiguous in {pattern!r}")
        out.append(char)
        index += 1
    try:
        return re.compile("".join(out))
    except re.error as error:
        raise _Problem(f"regex(): invalid pattern {pattern!r}: {error}") from None


def _regex(value: Any, pattern: Any) -> bool:
    return _compile_regex(_to_string(pattern)).fullmatch(_to_string(value)) is not None


def _min_max(pick_larger: bool) -> Callable[..., float]:
    def apply(*values: Any) -> float:
        items = values[0] if len(values) == 1 and values[0].__class__ is tuple else values
        best = math.nan
        for item in items:
            x = _to_number(item)
            if math.isnan(x):
                continue
            if math.isnan(best) or (x > best if pick_larger else x < best):
                best = x
        return best

    return apply


def _count(value: Any) -> float:
    return float(len(value)) if value.__class__ is tuple else 1.0


def _count_non_empty(value: Any) -> float:
    items = value if value.__class__ is tuple else (value,)
    return float(sum(_to_string(item) != "" for item in items))


def _sum(value: Any) -> float:
    items = value if value.__class__ is tuple else (value,)
    total = 0.0
    for item in items:
        x = _to_number(item)
        if not math.isnan(x):
            total += x
    return total


def _concat(*values: Any) -> str:
    if len(values) == 1 and values[0].__class__ is tuple:
        return "".join(_to_string(item) for item in values[0])
    return "".join(_to_string(value) for value in values)


def _join(separator: Any, *values: Any) -> str:
    if len(values) == 1 and values[0].__class__ is tuple:
        values = values[0]
    return _to_string(separator).join(_to_string(value) for value in values)


def _indexed_repeat(target: Any, *pairs: Any) -> Any:
    value = target
    for index in pairs[1::2]:
        if value.__class__ is not tuple:
            raise _Problem(
                "indexed-repeat() needs repeat context: the referenced answer is a single value, "
                "not the list of its repeat instances"
            )
        x = _to_int(index)
        position = 1 if math.isnan(x) or x <= 0 else _java_int(x)
        value = value[position - 1] if position <= len(value) else ""
    return _single(value)


def _unsupported(name: str) -> Callable[..., Any]:
    def apply(*values: Any) -> Any:
        if name == "|":
            raise _Problem("the union operator '|' is unsupported in evaluation")
        raise _Problem(f"function '{name}' is unsupported in evaluation: {_NOT_EVALUATED[name]}")

    return apply


# Functions of their argument values alone (no context, no laziness).
_PURE: dict[str, Callable[..., Any]] = {
    **_MATH,
    "pi": lambda: math.pi,
    "true": lambda: True,
    "false": lambda: False,
    "boolean": _to_bool,
    "number": _to_number,
    "int": _to_int,
    "round": _round,
    "string": _to_string,
    "not": lambda value: not _to_bool(value),
    "boolean-from-string": _boolean_from_string,
    "date": _date,
    "date-time": _date_time,
    "decimal-date-time": _decimal_date_time,
    "decimal-time": _decimal_time,
    "format-date": _format_date,
    "format-date-time": _format_date,
    "selected": _selected,
    "selected-at": _selected_at,
    "count-selected": lambda values: float(len(_choices(values))),
    "substr": _substr,
    "substring-before": _substring_before,
    "substring-after": _substring_after,
    "translate": _translate,
    "contains": lambda a, b: _to_string(b) in _to_string(a),
    "starts-with": lambda a, b: _to_string(a).startswith(_to_string(b)),
    "ends-with": lambda a, b: _to_string(a).endswith(_to_string(b)),
    "string-length": lambda value: float(len(_to_string(value))),
    "normalize-space": _normalize_space,
    "checklist": _checklist,
    "weighted-checklist": _weighted_checklist,
    "regex": _regex,
    "digest": _digest,
    "base64-decode": _base64_decode,
    "count": _count,
    "count-non-empty": _count_non_empty,
    "sum": _sum,
    "min": _min_max(pick_larger=False),
    "max": _min_max(pick_larger=True),
    "concat": _concat,
    "join": _join,
    "indexed-repeat": _indexed_repeat,
    **{name: _unsupported(name) for name in _NOT_EVALUATED},
}
# Evaluated by the evaluators themselves: lazy, or reading the evaluation context.
_CONTEXTUAL = frozenset(
    ["if", "coalesce", "once", "position", "today", "now", "random", "uuid", "jr:choice-name"]
)


# --------------------------------------------------------------------------------------------
# Evaluating one row
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    row: Any
    current: Any
    today: dt.date | None
    choice_label: Callable[[str, str], str | None] | None
    rng: np.random.Generator | None
    position: int | None


def _lookup(row: Any, name: str) -> Any:
    try:
        value = row[name]
    except (KeyError, IndexError, TypeError):
        raise _Problem(f"${{{name}}} is not in the row") from None
    return _row_value(value)


def _today(today: dt.date | None) -> dt.date:
    if today is None:
        raise _Problem(
            "today() and now() need the evaluation date: pass today=dt.date(...) (or a datetime)"
        )
    return today.date() if isinstance(today, dt.datetime) else today


def _now(today: dt.date | None) -> str:
    day = _today(today)
    moment = today if isinstance(today, dt.datetime) else dt.datetime.combine(day, dt.time())
    return moment.isoformat(timespec="milliseconds")


def _need_rng(rng: np.random.Generator | None, name: str) -> np.random.Generator:
    if rng is None:
        raise _Problem(
            f"{name}() needs a random generator: pass rng=numpy.random.default_rng(seed)"
        )
    return rng


_UUID_ALPHABET = _string.ascii_letters + _string.digits


def _random_uuid(rng: np.random.Generator, length: Any = None) -> str:
    if length is None:
        return str(_uuid.UUID(bytes=rng.bytes(16), version=4))
    count = max(0, _java_int(_to_int(length)))
    picks = rng.integers(0, len(_UUID_ALPHABET), size=count)
    return "".join(_UUID_ALPHABET[i] for i in picks)


def _choice_name(
    value: Any, question: str, choice_label: Callable[[str, str], str | None] | None
) -> str:
    choice = _to_string(value)
    if choice_label is None or choice == "":
        return choice
    label = choice_label(_choice_question(question), choice)
    return choice if label is None else str(label)


def _eval(node: Any, ctx: _Context) -> Any:
    kind = node.__class__
    if kind is _Binary:
        op = node.op
        if op == "and":
            return _to_bool(_eval(node.left, ctx)) and _to_bool(_eval(node.right, ctx))
        if op == "or":
            return _to_bool(_eval(node.left, ctx)) or _to_bool(_eval(node.right, ctx))
        left = _single(_eval(node.left, ctx))
        right = _single(_eval(node.right, ctx))
        if op == "=":
            return _equals(left, right)
        if op == "!=":
            return not _equals(left, right)
        if op in _COMPARE:
            return _COMPARE[op](_to_number(left), _to_number(right))
        return _arith(op, _to_number(left), _to_number(right))
    if kind is _Ref or kind is _Path:
        return _lookup(ctx.row, node.name)
    if kind is _Num:
        return node.value
    if kind is _Str:
        return node.value
    if kind is _Call:
        return _eval_call(node, ctx)
    if kind is _Current:
        return _row_value(ctx.current)
    if kind is _Neg:
        return -_to_number(_single(_eval(node.operand, ctx)))
    if kind is _Union:
        return _unsupported("|")()
    raise AssertionError(node)  # pragma: no cover


def _eval_call(node: _Call, ctx: _Context) -> Any:
    name, args = node.name, node.args
    if name in _CONTEXTUAL:
        if name == "if":
            chosen = args[1] if _to_bool(_eval(args[0], ctx)) else args[2]
            return _single(_eval(chosen, ctx))
        if name == "coalesce":
            first = _single(_eval(args[0], ctx))
            if not _is_null(first):
                return first
            return _single(_eval(args[1], ctx))
        if name == "once":
            current = _single(_row_value(ctx.current))
            return current if _to_string(current) != "" else _single(_eval(args[0], ctx))
        if name == "position":
            if ctx.position is None:
                raise _Problem("position() needs repeat context: pass position=<1-based index>")
            return float(ctx.position)
        if name == "today":
            return _today(ctx.today).isoformat()
        if name == "now":
            return _now(ctx.today)
        if name == "random":
            return float(_need_rng(ctx.rng, "random").random())
        if name == "uuid":
            rng = _need_rng(ctx.rng, "uuid")
            return _random_uuid(rng, *(_single(_eval(arg, ctx)) for arg in args))
        return _choice_name(_single(_eval(args[0], ctx)), args[1].value, ctx.choice_label)
    if not args and name in ("string-length", "normalize-space"):
        values: tuple[Any, ...] = (_single(_row_value(ctx.current)),)
    elif name == "indexed-repeat":  # the repeat groups are paths, not answers
        values = tuple("" if index % 2 else _eval(arg, ctx) for index, arg in enumerate(args))
        values = (values[0], *(_single(value) for value in values[1:]))
    elif name in _NODESET_FUNCTIONS:
        values = tuple(_eval(arg, ctx) for arg in args)
    else:
        values = tuple(_single(_eval(arg, ctx)) for arg in args)
    return _PURE[name](*values)


def _is_null(value: Any) -> bool:
    return value == "" if value.__class__ is str else value.__class__ is float and math.isnan(value)


def _as_expression(expression: str | Expression) -> Expression:
    return expression if isinstance(expression, Expression) else parse(expression)


def _evaluation_error(expression: Expression, problem: Exception) -> ExpressionError:
    return ExpressionError(f"cannot evaluate {expression.source!r}: {problem}")


def evaluate(
    expression: str | Expression,
    row: Mapping[str, object],
    *,
    current: object = None,
    today: dt.date | None = None,
    choice_label: Callable[[str, str], str | None] | None = None,
    rng: np.random.Generator | None = None,
    position: int | None = None,
) -> object:
    """Evaluate an expression on one row of answers.

    Parameters
    ----------
    expression : str or Expression
        The expression, as text or parsed by :func:`parse`.
    row : Mapping
        Answers by question name (a dict or a :class:`pandas.Series`); values may be typed or
        all text (see the module notes for how they are read).
    current : object, optional
        The current answer, the value of ``.`` (``None`` is unanswered).
    today : dt.date, optional
        The date of ``today()`` (a ``datetime.datetime`` also fixes ``now()``).
    choice_label : callable, optional
        ``choice_label(question, choice_name)`` gives the label that ``jr:choice-name``
        returns (``None`` when unknown, then the choice name is returned).
    rng : numpy.random.Generator, optional
        The source of ``random()`` and ``uuid()``.
    position : int, optional
        The 1-based repeat instance, the value of ``position(..)``.

    Returns
    -------
    object
        A ``str``, ``float`` or ``bool``; dates are ISO strings and an unanswered value is
        ``''``. The empty expression gives ``''``.

    Raises
    ------
    ExpressionError
        If the expression does not parse, references a name that is not in the row, or cannot
        be evaluated (an invalid regular expression, ``today()`` without ``today``, ...).
    """
    parsed = _as_expression(expression)
    if parsed.is_empty:
        return ""
    ctx = _Context(row, current, today, choice_label, rng, position)
    try:
        return _single(_eval(parsed._tree, ctx))
    except _Problem as problem:
        raise _evaluation_error(parsed, problem) from None


def holds(expression: str | Expression, row: Mapping[str, object], **kwargs: Any) -> bool:
    """Whether a condition (``relevant``, ``constraint``, ``required``) holds on a row.

    Parameters
    ----------
    expression : str or Expression
        The condition; the empty expression holds.
    row : Mapping
        Answers by question name.
    **kwargs
        Passed to :func:`evaluate` (``current``, ``today``, ``choice_label``, ``rng``,
        ``position``).

    Returns
    -------
    bool
        XPath ``boolean()`` of the value: non-empty strings and non-zero numbers are true.

    Raises
    ------
    ExpressionError
        As :func:`evaluate`.
    """
    parsed = _as_expression(expression)
    if parsed.is_empty:
        return True
    return _to_bool(evaluate(parsed, row, **kwargs))


# --------------------------------------------------------------------------------------------
# Evaluating a whole frame: numpy arrays per kind of value
# --------------------------------------------------------------------------------------------

_NUM, _STR, _BOOL = 0, 1, 2


class _Vec:
    """The values of a subexpression for every row.

    A uniform vector has one kind (``code`` is an int) and its values in the view of that
    kind. A mixed vector (from ``if``, ``coalesce``, boolean columns with blanks, ...) has a
    kind per row (``code`` is an int8 array) and one uniform component per kind present.
    Views (``num``, ``str``, ``bool``) are computed once, on demand.
    """

    __slots__ = ("_bool", "_num", "_str", "code", "make_str", "nodes", "parts", "size")

    def __init__(
        self,
        code: int | np.ndarray,
        size: int,
        *,
        num: np.ndarray | None = None,
        text: np.ndarray | None = None,
        flag: np.ndarray | None = None,
        make_str: Callable[[], np.ndarray] | None = None,
        parts: dict[int, _Vec] | None = None,
        nodes: np.ndarray | None = None,
    ) -> None:
        self.code = code
        self.size = size
        self._num = num
        self._str = text
        self._bool = flag
        self.make_str = make_str
        self.parts = parts
        self.nodes = nodes  # object array of tuples/values when a column holds repeat lists

    @property
    def uniform(self) -> bool:
        return self.parts is None

    def codes(self) -> np.ndarray:
        if self.uniform:
            return np.full(self.size, self.code, dtype=np.int8)
        return self.code

    def part(self, kind: int) -> _Vec:
        if self.uniform:
            return self if self.code == kind else _filler(kind, self.size)
        return self.parts.get(kind) or _filler(kind, self.size)

    def _mixed(self, view: str) -> np.ndarray:
        out = None
        for kind, part in self.parts.items():
            values = getattr(part, view)()
            if out is None:
                out = values.copy()
            else:
                mask = self.code == kind
                out[mask] = values[mask]
        return out

    def num(self) -> np.ndarray:
        if self._num is None:
            if not self.uniform:
                self._num = self._mixed("num")
            elif self.code == _BOOL:
                self._num = self._bool.astype(float)
            else:
                self._num = _map_strings(self.str(), _parse_number, float)
        return self._num

    def str(self) -> np.ndarray:
        if self._str is None:
            if self.make_str is not None:
                self._str = self.make_str()
            elif not self.uniform:
                self._str = self._mixed("str")
            elif self.code == _BOOL:
                self._str = np.where(self._bool, "true", "false").astype(object)
            else:
                self._str = _map_floats(self._num, _number_to_string)
        return self._str

    def bool(self) -> np.ndarray:
        if self._bool is None:
            if not self.uniform:
                self._bool = self._mixed("bool")
            elif self.code == _NUM:
                with np.errstate(invalid="ignore"):
                    self._bool = np.abs(self._num) > 1e-12
            else:
                self._bool = self.str() != ""
        return self._bool

    def values(self) -> np.ndarray:
        """Python values (str, float, bool) per row, as the row evaluator would hold them."""
        if self.uniform:
            if self.code == _NUM:
                return self.num().astype(object)
            if self.code == _BOOL:
                return self.bool().astype(object)
            return self.str()
        out = np.empty(self.size, dtype=object)
        for kind, part in self.parts.items():
            mask = self.code == kind
            out[mask] = part.values()[mask]
        return out


def _filler(kind: int, size: int) -> _Vec:
    if kind == _NUM:
        return _Vec(_NUM, size, num=np.zeros(size))
    if kind == _BOOL:
        return _Vec(_BOOL, size, flag=np.zeros(size, dtype=bool))
    return _Vec(_STR, size, text=np.full(size, "", dtype=object))


def _constant(value: Any, size: int) -> _Vec:
    if value.__class__ is float:
        return _Vec(_NUM, size, num=np.full(size, value))
    if value.__class__ is bool:
        return _Vec(_BOOL, size, flag=np.full(size, value))
    return _Vec(_STR, size, text=np.full(size, value, dtype=object))


def _map_strings(values: np.ndarray, function: Callable[[str], Any], dtype: Any) -> np.ndarray:
    codes, uniques = pd.factorize(values)
    mapped = np.array([function(text) for text in uniques], dtype=dtype)
    return mapped[codes] if len(mapped) else np.empty(len(values), dtype=dtype)


def _map_floats(values: np.ndarray, function: Callable[[float], str]) -> np.ndarray:
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    codes, uniques = pd.factorize(bits)
    floats = uniques.view(np.float64)
    mapped = np.array([function(float(x)) for x in floats] + [""], dtype=object)
    return mapped[codes]


def _from_values(values: list[Any], size: int) -> _Vec:
    """Build a vector from Python values (one per row)."""
    kinds = {value.__class__ for value in values}
    if kinds <= {float}:
        return _Vec(_NUM, size, num=np.array(values, dtype=float).reshape(size))
    if kinds == {bool}:
        return _Vec(_BOOL, size, flag=np.array(values, dtype=bool))
    if kinds == {str}:
        text = np.empty(size, dtype=object)
        text[:] = values
        return _Vec(_STR, size, text=text)
    code = np.array(
        [_NUM if v.__class__ is float else _BOOL if v.__class__ is bool else _STR for v in values],
        dtype=np.int8,
    )
    parts = {}
    for kind in np.unique(code):
        mask = code == kind
        filled = [
            value if ok else (0.0, "", False)[kind] for value, ok in zip(values, mask, strict=True)
        ]
        parts[int(kind)] = _from_values(filled, size)
    return _Vec(code, size, parts=parts)


def _take(vec: _Vec, indices: np.ndarray) -> _Vec:
    size = len(indices)
    if not vec.uniform:
        return _Vec(
            vec.code[indices],
            size,
            parts={kind: _take(part, indices) for kind, part in vec.parts.items()},
        )
    if vec.code == _NUM:
        return _Vec(_NUM, size, num=vec.num()[indices])
    if vec.code == _BOOL:
        return _Vec(_BOOL, size, flag=vec.bool()[indices])
    return _Vec(_STR, size, text=vec.str()[indices])


def _where(condition: np.ndarray, yes: _Vec, no: _Vec) -> _Vec:
    size = yes.size
    if yes.uniform and no.uniform and yes.code == no.code:
        if yes.code == _NUM:
            return _Vec(_NUM, size, num=np.where(condition, yes.num(), no.num()))
        if yes.code == _BOOL:
            return _Vec(_BOOL, size, flag=np.where(condition, yes.bool(), no.bool()))
        return _Vec(_STR, size, text=np.where(condition, yes.str(), no.str()))
    code = np.where(condition, yes.codes(), no.codes()).astype(np.int8)
    kinds = {int(kind) for kind in np.unique(code)}
    parts = {kind: _where(condition, yes.part(kind), no.part(kind)) for kind in kinds}
    if len(parts) == 1:
        return next(iter(parts.values()))
    return _Vec(code, size, parts=parts)


def _factorize_vec(vec: _Vec) -> tuple[np.ndarray, list[Any]]:
    """Integer codes per row and the distinct Python values they stand for."""
    if vec.uniform:
        if vec.code == _NUM:
            bits = np.ascontiguousarray(vec.num()).view(np.int64)
            codes, uniques = pd.factorize(bits)
            return codes, [float(x) for x in uniques.view(np.float64)]
        if vec.code == _BOOL:
            flags = vec.bool()
            return flags.astype(np.int64), [False, True]
        codes, uniques = pd.factorize(vec.str())
        return codes, list(uniques)
    codes = np.zeros(vec.size, dtype=np.int64)
    values: list[Any] = []
    for kind, part in vec.parts.items():
        part_codes, part_values = _factorize_vec(part)
        mask = vec.code == kind
        codes[mask] = part_codes[mask] + len(values)
        values.extend(part_values)
    return codes, values


def _map_unique(function: Callable[..., Any], args: list[_Vec | np.ndarray], size: int) -> _Vec:
    """Apply a scalar function once per distinct combination of argument values.

    An argument is a vector, or an object array of per-row values (repeat lists).
    """
    if size == 0:
        return _Vec(_STR, 0, text=np.empty(0, dtype=object))
    columns: list[tuple[np.ndarray, list[Any]]] = []
    for arg in args:
        if isinstance(arg, _Vec):
            columns.append(_factorize_vec(arg))
        else:
            columns.append((np.arange(size), list(arg)))
    combined = np.zeros(size, dtype=np.int64)
    for codes, values in columns:
        combined, _ = pd.factorize(combined * (len(values) + 1) + codes)
    order, first = np.unique(combined, return_index=True)
    results = [
        function(*(values[codes[row]] for codes, values in columns)) for row in first.tolist()
    ]
    lookup = np.empty(len(order), dtype=np.int64)
    lookup[order] = np.arange(len(order))
    return _take(_from_values(results, len(results)), lookup[combined])


@dataclass(frozen=True, slots=True)
class _FrameContext:
    frame: pd.DataFrame
    size: int
    current: Any
    today: dt.date | None
    choice_label: Callable[[str, str], str | None] | None
    rng: np.random.Generator | None
    position: Any
    columns: dict[str, _Vec]


def _column_vec(values: pd.Series | np.ndarray | pd.Index, label: str) -> _Vec:
    """Read a column as XPath values, exactly as :func:`_row_value` reads each cell."""
    series = pd.Series(values, copy=False)
    size = len(series)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not series.hasnans:
        return _Vec(_BOOL, size, flag=series.to_numpy(dtype=bool))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.where(np.isinf(numbers), np.nan, numbers) + 0.0
        return _Vec(
            _STR,
            size,
            num=finite,
            flag=~np.isnan(numbers),
            make_str=lambda: _map_floats(numbers, _row_float),
        )
    if pd.api.types.is_string_dtype(dtype) and dtype != np.dtype(object):
        text = series.to_numpy(dtype=object, na_value="")
        return _Vec(_STR, size, text=text)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        mapped = np.array([_moment_text(moment) for moment in uniques] + [""], dtype=object)
        return _Vec(_STR, size, text=mapped[codes])
    cells = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
        missing = pd.isna(cells)
        text = cells.copy()
        text[missing] = ""
        text[text == None] = ""  # noqa: E711 - elementwise
        return _Vec(_STR, size, text=text)
    try:
        converted = [_row_value(cell) for cell in cells]
    except _Problem as problem:
        raise _Problem(f"column {label!r}: {problem}") from None
    if any(value.__class__ is tuple for value in converted):
        nodes = np.empty(size, dtype=object)
        nodes[:] = converted
        vec = _from_values([_single_or_marker(value) for value in converted], size)
        vec.nodes = nodes
        return vec
    return _from_values(converted, size)


_MANY = "\0many"


def _single_or_marker(value: Any) -> Any:
    """Unpack a repeat's answers, marking lists of several (an error only where used as one)."""
    try:
        return _single(value)
    except _Problem:
        return _MANY


def _unpacked(vec: _Vec) -> _Vec:
    if vec.nodes is not None:
        values = vec.values()
        if np.any(values == _MANY):
            _single((1, 2))  # raises the error that the row evaluator raises
    return vec


def _frame_column(ctx: _FrameContext, name: str) -> _Vec:
    vec = ctx.columns.get(name)
    if vec is None:
        if name not in ctx.frame.columns:
            raise _Problem(f"${{{name}}} is not a column of the frame")
        column = ctx.frame[name]
        if isinstance(column, pd.DataFrame):
            raise _Problem(f"the frame has more than one column named {name!r}")
        vec = _column_vec(column, name)
        ctx.columns[name] = vec
    return vec


def _current_vec(ctx: _FrameContext) -> _Vec:
    if ctx.current is None:
        raise _Problem("the expression uses '.', the current answer: pass current=<column>")
    vec = ctx.columns.get("\0current")
    if vec is None:
        vec = _column_vec(ctx.current, "current")
        ctx.columns["\0current"] = vec
    return vec


def _equal_vectors(left: _Vec, right: _Vec) -> np.ndarray:
    def by_bool() -> np.ndarray:
        return left.bool() == right.bool()

    def by_number() -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(left.num() - right.num()) < 1e-12

    def by_text() -> np.ndarray:
        return np.asarray(left.str() == right.str(), dtype=bool)

    if left.uniform and right.uniform:
        if _BOOL in (left.code, right.code):
            return by_bool()
        if _NUM in (left.code, right.code):
            return by_number()
        return by_text()
    lcodes, rcodes = left.codes(), right.codes()
    boolean = (lcodes == _BOOL) | (rcodes == _BOOL)
    numeric = ~boolean & ((lcodes == _NUM) | (rcodes == _NUM))
    textual = ~boolean & ~numeric
    out = np.zeros(left.size, dtype=bool)
    for mask, compare in ((boolean, by_bool), (numeric, by_number), (textual, by_text)):
        if mask.any():
            out[mask] = compare()[mask]
    return out


def _veval(node: Any, ctx: _FrameContext) -> _Vec:
    kind = node.__class__
    size = ctx.size
    if kind is _Binary:
        op = node.op
        left = _unpacked(_veval(node.left, ctx))
        right = _unpacked(_veval(node.right, ctx))
        if op == "and":
            return _Vec(_BOOL, size, flag=left.bool() & right.bool())
        if op == "or":
            return _Vec(_BOOL, size, flag=left.bool() | right.bool())
        if op in ("=", "!="):
            equal = _equal_vectors(left, right)
            return _Vec(_BOOL, size, flag=equal if op == "=" else ~equal)
        a, b = left.num(), right.num()
        with np.errstate(all="ignore"):
            if op in _COMPARE:
                return _Vec(_BOOL, size, flag=_COMPARE[op](a, b))
            result = {
                "+": np.add,
                "-": np.subtract,
                "*": np.multiply,
                "div": np.divide,
                "mod": np.fmod,
            }[op](a, b)
        return _Vec(_NUM, size, num=result)
    if kind is _Ref or kind is _Path:
        return _frame_column(ctx, node.name)
    if kind is _Num or kind is _Str:
        return _constant(node.value, size)
    if kind is _Call:
        return _veval_call(node, ctx)
    if kind is _Current:
        return _current_vec(ctx)
    if kind is _Neg:
        return _Vec(_NUM, size, num=-_unpacked(_veval(node.operand, ctx)).num())
    if kind is _Union:
        return _unsupported("|")()
    raise AssertionError(node)  # pragma: no cover


def _veval_call(node: _Call, ctx: _FrameContext) -> _Vec:
    name, args, size = node.name, node.args, ctx.size
    if name in _CONTEXTUAL:
        if name == "if":
            condition = _unpacked(_veval(args[0], ctx)).bool()
            yes, no = (_unpacked(_veval(arg, ctx)) for arg in args[1:])
            return _where(condition, yes, no)
        if name == "coalesce":
            first, second = (_unpacked(_veval(arg, ctx)) for arg in args)
            return _where(~_null_mask(first), first, second)
        if name == "once":
            current = _unpacked(_current_vec(ctx))
            return _where(current.str() != "", current, _unpacked(_veval(args[0], ctx)))
        if name == "position":
            if ctx.position is None:
                raise _Problem("position() needs repeat context: pass position=<column>")
            return _Vec(_NUM, size, num=_unpacked(_column_vec(ctx.position, "position")).num())
        if name == "today":
            return _constant(_today(ctx.today).isoformat(), size)
        if name == "now":
            return _constant(_now(ctx.today), size)
        if name == "random":
            return _Vec(_NUM, size, num=_need_rng(ctx.rng, "random").random(size))
        if name == "uuid":
            rng = _need_rng(ctx.rng, "uuid")
            lengths = [_unpacked(_veval(arg, ctx)).values() for arg in args]
            return _from_values(
                [_random_uuid(rng, *(column[row] for column in lengths)) for row in range(size)],
                size,
            )
        question = args[1].value
        return _map_unique(
            lambda value: _choice_name(value, question, ctx.choice_label),
            [_unpacked(_veval(args[0], ctx))],
            size,
        )
    if not args and name in ("string-length", "normalize-space"):
        vectors: list[_Vec | np.ndarray] = [_unpacked(_current_vec(ctx))]
    elif name in _NODESET_FUNCTIONS:
        vectors = []
        for index, arg in enumerate(args):
            if name == "indexed-repeat" and index % 2:  # the repeat groups are paths
                vectors.append(_constant("", size))
                continue
            vec = _veval(arg, ctx)
            if name == "indexed-repeat" and index:
                vec = _unpacked(vec)
            vectors.append(vec if vec.nodes is None else vec.nodes)
    else:
        vectors = [_unpacked(_veval(arg, ctx)) for arg in args]
    if name == "count" and isinstance(vectors[0], _Vec):
        return _Vec(_NUM, size, num=np.ones(size))
    return _map_unique(_PURE[name], vectors, size)


def _null_mask(vec: _Vec) -> np.ndarray:
    """JavaRosa ``isNull``: the empty string or NaN."""
    if vec.uniform:
        if vec.code == _NUM:
            return np.isnan(vec.num())
        if vec.code == _BOOL:
            return np.zeros(vec.size, dtype=bool)
        return vec.str() == ""
    out = np.zeros(vec.size, dtype=bool)
    for kind, part in vec.parts.items():
        mask = vec.code == kind
        out[mask] = _null_mask(part)[mask]
    return out


def _aligned(values: str | pd.Series | None, frame: pd.DataFrame, what: str) -> Any:
    if values is None:
        return None
    if isinstance(values, str):
        if values not in frame.columns:
            raise ExpressionError(f"{what}={values!r} is not a column of the frame")
        return frame[values]
    if isinstance(values, pd.Series):
        if not values.index.equals(frame.index):
            raise ExpressionError(f"{what} must have the frame's index")
        return values
    raise ExpressionError(f"{what} must be a column name or a Series; got {type(values).__name__}")


def evaluate_frame(
    expression: str | Expression,
    frame: pd.DataFrame,
    *,
    current: str | pd.Series | None = None,
    today: dt.date | None = None,
    choice_label: Callable[[str, str], str | None] | None = None,
    rng: np.random.Generator | None = None,
    position: str | pd.Series | None = None,
) -> pd.Series:
    """Evaluate an expression on every row of a frame at once.

    Parameters
    ----------
    expression : str or Expression
        The expression, as text or parsed by :func:`parse`.
    frame : pandas.DataFrame
        One row per submission (or repeat instance), one column per question; typed or all
        text.
    current : str or pandas.Series, optional
        The column (name, or a Series on the frame's index) holding the current answer ``.``.
    today : dt.date, optional
        The date of ``today()`` (a ``datetime.datetime`` also fixes ``now()``).
    choice_label : callable, optional
        ``choice_label(question, choice_name)`` for ``jr:choice-name``.
    rng : numpy.random.Generator, optional
        The source of ``random()`` (one draw per row, in row order) and ``uuid()``.
    position : str or pandas.Series, optional
        The 1-based repeat instance of each row, for ``position(..)``.

    Returns
    -------
    pandas.Series
        One value per row on the frame's index: ``float64`` for numbers, ``bool`` for
        booleans, ``object`` (Python ``str``, or mixed values) otherwise. Each value equals
        ``evaluate(expression, row)`` for its row.

    Raises
    ------
    ExpressionError
        If the expression does not parse, references a name that is not a column, or cannot be
        evaluated on some row.

    Notes
    -----
    Operators work on whole columns (numpy); functions run once per distinct combination of
    their argument values, so a function over a column of 5,000 answers with 8 distinct values
    runs 8 times. Unlike the row evaluator, which stops at the branch it takes, both branches of
    ``if``, ``and`` and ``or`` are evaluated, so an error in a branch that no row takes (an
    unparseable date, say) still raises. Cells that hold repeat lists are read one by one.
    """
    parsed = _as_expression(expression)
    if not isinstance(frame, pd.DataFrame):
        raise ExpressionError(f"frame must be a pandas DataFrame; got {type(frame).__name__}")
    size = len(frame)
    if parsed.is_empty:
        return pd.Series(np.full(size, "", dtype=object), index=frame.index, dtype=object)
    missing = sorted(
        {name for name in parsed.references if name not in frame.columns} & _looked_up(parsed._tree)
    )
    if missing:
        shown = ", ".join(f"${{{name}}}" for name in missing)
        raise ExpressionError(
            f"cannot evaluate {parsed.source!r}: {shown} not among the frame's columns"
        )
    ctx = _FrameContext(
        frame,
        size,
        _aligned(current, frame, "current"),
        today,
        choice_label,
        rng,
        _aligned(position, frame, "position"),
        {},
    )
    try:
        vec = _unpacked(_veval(parsed._tree, ctx))
    except _Problem as problem:
        raise _evaluation_error(parsed, problem) from None
    if vec.uniform and vec.code == _NUM:
        return pd.Series(vec.num(), index=frame.index, dtype=float)
    if vec.uniform and vec.code == _BOOL:
        return pd.Series(vec.bool(), index=frame.index, dtype=bool)
    return pd.Series(vec.values(), index=frame.index, dtype=object)


def _looked_up(tree: Any) -> set[str]:
    """Names whose answers an evaluation reads (not the repeat groups of indexed-repeat)."""
    groups = {
        arg
        for node in _walk(tree)
        if isinstance(node, _Call) and node.name == "indexed-repeat"
        for arg in node.args[1::2]
    }
    return {
        node.name
        for node in _walk(tree)
        if isinstance(node, _Ref | _Path) and not any(node is group for group in groups)
    }


def holds_frame(expression: str | Expression, frame: pd.DataFrame, **kwargs: Any) -> pd.Series:
    """Whether a condition holds on every row of a frame.

    Parameters
    ----------
    expression : str or Expression
        The condition; the empty expression holds on every row.
    frame : pandas.DataFrame
        One row per submission, one column per question.
    **kwargs
        Passed to :func:`evaluate_frame`.

    Returns
    -------
    pandas.Series
        Booleans on the frame's index, each equal to :func:`holds` on its row.

    Raises
    ------
    ExpressionError
        As :func:`evaluate_frame`.
    """
    parsed = _as_expression(expression)
    if parsed.is_empty:
        return pd.Series(True, index=frame.index, dtype=bool)
    result = evaluate_frame(parsed, frame, **kwargs)
    if result.dtype == bool:
        return result
    values = result.to_numpy()
    if result.dtype == float:
        return pd.Series(_Vec(_NUM, len(values), num=values).bool(), index=frame.index)
    flags = _from_values(list(values), len(values)).bool() if len(values) else np.zeros(0, bool)
    return pd.Series(flags, index=frame.index, dtype=bool)


# --------------------------------------------------------------------------------------------
# Describing expressions in words
# --------------------------------------------------------------------------------------------

_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}
_WORDS = {
    "en": {
        "or": "or",
        "and": "and",
        "=": "is",
        "!=": "is not",
        "<": "is less than",
        "<=": "is at most",
        ">": "is more than",
        ">=": "is at least",
        "+": "plus",
        "-": "minus",
        "*": "times",
        "div": "divided by",
        "mod": "modulo",
    },
    "zh": {
        "or": "或",
        "and": "且",
        "=": "为",
        "!=": "不为",
        "<": "小于",
        "<=": "小于或等于",
        ">": "大于",
        ">=": "大于或等于",
        "+": "加",
        "-": "减",
        "*": "乘以",
        "div": "除以",
        "mod": "模",
    },
}
# Function phrases: {0}, {1}, ... are the described arguments.
_PHRASES = {
    "en": {
        "count-selected": "the number of options selected in {0}",
        "string-length": "the length of {0}",
        "regex": "{0} matches the pattern {1}",
        "today": "today",
        "now": "now",
        "date": "the date {0}",
        "if": "if {0} then {1}, otherwise {2}",
        "coalesce": "{0}, or {1} if that is empty",
        "contains": "{0} contains {1}",
        "starts-with": "{0} starts with {1}",
        "ends-with": "{0} ends with {1}",
        "sum": "the sum of {0}",
        "count": "the number of {0}",
        "position": "the number of this repeat",
        "jr:choice-name": "the label of {0}",
        "int": "the whole-number part of {0}",
        "abs": "the absolute value of {0}",
        "true": "true",
        "false": "false",
        "once": "{0} (set once)",
        "decimal-date-time": "{0} in days",
        "number": "{0} as a number",
        "string": "{0} as text",
    },
    "zh": {
        "count-selected": "{0}中选择的选项数",
        "string-length": "{0}的长度",
        "regex": "{0}符合格式{1}",
        "today": "今天",
        "now": "现在",
        "date": "日期{0}",
        "if": "如果{0}，则{1}，否则{2}",
        "coalesce": "{0}（为空时取{1}）",
        "contains": "{0}包含{1}",
        "starts-with": "{0}以{1}开头",
        "ends-with": "{0}以{1}结尾",
        "sum": "{0}的总和",
        "count": "{0}的数量",
        "position": "本重复组的序号",
        "jr:choice-name": "{0}的标签",
        "int": "{0}的整数部分",
        "abs": "{0}的绝对值",
        "true": "真",
        "false": "假",
        "once": "{0}（只设定一次）",
        "decimal-date-time": "{0}（以天计）",
        "number": "{0}（作为数字）",
        "string": "{0}（作为文本）",
    },
}
_LOWER_BOUNDS = (">", ">=")
_UPPER_BOUNDS = ("<", "<=")


@dataclass(frozen=True)
class _Speaker:
    language: str
    question_label: Callable[[str], str | None] | None
    choice_label: Callable[[str, str], str | None] | None

    @property
    def zh(self) -> bool:
        return self.language == "zh"

    def quote(self, text: str) -> str:
        return f"“{text}”" if self.zh else f'"{text}"'

    def group(self, text: str) -> str:
        return f"\uff08{text}\uff09" if self.zh else f"({text})"

    def question(self, name: str) -> str:
        label = self.question_label(name) if self.question_label else None
        if not label:
            return name
        return f"{label}\uff08{name}\uff09" if self.zh else f"{label} ({name})"

    def subject_name(self, node: Any) -> str | None:
        return node.name if isinstance(node, _Ref | _Path) else None

    def value(self, node: Any, question: str | None) -> str:
        """Render a literal, as a choice label when it is a choice of ``question``."""
        if isinstance(node, _Str | _Num) and question is not None and self.choice_label:
            text = node.value if isinstance(node, _Str) else node.text
            label = self.choice_label(question, text)
            if label:
                return self.quote(str(label))
        return self.say(node, 9)

    def say(self, node: Any, outer: int = 0) -> str:
        kind = node.__class__
        if kind is _Ref or kind is _Path:
            return self.question(node.name)
        if kind is _Current:
            return "本题答案" if self.zh else "the answer"
        if kind is _Num:
            return node.text
        if kind is _Str:
            return self.quote(node.value)
        if kind is _Neg:
            return ("负" if self.zh else "minus ") + self.say(node.operand, 7)
        if kind is _Union:
            joined = (
                f"{self.say(node.left, 8)}与{self.say(node.right, 8)}"
                if self.zh
                else f"{self.say(node.left, 8)} together with {self.say(node.right, 8)}"
            )
            return self.group(joined) if outer > 8 else joined
        if kind is _Call:
            return self.call(node)
        return self.binary(node, outer)

    def binary(self, node: _Binary, outer: int) -> str:
        op, level = node.op, _PRECEDENCE[node.op]
        words = _WORDS[self.language]
        text = self.range(node) if op == "and" else None
        if text is None and op in ("=", "!="):
            text = self.equality(node)
        if text is None:
            left = self.say(node.left, level)
            right = self.say(node.right, level + 1)  # left-associative
            text = f"{left} {words[op]} {right}"
        return self.group(text) if level < outer else text

    def equality(self, node: _Binary) -> str:
        words = _WORDS[self.language]
        left, right = node.left, node.right
        if isinstance(left, _Str | _Num) and not isinstance(right, _Str | _Num):
            left, right = right, left
        subject = self.say(left, 4)
        if isinstance(right, _Str) and right.value == "":
            empty = {"=": ("为空", "is empty"), "!=": ("不为空", "is not empty")}[node.op]
            return f"{subject}{empty[0]}" if self.zh else f"{subject} {empty[1]}"
        value = self.value(right, self.subject_name(left))
        if isinstance(right, _Str | _Num) and self.zh:
            return f"{subject}{words[node.op]}{value}"
        if self.zh:
            return f"{subject} {words[node.op]} {value}"
        return f"{subject} {words[node.op]} {value}"

    def range(self, node: _Binary) -> str | None:
        """``X >= a and X <= b`` as "X is between a and b"."""
        left, right = node.left, node.right
        if not (isinstance(left, _Binary) and isinstance(right, _Binary)):
            return None
        if left.op in _UPPER_BOUNDS and right.op in _LOWER_BOUNDS:
            left, right = right, left
        if not (left.op in _LOWER_BOUNDS and right.op in _UPPER_BOUNDS and left.left == right.left):
            return None
        words = _WORDS[self.language]
        subject = self.say(left.left, 5)
        low, high = self.say(left.right, 5), self.say(right.right, 5)
        if left.op == ">=" and right.op == "<=":
            return (
                f"{subject} 在 {low} 到 {high} 之间"
                if self.zh
                else (f"{subject} is between {low} and {high}")
            )
        if self.zh:
            return f"{subject} {words[left.op]} {low} 且{words[right.op]} {high}"
        return f"{subject} {words[left.op]} {low} and {words[right.op][3:]} {high}"

    def call(self, node: _Call) -> str:
        name, args = node.name, node.args
        if name == "not" and isinstance(args[0], _Call) and args[0].name == "selected":
            return self.selected(args[0], negated=True)
        if name == "selected":
            return self.selected(node, negated=False)
        if name == "not":
            inner = self.say(args[0])
            return f"并非{self.group(inner)}" if self.zh else f"not {self.group(inner)}"
        if name in ("string-length", "normalize-space") and not args:
            args = (_Current(),)
        phrase = _PHRASES[self.language].get(name)
        if name == "position" or phrase is None or phrase.count("{") < len(args):
            phrase = None if name != "position" else phrase
        described = [self.say(arg, 1) for arg in args]
        if name == "jr:choice-name":
            described = described[:1]
        if phrase is not None:
            return phrase.format(*described)
        return f"{name}({', '.join(described)})"

    def selected(self, node: _Call, *, negated: bool) -> str:
        subject, choice = node.args
        question = self.subject_name(subject)
        where = self.say(subject, 9)
        value = self.value(choice, question)
        if self.zh:
            return f"{where}中{'未' if negated else ''}选择{'' if negated else '了'}{value}"
        return f"{value} is {'not ' if negated else ''}selected in {where}"


def describe(
    expression: str | Expression,
    *,
    language: str = "en",
    question_label: Callable[[str], str | None] | None = None,
    choice_label: Callable[[str, str], str | None] | None = None,
) -> str:
    """Render an expression in words, for codebooks and printed questionnaires.

    Parameters
    ----------
    expression : str or Expression
        The expression, for example a ``relevant`` or a ``constraint``.
    language : {'en', 'zh'}
        English or Chinese.
    question_label : callable, optional
        ``question_label(name)`` gives a question's label in ``language`` (``None`` when
        unknown, then the bare name is used).
    choice_label : callable, optional
        ``choice_label(question, choice_name)`` gives a choice's label in ``language``; it is
        used for the literal compared with a question (``${sex} = 2``) or tested by
        ``selected()``.

    Returns
    -------
    str
        The expression in words, for example ``Sex (dem_sex) is "Female" and Age (age) is at
        least 16`` or ``性别（dem_sex）为“女” 且 年龄（age） 大于或等于 16``. Ranges
        (``. >= 0 and . <= 100``) read "the answer is between 0 and 100"; anything else is
        rendered term by term (operators in words, other functions by name), never dropping a
        term. The empty expression gives ``''``.

    Raises
    ------
    ExpressionError
        If the expression does not parse.
    ValueError
        If ``language`` is not ``'en'`` or ``'zh'``.
    """
    if language not in _WORDS:
        raise ValueError(f"language must be 'en' or 'zh'; got {language!r}")
    parsed = _as_expression(expression)
    if parsed.is_empty:
        return ""
    return _Speaker(language, question_label, choice_label).say(parsed._tree)


# --------------------------------------------------------------------------------------------
# Dependencies between questions
# --------------------------------------------------------------------------------------------


def dependency_graph(expressions: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Which questions each question's expressions reference.

    Parameters
    ----------
    expressions : Mapping of str to iterable of str
        For each question, the expressions whose cycles matter (its ``relevant`` and
        ``calculation``, typically; a single string is one expression).

    Returns
    -------
    dict of str to frozenset of str
        For each question, the names its expressions reference (``${name}``).

    Raises
    ------
    ExpressionError
        If an expression does not parse; the message names the question.
    """
    graph: dict[str, frozenset[str]] = {}
    for name, sources in expressions.items():
        referenced: set[str] = set()
        for source in [sources] if isinstance(sources, str) else sources:
            try:
                referenced |= parse(source).references
            except ExpressionError as error:
                raise ExpressionError(f"question {name!r}: {error}") from None
        graph[name] = frozenset(referenced)
    return graph


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Find a cycle of references, such as two questions each relevant on the other.

    Parameters
    ----------
    graph : Mapping of str to iterable of str
        The names each name depends on, as from :func:`dependency_graph`; names that are not
        keys have no dependencies.

    Returns
    -------
    list of str or None
        A cycle as the path that closes it, ``['a', 'b', 'a']`` (``['a', 'a']`` for a
        question that references itself), or ``None`` when there is none. The search visits
        names in sorted order, so the answer is deterministic.
    """
    unvisited, active, done = 0, 1, 2
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start, unvisited) != unvisited:
            continue
        state[start] = active
        path = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            for child in stack[-1]:
                seen = state.get(child, unvisited)
                if seen == active:
                    return [*path[path.index(child) :], child]
                if seen == unvisited:
                    state[child] = active
                    path.append(child)
                    stack.append(iter(sorted(graph.get(child, ()))))
                    break
            else:
                state[path.pop()] = done
                stack.pop()
    return None
