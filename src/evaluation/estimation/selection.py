"""The public names of Estimation II, gathered for :mod:`evaluation.estimation`.

Non-experimental comparisons (propensity scores, weighting, matching), attrition and bounds,
sensitivity analysis, survey designs and power. Kept in one module so that the package's
``__init__`` imports them with a single line.
"""

from __future__ import annotations

from evaluation.estimation.attrition import (
    LeeBounds,
    MonotonicityWarning,
    attrition_rates,
    attrition_weights,
    differential_attrition,
    imbens_manski_interval,
    lee_bounds,
    lee_bounds_table,
    manski_bounds,
    stayer_balance,
)
from evaluation.estimation.matching import Matching, match_effect, match_units
from evaluation.estimation.power import (
    clustered_mde,
    clustered_power,
    design_effect,
    estimate_icc,
    ex_post_mde,
    individual_power,
    mckenzie_factor,
    mde_table,
    required_clusters,
    simulate_power,
)
from evaluation.estimation.propensity import (
    OverlapError,
    PropensityScore,
    SeparationError,
    Trimming,
    balance_weighted,
    balancing_weights,
    crump_bounds,
    effective_sample_size,
    fit_propensity,
    overlap_data,
    trim_propensity,
)
from evaluation.estimation.sensitivity import oster_bounds, oster_delta, placebo_tests
from evaluation.estimation.survey import (
    SurveyDesign,
    survey_mean,
    survey_proportion,
    survey_total,
)
from evaluation.estimation.weighting import (
    aipw_effect,
    attach_balancing_weights,
    ipw_effect,
    weighted_did,
)

__all__ = [
    "LeeBounds",
    "Matching",
    "MonotonicityWarning",
    "OverlapError",
    "PropensityScore",
    "SeparationError",
    "SurveyDesign",
    "Trimming",
    "aipw_effect",
    "attach_balancing_weights",
    "attrition_rates",
    "attrition_weights",
    "balance_weighted",
    "balancing_weights",
    "clustered_mde",
    "clustered_power",
    "crump_bounds",
    "design_effect",
    "differential_attrition",
    "effective_sample_size",
    "estimate_icc",
    "ex_post_mde",
    "fit_propensity",
    "imbens_manski_interval",
    "individual_power",
    "ipw_effect",
    "lee_bounds",
    "lee_bounds_table",
    "manski_bounds",
    "match_effect",
    "match_units",
    "mckenzie_factor",
    "mde_table",
    "oster_bounds",
    "oster_delta",
    "overlap_data",
    "placebo_tests",
    "required_clusters",
    "simulate_power",
    "stayer_balance",
    "survey_mean",
    "survey_proportion",
    "survey_total",
    "trim_propensity",
    "weighted_did",
]
