"""How p-values and intervals are computed: analytic, wild bootstrap, randomization, or "auto".

The ``inference=`` argument of the estimators lands here. ``"auto"`` implements the few-cluster
safeguards of METHODS section 2.6: it reports CR1, CR2 (Satterthwaite) and the WCR bootstrap side
by side in ``extra``, picks the reported p-value and interval by the rule in
:func:`apply_inference`, warns when treated (or control) clusters are very few, and says what it
chose and why in ``notes`` and ``inference``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evaluation.estimation.bootstrap import WEIGHT_TYPES, WildBootstrapResult, bootstrap_fits
from evaluation.estimation.covariance import RegressionFit, fit_wls
from evaluation.estimation.randomization import Assignment, RandomizationResult, permute_fits
from evaluation.estimation.results import EffectEstimate

__all__ = [
    "AUTO_ANALYTIC_MIN_CLUSTERS",
    "AUTO_FEW_TREATED",
    "AUTO_WEBB_BELOW",
    "INFERENCE_METHODS",
    "FewClustersWarning",
    "InferenceOptions",
    "InferenceRequest",
    "apply_inference",
    "apply_inference_all",
]

INFERENCE_METHODS = ("analytic", "wild", "randomization", "auto")
AUTO_ANALYTIC_MIN_CLUSTERS = 50
"""With at least this many clusters (and enough treated and control ones) auto keeps CR1."""
AUTO_WEBB_BELOW = 12
"""Below this many clusters the wild bootstrap uses Webb's six-point weights."""
AUTO_FEW_TREATED = 4
"""Fewer treated (or control) clusters than this, or under 10% of G, count as very few."""
AUTO_FEW_SHARE = 0.10


class FewClustersWarning(UserWarning):
    """Cluster-robust inference rests on very few treated or control clusters."""


@dataclass(frozen=True)
class InferenceOptions:
    """How to compute p-values and confidence intervals.

    Attributes
    ----------
    method : {"analytic", "wild", "randomization", "auto"}
        The method (see :func:`evaluation.estimation.estimate_effect`).
    bootstrap_draws : int
        Wild bootstrap draws ``B``.
    weights_type : str or None
        Wild bootstrap weights; ``None`` means Webb below 12 clusters, Rademacher otherwise.
    seed : int, numpy.random.Generator or None
        Seed of the bootstrap and permutation draws (``None`` means seed 0).
    permutations : int
        Randomization-inference re-assignments.
    """

    method: str = "analytic"
    bootstrap_draws: int = 9_999
    weights_type: str | None = None
    seed: int | np.random.Generator | None = None
    permutations: int = 9_999

    def __post_init__(self) -> None:
        """Check the options."""
        if self.method not in INFERENCE_METHODS:
            msg = f"inference must be one of {INFERENCE_METHODS}; got {self.method!r}"
            raise ValueError(msg)
        if self.weights_type is not None and self.weights_type not in WEIGHT_TYPES:
            msg = f"weights_type must be one of {WEIGHT_TYPES} or None; got {self.weights_type!r}"
            raise ValueError(msg)
        for name in ("bootstrap_draws", "permutations"):
            if int(getattr(self, name)) < 1:
                msg = f"{name} must be a positive integer; got {getattr(self, name)!r}"
                raise ValueError(msg)


AssignmentSource = Callable[[], Assignment] | str
"""A function returning the assignment for randomization inference, or why there is none."""


def _weights_type(options: InferenceOptions, n_clusters: int | None) -> str:
    if options.weights_type is not None:
        return options.weights_type
    return "webb" if n_clusters is not None and n_clusters < AUTO_WEBB_BELOW else "rademacher"


def _wild(
    fit: RegressionFit, contrast: np.ndarray, options: InferenceOptions, level: float
) -> WildBootstrapResult:
    (result,) = bootstrap_fits(
        [(fit, contrast)],
        weights_type=_weights_type(options, fit.design.n_clusters),
        bootstrap_draws=options.bootstrap_draws,
        seed=options.seed,
        level=level,
    )
    return result


@dataclass(frozen=True)
class InferenceRequest:
    """One estimate waiting for its p-value and interval (see :func:`apply_inference`).

    Attributes
    ----------
    estimate : EffectEstimate
        The analytic estimate.
    fit : RegressionFit
        The fit behind it.
    contrast : numpy.ndarray
        The tested linear combination of ``fit.params``.
    options : InferenceOptions
        The method and its settings.
    assignment : callable or str
        Builds the treatment assignment for randomization inference, or says why there is none.
    n_control_clusters : int or None
        Clusters with untreated rows in the estimate's sample.
    """

    estimate: EffectEstimate
    fit: RegressionFit
    contrast: np.ndarray
    options: InferenceOptions
    assignment: AssignmentSource
    n_control_clusters: int | None


