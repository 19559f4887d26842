"""Frozen, tidy results shared by every estimator.

Every estimator in :mod:`evaluation.estimation` returns an :class:`EffectEstimate` (one focal
coefficient) and collections of them travel as :class:`EffectEstimates`. Tables and figures are
drawn from :meth:`EffectEstimates.to_frame` only, so a number printed in a report is always the
number an estimator returned.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

__all__ = ["EffectEstimate", "EffectEstimates"]


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    """One estimated effect with its uncertainty and the conventions behind it.

    Attributes
    ----------
    outcome : str
        The outcome variable.
    estimator : str
        The design or estimator, for example ``"ols"``, ``"ancova"``, ``"did"``, ``"ipw"``,
        ``"aipw"``, ``"matching"`` or ``"lee_bounds"``.
    effect : float
        The point estimate of the focal coefficient.
    std_error : float
        Its standard error (``nan`` when the inference method gives none).
    pvalue : float
        Two-sided p-value for the null of no effect.
    ci_lower, ci_upper : float
        Confidence interval at level ``level``.
    df : float
        Degrees of freedom of the reference distribution (``inf`` for normal inference).
    nobs : int
        Observations used.
    n_clusters : int or None
        Number of clusters when the variance is clustered.
    control_mean : float
        Mean of the outcome in the comparison group (weighted when weights are used).
    vcov : str
        Variance estimator: ``"iid"``, ``"HC1"``, ``"HC2"``, ``"CR1"``, ``"CR2"``, ...
    inference : str
        How p-values and intervals were obtained, for example ``"analytic"`` or
        ``"wild (WCR, Webb, 9,999 draws)"``.
    treatment : str, optional
        The treatment (focal) variable.
    level : float, optional
        Confidence level of the interval, 0.95 by default.
    n_treated_clusters : int or None, optional
        Clusters with at least one treated unit, when clustered.
    family : str or None, optional
        Outcome family in the analysis plan (for multiple-testing adjustment).
    subgroup : str or None, optional
        Subgroup label such as ``"dem_sex=2"``; ``None`` for the full sample.
    specification : str or None, optional
        Specification name from the analysis plan.
    notes : tuple of str, optional
        Plain-language notes, for example why ``inference="auto"`` chose a method.
    extra : Mapping, optional
        Further estimator-specific statistics (bounds, trimming shares, effective sample size).
    fit : object, optional
        The underlying fit kept for diagnostics; not compared and not shown.
    """

    outcome: str
    estimator: str
    effect: float
    std_error: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    df: float
    nobs: int
    n_clusters: int | None
    control_mean: float
    vcov: str
    inference: str
    treatment: str = "treatment"
    level: float = 0.95
    n_treated_clusters: int | None = None
    family: str | None = None
    subgroup: str | None = None
    specification: str | None = None
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    fit: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Freeze ``extra`` so the result cannot change after it is made."""
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def replace(self, **changes: Any) -> EffectEstimate:
        """Return a copy with some fields changed.

        Parameters
        ----------
        **changes : Any
            Field names and their new values.

        Returns
        -------
        EffectEstimate
            The new, equally frozen result.
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the tidy row for this estimate.

        Returns
        -------
        dict
            Field names to values, without ``fit``; entries of ``extra`` are added as columns.
        """
        row = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in {"fit", "extra", "notes"}
        }
        row["notes"] = "; ".join(self.notes)
        row.update(self.extra)
        return row

    def summary(self) -> str:
        """Return a short plain-text description for people.

        Returns
        -------
        str
            Effect, standard error, interval, p-value and conventions on a few lines.
        """
        clusters = "" if self.n_clusters is None else f", {self.n_clusters} clusters"
        lines = [
            f"{self.outcome} ~ {self.treatment} [{self.estimator}]",
            (
                f"  effect {_fmt(self.effect)} (SE {_fmt(self.std_error)}), "
                f"{self.level:.0%} CI [{_fmt(self.ci_lower)}, {_fmt(self.ci_upper)}], "
                f"p = {_fmt(self.pvalue)}"
            ),
            (
                f"  N = {self.nobs:,}{clusters}; control mean {_fmt(self.control_mean)}; "
                f"vcov {self.vcov}; inference {self.inference}; df {_fmt(self.df)}"
            ),
        ]
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return EffectEstimates((self,))._repr_html_()


