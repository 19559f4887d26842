"""Instrument definitions in YAML: from parsed documents to frozen :class:`Instrument` values.

The layout under ``surveys/``:

``surveys/instruments/<instrument>.yaml``
    One file per instrument family: its rounds (form id, title and version of each), languages,
    special codes, settings and the modules it asks, in order.
``surveys/modules/<module>.yaml``
    A module (a top-level group of the form): label, source, default rounds and its questions.
``surveys/lists/*.yaml``
    Shared choice lists, each with its options and the special codes it offers.

This module is pure: it turns already-parsed YAML documents (mappings that carry a ``__line__``
entry, see :mod:`evaluation.instruments.files`) into instruments, and raises
:class:`InstrumentError` naming the file, the question and the problem for anything it cannot
understand. Cross-question rules (references, cycles, translations, ranges) live in
:mod:`evaluation.instruments.lint`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.model import (
    BACKCHECK_CATEGORIES,
    CONTAINER_TYPES,
    FILE_SELECT_TYPES,
    INPUT_TYPES,
    METADATA_TYPES,
    PII_LEVELS,
    SELECT_TYPES,
    Choice,
    ChoiceList,
    Instrument,
    Question,
    SpecialCode,
    Text,
    language_code,
)

__all__ = [
    "Document",
    "SurveyDefinitions",
    "build_instrument",
    "instrument_rounds",
    "parse_type",
    "to_definitions",
]

LINE = "__line__"

_TEXT_FIELDS = ("label", "hint", "guidance_hint", "required_message", "constraint_message")
_STRING_FIELDS = (
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
    "source",
    "answer_key",
)
_QUESTION_KEYS = frozenset(
    {
        "name",
        "type",
        *_TEXT_FIELDS,
        *_STRING_FIELDS,
        "required",
        "range",
        "soft_range",
        "special",
        "rounds",
        "pii",
        "backcheck",
        "questions",
        "extra",
        LINE,
    }
)
_MODULE_KEYS = frozenset(
    {"module", "label", "source", "rounds", "relevant", "questions", "group", LINE}
)
_INSTRUMENT_KEYS = frozenset(
    {
        "instrument",
        "languages",
        "default_language",
        "special_codes",
        "rounds",
        "modules",
        "settings",
        "pretest",
        "extra_sheets",
        LINE,
    }
)
_ROUND_KEYS = frozenset({"form_id", "title", "version", LINE})
_LIST_KEYS = frozenset({"choices", "special", "source", LINE})
_CHOICE_KEYS_FIXED = frozenset({"name", "label", "exclusive", LINE})


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed YAML file.

    Attributes
    ----------
    path : str
        The file, as it should appear in messages.
    content : Any
        The parsed content; mappings carry their line number under ``"__line__"``.
    """

    path: str
    content: Any


@dataclass(frozen=True, slots=True)
class SurveyDefinitions:
    """Every definition file of a ``surveys/`` folder, parsed.

    Attributes
    ----------
    instruments : tuple of Document
        The instrument files.
    modules : Mapping
        Module name to its document.
    lists : tuple of Document
        The choice-list files.
    """

    instruments: tuple[Document, ...]
    modules: Mapping[str, Document]
    lists: tuple[Document, ...]


def _where(doc_path: str, node: Any) -> str:
    line = node.get(LINE) if isinstance(node, Mapping) else None
    return f"{doc_path}:{line}" if line else doc_path


def _fail(doc_path: str, node: Any, subject: str, problem: str) -> InstrumentError:
    return InstrumentError(f"{_where(doc_path, node)}: {subject}: {problem}")


