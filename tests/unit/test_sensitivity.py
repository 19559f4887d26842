"""Oster (2019) bounds and placebo tests.

Independent sources: Oster's Proposition 2 on a simulated population where its assumptions hold
by construction (observed index W1 = w and unobserved W2 = u orthogonal, treatment
x = a w + b u + e so the true proportional-selection ratio is delta = b / a, and R_max the R^2 of
the full regression): with the true delta and R_max the exact beta* recovers the true effect;
her approximate formulas (eq. 3) written out by hand; statsmodels OLS for the placebo
regressions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluation.estimation.sensitivity import oster_bounds, placebo_tests


def _world(a: float, b: float, n: int = 100_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w, u = rng.normal(size=n), rng.normal(size=n)
    x = a * w + b * u + rng.normal(size=n)
    y = 0.3 * x + w + u + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "w": w, "u": u, "z": rng.normal(size=n)})


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (0.6, 0.3), (0.4, 0.8)])
def test_exact_beta_star_recovers_the_truth(a, b):
    df = _world(a, b)
    r_max = sm.OLS(df["y"], sm.add_constant(df[["x", "w", "u"]])).fit().rsquared
    row = oster_bounds(df, "y", "x", ["w"], r_max=r_max, delta=b / a).iloc[0]
    assert row["beta_star"] == pytest.approx(0.3, abs=0.02)
    # the naive long regression is far off: omitted u is correlated with x
    assert abs(row["beta_long"] - 0.3) > 0.2


def test_approximations_by_hand():
    df = _world(0.5, 0.5, n=5_000, seed=1)
    short = sm.OLS(df["y"], sm.add_constant(df[["x"]])).fit()
    long = sm.OLS(df["y"], sm.add_constant(df[["x", "w"]])).fit()
    bs, rs, bl, rl = short.params["x"], short.rsquared, long.params["x"], long.rsquared
    row = oster_bounds(df, "y", "x", ["w"]).iloc[0]
    r_max = 1.3 * rl
    assert row["r_max"] == pytest.approx(r_max)
    assert row["beta_short"] == pytest.approx(bs)
    assert row["r2_long"] == pytest.approx(rl)
    assert row["beta_star_approx"] == pytest.approx(bl - (bs - bl) * (r_max - rl) / (rl - rs))
    assert row["delta_for_zero_approx"] == pytest.approx(
        bl * (rl - rs) / ((bs - bl) * (r_max - rl))
    )
    # with delta = 1 the exact and approximate beta* coincide (Oster 2019, section 3.2)
    assert row["beta_star"] == pytest.approx(row["beta_star_approx"], rel=1e-6)
    # r_max and delta are honoured
    other = oster_bounds(df, "y", "x", ["w"], r_max=0.9, delta=0.5).iloc[0]
    assert other["beta_star"] != row["beta_star"]
    with pytest.raises(ValueError, match="r_max"):
        oster_bounds(df, "y", "x", ["w"], r_max=0.01)


def test_placebo_tests_match_ols():
    df = _world(0.5, 0.5, n=2_000, seed=2).assign(g=np.arange(2_000) % 40)
    results = placebo_tests(df, ["z", "u"], "x", covariates=["w"], cluster="g")
    assert [e.estimator for e in results] == ["placebo", "placebo"]
    assert {e.family for e in results} == {"placebo"}
    ref = sm.OLS(df["z"], sm.add_constant(df[["x", "w"]])).fit(
        cov_type="cluster", cov_kwds={"groups": df["g"]}
    )
    assert results[0].effect == pytest.approx(ref.params["x"])
    assert results[0].std_error == pytest.approx(ref.bse["x"], rel=1e-8)
    # u drives both x and y: the placebo on it is strongly "significant"
    assert results[1].pvalue < 1e-6
