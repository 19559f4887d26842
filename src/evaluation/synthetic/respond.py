"""Simulated respondents: answer any instrument so that every answer obeys it.

:func:`answer_instrument` fills a form for many submissions at once, question by question in
form order, the way a data-collection app would: a question is asked only where its skip logic
(and every enclosing group's) holds; an answer is drawn from the question's type, choice list
(with its ``choice_filter``), range, regular-expression constraint and special codes, then redrawn
until the question's full constraint holds (``evaluation.instruments.model.full_constraint``
through the expression evaluator); calculations are evaluated; repeats get their
``repeat_count`` instances. Values the data-generating process decides (``fixed``) are used where
the form asks the question, and checked like any answer; every disagreement is counted in a note.

:func:`check_responses` re-reads finished responses with the evaluator alone and lists every
violation: the test of "clean" data is that it finds none.

Notes
-----
Answers are text, as forms store them: select codes as their choice names (a select_multiple's
codes space-separated), numbers without trailing zeros, ``""`` for unanswered. Columns share one
string object per distinct value, so a 50,000-row table costs a pointer per cell.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

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
    today: dt.date = dt.date(2026, 12, 1)


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
    """Share one string object per distinct value."""
    if len(values) == 0:
        return values.astype(object)
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([str(u) for u in uniques], dtype=object)[inverse]


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
    pieces = np.full(n, "", dtype=object)
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
        alphabet = np.array(list(chars))
        width = int(counts.max()) if n else 0
        if width == 0:
            continue
        grid = alphabet[rng.integers(0, len(alphabet), (n, width))]
        grid[np.arange(width)[None, :] >= counts[:, None]] = ""
        joined = np.array(["".join(row) for row in grid.tolist()], dtype=object)
        pieces = pieces + joined
    return pieces


_REGEX_CALL = re.compile(r"regex\(\s*\.\s*,\s*(['\"])(.*?)\1\s*\)")
_EQUALS_REF = re.compile(r"^\s*\.\s*=\s*\$\{(\w+)\}\s*$")


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------


@dataclass
class _Context:
    instrument: Instrument
    fixed: pd.DataFrame
    rng: np.random.Generator
    attachments: Mapping[str, pd.DataFrame]
    options: EngineOptions
    notes: Counter
    tables: list[Table]

    def note(self, question: str, kind: str, count: int) -> None:
        if count:
            self.notes[(question, kind)] += int(count)


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
    if q.type in FILE_SELECT_TYPES:
        if q.list_name not in ctx.attachments:
            raise SimulationError(
                f"question {q.name!r} reads its choices from {q.list_name!r}, which was not "
                f"passed in attachments (have: {sorted(ctx.attachments)})"
            )
        frame = ctx.attachments[q.list_name].astype(object).copy()
        frame["_special"] = ""
        frame["_exclusive"] = False
        return frame.reset_index(drop=True)
    choices = ctx.instrument.choice_list(q.list_name).choices
    rows = []
    for c in choices:
        row = dict(c.extra)
        row.update(name=c.name, _special=c.special or "", _exclusive=c.exclusive or bool(c.special))
        rows.append(row)
    return pd.DataFrame(rows, dtype=object)


_REF = re.compile(r"\$\{(\w+)\}")


def _allowed(q: Question, choices: pd.DataFrame, frame: pd.DataFrame, ctx: _Context) -> np.ndarray:
    """Boolean (rows x choices): which options each row may choose (the choice filter).

    In a choice filter a bare name is a column of the choices and ``${name}`` an answer; both
    may be called the same (``city = ${city}``), so answers enter as ``_answer_<name>``.
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
    result = np.zeros((n, len(choices)), dtype=bool)
    for k in range(int(codes.max()) + 1 if n else 0):
        row = frame.iloc[int(np.flatnonzero(codes == k)[0])]
        probe = choices.assign(**{f"_answer_{r}": row[r] for r in refs})
        result[codes == k] = _holds(expression, probe, ctx)[None, :]
    return result


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
    if kind == "calculate":
        return _as_text(evaluate_frame(q.calculation or "", frame, **_kwargs(frame, ctx)))
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
    parts = np.full(n, "", dtype=object)
    for j in range(len(names)):
        mask = chosen[:, j] & ~use_alone
        parts[mask] = np.where(parts[mask] == "", names[j], parts[mask] + " " + names[j])
    parts[use_alone] = names[alone[use_alone]]
    return _pool(_apply_specials(parts, q, ctx)) if special.any() else _pool(parts)


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
    if q.type == "decimal":
        values = np.round(rng.uniform(lo, hi), 1)
        return _pool(np.array([_format_number(float(v)) for v in values], dtype=object))
    values = np.floor(rng.uniform(np.ceil(lo), np.floor(hi) + 1)).astype(np.int64)
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
    if kind == "start":
        return np.array([s + ".000+08:00" for s in stamp], dtype=object)
    if kind == "end":
        later = moments + rng.integers(20 * 60, 50 * 60, n).astype("timedelta64[s]")
        return np.array([s + ".000+08:00" for s in np.datetime_as_string(later, unit="s")], object)
    if kind in ("today", "date"):
        return _pool(np.datetime_as_string(moments.astype("datetime64[D]")).astype(object))
    if kind == "dateTime":
        return np.array([s + ".000+08:00" for s in stamp], dtype=object)
    if kind == "time":
        return np.array([s[11:] + ".000+08:00" for s in stamp], dtype=object)
    if kind == "deviceid":
        return sample_regex("collect:[A-Za-z0-9]{16}", n, rng)
    if kind == "username":
        return np.full(n, "enumerator", dtype=object)
    if kind == "email":
        return np.full(n, "enumerator@example.org", dtype=object)
    if kind == "audit":
        return np.full(n, "audit.csv", dtype=object)
    if kind in ("geopoint", "start-geopoint"):
        lat = rng.uniform(22.0, 41.0, n)
        lon = rng.uniform(104.0, 121.0, n)
        return np.array(
            [f"{a:.6f} {b:.6f} {h:.1f} {e:.1f}" for a, b, h, e in zip(
                lat, lon, rng.uniform(0, 300, n), rng.uniform(3, 20, n), strict=True
            )],
            dtype=object,
        )  # fmt: skip
    if kind in ("geotrace", "geoshape"):
        lat, lon = rng.uniform(22.0, 41.0, n), rng.uniform(104.0, 121.0, n)
        points = [
            ";".join(f"{a + k * 0.001:.6f} {b:.6f} 0.0 0.0" for k in range(4))
            for a, b in zip(lat, lon, strict=True)
        ]
        return np.array(points, dtype=object)
    if kind == "barcode":
        return sample_regex("[0-9]{12}", n, rng)
    if kind in ("image", "audio", "video", "file", "background-audio"):
        extension = {"image": "jpg", "audio": "m4a", "video": "mp4"}.get(kind, "bin")
        return np.array([f"{t}.{extension}" for t in sample_regex("1[0-9]{12}", n, rng)], object)
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
        bad = ~_valid(q, values, frame, ctx)
        if not bad.any():
            return values
        values[bad] = _generic(q, frame.iloc[np.flatnonzero(bad)], ctx, attempt)
    bad = ~_valid(q, values, frame, ctx)
    if bad.any():
        ctx.note(q.name, "fallback", int(bad.sum()))
        values[bad] = _fallback(q, int(bad.sum()), ctx)
    return values


