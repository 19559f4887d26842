"""Statistics on any DataFrame: effects, inference, balance, weighting, bounds and power.

This stage imports nothing else of the package, so it can be used and tested on its own.
"""

from evaluation.estimation import selection
from evaluation.estimation.balance import balance_table, joint_orthogonality_test
from evaluation.estimation.covariance import RegressionFit
from evaluation.estimation.effects import (
    EffectSpec,
    FewClustersWarning,
    ancova,
    did,
    did_table,
    estimate_effect,
    estimate_effects,
    heterogeneity,
)
from evaluation.estimation.results import EffectEstimate, EffectEstimates
from evaluation.estimation.selection import *  # noqa: F403 (Estimation II: see selection.py)

__all__ = [
    "EffectEstimate",
    "EffectEstimates",
    "EffectSpec",
    "FewClustersWarning",
    "RegressionFit",
    "ancova",
    "balance_table",
    "did",
    "did_table",
    "estimate_effect",
    "estimate_effects",
    "heterogeneity",
    "joint_orthogonality_test",
]
__all__ += selection.__all__
