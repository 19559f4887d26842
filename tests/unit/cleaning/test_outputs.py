"""The file edge: private store (permissions, encryption), partner files read back, accounting.

``.sav`` and ``.dta`` files are read back with pyreadstat and with pandas (``read_spss``,
``read_stata``), two readers independent of the writer's label logic; values, variable labels,
value labels and missing codes are compared with the clean data row by row.
"""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from cryptography.fernet import Fernet

from evaluation.cleaning import DisclosureError, PrivacyError, clean_round
from evaluation.cleaning.outputs import (
    check_paths,
    fernet_from_env,
    identifier_values,
    read_decisions,
    read_private,
    scan_outputs,
    write_clean,
    write_partner,
    write_private,
)
from tests.unit.cleaning.conftest import (
    NAME,
    NAME_2,
    PHONE,
    PHONE_2,
    PLANTED,
    person,
)


@pytest.fixture
def cleaned(export, baseline):
    rows = [
        person("TJ001001", job_wage="4500"),
        person(
            "TJ001002",
            id_name=NAME_2,
            id_phone=PHONE_2,
            dem_sex="2",
            job_wage="-98",
            job_wage_bracket="2",
        ),
        person(
            "TJ001003",
            id_name="王五",
            id_phone="13700000000",
            job_work="0",
            job_wage="",
            job_si="",
            job_title_text="",
            job_start="",
        ),
    ]
    return clean_round(export(baseline, rows), baseline)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_store_is_owner_only_and_encrypted(cleaned, tmp_path):
    key = Fernet.generate_key()
    cipher = Fernet(key)
    written = write_private([cleaned], tmp_path / "private", cipher=cipher)
    assert sorted(p.name for p in written) == [
        "identifiers.parquet.fernet",
        "redactions.parquet.fernet",
    ]
    for path in written:
        assert _mode(path) == 0o600
        content = path.read_bytes()
        for planted in (NAME, PHONE):
            assert planted.encode("utf-8") not in content
    for folder in (tmp_path / "private", tmp_path / "private" / "survey", written[0].parent):
        assert _mode(folder) == 0o700
    table = read_private(written[0], cipher=cipher)
    assert table.set_index("resp_id").loc["TJ001001", "id_name"] == NAME
    with pytest.raises(PrivacyError, match="encrypted"):
        read_private(written[0])
    with pytest.raises(PrivacyError, match="does not decrypt"):
        read_private(written[0], cipher=Fernet(Fernet.generate_key()))


def test_private_store_without_a_key_is_still_owner_only(cleaned, tmp_path):
    old = os.umask(0o022)
    try:
        written = write_private([cleaned], tmp_path / "private")
    finally:
        os.umask(old)
    assert all(_mode(p) == 0o600 for p in written)
    assert _mode(tmp_path / "private") == 0o700


def test_keys_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("TEST_PRIVATE_KEY", raising=False)
    assert fernet_from_env("TEST_PRIVATE_KEY") is None
    with pytest.raises(PrivacyError, match="holds no key"):
        fernet_from_env("TEST_PRIVATE_KEY", required=True)
    monkeypatch.setenv("TEST_PRIVATE_KEY", "not a key")
    with pytest.raises(PrivacyError) as caught:
        fernet_from_env("TEST_PRIVATE_KEY")
    assert "not a key" not in str(caught.value)
    monkeypatch.setenv("TEST_PRIVATE_KEY", Fernet.generate_key().decode())
    assert fernet_from_env("TEST_PRIVATE_KEY") is not None


def test_private_folder_never_inside_out(tmp_path):
    with pytest.raises(PrivacyError, match="inside --out"):
        check_paths(tmp_path / "out", tmp_path / "out" / "private")
    with pytest.raises(PrivacyError, match="inside --out"):
        check_paths(tmp_path / "out", tmp_path / "out")
    with pytest.raises(PrivacyError, match="inside --private"):
        check_paths(tmp_path / "private" / "out", tmp_path / "private")
    with pytest.raises(PrivacyError, match="raw data are read-only"):
        check_paths(tmp_path / "raw" / "out", tmp_path / "private", tmp_path / "raw")
    check_paths(tmp_path / "out", tmp_path / "private", tmp_path / "raw")


def test_clean_files_and_summary(cleaned, tmp_path):
    written = write_clean([cleaned], {}, tmp_path / "out")
    names = sorted(str(p.relative_to(tmp_path / "out")) for p in written)
    assert names == [
        "cleaning_log.csv",
        "exclusions.csv",
        "problems.csv",
        "summary.json",
        "survey/baseline.parquet",
    ]
    back = pd.read_parquet(tmp_path / "out" / "survey" / "baseline.parquet")
    pd.testing.assert_frame_equal(back, cleaned.data)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    source = summary["sources"]["baseline.csv"]
    assert (source["rows_in"], source["rows_kept"], source["rows_excluded"]) == (3, 3, 0)
    assert source["problems"]["missing_column"] == 3
    log = pd.read_csv(tmp_path / "out" / "cleaning_log.csv")
    assert list(log.columns) == [
        "instrument",
        "round",
        "source",
        "table",
        "source_row",
        "key",
        "variable",
        "old",
        "new",
        "rule",
    ]