def parse_type(value: str) -> tuple[str, str | None, bool]:
    """Split an XLSForm ``type`` cell into base type, list name and ``or_other``.

    Parameters
    ----------
    value : str
        For example ``"select_one sex"``, ``"select_multiple si or_other"``, ``"integer"``.

    Returns
    -------
    tuple of (str, str or None, bool)
        The base type, the choice list (or file) and whether ``or_other`` is set.

    Raises
    ------
    ValueError
        When a select has no list name or other words follow the list name.
    """
    words = str(value).split()
    if not words:
        msg = "empty type"
        raise ValueError(msg)
    base = words[0]
    if base in SELECT_TYPES or base in FILE_SELECT_TYPES or base == "select_one_external":
        if len(words) < 2:
            msg = f"{base!r} needs a choice list name, e.g. '{base} yes_no'"
            raise ValueError(msg)
        or_other = len(words) == 3 and words[2] == "or_other"
        if len(words) > 3 or (len(words) == 3 and not or_other):
            msg = f"unexpected words after the list name in type {value!r}"
            raise ValueError(msg)
        return base, words[1], or_other
    if base == "loop":
        if len(words) != 2:
            msg = "a loop needs the list it loops over, e.g. 'loop toilet_type'"
            raise ValueError(msg)
        return base, words[1], False
    if len(words) > 1:
        msg = f"type {value!r} takes no list name"
        raise ValueError(msg)
    return base, None, False