def _fixed_values(q: Question, frame: pd.DataFrame, ctx: _Context) -> np.ndarray | None:
    """Return the process's values for the rows of ``frame`` (``None`` when it has none)."""
    if q.name not in ctx.fixed.columns:
        return None
    column = ctx.fixed[q.name].to_numpy(dtype=object)
    if "_parent_main" in frame.columns:  # inside a repeat: tuples per submission
        rows = frame["_parent_main"].to_numpy()
        positions = frame["_position"].to_numpy() - 1
        cells = column[rows]
        return np.array(
            [c[p] if isinstance(c, tuple) and p < len(c) else "" for c, p in zip(
                cells, positions, strict=True
            )],
            dtype=object,
        )  # fmt: skip
    return column[frame["_row"].to_numpy()] if "_row" in frame.columns else column


def _answer(q: Question, frame: pd.DataFrame, asked: np.ndarray, ctx: _Context) -> np.ndarray:
    """Answers of one question for every row of ``frame`` (blank where not asked)."""
    result = _blank(len(frame))
    fixed = _fixed_values(q, frame, ctx)
    if fixed is not None:
        fixed = np.where(pd.isna(fixed), "", fixed).astype(object)
        ctx.note(q.name, "skipped_by_logic", int(((fixed != "") & ~asked).sum()))
    rows = np.flatnonzero(asked)
    if len(rows) == 0:
        return result
    sub = frame[_needed(q, frame)].iloc[rows]
    if fixed is None:
        result[rows] = _draw_valid(q, sub, ctx)
        return result
    values = fixed[rows].copy()
    if q.type == "calculate":
        computed = _generic(q, sub, ctx)
        ctx.note(q.name, "calculation", int(((values != "") & (computed != values)).sum()))
        result[rows] = computed
        return result
    missing = values == ""
    if missing.any() and q.type not in _NO_VALUE_TYPES:
        ctx.note(q.name, "blank_relevant", int(missing.sum()))
        values[missing] = _draw_valid(q, sub.iloc[np.flatnonzero(missing)], ctx)
    invalid = ~_valid(q, values, sub, ctx) | ~_in_list(q, values, sub, ctx)
    if invalid.any():
        ctx.note(q.name, "invalid", int(invalid.sum()))
        values[invalid] = _draw_valid(q, sub.iloc[np.flatnonzero(invalid)], ctx)
    result[rows] = values
    return result


