"""The instrument model: frozen values for questionnaires, their questions and choice lists.

One :class:`Instrument` is one deployable form: an instrument family (``apprentice``,
``enterprise``, ``capacity``) in one round (``baseline``, ``endline``, ``pre``...). Questions form a
tree: top-level groups are the questionnaire's modules, and groups and repeats hold their children.
Every user-facing text is a :class:`Text`, its translations keyed by the XLSForm language tag
(``"English (en)"``, ``"Chinese (zh)"``).

The model holds what an XLSForm holds plus what the evaluation needs on top: the rounds a question
is asked in, whether it is a direct or indirect personal identifier (``pii``), its back-check
category, the standard or survey it comes from (``source``), hard and soft value ranges, the
project's special codes (don't know, refused, not applicable) it accepts, and answer keys for
knowledge tests. XLSForm columns the model does not interpret are kept verbatim in ``extra``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "BACKCHECK_CATEGORIES",
    "CONTAINER_TYPES",
    "METADATA_TYPES",
    "NUMERIC_TYPES",
    "PII_LEVELS",
    "SELECT_TYPES",
    "Choice",
    "ChoiceList",
    "Instrument",
    "Question",
    "SpecialCode",
    "Text",
    "language_code",
]

#: Container types; exported as ``begin_<type>`` / ``end_<type>`` rows.
CONTAINER_TYPES = frozenset({"group", "repeat", "loop"})
#: Types that take a choice list.
SELECT_TYPES = frozenset({"select_one", "select_multiple", "rank"})
#: Types that read their choices from a file instead of a list.
FILE_SELECT_TYPES = frozenset({"select_one_from_file", "select_multiple_from_file"})
#: Numeric input types (a value range is expected).
NUMERIC_TYPES = frozenset({"integer", "decimal", "range"})
#: Metadata collected by the device without a prompt.
METADATA_TYPES = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "start-geopoint",
        "background-geopoint",
        "background-audio",
    }
)
#: Input types that the package's own definitions may use (imported forms may use any type
#: pyxform knows; those are kept verbatim).
INPUT_TYPES = frozenset(
    {
        "text",
        "integer",
        "decimal",
        "range",
        "date",
        "time",
        "dateTime",
        "note",
        "calculate",
        "acknowledge",
        "geopoint",
        "geotrace",
        "geoshape",
        "barcode",
        "image",
        "audio",
        "video",
        "file",
        "hidden",
        "trigger",
    }
)
#: Levels of the ``pii`` flag.
PII_LEVELS = ("direct", "indirect")
#: Back-check categories (IPA ``bcstats`` types): type 1 should not change, type 2 is sensitive
#: to the enumerator, type 3 measures the stability of an answer.
BACKCHECK_CATEGORIES = ("should_not_change", "enumerator_sensitive", "stable")

_CODE_IN_TAG = re.compile(r"\(([^()]*)\)\s*$")


def language_code(tag: str) -> str | None:
    """Return the language code of an XLSForm language tag.

    Parameters
    ----------
    tag : str
        A language as written after ``::`` in an XLSForm column, e.g. ``"Chinese (zh)"``.

    Returns
    -------
    str or None
        The text in the final parentheses (``"zh"``), or ``None`` when the tag has none.
    """
    match = _CODE_IN_TAG.search(tag)
    return match.group(1).strip() if match else None


@dataclass(frozen=True, slots=True)
class Text:
    """One user-facing text in every language of a form.

    Attributes
    ----------
    items : tuple of (str, str)
        ``(language tag, text)`` pairs in the form's language order. The empty tag ``""`` is the
        untranslated default column (``label`` without a language).
    """

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[str, str] | None) -> Text:
        """Build a text from a mapping of language tag to text, dropping empty entries.

        Parameters
        ----------
        mapping : Mapping or None
            Language tags to texts.

        Returns
        -------
        Text
            The translations, in the mapping's order.
        """
        if not mapping:
            return cls()
        return cls(tuple((str(k), str(v)) for k, v in mapping.items() if v not in (None, "")))

    def get(self, language: str, default: str | None = None) -> str | None:
        """Return the text in a language, matched by tag or by language code.

        Parameters
        ----------
        language : str
            A tag (``"Chinese (zh)"``) or a code (``"zh"``).
        default : str or None, optional
            Returned when the language is missing.

        Returns
        -------
        str or None
            The translation, or ``default``.
        """
        for tag, text in self.items:
            if tag == language:
                return text
        for tag, text in self.items:
            if language_code(tag) == language:
                return text
        return default

    @property
    def languages(self) -> tuple[str, ...]:  # numpydoc ignore=RT01
        """Language tags present, in order."""
        return tuple(tag for tag, _ in self.items)

    def first(self) -> str:
        """Return the first translation, or an empty string.

        Returns
        -------
        str
            The text in the form's first language.
        """
        return self.items[0][1] if self.items else ""

    def as_dict(self) -> dict[str, str]:
        """Return the translations as a plain dictionary.

        Returns
        -------
        dict
            Language tag to text.
        """
        return dict(self.items)

    def __bool__(self) -> bool:
        """Return whether any translation is present."""
        return bool(self.items)


@dataclass(frozen=True, slots=True)
class SpecialCode:
    """A project-wide survey code such as "don't know" (declared once per instrument).

    Attributes
    ----------
    key : str
        The reason it stands for: ``dont_know``, ``refused`` or ``not_applicable`` (or another
        key a project declares).
    value : int
        The numeric code, e.g. ``-99``.
    label : Text
        The answer option as read to respondents.
    """

    key: str
    value: int
    label: Text


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer option of a choice list.

    Attributes
    ----------
    name : str
        The stored code (numeric text such as ``"1"`` in the project's own lists).
    label : Text
        The option as shown.
    special : str or None
        Key of the special code this option stands for (``"dont_know"``...), else ``None``.
    exclusive : bool
        Whether the option excludes every other in a select_multiple ("none of the above").
    extra : tuple of (str, str)
        Further columns: ``choice_filter`` columns, mappings such as ``isced``, media, kept
        verbatim.
    """

    name: str
    label: Text = Text()
    special: str | None = None
    exclusive: bool = False
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, column: str, default: str | None = None) -> str | None:
        """Return an extra column's value.

        Parameters
        ----------
        column : str
            Column name, e.g. ``"isced"``.
        default : str or None, optional
            Returned when the choice has no such column.

        Returns
        -------
        str or None
            The value.
        """
        return dict(self.extra).get(column, default)


