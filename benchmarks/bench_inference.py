"""Resampling inference: ours vs pyfixest on the same problems, measured in the same run.

1. Wild cluster bootstrap (WCR, Rademacher, B = 9,999, G = 50, N = 100k): our
   ``wild_cluster_bootstrap`` (fit, bootstrap and test-inversion interval) against pyfixest
   ``Feols.wildboottest`` (which calls wildboottest; p-value only). Goal: at least 2x faster.
2. Romano-Wolf for 30 outcomes (B = 9,999, G = 50, N = 10k): ``EffectEstimates.adjust(
   "romano_wolf")`` against ``pyfixest.rwolf`` on the same 30 fitted models. Goal: 10x faster.
3. Randomization inference, 1,000 cluster-level permutations for 30 outcomes (G = 50,
   N = 10k): ``randomization_inference`` with the t statistic against pyfixest ``Feols.ritest``
   (``randomization-t``) per model. pyfixest runs each outcome separately and takes about a
   minute per outcome, so it is timed on 5 of the 30 outcomes and multiplied by 6 (stated in
   the output). Goal: 10x faster.

Each timing is the best of a few runs after one warm-up (numba compiles on first use). Ratios
are pyfixest time / our time (above 1: we are faster).
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("TQDM_DISABLE", "1")  # pyfixest's progress bars

import numpy as np
import pandas as pd
import pyfixest as pf

from evaluation.estimation import (
    EffectSpec,
    estimate_effects,
    randomization_inference,
    wild_cluster_bootstrap,
)


def make_data(n_rows: int, n_clusters: int = 50, n_outcomes: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    firm = rng.integers(0, n_clusters, size=n_rows)
    treat = (firm % 2).astype(float)
    x = rng.normal(size=n_rows)
    frame = {"firm": firm, "t": treat, "x": x}
    for j in range(n_outcomes):
        frame[f"y{j}"] = (
            0.05 * j / n_outcomes * treat
            + 0.5 * x
            + rng.normal(size=n_clusters)[firm]
            + rng.normal(size=n_rows)
        )
    return pd.DataFrame(frame)


def best_of(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def report(label: str, ours: float, peer: float, goal: float) -> None:
    ratio = peer / ours
    verdict = "meets" if ratio >= goal else "MISSES"
    print(
        f"{label:<58} ours {ours:8.3f} s  pyfixest {peer:8.3f} s  "
        f"speed-up {ratio:6.1f}x ({verdict} goal {goal:g}x)"
    )


def bench_wild() -> None:
    data = make_data(100_000)

    def ours():
        return wild_cluster_bootstrap(
            data, "y0", "t", covariates=["x"], cluster="firm", bootstrap_draws=9_999, seed=1
        )

    def peer():
        fit = pf.feols("y0 ~ t + x", data=data, vcov={"CRV1": "firm"})
        return fit.wildboottest(reps=9_999, param="t", seed=1)

    a, b = ours(), peer()
    assert abs(a.statistic - float(b["t value"])) < 1e-8 * abs(a.statistic)
    assert abs(a.pvalue - float(b["Pr(>|t|)"])) < 0.02
    report("wild bootstrap B=9,999 G=50 N=100k (with CI)", best_of(ours, 3), best_of(peer, 2), 2)


def bench_romano_wolf() -> None:
    outcomes = [f"y{j}" for j in range(30)]
    data = make_data(10_000, n_outcomes=30)
    spec = EffectSpec(
        outcomes=tuple(outcomes),
        treatment="t",
        estimator="ols",
        covariates=("x",),
        cluster="firm",
        family=dict.fromkeys(outcomes, "all"),
    )
    estimates = estimate_effects(data, spec)
    fits = [pf.feols(f"{o} ~ t + x", data=data, vcov={"CRV1": "firm"}) for o in outcomes]

    def ours():
        return estimates.adjust("romano_wolf", bootstrap_draws=9_999, seed=1)

    def peer():
        return pf.rwolf(fits, param="t", reps=9_999, seed=1)

    a, b = ours(), peer()
    diff = np.max(
        np.abs(a.to_frame()["pvalue_romano_wolf"] - b.loc["RW Pr(>|t|)"].to_numpy(dtype=float))
    )
    assert diff < 0.05, diff
    report("Romano-Wolf 30 outcomes B=9,999 G=50 N=10k", best_of(ours, 3), best_of(peer, 1), 10)


def bench_randomization() -> None:
    outcomes = [f"y{j}" for j in range(30)]
    data = make_data(10_000, n_outcomes=30)
    fits = [pf.feols(f"{o} ~ t + x", data=data, vcov={"CRV1": "firm"}) for o in outcomes]

    def ours():
        return randomization_inference(
            data, outcomes, "t", covariates=["x"], cluster="firm", permutations=1_000, seed=1
        )

    timed = 5

    def peer():
        return [
            fit.ritest(
                resampvar="t",
                cluster="firm",
                reps=1_000,
                type="randomization-t",
                rng=np.random.default_rng(1),
            )
            for fit in fits[:timed]
        ]

    a = ours()
    start = time.perf_counter()
    b = peer()
    peer_time = (time.perf_counter() - start) * len(fits) / timed
    diff = max(abs(r.pvalue - float(s["Pr(>|t|)"])) for r, s in zip(a, b, strict=False))
    assert diff < 0.1, diff
    report(
        f"RI t, 1,000 draws, 30 outcomes (pyfixest: {timed} timed x {len(fits) // timed})",
        best_of(ours, 3),
        peer_time,
        10,
    )


def main() -> None:
    warnings.simplefilter("ignore")
    bench_wild()
    bench_romano_wolf()
    bench_randomization()


if __name__ == "__main__":
    main()