class _Context:
    """What a question needs from its instrument while being built."""

    def __init__(self, path: str, languages: dict[str, str], rounds: tuple[str, ...]) -> None:
        self.path = path
        self.languages = languages  # code -> tag
        self.rounds = rounds
        self.origin: dict[str, str] = {}

    def text(self, node: Any, subject: str, value: Any) -> Text:
        if value is None:
            return Text()
        if isinstance(value, str):
            raise _fail(
                self.path,
                node,
                subject,
                f"texts are given per language, e.g. {{en: ..., zh: ...}}; got {value!r}",
            )
        if not isinstance(value, Mapping):
            raise _fail(self.path, node, subject, f"expected a mapping of languages, got {value!r}")
        items = []
        for code, text in value.items():
            if code == LINE:
                continue
            if code not in self.languages:
                raise _fail(
                    self.path,
                    node,
                    subject,
                    f"unknown language {code!r}; the instrument declares {sorted(self.languages)}",
                )
            if text is not None and str(text) != "":
                items.append((self.languages[code], str(text)))
        order = list(self.languages.values())
        return Text(tuple(sorted(items, key=lambda item: order.index(item[0]))))

    def check_rounds(self, node: Any, subject: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise _fail(self.path, node, subject, f"rounds must be a list, got {value!r}")
        unknown = [r for r in value if r not in self.rounds]
        if unknown:
            raise _fail(
                self.path,
                node,
                subject,
                f"unknown rounds {unknown}; the instrument has {list(self.rounds)}",
            )
        return tuple(r for r in self.rounds if r in value)


def _range(ctx: _Context, node: Any, subject: str, value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise _fail(ctx.path, node, subject, f"a range is [lowest, highest], got {value!r}")
    low, high = value
    if low > high:
        raise _fail(ctx.path, node, subject, f"range lower bound {low} exceeds upper bound {high}")
    return (low, high)


def _question(ctx: _Context, node: Any, inherited_rounds: tuple[str, ...]) -> Question:
    if not isinstance(node, Mapping):
        raise _fail(ctx.path, node, "question", f"expected a mapping, got {node!r}")
    name = node.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(ctx.path, node, "question", "every question needs a 'name'")
    unknown = sorted(set(node) - _QUESTION_KEYS)
    if unknown:
        raise _fail(ctx.path, node, name, f"unknown keys {unknown}")
    try:
        base, list_name, or_other = parse_type(node.get("type", ""))
    except ValueError as err:
        raise _fail(ctx.path, node, name, f"bad type: {err}") from None
    known = CONTAINER_TYPES | SELECT_TYPES | FILE_SELECT_TYPES | INPUT_TYPES | METADATA_TYPES
    if base not in known:
        raise _fail(ctx.path, node, name, f"unknown type {base!r}; expected one of {sorted(known)}")
    rounds = ctx.check_rounds(node, name, node["rounds"]) if "rounds" in node else inherited_rounds
    children = node.get("questions") or ()
    if base in CONTAINER_TYPES and not children:
        raise _fail(ctx.path, node, name, f"a {base} needs 'questions'")
    if children and base not in CONTAINER_TYPES:
        raise _fail(ctx.path, node, name, f"only groups and repeats hold questions, not {base!r}")
    pii = node.get("pii")
    if pii is not None and pii not in PII_LEVELS:
        raise _fail(ctx.path, node, name, f"pii must be one of {list(PII_LEVELS)}, got {pii!r}")
    backcheck = node.get("backcheck")
    if backcheck is not None and backcheck not in BACKCHECK_CATEGORIES:
        raise _fail(
            ctx.path,
            node,
            name,
            f"backcheck must be one of {list(BACKCHECK_CATEGORIES)}, got {backcheck!r}",
        )
    special = node.get("special") or ()
    if isinstance(special, str):
        special = (special,)
    required = node.get("required")
    if isinstance(required, bool):
        required = "yes" if required else None
    extra = node.get("extra") or {}
    ctx.origin[name] = _where(ctx.path, node)
    strings = {
        key: (None if node.get(key) is None else str(node.get(key))) for key in _STRING_FIELDS
    }
    return Question(
        name=name,
        type=base,
        list_name=list_name,
        or_other=or_other,
        required=None if required is None else str(required),
        value_range=_range(ctx, node, name, node.get("range")),
        soft_range=_range(ctx, node, name, node.get("soft_range")),
        special=tuple(str(s) for s in special),
        rounds=rounds,
        pii=pii,
        backcheck=backcheck,
        extra=tuple((str(k), str(v)) for k, v in extra.items() if k != LINE),
        children=tuple(_question(ctx, child, rounds) for child in children),
        **{key: ctx.text(node, name, node.get(key)) for key in _TEXT_FIELDS},
        **strings,
    )


def _in_round(question: Question, round_name: str) -> Question | None:
    if round_name not in question.rounds:
        return None
    if not question.is_container:
        return question
    children = tuple(
        kept for child in question.children if (kept := _in_round(child, round_name)) is not None
    )
    return question.replace(children=children) if children else None


def _lists(definitions: SurveyDefinitions) -> dict[str, tuple[str, Mapping[str, Any]]]:
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for doc in definitions.lists:
        content = doc.content
        if not isinstance(content, Mapping) or not isinstance(content.get("lists"), Mapping):
            raise _fail(doc.path, content, "lists", "expected a top-level 'lists:' mapping")
        for name, spec in content["lists"].items():
            if name == LINE:
                continue
            if name in found:
                raise _fail(
                    doc.path,
                    spec,
                    f"list {name!r}",
                    f"duplicate list name (also defined in {found[name][0]})",
                )
            found[name] = (doc.path, spec)
    return found


def _choice_list(
    ctx: _Context,
    path: str,
    name: str,
    spec: Any,
    codes: dict[str, SpecialCode],
) -> ChoiceList:
    subject = f"list {name!r}"
    if not isinstance(spec, Mapping) or not isinstance(spec.get("choices"), Sequence):
        raise _fail(path, spec, subject, "expected a mapping with 'choices'")
    unknown = sorted(set(spec) - _LIST_KEYS)
    if unknown:
        raise _fail(path, spec, subject, f"unknown keys {unknown}")
    saved = ctx.path
    ctx.path = path
    choices = []
    for item in spec["choices"]:
        if not isinstance(item, Mapping) or "name" not in item:
            raise _fail(path, item, subject, f"every option needs a 'name', got {item!r}")
        extra = tuple(
            (str(k), str(v))
            for k, v in item.items()
            if k not in _CHOICE_KEYS_FIXED and v is not None
        )
        choices.append(
            Choice(
                name=str(item["name"]),
                label=ctx.text(item, f"{subject} option {item['name']!r}", item.get("label")),
                exclusive=bool(item.get("exclusive", False)),
                extra=extra,
            )
        )
    for key in spec.get("special") or ():
        if key not in codes:
            raise _fail(
                path,
                spec,
                subject,
                f"offers special code {key!r}, which the instrument does not declare "
                f"(declared: {sorted(codes)})",
            )
        code = codes[key]
        choices.append(Choice(name=str(code.value), label=code.label, special=key, exclusive=True))
    ctx.path = saved
    ctx.origin[f"list:{name}"] = _where(path, spec)
    return ChoiceList(name=name, choices=tuple(choices))


def _used_lists(questions: Sequence[Question]) -> list[str]:
    used: list[str] = []
    for top in questions:
        for q, _ in top.walk():
            if q.is_select and q.list_name and q.list_name not in used:
                used.append(q.list_name)
            if q.type == "loop" and q.list_name and q.list_name not in used:
                used.append(q.list_name)
    return used


def build_instrument(
    definitions: SurveyDefinitions, instrument_doc: Document, round_name: str
) -> Instrument:
    """Build one round of an instrument from its definition files.

    Parameters
    ----------
    definitions : SurveyDefinitions
        Every parsed file of the ``surveys/`` folder.
    instrument_doc : Document
        The instrument's own file (one of ``definitions.instruments``).
    round_name : str
        The round to build, one of the instrument's ``rounds``.

    Returns
    -------
    Instrument
        The form for that round: questions asked in the round, in module order, and every
        choice list they use.

    Raises
    ------
    InstrumentError
        For a definition the model cannot hold: unknown keys or types, unknown modules, lists,
        languages or special codes, malformed ranges; the message names the file, line and
        question.
    """
    path, spec = instrument_doc.path, instrument_doc.content
    if not isinstance(spec, Mapping):
        raise _fail(path, spec, "instrument", "expected a mapping at the top of the file")
    unknown = sorted(set(spec) - _INSTRUMENT_KEYS)
    if unknown:
        raise _fail(path, spec, "instrument", f"unknown keys {unknown}")
    family = spec.get("instrument")
    if not isinstance(family, str):
        raise _fail(path, spec, "instrument", "needs 'instrument: <name>'")
    rounds_spec = spec.get("rounds")
    if not isinstance(rounds_spec, Mapping) or round_name not in rounds_spec:
        raise _fail(
            path,
            spec,
            family,
            f"round {round_name!r} is not declared under 'rounds' "
            f"(declared: {[r for r in (rounds_spec or {}) if r != LINE]})",
        )
    round_spec = rounds_spec[round_name]
    unknown = sorted(set(round_spec) - _ROUND_KEYS)
    missing = [k for k in ("form_id", "title", "version") if k not in round_spec]
    if unknown or missing:
        raise _fail(
            path,
            round_spec,
            f"{family} round {round_name}",
            f"expected form_id, title and version (missing {missing}, unknown {unknown})",
        )
    languages: dict[str, str] = {}
    for lang in spec.get("languages") or ():
        if not isinstance(lang, Mapping) or "code" not in lang or not {"name", "tag"} & set(lang):
            raise _fail(path, lang, family, f"a language is {{code: en, name: English}}: {lang!r}")
        tag = lang.get("tag")
        languages[str(lang["code"])] = (
            str(tag) if tag is not None else f"{lang['name']} ({lang['code']})"
        )
    if not languages:
        raise _fail(path, spec, family, "declare at least one language")
    all_rounds = tuple(r for r in rounds_spec if r != LINE)
    ctx = _Context(path, languages, all_rounds)
    codes: dict[str, SpecialCode] = {}
    for item in spec.get("special_codes") or ():
        if not isinstance(item, Mapping) or not {"key", "value", "label"} <= set(item):
            raise _fail(path, item, family, f"a special code is {{key, value, label}}: {item!r}")
        value = item["value"]
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(path, item, family, f"special code {item['key']!r} must be an integer")
        codes[str(item["key"])] = SpecialCode(
            key=str(item["key"]), value=value, label=ctx.text(item, family, item["label"])
        )
    questions = []
    for module_name in spec.get("modules") or ():
        if module_name not in definitions.modules:
            raise _fail(
                path,
                spec,
                family,
                f"module {module_name!r} has no file surveys/modules/{module_name}.yaml",
            )
        module_doc = definitions.modules[module_name]
        module = module_doc.content
        ctx.path = module_doc.path
        if not isinstance(module, Mapping) or module.get("module") != module_name:
            raise _fail(
                module_doc.path,
                module,
                module_name,
                f"the file must start with 'module: {module_name}'",
            )
        unknown = sorted(set(module) - _MODULE_KEYS)
        if unknown:
            raise _fail(module_doc.path, module, module_name, f"unknown keys {unknown}")
        rounds = (
            ctx.check_rounds(module, module_name, module["rounds"])
            if "rounds" in module
            else all_rounds
        )
        if module.get("group") is False:
            if module.get("label") or module.get("relevant"):
                raise _fail(
                    module_doc.path,
                    module,
                    module_name,
                    "a module with group: false has no label or relevant",
                )
            for node in module.get("questions") or ():
                question = _in_round(_question(ctx, node, rounds), round_name)
                if question is not None:
                    questions.append(question)
            continue
        group = _question(
            ctx,
            {
                "name": module_name,
                "type": "group",
                "label": module.get("label"),
                "source": module.get("source"),
                "relevant": module.get("relevant"),
                "rounds": list(rounds),
                "questions": module.get("questions") or (),
                LINE: module.get(LINE),
            },
            rounds,
        )
        kept = _in_round(group, round_name)
        if kept is not None:
            questions.append(kept)
    ctx.path = path
    available = _lists(definitions)
    choice_lists = []
    for list_name in _used_lists(questions):
        if list_name not in available:
            user = next(
                q.name for top in questions for q, _ in top.walk() if q.list_name == list_name
            )
            raise InstrumentError(
                f"{ctx.origin.get(user, path)}: {user}: choice list {list_name!r} is not defined "
                "in surveys/lists/"
            )
        list_path, list_spec = available[list_name]
        choice_lists.append(_choice_list(ctx, list_path, list_name, list_spec, codes))
    settings = dict(spec.get("settings") or {})
    if spec.get("pretest"):
        settings["pretest"] = spec["pretest"]
    extra_sheets = []
    for sheet in spec.get("extra_sheets") or ():
        if not isinstance(sheet, Mapping) or not {"name", "rows"} <= set(sheet):
            raise _fail(path, sheet, family, "an extra sheet is {name: ..., rows: [[...], ...]}")
        rows = tuple(tuple("" if v is None else str(v) for v in row) for row in sheet["rows"])
        extra_sheets.append((str(sheet["name"]), rows))
    default = spec.get("default_language")
    if default is not None and default not in languages:
        raise _fail(path, spec, family, f"default_language {default!r} is not a declared language")
    return Instrument(
        form_id=str(round_spec["form_id"]),
        title=str(round_spec["title"]),
        version=str(round_spec["version"]),
        languages=tuple(languages.values()),
        default_language=languages[default] if default else None,
        questions=tuple(questions),
        choice_lists=tuple(choice_lists),
        special_codes=tuple(codes.values()),
        instrument=family,
        round=round_name,
        settings=tuple((str(k), str(v)) for k, v in settings.items() if k != LINE),
        extra_sheets=tuple(extra_sheets),
        origin=ctx.origin,
    )


def instrument_rounds(instrument_doc: Document) -> tuple[str, ...]:
    """Return the rounds an instrument file declares.

    Parameters
    ----------
    instrument_doc : Document
        The instrument's file.

    Returns
    -------
    tuple of str
        Round names in file order.

    Raises
    ------
    InstrumentError
        When the file declares no rounds.
    """
    spec = instrument_doc.content
    rounds = spec.get("rounds") if isinstance(spec, Mapping) else None
    if not isinstance(rounds, Mapping) or not [r for r in rounds if r != LINE]:
        raise _fail(instrument_doc.path, spec, "instrument", "declare its rounds under 'rounds:'")
    return tuple(r for r in rounds if r != LINE)


def _slug(text: str) -> str:
    slug = "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")
    return slug or "default"


def _text_out(text: Text, codes: Mapping[str, str]) -> dict[str, str] | None:
    return {codes[tag]: value for tag, value in text.items} or None


def _question_out(q: Question, codes: Mapping[str, str]) -> dict[str, Any]:
    if q.is_container:
        kind = f"loop {q.list_name}" if q.type == "loop" else q.type
    else:
        kind = q.xlsform_type
    out: dict[str, Any] = {"name": q.name, "type": kind}
    for field in _TEXT_FIELDS:
        value = _text_out(getattr(q, field), codes)
        if value:
            out[field] = value
    if q.required is not None:
        out["required"] = True if q.required == "yes" else q.required
    for field in _STRING_FIELDS:
        value = getattr(q, field)
        if value is not None:
            out[field] = value
    if q.value_range is not None:
        out["range"] = list(q.value_range)
    if q.soft_range is not None:
        out["soft_range"] = list(q.soft_range)
    if q.special:
        out["special"] = list(q.special)
    for field in ("pii", "backcheck"):
        if getattr(q, field) is not None:
            out[field] = getattr(q, field)
    if q.extra:
        out["extra"] = dict(q.extra)
    if q.children:
        out["questions"] = [_question_out(child, codes) for child in q.children]
    return out


def to_definitions(form: Instrument) -> dict[str, Any]:
    """Write an instrument (for example an imported XLSForm) as YAML definition documents.

    Parameters
    ----------
    form : Instrument
        The form.

    Returns
    -------
    dict
        Relative path under a ``surveys/`` folder to the document to write as YAML:
        ``instruments/<id>.yaml``, one ``modules/<group>.yaml`` per top-level group (top-level
        questions outside groups go, in order, into modules with ``group: false``) and
        ``lists/<id>.yaml``.

    Notes
    -----
    Building the written definitions gives back the same form except that its questions carry
    the round they were imported as (``rounds``), which an XLSForm does not record.
    """
    family = form.instrument or form.form_id
    round_name = form.round or "main"
    codes: dict[str, str] = {}
    languages = []
    for tag in form.languages:
        code = language_code(tag) or _slug(tag)
        while code in codes.values():
            code += "_"
        codes[tag] = code
        if tag == f"{tag.rsplit('(', 1)[0].strip()} ({code})":
            languages.append({"code": code, "name": tag.rsplit("(", 1)[0].strip()})
        else:
            languages.append({"code": code, "tag": tag})
    documents: dict[str, Any] = {}
    modules: list[str] = []
    loose: list[Question] = []

    def _flush() -> None:
        if loose:
            name = f"{family}_part{len(modules) + 1}"
            documents[f"modules/{name}.yaml"] = {
                "module": name,
                "group": False,
                "questions": [_question_out(q, codes) for q in loose],
            }
            modules.append(name)
            loose.clear()

    for top in form.questions:
        if top.type == "group":
            _flush()
            module: dict[str, Any] = {"module": top.name}
            group = _question_out(top, codes)
            for key in ("label", "source", "relevant"):
                if key in group:
                    module[key] = group.pop(key)
            unsupported = sorted(set(group) - {"name", "type", "questions"})
            if unsupported:
                # A group with other attributes (appearance, extra columns) stays a question.
                loose.append(top)
                continue
            module["questions"] = group.get("questions", [])
            documents[f"modules/{top.name}.yaml"] = module
            modules.append(top.name)
        else:
            loose.append(top)
    _flush()
    lists: dict[str, Any] = {}
    for cl in form.choice_lists:
        choices = []
        for choice in cl.choices:
            if choice.special:
                continue
            item: dict[str, Any] = {"name": choice.name}
            label = _text_out(choice.label, codes)
            if label:
                item["label"] = label
            if choice.exclusive:
                item["exclusive"] = True
            item.update(dict(choice.extra))
            choices.append(item)
        entry: dict[str, Any] = {"choices": choices}
        if cl.special:
            entry["special"] = list(cl.special)
        lists[cl.name] = entry
    if lists:
        documents[f"lists/{family}.yaml"] = {"lists": lists}
    settings = dict(form.settings)
    instrument: dict[str, Any] = {"instrument": family, "languages": languages}
    if form.default_language is not None:
        instrument["default_language"] = codes[form.default_language]
    if form.special_codes:
        instrument["special_codes"] = [
            {"key": c.key, "value": c.value, "label": _text_out(c.label, codes)}
            for c in form.special_codes
        ]
    instrument["rounds"] = {
        round_name: {"form_id": form.form_id, "title": form.title, "version": form.version}
    }
    if "pretest" in settings:
        instrument["pretest"] = settings.pop("pretest")
    if settings:
        instrument["settings"] = settings
    if form.extra_sheets:
        instrument["extra_sheets"] = [
            {"name": name, "rows": [list(row) for row in rows]} for name, rows in form.extra_sheets
        ]
    instrument["modules"] = modules
    documents[f"instruments/{family}.yaml"] = instrument
    return documents
