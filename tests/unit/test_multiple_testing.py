"""Multiple-testing adjustments: Anderson's example, statsmodels, and brute-force Romano-Wolf.

Sources: METHODS 4.9 (Anderson's do-file on p = 0.01, 0.05, 0.02, 0.10 gives q = 0.042, 0.042,
0.042, 0.053; statsmodels ``fdr_tsbky`` gives 0.021, 0.035, 0.021, 0.0525); statsmodels
``multipletests`` applied family by family by hand; a Romano-Wolf step-down written out below
on bootstrap t statistics from refitting every draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from evaluation.estimation import (
    EffectSpec,
    adjust_pvalues,
    bootstrap_weights,
    estimate_effects,
    randomization_inference,
    romano_wolf_pvalues,
    sharpened_qvalues,
    wild_cluster_bootstrap,
)


def test_anderson_example_and_statsmodels_tsbky_differs():
    p = [0.01, 0.05, 0.02, 0.10]
    np.testing.assert_allclose(sharpened_qvalues(p), [0.042, 0.042, 0.042, 0.053])
    tsbky = multipletests(p, method="fdr_tsbky")[1]
    np.testing.assert_allclose(tsbky, [0.021, 0.035, 0.021, 0.0525], atol=1e-12)


def test_anderson_all_rejected_in_stage_one_and_missing_values():
    # p = 0.001 three times: at q = 0.001, q' = 0.000999 < 0.001 rejects nothing; at q = 0.002,
    # q' = 0.001996 >= 0.001 rejects all three in stage 1 (R1 = M: the do-file divides by zero
    # and rejects everything in stage 2), so every q-value is 0.002.
    np.testing.assert_allclose(sharpened_qvalues([0.001] * 3), [0.002] * 3)
    q = sharpened_qvalues([0.01, np.nan, 0.05, 0.02, 0.10])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2, 3, 4]], [0.042, 0.042, 0.042, 0.053])


def _do_file_qvalues(p: np.ndarray) -> np.ndarray:
    """Anderson's fdr_sharpened_qvalues.do written out as its loop over q (no missing p)."""
    m = p.size
    order = np.argsort(p, kind="stable")
    ranks = np.arange(1, m + 1)
    q_sorted = np.ones(m)
    for k in range(1000, 0, -1):
        q = k / 1000
        q1 = q / (1 + q)
        passed = p[order] <= q1 * ranks / m * (1 + 1e-12)
        r1 = int(ranks[passed].max()) if passed.any() else 0
        if r1 == m:
            r2 = m
        else:
            passed = p[order] <= q1 * m / (m - r1) * ranks / m * (1 + 1e-12)
            r2 = int(ranks[passed].max()) if passed.any() else 0
        q_sorted[ranks <= r2] = q
    out = np.empty(m)
    out[order] = q_sorted
    return out


