"""Field messiness: the problems real survey data have, injected on purpose and counted.

:func:`inject_problems` takes clean simulated submissions and returns messy ones plus a manifest
row for every problem it injected, so that a test can check that the loaders, cleaning and
quality checks find each of them (DATA.md section 10). Every kind can be switched off.

==============================  ===========================================================
``exact_resubmission``          the same answers submitted again (new instance ID, later)
``conflicting_duplicate``       the same respondent ID again with different answers (one
                                manifest row per changed column)
``mistyped_id``                 one digit of the person's own number in a typed respondent
                                ID mistyped (also in its re-entry), as when a paper back-up
                                is keyed in or the ID is edited on the server: the panel
                                link breaks (at endline the roster look-ups stored with the
                                submission still show the baseline person)
``leading_zero_id``             the digits of the ID written as a number (``TJ001023`` to
                                ``TJ1023``)
``full_width_digits``           a text answer with digits typed in full width (``１３８…``)
``out_of_range``                a number above its hard range (an old form version, a paper
                                form keyed in)
``skip_logic_violation``        an answer where the skip logic hides the question
``rushed_interview``            every interview of one enumerator lasts 6-12 minutes (forms
                                an enumerator fills in: with ``meta_enum_id``)
``other_specify_existing``      "other" chosen and described, in the free text that follows
                                the select (``ent_ilo_change_text``, ``cb_apply_example``,
                                or a ``<select>_other`` text), as an option the list has
``pii_in_free_text``            a phone number written into a free-text answer (the most
                                answered text question that is neither a key, a direct
                                identifier nor the coded job title)
==============================  ===========================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.instruments.expressions import holds_frame, parse
from evaluation.instruments.model import Choice, Instrument, Question, full_constraint
from evaluation.synthetic.respond import Table
from evaluation.synthetic.submissions import Submissions, uuid4_strings

__all__ = ["KINDS", "MessOptions", "inject_problems"]

#: Every kind of problem, in the order they are injected.
KINDS = (
    "exact_resubmission",
    "conflicting_duplicate",
    "mistyped_id",
    "leading_zero_id",
    "full_width_digits",
    "out_of_range",
    "skip_logic_violation",
    "rushed_interview",
    "other_specify_existing",
    "pii_in_free_text",
)
_KEYS = ("resp_id", "enterprise_id", "participant_id")
_METADATA = frozenset({"start", "end", "today", "deviceid", "username", "audit"})
#: Free text the indicators code (a phone number there would also break the occupation coding).
_CODED_TEXT = frozenset({"job_title_text"})
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True, slots=True)
class MessOptions:
    """Which problems to inject and how often.

    Attributes
    ----------
    rates : Mapping of str to float
        Share of submissions affected by each kind (``rushed_interview``: ignored, one
        enumerator's interviews are affected).
    """

    rates: Mapping[str, float] = field(
        default_factory=lambda: {
            "exact_resubmission": 0.01,
            "conflicting_duplicate": 0.005,
            "mistyped_id": 0.005,
            "leading_zero_id": 0.003,
            "full_width_digits": 0.01,
            "out_of_range": 0.005,
            "skip_logic_violation": 0.005,
            "rushed_interview": 1.0,
            "other_specify_existing": 0.005,
            "pii_in_free_text": 0.003,
        }
    )


def _count(rate: float, n: int) -> int:
    if rate <= 0 or n == 0:
        return 0
    return max(1, round(rate * n)) if n >= 20 else int(rate * n >= 1)


def _key_column(main: pd.DataFrame) -> str | None:
    return next((k for k in _KEYS if k in main.columns), None)


def _rows(main: pd.DataFrame, key: str | None) -> np.ndarray:
    """Rows with a completed interview: a key answered and consent given (a guardian's too)."""
    done = np.ones(len(main), dtype=bool)
    if key is not None:
        done &= main[key].to_numpy(dtype=object) != ""
    if "meta_consent" in main.columns:
        done &= main["meta_consent"].to_numpy(dtype=object) == "1"
    if "meta_minor_guardian" in main.columns:
        done &= main["meta_minor_guardian"].to_numpy(dtype=object) != "0"
    return np.flatnonzero(done)


@dataclass
class _State:
    instrument: Instrument
    tables: dict[str, pd.DataFrame]
    parents: dict[str, str | None]
    envelope: pd.DataFrame
    rng: np.random.Generator
    key: str | None
    manifest: list[dict]
    used: np.ndarray
    limit: int

    def record(self, row: int, column: str, kind: str, detail: str = "") -> None:
        main = self.tables["main"]
        self.manifest.append(
            {
                "key": main.iat[row, main.columns.get_loc(self.key)] if self.key else "",
                "instance_id": self.envelope.iat[row, self.envelope.columns.get_loc("instance_id")],
                "column": column,
                "kind": kind,
                "detail": detail,
            }
        )

    def pick(self, candidates: np.ndarray, k: int) -> np.ndarray:
        candidates = np.asarray(candidates, dtype=int)
        candidates = candidates[candidates < self.limit]
        free = candidates[~self.used[candidates]]
        if k <= 0 or len(free) == 0:
            return np.zeros(0, dtype=int)
        chosen = np.sort(self.rng.choice(free, size=min(k, len(free)), replace=False))
        self.used[chosen] = True
        return chosen


def _set(frame: pd.DataFrame, row: int, column: str, value: str) -> None:
    """Change one cell of the engine's own working copy (object columns, in place)."""
    frame.iat[row, frame.columns.get_loc(column)] = value


def _duplicate(state: _State, rows: np.ndarray) -> np.ndarray:
    """Append copies of main rows (and their repeat rows); return the new rows' positions."""
    main = state.tables["main"]
    start = len(main)
    state.tables["main"] = pd.concat([main, main.iloc[rows]], ignore_index=True)
    new_rows = np.arange(start, start + len(rows))
    mapping = {"main": dict(zip(rows.tolist(), new_rows.tolist(), strict=True))}
    for name, parent in state.parents.items():  # parents before children (form order)
        data = state.tables[name]
        parent_map = mapping[parent]
        take = np.flatnonzero(data["_parent"].isin(list(parent_map)).to_numpy())
        copies = data.iloc[take].copy()
        old = copies["_parent"].to_numpy(dtype=np.int64)
        keys = np.fromiter(parent_map, dtype=np.int64, count=len(parent_map))
        values = np.fromiter(parent_map.values(), dtype=np.int64, count=len(parent_map))
        order = np.argsort(keys)
        copies["_parent"] = values[order][np.searchsorted(keys[order], old)]
        offset = len(data)
        state.tables[name] = pd.concat([data, copies], ignore_index=True)
        mapping[name] = dict(zip(take.tolist(), range(offset, offset + len(take)), strict=True))
    envelope = state.envelope
    copies = envelope.iloc[rows].copy()
    copies["instance_id"] = uuid4_strings(state.rng, len(rows))
    copies["submitted_at"] = copies["submitted_at"] + pd.to_timedelta(
        state.rng.uniform(3600, 48 * 3600, len(rows)), unit="s"
    )
    copies["server_id"] = envelope["server_id"].max() + 1 + np.arange(len(rows))
    state.envelope = pd.concat([envelope, copies], ignore_index=True)
    return new_rows


def _leaf_questions(instrument: Instrument) -> list[tuple[Question, tuple[Question, ...]]]:
    """Main-table leaves (not inside repeats) with their ancestors."""
    found = []
    for q, parents in instrument.walk():
        if q.is_container or any(p.type in ("repeat", "loop") for p in parents):
            continue
        found.append((q, parents))
    return found


def _changed_value(q: Question, value: str, instrument: Instrument, rng) -> str | None:
    if q.type == "select_one" and q.list_name:
        codes = [c for c in instrument.choice_list(q.list_name).codes if c != value]
        return str(rng.choice(codes)) if codes else None
    if q.type == "integer" and re.fullmatch(r"-?\d+", value) and not value.startswith("-"):
        low, high = q.value_range or (0, 1e9)
        new = int(value) + (1 if int(value) + 1 <= high else -1)
        return str(new) if new >= low else None
    return None


def _accepted(q: Question, value: str, row: pd.DataFrame, instrument: Instrument) -> bool:
    """Whether the form's full constraint accepts a value on one row (a one-row frame)."""
    constraint = full_constraint(q, instrument.special_codes)
    if not constraint:
        return True
    probe = row.assign(_current=value)
    return bool(holds_frame(constraint, probe, current="_current").iloc[0])


def _referenced(instrument: Instrument) -> set[str]:
    """Questions that any expression of the form reads (changing them moves skip logic)."""
    names: set[str] = set()
    for q in instrument.all_questions():
        for text in (q.relevant, q.constraint, q.calculation, q.choice_filter, q.repeat_count):
            if text:
                names |= parse(text).references
    return names


def _conflicting(state: _State, rows: np.ndarray) -> None:
    new_rows = _duplicate(state, rows)
    main = state.tables["main"]
    fixed = _referenced(state.instrument)
    leaves = [
        q
        for q, _ in _leaf_questions(state.instrument)
        if q.name not in _METADATA
        and q.name not in _KEYS
        and q.name not in fixed
        and not q.name.startswith("meta_")
        and q.name != "resp_id_check"
    ]
    for row in new_rows:
        changed = 0
        for q in state.rng.permutation(np.array(leaves, dtype=object)):
            value = main[q.name].iat[row]
            if value == "":
                continue
            new = _changed_value(q, value, state.instrument, state.rng)
            if new is None or not _accepted(q, new, main.iloc[[row]], state.instrument):
                continue
            _set(main, row, q.name, new)
            state.record(int(row), q.name, "conflicting_duplicate", f"was {value!r}")
            changed += 1
            if changed == 3:
                break


def _new_id(state: _State, old: str, taken: set) -> str:
    """Mistype a digit of the person's own number (the last three characters).

    The project's IDs start with the enterprise (``TJ001`` + ``023``) and the forms check that
    prefix, so a typo that survives the form's constraint is one in the last three digits.
    """
    digits = [i for i, c in enumerate(old) if c.isdigit() and i >= len(old) - 3]
    for _ in range(100):
        position = int(state.rng.choice(digits))
        replacement = str(state.rng.integers(0, 10))
        candidate = old[:position] + replacement + old[position + 1 :]
        if candidate != old and candidate not in taken:
            return candidate
    return old


def _ids(state: _State, rows: np.ndarray, kind: str) -> None:
    main = state.tables["main"]
    key = state.key
    taken = set(main[key].to_numpy(dtype=object))
    for row in rows:
        old = main[key].iat[row]
        if kind == "mistyped_id":
            new = _new_id(state, old, taken)
        else:
            match = re.fullmatch(r"([A-Za-z]*)(\d+)", old)
            if not match or not match.group(2).startswith("0"):
                continue
            new = match.group(1) + str(int(match.group(2)))
        if new == old:
            continue
        taken.add(new)
        for column in (key, f"{key}_check"):
            if column in main.columns and main[column].iat[row] == old:
                _set(main, row, column, new)
        state.record(int(row), key, kind, f"was {old}")


def _typed(instrument: Instrument, key: str) -> bool:
    """Whether the key is typed in (a text question), not chosen from a list."""
    try:
        return instrument.question(key).type == "text"
    except KeyError:
        return False


def _text_digit_columns(state: _State) -> list[str]:
    """Text questions whose answers are numbers typed as text (phone numbers...)."""
    main = state.tables["main"]
    return [
        q.name
        for q, _ in _leaf_questions(state.instrument)
        if q.type == "text"
        and q.name not in _KEYS
        and q.name != f"{state.key}_check"
        and main[q.name].astype(str).str.fullmatch(r"\d{3,}").any()
    ]


def _full_width(state: _State, k: int) -> None:
    main = state.tables["main"]
    columns = _text_digit_columns(state)
    if not columns:
        return
    column = columns[0]
    candidates = np.flatnonzero(main[column].astype(str).str.fullmatch(r"\d+").to_numpy())
    for row in state.pick(candidates, k):
        value = main[column].iat[row]
        _set(main, row, column, value.translate(_FULL_WIDTH))
        state.record(int(row), column, "full_width_digits")


def _out_of_range(state: _State, k: int) -> None:
    main = state.tables["main"]
    specials = {str(c.value) for c in state.instrument.special_codes}
    referenced = _referenced(state.instrument)
    questions = [
        q
        for q, _ in _leaf_questions(state.instrument)
        if q.type == "integer" and q.value_range is not None and q.name not in referenced
    ]
    if not questions:
        return
    for row in state.pick(_rows(main, state.key), k):
        options = [q for q in questions if main[q.name].iat[row] not in ("", *specials)]
        if not options:
            continue
        q = options[int(state.rng.integers(0, len(options)))]
        high = int(q.value_range[1])
        value = str(high * 2 + int(state.rng.integers(1, 10)))
        if value in specials:
            continue
        old = main[q.name].iat[row]
        _set(main, row, q.name, value)
        state.record(int(row), q.name, "out_of_range", f"was {old!r}, hard range {q.value_range}")


def _skip_violations(state: _State, k: int) -> None:
    main = state.tables["main"]
    instrument = state.instrument
    candidates = []
    completed = np.zeros(len(main), dtype=bool)
    completed[_rows(main, state.key)] = True
    referenced = _referenced(instrument)
    for q, parents in _leaf_questions(instrument):
        if not q.relevant or not q.asks_respondent or q.name.startswith("meta_"):
            continue
        if q.name in referenced:
            continue
        if q.type not in ("select_one", "integer"):
            continue
        asked_parents = np.ones(len(main), dtype=bool)
        for parent in parents:
            if parent.relevant:
                asked_parents &= holds_frame(parent.relevant, main).to_numpy(dtype=bool)
        own = holds_frame(q.relevant, main).to_numpy(dtype=bool)
        empty = main[q.name].to_numpy(dtype=object) == ""
        rows = np.flatnonzero(asked_parents & ~own & empty & completed)
        if len(rows):
            candidates.append((q, rows))
    if not candidates:
        return
    for i in range(k):
        q, rows = candidates[i % len(candidates)]
        chosen = state.pick(rows, 1)
        if not len(chosen):
            continue
        row = int(chosen[0])
        if q.type == "select_one" and q.list_name:
            regular = [c.name for c in instrument.choice_list(q.list_name).choices if not c.special]
            value = regular[0]
        else:
            low = q.value_range[0] if q.value_range else 0
            value = str(int(low))
        _set(main, row, q.name, value)
        state.record(row, q.name, "skip_logic_violation", f"relevant: {q.relevant}")


def _rushed(state: _State) -> None:
    main = state.tables["main"]
    needed = ("username", "start", "end", "meta_enum_id")  # interviewer-administered forms
    if any(column not in main.columns for column in needed):
        return
    rows = _rows(main, state.key)
    rows = rows[rows < state.limit]
    rows = rows[~state.used[rows]]
    if len(rows) == 0:
        return
    users = pd.Series(main["username"].to_numpy(dtype=object)[rows])
    counts = users[users != ""].value_counts()
    eligible = sorted(counts[counts >= min(10, counts.max())].index) if len(counts) else []
    if not eligible:
        return
    rusher = eligible[int(state.rng.integers(0, len(eligible)))]
    chosen = rows[users.to_numpy(dtype=object) == rusher]
    starts = main["start"].to_numpy(dtype=object)[chosen]
    chosen = chosen[starts != ""]
    starts = starts[starts != ""]
    moments = pd.to_datetime(pd.Series(starts, dtype=object).str.slice(0, 19)).to_numpy()
    seconds = state.rng.integers(360, 720, len(chosen)).astype("timedelta64[s]")
    ends = np.datetime_as_string((moments.astype("datetime64[s]") + seconds), unit="s")
    column = main.columns.get_loc("end")
    for row, start, end in zip(chosen, starts, ends, strict=True):
        main.iat[int(row), column] = str(end) + start[19:]
        state.record(int(row), "end", "rushed_interview", f"enumerator {rusher}")


_OTHER = re.compile(r"^(other|其他)", re.IGNORECASE)


def _specify_pairs(instrument: Instrument) -> list[tuple[Question, Choice, Question, list[Choice]]]:
    """(select, its "other" option, the free text that describes it, the regular options).

    The text is a main-table text question whose skip logic reads the select (``cb_apply_example``
    after ``cb_apply_actions``, ``ent_ilo_change_text`` after ``ent_ilo_changes``), or one named
    ``<select>_other``, ``_oth`` or ``_specify``.
    """
    leaves = [q for q, _ in _leaf_questions(instrument)]
    texts = [q for q in leaves if q.type == "text"]
    names = {q.name: q for q in texts}
    pairs = []
    for q in leaves:
        if q.type not in ("select_one", "select_multiple") or not q.list_name:
            continue
        choices = instrument.choice_list(q.list_name).choices
        other = [
            c
            for c in choices
            if not c.exclusive and _OTHER.match(c.label.get("en") or c.label.first() or "")
        ]
        named = [
            names[f"{q.name}{s}"] for s in ("_other", "_oth", "_specify") if f"{q.name}{s}" in names
        ]
        reading = [t for t in texts if t.relevant and q.name in parse(t.relevant).references]
        regular = [c for c in choices if not c.special and not c.exclusive and c not in other]
        text = (named or reading or [None])[0]
        if other and text is not None and regular:
            pairs.append((q, other[0], text, regular))
    return pairs


def _other_specify(state: _State, k: int) -> None:
    """Turn answers into "other" whose description names an option the list has."""
    main = state.tables["main"]
    instrument = state.instrument
    language = instrument.default_language or ""
    pairs = _specify_pairs(instrument)
    if not pairs:
        return
    remaining = k
    for q, other, text, regular in pairs:
        rows = state.pick(np.flatnonzero(main[text.name].to_numpy(dtype=object) != ""), remaining)
        remaining -= len(rows)
        for row in rows:
            category = regular[int(state.rng.integers(0, len(regular)))]
            old = main[q.name].iat[row]
            _set(main, int(row), q.name, other.name)
            _set(main, int(row), text.name, category.label.get(language) or category.label.first())
            state.record(
                int(row),
                text.name,
                "other_specify_existing",
                f"{q.name} was {old!r}, set to {other.name} (other); the text names option "
                f"{category.name}",
            )


def _pii_text(state: _State, k: int) -> None:
    """Write a phone number into a free-text answer (not a key, not a coded job title)."""
    main = state.tables["main"]
    columns = [
        q.name
        for q, _ in _leaf_questions(state.instrument)
        if q.type == "text"
        and q.pii != "direct"
        and not q.constraint
        and q.name not in _KEYS
        and q.name not in _CODED_TEXT
    ]
    if not columns:
        return
    answered = {c: int((main[c].to_numpy(dtype=object) != "").sum()) for c in columns}
    column = max(columns, key=lambda c: (answered[c], c))
    candidates = np.flatnonzero(main[column].to_numpy(dtype=object) != "")
    for row in state.pick(candidates, k):
        phone = (
            "1"
            + str(state.rng.choice([38, 39, 58, 86]))
            + "".join(str(d) for d in state.rng.integers(0, 10, 8))
        )
        _set(main, int(row), column, f"{main[column].iat[row]},有事打电话{phone}")
        state.record(int(row), column, "pii_in_free_text")


def inject_problems(
    submissions: Submissions, rng: np.random.Generator, options: MessOptions | None = None
) -> tuple[Submissions, pd.DataFrame]:
    """Inject field problems into clean submissions and list every one of them.

    Parameters
    ----------
    submissions : Submissions
        Clean simulated submissions of one form.
    rng : numpy.random.Generator
        Source of randomness.
    options : MessOptions, optional
        Rates per kind (0 switches a kind off).

    Returns
    -------
    Submissions
        The messy submissions (duplicates appended at the end of the tables).
    pandas.DataFrame
        The manifest: one row per injected problem with ``key`` (the respondent ID as written
        in the file), ``instance_id`` (the submission), ``column``, ``kind`` and ``detail`` (the
        value replaced, for IDs the ID it should have been; never a personal identifier).

    Notes
    -----
    Unit: problem. Each submission receives at most one kind of problem (duplicates are new
    submissions), so that counts can be checked one kind at a time; a kind without a place to
    occur in this form (no free text, no "other, specify", an ID chosen from a list rather than
    typed) injects nothing. Only completed interviews (key answered, consent given) are touched.
    """
    options = options or MessOptions()
    tables = {t.name: t.data.copy() for t in submissions.responses.tables}
    parents = {t.name: t.parent for t in submissions.responses.tables[1:]}
    main = tables["main"]
    state = _State(
        submissions.instrument,
        tables,
        parents,
        submissions.envelope.copy(),
        rng,
        _key_column(main),
        [],
        np.zeros(len(main), dtype=bool),
        len(main),
    )
    completed = _rows(main, state.key)
    n = len(completed)
    rates = options.rates
    if rates.get("exact_resubmission", 0):
        rows = state.pick(completed, _count(rates["exact_resubmission"], n))
        for row in _duplicate(state, rows):
            state.record(int(row), "", "exact_resubmission")
    if rates.get("conflicting_duplicate", 0):
        _conflicting(state, state.pick(completed, _count(rates["conflicting_duplicate"], n)))
    if state.key and _typed(submissions.instrument, state.key):
        for kind in ("mistyped_id", "leading_zero_id"):
            if rates.get(kind, 0):
                _ids(state, state.pick(completed, _count(rates[kind], n)), kind)
    if rates.get("full_width_digits", 0):
        _full_width(state, _count(rates["full_width_digits"], n))
    if rates.get("out_of_range", 0):
        _out_of_range(state, _count(rates["out_of_range"], n))
    if rates.get("skip_logic_violation", 0):
        _skip_violations(state, _count(rates["skip_logic_violation"], n))
    if rates.get("rushed_interview", 0):
        _rushed(state)
    if rates.get("other_specify_existing", 0):
        _other_specify(state, _count(rates["other_specify_existing"], n))
    if rates.get("pii_in_free_text", 0):
        _pii_text(state, _count(rates["pii_in_free_text"], n))
    new_tables = tuple(
        Table(t.name, t.parent, state.tables[t.name].reset_index(drop=True))
        for t in submissions.responses.tables
    )
    manifest = pd.DataFrame(
        state.manifest, columns=["key", "instance_id", "column", "kind", "detail"]
    )
    return submissions.replace(new_tables, state.envelope), manifest
