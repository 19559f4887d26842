"""The disclosure check partner exports pass first: k-anonymity on the quasi-identifiers.

A record is at risk when fewer than k records share its combination of quasi-identifiers (the
instrument's ``pii: indirect`` items such as city, enterprise, sex, birth year; DATA.md section
9): someone who knows those facts about a person could single out their answers. A partner
export is refused while the smallest class is below the configured k (3 or 5 are usual), unless
the data manager overrides it knowingly. The report never shows the quasi-identifiers' values,
only class sizes and how many distinct values each quasi-identifier has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.cleaning.errors import DisclosureError
from evaluation.instruments.model import Instrument

__all__ = ["DisclosureReport", "check_disclosure", "k_anonymity", "quasi_identifiers"]

#: Device metadata that never goes to partners (DIME Box 5.5), whatever its pii flag.
DEVICE_TYPES = frozenset(
    {"deviceid", "subscriberid", "simserial", "phonenumber", "username", "email", "audit"}
)


@dataclass(frozen=True, slots=True)
class DisclosureReport:
    """The k-anonymity of a table on its quasi-identifiers.

    Attributes
    ----------
    quasi_identifiers : tuple of str
        The columns combined.
    k : int
        The size of the smallest class (0 for an empty table).
    required : int
        The k required.
    records : int
        Records in the table.
    records_below : int
        Records in classes smaller than ``required``.
    classes : int
        Distinct combinations.
    class_sizes : pandas.DataFrame
        ``size`` and ``classes`` (how many classes have that size) and ``records``.
    distinct : pandas.DataFrame
        Per quasi-identifier, its number of distinct values (``<NA>`` counted as one).

    Notes
    -----
    A missing value is a category of its own (stricter than sdcMicro, which lets a missing
    value match any value).
    """

    quasi_identifiers: tuple[str, ...]
    k: int
    required: int
    records: int
    records_below: int
    classes: int
    class_sizes: pd.DataFrame
    distinct: pd.DataFrame

    @property
    def passes(self) -> bool:  # numpydoc ignore=RT01
        """Whether every class has at least ``required`` records."""
        return self.records == 0 or self.k >= self.required

    def to_dict(self) -> dict[str, object]:
        """Return the report as plain data (for ``disclosure.json``).

        Returns
        -------
        dict
            Every attribute, the tables as lists of records.
        """
        return {
            "quasi_identifiers": list(self.quasi_identifiers),
            "k": self.k,
            "required": self.required,
            "passes": self.passes,
            "records": self.records,
            "records_below": self.records_below,
            "classes": self.classes,
            "class_sizes": self.class_sizes.to_dict(orient="records"),
            "distinct": self.distinct.to_dict(orient="records"),
        }


def quasi_identifiers(instrument: Instrument, columns: Sequence[str]) -> tuple[str, ...]:
    """Return the declared quasi-identifiers present among some columns.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire (``pii: indirect`` flags).
    columns : sequence of str
        The columns of the export.

    Returns
    -------
    tuple of str
        Indirect identifiers in form order, device metadata left out.
    """
    present = set(columns)
    return tuple(
        q.name
        for q, _ in instrument.walk()
        if q.pii == "indirect" and q.type not in DEVICE_TYPES and q.name in present
    )


def k_anonymity(data: pd.DataFrame, quasi: Sequence[str], required: int = 5) -> DisclosureReport:
    """Compute the k-anonymity of a table on its quasi-identifiers.

    Parameters
    ----------
    data : pandas.DataFrame
        The table to release.
    quasi : sequence of str
        The quasi-identifier columns.
    required : int, optional
        The k required (for ``records_below``).

    Returns
    -------
    DisclosureReport
        Class sizes, k and the records below the requirement.

    Raises
    ------
    DisclosureError
        When a quasi-identifier is not a column of the table.
    """
    missing = [c for c in quasi if c not in data.columns]
    if missing:
        msg = f"quasi-identifiers {missing} are not columns of the export"
        raise DisclosureError(msg)
    records = len(data)
    if not quasi or records == 0:
        sizes = pd.DataFrame(
            {"size": [records] if records else [], "classes": [1] if records else []}
        )
        sizes["records"] = sizes["size"] * sizes["classes"]
        return DisclosureReport(
            tuple(quasi),
            records,
            required,
            records,
            0,
            1 if records else 0,
            sizes,
            pd.DataFrame({"quasi_identifier": list(quasi), "distinct": [0] * len(quasi)}),
        )
    codes = np.zeros(records, dtype=np.int64)
    for column in quasi:
        part, uniques = pd.factorize(data[column].astype("string"), use_na_sentinel=False)
        codes = codes * (len(uniques) + 1) + part
        codes = pd.factorize(codes)[0]
    size_of = np.bincount(codes)
    per_record = size_of[codes]
    sizes = (
        pd.Series(size_of)
        .value_counts()
        .rename_axis("size")
        .reset_index(name="classes")
        .sort_values("size")
        .reset_index(drop=True)
    )
    sizes["records"] = sizes["size"] * sizes["classes"]
    distinct = pd.DataFrame(
        {
            "quasi_identifier": list(quasi),
            "distinct": [int(data[c].astype("string").nunique(dropna=False)) for c in quasi],
        }
    )
    return DisclosureReport(
        quasi_identifiers=tuple(quasi),
        k=int(size_of.min()),
        required=required,
        records=records,
        records_below=int((per_record < required).sum()),
        classes=len(size_of),
        class_sizes=sizes,
        distinct=distinct,
    )


def check_disclosure(
    data: pd.DataFrame, quasi: Sequence[str], required: int, *, override: bool = False
) -> DisclosureReport:
    """Refuse a release whose k-anonymity is below the required k, unless overridden.

    Parameters
    ----------
    data : pandas.DataFrame
        The table to release.
    quasi : sequence of str
        The quasi-identifiers.
    required : int
        The k required.
    override : bool, optional
        Release anyway (the report still says it fails).

    Returns
    -------
    DisclosureReport
        The report.

    Raises
    ------
    DisclosureError
        When k is below ``required`` and ``override`` is false; the message gives k, the
        records at risk and the quasi-identifiers, never their values.
    """
    report = k_anonymity(data, quasi, required)
    if not report.passes and not override:
        msg = (
            f"the export is {report.k}-anonymous on {list(report.quasi_identifiers)} but k >= "
            f"{required} is required: {report.records_below} of {report.records} records are in "
            f"classes smaller than {required}; recode or drop quasi-identifiers (disclosure."
            "quasi_identifiers in cleaning.toml), or override knowingly"
        )
        raise DisclosureError(msg)
    return report
