"""The disclosure gate: primary and complementary suppression worked out by hand, derived
statistics, implied counts of binary means, microdata refusal, and that nothing bypasses it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation import estimate_effect, heterogeneity
from evaluation.reporting import render, tables
from evaluation.reporting.disclosure import (
    SUPPRESSED,
    DisclosureError,
    PublishedTable,
    gate,
    small_count_mask,
)
from evaluation.reporting.tables import Column, Quantity, Table
from tests.unit.reporting._data import framework_rows


def units(counts: dict[tuple[int, int], int]) -> pd.DataFrame:
    """Baseline units: ``counts[(arm, responded)]`` rows of each kind."""
    rows = [
        {"treatment": arm, "responded": responded}
        for (arm, responded), n in counts.items()
        for _ in range(n)
    ]
    return pd.DataFrame(rows)


def hidden_by_label(published: PublishedTable) -> set[tuple[str, str]]:
    frame = published.table.frame
    return {(str(frame.at[r, "label"]), c) for r, c in published.hidden}


def test_attrition_primary_and_complementary_by_hand():
    # Control: 40 at baseline, 37 interviewed, 3 attrited; treatment: 50, 48, 2; total 90, 85, 5.
    # Primary (threshold 5): attrited 3 and 2. Each arm row has the margin
    # baseline = interviewed + attrited with one hidden member, so the smallest remaining part
    # (interviewed: 37 and 48) is hidden too. Column margins then hold two hidden members each
    # (37 + 48 = 85; 3 + 2 = 5): nothing more. Rates derive from attrited: hidden. The total row
    # stays: 90, 85, 5, 5.6%. From what is shown, a_c + a_t = 5 and a_c = 40 - f_c with f_c
    # hidden: a_c can be anything from 0 to 5.
    data = units({(0, 1): 37, (0, 0): 3, (1, 1): 48, (1, 0): 2})
    published = gate(
        tables.attrition_table(data, treatment="treatment", response="responded", source="t"),
        threshold=5,
    )
    expected = {
        (arm, column)
        for arm in ("Control", "Treatment")
        for column in ("attrited", "followed", "rate")
    }
    assert hidden_by_label(published) == expected
    assert {published.table.frame.at[r, "label"] for r, _ in published.primary} == {
        "Control",
        "Treatment",
    }
    assert len(published.primary) == 2
    rows = render.display_rows(published)
    assert rows[2][1] == ["Total", "90", "85", "5", "5.6"]
    assert rows[0][1] == ["Control", "40", SUPPRESSED, SUPPRESSED, SUPPRESSED]
    assert any("[c] suppressed" in note for note in published.notes)
    page = published._repr_html_()  # what a notebook shows: the same suppression
    assert "<table" in page
    assert f"<td>{SUPPRESSED}</td>" in page or f">{SUPPRESSED}<" in page
    assert ">37<" not in page
    assert ">48<" not in page


def test_attrition_nothing_small_nothing_hidden():
    data = units({(0, 1): 30, (0, 0): 10, (1, 1): 40, (1, 0): 10})
    published = gate(
        tables.attrition_table(data, treatment="treatment", response="responded", source="t")
    )
    assert published.hidden == frozenset()
    assert not any("[c]" in note for note in published.notes)


def test_differential_attrition_estimate_is_suppressed_with_its_counts():
    data = units({(0, 1): 37, (0, 0): 3, (1, 1): 48, (1, 0): 2})
    data = data.assign(attrited=1.0 - data["responded"])
    differential = estimate_effect(data, "attrited", "treatment", vcov="HC1")
    # OLS on a 0/1 regressor is the difference in attrition rates: 2/50 - 3/40 = -0.035.
    assert differential.effect == pytest.approx(2 / 50 - 3 / 40)
    table = tables.attrition_table(
        data, treatment="treatment", response="responded", source="t", differential=differential
    )
    published = gate(table)
    assert ("Treatment", "diff") in hidden_by_label(published)
    shown = gate(table, threshold=2)  # counts 2 and 3 are allowed at threshold 2
    assert shown.hidden == frozenset()
    assert render.display_rows(shown)[1][1][5] == "-3.5"


def test_binary_mean_implies_counts_protected_with_the_total_column():
    # Control: 20 people, 2 women (mean 0.1); treatment: 20 people, 8 women (0.4); total 10/40.
    # The control mean reveals 2 women (< 5): hidden, with its SD (a function of the mean). The
    # total column's mean reveals 10 women = 2 + x, so the treatment mean (8 women) is hidden
    # as complement. Zeros (18, 12, 30) hide with their means. Ns (20, 20, 40) are shown.
    data = pd.DataFrame(
        {
            "treatment": [0] * 20 + [1] * 20,
            "female": [1.0] * 2 + [0.0] * 18 + [1.0] * 8 + [0.0] * 12,
            "age": np.arange(40, dtype=float),
        }
    )
    table = tables.descriptive_table(data, ["female", "age"], treatment="treatment", source="t")
    published = gate(table)
    assert hidden_by_label(published) == {
        ("female", "0|mean"),
        ("female", "0|sd"),
        ("female", "1|mean"),
        ("female", "1|sd"),
    }
    female = render.display_rows(published)[0][1]
    assert female[1:4] == [SUPPRESSED, SUPPRESSED, "20"]
    assert female[7:10] == ["0.250", "0.439", "40"]


def test_small_cell_hides_its_statistics_and_a_complement():
    # One arm has 3 observations of age at baseline: N hidden with its mean and SD; the total
    # column makes N_total = 3 + N_treated, so the treated N (and mean, SD) are hidden too.
    data = pd.DataFrame(
        {"treatment": [0] * 3 + [1] * 12, "age": np.linspace(20, 30, 15)},
    )
    published = gate(tables.descriptive_table(data, ["age"], treatment="treatment", source="t"))
    hidden = {c for _, c in published.hidden}
    assert hidden == {f"{arm}|{s}" for arm in ("0", "1") for s in ("mean", "sd", "n")}


def test_heterogeneity_small_subgroup_suppressed_with_complement():
    # Four apprentices with a disability certificate: their subgroup N (4 < 5) is hidden, with
    # their effect. The pooled N on the difference row is the sum of the subgroup Ns, so the
    # other subgroup's N is hidden as complement, and with it its statistics and the difference.
    rng = np.random.default_rng(5)
    n = 120
    firm = rng.integers(0, 12, size=n)
    data = pd.DataFrame(
        {
            "firm": firm,
            "treatment": (firm % 2).astype(float),
            "disability": np.r_[np.ones(4), np.zeros(n - 4)],
            "y": rng.normal(size=n),
        }
    )
    data.loc[[0, 1], "treatment"] = 1.0
    data.loc[[2, 3], "treatment"] = 0.0
    results = heterogeneity(data, "y", "treatment", "disability", cluster="firm", vcov="CR1")
    published = gate(tables.heterogeneity_table(results, source="t"))
    frame = published.table.frame
    rows = {frame.at[r, "subgroup"]: r for r in range(len(frame))}
    small, large = rows["disability=1.0"], rows["disability=0.0"]
    difference = rows["disability=1.0 - disability=0.0"]
    for r in (small, large):
        assert {"nobs", "effect", "std_error", "pvalue", "control_mean"} <= {
            c for rr, c in published.hidden if rr == r
        }
    assert {"effect", "std_error", "pvalue"} <= {
        c for rr, c in published.hidden if rr == difference
    }
    assert not published.is_hidden(difference, "nobs")  # the pooled N (120) stays


def test_zero_counts_kept_unless_asked():
    data = units({(0, 1): 40, (1, 1): 50})  # nobody attrited: zeros
    table = tables.attrition_table(data, treatment="treatment", response="responded", source="t")
    assert gate(table).hidden == frozenset()
    assert gate(table, suppress_zeros=True).primary  # zeros hidden on request


def test_small_count_mask():
    assert small_count_mask([0, 1, 4, 5, 12], threshold=5) == [False, True, True, False, False]


@pytest.mark.parametrize("threshold", [1, 0, 2.5, True])
def test_bad_threshold(threshold):
    data = units({(0, 1): 40, (1, 1): 50})
    table = tables.attrition_table(data, treatment="treatment", response="responded", source="t")
    with pytest.raises(ValueError, match="threshold must be an integer >= 2"):
        gate(table, threshold=threshold)


# --- microdata and bypass ------------------------------------------------------------------


def listing(frame: pd.DataFrame, counts: bool = True) -> Table:
    quantities = tuple(
        Quantity((r, "n"), int(frame.at[r, "n"]), ((r, "n"),), (r, "n")) for r in range(len(frame))
    )
    return Table(
        name="listing",
        title="A listing",
        frame=frame,
        columns=tuple(
            Column(c, c, "text" if frame[c].dtype == object else "number") for c in frame
        ),
        notes=(),
        source="t",
        quantities=quantities if counts else (),
    )


def test_refuses_identifier_column():
    frame = pd.DataFrame({"resp_id": ["a", "b"], "wage": [1.0, 2.0], "n": [10, 10]})
    with pytest.raises(DisclosureError, match=r"identifier column\(s\) \['resp_id'\]"):
        gate(listing(frame))


def test_refuses_identifier_values():
    frame = pd.DataFrame({"who": ["TJ001023", "TJ001024"], "wage": [1.0, 2.0], "n": [10, 10]})
    with pytest.raises(DisclosureError, match="form of a unit identifier"):
        gate(listing(frame))


def test_refuses_rows_of_individuals():
    frame = pd.DataFrame(
        {"who": ["first", "second", "third"], "wage": [1.0, 2.0, 3.0], "n": [1, 1, 1]}
    )
    with pytest.raises(DisclosureError, match="rows are individuals"):
        gate(listing(frame))


def test_refuses_table_without_counts():
    frame = pd.DataFrame({"who": ["x"], "wage": [1.0], "n": [10]})
    with pytest.raises(DisclosureError, match="declares no counts"):
        gate(listing(frame, counts=False))


def test_table_without_numbers_needs_no_counts():
    frame = framework_rows().iloc[[4]]  # an indicator without data: nothing but text
    published = gate(tables.results_framework_table(frame, source="s"))
    assert published.hidden == frozenset()


def test_gate_refuses_a_bare_dataframe():
    with pytest.raises(TypeError, match="takes a Table"):
        gate(pd.DataFrame({"n": [10]}))  # type: ignore[arg-type]


def test_published_table_cannot_be_made_outside_the_gate():
    data = units({(0, 1): 40, (1, 1): 50})
    table = tables.attrition_table(data, treatment="treatment", response="responded", source="t")
    with pytest.raises(DisclosureError, match="made only by"):
        PublishedTable(table=table, hidden=frozenset(), primary=frozenset(), threshold=5)


@pytest.mark.parametrize(
    "renderer",
    [render.table_csv, render.table_markdown, render.table_html, render.table_latex],
)
def test_renderers_take_only_gated_tables(renderer):
    data = units({(0, 1): 37, (0, 0): 3, (1, 1): 48, (1, 0): 2})
    table = tables.attrition_table(data, treatment="treatment", response="responded", source="t")
    for ungated in (table, table.frame):
        with pytest.raises(TypeError, match=r"only tables that passed .*gate\(\)"):
            renderer(ungated)
    assert "Total" in renderer(gate(table))


def test_csv_shows_suppression_and_raw_values():
    data = units({(0, 1): 37, (0, 0): 3, (1, 1): 48, (1, 0): 2})
    table = tables.attrition_table(data, treatment="treatment", response="responded", source="t")
    csv = render.table_csv(gate(table))
    lines = csv.splitlines()
    assert lines[0] == "label,baseline,followed,attrited,rate"
    assert lines[1] == "Control,40,[c],[c],[c]"
    assert lines[3] == "Total,90,85,5,0.05555555556"
