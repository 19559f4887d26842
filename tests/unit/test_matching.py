"""Nearest-neighbour matching: rules, weights and standard errors.

Independent sources: a hand-built example worked out below (scores are dyadic fractions, so
distance ties are exact), statsmodels WLS for the matched-sample regression SEs, and the
Abadie-Imbens (2006) variance computed by hand on the same example.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluation.estimation import matching
from evaluation.estimation.matching import match_effect, match_units
from evaluation.estimation.propensity import OverlapError, balance_weighted


@pytest.fixture
def toy() -> pd.DataFrame:
    # Treated A, B, C, D then controls a, b, c, d (row order breaks ties).
    return pd.DataFrame(
        {
            "name": list("ABCDabcd"),
            "t": [1, 1, 1, 1, 0, 0, 0, 0],
            "e": [0.5, 0.625, 0.875, 0.8125, 0.25, 0.75, 0.875, 0.125],
            "y": [10.0, 12, 15, 14, 7, 8, 9, 20],
            "s": [1, 1, 2, 2, 1, 2, 2, 1],
            "firm": [1, 2, 3, 4, 1, 2, 3, 4],
        }
    ).set_index("name")


def test_att_one_neighbour_ties_first(toy):
    # A (0.5): a and b both at 0.25 -> a (first row) -> 10 - 7 = 3
    # B (0.625): b at 0.125 -> 12 - 8 = 4;  C (0.875): c at 0 -> 15 - 9 = 6
    # D (0.8125): b and c both at 0.0625 -> b -> 14 - 8 = 6.   ATT = 19/4
    res = match_effect(toy, "y", "t", "e")
    assert res.effect == pytest.approx(19 / 4)
    m = res.fit
    assert m.weights.to_dict() == {"A": 1, "B": 1, "C": 1, "D": 1, "a": 1, "b": 2, "c": 1, "d": 0}
    assert res.extra["n_unmatched_focal"] == 0


def test_every_rule_changes_the_result(toy):
    # ties="all": A -> (7 + 8)/2, D -> (8 + 9)/2: (2.5 + 4 + 6 + 5.5)/4 = 4.5
    assert match_effect(toy, "y", "t", "e", ties="all").effect == pytest.approx(4.5)
    # without replacement (greedy in row order): A-a, B-b, C-c, D-d: (3 + 4 + 6 - 6)/4
    assert match_effect(toy, "y", "t", "e", replace=False).effect == pytest.approx(7 / 4)
    # caliper 0.2 leaves A (nearest at 0.25) unmatched: (4 + 6 + 6)/3
    cal = match_effect(toy, "y", "t", "e", caliper=0.2)
    assert cal.effect == pytest.approx(16 / 3)
    assert cal.extra["n_unmatched_focal"] == 1
    assert list(cal.fit.unmatched) == ["A"]
    # two neighbours: A (a, b) 2.5; B (b, c) 3.5; C (c, b) 6.5; D (b, c) 5.5 -> 18/4
    assert match_effect(toy, "y", "t", "e", neighbors=2).effect == pytest.approx(4.5)
    # exact on s: A, B match within {a, d}; C, D within {b, c}: (3 + 5 + 6 + 6)/4 = 5
    assert match_effect(toy, "y", "t", "e", exact="s").effect == pytest.approx(5.0)
    # Mahalanobis on the score alone ranks candidates like the score distance
    maha = match_effect(toy, "y", "t", distance="mahalanobis", covariates=["e"])
    assert maha.effect == pytest.approx(19 / 4)


def test_ate_by_hand(toy):
    # controls matched to treated: a -> A (3), b -> D (6), c -> C (6), d -> A (-10)
    # ATE = (3 + 4 + 6 + 6 + 3 + 6 + 6 - 10) / 8 = 3
    assert match_effect(toy, "y", "t", "e", estimand="ATE").effect == pytest.approx(3.0)
    # ATC alone: (3 + 6 + 6 - 10) / 4
    assert match_effect(toy, "y", "t", "e", estimand="ATC").effect == pytest.approx(5 / 4)


def test_regression_se_equals_weighted_ls(toy):
    res = match_effect(toy, "y", "t", "e", cluster="firm")
    w = res.fit.weights
    used = w[w > 0]
    sample = toy.loc[used.index]
    ref = sm.WLS(sample["y"], sm.add_constant(sample["t"]), weights=used).fit(
        cov_type="cluster", cov_kwds={"groups": sample["firm"]}
    )
    assert res.effect == pytest.approx(ref.params["t"])
    assert res.std_error == pytest.approx(ref.bse["t"], rel=1e-10)
    assert res.vcov == "CR1"


def test_abadie_imbens_by_hand(toy):
    # K (times used): a 1, b 2, c 1; K2 = K (single matches): K^2 - K2 = 0, 2, 0.
    # sigma^2_b with one same-arm neighbour (c, at 0.125): 1/2 (8 - 9)^2 = 0.5.
    # unit effects 3, 4, 6, 6 around 4.75: squares sum to 6.75.
    # V = (6.75 + 2 * 0.5) / 4^2
    res = match_effect(toy, "y", "t", "e", se="abadie-imbens", variance_neighbors=1)
    assert res.std_error == pytest.approx(np.sqrt(7.75 / 16))
    assert res.vcov == "abadie-imbens"
    with pytest.raises(ValueError, match="unclustered"):
        match_effect(toy, "y", "t", "e", se="abadie-imbens", cluster="firm")


def test_survey_weights_scale_focal_units(toy):
    # ATT with focal weights s: (1*3 + 1*4 + 2*6 + 2*6) / 6
    res = match_effect(toy, "y", "t", "e", weights="s")
    assert res.effect == pytest.approx(31 / 6)


def test_balance_after_matching_and_bad_input(toy):
    m = match_units(toy, "t", "e")
    table = balance_weighted(toy, "t", ["e"], m.weights, estimand="ATT")
    after = table.loc[(table["sample"] == "after") & (table["arm"] == 1), "mean_difference"]
    # matched controls (a, b, b, c) have mean score (0.25 + 1.5 + 0.875)/4 vs treated 0.703125
    assert after.iloc[0] == pytest.approx(0.703125 - 2.625 / 4)
    with pytest.raises(OverlapError, match="no focal unit"):
        match_effect(toy.loc[["A", "B", "a", "d"]], "y", "t", "e", caliper=0.01)
    with pytest.raises(ValueError, match="neighbors"):
        match_units(toy, "t", "e", neighbors=0)


def _general_path(coords, focal, cand, *, k, ties, caliper):
    """The search over every candidate, one focal unit at a time (the general path)."""
    out = []
    for i in focal:
        d = np.sqrt(np.sum((coords[cand] - coords[i]) ** 2, axis=1))
        pos, dist = matching._nearest(d, k, ties, caliper)
        out.append((cand[pos], dist))
    return out


@pytest.mark.parametrize("ties", ["first", "all"])
@pytest.mark.parametrize("neighbors", [1, 3])
@pytest.mark.parametrize("caliper", [None, 0.01])
@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_sorted_one_coordinate_search_equals_the_full_search(
    monkeypatch, ties, neighbors, caliper, estimand
):
    # Scores on a coarse grid (many exact ties and ties within 1e-12 after the logit),
    # exact cells and survey weights: the sorted search must give the same pairs, order,
    # distances and weights (to 1e-12) as comparing every candidate.
    rng = np.random.default_rng(7)
    n = 400
    data = pd.DataFrame(
        {
            "t": rng.integers(0, 2, n),
            "e": np.round(rng.uniform(0.05, 0.95, n), 2),
            "cell": rng.integers(0, 3, n),
            "s": rng.uniform(0.5, 2.0, n),
        },
        index=[f"u{i:03d}" for i in range(n)],
    )
    data.loc["u000", "cell"] = 9  # a cell with focal units and no candidate
    args = {
        "neighbors": neighbors,
        "caliper": caliper,
        "estimand": estimand,
        "ties": ties,
        "weights": "s",
    }
    outs = []
    for distance in ("propensity", "logit"):
        fast = match_units(data, "t", "e", distance=distance, exact="cell", **args)
        with monkeypatch.context() as patched:  # focal units ranked in blocks of few pairs
            patched.setattr(matching, "_PAIRS", 7)
            blocks = match_units(data, "t", "e", distance=distance, exact="cell", **args)
        pd.testing.assert_frame_equal(fast.pairs, blocks.pairs, check_exact=True)
        with monkeypatch.context() as patched:
            patched.setattr(matching, "_match_1d", _general_path)
            slow = match_units(data, "t", "e", distance=distance, exact="cell", **args)
        pd.testing.assert_frame_equal(fast.pairs, slow.pairs, check_exact=False, rtol=1e-12)
        assert fast.pairs[["focal", "match", "k"]].equals(slow.pairs[["focal", "match", "k"]])
        pd.testing.assert_series_equal(fast.weights, slow.weights, rtol=1e-12, atol=0)
        assert fast.unmatched.equals(slow.unmatched)
        outs.append(len(fast.pairs))
    assert min(outs) > 0
