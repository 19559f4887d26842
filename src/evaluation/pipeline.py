"""Run the analysis plan: its estimation part, from analysis frames to tidy results.

This is the one place where the plan (:mod:`evaluation.plan`, which imports nothing of the
package) meets the estimation layer (:mod:`evaluation.estimation`): every plan option becomes
an argument of a real estimation function here, named by Python (so a wrong name fails when the
call is made, never silently), and nowhere else. The data part of the pipeline (raw exports to
the analysis frames) joins this module later.

How the plan drives the estimation layer:

======================================  ===================================================
plan                                    estimation
======================================  ===================================================
``[estimators] primary/robustness``     ``ancova``, ``did``: :func:`estimate_effects` with an
                                        :class:`EffectSpec` (``estimator="ancova"``/``"did"``);
                                        ``ipw``: :func:`ipw_effect`; ``aipw``:
                                        :func:`aipw_effect`; ``matching``: :func:`match_effect`;
                                        ``weighted_ancova``: :func:`attach_balancing_weights`
                                        then ANCOVA weighted by them; ``weighted_did``:
                                        :func:`weighted_did`
``[estimators] missing_baseline, lin``  ``EffectSpec.missing_baseline``, ``EffectSpec.lin``
``[design] baseline_column``            ``EffectSpec.baseline`` (built on the endline row)
``[design] post``                       ``EffectSpec.post`` (built from the round)
``[design] level``                      ``level`` of every estimator and of the bounds
``[inference] method``                  ``EffectSpec.inference``
``[inference] vcov``                    ``EffectSpec.vcov``; ``vcov`` of :func:`match_effect`,
                                        :func:`balance_table`, :func:`differential_attrition`
``[inference] bootstrap_draws``         ``EffectSpec.bootstrap_draws`` and ``.permutations``
``[inference] bootstrap_weights``       ``EffectSpec.weights_type``; ``weights_type`` of
                                        :func:`adjust_pvalues`
``[instruments.*] strata``              ``EffectSpec.strata`` (randomization inference)
``[instruments.*] propensity_*``        the terms of :func:`fit_propensity` and of the
                                        response model of :func:`attrition_weights`
``[multiple_testing] within/across``    ``method`` of :func:`adjust_pvalues` (``by`` the
                                        family; across: one family of every primary outcome)
``[multiple_testing] draws``            ``bootstrap_draws`` of :func:`adjust_pvalues`
``[comparison] estimand, trim``         ``estimand``, ``trim``
``[comparison] neighbors, replace``     ``neighbors``, ``replace`` of :func:`match_effect`
``[comparison] caliper``                ``caliper`` times the SD of the logit of the score,
                                        with ``distance="logit"``
``[attrition] lee_trimming``            ``trimming`` of :func:`lee_bounds`
``[attrition] lee_draws``               ``n_boot`` of :func:`lee_bounds`
``[attrition] lee_tighten_by``          ``tighten_by`` of :func:`lee_bounds`
``[power] alpha, power``                ``alpha``, ``power`` of :func:`mde_table` and
                                        :func:`ex_post_mde`
``[plan] seed``                         one seed drawn from the generator, for every draw
======================================  ===================================================
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logit

from evaluation.checks import CheckConfig, Findings, run_checks
from evaluation.cleaning import CleanRound, Decisions, Panel, clean_sources
from evaluation.estimation import (
    EffectEstimate,
    EffectEstimates,
    EffectSpec,
    LeeBounds,
    OverlapError,
    PropensityScore,
    SeparationError,
    adjust_pvalues,
    aipw_effect,
    attach_balancing_weights,
    attrition_rates,
    attrition_weights,
    balance_table,
    balance_weighted,
    did_table,
    differential_attrition,
    estimate_effect,
    estimate_effects,
    estimate_icc,
    ex_post_mde,
    fit_propensity,
    ipw_effect,
    joint_orthogonality_test,
    lee_bounds,
    match_effect,
    mde_table,
    overlap_data,
    stayer_balance,
    trim_propensity,
    weighted_did,
)
from evaluation.estimation.multiple_testing import ADJUSTMENT_COLUMNS
from evaluation.indicators import IndicatorConfig, IndicatorSet, construct_indicators
from evaluation.instruments.model import Instrument
from evaluation.loaders import LoadedSources
from evaluation.plan import AnalysisPlan, Deviation
from evaluation.reporting.tables import ACROSS_SUFFIX

__all__ = [
    "RESULT_ESTIMATORS",
    "AnalysisData",
    "AnalysisSamples",
    "AttritionResults",
    "BalanceResults",
    "PipelineRun",
    "PlanResults",
    "analysis_frames",
    "analysis_samples",
    "effect_spec",
    "estimate",
    "estimate_baseline",
    "has_endline",
    "measured_at_baseline",
    "prepare_data",
    "run",
]

#: The ``estimator`` label the results of each plan estimator carry (without Lin's adjustment;
#: the robustness table keys on it, :data:`evaluation.reporting.tables.ESTIMATOR_LABELS` names it).
RESULT_ESTIMATORS = MappingProxyType(
    {
        "ancova": "ancova",
        "did": "did",
        "ipw": "ipw-hajek",
        "aipw": "aipw",
        "matching": "matching",
        "weighted_ancova": "ancova-weighted",
        "weighted_did": "did-ipw",
    }
)
_REGRESSION = ("ancova", "did")
_SCORE = ("ipw", "aipw", "matching", "weighted_ancova")
#: Data-driven failures of a robustness estimator, recorded in the notes instead of stopping
#: the run (a wrong option or a missing column still stops it).
_DATA_FAILURES = (SeparationError, OverlapError, np.linalg.LinAlgError)
_BALANCING_WEIGHT = "balancing_weight"
_ATTRITION_WEIGHT = "attrition_weight"


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class AnalysisSamples:
    """The samples one instrument's estimators use, built from its long analysis frame.

    Attributes
    ----------
    instrument : str
        Instrument name.
    units : pandas.DataFrame
        The baseline sample, one row per unit (key column, sorted by it): unit-level columns
        (treatment, cluster, fixed effects, strata, weights, covariates, subgroup and tightening
        columns) at their baseline values, each outcome's baseline value in the plan's
        ``baseline_column``, the outcomes and the Lee selection column at endline (missing for
        units not followed) and, for the attrition instrument, the response column holding the
        endline interview (0/1).
    endline : pandas.DataFrame
        The rows of ``units`` followed up at endline (ANCOVA, weighting, matching, Lee).
    panel : pandas.DataFrame
        Baseline and endline rows of the followed units: each round's outcomes, the unit-level
        columns of ``units`` and the plan's ``post`` column (1 at endline), for the DiD.
    notes : tuple of str
        Rows left out and why.
    """

    instrument: str
    units: pd.DataFrame
    endline: pd.DataFrame
    panel: pd.DataFrame
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BalanceResults:
    """Balance at baseline, and before and after weighting by the propensity score.

    Attributes
    ----------
    variables : tuple of str
        Balance variables: numeric covariates, one 0/1 column per level of each categorical
        covariate (``"<column>=<level>"``) and each outcome's baseline value.
    table : pandas.DataFrame
        :func:`~evaluation.estimation.balance_table` on the baseline sample.
    joint : pandas.DataFrame or None
        :func:`~evaluation.estimation.joint_orthogonality_test` of the covariates (not the
        baseline outcomes, whose missingness is structural: wages exist for the employed),
        without each category's reference level and without variables constant within the
        fixed effects (``None`` without covariates, or when it failed: see the notes).
    weighted : pandas.DataFrame or None
        :func:`~evaluation.estimation.balance_weighted` on the endline sample, before and after
        the plan's balancing weights (trimmed units weigh 0); ``None`` without a score.
    overlap : pandas.DataFrame or None
        :func:`~evaluation.estimation.overlap_data` of the score.
    trimming : str or None
        The trimming rule applied and the units it dropped per arm.
    """

    variables: tuple[str, ...]
    table: pd.DataFrame
    joint: pd.DataFrame | None = None
    weighted: pd.DataFrame | None = None
    overlap: pd.DataFrame | None = None
    trimming: str | None = None


@dataclass(frozen=True)
class AttritionResults:
    """Attrition diagnostics and Lee bounds for the plan's ``[attrition]`` instrument.

    Attributes
    ----------
    sample : pandas.DataFrame
        One row per baseline unit with only the treatment and response columns (no
        identifiers), the input of :func:`evaluation.reporting.tables.attrition_table`.
    rates : pandas.DataFrame
        :func:`~evaluation.estimation.attrition_rates` (by arm and cluster).
    differential : EffectEstimate
        Regression of attrition (1 - response) on the treatment, with the plan's cluster and
        variance (``outcome="attrited"``).
    regression : pandas.DataFrame
        :func:`~evaluation.estimation.differential_attrition` (arm x baseline covariates).
    stayers : pandas.DataFrame
        :func:`~evaluation.estimation.stayer_balance`.
    lee : tuple of LeeBounds
        :func:`~evaluation.estimation.lee_bounds` per ``lee_outcomes``.
    """

    sample: pd.DataFrame
    rates: pd.DataFrame
    differential: EffectEstimate
    regression: pd.DataFrame
    stayers: pd.DataFrame
    lee: tuple[LeeBounds, ...]


@dataclass(frozen=True)
class PlanResults:
    """Everything the plan's estimation part produced, tidy and ready for reporting.

    Attributes
    ----------
    plan_hash : str
        Hash of the plan as run (body and deviations).
    deviations : tuple of Deviation
        The deviations applied.
    seed : int
        The seed of every random draw (bootstrap, permutations, Romano-Wolf, Lee bounds),
        drawn from the generator :func:`estimate` was given.
    primary : EffectEstimates
        Full-sample estimates of the primary estimator for every outcome, with the families'
        adjustments (``pvalue_holm``, ``qvalue_anderson``, ...; a column holds values for the
        families adjusted by that method) and the across-family one (suffix
        :data:`evaluation.reporting.tables.ACROSS_SUFFIX`).
    heterogeneity : EffectEstimates
        Subgroup effects and their differences; differences adjusted across the contrasts of
        one family and one subgroup column.
    robustness : EffectEstimates
        Full-sample estimates of every estimator side by side (primary first), including the
        re-estimate with attrition weights (``estimator="ancova-ipaw"``).
    did : pandas.DataFrame
        :func:`~evaluation.estimation.did_table` of every instrument (``ieddtab`` layout).
    balance : Mapping of str to BalanceResults
        Per instrument.
    attrition : AttritionResults or None
        Attrition diagnostics and bounds.
    ex_ante_mde : pandas.DataFrame
        :func:`~evaluation.estimation.mde_table` per outcome at the baseline design (realised
        clusters and sizes, ICC estimated at baseline), with ``instrument``, ``family`` and
        ``outcome``.
    ex_post_mde : pandas.DataFrame
        :func:`~evaluation.estimation.ex_post_mde` per outcome of the primary ANCOVA model.
    notes : tuple of str
        Rows left out, estimators that could not run on these data and why, and conventions.
    baseline_only : bool
        The data hold the baseline round only (:func:`estimate_baseline`): no effects,
        attrition or ex-post MDEs, only balance and ex-ante MDEs.
    """

    plan_hash: str
    deviations: tuple[Deviation, ...]
    seed: int
    primary: EffectEstimates
    heterogeneity: EffectEstimates
    robustness: EffectEstimates
    did: pd.DataFrame
    balance: Mapping[str, BalanceResults]
    attrition: AttritionResults | None
    ex_ante_mde: pd.DataFrame
    ex_post_mde: pd.DataFrame
    notes: tuple[str, ...] = field(default=())
    baseline_only: bool = False

    def __post_init__(self) -> None:
        """Freeze the mapping."""
        object.__setattr__(self, "balance", _frozen(self.balance))


# --- samples -------------------------------------------------------------------------------


def _unit_columns(plan: AnalysisPlan, instrument: str) -> list[str]:
    spec = plan.instrument(instrument)
    columns = [plan.treatment, spec.cluster, *spec.fixed_effects, spec.strata, spec.weights]
    columns += [*spec.covariates, *spec.categorical_covariates]
    if plan.uses_propensity(instrument):
        columns += [*spec.propensity_covariates, *spec.propensity_categorical]
    columns += [g.column for g in plan.subgroups if g.instrument == instrument]
    attrition = plan.attrition
    if attrition is not None and attrition.instrument == instrument:
        columns += list(attrition.lee_tighten_by)
    return [c for c in dict.fromkeys(columns) if c is not None and c != spec.key]


def _response(plan: AnalysisPlan, instrument: str) -> str | None:
    attrition = plan.attrition
    return attrition.response if attrition and attrition.instrument == instrument else None


def analysis_samples(plan: AnalysisPlan, frame: pd.DataFrame, instrument: str) -> AnalysisSamples:
    """Build the samples of one instrument from its long analysis frame.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan.
    frame : pandas.DataFrame
        Long analysis frame: one row per unit and round, with every column the plan names for
        the instrument (:meth:`AnalysisPlan.required_columns`); never modified.
    instrument : str
        An instrument holding outcome families.

    Returns
    -------
    AnalysisSamples
        The baseline sample, the endline sample and the two-round panel.

    Raises
    ------
    PlanError
        A column the plan names is missing.
    ValueError
        A missing key, a repeated (key, round) pair, or a unit whose treatment differs
        between the rounds.

    Notes
    -----
    Reads the rows of the plan's baseline and endline rounds. Unit of ``units`` and
    ``endline``: the instrument's unit (key ``[instruments.*] key``); of ``panel``: unit x
    round. Covariates, subgroups, strata and weights are taken at baseline (pre-treatment), so
    the endline never changes who is compared with whom. For the attrition instrument the
    baseline sample is the units interviewed at baseline (response 1) and the followed units
    those interviewed at endline; otherwise the units with a baseline row, followed when they
    have an endline row. Units with an endline row but no baseline interview are left out
    (counted in ``notes``).
    """
    plan.validate_columns(frame.columns, instrument)
    spec = plan.instrument(instrument)
    key, rnd = spec.key, plan.round
    rows = frame.loc[frame[rnd].isin([plan.baseline_round, plan.endline_round])]
    if rows[key].isna().any():
        msg = f"{instrument}: {int(rows[key].isna().sum())} rows have no {key!r}"
        raise ValueError(msg)
    repeated = int(rows.duplicated([key, rnd]).sum())
    if repeated:
        msg = (
            f"{instrument}: {repeated} rows repeat a ({key!r}, {rnd!r}) pair; expected one row "
            "per unit and round"
        )
        raise ValueError(msg)
    base = rows.loc[rows[rnd] == plan.baseline_round].set_index(key).sort_index()
    end = rows.loc[rows[rnd] == plan.endline_round].set_index(key)
    notes = []
    response = _response(plan, instrument)
    if response is not None:
        interviewed = base[response].eq(1)
        if not interviewed.all():
            notes.append(
                f"{instrument}: {int((~interviewed).sum())} baseline rows with {response!r} != 1 "
                "are not in the baseline sample"
            )
            base = base.loc[interviewed]
    late = end.index.difference(base.index)
    if len(late):
        notes.append(
            f"{instrument}: {len(late)} endline units without a baseline interview are left out"
        )
    outcomes = list(plan.outcomes(instrument))
    unit_columns = _unit_columns(plan, instrument)
    units = base[unit_columns].copy()
    for outcome in outcomes:
        units[plan.baseline_column.format(outcome=outcome)] = base[outcome]
    at_endline = end.reindex(units.index)
    switched = at_endline[plan.treatment].notna() & (
        at_endline[plan.treatment] != units[plan.treatment]
    )
    if switched.any():
        msg = (
            f"{instrument}: {int(switched.sum())} units have a different {plan.treatment!r} at "
            "endline than at baseline; the treatment is fixed at assignment"
        )
        raise ValueError(msg)
    followed = pd.Series(units.index.isin(end.index), index=units.index)
    endline_columns = list(outcomes)
    if response is not None:
        endline_columns.append(plan.attrition.lee_observed)
        followed = at_endline[response].eq(1)
        units[response] = followed.astype(float)
    clash = sorted(set(endline_columns) & set(units.columns))
    if clash:
        msg = f"{instrument}: outcome columns {clash} are also unit-level columns of the plan"
        raise ValueError(msg)
    units = units.join(at_endline[list(dict.fromkeys(endline_columns))])
    units = units.reset_index()
    endline = units.loc[followed.to_numpy()].reset_index(drop=True)
    kept = rows.loc[rows[key].isin(endline[key])]
    if plan.post in unit_columns or plan.post in outcomes:
        msg = f"{instrument}: the DiD's post column {plan.post!r} is already a column of the plan"
        raise ValueError(msg)
    panel = (
        kept[[key, rnd, *outcomes]]
        .merge(units[[key, *unit_columns]], on=key, how="left", validate="many_to_one")
        .assign(**{plan.post: (kept[rnd] == plan.endline_round).astype(float).to_numpy()})
        .sort_values([key, rnd])
        .reset_index(drop=True)
    )
    return AnalysisSamples(instrument, units, endline, panel, tuple(notes))


# --- the mapping ---------------------------------------------------------------------------


def effect_spec(
    plan: AnalysisPlan,
    estimator: str,
    instrument: str,
    *,
    seed: int,
    subgroups: bool = True,
    weights: str | None = None,
    weights_kind: str | None = None,
) -> EffectSpec:
    """Return the :class:`~evaluation.estimation.EffectSpec` of a regression estimator.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan.
    estimator : {"ancova", "did", "weighted_ancova"}
        Plan estimator (``weighted_ancova`` is the ANCOVA; the caller supplies the weights).
    instrument : str
        Instrument holding outcome families.
    seed : int
        Seed of the resampling inference.
    subgroups : bool, optional
        Add the plan's subgroups (ANCOVA only).
    weights, weights_kind : str, optional
        Weight column and kind replacing the instrument's survey weights.

    Returns
    -------
    EffectSpec
        Every outcome of the instrument with the plan's design and inference.

    Raises
    ------
    ValueError
        An estimator that is not a regression.

    Notes
    -----
    ANCOVA: the outcome's baseline value (``[design] baseline_column``), the instrument's
    covariates (categories as ``C(name)``) and fixed effects. DiD: unit and round fixed
    effects, which absorb the strata and the (baseline) covariates, so it takes neither;
    randomization inference re-assigns the treatment within ``strata`` in both.
    """
    if estimator not in (*_REGRESSION, "weighted_ancova"):
        msg = (
            f"{estimator!r} is not a regression estimator; expected ancova, did or weighted_ancova"
        )
        raise ValueError(msg)
    spec = plan.instrument(instrument)
    outcomes = plan.outcomes(instrument)
    args: dict[str, Any] = {
        "outcomes": outcomes,
        "treatment": plan.treatment,
        "cluster": spec.cluster,
        "vcov": plan.inference.vcov,
        "weights": spec.weights if weights is None else weights,
        "weights_kind": spec.weights_kind if weights_kind is None else weights_kind,
        "level": plan.level,
        "family": {o: plan.outcome_families[o] for o in outcomes},
        "name": f"{estimator}:{instrument}",
        "inference": plan.inference.method,
        "bootstrap_draws": plan.inference.bootstrap_draws,
        "permutations": plan.inference.bootstrap_draws,
        "weights_type": plan.inference.bootstrap_weights,
        "seed": seed,
        "strata": spec.strata,
    }
    if estimator == "did":
        args |= {"estimator": "did", "post": plan.post, "unit": spec.key, "period": plan.round}
    else:
        args |= {
            "estimator": "ancova",
            "covariates": spec.regressors,
            "fixed_effects": spec.fixed_effects,
            "baseline": {o: plan.baseline_column.format(outcome=o) for o in outcomes},
            "missing_baseline": plan.missing_baseline,
            "lin": plan.lin,
        }
        if subgroups:
            args["subgroups"] = tuple(
                g.column for g in plan.subgroups if g.instrument == instrument
            )
    return EffectSpec(**args)


@dataclass(frozen=True)
class _Score:
    """The instrument's propensity score, its sample and its trimming."""

    score: PropensityScore
    sample: pd.DataFrame
    keep: pd.Series
    note: str