_ENGINE_COLUMNS = ("_row", "_parent_main", "_position", "start")


def _needed(q: Question, frame: pd.DataFrame) -> list[str]:
    """Columns the answering of ``q`` reads (its expressions' references and engine columns)."""
    names = set(_ENGINE_COLUMNS)
    for text in (q.relevant, q.constraint, q.calculation, q.choice_filter):
        if text:
            names |= parse(text).references
    return [c for c in frame.columns if c in names]


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


def _fill(
    questions: tuple[Question, ...],
    frame: pd.DataFrame,
    asked: np.ndarray,
    table: str,
    ctx: _Context,
) -> None:
    """Answer questions in form order, writing into ``frame`` (the engine's own working copy)."""
    for q in questions:
        here = asked & _holds(q.relevant, frame, ctx) if q.relevant else asked
        if q.type == "group":
            _fill(q.children, frame, here, table, ctx)
        elif q.type in ("repeat", "loop"):
            _repeat(q, frame, here, table, ctx)
        else:
            frame[q.name] = pd.Series(_answer(q, frame, here, ctx), index=frame.index, dtype=object)


def _repeat_counts(
    q: Question, frame: pd.DataFrame, asked: np.ndarray, ctx: _Context
) -> np.ndarray:
    n = len(frame)
    if q.repeat_count:
        raw = evaluate_frame(q.repeat_count, frame, **_kwargs(frame, ctx))
        counts = pd.to_numeric(pd.Series(raw.to_numpy(dtype=object)), errors="coerce")
        counts = counts.fillna(0).clip(0, 1000).to_numpy().astype(int)
    else:
        fixed_lengths = np.zeros(n, dtype=int)
        for child in _leaves(q.children):
            if child.name in ctx.fixed.columns and "_row" in frame.columns:
                cells = ctx.fixed[child.name].to_numpy(dtype=object)[frame["_row"].to_numpy()]
                lengths = np.array([len(c) if isinstance(c, tuple) else 0 for c in cells])
                fixed_lengths = np.maximum(fixed_lengths, lengths)
        drawn = ctx.rng.integers(0, ctx.options.max_repeats + 1, n)
        counts = np.where(fixed_lengths > 0, fixed_lengths, drawn)
    return np.where(asked, counts, 0)


