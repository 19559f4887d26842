"""The ``inference=`` argument of the estimators and the ``"auto"`` few-cluster rule.

Numbers are checked against the standalone functions (themselves tested against brute force in
test_bootstrap.py and test_randomization.py) and against the rule stated in
``evaluation.estimation.inference.apply_inference``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import (
    EffectSpec,
    FewClustersWarning,
    did,
    estimate_effect,
    estimate_effects,
    heterogeneity,
    randomization_inference,
    wild_cluster_bootstrap,
)


def _clustered(n_clusters: int, n_treated: int, size: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_clusters), size)
    treated = (np.arange(n_clusters) < n_treated).astype(float)[firm]
    x = rng.normal(size=firm.size)
    y = 0.2 * treated + x + rng.normal(size=n_clusters)[firm] + rng.normal(size=firm.size)
    return pd.DataFrame(
        {
            "y": y,
            "t": treated,
            "x": x,
            "firm": firm,
            "firm_name": np.array([f"firm {k:03d}" for k in range(n_clusters)])[firm],
            "female": rng.integers(0, 2, size=firm.size).astype(float),
        }
    )


def test_analytic_is_the_default_and_unchanged():
    frame = _clustered(20, 10)
    default = estimate_effect(frame, "y", "t", covariates=["x"], cluster="firm")
    explicit = estimate_effect(
        frame, "y", "t", covariates=["x"], cluster="firm", inference="analytic"
    )
    assert default == explicit
    assert default.inference == "analytic"


def test_wild_matches_the_standalone_bootstrap():
    frame = _clustered(20, 10)
    est = estimate_effect(
        frame, "y", "t", covariates=["x"], cluster="firm", inference="wild", seed=5
    )
    boot = wild_cluster_bootstrap(frame, "y", "t", covariates=["x"], cluster="firm", seed=5)
    assert (est.pvalue, est.ci_lower, est.ci_upper) == (boot.pvalue, boot.ci_lower, boot.ci_upper)
    assert est.inference == "wild (WCR, Rademacher, 9,999 draws, seed 5)"
    assert (
        est.std_error
        == estimate_effect(frame, "y", "t", covariates=["x"], cluster="firm").std_error
    )
    assert est.extra["bootstrap_draws"] == 9_999
    assert any("ties" in note for note in est.notes)


def test_randomization_matches_the_standalone_test():
    frame = _clustered(10, 5)
    est = estimate_effect(frame, "y", "t", cluster="firm", inference="randomization")
    ri = randomization_inference(frame, "y", "t", cluster="firm")
    assert (est.pvalue, est.ci_lower, est.ci_upper) == (ri.pvalue, ri.ci_lower, ri.ci_upper)
    assert est.inference == "randomization (t, all 252 assignments)"


@pytest.mark.parametrize(
    ("n_clusters", "n_treated", "expected"),
    [
        (60, 30, "auto: analytic CR1"),
        (30, 15, "auto: wild (WCR, Rademacher, 9,999 draws, seed 0)"),
        (13, 6, "auto: wild (WCR, Rademacher, full enumeration of 8,192 patterns)"),
        (10, 5, "auto: wild (WCR, Webb, 9,999 draws, seed 0)"),
    ],
)
def test_auto_rule_by_number_of_clusters(n_clusters, n_treated, expected):
    frame = _clustered(n_clusters, n_treated)
    est = estimate_effect(frame, "y", "t", covariates=["x"], cluster="firm", inference="auto")
    assert est.inference == expected
    # CR1, CR2 (Satterthwaite) and WCR side by side, whatever was chosen
    for key in ("pvalue_cr1", "pvalue_cr2", "df_cr2", "pvalue_wcr", "ci_lower_wcr"):
        assert key in est.extra
    analytic = estimate_effect(frame, "y", "t", covariates=["x"], cluster="firm")
    assert est.extra["pvalue_cr1"] == pytest.approx(analytic.pvalue)
    cr2 = estimate_effect(frame, "y", "t", covariates=["x"], cluster="firm", vcov="CR2")
    assert est.extra["df_cr2"] == pytest.approx(cr2.df)
    assert est.extra["pvalue_cr2"] == pytest.approx(cr2.pvalue)
    assert est.notes[-1].startswith("auto:")
    if "wild" in expected:
        assert est.pvalue == est.extra["pvalue_wcr"]
    else:
        assert est.pvalue == analytic.pvalue


def test_auto_without_clusters_is_analytic():
    frame = _clustered(20, 10)
    est = estimate_effect(frame, "y", "t", vcov="HC1", inference="auto")
    assert est.inference == "auto: analytic"
    assert est.pvalue == estimate_effect(frame, "y", "t", vcov="HC1").pvalue


def test_auto_few_treated_clusters_warns_and_uses_randomization():
    frame = _clustered(20, 3)
    with pytest.warns(FewClustersWarning, match="3 treated and 17 control clusters"):
        est = estimate_effect(frame, "y", "t", cluster="firm", inference="auto")
    ri = randomization_inference(frame, "y", "t", cluster="firm")
    assert est.inference == "auto: randomization (t, all 1,140 assignments)"
    assert est.pvalue == ri.pvalue == est.extra["pvalue_ri"]
    assert "pvalue_wcr" in est.extra


def test_single_treated_cluster_warns_and_the_bootstrap_p_is_large():
    # METHODS 4.13 #2: a two-way fixed-effects panel where one firm of 20 is treated and
    # firm-by-period shocks exist. CR1 looks significant; the WCR p-value is large; auto warns
    # and, with only 20 possible assignments (too few to reject at 5%), keeps the WCR.
    rng = np.random.default_rng(3)  # the treated firm draws a large post-period shock
    firms, workers = 20, 15
    rows = []
    shocks = rng.normal(size=(firms, 2))
    for f in range(firms):
        for w in range(workers):
            alpha = rng.normal()
            rows.extend(
                {
                    "firm": f"firm {f}",
                    "id": f * workers + w,
                    "post": float(period),
                    "t": float(f == 0),
                    "y": alpha + shocks[f, period] + 0.3 * rng.normal(),
                }
                for period in (0, 1)
            )
    panel = pd.DataFrame(rows)
    with pytest.warns(FewClustersWarning) as caught:
        est = did(panel, "y", "t", post="post", unit="id", cluster="firm", inference="auto")
    messages = [str(w.message) for w in caught]
    assert any("1 treated and 19 control clusters" in m for m in messages)
    assert any("suggested but not used" in m for m in messages)
    assert est.extra["pvalue_cr1"] < 0.001
    assert est.pvalue == est.extra["pvalue_wcr"] > 0.2
    assert est.inference.startswith("auto: wild (WCR, Rademacher")


def test_cluster_identifier_types_identical_under_auto():
    frame = _clustered(11, 5)
    results = [
        estimate_effect(frame.assign(cl=cl), "y", "t", cluster="cl", inference="auto")
        for cl in (frame["firm"], frame["firm_name"], pd.Categorical(frame["firm_name"]))
    ]
    for other in results[1:]:
        assert other.pvalue == results[0].pvalue
        assert other.ci_lower == pytest.approx(results[0].ci_lower, rel=1e-12)
        assert other.inference == results[0].inference


def test_heterogeneity_contrasts_are_bootstrapped():
    frame = _clustered(16, 8)
    rows = heterogeneity(frame, "y", "t", "female", cluster="firm", inference="wild", seed=1)
    assert all(r.inference.startswith("wild (WCR") for r in rows)
    difference = rows[-1]
    assert difference.estimator == "difference"
    assert dict(difference.extra["contrast"]) == {"t:female=1.0": 1.0, "t:female=0.0": -1.0}
    with pytest.raises(ValueError, match="not available"):
        heterogeneity(frame, "y", "t", "female", cluster="firm", inference="randomization")


def test_estimate_effects_shares_draws_across_outcomes():
    frame = _clustered(14, 7)
    frame["y_copy"] = frame["y"]
    spec = EffectSpec(
        outcomes=("y", "y_copy"),
        treatment="t",
        estimator="ols",
        cluster="firm",
        inference="wild",
        bootstrap_draws=999,
        seed=np.random.default_rng(3),
    )
    first, second = estimate_effects(frame, spec)
    assert first.pvalue == second.pvalue
    assert first.ci_lower == second.ci_lower
    with pytest.raises(ValueError, match="inference must be one of"):
        EffectSpec(outcomes=("y",), treatment="t", estimator="ols", inference="bayes")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inference": "bootstrap"}, "inference must be one of"),
        ({"inference": "wild", "weights_type": "normal"}, "weights_type must be one of"),
        ({"inference": "wild", "bootstrap_draws": 0}, "bootstrap_draws must be a positive"),
    ],
)
def test_bad_inference_options_raise(kwargs, message):
    frame = _clustered(10, 5)
    with warnings.catch_warnings(), pytest.raises(ValueError, match=message):
        estimate_effect(frame, "y", "t", cluster="firm", **kwargs)