def _fit_score(plan: AnalysisPlan, samples: AnalysisSamples) -> _Score:
    spec = plan.instrument(samples.instrument)
    needed = [c for c in (plan.treatment, spec.cluster, spec.weights) if c is not None]
    sample = samples.endline.loc[samples.endline[needed].notna().all(axis=1)]
    score = fit_propensity(
        sample, plan.treatment, list(spec.propensity_terms), weights=spec.weights
    )
    trimming = trim_propensity(score, plan.comparison.trim)
    return _Score(score, sample.loc[score.score.index], trimming.keep, trimming.note())


def _labelled(estimate: EffectEstimate, plan: AnalysisPlan, name: str) -> EffectEstimate:
    return estimate.replace(family=plan.outcome_families[estimate.outcome], specification=name)


def _score_estimates(
    plan: AnalysisPlan, estimator: str, samples: AnalysisSamples, fitted: _Score
) -> EffectEstimates:
    """IPW, AIPW and matching on the shared score, one estimate per outcome."""
    spec = plan.instrument(samples.instrument)
    c = plan.comparison
    common = {"cluster": spec.cluster, "weights": spec.weights, "level": plan.level}
    name = f"{estimator}:{samples.instrument}"
    if estimator == "matching":
        data = fitted.sample.loc[fitted.keep]
        run: Callable[..., EffectEstimate] = match_effect
        options = {
            "neighbors": c.neighbors,
            "replace": c.replace,
            "caliper": _caliper(plan, fitted.score.score.loc[data.index]),
            "distance": "logit",
            "vcov": plan.inference.vcov,
        }
    else:
        data, options = fitted.sample, {"trim": c.trim}
        run = ipw_effect if estimator == "ipw" else aipw_effect
    estimates = (
        run(data, outcome, plan.treatment, fitted.score, estimand=c.estimand, **options, **common)
        for outcome in plan.outcomes(samples.instrument)
    )
    return EffectEstimates(tuple(_labelled(e, plan, name) for e in estimates))


