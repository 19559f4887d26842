"""``cleaning.toml``: the data manager's standing rules for cleaning, kept with the decisions.

The file lives in the decisions folder (``--decisions DIR``) next to the reviewed decision tables
and is re-read on every run. Every key is optional; the defaults are those of the project's own
instruments. Example::

    timezone = "Asia/Shanghai"      # zone of dateTime answers written without a UTC offset

    [keys]                          # key column per instrument family
    apprentice = "resp_id"          # default: participant_id, resp_id or enterprise_id

    [text_codes]                    # text answers read as special codes (NFKC, case-insensitive)
    dont_know = ["不知道", "不清楚", "说不清", "DK"]
    refused = ["拒绝", "拒答", "拒绝回答"]
    not_applicable = ["不适用"]

    [code_aliases]                  # a survey firm's own numeric codes, read as special codes
    "-999" = "dont_know"
    "-888" = "refused"

    [stata_missing]                 # Stata extended missing values (.d, .r, .n)
    d = "dont_know"
    r = "refused"
    n = "not_applicable"

    [dates]                         # declared formats of date questions (and today)
    default = "iso8601"             # or "excel-serial" or a strptime format
    dem_birth_date = "%Y/%m/%d"

    [interview]                     # which records are interviews
    condition = "${meta_consent} = 1 and not(${meta_minor_guardian} = 0)"
    tracking = ["trk_status", "ent_visit_status"]   # rounds asking one keep non-interviews

    [[drop]]                        # test, training and pilot submissions, by rule
    reason = "test"
    column = "meta_enum_id"         # a column of the file, compared after NFKC and stripping
    values = ["E999"]

    [[drop]]
    reason = "pilot"
    field = "start"                 # canonical metadata: submitted_at, start, end, form_version,
    before = "2026-03-01"           # device_id, review_state; before/after take a date
    round = "baseline"              # optional scope: instrument, round

    [[drop]]
    reason = "test"
    column = "resp_id"
    pattern = "^TEST"               # a regular expression searched in the value

    [duplicates]
    different_share = 0.5           # share of differing fields above which a group is two people

    [duration]                      # interview length flagged (never dropped), in minutes
    min_minutes = 10
    max_minutes = 180

    [disclosure]
    k = 5                           # k-anonymity required of partner exports
    quasi_identifiers = ["meta_city", "dem_sex", "dem_birth_year"]   # default: pii: indirect
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evaluation.cleaning.errors import DecisionsError

__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_TRACKING",
    "META_FIELDS",
    "CleaningRules",
    "DropRule",
    "parse_rules",
]

#: Key columns tried, in order, when ``[keys]`` does not name one for an instrument.
DEFAULT_KEYS = ("participant_id", "resp_id", "enterprise_id")
#: Tracking and visit-outcome questions of the project's forms (names.md).
DEFAULT_TRACKING = ("trk_status", "ent_visit_status")
#: Canonical metadata a drop rule may test (see :data:`evaluation.loaders.META_COLUMNS`).
META_FIELDS = ("submitted_at", "start", "end", "form_version", "device_id", "review_state")
_TIME_FIELDS = frozenset({"submitted_at", "start", "end"})
_DEFAULT_TEXT_CODES = {
    "不知道": "dont_know",
    "不清楚": "dont_know",
    "说不清": "dont_know",
    "拒绝": "refused",
    "拒答": "refused",
    "拒绝回答": "refused",
    "不适用": "not_applicable",
}
_DEFAULT_STATA = {"d": "dont_know", "r": "refused", "n": "not_applicable"}
_DEFAULT_DROPS = ()
_TOP_KEYS = frozenset(
    {
        "timezone",
        "keys",
        "text_codes",
        "code_aliases",
        "stata_missing",
        "dates",
        "interview",
        "drop",
        "duplicates",
        "disclosure",
        "duration",
    }
)
_DROP_KEYS = frozenset(
    {"reason", "column", "field", "values", "pattern", "before", "after", "instrument", "round"}
)


@dataclass(frozen=True, slots=True)
class DropRule:
    """A configured rule that excludes test, training, pilot or undecrypted submissions.

    Attributes
    ----------
    reason : str
        The exclusion reason recorded (``test``, ``training``, ``pilot``, ``undecrypted``...).
    column : str or None
        A column of the file tested (after NFKC and stripping).
    field : str or None
        Canonical metadata tested instead (one of :data:`META_FIELDS`).
    values : tuple of str
        The value matches one of these exactly.
    pattern : str or None
        Or the value contains a match of this regular expression.
    before, after : datetime.date or None
        Or (time fields) the date is before / after this date (local to the UTC day).
    instrument, round : str or None
        The rule applies only to this instrument family or round.
    """

    reason: str
    column: str | None = None
    field: str | None = None
    values: tuple[str, ...] = ()
    pattern: str | None = None
    before: dt.date | None = None
    after: dt.date | None = None
    instrument: str | None = None
    round: str | None = None

    def applies_to(self, instrument: str | None, round_name: str) -> bool:
        """Say whether the rule applies to an instrument round.

        Parameters
        ----------
        instrument : str or None
            The instrument family.
        round_name : str
            The round.

        Returns
        -------
        bool
            True when the rule is not scoped, or scoped to this instrument and round.
        """
        return (self.instrument is None or self.instrument == instrument) and (
            self.round is None or self.round == round_name
        )


@dataclass(frozen=True, slots=True)
class CleaningRules:
    """The standing rules of a cleaning run (``cleaning.toml``).

    Attributes
    ----------
    keys : Mapping
        Instrument family to its key column.
    text_codes : Mapping
        Text answer (NFKC, case-folded) to a special-code key.
    code_aliases : Mapping
        Numeric code as text (``"-999"``) to a special-code key.
    stata_missing : Mapping
        Stata extended-missing letter to a special-code key.
    dates : Mapping
        Question name (or ``default``) to its date format.
    timezone : str or None
        IANA zone of dateTime answers without a UTC offset.
    interview_condition : str or None
        XPath condition of an interview; ``None``: derived from the instrument's consent items.
    tracking : tuple of str
        The tracking questions (visit or tracking outcome); a round that asks one keeps its
        non-interviews with ``interviewed = 0`` (attrition and non-response analysis).
    drops : tuple of DropRule
        Rules excluding test, training, pilot and undecrypted submissions.
    different_share : float
        Share of compared fields that differ above which a duplicate group is classified as two
        different people.
    duration : tuple of (float, float)
        Interviews shorter or longer than these minutes are flagged.
    k : int
        k-anonymity a partner export must reach.
    quasi_identifiers : tuple of str or None
        The quasi-identifiers of the disclosure check; ``None``: the ``pii: indirect`` items.
    """

    keys: Mapping[str, str] = field(default_factory=dict)
    text_codes: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_TEXT_CODES))
    code_aliases: Mapping[str, str] = field(default_factory=dict)
    stata_missing: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_STATA))
    dates: Mapping[str, str] = field(default_factory=dict)
    timezone: str | None = None
    interview_condition: str | None = None
    tracking: tuple[str, ...] = DEFAULT_TRACKING
    drops: tuple[DropRule, ...] = _DEFAULT_DROPS
    different_share: float = 0.5
    duration: tuple[float, float] = (10.0, 180.0)
    k: int = 5
    quasi_identifiers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        for name in ("keys", "text_codes", "code_aliases", "stata_missing", "dates"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def date_format(self, question: str) -> str:
        """Return the declared format of a date question.

        Parameters
        ----------
        question : str
            The question name.

        Returns
        -------
        str
            Its format, else ``default``, else ``"iso8601"``.
        """
        return self.dates.get(question, self.dates.get("default", "iso8601"))


def _fail(where: str, key: str, problem: str) -> DecisionsError:
    return DecisionsError(f"{where}: {key}: {problem}")


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, key, f"must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def _mapping(where: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, key, f"must be a table, not {value!r}")
    return dict(value)


def _date(where: str, key: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(where, key, f"{value!r} is not a date (YYYY-MM-DD)")


def _drop_rule(where: str, entry: Any) -> DropRule:
    if not isinstance(entry, Mapping):
        raise _fail(where, "drop", "each [[drop]] must be a table")
    unknown = sorted(set(entry) - _DROP_KEYS)
    if unknown:
        raise _fail(where, unknown[0], f"unknown key; allowed: {sorted(_DROP_KEYS)}")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", reason):
        raise _fail(where, "reason", f"{reason!r} must be a lower-case word such as 'test'")
    column, fld = entry.get("column"), entry.get("field")
    if (column is None) == (fld is None):
        raise _fail(where, "column", "give exactly one of column (a file column) or field")
    if fld is not None and fld not in META_FIELDS:
        raise _fail(where, "field", f"{fld!r} is not one of {list(META_FIELDS)}")
    values = _strings(where, "values", entry["values"]) if "values" in entry else ()
    pattern = entry.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise _fail(where, "pattern", "must be a string")
        try:
            re.compile(pattern)
        except re.error as err:
            raise _fail(
                where, "pattern", f"{pattern!r} is not a regular expression: {err}"
            ) from None
    before = _date(where, "before", entry.get("before"))
    after = _date(where, "after", entry.get("after"))
    if (before or after) and fld not in _TIME_FIELDS:
        raise _fail(where, "before", f"dates apply only to field = one of {sorted(_TIME_FIELDS)}")
    tests = sum(bool(x) for x in (values, pattern, before or after))
    if tests != 1:
        raise _fail(where, "values", "give exactly one test: values, pattern, or before/after")
    scope = {}
    for key in ("instrument", "round"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise _fail(where, key, f"must be a non-empty string, not {value!r}")
        scope[key] = value
    return DropRule(
        reason=reason,
        column=column,
        field=fld,
        values=values,
        pattern=pattern,
        before=before,
        after=after,
        **scope,
    )


def parse_rules(text: str, where: str = "cleaning.toml") -> CleaningRules:
    """Parse the text of a ``cleaning.toml``.

    Parameters
    ----------
    text : str
        The TOML text (empty text gives the defaults).
    where : str, optional
        The file as named in messages.

    Returns
    -------
    CleaningRules
        The rules, defaults filled in.

    Raises
    ------
    DecisionsError
        On invalid TOML, unknown keys, special-code keys that are not words, unknown time zones,
        malformed drop rules or a k below 2. The message names the file and the key.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DecisionsError(f"{where}: not valid TOML: {err}") from None
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise _fail(where, unknown[0], f"unknown key; allowed: {sorted(_TOP_KEYS)}")
    changes: dict[str, Any] = {}
    if "keys" in document:
        changes["keys"] = {
            str(k): str(v) for k, v in _mapping(where, "keys", document["keys"]).items()
        }
    if "text_codes" in document:
        codes: dict[str, str] = {}
        for key, texts in _mapping(where, "text_codes", document["text_codes"]).items():
            for text_value in _strings(where, f"text_codes.{key}", texts):
                codes[text_value] = _word(where, f"text_codes.{key}", key)
        changes["text_codes"] = codes
    if "code_aliases" in document:
        aliases = {}
        for code, key in _mapping(where, "code_aliases", document["code_aliases"]).items():
            if not re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", str(code)):
                raise _fail(where, f"code_aliases.{code}", "the code must be a number")
            aliases[str(float(code))] = _word(where, f"code_aliases.{code}", key)
        changes["code_aliases"] = aliases
    if "stata_missing" in document:
        letters = {}
        for letter, key in _mapping(where, "stata_missing", document["stata_missing"]).items():
            if not re.fullmatch(r"[a-z]", letter):
                raise _fail(where, f"stata_missing.{letter}", "must be one letter a-z")
            letters[letter] = _word(where, f"stata_missing.{letter}", key)
        changes["stata_missing"] = letters
    if "dates" in document:
        dates = _mapping(where, "dates", document["dates"])
        for question, fmt in dates.items():
            if not isinstance(fmt, str) or not (fmt in {"iso8601", "excel-serial"} or "%" in fmt):
                raise _fail(
                    where, f"dates.{question}", f"{fmt!r}: 'iso8601', 'excel-serial' or strptime"
                )
        changes["dates"] = dates
    if "timezone" in document:
        zone = document["timezone"]
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _fail(where, "timezone", f"unknown IANA zone {zone!r}") from None
        changes["timezone"] = str(zone)
    if "interview" in document:
        interview = _mapping(where, "interview", document["interview"])
        extra = sorted(set(interview) - {"condition", "tracking"})
        if extra:
            raise _fail(where, f"interview.{extra[0]}", "unknown key; allowed: condition, tracking")
        if "condition" in interview:
            changes["interview_condition"] = str(interview["condition"])
        if "tracking" in interview:
            value = interview["tracking"]
            names = [value] if isinstance(value, str) else value
            changes["tracking"] = _strings(where, "interview.tracking", names)
    if "drop" in document:
        entries = document["drop"]
        if not isinstance(entries, list):
            raise _fail(where, "drop", "must be an array of tables ([[drop]])")
        changes["drops"] = tuple(
            _drop_rule(f"{where} [[drop]] #{n}", e) for n, e in enumerate(entries, start=1)
        )
    if "duplicates" in document:
        dup = _mapping(where, "duplicates", document["duplicates"])
        share = dup.get("different_share", 0.5)
        if not isinstance(share, int | float) or not 0 < share <= 1:
            raise _fail(where, "duplicates.different_share", f"{share!r} must be in (0, 1]")
        changes["different_share"] = float(share)
    if "duration" in document:
        duration = _mapping(where, "duration", document["duration"])
        extra = sorted(set(duration) - {"min_minutes", "max_minutes"})
        if extra:
            raise _fail(
                where, f"duration.{extra[0]}", "unknown key; allowed: min_minutes, max_minutes"
            )
        low = duration.get("min_minutes", 10)
        high = duration.get("max_minutes", 180)
        if (
            not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
            or not 0 <= low < high
        ):
            raise _fail(
                where, "duration", f"need 0 <= min_minutes < max_minutes, not {low!r}, {high!r}"
            )
        changes["duration"] = (float(low), float(high))
    if "disclosure" in document:
        disclosure = _mapping(where, "disclosure", document["disclosure"])
        k = disclosure.get("k", 5)
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise _fail(where, "disclosure.k", f"{k!r} must be an integer of at least 2")
        changes["k"] = k
        if "quasi_identifiers" in disclosure:
            changes["quasi_identifiers"] = _strings(
                where, "disclosure.quasi_identifiers", disclosure["quasi_identifiers"]
            )
    return CleaningRules(**changes)


def _word(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise _fail(where, key, f"{value!r} must be a special-code key such as 'dont_know'")
    return value
