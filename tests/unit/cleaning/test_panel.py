"""Panel linking, attrition, form-version harmonisation and k-anonymity (DATA.md #4, #16; §9).

Expected values are worked out by hand from the rows in each test; k-anonymity is checked
against an exact enumeration of the equivalence classes with ``collections.Counter``.
"""

from __future__ import annotations

import collections
import itertools

import pandas as pd
import pytest

from evaluation.cleaning import (
    DisclosureError,
    HarmonisationError,
    LinkageError,
    build_panel,
    check_disclosure,
    clean_round,
    compare_choice_lists,
    k_anonymity,
)
from evaluation.instruments.model import Choice, ChoiceList
from evaluation.loaders import FrameSource, read_sample_frame
from tests.unit.cleaning.conftest import (
    NAME_2,
    PHONE_2,
    decisions_from,
    make_instrument,
    person,
)

FRAME = """resp_id,enterprise_id,treatment,city
TJ001001,TJ001,1,TJ
TJ001002,TJ001,1,TJ
TJ002001,TJ002,0,TJ
TJ002002,TJ002,0,TJ
"""


@pytest.fixture
def frame(tmp_path):
    path = tmp_path / "frame.csv"
    path.write_text(FRAME, encoding="utf-8")
    source = FrameSource(
        name="frame.csv",
        path=path,
        format="csv",
        encoding="utf-8",
        delimiter=",",
        key="resp_id",
        enterprise="enterprise_id",
        treatment="treatment",
        treatment_values=("0", "1"),
        strata=("city",),
    )
    return read_sample_frame(source)


def _endline(resp_id, status, **answers):
    row = {
        "meta_enum_id": "E001",
        "meta_city": "TJ",
        "meta_round": "endline",
        "resp_id": resp_id,
        "trk_status": status,
    }
    row.update(answers)
    return row


def _rounds(export, baseline, endline):
    base = clean_round(
        export(
            baseline,
            [
                person("TJ001001"),
                person("TJ001002", id_name=NAME_2, id_phone=PHONE_2),
                person("TJ002001", id_name="王五", id_phone="13700000000"),
            ],
        ),
        baseline,
    )
    end_rows = [
        {**person("TJ001001", job_wage="5000"), "meta_round": "endline", "trk_status": "1"},
        _endline("TJ001002", "3"),
    ]
    end = clean_round(export(endline, end_rows), endline)
    return base, end


def test_panel_stacks_rounds_long_with_design_variables(export, baseline, endline, frame):
    base, end = _rounds(export, baseline, endline)
    panel = build_panel([end, base], frame)
    data = panel.data
    assert data[["resp_id", "round"]].values.tolist() == [
        ["TJ001001", "baseline"],
        ["TJ001001", "endline"],
        ["TJ001002", "baseline"],
        ["TJ001002", "endline"],
        ["TJ002001", "baseline"],
    ]
    assert data["treatment"].tolist() == [1, 1, 1, 1, 0]
    assert str(data["treatment"].dtype) == "Int64"
    assert data["stratum"].tolist() == ["TJ"] * 5
    assert data["enterprise_id"].tolist() == ["TJ001"] * 4 + ["TJ002"]
    assert data["job_wage"].tolist() == [4500, 5000, 4500, pd.NA, 4500]
    assert not any(c.endswith(("_bl", "_el")) for c in data.columns)
    assert panel.rounds == ("baseline", "endline")


def test_attrition_accounts_for_every_unit_of_the_frame(export, baseline, endline, frame):
    panel = build_panel(list(_rounds(export, baseline, endline)), frame)
    attrition = panel.attrition.set_index("resp_id")
    assert sorted(attrition.index) == ["TJ001001", "TJ001002", "TJ002001", "TJ002002"]
    assert attrition["has_baseline"].tolist() == [1, 1, 1, 0]
    assert attrition["interviewed_endline"].tolist() == [1, 0, 0, 0]
    # interviewed at baseline and not at endline: refused (trk_status 3) and no record
    assert attrition["attrited"].tolist() == [0, 1, 1, pd.NA]
    assert attrition["attrition_reason"].tolist() == [
        pd.NA,
        "not_interviewed: Refused",
        "no_record",
        pd.NA,
    ]
    assert panel.data.set_index(["resp_id", "round"]).loc[("TJ001002", "endline"), "attrited"] == 1


def test_an_endline_id_not_in_the_frame_is_an_error(export, baseline, endline, frame):
    base, _ = _rounds(export, baseline, endline)
    stray = clean_round(
        export(endline, [_endline("TJ001001", "3"), _endline("TJ009999", "4")], name="stray.csv"),
        endline,
    )
    with pytest.raises(LinkageError) as caught:
        build_panel([base, stray], frame)
    message = str(caught.value)
    assert "endline: ['TJ009999']" in message
    assert "frame.csv" in message
    assert "TJ001001" not in message.split("(")[1]


