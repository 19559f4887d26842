"""Propensity scores, overlap, trimming, balancing weights and the effective sample size.

The score is a (survey-weighted) logit fitted by Newton-Raphson here, so that its design matrix
and scores are available to the stacked M-estimation of :mod:`evaluation.estimation.weighting`.
Perfect separation and a non-binary treatment are refused with a clear error; scores at the
edge of ``[0, 1]`` are refused as a lack of overlap.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import formulaic
import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.estimation.balance import balance_table

__all__ = [
    "OverlapError",
    "PropensityScore",
    "SeparationError",
    "Trimming",
    "balance_weighted",
    "balancing_weights",
    "crump_bounds",
    "effective_sample_size",
    "fit_propensity",
    "overlap_data",
    "trim_propensity",
]

ESTIMANDS = ("ATE", "ATT", "ATC")
_NEWTON_TOL = 1e-10
_NEWTON_MAXITER = 100
_SEPARATION_ETA = 30.0


class SeparationError(ValueError):
    """The score model separates the arms perfectly: the propensity score is 0 or 1."""


class OverlapError(ValueError):
    """The arms do not overlap: some units have no comparable counterpart."""


@dataclass(frozen=True)
class PropensityScore:
    """A fitted logit propensity score, kept with what the M-estimation needs.

    Attributes
    ----------
    score : pandas.Series
        Fitted probability of treatment, indexed like the rows of the input used.
    treatment : str
        The 0/1 treatment column.
    params : pandas.Series
        Logit coefficients (intercept included).
    cov : pandas.DataFrame
        Model-based variance of ``params`` (inverse weighted information).
    formula : str
        The score model as a formula.
    weights : pandas.Series or None
        Survey (sampling) weights the logit was weighted by.
    notes : tuple of str
        What was dropped or changed.
    X : numpy.ndarray
        Design matrix of the logit (rows of ``score``).
    t : numpy.ndarray
        Treatment indicator (rows of ``score``).
    """

    score: pd.Series
    treatment: str
    params: pd.Series
    cov: pd.DataFrame
    formula: str
    weights: pd.Series | None = None
    notes: tuple[str, ...] = ()
    X: np.ndarray = field(default=None, repr=False)
    t: np.ndarray = field(default=None, repr=False)

    @property
    def nobs(self) -> int:
        """Rows the score was fitted on.

        Returns
        -------
        int
            The number of rows of ``score``.
        """
        return len(self.score)

    def linear_predictor(self) -> pd.Series:
        """Return the logit of the score, ``x'gamma``.

        Returns
        -------
        pandas.Series
            The linear index, aligned with ``score``.
        """
        return pd.Series(self.X @ self.params.to_numpy(), index=self.score.index)


def require_binary(data: pd.DataFrame, column: str, role: str = "treatment") -> None:
    """Check a column is a numeric or boolean 0/1 indicator.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    column : str
        The column.
    role : str
        What the column is, for messages.

    Raises
    ------
    KeyError
        The column is missing.
    ValueError
        The column holds anything but 0, 1 (and missing values), or only one of them.
    """
    if column not in data.columns:
        msg = f"{role} column {column!r} not found in the data"
        raise KeyError(msg)
    values = data[column]
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        msg = f"{role} column {column!r} must be numeric 0/1; found dtype {values.dtype}"
        raise ValueError(msg)
    observed = set(np.asarray(pd.unique(values.dropna()), dtype=float).tolist())
    bad = sorted(observed - {0.0, 1.0})
    if bad:
        msg = f"{role} column {column!r} must be binary 0/1; found values {bad[:10]}"
        raise ValueError(msg)
    if len(observed) < 2:
        msg = f"{role} column {column!r} must hold both 0 and 1; found only {sorted(observed)}"
        raise ValueError(msg)


def _formula_of(treatment: str | None, covariates: str | Sequence[str]) -> tuple[str, str]:
    """Return the treatment column and the right-hand side of the score formula."""
    if isinstance(covariates, str):
        if "~" not in covariates:
            return treatment, covariates
        lhs, rhs = (part.strip() for part in covariates.split("~", 1))
        if treatment is not None and lhs != treatment:
            msg = f"formula {covariates!r} models {lhs!r}, not the treatment {treatment!r}"
            raise ValueError(msg)
        return lhs, rhs
    covariates = list(covariates)
    if not covariates:
        msg = "the propensity score needs at least one covariate"
        raise ValueError(msg)
    return treatment, " + ".join(covariates)


def _logit_newton(
    X: np.ndarray, t: np.ndarray, s: np.ndarray, names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by Newton-Raphson; raises :class:`SeparationError` on separation."""
    beta = np.zeros(X.shape[1])
    for _ in range(_NEWTON_MAXITER):
        eta = X @ beta
        if np.max(np.abs(eta)) > 2 * _SEPARATION_ETA:
            break
        p = expit(eta)
        grad = X.T @ (s * (t - p))
        info = (X * (s * p * (1 - p))[:, None]).T @ X
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < _NEWTON_TOL * max(1.0, np.max(np.abs(beta))):
            break
    eta = X @ beta
    extreme = np.abs(eta) > _SEPARATION_ETA
    if extreme.any() or not np.all(np.isfinite(beta)):
        big = [names[j] for j in np.argsort(-np.abs(beta))[:3]]
        msg = (
            f"perfect (or quasi-complete) separation in the propensity-score logit: "
            f"{int(extreme.sum())} rows have fitted probabilities of 0 or 1 (|x'b| > "
            f"{_SEPARATION_ETA:g}); the largest coefficients are on {big}. Drop or merge the "
            "covariate levels that only one arm has, or restrict the sample to common support"
        )
        raise SeparationError(msg)
    p = expit(eta)
    info = (X * (s * p * (1 - p))[:, None]).T @ X
    return beta, np.linalg.inv(info)