@dataclass(frozen=True, slots=True)
class EffectEstimates:
    """An ordered, immutable collection of effect estimates.

    Attributes
    ----------
    estimates : tuple of EffectEstimate
        The estimates, in the order they were requested.
    adjustments : Mapping, optional
        Multiple-testing adjustments: column name to a tuple of adjusted p- or q-values aligned
        with ``estimates`` (for example ``{"pvalue_holm": (...), "qvalue_anderson": (...)}``,
        as :meth:`adjust` makes them).
    """

    estimates: tuple[EffectEstimate, ...]
    adjustments: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check the adjustments line up with the estimates and freeze them."""
        estimates = tuple(self.estimates)
        object.__setattr__(self, "estimates", estimates)
        frozen = {
            name: tuple(float(v) for v in values) for name, values in self.adjustments.items()
        }
        for name, values in frozen.items():
            if len(values) != len(estimates):
                msg = (
                    f"adjustment {name!r} has {len(values)} values for {len(estimates)} estimates; "
                    "expected one value per estimate"
                )
                raise ValueError(msg)
        object.__setattr__(self, "adjustments", MappingProxyType(frozen))

    def __len__(self) -> int:
        """Return the number of estimates."""
        return len(self.estimates)

    def __iter__(self) -> Iterator[EffectEstimate]:
        """Iterate over the estimates in order."""
        return iter(self.estimates)

    def __getitem__(self, index: int) -> EffectEstimate:
        """Return one estimate by position."""
        return self.estimates[index]

    @classmethod
    def concat(cls, parts: Iterable[EffectEstimates]) -> EffectEstimates:
        """Join several collections, keeping adjustments only where every part has them.

        Parameters
        ----------
        parts : iterable of EffectEstimates
            Collections to join in order.

        Returns
        -------
        EffectEstimates
            One collection holding every estimate.
        """
        parts = list(parts)
        estimates = tuple(e for part in parts for e in part.estimates)
        shared = set.intersection(*(set(p.adjustments) for p in parts)) if parts else set()
        adjustments = {
            name: tuple(v for part in parts for v in part.adjustments[name])
            for name in sorted(shared)
        }
        return cls(estimates, adjustments)

    def to_frame(self) -> pd.DataFrame:
        """Return the tidy table: one row per outcome x subgroup x specification.

        Returns
        -------
        pandas.DataFrame
            Every field of every estimate, plus one column per multiple-testing adjustment,
            named by its key (``pvalue_<method>`` or ``qvalue_<method>``, see :meth:`adjust`).
        """
        frame = pd.DataFrame([e.to_dict() for e in self.estimates])
        for name, values in self.adjustments.items():
            frame[name] = list(values)
        return frame

    def adjust(
        self, method: str | tuple[str, ...] = ("holm", "anderson"), *, by: Any = "family", **kw: Any
    ) -> EffectEstimates:
        """Return a copy with p-values adjusted for multiple testing within families.

        Parameters
        ----------
        method : str or tuple of str, optional
            ``"bonferroni"``, ``"holm"``, ``"bh"``, ``"anderson"`` and/or ``"romano_wolf"``.
        by : str or sequence of str, optional
            Estimate fields defining a family (``"family"`` by default).
        **kw : Any
            Romano-Wolf options of :func:`evaluation.estimation.adjust_pvalues`
            (``resampling``, ``bootstrap_draws``, ``weights_type``, ``permutations``, ``seed``,
            ``data``, ``strata``).

        Returns
        -------
        EffectEstimates
            The same estimates with adjustment columns added (see
            :func:`evaluation.estimation.adjust_pvalues`).
        """
        from evaluation.estimation.multiple_testing import adjust_pvalues

        return adjust_pvalues(self, method, by=by, **kw)

    def summary(self) -> str:
        """Return every estimate's plain-text summary.

        Returns
        -------
        str
            The summaries separated by blank lines.
        """
        return "\n\n".join(e.summary() for e in self.estimates)

    def _repr_html_(self) -> str:
        columns = ["outcome", "estimator", "effect", "std_error", "ci_lower", "ci_upper"]
        columns += ["pvalue", "nobs", "n_clusters", "vcov", "inference"]
        frame = self.to_frame()
        extra = [c for c in ("subgroup", "specification", "family") if frame[c].notna().any()]
        columns = extra + columns + list(self.adjustments)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        rows = []
        for _, row in frame[columns].iterrows():
            cells = "".join(f"<td>{html.escape(_fmt(row[c]))}</td>" for c in columns)
            rows.append(f"<tr>{cells}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        if math.isinf(value):
            return "inf"
        return f"{value:.4g}"
    return str(value)