def test_design_mismatch_is_flagged(export, baseline, frame):
    base = clean_round(export(baseline, [person("TJ001001", meta_city="BJ")]), baseline)
    panel = build_panel([base], frame)
    flags = panel.problems[panel.problems["kind"] == "design_mismatch"]
    assert flags[["key", "variable"]].values.tolist() == [["TJ001001", "meta_city"]]
    assert panel.data.loc[0, "meta_city"] == "TJ"


def test_enterprise_panel_takes_one_design_row_per_enterprise(frame):
    from evaluation.cleaning.panel import design_frame

    design = design_frame(frame, "enterprise_id")
    assert design[["enterprise_id", "treatment"]].values.tolist() == [["TJ001", 1], ["TJ002", 0]]


def test_form_version_drift_is_harmonised(export, baseline):
    # an old form version named the wage "wage" and coded sex 1 female / 2 male
    rows = [
        {**person("TJ001001"), "formdef_version": "2025120101"},
        {**person("TJ001002", id_name=NAME_2, id_phone=PHONE_2), "formdef_version": "2025120101"},
        {
            **person("TJ001003", id_name="王五", id_phone="13700000000"),
            "formdef_version": "2026010101",
        },
    ]
    for row in rows[:2]:
        row["wage"] = row.pop("job_wage")
        row["job_wage"] = ""
    rows[0]["dem_sex"] = "2"  # male in the old coding
    rows[1]["dem_sex"] = "1"  # female in the old coding
    raw = export(baseline, rows)
    with pytest.raises(HarmonisationError) as caught:
        clean_round(raw, baseline)
    assert "['wage']" in str(caught.value)
    assert "harmonise.csv" in str(caught.value)
    table = [
        {
            "instrument": "survey",
            "round": "baseline",
            "form_version": "2025120101",
            "column": "wage",
            "name": "job_wage",
        },
        {
            "instrument": "survey",
            "round": "baseline",
            "form_version": "2025120101",
            "column": "dem_sex",
            "name": "dem_sex",
            "recode": "1=2; 2=1",
        },
    ]
    result = clean_round(raw, baseline, decisions_from(harmonise=table))
    data = result.data.set_index("resp_id")
    assert data["job_wage"].tolist() == [4500, 4500, 4500]
    assert data["dem_sex"].tolist() == [1, 2, 1]
    recoded = result.log[result.log["rule"] == "harmonise"]
    assert recoded[["key", "old", "new"]].values.tolist() == [
        ["TJ001001", "2", "1"],
        ["TJ001002", "1", "2"],
    ]


def test_a_column_can_be_dropped_on_purpose(export, baseline):
    rows = [{**person("TJ001001"), "interviewer_note": "ok"}]
    table = [
        {"instrument": "survey", "round": "baseline", "column": "interviewer_note", "name": ""}
    ]
    result = clean_round(export(baseline, rows), baseline, decisions_from(harmonise=table))
    assert "interviewer_note" not in result.data.columns
    dropped = result.problems[result.problems["kind"] == "column_dropped"]
    assert dropped["variable"].tolist() == ["interviewer_note"]


def test_choice_lists_are_compared_across_rounds():
    first = make_instrument("baseline")
    second = make_instrument("endline")
    lists = list(second.choice_lists)
    lists[1] = ChoiceList(
        "sex",
        (
            Choice("1", lists[1].choices[1].label),
            Choice("2", lists[1].choices[0].label),
            Choice("3", lists[1].choices[0].label),
        ),
    )
    changed = second.replace(choice_lists=tuple(lists))
    drift = compare_choice_lists([first, changed])
    kinds = drift[["variable", "kind"]].values.tolist()
    assert ["dem_sex", "choice_codes_differ"] in kinds
    assert ["dem_sex", "choice_label_differs"] in kinds
    assert compare_choice_lists([first, second]).empty


def test_rounds_with_conflicting_codes_are_not_stacked(export, baseline, endline):
    lists = list(endline.choice_lists)
    lists[1] = ChoiceList(
        "sex", (Choice("1", lists[1].choices[1].label), Choice("2", lists[1].choices[0].label))
    )
    changed = endline.replace(choice_lists=tuple(lists))
    base = clean_round(export(baseline, [person("TJ001001")]), baseline)
    end = clean_round(
        export(changed, [{**person("TJ001001"), "meta_round": "endline", "trk_status": "1"}]),
        changed,
    )
    with pytest.raises(
        HarmonisationError, match="dem_sex: code 1 is 'Male' in baseline but 'Female' in endline"
    ):
        build_panel([base, end])