@dataclass(frozen=True, slots=True)
class ChoiceList:
    """A named list of answer options.

    Attributes
    ----------
    name : str
        The list name used in ``select_one <name>``.
    choices : tuple of Choice
        The options in display order, the project's special codes included (flagged).
    """

    name: str
    choices: tuple[Choice, ...]

    @property
    def codes(self) -> tuple[str, ...]:  # numpydoc ignore=RT01
        """Every option's code, in order."""
        return tuple(c.name for c in self.choices)

    @property
    def special(self) -> tuple[str, ...]:  # numpydoc ignore=RT01
        """Keys of the special codes the list offers."""
        return tuple(c.special for c in self.choices if c.special)

    def choice(self, name: str) -> Choice:
        """Return one option by its code.

        Parameters
        ----------
        name : str
            The option's code.

        Returns
        -------
        Choice
            The option.

        Raises
        ------
        KeyError
            When the list has no such code.
        """
        for c in self.choices:
            if c.name == name:
                return c
        msg = f"choice list {self.name!r} has no option {name!r}; options: {list(self.codes)}"
        raise KeyError(msg)


@dataclass(frozen=True, slots=True)
class Question:
    """One row of a form: a question, a note, a calculation, metadata, or a group/repeat.

    Attributes
    ----------
    name : str
        Variable name: lowercase snake case with the module prefix, at most 32 characters.
    type : str
        XLSForm type without the list name: ``select_one``, ``integer``, ``group``...
    label, hint, guidance_hint : Text
        Texts shown to the enumerator.
    list_name : str or None
        Choice list of a select (or the file of ``select_one_from_file``).
    or_other : bool
        XLSForm ``or_other`` on a select.
    required : str or None
        ``"yes"`` or an XPath condition under which an answer is required.
    required_message : Text
        Message shown when a required answer is missing.
    relevant : str or None
        XPath condition under which the question is asked (skip logic).
    constraint : str or None
        XPath condition an answer must meet, beyond ``value_range`` and ``special``.
    constraint_message : Text
        Message shown when the constraint fails.
    value_range : tuple of (float, float) or None
        Hard lower and upper bound of a numeric answer (special codes aside).
    soft_range : tuple of (float, float) or None
        Plausible range: answers outside are accepted but flagged by the quality checks.
    special : tuple of str
        Keys of the special codes a numeric or text question accepts besides a valid answer.
    calculation, default, appearance, choice_filter, repeat_count, parameters, read_only, trigger
        The XLSForm columns of the same names, verbatim.
    rounds : tuple of str
        Rounds the question is asked in (``baseline``, ``endline``...).
    pii : str or None
        ``"direct"`` (names, phones, ID numbers: removed at intake) or ``"indirect"``
        (quasi-identifiers for disclosure control), else ``None``.
    backcheck : str or None
        Back-check category, one of :data:`BACKCHECK_CATEGORIES`, or ``None``.
    source : str or None
        The standard or survey the item comes from, and where its wording comes from.
    answer_key : str or None
        Code of the correct option of a knowledge-test item.
    extra : tuple of (str, str)
        XLSForm columns the model does not interpret, kept verbatim (full column names).
    children : tuple of Question
        Contents of a group or repeat.
    """

    name: str
    type: str
    label: Text = Text()
    hint: Text = Text()
    guidance_hint: Text = Text()
    list_name: str | None = None
    or_other: bool = False
    required: str | None = None
    required_message: Text = Text()
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Text = Text()
    value_range: tuple[float, float] | None = None
    soft_range: tuple[float, float] | None = None
    special: tuple[str, ...] = ()
    calculation: str | None = None
    default: str | None = None
    appearance: str | None = None
    choice_filter: str | None = None
    repeat_count: str | None = None
    parameters: str | None = None
    read_only: str | None = None
    trigger: str | None = None
    rounds: tuple[str, ...] = ()
    pii: str | None = None
    backcheck: str | None = None
    source: str | None = None
    answer_key: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    children: tuple[Question, ...] = ()

    @property
    def is_container(self) -> bool:  # numpydoc ignore=RT01
        """Whether this row opens a group, repeat or loop."""
        return self.type in CONTAINER_TYPES

    @property
    def is_select(self) -> bool:  # numpydoc ignore=RT01
        """Whether the question takes a choice list."""
        return self.type in SELECT_TYPES

    @property
    def is_numeric(self) -> bool:  # numpydoc ignore=RT01
        """Whether the answer is a number."""
        return self.type in NUMERIC_TYPES

    @property
    def is_metadata(self) -> bool:  # numpydoc ignore=RT01
        """Whether the device fills it in without a prompt."""
        return self.type in METADATA_TYPES

    @property
    def asks_respondent(self) -> bool:  # numpydoc ignore=RT01
        """Whether an enumerator enters an answer (not a group, note, calculation or metadata)."""
        return not (
            self.is_container
            or self.is_metadata
            or self.type in {"note", "calculate", "hidden", "acknowledge"}
        )

    @property
    def xlsform_type(self) -> str:  # numpydoc ignore=RT01
        """The full XLSForm ``type`` cell, e.g. ``"select_one sex"`` or ``"begin_group"``."""
        if self.is_container:
            return f"begin_{self.type}" + (f" over {self.list_name}" if self.type == "loop" else "")
        if self.list_name is not None:
            return f"{self.type} {self.list_name}" + (" or_other" if self.or_other else "")
        return self.type

    def get(self, column: str, default: str | None = None) -> str | None:
        """Return a verbatim extra column's value.

        Parameters
        ----------
        column : str
            Full column name, e.g. ``"image::English (en)"``.
        default : str or None, optional
            Returned when absent.

        Returns
        -------
        str or None
            The value.
        """
        return dict(self.extra).get(column, default)

    def replace(self, **changes: Any) -> Question:
        """Return a copy with some fields changed.

        Parameters
        ----------
        **changes : Any
            Field names and new values.

        Returns
        -------
        Question
            The new question.
        """
        return dataclasses.replace(self, **changes)

    def walk(
        self, parents: tuple[Question, ...] = ()
    ) -> Iterator[tuple[Question, tuple[Question, ...]]]:
        """Yield this question and every descendant with its chain of ancestors.

        Parameters
        ----------
        parents : tuple of Question, optional
            Ancestors of this question.

        Yields
        ------
        tuple of (Question, tuple of Question)
            Each node in form order, with its ancestors from the outermost.
        """
        yield self, parents
        for child in self.children:
            yield from child.walk((*parents, self))