def _needs_wild(request: InferenceRequest) -> bool:
    method = request.options.method
    clustered = request.fit.design.n_clusters is not None and request.fit.n_clusters is not None
    return method == "wild" or (method == "auto" and clustered)


def _wild_all(requests: list[InferenceRequest]) -> dict[int, WildBootstrapResult]:
    """Wild bootstraps of every request that needs one, sharing draws where they coincide.

    Requests whose draws would be identical one by one (same seed, draws, weights, level,
    cluster column and clusters) are bootstrapped in one call, which draws the weights once
    and stacks the products with them; each result equals its own single call. Requests
    seeded by a generator (each call advances it) are left to be run one by one, in order.
    """
    groups: dict[tuple, list[int]] = {}
    for i, request in enumerate(requests):
        options = request.options
        if not _needs_wild(request) or isinstance(options.seed, np.random.Generator):
            continue
        design = request.fit.design
        labels = design.cluster_labels if design.clusters is not None else design.index
        key = (
            design.cluster_name,
            _weights_type(options, design.n_clusters),
            int(options.bootstrap_draws),
            options.seed,
            request.estimate.level,
            tuple(np.asarray(labels).tolist()),
        )
        groups.setdefault(key, []).append(i)
    out: dict[int, WildBootstrapResult] = {}
    for (_, weights_type, draws, seed, level, _), members in groups.items():
        results = bootstrap_fits(
            [(requests[i].fit, requests[i].contrast) for i in members],
            weights_type=weights_type,
            bootstrap_draws=draws,
            seed=seed,
            level=level,
        )
        out.update(zip(members, results, strict=True))
    return out


def _randomization(
    fit: RegressionFit,
    contrast: np.ndarray,
    source: AssignmentSource,
    options: InferenceOptions,
    level: float,
) -> RandomizationResult:
    focal = np.zeros_like(contrast)
    focal[fit.design.focal] = 1.0
    if isinstance(source, str) or not np.array_equal(contrast, focal):
        reason = source if isinstance(source, str) else "it tests a contrast of coefficients"
        msg = f"randomization inference is not available for this estimate: {reason}"
        raise ValueError(msg)
    (result,) = permute_fits(
        [fit],
        source(),
        permutations=options.permutations,
        seed=options.seed,
        level=level,
    )
    return result


_WILD_NOTE = (
    "p-value and CI from the wild cluster bootstrap: t* with each draw's CR1 variance, "
    "symmetric p = #{|t*| > |t|}/B with ties (within 1e-9) not counted, CI by test inversion"
)
_RI_NOTE = (
    "p-value and CI from randomization inference: treatment re-assigned across clusters "
    "within strata, CR1 t statistic, p = share with |t_b| >= |t| (ties counted), CI by "
    "inverting the sharp null of a constant effect"
)


def _replace_with(estimate: EffectEstimate, result, label: str, note: str) -> EffectEstimate:
    extra = dict(estimate.extra)
    if isinstance(result, WildBootstrapResult):
        extra.update(
            bootstrap_draws=result.draws,
            bootstrap_enumerated=result.enumerated,
            bootstrap_weights=result.weights_type,
            bootstrap_ties=result.n_ties,
        )
    else:
        extra.update(
            permutations=result.permutations,
            permutations_enumerated=result.enumerated,
            n_assignments=result.n_assignments,
        )
    return estimate.replace(
        pvalue=result.pvalue,
        ci_lower=result.ci_lower,
        ci_upper=result.ci_upper,
        inference=label,
        notes=(*estimate.notes, note),
        extra=extra,
    )


def _analytic(
    fit: RegressionFit, contrast: np.ndarray, level: float
) -> tuple[float, float, float, float, float]:
    effect = float(contrast @ fit.params.to_numpy())
    se = float(np.sqrt(contrast @ fit.cov.to_numpy() @ contrast))
    if fit.vcov == "CR2":
        _, _, df = fit.contrast(dict(zip(fit.params.index, contrast, strict=True)))
    else:
        df = fit.df
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    p = float(2 * stats.t.sf(abs(effect / se), df)) if se > 0 else math.nan
    return se, df, p, effect - half, effect + half


