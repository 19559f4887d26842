"""The tidy findings table every check returns, the collected result, and redaction.

A finding is one row: which check raised it, on which form, the respondent's pseudonymous key
and the submission, the enumerator, the variable and its value as shown to the supervisor, the
rule, the severity and a sentence. Checks that summarise (dashboards, missingness per variable,
back-check error rates) also return named tables. Nothing in a finding or a table may print a
direct identifier: values of questions flagged ``pii: direct`` are never shown, and any other text
passes through a :class:`Redactor` that masks phone numbers, resident ID numbers and the round's
own names and phones wherever they were typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = [
    "CHECKS",
    "FINDING_COLUMNS",
    "SEVERITIES",
    "CheckResult",
    "Findings",
    "Redactor",
    "finding_frame",
]

#: Columns of every findings table, in order.
FINDING_COLUMNS = (
    "check",
    "form",
    "key",
    "submission",
    "enumerator",
    "variable",
    "value",
    "rule",
    "severity",
    "message",
)
#: Severities from the most to the least urgent.
SEVERITIES = ("error", "warning", "info")
#: The checks in the order of the workbook.
CHECKS = (
    "source",
    "ids",
    "unique",
    "form_versions",
    "missing",
    "outliers",
    "constraints",
    "soft_constraints",
    "logic",
    "skip_logic",
    "other_specify",
    "durations",
    "progress",
    "backchecks",
)
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_CHECK_RANK = {c: i for i, c in enumerate(CHECKS)}

# Phone numbers (mainland mobiles, with or without +86, separators allowed) and resident ID
# numbers (18 characters, or the legacy 15 digits), matched after NFKC so that full-width digits
# are caught too.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)")
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
_MIN_PLANTED = 2


def finding_frame(rows: Mapping[str, object] | None = None, **columns: object) -> pd.DataFrame:
    """Build a findings table from columns (scalars are broadcast), in the standard column order.

    Parameters
    ----------
    rows : Mapping, optional
        Column name to values (arrays or scalars), as an alternative to keyword arguments.
    **columns : object
        Column name to values (arrays, Series or scalars). Missing columns are empty text.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FINDING_COLUMNS`, every value text: one row per array element, or one
        row when only scalars are given, or no row when nothing is given.
    """
    data = {**(rows or {}), **columns}
    lengths = [len(v) for v in data.values() if isinstance(v, np.ndarray | pd.Series | list)]
    n = max(lengths) if lengths else int(bool(data))
    out = {}
    for name in FINDING_COLUMNS:
        value = data.get(name, "")
        if isinstance(value, pd.Series):
            value = value.to_numpy()
        if value is None or np.isscalar(value):
            out[name] = np.full(n, "" if value is None else str(value), dtype=object)
            continue
        array = np.asarray(value, dtype=object)
        missing = pd.isna(array)
        if missing.any():
            array = array.copy()
            array[missing] = ""
        out[name] = array.astype(str).astype(object) if len(array) else array
    return pd.DataFrame(out, columns=list(FINDING_COLUMNS))


def _sorted(findings: pd.DataFrame) -> pd.DataFrame:
    if findings.empty:
        return findings.reset_index(drop=True)
    order = pd.DataFrame(
        {
            "form": findings["form"].to_numpy(),
            "check": findings["check"].map(_CHECK_RANK).fillna(len(CHECKS)).to_numpy(),
            "severity": findings["severity"].map(_SEVERITY_RANK).fillna(9).to_numpy(),
            "rule": findings["rule"].to_numpy(),
            "key": findings["key"].to_numpy(),
            "submission": findings["submission"].to_numpy(),
            "variable": findings["variable"].to_numpy(),
            "message": findings["message"].to_numpy(),
        }
    )
    position = order.sort_values(list(order.columns), kind="stable").index
    return findings.iloc[position].reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check returns: its findings and any summary tables.

    Attributes
    ----------
    findings : pandas.DataFrame
        Columns :data:`FINDING_COLUMNS`.
    tables : Mapping
        Name to a summary table (for example ``missing`` per variable).
    """

    findings: pd.DataFrame
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the tables mapping."""
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))


@dataclass(frozen=True, slots=True)
class Findings:
    """Every finding and summary table of a run of the checks.

    Attributes
    ----------
    findings : pandas.DataFrame
        The tidy findings of every check and form (columns :data:`FINDING_COLUMNS`), sorted by
        form, check, severity, rule, key, submission and variable.
    tables : Mapping
        Summary table name (``missing``, ``enumerators``, ``survey_by_day``...) to a table with
        a ``form`` column first, rows from every form stacked.

    Notes
    -----
    No dates of the run are recorded: the same inputs give equal findings, so the report
    pipeline can embed them deterministically.
    """

    findings: pd.DataFrame
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the tables mapping."""
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    @classmethod
    def collect(cls, results: Iterable[tuple[str, CheckResult]]) -> Findings:
        """Stack the results of several checks and forms.

        Parameters
        ----------
        results : iterable of (str, CheckResult)
            The form label (``apprentice/baseline``) and one check's result.

        Returns
        -------
        Findings
            Findings sorted; tables stacked by name with the form as first column.
        """
        frames = []
        tables: dict[str, list[pd.DataFrame]] = {}
        for form, result in results:
            if len(result.findings):
                frames.append(result.findings.assign(form=form))
            for name, table in result.tables.items():
                stacked = table.copy()
                if "form" in stacked.columns:
                    stacked = stacked.drop(columns="form")
                stacked.insert(0, "form", form)
                tables.setdefault(name, []).append(stacked)
        findings = pd.concat(frames, ignore_index=True) if frames else finding_frame().iloc[0:0]
        return cls(
            findings=_sorted(findings[list(FINDING_COLUMNS)]),
            tables={
                name: pd.concat(parts, ignore_index=True) for name, parts in sorted(tables.items())
            },
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the findings table.

        Returns
        -------
        pandas.DataFrame
            One row per finding, columns :data:`FINDING_COLUMNS`.
        """
        return self.findings.copy()

    def of(self, check: str) -> pd.DataFrame:
        """Return the findings of one check.

        Parameters
        ----------
        check : str
            A name from :data:`CHECKS`.

        Returns
        -------
        pandas.DataFrame
            Its findings.
        """
        return self.findings[self.findings["check"] == check].reset_index(drop=True)

    def counts(self) -> pd.DataFrame:
        """Count findings by form, check and severity.

        Returns
        -------
        pandas.DataFrame
            Columns ``form``, ``check``, then one count per severity and ``total``, one row per
            form and check that ran (checks without findings are absent).
        """
        if self.findings.empty:
            return pd.DataFrame(columns=["form", "check", *SEVERITIES, "total"])
        table = (
            self.findings.groupby(["form", "check", "severity"])
            .size()
            .unstack("severity", fill_value=0)
            .reindex(columns=list(SEVERITIES), fill_value=0)
        )
        table["total"] = table.sum(axis=1)
        table = table.reset_index()
        table["_rank"] = table["check"].map(_CHECK_RANK)
        table = table.sort_values(["form", "_rank"], kind="stable").drop(columns="_rank")
        table.columns.name = None
        return table.reset_index(drop=True)

    def summary(self) -> str:
        """Describe the findings in a few lines.

        Returns
        -------
        str
            Counts of findings by check and severity.
        """
        counts = self.counts()
        if counts.empty:
            return "No findings."
        lines = [f"{int(counts['total'].sum())} findings:"]
        for row in counts.itertuples(index=False):
            parts = ", ".join(f"{getattr(row, s)} {s}" for s in SEVERITIES if getattr(row, s))
            lines.append(f"  {row.form:<24} {row.check:<14} {parts}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Return the counts as an HTML table (for notebooks)."""
        return self.counts().to_html(index=False)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True, slots=True)
class Redactor:
    """Masks direct identifiers in text before it is shown.

    Attributes
    ----------
    planted : frozenset of str
        Known identifier values of the round (its names and phones, NFKC-normalised), masked
        wherever they occur inside a text.
    """

    planted: frozenset[str] = frozenset()
    _lengths: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        """Record the lengths of the planted values."""
        object.__setattr__(self, "_lengths", tuple(sorted({len(p) for p in self.planted})))

    @classmethod
    def of(cls, values: Iterable[str]) -> Redactor:
        """Build a redactor from the values of a round's direct-identifier columns.

        Parameters
        ----------
        values : iterable of str
            Names, phones and ID numbers as typed.

        Returns
        -------
        Redactor
            Masking those values (at least two characters long) and the generic patterns.
        """
        kept = {_normalised(str(v)).strip() for v in values}
        return cls(frozenset(v for v in kept if len(v) >= _MIN_PLANTED))

    def text(self, value: str) -> str:
        """Return a text with identifiers masked.

        Parameters
        ----------
        value : str
            A value as received.

        Returns
        -------
        str
            The value with phone numbers shown as ``[phone]``, resident ID numbers as
            ``[ID number]`` and the round's planted identifiers as ``[redacted]``.
        """
        if not value:
            return value
        text = _normalised(value)
        text = _RESIDENT_ID.sub("[ID number]", text)
        text = _PHONE.sub("[phone]", text)
        if self.planted:
            found = self.planted.intersection(self._candidates(text))
            for planted in sorted(found, key=lambda p: (-len(p), p)):
                text = text.replace(planted, "[redacted]")
        return text if text != _normalised(value) else value

    def _candidates(self, text: str) -> set[str]:
        return {
            text[i : i + size]
            for size in self._lengths
            if size <= len(text)
            for i in range(len(text) - size + 1)
        }

    @staticmethod
    def holds_identifier(value: str) -> bool:
        """Whether a text holds a phone number or a resident ID number.

        Parameters
        ----------
        value : str
            A text as received.

        Returns
        -------
        bool
            True when, after NFKC, it contains a mainland mobile number or an 18- (or 15-)
            character resident ID number.
        """
        text = _normalised(value)
        return bool(_PHONE.search(text) or _RESIDENT_ID.search(text))

    def values(self, values: Iterable[str]) -> np.ndarray:
        """Redact many texts.

        Parameters
        ----------
        values : iterable of str
            Values as received.

        Returns
        -------
        numpy.ndarray
            The redacted texts (object array).
        """
        positions, uniques = pd.factorize(
            np.asarray(list(values), dtype=object), use_na_sentinel=False
        )
        redacted = np.array([self.text(str(v)) for v in uniques], dtype=object)
        return redacted[positions] if len(positions) else np.array([], dtype=object)
