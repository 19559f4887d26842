"""Randomization (permutation) inference, batched across outcomes and never refitting per draw.

The treatment is re-assigned at the level it was assigned (clusters when clustered, rows
otherwise), within strata, and the observed coefficient or t statistic is compared with its
distribution over the re-assignments. Every re-assignment ``t`` (one value per assignment unit)
enters the model linearly, ``focal = L t``, so after one pass over the data that builds
``R = M_Z L`` (the assignment columns residualised on the fixed effects and the other
regressors) and its cluster-level cross-products, each draw costs O(G U^2 + G U S) for G
clusters, U units and S outcomes, and all outcomes share one permutation matrix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from evaluation.estimation._design import _Design
from evaluation.estimation._resampling import (
    AffineStatistic,
    count_extreme,
    invert_test,
    resolve_rng,
)
from evaluation.estimation.covariance import RegressionFit, fit_model

__all__ = ["STATISTICS", "RandomizationResult", "randomization_inference"]

STATISTICS = ("t", "coefficient")
_COMPACT_LIMIT = 30_000_000
_CHUNK_ELEMENTS = 20_000_000
_MAX_ENUMERATION = 1_000_000


@dataclass(frozen=True)
class RandomizationResult:
    """A randomization test of a sharp null and its test-inversion interval.

    Attributes
    ----------
    estimate : float
        The treatment coefficient.
    std_error : float
        Its CR1 standard error (HC1 when unclustered), the denominator of the t statistic.
    statistic : float
        Observed statistic under ``null``: ``(estimate - null) / std_error`` for ``"t"``,
        ``estimate - null`` for ``"coefficient"``.
    statistic_type : str
        ``"t"`` or ``"coefficient"``.
    pvalue : float
        Share of assignments whose statistic is at least as extreme (ties count).
    ci_lower, ci_upper : float
        Every constant effect ``r`` not rejected at ``1 - level`` (``p(r) > 1 - level``).
    null : float
        The sharp null tested: every unit's effect equals ``null``.
    level : float
        Confidence level.
    permutations : int
        Assignments compared (all distinct ones when ``enumerated``).
    enumerated : bool
        Whether every distinct assignment was used once.
    n_assignments : float
        Number of distinct assignments within strata (``inf`` when too large to count).
    seed : str
        Where the permutations came from.
    n_units : int
        Assignment units (clusters or rows).
    n_strata : int
        Strata within which the treatment was permuted.
    distribution : numpy.ndarray
        The statistic under each assignment, at ``null`` (for plots).
    """

    estimate: float
    std_error: float
    statistic: float
    statistic_type: str
    pvalue: float
    ci_lower: float
    ci_upper: float
    null: float
    level: float
    permutations: int
    enumerated: bool
    n_assignments: float
    seed: str
    n_units: int
    n_strata: int
    distribution: np.ndarray = field(repr=False, compare=False)

    def describe(self) -> str:
        """Return the short label used in ``EffectEstimate.inference``.

        Returns
        -------
        str
            For example ``"randomization (t, all 70 assignments)"``.
        """
        how = (
            f"all {self.permutations:,} assignments"
            if self.enumerated
            else f"{self.permutations:,} permutations, {self.seed}"
        )
        return f"randomization ({self.statistic_type}, {how})"


@dataclass(frozen=True)
class Assignment:
    """How the treatment was assigned, for re-assignment.

    Attributes
    ----------
    units : numpy.ndarray
        Assignment unit code ``0..U-1`` of every row of the design.
    values : numpy.ndarray
        The observed treatment of each unit, ``(U,)``.
    multiplier : numpy.ndarray
        Row multiplier ``m``: the focal column is ``values[units] * m`` (1 in cross-sections,
        the post indicator in a difference-in-differences).
    strata : numpy.ndarray
        Stratum code of each unit, ``(U,)``.
    labels : numpy.ndarray
        Unit identifiers (to share permutations across outcomes).
    """

    units: np.ndarray
    values: np.ndarray
    multiplier: np.ndarray
    strata: np.ndarray
    labels: np.ndarray


def assignment_from(
    design: _Design,
    treatment: np.ndarray,
    *,
    multiplier: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    strata_name: str | None = None,
) -> Assignment:
    """Derive the assignment units (clusters, else rows) and check the treatment is unit-level.

    Parameters
    ----------
    design : _Design
        The prepared design.
    treatment : numpy.ndarray
        Unit-level treatment on every row (the focal column divided by ``multiplier``).
    multiplier : numpy.ndarray, optional
        Row multiplier of the focal column (ones by default).
    strata : numpy.ndarray, optional
        Stratum of every row; must be constant within units.
    strata_name : str, optional
        Name of the strata column for messages.

    Returns
    -------
    Assignment
        Units, their values, the multiplier and strata.

    Raises
    ------
    ValueError
        The treatment (or the strata) varies within an assignment unit.
    """
    n = design.nobs
    if design.clusters is None:
        units, labels = np.arange(n), np.asarray(design.index)
        unit_name = "row"
    else:
        units, labels = design.clusters, design.cluster_labels
        unit_name = f"cluster {design.cluster_name!r}"
    n_units = len(labels)
    values = _unit_constant(
        units, n_units, np.asarray(treatment, dtype=float), "treatment", unit_name
    )
    if strata is None:
        strata_codes = np.zeros(n_units, dtype=np.intp)
    else:
        row_codes = pd.factorize(pd.Series(strata), sort=True)[0].astype(float)
        if np.any(row_codes < 0):
            msg = f"strata column {strata_name!r} has missing values in the estimation sample"
            raise ValueError(msg)
        strata_codes = _unit_constant(
            units, n_units, row_codes, f"strata {strata_name!r}", unit_name
        )
        strata_codes = strata_codes.astype(np.intp)
    m = np.ones(n) if multiplier is None else np.asarray(multiplier, dtype=float)
    return Assignment(units, values, m, strata_codes, labels)


def _unit_constant(
    units: np.ndarray, n_units: int, values: np.ndarray, what: str, unit: str
) -> np.ndarray:
    first = np.full(n_units, np.nan)
    first[units[::-1]] = values[::-1]
    bad = ~np.isclose(first[units], values, rtol=0, atol=1e-12)
    if bad.any():
        msg = (
            f"{what} varies within an assignment unit ({unit}); randomization inference "
            "permutes whole units, so the treatment must be constant within each"
        )
        raise ValueError(msg)
    return first


def _distinct_arrangements(values: np.ndarray) -> np.ndarray:
    """Every distinct ordering of a multiset, as rows (for exact enumeration)."""
    levels, counts = np.unique(values, return_counts=True)
    n = values.size
    rows: list[np.ndarray] = []

    def place(free: tuple[int, ...], level: int, current: np.ndarray) -> None:
        if level == len(levels) - 1:
            out = current.copy()
            out[list(free)] = levels[level]
            rows.append(out)
            return
        for chosen in itertools.combinations(free, counts[level]):
            out = current.copy()
            out[list(chosen)] = levels[level]
            rest = tuple(i for i in free if i not in set(chosen))
            place(rest, level + 1, out)

    place(tuple(range(n)), 0, np.zeros(n))
    return np.array(rows)


def _count_assignments(values: np.ndarray, strata: np.ndarray) -> float:
    total = 1.0
    for s in np.unique(strata):
        _, counts = np.unique(values[strata == s], return_counts=True)
        log = math.lgamma(counts.sum() + 1) - sum(math.lgamma(c + 1) for c in counts)
        total *= math.exp(log)
        if total > 1e15:
            return math.inf
    return float(round(total))


def _permutation_chunks(
    assignment: Assignment, permutations: int, rng: np.random.Generator, chunk: int
) -> tuple[Iterator[np.ndarray], int, bool, float]:
    """Yield ``(U, r)`` matrices of unit-level assignments; enumerate when there are few."""
    values, strata = assignment.values, assignment.strata
    n_assignments = _count_assignments(values, strata)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    enumerated = n_assignments <= min(permutations, _MAX_ENUMERATION)
    total = int(n_assignments) if enumerated else int(permutations)

    def enumerate_chunks() -> Iterator[np.ndarray]:
        tables = [_distinct_arrangements(values[idx]) for idx in groups]
        shape = tuple(len(t) for t in tables)
        for start in range(0, total, chunk):
            flat = np.arange(start, min(total, start + chunk))
            picks = np.unravel_index(flat, shape)
            out = np.empty((values.size, flat.size))
            for idx, table, pick in zip(groups, tables, picks, strict=True):
                out[idx] = table[pick].T
            yield out

    def draw_chunks() -> Iterator[np.ndarray]:
        for start in range(0, total, chunk):
            size = min(total, start + chunk) - start
            out = np.empty((values.size, size))
            for idx in groups:
                order = np.argsort(rng.random((idx.size, size)), axis=0)
                out[idx] = values[idx][order]
            yield out

    return (enumerate_chunks() if enumerated else draw_chunks()), total, enumerated, n_assignments


@dataclass(frozen=True)
class _PermutationKernel:
    """The residualised assignment columns of one design and its outcomes (see module docstring)."""

    design: _Design
    assignment: Assignment
    Y: np.ndarray  # (N, S) outcomes residualised on the fixed effects and the other regressors
    R: np.ndarray | None  # (N, U) residualised assignment columns (compact path)
    x_obs: np.ndarray  # (N,) the observed focal column, residualised
    Zt: np.ndarray  # (N, p - 1) other regressors, residualised on the fixed effects
    ZtWZ_inv: np.ndarray
    codes: np.ndarray  # (N,) clusters of the variance (rows when unclustered)
    n_groups: int
    factor: float
    compact: dict[str, np.ndarray] | None

    def chunk_size(self) -> int:
        """Draws per chunk so that the per-chunk arrays stay near 20 million entries."""
        S = self.Y.shape[1]
        if self.compact is not None:
            per_draw = self.n_groups * (S + 2 * len(self.assignment.values) + 2)
        else:
            per_draw = self.design.nobs * 3 + self.n_groups * (S + 2)
        return max(1, _CHUNK_ELEMENTS // max(per_draw, 1))

    def _residualise(self, A: np.ndarray) -> np.ndarray:
        w = self.design.weights
        Aw = A if w is None else A * w[:, None]
        return A - self.Zt @ (self.ZtWZ_inv @ (self.Zt.T @ Aw))

    def pieces(self, T: np.ndarray) -> dict[str, np.ndarray]:
        """Return per-draw sums for assignments ``T`` (``(U, r)``).

        Keys: ``d`` = r'Wr, ``ny`` = r'W y (r, S), ``nx`` = r'W x_obs, and cluster sums
        ``Py`` (G, r, S) of ``w r y``, ``Px`` (G, r) of ``w r x_obs``, ``H`` (G, r) of ``w r^2``.
        """
        if self.compact is not None:
            c = self.compact
            d = np.einsum("ur,ur->r", T, c["Omega"] @ T)
            PsiT = np.einsum("guv,vr->gur", c["Psi"], T)
            return {
                "d": d,
                "ny": T.T @ c["Gamma"],
                "nx": T.T @ c["Gamma_x"],
                "Py": np.einsum("gus,ur->grs", c["Phi"], T),
                "Px": np.einsum("gu,ur->gr", c["Phi_x"], T),
                "H": np.einsum("gur,ur->gr", PsiT, T),
            }
        a = self.assignment
        focal = T[a.units] * a.multiplier[:, None]
        r = self._residualise(self.design.demean(focal))
        w = np.ones(self.design.nobs) if self.design.weights is None else self.design.weights
        summer = sparse.csr_matrix(
            (w, (self.codes, np.arange(self.design.nobs))), shape=(self.n_groups, self.design.nobs)
        )
        Py = np.stack([summer @ (r * self.Y[:, [s]]) for s in range(self.Y.shape[1])], axis=2)
        wr = r * w[:, None]
        return {
            "d": np.einsum("nr,nr->r", wr, r),
            "ny": wr.T @ self.Y,
            "nx": wr.T @ self.x_obs,
            "Py": Py,
            "Px": np.asarray(summer @ (r * self.x_obs[:, None])),
            "H": np.asarray(summer @ (r * r)),
        }

    def statistics(self, T: np.ndarray, statistic: str) -> list[AffineStatistic]:
        """Return, for each outcome, the statistics of assignments ``T`` affine in the null."""
        p = self.pieces(T)
        d = p["d"]
        with np.errstate(invalid="ignore", divide="ignore"):
            beta_y = p["ny"] / d[:, None]
            beta_x = p["nx"] / d
        out = []
        for s in range(self.Y.shape[1]):
            if statistic == "coefficient":
                out.append(AffineStatistic(n0=beta_y[:, s], n1=-beta_x))
                continue
            A = p["Py"][:, :, s] - beta_y[None, :, s] * p["H"]
            B = p["Px"] - beta_x[None, :] * p["H"]
            scale = self.factor / d**2
            out.append(
                AffineStatistic(
                    n0=beta_y[:, s],
                    n1=-beta_x,
                    v0=scale * np.einsum("gr,gr->r", A, A),
                    v01=-scale * np.einsum("gr,gr->r", A, B),
                    v1=scale * np.einsum("gr,gr->r", B, B),
                )
            )
        return out


def _permutation_kernel(
    fits: Sequence[RegressionFit], assignment: Assignment
) -> _PermutationKernel:
    """Build the kernel for fits that share one design (same rows and regressors)."""
    design = fits[0].design
    X, focal = design.X, design.focal
    w = np.ones(design.nobs) if design.weights is None else design.weights
    Zt = np.delete(X, focal, axis=1)
    ZtWZ_inv = np.linalg.pinv((Zt * w[:, None]).T @ Zt)

    def residualise(A: np.ndarray) -> np.ndarray:
        return A - Zt @ (ZtWZ_inv @ (Zt.T @ (A * w[:, None])))

    Y = residualise(np.column_stack([f.design.y for f in fits]))
    x_obs = residualise(X[:, [focal]])[:, 0]
    if design.clusters is None:
        codes, n_groups = np.arange(design.nobs), design.nobs
        n, k = design.n_effective, design.k(False)
        factor = n / (n - k)
    else:
        codes, n_groups = design.clusters, int(design.n_clusters)
        n, k = design.n_effective, design.k(True)
        factor = n_groups / (n_groups - 1) * (n - 1) / (n - k)
    U, S, N = len(assignment.values), Y.shape[1], design.nobs
    compact = None
    R = None
    if max(N * U, n_groups * U * U, n_groups * U * S) <= _COMPACT_LIMIT:
        L = np.zeros((N, U))
        L[np.arange(N), assignment.units] = assignment.multiplier
        R = residualise(design.demean(L))
        wR = R * w[:, None]
        summer = sparse.csr_matrix((np.ones(N), (codes, np.arange(N))), shape=(n_groups, N))
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=n_groups))[:-1]
        Psi = np.stack([wR[rows].T @ R[rows] for rows in np.split(order, bounds)])
        compact = {
            "Omega": wR.T @ R,
            "Gamma": wR.T @ Y,
            "Gamma_x": wR.T @ x_obs,
            "Phi": np.stack([summer @ (wR * Y[:, [s]]) for s in range(S)], axis=2),
            "Phi_x": np.asarray(summer @ (wR * x_obs[:, None])),
            "Psi": Psi,
        }
    return _PermutationKernel(
        design=design,
        assignment=assignment,
        Y=Y,
        R=R,
        x_obs=x_obs,
        Zt=Zt,
        ZtWZ_inv=ZtWZ_inv,
        codes=codes,
        n_groups=n_groups,
        factor=factor,
        compact=compact,
    )


def permute_fits(
    fits: Sequence[RegressionFit],
    assignment: Assignment,
    *,
    statistic: str = "t",
    permutations: int = 9_999,
    seed: int | np.random.Generator | None = None,
    null: float = 0.0,
    level: float = 0.95,
    confidence_interval: bool = True,
) -> list[RandomizationResult]:
    """Randomization inference for fits that share one design (same rows, regressors, weights).

    Parameters
    ----------
    fits : sequence of RegressionFit
        Fits of several outcomes on the same estimation sample and regressors.
    assignment : Assignment
        How the treatment was assigned (from :func:`assignment_from`).
    statistic : {"t", "coefficient"}, optional
        Studentised (CR1, or HC1 when unclustered) or raw coefficient.
    permutations : int, optional
        Random re-assignments when the distinct assignments outnumber them.
    seed : int, numpy.random.Generator or None, optional
        Seed or generator (``None`` means seed 0).
    null : float, optional
        Constant effect under the sharp null.
    level : float, optional
        Confidence level of the test-inversion interval.
    confidence_interval : bool, optional
        Whether to invert the test.

    Returns
    -------
    list of RandomizationResult
        One per fit.

    Raises
    ------
    ValueError
        Unknown statistic, fits on different designs, or too few permutations.
    """
    if statistic not in STATISTICS:
        msg = f"statistic must be one of {STATISTICS}; got {statistic!r}"
        raise ValueError(msg)
    if int(permutations) < 1:
        msg = f"permutations must be a positive integer; got {permutations!r}"
        raise ValueError(msg)
    first = fits[0].design
    for fit in fits[1:]:
        if not (fit.design.index.equals(first.index) and np.array_equal(fit.design.X, first.X)):
            msg = "fits permuted together must share the estimation sample and regressors"
            raise ValueError(msg)
    kernel = _permutation_kernel(fits, assignment)
    rng, source = resolve_rng(seed)
    observed = kernel.statistics(assignment.values[:, None], statistic)
    chunks, total, enumerated, n_assignments = _permutation_chunks(
        assignment, int(permutations), rng, kernel.chunk_size()
    )
    parts: list[list[AffineStatistic]] = [[] for _ in fits]
    for T in chunks:
        for part, stats in zip(parts, kernel.statistics(T, statistic), strict=True):
            part.append(stats)
    results = []
    alpha = 1.0 - level
    studentised = kernel.statistics(assignment.values[:, None], "t")
    for obs, obs_t, part in zip(observed, studentised, parts, strict=True):
        draws = AffineStatistic.concat(part)
        estimate = float(obs.n0[0])
        se = math.sqrt(float(obs_t.v0[0]))

        def pvalue_at(
            r: float, draws: AffineStatistic = draws, obs: AffineStatistic = obs
        ) -> float:
            count, _ = count_extreme(draws.at(r), float(obs.at(r)[0]), "weak")
            return count / total if enumerated else (count + 1) / (total + 1)

        lower = upper = math.nan
        if confidence_interval:
            lower, upper = invert_test(pvalue_at, estimate, se, alpha)
        results.append(
            RandomizationResult(
                estimate=estimate,
                std_error=se,
                statistic=float(obs.at(null)[0]),
                statistic_type=statistic,
                pvalue=pvalue_at(null),
                ci_lower=lower,
                ci_upper=upper,
                null=float(null),
                level=level,
                permutations=total,
                enumerated=enumerated,
                n_assignments=n_assignments,
                seed="enumeration" if enumerated else source,
                n_units=len(assignment.values),
                n_strata=int(np.unique(assignment.strata).size),
                distribution=draws.at(null),
            )
        )
    return results


def randomization_inference(
    data: pd.DataFrame,
    outcome: str | Sequence[str],
    treatment: str,
    *,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weights_kind: str = "analytic",
    subset: pd.Series | np.ndarray | None = None,
    strata: str | None = None,
    statistic: str = "t",
    permutations: int = 9_999,
    seed: int | np.random.Generator | None = None,
    null: float = 0.0,
    level: float = 0.95,
) -> RandomizationResult | tuple[RandomizationResult, ...]:
    r"""Test the sharp null of a constant effect by re-assigning the treatment (as ``ritest``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation; never modified.
    outcome : str or sequence of str
        One outcome, or several that share one permutation matrix (a tuple of results is then
        returned, in order).
    treatment : str
        Treatment column (0/1 or a dose), constant within clusters when clustered.
    covariates, fixed_effects, cluster, weights, weights_kind, subset : optional
        The model, as in :func:`evaluation.estimation.estimate_effect`. The assignment unit is
        the cluster (rows when unclustered).
    strata : str, optional
        Column within whose levels the treatment is permuted (constant within units).
    statistic : {"t", "coefficient"}, optional
        Compare t statistics (CR1, HC1 when unclustered; the default, robust to heterogeneous
        cluster sizes) or coefficients.
    permutations : int, optional
        Random re-assignments (9,999 by default); all distinct assignments are used instead
        when there are no more than that.
    seed : int, numpy.random.Generator or None, optional
        Seed or generator (``None`` means seed 0).
    null : float, optional
        The constant effect under the sharp null.
    level : float, optional
        Confidence level of the test-inversion interval.

    Returns
    -------
    RandomizationResult or tuple of RandomizationResult
        The test, interval and null distribution (one result per outcome).

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        The treatment or strata vary within a cluster, or bad options.

    Notes
    -----
    Model :math:`y = \tau T + Z'\gamma + \alpha + \varepsilon` (fixed effects absorbed). Under the
    sharp null :math:`y_i(1) - y_i(0) = r` for all units, :math:`y - rT` is unaffected by the
    assignment, so each re-assignment :math:`T^{(b)}` (a permutation of the unit-level
    treatments within strata) gives the statistic of regressing :math:`y - rT` on
    :math:`T^{(b)}` and the same controls. By FWL, with :math:`\rho = M_Z T^{(b)}`:
    :math:`\hat\tau^{(b)} = \rho'Wy/\rho'W\rho` and CR1 variance
    :math:`G/(G-1)\,(N-1)/(N-K)\sum_g(\sum_{i\in g} w_i\rho_i e_i)^2/(\rho'W\rho)^2`.
    Because :math:`\rho = M_Z L t` is linear in the unit-level vector :math:`t`, the sums are
    precomputed once; nothing is refit per draw.

    p-value: :math:`\#\{b : |s_b| \ge |s_{obs}|\}/B` over all distinct assignments when they
    are enumerated (the observed one is among them, so :math:`p \ge 1/B`); with random
    permutations :math:`(1 + \#\{|s_b| \ge |s_{obs}|\})/(B + 1)` (Phipson & Smyth 2010).
    **Ties count as at least as extreme** (within a relative tolerance of 1e-9), the
    convention that keeps the test exact. The interval collects every :math:`r` with
    :math:`p(r) > 1 - \text{level}` (bisection, as for the wild bootstrap). Assignment was not
    random in this evaluation: the test is then a design-based robustness check.
    """
    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    if strata is not None and strata not in data.columns:
        msg = f"strata column {strata!r} not found in the data"
        raise KeyError(msg)
    model = {
        "covariates": covariates,
        "fixed_effects": fixed_effects,
        "cluster": cluster,
        "weights": weights,
        "weights_kind": weights_kind,
        "subset": subset,
    }
    fits = [fit_model(data, name, treatment, **model) for name in outcomes]
    groups: dict[tuple, list[int]] = {}
    for i, fit in enumerate(fits):
        key = (tuple(fit.design.index), fit.design.X.tobytes())
        groups.setdefault(key, []).append(i)
    results: list[RandomizationResult | None] = [None] * len(fits)
    for members in groups.values():
        design = fits[members[0]].design
        strata_rows = None if strata is None else data.loc[design.index, strata].to_numpy()
        assignment = assignment_from(
            design, design.treatment, strata=strata_rows, strata_name=strata
        )
        batch = permute_fits(
            [fits[i] for i in members],
            assignment,
            statistic=statistic,
            permutations=permutations,
            seed=seed,
            null=null,
            level=level,
        )
        for i, result in zip(members, batch, strict=True):
            results[i] = result
    return results[0] if isinstance(outcome, str) else tuple(results)
