"""Statistics on any DataFrame: effects, inference, balance, weighting, bounds and power.

This stage imports nothing else of the package, so it can be used and tested on its own.
"""

from evaluation.estimation import selection
from evaluation.estimation.balance import balance_table, joint_orthogonality_test
from evaluation.estimation.bootstrap import (
    WildBootstrapResult,
    bootstrap_weights,
    wild_cluster_bootstrap,
)
from evaluation.estimation.covariance import RegressionFit
from evaluation.estimation.effects import (
    EffectSpec,
    ancova,
    did,
    did_table,
    estimate_effect,
    estimate_effects,
    heterogeneity,
)
from evaluation.estimation.inference import FewClustersWarning
from evaluation.estimation.multiple_testing import (
    adjust_pvalues,
    romano_wolf_pvalues,
    sharpened_qvalues,
)
from evaluation.estimation.randomization import RandomizationResult, randomization_inference
from evaluation.estimation.results import EffectEstimate, EffectEstimates
from evaluation.estimation.selection import *  # noqa: F403 (Estimation II: see selection.py)

__all__ = [
    "EffectEstimate",
    "EffectEstimates",
    "EffectSpec",
    "FewClustersWarning",
    "RandomizationResult",
    "RegressionFit",
    "WildBootstrapResult",
    "adjust_pvalues",
    "ancova",
    "balance_table",
    "bootstrap_weights",
    "did",
    "did_table",
    "estimate_effect",
    "estimate_effects",
    "heterogeneity",
    "joint_orthogonality_test",
    "randomization_inference",
    "romano_wolf_pvalues",
    "sharpened_qvalues",
    "wild_cluster_bootstrap",
]
__all__ += selection.__all__
