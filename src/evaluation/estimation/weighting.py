"""Inverse-probability weighting, doubly robust (AIPW) estimators and weighted regressions.

Standard errors come from stacked M-estimation that includes the logit score step (so they
account for the estimated propensity score) and allow clustering; a cluster bootstrap that
re-fits the score in every draw is the alternative. Survey weights multiply the balancing
weights in the score model, the outcome model and the effect (WeightIt#34).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import formulaic
import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.estimation._moments import (
    bootstrap_summary,
    check_columns,
    cluster_codes,
    require_unique_index,
    resample,
    sandwich,
    t_inference,
)
from evaluation.estimation.propensity import (
    ESTIMANDS,
    OverlapError,
    PropensityScore,
    Trimming,
    _warn_extreme,
    balancing_weights,
    effective_sample_size,
    fit_propensity,
    require_binary,
    trim_propensity,
)
from evaluation.estimation.results import EffectEstimate

__all__ = ["aipw_effect", "attach_balancing_weights", "ipw_effect", "weighted_did"]

SE_METHODS = ("analytic", "bootstrap")


@dataclass(frozen=True)
class _Prepared:
    """The rows, score and indicators shared by the point estimate and its variance."""

    frame: pd.DataFrame
    score: PropensityScore
    estimated: bool
    trimming: Trimming
    y: np.ndarray
    t: np.ndarray
    s: np.ndarray
    r: np.ndarray
    Z: np.ndarray | None
    notes: tuple[str, ...]


def _survey_frame(
    data: pd.DataFrame, treatment: str, cluster: str | None, weights: str | None
) -> tuple[pd.DataFrame, list[str]]:
    """Rows with a treatment, cluster and positive survey weight; zero weights dropped."""
    notes = []
    needed = [treatment] + [c for c in (cluster, weights) if c is not None]
    complete = data[needed].notna().all(axis=1)
    if not complete.all():
        notes.append(f"dropped {int((~complete).sum())} rows with missing {needed}")
    frame = data.loc[complete]
    if weights is not None:
        w = frame[weights].to_numpy(dtype=float)
        if np.any(w < 0):
            msg = f"weights column {weights!r} has {int((w < 0).sum())} negative values"
            raise ValueError(msg)
        zero = w == 0
        if zero.any():
            message = (
                f"dropped {int(zero.sum())} rows with zero survey weight in {weights!r} "
                "(they carry no population share)"
            )
            warnings.warn(message, UserWarning, stacklevel=4)
            notes.append(message)
            frame = frame.loc[~zero]
    return frame, notes


def _given_score(frame: pd.DataFrame, treatment: str, column: str, weights: str | None):
    e = frame[column]
    keep = e.notna()
    frame = frame.loc[keep]
    return frame, PropensityScore(
        score=frame[column].astype(float),
        treatment=treatment,
        params=pd.Series(dtype=float),
        cov=pd.DataFrame(),
        formula=f"given scores {column!r}",
        weights=None if weights is None else frame[weights].astype(float),
        t=frame[treatment].to_numpy(dtype=float),
    )


def _prepare(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    propensity: Any,
    *,
    trim: Any,
    cluster: str | None,
    weights: str | None,
    outcome_covariates: Sequence[str] | None,
) -> _Prepared:
    check_columns(data, outcome=outcome, cluster=cluster, weights=weights)
    require_unique_index(data)
    require_binary(data, treatment)
    frame, notes = _survey_frame(data, treatment, cluster, weights)
    estimated = True
    if isinstance(propensity, PropensityScore):
        lost = propensity.score.index.difference(frame.index)
        if len(lost):
            msg = (
                f"{len(lost)} rows of the given propensity score have a missing cluster or "
                "weight, or a zero weight; fit the score on the estimation sample"
            )
            raise ValueError(msg)
        score = propensity
        frame = frame.loc[score.score.index]
    elif isinstance(propensity, str) and "~" not in propensity and propensity in data.columns:
        frame, score = _given_score(frame, treatment, propensity, weights)
        estimated = False
        notes.append(
            f"propensity scores taken as given from {propensity!r}: standard errors are "
            "conditional on them"
        )
    else:
        observed = frame[outcome].notna()
        if not observed.all():
            notes.append(f"dropped {int((~observed).sum())} rows with a missing outcome")
        frame = frame.loc[observed]
        score = fit_propensity(frame, treatment, propensity, weights=weights)
        frame = frame.loc[score.score.index]
        notes.extend(score.notes)
    if score.t is None or len(score.t) != len(frame):
        msg = "the propensity score does not line up with the data rows"
        raise ValueError(msg)
    e = score.score.to_numpy()
    if np.any((e <= 0) | (e >= 1)):
        msg = f"{int(np.sum((e <= 0) | (e >= 1)))} propensity scores are exactly 0 or 1: no overlap"
        raise OverlapError(msg)
    trimming = trim_propensity(score, trim)
    if trimming.rule != "none":
        notes.append(trimming.note())
    else:
        extreme = _warn_extreme(e)
        if extreme:
            notes.append(extreme)
    y = frame[outcome].to_numpy(dtype=float)
    r = trimming.keep.to_numpy() & np.isfinite(y)
    Z = None
    if outcome_covariates is not None:
        terms = list(outcome_covariates)
        rhs = "1 + " + " + ".join(terms) if terms else "1"
        needed = sorted(formulaic.Formula(rhs).required_variables)
        check_columns(data, **{f"outcome covariate {v}": v for v in needed})
        complete = (
            frame[needed].notna().all(axis=1).to_numpy() if needed else np.ones(len(frame), bool)
        )
        if not complete.all():
            notes.append(f"{int((~complete).sum())} rows with missing outcome covariates left out")
            r &= complete
        matrix = formulaic.model_matrix(rhs, frame.loc[complete], na_action="raise")
        Z = np.zeros((len(frame), matrix.shape[1]))
        Z[complete] = matrix.to_numpy(dtype=float)
    y = np.where(r, y, 0.0)
    s = np.ones(len(frame)) if weights is None else frame[weights].to_numpy(dtype=float)
    return _Prepared(
        frame=frame,
        score=score,
        estimated=estimated,
        trimming=trimming,
        y=y,
        t=score.t,
        s=s,
        r=r,
        Z=Z,
        notes=tuple(notes),
    )


def _target(t: np.ndarray, estimand: str) -> np.ndarray:
    return {"ATE": np.ones_like(t), "ATT": t, "ATC": 1.0 - t}[estimand]


def _arm_weights(e: np.ndarray, p: _Prepared, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised balancing weights times survey weights, zero outside the effect sample."""
    raw = balancing_weights(e, p.t, estimand=estimand, normalized=False)
    base = p.s * p.r * raw
    return base * p.t, base * (1.0 - p.t)