def _repeat(
    q: Question, frame: pd.DataFrame, asked: np.ndarray, parent: str, ctx: _Context
) -> None:
    counts = _repeat_counts(q, frame, asked, ctx)
    parent_rows = np.repeat(np.arange(len(frame)), counts)
    positions = (
        np.concatenate([np.arange(1, c + 1) for c in counts]) if counts.sum() else np.zeros(0, int)
    )
    context = sorted((_references(q.children) | {"_row", "_parent_main"}) & set(frame.columns))
    child = frame.iloc[parent_rows][context].reset_index(drop=True)
    child["_parent"] = parent_rows
    child["_position"] = positions.astype(int)
    if "_row" in frame.columns and "_parent_main" not in frame.columns:
        child["_parent_main"] = frame["_row"].to_numpy()[parent_rows]
    leaves = _leaves(q.children)
    for leaf in leaves:
        child[leaf.name] = pd.Series(_blank(len(child)), index=child.index, dtype=object)
    index = len(ctx.tables)
    ctx.tables.append(Table(q.name, parent, pd.DataFrame()))
    _fill(q.children, child, np.ones(len(child), dtype=bool), q.name, ctx)
    columns = ["_parent", "_position"] + [leaf.name for leaf in leaves]
    ctx.tables[index] = Table(q.name, parent, child[columns].copy())
    # The parent sees each child question as the list of its answers (count(), sum()...).
    boundaries = np.cumsum(counts)[:-1]
    for leaf in leaves:
        groups = np.split(child[leaf.name].to_numpy(dtype=object), boundaries)
        cells = np.empty(len(frame), dtype=object)
        cells[:] = [tuple(g) for g in groups]
        frame[leaf.name] = pd.Series(cells, index=frame.index, dtype=object)


