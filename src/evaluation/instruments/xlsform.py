"""XLSForm export and import.

:func:`to_xlsform` compiles an :class:`~evaluation.instruments.model.Instrument` into a deployable
workbook (sheets ``survey``, ``choices``, ``settings``; columns ``label::English (en)``,
``label::Chinese (zh)``) for KoboToolbox, ODK Central or SurveyCTO. :func:`read_xlsform` imports
any XLSForm, the package's own or a partner's, into the model. The model's own fields that XLSForm
has no column for travel in extra columns that pyxform and the platforms ignore (``rounds``,
``pii``, ``backcheck``, ``source``, ``range``, ``soft_range``, ``special``, ``answer_key`` on the
survey sheet; ``special`` and ``exclusive`` on the choices sheet; ``instrument`` and ``round`` in
the settings; a ``special_codes`` sheet), so export followed by import is lossless. Answer keys
stay on the survey sheet, which pyxform does not copy into the XForm, so respondents' devices never
hold them.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import pathlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from evaluation._xlsx import reproducible_zip
from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.model import (
    CONTAINER_TYPES,
    Choice,
    ChoiceList,
    Instrument,
    Question,
    SpecialCode,
    Text,
    format_number,
    full_constraint,
    split_constraint,
)

__all__ = ["ImportResult", "read_xlsform", "to_xlsform", "xlsform_tables"]

# Survey columns in export order. Translatable ones are written once per language.
_TRANSLATABLE_SURVEY = ("label", "hint", "guidance_hint", "required_message", "constraint_message")
_SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "guidance_hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "appearance",
    "choice_filter",
    "repeat_count",
    "parameters",
    "read_only",
    "trigger",
)
# The model's own columns (ignored by pyxform and the platforms).
_MODEL_COLUMNS = (
    "range",
    "soft_range",
    "special",
    "rounds",
    "pii",
    "backcheck",
    "answer_key",
    "source",
)
_SETTINGS_KNOWN = ("form_title", "form_id", "version", "default_language", "instrument", "round")
_CORE_SHEETS = ("survey", "choices", "settings", "special_codes")

# Header aliases accepted on import (pyxform's own spellings), mapped to the model's names.
_HEADER_ALIASES = {
    "list name": "list_name",
    "caption": "label",
    "relevance": "relevant",
    "calculate": "calculation",
    "readonly": "read_only",
    "read only": "read_only",
    "constraint message": "constraint_message",
    "constraining_message": "constraint_message",
    "required message": "required_message",
    "requiredmsg": "required_message",
    "repeat count": "repeat_count",
    "count": "repeat_count",
    "jr:count": "repeat_count",
    "choice filter": "choice_filter",
    "guidance hint": "guidance_hint",
    "set form title": "form_title",
    "set_form_title": "form_title",
    "set form id": "form_id",
    "set_form_id": "form_id",
    "command": "type",
    "tag": "name",
    "value": "name",
}
_BEGIN = re.compile(r"^begin[\s_]+(group|repeat|loop|looped group|lgroup)(?:\s+over\s+(\S+))?$")
_END = re.compile(r"^end[\s_]+(group|repeat|loop|looped group|lgroup)$")
_LEGACY_SELECT = re.compile(
    r"^(select all that apply|select one|select_one|select_multiple|select multiple)"
    r"(?:\s+from)?\s+(\S+)(\s+or specify other|\s+or_other)?$"
)
_CONTAINER_ALIASES = {"looped group": "repeat", "lgroup": "repeat"}
_BEGIN_ROW, _END_ROW = "<begin>", "<end>"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """An imported XLSForm and what the model could not hold.

    Attributes
    ----------
    instrument : Instrument
        The form.
    notes : tuple of str
        Everything not interpreted: sheets not imported, columns kept verbatim, header spellings
        normalised, legacy syntax rewritten. Nothing is dropped without a note here.
    """

    instrument: Instrument
    notes: tuple[str, ...]


# --------------------------------------------------------------------------------------- export


def _column_languages(languages: Sequence[str]) -> list[str]:
    # pyxform reads an untranslated column ("label") correctly only before its translations.
    return sorted(languages, key=lambda tag: tag != "")


def _texts(field: str, text: Text, languages: Sequence[str]) -> dict[str, str]:
    return {
        f"{field}::{tag}" if tag else field: text.get(tag) or ""
        for tag in _column_languages(languages)
    }


def _pair(value: tuple[float, float] | None) -> str:
    return "" if value is None else f"{format_number(value[0])} {format_number(value[1])}"


def _survey_row(q: Question, form: Instrument) -> dict[str, str]:
    row: dict[str, str] = {"type": q.xlsform_type, "name": q.name}
    for field in _TRANSLATABLE_SURVEY:
        row.update(_texts(field, getattr(q, field), form.languages))
    constraint = full_constraint(q, form.special_codes)
    row.update(
        {
            "required": q.required or "",
            "relevant": q.relevant or "",
            "constraint": constraint or "",
            "calculation": q.calculation or "",
            "default": q.default or "",
            "appearance": q.appearance or "",
            "choice_filter": q.choice_filter or "",
            "repeat_count": q.repeat_count or "",
            "parameters": q.parameters or "",
            "read_only": q.read_only or "",
            "trigger": q.trigger or "",
            "range": _pair(q.value_range),
            "soft_range": _pair(q.soft_range),
            "special": " ".join(q.special),
            "rounds": " ".join(q.rounds),
            "pii": q.pii or "",
            "backcheck": q.backcheck or "",
            "answer_key": q.answer_key or "",
            "source": q.source or "",
        }
    )
    row.update(dict(q.extra))
    return row


def _survey_rows(questions: Iterable[Question], form: Instrument) -> list[dict[str, str]]:
    rows = []
    for q in questions:
        rows.append(_survey_row(q, form))
        if q.is_container:
            rows.extend(_survey_rows(q.children, form))
            rows.append({"type": f"end_{q.type}", "name": q.name})
    return rows


def _ordered_columns(rows: list[dict[str, str]], preferred: Sequence[str]) -> list[str]:
    present = {k for row in rows for k, v in row.items() if v != ""}
    columns = [c for c in preferred if c in present]
    for row in rows:
        for key in row:
            if key in present and key not in columns:
                columns.append(key)
    return columns


def _survey_preferred(languages: Sequence[str]) -> list[str]:
    preferred = []
    for column in _SURVEY_COLUMNS:
        if column in _TRANSLATABLE_SURVEY:
            preferred.extend(
                f"{column}::{t}" if t else column for t in _column_languages(languages)
            )
        else:
            preferred.append(column)
    return preferred + list(_MODEL_COLUMNS)


def xlsform_tables(form: Instrument) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Lay the form out as XLSForm sheets.

    Parameters
    ----------
    form : Instrument
        The instrument round to compile.

    Returns
    -------
    dict
        Sheet name to ``(header, rows)``, every cell a string; sheets ``survey``, ``choices``,
        ``settings`` and, when the form declares special codes, ``special_codes``.
    """
    survey = _survey_rows(form.questions, form)
    survey_header = _ordered_columns(survey, _survey_preferred(form.languages))
    survey_header = ["type", "name", *[c for c in survey_header if c not in ("type", "name")]]
    choices: list[dict[str, str]] = []
    for cl in form.choice_lists:
        for c in cl.choices:
            row = {"list_name": cl.name, "name": c.name}
            row.update(_texts("label", c.label, form.languages))
            row.update(dict(c.extra))
            row["special"] = c.special or ""
            row["exclusive"] = "yes" if c.exclusive and not c.special else ""
            choices.append(row)
    label_columns = [f"label::{t}" if t else "label" for t in _column_languages(form.languages)]
    choice_header = _ordered_columns(choices, ["list_name", "name", *label_columns])
    choice_header = [
        "list_name",
        "name",
        *[c for c in choice_header if c not in ("list_name", "name")],
    ]
    settings = {
        "form_title": form.title,
        "form_id": form.form_id,
        "version": form.version,
        "default_language": form.default_language or "",
        "instrument": form.instrument or "",
        "round": form.round or "",
    }
    settings.update(dict(form.settings))
    settings_header = [k for k, v in settings.items() if v != ""]
    tables = {
        "survey": (survey_header, [[r.get(c, "") for c in survey_header] for r in survey]),
        "choices": (choice_header, [[r.get(c, "") for c in choice_header] for r in choices]),
        "settings": (settings_header, [[settings[k] for k in settings_header]]),
    }
    if form.special_codes:
        header = ["key", "value", *label_columns]
        rows = [
            [
                code.key,
                str(code.value),
                *[code.label.get(t) or "" for t in _column_languages(form.languages)],
            ]
            for code in form.special_codes
        ]
        tables["special_codes"] = (header, rows)
    for name, rows in form.extra_sheets:
        if rows:
            tables[name] = (list(rows[0]), [list(r) for r in rows[1:]])
    return tables


