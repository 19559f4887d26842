"""Summary indices and Cronbach's alpha against computations written out here from the formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.indicators import ConfigError, IndicatorError
from evaluation.indicators.indices import cronbach_alpha, standardize, summary_index


def _data(seed: int = 7, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": latent + rng.normal(size=n),
            "b": 0.5 * latent + rng.normal(scale=2.0, size=n),
            "c": -latent + rng.normal(size=n) + 3,
            "treat": rng.integers(0, 2, size=n),
        }
    )
    frame["control"] = frame["treat"].eq(0)
    return frame


def _swindex_by_hand(x: np.ndarray, ref: np.ndarray, rescale: bool = True) -> np.ndarray:
    """swindex as its ado-file computes it (Schwab et al. 2020), step by step in numpy."""
    mean = np.nanmean(x[ref], axis=0)
    sd = np.nanstd(x[ref], axis=0, ddof=1)
    z = (x - mean) / sd
    complete = ~np.isnan(z).any(axis=1)
    sigma = np.cov(z[complete].T)  # Mata variance(): casewise deletion, whole sample
    w = np.linalg.inv(sigma).sum(axis=1)  # row sums of the inverse
    out = np.full(len(z), np.nan)
    for i, row in enumerate(z):
        avail = ~np.isnan(row)
        if avail.any():
            out[i] = (row[avail] * w[avail]).sum() / w[avail].sum()
    if rescale:
        base = out[ref & ~np.isnan(out)]
        out = (out - base.mean()) / base.std(ddof=1)
    return out


def test_icw_matches_swindex_steps_with_reference_group_and_flip():
    df = _data()
    got = summary_index(
        df, ["a", "b", "c"], "icw", reference="control", signs={"c": -1}, name="idx"
    )
    x = np.column_stack([df["a"], df["b"], -df["c"]])
    expected = _swindex_by_hand(x, df["control"].to_numpy())
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected, rtol=1e-12)
    assert got.name == "idx"
    ref = got[df["control"]]
    assert ref.mean() == pytest.approx(0, abs=1e-12)
    assert ref.std(ddof=1) == pytest.approx(1)


def test_icw_missing_items_reweighted_over_available():
    df = _data(seed=11)
    df.loc[[3, 10, 50], "a"] = np.nan
    df.loc[[10, 60], "b"] = np.nan
    df.loc[[10], "c"] = np.nan  # row 10 has no item at all
    got = summary_index(df, ["a", "b", "c"], reference=df["control"], rescale=False)
    x = df[["a", "b", "c"]].to_numpy(dtype=float)
    expected = _swindex_by_hand(x, df["control"].to_numpy(), rescale=False)
    assert got.isna().tolist() == np.isnan(expected).tolist()
    assert pd.isna(got[10])
    np.testing.assert_allclose(got.dropna().to_numpy(dtype=float), expected[~np.isnan(expected)])
    complete = summary_index(df, ["a", "b", "c"], reference=df["control"], missing="complete")
    assert complete[[3, 10, 50, 60]].isna().all()


def test_icw_two_items_is_the_mean_of_z_scores():
    # For two standardised items the covariance is [[1, r], [r, 1]] on the complete rows only
    # when those rows are the reference; its inverse has equal row sums 1/(1 + r), so the ICW
    # index equals the mean of the two z-scores.
    df = _data(seed=3)
    got = summary_index(df, ["a", "b"], rescale=False)
    za = (df["a"] - df["a"].mean()) / df["a"].std(ddof=1)
    zb = (df["b"] - df["b"].mean()) / df["b"].std(ddof=1)
    np.testing.assert_allclose(got.to_numpy(dtype=float), ((za + zb) / 2).to_numpy())


def test_klk_zscore_mean_of_available_standardised_items():
    df = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0, 4.0, np.nan], "y": [10.0, 30.0, 20.0, 40.0, 30.0]},
    )
    ref = pd.Series([True, True, True, True, False])
    got = summary_index(df, ["x", "y"], "zscore", reference=ref, rescale=False)
    # reference: x mean 2.5 sd sqrt(5/3); y mean 25 sd sqrt(500/3)
    sx, sy = (5 / 3) ** 0.5, (500 / 3) ** 0.5
    expected = [
        ((1 - 2.5) / sx + (10 - 25) / sy) / 2,
        ((2 - 2.5) / sx + (30 - 25) / sy) / 2,
        ((3 - 2.5) / sx + (20 - 25) / sy) / 2,
        ((4 - 2.5) / sx + (40 - 25) / sy) / 2,
        (30 - 25) / sy,
    ]
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected)


def test_summary_index_errors():
    df = _data()
    with pytest.raises(ConfigError, match="method"):
        summary_index(df, ["a"], "pca")
    with pytest.raises(IndicatorError, match="not in the data"):
        summary_index(df, ["a", "zzz"])
    with pytest.raises(ConfigError, match="signs"):
        summary_index(df, ["a", "b"], signs={"a": 2})
    df["k"] = 1.0
    with pytest.raises(IndicatorError, match="'k'"):
        summary_index(df, ["a", "k"])


def test_standardize_on_reference_group():
    s = pd.Series([1.0, 3.0, 5.0, 100.0])
    ref = pd.Series([True, True, True, False])
    got = standardize(s, ref)
    assert got.tolist() == pytest.approx([-1.0, 0.0, 1.0, 48.5])


def test_cronbach_alpha_by_hand():
    items = pd.DataFrame({"x1": [1, 2, 3, 4], "x2": [2, 2, 4, 4], "x3": [1, 3, 3, 5]})
    # variances (n-1): 5/3, 4/3, 8/3; total 4, 7, 10, 13 has variance 15
    # alpha = 3/2 * (1 - (17/3) / 15) = 14/15
    alpha, n = cronbach_alpha(items)
    assert alpha == pytest.approx(14 / 15)
    assert n == 4
    items.loc[4] = [5, np.nan, 5]
    alpha, n = cronbach_alpha(items)
    assert n == 4  # listwise deletion
    assert np.isnan(cronbach_alpha(items[["x1"]])[0])