def test_partner_export_refused_below_k(cleaned, tmp_path):
    with pytest.raises(DisclosureError, match=r"survey_baseline: 1-anonymous.*k = 5"):
        write_partner([cleaned], tmp_path, formats=["sav"], language="en", k=5)
    report = json.loads((tmp_path / "partner" / "disclosure.json").read_text())
    assert report["survey_baseline"]["passes"] is False
    assert report["survey_baseline"]["quasi_identifiers"] == [
        "meta_city",
        "dem_sex",
        "dem_birth_year",
    ]
    assert not (tmp_path / "partner" / "survey_baseline.sav").exists()
    # a coarser set of quasi-identifiers passes: city alone (3 records share TJ)
    files = write_partner(
        [cleaned], tmp_path, formats=["sav"], language="en", k=3, quasi=["meta_city"]
    )
    assert files.reports["survey_baseline"].k == 3


def test_sav_reads_back_with_labels_and_user_missing(cleaned, tmp_path):
    write_partner([cleaned], tmp_path, formats=["sav"], language="en", k=5, override=True)
    path = tmp_path / "partner" / "survey_baseline.sav"
    data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    clean = cleaned.data
    assert data["resp_id"].tolist() == clean["resp_id"].tolist()
    # the refused wage is the instrument's code -98, declared user-missing
    assert data["job_wage"].tolist()[:2] == [4500.0, -98.0]
    assert np.isnan(data["job_wage"].iloc[2])  # skipped: system-missing
    assert {r["lo"] for r in meta.missing_ranges["job_wage"]} == {-99.0, -98.0, -97.0}
    codes = {-99.0: "Don't know", -98.0: "Refused", -97.0: "Not applicable"}
    assert meta.variable_value_labels["dem_sex"] == {1.0: "Male", 2.0: "Female", **codes}
    assert meta.variable_value_labels["job_wage"] == codes
    assert meta.column_names_to_labels["job_wage"] == "Monthly wage"
    assert data["job_si__1"].tolist()[:2] == [1.0, 1.0]  # both chose "1 2"
    assert np.isnan(data["job_si__1"].iloc[2])
    assert "job_wage__reason" not in data.columns
    assert "job_title_text" not in data.columns  # free text stays out of partner files
    assert "deviceid" not in data.columns
    plain = pd.read_spss(path, convert_categoricals=False)
    assert plain["job_wage"].tolist()[0] == 4500.0
    assert plain["job_wage"].isna().tolist() == [False, True, True]


def test_dta_reads_back_with_extended_missing_values(cleaned, tmp_path):
    write_partner([cleaned], tmp_path, formats=["dta"], language="zh", k=5, override=True)
    path = tmp_path / "partner" / "survey_baseline.dta"
    assert path.read_bytes()[:40].startswith(b"<stata_dta><header><release>118")
    data, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert data["job_wage"].tolist() == [4500.0, "r", "s"]
    assert meta.column_names_to_labels["job_wage"] == "月工资"
    assert meta.variable_value_labels["dem_sex"] == {1.0: "男", 2.0: "女"}
    # pandas cannot combine convert_missing with missing dates: dates are compared apart
    stata = pd.read_stata(
        path, convert_missing=True, convert_categoricals=False, convert_dates=False
    )
    wage = stata["job_wage"].tolist()
    assert wage[0] == 4500.0
    assert [str(v) for v in wage[1:]] == [".r", ".s"]
    assert stata["resp_id"].tolist() == cleaned.data["resp_id"].tolist()
    dates = pd.read_stata(path, convert_categoricals=False)
    assert dates["job_start"].tolist()[:2] == [pd.Timestamp("2024-03-05")] * 2


def test_scan_finds_identifiers_in_any_output_file(cleaned, tmp_path):
    out = tmp_path / "out"
    write_clean([cleaned], {}, out)
    values = identifier_values([cleaned.private])
    assert NAME in values
    assert PHONE in values
    scan_outputs(out, values)  # clean outputs pass
    (out / "notes.md").write_text(f"call {PHONE} tomorrow\n", encoding="utf-8")
    with pytest.raises(PrivacyError) as caught:
        scan_outputs(out, values)
    assert "notes.md" in str(caught.value)
    for planted in PLANTED:
        assert planted not in str(caught.value)


def test_decisions_folder_is_read_as_utf8(tmp_path):
    folder = tmp_path / "decisions"
    folder.mkdir()
    (folder / "cleaning.toml").write_text(
        '[text_codes]\ndont_know = ["说不好"]\n', encoding="utf-8"
    )
    (folder / "corrections.csv").write_bytes(
        "instrument,round,key,variable,action,old,new,initials,notes\n"
        "survey,baseline,TJ001001,job_wage,replace,4500,5400,LW,回访更正\n".encode("utf-8-sig")
    )
    decisions = read_decisions(folder)
    assert decisions.rules.text_codes == {"说不好": "dont_know"}
    assert decisions.tables["corrections"]["notes"].tolist() == ["回访更正"]
    (folder / "specify.csv").write_bytes(
        "instrument,parent\n".encode("gb18030") + "调查".encode("gb18030")
    )
    from evaluation.cleaning import DecisionsError

    with pytest.raises(DecisionsError, match=r"specify\.csv: not UTF-8"):
        read_decisions(folder)


def test_identifier_values_leave_out_what_identifies_nobody():
    from evaluation.cleaning import PrivateRecords

    identifiers = pd.DataFrame(
        {
            "id_name": [NAME, "王", None],
            "id_name__normalised": [NAME, "王", None],
            "id_phone": ["138 1234 5678", "12345", "-98"],
            "id_phone__normalised": [PHONE, "12345", None],
        }
    )
    redactions = pd.DataFrame({"original": [f"电话{PHONE_2}"]})
    values = identifier_values([PrivateRecords(identifiers, redactions)])
    assert values == sorted(
        [f"电话{PHONE_2}", "138 1234 5678", PHONE, NAME], key=lambda v: (-len(v), v)
    )