def to_xlsform(form: Instrument) -> bytes:
    """Compile an instrument round into a deployable XLSForm workbook.

    Parameters
    ----------
    form : Instrument
        The instrument round.

    Returns
    -------
    bytes
        The ``.xlsx`` file, byte-for-byte reproducible: frozen header rows, filters and column
        widths for people who open it, and no timestamps.

    Notes
    -----
    Every generated form converts with pyxform and passes ODK Validate (tested). Numeric
    questions get the constraint ``(. >= lo and . <= hi and (own)) or . = <code> ...`` built by
    ``full_constraint`` in :mod:`evaluation.instruments.model`.
    """
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for sheet_name, (header, rows) in xlsform_tables(form).items():
        sheet = workbook.create_sheet(sheet_name)
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(v) for v in row])
        for cell in sheet[1]:
            cell.font = header_font
            cell.fill = header_fill
        sheet.freeze_panes = "C2" if sheet_name in ("survey", "choices") else "A2"
        if rows:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        for index, column in enumerate(header, start=1):
            width = max([len(column), *(len(r[index - 1]) for r in rows)], default=8)
            wrap = column.startswith(("label", "hint", "constraint_message", "source"))
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 60) + 2
            if wrap:
                for cells in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cells[0].alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return reproducible_zip(buffer.getvalue())


