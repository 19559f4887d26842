"""Instrument lint: the checks a survey team runs before fieldwork.

Like DIME's ``ietestform`` (DATA.md section 2) plus the checks pyxform and ODK Validate do not do
(DOMAIN.md section 7.3). Each rule is one function with an identifier; :data:`RULES` lists them
with their severity. :func:`lint_instrument` checks one form, :func:`lint_rounds` checks what must
hold across the rounds of one instrument (panel items identical), and :func:`check_instruments`
raises :class:`InstrumentError` when any error-level finding remains, naming the file, the
question and the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.expressions import (
    Expression,
    ExpressionError,
    find_cycle,
    holds,
    parse,
)
from evaluation.instruments.model import (
    CONTAINER_TYPES,
    FILE_SELECT_TYPES,
    INPUT_TYPES,
    METADATA_TYPES,
    NUMERIC_TYPES,
    SELECT_TYPES,
    Instrument,
    Question,
    Text,
    full_constraint,
    language_code,
)

__all__ = ["RULES", "Finding", "check_instruments", "lint_instrument", "lint_rounds"]

MAX_NAME_LENGTH = 32
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_INTEGER_CODE = re.compile(r"^-?[0-9]+$")
_VERSION = re.compile(r"^[0-9]{10}$")
_EXPRESSION_FIELDS = ("relevant", "constraint", "calculation", "choice_filter", "repeat_count")
_YES_NO = {"yes", "no", "true", "false", "true()", "false()"}
_NO_LABEL_TYPES = CONTAINER_TYPES | METADATA_TYPES | {"calculate", "hidden"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in an instrument.

    Attributes
    ----------
    rule : str
        Rule identifier (a key of :data:`RULES`).
    severity : str
        ``"error"`` (the form must not be fielded) or ``"warning"``.
    form_id : str
        The form checked.
    where : str
        Where the problem is defined (``"surveys/modules/demographics.yaml:27"``).
    subject : str
        The question, list or setting concerned.
    message : str
        What is wrong and what is expected.
    """

    rule: str
    severity: str
    form_id: str
    where: str
    subject: str
    message: str

    def __str__(self) -> str:
        """Return the finding as one line for people."""
        return f"{self.where}: {self.subject}: [{self.rule}] {self.message}"


#: Rule identifier to (severity, description).
RULES: dict[str, tuple[str, str]] = {
    "name_format": ("error", "names are ASCII lowercase snake case starting with a letter"),
    "name_length": ("error", "names have at most 32 characters, repeat suffixes included"),
    "name_unique": ("error", "names are unique in the form, ignoring case and repeat suffixes"),
    "type_unknown": ("error", "types are XLSForm types"),
    "label_missing": ("error", "every question and note has a label"),
    "translation_missing": ("error", "every text is given in every language of the form"),
    "whitespace": ("warning", "no spaces around names, codes and texts"),
    "chinese_typography": (
        "warning",
        "Chinese texts use full-width punctuation and no spaces between Chinese characters",
    ),
    "list_missing": ("error", "selects use choice lists that exist"),
    "list_unused": ("warning", "every choice list is used"),
    "list_empty": ("error", "choice lists have options"),
    "choice_code_numeric": ("error", "option codes are integers"),
    "choice_code_unique": ("error", "option codes are unique within a list"),
    "choice_label_duplicate": ("warning", "option labels are unique within a list"),
    "numeric_range": ("error", "numeric questions have a range that excludes the special codes"),
    "special_undeclared": ("error", "special codes used are declared by the instrument"),
    "expression_syntax": ("error", "expressions parse"),
    "reference_unknown": ("error", "${name} references name questions of the form"),
    "dependency_cycle": ("error", "relevance and calculations have no cycles"),
    "relevant_forward": ("warning", "skip logic refers to questions asked before"),
    "exclusive_options": ("error", "'none' and special options of a select_multiple are exclusive"),
    "required_note": ("error", "notes are not required"),
    "required_missing": ("warning", "questions that ask the respondent are required"),
    "answer_key": ("error", "answer keys are options of the item's list"),
    "settings": ("error", "the form has an id, a title and a version (yyyymmddNN)"),
    "panel_identical": ("error", "a question asked in several rounds is identical in each"),
}


