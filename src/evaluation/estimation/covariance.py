"""Weighted least squares on a prepared design and its variance estimators.

``iid``, ``HC1``, ``HC2``, ``CR1`` (Stata) and ``CR2`` (Bell-McCaffrey with Satterthwaite degrees
of freedom, as clubSandwich). Every estimator works on the design residualised on absorbed
fixed effects; where the fixed effects change the hat matrix (``HC2``, ``CR2``) their leverage is
added back exactly, so results equal those of the model with dummy columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from evaluation.estimation._design import (
    _Design,
    _group_weights,
    make_demeaner,
    prepare_design,
)

VCOV_TYPES = ("iid", "HC1", "HC2", "CR1", "CR2")
_MAX_LEVERAGE_DUMMIES = 5_000
_EIG_TOL = 1e-10


@dataclass(frozen=True)
class _ClusterAdjust:
    """CR2 adjustment of one cluster: ``A_g = I + U diag(d) U'`` and the hat-matrix basis."""

    rows: np.ndarray
    U: np.ndarray
    d: np.ndarray
    Qn: np.ndarray
    F: np.ndarray


@dataclass(frozen=True)
class RegressionFit:
    """The raw weighted least-squares fit behind an estimate, kept for diagnostics.

    Attributes
    ----------
    params : pandas.Series
        Coefficients by regressor name (fixed effects are absorbed, not listed).
    cov : pandas.DataFrame
        Variance-covariance matrix of ``params`` under ``vcov``.
    vcov : str
        The variance estimator.
    df : float
        Degrees of freedom for the focal (treatment) coefficient.
    k : int
        Parameters counted in the small-sample factor (regressors plus fixed-effect levels).
    nobs : int
        Rows in the estimation sample.
    n_clusters : int or None
        Clusters, when clustered.
    design : _Design
        The prepared design (residualised outcome and regressors, clusters, weights, the
        demeaning function) for inference backends.
    residuals : numpy.ndarray
        Residuals of the residualised (within) regression, aligned with ``design``.
    """

    params: pd.Series
    cov: pd.DataFrame
    vcov: str
    df: float
    k: int
    nobs: int
    n_clusters: int | None
    design: _Design = field(repr=False)
    residuals: np.ndarray = field(repr=False)
    _cr2: _CR2 | None = field(default=None, repr=False)
    _bread: np.ndarray | None = field(default=None, repr=False)

    def contrast(self, weights: Mapping[str, float]) -> tuple[float, float, float]:
        """Estimate a linear combination of coefficients with its standard error and df.

        Parameters
        ----------
        weights : Mapping of str to float
            Coefficient name to its weight, e.g. ``{"treat": 1, "treat_x_female": 1}``.

        Returns
        -------
        tuple of float
            Estimate, standard error and degrees of freedom (Satterthwaite for ``CR2``;
            otherwise those of the variance estimator).

        Raises
        ------
        KeyError
            A name is not a coefficient of the fit.
        """
        c = self._contrast_vector(weights)
        estimate = float(c @ self.params.to_numpy())
        se = float(np.sqrt(c @ self.cov.to_numpy() @ c))
        df = self.df
        if self.vcov == "CR2":
            df = _satterthwaite_df(self.design, self._bread, self._cr2, c)
        return estimate, se, df

    def wald_test(
        self, contrasts: Sequence[Mapping[str, float]]
    ) -> tuple[float, float, float, float]:
        """Wald F test that several linear combinations of coefficients are jointly zero.

        Parameters
        ----------
        contrasts : sequence of Mapping of str to float
            One mapping (coefficient name to weight) per restriction, e.g.
            ``[{"a": 1}, {"b": 1}]`` for ``a = b = 0``.

        Returns
        -------
        tuple of float
            F statistic, numerator df ``q``, denominator df and p-value.

        Notes
        -----
        ``F = (Rb)' (R V R')^{-1} (Rb) / q`` with ``V`` the fit's variance matrix and the
        denominator df of the variance estimator (``G - 1`` for clustered variances, ``N - K``
        otherwise). For ``CR2`` this is the naive F on ``G - 1`` df, not the HTZ test.
        """
        R = np.vstack([self._contrast_vector(c) for c in contrasts])
        b = R @ self.params.to_numpy()
        V = R @ self.cov.to_numpy() @ R.T
        q = R.shape[0]
        f_stat = float(b @ np.linalg.solve(V, b)) / q
        denominator = float(self.n_clusters - 1) if self.vcov == "CR2" else self.df
        pvalue = float(stats.f.sf(f_stat, q, denominator))
        return f_stat, float(q), denominator, pvalue

    def _contrast_vector(self, weights: Mapping[str, float]) -> np.ndarray:
        unknown = [n for n in weights if n not in self.params.index]
        if unknown:
            msg = f"contrast names {unknown} are not coefficients; have {list(self.params.index)}"
            raise KeyError(msg)
        return np.array([float(weights.get(n, 0.0)) for n in self.params.index])


