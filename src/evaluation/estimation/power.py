"""Power and minimum detectable effects for clustered and individual designs.

Analytic: the clustered MDE of Bloom (1995) and Djimeu & Houndolo (2016) with covariates at both
levels, take-up, attrition, unequal cluster sizes (Eldridge et al. 2006) and the ANCOVA or DiD
gain (McKenzie 2012); required clusters; individual-level power through statsmodels. Simulated:
any data-generating function and estimator. Ex post: the MDE of a realised design.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from evaluation.estimation.effects import estimate_effect
from evaluation.estimation.results import EffectEstimate

__all__ = [
    "clustered_mde",
    "clustered_power",
    "design_effect",
    "estimate_icc",
    "ex_post_mde",
    "individual_power",
    "mckenzie_factor",
    "mde_table",
    "required_clusters",
    "simulate_power",
]

DESIGNS = ("post", "ancova", "did")
MULTIPLIERS = ("t", "normal")


def mckenzie_factor(
    design: str, autocorrelation: float, *, baseline_rounds: int = 1, followup_rounds: int = 1
) -> float:
    r"""Variance of an estimator relative to a single post-treatment comparison (McKenzie 2012).

    Parameters
    ----------
    design : {"post", "ancova", "did"}
        The estimator.
    autocorrelation : float
        Correlation :math:`\rho` of the outcome between rounds.
    baseline_rounds, followup_rounds : int, optional
        Rounds :math:`m` before and :math:`r` after treatment.

    Returns
    -------
    float
        The variance factor.

    Notes
    -----
    POST :math:`(1 + (r-1)\rho)/r`; ANCOVA :math:`(1 + (r-1)\rho)/r - m\rho^2/(1 + (m-1)\rho)`;
    DiD :math:`(1 + (r-1)\rho)/r + (1 + (m-1)\rho)/m - 2\rho` (McKenzie 2012, JDE 99(2),
    equations 5-7). With one round each: 1, :math:`1-\rho^2` and :math:`2(1-\rho)`.
    """
    if design not in DESIGNS:
        msg = f"design must be one of {DESIGNS}; got {design!r}"
        raise ValueError(msg)
    rho, m, r = float(autocorrelation), int(baseline_rounds), int(followup_rounds)
    if not -1 <= rho <= 1 or m < 1 or r < 1:
        msg = "autocorrelation must lie in [-1, 1] and the round counts be at least 1"
        raise ValueError(msg)
    post = (1 + (r - 1) * rho) / r
    if design == "post":
        return post
    if design == "ancova":
        return post - m * rho**2 / (1 + (m - 1) * rho)
    return post + (1 + (m - 1) * rho) / m - 2 * rho


def design_effect(cluster_size: float, icc: float, *, cv: float = 0.0) -> float:
    r"""Design effect of cluster sampling with (possibly unequal) cluster sizes.

    Parameters
    ----------
    cluster_size : float
        Mean cluster size :math:`\bar m`.
    icc : float
        Intra-cluster correlation :math:`\rho`.
    cv : float, optional
        Coefficient of variation of the cluster sizes.

    Returns
    -------
    float
        :math:`1 + ((cv^2 + 1)\bar m - 1)\rho` (Eldridge, Ashby & Kerry 2006, eq. 4).
    """
    return 1.0 + ((cv**2 + 1.0) * cluster_size - 1.0) * icc


def _multiplier(alpha: float, power: float, df: float, kind: str, two_sided: bool) -> float:
    if kind not in MULTIPLIERS:
        msg = f"multiplier must be one of {MULTIPLIERS}; got {kind!r}"
        raise ValueError(msg)
    if not (0 < alpha < 1 and 0 < power < 1):
        msg = f"alpha and power must lie in (0, 1); got {alpha}, {power}"
        raise ValueError(msg)
    dist = stats.norm if kind == "normal" else stats.t(df)
    a = alpha / 2 if two_sided else alpha
    return float(dist.ppf(1 - a) + dist.ppf(power))


def _check_design(
    n_clusters: float, cluster_size: float, icc: float, treated_share: float, multiplier: str
) -> None:
    if not 0 <= icc <= 1:
        msg = f"icc must lie in [0, 1]; got {icc}"
        raise ValueError(msg)
    if not 0 < treated_share < 1:
        msg = f"treated_share must lie strictly between 0 and 1; got {treated_share}"
        raise ValueError(msg)
    if cluster_size < 1:
        msg = f"cluster_size must be at least 1; got {cluster_size}"
        raise ValueError(msg)
    if multiplier == "t" and n_clusters <= 2:
        msg = (
            f"{n_clusters} clusters leave no degrees of freedom (J - 2 = {n_clusters - 2}) for "
            "the t multiplier; a cluster design needs at least 3 clusters"
        )
        raise ValueError(msg)


def _standard_error(
    n_clusters: float,
    cluster_size: float,
    icc: float,
    *,
    treated_share: float,
    r2_cluster: float,
    r2_individual: float,
    attrition: float,
    cv: float,
    variance_factor: float,
) -> float:
    """Return the SE of the difference in means in SD units (Bloom 1995, extended)."""
    if not 0 <= attrition < 1:
        msg = f"attrition must lie in [0, 1); got {attrition}"
        raise ValueError(msg)
    n = cluster_size * (1 - attrition)
    pq = treated_share * (1 - treated_share)
    between = icc * (1 - r2_cluster) * (1 + cv**2) / (pq * n_clusters)
    within = (1 - icc) * (1 - r2_individual) / (pq * n_clusters * n)
    return math.sqrt(variance_factor * (between + within))


def clustered_mde(
    n_clusters: float,
    cluster_size: float,
    icc: float,
    *,
    treated_share: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    r2_cluster: float = 0.0,
    r2_individual: float = 0.0,
    take_up: float = 1.0,
    attrition: float = 0.0,
    cv: float = 0.0,
    design: str = "post",
    autocorrelation: float = 0.0,
    multiplier: str = "t",
    sigma: float = 1.0,
    two_sided: bool = True,
) -> float:
    r"""Minimum detectable effect of a cluster-randomised (or cluster-matched) comparison.

    Parameters
    ----------
    n_clusters : float
        Clusters :math:`J` (both arms).
    cluster_size : float
        Respondents per cluster :math:`n` (the mean when sizes vary).
    icc : float
        Intra-cluster correlation :math:`\rho` of the outcome.
    treated_share : float, optional
        Share :math:`P` of clusters treated.
    alpha : float, optional
        Significance level.
    power : float, optional
        Target power :math:`\pi`.
    r2_cluster, r2_individual : float, optional
        Outcome variance explained by covariates at the cluster and the individual level.
    take_up : float, optional
        Difference in take-up between arms; the MDE of the treatment-on-the-treated effect
        is the intention-to-treat MDE divided by it.
    attrition : float, optional
        Share of respondents lost at follow-up in every cluster (the cluster size shrinks).
    cv : float, optional
        Coefficient of variation of cluster sizes (Eldridge et al. 2006).
    design : {"post", "ancova", "did"}, optional
        Estimator; ``ancova`` and ``did`` use McKenzie's (2012) variance factors.
    autocorrelation : float, optional
        Outcome autocorrelation between baseline and follow-up, for ``ancova`` and ``did``.
    multiplier : {"t", "normal"}, optional
        Quantiles of :math:`t_{J-2}` or of the normal.
    sigma : float, optional
        Outcome SD; 1 gives the MDE in SD units.
    two_sided : bool, optional
        Two-sided test.

    Returns
    -------
    float
        The MDE in units of ``sigma``.

    Raises
    ------
    ValueError
        Parameters out of range, or too few clusters for the t multiplier.

    Notes
    -----
    :math:`MDE = M_{J-2}\,\sigma\sqrt{f\,[\rho(1-R^2_c)(1+cv^2)/(P(1-P)J) + (1-\rho)(1-R^2_i)/
    (P(1-P)Jn')]}/\text{take-up}` with :math:`M = t_{1-\alpha/2} + t_{\pi}` (Bloom 1995;
    Djimeu & Houndolo 2016, eq. 9), :math:`n' = n(1 - attrition)`, :math:`f` the McKenzie
    factor (:func:`mckenzie_factor`) and the unequal-size term :math:`1 + cv^2` from Eldridge's
    design effect :math:`1 + ((cv^2+1)\bar m - 1)\rho`. With :math:`J = 40, n = 20, \rho = 0.1,
    P = 0.5` the MDE is 0.3374 SD (normal M = 2.8016) or 0.3463 SD (:math:`t_{38}`).
    """
    _check_design(n_clusters, cluster_size, icc, treated_share, multiplier)
    if not 0 < take_up <= 1:
        msg = f"take_up must lie in (0, 1]; got {take_up}"
        raise ValueError(msg)
    factor = mckenzie_factor(design, autocorrelation)
    se = _standard_error(
        n_clusters,
        cluster_size,
        icc,
        treated_share=treated_share,
        r2_cluster=r2_cluster,
        r2_individual=r2_individual,
        attrition=attrition,
        cv=cv,
        variance_factor=factor,
    )
    m = _multiplier(alpha, power, n_clusters - 2, multiplier, two_sided)
    return m * sigma * se / take_up


def clustered_power(
    effect: float,
    n_clusters: float,
    cluster_size: float,
    icc: float,
    *,
    alpha: float = 0.05,
    multiplier: str = "t",
    two_sided: bool = True,
    take_up: float = 1.0,
    sigma: float = 1.0,
    **design: Any,
) -> float:
    r"""Power to detect an effect in a clustered design (the inverse of :func:`clustered_mde`).

    Parameters
    ----------
    effect : float
        True effect in units of ``sigma`` (intention to treat times ``take_up`` is detected).
    n_clusters, cluster_size, icc : float
        As in :func:`clustered_mde`.
    alpha : float, optional
        Significance level.
    multiplier : {"t", "normal"}, optional
        Reference distribution.
    two_sided : bool, optional
        Two-sided test.
    take_up : float, optional
        Take-up difference (the detectable ITT effect is ``effect * take_up``).
    sigma : float, optional
        Outcome SD.
    **design : Any
        ``treated_share``, ``r2_cluster``, ``r2_individual``, ``attrition``, ``cv``,
        ``design``, ``autocorrelation``.

    Returns
    -------
    float
        :math:`F(|\delta|/SE - q_{1-\alpha/2})` with :math:`F` the :math:`t_{J-2}` or normal
        CDF; :func:`clustered_mde` at this power returns ``effect``.
    """
    treated_share = design.pop("treated_share", 0.5)
    _check_design(n_clusters, cluster_size, icc, treated_share, multiplier)
    factor = mckenzie_factor(design.pop("design", "post"), design.pop("autocorrelation", 0.0))
    se = _standard_error(
        n_clusters,
        cluster_size,
        icc,
        treated_share=treated_share,
        r2_cluster=design.pop("r2_cluster", 0.0),
        r2_individual=design.pop("r2_individual", 0.0),
        attrition=design.pop("attrition", 0.0),
        cv=design.pop("cv", 0.0),
        variance_factor=factor,
    )
    if design:
        msg = f"unknown design arguments {sorted(design)}"
        raise TypeError(msg)
    dist = stats.norm if multiplier == "normal" else stats.t(n_clusters - 2)
    crit = dist.ppf(1 - (alpha / 2 if two_sided else alpha))
    return float(dist.cdf(abs(effect) * take_up / (sigma * se) - crit))


def required_clusters(
    mde: float,
    cluster_size: float,
    icc: float,
    *,
    max_clusters: int = 100_000,
    **kw: Any,
) -> int:
    """Smallest number of clusters whose MDE is at most the target.

    Parameters
    ----------
    mde : float
        Target minimum detectable effect (units of ``sigma``).
    cluster_size, icc : float
        As in :func:`clustered_mde`.
    max_clusters : int, optional
        Search limit.
    **kw : Any
        Further arguments of :func:`clustered_mde`.

    Returns
    -------
    int
        The number of clusters :math:`J` (both arms).

    Raises
    ------
    ValueError
        The target cannot be reached: more clusters than ``max_clusters`` would be needed, or
        never (a target below the floor set by the cluster term cannot be reached by more
        respondents per cluster, but always by more clusters).
    """
    low = 3 if kw.get("multiplier", "t") == "t" else 2
    if clustered_mde(max_clusters, cluster_size, icc, **kw) > mde:
        msg = f"an MDE of {mde} needs more than {max_clusters} clusters with these parameters"
        raise ValueError(msg)
    high = max_clusters
    while low < high:
        mid = (low + high) // 2
        if clustered_mde(mid, cluster_size, icc, **kw) <= mde:
            high = mid
        else:
            low = mid + 1
    return int(low)


def mde_table(
    n_clusters: Sequence[float] | float,
    cluster_size: Sequence[float] | float,
    icc: Sequence[float] | float,
    **kw: Any,
) -> pd.DataFrame:
    """Tidy grid of clustered MDEs (plot-ready: MDE by clusters, one line per ICC and size).

    Parameters
    ----------
    n_clusters, cluster_size, icc : float or sequence of float
        Values to cross.
    **kw : Any
        Further (scalar) arguments of :func:`clustered_mde`.

    Returns
    -------
    pandas.DataFrame
        One row per combination: ``n_clusters``, ``cluster_size``, ``icc``, ``n_total``,
        ``design_effect``, ``multiplier`` (``"t"`` or ``"normal"``), ``m`` (the value of
        M), ``mde`` and the scalar inputs.
    """

    def _listed(v: Any) -> list:
        return list(v) if isinstance(v, Sequence | np.ndarray | pd.Series) else [v]

    rows = []
    kind = kw.get("multiplier", "t")
    for j, n, rho in itertools.product(_listed(n_clusters), _listed(cluster_size), _listed(icc)):
        rows.append(
            {
                **kw,
                "multiplier": kind,
                "n_clusters": j,
                "cluster_size": n,
                "icc": rho,
                "n_total": j * n,
                "design_effect": design_effect(n, rho, cv=kw.get("cv", 0.0)),
                "m": _multiplier(
                    kw.get("alpha", 0.05),
                    kw.get("power", 0.8),
                    j - 2,
                    kind,
                    kw.get("two_sided", True),
                ),
                "mde": clustered_mde(j, n, rho, **kw),
            }
        )
    return pd.DataFrame(rows)


def individual_power(
    *,
    effect_size: float | None = None,
    nobs1: float | None = None,
    alpha: float = 0.05,
    power: float | None = None,
    ratio: float = 1.0,
    test: str = "t",
    alternative: str = "two-sided",
) -> float:
    """Solve an individual-level two-sample power problem (statsmodels ``*IndPower``).

    Parameters
    ----------
    effect_size : float, optional
        Standardised effect (Cohen's d; for proportions Cohen's h with ``test="normal"``).
    nobs1 : float, optional
        Size of the first arm.
    alpha : float, optional
        Significance level.
    power : float, optional
        Power.
    ratio : float, optional
        Size of the second arm relative to the first.
    test : {"t", "normal"}, optional
        ``TTestIndPower`` or ``NormalIndPower``.
    alternative : str, optional
        ``"two-sided"``, ``"larger"`` or ``"smaller"``.

    Returns
    -------
    float
        The one argument among ``effect_size``, ``nobs1`` and ``power`` left as ``None``.

    Raises
    ------
    ValueError
        Not exactly one of them left unknown.
    """
    unknown = [v is None for v in (effect_size, nobs1, power)]
    if sum(unknown) != 1:
        msg = "leave exactly one of effect_size, nobs1 and power as None"
        raise ValueError(msg)
    solver = TTestIndPower() if test == "t" else NormalIndPower()
    return float(
        solver.solve_power(
            effect_size=effect_size,
            nobs1=nobs1,
            alpha=alpha,
            power=power,
            ratio=ratio,
            alternative=alternative,
        )
    )


def estimate_icc(data: pd.DataFrame, outcome: str, cluster: str) -> float:
    r"""Estimate the intra-cluster correlation by one-way ANOVA.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    outcome : str
        Outcome column (rows where it is missing are dropped).
    cluster : str
        Cluster column.

    Returns
    -------
    float
        :math:`(MSB - MSW)/(MSB + (n_0 - 1)MSW)`, truncated at 0.

    Notes
    -----
    :math:`n_0 = (N - \sum_g n_g^2/N)/(G - 1)` handles unequal cluster sizes (Donner 1986).
    """
    frame = data.loc[data[[outcome, cluster]].notna().all(axis=1)]
    y = frame[outcome].to_numpy(float)
    codes, _ = pd.factorize(frame[cluster])
    n_g = np.bincount(codes).astype(float)
    g, n = n_g.size, y.size
    if g < 2 or n <= g:
        msg = f"the ICC needs at least two clusters and more rows than clusters; got {g}, {n}"
        raise ValueError(msg)
    means = np.bincount(codes, weights=y) / n_g
    msb = float(np.sum(n_g * (means - y.mean()) ** 2) / (g - 1))
    msw = float(np.sum((y - means[codes]) ** 2) / (n - g))
    n0 = (n - np.sum(n_g**2) / n) / (g - 1)
    return max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))


def ex_post_mde(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    cluster: str,
    covariates: Sequence[str] = (),
    alpha: float = 0.05,
    power: float = 0.8,
    **kw: Any,
) -> pd.DataFrame:
    r"""Minimum detectable effect of a realised design, to read null results.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis sample.
    outcome : str
        Outcome column.
    treatment : str
        Treatment column.
    cluster : str
        Cluster column.
    covariates : sequence of str, optional
        Covariates of the analysis model.
    alpha : float, optional
        Significance level.
    power : float, optional
        Power.
    **kw : Any
        Further arguments of :func:`~evaluation.estimation.estimate_effect` (``vcov``,
        ``weights``, ``fixed_effects``).

    Returns
    -------
    pandas.DataFrame
        One row: ``std_error`` and ``df`` of the realised estimate, ``multiplier``, ``mde``
        (outcome units), ``mde_sd`` (control-group SD units), the estimated ``icc``,
        ``n_clusters``, ``mean_cluster_size``, ``cv_cluster_size`` and the analytic MDE from
        :func:`clustered_mde` at the realised ``J``, mean size, cv and ICC (no covariates).
        With one unit per cluster the ICC is ``nan`` (not defined; the design effect is 1).

    Notes
    -----
    :math:`MDE = (t_{1-\alpha/2,df} + t_{\pi,df})\,\widehat{SE}` with the SE and df of the
    realised clustered estimate (CR1 and G - 1 by default).
    """
    estimate: EffectEstimate = estimate_effect(
        data, outcome, treatment, covariates=covariates, cluster=cluster, **kw
    )
    m = _multiplier(alpha, power, estimate.df, "t", two_sided=True)
    sample = data.loc[estimate.fit.design.index]
    control = sample.loc[sample[treatment] == 0, outcome]
    sizes = sample.groupby(cluster).size().to_numpy(float)
    # Clusters of one unit (assignment and analysis at the same level): the ICC is not
    # defined and the design effect is 1 whatever it is, so the analytic MDE takes 0.
    icc = math.nan if sizes.max() == 1 else estimate_icc(sample, outcome, cluster)
    cv = float(sizes.std(ddof=0) / sizes.mean())
    treated_share = float(sample.groupby(cluster)[treatment].max().mean())
    analytic = clustered_mde(
        len(sizes),
        sizes.mean(),
        0.0 if math.isnan(icc) else icc,
        cv=cv,
        alpha=alpha,
        power=power,
        treated_share=treated_share,
        sigma=float(sample[outcome].std(ddof=1)),
    )
    return pd.DataFrame(
        [
            {
                "outcome": outcome,
                "std_error": estimate.std_error,
                "df": estimate.df,
                "multiplier": m,
                "mde": m * estimate.std_error,
                "mde_sd": m * estimate.std_error / float(control.std(ddof=1)),
                "icc": icc,
                "n_clusters": len(sizes),
                "mean_cluster_size": float(sizes.mean()),
                "cv_cluster_size": cv,
                "treated_share": treated_share,
                "mde_analytic": analytic,
                "vcov": estimate.vcov,
            }
        ]
    )


def simulate_power(
    generate: Callable[[np.random.Generator], pd.DataFrame],
    estimator: Callable[[pd.DataFrame], EffectEstimate | tuple[float, float]],
    *,
    n_sims: int = 1000,
    alpha: float = 0.05,
    true_effect: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    r"""Estimate power, bias and coverage by simulation for any data-generating process.

    Parameters
    ----------
    generate : callable
        ``generate(rng) -> DataFrame``: one simulated data set (for example the demo world's
        generator, passed in by the caller).
    estimator : callable
        ``estimator(frame)`` returning an :class:`EffectEstimate` or ``(effect, pvalue)``.
    n_sims : int, optional
        Replications.
    alpha : float, optional
        Significance level of the test.
    true_effect : float, optional
        The effect built into ``generate``: adds bias, RMSE and coverage.
    seed : int or numpy.random.Generator, optional
        Seed; each replication gets its own child generator (reproducible).

    Returns
    -------
    pandas.DataFrame
        One row: ``power`` (rejection rate), ``power_mc_se``, ``mean_effect``, ``sd_effect``,
        ``mean_std_error`` and, with ``true_effect``, ``bias``, ``rmse``, ``coverage``;
        ``n_sims`` and ``n_failed`` (replications where the estimator raised, left out).

    Warns
    -----
    UserWarning
        Some replications failed.

    Notes
    -----
    Monte Carlo standard error of the power: :math:`\sqrt{p(1-p)/B}`.
    """
    if n_sims < 1:
        msg = f"n_sims must be positive; got {n_sims}"
        raise ValueError(msg)
    parent = np.random.default_rng(seed)
    children = parent.spawn(n_sims)
    effects = np.full(n_sims, np.nan)
    pvalues = np.full(n_sims, np.nan)
    ses = np.full(n_sims, np.nan)
    covered = np.full(n_sims, np.nan)
    failures: list[str] = []
    for b, rng in enumerate(children):
        frame = generate(rng)
        try:
            result = estimator(frame)
        except (ValueError, np.linalg.LinAlgError) as err:
            failures.append(str(err))
            continue
        if isinstance(result, EffectEstimate):
            effects[b], pvalues[b], ses[b] = result.effect, result.pvalue, result.std_error
            if true_effect is not None:
                covered[b] = result.ci_lower <= true_effect <= result.ci_upper
        else:
            effects[b], pvalues[b] = result
    ok = np.isfinite(pvalues)
    if failures:
        warnings.warn(
            f"{len(failures)} of {n_sims} replications failed and were left out "
            f"(first: {failures[0]})",
            UserWarning,
            stacklevel=2,
        )
    if not ok.any():
        msg = "every replication failed: check the generator and the estimator"
        raise ValueError(msg)
    power = float(np.mean(pvalues[ok] < alpha))
    row: dict[str, Any] = {
        "power": power,
        "power_mc_se": math.sqrt(power * (1 - power) / ok.sum()),
        "mean_effect": float(np.mean(effects[ok])),
        "sd_effect": float(np.std(effects[ok], ddof=1)) if ok.sum() > 1 else math.nan,
        "mean_std_error": float(np.nanmean(ses)) if np.isfinite(ses).any() else math.nan,
    }
    if true_effect is not None:
        row["bias"] = row["mean_effect"] - true_effect
        row["rmse"] = float(np.sqrt(np.mean((effects[ok] - true_effect) ** 2)))
        row["coverage"] = float(np.nanmean(covered)) if np.isfinite(covered).any() else math.nan
    row["n_sims"] = n_sims
    row["n_failed"] = len(failures)
    return pd.DataFrame([row])
