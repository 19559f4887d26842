"""Indicators: labour status, job quality, occupation coding, mismatch, skills and the logframe."""

from evaluation.indicators._common import ConfigError, IndicatorError
from evaluation.indicators.indices import cronbach_alpha, standardize, summary_index
from evaluation.indicators.labour import activity_calendar, labour_status, transition_stage
from evaluation.indicators.mismatch import (
    field_mismatch,
    normative_mapping,
    qualification_mismatch,
    skills_mismatch,
    statistical_thresholds,
)

__all__ = [
    "ConfigError",
    "IndicatorError",
    "activity_calendar",
    "cronbach_alpha",
    "field_mismatch",
    "labour_status",
    "normative_mapping",
    "qualification_mismatch",
    "skills_mismatch",
    "standardize",
    "statistical_thresholds",
    "summary_index",
    "transition_stage",
]