def fit_wls(design: _Design, vcov: str) -> RegressionFit:
    """Fit the prepared design by (weighted) least squares with the requested variance.

    Parameters
    ----------
    design : _Design
        The prepared design.
    vcov : str
        One of ``"iid"``, ``"HC1"``, ``"HC2"``, ``"CR1"``, ``"CR2"``.

    Returns
    -------
    RegressionFit
        Coefficients, variance matrix and degrees of freedom.

    Raises
    ------
    ValueError
        Unknown ``vcov``, a clustered variance without clusters, fewer than two clusters,
        ``iid`` with sampling weights, or no residual degrees of freedom.
    """
    if vcov not in VCOV_TYPES:
        msg = f"vcov must be one of {VCOV_TYPES}; got {vcov!r}"
        raise ValueError(msg)
    clustered = vcov.startswith("CR")
    if clustered and design.clusters is None:
        msg = f"vcov={vcov!r} needs a cluster column; pass cluster=... or use vcov='HC1'"
        raise ValueError(msg)
    if clustered and design.n_clusters < 2:
        msg = f"cluster column {design.cluster_name!r} has a single cluster; need at least two"
        raise ValueError(msg)
    if vcov == "iid" and design.weights is not None and design.weights_kind == "sampling":
        msg = "vcov='iid' is not defined for sampling weights; use 'HC1', 'CR1' or 'CR2'"
        raise ValueError(msg)

    X, y, w = design.X, design.y, design.weights
    sw = np.ones_like(y) if w is None else np.sqrt(w)
    Xs, ys = X * sw[:, None], y * sw
    XtX = Xs.T @ Xs
    bread = np.linalg.inv(XtX)
    coef = bread @ (Xs.T @ ys)
    resid = y - X @ coef
    n = design.n_effective
    k = design.k(clustered)
    if n - k <= 0:
        msg = f"no residual degrees of freedom: {n:g} observations for {k} parameters"
        raise ValueError(msg)

    cr2 = None
    if vcov == "iid":
        wr2 = resid**2 if w is None else w * resid**2
        cov = bread * (wr2.sum() / (n - k))
        df = n - k
    elif vcov in {"HC1", "HC2"}:
        if vcov == "HC1":
            scale = np.full_like(y, n / (n - k))
        else:
            scale = 1.0 / (1.0 - _hc2_leverage(design, Xs, bread))
        # per-row scores: x_i w_i e_i, except frequency weights (w_i copies of x_i e_i)
        if w is not None and design.weights_kind == "frequency":
            meat = (X * (w * resid**2 * scale)[:, None]).T @ X
        else:
            u = resid if w is None else w * resid
            meat = (X * (u**2 * scale)[:, None]).T @ X
        cov = bread @ meat @ bread
        df = n - k
    else:
        G = design.n_clusters
        u = resid if w is None else w * resid
        if vcov == "CR1":
            scores = np.column_stack(
                [
                    np.bincount(design.clusters, weights=X[:, j] * u, minlength=G)
                    for j in range(X.shape[1])
                ]
            )
            factor = G / (G - 1) * (n - 1) / (n - k)
            cov = factor * (bread @ scores.T @ scores @ bread)
            df = float(G - 1)
        else:
            cr2 = _cr2(design, Xs, bread)
            summer = cluster_summer(design)
            if _independence_model(design):
                scores = summer @ (X * (w * cr2.apply(resid))[:, None])
            else:
                scores = summer @ (Xs * cr2.apply(resid * sw)[:, None])
            cov = bread @ scores.T @ scores @ bread
            c = np.zeros(X.shape[1])
            c[design.focal] = 1.0
            df = _satterthwaite_df(design, bread, cr2, c)
    names = list(design.names)
    return RegressionFit(
        params=pd.Series(coef, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        vcov=vcov,
        df=float(df),
        k=int(k),
        nobs=design.nobs,
        n_clusters=design.n_clusters if clustered else None,
        design=design,
        residuals=resid,
        _cr2=cr2,
        _bread=bread,
    )


def fit_model(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    vcov: str | None = None,
    **model: Any,
) -> RegressionFit:
    """Prepare the design of one model and fit it (the step every estimator starts with).

    Parameters
    ----------
    data : pandas.DataFrame
        Input rows; never modified.
    outcome, treatment : str
        Outcome and focal (treatment) columns.
    vcov : str, optional
        Variance estimator (:func:`fit_wls`); ``None``: ``CR1`` with a cluster, ``HC1``
        without.
    **model : Any
        The model's other keyword arguments of the estimation layer's private
        ``_design.prepare_design`` (``covariates``, ``fixed_effects``, ``cluster``,
        ``weights``, ``weights_kind``, ``subset``, ``lin``...).

    Returns
    -------
    RegressionFit
        The fit; its ``design`` is the prepared design.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Bad data or options (as ``_design.prepare_design`` and :func:`fit_wls`).
    """
    design = prepare_design(data, outcome, treatment, **model)
    if vcov is None:
        vcov = "CR1" if design.clusters is not None else "HC1"
    return fit_wls(design, vcov)


def _independence_model(design: _Design) -> bool:
    """Tell whether the CR2 working model is Theta = I (sampling weights; clubSandwich default)."""
    return design.weights is not None and design.weights_kind == "sampling"


def _apply(adj: _ClusterAdjust, v: np.ndarray) -> np.ndarray:
    """Return ``A_g v`` for ``A_g = I + U diag(d) U'``."""
    return v + adj.U @ (adj.d * (adj.U.T @ v))


def _orthonormal(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``A`` (rank-revealing, via SVD)."""
    if A.shape[1] == 0:
        return A
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    keep = s > _EIG_TOL * max(1.0, s[0] if s.size else 0.0)
    return U[:, keep]


def _dummies(codes: np.ndarray, n_levels: int) -> np.ndarray:
    D = np.zeros((codes.shape[0], n_levels))
    D[np.arange(codes.shape[0]), codes] = 1.0
    return D


def _fe_leverage_basis(design: _Design, factors: list, partial_out: list) -> np.ndarray:
    """Whitened orthonormal basis of the dummies of ``factors`` after removing ``partial_out``.

    Returns the ``(N, r)`` basis of ``M_{partial_out} D_factors`` in the weighted metric, so the
    leverage of those fixed effects beyond ``partial_out`` is the squared row norm.
    """
    if not factors:
        return np.zeros((design.nobs, 0))
    key = ("fe_basis", tuple(f.name for f in factors), tuple(f.name for f in partial_out))
    if key not in design.cache:
        design.cache[key] = _compute_fe_basis(design, factors, partial_out)
    return design.cache[key]


def _compute_fe_basis(design: _Design, factors: list, partial_out: list) -> np.ndarray:
    levels = sum(f.n_levels for f in factors)
    if levels > _MAX_LEVERAGE_DUMMIES:
        names = [f.name for f in factors]
        msg = (
            f"HC2/CR2 need the leverage of fixed effects {names} ({levels} levels), which "
            f"exceeds {_MAX_LEVERAGE_DUMMIES}; cluster at a level that nests them, or use "
            "HC1/CR1"
        )
        raise ValueError(msg)
    w = design.weights
    sw = np.ones(design.nobs) if w is None else np.sqrt(w)
    if len(factors) == 1 and not partial_out:
        # the whitened dummies of one factor are orthogonal: normalise each column
        (fe,) = factors
        total = _group_weights(fe.codes, fe.n_levels, w)
        basis = np.zeros((design.nobs, fe.n_levels))
        basis[np.arange(design.nobs), fe.codes] = sw / np.sqrt(total[fe.codes])
        return basis
    D = np.column_stack([_dummies(f.codes, f.n_levels) for f in factors])
    demean = make_demeaner([f.codes for f in partial_out], [f.n_levels for f in partial_out], w)
    return _orthonormal(demean(D) * sw[:, None])


def _hc2_leverage(design: _Design, Xs: np.ndarray, bread: np.ndarray) -> np.ndarray:
    """Leverage for HC2, including the absorbed fixed effects.

    Whitened leverage ``h*_i = w_i x_i'(X'WX)^{-1} x_i`` (plus the fixed effects' part) for
    unweighted, analytic and sampling weights; ``h*_i / w_i`` (the leverage of each copy in
    the expanded data) for frequency weights.
    """
    h = np.einsum("ij,jk,ik->i", Xs, bread, Xs)
    fes = list(design.fixed_effects)
    if fes:
        w = design.weights
        largest = max(fes, key=lambda f: f.n_levels)
        total = _group_weights(largest.codes, largest.n_levels, w)
        h = h + (np.ones(design.nobs) if w is None else w) / total[largest.codes]
        others = [f for f in fes if f is not largest]
        basis = _fe_leverage_basis(design, others, [largest])
        h = h + np.einsum("ij,ij->i", basis, basis)
    if design.weights is not None and design.weights_kind == "frequency":
        h = h / design.weights
    if np.any(h >= 1 - 1e-12):
        msg = "HC2 is undefined: some observations have leverage 1 (perfectly fit)"
        raise ValueError(msg)
    return h


def cluster_summer(design: _Design) -> sparse.csr_matrix:
    """Return the ``(G, N)`` 0/1 matrix that sums rows by cluster (computed once per design).

    Parameters
    ----------
    design : _Design
        A clustered design.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``S[g, i] = 1`` when row ``i`` is in cluster ``g``.
    """
    if "summer" not in design.cache:
        n = design.nobs
        design.cache["summer"] = sparse.csr_matrix(
            (np.ones(n), (design.clusters, np.arange(n))), shape=(design.n_clusters, n)
        )
    return design.cache["summer"]


@dataclass(frozen=True)
class _Padded:
    """Rows grouped by cluster into a ``(G, n_max)`` array of row numbers (``-1``: padding)."""

    index: np.ndarray
    mask: np.ndarray

    @staticmethod
    def of(codes: np.ndarray, n_clusters: int) -> _Padded:
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=n_clusters)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        position = np.arange(order.size) - np.repeat(starts, sizes)
        index = np.full((n_clusters, int(sizes.max())), -1, dtype=np.intp)
        index[codes[order], position] = order
        return _Padded(index, index >= 0)

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Return ``values`` (rows first) as ``(G, n_max, ...)`` with zeros in the padding."""
        out = values[self.index]
        out[~self.mask] = 0.0
        return out

    def scatter(self, padded: np.ndarray, n_rows: int) -> np.ndarray:
        """Return the ``(N,)`` vector of a ``(G, n_max)`` array (padding dropped)."""
        out = np.empty(n_rows)
        out[self.index[self.mask]] = padded[self.mask]
        return out


@dataclass(frozen=True)
class _CR2:
    """Bell-McCaffrey adjustments of every cluster, held as batched low-rank factors.

    ``A_g = I - P_g + U_g diag(d_g) U_g'`` with ``P_g`` the projection on the fixed effects
    nested in cluster ``g`` (none for sampling weights) and ``U_g`` (padded to ``n_max`` rows).
    ``F`` is the global whitened basis of the non-nested fixed effects and of ``X``.
    """

    padded: _Padded
    U: np.ndarray
    d: np.ndarray
    F: np.ndarray
    nested: Callable[[np.ndarray], np.ndarray] | None
    blocks: tuple[_ClusterAdjust, ...] | None = None

    def apply(self, v: np.ndarray) -> np.ndarray:
        """Return ``A v`` (``A`` block diagonal by cluster) for a vector over the rows."""
        if self.blocks is not None:
            out = np.empty_like(v)
            for adj in self.blocks:
                out[adj.rows] = _apply(adj, v[adj.rows])
            return out
        vp = self.padded.gather(v)
        t = np.einsum("gnr,gn->gr", self.U, vp) * self.d
        out = self.padded.scatter(vp + np.einsum("gnr,gr->gn", self.U, t), v.shape[0])
        return out if self.nested is None else out - self.nested(v)

    def project_nested(self, v: np.ndarray) -> np.ndarray:
        """Return ``v`` minus its projection on the nested fixed effects within clusters."""
        if self.blocks is not None:
            out = np.empty_like(v)
            for adj in self.blocks:
                q = v[adj.rows]
                out[adj.rows] = q - adj.Qn @ (adj.Qn.T @ q)
            return out
        return v if self.nested is None else v - self.nested(v)


def _nested_projection(design: _Design, nested: list) -> Callable[[np.ndarray], np.ndarray]:
    """Projection on the whitened dummies of one fixed effect nested in the clusters.

    ``(P v)_i = sqrt(w_i) sum_{j in l(i)} sqrt(w_j) v_j / W_l``: the orthonormal basis of the
    whitened dummies of a single factor is the dummies divided by ``sqrt(W_l)``.
    """
    (fe,) = nested
    w = design.weights
    sw = None if w is None else np.sqrt(w)
    total = _group_weights(fe.codes, fe.n_levels, w)

    def project(v: np.ndarray) -> np.ndarray:
        source = v if sw is None else v * sw
        means = np.bincount(fe.codes, weights=source, minlength=fe.n_levels) / total
        return means[fe.codes] if sw is None else means[fe.codes] * sw

    return project


def _batched_inverse_sqrt(L: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched :func:`_inverse_sqrt_factors`: ``L`` is ``(G, n, q)`` and ``S`` ``(q, q)``."""
    Q, R = np.linalg.qr(L)
    T = R @ S @ np.swapaxes(R, -1, -2)
    lam, V = np.linalg.eigh((T + np.swapaxes(T, -1, -2)) / 2)
    ev = 1.0 + lam
    root = np.where(ev > _EIG_TOL, 1.0 / np.sqrt(np.clip(ev, _EIG_TOL, None)), 0.0)
    return Q @ V, root - 1.0


def _cr2(design: _Design, Xs: np.ndarray, bread: np.ndarray) -> _CR2:
    """Bell-McCaffrey adjustment matrices ``A_g`` for every cluster (computed once per design).

    The whitened hat matrix of the full model (all fixed effects as dummies) restricted to
    cluster ``g`` is ``H*_gg = E_g E_g'`` with ``E_g = [Qn_g, F_g]``: ``Qn_g`` an orthonormal
    basis of the fixed effects nested in the clusters (within cluster ``g``), ``F_g`` the rows of
    the global basis of the non-nested fixed effects and of ``X``. ``A_g`` is the symmetric
    pseudo-inverse square root of ``B_g = I - H*_gg`` (inverse-variance working model), or of
    ``B_g = W_g^{-1/2} [(I - H*) W (I - H*)]_gg W_g^{-1/2}`` for sampling weights (working
    model Theta = I, clubSandwich's default for weighted fits). ``B_g = I + L S L'`` is low rank
    plus identity, so only ``n_g x rank`` matrices are formed, for all clusters at once.

    ``F`` is orthogonal to the nested dummies (the regressors are demeaned on every fixed
    effect and the non-nested basis on the nested ones), so under the inverse-variance model
    ``A_g = I - Qn Qn' + (I - F_g F_g')^{+1/2} - I``: the nested part is a projection, and only
    ``F_g`` (``n_g x (k + m)``) needs a factorisation.
    """
    if "cr2" in design.cache:
        return design.cache["cr2"]
    fes = list(design.fixed_effects)
    nested = [f for f in fes if f.nested]
    non_nested = [f for f in fes if not f.nested]
    chol = np.linalg.cholesky(bread)
    F = np.column_stack([_fe_leverage_basis(design, non_nested, nested), Xs @ chol])
    independence = _independence_model(design)
    if independence and nested:
        blocks = tuple(_cr2_adjustments(design, F))
        found = _CR2(_Padded.of(design.clusters, design.n_clusters), F[:0], F[:0], F, None, blocks)
        design.cache["cr2"] = found
        return found
    padded = _Padded.of(design.clusters, design.n_clusters)
    Fp = padded.gather(F)
    m = F.shape[1]
    if independence:
        w = design.weights
        C = (F * w[:, None]).T @ F
        swp = padded.gather(np.sqrt(w))
        inverse = np.divide(1.0, swp, out=np.zeros_like(swp), where=padded.mask)
        L = np.concatenate([Fp * inverse[..., None], Fp * swp[..., None]], axis=2)
        S = np.block([[C, -np.eye(m)], [-np.eye(m), np.zeros((m, m))]])
        projection = None
    else:
        L, S = Fp, -np.eye(m)
        projection = _nested_projection(design, nested) if len(nested) == 1 else None
        if len(nested) > 1:
            blocks = tuple(_cr2_adjustments(design, F))
            found = _CR2(padded, F[:0], F[:0], F, None, blocks)
            design.cache["cr2"] = found
            return found
    U, d = _batched_inverse_sqrt(L, S)
    found = _CR2(padded, U, d, F, projection)
    design.cache["cr2"] = found
    return found


def _cr2_adjustments(design: _Design, F: np.ndarray) -> list[_ClusterAdjust]:
    """Bell-McCaffrey adjustment matrices ``A_g`` of every cluster, one cluster at a time.

    Used by :func:`_cr2` for the designs its batched form does not cover (sampling weights with
    nested fixed effects, or several nested fixed effects); ``F`` is its global basis.

    The whitened hat matrix of the full model (all fixed effects as dummies) restricted to
    cluster ``g`` is ``H*_gg = E_g E_g'`` with ``E_g = [Qn_g, F_g]``: ``Qn_g`` an orthonormal
    basis of the fixed effects nested in the clusters (within cluster ``g``), ``F_g`` the rows of
    the global basis of the non-nested fixed effects and of ``X``. ``A_g`` is the symmetric
    pseudo-inverse square root of ``B_g = I - H*_gg`` (inverse-variance working model), or of
    ``B_g = W_g^{-1/2} [(I - H*) W (I - H*)]_gg W_g^{-1/2}`` for sampling weights (working
    model Theta = I, clubSandwich's default for weighted fits). ``B_g = I + L S L'`` is low rank
    plus identity, so only ``n_g x rank`` matrices are formed.
    """
    nested = [f for f in design.fixed_effects if f.nested]
    w = np.ones(design.nobs) if design.weights is None else design.weights
    sw = np.sqrt(w)
    independence = _independence_model(design)
    C = (F * w[:, None]).T @ F if independence else None
    order = np.argsort(design.clusters, kind="stable")
    bounds = np.cumsum(np.bincount(design.clusters))
    out = []
    for rows in np.split(order, bounds[:-1]):
        if nested:
            local = [np.unique(f.codes[rows], return_inverse=True)[1] for f in nested]
            Dn = np.column_stack([_dummies(c, int(c.max()) + 1) for c in local])
            Qn = _orthonormal(Dn * sw[rows, None])
        else:
            Qn = np.zeros((rows.size, 0))
        E = np.column_stack([Qn, F[rows]])
        if independence:
            w_g = w[rows]
            Cg = (E * w_g[:, None]).T @ E
            nf = F.shape[1]
            Cg[-nf:, -nf:] = C
            m = E.shape[1]
            L = np.column_stack([E / np.sqrt(w_g)[:, None], E * np.sqrt(w_g)[:, None]])
            S = np.block([[Cg, -np.eye(m)], [-np.eye(m), np.zeros((m, m))]])
        else:
            L, S = E, -np.eye(E.shape[1])
        U, d = _inverse_sqrt_factors(L, S)
        out.append(_ClusterAdjust(rows=rows, U=U, d=d, Qn=Qn, F=F[rows]))
    return out


def _inverse_sqrt_factors(L: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors of ``(I + L S L')^{+1/2} = I + U diag(d) U'`` (symmetric pseudo-inverse root)."""
    Q, R = np.linalg.qr(L)
    T = R @ S @ R.T
    lam, V = np.linalg.eigh((T + T.T) / 2)
    ev = 1.0 + lam
    root = np.where(ev > _EIG_TOL, 1.0 / np.sqrt(np.clip(ev, _EIG_TOL, None)), 0.0)
    return Q @ V, root - 1.0


def _satterthwaite_df(design: _Design, bread: np.ndarray, cr2: _CR2, c: np.ndarray) -> float:
    """Bell-McCaffrey degrees of freedom for the contrast ``c'beta`` (METHODS section 2.3).

    ``df = (sum_g G_g'G_g)^2 / sum_{g,h} (G_g' Theta G_h)^2`` with
    ``G_g = (I - H)_{g.}' A_g W_g X_g (X'WX)^{-1} c`` and ``H`` the full hat matrix. With
    ``H = Qn Qn' + F F'``, ``G_g'Theta G_h = delta_gh a_g'a_g - Pi_g'Pi_h`` (``a_g`` the
    adjusted scores without their nested part, ``Pi_g = F_g'q_g``; sampling weights add the
    cross terms of ``Theta = I``), so both sums come from ``(k + m)``-square matrices, never
    from a ``G x G`` one. Computed once per design and contrast (``bread`` and ``cr2`` are
    those of the design).
    """
    key = ("satterthwaite", c.tobytes())
    if key not in design.cache:
        design.cache[key] = _satterthwaite(design, bread, cr2, c)
    return design.cache[key]


def _satterthwaite(design: _Design, bread: np.ndarray, cr2: _CR2, c: np.ndarray) -> float:
    """Compute :func:`_satterthwaite_df` (uncached)."""
    w = np.ones(design.nobs) if design.weights is None else design.weights
    sw = np.sqrt(w)
    xm = design.X @ (bread @ c)
    summer = cluster_summer(design)
    F = cr2.F
    if _independence_model(design):
        q = cr2.apply(w * xm) / sw
        a = cr2.project_nested(q)
        diag = summer @ (w * a * a)
        Z = np.column_stack([summer @ (F * (w * a)[:, None]), summer @ (F * q[:, None])])
        m = F.shape[1]
        C = (F * w[:, None]).T @ F
        S = np.block([[np.zeros((m, m)), -np.eye(m)], [-np.eye(m), C]])
        quad = np.einsum("gi,ij,gj->g", Z, S, Z)
        Y = S @ (Z.T @ Z)
        trace = diag.sum() + quad.sum()
        total = np.sum(diag**2) + 2.0 * np.sum(diag * quad) + np.sum(Y * Y.T)
    else:
        q = cr2.apply(sw * xm)
        a = cr2.project_nested(q)
        diag = summer @ (a * a)
        Pi = summer @ (F * q[:, None])
        norms = np.einsum("gi,gi->g", Pi, Pi)
        trace = diag.sum() - norms.sum()
        total = np.sum(diag**2) - 2.0 * np.sum(diag * norms) + np.sum((Pi.T @ Pi) ** 2)
    return float(trace**2 / total)
