"""Render published tables and figures to text and bytes (pure; no files).

Every table renderer takes a :class:`~evaluation.reporting.disclosure.PublishedTable` and
refuses anything else, so nothing reaches a file or the report without passing the disclosure
gate. Renderers are deterministic: the same table gives the same string, the same figure the
same bytes (no dates, fixed SVG identifiers, no software stamp).
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

from evaluation.reporting.disclosure import SUPPRESSED, PublishedTable
from evaluation.reporting.tables import Column
from evaluation.reporting.text import format_value

__all__ = [
    "CSS",
    "FIGURE_RC_ATTRIBUTE",
    "check_published",
    "display_rows",
    "figure_bytes",
    "table_csv",
    "table_html",
    "table_latex",
    "table_markdown",
]

#: Inline style shared by the report and the stand-alone HTML tables.
CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","WenQuanYi Zen Hei","DejaVu Sans",
Arial,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 2rem;color:#1a1a1a;line-height:1.45}
.table-scroll{overflow-x:auto;max-width:100%}
table.evaluation{border-collapse:collapse;margin:1rem 0;font-size:.85rem}
table.evaluation caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.4rem}
table.evaluation th,table.evaluation td{padding:.2rem .5rem;text-align:right;white-space:nowrap}
table.evaluation th:first-child,table.evaluation td:first-child{text-align:left}
table.evaluation thead{border-top:2px solid #1a1a1a;border-bottom:1px solid #1a1a1a}
table.evaluation tbody{border-bottom:2px solid #1a1a1a}
table.evaluation tr.group th{text-align:left;font-style:italic;padding-top:.5rem}
table.evaluation th.span{text-align:center;border-bottom:1px solid #999}
table.evaluation tfoot td{text-align:left;white-space:normal;font-size:.78rem;color:#333}
.banner{background:#b3470f;color:#fff;font-weight:700;padding:.5rem 1rem;text-align:center}
figure{margin:1.5rem 0}figure img,figure svg{max-width:100%;height:auto}
figcaption{font-size:.85rem}
.note{font-size:.78rem;color:#333}
"""

_PNG_DPI = 150
#: Attribute holding the rc settings a figure was drawn with; it is saved with the same ones.
FIGURE_RC_ATTRIBUTE = "_evaluation_rc"


def check_published(table: object) -> PublishedTable:
    """Return the table if it passed the disclosure gate, else refuse it.

    Parameters
    ----------
    table : object
        What a renderer or writer was given.

    Returns
    -------
    PublishedTable
        The same table.

    Raises
    ------
    TypeError
        ``table`` is not a :class:`PublishedTable` (for example a Table or a DataFrame that
        did not pass :func:`~evaluation.reporting.disclosure.gate`).
    """
    if not isinstance(table, PublishedTable):
        msg = (
            f"only tables that passed evaluation.reporting.disclosure.gate() are published; "
            f"got {type(table).__name__}"
        )
        raise TypeError(msg)
    return table


def _cell_text(published: PublishedTable, row: int, column: Column) -> str:
    if any(published.is_hidden(row, s) for s in column.sources):
        return SUPPRESSED
    frame = published.table.frame
    if column.kind == "interval":
        value: Any = tuple(frame.at[row, s] for s in column.sources)
    else:
        value = frame.at[row, column.sources[0]]
    return format_value(value, column.kind, column.digits)


def display_rows(published: PublishedTable) -> list[tuple[str | None, list[str]]]:
    """Return the formatted rows, each with the row group that starts before it.

    Parameters
    ----------
    published : PublishedTable
        A gated table.

    Returns
    -------
    list of (str or None, list of str)
        Per row: the group label when a new group starts at this row (else None) and the
        formatted cells, suppressed cells shown as ``[c]``.
    """
    published = check_published(published)
    table = published.table
    out: list[tuple[str | None, list[str]]] = []
    previous: object = object()
    for row in range(len(table.frame)):
        group = None
        if table.row_group is not None:
            value = table.frame.at[row, table.row_group]
            if value != previous:
                group = "" if value is None or pd.isna(value) else str(value)
                previous = value
        out.append((group, [_cell_text(published, row, c) for c in table.columns]))
    return out