def test_k_anonymity_against_exact_enumeration():
    rows = list(itertools.product(["TJ", "BJ"], [1, 2], [1990, 1991, 1992]))
    rows = rows * 2 + [("TJ", 1, 1990), ("BJ", 2, None)]
    data = pd.DataFrame(rows, columns=["city", "sex", "birth"]).astype({"birth": "Int64"})
    counts = collections.Counter(tuple("NA" if pd.isna(v) else v for v in r) for r in rows)
    report = k_anonymity(data, ["city", "sex", "birth"], required=3)
    assert report.k == min(counts.values()) == 1
    assert report.classes == len(counts) == 13
    assert report.records_below == sum(n for n in counts.values() if n < 3) == 2 * 11 + 1
    assert report.class_sizes.set_index("size")["classes"].to_dict() == dict(
        collections.Counter(counts.values())
    )
    with pytest.raises(DisclosureError, match=r"1-anonymous on \['city', 'sex', 'birth'\].*k >= 3"):
        check_disclosure(data, ["city", "sex", "birth"], 3)
    assert not check_disclosure(data, ["city", "sex", "birth"], 3, override=True).passes
    assert check_disclosure(data, ["city"], 3).k == 13  # 12 + 1 per city


def _enterprise_form(round_name):
    """The test form with the enterprise ID asked at the top (the enterprise panel's key)."""
    import dataclasses

    from evaluation.instruments.model import Question

    form = make_instrument(round_name)
    asked = Question("enterprise_id", "text", required="yes")
    return dataclasses.replace(form, questions=(asked, *form.questions))


def test_enterprise_panel_links_to_the_frame_by_enterprise(export, frame):
    # Keyed by enterprise_id, which is also one of the design columns of the frame: the panel
    # must hold it once (it was selected twice and attrition failed on a two-column "key").
    decided = decisions_from('[keys]\nsurvey = "enterprise_id"\n')
    base_form, end_form = _enterprise_form("baseline"), _enterprise_form("endline")
    base = clean_round(
        export(base_form, [person("TJ001001", enterprise_id="TJ001")]), base_form, decided
    )
    end_rows = [
        {**person("TJ001001", enterprise_id="TJ001"), "meta_round": "endline", "trk_status": "1"},
        {**person("TJ002001", enterprise_id="TJ002"), "meta_round": "endline", "trk_status": "1"},
    ]
    end = clean_round(export(end_form, end_rows, name="endline.csv"), end_form, decided)
    panel = build_panel([base, end], frame)
    assert list(panel.data.columns).count("enterprise_id") == 1
    assert panel.data[["enterprise_id", "round", "treatment"]].values.tolist() == [
        ["TJ001", "baseline", 1],
        ["TJ001", "endline", 1],
        ["TJ002", "endline", 0],
    ]
    attrition = panel.attrition.set_index("enterprise_id")
    # the frame has two enterprises; TJ002 was not interviewed at baseline (no attrition)
    assert attrition["has_baseline"].tolist() == [1, 0]
    assert attrition["attrited"].tolist() == [0, pd.NA]


def test_without_a_frame_later_ids_missing_at_first_are_flagged(export, baseline, endline):
    # TJ001002 was typed TJ001012 at endline: TJ001012 has no baseline record, and TJ001002
    # (baseline, no endline record) is one character apart. TJ002001 has no endline record but
    # is two characters apart from TJ001012: not flagged.
    base = clean_round(
        export(baseline, [person("TJ001001"), person("TJ001002"), person("TJ002001")]), baseline
    )
    end_rows = [
        {**person(resp_id), "meta_round": "endline", "trk_status": "1"}
        for resp_id in ("TJ001001", "TJ001012")
    ]
    end = clean_round(export(endline, end_rows, name="endline.csv"), endline)
    panel = build_panel([base, end])
    flags = panel.problems[
        panel.problems["kind"].isin(["not_in_first_round", "possible_mistyped_id"])
    ]
    assert flags[["key", "kind"]].values.tolist() == [
        ["TJ001012", "not_in_first_round"],
        ["TJ001002", "possible_mistyped_id"],
    ]
    assert "TJ001002" in flags["message"].iloc[0]
    assert sorted(panel.attrition["resp_id"]) == ["TJ001001", "TJ001002", "TJ001012", "TJ002001"]


def test_without_a_frame_a_changed_list_answer_is_flagged(export, baseline, endline):
    # meta_city is chosen from the attached cities.csv in both rounds: TJ001002's endline says
    # another city (an ID typed for another person); TJ001001's stays.
    base = clean_round(export(baseline, [person("TJ001001"), person("TJ001002")]), baseline)
    end_rows = [
        {**person("TJ001001"), "meta_round": "endline", "trk_status": "1"},
        {**person("TJ001002", meta_city="RZ"), "meta_round": "endline", "trk_status": "1"},
    ]
    end = clean_round(export(endline, end_rows, name="endline.csv"), endline)
    flags = build_panel([base, end]).problems
    changed = flags[flags["kind"] == "changed_between_rounds"]
    assert changed["key"].tolist() == ["TJ001002"]
    assert "meta_city" in changed["message"].iloc[0]
    assert "baseline: TJ, endline: RZ" in changed["message"].iloc[0]
