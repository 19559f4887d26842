"""Reporting: tables, figures, the disclosure gate, the HTML report and the output manifest.

Tables are built from tidy results (:mod:`~evaluation.reporting.tables`), pass the one
disclosure gate (:func:`~evaluation.reporting.disclosure.gate`) and are rendered
(:mod:`~evaluation.reporting.render`) and written (:mod:`~evaluation.reporting.writers`) only
as gated tables. This stage knows the estimation layer's result types, never the data stages.
"""

from evaluation.reporting.disclosure import DisclosureError, PublishedTable, gate
from evaluation.reporting.tables import Column, Table

__all__ = ["Column", "DisclosureError", "PublishedTable", "Table", "gate"]
