"""Shared machinery of the selection estimators: stacked M-estimation, t inference, bootstrap.

Stacked M-estimation (Stefanski & Boos 2002): with per-row moment functions
``psi_i(theta)`` whose sum is zero at the estimate, ``V = A^-1 B A^-T`` where
``A = sum_i d psi_i / d theta'`` (here by central differences) and ``B`` is the sum of outer
products of the per-row (or per-cluster summed) moments.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.estimation._design import _check_columns

_STEP = 1e-6


def check_columns(data: pd.DataFrame, **columns: str | None) -> None:
    """Raise ``KeyError`` naming the role of any given column missing from ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    **columns : str or None
        Role to column name (``None`` when the role is unused).
    """
    _check_columns(data, list(columns.items()))


def require_unique_index(data: pd.DataFrame) -> None:
    """Refuse a frame whose index labels repeat (rows are matched back by label).

    Parameters
    ----------
    data : pandas.DataFrame
        The data.

    Raises
    ------
    ValueError
        Repeated index labels.
    """
    if not data.index.is_unique:
        n = int(data.index.duplicated().sum())
        msg = f"the data's index has {n} repeated labels; call reset_index(drop=True) first"
        raise ValueError(msg)


def jacobian(psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Return ``sum_i d psi_i / d theta'`` by central differences.

    Parameters
    ----------
    psi : callable
        ``psi(theta)`` returns the ``(N, p)`` per-row moments.
    theta : numpy.ndarray
        The estimate, ``(p,)``.

    Returns
    -------
    numpy.ndarray
        The ``(p, p)`` Jacobian of the summed moments.
    """
    p = theta.shape[0]
    out = np.empty((p, p))
    for j in range(p):
        h = _STEP * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        out[:, j] = (psi(up).sum(axis=0) - psi(down).sum(axis=0)) / (2 * h)
    return out


def sandwich(
    psi: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, clusters: np.ndarray | None
) -> tuple[np.ndarray, float, int | None]:
    """Return the stacked M-estimation variance, its df and the number of clusters.

    Parameters
    ----------
    psi : callable
        Per-row moments ``psi(theta) -> (N, p)``.
    theta : numpy.ndarray
        The estimate.
    clusters : numpy.ndarray or None
        Integer cluster codes ``0..G-1``, or ``None`` for independent rows.

    Returns
    -------
    tuple
        ``(V, df, G)``: ``V = A^-1 B A^-T``; unclustered ``B = sum_i psi_i psi_i'`` (HC0) and
        ``df = inf``; clustered ``B = G/(G-1) sum_g s_g s_g'`` with ``s_g`` the cluster sums and
        ``df = G - 1``.
    """
    A = jacobian(psi, theta)
    A_inv = np.linalg.inv(A)
    values = psi(theta)
    if clusters is None:
        meat = values.T @ values
        df, n_clusters = math.inf, None
    else:
        n_clusters = int(clusters.max()) + 1
        if n_clusters < 2:
            msg = "the cluster column has a single cluster; need at least two"
            raise ValueError(msg)
        sums = np.column_stack(
            [
                np.bincount(clusters, weights=values[:, j], minlength=n_clusters)
                for j in range(values.shape[1])
            ]
        )
        meat = n_clusters / (n_clusters - 1) * sums.T @ sums
        df = float(n_clusters - 1)
    return A_inv @ meat @ A_inv.T, df, n_clusters


def t_inference(effect: float, se: float, df: float, level: float) -> tuple[float, float, float]:
    """Two-sided p-value and interval from a t (or normal, ``df = inf``) reference.

    Parameters
    ----------
    effect, se, df : float
        Estimate, standard error and degrees of freedom.
    level : float
        Confidence level.

    Returns
    -------
    tuple of float
        The p-value, lower and upper bound.
    """
    if not 0 < level < 1:
        msg = f"level must lie strictly between 0 and 1; got {level!r}"
        raise ValueError(msg)
    dist = stats.norm if math.isinf(df) else stats.t(df)
    if not se > 0:
        return math.nan, math.nan, math.nan
    pvalue = float(2 * dist.sf(abs(effect / se)))
    half = float(dist.ppf(0.5 + level / 2)) * se
    return pvalue, effect - half, effect + half


def cluster_codes(data: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    """Integer codes ``0..G-1`` of a cluster column (``None`` without clusters).

    Parameters
    ----------
    data : pandas.DataFrame
        The rows.
    cluster : str or None
        The cluster column.

    Returns
    -------
    numpy.ndarray or None
        The codes.
    """
    if cluster is None:
        return None
    codes, _ = pd.factorize(data[cluster], sort=True)
    return codes.astype(np.intp)


def resample(data: pd.DataFrame, cluster: str | None, rng: np.random.Generator) -> pd.DataFrame:
    """Draw a (cluster) bootstrap sample: whole clusters, or rows, with replacement.

    Parameters
    ----------
    data : pandas.DataFrame
        The rows.
    cluster : str or None
        Resample whole clusters of this column; rows when ``None``.
    rng : numpy.random.Generator
        Random numbers.

    Returns
    -------
    pandas.DataFrame
        The resample, with a fresh index; a drawn cluster that is drawn twice keeps one label
        (the estimators here use clusters only for variances, not for point estimates).
    """
    if cluster is None:
        rows = rng.integers(0, len(data), size=len(data))
        return data.iloc[rows].reset_index(drop=True)
    codes, _ = pd.factorize(data[cluster], sort=True)
    n_clusters = int(codes.max()) + 1
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_clusters))])
    drawn = rng.integers(0, n_clusters, size=n_clusters)
    rows = np.concatenate([order[bounds[g] : bounds[g + 1]] for g in drawn])
    return data.iloc[rows].reset_index(drop=True)


def bootstrap_summary(
    effect: float, draws: np.ndarray, level: float
) -> tuple[float, float, float, float]:
    """Return the standard error, normal p-value and percentile interval from bootstrap draws.

    Parameters
    ----------
    effect : float
        The estimate on the original sample.
    draws : numpy.ndarray
        The bootstrap estimates (NaN draws, where an estimator failed, are dropped).
    level : float
        Confidence level.

    Returns
    -------
    tuple of float
        ``(se, pvalue, lower, upper)``: the SD of the draws, the two-sided normal p-value of
        ``effect / se``, and the percentile interval.
    """
    good = draws[np.isfinite(draws)]
    se = float(np.std(good, ddof=1))
    pvalue = float(2 * stats.norm.sf(abs(effect / se))) if se > 0 else math.nan
    lower, upper = np.quantile(good, [0.5 - level / 2, 0.5 + level / 2])
    return se, pvalue, float(lower), float(upper)
