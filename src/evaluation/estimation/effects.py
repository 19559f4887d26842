"""Effect estimators: one regression core and the designs built on it (ANCOVA, DiD, Lin, subgroups).

Every function returns frozen, tidy results (:class:`EffectEstimate`, :class:`EffectEstimates`)
whose ``notes`` state the variance formula, its small-sample factor and degrees of freedom.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.estimation._design import _Design, levels_of
from evaluation.estimation.bootstrap import contrast_vector
from evaluation.estimation.covariance import RegressionFit, fit_model
from evaluation.estimation.inference import (
    AssignmentSource,
    FewClustersWarning,
    InferenceOptions,
    InferenceRequest,
    apply_inference_all,
)
from evaluation.estimation.randomization import assignment_from
from evaluation.estimation.results import EffectEstimate, EffectEstimates

__all__ = [
    "EffectSpec",
    "FewClustersWarning",
    "ancova",
    "did",
    "did_table",
    "estimate_effect",
    "estimate_effects",
    "heterogeneity",
]

ESTIMATORS = ("ancova", "did", "ols")
MISSING_BASELINE = ("indicator", "drop")


_VCOV_NOTES = {
    "iid": "iid: V = s^2 (X'WX)^-1, s^2 = sum w e^2 / (N - K); t on N - K df",
    "HC1": "HC1: V = N/(N - K) (X'WX)^-1 (sum w^2 e^2 x x') (X'WX)^-1; t on N - K df",
    "HC2": (
        "HC2: scores divided by 1 - h_ii (whitened WLS leverage incl. fixed effects); t on N - K df"
    ),
    "CR1": (
        "CR1 (Stata): V = G/(G - 1) (N - 1)/(N - K) (X'WX)^-1 (sum_g s_g s_g') (X'WX)^-1; "
        "t on G - 1 df; fixed effects nested in clusters count once in K"
    ),
    "CR2": (
        "CR2 (Bell-McCaffrey, clubSandwich): scores adjusted by (I - H_gg)^(-1/2) "
        "(pseudo-inverse); t on Satterthwaite df"
    ),
}


def _is_binary(values: pd.Series) -> bool:
    observed = pd.unique(values.dropna())
    return set(np.asarray(observed, dtype=float).tolist()) <= {0.0, 1.0}


def _require_binary(data: pd.DataFrame, column: str, role: str) -> None:
    if column not in data.columns:
        msg = f"{role} column {column!r} not found in the data"
        raise KeyError(msg)
    values = data[column]
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        msg = f"{role} column {column!r} must be numeric 0/1; found dtype {values.dtype}"
        raise ValueError(msg)
    if not _is_binary(values):
        bad = sorted(set(pd.unique(values.dropna()).tolist()) - {0, 1})
        msg = f"{role} column {column!r} must be 0/1; found values {bad[:10]}"
        raise ValueError(msg)


def _weighted_mean(values: np.ndarray, weights: np.ndarray | None) -> float:
    if values.size == 0:
        return math.nan
    return float(np.average(values, weights=weights))


def _count_clusters(design: _Design, mask: np.ndarray) -> int | None:
    if design.clusters is None:
        return None
    return int(np.count_nonzero(np.bincount(design.clusters[mask], minlength=design.n_clusters)))


def _estimate_from_fit(
    fit: RegressionFit,
    *,
    outcome: str,
    treatment: str,
    estimator: str,
    level: float,
    contrast: Mapping[str, float] | None = None,
    control: np.ndarray | None = None,
    treated: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    subgroup: str | None = None,
    notes: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> EffectEstimate:
    """Turn a fit and a contrast into the tidy :class:`EffectEstimate`."""
    if not 0 < level < 1:
        msg = f"level must lie strictly between 0 and 1; got {level!r}"
        raise ValueError(msg)
    design = fit.design
    contrast = contrast or {design.names[design.focal]: 1.0}
    effect, se, df = fit.contrast(contrast)
    t_stat = effect / se if se > 0 else math.nan
    pvalue = float(2 * stats.t.sf(abs(t_stat), df))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    rows = np.ones(design.nobs, dtype=bool) if rows is None else rows
    control = (design.treatment == 0) if control is None else control
    treated = (design.treatment != 0) if treated is None else treated
    w = design.weights
    in_control = rows & control
    control_mean = _weighted_mean(design.y_raw[in_control], None if w is None else w[in_control])
    all_notes = list(design.notes)
    if not in_control.any():
        all_notes.append("no untreated rows in the sample: control_mean is NaN")
    n_clusters = n_treated = n_control = None
    if fit.n_clusters is not None:
        n_clusters = _count_clusters(design, rows)
        n_treated = _count_clusters(design, rows & treated)
        n_control = _count_clusters(design, rows & control)
        binary = bool(np.isin(design.treatment, (0.0, 1.0)).all())
        if binary and min(n_treated, n_control) <= 1:
            which = "treated" if n_treated <= 1 else "control"
            count = n_treated if which == "treated" else n_control
            message = (
                f"{outcome!r}: only {count} {which} cluster(s) of {n_clusters} in "
                f"{design.cluster_name!r}; cluster-robust standard errors are unreliable "
                "(MacKinnon & Webb); use randomization inference"
            )
            warnings.warn(message, FewClustersWarning, stacklevel=3)
            all_notes.append(message)
    vcov_note = _VCOV_NOTES[fit.vcov] + f" (K = {fit.k}, N = {design.n_effective:g}"
    vcov_note += f", G = {fit.n_clusters})" if fit.n_clusters is not None else ")"
    all_notes.append(vcov_note)
    all_notes.extend(notes)
    info = {
        "t_stat": t_stat,
        "k": fit.k,
        "n_dropped_missing": design.n_dropped_missing,
        "n_dropped_singletons": design.n_dropped_singletons,
        "nobs_model": design.nobs,
    }
    if design.weights is not None:
        info["weights_kind"] = design.weights_kind
    if n_control is not None:
        info["n_control_clusters"] = n_control
    if set(contrast) != {design.names[design.focal]}:
        info["contrast"] = tuple(contrast.items())
    info.update(extra or {})
    return EffectEstimate(
        outcome=outcome,
        estimator=estimator,
        effect=effect,
        std_error=se,
        pvalue=pvalue,
        ci_lower=effect - half,
        ci_upper=effect + half,
        df=float(df),
        nobs=int(rows.sum()),
        n_clusters=n_clusters,
        control_mean=control_mean,
        vcov=fit.vcov,
        inference="analytic",
        treatment=treatment,
        level=level,
        n_treated_clusters=n_treated,
        subgroup=subgroup,
        notes=tuple(dict.fromkeys(all_notes)),
        extra=info,
        fit=fit,
    )


_INFERENCE_KEYS = ("inference", "bootstrap_draws", "weights_type", "seed", "permutations")


def _pop_inference(kw: dict[str, Any]) -> tuple[InferenceOptions, str | None]:
    """Take the inference options (and ``strata``) out of keyword arguments."""
    options = InferenceOptions(
        **{("method" if k == "inference" else k): kw.pop(k) for k in _INFERENCE_KEYS if k in kw}
    )
    return options, kw.pop("strata", None)


@dataclass(frozen=True)
class _Pending:
    """An analytic estimate waiting for its inference, and what to do with the result."""

    request: InferenceRequest
    finish: Callable[[EffectEstimate], EffectEstimate] | None = None


def _pending(
    estimate: EffectEstimate,
    options: InferenceOptions,
    assignment: AssignmentSource,
    contrast: Mapping[str, float] | None = None,
) -> _Pending:
    """Prepare the requested inference of an analytic estimate (applied by :func:`_resolve`)."""
    fit = estimate.fit
    request = InferenceRequest(
        estimate,
        fit,
        contrast_vector(fit, contrast),
        options,
        assignment,
        estimate.extra.get("n_control_clusters"),
    )
    return _Pending(request)


def _then(pending: _Pending, finish: Callable[[EffectEstimate], EffectEstimate]) -> _Pending:
    """Add a step applied to the estimate after its inference."""
    first = pending.finish
    if first is None:
        return _Pending(pending.request, finish)
    return _Pending(pending.request, lambda e: finish(first(e)))


def _resolve(pending: Sequence[_Pending]) -> list[EffectEstimate]:
    """Apply the inference of every pending estimate at once (see ``apply_inference_all``)."""
    done = apply_inference_all([p.request for p in pending])
    return [e if p.finish is None else p.finish(e) for p, e in zip(pending, done, strict=True)]


def _strata_rows(data: pd.DataFrame, design: _Design, strata: str | None) -> np.ndarray | None:
    if strata is None:
        return None
    if strata not in data.columns:
        msg = f"strata column {strata!r} not found in the data"
        raise KeyError(msg)
    return data.loc[design.index, strata].to_numpy()


def estimate_effect(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weights_kind: str = "analytic",
    vcov: str = "CR1",
    level: float = 0.95,
    subset: pd.Series | np.ndarray | None = None,
    lin: bool = False,
    inference: str = "analytic",
    bootstrap_draws: int = 9_999,
    weights_type: str | None = None,
    seed: int | np.random.Generator | None = None,
    strata: str | None = None,
    permutations: int = 9_999,
) -> EffectEstimate:
    r"""Estimate the effect of a treatment by (weighted) least squares with absorbed fixed effects.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation; never modified.
    outcome : str
        Outcome column (numeric).
    treatment : str
        Treatment column (numeric: a 0/1 indicator, a dose, ...). Its coefficient is the effect.
    covariates : sequence of str, optional
        Column names or formulaic terms (``"age"``, ``"I(age**2)"``, ``"C(city)"``,
        ``"age:C(sex)"``).
    fixed_effects : sequence of str, optional
        Factors absorbed by demeaning (never as dummy columns).
    cluster : str, optional
        Cluster column (string, categorical or integer identifiers).
    weights : str, optional
        Positive weight column.
    weights_kind : {"analytic", "sampling", "frequency"}, optional
        What the weights mean (see Notes).
    vcov : {"CR1", "CR2", "HC1", "HC2", "iid"}, optional
        Variance estimator; ``CR*`` need ``cluster``.
    level : float, optional
        Confidence level of the interval.
    subset : array-like of bool, optional
        Rows of ``data`` to use: a boolean Series with the index of ``data``, or an array in
        row order.
    lin : bool, optional
        Lin (2013) adjustment: add treatment x covariates centred at their (weighted) sample
        means; needs a 0/1 treatment.
    inference : {"analytic", "wild", "randomization", "auto"}, optional
        How the p-value and interval are computed: ``"analytic"`` (t on the df of ``vcov``),
        ``"wild"`` (WCR wild cluster bootstrap,
        :func:`~evaluation.estimation.wild_cluster_bootstrap`),
        ``"randomization"`` (re-assign the treatment across clusters within ``strata``,
        :func:`~evaluation.estimation.randomization_inference`) or ``"auto"`` (the few-cluster
        rule of :func:`evaluation.estimation.inference.apply_inference`). ``std_error`` and
        ``df`` always stay those of ``vcov``.
    bootstrap_draws : int, optional
        Wild bootstrap draws B (9,999); full enumeration when ``2^G <= B``.
    weights_type : {"rademacher", "webb", "mammen"}, optional
        Wild bootstrap weights; by default Webb below 12 clusters and Rademacher otherwise.
    seed : int or numpy.random.Generator, optional
        Seed of the bootstrap or permutation draws (``None`` means seed 0, so results are
        reproducible).
    strata : str, optional
        Randomization inference: permute the treatment within the levels of this column.
    permutations : int, optional
        Randomization inference: re-assignments (9,999) unless all can be enumerated.

    Returns
    -------
    EffectEstimate
        The treatment coefficient with its standard error, p-value, interval, df, N, clusters,
        control mean (weighted mean outcome of rows with treatment 0) and the raw fit in ``fit``.
        ``extra`` holds ``n_dropped_missing``, ``n_dropped_singletons``, ``k``, ``t_stat``,
        ``n_control_clusters`` and, for resampling inference, the draws used (and with
        ``"auto"`` the CR1, CR2 and WCR results side by side).

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Non-numeric, constant or collinear treatment; non-positive weights; an unknown
        ``vcov`` or ``weights_kind``; a clustered ``vcov`` without ``cluster``.

    Warns
    -----
    FewClustersWarning
        One treated (or one control) cluster under a clustered variance; with
        ``inference="auto"``, fewer than 4 (or under 10% of the) treated or control clusters.

    Notes
    -----
    Fits :math:`y_i = \tau T_i + X_i'\gamma + \alpha_{f_1(i)} + \dots + \varepsilon_i` by WLS
    with weights :math:`w_i` (1 when unweighted). The fixed effects are partialled out
    (Frisch-Waugh-Lovell): one factor by exact weighted group demeaning, several by alternating
    projections to a tolerance of 1e-10 of each column's scale. Rows alone in a level of a
    fixed effect (singletons) are dropped iteratively (they are fit perfectly) and counted in
    ``extra["n_dropped_singletons"]``; rows with a missing outcome, treatment, covariate, fixed
    effect, cluster or weight are dropped and counted in ``extra["n_dropped_missing"]``.
    Covariate columns collinear with others or with the fixed effects are dropped (noted);
    a collinear treatment raises.

    ``K`` = regressors (intercept included when there are no fixed effects) + fixed-effect
    levels - redundant levels (the first two factors counted exactly by connected components,
    one per further factor). For clustered variances a factor nested in the clusters counts
    as one (fixest ``fixef.K = "nested"``); a non-nested factor counts fully.

    Variances, with :math:`M = (X'WX)^{-1}`, residuals :math:`e` and :math:`N` rows:

    - ``iid``: :math:`s^2 M`, :math:`s^2 = \sum w e^2/(N-K)`; t on N - K df.
    - ``HC1``: :math:`N/(N-K)\, M (\sum w_i^2 e_i^2 x_i x_i') M`; t on N - K df.
    - ``HC2``: scores divided by :math:`1 - h_i` with the whitened leverage
      :math:`h_i = w_i x_i' M x_i` plus the fixed effects' leverage (statsmodels WLS and
      clubSandwich's inverse-variance working model; Stata's ``aweight`` HC2 rescales the
      weights to mean one and gives slightly different numbers); for frequency weights the
      leverage of each copy, :math:`x_i'Mx_i`. With sampling weights HC2 therefore keeps the
      inverse-variance leverage and is not the one-row-cluster limit of CR2; t on N - K df.
    - ``CR1``: :math:`G/(G-1)\,(N-1)/(N-K)\, M (\sum_g s_g s_g') M` with
      :math:`s_g = \sum_{i\in g} w_i e_i x_i` (Stata); t on G - 1 df.
    - ``CR2``: :math:`M (\sum_g X_g'W_g A_g e_g e_g' A_g W_g X_g) M` with
      :math:`A_g` the symmetric pseudo-inverse square root of :math:`I - H_{gg}` (the full hat
      matrix, fixed effects included; working model :math:`\Theta = W^{-1}`), or for sampling
      weights of :math:`(I-H)_{g\cdot}(I-H)_{g\cdot}'` (working model :math:`\Theta = I`,
      clubSandwich's default for weighted fits); t on the Bell-McCaffrey/Satterthwaite df
      :math:`(\sum_g G_g'\Theta G_g)^2/\sum_{g,h}(G_g'\Theta G_h)^2`. No further factor.

    Weights (fixest#38/#251, pyfixest#367): point estimates are the same WLS for every kind.
    ``analytic`` (precision) and ``sampling`` (inverse inclusion probability) weights count
    rows in N; ``iid`` is refused for sampling weights. ``frequency`` weights stand for
    :math:`w_i` identical rows: N is :math:`\sum w_i` in every factor and df, and every variance
    equals the unweighted one on the expanded data (HC leverage :math:`x_i'Mx_i`).

    Inference. ``"analytic"``: :math:`p = 2 P(t_{df} > |\hat\tau/se|)`, interval
    :math:`\hat\tau \pm t_{df, (1+level)/2}\, se`. ``"wild"``: WCR bootstrap of the CR1 t
    (null imposed; symmetric p-value :math:`\#\{|t^*| > |t|\}/B`, ties within 1e-9 not
    counted, as boottest), interval by test inversion. ``"randomization"``: the CR1 t over
    re-assignments of the treatment across clusters (rows when unclustered) within ``strata``;
    :math:`p = \#\{|t_b| \ge |t|\}/B` over all assignments when enumerable, else
    :math:`(1 + \#)/(B + 1)`; interval by inverting the sharp null of a constant effect.
    ``"auto"``: METHODS 2.6, see :func:`evaluation.estimation.inference.apply_inference`.
    The method is named in ``inference`` and the rule it followed in ``notes``.
    """
    options = InferenceOptions(inference, bootstrap_draws, weights_type, seed, permutations)
    pending = _effect_pending(
        data,
        outcome,
        treatment,
        options,
        covariates=covariates,
        fixed_effects=fixed_effects,
        cluster=cluster,
        weights=weights,
        weights_kind=weights_kind,
        vcov=vcov,
        level=level,
        subset=subset,
        lin=lin,
        strata=strata,
    )
    return _resolve([pending])[0]


def _effect_pending(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    options: InferenceOptions,
    *,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weights_kind: str = "analytic",
    vcov: str = "CR1",
    level: float = 0.95,
    subset: pd.Series | np.ndarray | None = None,
    lin: bool = False,
    strata: str | None = None,
) -> _Pending:
    """Return the analytic estimate of :func:`estimate_effect` and its pending inference."""
    if lin:
        _require_binary(data, treatment, "treatment")
    fit = fit_model(
        data,
        outcome,
        treatment,
        vcov=vcov,
        covariates=covariates,
        fixed_effects=fixed_effects,
        cluster=cluster,
        weights=weights,
        weights_kind=weights_kind,
        subset=subset,
        lin=lin,
    )
    design = fit.design
    estimator = "lin" if lin else "ols"
    estimate = _estimate_from_fit(
        fit, outcome=outcome, treatment=treatment, estimator=estimator, level=level
    )
    source: AssignmentSource = "the Lin interactions depend on the treatment"
    if not lin:

        def source() -> Any:
            rows = _strata_rows(data, design, strata)
            return assignment_from(design, design.treatment, strata=rows, strata_name=strata)

    return _pending(estimate, options, source)


def _ancova_frame(
    data: pd.DataFrame, outcome: str, baseline_outcome: str, missing_baseline: str
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Return the frame, the baseline covariate terms and notes for ANCOVA."""
    if missing_baseline not in MISSING_BASELINE:
        msg = f"missing_baseline must be one of {MISSING_BASELINE}; got {missing_baseline!r}"
        raise ValueError(msg)
    for role, column in [("outcome", outcome), ("baseline outcome", baseline_outcome)]:
        if column not in data.columns:
            msg = f"{role} column {column!r} not found in the data"
            raise KeyError(msg)
    missing = data[baseline_outcome].isna() & data[outcome].notna()
    if missing_baseline == "drop" or not missing.any():
        return data, [baseline_outcome], []
    indicator = f"{baseline_outcome}_missing"
    if indicator in data.columns:
        msg = f"cannot add missing-baseline indicator {indicator!r}: the column already exists"
        raise ValueError(msg)
    frame = data.assign(
        **{
            baseline_outcome: data[baseline_outcome].fillna(0.0),
            indicator: data[baseline_outcome].isna().astype(float),
        }
    )
    note = (
        f"baseline {baseline_outcome!r} missing for {int(missing.sum())} rows: set to 0 and "
        f"flagged by {indicator!r} (dummy-out)"
    )
    return frame, [baseline_outcome, indicator], [note]


def ancova(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    baseline_outcome: str,
    *,
    covariates: Sequence[str] = (),
    missing_baseline: str = "indicator",
    **kw: Any,
) -> EffectEstimate:
    r"""Estimate the effect by ANCOVA: endline outcome on treatment and the baseline outcome.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit with the endline outcome and its baseline value.
    outcome : str
        Endline outcome column.
    treatment : str
        Treatment column.
    baseline_outcome : str
        Baseline value of the outcome.
    covariates : sequence of str, optional
        Further covariates (names or formula terms).
    missing_baseline : {"indicator", "drop"}, optional
        ``"indicator"`` (dummy-out): a missing baseline is set to 0 and flagged by a new
        indicator ``<baseline>_missing`` entered as a covariate; ``"drop"``: rows with a
        missing baseline are dropped (and counted).
    **kw : Any
        Passed to :func:`estimate_effect` (``fixed_effects``, ``cluster``, ``weights``,
        ``weights_kind``, ``vcov``, ``level``, ``subset``, ``lin`` and the inference options
        ``inference``, ``bootstrap_draws``, ``weights_type``, ``seed``, ``strata``,
        ``permutations``).

    Returns
    -------
    EffectEstimate
        The treatment coefficient (``estimator="ancova"``).

    Notes
    -----
    Fits :math:`y_{i1} = \tau T_i + \rho y_{i0} + X_i'\gamma + \alpha_{s(i)} + \varepsilon_i`.
    With one baseline and one follow-up round and outcome autocorrelation :math:`\rho`, its
    variance relative to a post-only comparison is :math:`1-\rho^2`, against
    :math:`2(1-\rho)` for difference-in-differences (McKenzie 2012): ANCOVA dominates both.
    The value the missing baseline is set to does not change the treatment coefficient: the
    indicator absorbs it. Variance conventions as in :func:`estimate_effect`.
    """
    frame, terms, notes = _ancova_frame(data, outcome, baseline_outcome, missing_baseline)
    estimate = estimate_effect(frame, outcome, treatment, covariates=[*terms, *covariates], **kw)
    label = "ancova-lin" if kw.get("lin") else "ancova"
    return estimate.replace(estimator=label, notes=estimate.notes + tuple(notes))


def did(
    panel: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    post: str,
    unit: str | None = None,
    period: str | None = None,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    **kw: Any,
) -> EffectEstimate:
    r"""Estimate a difference-in-differences effect (2x2 or two-way fixed effects).

    Parameters
    ----------
    panel : pandas.DataFrame
        Long data, one row per unit (or respondent) and period.
    outcome : str
        Outcome column.
    treatment : str
        0/1 indicator of the treated group.
    post : str
        0/1 indicator of the post-treatment periods.
    unit : str, optional
        Unit identifier: adds unit fixed effects (panel TWFE). Without it the treated-group
        indicator enters as a regressor (repeated cross-sections, the classic 2x2).
    period : str, optional
        Period identifier: adds period fixed effects in place of the ``post`` dummy.
    covariates : sequence of str, optional
        Further covariates (names or formula terms).
    fixed_effects : sequence of str, optional
        Further absorbed factors.
    cluster : str, optional
        Cluster column; defaults to ``unit`` when a unit is given.
    **kw : Any
        Passed to :func:`estimate_effect` (``weights``, ``weights_kind``, ``vcov``, ``level``,
        ``subset`` and the inference options ``inference``, ``bootstrap_draws``,
        ``weights_type``, ``seed``, ``strata``, ``permutations``). Randomization inference
        re-assigns the treated-group indicator across clusters; it needs ``unit`` (the 2x2
        without unit fixed effects has the group indicator among the regressors).

    Returns
    -------
    EffectEstimate
        The coefficient of ``treatment x post`` (``estimator="did"``); ``control_mean`` is the
        mean outcome of the comparison group in the post period.

    Raises
    ------
    ValueError
        ``treatment`` or ``post`` not 0/1.

    Notes
    -----
    Panel: :math:`y_{it} = \alpha_i + \lambda_t + \tau (T_i \times post_t) + X_{it}'\gamma +
    \varepsilon_{it}`. Without ``unit``: :math:`y = a + b T + \lambda_t + \tau T\times post +
    X'\gamma + \varepsilon` (``\lambda_t`` is ``c\, post`` without ``period``). SEs clustered at
    the unit by default; variance conventions as in :func:`estimate_effect` (unit fixed effects
    nested in the clusters count once in K).
    """
    pending = _did_pending(
        panel,
        outcome,
        treatment,
        post=post,
        unit=unit,
        period=period,
        covariates=covariates,
        fixed_effects=fixed_effects,
        cluster=cluster,
        **kw,
    )
    return _resolve([pending])[0]


def _did_pending(
    panel: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    post: str,
    unit: str | None = None,
    period: str | None = None,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    **kw: Any,
) -> _Pending:
    """Return the analytic estimate of :func:`did` and its pending inference."""
    _require_binary(panel, treatment, "treatment")
    _require_binary(panel, post, "post")
    interaction = f"{treatment}:{post}"
    frame = panel.assign(**{interaction: panel[treatment] * panel[post]})
    fes = list(fixed_effects)
    terms: list[str] = []
    notes: list[str] = []
    if unit is not None:
        fes.insert(0, unit)
        if cluster is None:
            cluster = unit
            notes.append(f"standard errors clustered by unit {unit!r} (default)")
    else:
        terms.append(treatment)
    if period is not None:
        fes.append(period)
    else:
        terms.append(post)
    model = {name: kw.pop(name) for name in ("weights", "weights_kind", "subset") if name in kw}
    vcov = kw.pop("vcov", "CR1")
    level = kw.pop("level", 0.95)
    options, strata = _pop_inference(kw)
    if kw:
        msg = f"did() got unexpected arguments {sorted(kw)}"
        raise TypeError(msg)
    fit = fit_model(
        frame,
        outcome,
        interaction,
        vcov=vcov,
        covariates=[*terms, *covariates],
        fixed_effects=fes,
        cluster=cluster,
        **model,
    )
    design = fit.design
    sample = frame.loc[design.index]
    group = sample[treatment].to_numpy(dtype=float)
    after = sample[post].to_numpy(dtype=float)
    estimate = _estimate_from_fit(
        fit,
        outcome=outcome,
        treatment=interaction,
        estimator="did",
        level=level,
        control=(group == 0) & (after == 1),
        treated=group == 1,
        notes=notes,
    )
    source: AssignmentSource = "the 2x2 without unit fixed effects has the group among regressors"
    if unit is not None:

        def source() -> Any:
            rows = _strata_rows(frame, design, strata)
            return assignment_from(design, group, multiplier=after, strata=rows, strata_name=strata)

    return _pending(estimate, options, source)


def heterogeneity(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    by: str,
    *,
    covariates: Sequence[str] = (),
    **kw: Any,
) -> EffectEstimates:
    r"""Estimate subgroup effects and test their differences in one interacted model.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    outcome : str
        Outcome column.
    treatment : str
        Treatment column.
    by : str
        Subgroup column (any discrete values; rows where it is missing are dropped and
        counted).
    covariates : sequence of str, optional
        Covariates (names or formula terms), common to all subgroups.
    **kw : Any
        Passed to the core (``fixed_effects``, ``cluster``, ``weights``, ``weights_kind``,
        ``vcov``, ``level``, ``subset``) and the inference options of
        :func:`estimate_effect` (randomization inference is not available for interactions).

    Returns
    -------
    EffectEstimates
        One estimate per subgroup (``subgroup="<by>=<level>"``, ``estimator="subgroup"``; N,
        clusters and control mean of that subgroup), then one per difference from the first
        (reference) level (``subgroup="<by>=<l> - <by>=<ref>"``,
        ``estimator="difference"``). With three or more levels the difference rows carry the
        joint test of equal effects in ``extra`` (``joint_F``, ``joint_df1``, ``joint_df2``,
        ``joint_pvalue``).

    Raises
    ------
    ValueError
        Fewer than two subgroups, or ``lin=True`` (not defined for interacted models).

    Notes
    -----
    Fits :math:`y = \sum_s \tau_s T\,1[s] + \sum_{s \neq s_0} \delta_s 1[s] + X'\gamma +
    \alpha + \varepsilon` on the pooled sample, so subgroup effects and their differences share
    one variance matrix (clustered as requested). Differences are contrasts
    :math:`\tau_s - \tau_{s_0}`; under ``CR2`` each has its own Satterthwaite df and the joint
    test is the naive Wald F on G - 1 df (not HTZ).
    """
    pending = _heterogeneity_pending(data, outcome, treatment, by, covariates=covariates, **kw)
    return EffectEstimates(tuple(_resolve(pending)))


def _heterogeneity_pending(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    by: str,
    *,
    covariates: Sequence[str] = (),
    **kw: Any,
) -> list[_Pending]:
    """Return the analytic estimates of :func:`heterogeneity` and their pending inference."""
    if kw.pop("lin", False):
        msg = "heterogeneity() does not support lin=True"
        raise ValueError(msg)
    if treatment not in data.columns:
        msg = f"treatment column {treatment!r} not found in the data"
        raise KeyError(msg)
    levels = levels_of(data, by, "subgroup")
    present = data[by].notna()
    treat = data[treatment]
    inter = {f"{treatment}:{by}={lv}": (data[by] == lv) * treat for lv in levels}
    dummies = {f"{by}={lv}": (data[by] == lv).astype(float) for lv in levels[1:]}
    new = {name: col.where(present) for name, col in {**inter, **dummies}.items()}
    clash = [name for name in new if name in data.columns]
    if clash:
        msg = f"cannot build interaction columns {clash}: names already in the data"
        raise ValueError(msg)
    frame = data.assign(**new)
    names = list(inter)
    vcov = kw.pop("vcov", "CR1")
    level = kw.pop("level", 0.95)
    options, _ = _pop_inference(kw)
    no_ri = "subgroup effects are interactions of the treatment"
    fit = fit_model(
        frame,
        outcome,
        names[0],
        vcov=vcov,
        covariates=[*dummies, *covariates],
        extra_regressors=names[1:],
        **kw,
    )
    design = fit.design
    sample = frame.loc[design.index]
    t = sample[treatment].to_numpy(dtype=float)
    estimates = []
    for lv, name in zip(levels, names, strict=True):
        rows = (sample[by] == lv).to_numpy()
        estimates.append(
            _estimate_from_fit(
                fit,
                outcome=outcome,
                treatment=treatment,
                estimator="subgroup",
                level=level,
                contrast={name: 1.0},
                control=t == 0,
                treated=t != 0,
                rows=rows,
                subgroup=f"{by}={lv}",
            )
        )
        estimates[-1] = _pending(estimates[-1], options, no_ri, {name: 1.0})
    joint: dict[str, float] = {}
    contrasts = [{name: 1.0, names[0]: -1.0} for name in names[1:]]
    if len(levels) > 2:
        f_stat, q, df2, p = fit.wald_test(contrasts)
        joint = {"joint_F": f_stat, "joint_df1": q, "joint_df2": df2, "joint_pvalue": p}
    for lv, contrast in zip(levels[1:], contrasts, strict=True):
        estimates.append(
            _estimate_from_fit(
                fit,
                outcome=outcome,
                treatment=treatment,
                estimator="difference",
                level=level,
                contrast=contrast,
                control=t == 0,
                treated=t != 0,
                subgroup=f"{by}={lv} - {by}={levels[0]}",
                extra=joint,
            )
        )
        estimates[-1] = _pending(estimates[-1], options, no_ri, contrast)
    return estimates


def _freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class EffectSpec:
    """A specification to run for many outcomes and subgroups (built from the analysis plan).

    Attributes
    ----------
    outcomes : tuple of str
        Outcome columns.
    treatment : str
        Treatment column.
    estimator : {"ancova", "did", "ols"}
        The design.
    covariates : tuple of str
        Covariates (names or formula terms).
    fixed_effects : tuple of str
        Absorbed factors.
    cluster : str or None
        Cluster column.
    subgroups : tuple of str
        Subgroup columns; each adds subgroup effects and difference tests.
    vcov : str
        Variance estimator.
    weights : str or None
        Weight column.
    weights_kind : str
        ``"analytic"``, ``"sampling"`` or ``"frequency"``.
    baseline : Mapping of str to str
        ANCOVA: outcome to its baseline column (required for every outcome).
    missing_baseline : str
        ANCOVA: ``"indicator"`` or ``"drop"``.
    post, unit, period : str or None
        DiD: post indicator (required), unit and period identifiers.
    lin : bool
        Lin (2013) interacted adjustment (``ols`` and ``ancova``).
    level : float
        Confidence level.
    family : Mapping of str to str
        Outcome to its family for multiple-testing adjustment.
    name : str or None
        Specification name, copied into every estimate.
    inference : str
        ``"analytic"``, ``"wild"``, ``"randomization"`` or ``"auto"`` (see
        :func:`estimate_effect`).
    bootstrap_draws : int
        Wild bootstrap draws.
    weights_type : str or None
        Wild bootstrap weights (``None``: Webb below 12 clusters, else Rademacher).
    seed : int, numpy.random.Generator or None
        Seed of the resampling draws; every outcome uses the same draws.
    strata : str or None
        Randomization inference strata.
    permutations : int
        Randomization inference re-assignments.
    """

    outcomes: tuple[str, ...]
    treatment: str
    estimator: str = "ancova"
    covariates: tuple[str, ...] = ()
    fixed_effects: tuple[str, ...] = ()
    cluster: str | None = None
    subgroups: tuple[str, ...] = ()
    vcov: str = "CR1"
    weights: str | None = None
    weights_kind: str = "analytic"
    baseline: Mapping[str, str] = field(default_factory=dict)
    missing_baseline: str = "indicator"
    post: str | None = None
    unit: str | None = None
    period: str | None = None
    lin: bool = False
    level: float = 0.95
    family: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    inference: str = "analytic"
    bootstrap_draws: int = 9_999
    weights_type: str | None = None
    seed: int | np.random.Generator | None = None
    strata: str | None = None
    permutations: int = 9_999

    def __post_init__(self) -> None:
        """Freeze the containers and check the specification is complete."""
        InferenceOptions(
            self.inference, self.bootstrap_draws, self.weights_type, self.seed, self.permutations
        )
        for attr in ("outcomes", "covariates", "fixed_effects", "subgroups"):
            value = getattr(self, attr)
            object.__setattr__(self, attr, (value,) if isinstance(value, str) else tuple(value))
        object.__setattr__(self, "baseline", _freeze_mapping(self.baseline))
        object.__setattr__(self, "family", _freeze_mapping(self.family))
        if not self.outcomes:
            msg = "EffectSpec needs at least one outcome"
            raise ValueError(msg)
        if self.estimator not in ESTIMATORS:
            msg = f"estimator must be one of {ESTIMATORS}; got {self.estimator!r}"
            raise ValueError(msg)
        if self.estimator == "ancova":
            lacking = [o for o in self.outcomes if o not in self.baseline]
            if lacking:
                msg = f"ANCOVA needs a baseline column for outcomes {lacking} (EffectSpec.baseline)"
                raise ValueError(msg)
        if self.estimator == "did" and self.post is None:
            msg = "DiD needs the post indicator (EffectSpec.post)"
            raise ValueError(msg)
        if self.estimator == "did" and (self.subgroups or self.lin):
            msg = "DiD specifications support neither subgroups nor lin=True"
            raise ValueError(msg)


def _run_one(
    data: pd.DataFrame, spec: EffectSpec, outcome: str, seed: int | None
) -> list[_Pending]:
    common: dict[str, Any] = {
        "fixed_effects": spec.fixed_effects,
        "cluster": spec.cluster,
        "weights": spec.weights,
        "weights_kind": spec.weights_kind,
        "vcov": spec.vcov,
        "level": spec.level,
        "inference": spec.inference,
        "bootstrap_draws": spec.bootstrap_draws,
        "weights_type": spec.weights_type,
        "seed": seed,
        "strata": spec.strata,
        "permutations": spec.permutations,
    }
    if spec.estimator == "did":
        main = _did_pending(
            data,
            outcome,
            spec.treatment,
            post=spec.post,
            unit=spec.unit,
            period=spec.period,
            covariates=spec.covariates,
            **common,
        )
        return [main]
    frame, covariates, notes = data, list(spec.covariates), []
    if spec.estimator == "ancova":
        frame, terms, notes = _ancova_frame(
            data, outcome, spec.baseline[outcome], spec.missing_baseline
        )
        covariates = [*terms, *covariates]
    options, strata = _pop_inference(dict(common))
    regression = {k: v for k, v in common.items() if k not in (*_INFERENCE_KEYS, "strata")}
    main = _effect_pending(
        frame,
        outcome,
        spec.treatment,
        options,
        covariates=covariates,
        lin=spec.lin,
        strata=strata,
        **regression,
    )
    label = spec.estimator if not spec.lin else f"{spec.estimator}-lin"
    parts = [_then(main, lambda e: e.replace(estimator=label, notes=e.notes + tuple(notes)))]
    for by in spec.subgroups:
        parts.extend(
            _heterogeneity_pending(
                frame, outcome, spec.treatment, by, covariates=covariates, **common
            )
        )
    return parts


def estimate_effects(data: pd.DataFrame, spec: EffectSpec) -> EffectEstimates:
    """Run one specification for every outcome, and its subgroups.

    Parameters
    ----------
    data : pandas.DataFrame
        The analysis frame.
    spec : EffectSpec
        What to estimate.

    Returns
    -------
    EffectEstimates
        Per outcome: the full-sample effect, then for each subgroup column the subgroup effects
        and their differences (see :func:`heterogeneity`); ``family`` and ``specification`` set
        from the spec.

    Notes
    -----
    Each estimate follows the equation and variance conventions of :func:`ancova`,
    :func:`did` or :func:`estimate_effect`. Subgroup models (:func:`heterogeneity`) use the
    same covariates without the Lin interactions. Resampling inference uses one seed for
    every outcome (a generator in ``spec.seed`` is drawn from once), so outcomes estimated on
    the same clusters share their bootstrap draws and permutations.
    """
    seed = spec.seed
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**32))
    pending, families = [], []
    for outcome in spec.outcomes:
        found = _run_one(data, spec, outcome, seed)
        pending.extend(found)
        families.extend([spec.family.get(outcome)] * len(found))
    out = [
        estimate.replace(family=family, specification=spec.name)
        for estimate, family in zip(_resolve(pending), families, strict=True)
    ]
    return EffectEstimates(tuple(out))


