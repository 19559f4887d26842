"""Back-check forms: a short re-interview built from any instrument's ``backcheck`` items.

A back-checker revisits a random sample of respondents within days of the interview and asks a
few questions again; the answers are compared with the original ones (IPA ``bcstats``) to catch
fabrication and enumerator effects. The back-check form keeps the device metadata, the keys and
consent, every question tagged with a back-check category, and whatever those questions need to
work (the questions their skip logic, filters and constraints refer to), in the original order.
"""

from __future__ import annotations

from evaluation.instruments.expressions import ExpressionError, parse
from evaluation.instruments.model import Instrument, Question, Text, language_code

__all__ = ["backcheck_instrument"]

_KEEP_TYPES = frozenset({"start", "end", "today", "deviceid", "username"})
_KEYS = frozenset({"resp_id", "resp_id_check", "enterprise_id"})
_BACKCHECKER = {
    "en": "Back-checker ID",
    "zh": "复核员编号",
}
_BACKCHECKER_HINT = {
    "en": "Your own code, e.g. B003",
    "zh": "请输入您的复核员编号，例如 B003",
}


def _references(q: Question) -> set[str]:
    found: set[str] = set()
    for source in (q.relevant, q.constraint, q.calculation, q.choice_filter, q.repeat_count):
        if source:
            try:
                found |= parse(source).references
            except ExpressionError:
                continue
    return found


def _text(form: Instrument, texts: dict[str, str]) -> Text:
    return Text(
        tuple((tag, texts.get(language_code(tag) or "", texts["en"])) for tag in form.languages)
    )


def _prune(q: Question, keep: set[str]) -> Question | None:
    if not q.is_container:
        return q if q.name in keep else None
    children = tuple(kept for child in q.children if (kept := _prune(child, keep)) is not None)
    return q.replace(children=children) if children else None


def backcheck_instrument(form: Instrument) -> Instrument:
    """Build the back-check form of an instrument round.

    Parameters
    ----------
    form : Instrument
        The instrument round whose questions carry ``backcheck`` categories.

    Returns
    -------
    Instrument
        A deployable form ``<form_id>_backcheck`` with a back-checker ID, the device metadata,
        the respondent keys, consent, every back-check item and the questions they depend on.

    Raises
    ------
    ValueError
        When the form has no question tagged for back-checks.
    """
    rows = list(form.walk())
    by_name = {q.name: q for q, _ in rows}
    tagged = {q.name for q, _ in rows if q.backcheck}
    if not tagged:
        msg = f"form {form.form_id!r} has no question with a backcheck category"
        raise ValueError(msg)
    keep = tagged | {q.name for q, _ in rows if q.type in _KEEP_TYPES or q.name in _KEYS}
    keep |= {q.name for q, _ in rows if q.name.startswith("meta_consent")}
    # Close over dependencies: a kept question's skip logic, filters and checks must resolve,
    # and so must the relevance of the groups around it.
    changed = True
    while changed:
        needed = set()
        for q, parents in rows:
            if q.name in keep:
                needed |= _references(q)
                for parent in parents:
                    needed |= _references(parent)
        new = {n for n in needed if n in by_name} - keep
        keep |= new
        changed = bool(new)
    questions = tuple(kept for q in form.questions if (kept := _prune(q, keep)) is not None)
    backchecker = Question(
        name="bc_backchecker_id",
        type="text",
        label=_text(form, _BACKCHECKER),
        hint=_text(form, _BACKCHECKER_HINT),
        required="yes",
        constraint="regex(., '^B[0-9]{3}$')",
        constraint_message=_text(
            form, {"en": "B followed by three digits", "zh": "格式为字母B加三位数字"}
        ),
        rounds=(form.round,) if form.round else (),
        source="Back-check form generated from the instrument's backcheck tags.",
    )
    first = questions[0]
    if first.is_container:
        questions = (first.replace(children=(backchecker, *first.children)), *questions[1:])
    else:
        questions = (backchecker, *questions)
    used = {q.list_name for top in questions for q, _ in top.walk() if q.list_name}
    return form.replace(
        form_id=f"{form.form_id}_backcheck",
        title=f"Back-check: {form.title}",
        questions=questions,
        choice_lists=tuple(cl for cl in form.choice_lists if cl.name in used),
        origin={name: where for name, where in form.origin.items() if name in keep or ":" in name},
    )
