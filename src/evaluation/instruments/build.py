"""Everything a survey team needs for each form, built in one pure step.

:func:`build_outputs` turns built instruments into named files (bytes): the deployable XLSForm,
the codebook (Markdown and CSV), the printable bilingual questionnaire and, where the instrument
tags back-check items, the back-check form. :func:`evaluation.instruments.files.write_outputs`
writes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.codebook import codebook_csv, codebook_markdown, status_line
from evaluation.instruments.model import Instrument
from evaluation.instruments.printable import printable_html
from evaluation.instruments.xlsform import to_xlsform

__all__ = ["build_outputs", "form_files"]


def form_files(form: Instrument) -> dict[str, bytes]:
    """Return the files of one form.

    Parameters
    ----------
    form : Instrument
        The instrument round.

    Returns
    -------
    dict
        ``<form_id>.xlsx``, ``<form_id>.codebook.md``, ``<form_id>.codebook.csv`` and
        ``<form_id>.html``.
    """
    stem = form.form_id
    return {
        f"{stem}.xlsx": to_xlsform(form),
        f"{stem}.codebook.md": codebook_markdown(form).encode("utf-8"),
        f"{stem}.codebook.csv": codebook_csv(form),
        f"{stem}.html": printable_html(form).encode("utf-8"),
    }


def build_outputs(forms: Mapping[tuple[str, str], Instrument]) -> dict[str, bytes]:
    """Build every file for every form, plus an index.

    Parameters
    ----------
    forms : Mapping
        ``(instrument, round)`` to form.

    Returns
    -------
    dict
        Relative file name to content: the files of :func:`form_files` for each form and for
        each back-check form, and ``index.md`` listing them with their status.

    Notes
    -----
    Deterministic: the same definitions give byte-identical files.
    """
    files: dict[str, bytes] = {}
    lines = [
        "# Instruments",
        "",
        "| instrument | round | form | questions | status | files |",
        "|---|---|---|---|---|---|",
    ]
    for (family, round_name), form in forms.items():
        built = form_files(form)
        if any(q.backcheck for q, _ in form.walk()):
            built.update(form_files(backcheck_instrument(form)))
        files.update(built)
        count = sum(1 for q, _ in form.walk() if q.asks_respondent)
        listing = ", ".join(f"`{name}`" for name in sorted(built))
        lines.append(
            f"| {family} | {round_name} | `{form.form_id}` v{form.version} | {count} | "
            f"{status_line(form)} | {listing} |"
        )
    files["index.md"] = ("\n".join(lines) + "\n").encode("utf-8")
    return files