def did_table(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    treatment: str,
    *,
    post: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weights_kind: str = "analytic",
    vcov: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    r"""Build the difference-in-differences display table (as Stata's ``ieddtab``).

    Parameters
    ----------
    panel : pandas.DataFrame
        Long data with a baseline (``post == 0``) and a follow-up (``post == 1``) round.
    outcomes : sequence of str
        Outcome columns, one table row each.
    treatment : str
        0/1 treated-group indicator.
    post : str
        0/1 follow-up indicator.
    covariates : sequence of str, optional
        Covariates for the regression (the means stay raw).
    cluster : str, optional
        Cluster column.
    weights : str, optional
        Weight column.
    weights_kind : str, optional
        Kind of weights (see :func:`estimate_effect`).
    vcov : str, optional
        Variance estimator; ``"CR1"`` with a cluster, ``"HC1"`` otherwise.
    level : float, optional
        Confidence level of the DiD interval.

    Returns
    -------
    pandas.DataFrame
        One row per outcome: baseline means and N by arm, the baseline difference, the first
        differences (follow-up minus baseline) by arm, the DiD with SE, p-value and interval,
        N, clusters, ``vcov`` and ``df``; each difference with its standard error.

    Notes
    -----
    One regression per outcome, :math:`y = a + b T + c\,post + \tau T\times post + X'\gamma +
    \varepsilon` (``ieddtab``'s specification): baseline difference ``b``, control first
    difference ``c``, treated first difference ``c + \tau``, DiD ``\tau``. Means are raw
    (weighted) means of the estimation sample; without covariates they match the regression.
    """
    _require_binary(panel, treatment, "treatment")
    _require_binary(panel, post, "post")
    vcov = vcov or ("CR1" if cluster else "HC1")
    interaction = f"{treatment}:{post}"
    frame = panel.assign(**{interaction: panel[treatment] * panel[post]})
    rows = []
    for outcome in outcomes:
        fit = fit_model(
            frame,
            outcome,
            interaction,
            vcov=vcov,
            covariates=[treatment, post, *covariates],
            cluster=cluster,
            weights=weights,
            weights_kind=weights_kind,
        )
        design = fit.design
        sample = frame.loc[design.index]
        arm = sample[treatment].to_numpy(dtype=float)
        after = sample[post].to_numpy(dtype=float)
        w = design.weights
        row: dict[str, Any] = {"outcome": outcome}
        for label, a in (("control", 0.0), ("treatment", 1.0)):
            for rnd, p in (("baseline", 0.0), ("followup", 1.0)):
                cell = (arm == a) & (after == p)
                row[f"{rnd}_mean_{label}"] = _weighted_mean(
                    design.y_raw[cell], None if w is None else w[cell]
                )
                row[f"{rnd}_n_{label}"] = int(cell.sum())
        for key, contrast in (
            ("baseline_diff", {treatment: 1.0}),
            ("first_diff_control", {post: 1.0}),
            ("first_diff_treatment", {post: 1.0, interaction: 1.0}),
            ("did", {interaction: 1.0}),
        ):
            est, se, df = fit.contrast(contrast)
            row[key], row[f"{key}_se"] = est, se
            if key == "did":
                half = float(stats.t.ppf(0.5 + level / 2, df)) * se
                row["did_pvalue"] = float(2 * stats.t.sf(abs(est / se), df))
                row["did_ci_lower"], row["did_ci_upper"] = est - half, est + half
                row["df"] = df
        row["nobs"] = design.nobs
        row["n_clusters"] = design.n_clusters
        row["vcov"] = vcov
        rows.append(row)
    return pd.DataFrame(rows)