def _cell(value: str) -> str:
    # Everything is text in an XLSForm; a leading "=" would turn a cell into a formula.
    return value


# --------------------------------------------------------------------------------------- import


def _text_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows it, and as pyxform reads it
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return str(value)  # as pyxform reads a date cell
    return str(value)


def _normalise_header(raw: object, notes: list[str], sheet: str) -> str:
    text = _text_value(raw)
    header = text.strip()
    if header != text:
        notes.append(f"{sheet}: header {text!r} had surrounding spaces; read as {header!r}")
    base, sep, language = header.partition(":")
    if sep and language.startswith(":"):
        language = language[1:]
    elif sep and language:
        notes.append(
            f"{sheet}: single-colon language column {header!r} read as '{base}::{language}'"
        )
    base = base.strip().lower()
    if sheet != "special_codes":
        base = _HEADER_ALIASES.get(base, base)
    return f"{base}::{language.strip()}" if sep and language else base


def _sheet_rows(
    values: Sequence[tuple[object, ...]], title: str, notes: list[str]
) -> tuple[list[str], list[dict[str, str]]]:
    if not values:
        return [], []
    header = [_normalise_header(h, notes, title) if h is not None else "" for h in values[0]]
    rows = []
    for number, raw in enumerate(values[1:], start=2):
        row = {h: _text_value(v) for h, v in zip(header, raw, strict=False) if h}
        for key in ("type", "name", "list_name"):
            if key in row:
                row[key] = row[key].strip()
        if any(v.strip() for v in row.values()):
            row["__row__"] = str(number)
            rows.append(row)
    return [h for h in header if h], rows


def _languages(headers: Sequence[str]) -> list[str]:
    # Label columns first, then hints and messages, so the order survives a round trip even
    # when a language appears only in hints or only on the choices sheet.
    found: list[str] = []
    for field in _TRANSLATABLE_SURVEY:
        for h in headers:
            base, sep, tag = h.partition("::")
            language = tag if sep else ""
            if base == field and language not in found:
                found.append(language)
    return found


def _text_of(row: dict[str, str], field: str, languages: Sequence[str]) -> Text:
    items = []
    for tag in languages:
        value = row.get(f"{field}::{tag}" if tag else field, "")
        if value:
            items.append((tag, value))
    return Text(tuple(items))


def _parse_pair(value: str, where: str) -> tuple[float, float] | None:
    if not value:
        return None
    parts = value.split()
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise InstrumentError(f"{where}: expected 'lowest highest', got {value!r}") from None
    return (int(low) if low.is_integer() else low, int(high) if high.is_integer() else high)


def _parse_type(raw: str) -> tuple[str, str | None, bool, str | None]:
    """Return (kind, list_or_file, or_other, container) for a type cell; kind 'end' for end rows."""
    text = " ".join(raw.split())
    if match := _BEGIN.match(text):
        kind = _CONTAINER_ALIASES.get(match.group(1), match.group(1))
        return _BEGIN_ROW, match.group(2), False, kind
    if match := _END.match(text):
        return _END_ROW, None, False, _CONTAINER_ALIASES.get(match.group(1), match.group(1))
    if match := _LEGACY_SELECT.match(text):
        base = (
            "select_multiple"
            if "multiple" in match.group(1) or "all" in match.group(1)
            else "select_one"
        )
        return base, match.group(2), bool(match.group(3)), None
    words = text.split()
    if words[0] in {
        "rank",
        "select_one_from_file",
        "select_multiple_from_file",
        "select_one_external",
    }:
        return words[0], words[1] if len(words) > 1 else None, False, None
    return text, None, False, None


