r"""``checks.toml``: what the field supervisor configures, with defaults from the instrument.

Everything has a default, so the checks run without a file: soft and hard ranges, special codes,
back-check categories and other-specify fields come from the instrument; the thresholds below
are the defaults. A file only states what differs. Unknown keys are errors (a misspelt
``multipler`` must not be silently ignored).

Example::

    [settings]
    timezone = "Asia/Shanghai"        # local time of the fieldwork (days, hours of activity)
    fieldwork_start = 2026-12-01      # submissions or interviews before it are flagged
    enumerator = "meta_enum_id"       # default: meta_enum_id, else username
    city = "meta_city"
    consent = "meta_consent"
    consent_yes = ["1"]

    [special_codes]                   # raw texts recognised besides the instrument's codes/labels
    dont_know = ["不清楚", "-999"]
    refused = ["拒绝", "-888"]

    [missing]                         # flag a variable (or an enumerator) above these rates
    missing = 0.10
    dont_know = 0.10
    refused = 0.05
    min_relevant = 10                 # ... when at least this many rows were asked
    enumerator_ratio = 2.0            # enumerator rate above this multiple of the overall rate

    [durations]
    short_minutes = 15                # completed interviews shorter than this are flagged
    long_minutes = 180
    enumerator_share = 0.6            # enumerator median below 60% of the overall median
    night = [22, 6]                   # interviews starting from 22:00 to 05:59 are flagged

    [outliers]
    auto = true                       # numeric questions with a soft range or a wide hard range
    method = "iqr"                    # or "sd"
    multiplier = 3.0                  # for the automatic rules
    by = []
    min_n = 10                        # groups with fewer values are not checked
    max_share = 0.05                  # a rule flagging more values than this is reported

    [[outliers.rules]]
    variables = ["job_wage"]          # several variables are pooled (ipacheck "combine")
    by = ["meta_city"]
    method = "iqr"
    multiplier = 1.5                  # default 1.5 for iqr, 3 for sd (ipacheck's defaults)

    [[constraints]]
    variable = "edu_year_completed"
    hard_min = "${dem_birth_year} + 5"  # a number or an expression (bounds may be variables)
    soft_max = 2026

    [[logic]]
    name = "hours_worked"
    assert = "${job_hours_last_week} <= ${job_hours_usual} + 40"
    if = "${act_work_pay} = 1"
    severity = "warning"

    [unique]
    variables = ["id_phone"]          # default: direct identifiers with a pattern constraint

    [[other_specify]]
    parent = "job_change_reason"
    text = "job_change_reason_other"

    [form_versions]
    current = ["2026112501"]          # default: the version most recently put into use

    [progress]
    outcome = "trk_status"            # default: trk_status when the form has it, else consent
    outcomes = { "1" = "completed", "2" = "completed", "3" = "refused", "4" = "not_found",
                 "5" = "deceased" }

    [backchecks]
    backchecker = "bc_backchecker_id"
    compare_missing = false           # compare only when both answers are present
    show_id = 0.3                     # flag respondents with at least 30% differences
    types = { job_wage = "stable" }   # override the instrument's backcheck categories
    tolerance = { job_wage = "[-10%, 10%]", ent_employees_total = "[-5, 5]" }

Every rule table also takes ``forms = ["apprentice", "enterprise/baseline"]`` to limit it to
instrument families or rounds; without it a rule applies to every form that has its variables.
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

from evaluation.instruments.expressions import ExpressionError, parse
from evaluation.instruments.model import BACKCHECK_CATEGORIES

__all__ = [
    "BoundRule",
    "CheckConfig",
    "ConfigError",
    "LogicRule",
    "OutlierRule",
    "SpecifyPair",
    "Tolerance",
    "parse_config",
]

_SEVERITIES = ("error", "warning", "info")
_METHODS = ("iqr", "sd")
#: ipacheck's default multipliers when a rule names a method without one.
DEFAULT_MULTIPLIER = {"iqr": 1.5, "sd": 3.0}
_STATUSES = ("completed", "refused", "not_found", "deceased", "other")
_RANGE = re.compile(
    r"^\[\s*(?P<lo>-?\d+(?:\.\d+)?)\s*(?P<lp>%?)\s*,\s*(?P<hi>\+?\d+(?:\.\d+)?)\s*(?P<hp>%?)\s*\]$"
)


class ConfigError(ValueError):
    """``checks.toml`` is malformed; the message names the file, the table and the key."""


def _freeze(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class OutlierRule:
    """An outlier rule (ipacheck ``ipacheckoutliers``).

    Attributes
    ----------
    variables : tuple of str
        The variables; with more than one, their values are pooled to compute the fences.
    method : str
        ``iqr`` (fences at Q1 - m IQR and Q3 + m IQR) or ``sd`` (mean -/+ m SD).
    multiplier : float
        The multiplier ``m``, honoured exactly.
    by : tuple of str
        Columns whose combinations form the groups the fences are computed in.
    min_n : int
        Groups with fewer values are not checked.
    forms : tuple of str
        Instrument families or ``family/round`` labels the rule applies to (empty: all).
    """

    variables: tuple[str, ...]
    method: str = "iqr"
    multiplier: float = 1.5
    by: tuple[str, ...] = ()
    min_n: int = 10
    forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BoundRule:
    """Hard and soft bounds of a variable; each bound a number or an expression.

    Attributes
    ----------
    variable : str
        The variable checked.
    hard_min, hard_max, soft_min, soft_max : str or None
        Bounds as XPath expressions (a number is the simplest one; ``${dem_birth_year} + 5``
        makes the bound another variable). Hard bounds give errors, soft bounds warnings.
    message : str or None
        A sentence for the supervisor.
    forms : tuple of str
        Forms the rule applies to (empty: all that have the variable).
    """

    variable: str
    hard_min: str | None = None
    hard_max: str | None = None
    soft_min: str | None = None
    soft_max: str | None = None
    message: str | None = None
    forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LogicRule:
    """A logic assertion (ipacheck ``ipachecklogic``): it must hold wherever its condition does.

    Attributes
    ----------
    name : str
        The rule's name (shown as the finding's rule).
    assertion : str
        An XPath condition that must hold.
    condition : str or None
        Where it applies (default: every row).
    severity : str
        ``error``, ``warning`` or ``info``.
    message : str or None
        A sentence for the supervisor.
    show : tuple of str
        Variables whose values are listed with a failure (default: those the assertion reads).
    forms : tuple of str
        Forms the rule applies to.
    """

    name: str
    assertion: str
    condition: str | None = None
    severity: str = "error"
    message: str | None = None
    show: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SpecifyPair:
    """An "other, specify" text and the select question it specifies.

    Attributes
    ----------
    parent : str
        The select question with an "other" option.
    text : str
        The free-text question holding the specification.
    forms : tuple of str
        Forms the pair applies to.
    """

    parent: str
    text: str
    forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tolerance:
    """A back-check tolerance range (IPA ``okrange``): differences within it do not count.

    Attributes
    ----------
    lower, upper : float
        How far below and above the survey value the back-check value may be.
    percent : bool
        Whether the bounds are percentages of the survey value.
    """

    lower: float
    upper: float
    percent: bool = False

    @classmethod
    def parse(cls, text: str, where: str) -> Tolerance:
        """Read a tolerance written as ``[-x, y]`` or ``[-x%, y%]``.

        Parameters
        ----------
        text : str
            The range.
        where : str
            Where it was written, for the error message.

        Returns
        -------
        Tolerance
            The range.

        Raises
        ------
        ConfigError
            When the text is not such a range, mixes absolute and percent bounds, or has a
            positive lower or negative upper bound.
        """
        match = _RANGE.match(text.strip())
        if match is None or match["lp"] != match["hp"]:
            msg = f"{where}: {text!r} is not a range such as '[-5, 5]' or '[-10%, 10%]'"
            raise ConfigError(msg)
        lower, upper = float(match["lo"]), float(match["hi"])
        if lower > 0 or upper < 0:
            msg = f"{where}: {text!r}: the lower bound must be <= 0 and the upper bound >= 0"
            raise ConfigError(msg)
        return cls(lower, upper, percent=bool(match["lp"]))


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """The settings of the checks (``checks.toml``), every one with a default.

    Attributes
    ----------
    timezone : str
        IANA zone of the fieldwork, for days and hours of activity.
    fieldwork_start, fieldwork_end : datetime.date or None
        First and last day of fieldwork; interviews and submissions outside are flagged.
    enumerator : str or None
        Column of the enumerator ID (default: ``meta_enum_id``, else ``username``).
    key : str or None
        Column of the respondent ID (default: ``resp_id``, ``enterprise_id`` or
        ``participant_id``, the first the form has).
    city, consent : str
        Columns of the city and the consent question.
    consent_yes : tuple of str
        Codes of consent.
    special_aliases : Mapping
        Special code key (``dont_know``...) to further raw texts that mean it.
    missing, dont_know, refused : float
        Rates (among rows asked) above which a variable is flagged.
    min_relevant : int
        Minimum rows asked before a rate is judged.
    enumerator_ratio : float
        An enumerator's rate above this multiple of the overall rate is flagged.
    short_minutes, long_minutes : float
        Bounds of plausible interview durations.
    enumerator_share : float
        An enumerator whose median duration is below this share of the overall median is
        flagged as rushing.
    night : tuple of (int, int)
        Interviews starting from the first hour up to before the second are flagged.
    outlier_auto : bool
        Whether numeric questions with a soft range or a hard range wider than 100 get
        automatic outlier rules.
    outlier_method : str
        Method of the automatic rules.
    outlier_multiplier : float
        Multiplier of the automatic rules.
    outlier_by : tuple of str
        Groups of the automatic rules.
    outlier_min_n : int
        Minimum group size of the automatic rules.
    outlier_max_share : float
        A rule flagging more than this share of its values is reported (info).
    outliers : tuple of OutlierRule
        Explicit rules; a variable with an explicit rule gets no automatic one.
    constraints : tuple of BoundRule
        Further bounds (the instrument's ranges are always checked).
    logic : tuple of LogicRule
        Logic assertions.
    unique : tuple of str or None
        Variables that must be unique across respondents (``None``: derived from the instrument).
    specify : tuple of SpecifyPair
        Further other-specify pairs (those derived from the instrument are always listed).
    current_versions : tuple of str
        Current form versions (empty: the version most recently put into use).
    progress_outcome : str or None
        Column of the interview outcome (``None``: ``trk_status`` when present, else consent).
    progress_outcomes : Mapping
        Outcome code to status (``completed``, ``refused``, ``not_found``, ``deceased``,
        ``other``).
    backchecker : str
        Column of the back-checker ID in back-check data.
    bc_compare_missing : bool
        Whether a pair with one answer missing counts as compared (and different).
    bc_show_id : float
        Share of differing answers above which a back-checked respondent is flagged.
    bc_types : Mapping
        Variable to back-check category, overriding the instrument.
    bc_tolerance : Mapping
        Variable to :class:`Tolerance`.
    """

    timezone: str = "Asia/Shanghai"
    fieldwork_start: dt.date | None = None
    fieldwork_end: dt.date | None = None
    enumerator: str | None = None
    key: str | None = None
    city: str = "meta_city"
    consent: str = "meta_consent"
    consent_yes: tuple[str, ...] = ("1",)
    special_aliases: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"dont_know": ("不清楚",), "refused": ("拒绝", "拒答")}
    )
    missing: float = 0.10
    dont_know: float = 0.10
    refused: float = 0.05
    min_relevant: int = 10
    enumerator_ratio: float = 2.0
    short_minutes: float = 15.0
    long_minutes: float = 180.0
    enumerator_share: float = 0.6
    night: tuple[int, int] = (22, 6)
    outlier_auto: bool = True
    outlier_method: str = "iqr"
    outlier_multiplier: float = 3.0
    outlier_by: tuple[str, ...] = ()
    outlier_min_n: int = 10
    outlier_max_share: float = 0.05
    outliers: tuple[OutlierRule, ...] = ()
    constraints: tuple[BoundRule, ...] = ()
    logic: tuple[LogicRule, ...] = ()
    unique: tuple[str, ...] | None = None
    specify: tuple[SpecifyPair, ...] = ()
    current_versions: tuple[str, ...] = ()
    progress_outcome: str | None = None
    progress_outcomes: Mapping[str, str] = field(
        default_factory=lambda: {
            "1": "completed",
            "2": "completed",
            "3": "refused",
            "4": "not_found",
            "5": "deceased",
        }
    )
    backchecker: str = "bc_backchecker_id"
    bc_compare_missing: bool = False
    bc_show_id: float = 0.3
    bc_types: Mapping[str, str] = field(default_factory=dict)
    bc_tolerance: Mapping[str, Tolerance] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the mappings and check the values."""
        for name in ("special_aliases", "progress_outcomes", "bc_types", "bc_tolerance"):
            object.__setattr__(self, name, _freeze(getattr(self, name)))
        _validate(self, "checks configuration")

    def replace(self, **changes: Any) -> CheckConfig:
        """Return a copy with some settings changed.

        Parameters
        ----------
        **changes : Any
            Setting names and new values.

        Returns
        -------
        CheckConfig
            The new configuration (validated).
        """
        import dataclasses

        return dataclasses.replace(self, **changes)


def applies(forms: tuple[str, ...], family: str | None, label: str) -> bool:
    """Whether a rule limited to ``forms`` applies to a form.

    Parameters
    ----------
    forms : tuple of str
        The rule's ``forms`` (empty: every form).
    family : str or None
        The form's instrument family (``apprentice``).
    label : str
        The form's label (``apprentice/baseline``).

    Returns
    -------
    bool
        True when the rule applies.
    """
    return not forms or label in forms or (family is not None and family in forms)


def _check_expression(text: str | None, where: str) -> None:
    if text is None:
        return
    try:
        parse(text)
    except ExpressionError as err:
        raise ConfigError(f"{where}: {err}") from None


def _validate(config: CheckConfig, where: str) -> None:
    try:
        zoneinfo.ZoneInfo(config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: timezone: unknown IANA zone {config.timezone!r}") from None
    for name in ("missing", "dont_know", "refused", "enumerator_share", "outlier_max_share"):
        value = getattr(config, name)
        if not 0 <= value <= 1:
            raise ConfigError(f"{where}: {name}: {value!r} must be a share between 0 and 1")
    if not 0 < config.bc_show_id <= 1:
        raise ConfigError(f"{where}: backchecks.show_id: {config.bc_show_id!r} not in (0, 1]")
    if config.short_minutes < 0 or config.long_minutes <= config.short_minutes:
        msg = (
            f"{where}: durations: short_minutes ({config.short_minutes}) must be >= 0 and below "
            f"long_minutes ({config.long_minutes})"
        )
        raise ConfigError(msg)
    if not all(0 <= h <= 23 for h in config.night):
        raise ConfigError(f"{where}: durations.night: hours {list(config.night)} not in 0..23")
    if config.outlier_method not in _METHODS:
        raise ConfigError(f"{where}: outliers.method: {config.outlier_method!r} not in {_METHODS}")
    for number, rule in enumerate(config.outliers, start=1):
        at = f"{where}: outliers.rules #{number}"
        if rule.method not in _METHODS:
            raise ConfigError(f"{at}: method {rule.method!r} not in {_METHODS}")
        if not rule.multiplier > 0:
            raise ConfigError(f"{at}: multiplier {rule.multiplier!r} must be positive")
        if not rule.variables:
            raise ConfigError(f"{at}: no variables")
    if not config.outlier_multiplier > 0:
        raise ConfigError(f"{where}: outliers.multiplier must be positive")
    for number, bound in enumerate(config.constraints, start=1):
        at = f"{where}: constraints #{number} ({bound.variable})"
        for name in ("hard_min", "hard_max", "soft_min", "soft_max"):
            _check_expression(getattr(bound, name), f"{at}: {name}")
    for number, rule in enumerate(config.logic, start=1):
        at = f"{where}: logic #{number} ({rule.name})"
        if rule.severity not in _SEVERITIES:
            raise ConfigError(f"{at}: severity {rule.severity!r} not in {_SEVERITIES}")
        _check_expression(rule.assertion, f"{at}: assert")
        _check_expression(rule.condition, f"{at}: if")
    for key, status in config.progress_outcomes.items():
        if status not in _STATUSES:
            msg = f"{where}: progress.outcomes.{key}: {status!r} not in {_STATUSES}"
            raise ConfigError(msg)
    for variable, category in config.bc_types.items():
        if category not in BACKCHECK_CATEGORIES:
            msg = (
                f"{where}: backchecks.types.{variable}: {category!r} not in {BACKCHECK_CATEGORIES}"
            )
            raise ConfigError(msg)


# --------------------------------------------------------------------------------------------
# Reading the TOML document
# --------------------------------------------------------------------------------------------

_SECTIONS: dict[str, frozenset[str]] = {
    "settings": frozenset(
        {
            "timezone",
            "fieldwork_start",
            "fieldwork_end",
            "enumerator",
            "key",
            "city",
            "consent",
            "consent_yes",
        }
    ),
    "special_codes": frozenset(),  # any key: a special code
    "missing": frozenset({"missing", "dont_know", "refused", "min_relevant", "enumerator_ratio"}),
    "durations": frozenset({"short_minutes", "long_minutes", "enumerator_share", "night"}),
    "outliers": frozenset({"auto", "method", "multiplier", "by", "min_n", "max_share", "rules"}),
    "constraints": frozenset(),
    "logic": frozenset(),
    "unique": frozenset({"variables"}),
    "other_specify": frozenset(),
    "form_versions": frozenset({"current"}),
    "progress": frozenset({"outcome", "outcomes"}),
    "backchecks": frozenset({"backchecker", "compare_missing", "show_id", "types", "tolerance"}),
}
_RULE_KEYS = {
    "outliers.rules": frozenset(
        {"variable", "variables", "method", "multiplier", "by", "min_n", "forms"}
    ),
    "constraints": frozenset(
        {"variable", "hard_min", "hard_max", "soft_min", "soft_max", "message", "forms"}
    ),
    "logic": frozenset({"name", "assert", "if", "severity", "message", "show", "forms"}),
    "other_specify": frozenset({"parent", "text", "forms"}),
}


class _Reader:
    """Typed access to one table of the document, naming file, table and key in errors."""

    def __init__(self, table: Mapping[str, Any], where: str, allowed: frozenset[str] | None):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: must be a table")
        if allowed is not None:
            unknown = sorted(set(table) - allowed)
            if unknown:
                raise ConfigError(
                    f"{where}: unknown key {unknown[0]!r}; allowed: {sorted(allowed)}"
                )
        self.table = table
        self.where = where

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}.{key}: {problem}")

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, f"must be a non-empty string, not {value!r}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {value!r}")
        return float(value)

    def integer(self, key: str, default: int) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"must be a non-negative integer, not {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.table.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f"must be a list of strings, not {value!r}")
        return tuple(value)

    def bound(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(key, f"must be a number or an expression, not {value!r}")
        return str(value)

    def date(self, key: str) -> dt.date | None:
        value = self.table.get(key)
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"must be a date such as 2026-12-01, not {value!r}")

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.table.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a table, not {value!r}")
        return value


