"""Codebooks: one row per variable with its labels, choices, skip logic in words and source.

The codebook is what analysts, partners and reviewers read to understand a data set. It is built
from the instrument alone, so it always matches the deployed form; skip logic and constraints are
rendered in words by :func:`evaluation.instruments.expressions.describe`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from evaluation.instruments.expressions import describe
from evaluation.instruments.model import Instrument, Question, format_number, full_constraint

__all__ = ["CODEBOOK_COLUMNS", "codebook_csv", "codebook_markdown", "codebook_rows", "status_line"]

#: Columns of the codebook, in order.
CODEBOOK_COLUMNS = (
    "name",
    "module",
    "type",
    "choice_list",
    "label_en",
    "label_zh",
    "hint_en",
    "hint_zh",
    "choices",
    "asked_if",
    "asked_if_zh",
    "constraint",
    "valid_values",
    "special_codes",
    "rounds",
    "pii",
    "backcheck",
    "source",
)

DRAFT_STATUS = "Draft pending field pre-test / 草稿：待实地预调查"


def status_line(form: Instrument) -> str:
    """Return the status of a form's wording for headers of codebooks and printed forms.

    Parameters
    ----------
    form : Instrument
        The form; a recorded pre-test is the ``pretest`` setting.

    Returns
    -------
    str
        ``"Draft pending field pre-test"`` (in English and Chinese) until a pre-test is recorded,
        then ``"Pre-tested: <record>"``.
    """
    pretest = dict(form.settings).get("pretest")
    return f"Pre-tested / 已预调查：{pretest}" if pretest else DRAFT_STATUS


def labeller(
    form: Instrument, language: str
) -> tuple[Callable[[str], str | None], Callable[[str, str], str | None]]:
    """Return the label look-ups :func:`describe` needs, for one language.

    Parameters
    ----------
    form : Instrument
        The form whose questions and choices are named.
    language : str
        Language code (``"en"``, ``"zh"``).

    Returns
    -------
    tuple of callable
        ``question_label(name)`` and ``choice_label(question, code)``.
    """
    questions = {q.name: q for q, _ in form.walk()}
    lists = {cl.name: cl for cl in form.choice_lists}

    def _question_label(name: str) -> str | None:
        q = questions.get(name)
        if q is None:
            return None
        text = q.label.get(language) or q.label.first()
        return _short(text) if text else None

    def _choice_label(name: str, code: str) -> str | None:
        q = questions.get(name)
        if q is None or q.list_name not in lists:
            return None
        for choice in lists[q.list_name].choices:
            if choice.name == code:
                return choice.label.get(language) or choice.label.first() or None
        return None

    return _question_label, _choice_label


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _conditions(q: Question, parents: tuple[Question, ...]) -> list[str]:
    return [p.relevant for p in (*parents, q) if p.relevant]


def _in_words(form: Instrument, conditions: list[str], language: str) -> str:
    if not conditions:
        return ""
    question_label, choice_label = labeller(form, language)
    joiner = " 且 " if language == "zh" else "; and "
    return joiner.join(
        describe(c, language=language, question_label=question_label, choice_label=choice_label)
        for c in conditions
    )


def _choices(form: Instrument, q: Question) -> str:
    if q.list_name is None:
        return ""
    if q.type in ("select_one_from_file", "select_multiple_from_file"):
        return f"from file {q.list_name}"
    try:
        choice_list = form.choice_list(q.list_name)
    except KeyError:
        return f"list {q.list_name} (missing)"
    return " | ".join(
        f"{c.name}={c.label.get('en') or c.label.first()}"
        + (f" / {c.label.get('zh')}" if c.label.get("zh") else "")
        for c in choice_list.choices
    )


def codebook_rows(form: Instrument) -> list[dict[str, str]]:
    """Return the codebook of one form as rows.

    Parameters
    ----------
    form : Instrument
        The instrument round.

    Returns
    -------
    list of dict
        One row per variable (containers and notes excluded), keys :data:`CODEBOOK_COLUMNS`.

    Notes
    -----
    Unit: variable. Key: ``name``. ``asked_if`` combines the relevance of the question and of
    every group around it, in words; ``constraint`` is the constraint the form enforces (range,
    own constraint and accepted special codes).
    """
    codes = {c.key: c for c in form.special_codes}
    rows = []
    for q, parents in form.walk():
        if q.is_container or q.type == "note":
            continue
        conditions = _conditions(q, parents)
        low_high = ""
        if q.value_range is not None:
            low_high = f"{format_number(q.value_range[0])} to {format_number(q.value_range[1])}"
            if q.soft_range is not None:
                low_high += (
                    f" (plausible {format_number(q.soft_range[0])} to "
                    f"{format_number(q.soft_range[1])})"
                )
        rows.append(
            {
                "name": q.name,
                "module": parents[0].name if parents else "",
                "type": q.type,
                "choice_list": q.list_name or "",
                "label_en": q.label.get("en") or "",
                "label_zh": q.label.get("zh") or "",
                "hint_en": q.hint.get("en") or "",
                "hint_zh": q.hint.get("zh") or "",
                "choices": _choices(form, q),
                "asked_if": _in_words(form, conditions, "en"),
                "asked_if_zh": _in_words(form, conditions, "zh"),
                "constraint": full_constraint(q, form.special_codes) or "",
                "valid_values": low_high,
                "special_codes": " | ".join(
                    f"{codes[k].value}={codes[k].label.get('en') or k}"
                    for k in q.special
                    if k in codes
                ),
                "rounds": " ".join(q.rounds),
                "pii": q.pii or "",
                "backcheck": q.backcheck or "",
                "source": " ".join((q.source or "").split()),
            }
        )
    return rows


def codebook_csv(form: Instrument) -> bytes:
    """Return the codebook as CSV (UTF-8 with BOM so that Excel shows Chinese correctly).

    Parameters
    ----------
    form : Instrument
        The instrument round.

    Returns
    -------
    bytes
        The CSV file, columns :data:`CODEBOOK_COLUMNS`.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CODEBOOK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(codebook_rows(form))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _md(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def codebook_markdown(form: Instrument) -> str:
    """Return the codebook as Markdown: a header, the special codes, then one table per module.

    Parameters
    ----------
    form : Instrument
        The instrument round.

    Returns
    -------
    str
        The Markdown document.
    """
    lines = [
        f"# Codebook: {form.title}",
        "",
        f"**{status_line(form)}**",
        "",
        (
            f"Form `{form.form_id}`, version `{form.version}`; instrument `{form.instrument}`, "
            f"round `{form.round}`; languages {', '.join(form.languages)}."
        ),
        "",
    ]
    if form.special_codes:
        lines += ["Special codes (value column plus a missing reason after cleaning):", ""]
        lines += [
            f"- `{c.value}` {c.key}: {c.label.get('en') or ''} / {c.label.get('zh') or ''}"
            for c in form.special_codes
        ]
        lines.append("")
    rows = codebook_rows(form)
    columns = ("name", "type", "label_en", "label_zh", "choices", "asked_if", "valid_values")
    columns += ("special_codes", "rounds", "pii", "source")
    modules = []
    for row in rows:
        if row["module"] not in modules:
            modules.append(row["module"])
    for module in modules:
        title = module
        if module:
            group = form.question(module)
            title = (
                f"{group.label.get('en') or module} / {group.label.get('zh') or ''} (`{module}`)"
            )
        lines += [f"## {title}", "", "| " + " | ".join(columns) + " |"]
        lines.append("|" + "---|" * len(columns))
        for row in rows:
            if row["module"] == module:
                cells = [f"`{row['name']}`"] + [_md(row[c]) for c in columns[1:]]
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
