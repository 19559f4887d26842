"""Qualification, field and skills mismatch on hand-built rows."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from evaluation.indicators import (
    ConfigError,
    field_mismatch,
    normative_mapping,
    qualification_mismatch,
    skills_mismatch,
    statistical_thresholds,
)
from tests.unit.indicators.conftest import NA, clean_rows

# ISCO-08 Vol. 1 (ILO 2012) Table 1 with Table 2's skill level -> ISCED, translated to
# ISCED-2011 as in DOMAIN.md section 2.2, typed in here independently of the package's table:
# MG1 managers, skill levels 3+4 -> ISCED 5-8; MG2 professionals, level 4 -> 6-8; MG3
# technicians, level 3 -> 5; MG4-8, level 2 -> 2-4; MG9 elementary, level 1 -> 0-1 (project rule:
# primary, with "below primary" included); MG0 armed forces excluded.
ILO_TABLE = {
    1: (5, 8),
    2: (6, 8),
    3: (5, 5),
    4: (2, 4),
    5: (2, 4),
    6: (2, 4),
    7: (2, 4),
    8: (2, 4),
    9: (0, 1),
}


def _label(v):
    return None if pd.isna(v) else v


def test_normative_every_major_group_by_isced_level():
    pairs = list(itertools.product(range(10), range(9)))
    groups = pd.Series([g for g, _ in pairs], dtype="Int64")
    levels = pd.Series([lv for _, lv in pairs], dtype="Int64")
    got = qualification_mismatch(groups, levels, "normative")
    for (g, lv), cat in zip(pairs, got, strict=True):
        if g == 0:
            expected = None
        else:
            low, high = ILO_TABLE[g]
            expected = "over" if lv > high else "under" if lv < low else "matched"
        assert _label(cat) == expected, (g, lv)


def test_normative_text_codes_missing_and_override():
    isco = pd.Series(["7223", "9621", "0110", NA, "2512", "9621"], dtype="string")
    isced = pd.Series([3, 2, 5, 3, NA, 2], dtype="Int64")
    got = qualification_mismatch(isco, isced)
    assert [_label(v) for v in got] == ["matched", "over", None, None, None, "over"]
    sens = qualification_mismatch(isco, isced, mapping=normative_mapping({9: (0, 2)}))
    assert [_label(v) for v in sens][1] == "matched"
    assert list(got.cat.categories) == ["over", "matched", "under"]
    with pytest.raises(ConfigError, match="major group"):
        normative_mapping({12: (0, 1)})
    with pytest.raises(ConfigError, match="min <= max"):
        normative_mapping({9: (3, 1)})


def test_statistical_mode_with_fallback_and_external():
    # group 72: ISCED 3, 3, 3, 4, 2 (n=5, mode 3); "7223" alone has 2 workers
    isco = pd.Series(["7223", "7223", "7212", "7212", "7231", "5120", "5120"], dtype="string")
    isced = pd.Series([3, 4, 3, 2, 3, 3, 5], dtype="Int64")
    got = qualification_mismatch(isco, isced, "statistical", digits=4, min_cell=5)
    # 4-digit cells are too small; 3-digit "722"/"721"/"723" too; 2-digit "72" has 5 -> mode 3
    assert [_label(v) for v in got[:5]] == ["matched", "over", "matched", "under", "matched"]
    # "51" has 2 workers < 5 and major group 5 also 2: missing without external
    assert got[5:].isna().all()
    thresholds = statistical_thresholds(isco, isced, digits=4, min_cell=5)
    assert thresholds["group"].tolist()[:5] == ["72"] * 5
    assert thresholds["n"].tolist()[:5] == [5] * 5
    external = pd.DataFrame({"isco": ["512", "512"], "level": [3, 4], "weight": [10, 30]})
    got = qualification_mismatch(
        isco, isced, "statistical", digits=4, min_cell=5, external=external
    )
    assert [_label(v) for v in got[5:]] == ["under", "over"]
    # no fallback: every 4-digit cell is too small
    none = qualification_mismatch(isco, isced, "statistical", digits=4, min_cell=5, fallback="none")
    assert none.isna().all()


def test_statistical_ties_and_mean_sd():
    isco = pd.Series(["72"] * 4, dtype="string")
    isced = pd.Series([2, 2, 4, 4], dtype="Int64")
    got = qualification_mismatch(isco, isced, "statistical", min_cell=4)
    assert [_label(v) for v in got] == ["matched"] * 4  # modes 2 and 4: band [2, 4]
    years = pd.Series([9.0, 12.0, 12.0, 15.0, 19.0])
    codes = pd.Series(["83"] * 5, dtype="string")
    # mean 13.4; sd = sqrt((4.4^2 + 2 * 1.4^2 + 1.6^2 + 5.6^2) / 4) = sqrt(57.2 / 4) = 3.78,
    # so the matched band is [9.62, 17.18]
    got = qualification_mismatch(codes, years, "statistical", rule="mean_sd", min_cell=5)
    assert [_label(v) for v in got] == ["under", "matched", "matched", "matched", "over"]


def test_subjective_and_method_errors():
    got = qualification_mismatch(
        None,
        pd.Series([3, 5, 2, NA], dtype="Int64"),
        "subjective",
        required=pd.Series([3, 3, 5, 2], dtype="Int64"),
    )
    assert [_label(v) for v in got] == ["matched", "over", "under", None]
    with pytest.raises(ConfigError, match="required"):
        qualification_mismatch(None, pd.Series([1]), "subjective")
    with pytest.raises(ConfigError, match="method"):
        qualification_mismatch(pd.Series([1]), pd.Series([1]), "modal")


def test_field_mismatch_three_approaches():
    field = pd.Series([7, 7, 4, 0, 7, NA], dtype="Int64")
    related = pd.Series([1, 4, 5, 3, NA, 2], dtype="Int64")
    subj = field_mismatch(field, relatedness=related)
    assert [_label(v) for v in subj] == [0, 1, 1, 0, None, 0]
    isco = pd.Series(["7223", "7212", "7231", "7231", "4110", "7223"], dtype="string")
    # group 72 among workers with a specific field: fields 7, 7, 4 -> mode 7
    stat = field_mismatch(field, "statistical", isco=isco, min_cell=3)
    assert [_label(v) for v in stat] == [0, 0, 1, None, None, None]
    xwalk = pd.DataFrame({"isced_field": ["7", "4"], "isco": ["72", "41"], "source": ["t", "t"]})
    cross = field_mismatch(field, "crosswalk", isco=isco, crosswalk=xwalk)
    # field 7 in 72 matched; field 4 in 7231 not; generic field 0 undefined; 7 in 4110 mismatched
    assert [_label(v) for v in cross] == [0, 0, 1, None, 1, None]


def test_skills_mismatch_items():
    data = clean_rows(
        [
            {"mm_overskilled": 4, "mm_underskilled": 1, "mm_gap_digital": 1},
            {"mm_overskilled": 2, "mm_underskilled": 3, "mm_gap_digital": 3},
            {"mm_overskilled": NA, "mm_underskilled": 4, "mm_gap_digital": 5},
        ],
        reasons={(2, "mm_overskilled"): "dont_know"},
    )
    out = skills_mismatch(data)
    assert [_label(v) for v in out["overskilled"]] == [1, 0, None]
    assert [_label(v) for v in out["underskilled"]] == [0, 1, 1]
    assert [_label(v) for v in out["underskilled_digital"]] == [1, 0, 0]
    assert [_label(v) for v in out["overskilled_digital"]] == [0, 0, 1]
    assert np.isnan(out["overskilled"].astype(float)[2])
