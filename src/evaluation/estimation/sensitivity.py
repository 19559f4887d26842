"""Sensitivity to unobserved selection: Oster (2019) coefficient stability and placebo tests.

Assignment in this evaluation is not random, so every main estimate is reported beside how much
selection on unobservables (relative to observables) would explain it away, and beside
"effects" on outcomes the project cannot have changed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from evaluation.estimation._design import prepare_design
from evaluation.estimation.effects import estimate_effect
from evaluation.estimation.results import EffectEstimates

__all__ = ["oster_bounds", "oster_delta", "placebo_tests"]


def oster_delta(
    beta: float,
    *,
    beta_short: float,
    r2_short: float,
    beta_long: float,
    r2_long: float,
    r_max: float,
    var_y: float,
    var_x: float,
    tau_x: float,
) -> float:
    r"""Return the degree of proportional selection that would make the true effect ``beta``.

    Parameters
    ----------
    beta : float
        Hypothesised true effect (0 for "explains the effect away").
    beta_short, r2_short : float
        Treatment coefficient and R-squared without the observed controls.
    beta_long, r2_long : float
        The same with the controls.
    r_max : float
        R-squared of a hypothetical regression on observed and unobserved controls.
    var_y, var_x : float
        Sample variances of the outcome and the treatment.
    tau_x : float
        Variance of the treatment's residual on the controls.

    Returns
    -------
    float
        :math:`\delta` (Oster 2019, Proposition 2; the closed form of ``psacalc``).

    Notes
    -----
    With :math:`b = \tilde\beta - \beta`, :math:`d = \mathring\beta - \tilde\beta`:
    :math:`\delta = [b(\tilde R - \mathring R)\sigma_y\tau_x + b\sigma_x\tau_x d^2 +
    2b^2\tau_x d\sigma_x + b^3(\tau_x\sigma_x - \tau_x^2)] / [(R_{max}-\tilde R)\sigma_y d
    \sigma_x + b(R_{max}-\tilde R)\sigma_y(\sigma_x - \tau_x) + b^2\tau_x d\sigma_x +
    b^3(\tau_x\sigma_x - \tau_x^2)]` with :math:`\sigma_y, \sigma_x` the variances.
    """
    b = beta_long - beta
    d = beta_short - beta_long
    num = (
        b * (r2_long - r2_short) * var_y * tau_x
        + b * var_x * tau_x * d**2
        + 2 * b**2 * tau_x * d * var_x
        + b**3 * (tau_x * var_x - tau_x**2)
    )
    den = (
        (r_max - r2_long) * var_y * d * var_x
        + b * (r_max - r2_long) * var_y * (var_x - tau_x)
        + b**2 * tau_x * d * var_x
        + b**3 * (tau_x * var_x - tau_x**2)
    )
    return float(num / den)


def _ols(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
    resid = y - X @ coef
    ybar = np.average(y, weights=w)
    r2 = 1 - np.sum(w * resid**2) / np.sum(w * (y - ybar) ** 2)
    return coef, float(r2), resid


def oster_bounds(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    controls: Sequence[str],
    *,
    short_controls: Sequence[str] = (),
    r_max: float | None = None,
    r_max_factor: float = 1.3,
    delta: float = 1.0,
    weights: str | None = None,
) -> pd.DataFrame:
    r"""Oster (2019) coefficient-stability bounds and the :math:`\delta` that explains away.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    outcome : str
        Outcome column.
    treatment : str
        Treatment column.
    controls : sequence of str
        Observed controls (names or formula terms) added in the long regression.
    short_controls : sequence of str, optional
        Controls in both regressions (e.g. strata), not counted as informative observables.
    r_max : float, optional
        R-squared of the hypothetical full regression; default ``min(r_max_factor *
        R2_long, 1)`` (Oster's 1.3 rule).
    r_max_factor : float, optional
        Multiplier of the default ``r_max``.
    delta : float, optional
        Proportional selection for :math:`\beta^*` (1: unobservables as important as the
        observables).
    weights : str, optional
        Analytic weights for the regressions.

    Returns
    -------
    pandas.DataFrame
        One row: ``beta_short``, ``r2_short``, ``beta_long``, ``r2_long``, ``r_max``,
        ``delta``, ``beta_star`` (exact, the root of :func:`oster_delta` closest to
        ``beta_long``), ``beta_star_approx``, ``delta_for_zero`` (exact),
        ``delta_for_zero_approx``, the identified set ``set_lower``/``set_upper`` between
        ``beta_star`` and ``beta_long``, ``excludes_zero`` and ``nobs``.

    Raises
    ------
    ValueError
        ``r_max`` not above the long R-squared, or no controls.

    Notes
    -----
    Approximations (Oster 2019, eq. 3 and below): :math:`\beta^* \approx \tilde\beta -
    \delta(\mathring\beta - \tilde\beta)(R_{max} - \tilde R)/(\tilde R - \mathring R)` and
    :math:`\delta \approx \tilde\beta(\tilde R - \mathring R)/((\mathring\beta -
    \tilde\beta)(R_{max} - \tilde R))`. Exact: :func:`oster_delta` (Proposition 2) and its
    inverse. Both regressions use the same rows (complete on every control).
    """
    controls = list(controls)
    if not controls:
        msg = "oster_bounds needs the observed controls of the long regression"
        raise ValueError(msg)
    long = prepare_design(
        data, outcome, treatment, covariates=[*short_controls, *controls], weights=weights
    )
    frame = data.loc[long.index]
    short = prepare_design(
        frame, outcome, treatment, covariates=list(short_controls), weights=weights
    )
    w = np.ones(long.nobs) if long.weights is None else long.weights
    y = long.y_raw
    b_long, r2_long, _ = _ols(y, long.X_raw, w)
    b_short, r2_short, _ = _ols(short.y_raw, short.X_raw, w)
    x = long.X_raw[:, 0]
    _, _, x_resid = _ols(x, long.X_raw[:, 1:], w)
    var_y = float(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
    var_x = float(np.average((x - np.average(x, weights=w)) ** 2, weights=w))
    tau_x = float(np.average(x_resid**2, weights=w))
    r_max = min(r_max_factor * r2_long, 1.0) if r_max is None else float(r_max)
    if r_max <= r2_long:
        msg = f"r_max ({r_max:.4g}) must exceed the long regression's R-squared ({r2_long:.4g})"
        raise ValueError(msg)
    bs, bl = float(b_short[0]), float(b_long[0])
    stats = {
        "beta_short": bs,
        "r2_short": r2_short,
        "beta_long": bl,
        "r2_long": r2_long,
        "r_max": r_max,
        "var_y": var_y,
        "var_x": var_x,
        "tau_x": tau_x,
    }
    common = {k: stats[k] for k in ("beta_short", "r2_short", "beta_long", "r2_long", "r_max")}
    common |= {"var_y": var_y, "var_x": var_x, "tau_x": tau_x}
    gap = r2_long - r2_short
    beta_star_approx = bl - delta * (bs - bl) * (r_max - r2_long) / gap if gap else math.nan
    delta_zero_approx = bl * gap / ((bs - bl) * (r_max - r2_long)) if bs != bl else math.inf
    beta_star = _beta_star(delta, bl, common)
    lower, upper = sorted([beta_star, bl])
    return pd.DataFrame(
        [
            {
                "outcome": outcome,
                **{k: stats[k] for k in ("beta_short", "r2_short", "beta_long", "r2_long")},
                "r_max": r_max,
                "delta": delta,
                "beta_star": beta_star,
                "beta_star_approx": beta_star_approx,
                "delta_for_zero": oster_delta(0.0, **common),
                "delta_for_zero_approx": delta_zero_approx,
                "set_lower": lower,
                "set_upper": upper,
                "excludes_zero": bool(lower > 0 or upper < 0),
                "nobs": long.nobs,
            }
        ]
    )


def _beta_star(delta: float, beta_long: float, common: dict[str, Any]) -> float:
    """Root of ``oster_delta(beta) = delta`` closest to ``beta_long`` (NaN if none)."""
    scale = max(abs(beta_long), abs(common["beta_short"] - beta_long), 1e-8)
    grid = beta_long + scale * np.concatenate(
        [-np.logspace(-6, 3, 400)[::-1], [0.0], np.logspace(-6, 3, 400)]
    )

    def gap(b: float) -> float:
        return oster_delta(b, **common) - delta

    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.array([gap(b) for b in grid])
    roots = []
    for i in range(grid.size - 1):
        a, c = values[i], values[i + 1]
        if np.isfinite(a) and np.isfinite(c) and a * c < 0:
            # skip sign changes across a pole (the denominator crossing zero)
            root = optimize.brentq(gap, grid[i], grid[i + 1])
            if abs(gap(root)) < 1e-6 * max(1.0, abs(delta)):
                roots.append(root)
    if not roots:
        return math.nan
    return float(min(roots, key=lambda r: abs(r - beta_long)))


def placebo_tests(
    data: pd.DataFrame,
    outcomes: Sequence[str],
    treatment: str,
    *,
    label: str = "placebo",
    **kw: Any,
) -> EffectEstimates:
    """Estimate "effects" on outcomes the treatment cannot have changed.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis frame.
    outcomes : sequence of str
        Placebo outcomes: baseline values of the outcomes (measured before treatment), or
        outcomes the project cannot affect.
    treatment : str
        Treatment column.
    label : str, optional
        ``family`` and ``specification`` of the estimates, for tables and multiple testing.
    **kw : Any
        Passed to :func:`~evaluation.estimation.estimate_effect` (``covariates``,
        ``cluster``, ``weights``, ``vcov``...): use the main specification.

    Returns
    -------
    EffectEstimates
        One estimate per placebo outcome (``estimator="placebo"``); significant placebo
        effects signal selection the specification does not remove.

    Notes
    -----
    Same equation and variance as :func:`~evaluation.estimation.estimate_effect`.
    """
    out = []
    for outcome in outcomes:
        est = estimate_effect(data, outcome, treatment, **kw)
        out.append(est.replace(estimator="placebo", family=label, specification=label))
    return EffectEstimates(tuple(out))
