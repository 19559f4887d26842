"""De-identification, identifiers in odd places, SPSS/Stata inputs (DATA.md #3, #6, #12, #26).

Planted identifiers (conftest: names, phones, the GB 11643 example ID number) must never reach
the clean data, the log, the problems, the exclusions or any message; they must be in the
private records.
"""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from evaluation.cleaning import TypingError, clean_round
from evaluation.loaders import Source, read_round
from tests.unit.cleaning.conftest import (
    NAME,
    NAME_2,
    PHONE,
    PHONE_2,
    RESIDENT_ID,
    assert_no_identifiers,
    decisions_from,
    person,
)


def _public_text(result):
    parts = [
        result.data.to_csv(),
        result.log.to_csv(),
        result.problems.to_csv(),
        result.exclusions.to_csv(),
    ]
    parts += [table.to_csv() for table in result.repeats.values()]
    return "\n".join(parts)


def test_direct_identifiers_move_to_the_private_records(export, baseline):
    rows = [
        person("TJ001001", id_phone="+86 138-1234-5678"),
        person("TJ001002", id_name=NAME_2, id_phone="１３９８７６５４３２１"),
        person("TJ001003", id_name="王五", id_phone="12345"),
        person("TJ001004", id_name="赵六", id_phone="-98"),
    ]
    result = clean_round(export(baseline, rows), baseline)
    assert_no_identifiers(_public_text(result), repr(result), repr(result.private))
    private = result.private.identifiers.set_index("resp_id")
    assert private.loc["TJ001001", "id_name"] == NAME
    assert private.loc["TJ001001", "id_phone__normalised"] == PHONE
    assert private.loc["TJ001002", "id_phone__normalised"] == PHONE_2
    assert private["id_phone__valid"].tolist() == [True, True, False, pd.NA]
    invalid = result.problems[result.problems["kind"] == "invalid_phone"]
    assert invalid["key"].tolist() == ["TJ001003"]
    assert_no_identifiers(invalid["message"].iloc[0])


def test_identifiers_in_free_text_and_numbers_are_redacted(export, baseline):
    rows = [
        person("TJ001001", job_title_text=f"焊工，电话{PHONE_2}"),
        person("TJ001002", id_name=NAME_2, id_phone=PHONE_2, job_title_text=f"{NAME}的徒弟"),
        person(
            "TJ001003",
            id_name="王五",
            id_phone="13700000000",
            job_title_text=f"身份证{RESIDENT_ID}",
        ),
        person("TJ001004", id_name="赵六", id_phone="13600000000", job_wage="13812345678"),
    ]
    result = clean_round(export(baseline, rows), baseline)
    assert_no_identifiers(_public_text(result))
    data = result.data.set_index("resp_id")
    assert data.loc["TJ001001", "job_title_text"] == "焊工,电话[phone]"
    assert data.loc["TJ001002", "job_title_text"] == "[name]的徒弟"
    assert data.loc["TJ001003", "job_title_text"] == "身份证[id_number]"
    assert pd.isna(data.loc["TJ001004", "job_wage"])
    found = result.problems[result.problems["kind"].isin(["pii_in_text", "pii_in_number"])]
    assert sorted(found[["key", "kind"]].values.tolist()) == [
        ["TJ001001", "pii_in_text"],
        ["TJ001002", "pii_in_text"],
        ["TJ001003", "pii_in_text"],
        ["TJ001004", "pii_in_number"],
    ]
    originals = result.private.redactions.set_index("resp_id")["original"]
    assert originals["TJ001001"] == f"焊工，电话{PHONE_2}"
    assert originals["TJ001003"] == f"身份证{RESIDENT_ID}"
    redacted = result.log[result.log["rule"] == "pii_redacted"]
    assert sorted(redacted["key"]) == ["TJ001001", "TJ001002", "TJ001003", "TJ001004"]


def test_one_person_under_two_ids_is_flagged_by_key_only(export, baseline):
    rows = [
        person("TJ001001"),
        person("TJ002005", job_wage="3000"),  # same phone and name + birth year: one person?
        person("TJ001002", id_name=NAME_2, id_phone=PHONE_2),
    ]
    result = clean_round(export(baseline, rows), baseline)
    flags = result.problems[result.problems["kind"] == "possible_same_person"]
    assert sorted(set(flags["key"])) == ["TJ001001", "TJ002005"]
    assert {"phone", "name and dem_birth_year"} <= {
        m.split("share the same ")[1].split(":")[0] for m in flags["message"]
    }
    assert_no_identifiers(*flags["message"])