def _header_spans(columns: Sequence[Column]) -> list[tuple[str, int]]:
    spans: list[tuple[str, int]] = []
    for column in columns:
        if spans and spans[-1][0] == column.group and column.group:
            spans[-1] = (column.group, spans[-1][1] + 1)
        else:
            spans.append((column.group, 1))
    return spans


def _caption(published: PublishedTable, number: str | None) -> str:
    return f"{number}. {published.title}" if number else published.title


def _raw(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.10g}"
    return str(value)


def table_csv(published: PublishedTable) -> str:
    r"""Render a gated table as CSV with raw (unformatted) values.

    Parameters
    ----------
    published : PublishedTable
        A gated table.

    Returns
    -------
    str
        Header of frame column names, one line per row; suppressed cells are ``[c]``, missing
        values empty, numbers with ten significant digits; ``\\n`` line ends.
    """
    published = check_published(published)
    table = published.table
    sources = list(dict.fromkeys(s for c in table.columns for s in c.sources))
    if table.row_group is not None and table.row_group not in sources:
        sources.insert(0, table.row_group)
    frame = pd.DataFrame(
        {
            s: [
                SUPPRESSED if published.is_hidden(r, s) else _raw(table.frame.at[r, s])
                for r in range(len(table.frame))
            ]
            for s in sources
        },
        columns=sources,
    )
    return frame.to_csv(index=False, lineterminator="\n")


def _md(value: str) -> str:
    return value.replace("|", "\\|")


def table_markdown(
    published: PublishedTable, number: str | None = None, *, banner: str = ""
) -> str:
    """Render a gated table as a Markdown pipe table with caption and notes.

    Parameters
    ----------
    published : PublishedTable
        A gated table.
    number : str, optional
        Caption prefix such as ``"Table 3"``.
    banner : str, optional
        A warning shown above the table (the simulated-data banner).

    Returns
    -------
    str
        Markdown text.
    """
    published = check_published(published)
    columns = published.table.columns
    headers = [f"{c.group}: {c.label}" if c.group else c.label for c in columns]
    lines = [f"> **{_md(banner)}**", ""] if banner else []
    lines += [f"**{_md(_caption(published, number))}**", ""]
    lines.append("| " + " | ".join(_md(h) for h in headers) + " |")
    align = ["---" if c.kind == "text" else "---:" for c in columns]
    lines.append("| " + " | ".join(align) + " |")
    for group, cells in display_rows(published):
        if group is not None:
            lines.append("| " + " | ".join([f"*{_md(group)}*"] + [""] * (len(cells) - 1)) + " |")
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    lines.append("")
    lines.extend(f"{_md(note)}  " for note in published.notes)
    return "\n".join(lines).rstrip() + "\n"


def table_html(
    published: PublishedTable,
    number: str | None = None,
    *,
    standalone: bool = False,
    banner: str = "",
) -> str:
    """Render a gated table as an HTML table (or a complete page).

    Parameters
    ----------
    published : PublishedTable
        A gated table.
    number : str, optional
        Caption prefix such as ``"Table 3"``.
    standalone : bool, optional
        Wrap in a self-contained HTML page with inline CSS.
    banner : str, optional
        A warning shown above the table (the simulated-data banner).

    Returns
    -------
    str
        HTML text, every value escaped.
    """
    published = check_published(published)
    columns = published.table.columns
    esc = html.escape
    head = []
    if any(c.group for c in columns):
        cells = []
        for group, width in _header_spans(columns):
            css = ' class="span"' if group else ""
            cells.append(f'<th colspan="{width}"{css}>{esc(group)}</th>')
        head.append("<tr>" + "".join(cells) + "</tr>")
    head.append("<tr>" + "".join(f"<th>{esc(c.label)}</th>" for c in columns) + "</tr>")
    body = []
    for group, cells in display_rows(published):
        if group is not None:
            body.append(f'<tr class="group"><th colspan="{len(columns)}">{esc(group)}</th></tr>')
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    notes = "<br>".join(esc(n) for n in published.notes)
    out = (  # a table wider than the page scrolls inside its box, not the whole page
        f'<div class="table-scroll"><table class="evaluation" id="table-{esc(published.name)}">'
        f"<caption>{esc(_caption(published, number))}</caption>"
        f"<thead>{''.join(head)}</thead><tbody>{''.join(body)}</tbody>"
        f'<tfoot><tr><td colspan="{len(columns)}">{notes}</td></tr></tfoot></table></div>'
    )
    if banner:
        out = f'<div class="banner">{esc(banner)}</div>' + out
    if not standalone:
        return out
    return (
        '<!DOCTYPE html>\n<html lang="'
        + ("zh" if published.table.language == "zh" else "en")
        + f'">\n<head><meta charset="utf-8"><title>{esc(published.title)}</title>'
        f"<style>{CSS}</style></head>\n<body>\n{out}\n</body>\n</html>\n"
    )


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def _tex(value: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in value)


