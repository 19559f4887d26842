"""Wild bootstrap and randomization inference against published and independent numbers.

Sources: boottest's ``collapsed.dta`` example (droodman/boottest ``unit tests.log``; METHODS 4.2)
re-counted in exact rational arithmetic; pyfixest 0.60 ``Feols.wildboottest`` (which calls
wildboottest 0.3.2) under full enumeration on the same data; pyfixest ``rwolf`` and ``ritest``
(loose checks: their random draws differ from ours).
"""

from __future__ import annotations

import itertools
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from evaluation.estimation import (
    EffectSpec,
    estimate_effects,
    randomization_inference,
    wild_cluster_bootstrap,
)

pytestmark = [
    pytest.mark.reference,
    # pyfixest 0.60 calls pandas APIs that pandas 3.1 deprecates; not our code.
    pytest.mark.filterwarnings("ignore:The inplace keyword:pandas.errors.Pandas4Warning"),
]


@pytest.fixture(scope="module")
def collapsed(reference_data) -> pd.DataFrame:
    # droodman/boottest test/collapsed.dta: 100 rows, 16 complete, 8 year clusters.
    frame = pd.read_stata(reference_data / "boottest_collapsed.dta")
    return frame.dropna().reset_index(drop=True)


def _boottest(collapsed: pd.DataFrame, **kw):
    # Stata: regress hasinsurance selfemployed post post_self, cluster(year)
    #        boottest post_self=.04
    return wild_cluster_bootstrap(
        collapsed,
        "hasinsurance",
        "post_self",
        covariates=["selfemployed", "post"],
        cluster="year",
        **{"null": 0.04, **kw},
    )


def _exact_wcr_counts(collapsed: pd.DataFrame) -> tuple[int, int]:
    """Count WCR Rademacher patterns with t*^2 > t^2 and = t^2 in exact rational arithmetic.

    Plain refit per sign pattern (restricted fit, bootstrap sample, OLS, CR1 score sums) on
    the float32 data converted exactly to fractions; t^2 = (b - r)^2 / V compared by cross
    multiplication, so no rounding can move a draw across |t|. Patterns v and -v give the same
    t^2, so half of them are enumerated and counted twice.
    """
    y = [Fraction(float(v)) for v in collapsed["hasinsurance"]]
    X = [
        [Fraction(1), Fraction(float(a)), Fraction(float(b)), Fraction(float(c))]
        for a, b, c in zip(
            collapsed["selfemployed"], collapsed["post"], collapsed["post_self"], strict=True
        )
    ]
    year = pd.factorize(collapsed["year"], sort=True)[0]
    n, r = len(y), Fraction(0.04)

    def solve(A, b):
        rows = [[*row, value] for row, value in zip(A, b, strict=True)]
        k = len(rows)
        for i in range(k):
            pivot = next(j for j in range(i, k) if rows[j][i] != 0)
            rows[i], rows[pivot] = rows[pivot], rows[i]
            for j in range(k):
                if j != i and rows[j][i] != 0:
                    f = rows[j][i] / rows[i][i]
                    rows[j] = [a - f * c for a, c in zip(rows[j], rows[i], strict=True)]
        return [rows[i][k] / rows[i][i] for i in range(k)]

    def ols(cols, target):
        A = [[sum(X[i][a] * X[i][b] for i in range(n)) for b in cols] for a in cols]
        return solve(A, [sum(X[i][a] * target[i] for i in range(n)) for a in cols])

    full = [0, 1, 2, 3]
    xtx = [[sum(X[i][a] * X[i][b] for i in range(n)) for b in full] for a in full]
    m4 = solve(xtx, [0, 0, 0, 1])  # row of (X'X)^-1 for post_self

    def t_squared_parts(target):
        b = ols(full, target)
        u = [target[i] - sum(X[i][j] * b[j] for j in range(4)) for i in range(n)]
        a = [sum(m4[j] * X[i][j] for j in range(4)) for i in range(n)]
        scores = [sum(a[i] * u[i] for i in range(n) if year[i] == g) for g in range(8)]
        return (b[3] - r) ** 2, sum(s * s for s in scores)

    num0, var0 = t_squared_parts(y)
    gamma = ols([0, 1, 2], [y[i] - r * X[i][3] for i in range(n)])
    fitted = [sum(X[i][j] * gamma[j] for j in range(3)) + r * X[i][3] for i in range(n)]
    resid = [y[i] - fitted[i] for i in range(n)]
    greater = ties = 0
    for tail in itertools.product([-1, 1], repeat=7):
        signs = (1, *tail)
        num, var = t_squared_parts([fitted[i] + resid[i] * signs[year[i]] for i in range(n)])
        greater += 2 * (num * var0 > num0 * var)
        ties += 2 * (num * var0 == num0 * var)
    return greater, ties