@dataclass(frozen=True, slots=True)
class Instrument:
    """One deployable form: an instrument family in one round.

    Attributes
    ----------
    form_id : str
        XLSForm ``form_id`` (unique per instrument and round).
    title : str
        XLSForm ``form_title``.
    version : str
        XLSForm ``version`` (``yyyymmddNN`` by convention).
    languages : tuple of str
        Language tags in column order (``"English (en)"``, ``"Chinese (zh)"``).
    default_language : str or None
        The tag shown first by data-collection apps.
    questions : tuple of Question
        Top-level rows; in the project's own forms each is a module group.
    choice_lists : tuple of ChoiceList
        Every choice list the form uses.
    special_codes : tuple of SpecialCode
        The project's special codes, declared once per instrument.
    instrument : str or None
        The family (``apprentice``, ``enterprise``, ``capacity``), when known.
    round : str or None
        The round (``baseline``, ``endline``, ``pre``...), when known.
    settings : tuple of (str, str)
        Further XLSForm settings kept verbatim (``instance_name``, ``style``...).
    extra_sheets : tuple of (str, tuple of tuple of str)
        Further sheets of an imported workbook (``external_choices``, ``entities``...), kept
        verbatim as rows of text (the first row is the header) and written back unchanged.
    origin : Mapping
        Where each question and list was defined (``"surveys/modules/demographics.yaml:12"``),
        for error messages; not part of equality.
    """

    form_id: str
    title: str
    version: str
    languages: tuple[str, ...]
    default_language: str | None
    questions: tuple[Question, ...]
    choice_lists: tuple[ChoiceList, ...] = ()
    special_codes: tuple[SpecialCode, ...] = ()
    instrument: str | None = None
    round: str | None = None
    settings: tuple[tuple[str, str], ...] = ()
    extra_sheets: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = ()
    origin: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Freeze the origin mapping."""
        object.__setattr__(self, "origin", MappingProxyType(dict(self.origin)))

    def walk(self) -> Iterator[tuple[Question, tuple[Question, ...]]]:
        """Yield every question in form order with its ancestors.

        Yields
        ------
        tuple of (Question, tuple of Question)
            Each node and its chain of enclosing groups and repeats.
        """
        for top in self.questions:
            yield from top.walk()

    def all_questions(self) -> tuple[Question, ...]:
        """Return every row in form order, containers included.

        Returns
        -------
        tuple of Question
            The flattened tree.
        """
        return tuple(q for q, _ in self.walk())

    def question(self, name: str) -> Question:
        """Return a question by name.

        Parameters
        ----------
        name : str
            The variable name.

        Returns
        -------
        Question
            The question.

        Raises
        ------
        KeyError
            When the form has no such question.
        """
        for q, _ in self.walk():
            if q.name == name:
                return q
        msg = f"form {self.form_id!r} has no question {name!r}"
        raise KeyError(msg)

    def module_of(self, name: str) -> str | None:
        """Return the module (top-level group) a question belongs to.

        Parameters
        ----------
        name : str
            The variable name.

        Returns
        -------
        str or None
            The name of the outermost group, or ``None`` for a top-level row.
        """
        for q, parents in self.walk():
            if q.name == name:
                return parents[0].name if parents else (q.name if q.is_container else None)
        msg = f"form {self.form_id!r} has no question {name!r}"
        raise KeyError(msg)

    def choice_list(self, name: str) -> ChoiceList:
        """Return a choice list by name.

        Parameters
        ----------
        name : str
            The list name.

        Returns
        -------
        ChoiceList
            The list.

        Raises
        ------
        KeyError
            When the form has no such list.
        """
        for cl in self.choice_lists:
            if cl.name == name:
                return cl
        msg = f"form {self.form_id!r} has no choice list {name!r}"
        raise KeyError(msg)

    def special_code(self, key: str) -> SpecialCode:
        """Return a special code by key.

        Parameters
        ----------
        key : str
            ``dont_know``, ``refused``, ``not_applicable``...

        Returns
        -------
        SpecialCode
            The code.

        Raises
        ------
        KeyError
            When the instrument does not declare it.
        """
        for code in self.special_codes:
            if code.key == key:
                return code
        declared = [c.key for c in self.special_codes]
        msg = f"form {self.form_id!r} declares no special code {key!r}; declared: {declared}"
        raise KeyError(msg)

    def replace(self, **changes: Any) -> Instrument:
        """Return a copy with some fields changed.

        Parameters
        ----------
        **changes : Any
            Field names and new values.

        Returns
        -------
        Instrument
            The new instrument.
        """
        return dataclasses.replace(self, **changes)


def format_number(value: float) -> str:
    """Format a bound for an XPath expression: integers without a decimal point.

    Parameters
    ----------
    value : float
        The number.

    Returns
    -------
    str
        ``"100"`` for 100.0, ``"2.5"`` for 2.5.
    """
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def full_constraint(question: Question, special_codes: tuple[SpecialCode, ...]) -> str | None:
    """Return the constraint a form enforces: range, own constraint and accepted special codes.

    Parameters
    ----------
    question : Question
        The question.
    special_codes : tuple of SpecialCode
        The instrument's special codes (the values of ``question.special`` are looked up here).

    Returns
    -------
    str or None
        ``(. >= lo and . <= hi and (own)) or . = -99 or ...``, or ``None`` when nothing is
        constrained.

    Raises
    ------
    KeyError
        When ``question.special`` names a code the instrument does not declare.

    Notes
    -----
    The composition is a fixed template so that :func:`split_constraint` can recover the parts
    from an exported form exactly.
    """
    parts = []
    if question.value_range is not None:
        low, high = question.value_range
        parts.append(f". >= {format_number(low)} and . <= {format_number(high)}")
    if question.constraint:
        parts.append(f"({question.constraint})" if parts else question.constraint)
    core = " and ".join(parts)
    if not core:
        return None
    if not question.special:
        return core
    values = {c.key: c.value for c in special_codes}
    missing = [k for k in question.special if k not in values]
    if missing:
        msg = f"question {question.name!r} accepts undeclared special codes {missing}"
        raise KeyError(msg)
    accepted = " or ".join(f". = {values[k]}" for k in question.special)
    return f"({core}) or {accepted}"


def split_constraint(
    full: str | None,
    value_range: tuple[float, float] | None,
    special: tuple[str, ...],
    special_codes: tuple[SpecialCode, ...],
) -> str | None:
    """Recover a question's own constraint from the composed form constraint.

    Parameters
    ----------
    full : str or None
        The ``constraint`` cell of an exported form.
    value_range : tuple of (float, float) or None
        The question's range, from the form's ``range`` column.
    special : tuple of str
        The accepted special codes, from the form's ``special`` column.
    special_codes : tuple of SpecialCode
        The instrument's special codes.

    Returns
    -------
    str or None
        The question's own constraint (``None`` when it had only a range).

    Raises
    ------
    ValueError
        When ``full`` is not what :func:`full_constraint` makes from these parts (for example
        after the constraint was edited by hand in the spreadsheet).
    """
    probe = Question(name="_", type="integer", value_range=value_range, special=special)
    candidates = [None]
    text = full or ""
    if special:
        values = {c.key: c.value for c in special_codes}
        suffix = ") or " + " or ".join(f". = {values[k]}" for k in special if k in values)
        if text.startswith("(") and text.endswith(suffix):
            text = text[1 : -len(suffix)]
    if value_range is not None:
        prefix = (
            f". >= {format_number(value_range[0])} and . <= {format_number(value_range[1])} and ("
        )
        if text.startswith(prefix) and text.endswith(")"):
            candidates.append(text[len(prefix) : -1])
    elif text:
        candidates.append(text)
    for own in candidates:
        if full_constraint(probe.replace(constraint=own), special_codes) == (full or None):
            return own
    msg = (
        f"constraint {full!r} is not the composition of range {value_range} and special codes "
        f"{list(special)}; was it edited by hand?"
    )
    raise ValueError(msg)