@pytest.mark.parametrize("seed", range(6))
def test_sharpened_qvalues_equal_the_do_file_loop(seed):
    # Mixtures of true and false nulls, ties, p-values on the 0.001 grid and p = 0 or 1.
    rng = np.random.default_rng(seed)
    m = [1, 2, 5, 30, 120, 400][seed]
    p = np.where(rng.random(m) < 0.4, rng.beta(0.3, 6, m), rng.random(m))
    p[: m // 4] = np.round(p[: m // 4], 3)
    if m > 4:
        p[:2] = [0.0, 1.0]
    np.testing.assert_array_equal(sharpened_qvalues(p), _do_file_qvalues(p))


@pytest.fixture(scope="module")
def family_data() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n, g = 600, 15
    firm = rng.integers(0, g, size=n)
    treat = (firm % 2).astype(float)
    frame = pd.DataFrame({"firm": firm, "t": treat, "x": rng.normal(size=n)})
    for j, effect in enumerate([0.0, 0.1, 0.25, 0.5]):
        frame[f"y{j}"] = (
            effect * treat + frame["x"] + rng.normal(size=n) + 0.3 * rng.normal(size=g)[firm]
        )
    return frame


@pytest.fixture(scope="module")
def estimates(family_data):
    spec = EffectSpec(
        outcomes=("y0", "y1", "y2", "y3"),
        treatment="t",
        estimator="ols",
        covariates=("x",),
        cluster="firm",
        family={"y0": "a", "y1": "a", "y2": "b", "y3": "b"},
    )
    return estimate_effects(family_data, spec)


def test_classical_adjustments_within_families(estimates):
    adjusted = estimates.adjust(("bonferroni", "holm", "bh", "anderson"))
    frame = adjusted.to_frame()
    for family in ("a", "b"):
        rows = frame["family"] == family
        p = frame.loc[rows, "pvalue"].to_numpy()
        for column, method in (
            ("pvalue_bonferroni", "bonferroni"),
            ("pvalue_holm", "holm"),
            ("qvalue_bh", "fdr_bh"),
        ):
            np.testing.assert_allclose(frame.loc[rows, column], multipletests(p, method=method)[1])
        np.testing.assert_allclose(frame.loc[rows, "qvalue_anderson"], sharpened_qvalues(p))
    # by a field with one value: a single family of four
    pooled = adjust_pvalues(estimates, "bonferroni", by="specification").to_frame()
    np.testing.assert_allclose(
        pooled["pvalue_bonferroni"], np.minimum(1, 4 * pooled["pvalue"].to_numpy())
    )
    # existing adjustments are kept
    both = adjusted.adjust("bonferroni", by="specification")
    assert {"pvalue_holm", "qvalue_anderson", "pvalue_bonferroni"} <= set(both.adjustments)
    assert "pvalue_holm" in both._repr_html_()


def _brute_force_t(frame, outcome, V):
    """CR1 t of the treatment and WCR bootstrap t's by refitting each draw (plain numpy)."""
    firm = frame["firm"].to_numpy()
    X = np.column_stack([frame["t"], frame["x"], np.ones(len(frame))])
    y = frame[outcome].to_numpy()
    M = np.linalg.inv(X.T @ X)
    n, k, g = len(frame), 3, 15

    def t_stat(target):
        b = M @ X.T @ target
        u = target - X @ b
        scores = np.array([X[firm == c].T @ u[firm == c] for c in range(g)])
        V_b = g / (g - 1) * (n - 1) / (n - k) * M @ scores.T @ scores @ M
        return b[0] / np.sqrt(V_b[0, 0])

    Xr = X[:, 1:]
    resid = y - Xr @ np.linalg.lstsq(Xr, y, rcond=None)[0]
    fitted = y - resid
    return t_stat(y), np.array([t_stat(fitted + resid * v[firm]) for v in V.T])


def test_romano_wolf_equals_brute_force_step_down(family_data, estimates):
    B = 300
    V, enumerated = bootstrap_weights(15, B, "rademacher", seed=8)
    assert not enumerated
    outcomes = ["y0", "y1", "y2", "y3"]
    observed, draws = zip(*(_brute_force_t(family_data, o, V) for o in outcomes), strict=True)
    t = np.abs(np.array(observed))
    boot = np.abs(np.column_stack(draws))
    # Romano-Wolf step-down written out: most significant first, max over the rest
    order = np.argsort(-t)
    expected = np.empty(4)
    running = 0.0
    for j, index in enumerate(order):
        remaining = order[j:]
        p = np.mean(boot[:, remaining].max(axis=1) > t[index] * (1 + 1e-9))
        running = max(running, p)
        expected[index] = running
    adjusted = estimates.adjust(
        "romano_wolf", by="specification", bootstrap_draws=B, weights_type="rademacher", seed=8
    )
    np.testing.assert_allclose(adjusted.to_frame()["pvalue_romano_wolf"], expected)
    # and the pure function on the same statistics
    np.testing.assert_allclose(romano_wolf_pvalues(observed, np.column_stack(draws)), expected)


def test_romano_wolf_single_hypothesis_is_the_bootstrap_pvalue(family_data, estimates):
    adjusted = estimates.adjust("romano_wolf", by="outcome", bootstrap_draws=999, seed=3)
    single = wild_cluster_bootstrap(
        family_data, "y2", "t", covariates=["x"], cluster="firm", bootstrap_draws=999, seed=3
    )
    assert adjusted.to_frame().loc[2, "pvalue_romano_wolf"] == single.pvalue


def test_romano_wolf_with_randomization_draws(family_data, estimates):
    adjusted = estimates.adjust(
        "romano_wolf", by="specification", resampling="randomization", permutations=500, seed=4
    )
    ri = randomization_inference(
        family_data,
        ["y0", "y1", "y2", "y3"],
        "t",
        covariates=["x"],
        cluster="firm",
        permutations=500,
        seed=4,
    )
    expected = romano_wolf_pvalues(
        [r.statistic for r in ri],
        np.column_stack([r.distribution for r in ri]),
        rule="weak",
        enumerated=ri[0].enumerated,
    )
    np.testing.assert_allclose(adjusted.to_frame()["pvalue_romano_wolf"], expected)
    raw = np.array([r.pvalue for r in ri])
    assert np.all(expected >= raw - 1e-12)


def test_bad_requests_raise(estimates):
    with pytest.raises(ValueError, match="unknown adjustment method"):
        estimates.adjust("hochberg")
    with pytest.raises(ValueError, match="unknown estimate field"):
        estimates.adjust("holm", by="colour")
    with pytest.raises(ValueError, match="resampling must be one of"):
        estimates.adjust("romano_wolf", resampling="jackknife")
    no_fit = type(estimates)(tuple(e.replace(fit=None) for e in estimates))
    with pytest.raises(ValueError, match="needs the regression fit"):
        no_fit.adjust("romano_wolf")