def test_boottest_collapsed_full_enumeration(collapsed):
    result = _boottest(collapsed)
    # boottest prints t(7) = 2.0194; statsmodels/Stata CR1 gives 2.01942 (METHODS 4.2).
    assert result.statistic == pytest.approx(2.0194, abs=5e-5)
    assert result.enumerated
    assert result.draws == 256
    # Exact arithmetic: 18 of the 256 patterns give |t*| > |t| and 2 (all +1 and all -1, which
    # reproduce +-t exactly) tie. Our strict rule with tolerance counts 18: p = 18/256.
    greater, ties = _exact_wcr_counts(collapsed)
    assert (greater, ties) == (18, 2)
    assert result.n_ties == ties
    assert result.pvalue == greater / 256
    # boottest prints 0.0742 = 19/256 with the same strict rule but no tolerance: one of the two
    # exact ties happens to land above |t| in floating point. The printed value therefore lies
    # between our strict (18/256) and weak (20/256) counts, as METHODS 4.2 warns.
    assert greater / 256 < 0.0742 < (greater + ties) / 256
    assert round(19 / 256, 4) == 0.0742


def test_boottest_collapsed_confidence_interval_by_test_inversion(collapsed):
    result = _boottest(collapsed)
    # boottest (a67e4f2) prints [0.03874, 0.07098]; it stops its search when the bracket spans
    # one p-value step and interpolates linearly, so its bounds are approximate (other
    # versions print [.0384, .07148]). Ours is the exact crossing: check the bracket...
    assert result.ci_lower == pytest.approx(0.03874, abs=1e-3)
    assert result.ci_upper == pytest.approx(0.07098, abs=1e-3)
    # ... and that it is the crossing: p > 0.05 just inside, p <= 0.05 just outside.
    step = 1e-7
    for bound, inside in ((result.ci_lower, 1), (result.ci_upper, -1)):
        p_in = _boottest(collapsed, null=bound + inside * step).pvalue
        p_out = _boottest(collapsed, null=bound - inside * step).pvalue
        assert p_in > 0.05 >= p_out


def test_boottest_collapsed_webb_999_draws_within_tolerance(collapsed):
    # boottest post_self=.04, weight(webb): p = 0.0921 with Stata's RNG; METHODS 4.1
    # tolerance |dp| <= 3 sqrt(p (1 - p) / B).
    result = _boottest(collapsed, weights_type="webb", bootstrap_draws=999, seed=20240501)
    assert not result.enumerated
    assert result.draws == 999
    assert abs(result.pvalue - 0.0921) <= 3 * np.sqrt(0.0921 * (1 - 0.0921) / 999)


@pytest.fixture(scope="module")
def ten_clusters() -> pd.DataFrame:
    rng = np.random.default_rng(10)
    n, g = 200, 10
    firm = rng.integers(0, g, size=n)
    treat = (firm < 5).astype(float)
    x = rng.normal(size=n)
    y = 0.2 * treat + x + rng.normal(size=n) + rng.normal(size=g)[firm]
    return pd.DataFrame({"y": y, "t": treat, "x": x, "firm": firm})