def table_latex(published: PublishedTable, number: str | None = None, *, banner: str = "") -> str:
    """Render a gated table as LaTeX (booktabs rules, threeparttable notes).

    Parameters
    ----------
    published : PublishedTable
        A gated table.
    number : str, optional
        Unused by LaTeX numbering; kept for a uniform signature.
    banner : str, optional
        A warning set in bold as the first table note (the simulated-data banner), and as a
        comment on the file's first line.

    Returns
    -------
    str
        A ``table`` environment needing the ``booktabs`` and ``threeparttable`` packages (and
        ``xeCJK`` for Chinese labels).
    """
    published = check_published(published)
    del number
    columns = published.table.columns
    spec = "".join("l" if c.kind == "text" else "r" for c in columns)
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\begin{threeparttable}",
        rf"\caption{{{_tex(published.title)}}}",
        rf"\label{{tab:{_tex(published.name)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    if banner:  # also the file's first line, as a comment: seen before anything else
        lines.insert(0, f"% {banner}")
    if any(c.group for c in columns):
        cells, rules, start = [], [], 1
        for group, width in _header_spans(columns):
            if group:
                cells.append(rf"\multicolumn{{{width}}}{{c}}{{{_tex(group)}}}")
                rules.append(rf"\cmidrule(lr){{{start}-{start + width - 1}}}")
            else:
                cells.extend([""] * width)
            start += width
        lines.append(" & ".join(cells) + r" \\")
        lines.append(" ".join(rules))
    lines.append(" & ".join(_tex(c.label) for c in columns) + r" \\")
    lines.append(r"\midrule")
    for group, cells in display_rows(published):
        if group is not None:
            lines.append(rf"\multicolumn{{{len(columns)}}}{{l}}{{\textit{{{_tex(group)}}}}} \\")
        lines.append(" & ".join(_tex(c) for c in cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\begin{tablenotes}[flushleft]", r"\footnotesize"]
    lines += [rf"\item \textbf{{{_tex(banner)}}}"] if banner else []
    lines += [rf"\item {_tex(note)}" for note in published.notes]
    lines += [r"\end{tablenotes}", r"\end{threeparttable}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """Render a figure to PNG or SVG bytes, identical for identical figures.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    fmt : {"png", "svg"}
        Output format.

    Returns
    -------
    bytes
        The file content: PNG without the software stamp; SVG without date and creator, text
        drawn as paths, and element identifiers from a fixed salt. Figures from
        :mod:`evaluation.reporting.figures` are saved with the style they were drawn with.

    Raises
    ------
    ValueError
        Unknown format.
    TypeError
        ``figure`` is not a matplotlib Figure.
    """
    if not isinstance(figure, Figure):
        msg = f"expected a matplotlib Figure; got {type(figure).__name__}"
        raise TypeError(msg)
    buffer = io.BytesIO()
    settings = dict(getattr(figure, FIGURE_RC_ATTRIBUTE, {}))
    settings |= {"svg.hashsalt": "evaluation", "svg.fonttype": "path"}
    with mpl.rc_context(settings):
        if fmt == "png":
            figure.savefig(buffer, format="png", dpi=_PNG_DPI, metadata={"Software": None})
        elif fmt == "svg":
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        else:
            msg = f"figure format must be 'png' or 'svg'; got {fmt!r}"
            raise ValueError(msg)
    return buffer.getvalue()
