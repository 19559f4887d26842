"""Balance tables and the joint orthogonality test (iebaltab statistics, cobalt diagnostics).

Computation returns long tidy frames; layout is left to a renderer in :mod:`evaluation.reporting`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.estimation._design import (
    WEIGHTS_KINDS,
    _check_columns,
    _split_terms,
    levels_of,
    prepare_design,
)
from evaluation.estimation.covariance import fit_model, fit_wls

__all__ = ["balance_table", "joint_orthogonality_test"]

SMD_DENOMINATORS = {
    "pooled": "pooled SD sqrt((s_arm^2 + s_control^2) / 2)",
    "treated": "SD of the arm (s_arm)",
    "control": "SD of the control arm (s_control)",
}
BALANCE_MISSING = ("available", "complete")
JOINT_MISSING = ("complete", "indicator")


def _arms(data: pd.DataFrame, treatment: str, control: Any) -> tuple[list[Any], Any]:
    arms = levels_of(data, treatment, "treatment")
    if control is None:
        control = 0 if 0 in arms else arms[0]
    if control not in arms:
        msg = f"control arm {control!r} is not a value of {treatment!r}; arms are {arms}"
        raise ValueError(msg)
    return [a for a in arms if a != control], control


def _check_variables(data: pd.DataFrame, variables: Sequence[str]) -> list[str]:
    variables = [variables] if isinstance(variables, str) else list(variables)
    if not variables:
        msg = "no balance variables given"
        raise ValueError(msg)
    for v in variables:
        if v not in data.columns:
            msg = f"balance variable {v!r} not found in the data"
            raise KeyError(msg)
        if not (pd.api.types.is_numeric_dtype(data[v]) or pd.api.types.is_bool_dtype(data[v])):
            msg = f"balance variable {v!r} must be numeric; found dtype {data[v].dtype}"
            raise ValueError(msg)
    return variables


def _weighted_var(x: np.ndarray, w: np.ndarray | None, frequency: bool) -> float:
    """Return the (weighted) variance with cobalt's small-sample correction.

    ``n - 1`` unweighted; ``sum(w) - 1`` for frequency weights; otherwise the reliability-weights
    correction ``sum(w) / (sum(w)^2 - sum(w^2))``.
    """
    if x.size < 2:
        return math.nan
    if w is None:
        return float(np.var(x, ddof=1))
    mean = np.average(x, weights=w)
    ss = float(np.sum(w * (x - mean) ** 2))
    total = float(w.sum())
    if frequency:
        return ss / (total - 1)
    return ss * total / (total**2 - float(np.sum(w**2)))


def _weighted_ks(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray) -> float:
    """Largest distance between the two weighted empirical distribution functions."""
    grid = np.union1d(a, b)
    order_a, order_b = np.argsort(a), np.argsort(b)
    cum_a = np.concatenate([[0.0], np.cumsum(wa[order_a])]) / wa.sum()
    cum_b = np.concatenate([[0.0], np.cumsum(wb[order_b])]) / wb.sum()
    ecdf_a = cum_a[np.searchsorted(a[order_a], grid, side="right")]
    ecdf_b = cum_b[np.searchsorted(b[order_b], grid, side="right")]
    return float(np.max(np.abs(ecdf_a - ecdf_b)))


def _cell(x: np.ndarray, w: np.ndarray | None, clusters: np.ndarray | None, freq: bool) -> dict:
    n = int(x.size)
    return {
        "mean": float(np.average(x, weights=w)) if n else math.nan,
        "sd": math.sqrt(_weighted_var(x, w, freq)) if n > 1 else math.nan,
        "n": n,
        "n_clusters": None if clusters is None else int(np.unique(clusters).size),
    }


def balance_table(
    data: pd.DataFrame,
    treatment: str,
    variables: Sequence[str],
    *,
    cluster: str | None = None,
    fixed_effects: Sequence[str] = (),
    covariates: Sequence[str] = (),
    weights: str | None = None,
    weights_kind: str = "analytic",
    smd_denominator: str = "pooled",
    pvalues: bool = True,
    missing: str = "available",
    control: Any = None,
    vcov: str | None = None,
    total: bool = False,
) -> pd.DataFrame:
    r"""Tabulate baseline balance by arm: means, SDs, differences, SMDs and diagnostics.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        Arm column (two or more values, numeric or text).
    variables : sequence of str
        Numeric balance variables.
    cluster : str, optional
        Cluster column: clusters are counted per cell and the difference's SE is clustered.
    fixed_effects : sequence of str, optional
        Fixed effects (e.g. strata) in the difference regression.
    covariates : sequence of str, optional
        Covariates in the difference regression.
    weights : str, optional
        Weight column (means, SDs, the regression, KS).
    weights_kind : {"analytic", "sampling", "frequency"}, optional
        What the weights mean (see :func:`~evaluation.estimation.estimate_effect`).
    smd_denominator : {"pooled", "treated", "control"}, optional
        Standardised-difference denominator, named in the ``smd_denominator`` column.
    pvalues : bool, optional
        Add the regression SE, p-value and df columns.
    missing : {"available", "complete"}, optional
        ``"available"``: each variable uses the rows where it is observed; ``"complete"``:
        only rows observed on every variable.
    control : scalar, optional
        The control arm; 0 when present, else the first arm in sorted order.
    vcov : str, optional
        Variance of the difference; ``"CR1"`` with a cluster, ``"HC1"`` otherwise.
    total : bool, optional
        Add a row per variable for all arms together (``arm="total"``).

    Returns
    -------
    pandas.DataFrame
        Long and tidy: one row per variable and arm with ``mean``, ``sd``, ``n``,
        ``n_clusters``; the rows of non-control arms add the comparison with the control arm:
        ``difference`` (regression coefficient), ``mean_difference`` (raw), ``smd``,
        ``smd_denominator``, ``variance_ratio``, ``ks_statistic`` and, with ``pvalues``,
        ``std_error``, ``pvalue``, ``df``, ``vcov``.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Fewer than two arms, an unknown option, or a non-numeric variable.

    Notes
    -----
    As iebaltab: ``difference`` is :math:`\beta` from :math:`x_i = \alpha + \beta\,1[arm_i = a]
    + Z_i'\gamma + \text{FE} + \varepsilon_i` on the rows of arm ``a`` and the control arm,
    with the weights and the clustered (``CR1``, t on G - 1 df) or robust (``HC1``) variance;
    it is the raw difference in means when there are no fixed effects or covariates. The
    standardised difference (iebaltab ``nrmd``) is :math:`(\bar x_a - \bar x_0)/s` from raw
    (weighted) means with :math:`s` per ``smd_denominator``; cobalt's ATT convention is
    ``"treated"``. ``variance_ratio`` is :math:`s_a^2/s_0^2` and ``ks_statistic`` the largest
    gap between the two (weighted) empirical distribution functions (cobalt). SDs use
    :math:`n - 1`; weighted, :math:`\sum w(x-\bar x)^2\,\sum w/((\sum w)^2 - \sum w^2)`
    (cobalt), or :math:`\sum w - 1` for frequency weights.
    """
    if smd_denominator not in SMD_DENOMINATORS:
        msg = f"smd_denominator must be one of {tuple(SMD_DENOMINATORS)}; got {smd_denominator!r}"
        raise ValueError(msg)
    if missing not in BALANCE_MISSING:
        msg = f"missing must be one of {BALANCE_MISSING}; got {missing!r}"
        raise ValueError(msg)
    if weights_kind not in WEIGHTS_KINDS:
        msg = f"weights_kind must be one of {WEIGHTS_KINDS}; got {weights_kind!r}"
        raise ValueError(msg)
    variables = _check_variables(data, variables)
    others, control = _arms(data, treatment, control)
    vcov = vcov or ("CR1" if cluster else "HC1")
    # only the columns the table uses travel through the row selections below
    _check_columns(
        data,
        [("cluster", cluster), ("weights", weights)]
        + [("fixed-effect", fe) for fe in fixed_effects],
    )
    _, _, covariate_columns, _ = _split_terms(list(covariates), data)
    used = [treatment, *variables, *fixed_effects, *covariate_columns, weights, cluster]
    used = list(dict.fromkeys(c for c in used if c is not None))
    frame = data.loc[data[treatment].notna(), used]
    if missing == "complete":
        frame = frame.loc[frame[variables].notna().all(axis=1)]
    freq = weights is not None and weights_kind == "frequency"
    rows = []
    for var in variables:
        observed = frame.loc[frame[var].notna()]
        if weights is not None:
            observed = observed.loc[observed[weights].notna()]
        if cluster is not None:
            observed = observed.loc[observed[cluster].notna()]
        arm_values = observed[treatment]
        x0, w0, c0 = _cell_data(observed, arm_values == control, var, weights, cluster)
        base = _cell(x0, w0, c0, freq)
        rows.append({"variable": var, "arm": control, "is_control": True, **base})
        for arm in others:
            xa, wa, ca = _cell_data(observed, arm_values == arm, var, weights, cluster)
            cell = _cell(xa, wa, ca, freq)
            row = {"variable": var, "arm": arm, "is_control": False, **cell}
            denominator = {
                "pooled": math.sqrt((cell["sd"] ** 2 + base["sd"] ** 2) / 2),
                "treated": cell["sd"],
                "control": base["sd"],
            }[smd_denominator]
            raw = cell["mean"] - base["mean"]
            ones_a = np.ones_like(xa) if wa is None else wa
            ones_0 = np.ones_like(x0) if w0 is None else w0
            row |= {
                "mean_difference": raw,
                "smd": raw / denominator if denominator > 0 else math.nan,
                "smd_denominator": SMD_DENOMINATORS[smd_denominator],
                "variance_ratio": (
                    cell["sd"] ** 2 / base["sd"] ** 2 if base["sd"] > 0 else math.nan
                ),
                "ks_statistic": (
                    _weighted_ks(xa, ones_a, x0, ones_0) if xa.size and x0.size else math.nan
                ),
            }
            row |= _difference(
                observed,
                var,
                treatment,
                (arm, control),
                vcov=vcov,
                pvalues=pvalues,
                covariates=covariates,
                fixed_effects=fixed_effects,
                cluster=cluster,
                weights=weights,
                weights_kind=weights_kind,
            )
            rows.append(row)
        if total:
            everything = pd.Series(True, index=observed.index)
            x, w, c = _cell_data(observed, everything, var, weights, cluster)
            everyone = _cell(x, w, c, freq)
            rows.append({"variable": var, "arm": "total", "is_control": False, **everyone})
    return pd.DataFrame(rows)


def _cell_data(
    observed: pd.DataFrame, mask: pd.Series, var: str, weights: str | None, cluster: str | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    x = observed.loc[mask, var].to_numpy(dtype=float)
    w = None if weights is None else observed.loc[mask, weights].to_numpy(dtype=float)
    c = None if cluster is None else observed.loc[mask, cluster].to_numpy()
    return x, w, c


def _difference(
    observed: pd.DataFrame,
    var: str,
    treatment: str,
    pair_arms: tuple[Any, Any],
    *,
    vcov: str,
    pvalues: bool,
    **regression: Any,
) -> dict[str, Any]:
    """Regression difference between one arm and the control arm for one variable."""
    arm, control = pair_arms
    indicator = f"{treatment}=={arm}"
    pair = observed.loc[observed[treatment].isin([arm, control])]
    pair = pair.assign(**{indicator: (pair[treatment] == arm).astype(float)})
    fit = fit_model(pair, var, indicator, vcov=vcov, focal_role="arm indicator", **regression)
    estimate, se, df = fit.contrast({indicator: 1.0})
    out: dict[str, Any] = {"difference": estimate}
    if pvalues:
        out |= {
            "std_error": se,
            # A variable constant within the fixed effects has no difference to test (se 0).
            "pvalue": float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 else math.nan,
            "df": df,
            "vcov": vcov,
        }
    return out


def joint_orthogonality_test(
    data: pd.DataFrame,
    treatment: str,
    variables: Sequence[str],
    *,
    cluster: str | None = None,
    fixed_effects: Sequence[str] = (),
    covariates: Sequence[str] = (),
    weights: str | None = None,
    weights_kind: str = "analytic",
    missing: str = "complete",
    control: Any = None,
    vcov: str | None = None,
) -> pd.DataFrame:
    r"""Test whether the balance variables jointly predict assignment (iebaltab ``ftest``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        Arm column.
    variables : sequence of str
        Numeric balance variables.
    cluster : str, optional
        Cluster column for the clustered Wald test.
    fixed_effects : sequence of str, optional
        Fixed effects (e.g. strata) kept in the regression, not tested.
    covariates : sequence of str, optional
        Covariates kept in the regression, not tested.
    weights : str, optional
        Weight column.
    weights_kind : {"analytic", "sampling", "frequency"}, optional
        What the weights mean.
    missing : {"complete", "indicator"}, optional
        ``"complete"``: rows missing any variable are dropped (counted in
        ``n_dropped_missing``); ``"indicator"``: a missing value is set to 0 and flagged by an
        indicator ``<variable>_missing``, and the indicators are tested too.
    control : scalar, optional
        The control arm (as in :func:`balance_table`).
    vcov : str, optional
        ``"CR1"`` with a cluster (default), ``"HC1"`` without; any of the core's variances.

    Returns
    -------
    pandas.DataFrame
        One row per non-control arm: ``arm``, ``f_statistic``, ``df_num``, ``df_denom``,
        ``pvalue``, ``nobs``, ``n_clusters``, ``n_dropped_missing``, ``vcov``, ``missing``
        and ``tested`` (the tested columns).

    Raises
    ------
    ValueError
        Unknown ``missing``, or collinear balance variables.

    Notes
    -----
    For each arm ``a`` against the control arm, fits the linear probability model
    :math:`1[arm_i = a] = \alpha + x_i'\beta + Z_i'\gamma + \text{FE} + \varepsilon_i` and tests
    :math:`\beta = 0` with :math:`F = \hat\beta' \hat V^{-1} \hat\beta / q` on
    :math:`(q, G-1)` df when clustered, :math:`(q, N-K)` otherwise (:math:`\hat V` as in
    :func:`~evaluation.estimation.estimate_effect`).
    """
    if missing not in JOINT_MISSING:
        msg = f"missing must be one of {JOINT_MISSING}; got {missing!r}"
        raise ValueError(msg)
    variables = _check_variables(data, variables)
    others, control = _arms(data, treatment, control)
    vcov = vcov or ("CR1" if cluster else "HC1")
    frame, tested = data, list(variables)
    if missing == "indicator":
        fills, tested = {}, []
        for v in variables:
            tested.append(v)
            if data[v].isna().any():
                flag = f"{v}_missing"
                if flag in data.columns:
                    msg = f"cannot add missing indicator {flag!r}: the column already exists"
                    raise ValueError(msg)
                fills[v] = data[v].fillna(0.0)
                fills[flag] = data[v].isna().astype(float)
                tested.append(flag)
        frame = data.assign(**fills)
    rows = []
    for arm in others:
        outcome = f"{treatment}=={arm}"
        pair = frame.loc[frame[treatment].isin([arm, control])]
        pair = pair.assign(**{outcome: (pair[treatment] == arm).astype(float)})
        design = prepare_design(
            pair,
            outcome,
            tested[0],
            covariates=covariates,
            fixed_effects=fixed_effects,
            cluster=cluster,
            weights=weights,
            weights_kind=weights_kind,
            extra_regressors=tested[1:],
            focal_role="balance variable",
        )
        fit = fit_wls(design, vcov)
        f_stat, q, df2, p = fit.wald_test([{v: 1.0} for v in tested])
        rows.append(
            {
                "arm": arm,
                "control": control,
                "f_statistic": f_stat,
                "df_num": q,
                "df_denom": df2,
                "pvalue": p,
                "nobs": design.nobs,
                "n_clusters": design.n_clusters,
                "n_dropped_missing": design.n_dropped_missing,
                "vcov": vcov,
                "missing": missing,
                "tested": ", ".join(tested),
            }
        )
    return pd.DataFrame(rows)
