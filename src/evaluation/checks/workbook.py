"""The I/O edge of the checks: read ``checks.toml`` and a raw folder, write the outputs.

:func:`output_files` turns :class:`~evaluation.checks.findings.Findings` into the bytes of every
output, with no date in them (the report pipeline embeds these): an Excel workbook with one
formatted sheet per check and per summary table (frozen header, filters, severity colouring,
column widths, percent formats), the findings and tables as CSV, and a one-page HTML summary
with plots (submissions per day, durations per enumerator). :func:`write_outputs` writes them
into a dated folder, as the command line does. The same findings give byte-identical files.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import inspect
import io
import os
import pathlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation._xlsx import reproducible_zip
from evaluation.checks.config import CheckConfig, ConfigError, parse_config
from evaluation.checks.findings import CHECKS, FINDING_COLUMNS, SEVERITIES, Findings
from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.model import Instrument
from evaluation.loaders.errors import SourcesConfigError
from evaluation.loaders.files import read_sources_toml
from evaluation.loaders.frame import read_sample_frame
from evaluation.loaders.read import LoadedSources, read_round, read_sources
from evaluation.loaders.sources import FrameSource

__all__ = [
    "TABLE_ORDER",
    "WORKBOOK",
    "output_files",
    "read_config",
    "read_raw",
    "sample_source",
    "summary_html",
    "workbook_bytes",
    "write_outputs",
]

#: Name of the workbook in the output folder.
WORKBOOK = "hfc_output.xlsx"
#: Summary tables in workbook order (after the findings sheets); others follow alphabetically.
TABLE_ORDER = (
    "overview",
    "ids_groups",
    "unique_groups",
    "versions",
    "versions_by_day",
    "missing_by_variable",
    "special_forms",
    "outlier_values",
    "skip_logic_by_variable",
    "specify_by_parent",
    "other_by_enumerator",
    "enumerators",
    "productivity",
    "interview_durations",
    "durations_by_enumerator",
    "activity_by_hour",
    "activity_by_enumerator_hour",
    "survey",
    "survey_by_day",
    "survey_by_city",
    "progress_by_group",
    "progress_units",
    "bc_comparisons",
    "bc_enumerators",
    "bc_backcheckers",
    "bc_variables",
)
_FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
_HEADER_FILL = "1F4E78"
_MAX_WIDTH = 60
_PERCENT_PREFIXES = ("pct_", "error_rate", "share_")
_PLOT_DPI = 100


def read_config(path: str | os.PathLike[str]) -> CheckConfig:
    """Read a ``checks.toml``.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    CheckConfig
        The settings.

    Raises
    ------
    ConfigError
        When the file is missing or invalid (see :func:`~evaluation.checks.config.parse_config`).
    """
    file = pathlib.Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such checks configuration file") from None
    return parse_config(text, str(file))


def read_raw(
    raw_dir: str | os.PathLike[str],
    instruments: Mapping[tuple[str, str], Instrument] | str | os.PathLike[str],
    *,
    sample: str | os.PathLike[str] | None = None,
    backchecks: str | os.PathLike[str] | None = None,
) -> LoadedSources:
    """Read a raw folder, optionally with another sample frame or back-check file.

    Parameters
    ----------
    raw_dir : path-like
        The raw folder with its ``sources.toml``.
    instruments : Mapping or path-like
        The built forms, or the ``surveys/`` folder to build them from.
    sample : path-like, optional
        A sample frame to read instead of the declared one, with the declared ``[sample_frame]``
        settings (key, treatment, strata, format); without a declaration, a UTF-8 CSV with
        ``,`` (or an ``.xlsx`` workbook) keyed by ``resp_id``.
    backchecks : path-like, optional
        A back-check export to read instead of the one declared under ``[[backchecks]]``, with
        its declaration (format, encoding, instrument and round).

    Returns
    -------
    LoadedSources
        The rounds, back-checks and sample frame (the manifest only without replacements).

    Raises
    ------
    SourcesConfigError
        When ``backchecks`` is given but ``sources.toml`` declares no or several back-check
        exports (their format cannot be guessed), or a declared file is missing.
    SourceFormatError
        From the loaders, when a file cannot be read.
    """
    if not isinstance(instruments, Mapping):
        from evaluation.instruments.files import read_instruments

        instruments = read_instruments(instruments)
    if sample is None and backchecks is None:
        return read_sources(raw_dir, instruments)
    sources = read_sources_toml(raw_dir)

    def form(instrument: str, round_name: str) -> Instrument:  # numpydoc ignore=GL08
        try:
            return instruments[(instrument, round_name)]
        except KeyError:
            msg = f"sources.toml names {instrument!r} round {round_name!r}, which is not defined"
            raise SourcesConfigError(msg) from None

    rounds = tuple(read_round(s, form(s.instrument, s.round)) for s in sources.files)
    declared_bc = sources.backchecks
    if backchecks is not None:
        if len(declared_bc) != 1:
            msg = (
                f"--backchecks {backchecks}: sources.toml must declare exactly one [[backchecks]] "
                f"entry (its format, encoding, instrument and round); it declares "
                f"{len(declared_bc)}"
            )
            raise SourcesConfigError(msg)
        path = pathlib.Path(backchecks)
        declared_bc = (dataclasses.replace(declared_bc[0], path=path, name=str(path)),)
    bc_rounds = tuple(
        read_round(s, backcheck_instrument(form(s.instrument, s.round))) for s in declared_bc
    )
    frame_source = sources.sample_frame
    if sample is not None:
        frame_source = sample_source(sample, frame_source)
    frame = read_sample_frame(frame_source) if frame_source is not None else None
    return LoadedSources(rounds=rounds, backchecks=bc_rounds, sample_frame=frame)


def sample_source(path: str | os.PathLike[str], declared: FrameSource | None) -> FrameSource:
    """Declare a sample frame file like another declaration, or with defaults.

    Parameters
    ----------
    path : path-like
        The file.
    declared : FrameSource or None
        The declaration to copy (key, treatment, strata, format, encoding).

    Returns
    -------
    FrameSource
        ``declared`` with the new path; without one, a UTF-8 CSV with ``,`` (or an ``.xlsx``
        workbook) keyed by ``resp_id``.
    """
    file = pathlib.Path(path)
    if declared is not None:
        return dataclasses.replace(declared, path=file, name=str(file))
    if file.suffix.lower() == ".xlsx":
        return FrameSource(name=str(file), path=file, format="xlsx")
    return FrameSource(name=str(file), path=file, format="csv", encoding="utf-8", delimiter=",")


# --------------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------------


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return str(value)
    return str(value)


def _sheet(workbook, name: str, table: pd.DataFrame, *, severity: bool) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(name[:31])
    columns = [str(c) for c in table.columns]
    sheet.append(columns)
    for row in table.itertuples(index=False, name=None):
        sheet.append([_cell(v) for v in row])
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", start_color=_HEADER_FILL, end_color=_HEADER_FILL)
    for cell in sheet[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=False)
    sheet.freeze_panes = "A2"
    last_row = max(len(table) + 1, 1)
    last_col = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last_col}{last_row}"
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        values = table.iloc[:, i - 1]
        lengths = values.astype(object).where(values.notna(), "").astype(str).str.len()
        longest = int(lengths.max()) if len(lengths) else 0
        width = min(max(len(column), longest) + 2, _MAX_WIDTH)
        sheet.column_dimensions[letter].width = width
        if column.startswith(_PERCENT_PREFIXES):
            fmt = "0.0%"
        elif pd.api.types.is_float_dtype(values):
            fmt = "0.00"
        else:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, max_row=last_row, min_col=i, max_col=i):
            cell.number_format = fmt
    if severity and "severity" in columns and len(table):
        at = get_column_letter(columns.index("severity") + 1)
        area = f"A2:{last_col}{last_row}"
        for level, colour in _FILLS.items():
            fill = PatternFill("solid", start_color=colour, end_color=colour)
            sheet.conditional_formatting.add(
                area, FormulaRule(formula=[f'${at}2="{level}"'], fill=fill)
            )


def _table_names(findings: Findings) -> list[str]:
    known = [t for t in TABLE_ORDER if t in findings.tables]
    return known + sorted(t for t in findings.tables if t not in TABLE_ORDER)


def workbook_bytes(findings: Findings) -> bytes:
    """Return the checks workbook as bytes.

    Parameters
    ----------
    findings : Findings
        The findings of a run.

    Returns
    -------
    bytes
        An ``.xlsx`` workbook: ``summary`` (findings by form, check and severity), one sheet per
        check of :data:`~evaluation.checks.findings.CHECKS` with its findings (header only when
        there are none), then one sheet per summary table (:data:`TABLE_ORDER`). Every sheet has
        a frozen, filtered header row and fitted column widths; findings rows are coloured by
        severity; rates are formatted as percentages. Timestamps are fixed, so equal findings
        give equal bytes.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, "summary", findings.counts(), severity=False)
    for check in CHECKS:
        _sheet(workbook, check, findings.of(check), severity=True)
    for name in _table_names(findings):
        _sheet(workbook, name, findings.tables[name], severity=False)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return reproducible_zip(buffer.getvalue())