def fit_propensity(
    data: pd.DataFrame,
    treatment: str | None,
    covariates: str | Sequence[str],
    *,
    weights: str | None = None,
) -> PropensityScore:
    r"""Fit a logit propensity score from covariate columns or a formula.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; never modified.
    treatment : str or None
        The 0/1 treatment column (``None`` when ``covariates`` is a full formula).
    covariates : str or sequence of str
        Column names or formulaic terms (``["age", "I(age**2)", "C(educ)"]``), a right-hand
        side (``"age + C(educ)"``), or a full formula (``"treat ~ age + I(age**2) + C(educ)"``).
    weights : str, optional
        Survey (sampling) weights: the logit is a weighted (pseudo-likelihood) fit.

    Returns
    -------
    PropensityScore
        Scores, coefficients and the design for stacked M-estimation.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        A non-binary treatment, non-positive weights, or an unparseable formula.
    SeparationError
        The covariates predict treatment perfectly (some scores would be 0 or 1).

    Notes
    -----
    Fits :math:`P(T_i = 1 \mid x_i) = \Lambda(x_i'\gamma)` by maximising
    :math:`\sum_i s_i [T_i \log e_i + (1 - T_i)\log(1 - e_i)]` (Newton-Raphson to a step of
    1e-10), with :math:`s_i` the survey weights (1 when unweighted). Rows with a missing
    treatment, covariate or weight are dropped and counted in ``notes``. Unit: the row; the
    score is indexed by the input's index.
    """
    treatment, rhs = _formula_of(treatment, covariates)
    if treatment is None:
        msg = "give the treatment column, or a formula 'treatment ~ covariates'"
        raise ValueError(msg)
    require_binary(data, treatment)
    try:
        needed = sorted(formulaic.Formula(rhs).required_variables)
    except Exception as err:  # formulaic raises several parser error types
        msg = f"could not parse the propensity-score formula {rhs!r}: {err}"
        raise ValueError(msg) from err
    missing = [v for v in needed if v not in data.columns]
    if missing:
        msg = f"propensity-score covariate column(s) {missing} not found in the data"
        raise KeyError(msg)
    used = [treatment, *needed] + ([weights] if weights else [])
    if weights is not None and weights not in data.columns:
        msg = f"weights column {weights!r} not found in the data"
        raise KeyError(msg)
    complete = data[used].notna().all(axis=1)
    notes = []
    if not complete.all():
        notes.append(f"propensity score: dropped {int((~complete).sum())} rows with missing values")
    frame = data.loc[complete]
    matrix = formulaic.model_matrix("1 + " + rhs, frame, na_action="raise")
    names = list(matrix.columns)
    X = matrix.to_numpy(dtype=float)
    t = frame[treatment].to_numpy(dtype=float)
    s = np.ones(len(frame))
    if weights is not None:
        s = frame[weights].to_numpy(dtype=float)
        if np.any(s <= 0):
            msg = (
                f"weights column {weights!r} has {int((s <= 0).sum())} zero or negative values; "
                "drop those rows explicitly"
            )
            raise ValueError(msg)
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        msg = f"propensity-score design {names} is collinear (rank {rank} < {X.shape[1]})"
        raise ValueError(msg)
    beta, cov = _logit_newton(X, t, s, names)
    score = pd.Series(expit(X @ beta), index=frame.index, name="pscore")
    return PropensityScore(
        score=score,
        treatment=treatment,
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        formula=f"{treatment} ~ {rhs}",
        weights=None if weights is None else frame[weights].astype(float),
        notes=tuple(notes),
        X=X,
        t=t,
    )