def _rules(document: Mapping[str, Any], name: str, where: str) -> list[_Reader]:
    entries = document.get(name, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: {name}: must be an array of tables ([[{name}]])")
    return [
        _Reader(entry, f"{where}: [[{name}]] #{i}", _RULE_KEYS[name])
        for i, entry in enumerate(entries, start=1)
    ]


def _outlier_rules(table: Mapping[str, Any], where: str) -> tuple[OutlierRule, ...]:
    entries = table.get("rules", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: [outliers] rules: must be an array ([[outliers.rules]])")
    result = []
    for number, entry in enumerate(entries, start=1):
        reader = _Reader(
            entry, f"{where}: [[outliers.rules]] #{number}", _RULE_KEYS["outliers.rules"]
        )
        variables = reader.strings("variables") or (
            (reader.string("variable"),) if reader.string("variable") else ()
        )
        if not variables:
            raise reader.fail("variables", "missing: name the variable(s)")
        method = reader.string("method", "iqr") or "iqr"
        if method not in _METHODS:
            raise reader.fail("method", f"{method!r} is not one of {list(_METHODS)}")
        result.append(
            OutlierRule(
                variables=tuple(variables),
                method=method,
                multiplier=reader.number("multiplier", DEFAULT_MULTIPLIER[method]),
                by=reader.strings("by"),
                min_n=reader.integer("min_n", 10),
                forms=reader.strings("forms"),
            )
        )
    return tuple(result)


def parse_config(text: str, where: str = "checks.toml") -> CheckConfig:
    """Parse the text of a ``checks.toml``.

    Parameters
    ----------
    text : str
        The TOML text.
    where : str, optional
        The file as named in messages.

    Returns
    -------
    CheckConfig
        The settings, defaults filled in.

    Raises
    ------
    ConfigError
        On invalid TOML (with line and column), unknown tables or keys, values of the wrong
        type, unparseable expressions, unknown methods, severities or statuses. The message
        names the file, the table and the key.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: not valid TOML: {err}") from None
    unknown = sorted(set(document) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown table [{unknown[0]}]; allowed: {sorted(_SECTIONS)}")

    def section(name: str) -> _Reader:  # numpydoc ignore=GL08
        allowed = _SECTIONS[name] or None
        return _Reader(document.get(name, {}), f"{where}: [{name}]", allowed)

    settings = section("settings")
    missing = section("missing")
    durations = section("durations")
    outliers = section("outliers")
    unique = section("unique")
    versions = section("form_versions")
    progress = section("progress")
    backchecks = section("backchecks")
    defaults = CheckConfig()

    aliases = {k: tuple(v) for k, v in defaults.special_aliases.items()}
    codes = section("special_codes")
    for key in codes.table:
        aliases[key] = codes.strings(key)

    night = durations.table.get("night", list(defaults.night))
    if (
        not isinstance(night, list)
        or len(night) != 2
        or not all(isinstance(h, int) and not isinstance(h, bool) for h in night)
    ):
        raise durations.fail("night", f"must be two hours such as [22, 6], not {night!r}")

    constraint_rules = tuple(
        BoundRule(
            variable=str(r.string("variable") or _missing_key(r, "variable")),
            hard_min=r.bound("hard_min"),
            hard_max=r.bound("hard_max"),
            soft_min=r.bound("soft_min"),
            soft_max=r.bound("soft_max"),
            message=r.string("message"),
            forms=r.strings("forms"),
        )
        for r in _rules(document, "constraints", where)
    )
    logic_rules = tuple(
        LogicRule(
            name=str(r.string("name") or _missing_key(r, "name")),
            assertion=str(r.string("assert") or _missing_key(r, "assert")),
            condition=r.string("if"),
            severity=r.string("severity", "error") or "error",
            message=r.string("message"),
            show=r.strings("show"),
            forms=r.strings("forms"),
        )
        for r in _rules(document, "logic", where)
    )
    specify = tuple(
        SpecifyPair(
            parent=str(r.string("parent") or _missing_key(r, "parent")),
            text=str(r.string("text") or _missing_key(r, "text")),
            forms=r.strings("forms"),
        )
        for r in _rules(document, "other_specify", where)
    )
    outcomes = progress.mapping("outcomes") or defaults.progress_outcomes
    tolerance = {
        str(variable): Tolerance.parse(str(value), f"{where}: [backchecks] tolerance.{variable}")
        for variable, value in backchecks.mapping("tolerance").items()
    }
    try:
        return CheckConfig(
            timezone=settings.string("timezone", defaults.timezone) or defaults.timezone,
            fieldwork_start=settings.date("fieldwork_start"),
            fieldwork_end=settings.date("fieldwork_end"),
            enumerator=settings.string("enumerator"),
            key=settings.string("key"),
            city=settings.string("city", defaults.city) or defaults.city,
            consent=settings.string("consent", defaults.consent) or defaults.consent,
            consent_yes=settings.strings("consent_yes", defaults.consent_yes),
            special_aliases=aliases,
            missing=missing.number("missing", defaults.missing),
            dont_know=missing.number("dont_know", defaults.dont_know),
            refused=missing.number("refused", defaults.refused),
            min_relevant=missing.integer("min_relevant", defaults.min_relevant),
            enumerator_ratio=missing.number("enumerator_ratio", defaults.enumerator_ratio),
            short_minutes=durations.number("short_minutes", defaults.short_minutes),
            long_minutes=durations.number("long_minutes", defaults.long_minutes),
            enumerator_share=durations.number("enumerator_share", defaults.enumerator_share),
            night=(int(night[0]), int(night[1])),
            outlier_auto=outliers.boolean("auto", defaults.outlier_auto),
            outlier_method=outliers.string("method", defaults.outlier_method) or "iqr",
            outlier_multiplier=outliers.number("multiplier", defaults.outlier_multiplier),
            outlier_by=outliers.strings("by"),
            outlier_min_n=outliers.integer("min_n", defaults.outlier_min_n),
            outlier_max_share=outliers.number("max_share", defaults.outlier_max_share),
            outliers=_outlier_rules(outliers.table, where),
            constraints=constraint_rules,
            logic=logic_rules,
            unique=unique.strings("variables") if "variables" in unique.table else None,
            specify=specify,
            current_versions=versions.strings("current"),
            progress_outcome=progress.string("outcome"),
            progress_outcomes={str(k): str(v) for k, v in outcomes.items()},
            backchecker=backchecks.string("backchecker", defaults.backchecker)
            or defaults.backchecker,
            bc_compare_missing=backchecks.boolean("compare_missing", False),
            bc_show_id=backchecks.number("show_id", defaults.bc_show_id),
            bc_types={str(k): str(v) for k, v in backchecks.mapping("types").items()},
            bc_tolerance=tolerance,
        )
    except ConfigError as err:
        raise ConfigError(str(err).replace("checks configuration", where, 1)) from None


def _missing_key(reader: _Reader, key: str) -> str:
    raise reader.fail(key, "missing (required)")