def apply_inference(
    estimate: EffectEstimate,
    fit: RegressionFit,
    contrast: np.ndarray,
    options: InferenceOptions,
    *,
    assignment: AssignmentSource,
    n_control_clusters: int | None,
) -> EffectEstimate:
    """Recompute an estimate's p-value and interval by the requested method.

    Parameters
    ----------
    estimate : EffectEstimate
        The analytic estimate (its ``std_error`` and ``df`` are kept).
    fit : RegressionFit
        The fit behind it.
    contrast : numpy.ndarray
        The tested linear combination of ``fit.params``.
    options : InferenceOptions
        The method and its settings.
    assignment : callable or str
        Builds the treatment assignment for randomization inference, or says why there is none.
    n_control_clusters : int or None
        Clusters with untreated rows in the estimate's sample.

    Returns
    -------
    EffectEstimate
        The estimate with ``pvalue``, ``ci_lower``, ``ci_upper``, ``inference``, ``notes`` and
        ``extra`` updated.

    Raises
    ------
    ValueError
        Randomization inference where it is not available.

    Warns
    -----
    FewClustersWarning
        ``"auto"`` with very few treated or control clusters.

    Notes
    -----
    The ``"auto"`` rule (METHODS 2.6), with G clusters, G1 treated and G0 control clusters:

    1. unclustered: analytic inference with the requested variance;
    2. always: CR1 (t on G - 1 df), CR2 (Satterthwaite df) and the WCR bootstrap are computed
       and stored side by side in ``extra`` (``pvalue_cr1``, ``pvalue_cr2``, ``df_cr2``,
       ``pvalue_wcr`` and their intervals);
    3. very few treated or control clusters (``min(G1, G0) < 4`` or under 10% of G): warn
       (``FewClustersWarning``; the wild bootstrap is unreliable there, MacKinnon & Webb 2017)
       and report randomization inference when it is available and can reject at the 5%
       level (at least 40 distinct assignments), otherwise the WCR bootstrap with a note;
    4. otherwise G >= 50: the analytic p-value and interval of the requested variance (CR1
       by default);
    5. otherwise (G < 50): the WCR bootstrap, with Webb weights when G < 12 and Rademacher
       weights otherwise, by full enumeration when ``2^G <= B`` (Rademacher) or ``6^G <= B``
       (Webb).
    """
    request = InferenceRequest(estimate, fit, contrast, options, assignment, n_control_clusters)
    (result,) = apply_inference_all([request])
    return result


def apply_inference_all(requests: Sequence[InferenceRequest]) -> list[EffectEstimate]:
    """Apply :func:`apply_inference` to many estimates at once, with the same results.

    Parameters
    ----------
    requests : sequence of InferenceRequest
        The estimates with their fits, contrasts, options and assignments.

    Returns
    -------
    list of EffectEstimate
        One estimate per request, in order, each equal to what :func:`apply_inference` returns
        for it alone.

    Warns
    -----
    FewClustersWarning
        As :func:`apply_inference`, in the order of the requests.

    Notes
    -----
    The wild bootstraps of requests that would use the same draws one by one run together
    (the weights drawn once, the products with them stacked), and the CR1 and CR2 fits that
    ``"auto"`` adds are computed once per fit and shared by the contrasts tested on it.
    """
    requests = list(requests)
    wild = _wild_all(requests)
    refits: dict[tuple[int, str], RegressionFit | ValueError] = {}
    out = []
    for i, request in enumerate(requests):
        estimate, fit, contrast, options = (
            request.estimate,
            request.fit,
            request.contrast,
            request.options,
        )
        level = estimate.level
        if options.method == "analytic":
            out.append(estimate)
            continue
        if options.method == "randomization":
            result = _randomization(fit, contrast, request.assignment, options, level)
            out.append(_replace_with(estimate, result, result.describe(), _RI_NOTE))
            continue
        found = wild.get(i) if _needs_wild(request) else None
        if found is None and _needs_wild(request):
            found = _wild(fit, contrast, options, level)
        if options.method == "wild":
            out.append(_replace_with(estimate, found, found.describe(), _WILD_NOTE))
            continue
        out.append(_auto(request, found, refits))
    return out


