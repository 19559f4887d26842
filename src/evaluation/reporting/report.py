"""The evaluation report: one self-contained HTML page, and the manifest of every output (pure).

A :class:`Report` holds gated tables, figures and text in fixed sections (design, data and
attrition, balance, results by outcome family, heterogeneity, robustness, results framework,
methods notes) with the provenance of the run. :func:`report_html` numbers every table and
figure in order of appearance, captions them, embeds the figures as PNG data URIs and inlines
the style, so the page needs nothing else; :func:`manifest_markdown` lists every output with
the function and inputs that made it. Files are written by :mod:`evaluation.reporting.writers`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from matplotlib.figure import Figure

from evaluation.reporting.disclosure import PublishedTable
from evaluation.reporting.figures import figure_notes
from evaluation.reporting.render import CSS, figure_bytes, table_html
from evaluation.reporting.text import text

__all__ = [
    "SECTIONS",
    "FigureItem",
    "OutputRecord",
    "Paragraph",
    "Provenance",
    "Report",
    "Section",
    "manifest_markdown",
    "numbered_items",
    "report_html",
]

#: Report sections in the order they are presented.
SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "design": "Design",
        "data": "Data and attrition",
        "balance": "Balance",
        "results": "Results by outcome family",
        "heterogeneity": "Heterogeneity",
        "robustness": "Robustness",
        "results_framework": "Results framework",
        "methods": "Methods notes",
    }
)


@dataclass(frozen=True)
class FigureItem:
    """A figure with its caption and the function that drew it.

    Attributes
    ----------
    name : str
        File stem (``"coefficients_employability"``).
    figure : matplotlib.figure.Figure
        The figure (from :mod:`evaluation.reporting.figures`).
    caption : str
        Caption text (the report adds the number).
    producer : str
        Function that drew it, for the manifest.
    notes : tuple of str
        Caption notes: N, clusters, SE type (the figure's own footer repeats them).
    """

    name: str
    figure: Figure
    caption: str
    producer: str
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check the figure type and freeze the notes."""
        if not isinstance(self.figure, Figure):
            msg = f"figure {self.name!r}: expected a matplotlib Figure"
            raise TypeError(msg)
        object.__setattr__(self, "notes", tuple(self.notes))


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (escaped when rendered).

    Attributes
    ----------
    text : str
        The text.
    heading : str
        Optional heading ('' for none).
    """

    text: str
    heading: str = ""


Item = PublishedTable | FigureItem | Paragraph


@dataclass(frozen=True)
class Section:
    """One section of the report.

    Attributes
    ----------
    key : str
        One of :data:`SECTIONS` (several ``results`` sections are allowed, one per family).
    items : tuple
        Gated tables (:class:`~evaluation.reporting.disclosure.PublishedTable`),
        :class:`FigureItem` and :class:`Paragraph` values, in order.
    title : str
        Heading; the section's standard title by default.
    """

    key: str
    items: tuple[Item, ...]
    title: str = ""

    def __post_init__(self) -> None:
        """Check the key and that every table passed the disclosure gate."""
        if self.key not in SECTIONS:
            msg = f"unknown report section {self.key!r}; expected one of {tuple(SECTIONS)}"
            raise ValueError(msg)
        items = tuple(self.items)
        for item in items:
            if not isinstance(item, PublishedTable | FigureItem | Paragraph):
                msg = (
                    f"section {self.key!r}: {type(item).__name__} is not a gated table, "
                    "FigureItem or Paragraph (tables pass disclosure.gate() first)"
                )
                raise TypeError(msg)
        object.__setattr__(self, "items", items)
        if not self.title:
            object.__setattr__(self, "title", SECTIONS[self.key])


@dataclass(frozen=True)
class Provenance:
    """Where the outputs come from: data, plan and code.

    Attributes
    ----------
    data_hash : str
        Hash of the input data (for example of the clean panel files).
    plan_hash : str
        ``AnalysisPlan.plan_hash``.
    commit : str
        Git commit of the code.
    source : str
        Plain description of the data.
    simulated : bool
        The data are the simulated demo world.
    seed : int or None
        The plan's seed.
    version : str
        Package version.
    """

    data_hash: str
    plan_hash: str
    commit: str
    source: str
    simulated: bool
    seed: int | None = None
    version: str = ""

    def inputs(self) -> str:
        """Return the inputs line used in the manifest.

        Returns
        -------
        str
            Short data hash, plan hash and commit.
        """
        return f"data {self.data_hash[:12]}, plan {self.plan_hash[:12]}, commit {self.commit[:12]}"


@dataclass(frozen=True)
class Report:
    """The whole report: sections in the standard order, provenance and deviations.

    Attributes
    ----------
    title : str
        Report title.
    sections : tuple of Section
        Sections; kept in the order of :data:`SECTIONS` (stable within a key).
    provenance : Provenance
        Data, plan and code behind every output.
    deviations : tuple
        Deviations from the registered plan, as mappings or objects (such as
        ``evaluation.plan.Deviation``) with ``id``, ``date``, ``who``, ``what``, ``why`` and
        ``changes``; printed in the design section.
    language : str
        ``"en"`` or ``"zh"`` (page language attribute).
    """

    title: str
    sections: tuple[Section, ...]
    provenance: Provenance
    deviations: tuple[Mapping[str, Any], ...] = ()
    language: str = "en"

    def __post_init__(self) -> None:
        """Order the sections and freeze the deviations."""
        order = {key: position for position, key in enumerate(SECTIONS)}
        ranked = sorted(enumerate(self.sections), key=lambda p: (order[p[1].key], p[0]))
        object.__setattr__(self, "sections", tuple(s for _, s in ranked))
        frozen = tuple(MappingProxyType(_deviation_fields(d)) for d in self.deviations)
        object.__setattr__(self, "deviations", frozen)
        names = [(type(i).__name__, i.name) for _, i in numbered_items(self)]
        duplicated = sorted({n for kind, n in names if names.count((kind, n)) > 1})
        if duplicated:
            msg = f"output names used twice: {duplicated}"
            raise ValueError(msg)


_DEVIATION_FIELDS = ("id", "date", "who", "what", "why", "changes")


def _deviation_fields(deviation: Any) -> dict[str, Any]:
    """Read a deviation from a mapping or an object with the same attributes (plan.Deviation)."""
    if isinstance(deviation, Mapping):
        return dict(deviation)
    return {f: getattr(deviation, f) for f in _DEVIATION_FIELDS if hasattr(deviation, f)}


def numbered_items(report: Report) -> list[tuple[str, PublishedTable | FigureItem]]:
    """Return every table and figure with its number (``Table 1``, ``Figure 1``, ...).

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    list of (str, PublishedTable or FigureItem)
        In order of appearance.
    """
    counts = {"Table": 0, "Figure": 0}
    out: list[tuple[str, PublishedTable | FigureItem]] = []
    for section in report.sections:
        for item in section.items:
            if isinstance(item, Paragraph):
                continue
            kind = "Table" if isinstance(item, PublishedTable) else "Figure"
            counts[kind] += 1
            out.append((f"{kind} {counts[kind]}", item))
    return out


def _deviations_html(deviations: Sequence[Mapping[str, Any]]) -> str:
    esc = html.escape
    if not deviations:
        return '<p class="note">No deviations from the analysis plan are recorded.</p>'
    rows = []
    for d in deviations:
        changes = "; ".join(f"{k} = {v!r}" for k, v in sorted(dict(d.get("changes", {})).items()))
        cells = [d.get("id", ""), d.get("date", ""), d.get("who", ""), d.get("what", "")]
        cells += [d.get("why", ""), changes]
        rows.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>" for h in ("ID", "Date", "Who", "What", "Why", "Changed parameters")
    )
    return (
        '<table class="evaluation" id="deviations"><caption>Deviations from the analysis plan'
        f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure_html(number: str, item: FigureItem, simulated: bool) -> str:
    esc = html.escape
    png = base64.b64encode(figure_bytes(item.figure, "png")).decode("ascii")
    notes = [*item.notes, *figure_notes(item.figure)]
    banner = '<div class="banner">SIMULATED DATA</div>' if simulated else ""
    note = f'<br><span class="note">{esc(" ".join(notes))}</span>' if notes else ""
    return (
        f'<figure id="figure-{esc(item.name)}">{banner}'
        f'<img src="data:image/png;base64,{png}" alt="{esc(number)}. {esc(item.caption)}">'
        f"<figcaption><strong>{esc(number)}.</strong> {esc(item.caption)}{note}</figcaption>"
        "</figure>"
    )


def report_html(report: Report) -> str:
    """Render the report as one self-contained HTML page.

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    str
        HTML with inline CSS, figures as PNG data URIs, no external references and no
        timestamps; a banner at the top of the page (repeated on every printed page) and above
        every figure and table when the data are simulated.
    """
    esc = html.escape
    p = report.provenance
    numbers = {id(item): number for number, item in numbered_items(report)}
    simulated_banner = (
        f'<div class="banner" role="note">{esc(text("note_simulated", report.language))}</div>'
        if p.simulated
        else ""
    )
    toc = "".join(
        f'<li><a href="#section-{i}">{esc(s.title)}</a></li>'
        for i, s in enumerate(report.sections, start=1)
    )
    body = []
    for i, section in enumerate(report.sections, start=1):
        parts = [f'<section id="section-{i}"><h2>{i}. {esc(section.title)}</h2>']
        if section.key == "design":
            parts.append(_deviations_html(report.deviations))
        for item in section.items:
            if isinstance(item, Paragraph):
                heading = f"<h3>{esc(item.heading)}</h3>" if item.heading else ""
                parts.append(f"{heading}<p>{esc(item.text)}</p>")
            elif isinstance(item, PublishedTable):
                banner = "SIMULATED DATA" if p.simulated else ""
                parts.append(table_html(item, numbers[id(item)], banner=banner))
            else:
                parts.append(_figure_html(numbers[id(item)], item, p.simulated))
        parts.append("</section>")
        body.append("".join(parts))
    seed = "" if p.seed is None else f"; seed {p.seed}"
    footer = (
        f"evaluation {esc(p.version)} at commit {esc(p.commit)}; analysis plan "
        f"{esc(p.plan_hash)}; data {esc(p.data_hash)}{esc(seed)}. Source: {esc(p.source)}."
    )
    style = CSS + (
        "body>.banner{position:sticky;top:0;z-index:1}"
        # A contents link scrolls its section below the sticky banner, not under it.
        "section{scroll-margin-top:3rem}"
        "@media print{body>.banner{position:fixed;top:0;left:0;right:0}body{padding-top:2.5rem}}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(report.language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(report.title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
        f"{simulated_banner}\n<header><h1>{esc(report.title)}</h1>"
        f'<p class="note">{footer}</p></header>\n'
        f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>\n<main>\n"
        + "\n".join(body)
        + f'\n</main>\n<footer class="note"><p>{footer}</p></footer>\n</body>\n</html>\n'
    )


@dataclass(frozen=True)
class OutputRecord:
    """One written output, for the manifest.

    Attributes
    ----------
    path : str
        Path relative to the output folder, with ``/`` separators.
    description : str
        What it is (``"Table 3. Balance at baseline by arm (csv)"``).
    producer : str
        Function that made it.
    inputs : str
        Inputs behind it (data hash, plan hash, commit).
    """

    path: str
    description: str
    producer: str
    inputs: str


def manifest_markdown(records: Sequence[OutputRecord], provenance: Provenance) -> str:
    """Write the manifest of every output (``MANIFEST.md``).

    Parameters
    ----------
    records : sequence of OutputRecord
        The outputs.
    provenance : Provenance
        Data, plan and code of the run.

    Returns
    -------
    str
        Markdown: the run's inputs, then one table row per output sorted by path.
    """
    lines = [
        "# Output manifest",
        "",
        (
            "Generated: do not edit. Every output of the run, with the function and the inputs "
            "that made it. Identical inputs give byte-identical files."
        ),
        "",
        f"- Data: `{provenance.data_hash}` ({provenance.source})",
        f"- Analysis plan: `{provenance.plan_hash}`",
        f"- Code: evaluation {provenance.version} at commit `{provenance.commit}`",
    ]
    if provenance.seed is not None:
        lines.append(f"- Seed: {provenance.seed}")
    if provenance.simulated:
        lines.append("- **Simulated data** (the demo world): not survey responses.")
    lines += ["", "| Output | What | Made by | Inputs |", "|---|---|---|---|"]
    for r in sorted(records, key=lambda r: r.path):
        row = [f"`{r.path}`", r.description, f"`{r.producer}`", r.inputs]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"