def _known_types() -> frozenset[str]:
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

    return (
        frozenset(QUESTION_TYPE_DICT)
        | SELECT_TYPES
        | FILE_SELECT_TYPES
        | CONTAINER_TYPES
        | {"select_one_external"}
    )


class _Collector:
    def __init__(self, form: Instrument) -> None:
        self.form = form
        self.findings: list[Finding] = []

    def add(self, rule: str, subject: str, message: str, origin_key: str | None = None) -> None:
        where = self.form.origin.get(origin_key or subject, self.form.form_id)
        self.findings.append(
            Finding(rule, RULES[rule][0], self.form.form_id, where, subject, message)
        )


def _texts(q: Question) -> Iterator[tuple[str, Text]]:
    for field in ("label", "hint", "guidance_hint", "required_message", "constraint_message"):
        yield field, getattr(q, field)


def _parse(c: _Collector, subject: str, field: str, source: str | None) -> Expression | None:
    if not source:
        return None
    try:
        return parse(source)
    except ExpressionError as err:
        c.add("expression_syntax", subject, f"{field} {source!r} does not parse: {err}")
        return None


def _check_names(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    seen: dict[str, str] = {}
    for q, parents in rows:
        if not q.name:
            c.add("name_format", f"row of type {q.type}", "has no name")
            continue
        if not _NAME.match(q.name):
            c.add("name_format", q.name, "use lowercase ASCII letters, digits and underscores")
        in_repeat = any(p.type in ("repeat", "loop") for p in parents)
        suffix = 3 if in_repeat else 0  # Stata-style wide names add _NN to repeated fields
        if len(q.name) + suffix > MAX_NAME_LENGTH:
            extra = " including the repeat suffix _NN" if in_repeat else ""
            c.add(
                "name_length",
                q.name,
                f"{len(q.name) + suffix} characters{extra}; at most {MAX_NAME_LENGTH}",
            )
        key = q.name.lower()
        if key in seen:
            c.add("name_unique", q.name, f"the name is also used by {seen[key]!r}")
        seen[key] = q.name
    repeated = {q.name.lower() for q, parents in rows if any(p.type == "repeat" for p in parents)}
    for q, _ in rows:
        base, _, number = q.name.lower().rpartition("_")
        if number.isdigit() and base in repeated:
            c.add(
                "name_unique",
                q.name,
                f"clashes with the wide name of repeated field {base!r} ({base}_{number})",
            )


_CJK = "\u3400-\u9fff"
_CHINESE_TYPOGRAPHY = (
    (
        re.compile(f"[{_CJK}][,?!;:()]|[,?!;:()][{_CJK}]"),
        "ASCII punctuation next to a Chinese character (use ，？！；：（）)",
    ),
    (re.compile(f"[{_CJK}] +[{_CJK}]"), "a space between two Chinese characters"),
)


def _typography(c: _Collector, subject: str, field: str, text: Text, origin: str | None) -> None:
    for tag, value in text.items:
        if not (language_code(tag) or tag).startswith("zh"):
            continue
        for pattern, problem in _CHINESE_TYPOGRAPHY:
            found = pattern.search(value)
            if found:
                c.add(
                    "chinese_typography",
                    subject,
                    f"{field} ({tag}) has {problem}: ...{found.group(0)}...",
                    origin_key=origin,
                )


def _check_texts(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    languages = c.form.languages
    for q, _ in rows:
        if q.type not in _NO_LABEL_TYPES and not q.label and not q.get("image"):
            c.add("label_missing", q.name, f"a {q.type} needs a label")
        for field, text in _texts(q):
            if text:
                missing = [t for t in languages if not text.get(t)]
                if missing:
                    c.add("translation_missing", q.name, f"{field} has no {missing} text")
                for tag, value in text.items:
                    if value != value.strip():
                        c.add("whitespace", q.name, f"{field} ({tag}) has surrounding spaces")
                _typography(c, q.name, field, text, None)
    for cl in c.form.choice_lists:
        for choice in cl.choices:
            _typography(
                c,
                f"list {cl.name!r} option {choice.name!r}",
                "label",
                choice.label,
                f"list:{cl.name}",
            )
            missing = [t for t in languages if not choice.label.get(t)]
            if missing and (choice.label or not choice.get("image")):
                c.add(
                    "translation_missing",
                    f"list {cl.name!r} option {choice.name!r}",
                    f"label has no {missing} text",
                    origin_key=f"list:{cl.name}",
                )


def _check_lists(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    lists = {cl.name: cl for cl in c.form.choice_lists}
    used = set()
    for q, _ in rows:
        if q.type in SELECT_TYPES or q.type == "loop":
            used.add(q.list_name)
            if q.list_name not in lists:
                c.add("list_missing", q.name, f"choice list {q.list_name!r} does not exist")
        if q.answer_key is not None:
            if q.type != "select_one" or q.list_name not in lists:
                c.add("answer_key", q.name, "only a select_one item with a list has an answer key")
            elif q.answer_key not in lists[q.list_name].codes:
                c.add(
                    "answer_key",
                    q.name,
                    f"answer key {q.answer_key!r} is not an option of {q.list_name!r}",
                )
    for name, cl in lists.items():
        subject, key = f"list {name!r}", f"list:{name}"
        if name not in used:
            c.add("list_unused", subject, "no question uses it", origin_key=key)
        if not cl.choices:
            c.add("list_empty", subject, "has no options", origin_key=key)
        codes = [choice.name for choice in cl.choices]
        for code in codes:
            if not _INTEGER_CODE.match(code):
                c.add("choice_code_numeric", subject, f"code {code!r} is not an integer", key)
            if code != code.strip():
                c.add("whitespace", subject, f"code {code!r} has surrounding spaces", key)
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            c.add("choice_code_unique", subject, f"codes {duplicates} repeat", key)
        labels = [choice.label.first() for choice in cl.choices if choice.label]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            c.add("choice_label_duplicate", subject, f"labels {repeated} repeat", key)


def _check_numbers(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    codes = {code.key: code.value for code in c.form.special_codes}
    for q, _ in rows:
        undeclared = [k for k in q.special if k not in codes]
        if undeclared:
            c.add("special_undeclared", q.name, f"special codes {undeclared} are not declared")
        if q.type not in NUMERIC_TYPES or q.type == "range":
            continue
        if q.value_range is None and not q.constraint and not q.calculation:
            c.add("numeric_range", q.name, "a numeric question needs a range (or a constraint)")
            continue
        if q.value_range is not None:
            low, high = q.value_range
            inside = sorted(value for value in codes.values() if low <= value <= high)
            if inside:
                c.add(
                    "numeric_range",
                    q.name,
                    f"range [{low}, {high}] contains the special codes {inside}; answers with "
                    "those values could not be told from a valid answer",
                )
            if q.soft_range is not None and not (low <= q.soft_range[0] <= q.soft_range[1] <= high):
                c.add(
                    "numeric_range",
                    q.name,
                    f"soft range {list(q.soft_range)} is not inside the range [{low}, {high}]",
                )


def _references(
    c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]
) -> dict[str, dict[str, frozenset[str]]]:
    """Parse every expression; return question -> field -> referenced names."""
    names = {q.name for q, _ in rows}
    found: dict[str, dict[str, frozenset[str]]] = {}
    for q, _ in rows:
        fields = {field: getattr(q, field) for field in _EXPRESSION_FIELDS}
        if q.required and q.required.lower() not in _YES_NO:
            fields["required"] = q.required
        if q.read_only and q.read_only.lower() not in _YES_NO:
            fields["read_only"] = q.read_only
        refs: dict[str, frozenset[str]] = {}
        for field, source in fields.items():
            expression = _parse(c, q.name, field, source)
            if expression is None:
                continue
            refs[field] = expression.references
            unknown = sorted(expression.references - names)
            if unknown:
                c.add("reference_unknown", q.name, f"{field} refers to unknown {unknown}")
        for field, text in _texts(q):
            for _, value in text.items:
                unknown = sorted(set(re.findall(r"\$\{([^}]*)\}", value)) - names)
                if unknown:
                    c.add("reference_unknown", q.name, f"{field} text refers to unknown {unknown}")
        found[q.name] = refs
    return found


def _check_logic(
    c: _Collector,
    rows: Sequence[tuple[Question, tuple[Question, ...]]],
    refs: Mapping[str, Mapping[str, frozenset[str]]],
) -> None:
    order = {q.name: i for i, (q, _) in enumerate(rows)}
    graph: dict[str, set[str]] = {}
    for q, parents in rows:
        depends = set()
        for field in ("relevant", "calculation", "required", "read_only"):
            depends |= refs.get(q.name, {}).get(field, frozenset())
        for parent in parents:
            depends |= refs.get(parent.name, {}).get("relevant", frozenset())
        graph[q.name] = {d for d in depends if d in order}
        for name in sorted(refs.get(q.name, {}).get("relevant", frozenset())):
            if (
                name in order
                and order[name] > order[q.name]
                and name not in {child.name for child, _ in q.walk()}
            ):
                c.add(
                    "relevant_forward",
                    q.name,
                    f"skip logic uses {name!r}, which is asked later in the form",
                )
    cycle = find_cycle({k: frozenset(v) for k, v in graph.items()})
    if cycle:
        c.add(
            "dependency_cycle", cycle[0], "cycle in relevance/calculations: " + " -> ".join(cycle)
        )


def _check_exclusive(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    lists = {cl.name: cl for cl in c.form.choice_lists}
    for q, _ in rows:
        if q.type != "select_multiple" or q.list_name not in lists:
            continue
        options = lists[q.list_name].codes
        exclusive = [ch.name for ch in lists[q.list_name].choices if ch.exclusive]
        if not exclusive:
            continue
        constraint = full_constraint(q, c.form.special_codes)
        if constraint is None:
            c.add(
                "exclusive_options",
                q.name,
                f"options {exclusive} are exclusive but no constraint enforces it",
            )
            continue
        try:
            expression = parse(constraint)
        except ExpressionError:
            continue  # reported by expression_syntax
        row = dict.fromkeys(expression.references, "")
        for single in exclusive:
            for other in options:
                if other == single:
                    continue
                try:
                    accepted = holds(expression, row, current=f"{single} {other}")
                except ExpressionError:
                    accepted = False
                if accepted:
                    c.add(
                        "exclusive_options",
                        q.name,
                        f"the constraint accepts option {single!r} together with {other!r}",
                    )
                    break


def _check_required(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    for q, _ in rows:
        required = (q.required or "").lower()
        if q.type == "note" and required and required not in ("no", "false", "false()"):
            c.add("required_note", q.name, "a note cannot be required")
        if q.asks_respondent and q.type != "trigger" and not required:
            c.add("required_missing", q.name, "not required: a skipped answer cannot be told apart")


def _check_types(c: _Collector, rows: Sequence[tuple[Question, tuple[Question, ...]]]) -> None:
    known = _known_types()
    for q, _ in rows:
        if q.type not in known and q.type not in INPUT_TYPES:
            c.add("type_unknown", q.name, f"unknown type {q.type!r}")


def _check_settings(c: _Collector) -> None:
    form = c.form
    for field in ("form_id", "title", "version"):
        if not getattr(form, field):
            c.add("settings", field, f"the form has no {field}")
    if form.version and not _VERSION.match(form.version):
        c.add("settings", "version", f"version {form.version!r} is not yyyymmddNN")


def lint_instrument(form: Instrument) -> tuple[Finding, ...]:
    """Check one form against every rule in :data:`RULES` except the cross-round ones.

    Parameters
    ----------
    form : Instrument
        The form to check (one instrument round, or an imported XLSForm).

    Returns
    -------
    tuple of Finding
        Every problem found, in rule order; empty for a clean form.
    """
    c = _Collector(form)
    rows = list(form.walk())
    _check_types(c, rows)
    _check_names(c, rows)
    _check_texts(c, rows)
    _check_lists(c, rows)
    _check_numbers(c, rows)
    refs = _references(c, rows)
    _check_logic(c, rows, refs)
    _check_exclusive(c, rows)
    _check_required(c, rows)
    _check_settings(c)
    order = list(RULES)
    return tuple(sorted(c.findings, key=lambda f: order.index(f.rule)))


_PANEL_FIELDS = (
    "type",
    "list_name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "value_range",
    "special",
    "calculation",
    "choice_filter",
    "answer_key",
    "extra",
)


def _round_marker(q: Question, round_name: str | None) -> bool:
    """Whether a question is a calculate that records its own round (``'baseline'``...)."""
    return q.type == "calculate" and round_name is not None and q.calculation == f"'{round_name}'"


def lint_rounds(forms: Iterable[Instrument]) -> tuple[Finding, ...]:
    """Check that every question asked in several rounds of an instrument is identical in each.

    Parameters
    ----------
    forms : iterable of Instrument
        The rounds of one instrument (for example baseline and endline).

    Returns
    -------
    tuple of Finding
        One ``panel_identical`` finding per question and field that differ, or per choice list
        whose options differ between rounds.

    Notes
    -----
    A *round marker* is the one exception: a ``calculate`` whose calculation is the quoted name
    of the round it is in (``meta_round`` with ``'baseline'`` in the baseline form and
    ``'endline'`` in the endline form). Its calculation may differ between rounds; its other
    fields must still agree.
    """
    forms = list(forms)
    findings = []
    for i, first in enumerate(forms):
        for second in forms[i + 1 :]:
            pair = f"{first.form_id} / {second.form_id}"
            questions = {q.name: q for q, _ in second.walk()}
            for q, _ in first.walk():
                other = questions.get(q.name)
                if other is None or q.is_container:
                    continue
                where = first.origin.get(q.name, first.form_id)
                fields = _PANEL_FIELDS
                if _round_marker(q, first.round) and _round_marker(other, second.round):
                    fields = tuple(f for f in fields if f != "calculation")
                findings.extend(
                    Finding(
                        "panel_identical",
                        "error",
                        pair,
                        where,
                        q.name,
                        f"{field} differs between {first.round} and {second.round}",
                    )
                    for field in fields
                    if getattr(q, field) != getattr(other, field)
                )
                if (
                    q.is_select
                    and other.list_name == q.list_name
                    and first.choice_list(q.list_name) != second.choice_list(q.list_name)
                ):
                    findings.append(
                        Finding(
                            "panel_identical",
                            "error",
                            pair,
                            first.origin.get(f"list:{q.list_name}", first.form_id),
                            q.name,
                            f"choice list {q.list_name!r} differs between rounds",
                        )
                    )
    return tuple(findings)


def check_instruments(
    forms: Mapping[tuple[str, str], Instrument],
    *,
    lint: Callable[[Instrument], tuple[Finding, ...]] = lint_instrument,
) -> tuple[Finding, ...]:
    """Lint every form and the rounds of every instrument; raise on errors.

    Parameters
    ----------
    forms : Mapping
        ``(instrument, round)`` to form, as returned by
        :func:`evaluation.instruments.files.read_instruments`.
    lint : callable, optional
        The single-form lint (replaceable in tests).

    Returns
    -------
    tuple of Finding
        The warnings (when there is no error).

    Raises
    ------
    InstrumentError
        When any error-level finding remains; the message lists every finding with its file,
        line, question and rule.
    """
    findings = [f for form in forms.values() for f in lint(form)]
    families: dict[str, list[Instrument]] = {}
    for (family, _), form in forms.items():
        families.setdefault(family, []).append(form)
    for rounds in families.values():
        findings.extend(lint_rounds(rounds))
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        listing = "\n".join(f"  {f}" for f in errors)
        msg = f"{len(errors)} problem(s) in the instrument definitions:\n{listing}"
        raise InstrumentError(msg)
    return tuple(findings)