_KNOWN_FIELDS = {
    "type",
    "name",
    "required",
    "relevant",
    "constraint",
    "calculation",
    "default",
    "appearance",
    "choice_filter",
    "repeat_count",
    "parameters",
    "read_only",
    "trigger",
    *_MODEL_COLUMNS,
}


def _question_from_row(
    row: dict[str, str], languages: Sequence[str], codes: tuple[SpecialCode, ...], where: str
) -> Question:
    kind, list_name, or_other, _ = _parse_type(row.get("type", ""))
    value_range = _parse_pair(row.get("range", ""), f"{where} column range")
    special = tuple(row.get("special", "").split())
    constraint = row.get("constraint") or None
    if "range" in row or "special" in row:
        try:
            constraint = split_constraint(constraint, value_range, special, codes)
        except ValueError as err:
            raise InstrumentError(f"{where}: {err}") from None
    translatable = {f"{f}::{t}" if t else f for f in _TRANSLATABLE_SURVEY for t in languages}
    extra = tuple(
        (k, v)
        for k, v in row.items()
        if v and k != "__row__" and k not in _KNOWN_FIELDS and k not in translatable
    )
    return Question(
        name=row.get("name", ""),
        type=kind,
        list_name=list_name,
        or_other=or_other,
        label=_text_of(row, "label", languages),
        hint=_text_of(row, "hint", languages),
        guidance_hint=_text_of(row, "guidance_hint", languages),
        required=row.get("required") or None,
        required_message=_text_of(row, "required_message", languages),
        relevant=row.get("relevant") or None,
        constraint=constraint,
        constraint_message=_text_of(row, "constraint_message", languages),
        value_range=value_range,
        soft_range=_parse_pair(row.get("soft_range", ""), f"{where} column soft_range"),
        special=special,
        calculation=row.get("calculation") or None,
        default=row.get("default") or None,
        appearance=row.get("appearance") or None,
        choice_filter=row.get("choice_filter") or None,
        repeat_count=row.get("repeat_count") or None,
        parameters=row.get("parameters") or None,
        read_only=row.get("read_only") or None,
        trigger=row.get("trigger") or None,
        rounds=tuple(row.get("rounds", "").split()),
        pii=row.get("pii") or None,
        backcheck=row.get("backcheck") or None,
        source=row.get("source") or None,
        answer_key=row.get("answer_key") or None,
        extra=extra,
    )


def _build_tree(
    rows: list[dict[str, str]],
    languages: Sequence[str],
    codes: tuple[SpecialCode, ...],
    path: str,
    notes: list[str],
) -> tuple[Question, ...]:
    stack: list[tuple[Question, list[Question], str]] = []
    top: list[Question] = []
    for row in rows:
        where = f"{path} survey row {row['__row__']}"
        raw_type = row.get("type", "")
        if not raw_type:
            raise InstrumentError(f"{where}: row has no type")
        kind, list_name, _, container = _parse_type(raw_type)
        if _LEGACY_SELECT.match(" ".join(raw_type.split())) and not raw_type.startswith(
            ("select_one ", "select_multiple ")
        ):
            notes.append(f"{where}: legacy type {raw_type!r} read as {kind} {list_name}")
        if kind == _BEGIN_ROW:
            node = _question_from_row(row, languages, codes, where).replace(
                type=container, list_name=list_name
            )
            stack.append((node, [], where))
        elif kind == _END_ROW:
            if not stack:
                raise InstrumentError(f"{where}: 'end_{container}' without a matching begin")
            node, children, opened = stack.pop()
            if node.type != container:
                raise InstrumentError(
                    f"{where}: 'end_{container}' closes the {node.type} {node.name!r} opened at "
                    f"{opened}"
                )
            finished = node.replace(children=tuple(children))
            (stack[-1][1] if stack else top).append(finished)
        else:
            question = _question_from_row(row, languages, codes, where)
            (stack[-1][1] if stack else top).append(question)
    if stack:
        node, _, opened = stack[-1]
        raise InstrumentError(
            f"{path}: the {node.type} {node.name!r} opened at {opened} is never closed"
        )
    return tuple(top)