# --------------------------------------------------------------------------------------------
# HTML summary
# --------------------------------------------------------------------------------------------


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_PLOT_DPI, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(findings: Findings, note: str | None) -> list[tuple[str, str]]:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    plots = []
    suffix = f" - {note}" if note else ""
    by_day = findings.tables.get("survey_by_day")
    if by_day is not None and len(by_day):
        days = by_day[by_day["day"] != ""]
        pivot = days.pivot_table(
            index="day", columns="form", values="submissions", aggfunc="sum", fill_value=0
        ).sort_index()
        if len(pivot):
            figure, axes = plt.subplots(figsize=(8, 3.2))
            bottom = np.zeros(len(pivot))
            for form in pivot.columns:
                axes.bar(range(len(pivot)), pivot[form].to_numpy(), bottom=bottom, label=form)
                bottom += pivot[form].to_numpy()
            step = max(1, len(pivot) // 12)
            axes.set_xticks(range(0, len(pivot), step))
            axes.set_xticklabels(list(pivot.index[::step]), rotation=45, ha="right", fontsize=8)
            axes.set_ylabel("submissions")
            axes.set_title(f"Submissions per day (N = {int(bottom.sum())}){suffix}")
            axes.legend(fontsize=8)
            figure.tight_layout()
            plots.append(("Submissions per day", _png(figure)))
            plt.close(figure)
    durations = findings.tables.get("interview_durations")
    if durations is not None and len(durations):
        several = durations["form"].nunique() > 1
        groups = durations.groupby(["form", "enumerator"], sort=True)["minutes"]
        names = list(groups.groups)
        labels = [f"{e or '(none)'} {f}" if several else (e or "(none)") for f, e in names]
        figure, axes = plt.subplots(figsize=(8, max(2.5, 0.22 * len(names) + 1)))
        horizontal = (
            {"orientation": "horizontal"}
            if "orientation" in inspect.signature(axes.boxplot).parameters
            else {"vert": False}  # matplotlib < 3.10
        )
        axes.boxplot(
            [groups.get_group(n).to_numpy() for n in names],
            tick_labels=labels,
            showfliers=True,
            **horizontal,
        )
        axes.set_xlabel("minutes (completed interviews)")
        axes.set_title(f"Interview duration per enumerator (N = {len(durations)}){suffix}")
        axes.tick_params(axis="y", labelsize=7)
        figure.tight_layout()
        plots.append(("Durations per enumerator", _png(figure)))
        plt.close(figure)
    return plots


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.itertuples(index=False, name=None):
        cells = "".join(
            f"<td>{html.escape('' if _cell(v) is None else str(_cell(v)))}</td>" for v in record
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def summary_html(
    findings: Findings,
    *,
    title: str = "High-frequency checks",
    top: int = 30,
    note: str | None = None,
) -> str:
    """Return the one-page HTML summary.

    Parameters
    ----------
    findings : Findings
        The findings of a run.
    title : str, optional
        The page title.
    top : int, optional
        How many errors and warnings to list.
    note : str, optional
        A banner shown at the top of the page and in every plot's title (for example
        ``"Synthetic demo data"``).

    Returns
    -------
    str
        A self-contained page: counts by form, check and severity, the first ``top`` errors and
        warnings, and the plots (PNG embedded) of submissions per day and durations per
        enumerator.
    """
    counts = findings.counts()
    urgent = findings.findings[findings.findings["severity"].isin(SEVERITIES[:2])]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        (
            "<style>body{font-family:sans-serif;max-width:960px;margin:auto}"
            "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
            "padding:2px 6px}th{background:#1f4e78;color:#fff}</style></head><body>"
        ),
        f"<h1>{html.escape(title)}</h1>",
        f'<p style="color:#9c0006"><strong>{html.escape(note)}</strong></p>' if note else "",
        f"<p>{len(findings.findings)} findings: "
        + ", ".join(f"{int((findings.findings['severity'] == s).sum())} {s}" for s in SEVERITIES)
        + ". Only pseudonymous keys and enumerator IDs are shown.</p>",
        "<h2>Findings by check</h2>",
        _html_table(counts) if len(counts) else "<p>No findings.</p>",
    ]
    for name, png in _plots(findings, note):
        parts += [
            f"<h2>{html.escape(name)}</h2>",
            f'<img alt="{html.escape(name)}" src="data:image/png;base64,{png}">',
        ]
    parts += [
        f"<h2>First {min(top, len(urgent))} of {len(urgent)} errors and warnings</h2>",
        _html_table(urgent.head(top)[list(FINDING_COLUMNS)]) if len(urgent) else "<p>None.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")


def output_files(findings: Findings, *, note: str | None = None) -> dict[str, bytes]:
    """Return every output of a run as bytes, without dates.

    Parameters
    ----------
    findings : Findings
        The findings of a run.
    note : str, optional
        A banner for the HTML page and its plots (``"Synthetic demo data"``).

    Returns
    -------
    dict
        ``hfc_output.xlsx``, ``findings.csv`` (UTF-8), ``tables/<name>.csv`` for every summary
        table and ``summary.html``.
    """
    files = {WORKBOOK: workbook_bytes(findings), "findings.csv": _csv(findings.findings)}
    for name in _table_names(findings):
        files[f"tables/{name}.csv"] = _csv(findings.tables[name])
    files["summary.html"] = summary_html(findings, note=note).encode("utf-8")
    return files


def write_outputs(
    findings: Findings, out: str | os.PathLike[str], *, day: dt.date, note: str | None = None
) -> pathlib.Path:
    """Write the outputs into a dated folder.

    Parameters
    ----------
    findings : Findings
        The findings of a run.
    out : path-like
        The output folder; the files go into ``<out>/<YYYY-MM-DD>/`` (replaced when it exists).
    day : datetime.date
        The date of the run (the only date in the outputs: the folder's name).
    note : str, optional
        A banner for the HTML page and its plots (``"Synthetic demo data"``).

    Returns
    -------
    pathlib.Path
        The dated folder.
    """
    folder = pathlib.Path(out) / day.isoformat()
    for name, content in output_files(findings, note=note).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder
