"""Attrition diagnostics, inverse-probability-of-attrition weights, Lee and Manski bounds.

Attrition here means any reason an outcome is not observed for a unit of the baseline sample:
the respondent left the panel, or (for wages) is not employed. ``observed`` is the 0/1 column
that says whether the outcome is observed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaluation.estimation._design import prepare_design
from evaluation.estimation._moments import check_columns, cluster_codes
from evaluation.estimation.balance import balance_table
from evaluation.estimation.covariance import fit_wls
from evaluation.estimation.propensity import SeparationError, fit_propensity, require_binary

__all__ = [
    "LeeBounds",
    "MonotonicityWarning",
    "attrition_rates",
    "attrition_weights",
    "differential_attrition",
    "imbens_manski_interval",
    "lee_bounds",
    "lee_bounds_table",
    "manski_bounds",
    "stayer_balance",
]

TRIMMING = ("quantile", "order", "fractional")


class MonotonicityWarning(UserWarning):
    """Lee bounds: the observation rates order the arms differently across cells or draws."""


def attrition_rates(
    data: pd.DataFrame,
    treatment: str,
    observed: str,
    *,
    cluster: str | None = None,
    weights: str | None = None,
) -> pd.DataFrame:
    """Tabulate attrition by arm and, with ``cluster``, by cluster within arm.

    Parameters
    ----------
    data : pandas.DataFrame
        The baseline sample, one row per unit.
    treatment : str
        0/1 treatment column.
    observed : str
        0/1 column: 1 when the unit's outcome is observed (a stayer).
    cluster : str, optional
        Cluster column (adds one row per cluster).
    weights : str, optional
        Survey weights for the rates.

    Returns
    -------
    pandas.DataFrame
        Rows with ``level`` (``"arm"``, ``"difference"`` or ``"cluster"``), ``arm``,
        ``cluster``, ``n``, ``n_attrited``, ``attrition_rate`` (weighted when weighted).

    Notes
    -----
    Unit: baseline unit; no key needed. The ``difference`` row is treated minus control.
    """
    check_columns(data, treatment=treatment, observed=observed, cluster=cluster, weights=weights)
    require_binary(data, treatment)
    require_binary(data, observed, "observed")
    frame = data.loc[data[[treatment, observed]].notna().all(axis=1)]
    s = frame[weights].to_numpy(float) if weights else np.ones(len(frame))
    lost = 1.0 - frame[observed].to_numpy(float)
    t = frame[treatment].to_numpy(float)
    rows = []
    rates = {}
    for arm in (0, 1):
        mask = t == arm
        rates[arm] = float(np.average(lost[mask], weights=s[mask]))
        rows.append(
            {
                "level": "arm",
                "arm": arm,
                "cluster": None,
                "n": int(mask.sum()),
                "n_attrited": int(lost[mask].sum()),
                "attrition_rate": rates[arm],
            }
        )
    rows.append(
        {
            "level": "difference",
            "arm": None,
            "cluster": None,
            "n": len(frame),
            "n_attrited": int(lost.sum()),
            "attrition_rate": rates[1] - rates[0],
        }
    )
    if cluster is not None:
        keys = frame[cluster].to_numpy()
        groups = pd.Series(range(len(frame))).groupby([keys, t]).groups
        for (c, arm), members in groups.items():
            idx = np.asarray(list(members))
            rows.append(
                {
                    "level": "cluster",
                    "arm": int(arm),
                    "cluster": c,
                    "n": int(idx.size),
                    "n_attrited": int(lost[idx].sum()),
                    "attrition_rate": float(np.average(lost[idx], weights=s[idx])),
                }
            )
    return pd.DataFrame(rows)


def differential_attrition(
    data: pd.DataFrame,
    treatment: str,
    observed: str,
    covariates: Sequence[str],
    *,
    cluster: str | None = None,
    weights: str | None = None,
    vcov: str | None = None,
) -> pd.DataFrame:
    r"""Test for differential attrition: arm, arm x baseline covariates, joint tests.

    Parameters
    ----------
    data : pandas.DataFrame
        Baseline sample, one row per unit.
    treatment : str
        0/1 treatment column.
    observed : str
        0/1 column, 1 for stayers.
    covariates : sequence of str
        Numeric baseline covariates (centred at their sample mean before interacting).
    cluster : str, optional
        Cluster column; clustered variance (``CR1``) when given.
    weights : str, optional
        Survey weights (``weights_kind="sampling"``).
    vcov : str, optional
        Variance estimator; ``"CR1"`` with a cluster, ``"HC1"`` otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per coefficient (``term``, ``estimate``, ``std_error``, ``pvalue``) then two
        test rows: ``joint: arm and interactions`` (does attrition depend on the arm at all)
        and ``joint: interactions`` (does the arm change who attrits), with ``f_statistic``,
        ``df_num``, ``df_denom``, ``pvalue``; ``nobs`` and ``n_clusters`` on every row.

    Notes
    -----
    Linear probability model :math:`A_i = \alpha + \delta T_i + x_i'\beta + T_i (x_i -
    \bar x)'\gamma + \varepsilon_i` with :math:`A_i = 1 - observed_i`; Wald F tests of
    :math:`\delta = \gamma = 0` and :math:`\gamma = 0` on the variance's df (G - 1 clustered).
    """
    check_columns(data, treatment=treatment, observed=observed)
    require_binary(data, treatment)
    require_binary(data, observed, "observed")
    covariates = list(covariates)
    used = [treatment, observed, *covariates]
    frame = data.loc[data[used].notna().all(axis=1)]
    centred = frame[covariates] - frame[covariates].mean()
    inter = {f"{treatment}:{c}": frame[treatment] * centred[c] for c in covariates}
    clash = [c for c in [*inter, "attrited"] if c in frame.columns]
    if clash:
        msg = f"cannot add columns {clash}: names already in the data"
        raise ValueError(msg)
    frame = frame.assign(attrited=1.0 - frame[observed], **inter)
    vcov = vcov or ("CR1" if cluster else "HC1")
    design = prepare_design(
        frame,
        "attrited",
        treatment,
        covariates=covariates,
        extra_regressors=list(inter),
        cluster=cluster,
        weights=weights,
        weights_kind="sampling",
    )
    fit = fit_wls(design, vcov)
    rows = []
    for term in fit.params.index:
        est, se, df = fit.contrast({term: 1.0})
        rows.append(
            {
                "term": term,
                "estimate": est,
                "std_error": se,
                "pvalue": float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else math.nan,
                "df": df,
            }
        )
    tests = {
        "joint: arm and interactions": [treatment, *inter],
        "joint: interactions": list(inter),
    }
    for label, terms in tests.items():
        if not terms:
            continue
        f_stat, q, df2, p = fit.wald_test([{name: 1.0} for name in terms])
        rows.append(
            {"term": label, "f_statistic": f_stat, "df_num": q, "df_denom": df2, "pvalue": p}
        )
    out = pd.DataFrame(rows)
    return out.assign(nobs=design.nobs, n_clusters=design.n_clusters, vcov=vcov)


def stayer_balance(
    data: pd.DataFrame,
    treatment: str,
    observed: str,
    variables: Sequence[str],
    **kw: object,
) -> pd.DataFrame:
    """Baseline balance in the full baseline sample and among stayers.

    Parameters
    ----------
    data : pandas.DataFrame
        Baseline sample, one row per unit.
    treatment : str
        Treatment column.
    observed : str
        0/1 column, 1 for stayers.
    variables : sequence of str
        Baseline variables.
    **kw : object
        Passed to :func:`~evaluation.estimation.balance_table` (``cluster``, ``weights``...).

    Returns
    -------
    pandas.DataFrame
        The balance table rows with ``sample`` = ``"baseline"`` or ``"stayers"``.

    Notes
    -----
    Unit: baseline unit. Attrition that unbalances the stayers threatens internal validity.
    """
    check_columns(data, observed=observed)
    require_binary(data, observed, "observed")
    full = balance_table(data, treatment, variables, **kw)
    stayers = balance_table(data.loc[data[observed] == 1], treatment, variables, **kw)
    return pd.concat(
        [full.assign(sample="baseline"), stayers.assign(sample="stayers")], ignore_index=True
    )


def attrition_weights(
    data: pd.DataFrame,
    observed: str,
    covariates: Sequence[str] | str,
    *,
    treatment: str | None = None,
    weights: str | None = None,
    stabilized: bool = False,
) -> pd.Series:
    r"""Inverse-probability-of-attrition weights (IPAW) for the stayers.

    Parameters
    ----------
    data : pandas.DataFrame
        Baseline sample, one row per unit.
    observed : str
        0/1 column, 1 for stayers.
    covariates : sequence of str or str
        Baseline predictors of staying (names, terms or a right-hand side formula).
    treatment : str, optional
        Fit the response model separately in each arm (recommended).
    weights : str, optional
        Survey weights: weight the logit and multiply the result.
    stabilized : bool, optional
        Multiply by the (arm's) overall response rate, so weights average about one.

    Returns
    -------
    pandas.Series
        Weight :math:`s_i / \hat P(observed_i = 1 \mid x_i)` for stayers and 0 for attriters,
        indexed like the rows used (rows with missing predictors are left out).

    Warns
    -----
    UserWarning
        An arm without attriters: its stayers get weight 1 (times survey weights).

    Notes
    -----
    Logit :math:`P(R = 1 \mid x)` fitted per arm (or pooled); stayers are weighted by its
    inverse. Use the result as ``weights`` (``weights_kind="sampling"``) in the effect
    regressions; SEs are then conditional on the estimated weights.
    """
    check_columns(data, observed=observed, treatment=treatment)
    require_binary(data, observed, "observed")
    groups = [(None, data)]
    if treatment is not None:
        require_binary(data, treatment)
        groups = [(arm, data.loc[data[treatment] == arm]) for arm in (0, 1)]
    parts = []
    for arm, frame in groups:
        r = frame[observed]
        if (r.dropna() == 1).all():
            message = (
                f"no attriters in {'the sample' if arm is None else f'arm {arm}'}: "
                "its stayers get attrition weight 1"
            )
            warnings.warn(message, UserWarning, stacklevel=2)
            s = frame[weights].astype(float) if weights else pd.Series(1.0, index=frame.index)
            parts.append(s.loc[r.notna()])
            continue
        try:
            fit = fit_propensity(frame, observed, covariates, weights=weights)
        except SeparationError as err:
            where = "the sample" if arm is None else f"arm {arm}"
            msg = f"response model for {where}: {err}"
            raise SeparationError(msg) from err
        p = fit.score
        r = frame.loc[p.index, observed].to_numpy(float)
        s = frame.loc[p.index, weights].to_numpy(float) if weights else np.ones(len(p))
        w = np.where(r == 1, s / p.to_numpy(), 0.0)
        if stabilized:
            w = w * np.average(r, weights=s)
        parts.append(pd.Series(w, index=p.index))
    return pd.concat(parts).sort_index().rename("attrition_weight")


def imbens_manski_interval(
    lower: float, upper: float, se_lower: float, se_upper: float, level: float = 0.95
) -> tuple[float, float]:
    r"""Return the Imbens-Manski (2004) confidence interval for a partially identified parameter.

    Parameters
    ----------
    lower, upper : float
        Estimated bounds.
    se_lower, se_upper : float
        Their standard errors.
    level : float, optional
        Coverage for the parameter (not the identified set).

    Returns
    -------
    tuple of float
        :math:`[\hat\theta_l - C\hat\sigma_l,\ \hat\theta_u + C\hat\sigma_u]`.

    Notes
    -----
    :math:`C` solves :math:`\Phi(C + \hat\Delta/\max(\hat\sigma_l, \hat\sigma_u)) - \Phi(-C) =
    level` with :math:`\hat\Delta = \hat\theta_u - \hat\theta_l` (Imbens & Manski 2004,
    eq. 6); :math:`C` lies between the one-sided (1.645) and two-sided (1.96) normal
    quantiles at 95%.
    """
    width = max(upper - lower, 0.0)
    scale = max(se_lower, se_upper)

    def _gap(c: float) -> float:
        return stats.norm.cdf(c + width / scale) - stats.norm.cdf(-c) - level

    c = optimize.brentq(_gap, 0.0, float(stats.norm.ppf(0.5 + level / 2)) + 1e-9)
    return lower - c * se_lower, upper + c * se_upper


@dataclass(frozen=True)
class LeeBounds:
    """Lee (2009) bounds on the effect for the always-observed, with their uncertainty.

    Attributes
    ----------
    outcome : str
        Outcome column.
    lower, upper : float
        Estimated bounds.
    trimming_share : float
        :math:`p = (q_{hi} - q_{lo})/q_{hi}` of the arm with the higher observation rate.
    trimmed_arm : int
        The arm trimmed (1 treated, 0 control).
    observed_treated, observed_control : float
        Observation rates :math:`q_1, q_0`.
    naive : float
        Difference in means among observed units.
    trimming : str
        ``"quantile"``, ``"order"`` or ``"fractional"``.
    se_lower, se_upper : float
        Bootstrap standard errors (NaN without bootstrap).
    ci_lower, ci_upper : float
        ``[lower - z se_lower, upper + z se_upper]`` (covers the identified set).
    im_lower, im_upper : float
        Imbens-Manski interval (covers the parameter).
    level : float
        Confidence level.
    nobs : int
        Rows used.
    n_clusters : int or None
        Clusters resampled by the bootstrap.
    n_boot : int
        Bootstrap draws.
    tightened_by : tuple of str
        Cell variables of the tightened bounds.
    cells : pandas.DataFrame or None
        Per-cell rates, trimming shares and bounds (tightened bounds only).
    notes : tuple of str
        Conventions and anything dropped or changed.
    """

    outcome: str
    lower: float
    upper: float
    trimming_share: float
    trimmed_arm: int
    observed_treated: float
    observed_control: float
    naive: float
    trimming: str
    se_lower: float = math.nan
    se_upper: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    im_lower: float = math.nan
    im_upper: float = math.nan
    level: float = 0.95
    nobs: int = 0
    n_clusters: int | None = None
    n_boot: int = 0
    tightened_by: tuple[str, ...] = ()
    cells: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return the bounds as a one-row tidy frame.

        Returns
        -------
        pandas.DataFrame
            Every field but ``cells``; ``notes`` joined by semicolons.
        """
        row = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in {"cells", "notes", "tightened_by"}
        }
        row["tightened_by"] = ", ".join(self.tightened_by)
        row["notes"] = "; ".join(self.notes)
        return pd.DataFrame([row])