def _caliper(plan: AnalysisPlan, score: pd.Series) -> float | None:
    """Return the plan's caliper in logit units: ``caliper`` x the SD (n - 1) of the logit.

    The SD is taken over the matching sample (after trimming); Austin (2011) recommends 0.2.
    """
    if plan.comparison.caliper is None:
        return None
    return plan.comparison.caliper * float(np.std(logit(score.to_numpy()), ddof=1))


def _regression(
    plan: AnalysisPlan, estimator: str, samples: AnalysisSamples, seed: int, **kw: Any
) -> EffectEstimates:
    spec = effect_spec(plan, estimator, samples.instrument, seed=seed, **kw)
    data = samples.panel if estimator == "did" else samples.endline
    if estimator == "did":
        spec = dataclasses.replace(spec, outcomes=measured_at_baseline(plan, samples))
    return estimate_effects(data, spec)


def measured_at_baseline(plan: AnalysisPlan, samples: AnalysisSamples) -> tuple[str, ...]:
    """Return the instrument's outcomes observed for at least one unit at baseline.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan.
    samples : AnalysisSamples
        The instrument's samples.

    Returns
    -------
    tuple of str
        Outcomes in plan order. The others (defined only after baseline, such as a
        certificate upgrade or completing the apprenticeship) have no DiD and no baseline
        balance row; the ANCOVA dummies out their missing baseline.
    """
    units = samples.units
    return tuple(
        o
        for o in plan.outcomes(samples.instrument)
        if units[plan.baseline_column.format(outcome=o)].notna().any()
    )


