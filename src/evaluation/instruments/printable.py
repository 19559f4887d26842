"""The printable bilingual questionnaire: one self-contained HTML file per form.

Field teams print it for training, for paper back-up interviews and for ethics review. Every
question shows its number, variable name, English and Chinese wording, answer options with codes,
the valid range and accepted special codes, and the skip instruction in words in both languages.
"""

from __future__ import annotations

import html

from evaluation.instruments.codebook import labeller, status_line
from evaluation.instruments.expressions import describe
from evaluation.instruments.model import Instrument, Question, format_number

__all__ = ["printable_html"]

_CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       Arial, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1b1b1b;
       line-height: 1.45; }
header { border-bottom: 2px solid #1b1b1b; margin-bottom: 1.5rem; }
.status { background: #fff4ce; border: 1px solid #c9a400; padding: .4rem .8rem;
          display: inline-block; }
h2 { background: #1f4e79; color: #fff; padding: .3rem .6rem; margin-top: 2rem; }
h3 { border-bottom: 1px solid #999; }
.q { border: 1px solid #ccc; border-radius: 4px; padding: .6rem .8rem; margin: .8rem 0;
     page-break-inside: avoid; }
.qhead { font-weight: bold; }
.var { font-family: monospace; color: #555; font-weight: normal; }
.zh { color: #333; }
.hint { font-style: italic; color: #555; font-size: .92em; }
.skip { color: #8a1c1c; font-size: .92em; }
.range { color: #1f4e79; font-size: .92em; }
.note { background: #f3f3f3; }
ul.options { list-style: none; padding-left: 1rem; margin: .3rem 0; }
ul.options li::before { content: "\\2610  "; }
.multi li::before { content: "\\2611  "; }
table.codes { border-collapse: collapse; }
table.codes td { border: 1px solid #ccc; padding: .2rem .5rem; }
@media print { h2 { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


def _esc(text: str | None) -> str:
    return html.escape(text or "")


class _Printer:
    def __init__(self, form: Instrument) -> None:
        self.form = form
        self.number = 0
        self.labels = {lang: labeller(form, lang) for lang in ("en", "zh")}
        self.codes = {c.key: c for c in form.special_codes}

    def words(self, expression: str, language: str) -> str:
        question_label, choice_label = self.labels[language]
        return describe(
            expression, language=language, question_label=question_label, choice_label=choice_label
        )

    def skip(self, q: Question) -> str:
        if not q.relevant:
            return ""
        return (
            f'<div class="skip">Ask only if: {_esc(self.words(q.relevant, "en"))}<br>'
            '<span class="zh">仅当以下条件成立时提问:'
            f"{_esc(self.words(q.relevant, 'zh'))}</span></div>"
        )

    def options(self, q: Question) -> str:
        if q.list_name is None:
            return ""
        if q.type in ("select_one_from_file", "select_multiple_from_file"):
            return (
                '<div class="range">Options from the attached file '
                f"<code>{_esc(q.list_name)}</code></div>"
            )
        try:
            choices = self.form.choice_list(q.list_name).choices
        except KeyError:
            return ""
        css = "options multi" if q.type == "select_multiple" else "options"
        items = "".join(
            f"<li>{_esc(c.name)}. {_esc(c.label.get('en') or c.label.first())}"
            f' <span class="zh">{_esc(c.label.get("zh"))}</span></li>'
            for c in choices
        )
        kind = (
            "Select all that apply / 可多选" if q.type == "select_multiple" else "Select one / 单选"
        )
        return f'<div class="hint">{kind}</div><ul class="{css}">{items}</ul>'

    def answer_space(self, q: Question) -> str:
        parts = []
        if q.value_range is not None:
            low, high = (format_number(v) for v in q.value_range)
            parts.append(f"Valid answers / 有效范围：{low} – {high}")
        if q.soft_range is not None:
            low, high = (format_number(v) for v in q.soft_range)
            parts.append(f"check if outside / 超出时请核实：{low} – {high}")
        if q.special:
            parts.append(
                "also / 另可填："
                + ", ".join(
                    f"{self.codes[k].value} = {self.codes[k].label.get('en')} / "
                    f"{self.codes[k].label.get('zh')}"
                    for k in q.special
                    if k in self.codes
                )
            )
        if q.constraint and not q.is_select:
            parts.append("condition / 条件：" + self.words(q.constraint, "en"))
        line = "" if q.is_select or q.type == "note" else "<div>______________________</div>"
        return line + "".join(f'<div class="range">{_esc(p)}</div>' for p in parts)

    def question(self, q: Question) -> str:
        if q.is_metadata or q.type in ("calculate", "hidden"):
            return ""
        if q.is_container:
            return self.container(q)
        self.number += 1
        css = "q note" if q.type == "note" else "q"
        hint = ""
        if q.hint:
            hint = (
                f'<div class="hint">{_esc(q.hint.get("en"))}<br>'
                f'<span class="zh">{_esc(q.hint.get("zh"))}</span></div>'
            )
        return (
            f'<div class="{css}" id="{_esc(q.name)}">'
            f'<div class="qhead">Q{self.number}. {_esc(q.label.get("en") or q.label.first())} '
            f'<span class="var">[{_esc(q.name)}]</span></div>'
            f'<div class="zh">{_esc(q.label.get("zh"))}</div>'
            f"{hint}{self.skip(q)}{self.options(q)}{self.answer_space(q)}</div>"
        )

    def container(self, q: Question, level: int = 3) -> str:
        tag = "h2" if q in self.form.questions else f"h{level}"
        title = _esc(q.label.get("en") or q.name)
        if q.label.get("zh"):
            title += f" / {_esc(q.label.get('zh'))}"
        repeat = ""
        if q.type in ("repeat", "loop"):
            times = f" ({_esc(q.repeat_count)} times)" if q.repeat_count else ""
            repeat = f'<div class="hint">Repeat for each item{times} / 按条目重复填写</div>'
        body = "".join(self.question(child) for child in q.children)
        return f"<section><{tag}>{title}</{tag}>{self.skip(q)}{repeat}{body}</section>"


def printable_html(form: Instrument) -> str:
    """Render a form as a printable, self-contained bilingual HTML questionnaire.

    Parameters
    ----------
    form : Instrument
        The instrument round.

    Returns
    -------
    str
        One HTML document with inline styles and no external resources: title, version and
        status (draft until a pre-test is recorded), the special codes, then every module with
        numbered questions and skip instructions in English and Chinese.
    """
    printer = _Printer(form)
    body = "".join(printer.question(q) for q in form.questions)
    codes = "".join(
        f"<tr><td>{c.value}</td><td>{_esc(c.label.get('en'))}</td><td>{_esc(c.label.get('zh'))}</td></tr>"
        for c in form.special_codes
    )
    code_table = (
        f'<p>Special codes / 特殊代码:</p><table class="codes">{codes}</table>' if codes else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(form.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_esc(form.title)}</h1>"
        f'<p class="status">{_esc(status_line(form))}</p>'
        f"<p>Form <code>{_esc(form.form_id)}</code>, version <code>{_esc(form.version)}</code>"
        f" &middot; {printer.number} numbered items</p>{code_table}</header>"
        f"<main>{body}</main></body></html>\n"
    )
