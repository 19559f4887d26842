"""Simulated respondents: answer any instrument so that every answer obeys it.

:func:`answer_instrument` fills a form for many submissions at once, question by question in
form order, the way a data-collection app would: a question is asked only where its skip logic
(and every enclosing group's) holds; an answer is drawn from the question's type, choice list
(with its ``choice_filter``), range, regular-expression constraint and special codes, then redrawn
until the question's full constraint holds (``evaluation.instruments.model.full_constraint``
through the expression evaluator); calculations (and the ``calculation`` of a read-only input
such as a select pre-filled from the sample frame) are evaluated; ``pulldata()`` reads the form's
attached CSV files, as ODK Collect, Enketo and SurveyCTO do; repeats get their
``repeat_count`` instances and ``position(..)``. Values the data-generating process decides
(``fixed``) are used where the form asks the question, and checked like any answer; every
disagreement is counted in a note.

:func:`check_responses` re-reads finished responses with the evaluator alone and lists every
violation: the test of "clean" data is that it finds none.

Notes
-----
Answers are text, as forms store them: select codes as their choice names (a select_multiple's
codes space-separated), numbers without trailing zeros, ``""`` for unanswered. Columns share one
string object per distinct value, so a 50,000-row table costs a pointer per cell.

The engine works on a store of columns (one object array per question) and builds, for each
expression, a frame of only the columns the expression reads: each question costs a few
vectorised evaluations over all submissions, never a loop over respondents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.instruments.expressions import evaluate_frame, holds_frame, parse
from evaluation.instruments.model import (
    FILE_SELECT_TYPES,
    Instrument,
    Question,
    full_constraint,
)

__all__ = [
    "EngineNote",
    "EngineOptions",
    "Responses",
    "SimulationError",
    "Table",
    "answer_instrument",
    "check_responses",
    "join_codes",
    "pulldata_columns",
    "sample_regex",
]


class SimulationError(ValueError):
    """The engine cannot produce an answer the form accepts; the message names the question."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How the simulated respondents answer questions the data-generating process leaves open.

    Attributes
    ----------
    dont_know_rate, refused_rate, not_applicable_rate : float
        Probability of each special code where a question offers it.
    max_repeats : int
        Most instances of a repeat without ``repeat_count``.
    max_tries : int
        Redraws of answers that fail a constraint before falling back.
    today : datetime.date
        The date of ``today()`` in expressions and of generic dates.
    """

    dont_know_rate: float = 0.02
    refused_rate: float = 0.01
    not_applicable_rate: float = 0.0
    max_repeats: int = 3
    max_tries: int = 40
    today: dt.date = dt.date(2025, 3, 3)


@dataclass(frozen=True, slots=True)
class EngineNote:
    """A counted note about the answering (``fixed`` values the form did not take...).

    Attributes
    ----------
    question : str
        The variable.
    kind : str
        ``absent`` (a fixed variable the form does not have), ``blank_relevant`` (the form asks
        but the process gave no value: a generic answer was drawn), ``skipped_by_logic`` (the
        process gave a value the skip logic drops), ``invalid`` (a fixed value the form refuses:
        redrawn), ``calculation`` (a fixed value that differs from the form's calculation),
        ``fallback`` (no valid draw: a special code or blank used).
    count : int
        Rows concerned.
    """

    question: str
    kind: str
    count: int

    def __str__(self) -> str:
        """Return the note as one line."""
        return f"{self.question}: {self.kind} ({self.count} rows)"


@dataclass(frozen=True, slots=True)
class Table:
    """One table of answers: the main table or one repeat.

    Attributes
    ----------
    name : str
        ``"main"`` or the repeat's name.
    parent : str or None
        The parent table's name (``None`` for the main table).
    data : pandas.DataFrame
        One row per submission (main) or repeat instance; repeats start with ``_parent`` (the
        parent row's position, 0-based) and ``_position`` (1-based instance number); then one
        text column per question of the table, in form order.
    """

    name: str
    parent: str | None
    data: pd.DataFrame


@dataclass(frozen=True, slots=True)
class Responses:
    """Simulated answers to one instrument.

    Attributes
    ----------
    instrument : Instrument
        The form answered.
    tables : tuple of Table
        The main table first, then each repeat in form order.
    notes : tuple of EngineNote
        Counted notes, sorted.
    """

    instrument: Instrument
    tables: tuple[Table, ...]
    notes: tuple[EngineNote, ...]

    @property
    def main(self) -> pd.DataFrame:  # numpydoc ignore=RT01
        """The main table."""
        return self.tables[0].data

    def table(self, name: str) -> Table:
        """Return a table by name.

        Parameters
        ----------
        name : str
            ``"main"`` or a repeat's name.

        Returns
        -------
        Table
            The table.

        Raises
        ------
        KeyError
            When there is no such table.
        """
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"no table {name!r}; tables: {[t.name for t in self.tables]}")

    def replace_tables(self, tables: tuple[Table, ...]) -> Responses:
        """Return the same responses with other tables (same names and order).

        Parameters
        ----------
        tables : tuple of Table
            The new tables.

        Returns
        -------
        Responses
            A new value.
        """
        return Responses(self.instrument, tables, self.notes)


# --------------------------------------------------------------------------------------------
# Value helpers
# --------------------------------------------------------------------------------------------

_NO_VALUE_TYPES = frozenset({"note", "hidden", "trigger"})
_CONTAINERS = ("repeat", "loop")


def _blank(n: int) -> np.ndarray:
    return np.full(n, "", dtype=object)


def _format_number(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if np.isnan(value) or np.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return "" if value is None else str(value)


def _as_text(values: pd.Series) -> np.ndarray:
    """Return evaluation results as form text (one string object per distinct value)."""
    codes, uniques = pd.factorize(pd.Series(values.to_numpy(dtype=object), dtype=object))
    pool = np.array([_format_number(u) for u in uniques] + [""], dtype=object)
    return pool[codes]


def _pool(values: np.ndarray) -> np.ndarray:
    """Share one (Python ``str``) object per distinct value."""
    if len(values) == 0:
        return values.astype(object)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    pool = np.array([str(u) for u in uniques] + [""], dtype=object)
    return pool[codes]


def _frame(columns: Mapping[str, np.ndarray], size: int) -> pd.DataFrame:
    """Return the columns as one object frame (text kept as Python ``str``, no inference)."""
    return pd.DataFrame(dict(columns), index=pd.RangeIndex(size), dtype=object, copy=False)


def _table_frame(numbers: Mapping[str, np.ndarray], text: Mapping[str, np.ndarray], size: int):
    """Return a table's data: integer engine columns first, then the text answers."""
    frame = _frame(text, size)
    for k, (name, values) in enumerate(numbers.items()):
        frame.insert(k, name, np.asarray(values, dtype=np.int64))
    return frame


def _suffixed(stamps: np.ndarray, suffix: str) -> np.ndarray:
    """Append a suffix to every string (vectorised)."""
    return np.char.add(np.asarray(stamps, dtype=str), suffix).astype(object)


_CLASS = re.compile(r"\[([^\]]+)\]|\\d|\\w|\\.|.")
_QUANT = re.compile(r"\{(\d+)(?:,(\d+))?\}|[?+*]")


def _class_chars(token: str) -> str:
    shorthand = {r"\d": "0123456789", r"\w": "abcdefghijklmnopqrstuvwxyz0123456789"}
    if token in shorthand:
        return shorthand[token]
    if token.startswith("\\") and len(token) == 2:
        return token[1]
    if not (token.startswith("[") and token.endswith("]")):
        return token
    body = token[1:-1]
    if body.startswith("^"):
        raise SimulationError(f"negated class {token!r} is not supported by the sampler")
    chars = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        elif body[i] == "\\" and i + 1 < len(body):
            chars.append("0123456789" if body[i + 1] == "d" else body[i + 1])
            i += 2
        else:
            chars.append(body[i])
            i += 1
    return "".join(chars)


def sample_regex(pattern: str, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw strings that fully match a simple regular expression.

    Parameters
    ----------
    pattern : str
        A pattern made of literals, classes (``[A-Z]``, ``[0-9]``, ``\\d``, ``\\w``) and
        quantifiers (``{n}``, ``{n,m}``, ``?``, ``+``, ``*``), optionally anchored with ``^``
        and ``$``; alternation and groups are not supported.
    n : int
        How many strings.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``n`` matching strings (object array).

    Raises
    ------
    SimulationError
        When the pattern uses a construct the sampler does not support.
    """
    body = pattern.removeprefix("^")
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body
    if any(c in body for c in "()|"):
        raise SimulationError(f"pattern {pattern!r}: groups and alternation are not supported")
    pieces = np.full(n, "", dtype=str)
    position = 0
    while position < len(body):
        match = _CLASS.match(body, position)
        assert match is not None  # the pattern matches any character
        chars = _class_chars(match.group(0))
        position = match.end()
        low = high = 1
        quant = _QUANT.match(body, position)
        if quant is not None:
            text = quant.group(0)
            low, high = {"?": (0, 1), "+": (1, 3), "*": (0, 3)}.get(
                text,
                (int(quant.group(1) or 0), int(quant.group(2) or quant.group(1) or 0)),
            )
            position = quant.end()
        counts = rng.integers(low, high + 1, n)
        alphabet = np.array(list(chars), dtype="<U1")
        width = int(counts.max()) if n else 0
        if width == 0:
            continue
        grid = alphabet[rng.integers(0, len(alphabet), (n, width))]
        grid[np.arange(width)[None, :] >= counts[:, None]] = ""
        # Rows of one-character cells read as one string each (trailing blanks drop out).
        joined = np.ascontiguousarray(grid).view(f"<U{width}").reshape(n)
        pieces = np.char.add(pieces, joined)
    return pieces.astype(object)


_REGEX_CALL = re.compile(r"regex\(\s*\.\s*,\s*(['\"])(.*?)\1\s*\)")
_EQUALS_REF = re.compile(r"^\s*\.\s*=\s*\$\{(\w+)\}\s*$")
_PULLDATA = re.compile(
    r"pulldata\(\s*(['\"])([^'\"]+)\1\s*,\s*(['\"])([^'\"]+)\3\s*,\s*(['\"])([^'\"]+)\5\s*,"
    r"\s*\$\{(\w+)\}\s*\)"
)


# --------------------------------------------------------------------------------------------
# External data: pulldata() and file attachments
# --------------------------------------------------------------------------------------------


def _attachment(name: str, attachments: Mapping[str, pd.DataFrame], question: str) -> pd.DataFrame:
    for candidate in (name, f"{name}.csv"):
        if candidate in attachments:
            return attachments[candidate]
    raise SimulationError(
        f"question {question!r} reads {name!r} (pulldata or select from file), which was not "
        f"passed in attachments (have: {sorted(attachments)})"
    )


def pulldata_columns(
    expression: str,
    columns: Mapping[str, np.ndarray],
    attachments: Mapping[str, pd.DataFrame],
    question: str = "",
) -> tuple[str, dict[str, np.ndarray]]:
    """Replace ``pulldata()`` calls by columns looked up in the form's attached CSV files.

    Parameters
    ----------
    expression : str
        An expression that may call ``pulldata('file', 'column', 'key column', ${ref})``.
    columns : Mapping of str to numpy.ndarray
        The answers, by question name (``ref`` is looked up here).
    attachments : Mapping of str to pandas.DataFrame
        The attached files by name (``roster.csv`` or ``roster``).
    question : str, optional
        The question the expression belongs to, for messages.

    Returns
    -------
    str
        The expression with each call replaced by ``${_pulldata_<k>}``.
    dict
        The looked-up columns (text; ``""`` where the key is not in the file, as ODK returns).

    Raises
    ------
    SimulationError
        When the file or one of its columns is missing, or a ``pulldata`` call has a form the
        engine does not read (the key must be one ``${reference}``).

    Notes
    -----
    As in ODK Collect, the first row whose key column equals the value is used.
    """
    pulled: dict[str, np.ndarray] = {}

    def replace(match: re.Match) -> str:  # numpydoc ignore=GL08
        table = _attachment(match.group(2), attachments, question)
        value, key, ref = match.group(4), match.group(6), match.group(7)
        missing = [c for c in (value, key) if c not in table.columns]
        if missing:
            raise SimulationError(
                f"question {question!r}: pulldata file {match.group(2)!r} lacks columns {missing}"
            )
        first = table.drop_duplicates(key, keep="first")
        index = pd.Index(first[key].astype(str).to_numpy(dtype=object))
        found = index.get_indexer(pd.Series(columns[ref], dtype=object).astype(str))
        looked = first[value].astype(str).to_numpy(dtype=object)
        name = f"_pulldata_{len(pulled)}"
        pulled[name] = np.where(found >= 0, looked[np.maximum(found, 0)], "").astype(object)
        return "${" + name + "}"

    text = _PULLDATA.sub(replace, expression)
    if "pulldata(" in text:
        raise SimulationError(
            f"question {question!r}: pulldata() must read one ${{reference}} as its key: "
            f"{expression!r}"
        )
    return text, pulled


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

#: Columns the engine keeps beside the answers: row of ``fixed``, main row of a repeat
#: instance, instance number.
_ENGINE_COLUMNS = ("_row", "_parent_main", "_position")
_POSITION_BASE = 1_000_000


@dataclass
class _Context:
    instrument: Instrument
    fixed: Mapping[str, np.ndarray]
    repeat_fixed: Mapping[str, pd.Series]
    rng: np.random.Generator
    attachments: Mapping[str, pd.DataFrame]
    options: EngineOptions
    notes: Counter
    tables: list[Table]
    referenced: frozenset[str] = frozenset()
    choice_frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def note(self, question: str, kind: str, count: int) -> None:
        if count:
            self.notes[(question, kind)] += int(count)


_EXPRESSION_FIELDS = ("relevant", "constraint", "calculation", "choice_filter", "repeat_count")


def _prepared(
    q: Question, columns: Mapping[str, np.ndarray], ctx: _Context
) -> tuple[Question, pd.DataFrame]:
    """Resolve ``pulldata`` in a question; return it with a frame of the columns it reads.

    The frame holds the referenced answers, the looked-up ``pulldata`` columns and the engine
    columns, on a 0-based index (one row per row of ``columns``).
    """
    pulled: dict[str, np.ndarray] = {}
    changes = {}
    for name in _EXPRESSION_FIELDS:
        text = getattr(q, name)
        if text and "pulldata(" in text:
            rewritten, extra = pulldata_columns(text, columns, ctx.attachments, q.name)
            # Keep the names of every call distinct across fields.
            for old in sorted(extra, reverse=True):
                new = f"{old}_{name}"
                rewritten = rewritten.replace("${" + old + "}", "${" + new + "}")
                pulled[new] = extra[old]
            changes[name] = rewritten
    prepared = q.replace(**changes) if changes else q
    names = set(_ENGINE_COLUMNS) | {"start"}
    for name in _EXPRESSION_FIELDS:
        text = getattr(prepared, name)
        if text:
            names |= parse(text).references
    data = {c: columns[c] for c in sorted(names) if c in columns}
    data.update(pulled)
    size = len(next(iter(columns.values()))) if columns else 0
    return prepared, _frame(data, size)


def _kwargs(frame: pd.DataFrame, ctx: _Context) -> dict:
    kwargs = {"today": ctx.options.today}
    if "_position" in frame.columns:
        kwargs["position"] = "_position"
    return kwargs


def _holds(expression: str | None, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    if not expression:
        return np.ones(len(frame), dtype=bool)
    return holds_frame(expression, frame, **_kwargs(frame, ctx)).to_numpy(dtype=bool)


def _special_values(q: Question, ctx: _Context) -> list[tuple[str, float]]:
    """Return the special codes a question accepts, with their rates."""
    rates = {
        "dont_know": ctx.options.dont_know_rate,
        "refused": ctx.options.refused_rate,
        "not_applicable": ctx.options.not_applicable_rate,
    }
    codes = {c.key: str(c.value) for c in ctx.instrument.special_codes}
    if q.list_name is not None and q.type in ("select_one", "select_multiple"):
        choices = ctx.instrument.choice_list(q.list_name).choices
        return [(c.name, rates.get(c.special, 0.0)) for c in choices if c.special]
    return [(codes[k], rates.get(k, 0.0)) for k in q.special if k in codes]


def _apply_specials(values: np.ndarray, q: Question, ctx: _Context) -> np.ndarray:
    n = len(values)
    u = ctx.rng.random(n)
    cumulative = 0.0
    out = values.copy()
    for code, rate in _special_values(q, ctx):
        hit = (u >= cumulative) & (u < cumulative + rate)
        out[hit] = code
        cumulative += rate
    return out


def _choices_frame(q: Question, ctx: _Context) -> pd.DataFrame:
    """Return a select's options as a frame: name, special key, exclusive flag, extra columns."""
    key = f"{q.type} {q.list_name}"
    if key in ctx.choice_frames:
        return ctx.choice_frames[key]
    if q.type in FILE_SELECT_TYPES:
        frame = _attachment(q.list_name or "", ctx.attachments, q.name).astype(object).copy()
        frame["name"] = frame["name"].astype(str)
        frame["_special"] = ""
        frame["_exclusive"] = False
        frame = frame.reset_index(drop=True)
    else:
        rows = []
        for c in ctx.instrument.choice_list(q.list_name).choices:
            row = dict(c.extra)
            row.update(
                name=c.name, _special=c.special or "", _exclusive=c.exclusive or bool(c.special)
            )
            rows.append(row)
        frame = pd.DataFrame(rows, dtype=object)
    ctx.choice_frames[key] = frame
    return frame


_REF = re.compile(r"\$\{(\w+)\}")


def _allowed(q: Question, choices: pd.DataFrame, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    """Boolean (rows x choices): which options each row may choose (the choice filter).

    In a choice filter a bare name is a column of the choices and ``${name}`` an answer; both
    may be called the same (``city = ${city}``), so answers enter as ``_answer_<name>``. The
    filter is evaluated once per distinct combination of the answers it reads.
    """
    n = len(frame)
    if not q.choice_filter:
        return np.ones((n, len(choices)), dtype=bool)
    refs = sorted(parse(q.choice_filter).references)
    missing = [r for r in refs if r not in frame.columns]
    if missing:
        raise SimulationError(f"choice_filter of {q.name!r} references unknown {missing}")
    expression = _REF.sub(lambda m: "${_answer_" + m.group(1) + "}", q.choice_filter)
    if refs:
        codes = frame.groupby(refs, sort=False, dropna=False).ngroup().to_numpy()
    else:
        codes = np.zeros(n, dtype=int)
    groups = int(codes.max()) + 1 if n else 0
    first = np.full(groups, -1)
    first[codes[::-1]] = np.arange(n)[::-1]
    patterns = np.zeros((groups, len(choices)), dtype=bool)
    for k in range(groups):
        row = frame.iloc[int(first[k])]
        probe = choices.assign(**{f"_answer_{r}": row[r] for r in refs})
        patterns[k] = _holds(expression, probe, ctx)
    return patterns[codes] if n else np.zeros((0, len(choices)), dtype=bool)


def _pick(allowed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One allowed column index per row, uniformly (-1 when none is allowed)."""
    weights = allowed * rng.random(allowed.shape)
    pick = weights.argmax(axis=1)
    return np.where(allowed.any(axis=1), pick, -1)


def _generic(q: Question, frame: pd.DataFrame, ctx: _Context, attempt: int = 0) -> np.ndarray:
    """Draw answers for every row of ``frame`` (the rows where ``q`` is asked).

    Redraws (``attempt`` > 0) of numbers narrow the range towards its low end on even attempts
    and its high end on odd ones, so that constraints relating the answer to another one
    (``. <= ${income}``) are met in a few tries.
    """
    n = len(frame)
    rng = ctx.rng
    if n == 0:
        return _blank(0)
    kind = q.type
    if kind in _NO_VALUE_TYPES:
        return _blank(n)
    if kind == "acknowledge":
        return np.full(n, "OK", dtype=object)
    if q.calculation and (kind == "calculate" or q.asks_respondent):
        return _as_text(evaluate_frame(q.calculation, frame, **_kwargs(frame, ctx)))
    if kind in ("select_one", "select_multiple", "rank") or kind in FILE_SELECT_TYPES:
        return _select(q, frame, ctx)
    if kind in ("integer", "decimal", "range"):
        return _apply_specials(_number(q, n, rng, attempt), q, ctx)
    if kind == "text":
        return _apply_specials(_text(q, frame, n, rng), q, ctx)
    return _metadata_or_media(q, frame, n, ctx)


def _select(q: Question, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    rng = ctx.rng
    n = len(frame)
    choices = _choices_frame(q, ctx)
    allowed = _allowed(q, choices, frame, ctx)
    names = choices["name"].to_numpy(dtype=object)
    regular = ~choices["_exclusive"].to_numpy(dtype=bool)
    special = choices["_special"].to_numpy() != ""
    if q.type in ("select_one", "select_one_from_file"):
        pick = _pick(allowed & ~special[None, :], rng)
        values = np.where(pick >= 0, names[np.maximum(pick, 0)], "").astype(object)
        return _pool(_apply_specials(values, q, ctx)) if special.any() else _pool(values)
    if q.type == "rank":
        order = np.argsort(rng.random((n, len(names))), axis=1)
        return _pool(np.array([" ".join(names[row]) for row in order], dtype=object))
    # select_multiple: regular options independently, sometimes an exclusive option alone.
    p = min(0.5, 2.0 / max(1, regular.sum()))
    chosen = (rng.random((n, len(names))) < p) & allowed & regular[None, :]
    exclusive = allowed & (~regular[None, :]) & (~special[None, :])
    alone = _pick(exclusive, rng)
    use_alone = (alone >= 0) & ((rng.random(n) < 0.1) | ~chosen.any(axis=1))
    fallback = _pick(allowed & regular[None, :], rng)
    empty = ~chosen.any(axis=1) & ~use_alone & (fallback >= 0)
    chosen[np.flatnonzero(empty), fallback[empty]] = True
    chosen[use_alone] = False
    parts = join_codes(chosen, names)
    parts[use_alone] = names[alone[use_alone]]
    return _pool(_apply_specials(parts, q, ctx)) if special.any() else _pool(parts)


def join_codes(chosen: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Space-joined codes of a select_multiple from a boolean (rows x options) matrix.

    Parameters
    ----------
    chosen : numpy.ndarray of bool
        One row per answer, one column per option (in list order).
    codes : numpy.ndarray
        The option codes.

    Returns
    -------
    numpy.ndarray
        Object array of text (``""`` where nothing is chosen), codes in list order.
    """
    n = len(chosen)
    if n == 0:
        return _blank(0)
    # One string per distinct pattern of choices.
    patterns, inverse = np.unique(np.packbits(chosen, axis=1), axis=0, return_inverse=True)
    bits = np.unpackbits(patterns, axis=1, count=chosen.shape[1]).astype(bool)
    texts = np.array([" ".join(str(c) for c in np.asarray(codes)[row]) for row in bits], object)
    return texts[inverse.reshape(-1)]


def _bounds(q: Question) -> tuple[float, float]:
    if q.type == "range" and q.parameters:
        params = dict(
            item.split("=", 1) for item in q.parameters.replace(";", " ").split() if "=" in item
        )
        return float(params.get("start", 0)), float(params.get("end", 10))
    if q.value_range is not None:
        return q.value_range
    return (0.0, 100.0)


def _number(q: Question, n: int, rng: np.random.Generator, attempt: int = 0) -> np.ndarray:
    """Numbers in the question's range: uniform, or skewed towards the low end for counts.

    A count over a wide range (``[0, 300]`` applications) is drawn as ``low + (high - low)
    u^4`` so that most answers are small, as counts are; years and narrow ranges are uniform.
    """
    low, high = _bounds(q)
    if attempt:
        width = (high - low) * 0.5 ** ((attempt + 1) // 2)
        low, high = (low, low + width) if attempt % 2 == 0 else (high - width, high)
    if q.soft_range is not None and not attempt:
        soft_low, soft_high = max(low, q.soft_range[0]), min(high, q.soft_range[1])
        use_soft = rng.random(n) < 0.95
    else:
        soft_low, soft_high, use_soft = low, high, np.zeros(n, bool)
    lo = np.where(use_soft, soft_low, low)
    hi = np.where(use_soft, soft_high, high)
    u = rng.random(n)
    count_like = q.type == "integer" and high - low > 60 and low < 1000
    if count_like and q.soft_range is None:
        u = u**4
    if q.type == "decimal":
        values = np.round(lo + (hi - lo) * u, 1)
        return _pool(np.array([_format_number(float(v)) for v in values], dtype=object))
    lo, hi = np.ceil(lo), np.floor(hi)
    values = np.minimum(np.floor(lo + (hi - lo + 1) * u), hi).astype(np.int64)
    return _pool(values.astype(str).astype(object))


_WORDS = np.array(["无", "其他", "见备注", "不清楚", "一般", "已说明"], dtype=object)


def _text(q: Question, frame: pd.DataFrame, n: int, rng: np.random.Generator) -> np.ndarray:
    constraint = q.constraint or ""
    match = _EQUALS_REF.match(constraint)
    if match and match.group(1) in frame.columns:
        return frame[match.group(1)].to_numpy(dtype=object).copy()
    regex = _REGEX_CALL.search(constraint)
    if regex:
        return sample_regex(regex.group(2), n, rng)
    return _WORDS[rng.integers(0, len(_WORDS), n)]


def _moments(frame: pd.DataFrame, n: int, ctx: _Context) -> np.ndarray:
    """Interview start times: the ``start`` answer where there is one, else a working hour."""
    if "start" in frame.columns:
        text = frame["start"].to_numpy(dtype=object)
        parsed = pd.to_datetime(pd.Series(text).str.slice(0, 19), errors="coerce").to_numpy()
        if not pd.isna(parsed).any():
            return parsed.astype("datetime64[s]")
    base = np.datetime64(ctx.options.today, "s")
    return base + ctx.rng.integers(9 * 3600, 17 * 3600, n).astype("timedelta64[s]")


def _metadata_or_media(q: Question, frame: pd.DataFrame, n: int, ctx: _Context) -> np.ndarray:
    rng = ctx.rng
    kind = q.type
    moments = _moments(frame, n, ctx)
    stamp = np.datetime_as_string(moments, unit="s")
    if kind in ("start", "dateTime"):
        return _suffixed(stamp, ".000+08:00")
    if kind == "end":
        later = moments + rng.integers(20 * 60, 50 * 60, n).astype("timedelta64[s]")
        return _suffixed(np.datetime_as_string(later, unit="s"), ".000+08:00")
    if kind in ("today", "date"):
        return _pool(np.datetime_as_string(moments.astype("datetime64[D]")).astype(object))
    if kind == "time":
        chars = np.asarray(stamp, dtype="<U19").view("<U1").reshape(n, 19)
        clock = np.ascontiguousarray(chars[:, 11:]).view("<U8").reshape(n)
        return _suffixed(clock, ".000+08:00")
    if kind == "deviceid":
        return sample_regex("collect:[A-Za-z0-9]{16}", n, rng)
    if kind == "username":
        return np.full(n, "enumerator", dtype=object)
    if kind == "email":
        return np.full(n, "enumerator@example.org", dtype=object)
    if kind == "audit":
        return np.full(n, "audit.csv", dtype=object)
    if kind in ("geopoint", "start-geopoint"):
        parts = [
            np.char.mod("%.6f", rng.uniform(22.0, 41.0, n)),
            np.char.mod("%.6f", rng.uniform(104.0, 121.0, n)),
            np.char.mod("%.1f", rng.uniform(0, 300, n)),
            np.char.mod("%.1f", rng.uniform(3, 20, n)),
        ]
        text = parts[0]
        for part in parts[1:]:
            text = np.char.add(np.char.add(text, " "), part)
        return text.astype(object)
    if kind in ("geotrace", "geoshape"):
        lat, lon = rng.uniform(22.0, 41.0, n), rng.uniform(104.0, 121.0, n)
        points = []
        for k in range(4):
            point = np.char.add(np.char.mod("%.6f", lat + k * 0.001), " ")
            points.append(np.char.add(np.char.add(point, np.char.mod("%.6f", lon)), " 0.0 0.0"))
        text = points[0]
        for point in points[1:]:
            text = np.char.add(np.char.add(text, ";"), point)
        return text.astype(object)
    if kind == "barcode":
        return sample_regex("[0-9]{12}", n, rng)
    if kind in ("image", "audio", "video", "file", "background-audio"):
        extension = {"image": "jpg", "audio": "m4a", "video": "mp4"}.get(kind, "bin")
        return _suffixed(sample_regex("1[0-9]{12}", n, rng), f".{extension}")
    return _blank(n)  # subscriberid, simserial, phonenumber: not available on recent Android


def _valid(q: Question, values: np.ndarray, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    """Whether each value passes the question's full constraint (blank answers pass)."""
    constraint = full_constraint(q, ctx.instrument.special_codes)
    ok = values != ""
    if not constraint or not ok.any():
        return np.ones(len(values), dtype=bool)
    probe = frame.assign(_current=pd.Series(values, index=frame.index, dtype=object))
    return ~ok | _holds_current(constraint, probe, ctx)


def _holds_current(expression: str, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    kwargs = _kwargs(frame, ctx)
    return holds_frame(expression, frame, current="_current", **kwargs).to_numpy(dtype=bool)


def _fallback(q: Question, n: int, ctx: _Context) -> np.ndarray:
    specials = [code for code, _ in _special_values(q, ctx)]
    if specials:
        return np.full(n, specials[0], dtype=object)
    if not q.required:
        return _blank(n)
    raise SimulationError(
        f"question {q.name!r}: no answer drawn in {ctx.options.max_tries} tries meets its "
        f"constraint {full_constraint(q, ctx.instrument.special_codes)!r} on {n} rows"
    )


def _draw_valid(q: Question, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    values = _generic(q, frame, ctx)
    if q.type == "calculate":
        return values
    for attempt in range(1, ctx.options.max_tries + 1):
        bad = ~_valid(q, values, frame, ctx) | ~_in_list(q, values, frame, ctx)
        if not bad.any():
            return values
        values[bad] = _generic(q, frame.iloc[np.flatnonzero(bad)], ctx, attempt)
    bad = ~_valid(q, values, frame, ctx)
    if bad.any():
        ctx.note(q.name, "fallback", int(bad.sum()))
        values[bad] = _fallback(q, int(bad.sum()), ctx)
    return values


def _fixed_values(q: Question, store: Mapping[str, np.ndarray], ctx: _Context) -> np.ndarray | None:
    """Return the process's values for the rows of ``store`` (``None`` when it has none)."""
    if "_position" in store:  # inside a repeat: looked up by (submission, instance)
        table = ctx.repeat_fixed.get(q.name)
        if table is None:
            return None
        keys = store["_parent_main"].astype(np.int64) * _POSITION_BASE + store["_position"]
        found = table.index.get_indexer(keys)
        values = table.to_numpy(dtype=object)
        return np.where(found >= 0, values[np.maximum(found, 0)], "").astype(object)
    column = ctx.fixed.get(q.name)
    if column is None:
        return None
    return column[store["_row"]]


def _in_list(q: Question, values: np.ndarray, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    """Whether select answers use options the row may choose (blank passes)."""
    if not (q.is_select or q.type in FILE_SELECT_TYPES):
        return np.ones(len(values), dtype=bool)
    choices = _choices_frame(q, ctx)
    allowed = _allowed(q, choices, frame, ctx)
    position = {name: j for j, name in enumerate(choices["name"].to_numpy(dtype=object))}
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    ok = np.ones(len(values), dtype=bool)
    for k, value in enumerate(uniques):
        parts = [position.get(part, -1) for part in str(value).split()]
        rows = np.flatnonzero(codes == k)
        if min(parts, default=0) < 0:
            ok[rows] = False
        elif parts:
            ok[rows] = allowed[np.ix_(rows, parts)].all(axis=1)
    return ok


def _answer(q: Question, store: dict[str, np.ndarray], asked: np.ndarray, ctx: _Context):
    """Answers of one question for every row of the store (blank where not asked)."""
    n = len(asked)
    result = _blank(n)
    fixed = _fixed_values(q, store, ctx)
    if fixed is not None:
        fixed = np.where(pd.isna(fixed), "", fixed).astype(object)
        ctx.note(q.name, "skipped_by_logic", int(((fixed != "") & ~asked).sum()))
    rows = np.flatnonzero(asked)
    if len(rows) == 0:
        return result
    prepared, frame = _prepared(q, store, ctx)
    sub = frame.iloc[rows]
    computed = q.calculation and (q.type == "calculate" or q.asks_respondent)
    if computed:
        values = _generic(prepared, sub, ctx)
        if fixed is not None:
            given = fixed[rows]
            ctx.note(q.name, "calculation", int(((given != "") & (given != values)).sum()))
        result[rows] = values
        return result
    if fixed is None:
        result[rows] = _draw_valid(prepared, sub, ctx)
        return result
    values = fixed[rows].copy()
    missing = values == ""
    if missing.any() and q.type not in _NO_VALUE_TYPES:
        ctx.note(q.name, "blank_relevant", int(missing.sum()))
        values[missing] = _draw_valid(prepared, sub.iloc[np.flatnonzero(missing)], ctx)
    invalid = ~_valid(prepared, values, sub, ctx) | ~_in_list(prepared, values, sub, ctx)
    if invalid.any():
        ctx.note(q.name, "invalid", int(invalid.sum()))
        values[invalid] = _draw_valid(prepared, sub.iloc[np.flatnonzero(invalid)], ctx)
    result[rows] = values
    return result


def _leaves(questions: tuple[Question, ...]) -> list[Question]:
    """Questions of a table: leaves, looking through groups but not into repeats."""
    found: list[Question] = []
    for q in questions:
        if q.type == "group":
            found.extend(_leaves(q.children))
        elif not q.is_container:
            found.append(q)
    return found


def _references(questions: tuple[Question, ...]) -> set[str]:
    """Names referenced by the expressions of questions (and their descendants)."""
    names: set[str] = set()
    for top in questions:
        for q, _ in top.walk():
            for text in (q.relevant, q.constraint, q.calculation, q.choice_filter, q.repeat_count):
                if text:
                    names |= parse(text).references
    return names


def _relevance(q: Question, store: dict[str, np.ndarray], ctx: _Context) -> np.ndarray:
    prepared, frame = _prepared(q.replace(constraint=None, calculation=None), store, ctx)
    return _holds(prepared.relevant, frame, ctx)


def _fill(
    questions: tuple[Question, ...],
    store: dict[str, np.ndarray],
    asked: np.ndarray,
    table: str,
    ctx: _Context,
) -> None:
    """Answer questions in form order, writing into ``store`` (the engine's own columns)."""
    for q in questions:
        here = asked & _relevance(q, store, ctx) if q.relevant and asked.any() else asked
        if q.type == "group":
            _fill(q.children, store, here, table, ctx)
        elif q.type in _CONTAINERS:
            _repeat(q, store, here, table, ctx)
        else:
            store[q.name] = _answer(q, store, here, ctx)


def _repeat_counts(
    q: Question, store: dict[str, np.ndarray], asked: np.ndarray, ctx: _Context
) -> np.ndarray:
    n = len(asked)
    if q.repeat_count:
        prepared, frame = _prepared(q, store, ctx)
        raw = evaluate_frame(prepared.repeat_count, frame, **_kwargs(frame, ctx))
        counts = pd.to_numeric(pd.Series(raw.to_numpy(dtype=object)), errors="coerce")
        counts = counts.fillna(0).clip(0, 1000).to_numpy().astype(int)
    else:
        fixed_lengths = np.zeros(n, dtype=int)
        if "_row" in store:
            rows = store["_row"]
            for child in _leaves(q.children):
                table = ctx.repeat_fixed.get(child.name)
                if table is None or not len(table):
                    continue
                keys = table.index.to_numpy()
                longest = np.zeros(max(int(rows.max(initial=0)), int(keys.max())) + 1, int)
                np.maximum.at(longest, keys // _POSITION_BASE, keys % _POSITION_BASE)
                fixed_lengths = np.maximum(fixed_lengths, longest[rows])
        drawn = ctx.rng.integers(0, ctx.options.max_repeats + 1, n)
        counts = np.where(fixed_lengths > 0, fixed_lengths, drawn)
    return np.where(asked, counts, 0)


def _positions(counts: np.ndarray) -> np.ndarray:
    """1-based instance numbers of ``np.repeat(rows, counts)``."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts) + 1


def _lists(values: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
    """Each parent row's answers in a repeat, as a tuple (rows sorted by parent)."""
    cells = np.empty(n, dtype=object)
    counts = np.bincount(parents, minlength=n) if len(parents) else np.zeros(n, dtype=int)
    groups = np.split(values, np.cumsum(counts)[:-1])
    cells[:] = [tuple(g) for g in groups]
    return cells


def _repeat(
    q: Question, store: dict[str, np.ndarray], asked: np.ndarray, parent: str, ctx: _Context
) -> None:
    counts = _repeat_counts(q, store, asked, ctx)
    parent_rows = np.repeat(np.arange(len(asked)), counts)
    context = (_references(q.children) | {"_row"}) & set(store)
    child: dict[str, np.ndarray] = {name: store[name][parent_rows] for name in sorted(context)}
    if "_parent_main" in store:
        child["_parent_main"] = store["_parent_main"][parent_rows]
    elif "_row" in store:
        child["_parent_main"] = store["_row"][parent_rows]
    child.pop("_row", None)
    child["_parent"] = parent_rows
    child["_position"] = _positions(counts)
    leaves = _leaves(q.children)
    for leaf in leaves:
        child[leaf.name] = _blank(len(parent_rows))
    index = len(ctx.tables)
    ctx.tables.append(Table(q.name, parent, pd.DataFrame()))
    _fill(q.children, child, np.ones(len(parent_rows), dtype=bool), q.name, ctx)
    numbers = {"_parent": parent_rows, "_position": child["_position"]}
    text = {leaf.name: child[leaf.name] for leaf in leaves}
    ctx.tables[index] = Table(q.name, parent, _table_frame(numbers, text, len(parent_rows)))
    # The parent sees a child question as the list of its answers (count(), sum()...), for
    # the child questions that some expression reads.
    for leaf in leaves:
        if leaf.name in ctx.referenced:
            store[leaf.name] = _lists(child[leaf.name], parent_rows, len(asked))


def _repeat_tables(
    instrument: Instrument,
    fixed: pd.DataFrame,
    repeats: Mapping[str, pd.DataFrame],
) -> dict[str, pd.Series]:
    """Values the process gives inside repeats, keyed by ``row * BASE + position``.

    Tuples in the ``fixed`` cells (one value per instance) and long tables in ``repeats``
    (``_row``, ``_position`` and one column per question) are both read.
    """
    inside = {
        q.name
        for q, parents in instrument.walk()
        if not q.is_container and any(p.type in _CONTAINERS for p in parents)
    }
    result: dict[str, pd.Series] = {}
    for name in sorted(inside & set(fixed.columns)):
        exploded = fixed[name].reset_index(drop=True).explode()
        exploded = exploded[exploded.notna()]
        rows = exploded.index.to_numpy(dtype=np.int64)
        position = exploded.groupby(level=0).cumcount().to_numpy() + 1
        result[name] = pd.Series(
            exploded.to_numpy(dtype=object), index=rows * _POSITION_BASE + position
        )
    for table in repeats.values():
        keys = table["_row"].to_numpy(dtype=np.int64) * _POSITION_BASE + table[
            "_position"
        ].to_numpy(dtype=np.int64)
        for name in table.columns:
            if name in inside:
                result[name] = pd.Series(table[name].to_numpy(dtype=object), index=keys)
    return result


def answer_instrument(
    instrument: Instrument,
    fixed: pd.DataFrame,
    rng: np.random.Generator,
    *,
    attachments: Mapping[str, pd.DataFrame] | None = None,
    options: EngineOptions | None = None,
    repeats: Mapping[str, pd.DataFrame] | None = None,
) -> Responses:
    """Answer a form for every row of ``fixed``, obeying the form.

    Parameters
    ----------
    instrument : Instrument
        The form.
    fixed : pandas.DataFrame
        One row per submission; columns are the values the data-generating process decides
        (text, ``""`` for none; inside repeats a tuple per submission, one value per
        instance). A frame without columns asks for fully generic answers.
    rng : numpy.random.Generator
        Source of randomness for everything the process leaves open.
    attachments : Mapping of str to pandas.DataFrame, optional
        The CSV files of ``select_one_from_file`` questions and ``pulldata()``, by file name
        (columns ``name``, ``label`` and any choice-filter or look-up columns).
    options : EngineOptions, optional
        Special-code rates, repeat sizes, the date of ``today()``.
    repeats : Mapping of str to pandas.DataFrame, optional
        Values inside repeats in long form, by repeat name: ``_row`` (the row of ``fixed``),
        ``_position`` (1-based instance) and one text column per question of the repeat; an
        alternative to tuples in ``fixed`` that scales to long calendars.

    Returns
    -------
    Responses
        The main table and one table per repeat; notes counting every fixed value the form did
        not take as given (absent from the form, dropped by skip logic, refused by a
        constraint, different from a calculation) and every generic fallback.

    Raises
    ------
    SimulationError
        When a required question can get no answer its constraint accepts, or a file select
        or ``pulldata()`` has no attachment.

    Notes
    -----
    Unit: submission (rows of ``fixed``, in order). Questions are answered in form order on the
    whole table at once (one evaluation of each expression per table), so the cost grows with
    questions x rows, not with a per-row loop. Repeats without ``repeat_count`` take the number
    of instances the process gives (else 0 to ``max_repeats``).
    """
    options = options or EngineOptions()
    n = len(fixed)
    main_leaves = _leaves(instrument.questions)
    fixed = fixed.reset_index(drop=True)
    store: dict[str, np.ndarray] = {q.name: _blank(n) for q in main_leaves}
    store["_row"] = np.arange(n)
    repeat_names = {q.name for q, _ in instrument.walk() if q.type in _CONTAINERS}
    ctx = _Context(
        instrument=instrument,
        fixed={c: fixed[c].to_numpy(dtype=object) for c in fixed.columns},
        repeat_fixed=_repeat_tables(instrument, fixed, repeats or {}),
        rng=rng,
        attachments=dict(attachments or {}),
        options=options,
        notes=Counter(),
        tables=[Table("main", None, pd.DataFrame())],
        referenced=frozenset(_references(instrument.questions)),
    )
    names = {q.name for q in instrument.all_questions()}
    for column in fixed.columns:
        if column not in names:
            ctx.note(column, "absent", n)
    for name, table in (repeats or {}).items():
        if name not in repeat_names:
            ctx.note(name, "absent", len(table))
    _fill(instrument.questions, store, np.ones(n, dtype=bool), "main", ctx)
    main = _frame({q.name: store[q.name] for q in main_leaves}, n)
    ctx.tables[0] = Table("main", None, main)
    notes = tuple(
        EngineNote(question, kind, count) for (question, kind), count in sorted(ctx.notes.items())
    )
    return Responses(instrument, tuple(ctx.tables), notes)


# --------------------------------------------------------------------------------------------
# Checking finished responses
# --------------------------------------------------------------------------------------------


def _walk_tables(questions, table, ancestors, out):
    """(question, table, ancestors' relevants) for every leaf, repeats by name."""
    for q in questions:
        relevants = (*ancestors, q.relevant) if q.relevant else ancestors
        if q.type == "group":
            _walk_tables(q.children, table, relevants, out)
        elif q.type in _CONTAINERS:
            _walk_tables(q.children, q.name, relevants, out)
        else:
            out.append((q, table, relevants))
    return out


def _context_columns(
    responses: Responses, table: str, referenced: frozenset[str]
) -> dict[str, np.ndarray]:
    """Return a table's columns with its ancestors' answers joined in (what expressions see)."""
    by_name = {t.name: t for t in responses.tables}
    current = by_name[table]
    columns = {c: current.data[c].to_numpy(dtype=object) for c in current.data.columns}
    if table != "main":
        columns["_position"] = current.data["_position"].to_numpy()
    parent_rows = current.data["_parent"].to_numpy(dtype=np.int64) if table != "main" else None
    name = current.parent
    while name is not None:
        parent = by_name[name].data
        for column in parent.columns:
            if not column.startswith("_") and column not in columns:
                columns[column] = parent[column].to_numpy(dtype=object)[parent_rows]
        parent_rows = (
            parent["_parent"].to_numpy(dtype=np.int64)[parent_rows]
            if "_parent" in parent.columns
            else None
        )
        name = by_name[name].parent
    # Children's answers as lists, for count() and sum() in the parent's expressions.
    size = len(current.data)
    for child in responses.tables:
        if child.parent != table:
            continue
        order = np.argsort(child.data["_parent"].to_numpy(dtype=np.int64), kind="stable")
        parents = child.data["_parent"].to_numpy(dtype=np.int64)[order]
        for column in child.data.columns:
            if column.startswith("_") or column not in referenced:
                continue
            values = child.data[column].to_numpy(dtype=object)[order]
            columns[column] = _lists(values, parents, size)
    return columns


def check_responses(
    responses: Responses,
    *,
    attachments: Mapping[str, pd.DataFrame] | None = None,
    today: dt.date = EngineOptions().today,
) -> pd.DataFrame:
    """List every answer that breaks the form: skip logic, required, constraints, choice lists.

    Parameters
    ----------
    responses : Responses
        Finished responses (simulated, or read back from an export).
    attachments : Mapping of str to pandas.DataFrame, optional
        Files of ``select_one_from_file`` questions and ``pulldata()``.
    today : datetime.date, optional
        The date of ``today()`` in expressions.

    Returns
    -------
    pandas.DataFrame
        One row per violation: ``table``, ``row`` (0-based), ``question``, ``kind``
        (``not_relevant``: answered where skip logic hides the question; ``required``: blank
        where asked and required; ``constraint``: the full constraint fails; ``choice``: not an
        option of the list or filtered out; ``calculation``: differs from the form's
        calculation, ``pulldata()`` read from the attachments) and ``value``. Empty when the
        responses obey the form.

    Notes
    -----
    Uses only the expression evaluator on the finished tables (each expression once per
    table); nothing of the answering engine but the look-up of ``pulldata()`` in the
    attachments. Questions of a repeat whose table is not given are not checked.
    """
    instrument = responses.instrument
    ctx = _Context(
        instrument=instrument,
        fixed={},
        repeat_fixed={},
        rng=np.random.default_rng(0),
        attachments=dict(attachments or {}),
        options=EngineOptions(today=today),
        notes=Counter(),
        tables=[],
    )
    referenced = frozenset(_references(instrument.questions))
    leaves = _walk_tables(instrument.questions, "main", (), [])
    stores = {t.name: _context_columns(responses, t.name, referenced) for t in responses.tables}
    problems: list[pd.DataFrame] = []

    def report(table, question, kind, mask, values) -> None:  # numpydoc ignore=GL08
        if mask.any():
            rows = np.flatnonzero(mask)
            problems.append(
                pd.DataFrame(
                    {
                        "table": table,
                        "row": rows,
                        "question": question,
                        "kind": kind,
                        "value": values[rows],
                    }
                )
            )

    relevance_cache: dict[tuple[str, tuple], np.ndarray] = {}
    for q, table, relevants in leaves:
        if table not in stores:  # a table not given (e.g. a main table read back alone)
            continue
        store = stores[table]
        size = len(responses.table(table).data)
        key = (table, relevants)
        if key not in relevance_cache:
            asked = np.ones(size, dtype=bool)
            for expression in relevants:
                probe = Question(name=q.name, type="note", relevant=expression)
                asked &= _relevance(probe, store, ctx)
            relevance_cache[key] = asked
        asked = relevance_cache[key]
        values = store[q.name]
        values = np.where(pd.isna(values), "", values).astype(object)
        answered = values != ""
        report(table, q.name, "not_relevant", answered & ~asked, values)
        if q.required == "yes" and q.type not in _NO_VALUE_TYPES | {"calculate"}:
            report(table, q.name, "required", asked & ~answered, values)
        prepared, frame = _prepared(q, store, ctx)
        computed = q.calculation and (q.type == "calculate" or q.asks_respondent)
        if computed:
            if not ({"random", "uuid", "now", "once"} & parse(q.calculation or "").functions):
                expected = _blank(size)
                if asked.any():
                    sub = frame.iloc[np.flatnonzero(asked)]
                    expected[asked] = _as_text(
                        evaluate_frame(prepared.calculation or "", sub, **_kwargs(sub, ctx))
                    )
                report(table, q.name, "calculation", asked & (expected != values), values)
            if q.type == "calculate":
                continue
        constraint_ok = _valid(prepared, values, frame, ctx)
        report(table, q.name, "constraint", asked & answered & ~constraint_ok, values)
        if q.is_select or q.type in FILE_SELECT_TYPES:
            report(table, q.name, "choice", asked & ~_in_list(prepared, values, frame, ctx), values)
    if not problems:
        return pd.DataFrame(columns=["table", "row", "question", "kind", "value"])
    return pd.concat(problems, ignore_index=True)
