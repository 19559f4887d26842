"""Reporting: tables, figures, the disclosure gate, the HTML report and the output manifest.

Tables are built from tidy results (:mod:`~evaluation.reporting.tables`), pass the one
disclosure gate (:func:`~evaluation.reporting.disclosure.gate`) and are rendered
(:mod:`~evaluation.reporting.render`) and written (:mod:`~evaluation.reporting.writers`) only
as gated tables. Figures (:mod:`~evaluation.reporting.figures`) take data and return matplotlib
figures. :mod:`~evaluation.reporting.report` assembles the self-contained HTML report and the
manifest. This stage knows the estimation layer's result types, never the data stages.
"""

from evaluation.reporting import figures, tables
from evaluation.reporting.disclosure import DisclosureError, PublishedTable, gate
from evaluation.reporting.report import (
    FigureItem,
    OutputRecord,
    Paragraph,
    Provenance,
    Report,
    Section,
    manifest_markdown,
    report_html,
)
from evaluation.reporting.tables import Column, Table
from evaluation.reporting.writers import (
    write_figure,
    write_report,
    write_table,
    write_workbook,
)

__all__ = [
    "Column",
    "DisclosureError",
    "FigureItem",
    "OutputRecord",
    "Paragraph",
    "Provenance",
    "PublishedTable",
    "Report",
    "Section",
    "Table",
    "figures",
    "gate",
    "manifest_markdown",
    "report_html",
    "tables",
    "write_figure",
    "write_report",
    "write_table",
    "write_workbook",
]