def test_full_enumeration_matches_pyfixest_wildboottest(ten_clusters):
    # pyfixest 0.60 Feols.wildboottest (wildboottest 0.3.2): WCR, Rademacher, enumerates all
    # 2^10 patterns when reps > 2^G. Integer cluster IDs: string IDs crash it (METHODS 4.13).
    fit = pf.feols("y ~ t + x", data=ten_clusters, vcov={"CRV1": "firm"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer, peer_draws = fit.wildboottest(
            reps=2048, param="t", return_bootstrapped_t_stats=True, seed=1
        )
    ours = wild_cluster_bootstrap(
        ten_clusters, "y", "t", covariates=["x"], cluster="firm", bootstrap_draws=2048
    )
    assert ours.enumerated
    assert ours.draws == 1024 == np.size(peer_draws)
    assert ours.statistic == pytest.approx(float(peer["t value"]), rel=1e-10)
    # the same 1,024 bootstrap t statistics, up to floating point
    np.testing.assert_allclose(
        np.sort(np.abs(ours.distribution)), np.sort(np.abs(peer_draws)), rtol=1e-9, atol=1e-12
    )
    # wildboottest counts |t*| > |t| without a tolerance, so its p-value differs from ours only
    # by the exact ties (patterns +-1), which floating point may put on either side.
    peer_count = round(float(peer["Pr(>|t|)"]) * 1024)
    our_count = round(ours.pvalue * 1024)
    assert ours.n_ties == 2
    assert our_count <= peer_count <= our_count + ours.n_ties


def test_string_cluster_ids_work_where_pyfixest_crashes(ten_clusters):
    named = ten_clusters.assign(firm=ten_clusters["firm"].map(lambda k: f"enterprise {k}"))
    with pytest.raises(Exception, match="non-precise type"):
        pf.feols("y ~ t + x", data=named, vcov={"CRV1": "firm"}).wildboottest(reps=99, param="t")
    ours = wild_cluster_bootstrap(named, "y", "t", covariates=["x"], cluster="firm")
    base = wild_cluster_bootstrap(ten_clusters, "y", "t", covariates=["x"], cluster="firm")
    assert ours.pvalue == base.pvalue
    assert (ours.ci_lower, ours.ci_upper) == pytest.approx((base.ci_lower, base.ci_upper))


@pytest.fixture(scope="module")
def family_data() -> pd.DataFrame:
    rng = np.random.default_rng(77)
    n, g = 1_000, 30
    firm = rng.integers(0, g, size=n)
    treat = (firm % 2).astype(float)
    frame = pd.DataFrame({"firm": firm, "t": treat, "x": rng.normal(size=n)})
    for j, effect in enumerate([0.0, 0.05, 0.15, 0.3]):
        frame[f"y{j}"] = (
            effect * treat + 0.5 * frame["x"] + rng.normal(size=n) + 0.3 * rng.normal(size=g)[firm]
        )
    return frame


def test_romano_wolf_loosely_matches_pyfixest_rwolf(family_data):
    # pyfixest rwolf (WCR Rademacher t, (1 + #)/(B + 1) with >=) vs ours on independent draws:
    # agreement within 0.03 (pyfixest tests its rwolf against R wildrwolf with atol ~0.025).
    outcomes = ["y0", "y1", "y2", "y3"]
    fits = [pf.feols(f"{o} ~ t + x", data=family_data, vcov={"CRV1": "firm"}) for o in outcomes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = pf.rwolf(fits, param="t", reps=9_999, seed=3)
    spec = EffectSpec(
        outcomes=tuple(outcomes),
        treatment="t",
        estimator="ols",
        covariates=("x",),
        cluster="firm",
        family=dict.fromkeys(outcomes, "main"),
    )
    ours = estimate_effects(family_data, spec).adjust("romano_wolf", seed=3)
    peer_p = peer.loc["RW Pr(>|t|)"].to_numpy(dtype=float)
    np.testing.assert_allclose(ours.to_frame()["pvalue_romano_wolf"], peer_p, atol=0.03)


def test_randomization_inference_loosely_matches_pyfixest_ritest(family_data):
    # pyfixest ritest, randomization-c (coefficient) with cluster-level re-assignment, 500
    # draws; p-values from independent draws agree within 4 Monte Carlo standard errors.
    fit = pf.feols("y2 ~ t + x", data=family_data, vcov={"CRV1": "firm"})
    peer = fit.ritest(
        resampvar="t",
        cluster="firm",
        reps=500,
        type="randomization-c",
        rng=np.random.default_rng(5),
    )
    ours = randomization_inference(
        family_data,
        "y2",
        "t",
        covariates=["x"],
        cluster="firm",
        statistic="coefficient",
        permutations=500,
        seed=5,
    )
    assert ours.estimate == pytest.approx(float(peer["Estimate"]), rel=1e-10)
    p = float(peer["Pr(>|t|)"])
    assert abs(ours.pvalue - p) <= 4 * np.sqrt(2 * p * (1 - p) / 500) + 1e-3