def _relabel(estimates: EffectEstimates, label: str) -> EffectEstimates:
    return EffectEstimates(tuple(e.replace(estimator=label) for e in estimates))


def _run_estimator(
    plan: AnalysisPlan,
    estimator: str,
    samples: AnalysisSamples,
    seed: int,
    score: _Score | None,
    *,
    subgroups: bool,
) -> EffectEstimates:
    """Run one plan estimator on every outcome of the instrument."""
    if estimator in _REGRESSION:
        return _regression(plan, estimator, samples, seed, subgroups=subgroups)
    if score is None:
        msg = f"{estimator!r} needs the propensity score, which could not be fitted"
        raise OverlapError(msg)
    if estimator == "weighted_ancova":
        spec = plan.instrument(samples.instrument)
        weighted = attach_balancing_weights(
            score.sample,
            score.score,
            estimand=plan.comparison.estimand,
            trim=plan.comparison.trim,
            survey_weights=spec.weights,
            name=_BALANCING_WEIGHT,
        )
        spec_ = effect_spec(
            plan,
            estimator,
            samples.instrument,
            seed=seed,
            subgroups=False,
            weights=_BALANCING_WEIGHT,
            weights_kind="sampling",
        )
        return _relabel(estimate_effects(weighted, spec_), RESULT_ESTIMATORS[estimator])
    if estimator == "weighted_did":
        return _weighted_did(plan, samples)
    return _score_estimates(plan, estimator, samples, score)


def _weighted_did(plan: AnalysisPlan, samples: AnalysisSamples) -> EffectEstimates:
    spec = plan.instrument(samples.instrument)
    counts = samples.panel.groupby(spec.key)[plan.post].transform("size")
    panel = samples.panel.loc[counts == 2].reset_index(drop=True)
    name = f"weighted_did:{samples.instrument}"
    out = []
    for outcome in measured_at_baseline(plan, samples):
        estimate = weighted_did(
            panel,
            outcome,
            plan.treatment,
            list(spec.propensity_terms),
            post=plan.post,
            unit=spec.key,
            estimand=plan.comparison.estimand,
            trim=plan.comparison.trim,
            cluster=spec.cluster,
            weights=spec.weights,
            level=plan.level,
        )
        out.append(_labelled(estimate.replace(outcome=outcome), plan, name))
    return EffectEstimates(tuple(out))


def _unidentified_levels(plan: AnalysisPlan, samples: AnalysisSamples) -> dict[str, list[Any]]:
    """Return the subgroup levels whose treatment effect the design cannot identify.

    A level is identified when some cell of the fixed effects (the whole level without them)
    holds both arms in the endline sample; otherwise its interaction with the treatment is
    collinear with the fixed effects (for example a city with comparison enterprises only).
    """
    spec = plan.instrument(samples.instrument)
    data = samples.endline
    found: dict[str, list[Any]] = {}
    for group in plan.subgroups:
        if group.instrument != samples.instrument or plan.primary not in _REGRESSION:
            continue
        cells = [group.column, *spec.fixed_effects]
        arms = data.dropna(subset=[group.column]).groupby(cells, dropna=False)[plan.treatment]
        both = arms.nunique().gt(1).groupby(level=0).any()
        missing = sorted(both.index[~both].tolist(), key=str)
        if missing:
            found[group.column] = missing
    return found


def _primary(
    plan: AnalysisPlan,
    samples: AnalysisSamples,
    seed: int,
    score: _Score | None,
    notes: list[str],
) -> EffectEstimates:
    """Run the primary estimator with its subgroups, leaving out unidentified levels.

    Without such levels this is one call with every subgroup. Otherwise the full-sample
    effects come from a call without subgroups, and each subgroup dimension is estimated on
    the endline rows of its identified levels (a note names the levels left out).
    """
    unidentified = _unidentified_levels(plan, samples)
    if not unidentified:
        return _run_estimator(plan, plan.primary, samples, seed, score, subgroups=True)
    main = list(_run_estimator(plan, plan.primary, samples, seed, score, subgroups=False))
    full = effect_spec(plan, plan.primary, samples.instrument, seed=seed)
    for column in full.subgroups:
        data = samples.endline
        levels = unidentified.get(column, [])
        if levels:
            notes.append(
                f"heterogeneity by {column} ({samples.instrument}): levels {levels} left out "
                "(one arm only within the fixed effects: the effect is not identified there)"
            )
            data = data.loc[~data[column].isin(levels)]
        if data[column].nunique() < 2:
            notes.append(f"heterogeneity by {column}: fewer than two identified levels")
            continue
        one = dataclasses.replace(full, subgroups=(column,))
        main += [e for e in estimate_effects(data, one) if e.subgroup is not None]
    return EffectEstimates(tuple(main))


def _attempt(label: str, notes: list[str], run: Callable[[], Any]) -> Any:
    """Run a robustness step; a data-driven failure becomes a note instead of stopping."""
    try:
        return run()
    except _DATA_FAILURES as err:
        notes.append(f"{label}: not estimated on these data ({type(err).__name__}: {err})")
        return None


# --- multiple testing ----------------------------------------------------------------------


def _adjusted(
    estimates: EffectEstimates,
    groups: Mapping[Any, tuple[str, Sequence[int]]],
    options: Mapping[str, Any],
    suffix: str = "",
) -> EffectEstimates:
    """Adjust each group of estimates by its method; other rows stay missing in that column."""
    columns = dict(estimates.adjustments)
    for method, rows in groups.values():
        if method == "none" or not rows:
            continue
        part = EffectEstimates(tuple(estimates[i] for i in rows))
        adjusted = adjust_pvalues(part, method, by=(), **options)
        column = ADJUSTMENT_COLUMNS[method]
        values = list(columns.get(column + suffix, [math.nan] * len(estimates)))
        for i, value in zip(rows, adjusted.adjustments[column], strict=True):
            values[i] = value
        columns[column + suffix] = tuple(values)
    return EffectEstimates(estimates.estimates, columns)


