"""Propensity scores, trimming, IPW and AIPW.

Independent sources: statsmodels ``Logit`` and ``TreatmentEffect`` (ipw, aipw; HC0 sandwich of
the stacked GMM including the score step) on the same data; statsmodels WLS with clustered
covariance for the clustered variance with given scores; hand calculations written out below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.treatment.treatment_effects import TreatmentEffect

from evaluation.estimation import ancova
from evaluation.estimation.propensity import (
    OverlapError,
    SeparationError,
    balance_weighted,
    balancing_weights,
    crump_bounds,
    effective_sample_size,
    fit_propensity,
    overlap_data,
    trim_propensity,
)
from evaluation.estimation.weighting import aipw_effect, attach_balancing_weights, ipw_effect


@pytest.fixture(scope="module")
def observational() -> pd.DataFrame:
    """Selection on observables: 800 units in 40 enterprises."""
    rng = np.random.default_rng(1)
    n = 800
    x1 = rng.normal(size=n)
    x2 = rng.uniform(size=n)
    e = 1 / (1 + np.exp(-(-0.3 + 0.8 * x1 - 0.5 * x2)))
    t = (rng.uniform(size=n) < e).astype(float)
    firm = rng.integers(0, 40, size=n)
    y = 1 + 0.5 * t + x1 + 0.7 * x2 + rng.normal(size=n) + 0.5 * rng.normal(size=40)[firm]
    educ = rng.integers(1, 4, size=n)
    return pd.DataFrame(
        {
            "y": y,
            "t": t,
            "x1": x1,
            "x2": x2,
            "firm": firm,
            "educ": educ,
            "sw": rng.uniform(0.5, 2.0, size=n),
        }
    )


def _statsmodels_te(df: pd.DataFrame) -> TreatmentEffect:
    X = sm.add_constant(df[["x1", "x2"]])
    selection = sm.Logit(df["t"], X).fit(disp=0)
    return TreatmentEffect(sm.OLS(df["y"], X), df["t"], results_select=selection)


def test_logit_matches_statsmodels_formula_and_list(observational):
    df = observational
    ref = sm.Logit(df["t"], sm.add_constant(df[["x1", "x2"]])).fit(disp=0)
    fit = fit_propensity(df, "t", ["x1", "x2"])
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(fit.cov.to_numpy(), ref.cov_params().to_numpy(), rtol=1e-6)
    # a formula with functions and categorical terms, as statsmodels' formula API builds it
    formula = "t ~ x1 + I(x1**2) + C(educ)"
    ours = fit_propensity(df, None, formula)
    theirs = sm.Logit.from_formula(formula, df).fit(disp=0)
    np.testing.assert_allclose(ours.score.to_numpy(), theirs.predict(df).to_numpy(), rtol=1e-7)


def test_ipw_matches_statsmodels_treatment_effect(observational):
    te = _statsmodels_te(observational)
    for estimand, group in (("ATE", "all"), ("ATT", 1)):
        ref = te.ipw(effect_group=group).summary_frame().loc["ATE"]
        ours = ipw_effect(observational, "y", "t", ["x1", "x2"], estimand=estimand)
        assert ours.effect == pytest.approx(ref["coef"], rel=1e-6)
        assert ours.std_error == pytest.approx(ref["std err"], rel=1e-4)
        assert ours.estimator == "ipw-hajek"
        assert ours.vcov == "HC0"


def test_aipw_matches_statsmodels_treatment_effect(observational):
    ref = _statsmodels_te(observational).aipw().summary_frame().loc["ATE"]
    ours = aipw_effect(observational, "y", "t", ["x1", "x2"])
    assert ours.effect == pytest.approx(ref["coef"], rel=1e-6)
    assert ours.std_error == pytest.approx(ref["std err"], rel=1e-4)


def test_hajek_and_horvitz_thompson_by_hand():
    # Given scores, six units. ATE weights 1/e (treated) and 1/(1-e) (control).
    df = pd.DataFrame(
        {
            "y": [4.0, 6.0, 5.0, 1.0, 2.0, 3.0],
            "t": [1, 1, 1, 0, 0, 0],
            "e": [0.5, 0.8, 0.4, 0.5, 0.2, 0.6],
        }
    )
    # treated: weights 2, 1.25, 2.5 -> Hajek mu1 = (8 + 7.5 + 12.5) / 5.75 = 28 / 5.75
    # control: weights 2, 1.25, 2.5 -> Hajek mu0 = (2 + 2.5 + 7.5) / 5.75 = 12 / 5.75
    hajek = ipw_effect(df, "y", "t", "e")
    assert hajek.effect == pytest.approx((28 - 12) / 5.75, rel=1e-12)
    # Horvitz-Thompson divides the weighted sums by N = 6
    ht = ipw_effect(df, "y", "t", "e", normalized=False)
    assert ht.effect == pytest.approx((28 - 12) / 6, rel=1e-12)
    assert ht.estimator == "ipw-ht"
    assert any("conditional" in n for n in ht.notes)
    # ATT odds weights for controls e/(1-e) = 1, 0.25, 1.5: mu0 = (1 + 0.5 + 4.5) / 2.75
    att = ipw_effect(df, "y", "t", "e", estimand="ATT")
    assert att.effect == pytest.approx(5.0 - 6.0 / 2.75, rel=1e-12)
    # survey weights multiply the balancing weights: doubling the first treated unit
    sw = ipw_effect(df.assign(s=[2.0, 1, 1, 1, 1, 1]), "y", "t", "e", weights="s")
    assert sw.effect == pytest.approx((36 / 7.75) - 12 / 5.75, rel=1e-12)


def test_clustered_variance_with_given_scores_equals_clustered_wls(observational):
    # With scores taken as given, Hajek IPW is WLS of y on T with weights W; the stacked
    # sandwich is statsmodels' clustered covariance without its (N-1)/(N-K) factor.
    df = observational
    e = fit_propensity(df, "t", ["x1", "x2"]).score
    df = df.assign(e=e)
    ours = ipw_effect(df, "y", "t", "e", cluster="firm")
    w = balancing_weights(df["e"], df["t"], normalized=False)
    wls = sm.WLS(df["y"], sm.add_constant(df["t"]), weights=w).fit(
        cov_type="cluster", cov_kwds={"groups": df["firm"]}
    )
    n, k = len(df), 2
    assert ours.effect == pytest.approx(wls.params["t"], rel=1e-10)
    assert ours.std_error == pytest.approx(wls.bse["t"] * np.sqrt((n - k) / (n - 1)), rel=1e-6)
    assert ours.df == 39
    assert ours.n_clusters == 40


def test_singleton_clusters_give_hc0_times_small_sample_factor(observational):
    # One unit per cluster: B = n/(n-1) sum psi psi' (independent check against statsmodels).
    df = observational.assign(unit=np.arange(len(observational)))
    ref = _statsmodels_te(df).ipw().summary_frame().loc["ATE"]
    ours = ipw_effect(df, "y", "t", ["x1", "x2"], cluster="unit")
    n = len(df)
    assert ours.std_error == pytest.approx(ref["std err"] * np.sqrt(n / (n - 1)), rel=1e-4)


@pytest.mark.slow
def test_bootstrap_is_seeded_and_close_to_analytic(observational):
    kw = {"cluster": "firm", "se": "bootstrap", "n_boot": 99, "seed": 3}
    a = ipw_effect(observational, "y", "t", ["x1", "x2"], **kw)
    b = ipw_effect(observational, "y", "t", ["x1", "x2"], **kw)
    analytic = ipw_effect(observational, "y", "t", ["x1", "x2"], cluster="firm")
    assert a.std_error == b.std_error
    assert a.effect == analytic.effect
    # 40 clusters, 99 draws: the bootstrap SE is itself noisy (about 7% relative SD)
    assert a.std_error == pytest.approx(analytic.std_error, rel=0.3)
    assert "bootstrap" in a.inference


def test_trimming_fixed_and_crump(observational):
    fit = fit_propensity(observational, "t", ["x1", "x2"])
    none = trim_propensity(fit)
    fixed = trim_propensity(fit, (0.3, 0.7))
    e, t = fit.score.to_numpy(), fit.t
    outside = (e < 0.3) | (e > 0.7)
    assert fixed.dropped_treated == int(np.sum(outside & (t == 1)))
    assert fixed.dropped_control == int(np.sum(outside & (t == 0)))
    assert none.keep.all()
    # trim bounds change the estimate and the retained N
    full = ipw_effect(observational, "y", "t", ["x1", "x2"])
    trimmed = ipw_effect(observational, "y", "t", ["x1", "x2"], trim=(0.3, 0.7))
    assert trimmed.nobs == int((~outside).sum())
    assert trimmed.effect != full.effect
    # weights re-normalised on the retained sample: treated Hajek weights sum to N_treated
    kept = ~outside
    w = balancing_weights(e[kept], t[kept])
    assert w[t[kept] == 1].sum() == pytest.approx(np.sum(t[kept] == 1))


def test_crump_rule_by_hand():
    # g = 1/(e(1-e)): e = 0.5 -> 4, e = 0.2 -> 6.25, e = 0.02 -> 51.02.
    e = np.array([0.5, 0.5, 0.2, 0.8, 0.02])
    # mean g = (4+4+6.25+6.25+51.02)/5 = 14.3 < max/2: trimming needed. Sorted g:
    # 4, 4, 6.25, 6.25, 51.02; cumulative means 4, 4, 4.75, 5.125; first k with
    # 2*mean_k < g_(k+1): k = 4 (2*5.125 = 10.25 < 51.02) -> gamma = 10.25.
    gamma = 10.25
    alpha = 0.5 - np.sqrt(0.25 - 1 / gamma)
    lower, upper = crump_bounds(e)
    assert lower == pytest.approx(alpha, rel=1e-12)
    assert upper == pytest.approx(1 - alpha, rel=1e-12)
    # no trimming when max g <= 2 mean g
    assert crump_bounds(np.array([0.4, 0.5, 0.6])) == (0.0, 1.0)


def test_overlap_data_counts(observational):
    fit = fit_propensity(observational, "t", ["x1", "x2"])
    table = overlap_data(fit, bins=10)
    assert len(table) == 20
    assert table.groupby("arm")["count"].sum().to_dict() == {
        0: int((fit.t == 0).sum()),
        1: int((fit.t == 1).sum()),
    }
    assert table.groupby("arm")["share"].sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_effective_sample_size_and_balance_before_after(observational):
    assert effective_sample_size([1, 1, 1, 1]) == 4
    assert effective_sample_size([3, 1]) == pytest.approx(16 / 10)
    fit = fit_propensity(observational, "t", ["x1", "x2"])
    w = balancing_weights(fit.score, fit.t, estimand="ATT")
    table = balance_weighted(observational, "t", ["x1", "x2"], w, estimand="ATT")
    smd = table.loc[table["arm"] == 1].set_index(["sample", "variable"])["smd"]
    # weighting removes most of the imbalance in x1 (selection works through x1)
    assert abs(smd["after", "x1"]) < 0.1 < abs(smd["before", "x1"])
    assert (table.loc[table["arm"] == 1, "smd_denominator"] == "SD of the arm (s_arm)").all()


def test_survey_weights_enter_the_score_model(observational):
    plain = fit_propensity(observational, "t", ["x1", "x2"])
    weighted = fit_propensity(observational, "t", ["x1", "x2"], weights="sw")
    ref = sm.GLM(
        observational["t"],
        sm.add_constant(observational[["x1", "x2"]]),
        family=sm.families.Binomial(),
        freq_weights=observational["sw"],
    ).fit()
    np.testing.assert_allclose(weighted.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert not np.allclose(weighted.params, plain.params)
    a = ipw_effect(observational, "y", "t", ["x1", "x2"], weights="sw")
    b = ipw_effect(observational, "y", "t", ["x1", "x2"])
    assert a.effect != b.effect


def test_weighted_did_recipe(observational):
    panel = (
        pd.concat(
            [
                observational.assign(post=0.0, yy=observational["x1"]),
                observational.assign(post=1.0, yy=observational["y"]),
            ]
        )
        .reset_index()
        .rename(columns={"index": "id"})
    )
    base = panel.loc[panel["post"] == 0]
    score = fit_propensity(base, "t", ["x1", "x2"])
    weighted = attach_balancing_weights(panel, score, unit="id", estimand="ATT", trim=(0.05, 0.95))
    assert weighted["balancing_weight"].notna().all()
    first = weighted.groupby("id")["balancing_weight"].nunique()
    assert (first == 1).all()
    assert "trimming" in weighted.attrs


def test_bad_inputs(observational):
    with pytest.raises(ValueError, match="binary"):
        fit_propensity(observational.assign(t=observational["t"] * 2), "t", ["x1"])
    separated = observational.assign(t=(observational["x1"] > 0).astype(float))
    with pytest.raises(SeparationError, match="separation"):
        fit_propensity(separated, "t", ["x1"])
    with pytest.raises(SeparationError):
        ipw_effect(separated, "y", "t", ["x1"])
    fit = fit_propensity(observational, "t", ["x1", "x2"])
    with pytest.raises(OverlapError, match="no treated"):
        trim_propensity(fit, (0.995, 1.0))
    with pytest.raises(OverlapError, match="0 or 1"):
        ipw_effect(observational.assign(e=observational["t"]), "y", "t", "e")
    zero = observational.assign(sw=observational["sw"].where(observational.index > 4, 0.0))
    with pytest.warns(UserWarning, match="dropped 5 rows with zero survey weight"):
        res = ipw_effect(zero, "y", "t", ["x1", "x2"], weights="sw")
    assert res.nobs == len(observational) - 5
    poor = observational.assign(x1=observational["x1"] * 4)
    with pytest.warns(UserWarning, match="extreme"):
        ipw_effect(
            poor.assign(
                t=(poor["x1"] + poor["x2"] > 0)
                .astype(float)
                .where(poor.index % 50 != 0, 1 - (poor["x1"] > 0))
            ),
            "y",
            "t",
            ["x1"],
        )


def test_integer_survey_weights_equal_expanded_data(observational):
    # Whole-number survey weights act as copies: the weighted logit, outcome regressions and
    # means equal the unweighted estimator on the data with each row repeated w times.
    df = observational.assign(k=(np.arange(len(observational)) % 3 + 1).astype(float))
    expanded = df.loc[df.index.repeat(df["k"].astype(int))].reset_index(drop=True)
    for func in (ipw_effect, aipw_effect):
        for estimand in ("ATE", "ATT"):
            weighted = func(df, "y", "t", ["x1", "x2"], weights="k", estimand=estimand)
            copies = func(expanded, "y", "t", ["x1", "x2"], estimand=estimand)
            assert weighted.effect == pytest.approx(copies.effect, rel=1e-9)


def test_weighted_ancova_recipe_multiplies_survey_weights(observational):
    # Balancing x survey weights in the regression core; statsmodels WLS with the product of
    # the ATT odds weights (computed here by hand from the fitted score) and the survey weights.
    score = fit_propensity(observational, "t", ["x1", "x2"], weights="sw")
    frame = attach_balancing_weights(
        observational, score, estimand="ATT", normalized=False, survey_weights="sw"
    )
    e = score.score.to_numpy()
    t = observational["t"].to_numpy()
    product = observational["sw"].to_numpy() * np.where(t == 1, 1.0, e / (1 - e))
    np.testing.assert_allclose(frame["balancing_weight"], product, rtol=1e-12)
    ours = ancova(
        frame,
        "y",
        "t",
        "x1",
        covariates=["x2"],
        cluster="firm",
        weights="balancing_weight",
        weights_kind="sampling",
    )
    ref = sm.WLS(
        observational["y"], sm.add_constant(observational[["t", "x1", "x2"]]), weights=product
    ).fit(cov_type="cluster", cov_kwds={"groups": observational["firm"]})
    assert ours.effect == pytest.approx(ref.params["t"], rel=1e-10)
    assert ours.std_error == pytest.approx(ref.bse["t"], rel=1e-8)
