"""Behaviour of the regression core and the designs built on it.

Numbers are checked against statsmodels fits on the same data, written out in each test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaluation.estimation import (
    EffectEstimates,
    EffectSpec,
    FewClustersWarning,
    ancova,
    did,
    did_table,
    estimate_effect,
    estimate_effects,
    heterogeneity,
)


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    """Seeded cross-section: 400 apprentices in 40 enterprises, treatment by enterprise."""
    rng = np.random.default_rng(7)
    n, g = 400, 40
    firm = rng.integers(0, g, size=n)
    treat = (firm % 2).astype(float)
    female = rng.integers(0, 2, size=n).astype(float)
    age = rng.normal(25, 4, size=n)
    base = rng.normal(size=n) + 0.2 * rng.normal(size=g)[firm]
    y = 0.3 * treat + 0.5 * base + 0.1 * female * treat + 0.02 * age + rng.normal(size=n)
    return pd.DataFrame(
        {
            "firm": firm,
            "firm_name": np.array([f"enterprise {k:02d}" for k in range(g)])[firm],
            "province": firm % 5,
            "treat": treat,
            "female": female,
            "age": age,
            "wage_bl": base,
            "wage": y,
            "w": rng.uniform(0.5, 3.0, size=n),
            "fw": rng.integers(1, 4, size=n),
        }
    )


@pytest.fixture(scope="module")
def panel(survey) -> pd.DataFrame:
    base = survey.assign(id=np.arange(len(survey)))
    pre = base.assign(post=0.0, period=2023, y=base["wage_bl"])
    post = base.assign(post=1.0, period=2025, y=base["wage"])
    return pd.concat([pre, post], ignore_index=True)


def test_cluster_identifiers_string_categorical_integer_identical(survey):
    # METHODS 4.13 #1: string, categorical and integer cluster IDs give identical results.
    frames = {
        "int": survey.assign(cl=survey["firm"]),
        "str": survey.assign(cl=survey["firm_name"]),
        "cat": survey.assign(cl=pd.Categorical(survey["firm_name"])),
    }
    for vcov in ["CR1", "CR2"]:
        results = [
            estimate_effect(f, "wage", "treat", covariates=["wage_bl"], cluster="cl", vcov=vcov)
            for f in frames.values()
        ]
        first = results[0]
        for other in results[1:]:
            assert other.effect == first.effect
            assert other.std_error == pytest.approx(first.std_error, rel=1e-12)
            assert other.df == pytest.approx(first.df, rel=1e-12)
            assert other.n_clusters == first.n_clusters == 40


def test_result_fields_and_control_mean(survey):
    est = estimate_effect(survey, "wage", "treat", covariates=["wage_bl"], cluster="firm")
    ref = smf.ols("wage ~ treat + wage_bl", survey).fit(
        cov_type="cluster", cov_kwds={"groups": survey["firm"]}
    )
    assert est.effect == pytest.approx(ref.params["treat"], abs=1e-10)
    assert est.std_error == pytest.approx(ref.bse["treat"], rel=1e-8)
    assert est.control_mean == pytest.approx(survey.loc[survey["treat"] == 0, "wage"].mean())
    assert est.n_clusters == 40
    assert est.n_treated_clusters == survey.loc[survey["treat"] == 1, "firm"].nunique()
    assert est.df == 39
    assert est.ci_lower < est.effect < est.ci_upper
    assert est.vcov == "CR1"
    assert est.inference == "analytic"
    assert any("CR1 (Stata)" in note for note in est.notes)
    assert list(est.fit.params.index) == ["treat", "wage_bl", "Intercept"]


def test_weighted_control_mean(survey):
    est = estimate_effect(survey, "wage", "treat", weights="w", cluster="firm")
    control = survey.loc[survey["treat"] == 0]
    assert est.control_mean == pytest.approx(np.average(control["wage"], weights=control["w"]))


def test_missing_values_are_dropped_and_counted(survey):
    frame = survey.copy()
    frame.loc[[0, 1, 2], "wage"] = np.nan
    frame.loc[[3], "age"] = np.nan
    frame.loc[[4, 5], "firm"] = np.nan
    est = estimate_effect(frame, "wage", "treat", covariates=["age"], cluster="firm")
    assert est.extra["n_dropped_missing"] == 6
    assert est.nobs == len(frame) - 6
    assert any("dropped 6 rows with missing values" in note for note in est.notes)
    assert frame["wage"].isna().sum() == 3  # input untouched


def test_subset_is_honoured(survey):
    mask = survey["female"] == 1
    est = estimate_effect(survey, "wage", "treat", cluster="firm", subset=mask)
    ref = estimate_effect(survey.loc[mask], "wage", "treat", cluster="firm")
    assert est.nobs == int(mask.sum())
    assert est.effect == ref.effect
    with pytest.raises(ValueError, match="same index as the data"):
        estimate_effect(survey, "wage", "treat", cluster="firm", subset=mask.iloc[::-1])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"treatment": "missing_col"}, KeyError, "treatment column 'missing_col' not found"),
        ({"cluster": "nope"}, KeyError, "cluster column 'nope' not found"),
        ({"covariates": ["agee"]}, KeyError, r"covariate column\(s\) \['agee'\]"),
        ({"treatment": "firm_name"}, ValueError, "treatment column 'firm_name' must be numeric"),
        ({"vcov": "HC3"}, ValueError, "vcov must be one of"),
        ({"cluster": None}, ValueError, "vcov='CR1' needs a cluster column"),
        ({"weights_kind": "importance"}, ValueError, "weights_kind must be one of"),
    ],
)
def test_bad_inputs_raise_with_the_name(survey, kwargs, error, message):
    args = {"treatment": "treat", "cluster": "firm"} | kwargs
    treatment = args.pop("treatment")
    with pytest.raises(error, match=message):
        estimate_effect(survey, "wage", treatment, **args)


def test_constant_treatment_raises(survey):
    with pytest.raises(ValueError, match=r"treatment column 'treat' is constant \(1.0\)"):
        estimate_effect(survey, "wage", "treat", cluster="firm", subset=survey["treat"] == 1)


def test_treatment_collinear_with_fixed_effects_raises(survey):
    with pytest.raises(ValueError, match=r"'treat' is collinear with the fixed effects \['firm'\]"):
        estimate_effect(survey, "wage", "treat", fixed_effects=["firm"], cluster="firm")


def test_treatment_collinear_with_covariates_raises(survey):
    frame = survey.assign(copy=2 * survey["treat"] + 1)
    with pytest.raises(ValueError, match="'treat' is collinear with the covariates"):
        estimate_effect(frame, "wage", "treat", covariates=["copy"], cluster="firm")


def test_collinear_covariate_is_dropped_with_a_note(survey):
    frame = survey.assign(province_copy=survey["province"])
    est = estimate_effect(
        frame, "wage", "treat", covariates=["C(province_copy)"], fixed_effects=["province"],
        cluster="firm",
    )  # fmt: skip
    assert any("dropped collinear covariate columns" in note for note in est.notes)
    assert list(est.fit.params.index) == ["treat"]


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_non_positive_weights_raise(survey, bad):
    frame = survey.copy()
    frame.loc[3, "w"] = bad
    with pytest.raises(ValueError, match=rf"weights column 'w' must be positive; found 1 .*{bad}"):
        estimate_effect(frame, "wage", "treat", weights="w", cluster="firm")


def test_fractional_frequency_weights_raise(survey):
    with pytest.raises(ValueError, match="frequency weights 'w' must be whole numbers"):
        estimate_effect(survey, "wage", "treat", weights="w", weights_kind="frequency", vcov="HC1")


def test_iid_with_sampling_weights_raises(survey):
    with pytest.raises(ValueError, match="not defined for sampling weights"):
        estimate_effect(survey, "wage", "treat", weights="w", weights_kind="sampling", vcov="iid")


def test_lin_needs_binary_treatment(survey):
    with pytest.raises(ValueError, match=r"treatment column 'age' must be 0/1; found values"):
        estimate_effect(survey, "wage", "age", covariates=["female"], lin=True, vcov="HC1")


def test_every_parameter_changes_the_output(survey):
    # METHODS 4.13 #4: each argument is honoured.
    base = {"covariates": ["wage_bl"], "cluster": "firm", "vcov": "CR1"}
    ref = estimate_effect(survey, "wage", "treat", **base)
    changes = {
        "covariates": {"covariates": ["wage_bl", "age"]},
        "fixed_effects": {"fixed_effects": ["province"]},
        "cluster": {"cluster": "province"},
        "weights": {"weights": "w"},
        "vcov": {"vcov": "CR2"},
        "level": {"level": 0.9},
        "subset": {"subset": survey["age"] > 20},
        "lin": {"lin": True},
    }
    for name, change in changes.items():
        est = estimate_effect(survey, "wage", "treat", **(base | change))
        assert (est.effect, est.std_error, est.ci_lower) != (
            ref.effect,
            ref.std_error,
            ref.ci_lower,
        ), name
    # weights_kind: same point estimate, different SE/df (frequency weights count sum(w) rows)
    kinds = {
        k: estimate_effect(survey, "wage", "treat", weights="fw", weights_kind=k, vcov="HC1")
        for k in ("analytic", "sampling", "frequency")
    }
    assert kinds["analytic"].effect == pytest.approx(kinds["frequency"].effect, abs=1e-12)
    assert kinds["frequency"].df == survey["fw"].sum() - 2
    assert kinds["analytic"].df == len(survey) - 2
    assert kinds["frequency"].std_error != kinds["analytic"].std_error
    clustered = {"weights": "w", "cluster": "firm", "vcov": "CR2"}
    cr2 = {
        k: estimate_effect(survey, "wage", "treat", weights_kind=k, **clustered)
        for k in ("analytic", "sampling")
    }
    assert cr2["analytic"].std_error != cr2["sampling"].std_error


def test_fixed_effects_three_factors_and_singletons(survey):
    frame = survey.assign(cohort=np.arange(len(survey)) % 5, site=np.arange(len(survey)) % 9)
    frame.loc[0, "site"] = 99  # a singleton level
    est = estimate_effect(
        frame, "wage", "treat", fixed_effects=["province", "cohort", "site"], vcov="HC1"
    )
    assert est.extra["n_dropped_singletons"] == 1
    kept = frame.drop(index=0)
    ref = smf.ols("wage ~ treat + C(province) + C(cohort) + C(site)", kept).fit(cov_type="HC1")
    assert est.effect == pytest.approx(ref.params["treat"], abs=1e-8)
    assert est.std_error == pytest.approx(ref.bse["treat"], rel=1e-6)


def test_one_treated_cluster_warns_and_counts(survey):
    frame = survey.assign(one=(survey["firm"] == 3).astype(float))
    with pytest.warns(FewClustersWarning, match="only 1 treated cluster"):
        est = estimate_effect(frame, "wage", "one", cluster="firm")
    assert est.n_treated_clusters == 1


def test_ancova_missing_baseline_indicator_and_drop(survey):
    frame = survey.copy()
    frame.loc[:19, "wage_bl"] = np.nan
    with_flag = ancova(frame, "wage", "treat", "wage_bl", cluster="firm")
    assert with_flag.estimator == "ancova"
    assert with_flag.nobs == len(frame)
    assert "wage_bl_missing" in with_flag.fit.params.index
    assert any("dummy-out" in note for note in with_flag.notes)
    # independent: the same regression written out in statsmodels
    filled = frame.assign(m=frame["wage_bl"].isna().astype(float), b=frame["wage_bl"].fillna(0))
    ref = smf.ols("wage ~ treat + b + m", filled).fit(
        cov_type="cluster", cov_kwds={"groups": filled["firm"]}
    )
    assert with_flag.effect == pytest.approx(ref.params["treat"], abs=1e-10)
    # the value a missing baseline is set to does not matter (the indicator absorbs it)
    filled_mean = filled.assign(b=frame["wage_bl"].fillna(frame["wage_bl"].mean()))
    ref_mean = smf.ols("wage ~ treat + b + m", filled_mean).fit()
    assert with_flag.effect == pytest.approx(ref_mean.params["treat"], abs=1e-10)
    dropped = ancova(frame, "wage", "treat", "wage_bl", cluster="firm", missing_baseline="drop")
    assert dropped.nobs == len(frame) - 20
    assert dropped.extra["n_dropped_missing"] == 20
    assert dropped.effect != with_flag.effect
    with pytest.raises(ValueError, match="missing_baseline must be one of"):
        ancova(frame, "wage", "treat", "wage_bl", cluster="firm", missing_baseline="mean")


def test_ancova_lin(survey):
    est = ancova(survey, "wage", "treat", "wage_bl", covariates=["age"], lin=True, vcov="HC2")
    assert est.estimator == "ancova-lin"
    frame = survey.assign(
        bc=survey["wage_bl"] - survey["wage_bl"].mean(), ac=survey["age"] - survey["age"].mean()
    )
    ref = smf.ols("wage ~ treat + bc + ac + treat:bc + treat:ac", frame).fit(cov_type="HC2")
    assert est.effect == pytest.approx(ref.params["treat"], abs=1e-10)
    assert est.std_error == pytest.approx(ref.bse["treat"], rel=1e-8)


def test_did_twfe_equals_first_difference_regression(panel):
    est = did(panel, "y", "treat", post="post", unit="id", period="period", cluster="firm")
    assert est.estimator == "did"
    assert est.treatment == "treat:post"
    wide = panel.pivot(index="id", columns="post", values="y")
    change = (wide[1.0] - wide[0.0]).rename("dy")
    first = panel.loc[panel["post"] == 0].set_index("id").join(change)
    ref = smf.ols("dy ~ treat", first).fit()
    assert est.effect == pytest.approx(ref.params["treat"], abs=1e-10)
    post_control = panel.loc[(panel["treat"] == 0) & (panel["post"] == 1), "y"]
    assert est.control_mean == pytest.approx(post_control.mean())
    default = did(panel, "y", "treat", post="post", unit="id", period="period")
    assert default.n_clusters == panel["id"].nunique()
    assert any("clustered by unit 'id'" in note for note in default.notes)


def test_did_requires_binary_indicators(panel):
    with pytest.raises(ValueError, match=r"post column 'period' must be 0/1; found values \[2023"):
        did(panel, "y", "treat", post="period", vcov="HC1")
    with pytest.raises(KeyError, match="post column 'after' not found"):
        did(panel, "y", "treat", post="after", vcov="HC1")


def test_did_table_matches_cell_means(panel):
    table = did_table(panel, ["y", "age"], "treat", post="post", cluster="firm")
    assert list(table["outcome"]) == ["y", "age"]
    row = table.iloc[0]
    means = panel.groupby(["treat", "post"])["y"].mean()
    assert row["baseline_mean_control"] == pytest.approx(means[(0.0, 0.0)])
    assert row["baseline_mean_treatment"] == pytest.approx(means[(1.0, 0.0)])
    assert row["baseline_diff"] == pytest.approx(means[(1.0, 0.0)] - means[(0.0, 0.0)])
    assert row["first_diff_control"] == pytest.approx(means[(0.0, 1.0)] - means[(0.0, 0.0)])
    assert row["first_diff_treatment"] == pytest.approx(means[(1.0, 1.0)] - means[(1.0, 0.0)])
    dd = row["first_diff_treatment"] - row["first_diff_control"]
    assert row["did"] == pytest.approx(dd)
    ref = smf.ols("y ~ treat * post", panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["firm"]}
    )
    assert row["did_se"] == pytest.approx(ref.bse["treat:post"], rel=1e-8)
    assert row["n_clusters"] == 40
    assert row["nobs"] == len(panel)


def test_heterogeneity_subgroups_and_difference(survey):
    res = heterogeneity(survey, "wage", "treat", "female", covariates=["wage_bl"], cluster="firm")
    assert isinstance(res, EffectEstimates)
    frame = res.to_frame()
    assert list(frame["subgroup"]) == ["female=0.0", "female=1.0", "female=1.0 - female=0.0"]
    ref = smf.ols("wage ~ treat * female + wage_bl", survey).fit(
        cov_type="cluster", cov_kwds={"groups": survey["firm"]}
    )
    men, women, diff = res
    assert men.effect == pytest.approx(ref.params["treat"], abs=1e-10)
    assert diff.effect == pytest.approx(ref.params["treat:female"], abs=1e-10)
    assert diff.std_error == pytest.approx(ref.bse["treat:female"], rel=1e-8)
    assert women.effect == pytest.approx(men.effect + diff.effect, abs=1e-10)
    assert women.nobs == int((survey["female"] == 1).sum())
    women_controls = survey.loc[(survey["female"] == 1) & (survey["treat"] == 0), "wage"]
    assert women.control_mean == pytest.approx(women_controls.mean())


def test_heterogeneity_joint_test_with_three_groups(survey):
    res = heterogeneity(survey, "wage", "treat", "province", vcov="HC1")
    frame = res.to_frame()
    assert (frame["estimator"] == "difference").sum() == 4
    ref = smf.ols("wage ~ treat * C(province)", survey).fit(cov_type="HC1")
    names = [n for n in ref.params.index if n.startswith("treat:")]
    wald = ref.wald_test(" = ".join(names) + " = 0", use_f=True, scalar=True)
    joint = frame.loc[frame["estimator"] == "difference", "joint_pvalue"].iloc[0]
    assert joint == pytest.approx(float(wald.pvalue), rel=1e-6)


def test_estimate_effects_runs_outcomes_and_subgroups(survey):
    spec = EffectSpec(
        outcomes=("wage", "age"),
        treatment="treat",
        estimator="ancova",
        baseline={"wage": "wage_bl", "age": "wage_bl"},
        cluster="firm",
        subgroups=("female",),
        family={"wage": "employability"},
        name="primary",
    )
    res = estimate_effects(survey, spec)
    frame = res.to_frame()
    assert len(frame) == 2 * (1 + 3)
    assert set(frame["specification"]) == {"primary"}
    assert frame.loc[frame["outcome"] == "wage", "family"].eq("employability").all()
    direct = ancova(survey, "wage", "treat", "wage_bl", cluster="firm")
    assert res[0].effect == direct.effect
    with pytest.raises(ValueError, match="ANCOVA needs a baseline column for outcomes"):
        EffectSpec(outcomes=("wage",), treatment="treat")
    with pytest.raises(ValueError, match="estimator must be one of"):
        EffectSpec(outcomes=("wage",), treatment="treat", estimator="ipw")
    did_spec = EffectSpec(
        outcomes=("y",), treatment="treat", estimator="did", post="post", unit="id",
        period="period",
    )  # fmt: skip
    assert did_spec.outcomes == ("y",)
    with pytest.raises(ValueError, match="DiD specifications support neither subgroups"):
        EffectSpec(outcomes=("y",), treatment="treat", estimator="did", post="post", lin=True)