def _refit(
    fit: RegressionFit, vcov: str, refits: dict[tuple[int, str], RegressionFit | ValueError]
) -> RegressionFit:
    """Return ``fit`` under another variance, computed once per fit (errors are kept too)."""
    if fit.vcov == vcov:
        return fit
    key = (id(fit), vcov)
    if key not in refits:
        try:
            refits[key] = fit_wls(fit.design, vcov)
        except ValueError as err:
            refits[key] = err
    found = refits[key]
    if isinstance(found, ValueError):
        raise found
    return found


def _auto(
    request: InferenceRequest,
    wild: WildBootstrapResult | None,
    refits: dict[tuple[int, str], RegressionFit | ValueError],
) -> EffectEstimate:
    estimate, fit, contrast, options = (
        request.estimate,
        request.fit,
        request.contrast,
        request.options,
    )
    assignment, n_control = request.assignment, request.n_control_clusters
    level = estimate.level
    G = fit.design.n_clusters
    if G is None or fit.n_clusters is None:
        note = f"auto: no clusters, so analytic {fit.vcov} inference"
        return estimate.replace(inference="auto: analytic", notes=(*estimate.notes, note))
    extra = dict(estimate.extra)
    cr1 = _refit(fit, "CR1", refits)
    _, _, p1, lo1, hi1 = _analytic(cr1, contrast, level)
    extra.update(pvalue_cr1=p1, ci_lower_cr1=lo1, ci_upper_cr1=hi1)
    try:
        cr2 = _refit(fit, "CR2", refits)
        se2, df2, p2, lo2, hi2 = _analytic(cr2, contrast, level)
        extra.update(
            std_error_cr2=se2, df_cr2=df2, pvalue_cr2=p2, ci_lower_cr2=lo2, ci_upper_cr2=hi2
        )
    except ValueError as err:
        extra["cr2_error"] = str(err)
    extra.update(pvalue_wcr=wild.pvalue, ci_lower_wcr=wild.ci_lower, ci_upper_wcr=wild.ci_upper)
    n_treated = estimate.n_treated_clusters
    counts = [c for c in (n_treated, n_control) if c is not None]
    fewest = min(counts) if counts else G
    few = fewest < AUTO_FEW_TREATED or fewest < AUTO_FEW_SHARE * G
    base = {"extra": extra}
    if few:
        ri, why_not = None, ""
        try:
            ri = _randomization(fit, contrast, assignment, options, level)
        except ValueError as err:
            why_not = str(err)
        min_assignments = 2.0 / (1.0 - level)
        if ri is not None and ri.n_assignments < min_assignments:
            why_not = (
                f"only {ri.n_assignments:g} distinct assignments, too few to reject at "
                f"{1 - level:.0%}"
            )
            ri = None
        message = (
            f"{estimate.outcome!r}: {n_treated} treated and {n_control} control clusters of {G}; "
            "cluster-robust and wild-bootstrap inference are unreliable with so few "
            "(MacKinnon & Webb 2017); randomization inference is "
            + ("reported" if ri is not None else f"suggested but not used ({why_not})")
        )
        warnings.warn(message, FewClustersWarning, stacklevel=4)
        if ri is not None:
            extra.update(pvalue_ri=ri.pvalue, ci_lower_ri=ri.ci_lower, ci_upper_ri=ri.ci_upper)
            chosen = _replace_with(estimate.replace(**base), ri, "auto: " + ri.describe(), _RI_NOTE)
        else:
            chosen = _replace_with(
                estimate.replace(**base), wild, "auto: " + wild.describe(), _WILD_NOTE
            )
        return chosen.replace(notes=(*chosen.notes, "auto: " + message))
    if G >= AUTO_ANALYTIC_MIN_CLUSTERS:
        note = (
            f"auto: {G} clusters (>= {AUTO_ANALYTIC_MIN_CLUSTERS}) with {n_treated} treated: "
            f"analytic {fit.vcov} p-value and CI; CR2 and WCR in extra for comparison"
        )
        return estimate.replace(
            inference=f"auto: analytic {fit.vcov}", notes=(*estimate.notes, note), **base
        )
    why = f"auto: {G} clusters (< {AUTO_ANALYTIC_MIN_CLUSTERS}): WCR wild bootstrap"
    if wild.weights_type == "webb" and options.weights_type is None:
        why += f" with Webb weights (G < {AUTO_WEBB_BELOW})"
    if wild.enumerated:
        why += f", all {wild.draws:,} patterns enumerated"
    chosen = _replace_with(estimate.replace(**base), wild, "auto: " + wild.describe(), _WILD_NOTE)
    return chosen.replace(notes=(*chosen.notes, why + "; CR1 and CR2 in extra for comparison"))
