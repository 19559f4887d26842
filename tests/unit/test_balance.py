"""Balance table and joint orthogonality test against independent computations.

Means, SDs and counts come from pandas groupby; differences, SEs and the joint test from
statsmodels regressions on the same rows; KS from scipy's two-sample statistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from evaluation.estimation import balance_table, joint_orthogonality_test


@pytest.fixture(scope="module")
def baseline() -> pd.DataFrame:
    """Seeded baseline: 300 apprentices in 30 enterprises, three arms assigned by enterprise."""
    rng = np.random.default_rng(11)
    n = 300
    firm = rng.integers(0, 30, size=n)
    arm = firm % 3
    frame = pd.DataFrame(
        {
            "firm": firm,
            "strata": firm % 5,
            "arm": arm,
            "treat": (arm > 0).astype(float),
            "age": rng.normal(24, 3, size=n) + 0.4 * arm,
            "female": rng.integers(0, 2, size=n).astype(float),
            "wage": rng.lognormal(8, 0.5, size=n),
            "w": rng.uniform(0.5, 2.0, size=n),
        }
    )
    frame.loc[rng.choice(n, 15, replace=False), "wage"] = np.nan
    return frame


def test_cells_match_pandas_group_statistics(baseline):
    table = balance_table(baseline, "treat", ["age", "wage"], cluster="firm")
    for var in ["age", "wage"]:
        groups = baseline.dropna(subset=[var]).groupby("treat")
        for arm in (0.0, 1.0):
            row = table.loc[(table["variable"] == var) & (table["arm"] == arm)].iloc[0]
            assert row["mean"] == pytest.approx(groups[var].mean()[arm])
            assert row["sd"] == pytest.approx(groups[var].std()[arm])
            assert row["n"] == groups[var].count()[arm]
            assert row["n_clusters"] == groups["firm"].nunique()[arm]
    wage = table.loc[(table["variable"] == "wage") & (table["arm"] == 1.0)].iloc[0]
    g = baseline.dropna(subset=["wage"]).groupby("treat")["wage"]
    s1, s0 = g.std()[1.0], g.std()[0.0]
    diff = g.mean()[1.0] - g.mean()[0.0]
    assert wage["mean_difference"] == pytest.approx(diff)
    assert wage["difference"] == pytest.approx(diff)  # no FE/covariates: the raw difference
    assert wage["smd"] == pytest.approx(diff / np.sqrt((s1**2 + s0**2) / 2))
    assert wage["smd_denominator"].startswith("pooled SD")
    assert wage["variance_ratio"] == pytest.approx(s1**2 / s0**2)
    observed = baseline.dropna(subset=["wage"])
    ks = stats.ks_2samp(
        observed.loc[observed["treat"] == 1, "wage"], observed.loc[observed["treat"] == 0, "wage"]
    ).statistic
    assert wage["ks_statistic"] == pytest.approx(ks)
    ref = smf.ols("wage ~ treat", observed).fit(
        cov_type="cluster", cov_kwds={"groups": observed["firm"]}
    )
    assert wage["std_error"] == pytest.approx(ref.bse["treat"], rel=1e-8)
    assert wage["pvalue"] == pytest.approx(2 * stats.t.sf(abs(ref.tvalues["treat"]), 29), rel=1e-8)
    assert wage["vcov"] == "CR1"


def test_fixed_effects_report_the_coefficient(baseline):
    # iebaltab (ietoolkit#189): with fixed effects the difference is the regression coefficient.
    table = balance_table(baseline, "treat", ["age"], fixed_effects=["strata"], cluster="firm")
    row = table.loc[table["arm"] == 1.0].iloc[0]
    ref = smf.ols("age ~ treat + C(strata)", baseline).fit()
    assert row["difference"] == pytest.approx(ref.params["treat"], abs=1e-10)
    assert row["difference"] != pytest.approx(row["mean_difference"])


def test_weighted_cells_and_difference(baseline):
    table = balance_table(baseline, "treat", ["age"], weights="w", smd_denominator="control")
    row0 = table.loc[table["arm"] == 0.0].iloc[0]
    row1 = table.loc[table["arm"] == 1.0].iloc[0]
    control = baseline.loc[baseline["treat"] == 0]
    w, x = control["w"].to_numpy(), control["age"].to_numpy()
    mean = np.average(x, weights=w)
    var = np.sum(w * (x - mean) ** 2) * w.sum() / (w.sum() ** 2 - np.sum(w**2))
    assert row0["mean"] == pytest.approx(mean)
    assert row0["sd"] == pytest.approx(np.sqrt(var))
    assert row1["smd"] == pytest.approx((row1["mean"] - mean) / np.sqrt(var))
    assert row1["smd_denominator"] == "SD of the control arm (s_control)"
    ref = smf.wls("age ~ treat", baseline, weights=baseline["w"]).fit(cov_type="HC1")
    assert row1["difference"] == pytest.approx(ref.params["treat"], abs=1e-10)
    assert row1["std_error"] == pytest.approx(ref.bse["treat"], rel=1e-8)


def test_multi_arm_pairs_and_options(baseline):
    table = balance_table(baseline, "arm", ["age"], pvalues=False, total=True, control=0)
    assert list(table["arm"]) == [0, 1, 2, "total"]
    assert "pvalue" not in table.columns
    assert table.loc[table["arm"] == "total", "n"].iloc[0] == len(baseline)
    pair = baseline.loc[baseline["arm"].isin([0, 2])]
    expected = pair.groupby("arm")["age"].mean()
    assert table.loc[table["arm"] == 2, "difference"].iloc[0] == pytest.approx(
        expected[2] - expected[0]
    )
    treated_sd = balance_table(baseline, "arm", ["age"], smd_denominator="treated")
    assert not np.allclose(treated_sd["smd"].dropna(), table["smd"].dropna())


def test_missing_rule_complete_uses_common_rows(baseline):
    available = balance_table(baseline, "treat", ["age", "wage"], pvalues=False)
    complete = balance_table(baseline, "treat", ["age", "wage"], pvalues=False, missing="complete")
    n_age = available.loc[available["variable"] == "age", "n"].sum()
    n_age_complete = complete.loc[complete["variable"] == "age", "n"].sum()
    assert n_age == len(baseline)
    assert n_age_complete == baseline["wage"].notna().sum()


def test_bad_options_raise(baseline):
    with pytest.raises(ValueError, match="smd_denominator must be one of"):
        balance_table(baseline, "treat", ["age"], smd_denominator="sd")
    with pytest.raises(KeyError, match="balance variable 'height' not found"):
        balance_table(baseline, "treat", ["height"])
    with pytest.raises(
        ValueError, match=r"control arm 5 is not a value of 'arm'; arms are \[0, 1, 2\]"
    ):
        balance_table(baseline, "arm", ["age"], control=5)
    with pytest.raises(ValueError, match="missing must be one of"):
        joint_orthogonality_test(baseline, "treat", ["age"], missing="available")


def test_joint_orthogonality_matches_statsmodels_wald(baseline):
    result = joint_orthogonality_test(baseline, "treat", ["age", "female", "wage"], cluster="firm")
    row = result.iloc[0]
    rows = baseline.dropna(subset=["wage"])
    assert row["nobs"] == len(rows)
    assert row["n_dropped_missing"] == baseline["wage"].isna().sum()
    ref = smf.ols("treat ~ age + female + wage", rows).fit(
        cov_type="cluster", cov_kwds={"groups": rows["firm"]}, use_t=True
    )
    wald = ref.wald_test("age = female = wage = 0", use_f=True, scalar=True)
    assert row["f_statistic"] == pytest.approx(float(wald.statistic), rel=1e-8)
    assert row["df_denom"] == 29
    assert row["pvalue"] == pytest.approx(stats.f.sf(float(wald.statistic), 3, 29), rel=1e-8)


def test_joint_orthogonality_indicator_rule(baseline):
    result = joint_orthogonality_test(
        baseline, "treat", ["age", "wage"], cluster="firm", missing="indicator"
    )
    row = result.iloc[0]
    assert row["nobs"] == len(baseline)
    assert row["tested"] == "age, wage, wage_missing"
    assert row["df_num"] == 3
    filled = baseline.assign(
        wage_missing=baseline["wage"].isna().astype(float), wage=baseline["wage"].fillna(0)
    )
    ref = smf.ols("treat ~ age + wage + wage_missing", filled).fit(
        cov_type="cluster", cov_kwds={"groups": filled["firm"]}
    )
    wald = ref.wald_test("age = wage = wage_missing = 0", use_f=True, scalar=True)
    assert row["f_statistic"] == pytest.approx(float(wald.statistic), rel=1e-8)


def test_variable_nested_in_the_fixed_effects_has_no_test(baseline):
    # A variable constant within each stratum has no within-stratum difference: by hand the
    # coefficient and its SE are 0 (the residuals are 0), so there is no p-value to report
    # (it used to raise ZeroDivisionError).
    data = baseline.assign(stratum_code=baseline["strata"].astype(float))
    table = balance_table(
        data, "treat", ["stratum_code", "age"], fixed_effects=["strata"], cluster="firm"
    )
    row = table.loc[(table["variable"] == "stratum_code") & ~table["is_control"]].iloc[0]
    assert row["difference"] == pytest.approx(0.0, abs=1e-12)
    assert row["std_error"] == 0.0
    assert np.isnan(row["pvalue"])
    age = table.loc[(table["variable"] == "age") & ~table["is_control"]].iloc[0]
    assert 0 < age["pvalue"] < 1