def _wls(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    Zw = Z * w[:, None]
    return np.linalg.lstsq(Zw.T @ Z, Zw.T @ y, rcond=None)[0]


class _Layout:
    """Positions of the parameter blocks in the stacked vector ``theta``."""

    def __init__(self, k_ps: int, k_out: int, normalized_aug: bool) -> None:
        self.gamma = slice(0, k_ps)
        self.beta1 = slice(k_ps, k_ps + k_out)
        self.beta0 = slice(k_ps + k_out, k_ps + 2 * k_out)
        start = k_ps + 2 * k_out
        self.c = slice(start, start + (2 if normalized_aug else 0))
        self.mu1 = self.c.stop
        self.mu0 = self.c.stop + 1
        self.size = self.c.stop + 2


def _estimate(p: _Prepared, estimand: str, normalized: bool, augmented: bool) -> dict[str, Any]:
    """Point estimates and the stacked moment function."""
    score = p.score
    k_ps = score.X.shape[1] if p.estimated else 0
    k_out = p.Z.shape[1] if augmented else 0
    layout = _Layout(k_ps, k_out, augmented and normalized)
    D = p.s * p.r * _target(p.t, estimand)
    s_ps = np.ones_like(p.s) if score.weights is None else score.weights.to_numpy(dtype=float)

    def scores_of(theta: np.ndarray) -> np.ndarray:
        if not p.estimated:
            return score.score.to_numpy()
        return expit(score.X @ theta[layout.gamma])

    def psi(theta: np.ndarray) -> np.ndarray:
        e = scores_of(theta)
        W1, W0 = _arm_weights(e, p, estimand)
        cols = []
        if p.estimated:
            cols.append(score.X * (s_ps * (p.t - e))[:, None])
        mu = {1: theta[layout.mu1], 0: theta[layout.mu0]}
        if augmented:
            m = {1: p.Z @ theta[layout.beta1], 0: p.Z @ theta[layout.beta0]}
            for arm in (1, 0):
                in_arm = p.s * p.r * (p.t == arm)
                cols.append(p.Z * (in_arm * (p.y - m[arm]))[:, None])
            W = {1: W1, 0: W0}
            if normalized:
                c = theta[layout.c]
                cols.append((W1 * (p.y - m[1] - c[0]))[:, None])
                cols.append((W0 * (p.y - m[0] - c[1]))[:, None])
                moments = [D * (m[1] + c[0] - mu[1]), D * (m[0] + c[1] - mu[0])]
            else:
                moments = [D * (m[a] - mu[a]) + W[a] * (p.y - m[a]) for a in (1, 0)]
        elif normalized:
            moments = [W1 * (p.y - mu[1]), W0 * (p.y - mu[0])]
        else:
            moments = [W1 * p.y - D * mu[1], W0 * p.y - D * mu[0]]
        cols.extend(mom[:, None] for mom in moments)
        return np.column_stack(cols)

    theta = np.zeros(layout.size)
    if p.estimated:
        theta[layout.gamma] = score.params.to_numpy()
    e = scores_of(theta)
    W1, W0 = _arm_weights(e, p, estimand)
    for arm, W in ((1, W1), (0, W0)):
        if W.sum() <= 0:
            label = "treated" if arm else "control"
            msg = f"no {label} rows with an observed outcome in the estimation sample"
            raise OverlapError(msg)
    if augmented:
        for arm, block in ((1, layout.beta1), (0, layout.beta0)):
            in_arm = p.s * p.r * (p.t == arm)
            theta[block] = _wls(p.Z, p.y, in_arm)
        m1, m0 = p.Z @ theta[layout.beta1], p.Z @ theta[layout.beta0]
        if normalized:
            c1 = np.sum(W1 * (p.y - m1)) / W1.sum()
            c0 = np.sum(W0 * (p.y - m0)) / W0.sum()
            theta[layout.c] = (c1, c0)
            theta[layout.mu1] = np.sum(D * (m1 + c1)) / D.sum()
            theta[layout.mu0] = np.sum(D * (m0 + c0)) / D.sum()
        else:
            theta[layout.mu1] = np.sum(D * m1 + W1 * (p.y - m1)) / D.sum()
            theta[layout.mu0] = np.sum(D * m0 + W0 * (p.y - m0)) / D.sum()
    elif normalized:
        theta[layout.mu1] = np.sum(W1 * p.y) / W1.sum()
        theta[layout.mu0] = np.sum(W0 * p.y) / W0.sum()
    else:
        theta[layout.mu1] = np.sum(W1 * p.y) / D.sum()
        theta[layout.mu0] = np.sum(W0 * p.y) / D.sum()
    return {"theta": theta, "psi": psi, "layout": layout, "W1": W1, "W0": W0}


def _weighting_effect(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    propensity: Any,
    *,
    estimand: str,
    normalized: bool,
    trim: Any,
    cluster: str | None,
    weights: str | None,
    level: float,
    se: str,
    n_boot: int,
    seed: int | np.random.Generator | None,
    outcome_covariates: Sequence[str] | None,
) -> EffectEstimate:
    if estimand not in ESTIMANDS:
        msg = f"estimand must be one of {ESTIMANDS}; got {estimand!r}"
        raise ValueError(msg)
    if se not in SE_METHODS:
        msg = f"se must be one of {SE_METHODS}; got {se!r}"
        raise ValueError(msg)
    augmented = outcome_covariates is not None
    p = _prepare(
        data,
        outcome,
        treatment,
        propensity,
        trim=trim,
        cluster=cluster,
        weights=weights,
        outcome_covariates=outcome_covariates,
    )
    fit = _estimate(p, estimand, normalized, augmented)
    theta, layout = fit["theta"], fit["layout"]
    effect = float(theta[layout.mu1] - theta[layout.mu0])
    clusters = cluster_codes(p.frame, cluster)
    notes = list(p.notes)
    form = "normalised (Hajek)" if normalized else "Horvitz-Thompson"
    if augmented:
        name = "aipw"
        label = f"AIPW ({form} correction)"
    else:
        name = "ipw-hajek" if normalized else "ipw-ht"
        label = f"IPW {form}"
    notes.append(f"{label}, estimand {estimand}; score model {p.score.formula}")
    if se == "analytic":
        V, df, n_clusters = sandwich(fit["psi"], theta, clusters)
        c = np.zeros(layout.size)
        c[layout.mu1], c[layout.mu0] = 1.0, -1.0
        std_error = float(np.sqrt(c @ V @ c))
        pvalue, lower, upper = t_inference(effect, std_error, df, level)
        inference = "analytic"
        vcov = "CR1" if clusters is not None else "HC0"
        step = "including the logit score step" if p.estimated else "conditional on the score"
        if clusters is None:
            notes.append(
                f"stacked M-estimation sandwich {step}: V = A^-1 (sum_i psi_i psi_i') A^-T "
                "(HC0, as statsmodels TreatmentEffect); normal reference"
            )
        else:
            notes.append(
                f"stacked M-estimation sandwich {step}, clustered: V = A^-1 G/(G-1) "
                f"(sum_g s_g s_g') A^-T; t on G - 1 = {df:g} df"
            )
    else:
        rng = np.random.default_rng(seed)
        draws, failed = _bootstrap_draws(
            data,
            outcome,
            treatment,
            propensity,
            p,
            rng=rng,
            n_boot=n_boot,
            estimand=estimand,
            normalized=normalized,
            trim=trim,
            cluster=cluster,
            weights=weights,
            outcome_covariates=outcome_covariates,
        )
        std_error, pvalue, lower, upper = bootstrap_summary(effect, draws, level)
        df, n_clusters = math.inf, None if clusters is None else int(clusters.max()) + 1
        what = "cluster" if cluster else "row"
        inference = f"{what} bootstrap ({n_boot:,} draws, percentile CI)"
        vcov = "bootstrap"
        notes.append(
            f"{what} bootstrap re-fitting the score and re-trimming in every draw; SE = SD of "
            f"the draws, p-value from the normal; {failed} draws failed and were dropped"
        )
    W1, W0 = fit["W1"], fit["W0"]
    t_rows = p.r & (p.t == 1)
    c_rows = p.r & (p.t == 0)
    n_treated_clusters = None
    if clusters is not None:
        n_treated_clusters = int(np.unique(clusters[t_rows]).size)
    extra = {
        "estimand": estimand,
        "mu_treated": float(theta[layout.mu1]),
        "mu_control": float(theta[layout.mu0]),
        "ess_treated": effective_sample_size(W1[t_rows]),
        "ess_control": effective_sample_size(W0[c_rows]),
        "n_treated": int(t_rows.sum()),
        "n_control": int(c_rows.sum()),
        "trim_lower": p.trimming.lower,
        "trim_upper": p.trimming.upper,
        "dropped_treated": p.trimming.dropped_treated,
        "dropped_control": p.trimming.dropped_control,
        "score_estimated": p.estimated,
    }
    return EffectEstimate(
        outcome=outcome,
        estimator=name,
        effect=effect,
        std_error=std_error,
        pvalue=pvalue,
        ci_lower=lower,
        ci_upper=upper,
        df=float(df),
        nobs=int(p.r.sum()),
        n_clusters=n_clusters,
        control_mean=float(theta[layout.mu0]),
        vcov=vcov,
        inference=inference,
        treatment=treatment,
        level=level,
        n_treated_clusters=n_treated_clusters,
        notes=tuple(dict.fromkeys(notes)),
        extra=extra,
        fit=fit,
    )


def _bootstrap_draws(
    data, outcome, treatment, propensity, prepared, *, rng, n_boot, **kw
) -> tuple[np.ndarray, int]:
    """Re-estimate on cluster (or row) resamples of the estimation sample."""
    score = prepared.score
    if isinstance(propensity, PropensityScore):
        propensity = score.formula
    base = data.loc[prepared.frame.index]
    draws = np.full(n_boot, np.nan)
    for b in range(n_boot):
        sample = resample(base, kw["cluster"], rng)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = _prepare(
                    sample,
                    outcome,
                    treatment,
                    propensity,
                    trim=kw["trim"],
                    cluster=kw["cluster"],
                    weights=kw["weights"],
                    outcome_covariates=kw["outcome_covariates"],
                )
                fit = _estimate(
                    p, kw["estimand"], kw["normalized"], kw["outcome_covariates"] is not None
                )
        except (ValueError, np.linalg.LinAlgError):
            continue
        layout = fit["layout"]
        draws[b] = fit["theta"][layout.mu1] - fit["theta"][layout.mu0]
    return draws, int(np.sum(~np.isfinite(draws)))


def ipw_effect(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    propensity: PropensityScore | str | Sequence[str],
    *,
    estimand: str = "ATE",
    normalized: bool = True,
    trim: tuple[float, float] | str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    level: float = 0.95,
    se: str = "analytic",
    n_boot: int = 999,
    seed: int | np.random.Generator | None = None,
) -> EffectEstimate:
    r"""Estimate a treatment effect by inverse-probability weighting.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; never modified.
    outcome : str
        Outcome column (rows where it is missing are left out of the effect).
    treatment : str
        0/1 treatment column.
    propensity : PropensityScore, str or sequence of str
        A fitted :class:`PropensityScore`; a formula (``"treat ~ age + I(age**2) + C(educ)"``)
        or covariate list to fit one on the rows with an observed outcome; or the name of a
        column holding given scores (standard errors are then conditional on them).
    estimand : {"ATE", "ATT", "ATC"}, optional
        Target population.
    normalized : bool, optional
        Hájek (weights normalised within each arm) when ``True``, Horvitz-Thompson otherwise.
    trim : tuple of float, "crump" or None, optional
        Common-support rule (see :func:`~evaluation.estimation.trim_propensity`); weights are
        re-normalised on the retained rows.
    cluster : str, optional
        Cluster column for the variance (and the bootstrap).
    weights : str, optional
        Survey (sampling) weights: multiply the balancing weights and weight the logit.
    level : float, optional
        Confidence level.
    se : {"analytic", "bootstrap"}, optional
        Stacked M-estimation sandwich, or a (cluster) bootstrap re-fitting the score.
    n_boot : int, optional
        Bootstrap draws.
    seed : int or numpy.random.Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    EffectEstimate
        ``estimator`` ``"ipw-hajek"`` or ``"ipw-ht"``; ``control_mean`` is the weighted
        control mean :math:`\hat\mu_0` (the mean outcome without treatment in the target
        population); ``extra`` holds both means, effective sample sizes, the trimming bounds
        and the rows dropped per arm.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        A non-binary treatment, negative weights, or an unknown option.
    SeparationError
        The score model separates the arms.
    OverlapError
        Scores of 0 or 1, or trimming empties an arm.

    Warns
    -----
    UserWarning
        Scores outside [0.01, 0.99] without trimming; rows with zero survey weight dropped.

    Notes
    -----
    With survey weights :math:`s_i`, effect-sample indicator :math:`r_i` (observed outcome,
    retained by trimming), balancing weights :math:`\omega_{1i} = T_i/e_i` or
    :math:`\omega_{0i} = (1-T_i)/(1-e_i)` for the ATE (ATT: :math:`T_i` and
    :math:`(1-T_i)e_i/(1-e_i)`) and :math:`W_{ai} = s_i r_i \omega_{ai}`:
    Hájek :math:`\hat\mu_a = \sum W_{ai} y_i / \sum W_{ai}`; Horvitz-Thompson
    :math:`\hat\mu_a = \sum W_{ai} y_i / \sum s_i r_i D_i` with :math:`D_i = 1` (ATE),
    :math:`T_i` (ATT) or :math:`1-T_i` (ATC). The effect is :math:`\hat\mu_1 - \hat\mu_0`.

    Variance: the logit score equations :math:`s_i (T_i - e_i) x_i` and the mean equations are
    stacked; :math:`V = A^{-1} B A^{-T}` with :math:`A` their summed Jacobian and :math:`B` the
    outer products of the per-row moments (HC0, normal reference: statsmodels'
    ``TreatmentEffect.ipw`` convention) or, with ``cluster``, of the per-cluster sums times
    :math:`G/(G-1)` with t on :math:`G-1` df. Trimming is treated as fixed. statsmodels clips
    scores to [0.01, 0.99]; this estimator does not (it warns and offers ``trim``).
    """
    return _weighting_effect(
        data,
        outcome,
        treatment,
        propensity,
        estimand=estimand,
        normalized=normalized,
        trim=trim,
        cluster=cluster,
        weights=weights,
        level=level,
        se=se,
        n_boot=n_boot,
        seed=seed,
        outcome_covariates=None,
    )


def aipw_effect(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    propensity: PropensityScore | str | Sequence[str],
    *,
    outcome_covariates: Sequence[str] | None = None,
    estimand: str = "ATE",
    normalized: bool = False,
    trim: tuple[float, float] | str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    level: float = 0.95,
    se: str = "analytic",
    n_boot: int = 999,
    seed: int | np.random.Generator | None = None,
) -> EffectEstimate:
    r"""Estimate a treatment effect by augmented IPW (doubly robust).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; never modified.
    outcome : str
        Outcome column.
    treatment : str
        0/1 treatment column.
    propensity : PropensityScore, str or sequence of str
        The score, as in :func:`ipw_effect`.
    outcome_covariates : sequence of str, optional
        Terms of the linear outcome model fitted separately in each arm; by default the
        covariates of the score model when ``propensity`` is a list of columns.
    estimand : {"ATE", "ATT", "ATC"}, optional
        Target population.
    normalized : bool, optional
        Normalise the weights of the residual correction within each arm; ``False`` (default)
        is the textbook AIPW (statsmodels ``aipw``, Stata ``teffects aipw``).
    trim : tuple of float, "crump" or None, optional
        Common-support rule.
    cluster : str, optional
        Cluster column.
    weights : str, optional
        Survey weights: multiply the balancing weights and weight the logit and the outcome
        regressions.
    level : float, optional
        Confidence level.
    se : {"analytic", "bootstrap"}, optional
        Variance method (see :func:`ipw_effect`).
    n_boot : int, optional
        Bootstrap draws.
    seed : int or numpy.random.Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    EffectEstimate
        ``estimator="aipw"``; as :func:`ipw_effect`.

    Raises
    ------
    ValueError
        No outcome covariates can be determined, or the checks of :func:`ipw_effect`.

    Notes
    -----
    Outcome models :math:`m_a(z) = z'\beta_a` by (survey-weighted) least squares in arm
    :math:`a`. With :math:`D_i` and :math:`W_{ai}` as in :func:`ipw_effect`:
    :math:`\hat\mu_a = \sum_i [D_i s_i r_i m_a(z_i) + W_{ai}(y_i - m_a(z_i))] / \sum_i s_i r_i
    D_i`; normalised: :math:`\hat\mu_a = \overline{m_a}^{D} + \sum W_{ai}(y_i - m_{ai}) /
    \sum W_{ai}`. The variance stacks the logit, both outcome regressions and the mean
    equations (sandwich as in :func:`ipw_effect`).
    """
    if outcome_covariates is None:
        if isinstance(propensity, str) and "~" in propensity:
            outcome_covariates = [propensity.split("~", 1)[1].strip()]
        elif isinstance(propensity, Sequence) and not isinstance(propensity, str):
            outcome_covariates = list(propensity)
        elif isinstance(propensity, PropensityScore):
            outcome_covariates = [propensity.formula.split("~", 1)[1].strip()]
        else:
            msg = "aipw_effect needs outcome_covariates when the scores are given as a column"
            raise ValueError(msg)
    return _weighting_effect(
        data,
        outcome,
        treatment,
        propensity,
        estimand=estimand,
        normalized=normalized,
        trim=trim,
        cluster=cluster,
        weights=weights,
        level=level,
        se=se,
        n_boot=n_boot,
        seed=seed,
        outcome_covariates=list(outcome_covariates),
    )


def attach_balancing_weights(
    data: pd.DataFrame,
    score: PropensityScore,
    *,
    unit: str | None = None,
    estimand: str = "ATT",
    normalized: bool = True,
    trim: tuple[float, float] | str | None = None,
    survey_weights: str | None = None,
    name: str = "balancing_weight",
) -> pd.DataFrame:
    """Add balancing x survey weights to a frame, for weighted ANCOVA or DiD regressions.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis frame: the rows the score was fitted on (cross-section) or a long panel
        whose ``unit`` column identifies them.
    score : PropensityScore
        A score fitted on one row per unit (e.g. the baseline round).
    unit : str, optional
        Unit identifier linking panel rows to the score's rows; ``None`` when ``data`` has the
        score's index.
    estimand : {"ATE", "ATT", "ATC"}, optional
        Target population of the weights.
    normalized : bool, optional
        Normalise within arm (Hájek).
    trim : tuple of float, "crump" or None, optional
        Common-support rule: trimmed units are dropped from the returned frame.
    survey_weights : str, optional
        Survey-weight column on the score's rows: multiplied in (and in the score fit, if it
        was weighted by it).
    name : str, optional
        Name of the new column.

    Returns
    -------
    pandas.DataFrame
        ``data`` restricted to retained units with the column ``name``; its ``attrs`` hold the
        trimming note.

    Raises
    ------
    ValueError
        The column already exists, or units are duplicated in the score's rows.

    Notes
    -----
    The recipe for weighted DiD/ANCOVA (METHODS 2.7): fit the score on baseline rows, attach
    the weights, then call :func:`~evaluation.estimation.did` or
    :func:`~evaluation.estimation.ancova` with ``weights=name, weights_kind="sampling"`` and
    ``cluster=`` the enterprise. Standard errors are then conditional on the estimated
    weights (they do not include the score step), the usual practice for weighted DiD; the
    bootstrap of :func:`ipw_effect` is the alternative when that matters.
    """
    if name in data.columns:
        msg = f"column {name!r} already exists in the data"
        raise ValueError(msg)
    missing = score.score.index.difference(data.index)
    if len(missing):
        msg = f"{len(missing)} rows of the score are not rows of the data (index labels)"
        raise ValueError(msg)
    trimming = trim_propensity(score, trim)
    keep = trimming.keep.to_numpy()
    rows = data.loc[score.score.index]
    s = None if survey_weights is None else rows[survey_weights].to_numpy(dtype=float)[keep]
    w = balancing_weights(
        score.score.to_numpy()[keep],
        score.t[keep],
        estimand=estimand,
        normalized=normalized,
        weights=s,
    )
    if unit is None:
        out = data.loc[score.score.index[keep]].assign(**{name: w})
    else:
        if unit not in data.columns:
            msg = f"unit column {unit!r} not found in the data"
            raise KeyError(msg)
        units = rows[unit].to_numpy()
        if pd.Index(units).has_duplicates:
            msg = f"unit column {unit!r} is not unique on the score's rows"
            raise ValueError(msg)
        lookup = pd.Series(w, index=units[keep])
        out = data.loc[data[unit].isin(lookup.index)]
        out = out.assign(**{name: out[unit].map(lookup).to_numpy()})
    out.attrs = {**data.attrs, "trimming": trimming.note()}
    return out


def weighted_did(
    panel: pd.DataFrame,
    outcome: str,
    treatment: str,
    propensity: str | Sequence[str],
    *,
    post: str,
    unit: str,
    estimand: str = "ATT",
    normalized: bool = True,
    trim: tuple[float, float] | str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    level: float = 0.95,
    se: str = "analytic",
    n_boot: int = 999,
    seed: int | np.random.Generator | None = None,
) -> EffectEstimate:
    r"""Estimate a propensity-weighted difference-in-differences on a two-period panel.

    Parameters
    ----------
    panel : pandas.DataFrame
        Long data: one baseline (``post == 0``) and one follow-up row per unit.
    outcome : str
        Outcome column.
    treatment : str
        0/1 treated-group indicator (taken from the baseline row).
    propensity : str or sequence of str
        Score formula or covariates, evaluated on the baseline rows.
    post : str
        0/1 follow-up indicator.
    unit : str
        Unit identifier.
    estimand : {"ATT", "ATE", "ATC"}, optional
        Target population (ATT: the usual weighted DiD).
    normalized : bool, optional
        Hájek (default) or Horvitz-Thompson weights.
    trim : tuple of float, "crump" or None, optional
        Common-support rule.
    cluster : str, optional
        Cluster column (baseline rows).
    weights : str, optional
        Survey weights (baseline rows): they multiply the balancing weights.
    level : float, optional
        Confidence level.
    se : {"analytic", "bootstrap"}, optional
        Variance method of :func:`ipw_effect`.
    n_boot : int, optional
        Bootstrap draws.
    seed : int or numpy.random.Generator, optional
        Bootstrap seed.

    Returns
    -------
    EffectEstimate
        ``estimator="did-ipw"``; the outcome is named ``"<outcome> (change)"``.

    Raises
    ------
    ValueError
        The panel is not one baseline and one follow-up row per unit.

    Notes
    -----
    Abadie's (2005) IPW DiD: :func:`ipw_effect` applied to the unit-level change
    :math:`\Delta y_i = y_{i1} - y_{i0}`. It equals the two-way fixed-effects DiD
    :math:`y_{it} = \alpha_i + \lambda_t + \tau T_i post_t` weighted by the same balancing
    weights (the recipe of :func:`attach_balancing_weights`), but its standard error stacks
    the logit score step (clustered by ``cluster``) instead of taking the weights as given.
    """
    for role, column in (("post", post), ("unit", unit), ("outcome", outcome)):
        if column not in panel.columns:
            msg = f"{role} column {column!r} not found in the data"
            raise KeyError(msg)
    require_binary(panel, post, "post")
    counts = panel.groupby([unit, post]).size().unstack(fill_value=0)
    bad = counts.ne(1).any(axis=1)
    if bad.any() or counts.shape[1] != 2:
        msg = (
            f"weighted_did needs exactly one baseline and one follow-up row per unit; "
            f"{int(bad.sum())} units of {unit!r} do not have them"
        )
        raise ValueError(msg)
    base = panel.loc[panel[post] == 0].set_index(unit, drop=False)
    follow = panel.loc[panel[post] == 1].set_index(unit)[outcome]
    change = f"{outcome} (change)"
    if change in base.columns:
        msg = f"column {change!r} already exists in the data"
        raise ValueError(msg)
    frame = base.assign(**{change: follow.loc[base.index] - base[outcome]})
    estimate = ipw_effect(
        frame.reset_index(drop=True),
        change,
        treatment,
        propensity,
        estimand=estimand,
        normalized=normalized,
        trim=trim,
        cluster=cluster,
        weights=weights,
        level=level,
        se=se,
        n_boot=n_boot,
        seed=seed,
    )
    return estimate.replace(
        estimator="did-ipw",
        notes=(*estimate.notes, "IPW DiD (Abadie 2005) on the change between the two rounds"),
    )
