"""Statistics on any DataFrame: effects, inference, balance, weighting, bounds and power.

This stage imports nothing else of the package, so it can be used and tested on its own.
"""

from evaluation.estimation.results import EffectEstimate, EffectEstimates

__all__ = ["EffectEstimate", "EffectEstimates"]
