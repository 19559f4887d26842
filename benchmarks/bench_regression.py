"""DiD with unit and period fixed effects and clustered SEs: ours vs pyfixest ``feols``.

Times ``estimate_effect`` (CR1, unit + period FE absorbed, clustered by firm) against
``pyfixest.feols("y ~ treat + x | unit + period", vcov={"CRV1": "firm"})`` on the same data in
the same process, at 100k and 1M rows, and prints times, the ratio and peak memory. Each
timing is the best of three runs after one warm-up (pyfixest compiles with numba on first use).
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf

from evaluation.estimation import estimate_effect


def make_panel(n_rows: int, periods: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units = n_rows // periods
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    firm = unit // 20
    treated = (firm % 2 == 0).astype(float)
    post = (period >= periods // 2).astype(float)
    x = rng.normal(size=unit.size)
    y = (
        0.3 * treated * post
        + 0.5 * x
        + rng.normal(size=units)[unit]
        + 0.1 * period
        + rng.normal(size=unit.size)
    )
    frame = pd.DataFrame(
        {"unit": unit, "period": period, "firm": firm, "treat": treated * post, "x": x, "y": y}
    )
    # drop 5% of rows so the panel is unbalanced (alternating projections must iterate)
    keep = rng.random(len(frame)) > 0.05
    return frame.loc[keep].reset_index(drop=True)


def best_of(func, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mib(func) -> float:
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    warnings.simplefilter("ignore")
    for n_rows in (100_000, 1_000_000):
        data = make_panel(n_rows)

        def ours(data=data):
            return estimate_effect(
                data,
                "y",
                "treat",
                covariates=["x"],
                fixed_effects=["unit", "period"],
                cluster="firm",
                vcov="CR1",
            )

        def peer(data=data):
            return pf.feols("y ~ treat + x | unit + period", data=data, vcov={"CRV1": "firm"})

        a, b = ours(), peer()  # warm-up (numba compilation for pyfixest)
        assert abs(a.effect - b.coef()["treat"]) < 1e-6
        assert abs(a.std_error / b.se()["treat"] - 1) < 1e-6
        t_ours, t_peer = best_of(ours), best_of(peer)
        m_ours, m_peer = peak_mib(ours), peak_mib(peer)
        print(
            f"N = {len(data):>9,}  ours {t_ours:7.3f} s  pyfixest {t_peer:7.3f} s  "
            f"ratio ours/pyfixest {t_ours / t_peer:5.2f}  "
            f"peak memory ours {m_ours:7.1f} MiB  pyfixest {m_peer:7.1f} MiB"
        )


if __name__ == "__main__":
    main()
