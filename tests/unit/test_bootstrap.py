"""Wild cluster bootstrap against a plain-numpy brute force that refits every draw.

Independent source: ``_brute_force`` below builds the dummy-variable (LSDV) design, imposes the
null by a restricted fit, and for each weight pattern rebuilds y*, refits by weighted least
squares and computes the CR1 t statistic from scratch: no cluster sums, no partialling out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import bootstrap_weights, wild_cluster_bootstrap


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    """Ten firms observed in four periods; treated firms after period 2; weights."""
    rng = np.random.default_rng(3)
    n, g = 200, 10
    firm = rng.integers(0, g, size=n)
    period = rng.integers(0, 4, size=n)
    treat = (firm % 3 == 0).astype(float) * (period >= 2)
    x = rng.normal(size=n)
    y = 0.1 * treat + x + rng.normal(size=n) + rng.normal(size=g)[firm]
    return pd.DataFrame(
        {
            "y": y,
            "t": treat,
            "x": x,
            "firm": firm,
            "firm_name": np.array([f"firm {k}" for k in range(g)])[firm],
            "period": period,
            "w": rng.uniform(0.5, 2.0, size=n),
        }
    )


def _brute_force(frame, null, scheme, V, *, weights=True, fixed_effects=True):
    """Observed t and the bootstrap t of every column of V, by refitting each draw."""
    n = len(frame)
    firm = frame["firm"].to_numpy()
    period = frame["period"].to_numpy()
    t = frame["t"].to_numpy()
    columns = [t, frame["x"].to_numpy()]
    if fixed_effects:
        columns += [(firm == g).astype(float) for g in range(10)]
        columns += [(period == p).astype(float) for p in (1, 2, 3)]
    else:
        columns.append(np.ones(n))
    X = np.column_stack(columns)
    w = frame["w"].to_numpy() if weights else np.ones(n)
    M = np.linalg.pinv((X * w[:, None]).T @ X)
    # K: t, x, firm effects nested in the clusters (count once), period effects (4 - 1)
    k = 2 + (1 + 3 if fixed_effects else 1)
    factor = 10 / 9 * (n - 1) / (n - k)

    def fit(target):
        b = M @ (X * w[:, None]).T @ target
        return b, target - X @ b

    def t_stat(b, u, centre):
        scores = np.array([X[firm == g].T @ (w * u)[firm == g] for g in range(10)])
        V_b = factor * M @ scores.T @ scores @ M
        return (b[0] - centre) / np.sqrt(V_b[0, 0])

    b, u = fit(frame["y"].to_numpy())
    t_obs = t_stat(b, u, null)
    if scheme == "WCR":
        Xr = X[:, 1:]
        Mr = np.linalg.pinv((Xr * w[:, None]).T @ Xr)
        target = frame["y"].to_numpy() - null * t
        resid = target - Xr @ (Mr @ (Xr * w[:, None]).T @ target)
        fitted, centre = frame["y"].to_numpy() - resid, null
    else:
        resid, fitted, centre = u, X @ b, b[0]
    draws = []
    for v in V.T:
        b_star, u_star = fit(fitted + resid * v[firm])
        draws.append(t_stat(b_star, u_star, centre))
    return t_obs, np.array(draws)


@pytest.mark.parametrize("scheme", ["WCR", "WCU"])
@pytest.mark.parametrize("fixed_effects", [True, False])
def test_full_enumeration_g10_equals_brute_force(panel, scheme, fixed_effects):
    # G = 10: all 2^10 = 1,024 Rademacher patterns; weights, firm effects (nested in the
    # clusters) and period effects (not nested, so the fast algorithm must project them).
    V, enumerated = bootstrap_weights(10, 2_000)
    assert enumerated
    assert V.shape == (10, 1_024)
    t_obs, draws = _brute_force(panel, 0.05, scheme, V, fixed_effects=fixed_effects)
    result = wild_cluster_bootstrap(
        panel,
        "y",
        "t",
        covariates=["x"],
        fixed_effects=["firm", "period"] if fixed_effects else [],
        cluster="firm",
        weights="w",
        null=0.05,
        scheme=scheme,
        bootstrap_draws=2_000,
    )
    assert result.enumerated
    assert result.draws == 1_024
    assert result.statistic == pytest.approx(t_obs, rel=1e-9)
    np.testing.assert_allclose(result.distribution, draws, rtol=1e-8, atol=1e-10)
    # identical p-value, with ties (|t*| = |t| within 1e-9) excluded in the reference too
    tol = 1e-9 * abs(t_obs)
    strict = np.count_nonzero(np.abs(draws) > abs(t_obs) + tol)
    assert result.pvalue * 1_024 == strict
    ties = np.count_nonzero(np.abs(np.abs(draws) - abs(t_obs)) <= tol)
    assert result.n_ties == ties
    # WCR: the all-ones and all-minus-ones patterns reproduce +-t exactly (the tie trap)
    assert ties == (2 if scheme == "WCR" else 0)


def test_random_draws_equal_brute_force_with_the_same_weights(panel):
    V, enumerated = bootstrap_weights(10, 500, "webb", seed=11)
    assert not enumerated
    assert V.shape == (10, 500)
    _, draws = _brute_force(panel, 0.0, "WCR", V)
    result = wild_cluster_bootstrap(
        panel,
        "y",
        "t",
        covariates=["x"],
        fixed_effects=["firm", "period"],
        cluster="firm",
        weights="w",
        weights_type="webb",
        bootstrap_draws=500,
        seed=11,
    )
    np.testing.assert_allclose(result.distribution, draws, rtol=1e-8, atol=1e-10)
    assert "Webb, 500 draws, seed 11" in result.describe()


def test_weight_distributions_have_mean_zero_and_unit_variance():
    for kind in ("rademacher", "webb", "mammen"):
        V, _ = bootstrap_weights(50, 20_000, kind, seed=1)
        assert abs(V.mean()) < 0.01
        assert V.var() == pytest.approx(1.0, abs=0.01)
    mammen, _ = bootstrap_weights(50, 20_000, "mammen", seed=1)
    # Mammen's third moment is one
    assert np.mean(mammen**3) == pytest.approx(1.0, abs=0.05)
    webb, enumerated = bootstrap_weights(3, 216, "webb")
    assert enumerated
    assert webb.shape == (3, 216)
    assert len({tuple(col) for col in webb.T}) == 216


def test_confidence_interval_is_the_test_inversion(panel):
    result = wild_cluster_bootstrap(
        panel, "y", "t", covariates=["x"], cluster="firm", bootstrap_draws=999, seed=4
    )
    assert result.ci_lower < result.estimate < result.ci_upper
    for bound, inward in ((result.ci_lower, 1.0), (result.ci_upper, -1.0)):
        step = 1e-6 * result.std_error
        inside = wild_cluster_bootstrap(
            panel,
            "y",
            "t",
            covariates=["x"],
            cluster="firm",
            bootstrap_draws=999,
            seed=4,
            null=bound + inward * step,
        )
        outside = wild_cluster_bootstrap(
            panel,
            "y",
            "t",
            covariates=["x"],
            cluster="firm",
            bootstrap_draws=999,
            seed=4,
            null=bound - inward * step,
        )
        assert inside.pvalue > 0.05 >= outside.pvalue


def test_equal_tailed_pvalue(panel):
    result = wild_cluster_bootstrap(
        panel, "y", "t", cluster="firm", pvalue_type="equal-tailed", bootstrap_draws=999
    )
    t, d = result.statistic, result.distribution
    expected = 2 * min(np.count_nonzero(d < t), np.count_nonzero(d > t)) / d.size
    assert result.pvalue == pytest.approx(min(1.0, expected))


def test_cluster_identifier_types_give_identical_results(panel):
    frames = {
        "int": panel,
        "str": panel.assign(firm=panel["firm_name"]),
        "cat": panel.assign(firm=pd.Categorical(panel["firm_name"])),
    }
    results = [
        wild_cluster_bootstrap(
            f, "y", "t", covariates=["x"], cluster="firm", bootstrap_draws=999, seed=2
        )
        for f in frames.values()
    ]
    for other in results[1:]:
        assert other.pvalue == results[0].pvalue
        np.testing.assert_allclose(other.distribution, results[0].distribution, rtol=1e-12)


def test_seed_reproducible_and_changes_draws(panel):
    kw = {"covariates": ["x"], "cluster": "period", "bootstrap_draws": 3}
    a = wild_cluster_bootstrap(panel, "y", "t", seed=1, **kw)
    b = wild_cluster_bootstrap(panel, "y", "t", seed=1, **kw)
    c = wild_cluster_bootstrap(panel, "y", "t", seed=2, **kw)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert not np.array_equal(a.distribution, c.distribution)
    generator = wild_cluster_bootstrap(panel, "y", "t", seed=np.random.default_rng(1), **kw)
    np.testing.assert_array_equal(a.distribution, generator.distribution)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights_type": "gamma"}, "weights_type must be one of"),
        ({"scheme": "WRE"}, "scheme must be one of"),
        ({"bootstrap_draws": 0}, "positive integer"),
        ({"pvalue_type": "upper"}, "pvalue_type must be one of"),
        ({"level": 1.5}, "level must lie"),
    ],
)
def test_bad_options_raise(panel, kwargs, message):
    with pytest.raises(ValueError, match=message):
        wild_cluster_bootstrap(panel, "y", "t", cluster="firm", **kwargs)
