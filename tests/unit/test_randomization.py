"""Randomization inference against a brute-force permutation loop that refits every assignment.

Independent source: ``_brute_force`` enumerates every assignment of the cluster-level treatment
within strata with itertools, refits the dummy-variable regression by weighted least squares for
each, and computes the coefficient and its CR1 t statistic from scratch.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import evaluation.estimation.randomization as randomization
from evaluation.estimation import did, estimate_effect, randomization_inference

G = 12


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    """Twelve clusters in two strata, three treated per stratum; weights and a period factor."""
    rng = np.random.default_rng(5)
    n = 300
    firm = rng.integers(0, G, size=n)
    treated = np.zeros(G)
    for s in (0, 1):
        members = np.flatnonzero(np.arange(G) % 2 == s)
        treated[rng.choice(members, 3, replace=False)] = 1.0
    x = rng.normal(size=n)
    y = 0.3 * treated[firm] + x + rng.normal(size=n) + rng.normal(size=G)[firm]
    return pd.DataFrame(
        {
            "y": y,
            "y2": y + rng.normal(size=n),
            "t": treated[firm],
            "x": x,
            "firm": firm,
            "stratum": firm % 2,
            "period": rng.integers(0, 3, size=n),
            "w": rng.uniform(0.5, 2.0, size=n),
        }
    )


def _assignments():
    evens, odds = np.arange(0, G, 2), np.arange(1, G, 2)
    for a in itertools.combinations(evens, 3):
        for b in itertools.combinations(odds, 3):
            t = np.zeros(G)
            t[list(a) + list(b)] = 1.0
            yield t


def _brute_force(frame, statistic, null):
    firm = frame["firm"].to_numpy()
    w = frame["w"].to_numpy()
    period = frame["period"].to_numpy()
    controls = np.column_stack(
        [frame["x"], (period == 1).astype(float), (period == 2).astype(float), np.ones(len(frame))]
    )
    y = frame["y"].to_numpy() - null * frame["t"].to_numpy()

    def stat(cluster_treatment):
        X = np.column_stack([cluster_treatment[firm], controls])
        M = np.linalg.inv((X * w[:, None]).T @ X)
        b = M @ (X * w[:, None]).T @ y
        if statistic == "coefficient":
            return b[0]
        u = y - X @ b
        n, k = X.shape
        scores = np.array([X[firm == g].T @ (w * u)[firm == g] for g in range(G)])
        V = G / (G - 1) * (n - 1) / (n - k) * M @ scores.T @ scores @ M
        return b[0] / np.sqrt(V[0, 0])

    observed_assignment = frame.groupby("firm")["t"].first().to_numpy()
    draws = np.array([stat(t) for t in _assignments()])
    return stat(observed_assignment), draws


@pytest.mark.parametrize("statistic", ["t", "coefficient"])
@pytest.mark.parametrize("null", [0.0, 0.4])
def test_enumeration_equals_brute_force(trial, statistic, null):
    observed, draws = _brute_force(trial, statistic, null)
    result = randomization_inference(
        trial,
        "y",
        "t",
        covariates=["x", "C(period)"],
        cluster="firm",
        weights="w",
        strata="stratum",
        statistic=statistic,
        null=null,
    )
    # C(6, 3)^2 = 400 assignments within the two strata, all used once
    assert result.enumerated
    assert result.permutations == 400 == result.n_assignments
    assert result.statistic == pytest.approx(observed, rel=1e-9)
    np.testing.assert_allclose(np.sort(result.distribution), np.sort(draws), rtol=1e-8)
    # ties count: the observed assignment is one of the 400
    expected = np.mean(np.abs(draws) >= np.abs(observed) * (1 - 1e-9))
    assert result.pvalue == pytest.approx(expected, abs=1e-12)
    assert result.pvalue >= 1 / 400


def test_confidence_interval_inverts_the_sharp_null(trial):
    result = randomization_inference(
        trial,
        "y",
        "t",
        covariates=["x", "C(period)"],
        cluster="firm",
        weights="w",
        strata="stratum",
    )
    for bound, inward in ((result.ci_lower, 1.0), (result.ci_upper, -1.0)):
        step = 1e-6 * result.std_error
        for shift, inside in ((inward * step, True), (-inward * step, False)):
            observed, draws = _brute_force(trial, "t", bound + shift)
            p = np.mean(np.abs(draws) >= np.abs(observed) * (1 - 1e-9))
            assert bool(p > 0.05) == inside


def test_sampled_permutations_use_the_plus_one_rule(trial):
    result = randomization_inference(
        trial, "y", "t", cluster="firm", strata="stratum", permutations=150, seed=9
    )
    assert not result.enumerated
    assert result.permutations == 150
    count = np.count_nonzero(np.abs(result.distribution) >= abs(result.statistic) * (1 - 1e-9))
    assert result.pvalue == pytest.approx((count + 1) / 151)
    # within strata: every permutation keeps three treated clusters per stratum
    assert result.n_strata == 2


def test_compact_and_chunked_paths_agree(trial, monkeypatch):
    kw = {
        "covariates": ["x"],
        "fixed_effects": ["period"],
        "cluster": "firm",
        "permutations": 200,
        "seed": 1,
    }
    compact = randomization_inference(trial, ["y", "y2"], "t", **kw)
    monkeypatch.setattr(randomization, "_COMPACT_LIMIT", 0)
    chunked = randomization_inference(trial, ["y", "y2"], "t", **kw)
    for a, b in zip(compact, chunked, strict=True):
        np.testing.assert_allclose(a.distribution, b.distribution, rtol=1e-9)
        assert a.pvalue == b.pvalue
        assert a.ci_lower == pytest.approx(b.ci_lower, rel=1e-8)


def test_outcomes_share_one_permutation_matrix(trial):
    both = randomization_inference(trial, ["y", "y2"], "t", cluster="firm", permutations=100)
    alone = randomization_inference(trial, "y2", "t", cluster="firm", permutations=100)
    np.testing.assert_allclose(both[1].distribution, alone.distribution, rtol=1e-12)


def test_row_level_assignment_without_clusters_equals_brute_force():
    rng = np.random.default_rng(8)
    n = 9
    frame = pd.DataFrame({"y": rng.normal(size=n), "t": [1.0] * 3 + [0.0] * 6})
    result = randomization_inference(frame, "y", "t", statistic="coefficient")
    assert result.enumerated
    assert result.permutations == 84  # C(9, 3)
    draws = []
    for chosen in itertools.combinations(range(n), 3):
        t = np.zeros(n)
        t[list(chosen)] = 1.0
        draws.append(frame["y"][t == 1].mean() - frame["y"][t == 0].mean())
    np.testing.assert_allclose(np.sort(result.distribution), np.sort(draws), rtol=1e-9)


def test_did_permutes_the_group_and_keeps_post(trial):
    # Panel: each firm's rows in two rounds; RI re-assigns treated firms, the focal column is
    # group x post. Brute force: refit the TWFE regression with dummies for each assignment.
    base = trial.assign(id=np.arange(len(trial)))
    panel = pd.concat(
        [base.assign(post=0.0, y=base["y"] - 0.3 * base["t"]), base.assign(post=1.0)],
        ignore_index=True,
    )
    est = did(
        panel,
        "y",
        "t",
        post="post",
        unit="id",
        cluster="firm",
        inference="randomization",
        strata="stratum",
    )
    assert est.inference == "randomization (t, all 400 assignments)"
    firm = panel["firm"].to_numpy()
    post = panel["post"].to_numpy()
    y = panel["y"].to_numpy()
    # within-unit demeaning is exact for a balanced two-period panel: first differences
    dy = y[post == 1] - y[post == 0]
    f1 = firm[post == 1]

    def t_stat(cluster_treatment):
        X = np.column_stack([cluster_treatment[f1], np.ones(f1.size)])
        M = np.linalg.inv(X.T @ X)
        b = M @ X.T @ dy
        u = dy - X @ b
        scores = np.array([X[f1 == g].T @ u[f1 == g] for g in range(G)])
        return b[0] / np.sqrt((M @ scores.T @ scores @ M)[0, 0])

    draws = np.array([t_stat(t) for t in _assignments()])
    observed = t_stat(trial.groupby("firm")["t"].first().to_numpy())
    assert est.pvalue == pytest.approx(np.mean(np.abs(draws) >= abs(observed) * (1 - 1e-9)))


def test_treatment_varying_within_a_cluster_raises(trial):
    rng = np.random.default_rng(0)
    mixed = trial.assign(t=rng.integers(0, 2, size=len(trial)).astype(float))
    with pytest.raises(ValueError, match="varies within an assignment unit"):
        randomization_inference(mixed, "y", "t", cluster="firm")
    with pytest.raises(ValueError, match="strata 'period' varies"):
        randomization_inference(trial, "y", "t", cluster="firm", strata="period")
    with pytest.raises(KeyError, match="strata column 'nope'"):
        randomization_inference(trial, "y", "t", cluster="firm", strata="nope")
    with pytest.raises(ValueError, match="not available"):
        estimate_effect(
            trial, "y", "t", covariates=["x"], lin=True, cluster="firm", inference="randomization"
        )