def overlap_data(score: PropensityScore, *, bins: int = 20) -> pd.DataFrame:
    """Tabulate the score distribution by arm, for overlap (common-support) plots.

    Parameters
    ----------
    score : PropensityScore
        A fitted score.
    bins : int, optional
        Equal-width bins on ``[0, 1]``.

    Returns
    -------
    pandas.DataFrame
        One row per arm and bin: ``arm`` (0/1), ``bin_lower``, ``bin_upper``, ``count``,
        ``share`` (of the arm, survey-weighted when the score is), ``min_score`` and
        ``max_score`` of the arm (repeated), ready for a histogram or mirrored bar plot.

    Notes
    -----
    Reads the fitted scores only; unit: bin x arm.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    e = score.score.to_numpy()
    s = np.ones_like(e) if score.weights is None else score.weights.to_numpy()
    rows = []
    for arm in (0, 1):
        mask = score.t == arm
        idx = np.clip(np.searchsorted(edges, e[mask], side="right") - 1, 0, bins - 1)
        counts = np.bincount(idx, minlength=bins)
        mass = np.bincount(idx, weights=s[mask], minlength=bins)
        total = mass.sum()
        rows.extend(
            {
                "arm": arm,
                "bin_lower": edges[b],
                "bin_upper": edges[b + 1],
                "count": int(counts[b]),
                "share": float(mass[b] / total) if total else math.nan,
                "min_score": float(e[mask].min()),
                "max_score": float(e[mask].max()),
            }
            for b in range(bins)
        )
    return pd.DataFrame(rows)


def crump_bounds(score: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    r"""Return the Crump et al. (2009) optimal trimming bounds ``(alpha, 1 - alpha)``.

    Parameters
    ----------
    score : numpy.ndarray
        Propensity scores in ``(0, 1)``.
    weights : numpy.ndarray, optional
        Survey weights for the (weighted) conditional mean.

    Returns
    -------
    tuple of float
        ``(alpha, 1 - alpha)``; ``(0, 1)`` when no trimming is optimal.

    Notes
    -----
    With :math:`g(e) = 1/(e(1-e))`: no trimming when :math:`\max g \le 2\,E[g]`; otherwise
    :math:`\gamma` solves :math:`\gamma = 2\,E[g \mid g \le \gamma]` (the first crossing on
    the sorted sample) and :math:`\alpha = 1/2 - \sqrt{1/4 - 1/\gamma}` (Crump, Hotz, Imbens &
    Mitnik 2009, Theorem 1).
    """
    e = np.asarray(score, dtype=float)
    w = np.ones_like(e) if weights is None else np.asarray(weights, dtype=float)
    g = 1.0 / (e * (1.0 - e))
    if g.max() <= 2.0 * np.average(g, weights=w):
        return 0.0, 1.0
    order = np.argsort(g, kind="stable")
    gs, ws = g[order], w[order]
    cum_mean = np.cumsum(gs * ws) / np.cumsum(ws)
    crossing = np.nonzero(2.0 * cum_mean[:-1] < gs[1:])[0]
    gamma = 2.0 * cum_mean[crossing[0]] if crossing.size else 2.0 * cum_mean[-1]
    alpha = 0.5 - math.sqrt(max(0.25 - 1.0 / gamma, 0.0))
    return float(alpha), float(1.0 - alpha)


@dataclass(frozen=True)
class Trimming:
    """Which rows a trimming rule kept, and how many it dropped per arm.

    Attributes
    ----------
    keep : pandas.Series
        Boolean, indexed like the score: ``True`` for retained rows.
    lower, upper : float
        The bounds applied (``lower <= e <= upper`` is kept).
    rule : str
        ``"none"``, ``"fixed"`` or ``"crump"``.
    dropped_treated, dropped_control : int
        Rows dropped in each arm.
    """

    keep: pd.Series
    lower: float
    upper: float
    rule: str
    dropped_treated: int
    dropped_control: int

    def note(self) -> str:
        """Return the trimming in plain words.

        Returns
        -------
        str
            The rule, its bounds and the rows dropped per arm.
        """
        return (
            f"trimming ({self.rule}): kept {self.lower:.4g} <= e <= {self.upper:.4g}; dropped "
            f"{self.dropped_treated} treated and {self.dropped_control} control rows"
        )


def trim_propensity(
    score: PropensityScore, trim: tuple[float, float] | str | None = None
) -> Trimming:
    """Apply a common-support trimming rule to a fitted score.

    Parameters
    ----------
    score : PropensityScore
        A fitted score.
    trim : tuple of float, "crump" or None
        Fixed bounds ``(lower, upper)`` such as ``(0.1, 0.9)``; ``"crump"`` for the optimal
        rule of :func:`crump_bounds`; ``None`` keeps every row.

    Returns
    -------
    Trimming
        The retained rows and the counts dropped per arm.

    Raises
    ------
    ValueError
        Bounds outside ``[0, 1]`` or in the wrong order, or an unknown rule.
    OverlapError
        Trimming leaves an arm empty.

    Notes
    -----
    The score is not re-fitted on the retained rows; weights are re-normalised on them by the
    estimators (:func:`balancing_weights` on the retained sample).
    """
    e = score.score.to_numpy()
    if trim is None:
        lower, upper, rule = 0.0, 1.0, "none"
    elif isinstance(trim, str):
        if trim != "crump":
            msg = f"trim must be (lower, upper), 'crump' or None; got {trim!r}"
            raise ValueError(msg)
        s = None if score.weights is None else score.weights.to_numpy()
        (lower, upper), rule = crump_bounds(e, s), "crump"
    else:
        lower, upper = (float(b) for b in trim)
        if not 0.0 <= lower < upper <= 1.0:
            msg = f"trim bounds must satisfy 0 <= lower < upper <= 1; got {trim!r}"
            raise ValueError(msg)
        rule = "fixed"
    keep = (e >= lower) & (e <= upper)
    t = score.t
    result = Trimming(
        keep=pd.Series(keep, index=score.score.index, name="keep"),
        lower=lower,
        upper=upper,
        rule=rule,
        dropped_treated=int(np.sum(~keep & (t == 1))),
        dropped_control=int(np.sum(~keep & (t == 0))),
    )
    for arm, label in ((1, "treated"), (0, "control")):
        if not np.any(keep & (t == arm)):
            msg = f"trimming to [{lower:.4g}, {upper:.4g}] leaves no {label} rows: no overlap"
            raise OverlapError(msg)
    return result


def balancing_weights(
    score: np.ndarray | pd.Series,
    treated: np.ndarray | pd.Series,
    *,
    estimand: str = "ATE",
    normalized: bool = True,
    weights: np.ndarray | pd.Series | None = None,
) -> np.ndarray:
    r"""Return inverse-probability (balancing) weights for the ATE, ATT or ATC.

    Parameters
    ----------
    score : array-like
        Propensity scores in ``(0, 1)``.
    treated : array-like
        0/1 treatment indicator.
    estimand : {"ATE", "ATT", "ATC"}, optional
        The target population.
    normalized : bool, optional
        Scale the weights to sum to the (survey-weighted) number of units in each arm (Hájek);
        otherwise raw Horvitz-Thompson weights.
    weights : array-like, optional
        Survey weights, multiplied into the balancing weights.

    Returns
    -------
    numpy.ndarray
        The weight of every row.

    Raises
    ------
    ValueError
        Unknown estimand.
    OverlapError
        A score of exactly 0 or 1.

    Notes
    -----
    ATE: :math:`T/e + (1-T)/(1-e)`; ATT: :math:`T + (1-T)e/(1-e)` (odds weights); ATC:
    :math:`T(1-e)/e + (1-T)`; each times the survey weight :math:`s_i` (WeightIt#34).
    Normalised, each arm's weights are rescaled to sum to :math:`\sum_{arm} s_i`.
    """
    if estimand not in ESTIMANDS:
        msg = f"estimand must be one of {ESTIMANDS}; got {estimand!r}"
        raise ValueError(msg)
    e = np.asarray(score, dtype=float)
    t = np.asarray(treated, dtype=float)
    s = np.ones_like(e) if weights is None else np.asarray(weights, dtype=float)
    if np.any((e <= 0) | (e >= 1)):
        msg = f"{int(np.sum((e <= 0) | (e >= 1)))} propensity scores are 0 or 1: no overlap"
        raise OverlapError(msg)
    w1 = {"ATE": 1 / e, "ATT": np.ones_like(e), "ATC": (1 - e) / e}[estimand]
    w0 = {"ATE": 1 / (1 - e), "ATT": e / (1 - e), "ATC": np.ones_like(e)}[estimand]
    w = s * np.where(t == 1, w1, w0)
    if normalized:
        for arm in (0, 1):
            mask = t == arm
            w[mask] *= s[mask].sum() / w[mask].sum()
    return w


def effective_sample_size(weights: np.ndarray | pd.Series) -> float:
    r"""Return Kish's effective sample size.

    Parameters
    ----------
    weights : array-like
        Non-negative weights.

    Returns
    -------
    float
        :math:`(\sum w)^2 / \sum w^2`.
    """
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w**2))


def balance_weighted(
    data: pd.DataFrame,
    treatment: str,
    variables: Sequence[str],
    weights: np.ndarray | pd.Series,
    *,
    survey_weights: str | None = None,
    smd_denominator: str | None = None,
    estimand: str = "ATE",
    **kw: object,
) -> pd.DataFrame:
    """Balance before and after weighting or matching, through :func:`balance_table`.

    Parameters
    ----------
    data : pandas.DataFrame
        The rows the weights belong to (same order and length as ``weights``).
    treatment : str
        The 0/1 treatment column.
    variables : sequence of str
        Numeric balance variables.
    weights : array-like
        Balancing (or matching) weights; rows with weight 0 are left out of the "after" rows.
    survey_weights : str, optional
        Survey weights column: the "before" rows use it alone.
    smd_denominator : str, optional
        ``"treated"`` for the ATT (cobalt's convention) and ``"pooled"`` otherwise by default.
    estimand : str, optional
        Picks the default denominator.
    **kw : object
        Passed to :func:`balance_table` (``cluster``, ``pvalues``, ...).

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`balance_table` with a ``sample`` column (``"before"``/``"after"``)
        and, per sample and arm, the Kish effective sample size ``ess``.

    Notes
    -----
    "After" standard deviations use the weighted (reliability-weights) formula of
    :func:`balance_table`, as cobalt. Unit: the row; no key is needed.
    """
    w = np.asarray(weights, dtype=float)
    if w.shape[0] != len(data):
        msg = f"weights have {w.shape[0]} values for {len(data)} rows"
        raise ValueError(msg)
    column = "_balancing_weight"
    if column in data.columns:
        msg = f"column {column!r} already exists in the data"
        raise ValueError(msg)
    denominator = smd_denominator or ("treated" if estimand == "ATT" else "pooled")
    kw = {"pvalues": False, **kw}
    before = balance_table(
        data,
        treatment,
        variables,
        weights=survey_weights,
        weights_kind="sampling",
        smd_denominator=denominator,
        **kw,
    )
    positive = w > 0
    dropped = int((~positive).sum())
    frame = data.assign(**{column: w}).loc[positive]
    after = balance_table(
        frame,
        treatment,
        variables,
        weights=column,
        weights_kind="sampling",
        smd_denominator=denominator,
        **kw,
    )
    t = data[treatment].to_numpy()
    s = np.ones(len(data)) if survey_weights is None else data[survey_weights].to_numpy(float)
    ess_before = {arm: effective_sample_size(s[t == arm]) for arm in (0, 1)}
    ess_after = {arm: effective_sample_size(w[(t == arm) & positive]) for arm in (0, 1)}
    before = before.assign(sample="before", ess=before["arm"].map(ess_before))
    after = after.assign(sample="after", ess=after["arm"].map(ess_after))
    if dropped:
        after = after.assign(n_zero_weight_rows=dropped)
    return pd.concat([before, after], ignore_index=True)


def _warn_extreme(e: np.ndarray, threshold: float = 0.01) -> str | None:
    """Warn when scores lie close to 0 or 1 (weights explode); return the note."""
    n = int(np.sum((e < threshold) | (e > 1 - threshold)))
    if not n:
        return None
    message = (
        f"{n} propensity scores lie outside [{threshold}, {1 - threshold}]: weights are "
        "extreme and overlap is poor; consider trim=(0.1, 0.9) or trim='crump'"
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    return message
