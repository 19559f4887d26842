"""The batched paths give the numbers of the one-at-a-time paths.

``estimate_effects`` fits every outcome of a specification and applies their inference together
(wild bootstraps that share draws run as one, the CR1 and CR2 fits of ``"auto"`` once per fit);
``bootstrap_fits`` stacks the products of many kernels with one set of draws; test inversion
settles draws that cannot change inside a bracket; ``C(column)`` terms are coded without
formulaic. Independent route: the same estimates one outcome, one contrast or one problem at a
time through the public single-estimate functions (whose own numbers are pinned against
statsmodels, pyfixest, clubSandwich and boottest elsewhere), and formulaic itself; everything
must agree to 1e-12 relative (p-values, which are counts of draws, exactly).
"""

from __future__ import annotations

import math

import formulaic
import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import (
    EffectSpec,
    ancova,
    did,
    estimate_effect,
    estimate_effects,
    heterogeneity,
    wild_cluster_bootstrap,
)
from evaluation.estimation._design import prepare_design
from evaluation.estimation._resampling import AffineStatistic, SymmetricPvalue, bootstrap_pvalue
from evaluation.estimation.bootstrap import bootstrap_fits, contrast_vector
from evaluation.estimation.covariance import _satterthwaite, fit_wls

RTOL = 1e-12
OUTCOMES = ["y_all", "y_emp", "y_emp2", "y_item"]


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    """Endline rows of 900 apprentices in 36 enterprises (6 strata), with baseline values.

    Outcomes with different missingness: ``y_all`` complete, ``y_emp`` and ``y_emp2`` only for
    the employed (the same rows), ``y_item`` with its own item non-response; baselines missing
    for some rows (dummied out by the ANCOVA).
    """
    rng = np.random.default_rng(42)
    n, g = 900, 36
    firm = np.sort(rng.integers(0, g, n))
    stratum = firm % 6
    treat = ((firm // 6) % 2).astype(float)
    shock = rng.normal(0, 0.5, g)[firm]
    employed = rng.random(n) < 0.6
    frame = {
        "firm": np.array([f"E{k:03d}" for k in range(g)])[firm],
        "stratum": stratum,
        "treat": treat,
        "age": rng.normal(22, 3, n).round(),
        "female": rng.integers(0, 2, n).astype(float),
        "city": np.where(stratum < 3, "TJ", "SZ"),
        "edu": rng.choice([3, 4, 5], n),
        "w": rng.uniform(0.5, 2.0, n),
    }
    for name, effect in zip(OUTCOMES, (0.3, 0.2, -0.1, 0.4), strict=True):
        base = shock + rng.normal(size=n)
        y = 0.5 * base + effect * treat + shock + rng.normal(size=n)
        if name in ("y_emp", "y_emp2"):
            y = np.where(employed, y, np.nan)
            base = np.where(rng.random(n) < 0.5, base, np.nan)
        if name == "y_item":
            y = np.where(rng.random(n) < 0.9, y, np.nan)
        frame[name] = y
        frame[f"{name}_bl"] = base
    return pd.DataFrame(frame)


@pytest.fixture(scope="module")
def panel(survey) -> pd.DataFrame:
    units = survey.assign(unit=np.arange(len(survey)))
    pre = units.assign(post=0.0, **{o: units[f"{o}_bl"] for o in OUTCOMES})
    post = units.assign(post=1.0)
    return pd.concat([pre, post], ignore_index=True)


def close(a: float, b: float) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= RTOL * max(abs(a), abs(b), 1e-300)


def assert_same_estimate(batched, single) -> None:
    for name in ("effect", "std_error", "pvalue", "ci_lower", "ci_upper", "df", "control_mean"):
        assert close(getattr(batched, name), getattr(single, name)), name
    for name in ("outcome", "nobs", "n_clusters", "vcov", "inference", "subgroup", "notes"):
        assert getattr(batched, name) == getattr(single, name), name
    assert set(batched.extra) == set(single.extra)
    for key, value in single.extra.items():
        if isinstance(value, float):
            assert close(batched.extra[key], value), key
        else:
            assert batched.extra[key] == value, key


INFERENCE = {
    "auto": {"inference": "auto", "bootstrap_draws": 199},
    "wild-webb": {"inference": "wild", "bootstrap_draws": 299, "weights_type": "webb"},
    "analytic": {"inference": "analytic"},
}
WEIGHTS = {
    "none": {},
    "analytic": {"weights": "w"},
    "sampling": {"weights": "w", "weights_kind": "sampling"},
}


@pytest.mark.parametrize("inference", list(INFERENCE))
@pytest.mark.parametrize("weighting", list(WEIGHTS))
def test_ancova_batched_equals_one_outcome_at_a_time(survey, inference, weighting):
    common = {
        "fixed_effects": ("stratum",),
        "cluster": "firm",
        "vcov": "CR2",
        "seed": 5,
        **INFERENCE[inference],
        **WEIGHTS[weighting],
    }
    spec = EffectSpec(
        outcomes=tuple(OUTCOMES),
        treatment="treat",
        covariates=("age", "female", "C(edu)"),
        baseline={o: f"{o}_bl" for o in OUTCOMES},
        subgroups=("female", "city"),
        **common,
    )
    batched = list(estimate_effects(survey, spec))
    single = []
    for outcome in OUTCOMES:
        single.append(
            ancova(
                survey,
                outcome,
                "treat",
                f"{outcome}_bl",
                covariates=["age", "female", "C(edu)"],
                **common,
            )
        )
        frame = survey.assign(
            **{
                f"{outcome}_bl": survey[f"{outcome}_bl"].fillna(0.0),
                f"{outcome}_bl_missing": survey[f"{outcome}_bl"].isna().astype(float),
            }
        )
        terms = [f"{outcome}_bl"]
        if (survey[f"{outcome}_bl"].isna() & survey[outcome].notna()).any():
            terms.append(f"{outcome}_bl_missing")
        else:
            frame = survey
        for by in ("female", "city"):
            single.extend(
                heterogeneity(
                    frame,
                    outcome,
                    "treat",
                    by,
                    covariates=[*terms, "age", "female", "C(edu)"],
                    **common,
                )
            )
    assert len(batched) == len(single)
    for b, s in zip(batched, single, strict=True):
        assert_same_estimate(b, s)
    # the outcomes differ in their samples, and two share one
    assert len({e.nobs for e in batched if e.subgroup is None}) == 3


@pytest.mark.parametrize("inference", ["auto", "wild-webb"])
def test_did_batched_equals_one_outcome_at_a_time(panel, inference):
    common = {"cluster": "firm", "vcov": "CR2", "seed": 9, **INFERENCE[inference]}
    spec = EffectSpec(
        outcomes=tuple(OUTCOMES),
        treatment="treat",
        estimator="did",
        post="post",
        unit="unit",
        period="post",
        **common,
    )
    batched = list(estimate_effects(panel, spec))
    single = [
        did(panel, o, "treat", post="post", unit="unit", period="post", **common) for o in OUTCOMES
    ]
    for b, s in zip(batched, single, strict=True):
        assert_same_estimate(b, s.replace(estimator="did"))


def test_bootstrap_of_many_fits_equals_each_alone(survey):
    # Stacked products with one set of draws: each problem's statistics as if bootstrapped
    # alone (same labels, so the same draws), for fits with fixed effects and weights.
    problems = []
    for outcome, weights in zip(OUTCOMES, (None, "w", None, "w"), strict=True):
        design = prepare_design(
            survey,
            outcome,
            "treat",
            covariates=["age", "female"],
            fixed_effects=["stratum"],
            cluster="firm",
            weights=weights,
        )
        fit = fit_wls(design, "CR1")
        problems.append((fit, contrast_vector(fit, None)))
    labels = {tuple(fit.design.cluster_labels) for fit, _ in problems}
    assert len(labels) == 1
    together = bootstrap_fits(problems, weights_type="webb", bootstrap_draws=499, seed=3)
    for problem, joint in zip(problems, together, strict=True):
        (alone,) = bootstrap_fits([problem], weights_type="webb", bootstrap_draws=499, seed=3)
        for name in ("pvalue", "ci_lower", "ci_upper", "statistic", "n_ties"):
            assert close(getattr(joint, name), getattr(alone, name)), name
        np.testing.assert_allclose(joint.distribution, alone.distribution, rtol=RTOL)


def test_bootstrap_statistics_equal_the_cluster_scores_written_out(survey):
    # The draws' CR1 variances come from quadratic forms in the products with the draws; here
    # they are recomputed from the explicit G x B matrix of cluster scores of each draw,
    # P = g * v - A M S'v - B C'v (the form of Roodman et al. 2019), at several null values.
    from evaluation.estimation.bootstrap import _kernel_statistics, _wild_kernel, bootstrap_weights

    design = prepare_design(
        survey,
        "y_item",
        "treat",
        covariates=["age"],
        fixed_effects=["stratum"],
        cluster="firm",
        weights="w",
    )
    fit = fit_wls(design, "CR1")
    kernel = _wild_kernel(fit, contrast_vector(fit, None), "WCR")
    V, _ = bootstrap_weights(design.n_clusters, 257, "webb", seed=1)
    (stats,) = _kernel_statistics([kernel], V, None)
    m = kernel.L.shape[1]
    for r in (-0.7, 0.0, 0.25, 3.0):
        g = kernel.g0 + r * kernel.g1
        R = kernel.R0 + r * kernel.R1
        P = g[:, None] * V - kernel.L @ (R.T @ V)
        t = (g @ V) / np.sqrt(kernel.factor * np.sum(P * P, axis=0))
        np.testing.assert_allclose(stats.at(r), t, rtol=1e-10)
        (at_r,) = _kernel_statistics([kernel], V, r)
        np.testing.assert_allclose(at_r.at(r), t, rtol=1e-10)
    assert m == design.X.shape[1] + design.fixed_effects[0].n_levels


@pytest.mark.parametrize("seed", range(5))
def test_settled_draws_never_change_a_pvalue(seed):
    # SymmetricPvalue inside nested brackets equals the plain count over every draw.
    rng = np.random.default_rng(seed)
    draws = 4_000
    P0, P1 = rng.normal(size=(8, draws)), rng.normal(size=(8, draws)) * 0.2
    stats = AffineStatistic(
        n0=rng.normal(size=draws) * 2,
        n1=-rng.uniform(0.5, 1.5, draws),
        v0=np.sum(P0 * P0, axis=0),
        v01=np.sum(P0 * P1, axis=0),
        v1=np.sum(P1 * P1, axis=0),
    )
    estimate, se = 0.8, 0.5
    pvalue = SymmetricPvalue(stats, estimate, se)
    for _ in range(3):
        pvalue.focus(None)
        lo, hi = sorted(rng.uniform(-4, 4, 2))
        for _ in range(30):
            pvalue.focus((lo, hi))
            for r in np.linspace(lo, hi, 7):
                direct = bootstrap_pvalue(stats.at(r), (estimate - r) / se, "symmetric")
                assert pvalue(r) == direct
            middle = 0.5 * (lo + hi)
            lo, hi = (lo, middle) if rng.random() < 0.5 else (middle, hi)
    assert pvalue.live.n0.size < draws  # some draws were settled


def test_wild_interval_unchanged_by_settling(survey):
    # The interval of wild_cluster_bootstrap (test inversion with settled draws) against the
    # same inversion evaluating every draw at every step.
    from evaluation.estimation._resampling import invert_test

    result = wild_cluster_bootstrap(
        survey, "y_all", "treat", covariates=["age"], cluster="firm", bootstrap_draws=999
    )
    design = prepare_design(survey, "y_all", "treat", covariates=["age"], cluster="firm")
    fit = fit_wls(design, "CR1")
    from evaluation.estimation.bootstrap import _kernel_statistics, _weight_chunks, _wild_kernel

    kernel = _wild_kernel(fit, contrast_vector(fit, None), "WCR")
    rng = np.random.default_rng(0)
    chunks, _, _ = _weight_chunks(design.n_clusters, 999, "rademacher", rng)
    (full,) = _kernel_statistics([kernel], np.concatenate(list(chunks), axis=1), None)

    def plain(r: float) -> float:
        return bootstrap_pvalue(full.at(r), (kernel.estimate - r) / kernel.std_error, "symmetric")

    lower, upper = invert_test(plain, kernel.estimate, kernel.std_error, 0.05)
    assert (result.ci_lower, result.ci_upper) == (lower, upper)


@pytest.mark.parametrize(
    "column",
    [
        np.array([3, 4, 5, 4, 3, 5, 5, 4]),
        np.array([1.0, 2.5, 1.0, 3.0, 2.5, 1.0, 3.0, 2.5]),
        np.array(["TJ", "SZ", "b", "TJ", "SZ", "b", "b", "SZ"]),
        pd.Series(["x", "y", "x", "z", "z", "y", "x", "y"], dtype=object),
        np.array([-1, 2, -1, 0, 2, 0, -1, 0]),
    ],
)
def test_category_terms_coded_as_formulaic_codes_them(column):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"y": rng.normal(size=8), "t": [0.0, 1.0] * 4, "c": column})
    design = prepare_design(data, "y", "t", covariates=["C(c)"])
    expected = formulaic.model_matrix("1 + C(c)", data, na_action="raise")
    names = [n for n in expected.columns if n != "Intercept"]
    assert list(design.names[1:-1]) == names
    np.testing.assert_array_equal(design.X_raw[:, 1:-1], expected[names].to_numpy())