def _sav_source(tmp_path, frame, name="partner.sav", **write):
    path = tmp_path / name
    pyreadstat.write_sav(frame, str(path), **write)
    return Source(
        name=name,
        path=path,
        instrument="survey",
        round="baseline",
        format="spss",
        metadata=(("instance_id", "qid"),),
        root=tmp_path,
    )


def _partner_frame(**columns):
    frame = pd.DataFrame(
        {
            "qid": ["q1", "q2", "q3"],
            "meta_enum_id": ["E001", "E001", "E002"],
            "meta_city": ["TJ", "TJ", "TJ"],
            "meta_round": ["baseline"] * 3,
            "resp_id": ["TJ001001", "TJ001002", "TJ001003"],
            "meta_consent": [1.0, 1.0, 1.0],
            "id_name": [NAME, NAME_2, "王五"],
            "id_phone": [PHONE, PHONE_2, "13700000000"],
            "dem_sex": [1.0, 2.0, 1.0],
            "dem_birth_year": [1998.0, -99.0, 2000.0],
            "job_work": [1.0, 1.0, 0.0],
            "job_wage": [4500.0, -98.0, float("nan")],
            "job_wage_bracket": [float("nan"), 2.0, float("nan")],
            "job_si": ["1 2", "-99", ""],
            "job_title_text": ["焊工", "电工", ""],
            "trn_n": [0.0, 0.0, 0.0],
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_spss_user_missing_codes_become_reasons(tmp_path, baseline):
    frame = _partner_frame()
    source = _sav_source(
        tmp_path, frame, missing_ranges={"dem_birth_year": [-99, -98], "job_wage": [-99, -98]}
    )
    result = clean_round(read_round(source, baseline), baseline)
    data = result.data.set_index("resp_id")
    assert data.loc["TJ001002", "dem_birth_year__reason"] == "dont_know"
    assert data.loc["TJ001002", "job_wage__reason"] == "refused"
    assert data.loc["TJ001002", "job_wage_bracket"] == 2
    assert data.loc["TJ001001", "job_wage"] == 4500
    assert data.loc["TJ001003", "job_wage__reason"] == "skipped"
    assert data.loc["TJ001002", "job_si__dont_know"] == 1
    assert_no_identifiers(_public_text(result))


def test_spss_user_missing_codes_not_in_the_instrument_must_be_mapped(tmp_path, baseline):
    frame = _partner_frame(dem_birth_year=[1998.0, -999.0, 2000.0])
    source = _sav_source(tmp_path, frame, missing_ranges={"dem_birth_year": [-999]})
    with pytest.raises(
        TypingError,
        match=r"partner\.sav: column 'dem_birth_year' holds -999, declared user-missing.*aliases",
    ):
        clean_round(read_round(source, baseline), baseline)
    decided = decisions_from('[code_aliases]\n"-999" = "dont_know"\n')
    result = clean_round(read_round(source, baseline), baseline, decided)
    assert result.data.set_index("resp_id").loc["TJ001002", "dem_birth_year__reason"] == "dont_know"


def test_stata_extended_missing_values_become_reasons(tmp_path, baseline):
    frame = _partner_frame()
    wage = frame["job_wage"].astype(object)
    wage[1] = "r"
    wage[2] = "s"
    frame["job_wage"] = wage
    path = tmp_path / "partner.dta"
    pyreadstat.write_dta(frame, str(path), version=14, missing_user_values={"job_wage": ["r", "s"]})
    source = Source(
        name="partner.dta",
        path=path,
        instrument="survey",
        round="baseline",
        format="stata",
        metadata=(("instance_id", "qid"),),
        root=tmp_path,
    )
    with pytest.raises(TypingError, match=r"Stata missing value \.s"):
        clean_round(read_round(source, baseline), baseline)
    decided = decisions_from('[stata_missing]\nr = "refused"\ns = "not_applicable"\n')
    result = clean_round(read_round(source, baseline), baseline, decided)
    data = result.data.set_index("resp_id")
    assert data.loc["TJ001002", "job_wage__reason"] == "refused"
    assert data.loc["TJ001003", "job_wage__reason"] == "not_applicable"