def _adjust_primary(
    plan: AnalysisPlan, primary: EffectEstimates, options: Mapping[str, Any]
) -> EffectEstimates:
    methods = {f.name: f.multiple_testing for f in plan.families}
    groups: dict[Any, tuple[str, list[int]]] = {}
    for i, estimate in enumerate(primary):
        groups.setdefault(estimate.family, (methods[estimate.family], []))[1].append(i)
    within = _adjusted(primary, groups, options)
    across = {"all": (plan.multiple_testing.across, list(range(len(primary))))}
    return _adjusted(within, across, options, ACROSS_SUFFIX)


def _adjust_contrasts(
    plan: AnalysisPlan, heterogeneity: EffectEstimates, options: Mapping[str, Any]
) -> EffectEstimates:
    methods = {f.name: f.multiple_testing for f in plan.families}
    groups: dict[Any, tuple[str, list[int]]] = {}
    for i, estimate in enumerate(heterogeneity):
        if estimate.estimator != "difference":
            continue
        column = str(estimate.subgroup).split("=", 1)[0]
        key = (estimate.family, column)
        groups.setdefault(key, (methods[estimate.family], []))[1].append(i)
    return _adjusted(heterogeneity, groups, options)


# --- balance, attrition, power ---------------------------------------------------------------


