"""Power and MDE.

Independent sources: METHODS.md 4.12 (R ``pwr`` 1.3 values; the clustered MDE table computed from
Bloom's formula), McKenzie (2012) factors (METHODS 2.2), the Eldridge et al. (2006) design
effect, a one-way ANOVA ICC computed by hand, and simulation against the analytic power.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.estimation import estimate_effect
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


def test_clustered_mde_table_methods_4_12():
    # J = 40, n = 20, rho = 0.1, P = 0.5, alpha = 0.05 two-sided, power 0.8
    assert clustered_mde(40, 20, 0.1, multiplier="normal") == pytest.approx(0.3374, abs=5e-5)
    assert clustered_mde(40, 20, 0.1) == pytest.approx(0.3463, abs=5e-5)
    kw = {"r2_cluster": 0.5, "r2_individual": 0.5}
    assert clustered_mde(40, 20, 0.1, **kw) == pytest.approx(0.2448, abs=5e-5)
    assert clustered_mde(40, 20, 0.1, take_up=0.7, **kw) == pytest.approx(0.3498, abs=5e-5)
    table = mde_table([40], 20, 0.1, multiplier="normal")
    assert table.loc[0, "m"] == pytest.approx(2.8016, abs=5e-5)
    assert mde_table([40], 20, 0.1).loc[0, "m"] == pytest.approx(2.8756, abs=5e-5)


def test_mckenzie_factors_methods_2_2():
    for rho, ancova, did in [(0.2, 0.96, 1.60), (0.5, 0.75, 1.00), (0.8, 0.36, 0.40)]:
        assert mckenzie_factor("ancova", rho) == pytest.approx(ancova)
        assert mckenzie_factor("did", rho) == pytest.approx(did)
    # m baseline and r follow-up rounds: ANCOVA (1 + (r-1) rho)/r - m rho^2/(1 + (m-1) rho)
    assert mckenzie_factor("ancova", 0.5, baseline_rounds=2, followup_rounds=3) == pytest.approx(
        (1 + 2 * 0.5) / 3 - 2 * 0.25 / 1.5
    )
    base = clustered_mde(40, 20, 0.1)
    assert clustered_mde(40, 20, 0.1, design="ancova", autocorrelation=0.5) == pytest.approx(
        base * np.sqrt(0.75)
    )


def test_unequal_sizes_and_attrition():
    # Eldridge: DE = 1 + ((cv^2 + 1) m - 1) rho; cv = 0.5, m = 20, rho = 0.1 -> 1 + 24 * 0.1
    assert design_effect(20, 0.1, cv=0.5) == pytest.approx(3.4)
    # the MDE's variance is sigma^2 DE / (P(1-P) J n) when there are no covariates
    var = 3.4 / (0.25 * 40 * 20)
    m = stats.t.ppf(0.975, 38) + stats.t.ppf(0.8, 38)
    assert clustered_mde(40, 20, 0.1, cv=0.5) == pytest.approx(m * np.sqrt(var))
    # attrition of 20% is a cluster size of 16
    assert clustered_mde(40, 20, 0.1, attrition=0.2) == pytest.approx(clustered_mde(40, 16, 0.1))


def test_power_and_required_clusters_invert_the_mde():
    mde = clustered_mde(40, 20, 0.1)
    assert clustered_power(mde, 40, 20, 0.1) == pytest.approx(0.8)
    assert required_clusters(mde, 20, 0.1) == 40
    assert required_clusters(mde * 1.0001, 20, 0.1) == 40
    assert required_clusters(mde * 0.999, 20, 0.1) == 41
    with pytest.raises(ValueError, match="at least 3 clusters"):
        clustered_mde(2, 20, 0.1)
    with pytest.raises(ValueError, match="more than 50 clusters"):
        required_clusters(0.01, 20, 0.1, max_clusters=50)
    # parameters are honoured
    assert clustered_mde(40, 20, 0.2) > clustered_mde(40, 20, 0.1)
    assert clustered_mde(40, 20, 0.1, treated_share=0.3) > mde


def test_individual_power_matches_pwr_methods_4_12():
    assert individual_power(effect_size=0.2, power=0.8) == pytest.approx(393.4057, abs=1e-3)
    assert individual_power(effect_size=0.3, nobs1=100) == pytest.approx(0.56005925, abs=1e-6)
    h = 2 * np.arcsin(np.sqrt(0.65)) - 2 * np.arcsin(np.sqrt(0.45))
    assert individual_power(effect_size=h, power=0.8, test="normal") == pytest.approx(
        95.769387, abs=1e-3
    )
    assert individual_power(effect_size=0.3, nobs1=200, ratio=0.5) == pytest.approx(
        0.68496929, abs=1e-6
    )
    assert individual_power(nobs1=200, power=0.8) == pytest.approx(0.28082671, abs=1e-4)
    with pytest.raises(ValueError, match="exactly one"):
        individual_power(effect_size=0.2)


def test_icc_by_hand():
    # clusters {1, 3}, {2, 4, 6}: means 2 and 4, grand mean 3.2, N = 5, G = 2
    # MSB = (2*(2-3.2)^2 + 3*(4-3.2)^2)/1 = 4.8; MSW = (1+1+4+0+4)/3 = 10/3
    # n0 = (5 - 13/5)/1 = 2.4; ICC = (4.8 - 10/3)/(4.8 + 1.4*10/3)
    df = pd.DataFrame({"y": [1, 3, 2, 4, 6], "g": ["a", "a", "b", "b", "b"]})
    assert estimate_icc(df, "y", "g") == pytest.approx((4.8 - 10 / 3) / (4.8 + 1.4 * 10 / 3))


def _clustered_world(rng: np.random.Generator, effect: float = 0.0) -> pd.DataFrame:
    j, n, rho = 40, 10, 0.1
    g = np.repeat(np.arange(j), n)
    t = (g % 2).astype(float)
    y = (
        effect * t
        + np.sqrt(rho) * rng.normal(size=j)[g]
        + np.sqrt(1 - rho) * rng.normal(size=j * n)
    )
    return pd.DataFrame({"y": y, "t": t, "g": g})


def test_ex_post_mde_on_a_realised_design():
    df = _clustered_world(np.random.default_rng(4))
    row = ex_post_mde(df, "y", "t", cluster="g").iloc[0]
    est = estimate_effect(df, "y", "t", cluster="g")
    m = stats.t.ppf(0.975, 39) + stats.t.ppf(0.8, 39)
    assert row["mde"] == pytest.approx(m * est.std_error)
    assert row["n_clusters"] == 40
    assert row["cv_cluster_size"] == 0
    assert 0 < row["icc"] < 0.4
    # the analytic MDE at the estimated ICC is of the same size as the realised one
    assert row["mde_analytic"] == pytest.approx(row["mde"], rel=0.35)


@pytest.mark.slow
def test_simulated_power_agrees_with_analytic():
    effect = 0.3
    analytic = clustered_power(effect, 40, 10, 0.1)

    def estimator(frame):
        return estimate_effect(frame, "y", "t", cluster="g")

    sim = simulate_power(
        lambda rng: _clustered_world(rng, effect),
        estimator,
        n_sims=400,
        seed=1,
        true_effect=effect,
    ).iloc[0]
    assert abs(sim["power"] - analytic) < 3 * np.sqrt(analytic * (1 - analytic) / 400) + 0.02
    assert abs(sim["bias"]) < 0.03
    assert 0.91 < sim["coverage"] < 0.98
    again = simulate_power(lambda rng: _clustered_world(rng, effect), estimator, n_sims=20, seed=1)
    first = simulate_power(lambda rng: _clustered_world(rng, effect), estimator, n_sims=20, seed=1)
    pd.testing.assert_frame_equal(again, first)


def test_simulation_reports_failures():
    calls = iter(range(10))

    def flaky(frame):
        if next(calls) % 2:
            msg = "boom"
            raise ValueError(msg)
        return 0.1, 0.01

    with pytest.warns(UserWarning, match="5 of 10 replications failed"):
        out = simulate_power(lambda rng: pd.DataFrame({"a": [1]}), flaky, n_sims=10, seed=0)
    assert out.loc[0, "power"] == 1.0
    assert out.loc[0, "n_failed"] == 5


def test_ex_post_mde_with_one_unit_per_cluster():
    # Enterprise-level analysis: the enterprise is both the unit and the cluster. The ICC is
    # not defined (it used to raise); by hand, the analytic MDE with n = 1 is
    # (t_{J-2, 0.975} + t_{J-2, 0.8}) sigma sqrt(1 / (P (1 - P) J)), whatever the ICC.
    rng = np.random.default_rng(8)
    j = 30
    df = pd.DataFrame({"g": np.arange(j), "t": (np.arange(j) % 2).astype(float)})
    df["y"] = 0.5 * df["t"] + rng.normal(size=j)
    row = ex_post_mde(df, "y", "t", cluster="g", vcov="HC1").iloc[0]
    assert np.isnan(row["icc"])
    assert row["n_clusters"] == j
    m = stats.t.ppf(0.975, j - 2) + stats.t.ppf(0.8, j - 2)
    sigma = df["y"].std(ddof=1)
    assert row["mde_analytic"] == pytest.approx(m * sigma * np.sqrt(1 / (0.25 * j)), rel=1e-12)
    est = estimate_effect(df, "y", "t", cluster="g", vcov="HC1")
    assert row["std_error"] == est.std_error
