"""Wild cluster bootstrap (WCR and WCU) by the fast algorithm, with test-inversion intervals.

The bootstrap never refits on the N rows: after one pass over the data that builds cluster-level
sums of the partialled-out design (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild"),
each draw costs O(G (k + m)) for G clusters, k regressors and m non-nested fixed-effect
directions. Draws are generated per cluster *label*, so outcomes estimated on different samples
of the same clusters share them (as Romano-Wolf needs).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from evaluation.estimation._design import _Design
from evaluation.estimation._resampling import (
    PVALUE_TYPES,
    AffineStatistic,
    SymmetricPvalue,
    bootstrap_pvalue,
    count_extreme,
    invert_test,
    resolve_rng,
)
from evaluation.estimation.covariance import RegressionFit, _fe_leverage_basis, fit_model

__all__ = ["WEIGHT_TYPES", "WildBootstrapResult", "bootstrap_weights", "wild_cluster_bootstrap"]

WEIGHT_TYPES = ("rademacher", "webb", "mammen")
SCHEMES = ("WCR", "WCU")
_CHUNK_ELEMENTS = 4_000_000
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
_SQRT5 = math.sqrt(5.0)
_MAMMEN_LOW, _MAMMEN_HIGH = (1 - _SQRT5) / 2, (1 + _SQRT5) / 2
_MAMMEN_P_LOW = (_SQRT5 + 1) / (2 * _SQRT5)


@dataclass(frozen=True)
class WildBootstrapResult:
    """A wild (cluster) bootstrap test of ``c'beta = null`` and its test-inversion interval.

    Attributes
    ----------
    estimate : float
        The estimated contrast ``c'beta`` (the treatment coefficient by default).
    std_error : float
        Its CR1 standard error (HC1 when unclustered), the denominator of the t statistic.
    statistic : float
        Observed t statistic ``(estimate - null) / std_error``.
    pvalue : float
        Bootstrap p-value of ``H0: c'beta = null`` (see ``pvalue_type`` and the tie rule).
    ci_lower, ci_upper : float
        Confidence interval at ``level`` by test inversion: every ``r`` with ``p(r) > 1 - level``.
    null : float
        The hypothesised value.
    level : float
        Confidence level.
    scheme : str
        ``"WCR"`` (null imposed on the bootstrap DGP) or ``"WCU"`` (unrestricted).
    weights_type : str
        ``"rademacher"``, ``"webb"`` or ``"mammen"``.
    draws : int
        Number of bootstrap samples (``2^G`` or ``6^G`` under full enumeration).
    enumerated : bool
        Whether every sign pattern was used once (the p-value is then deterministic).
    seed : str
        Where the draws came from (``"seed 0"``, ``"user generator"``, ``"full enumeration"``).
    pvalue_type : str
        ``"symmetric"`` or ``"equal-tailed"``.
    n_clusters : int
        Bootstrap clusters (rows when unclustered).
    n_ties : int
        Draws whose ``|t*|`` equals ``|t|`` within the tie tolerance (never counted as more
        extreme).
    distribution : numpy.ndarray
        The bootstrap t statistics under ``null`` (for plots).
    """

    estimate: float
    std_error: float
    statistic: float
    pvalue: float
    ci_lower: float
    ci_upper: float
    null: float
    level: float
    scheme: str
    weights_type: str
    draws: int
    enumerated: bool
    seed: str
    pvalue_type: str
    n_clusters: int
    n_ties: int
    distribution: np.ndarray = field(repr=False, compare=False)

    def describe(self) -> str:
        """Return the short label used in ``EffectEstimate.inference``.

        Returns
        -------
        str
            For example ``"wild (WCR, Rademacher, full enumeration of 256 patterns)"``.
        """
        how = (
            f"full enumeration of {self.draws:,} patterns"
            if self.enumerated
            else f"{self.draws:,} draws, {self.seed}"
        )
        return f"wild ({self.scheme}, {self.weights_type.capitalize()}, {how})"


def _enumerable(n_clusters: int, draws: int, weights_type: str) -> bool:
    points = {"rademacher": 2, "webb": 6}.get(weights_type)
    if points is None or n_clusters > 40:
        return False
    return points**n_clusters <= draws


def _enumerate(n_clusters: int, start: int, stop: int, weights_type: str) -> np.ndarray:
    """Sign patterns ``start..stop-1`` (pattern 0 is all ones for Rademacher)."""
    b = np.arange(start, stop, dtype=np.int64)[None, :]
    g = np.arange(n_clusters, dtype=np.int64)[:, None]
    if weights_type == "rademacher":
        return 1.0 - 2.0 * ((b >> g) & 1)
    digits = (b // (6**g)) % 6
    return _WEBB[digits]


def _draw(n_clusters: int, draws: int, weights_type: str, rng: np.random.Generator) -> np.ndarray:
    shape = (n_clusters, draws)
    if weights_type == "rademacher":
        return 2.0 * rng.integers(0, 2, size=shape) - 1.0
    if weights_type == "webb":
        return _WEBB[rng.integers(0, 6, size=shape)]
    return np.where(rng.random(shape) < _MAMMEN_P_LOW, _MAMMEN_LOW, _MAMMEN_HIGH)


def _check_options(weights_type: str, draws: int, scheme: str = "WCR") -> None:
    if weights_type not in WEIGHT_TYPES:
        msg = f"weights_type must be one of {WEIGHT_TYPES}; got {weights_type!r}"
        raise ValueError(msg)
    if scheme not in SCHEMES:
        msg = f"scheme must be one of {SCHEMES}; got {scheme!r}"
        raise ValueError(msg)
    if int(draws) < 1:
        msg = f"bootstrap_draws must be a positive integer; got {draws!r}"
        raise ValueError(msg)


def _weight_chunks(
    n_clusters: int, draws: int, weights_type: str, rng: np.random.Generator
) -> tuple[Iterator[np.ndarray], int, bool]:
    """Yield the ``(G, b)`` weight matrices chunk by chunk; return them, their total and mode."""
    enumerated = _enumerable(n_clusters, draws, weights_type)
    total = ({"rademacher": 2, "webb": 6}[weights_type] ** n_clusters) if enumerated else draws
    size = max(1, min(total, _CHUNK_ELEMENTS // max(n_clusters, 1)))

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, total, size):
            stop = min(total, start + size)
            if enumerated:
                yield _enumerate(n_clusters, start, stop, weights_type)
            else:
                yield _draw(n_clusters, stop - start, weights_type, rng)

    return chunks(), total, enumerated


def bootstrap_weights(
    n_clusters: int,
    draws: int,
    weights_type: str = "rademacher",
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, bool]:
    """Return the wild-bootstrap weight matrix, enumerating every pattern when they are few.

    Parameters
    ----------
    n_clusters : int
        Number of clusters ``G``.
    draws : int
        Requested number of draws ``B``.
    weights_type : {"rademacher", "webb", "mammen"}, optional
        Rademacher (+-1 with probability 1/2), Webb's six points (+-sqrt(1/2), +-1, +-sqrt(3/2),
        each 1/6) or Mammen's two points ((1 -+ sqrt 5)/2 with probabilities
        (sqrt 5 +- 1)/(2 sqrt 5)).
    seed : int, numpy.random.Generator or None, optional
        Seed or generator; ``None`` means seed 0.

    Returns
    -------
    tuple
        The ``(G, B')`` matrix and whether it is the full enumeration (``B' = 2^G`` for
        Rademacher when ``2^G <= B``, ``6^G`` for Webb when ``6^G <= B``; pattern 0 is all
        ones). Otherwise ``B' = B`` draws.

    Notes
    -----
    Mammen weights are never enumerated (their two points are not equally likely).
    """
    _check_options(weights_type, draws)
    rng, _ = resolve_rng(seed)
    chunks, _, enumerated = _weight_chunks(int(n_clusters), int(draws), weights_type, rng)
    return np.concatenate(list(chunks), axis=1), enumerated


@dataclass(frozen=True)
class _WildKernel:
    """Cluster-level sums of one fit and contrast, affine in the null value ``r``.

    With ``a = X M c`` (``M = (X'WX)^-1``), restricted residuals ``u(r) = u0 + r u1`` and
    sparse cluster sums: ``g_g = sum_{i in g} w_i a_i u_i``, ``S_g = sum w_i x_i u_i``,
    ``A_g = sum w_i a_i x_i``, and for the non-nested fixed effects (whitened orthonormal basis
    ``F``) ``B_g = sum sqrt(w_i) a_i F_i``, ``C_g = sum sqrt(w_i) u_i F_i``. For weights ``v``
    the bootstrap numerator is ``g(r)'v`` and the CR1 score of each cluster is
    ``P(r) = g(r) * v - L R(r)'v`` with ``L = [A M, B]`` and ``R(r) = [S(r), C(r)]``
    (``R(r) = R0 + r R1``).
    """

    estimate: float
    std_error: float
    factor: float
    g0: np.ndarray
    g1: np.ndarray
    R0: np.ndarray
    R1: np.ndarray
    L: np.ndarray

    def rows(self, at: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Return the cluster-level vectors whose products with the draws give the statistics.

        The first block multiplies the weights ``V``, the second their squares ``V**2``:
        ``[g0, g1, R0', R1', (g0 L)', (g1 L)']`` and ``[g0^2, g0 g1, g1^2]`` (at a fixed ``r``:
        ``[g, R', (g L)']`` and ``[g^2]``).
        """
        if at is None:
            linear = [self.g0[None], self.g1[None], self.R0.T, self.R1.T]
            linear += [(self.g0[:, None] * self.L).T, (self.g1[:, None] * self.L).T]
            squares = [self.g0**2, self.g0 * self.g1, self.g1**2]
        else:
            g, R = self.g0 + at * self.g1, self.R0 + at * self.R1
            linear = [g[None], R.T, (g[:, None] * self.L).T]
            squares = [g**2]
        return np.concatenate(linear), np.vstack(squares)

    def statistics(self, linear: np.ndarray, squares: np.ndarray, at: float | None):
        """Turn the products of :meth:`rows` with the draws into the affine statistics.

        With ``Z(r) = R(r)'V`` and ``Y(r) = (g(r) L)'V``, the CR1 variance of each draw is
        ``f sum_g P_g^2 = f (g^2'V^2 - 2 sum Z Y + Z' L'L Z)``, expanded in ``r``.
        """
        f, m = self.factor, self.L.shape[1]
        LtL = self.L.T @ self.L

        def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.einsum("jb,jb->b", a, b)

        if at is not None:
            n, Z, Y = linear[0], linear[1 : 1 + m], linear[1 + m :]
            v = f * (squares[0] - 2.0 * dot(Z, Y) + dot(Z, LtL @ Z))
            zeros = np.zeros_like(n)
            return AffineStatistic(n0=n, n1=zeros, v0=v, v01=zeros, v1=zeros)
        n0, n1 = linear[0], linear[1]
        Z0, Z1 = linear[2 : 2 + m], linear[2 + m : 2 + 2 * m]
        Y0, Y1 = linear[2 + 2 * m : 2 + 3 * m], linear[2 + 3 * m :]
        T0 = LtL @ Z0
        return AffineStatistic(
            n0=n0,
            n1=n1,
            v0=f * (squares[0] - 2.0 * dot(Z0, Y0) + dot(Z0, T0)),
            v01=f * (squares[1] - dot(Z1, Y0) - dot(Z0, Y1) + dot(Z1, T0)),
            v1=f * (squares[2] - 2.0 * dot(Z1, Y1) + dot(Z1, LtL @ Z1)),
        )


def _kernel_statistics(
    kernels: Sequence[_WildKernel], V: np.ndarray, at: float | None
) -> list[AffineStatistic]:
    """Statistics of several kernels on the same draws ``V`` (clusters in the same order).

    The products with the draws of every kernel are stacked into few large matrix products.
    """
    V2 = V * V
    out: list[AffineStatistic] = []
    pending: list[tuple[_WildKernel, np.ndarray, np.ndarray]] = []
    budget = max(1, _CHUNK_ELEMENTS // max(V.shape[1], 1))

    def flush() -> None:
        linear = np.concatenate([p[1] for p in pending]) @ V
        squares = np.concatenate([p[2] for p in pending]) @ V2
        i = j = 0
        for kernel, lin, sq in pending:
            out.append(kernel.statistics(linear[i : i + len(lin)], squares[j : j + len(sq)], at))
            i, j = i + len(lin), j + len(sq)
        pending.clear()

    size = 0
    for kernel in kernels:
        lin, sq = kernel.rows(at)
        if pending and size + len(lin) > budget:
            flush()
            size = 0
        pending.append((kernel, lin, sq))
        size += len(lin)
    if pending:
        flush()
    return out


def _cluster_codes(design: _Design) -> tuple[np.ndarray, int, np.ndarray]:
    """Codes, count and labels of the bootstrap clusters (rows when unclustered)."""
    if design.clusters is None:
        return np.arange(design.nobs), design.nobs, np.asarray(design.index)
    return design.clusters, int(design.n_clusters), design.cluster_labels


def _wild_kernel(fit: RegressionFit, contrast: np.ndarray, scheme: str) -> _WildKernel:
    design = fit.design
    X, n_rows = design.X, design.nobs
    w = np.ones(n_rows) if design.weights is None else design.weights
    M = fit._bread
    codes, n_clusters, _ = _cluster_codes(design)
    summer = sparse.csr_matrix(
        (np.ones(n_rows), (codes, np.arange(n_rows))), shape=(n_clusters, n_rows)
    )
    Mc = M @ contrast
    a = X @ Mc
    kappa = float(contrast @ Mc)
    estimate = float(contrast @ fit.params.to_numpy())
    residuals = fit.residuals
    if scheme == "WCR":
        u0, u1 = residuals + a * (estimate / kappa), -a / kappa
    else:
        u0, u1 = residuals, np.zeros(n_rows)
    clustered = design.clusters is not None
    n, k = design.n_effective, design.k(clustered)
    factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k) if clustered else n / (n - k)
    wa = w * a
    se = math.sqrt(factor * float(np.sum((summer @ (wa * residuals)) ** 2)))
    non_nested = [f for f in design.fixed_effects if not f.nested]
    if non_nested:
        nested = [f for f in design.fixed_effects if f.nested]
        F = _fe_leverage_basis(design, non_nested, nested)
    else:
        F = np.zeros((n_rows, 0))
    sw = np.sqrt(w)

    def sums(columns: np.ndarray, row_weights: np.ndarray) -> np.ndarray:
        return np.asarray(summer @ (columns * row_weights[:, None]))

    return _WildKernel(
        estimate=estimate,
        std_error=se,
        factor=factor,
        g0=summer @ (wa * u0),
        g1=summer @ (wa * u1),
        R0=np.column_stack([sums(X, w * u0), sums(F, sw * u0)]),
        R1=np.column_stack([sums(X, w * u1), sums(F, sw * u1)]),
        L=np.column_stack([sums(X, wa) @ M, sums(F, sw * a)]),
    )


def contrast_vector(fit: RegressionFit, contrast: Mapping[str, float] | None) -> np.ndarray:
    """Return the contrast as a vector over the fit's coefficients (focal column by default).

    Parameters
    ----------
    fit : RegressionFit
        The fit.
    contrast : Mapping of str to float or None
        Coefficient name to weight; ``None`` for the focal (treatment) coefficient.

    Returns
    -------
    numpy.ndarray
        The weights, aligned with ``fit.params``.
    """
    if contrast is None:
        c = np.zeros(len(fit.params))
        c[fit.design.focal] = 1.0
        return c
    return fit._contrast_vector(contrast)


def bootstrap_fits(
    problems: Sequence[tuple[RegressionFit, np.ndarray]],
    *,
    null: float = 0.0,
    scheme: str = "WCR",
    weights_type: str = "rademacher",
    bootstrap_draws: int = 9_999,
    seed: int | np.random.Generator | None = None,
    level: float = 0.95,
    pvalue_type: str = "symmetric",
    confidence_interval: bool = True,
) -> list[WildBootstrapResult]:
    """Run the wild bootstrap for several fits at once, with draws shared by cluster label.

    Parameters
    ----------
    problems : sequence of (RegressionFit, numpy.ndarray)
        Fits and the contrast vector to test in each. All must be clustered by the same column,
        or all unclustered (rows are then the bootstrap units, identified by index label).
    null : float, optional
        Hypothesised value of every contrast.
    scheme : {"WCR", "WCU"}, optional
        Null imposed (restricted residuals) or not.
    weights_type : {"rademacher", "webb", "mammen"}, optional
        Distribution of the cluster weights.
    bootstrap_draws : int, optional
        ``B``; full enumeration replaces it when ``2^G <= B`` (Rademacher) or ``6^G <= B``
        (Webb), with ``G`` the number of distinct cluster labels across all fits.
    seed : int, numpy.random.Generator or None, optional
        Seed or generator (``None`` means seed 0).
    level : float, optional
        Confidence level of the intervals.
    pvalue_type : {"symmetric", "equal-tailed"}, optional
        Kind of p-value.
    confidence_interval : bool, optional
        Invert the test for intervals (``nan`` bounds when ``False``).

    Returns
    -------
    list of WildBootstrapResult
        One result per problem, in order.

    Raises
    ------
    ValueError
        Unknown options, or fits clustered differently.
    """
    _check_options(weights_type, bootstrap_draws, scheme)
    if pvalue_type not in PVALUE_TYPES:
        msg = f"pvalue_type must be one of {PVALUE_TYPES}; got {pvalue_type!r}"
        raise ValueError(msg)
    if not 0 < level < 1:
        msg = f"level must lie strictly between 0 and 1; got {level!r}"
        raise ValueError(msg)
    names = {fit.design.cluster_name for fit, _ in problems}
    if len(names) > 1:
        found = sorted(map(str, names))
        msg = f"fits bootstrapped together must share one cluster column; got {found}"
        raise ValueError(msg)
    kernels = [_wild_kernel(fit, c, scheme) for fit, c in problems]
    labels = [_cluster_codes(fit.design)[2] for fit, _ in problems]
    union = pd.Index(np.concatenate(labels)).unique().sort_values()
    rows = [union.get_indexer(lab) for lab in labels]
    rng, source = resolve_rng(seed)
    chunks, total, enumerated = _weight_chunks(len(union), int(bootstrap_draws), weights_type, rng)
    parts: list[list[AffineStatistic]] = [[] for _ in kernels]
    at = None if confidence_interval else float(null)
    groups: dict[bytes, list[int]] = {}
    for i, idx in enumerate(rows):
        groups.setdefault(idx.tobytes(), []).append(i)
    for V in chunks:
        for members in groups.values():
            idx = rows[members[0]]
            draws = V if np.array_equal(idx, np.arange(V.shape[0])) else V[idx]
            found = _kernel_statistics([kernels[i] for i in members], draws, at)
            for i, stats in zip(members, found, strict=True):
                parts[i].append(stats)
    results = []
    alpha = 1.0 - level
    for kernel, part in zip(kernels, parts, strict=True):
        stats = AffineStatistic.concat(part)
        se = kernel.std_error

        def pvalue_at(
            r: float, stats: AffineStatistic = stats, kernel: _WildKernel = kernel
        ) -> float:
            t0 = (kernel.estimate - r) / kernel.std_error
            return bootstrap_pvalue(stats.at(r), t0, pvalue_type)

        t_obs = (kernel.estimate - null) / se if se > 0 else math.nan
        distribution = stats.at(null)
        lower = upper = math.nan
        if confidence_interval and se > 0:
            if pvalue_type == "symmetric":
                symmetric = SymmetricPvalue(stats, kernel.estimate, se)
                lower, upper = invert_test(symmetric, kernel.estimate, se, alpha, symmetric.focus)
            else:
                lower, upper = invert_test(pvalue_at, kernel.estimate, se, alpha)
        results.append(
            WildBootstrapResult(
                estimate=kernel.estimate,
                std_error=se,
                statistic=t_obs,
                pvalue=pvalue_at(null) if se > 0 else math.nan,
                ci_lower=lower,
                ci_upper=upper,
                null=float(null),
                level=level,
                scheme=scheme,
                weights_type=weights_type,
                draws=total,
                enumerated=enumerated,
                seed="full enumeration" if enumerated else source,
                pvalue_type=pvalue_type,
                n_clusters=len(kernel.g0),
                n_ties=count_extreme(distribution, t_obs, "strict")[1],
                distribution=distribution,
            )
        )
    return results


def wild_cluster_bootstrap(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weights_kind: str = "analytic",
    subset: pd.Series | np.ndarray | None = None,
    null: float = 0.0,
    scheme: str = "WCR",
    weights_type: str = "rademacher",
    bootstrap_draws: int = 9_999,
    seed: int | np.random.Generator | None = None,
    level: float = 0.95,
    pvalue_type: str = "symmetric",
) -> WildBootstrapResult:
    r"""Test ``treatment coefficient = null`` by the wild cluster bootstrap, as Stata's boottest.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation; never modified.
    outcome, treatment : str
        Outcome and treatment columns (the tested coefficient is the treatment's).
    covariates, fixed_effects, cluster, weights, weights_kind, subset : optional
        The model, as in :func:`evaluation.estimation.estimate_effect`.
    null : float, optional
        The hypothesised value of the coefficient.
    scheme : {"WCR", "WCU"}, optional
        ``WCR`` (default) imposes the null on the bootstrap DGP; ``WCU`` does not.
    weights_type : {"rademacher", "webb", "mammen"}, optional
        Cluster weight distribution (boottest's default is Rademacher; Webb is advised for
        fewer than about 12 clusters).
    bootstrap_draws : int, optional
        ``B`` (9,999 by default); every sign pattern is used once instead when
        ``2^G <= B`` (Rademacher) or ``6^G <= B`` (Webb).
    seed : int, numpy.random.Generator or None, optional
        Seed or generator for the draws (``None`` means seed 0).
    level : float, optional
        Confidence level of the test-inversion interval.
    pvalue_type : {"symmetric", "equal-tailed"}, optional
        Kind of p-value.

    Returns
    -------
    WildBootstrapResult
        Test statistic, p-value, interval, the draws' t statistics and the conventions used.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Bad options or data (as :func:`~evaluation.estimation.estimate_effect`).

    Notes
    -----
    Model :math:`y = X\beta + D\alpha + u` with the fixed effects :math:`D` partialled out
    (FWL) and WLS weights :math:`W`; tested contrast :math:`c'\beta = r` (here :math:`c` picks
    the treatment). WCR bootstrap samples are :math:`y^*_b = X\tilde\beta_r +
    \tilde u \odot v_{g,b}` with :math:`\tilde\beta_r` the restricted estimate
    :math:`\hat\beta - Mc(c'Mc)^{-1}(c'\hat\beta - r)`, :math:`M = (X'WX)^{-1}`, and
    :math:`v_{g,b}` one weight per cluster; WCU uses :math:`\hat\beta` and :math:`\hat u`.
    Each draw's statistic is :math:`t^*_b = (c'\hat\beta^*_b - r)/\mathrm{se}^*_b` (WCU:
    :math:`c'\hat\beta^*_b - c'\hat\beta`) with the CR1 variance of that draw,
    :math:`G/(G-1)\,(N-1)/(N-K)` (HC1's :math:`N/(N-K)` with one row per cluster when
    unclustered); K counts fixed effects as :func:`~evaluation.estimation.estimate_effect`
    does. The factor cancels in the p-value. Computation (Roodman et al. 2019): with
    :math:`a = XMc`, both the numerator and every cluster's score are linear in :math:`v`
    through cluster sums of :math:`w a \tilde u`, :math:`w x \tilde u` and :math:`w a x`
    (plus the projection on non-nested fixed effects), so no draw touches the N rows, and all
    are affine in :math:`r`, so test inversion is cheap.

    p-values: symmetric :math:`\#\{|t^*_b| > |t|\}/B`, equal-tailed
    :math:`2\min(\#\{t^*_b < t\}, \#\{t^*_b > t\})/B`. **Ties** (draws with
    :math:`||t^*_b| - |t|| \le 10^{-9}|t|`, such as the all-ones and all-minus-ones patterns
    under WCR, which reproduce :math:`\pm t` exactly in exact arithmetic) never count as more
    extreme: boottest's strict inequality, made robust to floating point. The interval is
    :math:`\{r : p(r) > 1 - \text{level}\}`, found by bisection from the estimate outwards to
    a relative precision of 1e-10 (boottest interpolates linearly inside the last bracket,
    so its printed bounds differ in the third or fourth digit). The t statistic's reference
    df (G - 1) plays no role: the bootstrap distribution replaces it.
    """
    fit = fit_model(
        data,
        outcome,
        treatment,
        covariates=covariates,
        fixed_effects=fixed_effects,
        cluster=cluster,
        weights=weights,
        weights_kind=weights_kind,
        subset=subset,
    )
    (result,) = bootstrap_fits(
        [(fit, contrast_vector(fit, None))],
        null=null,
        scheme=scheme,
        weights_type=weights_type,
        bootstrap_draws=bootstrap_draws,
        seed=seed,
        level=level,
        pvalue_type=pvalue_type,
    )
    return result
