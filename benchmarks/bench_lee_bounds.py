"""Lee bounds with 999 cluster-bootstrap draws across 30 outcomes (issue 9).

No Python peer is installed to time against (pyleebounds reports a different trimming share and
can return NaN SEs, METHODS.md 4.13 #5; Stata's leebounds and R's leebounds are not in Python),
so this prints our time and, as an in-process reference, the time of the same bootstrap done the
straightforward way (re-sorting the resampled rows in every draw) on 3 of the outcomes, scaled
to 30: the ratio says what the presorted multiplicity algorithm buys.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from evaluation.estimation import lee_bounds_table

N_ROWS, N_OUTCOMES, N_BOOT, N_CLUSTERS = 9_000, 30, 999, 300


def make_data(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, N_CLUSTERS, N_ROWS)
    t = (cluster % 2).astype(float)
    observed = (rng.uniform(size=N_ROWS) < 0.55 + 0.05 * t).astype(float)
    outcomes = {
        f"y{k:02d}": np.where(observed == 1, rng.normal(2.0 + 0.05 * t, 0.5, N_ROWS), np.nan)
        for k in range(N_OUTCOMES)
    }
    return pd.DataFrame({"t": t, "obs": observed, "g": cluster, **outcomes})


def naive_bootstrap(data: pd.DataFrame, outcome: str, rng: np.random.Generator) -> np.ndarray:
    """Resample clusters, then compute quantile-inclusive bounds by sorting each draw."""
    groups = [g.index.to_numpy() for _, g in data.groupby("g")]
    y, t, r = (data[c].to_numpy() for c in (outcome, "t", "obs"))
    out = np.empty((N_BOOT, 2))
    for b in range(N_BOOT):
        rows = np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])
        yb, tb, rb = y[rows], t[rows], r[rows]
        q1, q0 = rb[tb == 1].mean(), rb[tb == 0].mean()
        p = (q1 - q0) / q1
        y1 = np.sort(yb[(tb == 1) & (rb == 1)])
        y0 = yb[(tb == 0) & (rb == 1)].mean()
        hi, lo = np.quantile(y1, [1 - p, p])
        out[b] = y1[y1 <= hi].mean() - y0, y1[y1 >= lo].mean() - y0
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    data = make_data()
    outcomes = [c for c in data.columns if c.startswith("y")]
    start = time.perf_counter()
    results = lee_bounds_table(data, outcomes, "t", "obs", cluster="g", n_boot=N_BOOT, seed=1)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    rng = np.random.default_rng(1)
    for outcome in outcomes[:3]:
        naive_bootstrap(data, outcome, rng)
    naive = (time.perf_counter() - start) * N_OUTCOMES / 3
    print(
        f"Lee bounds, {N_ROWS:,} rows, {N_CLUSTERS} clusters, {N_OUTCOMES} outcomes x "
        f"{N_BOOT} cluster-bootstrap draws (shared across outcomes)"
    )
    print(f"  ours (lee_bounds_table): {ours:8.2f} s  ({ours / N_OUTCOMES:.2f} s per outcome)")
    print(f"  re-sorting each draw (3 outcomes, scaled to 30): {naive:8.2f} s")
    print(f"  ratio re-sorting / ours: {naive / ours:.2f}x; no Python peer installed")
    print(
        f"  first outcome: [{results[0].lower:.4f}, {results[0].upper:.4f}], SEs "
        f"({results[0].se_lower:.4f}, {results[0].se_upper:.4f})"
    )


if __name__ == "__main__":
    main()
