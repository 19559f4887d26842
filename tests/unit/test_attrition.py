"""Attrition diagnostics, IPAW, Lee and Manski bounds.

Independent sources: hand-computed toy cases written out in each test (trimming conventions in
both monotonicity directions, tightened bounds, Manski bounds, Imbens-Manski's equation);
statsmodels OLS with clustered covariance for the differential-attrition regression and
statsmodels Logit for the attrition weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluation.estimation.attrition import (
    MonotonicityWarning,
    attrition_rates,
    attrition_weights,
    differential_attrition,
    imbens_manski_interval,
    lee_bounds,
    lee_bounds_table,
    manski_bounds,
    stayer_balance,
)


def toy(direction: int = 1) -> pd.DataFrame:
    """Trimmed arm: 10 units, 8 observed with y = 1..8. Other arm: 25 units, 16 observed, y = 1.

    q_hi = 0.8, q_lo = 0.64, trimming share p = (0.8 - 0.64) / 0.8 = 0.2.
    """
    hi = pd.DataFrame({"y": [*range(1, 9), np.nan, np.nan], "obs": [1] * 8 + [0] * 2})
    lo = pd.DataFrame({"y": [1.0] * 16 + [np.nan] * 9, "obs": [1] * 16 + [0] * 9})
    return pd.concat(
        [hi.assign(t=direction), lo.assign(t=1 - direction)], ignore_index=True
    ).astype(float)


def test_lee_toy_three_conventions_treated_trimmed():
    # Quantile-inclusive (type-7): Q(0.8) = y(6) + 0.6 = 6.6 -> keep 1..6, mean 3.5;
    # Q(0.2) = y(2) + 0.4 = 2.4 -> keep 3..8, mean 5.5. Control mean 1.
    q = lee_bounds(toy(), "y", "t", "obs")
    assert q.trimming_share == pytest.approx(0.2)
    assert q.trimmed_arm == 1
    assert (q.lower, q.upper) == pytest.approx((2.5, 4.5))
    # Order statistics: floor(0.2 * 8) = 1 dropped -> 1..7 (mean 4) and 2..8 (mean 5).
    o = lee_bounds(toy(), "y", "t", "obs", trimming="order")
    assert (o.lower, o.upper) == pytest.approx((3.0, 4.0))
    # Fractional: keep 6.4 units: (1+...+6 + 0.4*7)/6.4 and (3+...+8 + 0.4*2)/6.4.
    f = lee_bounds(toy(), "y", "t", "obs", trimming="fractional")
    assert (f.lower, f.upper) == pytest.approx((23.8 / 6.4 - 1, 33.8 / 6.4 - 1))
    assert q.naive == pytest.approx(4.5 - 1.0)


def test_lee_toy_control_trimmed():
    # Reversed: the control arm is observed more often and is trimmed; the bounds flip sign.
    q = lee_bounds(toy(direction=0), "y", "t", "obs")
    assert q.trimmed_arm == 0
    assert q.trimming_share == pytest.approx(0.2)
    assert (q.lower, q.upper) == pytest.approx((1 - 5.5, 1 - 3.5))
    o = lee_bounds(toy(direction=0), "y", "t", "obs", trimming="order")
    assert (o.lower, o.upper) == pytest.approx((1 - 5.0, 1 - 4.0))


def test_lee_tightened_by_cells():
    # Cell A: treated y = 1,2,3,4 observed of 5; control y = 0,0 observed of 5 -> p = 0.5,
    # quantile 2.5: trimmed means 1.5 (low) and 3.5 (high). Cell B: both arms 2 of 4 observed
    # (p = 0): treated mean 15, control mean 10. Each cell has 2 of the 4 observed controls:
    # lower = 0.5*1.5 + 0.5*15 - (0.5*0 + 0.5*10) = 3.25; upper = 0.5*3.5 + 7.5 - 5 = 4.25.
    nan = np.nan
    df = pd.DataFrame(
        {
            "t": [1] * 5 + [0] * 5 + [1] * 4 + [0] * 4,
            "cell": ["A"] * 10 + ["B"] * 8,
            "y": [1, 2, 3, 4, nan, 0, 0, nan, nan, nan, 10, 20, nan, nan, 10, 10, nan, nan],
        }
    )
    df["obs"] = df["y"].notna().astype(float)
    tight = lee_bounds(df, "y", "t", "obs", tighten_by="cell")
    assert (tight.lower, tight.upper) == pytest.approx((3.25, 4.25))
    # basic bounds: p = (6/9 - 4/9)/(6/9) = 1/3; treated y 1,2,3,4,10,20: Q(2/3) = 4 + 1/3*6
    # = 6 -> keep 1..4 (mean 2.5); Q(1/3) = 2 + 2/3 -> keep 3,4,10,20 (mean 9.25); control
    # mean 5: bounds [-2.5, 4.25]
    basic = lee_bounds(df, "y", "t", "obs")
    assert (basic.lower, basic.upper) == pytest.approx((-2.5, 4.25))
    assert basic.lower < tight.lower < tight.upper <= basic.upper + 1e-12
    assert list(tight.cells["trimming_share"]) == pytest.approx([0.5, 0.0])


def test_lee_monotonicity_violation_warns():
    nan = np.nan
    df = pd.DataFrame(
        {
            "t": [1] * 5 + [0] * 5 + [1] * 4 + [0] * 4,
            "cell": ["A"] * 10 + ["B"] * 8,
            "y": [1, 2, 3, 4, 5, 0, 0, nan, nan, nan, 10, nan, nan, nan, 10, 10, nan, nan],
        }
    )
    df["obs"] = df["y"].notna().astype(float)
    with pytest.warns(MonotonicityWarning, match="monotonicity fails in 1 of 2 cells"):
        result = lee_bounds(df, "y", "t", "obs", tighten_by="cell")
    assert result.cells["trimming_share"].iloc[1] == 0.0


def test_lee_bad_inputs():
    df = toy()
    with pytest.raises(ValueError, match="every control unit attrited"):
        lee_bounds(df.assign(obs=df["obs"].where(df["t"] == 1, 0.0)), "y", "t", "obs")
    with pytest.raises(ValueError, match="infinite"):
        lee_bounds(df.assign(y=df["y"].replace(8.0, np.inf)), "y", "t", "obs")
    with pytest.raises(ValueError, match="binary"):
        lee_bounds(df.assign(t=df["t"] + 1), "y", "t", "obs")
    with pytest.raises(ValueError, match="fractional"):
        lee_bounds(df.assign(w=1.0), "y", "t", "obs", weights="w")
    # all attriters in one arm is identified (the other arm is fully observed)
    one_arm = df.assign(obs=df["obs"].where(df["t"] == 1, 1.0), y=df["y"].fillna(1.0))
    result = lee_bounds(one_arm, "y", "t", "obs")
    assert result.trimmed_arm == 0


def test_lee_bootstrap_shares_draws_and_im_interval():
    rng = np.random.default_rng(0)
    n = 400
    t = rng.integers(0, 2, n)
    obs = (rng.uniform(size=n) < 0.6 + 0.15 * t).astype(float)
    df = pd.DataFrame(
        {
            "t": t,
            "obs": obs,
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "g": rng.integers(0, 40, n),
        }
    )
    one = lee_bounds(df, "a", "t", "obs", n_boot=99, seed=5, cluster="g")
    both = lee_bounds_table(df, ["a", "b"], "t", "obs", n_boot=99, seed=5, cluster="g")
    assert both[0].se_lower == one.se_lower
    assert both[0].n_clusters == 40
    z = stats.norm.ppf(0.975)
    assert one.ci_lower == pytest.approx(one.lower - z * one.se_lower)
    assert one.ci_lower <= one.im_lower <= one.lower
    frame = one.to_frame()
    assert frame.loc[0, "trimming"] == "quantile"


def test_imbens_manski_solves_its_equation():
    lo, hi, sl, su = 0.0, 0.1, 0.02, 0.03
    a, b = imbens_manski_interval(lo, hi, sl, su)
    c = (lo - a) / sl
    # Phi(C + Delta / max(sigma)) - Phi(-C) = 0.95
    assert stats.norm.cdf(c + 0.1 / 0.03) - stats.norm.cdf(-c) == pytest.approx(0.95)
    assert (hi + c * su) == pytest.approx(b)
    # a point-identified parameter gets the two-sided 1.96; a wide set the one-sided 1.645
    assert imbens_manski_interval(0, 0, 1, 1)[1] == pytest.approx(1.959964, rel=1e-5)
    assert imbens_manski_interval(0, 100, 1, 1)[1] == pytest.approx(100 + 1.644854, rel=1e-6)


def test_manski_bounds_by_hand():
    # treated: 8 of 10 observed, mean 0.5 -> E[Y1] in [0.4, 0.6];
    # control: 5 of 10 observed, mean 0.4 -> E[Y0] in [0.2, 0.7]; effect in [-0.3, 0.4].
    nan = np.nan
    y1 = [1, 1, 1, 1, 0, 0, 0, 0, nan, nan]
    y0 = [1, 1, 0, 0, 0, nan, nan, nan, nan, nan]
    df = pd.DataFrame({"y": y1 + y0, "t": [1] * 10 + [0] * 10})
    df["obs"] = df["y"].notna().astype(float)
    row = manski_bounds(df, "y", "t", "obs").iloc[0]
    assert (row["lower"], row["upper"]) == pytest.approx((-0.3, 0.4))
    with pytest.raises(ValueError, match="outside"):
        manski_bounds(df.assign(y=df["y"] * 2), "y", "t", "obs")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 600
    g = rng.integers(0, 30, n)
    t = (g % 2).astype(float)
    age = rng.normal(25, 4, n)
    female = rng.integers(0, 2, n).astype(float)
    p_stay = 1 / (1 + np.exp(-(0.5 + 0.4 * t + 0.05 * (age - 25) - 0.3 * female * t)))
    obs = (rng.uniform(size=n) < p_stay).astype(float)
    return pd.DataFrame(
        {"g": g, "t": t, "age": age, "female": female, "obs": obs, "w": rng.uniform(1, 3, n)}
    )


def test_attrition_rates_by_arm_and_cluster(panel):
    table = attrition_rates(panel, "t", "obs", cluster="g")
    arms = table.loc[table["level"] == "arm"].set_index("arm")
    for arm in (0, 1):
        part = panel.loc[panel["t"] == arm]
        assert arms.loc[arm, "n"] == len(part)
        assert arms.loc[arm, "attrition_rate"] == pytest.approx(1 - part["obs"].mean())
    assert (table["level"] == "cluster").sum() == 30
    weighted = attrition_rates(panel, "t", "obs", weights="w")
    assert weighted["attrition_rate"].iloc[0] != arms.loc[0, "attrition_rate"]


def test_differential_attrition_matches_statsmodels(panel):
    table = differential_attrition(panel, "t", "obs", ["age", "female"], cluster="g")
    centred = panel[["age", "female"]] - panel[["age", "female"]].mean()
    X = pd.DataFrame(
        {
            "t": panel["t"],
            "t:age": panel["t"] * centred["age"],
            "t:female": panel["t"] * centred["female"],
            "age": panel["age"],
            "female": panel["female"],
        }
    )
    ref = sm.OLS(1 - panel["obs"], sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": panel["g"]}
    )
    coefs = table.set_index("term")
    for term in ["t", "t:age", "t:female", "age", "female"]:
        assert coefs.loc[term, "estimate"] == pytest.approx(ref.params[term], rel=1e-8)
        assert coefs.loc[term, "std_error"] == pytest.approx(ref.bse[term], rel=1e-8)
    names = ["t", "t:age", "t:female"]
    b = ref.params[names].to_numpy()
    V = ref.cov_params().loc[names, names].to_numpy()
    f_stat = b @ np.linalg.solve(V, b) / 3
    assert coefs.loc["joint: arm and interactions", "f_statistic"] == pytest.approx(f_stat)
    assert coefs.loc["joint: arm and interactions", "df_denom"] == 29


def test_attrition_weights_match_logit_by_arm(panel):
    w = attrition_weights(panel, "obs", ["age", "female"], treatment="t")
    for arm in (0, 1):
        part = panel.loc[panel["t"] == arm]
        fit = sm.Logit(part["obs"], sm.add_constant(part[["age", "female"]])).fit(disp=0)
        expected = np.where(part["obs"] == 1, 1 / fit.predict(), 0.0)
        np.testing.assert_allclose(w.loc[part.index], expected, rtol=1e-7)
    stab = attrition_weights(panel, "obs", ["age"], stabilized=True)
    assert stab[panel["obs"] == 1].mean() == pytest.approx(1.0, abs=0.05)
    with pytest.warns(UserWarning, match="no attriters in arm 1"):
        attrition_weights(
            panel.assign(obs=panel["obs"].where(panel["t"] == 0, 1.0)),
            "obs",
            ["age"],
            treatment="t",
        )


def test_stayer_balance(panel):
    table = stayer_balance(panel, "t", "obs", ["age", "female"], cluster="g")
    assert set(table["sample"]) == {"baseline", "stayers"}
    stayers = table.loc[(table["sample"] == "stayers") & (table["arm"] == 0)]
    assert stayers["n"].iloc[0] == int(((panel["t"] == 0) & (panel["obs"] == 1)).sum())


@pytest.mark.parametrize("trimming", ["quantile", "order", "fractional"])
def test_vectorised_bootstrap_equals_draw_by_draw(trimming):
    # The bootstrap evaluates all draws at once from row multiplicities; each draw must equal
    # the bounds computed on the explicitly resampled rows (with ties in y, two cells, close
    # observation rates so the trimmed arm flips in some draws, and weights when fractional).
    from evaluation.estimation.attrition import _bootstrap_counts, _lee_data, _lee_draws

    rng = np.random.default_rng(9)
    n = 120
    df = pd.DataFrame(
        {
            "t": rng.integers(0, 2, n).astype(float),
            "obs": (rng.uniform(size=n) < 0.6).astype(float),
            "y": rng.integers(0, 6, n).astype(float),
            "cell": rng.integers(0, 2, n),
            "w": rng.uniform(0.5, 2, n) if trimming == "fractional" else 1.0,
        }
    )
    weights = "w" if trimming == "fractional" else None
    counts = _bootstrap_counts(n, None, 40, np.random.default_rng(1))
    for tighten in ([], ["cell"]):
        cells = df["cell"].to_numpy() if tighten else np.zeros(n, dtype=int)
        d = _lee_data(
            df["y"].to_numpy(),
            df["t"].to_numpy(),
            df["obs"].to_numpy(),
            df["w"].to_numpy(dtype=float),
            cells,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            lower, upper, direction = _lee_draws(d, counts, trimming)
        for b in range(counts.shape[1]):
            rows = np.repeat(np.arange(n), counts[:, b].astype(int))
            resampled = df.iloc[rows].reset_index(drop=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                one = lee_bounds(
                    resampled,
                    "y",
                    "t",
                    "obs",
                    tighten_by=tighten,
                    trimming=trimming,
                    weights=weights,
                )
            assert lower[b] == pytest.approx(one.lower, rel=1e-9, abs=1e-12)
            assert upper[b] == pytest.approx(one.upper, rel=1e-9, abs=1e-12)
            assert direction[b] == one.trimmed_arm
