r"""The I/O edge of reporting: tables, figures, the workbook, the report and the manifest as files.

Writers accept only gated tables (:class:`~evaluation.reporting.disclosure.PublishedTable`) and
write deterministic bytes: no timestamps (the workbook's are fixed), sorted manifests, figures
without dates or software stamps, Unix line ends and UTF-8.
"""

from __future__ import annotations

import io
import math
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from evaluation._xlsx import reproducible_zip
from evaluation.reporting.disclosure import SUPPRESSED, PublishedTable
from evaluation.reporting.render import (
    check_published,
    display_rows,
    figure_bytes,
    table_csv,
    table_html,
    table_latex,
    table_markdown,
)
from evaluation.reporting.report import (
    FigureItem,
    OutputRecord,
    Report,
    manifest_markdown,
    numbered_items,
    report_html,
)
from evaluation.reporting.text import text

__all__ = [
    "FIGURE_FORMATS",
    "TABLE_FORMATS",
    "workbook_bytes",
    "write_figure",
    "write_report",
    "write_table",
    "write_workbook",
]

TABLE_FORMATS = ("csv", "md", "html", "tex")
FIGURE_FORMATS = ("png", "svg")
_NUMBER_FORMATS = {
    "count": "#,##0",
    "number": "0.000",
    "se": "(0.000)",
    "pvalue": "0.000",
    "percent": "0.0%",
}


def _write(path: pathlib.Path, content: str | bytes) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    return path


def write_table(
    table: PublishedTable,
    directory: str | os.PathLike[str],
    *,
    number: str | None = None,
    formats: Sequence[str] = TABLE_FORMATS,
    banner: str = "",
) -> list[pathlib.Path]:
    """Write one gated table as CSV, Markdown, HTML and LaTeX.

    Parameters
    ----------
    table : PublishedTable
        A table that passed the disclosure gate.
    directory : path-like
        Output folder (created when missing).
    number : str, optional
        Caption number (``"Table 3"``).
    formats : sequence of str, optional
        Any of ``csv``, ``md``, ``html``, ``tex``.
    banner : str, optional
        Warning above the table in Markdown, HTML and LaTeX (the simulated-data banner); CSV
        files stay plain data.

    Returns
    -------
    list of pathlib.Path
        Written files, ``<name>.<format>``.

    Raises
    ------
    TypeError
        The table did not pass the gate.
    ValueError
        Unknown format.
    """
    table = check_published(table)
    unknown = sorted(set(formats) - set(TABLE_FORMATS))
    if unknown:
        msg = f"unknown table format(s) {unknown}; expected any of {TABLE_FORMATS}"
        raise ValueError(msg)
    renderers = {
        "csv": lambda: table_csv(table),
        "md": lambda: table_markdown(table, number, banner=banner),
        "html": lambda: table_html(table, number, standalone=True, banner=banner),
        "tex": lambda: table_latex(table, number, banner=banner),
    }
    folder = pathlib.Path(directory)
    return [_write(folder / f"{table.name}.{fmt}", renderers[fmt]()) for fmt in formats]


def write_figure(
    figure: Any,
    directory: str | os.PathLike[str],
    name: str,
    *,
    formats: Sequence[str] = FIGURE_FORMATS,
) -> list[pathlib.Path]:
    """Write a figure as PNG and SVG with deterministic bytes.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    directory : path-like
        Output folder.
    name : str
        File stem.
    formats : sequence of str, optional
        ``png`` and/or ``svg``.

    Returns
    -------
    list of pathlib.Path
        Written files.
    """
    folder = pathlib.Path(directory)
    return [_write(folder / f"{name}.{fmt}", figure_bytes(figure, fmt)) for fmt in formats]


def _sheet_title(name: str, taken: set[str]) -> str:
    base = "".join(ch if ch not in "[]:*?/\\" else "_" for ch in name)[:31]
    title, k = base, 2
    while title.lower() in taken:
        suffix = f"_{k}"
        title, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(title.lower())
    return title


def _cell_value(table: PublishedTable, row: int, column: Any, shown: str) -> Any:
    if shown == SUPPRESSED or column.kind in ("text", "interval"):
        return shown
    value = table.table.frame.at[row, column.sources[0]]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return shown
    if not math.isfinite(number):
        return shown or None
    return int(number) if column.kind == "count" else number


