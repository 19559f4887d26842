"""Indicators: labour status, job quality, occupation coding, mismatch, skills and the logframe.

One construction path for every round (:func:`construct_indicators`) over the clean panels, and
the building blocks for notebooks: :func:`labour_status`, :func:`qualification_mismatch`,
:func:`summary_index`, :func:`normalized_gain`, occupation coding and the results framework.
Every indicator carries frozen metadata (:data:`REGISTRY`).
"""

from evaluation.indicators._common import ConfigError, IndicatorError
from evaluation.indicators.capacity import capacity_scores, item_analysis, normalized_gain
from evaluation.indicators.construct import IndicatorConfig, IndicatorSet, construct_indicators
from evaluation.indicators.enterprise import enterprise_indicators
from evaluation.indicators.indices import cronbach_alpha, standardize, summary_index
from evaluation.indicators.jobs import WageRules, job_quality, low_pay, wages
from evaluation.indicators.labour import activity_calendar, labour_status, transition_stage
from evaluation.indicators.mismatch import (
    field_mismatch,
    normative_mapping,
    qualification_mismatch,
    skills_mismatch,
    statistical_thresholds,
)
from evaluation.indicators.occupations import (
    code_industry,
    code_occupations,
    coding_coverage,
    normalize_title,
    uncoded_titles,
    validate_manual_coding,
)
from evaluation.indicators.registry import ITEMS, REGISTRY, Indicator, indicator_codebook
from evaluation.indicators.skills import (
    answer_score,
    apprenticeship_indicators,
    core_skills,
    training_volume,
)

__all__ = [
    "ITEMS",
    "REGISTRY",
    "ConfigError",
    "Indicator",
    "IndicatorConfig",
    "IndicatorError",
    "IndicatorSet",
    "WageRules",
    "activity_calendar",
    "answer_score",
    "apprenticeship_indicators",
    "capacity_scores",
    "code_industry",
    "code_occupations",
    "coding_coverage",
    "construct_indicators",
    "core_skills",
    "cronbach_alpha",
    "enterprise_indicators",
    "field_mismatch",
    "indicator_codebook",
    "item_analysis",
    "job_quality",
    "labour_status",
    "low_pay",
    "normalize_title",
    "normalized_gain",
    "normative_mapping",
    "qualification_mismatch",
    "skills_mismatch",
    "standardize",
    "statistical_thresholds",
    "summary_index",
    "training_volume",
    "transition_stage",
    "uncoded_titles",
    "validate_manual_coding",
    "wages",
]