def _order_statistic(values: np.ndarray, cum: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Return the ``k``-th (0-based) smallest of the multiset ``values`` (cumulative ``cum``)."""
    return values[np.searchsorted(cum, k, side="right")]


def _kept_mean(values: np.ndarray, mass: np.ndarray, keep: float) -> float:
    """Mean of the first ``keep`` units of mass of sorted ``values`` (boundary split)."""
    cum = np.cumsum(mass)
    part = np.clip(keep - (cum - mass), 0.0, mass)
    return float(np.sum(part * values) / keep)


def _trimmed_means(
    values: np.ndarray, count: np.ndarray, mass: np.ndarray, p: float, trimming: str
) -> tuple[float, float]:
    """Means after trimming a share ``p`` from above (low) and from below (high).

    ``values`` are sorted; ``count`` is each value's multiplicity (1, or bootstrap counts)
    and ``mass`` its survey-weighted multiplicity (``fractional`` only).
    """
    if p <= 0:
        mean = float(np.sum(mass * values) / mass.sum())
        return mean, mean
    if trimming == "fractional":
        keep = (1 - p) * mass.sum()
        return _kept_mean(values, mass, keep), _kept_mean(values[::-1], mass[::-1], keep)
    m = int(count.sum())
    if trimming == "order":
        keep = m - math.floor(p * m)
        return _kept_mean(values, count, keep), _kept_mean(values[::-1], count[::-1], keep)
    cum = np.cumsum(count)
    quantiles = []
    for q in (1 - p, p):  # type-7 quantile of the expanded sample
        h = (m - 1) * q
        k = np.array([math.floor(h), math.ceil(h)])
        lo, hi = _order_statistic(values, cum, k)
        quantiles.append(lo + (h - k[0]) * (hi - lo))
    below = values <= quantiles[0]
    above = values >= quantiles[1]
    return (
        float(np.sum(count[below] * values[below]) / count[below].sum()),
        float(np.sum(count[above] * values[above]) / count[above].sum()),
    )


@dataclass(frozen=True)
class _LeeData:
    """One outcome's arrays with the observed rows of each cell and arm sorted by outcome."""

    y: np.ndarray
    t: np.ndarray
    r: np.ndarray
    s: np.ndarray
    cells: np.ndarray
    n_cells: int
    sorted_rows: dict


def _lee_data(y, t, r, s, cells) -> _LeeData:
    n_cells = int(cells.max()) + 1 if cells.size else 1
    observed = r == 1
    sorted_rows = {}
    for c in range(n_cells):
        for arm in (0, 1):
            rows = np.nonzero((cells == c) & (t == arm) & observed)[0]
            sorted_rows[c, arm] = rows[np.argsort(y[rows], kind="stable")]
    return _LeeData(y, t, r, s, cells, n_cells, sorted_rows)


def _lee_point(d: _LeeData, counts: np.ndarray, *, trimming: str) -> dict:
    """Compute basic (one cell) or tightened Lee bounds; ``counts`` are row multiplicities."""
    cs = counts * d.s
    seen = {
        arm: np.bincount(d.cells[d.t == arm], weights=(cs * d.r)[d.t == arm], minlength=d.n_cells)
        for arm in (0, 1)
    }
    total = {
        arm: np.bincount(d.cells[d.t == arm], weights=cs[d.t == arm], minlength=d.n_cells)
        for arm in (0, 1)
    }
    q = {arm: float(seen[arm].sum() / total[arm].sum()) for arm in (0, 1)}
    hi = 1 if q[1] >= q[0] else 0
    lo = 1 - hi
    share = (q[hi] - q[lo]) / q[hi]
    means = {}
    for arm in (0, 1):
        rows = np.concatenate([d.sorted_rows[c, arm] for c in range(d.n_cells)])
        means[arm] = float(np.sum(cs[rows] * d.y[rows]) / cs[rows].sum())
    naive = means[1] - means[0]
    qc = {arm: seen[arm] / total[arm] for arm in (0, 1)}
    other_total = seen[lo].sum()
    lower_mean = upper_mean = other_mean = 0.0
    violated = 0
    rows_out = []
    for c in range(d.n_cells):
        trimmed = d.sorted_rows[c, hi]
        other = d.sorted_rows[c, lo]
        pc = (qc[hi][c] - qc[lo][c]) / qc[hi][c]
        if pc < 0:
            violated += 1
            pc = 0.0
        low_c, high_c = _trimmed_means(d.y[trimmed], counts[trimmed], cs[trimmed], pc, trimming)
        weight = seen[lo][c] / other_total
        other_c = float(np.sum(cs[other] * d.y[other]) / seen[lo][c])
        lower_mean += weight * low_c
        upper_mean += weight * high_c
        other_mean += weight * other_c
        rows_out.append(
            {
                "cell": c,
                "observed_treated": float(qc[1][c]),
                "observed_control": float(qc[0][c]),
                "trimming_share": pc,
                "weight": float(weight),
                "trimmed_low_mean": low_c,
                "trimmed_high_mean": high_c,
                "other_mean": other_c,
            }
        )
    if hi == 1:
        lower, upper = lower_mean - other_mean, upper_mean - other_mean
    else:
        lower, upper = other_mean - upper_mean, other_mean - lower_mean
    return {
        "lower": lower,
        "upper": upper,
        "share": share,
        "direction": hi,
        "q1": q[1],
        "q0": q[0],
        "naive": naive,
        "violated": violated,
        "rows": rows_out,
    }


def lee_bounds(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    observed: str,
    *,
    tighten_by: Sequence[str] | str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    trimming: str = "quantile",
    n_boot: int = 0,
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> LeeBounds:
    r"""Estimate Lee (2009) bounds on the effect for units observed in either arm.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit of the baseline sample; never modified.
    outcome : str
        Outcome column, used where ``observed == 1`` (must be finite there).
    treatment : str
        0/1 treatment column.
    observed : str
        0/1 column: 1 when the outcome is observed (employed, re-interviewed).
    tighten_by : sequence of str or str, optional
        Discrete baseline covariates whose cells tighten the bounds (Lee 2009, section 4).
    cluster : str, optional
        Resample whole clusters in the bootstrap.
    weights : str, optional
        Survey weights (require ``trimming="fractional"``).
    trimming : {"quantile", "order", "fractional"}, optional
        ``"quantile"`` (default): keep :math:`y \le Q(1-p)` (lower) and :math:`y \ge Q(p)`
        (upper), :math:`Q` the linearly interpolated quantile (numpy's default, R type 7), ties
        at the quantile kept, as Semenova's ``basic_lee_bound``; ``"order"``: drop the
        :math:`\lfloor p m \rfloor` largest (smallest) of the :math:`m` observed values;
        ``"fractional"``: keep exactly a share :math:`1-p` of the (weighted) mass, splitting the
        boundary unit.
    n_boot : int, optional
        (Cluster) bootstrap draws for the standard errors and intervals; 0 for none.
    level : float, optional
        Confidence level.
    seed : int or numpy.random.Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    LeeBounds
        Bounds, trimming share, rates, naive difference, bootstrap SEs, the interval for the
        identified set and the Imbens-Manski interval.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Non-binary treatment or observed column, an arm (or cell) with no observed outcome,
        non-finite observed outcomes, or weights without fractional trimming.

    Warns
    -----
    MonotonicityWarning
        Cells whose observation rates are ordered against the overall order (trimming share
        set to 0 there), or bootstrap draws that flip the overall order.

    Notes
    -----
    With observation rates :math:`q_1, q_0` and :math:`q_1 \ge q_0` (monotonicity: treatment
    never prevents observation), the treated observed outcomes are trimmed by the share
    :math:`p = (q_1 - q_0)/q_1`: lower bound :math:`E[y \mid T=1, obs, y \le y_{1-p}] -
    E[y \mid T=0, obs]`, upper bound with :math:`y \ge y_p`. If :math:`q_0 > q_1` the control
    arm is trimmed and the roles swap. Tightened: the same within each cell :math:`x` of
    ``tighten_by``, averaged with the distribution of :math:`x` among observed units of the
    untrimmed arm (Lee 2009, Proposition 3); the direction is the overall one.

    Bootstrap: rows (or clusters) resampled ``n_boot`` times, the direction re-estimated in
    every draw; SEs are the SDs of the draws; the set interval is
    :math:`[\hat l - z\,se_l,\ \hat u + z\,se_u]`; the Imbens-Manski interval is in
    :func:`imbens_manski_interval`.
    """
    results = lee_bounds_table(
        data,
        [outcome],
        treatment,
        observed,
        tighten_by=tighten_by,
        cluster=cluster,
        weights=weights,
        trimming=trimming,
        n_boot=n_boot,
        level=level,
        seed=seed,
    )
    return results[0]


def _lee_inputs(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    observed: str,
    *,
    tighten: list[str],
    cluster: str | None,
    weights: str | None,
) -> tuple[np.ndarray, ...]:
    frame = data
    needed = [treatment, observed, *tighten] + [c for c in (cluster, weights) if c]
    frame = frame.loc[frame[needed].notna().all(axis=1)]
    r = frame[observed].to_numpy(float)
    y = frame[outcome].to_numpy(float)
    bad = (r == 1) & ~np.isfinite(y)
    if bad.any():
        msg = (
            f"outcome {outcome!r} is missing or infinite for {int(bad.sum())} rows with "
            f"{observed!r} = 1; fix the outcome or the observed indicator"
        )
        raise ValueError(msg)
    t = frame[treatment].to_numpy(float)
    for arm, label in ((1, "treated"), (0, "control")):
        if not np.any((t == arm) & (r == 1)):
            msg = (
                f"no {label} unit has {observed!r} = 1 (every {label} unit attrited): the "
                "bounds are not identified"
            )
            raise ValueError(msg)
    s = frame[weights].to_numpy(float) if weights else np.ones(len(frame))
    cells = (
        pd.MultiIndex.from_frame(frame[tighten]).factorize()[0]
        if tighten
        else np.zeros(len(frame), dtype=np.intp)
    )
    clusters = cluster_codes(frame, cluster)
    return y, t, r, s, np.asarray(cells, dtype=np.intp), clusters


def lee_bounds_table(
    data: pd.DataFrame,
    outcomes: Sequence[str],
    treatment: str,
    observed: str,
    *,
    tighten_by: Sequence[str] | str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    trimming: str = "quantile",
    n_boot: int = 0,
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> tuple[LeeBounds, ...]:
    """Lee bounds for several outcomes sharing one selection indicator and bootstrap draws.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    outcomes : sequence of str
        Outcome columns.
    treatment : str
        0/1 treatment column.
    observed : str
        0/1 column, 1 when the outcomes are observed.
    tighten_by : sequence of str or str, optional
        Cell variables.
    cluster : str, optional
        Bootstrap cluster column.
    weights : str, optional
        Survey weights (``trimming="fractional"``).
    trimming : str, optional
        Trimming convention (see :func:`lee_bounds`).
    n_boot : int, optional
        Bootstrap draws, shared across outcomes.
    level : float, optional
        Confidence level.
    seed : int or numpy.random.Generator, optional
        Seed.

    Returns
    -------
    tuple of LeeBounds
        One per outcome, in order.

    Notes
    -----
    Each outcome follows :func:`lee_bounds`; the same resampled rows serve every outcome.
    """
    if trimming not in TRIMMING:
        msg = f"trimming must be one of {TRIMMING}; got {trimming!r}"
        raise ValueError(msg)
    if weights is not None and trimming != "fractional":
        msg = "survey weights need trimming='fractional' (weighted quantiles are ambiguous)"
        raise ValueError(msg)
    tighten = [tighten_by] if isinstance(tighten_by, str) else list(tighten_by or [])
    check_columns(data, treatment=treatment, observed=observed, cluster=cluster, weights=weights)
    for column in [*outcomes, *tighten]:
        check_columns(data, variable=column)
    require_binary(data, treatment)
    require_binary(data, observed, "observed")
    rng = np.random.default_rng(seed)
    base = data.loc[data[[treatment, observed]].notna().all(axis=1)]
    first = _lee_inputs(
        base, outcomes[0], treatment, observed, tighten=tighten, cluster=cluster, weights=weights
    )
    clusters = first[5]
    n = first[0].shape[0]
    counts = _bootstrap_counts(n, clusters, n_boot, rng) if n_boot else None
    z = float(stats.norm.ppf(0.5 + level / 2))
    out = []
    for outcome in outcomes:
        y, t, r, s, cells, _ = _lee_inputs(
            base, outcome, treatment, observed, tighten=tighten, cluster=cluster, weights=weights
        )
        data_ = _lee_data(y, t, r, s, cells)
        point = _lee_point(data_, np.ones(y.shape[0]), trimming=trimming)
        notes = [
            f"trimming: {trimming}"
            + (
                " (y <= Q(1-p) and y >= Q(p), type-7 quantiles, ties kept)"
                if trimming == "quantile"
                else ""
            )
        ]
        if point["violated"]:
            message = (
                f"{outcome!r}: monotonicity fails in {point['violated']} of "
                f"{len(point['rows'])} cells (the other arm is observed more often there); "
                "their trimming share is set to 0"
            )
            warnings.warn(message, MonotonicityWarning, stacklevel=3)
            notes.append(message)
        se_l = se_u = ci_l = ci_u = im_l = im_u = math.nan
        if n_boot:
            with np.errstate(divide="ignore", invalid="ignore"):
                lower_b, upper_b, direction_b = _lee_draws(data_, counts, trimming)
            bounds = np.column_stack([lower_b, upper_b])
            flips = int(np.sum(direction_b != point["direction"]))
            good = np.isfinite(bounds).all(axis=1)
            se_l, se_u = (float(v) for v in np.std(bounds[good], axis=0, ddof=1))
            ci_l, ci_u = point["lower"] - z * se_l, point["upper"] + z * se_u
            im_l, im_u = imbens_manski_interval(point["lower"], point["upper"], se_l, se_u, level)
            what = "cluster" if cluster else "row"
            notes.append(
                f"{what} bootstrap, {n_boot} draws ({int((~good).sum())} failed); direction "
                f"re-estimated per draw ({flips} flipped)"
            )
            if flips:
                warnings.warn(
                    f"{outcome!r}: the trimmed arm changes in {flips} of {n_boot} bootstrap "
                    "draws: the observation rates are close, bounds are fragile",
                    MonotonicityWarning,
                    stacklevel=3,
                )
        out.append(
            LeeBounds(
                outcome=outcome,
                lower=point["lower"],
                upper=point["upper"],
                trimming_share=point["share"],
                trimmed_arm=point["direction"],
                observed_treated=point["q1"],
                observed_control=point["q0"],
                naive=point["naive"],
                trimming=trimming,
                se_lower=se_l,
                se_upper=se_u,
                ci_lower=ci_l,
                ci_upper=ci_u,
                im_lower=im_l,
                im_upper=im_u,
                level=level,
                nobs=int(y.shape[0]),
                n_clusters=None if clusters is None else int(clusters.max()) + 1,
                n_boot=n_boot,
                tightened_by=tuple(tighten),
                cells=pd.DataFrame(point["rows"]) if tighten else None,
                notes=tuple(notes),
            )
        )
    return tuple(out)


def _bootstrap_counts(
    n: int, clusters: np.ndarray | None, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Row multiplicities ``(n, n_boot)`` of each draw: rows, or whole clusters, resampled."""
    if clusters is None:
        return np.column_stack(
            [np.bincount(rng.integers(0, n, size=n), minlength=n) for _ in range(n_boot)]
        ).astype(float)
    n_clusters = int(clusters.max()) + 1
    drawn = np.column_stack(
        [
            np.bincount(rng.integers(0, n_clusters, size=n_clusters), minlength=n_clusters)
            for _ in range(n_boot)
        ]
    ).astype(float)
    return drawn[clusters]


def _cumsum_rows(x: np.ndarray) -> np.ndarray:
    """Return ``numpy.cumsum(x, axis=0)`` for ``(m, B)`` arrays, row by row.

    numpy's cumulative sum along the first axis of a C-ordered array is several times slower
    than adding whole rows in turn.
    """
    out = np.array(x, dtype=float)
    for i in range(1, out.shape[0]):
        np.add(out[i], out[i - 1], out=out[i])
    return out


def _prefix(cum: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``cum[idx[b] - 1, b]`` per draw ``b``, 0 where ``idx[b] == 0``."""
    cols = np.arange(cum.shape[1])
    return np.where(idx > 0, cum[np.maximum(idx - 1, 0), cols], 0.0)


def _kept_means_draws(values: np.ndarray, mass: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per draw (column), the mean of the first ``keep`` units of mass of sorted ``values``."""
    cum = _cumsum_rows(mass)
    total = _cumsum_rows(mass * values[:, None])
    j = np.sum(cum < keep - 1e-12 * np.maximum(keep, 1.0), axis=0)
    j = np.minimum(j, values.size - 1)
    kept = _prefix(total, j) + (keep - _prefix(cum, j)) * values[j]
    return kept / keep


def _trimmed_means_draws(
    values: np.ndarray, count: np.ndarray, mass: np.ndarray, p: np.ndarray, trimming: str
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`_trimmed_means` over draws: ``count``/``mass`` are ``(m, B)``."""
    if values.size == 0:
        nan = np.full(count.shape[1], np.nan)
        return nan, nan
    if trimming in {"fractional", "order"}:
        weight = mass if trimming == "fractional" else count
        size = weight.sum(axis=0)
        keep = (1 - p) * size if trimming == "fractional" else size - np.floor(p * size)
        return (
            _kept_means_draws(values, weight, keep),
            _kept_means_draws(values[::-1], weight[::-1], keep),
        )
    cum = _cumsum_rows(count)
    total = _cumsum_rows(count * values[:, None])
    m = cum[-1]
    quantile = []
    for q in (1 - p, p):
        h = (m - 1) * q
        k0, k1 = np.floor(h), np.ceil(h)
        v0 = values[np.minimum(np.sum(cum <= k0, axis=0), values.size - 1)]
        v1 = values[np.minimum(np.sum(cum <= k1, axis=0), values.size - 1)]
        quantile.append(v0 + (h - k0) * (v1 - v0))
    below = np.searchsorted(values, quantile[0], side="right")
    start = np.searchsorted(values, quantile[1], side="left")
    low = _prefix(total, below) / _prefix(cum, below)
    high = (total[-1] - _prefix(total, start)) / (cum[-1] - _prefix(cum, start))
    return low, high


def _lee_draws(d: _LeeData, C: np.ndarray, trimming: str) -> tuple[np.ndarray, ...]:
    """Lee bounds for every draw at once from row multiplicities ``C`` ``(n, B)``.

    Returns the lower and upper bounds and the trimmed arm of every draw (as
    :func:`_lee_point` would give draw by draw).
    """
    n_boot = C.shape[1]
    cs = C * d.s[:, None]
    seen, total = {}, {}
    for arm in (0, 1):
        rows = d.t == arm
        total[arm] = np.vstack([cs[rows & (d.cells == c)].sum(axis=0) for c in range(d.n_cells)])
        seen[arm] = np.vstack([cs[d.sorted_rows[c, arm]].sum(axis=0) for c in range(d.n_cells)])
    q = {arm: seen[arm].sum(axis=0) / total[arm].sum(axis=0) for arm in (0, 1)}
    qc = {arm: seen[arm] / total[arm] for arm in (0, 1)}
    direction = (q[1] >= q[0]).astype(int)
    bounds = {arm: (np.full(n_boot, np.nan), np.full(n_boot, np.nan)) for arm in (0, 1)}
    for hi in np.unique(direction):
        lo = 1 - hi
        lower_mean = upper_mean = other_mean = np.zeros(n_boot)
        other_total = seen[lo].sum(axis=0)
        for c in range(d.n_cells):
            rows = d.sorted_rows[c, hi]
            other = d.sorted_rows[c, lo]
            pc = np.clip((qc[hi][c] - qc[lo][c]) / qc[hi][c], 0.0, None)
            low_c, high_c = _trimmed_means_draws(d.y[rows], C[rows], cs[rows], pc, trimming)
            weight = seen[lo][c] / other_total
            other_c = (d.y[other] @ cs[other]) / seen[lo][c]
            lower_mean = lower_mean + weight * low_c
            upper_mean = upper_mean + weight * high_c
            other_mean = other_mean + weight * other_c
        if hi == 1:
            bounds[hi] = (lower_mean - other_mean, upper_mean - other_mean)
        else:
            bounds[hi] = (other_mean - upper_mean, other_mean - lower_mean)
    lower = np.where(direction == 1, bounds[1][0], bounds[0][0])
    upper = np.where(direction == 1, bounds[1][1], bounds[0][1])
    return lower, upper, direction


def manski_bounds(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    observed: str,
    *,
    outcome_range: tuple[float, float] = (0.0, 1.0),
    weights: str | None = None,
) -> pd.DataFrame:
    r"""Worst-case (Manski) bounds on the effect of a bounded outcome, e.g. a binary one.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    outcome : str
        Outcome column (used where observed).
    treatment : str
        0/1 treatment column.
    observed : str
        0/1 observation indicator.
    outcome_range : tuple of float, optional
        Logical minimum and maximum of the outcome; (0, 1) for a binary outcome.
    weights : str, optional
        Survey weights.

    Returns
    -------
    pandas.DataFrame
        One row: ``lower``, ``upper``, the bounds on each arm's mean and the observation rates.

    Raises
    ------
    ValueError
        Observed outcomes outside ``outcome_range``.

    Notes
    -----
    :math:`E[Y_a] \in [q_a \bar y_a + (1-q_a) y_{min},\ q_a \bar y_a + (1-q_a) y_{max}]`
    with :math:`q_a` the observation rate and :math:`\bar y_a` the observed mean of arm
    :math:`a`; the effect lies in :math:`[L_1 - U_0, U_1 - L_0]` (Manski 1990). No assumption
    on why outcomes are missing.
    """
    check_columns(data, outcome=outcome, treatment=treatment, observed=observed, weights=weights)
    require_binary(data, treatment)
    require_binary(data, observed, "observed")
    lo, hi = outcome_range
    frame = data.loc[data[[treatment, observed]].notna().all(axis=1)]
    row: dict[str, float] = {}
    for arm, label in ((1, "treated"), (0, "control")):
        part = frame.loc[frame[treatment] == arm]
        s = part[weights].to_numpy(float) if weights else np.ones(len(part))
        r = part[observed].to_numpy(float)
        y = part[outcome].to_numpy(float)[r == 1]
        if np.any((y < lo) | (y > hi)) or not np.all(np.isfinite(y)):
            msg = f"observed {outcome!r} values fall outside outcome_range {outcome_range}"
            raise ValueError(msg)
        q = float(np.average(r, weights=s))
        mean = float(np.average(y, weights=s[r == 1])) if y.size else 0.0
        row[f"observed_{label}"] = q
        row[f"mean_lower_{label}"] = q * mean + (1 - q) * lo
        row[f"mean_upper_{label}"] = q * mean + (1 - q) * hi
    row["lower"] = row["mean_lower_treated"] - row["mean_upper_control"]
    row["upper"] = row["mean_upper_treated"] - row["mean_lower_control"]
    return pd.DataFrame([{"outcome": outcome, **row}])