def workbook_bytes(tables: Iterable[tuple[str, PublishedTable]], *, banner: str = "") -> bytes:
    """Build one Excel workbook holding every table, with a contents sheet.

    Parameters
    ----------
    tables : iterable of (str, PublishedTable)
        Numbers (``"Table 1"``) and gated tables, in order.
    banner : str, optional
        Warning written above every sheet (the simulated-data banner).

    Returns
    -------
    bytes
        The ``.xlsx`` file with fixed timestamps. Numbers are stored as numbers with display
        formats; suppressed cells hold ``[c]``; notes follow each table.

    Raises
    ------
    TypeError
        A table did not pass the gate.
    """
    book = Workbook()
    contents = book.active
    contents.title = "Contents"
    if banner:
        contents.append([banner])
        contents.cell(1, 1).font = Font(bold=True, color="B3470F")
    contents.append(["Table", "Title", "Sheet"])
    for cell in contents[contents.max_row]:
        cell.font = Font(bold=True)
    taken = {"contents"}
    for number, given in tables:
        table = check_published(given)
        sheet = book.create_sheet(_sheet_title(table.name, taken))
        contents.append([number, table.title, sheet.title])
        columns = table.table.columns
        if banner:
            sheet.append([banner])
            sheet.cell(1, 1).font = Font(bold=True, color="B3470F")
        sheet.append([f"{number}. {table.title}"])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append([c.group for c in columns])
        sheet.append([c.label for c in columns])
        for cell in (*sheet[sheet.max_row - 1], *sheet[sheet.max_row]):
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for row, (group, cells) in enumerate(display_rows(table)):
            if group is not None:
                sheet.append([group])
                sheet.cell(sheet.max_row, 1).font = Font(italic=True)
            values = [_cell_value(table, row, c, s) for c, s in zip(columns, cells, strict=True)]
            sheet.append(values)
            for k, column in enumerate(columns, start=1):
                fmt = _NUMBER_FORMATS.get(column.kind)
                if fmt and column.digits is not None and column.kind == "number":
                    fmt = "0" if column.digits == 0 else "0." + "0" * column.digits
                if fmt:
                    sheet.cell(sheet.max_row, k).number_format = fmt
        sheet.append([])
        for note in table.notes:
            sheet.append([note])
        for k, column in enumerate(columns, start=1):
            width = max(len(column.label), len(column.group) // 2, 8) + 2
            sheet.column_dimensions[get_column_letter(k)].width = min(width, 40)
    contents.column_dimensions["B"].width = 70
    buffer = io.BytesIO()
    book.save(buffer)
    return reproducible_zip(buffer.getvalue())


def write_workbook(
    tables: Iterable[tuple[str, PublishedTable]],
    path: str | os.PathLike[str],
    *,
    banner: str = "",
) -> pathlib.Path:
    """Write every table into one Excel workbook.

    Parameters
    ----------
    tables : iterable of (str, PublishedTable)
        Numbers and gated tables, in order.
    path : path-like
        The ``.xlsx`` file.
    banner : str, optional
        Warning written above every sheet (the simulated-data banner).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    return _write(pathlib.Path(path), workbook_bytes(tables, banner=banner))


def _clear(folder: pathlib.Path, suffixes: Iterable[str], keep: set[pathlib.Path]) -> None:
    """Remove stale outputs of an earlier run from a folder this module owns."""
    if not folder.is_dir():
        return
    wanted = {f".{s}" for s in suffixes}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in wanted and path not in keep:
            path.unlink()


def write_report(report: Report, directory: str | os.PathLike[str]) -> list[OutputRecord]:
    """Write the whole report: tables, workbook, figures, ``index.html`` and ``MANIFEST.md``.

    Parameters
    ----------
    report : Report
        The report (its tables already gated).
    directory : path-like
        The output folder (``reports/``).

    Returns
    -------
    list of OutputRecord
        Every file written (the manifest lists them all, sorted by path).

    Notes
    -----
    Layout: ``tables/<name>.{csv,md,html,tex}``, ``tables/tables.xlsx``,
    ``figures/<name>.{png,svg}``, ``index.html``, ``MANIFEST.md``. Files left in ``tables/``
    and ``figures/`` by an earlier run and not part of this report are removed, so the folder
    holds exactly what the manifest lists; other files in ``directory`` are left alone.
    """
    root = pathlib.Path(directory)
    inputs = report.provenance.inputs()
    banner = text("note_simulated", report.language) if report.provenance.simulated else ""
    records: list[OutputRecord] = []
    written: set[pathlib.Path] = set()
    items = numbered_items(report)
    gated: list[tuple[str, PublishedTable]] = []
    for number, item in items:
        if isinstance(item, PublishedTable):
            gated.append((number, item))
            for path in write_table(item, root / "tables", number=number, banner=banner):
                written.add(path)
                records.append(
                    OutputRecord(
                        path=path.relative_to(root).as_posix(),
                        description=f"{number}. {item.title} ({path.suffix[1:]})",
                        producer=item.table.producer or "evaluation.reporting.tables",
                        inputs=inputs,
                    )
                )
        elif isinstance(item, FigureItem):
            for path in write_figure(item.figure, root / "figures", item.name):
                written.add(path)
                records.append(
                    OutputRecord(
                        path=path.relative_to(root).as_posix(),
                        description=f"{number}. {item.caption} ({path.suffix[1:]})",
                        producer=item.producer,
                        inputs=inputs,
                    )
                )
    if gated:
        workbook = write_workbook(gated, root / "tables" / "tables.xlsx", banner=banner)
        written.add(workbook)
        records.append(
            OutputRecord(
                "tables/tables.xlsx",
                "Every table in one Excel workbook",
                "evaluation.reporting.writers.write_workbook",
                inputs,
            )
        )
    _clear(root / "tables", (*TABLE_FORMATS, "xlsx"), written)
    _clear(root / "figures", FIGURE_FORMATS, written)
    _write(root / "index.html", report_html(report))
    records.append(
        OutputRecord(
            "index.html",
            f"The evaluation report: {report.title}",
            "evaluation.reporting.report.report_html",
            inputs,
        )
    )
    records.append(
        OutputRecord(
            "MANIFEST.md",
            "This manifest",
            "evaluation.reporting.report.manifest_markdown",
            inputs,
        )
    )
    _write(root / "MANIFEST.md", manifest_markdown(records, report.provenance))
    return records
