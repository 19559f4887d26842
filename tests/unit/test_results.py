import dataclasses
import math

import pytest

from evaluation.estimation import EffectEstimate, EffectEstimates


def _estimate(outcome: str, effect: float, **kw) -> EffectEstimate:
    base = {
        "outcome": outcome,
        "estimator": "ancova",
        "effect": effect,
        "std_error": 0.1,
        "pvalue": 0.05,
        "ci_lower": effect - 0.196,
        "ci_upper": effect + 0.196,
        "df": 49.0,
        "nobs": 1000,
        "n_clusters": 50,
        "control_mean": 0.4,
        "vcov": "CR1",
        "inference": "analytic",
    }
    base.update(kw)
    return EffectEstimate(**base)


def test_estimate_is_frozen_and_extra_cannot_change():
    est = _estimate("emp", 0.1, extra={"trim_share": 0.05})
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.effect = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        est.extra["trim_share"] = 1.0  # type: ignore[index]
    assert est.replace(effect=0.2).effect == 0.2
    assert est.effect == 0.1


def test_to_frame_one_row_per_estimate_with_adjustments_and_extra_columns():
    results = EffectEstimates(
        (_estimate("emp", 0.1), _estimate("wage", 0.2, family="job", extra={"ess": 812.5})),
        adjustments={"holm": (0.1, 0.1)},
    )
    frame = results.to_frame()
    assert list(frame["outcome"]) == ["emp", "wage"]
    assert list(frame["holm"]) == [0.1, 0.1]
    assert frame.loc[1, "ess"] == 812.5
    assert math.isnan(frame.loc[0, "ess"])
    assert "fit" not in frame.columns


def test_adjustments_must_align():
    with pytest.raises(ValueError, match="expected one value per estimate"):
        EffectEstimates((_estimate("emp", 0.1),), adjustments={"holm": (0.1, 0.2)})


def test_concat_keeps_shared_adjustments_only():
    a = EffectEstimates((_estimate("a", 0.1),), adjustments={"holm": (0.2,), "bh": (0.1,)})
    b = EffectEstimates((_estimate("b", 0.1),), adjustments={"holm": (0.3,)})
    joined = EffectEstimates.concat([a, b])
    assert [e.outcome for e in joined] == ["a", "b"]
    assert dict(joined.adjustments) == {"holm": (0.2, 0.3)}


def test_summary_and_html_name_the_conventions():
    est = _estimate("emp", 0.1, notes=("auto chose CR2: 12 clusters",))
    assert "CR1" in est.summary()
    assert "auto chose CR2" in est.summary()
    html = EffectEstimates((est,))._repr_html_()
    assert "<table>" in html
    assert "emp" in html