def answer_instrument(
    instrument: Instrument,
    fixed: pd.DataFrame,
    rng: np.random.Generator,
    *,
    attachments: Mapping[str, pd.DataFrame] | None = None,
    options: EngineOptions | None = None,
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
        The CSV files of ``select_one_from_file`` questions, by file name (columns ``name``,
        ``label`` and any choice-filter columns).
    options : EngineOptions, optional
        Special-code rates, repeat sizes, the date of ``today()``.

    Returns
    -------
    Responses
        The main table and one table per repeat; notes counting every fixed value the form did
        not take as given (absent from the form, dropped by skip logic, refused by a
        constraint, different from a calculation) and every generic fallback.

    Raises
    ------
    SimulationError
        When a required question can get no answer its constraint accepts, or a file select has
        no attachment.

    Notes
    -----
    Unit: submission (rows of ``fixed``, in order). Questions are answered in form order on the
    whole table at once (one evaluation of each expression per table), so the cost grows with
    questions x rows, not with a per-row loop.
    """
    options = options or EngineOptions()
    n = len(fixed)
    main_leaves = _leaves(instrument.questions)
    frame = pd.DataFrame({q.name: _blank(n) for q in main_leaves}, dtype=object)
    frame["_row"] = np.arange(n)
    ctx = _Context(
        instrument=instrument,
        fixed=fixed.reset_index(drop=True),
        rng=rng,
        attachments=dict(attachments or {}),
        options=options,
        notes=Counter(),
        tables=[Table("main", None, pd.DataFrame())],
    )
    names = {q.name for q in instrument.all_questions()}
    for column in fixed.columns:
        if column not in names:
            ctx.note(column, "absent", n)
    _fill(instrument.questions, frame, np.ones(n, dtype=bool), "main", ctx)
    ctx.tables[0] = Table("main", None, frame[[q.name for q in main_leaves]].copy())
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
        elif q.type in ("repeat", "loop"):
            _walk_tables(q.children, q.name, relevants, out)
        else:
            out.append((q, table, relevants))
    return out


def _context_frame(responses: Responses, table: str) -> pd.DataFrame:
    """Return a table with its ancestors' answers joined in (what its expressions see)."""
    by_name = {t.name: t for t in responses.tables}
    current = by_name[table]
    frame = current.data.copy()
    parent_rows = frame["_parent"].to_numpy() if table != "main" else None
    name = current.parent
    while name is not None:
        parent = by_name[name]
        data = parent.data.iloc[parent_rows].reset_index(drop=True)
        for column in data.columns:
            if not column.startswith("_") and column not in frame.columns:
                frame[column] = data[column].to_numpy(dtype=object)
        parent_rows = data["_parent"].to_numpy() if "_parent" in data.columns else None
        name = parent.parent
    # Children's answers as lists, for count() and sum() in the parent's expressions.
    for child in responses.tables:
        if child.parent == table:
            grouped = child.data.groupby("_parent", sort=True)
            for column in child.data.columns:
                if column.startswith("_"):
                    continue
                cells = np.empty(len(frame), dtype=object)
                cells[:] = [()] * len(frame)
                for parent_row, values in grouped[column]:
                    cells[int(parent_row)] = tuple(values)
                frame[column] = cells
    return frame


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
        Files of ``select_one_from_file`` questions.
    today : datetime.date, optional
        The date of ``today()`` in expressions.

    Returns
    -------
    pandas.DataFrame
        One row per violation: ``table``, ``row`` (0-based), ``question``, ``kind``
        (``not_relevant``: answered where skip logic hides the question; ``required``: blank
        where asked and required; ``constraint``: the full constraint fails; ``choice``: not an
        option of the list or filtered out; ``calculation``: differs from the form's
        calculation) and ``value``. Empty when the responses obey the form.

    Notes
    -----
    Uses only the expression evaluator on the finished tables (each expression once per
    table); nothing of the answering engine.
    """
    instrument = responses.instrument
    ctx = _Context(
        instrument=instrument,
        fixed=pd.DataFrame(),
        rng=np.random.default_rng(0),
        attachments=dict(attachments or {}),
        options=EngineOptions(today=today),
        notes=Counter(),
        tables=[],
    )
    leaves = _walk_tables(instrument.questions, "main", (), [])
    frames = {t.name: _context_frame(responses, t.name) for t in responses.tables}
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
        frame = frames[table]
        key = (table, relevants)
        if key not in relevance_cache:
            asked = np.ones(len(frame), dtype=bool)
            for expression in relevants:
                asked &= _holds(expression, frame, ctx)
            relevance_cache[key] = asked
        asked = relevance_cache[key]
        values = frame[q.name].to_numpy(dtype=object)
        values = np.where(pd.isna(values), "", values).astype(object)
        answered = values != ""
        report(table, q.name, "not_relevant", answered & ~asked, values)
        if q.required == "yes" and q.type not in _NO_VALUE_TYPES | {"calculate"}:
            report(table, q.name, "required", asked & ~answered, values)
        if q.type == "calculate":
            if not ({"random", "uuid", "now", "once"} & parse(q.calculation or "").functions):
                computed = _blank(len(frame))
                if asked.any():
                    computed[asked] = _generic(q, frame.iloc[np.flatnonzero(asked)], ctx)
                report(table, q.name, "calculation", asked & (computed != values), values)
            continue
        constraint_ok = _valid(q, values, frame, ctx)
        report(table, q.name, "constraint", asked & answered & ~constraint_ok, values)
        if q.is_select or q.type in FILE_SELECT_TYPES:
            report(table, q.name, "choice", asked & ~_in_list(q, values, frame, ctx), values)
    if not problems:
        return pd.DataFrame(columns=["table", "row", "question", "kind", "value"])
    return pd.concat(problems, ignore_index=True)
