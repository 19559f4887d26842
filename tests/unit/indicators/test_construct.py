"""construct_indicators on a hand-built panel of four respondents in two rounds."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.indicators import IndicatorError
from evaluation.indicators.construct import IndicatorConfig, construct_indicators
from evaluation.indicators.registry import REGISTRY
from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, Text
from tests.unit.indicators.conftest import NA, clean_rows


def _instrument() -> Instrument:
    edu = ChoiceList(
        "edu_level",
        tuple(
            Choice(str(code), Text.of({"en": str(code)}), extra=(("isced", str(isced)),))
            for code, isced in [(3, 2), (5, 3), (9, 5), (10, 6)]
        ),
    )
    required = ChoiceList(
        "edu_required",
        (
            Choice("0", Text.of({"en": "none"})),
            *tuple(
                Choice(str(code), Text.of({"en": str(code)}), extra=(("isced", str(isced)),))
                for code, isced in [(3, 2), (5, 3), (9, 5), (10, 6)]
            ),
        ),
    )
    quiz = (
        Question("grn_quiz_1", "select_one", list_name="quiz", answer_key="2"),
        Question("grn_quiz_2", "select_one", list_name="quiz", answer_key="1"),
    )
    module = Question("green", "group", children=quiz)
    return Instrument(
        form_id="t",
        title="t",
        version="1",
        languages=("English (en)",),
        default_language=None,
        questions=(module,),
        choice_lists=(edu, required, ChoiceList("quiz", (Choice("1"), Choice("2")))),
        instrument="apprentice",
        round="baseline",
    )


def _panel() -> pd.DataFrame:
    rows = []
    for rnd in ("baseline", "endline"):
        for i, (treat, title, edu, req, sat) in enumerate(
            [
                (1, "车工", 5, 5, 4),
                (1, "焊工", 9, 5, 3),
                (0, "车工", 3, 3, 5),
                (0, "会计", 10, 10, 2),
            ]
        ):
            rows.append(
                {
                    "resp_id": f"TJ00100{i}",
                    "round": rnd,
                    "enterprise_id": "TJ001",
                    "meta_city": "TJ",
                    "treatment": treat,
                    "today": "2026-01-15" if rnd == "baseline" else "2027-06-10",
                    "dem_sex": 1 + i % 2,
                    "act_work_pay": 1,
                    "act_temp_absent": NA,
                    "act_absent_reason": NA,
                    "act_absent_return3m": NA,
                    "act_search_4wk": NA,
                    "act_available_2wk": NA,
                    "act_study_4wk": 0,
                    "edu_level": edu,
                    "job_title_text": title,
                    "job_status": 2,
                    "job_contract_type": 2,
                    "job_wage": 4000 + 1000 * i + (500 if rnd == "endline" else 0),
                    "job_hours_usual": 40,
                    "job_sat_overall": sat,
                    "mm_req_edu_do": req,
                    "grn_quiz_1": 2 if i % 2 == 0 else 1,
                    "grn_quiz_2": 1,
                    "cs_se_a": 1 + i,
                    "cs_se_b": 2 + (i % 2),
                    "edu_cert_any": 1 if i < 2 else 0,
                    "edu_cert_level": (2 + (rnd == "endline")) if i < 2 else NA,
                }
            )
    return clean_rows(rows)


def test_construct_indicators_by_hand():
    cpi = pd.DataFrame({"year": ["2025"], "cpi": ["100"], "source": ["SYNTHETIC demo CPI"]})
    result = construct_indicators(_panel(), [_instrument()], IndicatorConfig(cpi=cpi))
    out = result.respondents
    assert len(out) == 8
    assert out[["resp_id", "round"]].duplicated().sum() == 0
    base = out[out["round"].eq("baseline")].set_index("resp_id")
    # normative: 车工 7223 (MG7, ISCED 2-4) with ISCED 3 matched; 焊工 7212 with ISCED 5 over;
    # ISCED 2 in MG7 matched; 会计 2411 (MG2, ISCED 6-8) with ISCED 6 matched
    assert base["qual_mismatch_norm"].astype(object).tolist() == [
        "matched",
        "over",
        "matched",
        "matched",
    ]
    assert base["overqual_norm"].tolist() == [0, 1, 0, 0]
    # subjective: required ISCED 3, 3, 2, 6 vs attained 3, 5, 2, 6
    assert base["qual_mismatch_subj"].astype(object).tolist() == [
        "matched",
        "over",
        "matched",
        "matched",
    ]
    # green quiz keys 2 and 1: respondents 0 and 2 answer 2, 1 (100%); 1 and 3 answer 1, 1 (50%)
    assert base["green_knowledge_score"].tolist() == [100, 50, 100, 50]
    # wage 2026-01-15 refers to December 2025: CPI 2025 = 100; endline 2027 has no CPI
    assert base["wage_month_real"].tolist() == [4000, 5000, 6000, 7000]
    end = out[out["round"].eq("endline")].set_index("resp_id")
    assert end["wage_month_real"].isna().all()
    assert any("year=2027" in m for m in result.missing)
    assert any("SYNTHETIC" in m for m in result.missing)
    assert any("minimum-wage" in m for m in result.missing)
    # skill level 2 -> 3 for the first two; none (0) for the others
    assert end["cert_upgrade"].tolist() == [1, 1, 0, 0]
    assert base["cert_upgrade"].isna().all()
    assert base["skill_cert_level"].tolist() == [2, 2, 0, 0]
    # core skills standardised on the baseline comparison group (rows 2 and 3: social 3.5, 5)
    ref = out["round"].eq("baseline") & out["treatment"].eq(0)
    assert out.loc[ref, "core_skills_social"].mean() == pytest.approx(0)
    assert out.loc[ref, "core_skills_social"].std() == pytest.approx(1)
    assert base["transition_stage"].astype(object).tolist() == ["transited"] * 4
    # every indicator column is registered
    keys = {"resp_id", "round", "enterprise_id", "meta_city", "treatment", "stratum"}
    unregistered = sorted(set(out.columns) - keys - set(REGISTRY) - {"age_lt25"})
    assert unregistered == [
        c for c in unregistered if c.startswith(("core_skills_", "under", "over", "isco"))
    ]
    assert set(result.registry) <= set(out.columns)
    assert result.coding["isco08"].tolist()[:4] == ["7223", "7212", "7223", "2411"]
    assert not result.reliability.empty


def test_construct_refuses_duplicated_keys():
    panel = _panel()
    with pytest.raises(IndicatorError, match="duplicated"):
        construct_indicators(pd.concat([panel, panel.iloc[[0]]]), [_instrument()])