def _with_dummies(
    plan: AnalysisPlan, instrument: str, frame: pd.DataFrame
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Add a 0/1 column per level of the categorical covariates.

    Returns the frame, the balance variables (numeric covariates, level indicators, baseline
    outcomes) and the indicators of each category's first (reference) level.
    """
    spec = plan.instrument(instrument)
    numeric = [*spec.covariates]
    categorical = [*spec.categorical_covariates]
    if plan.uses_propensity(instrument):
        numeric += spec.propensity_covariates
        categorical += spec.propensity_categorical
    dummies: dict[str, pd.Series] = {}
    references = []
    for column in dict.fromkeys(categorical):
        values = frame[column]
        levels = sorted(pd.unique(values.dropna()).tolist())
        references += [f"{column}={level}" for level in levels[:1]]
        for level in levels:
            dummies[f"{column}={level}"] = values.eq(level).astype(float).where(values.notna())
    clash = sorted(set(dummies) & set(frame.columns))
    if clash:
        msg = f"{instrument}: cannot add level indicators {clash}: names already in the data"
        raise ValueError(msg)
    outcomes = [plan.baseline_column.format(outcome=o) for o in plan.outcomes(instrument)]
    outcomes = [o for o in outcomes if frame[o].notna().any()]
    variables = [*dict.fromkeys(numeric), *dummies, *outcomes]
    return frame.assign(**dummies), variables, references


def _joint_variables(
    frame: pd.DataFrame,
    variables: Sequence[str],
    references: Sequence[str],
    fixed_effects: Sequence[str],
    notes: list[str],
) -> list[str]:
    """Return the variables the joint test can separate: no reference level, none constant.

    A variable constant within a fixed effect (or overall) is collinear with it.
    """
    groups = [frame[fe] for fe in fixed_effects] or [pd.Series(0, index=frame.index)]
    nested = [
        v
        for v in variables
        if any(frame[v].groupby(g).nunique().max() <= 1 for g in groups) and v not in references
    ]
    if nested:
        notes.append(
            f"joint orthogonality test: {nested} left out (constant within the fixed effects)"
        )
    return [v for v in variables if v not in references and v not in nested]


def _balance(
    plan: AnalysisPlan, samples: AnalysisSamples, score: _Score | None, notes: list[str]
) -> BalanceResults:
    spec = plan.instrument(samples.instrument)
    units, variables, references = _with_dummies(plan, samples.instrument, samples.units)
    common = {"cluster": spec.cluster, "weights": spec.weights, "weights_kind": spec.weights_kind}
    outcomes = {plan.baseline_column.format(outcome=o) for o in plan.outcomes(samples.instrument)}
    covariates = [v for v in variables if v not in outcomes]
    joint_variables = _joint_variables(units, covariates, references, spec.fixed_effects, notes)
    table = balance_table(
        units,
        plan.treatment,
        variables,
        fixed_effects=spec.fixed_effects,
        vcov=plan.inference.vcov,
        **common,
    )
    joint = None
    if joint_variables:
        label = f"joint orthogonality test ({samples.instrument})"
        try:
            joint = _attempt(
                label,
                notes,
                lambda: joint_orthogonality_test(
                    units,
                    plan.treatment,
                    joint_variables,
                    fixed_effects=spec.fixed_effects,
                    vcov=plan.inference.vcov,
                    **common,
                ),
            )
        except ValueError as err:  # a diagnostic: collinear covariates become a note
            notes.append(f"{label}: not computed on these data ({err})")
    if score is None:
        return BalanceResults(tuple(variables), table, joint)
    sample, _, _ = _with_dummies(plan, samples.instrument, score.sample)
    weighted = attach_balancing_weights(
        sample,
        score.score,
        estimand=plan.comparison.estimand,
        trim=plan.comparison.trim,
        survey_weights=spec.weights,
        name=_BALANCING_WEIGHT,
    )
    weights = weighted[_BALANCING_WEIGHT].reindex(sample.index, fill_value=0.0)
    after = balance_weighted(
        sample,
        plan.treatment,
        variables,
        weights,
        survey_weights=spec.weights,
        estimand=plan.comparison.estimand,
        cluster=spec.cluster,
    )
    return BalanceResults(
        tuple(variables), table, joint, after, overlap_data(score.score), score.note
    )


def _attrition(
    plan: AnalysisPlan, samples: AnalysisSamples, seed: int, notes: list[str]
) -> tuple[AttritionResults, EffectEstimates | None]:
    attrition = plan.attrition
    spec = plan.instrument(samples.instrument)
    response, units = attrition.response, samples.units
    if "attrited" in units.columns:
        msg = f"{samples.instrument}: column 'attrited' already exists in the data"
        raise ValueError(msg)
    common = {"cluster": spec.cluster, "weights": spec.weights}
    differential = estimate_effect(
        units.assign(attrited=1.0 - units[response]),
        "attrited",
        plan.treatment,
        weights_kind=spec.weights_kind,
        vcov=plan.inference.vcov,
        level=plan.level,
        **common,
    )
    numeric = list(dict.fromkeys([*spec.covariates, *spec.propensity_covariates]))
    with_dummies, variables, _ = _with_dummies(plan, samples.instrument, units)
    lee = [
        lee_bounds(
            _lee_frame(plan, units, outcome),
            outcome,
            plan.treatment,
            "observed",
            tighten_by=list(attrition.lee_tighten_by) or None,
            trimming=attrition.lee_trimming,
            n_boot=attrition.lee_draws,
            level=plan.level,
            seed=seed,
            **common,
        )
        for outcome in attrition.lee_outcomes
    ]
    results = AttritionResults(
        sample=units[[plan.treatment, response]].reset_index(drop=True),
        rates=attrition_rates(units, plan.treatment, response, **common),
        differential=differential.replace(specification=f"attrition:{samples.instrument}"),
        regression=differential_attrition(
            units, plan.treatment, response, numeric, vcov=plan.inference.vcov, **common
        ),
        stayers=stayer_balance(
            with_dummies,
            plan.treatment,
            response,
            variables,
            vcov=plan.inference.vcov,
            weights_kind=spec.weights_kind,
            **common,
        ),
        lee=tuple(lee),
    )
    reweighted = None
    if attrition.inverse_probability_weights and plan.primary not in _REGRESSION:
        notes.append(
            f"attrition weights: the primary estimator {plan.primary!r} is not a regression, "
            "so it is not re-estimated with them"
        )
    elif attrition.inverse_probability_weights:
        reweighted = _attempt(
            f"attrition-weighted {plan.primary} ({samples.instrument})",
            notes,
            lambda: _ipaw_estimates(plan, samples, seed),
        )
    return results, reweighted


def _lee_frame(plan: AnalysisPlan, units: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Add ``observed`` to the baseline sample: interviewed, selected and the outcome present."""
    attrition = plan.attrition
    if "observed" in units.columns:
        msg = "column 'observed' already exists in the data"
        raise ValueError(msg)
    observed = (
        units[attrition.response].eq(1)
        & units[attrition.lee_observed].eq(1)
        & units[outcome].notna()
    )
    return units.assign(observed=observed.astype(float))


def _ipaw_estimates(plan: AnalysisPlan, samples: AnalysisSamples, seed: int) -> EffectEstimates:
    """Re-estimate the primary regression with inverse-probability-of-attrition weights."""
    spec = plan.instrument(samples.instrument)
    weights = attrition_weights(
        samples.units,
        plan.attrition.response,
        list(spec.propensity_terms),
        treatment=plan.treatment,
        weights=spec.weights,
    )
    if _ATTRITION_WEIGHT in samples.units.columns:
        msg = f"column {_ATTRITION_WEIGHT!r} already exists in the data"
        raise ValueError(msg)
    by_key = pd.Series(weights.to_numpy(), index=samples.units.loc[weights.index, spec.key])
    data = samples.panel if plan.primary == "did" else samples.endline
    data = data.assign(**{_ATTRITION_WEIGHT: data[spec.key].map(by_key)})
    spec_ = effect_spec(
        plan,
        plan.primary,
        samples.instrument,
        seed=seed,
        subgroups=False,
        weights=_ATTRITION_WEIGHT,
        weights_kind="sampling",
    )
    return _relabel(estimate_effects(data, spec_), f"{plan.primary}-ipaw")


def _ex_ante(plan: AnalysisPlan, samples: AnalysisSamples) -> pd.DataFrame:
    """Minimum detectable effects at the baseline design, one row per outcome."""
    spec = plan.instrument(samples.instrument)
    cluster = spec.cluster or spec.key
    rows = []
    for outcome in plan.outcomes(samples.instrument):
        column = plan.baseline_column.format(outcome=outcome)
        data = samples.units.loc[samples.units[[column, cluster]].notna().all(axis=1)]
        sizes = data.groupby(cluster).size().to_numpy(float)
        if sizes.size < 3 or data[column].nunique() < 2:
            continue
        # Clusters of one unit: the design effect is 1 whatever the ICC, which is not defined.
        icc = 0.0 if sizes.max() == 1 else estimate_icc(data, column, cluster)
        table = mde_table(
            sizes.size,
            float(sizes.mean()),
            icc,
            treated_share=float(data.groupby(cluster)[plan.treatment].max().mean()),
            alpha=plan.power.alpha,
            power=plan.power.power,
            cv=float(sizes.std(ddof=0) / sizes.mean()),
            sigma=float(data[column].std(ddof=1)),
        )
        rows.append(
            table.assign(
                instrument=samples.instrument,
                family=plan.outcome_families[outcome],
                outcome=outcome,
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _ex_post(plan: AnalysisPlan, samples: AnalysisSamples) -> pd.DataFrame:
    """Ex-post MDE of the ANCOVA model (missing baselines dummied out as the plan says)."""
    spec = plan.instrument(samples.instrument)
    rows = []
    for outcome in plan.outcomes(samples.instrument):
        column = plan.baseline_column.format(outcome=outcome)
        frame, terms = samples.endline, [column]
        missing = frame[column].isna()
        # As the ANCOVA's dummy-out: only when a row with the outcome lacks its baseline.
        if plan.missing_baseline == "indicator" and (missing & frame[outcome].notna()).any():
            flag = f"{column}_missing"
            frame = frame.assign(**{column: frame[column].fillna(0.0), flag: missing.astype(float)})
            terms.append(flag)
        rows.append(
            ex_post_mde(
                frame,
                outcome,
                plan.treatment,
                cluster=spec.cluster or spec.key,
                covariates=[*terms, *spec.regressors],
                alpha=plan.power.alpha,
                power=plan.power.power,
                fixed_effects=spec.fixed_effects,
                weights=spec.weights,
                weights_kind=spec.weights_kind,
                vcov=plan.inference.vcov,
            ).assign(instrument=samples.instrument, family=plan.outcome_families[outcome])
        )
    return pd.concat(rows, ignore_index=True)


# --- the plan ------------------------------------------------------------------------------


def _frame(frames: Mapping[str, pd.DataFrame], instrument: str) -> pd.DataFrame:
    if instrument not in frames:
        msg = f"no analysis frame for instrument {instrument!r}; got {sorted(frames)}"
        raise KeyError(msg)
    return frames[instrument]


def estimate(
    plan: AnalysisPlan,
    frames: Mapping[str, pd.DataFrame],
    rng: np.random.Generator | None = None,
) -> PlanResults:
    """Execute the estimation part of the analysis plan.

    Parameters
    ----------
    plan : AnalysisPlan
        The validated plan (deviations applied).
    frames : Mapping of str to pandas.DataFrame
        The long analysis frame of every instrument holding outcome families (one row per unit
        and round, see :func:`analysis_samples`); never modified.
    rng : numpy.random.Generator, optional
        Source of the one seed of every random draw; ``numpy.random.default_rng(plan.seed)``
        by default.

    Returns
    -------
    PlanResults
        Primary effects adjusted within and across families, heterogeneity with adjusted
        contrasts, every estimator side by side, balance (before and after weighting),
        attrition diagnostics and Lee bounds, and ex-ante and ex-post MDEs.

    Raises
    ------
    KeyError
        No frame for an instrument the plan estimates.
    PlanError
        A column the plan names is missing from a frame.

    Notes
    -----
    Per instrument, in plan order: the samples (:func:`analysis_samples`), the propensity
    score (when an estimator needs it: a logit of the treatment on the instrument's propensity
    terms on the endline sample, trimmed by ``[comparison] trim``), the primary estimator
    with its subgroups, each robustness estimator on the same outcomes, balance, attrition and
    power. A robustness step that the data cannot support (perfect separation, no overlap, a
    singular design) is skipped with a note; the primary estimator and any wrong option or
    missing column stop the run. Multiple testing: each family's method within the family;
    ``across`` over every primary outcome; subgroup differences within (family, subgroup
    column). Romano-Wolf uses wild-bootstrap draws (``[multiple_testing] draws``, the plan's
    bootstrap weights). Every random step uses the same seed, drawn once from ``rng``.
    """
    rng = np.random.default_rng(plan.seed) if rng is None else rng
    seed = int(rng.integers(2**32))
    notes: list[str] = []
    primary_parts, heterogeneity_parts, robustness_parts = [], [], []
    balance: dict[str, BalanceResults] = {}
    did_parts, ex_ante, ex_post = [], [], []
    attrition = None
    for instrument in plan.estimated_instruments:
        samples = analysis_samples(plan, _frame(frames, instrument), instrument)
        notes.extend(samples.notes)
        later = sorted(set(plan.outcomes(instrument)) - set(measured_at_baseline(plan, samples)))
        if later:
            notes.append(
                f"{instrument}: {later} are not observed at baseline: no DiD and no baseline "
                "balance for them; the ANCOVA dummies out the missing baseline"
            )
        score = None
        if any(e in _SCORE for e in plan.estimators):
            score = _attempt(
                f"propensity score ({instrument})", notes, lambda s=samples: _fit_score(plan, s)
            )
        main = _primary(plan, samples, seed, score, notes)
        primary_parts.append(EffectEstimates(tuple(e for e in main if e.subgroup is None)))
        heterogeneity_parts.append(
            EffectEstimates(tuple(e for e in main if e.subgroup is not None))
        )
        robustness_parts.append(primary_parts[-1])
        for estimator in plan.robustness:
            found = _attempt(
                f"{estimator} ({instrument})",
                notes,
                lambda e=estimator, s=samples, f=score: _run_estimator(
                    plan, e, s, seed, f, subgroups=False
                ),
            )
            if found is not None:
                robustness_parts.append(found)
        balance[instrument] = _balance(plan, samples, score, notes)
        spec = plan.instrument(instrument)
        did_parts.append(
            did_table(
                samples.panel,
                measured_at_baseline(plan, samples),
                plan.treatment,
                post=plan.post,
                cluster=spec.cluster,
                weights=spec.weights,
                weights_kind=spec.weights_kind,
                vcov=plan.inference.vcov,
                level=plan.level,
            ).assign(instrument=instrument)
        )
        if plan.attrition is not None and plan.attrition.instrument == instrument:
            attrition, reweighted = _attrition(plan, samples, seed, notes)
            if reweighted is not None:
                robustness_parts.append(reweighted)
        ex_ante.append(_ex_ante(plan, samples))
        if plan.primary == "ancova":
            ex_post.append(_ex_post(plan, samples))
    options = {
        "resampling": "wild",
        "bootstrap_draws": plan.multiple_testing.draws,
        "weights_type": plan.inference.bootstrap_weights,
        "seed": seed,
    }
    primary = _adjust_primary(plan, EffectEstimates.concat(primary_parts), options)
    heterogeneity = _adjust_contrasts(plan, EffectEstimates.concat(heterogeneity_parts), options)
    return PlanResults(
        plan_hash=plan.plan_hash,
        deviations=plan.deviations,
        seed=seed,
        primary=primary,
        heterogeneity=heterogeneity,
        robustness=EffectEstimates.concat(robustness_parts),
        did=pd.concat(did_parts, ignore_index=True),
        balance=balance,
        attrition=attrition,
        ex_ante_mde=pd.concat(ex_ante, ignore_index=True),
        ex_post_mde=pd.concat(ex_post, ignore_index=True) if ex_post else pd.DataFrame(),
        notes=tuple(notes),
    )


# --- the data part: raw rounds to analysis frames -------------------------------------------


@dataclass(frozen=True)
class AnalysisData:
    """Everything the data part of the pipeline produced, from raw rounds to analysis frames.

    Attributes
    ----------
    findings : Findings
        The quality checks of every raw round (no dates, identifiers only as numbered groups).
    rounds : tuple of CleanRound
        The clean, de-identified rounds.
    panels : Mapping of str to Panel
        Instrument family to its clean panel (rounds stacked long, linked to the sample frame).
    indicators : IndicatorSet
        Every indicator of every round.
    frames : Mapping of str to pandas.DataFrame
        The long analysis frame of every instrument the plan names that has data (see
        :func:`analysis_frames`).
    notes : tuple of str
        What the indicators lacked, and covariates read from the clean panel.
    """

    findings: Findings
    rounds: tuple[CleanRound, ...]
    panels: Mapping[str, Panel]
    indicators: IndicatorSet
    frames: Mapping[str, pd.DataFrame]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        object.__setattr__(self, "panels", _frozen(self.panels))
        object.__setattr__(self, "frames", _frozen(self.frames))


def _indicator_frame(indicators: IndicatorSet, instrument: str) -> pd.DataFrame | None:
    return {
        "apprentice": indicators.respondents,
        "enterprise": indicators.enterprises,
        "capacity": indicators.participants,
    }.get(instrument)


def _numeric(values: pd.Series, instrument: str, column: str) -> pd.Series:
    """Convert a covariate read from the panel (a calculation may be text) to numbers."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("Float64")
    text = values.astype("string").str.strip().replace("", pd.NA)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & numbers.isna()
    if bad.any():
        msg = (
            f"{instrument} panel: covariate {column!r} has {int(bad.sum())} values that are not "
            f"numbers (first {text[bad].iloc[0]!r}); expected numbers for a numeric covariate"
        )
        raise ValueError(msg)
    return numbers.astype("Float64")


def analysis_frames(
    plan: AnalysisPlan, panels: Mapping[str, Panel], indicators: IndicatorSet
) -> dict[str, pd.DataFrame]:
    """Build the long analysis frame of every instrument the plan estimates.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan.
    panels : Mapping of str to Panel
        The clean panels by instrument family (:func:`evaluation.cleaning.build_panel`).
    indicators : IndicatorSet
        :func:`evaluation.indicators.construct_indicators` of those panels.

    Returns
    -------
    dict of str to pandas.DataFrame
        Instrument to its frame: the indicators (with the design columns ``treatment``,
        ``stratum``, ``enterprise_id``, ``meta_city`` from the sample frame, ``interviewed``
        and the population groups) plus every other column the plan names for the instrument
        taken from the clean panel (covariates such as ``dem_age``, ``edu_level``,
        ``ent_size``), numeric covariates as numbers. Instruments without data are absent.

    Raises
    ------
    PlanError
        A column the plan names is neither an indicator nor a question of the panel.
    ValueError
        A numeric covariate holds text that is not a number.

    Notes
    -----
    Unit: the instrument's unit x round; key ``([instruments.*] key, round)``, unique. Columns
    come from the panel by a one-to-one merge on the key and round, so no row is added or lost.
    """
    frames: dict[str, pd.DataFrame] = {}
    for spec in plan.instruments:
        name = spec.name
        built = _indicator_frame(indicators, name)
        if built is None or name not in panels or name not in plan.estimated_instruments:
            continue
        panel = panels[name].data
        wanted = [c for c, _ in plan.required_columns(name) if c not in built.columns]
        wanted = [c for c in dict.fromkeys(wanted) if c in panel.columns]
        frame = built.merge(
            panel[[spec.key, plan.round, *wanted]],
            on=[spec.key, plan.round],
            how="left",
            validate="one_to_one",
        )
        for column in dict.fromkeys([*spec.covariates, *spec.propensity_covariates]):
            if column in wanted:
                frame[column] = _numeric(frame[column], name, column)
        plan.validate_columns(frame.columns, name)
        frames[name] = _plain(frame)
    return frames


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64 (missing as NaN), text and categories as objects (missing as None).

    The estimation layer works on NumPy columns; nullable and Arrow-backed columns of the
    clean data would otherwise meet in arithmetic it does not support.
    """
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            columns[name] = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(values):
            columns[name] = values
        else:
            columns[name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(columns, index=frame.index)


def prepare_data(
    plan: AnalysisPlan,
    sources: LoadedSources,
    instruments: Mapping[tuple[str, str], Instrument],
    decisions: Decisions | None = None,
    *,
    indicator_config: IndicatorConfig | None = None,
    check_config: CheckConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> AnalysisData:
    """Run the data part of the pipeline: checks, cleaning, panels, indicators, frames.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan (which instruments, rounds and columns the analysis needs).
    sources : LoadedSources
        What :func:`evaluation.loaders.read_sources` read from the raw folder.
    instruments : Mapping
        ``(family, round)`` to its form (:func:`evaluation.instruments.files.read_instruments`).
    decisions : Decisions, optional
        The reviewed cleaning decisions (none by default).
    indicator_config : IndicatorConfig, optional
        Settings of the indicators (the plan's ``[indicators]`` table).
    check_config : CheckConfig, optional
        Settings of the quality checks (defaults from the instruments).
    progress : callable, optional
        Called with the name of each step as it starts.

    Returns
    -------
    AnalysisData
        Findings, clean rounds, panels, indicators and analysis frames.

    Raises
    ------
    UnresolvedDuplicatesError
        Conflicting duplicate submissions without a decision (for every round at once).
    CleaningError
        Data that cannot be cleaned safely.

    Notes
    -----
    Reads the raw rounds as loaded (nothing from disk). Rounds are cleaned per instrument and
    round (several files of one round together), linked into one panel per instrument through
    the sample frame (rows of every round must be in it), and indicators are built in one pass
    over every panel. Unit and key of each frame: see :func:`analysis_frames`.
    """
    step = progress or (lambda _: None)
    decisions = decisions or Decisions()
    step("quality checks")
    findings = run_checks(sources, check_config, instruments=instruments)
    rounds, panels = clean_sources(
        sources.rounds, instruments, decisions, sources.sample_frame, progress=step
    )
    step("indicators")
    apprentice = panels.get("apprentice")
    if apprentice is None:
        msg = "the raw folder holds no apprentice rounds; the indicators need the apprentice panel"
        raise ValueError(msg)
    indicators = construct_indicators(
        apprentice.data,
        instruments,
        indicator_config,
        enterprise=panels["enterprise"].data if "enterprise" in panels else None,
        capacity=panels["capacity"].data if "capacity" in panels else None,
        calendar=apprentice.repeats.get("cal_months"),
        training=apprentice.repeats.get("trn_course"),
    )
    step("analysis frames")
    frames = analysis_frames(plan, panels, indicators)
    return AnalysisData(
        findings=findings,
        rounds=tuple(rounds),
        panels=panels,
        indicators=indicators,
        frames=frames,
        notes=indicators.missing,
    )


# --- baseline only, and the whole run ---------------------------------------------------------


def has_endline(plan: AnalysisPlan, frames: Mapping[str, pd.DataFrame]) -> bool:
    """Return whether any estimated instrument's frame holds an endline row.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan (round column and endline round name).
    frames : Mapping of str to pandas.DataFrame
        Analysis frames by instrument.

    Returns
    -------
    bool
        False when the data hold the baseline round only (the baseline report).
    """
    return any(
        frames[name][plan.round].eq(plan.endline_round).any()
        for name in plan.estimated_instruments
        if name in frames
    )


def estimate_baseline(
    plan: AnalysisPlan,
    frames: Mapping[str, pd.DataFrame],
    rng: np.random.Generator | None = None,
) -> PlanResults:
    """Execute the baseline part of the plan: balance and ex-ante minimum detectable effects.

    Parameters
    ----------
    plan : AnalysisPlan
        The validated plan.
    frames : Mapping of str to pandas.DataFrame
        The long analysis frame of every instrument holding outcome families; only the
        baseline rows are read.
    rng : numpy.random.Generator, optional
        Source of the seed recorded with the results (as :func:`estimate`).

    Returns
    -------
    PlanResults
        ``baseline_only=True``; balance (unweighted) and ex-ante MDEs per outcome; empty
        effects, DiD and ex-post MDEs, no attrition.

    Raises
    ------
    KeyError
        No frame for an instrument the plan estimates.

    Notes
    -----
    The samples are those of :func:`analysis_samples` (units interviewed at baseline). Balance
    compares the arms on the covariates and each outcome's baseline value; the MDEs use the
    realised clusters and sizes and the ICC estimated at baseline, as in :func:`estimate`.
    """
    rng = np.random.default_rng(plan.seed) if rng is None else rng
    seed = int(rng.integers(2**32))
    notes: list[str] = ["baseline report: the data hold no endline round"]
    balance: dict[str, BalanceResults] = {}
    ex_ante = []
    for instrument in plan.estimated_instruments:
        frame = _frame(frames, instrument)
        baseline = frame.loc[frame[plan.round].eq(plan.baseline_round)]
        samples = analysis_samples(plan, baseline, instrument)
        notes.extend(samples.notes)
        balance[instrument] = _balance(plan, samples, None, notes)
        ex_ante.append(_ex_ante(plan, samples))
    empty = EffectEstimates(())
    return PlanResults(
        plan_hash=plan.plan_hash,
        deviations=plan.deviations,
        seed=seed,
        primary=empty,
        heterogeneity=empty,
        robustness=empty,
        did=pd.DataFrame(),
        balance=balance,
        attrition=None,
        ex_ante_mde=pd.concat(ex_ante, ignore_index=True),
        ex_post_mde=pd.DataFrame(),
        notes=tuple(notes),
        baseline_only=True,
    )


@dataclass(frozen=True)
class PipelineRun:
    """One run of the whole pipeline: the data part and the estimates.

    Attributes
    ----------
    data : AnalysisData
        Findings, clean rounds, panels, indicators and analysis frames.
    results : PlanResults
        The plan's estimates (:func:`estimate`, or :func:`estimate_baseline` when the data
        hold the baseline round only).
    """

    data: AnalysisData
    results: PlanResults


def run(
    plan: AnalysisPlan,
    sources: LoadedSources,
    instruments: Mapping[tuple[str, str], Instrument],
    decisions: Decisions | None = None,
    *,
    indicator_config: IndicatorConfig | None = None,
    check_config: CheckConfig | None = None,
    rng: np.random.Generator | None = None,
    progress: Callable[[str], None] | None = None,
) -> PipelineRun:
    """Run the plan on raw rounds: checks, cleaning, indicators, frames and estimates.

    Parameters
    ----------
    plan : AnalysisPlan
        The validated plan.
    sources : LoadedSources
        The raw rounds, sample frame and back-checks (:func:`evaluation.loaders.read_sources`).
    instruments : Mapping
        ``(family, round)`` to its form.
    decisions : Decisions, optional
        The reviewed cleaning decisions.
    indicator_config : IndicatorConfig, optional
        Settings of the indicators.
    check_config : CheckConfig, optional
        Settings of the quality checks.
    rng : numpy.random.Generator, optional
        Source of the seed of every random draw (``default_rng(plan.seed)`` by default).
    progress : callable, optional
        Called with the name of each step as it starts.

    Returns
    -------
    PipelineRun
        The data and the results.

    Notes
    -----
    Pure: reads nothing from disk. :func:`prepare_data`, then :func:`estimate`, or
    :func:`estimate_baseline` when no frame holds an endline row. Warnings of the estimation
    (few clusters, for example) are recorded in the results' notes, once each, so the report
    prints them.
    """
    data = prepare_data(
        plan,
        sources,
        instruments,
        decisions,
        indicator_config=indicator_config,
        check_config=check_config,
        progress=progress,
    )
    if progress is not None:
        progress("estimation")
    chosen = estimate if has_endline(plan, data.frames) else estimate_baseline
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = chosen(plan, data.frames, rng)
    raised = [f"{w.category.__name__}: {w.message}" for w in caught]
    if raised:
        notes = (*results.notes, *dict.fromkeys(raised))
        results = dataclasses.replace(results, notes=notes)
    return PipelineRun(data, results)