def test_estimate_effect_with_category_terms_equals_formulaic_route(survey):
    # C(edu) coded directly against the same model with formulaic's coding in plain columns.
    dummies = formulaic.model_matrix("0 + C(edu)", survey).drop(columns="C(edu)[3]")
    spelled = survey.assign(**{c: dummies[c].to_numpy() for c in dummies.columns})
    a = estimate_effect(survey, "y_all", "treat", covariates=["age", "C(edu)"], cluster="firm")
    b = estimate_effect(
        spelled, "y_all", "treat", covariates=["age", *dummies.columns], cluster="firm"
    )
    assert close(a.effect, b.effect)
    assert close(a.std_error, b.std_error)


def test_satterthwaite_df_kept_per_design_and_contrast(survey):
    # The df of each contrast, asked for in either order and again, equals a fresh computation
    # on a fresh design of the same data (the cache never hands one contrast's df to another).
    args = {"covariates": ["age", "female"], "fixed_effects": ["stratum"], "cluster": "firm"}
    fit = fit_wls(prepare_design(survey, "y_all", "treat", **args), "CR2")
    contrasts = [{"treat": 1.0}, {"age": 1.0}, {"treat": 1.0, "female": -1.0}]
    first = [fit.contrast(c)[2] for c in contrasts]
    again = [fit.contrast(c)[2] for c in reversed(contrasts)][::-1]
    for contrast, df, df_again in zip(contrasts, first, again, strict=True):
        fresh = fit_wls(prepare_design(survey, "y_all", "treat", **args), "CR2")
        c = fresh._contrast_vector(contrast)
        assert df == df_again == _satterthwaite(fresh.design, fresh._bread, fresh._cr2, c)
    assert len(set(first)) == 3
