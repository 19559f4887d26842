"""Design-based estimation.

Independent sources: Cochran (1977), *Sampling Techniques*, 3rd ed., Theorem 5.3 and eq. (5.6)
(stratified random sampling: V(ybar_st) = sum (N_h/N)^2 (1 - f_h) s_h^2 / n_h, and
V(Y_st) = sum N_h^2 (1 - f_h) s_h^2 / n_h), worked out by hand below; statsmodels WLS with
clustered covariance for a one-stage cluster sample without strata (R ``survey``'s variance of a
ratio mean is then the CR1 variance of an intercept-only WLS, whose (N-1)/(N-K) factor is 1).
The R ``survey`` api numbers of METHODS.md 4.11 are not used: no installed package ships the
``api`` data (samplics 0.4-0.6 do not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluation.estimation.survey import (
    SurveyDesign,
    survey_mean,
    survey_proportion,
    survey_total,
)


@pytest.fixture
def stratified() -> pd.DataFrame:
    # Stratum 1: N = 100, sample 2, 4, 6 (s^2 = 4); stratum 2: N = 50, sample 10, 14 (s^2 = 8)
    return pd.DataFrame(
        {
            "y": [2.0, 4, 6, 10, 14],
            "h": [1, 1, 1, 2, 2],
            "N": [100, 100, 100, 50, 50],
            "w": [100 / 3] * 3 + [25.0] * 2,
            "yes": ["a", "b", "b", "a", "b"],
        }
    )


def test_stratified_mean_and_total_cochran(stratified):
    design = SurveyDesign(weights="w", strata="h", fpc="N")
    mean = survey_mean(stratified, "y", design).iloc[0]
    # ybar_st = (100 * 4 + 50 * 12) / 150
    assert mean["estimate"] == pytest.approx(1000 / 150)
    # (2/3)^2 (1 - 3/100) 4/3 + (1/3)^2 (1 - 2/50) 8/2
    var = (2 / 3) ** 2 * 0.97 * 4 / 3 + (1 / 3) ** 2 * 0.96 * 4
    assert mean["std_error"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert mean["df"] == 5 - 2
    total = survey_total(stratified, "y", design).iloc[0]
    assert total["estimate"] == pytest.approx(1000)
    assert total["std_error"] == pytest.approx(np.sqrt(100**2 * 0.97 * 4 / 3 + 50**2 * 0.96 * 4))
    # the fpc as sampling fractions gives the same; without the fpc the (1 - f) terms go
    fractions = stratified.assign(f=np.where(stratified["h"] == 1, 0.03, 0.04))
    same = survey_mean(fractions, "y", SurveyDesign(weights="w", strata="h", fpc="f"))
    assert same["std_error"].iloc[0] == pytest.approx(mean["std_error"])
    no_fpc = survey_mean(stratified, "y", SurveyDesign(weights="w", strata="h")).iloc[0]
    assert no_fpc["std_error"] == pytest.approx(np.sqrt((2 / 3) ** 2 * 4 / 3 + (1 / 3) ** 2 * 4))


def test_proportions(stratified):
    design = SurveyDesign(weights="w", strata="h", fpc="N")
    table = survey_proportion(stratified, "yes", design).set_index("level")
    # share of "b": (100 * 2/3 + 50 * 1/2) / 150
    assert table.loc["b", "estimate"] == pytest.approx((200 / 3 + 25) / 150)
    assert table.loc["a", "estimate"] + table.loc["b", "estimate"] == pytest.approx(1)
    assert table.loc["a", "std_error"] == pytest.approx(table.loc["b", "std_error"])


@pytest.fixture(scope="module")
def clustered() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(15), rng.integers(2, 8, size=15))
    n = g.size
    return pd.DataFrame(
        {
            "y": rng.normal(size=n) + rng.normal(size=15)[g],
            "g": g,
            "w": rng.uniform(1, 5, size=15)[g],
            "dom": rng.integers(0, 2, size=n),
        }
    )


def test_cluster_sample_matches_clustered_wls(clustered):
    design = SurveyDesign(weights="w", psu="g")
    ours = survey_mean(clustered, "y", design).iloc[0]
    ref = sm.WLS(clustered["y"], np.ones(len(clustered)), weights=clustered["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": clustered["g"]}
    )
    assert ours["estimate"] == pytest.approx(ref.params.iloc[0], rel=1e-12)
    assert ours["std_error"] == pytest.approx(ref.bse.iloc[0], rel=1e-10)
    assert ours["df"] == 14


def test_domain_keeps_the_whole_design(clustered):
    design = SurveyDesign(weights="w", psu="g")
    table = survey_mean(clustered, "y", design, domain="dom")
    assert list(table["dom"]) == [0, 1]
    part = clustered.loc[clustered["dom"] == 1]
    row = table.loc[table["dom"] == 1].iloc[0]
    assert row["estimate"] == pytest.approx(np.average(part["y"], weights=part["w"]))
    # by hand: z_i = w_i 1[dom] (y_i - ybar_d) / W_d summed by PSU; V = n/(n-1) sum (z_g - zbar)^2
    member = (clustered["dom"] == 1).to_numpy()
    z = np.where(member, clustered["w"] * (clustered["y"] - row["estimate"]), 0.0)
    z = z / clustered.loc[member, "w"].sum()
    zg = pd.Series(z).groupby(clustered["g"]).sum().to_numpy()
    var = 15 / 14 * np.sum((zg - zg.mean()) ** 2)
    assert row["std_error"] == pytest.approx(np.sqrt(var), rel=1e-12)


def test_design_errors(stratified):
    lonely = stratified.assign(h=[1, 1, 1, 2, 3])
    with pytest.raises(ValueError, match="single PSU"):
        survey_mean(lonely, "y", SurveyDesign(weights="w", strata="h"))
    certainty = survey_mean(
        lonely, "y", SurveyDesign(weights="w", strata="h", lonely_psu="certainty")
    )
    adjust = survey_mean(lonely, "y", SurveyDesign(weights="w", strata="h", lonely_psu="adjust"))
    assert adjust["std_error"].iloc[0] > certainty["std_error"].iloc[0]
    with pytest.raises(ValueError, match="positive"):
        survey_mean(stratified.assign(w=0.0), "y", SurveyDesign(weights="w"))
    with pytest.raises(ValueError, match="lonely_psu"):
        SurveyDesign(weights="w", lonely_psu="drop")