def read_xlsform(source: str | os.PathLike[str] | bytes) -> ImportResult:
    """Import an XLSForm into the instrument model.

    Parameters
    ----------
    source : path-like or bytes
        The ``.xlsx`` workbook.

    Returns
    -------
    ImportResult
        The instrument and notes on everything not interpreted (extra sheets, verbatim
        columns, normalised headers, rewritten legacy syntax).

    Raises
    ------
    InstrumentError
        When the workbook has no survey sheet, a row has no type, or groups are unbalanced; the
        message names the file, sheet and row.

    Notes
    -----
    Sheet and column names are matched case-insensitively and pyxform's header aliases are
    accepted. The workbook is read with python-calamine; formula cells through their cached
    values. Columns the model has no field
    for are kept verbatim on their question or choice (``extra``), and sheets other than
    ``survey``, ``choices``, ``settings`` and ``special_codes`` verbatim on the instrument
    (``extra_sheets``); both are listed in ``notes``. Nothing is dropped.
    """
    if isinstance(source, bytes):
        path, data = "<workbook>", source
    else:
        path, data = str(source), pathlib.Path(source).read_bytes()
    notes: list[str] = []
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        titles = {name.strip().lower(): name for name in workbook.sheet_names}
        loaded = {
            key: [
                tuple(None if v == "" else v for v in row)
                for row in workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            ]
            for key, name in titles.items()
        }
    except Exception as err:
        raise InstrumentError(f"{path}: not a readable .xlsx workbook ({err})") from None
    extra_sheets = []
    for name, values in loaded.items():
        if name not in _CORE_SHEETS:
            rows = tuple(
                tuple(_text_value(v) for v in row)
                for row in values
                if any(v is not None for v in row)
            )
            extra_sheets.append((titles[name], rows))
            notes.append(f"sheet {titles[name]!r} kept verbatim, not interpreted")
    if "survey" not in loaded:
        raise InstrumentError(f"{path}: no 'survey' sheet (sheets: {list(titles.values())})")

    def _table(name: str) -> tuple[list[str], list[dict[str, str]]]:
        return _sheet_rows(loaded[name], name, notes) if name in loaded else ([], [])

    survey_header, survey_rows = _table("survey")
    choice_header, choice_rows = _table("choices")
    _, settings_rows = _table("settings")
    _, code_rows = _table("special_codes")
    languages = _languages([*survey_header, *choice_header])
    codes = tuple(
        SpecialCode(key=r["key"], value=int(r["value"]), label=_text_of(r, "label", languages))
        for r in code_rows
    )
    questions = _build_tree(survey_rows, languages, codes, path, notes)
    translatable = {f"{f}::{t}" if t else f for f in _TRANSLATABLE_SURVEY for t in languages}
    verbatim = [h for h in survey_header if h not in _KNOWN_FIELDS and h not in translatable]
    if verbatim:
        notes.append(f"survey columns kept verbatim, not interpreted: {verbatim}")
    lists: dict[str, list[Choice]] = {}
    label_columns = {f"label::{t}" if t else "label" for t in languages}
    choice_extra = [
        h
        for h in choice_header
        if h not in {"list_name", "name", "special", "exclusive", *label_columns}
    ]
    if choice_extra:
        notes.append(f"choices columns kept verbatim: {choice_extra}")
    for row in choice_rows:
        list_name = row.get("list_name", "")
        if not list_name:
            raise InstrumentError(f"{path} choices row {row['__row__']}: no list_name")
        lists.setdefault(list_name, []).append(
            Choice(
                name=row.get("name", ""),
                label=_text_of(row, "label", languages),
                special=row.get("special") or None,
                exclusive=row.get("exclusive", "").lower() in {"yes", "true", "1"}
                or bool(row.get("special")),
                extra=tuple((k, row[k]) for k in choice_extra if row.get(k)),
            )
        )
    settings = settings_rows[0] if settings_rows else {}
    settings.pop("__row__", None)
    default_language = settings.get("default_language") or None
    return ImportResult(
        instrument=Instrument(
            form_id=settings.get("form_id") or pathlib.Path(path).stem,
            title=settings.get("form_title", ""),
            version=settings.get("version", ""),
            languages=tuple(languages),
            default_language=default_language,
            questions=questions,
            choice_lists=tuple(ChoiceList(name, tuple(cs)) for name, cs in lists.items()),
            special_codes=codes,
            instrument=settings.get("instrument") or None,
            round=settings.get("round") or None,
            settings=tuple((k, v) for k, v in settings.items() if k not in _SETTINGS_KNOWN and v),
            extra_sheets=tuple(extra_sheets),
            origin={
                q.name: f"{path} survey"
                for top in questions
                for q, _ in top.walk()
                if q.type not in CONTAINER_TYPES or q.name
            },
        ),
        notes=tuple(notes),
    )
