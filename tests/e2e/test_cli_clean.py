"""`evaluation clean` as a data manager runs it, on hand-written exports of the project's forms.

The raw folder holds a baseline and an endline export of the apprentice questionnaire (a subset
of its columns, written by hand here), the sample frame and ``sources.toml``. Names, phones and
resident ID numbers are planted in the identification items and in free text; afterwards every
file under ``--out`` is read back (parquet and SPSS/Stata with their readers, everything else as
text) and searched for them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import stat

import pandas as pd
import pyreadstat
import pytest

from evaluation.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMES = ("张三丰", "李小龙", "王大锤")
PHONES = ("13812345678", "13987654321", "13700001111")
RESIDENT_ID = "11010519491231002X"
PLANTED = (*NAMES, *PHONES, RESIDENT_ID)

SOURCES = """
[[files]]
path = "baseline.csv"
instrument = "apprentice"
round = "baseline"
format = "csv"
encoding = "utf-8"
delimiter = ","
metadata = { instance_id = "KEY" }

[[files]]
path = "endline.csv"
instrument = "apprentice"
round = "endline"
format = "csv"
encoding = "utf-8"
delimiter = ","
metadata = { instance_id = "KEY" }

[sample_frame]
path = "frame.csv"
format = "csv"
encoding = "utf-8"
delimiter = ","
key = "resp_id"
key_pattern = "^[A-Z]{2}[0-9]{6}$"
enterprise = "enterprise_id"
treatment = "treatment"
treatment_values = ["0", "1"]
strata = ["city"]
"""

FRAME = """resp_id,enterprise_id,treatment,city
TJ001001,TJ001,1,TJ
TJ001002,TJ001,1,TJ
TJ002001,TJ002,0,TJ
"""


def _csv(rows):
    columns = list(dict.fromkeys(c for row in rows for c in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def _baseline(number, resp_id, enterprise, group, **answers):
    row = {
        "KEY": f"uuid:b{number}",
        "meta_enum_id": "E001",
        "meta_city": "TJ",
        "enterprise_id": enterprise,
        "meta_sample_group": group,
        "meta_round": "baseline",
        "resp_id": resp_id,
        "resp_id_check": resp_id,
        "meta_consent": "1",
        "meta_under18": "0",
        "id_name": NAMES[number - 1],
        "id_phone": PHONES[number - 1],
        "dem_sex": "1",
        "dem_birth_year": "1998",
        "edu_level": "5",
        "job_title_text": "焊工",
        "job_wage": "4500",
    }
    row.update(answers)
    return row


def _raw(tmp_path, baseline=None, endline=None):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "sources.toml").write_text(SOURCES, encoding="utf-8")
    (raw / "frame.csv").write_text(FRAME, encoding="utf-8")
    baseline = baseline or [
        _baseline(1, "TJ001001", "TJ001", "1", job_title_text=f"焊工，手机{PHONES[1]}"),
        _baseline(
            2, "TJ001002", "TJ001", "1", job_wage="不知道", edu_major_text=f"{NAMES[0]}介绍的专业"
        ),
        _baseline(
            3,
            "TJ002001",
            "TJ002",
            "0",
            dem_sex="2",
            job_wage="５２００",
            job_tasks_text=f"证件{RESIDENT_ID}",
        ),
    ]
    endline = endline or [
        {
            "KEY": "uuid:e1",
            "meta_enum_id": "E001",
            "meta_city": "TJ",
            "enterprise_id": "TJ001",
            "meta_sample_group": "1",
            "meta_round": "endline",
            "resp_id": "TJ001001",
            "resp_id_check": "TJ001001",
            "trk_status": "1",
            "trk_attempts": "1",
            "meta_consent": "1",
            "meta_under18": "0",
            "id_name": NAMES[0],
            "id_phone": PHONES[0],
            "job_wage": "4800",
        },
        {
            "KEY": "uuid:e2",
            "meta_enum_id": "E002",
            "meta_city": "TJ",
            "enterprise_id": "TJ001",
            "meta_sample_group": "1",
            "meta_round": "endline",
            "resp_id": "TJ001002",
            "resp_id_check": "TJ001002",
            "trk_status": "4",
            "trk_attempts": "3",
            "trk_informant": "1",
            "trk_notfound_reason": "1",
        },
    ]
    (raw / "baseline.csv").write_text(_csv(baseline), encoding="utf-8")
    (raw / "endline.csv").write_text(_csv(endline), encoding="utf-8")
    return raw


def _run(tmp_path, raw, *extra):
    return main(
        [
            "clean",
            "--raw",
            str(raw),
            "--out",
            str(tmp_path / "out"),
            "--private",
            str(tmp_path / "private"),
            "--surveys",
            str(ROOT / "surveys"),
            *extra,
        ]
    )


def _texts(path: pathlib.Path) -> list[str]:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return [
            *map(str, frame.columns),
            *frame.astype("string").fillna("").to_numpy().ravel().tolist(),
        ]
    if path.suffix in {".sav", ".dta"}:
        reader = pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta
        frame, meta = reader(str(path))
        labels = [str(v) for m in meta.variable_value_labels.values() for v in m.values()]
        return [
            *map(str, frame.columns),
            *map(str, frame.to_numpy().ravel()),
            *labels,
            *map(str, meta.column_labels),
        ]
    return [path.read_text(encoding="utf-8-sig")]


@pytest.mark.slow
def test_clean_writes_everything_and_no_identifier(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EVALUATION_PRIVATE_KEY", raising=False)
    raw = _raw(tmp_path)
    status = _run(tmp_path, raw, "--partner", "both", "--override-disclosure", "--labels", "zh")
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "baseline.csv: 3 rows in, 3 kept, 0 excluded" in captured.out
    assert "endline.csv: 2 rows in, 2 kept, 0 excluded" in captured.out
    out = tmp_path / "out"
    files = sorted(p for p in out.rglob("*") if p.is_file())
    names = {str(p.relative_to(out)) for p in files}
    assert {
        "apprentice/baseline.parquet",
        "apprentice/endline.parquet",
        "apprentice/panel.parquet",
        "apprentice/attrition.parquet",
        "cleaning_log.csv",
        "exclusions.csv",
        "problems.csv",
        "summary.json",
        "manifest.json",
        "partner/apprentice_baseline.sav",
        "partner/apprentice_baseline.dta",
        "partner/disclosure.json",
    } <= names
    for path in files:
        for text in _texts(path):
            for planted in (*PLANTED, PHONES[0][:7]):
                assert planted not in text, (path, planted)
    panel = pd.read_parquet(out / "apprentice" / "panel.parquet")
    rows = panel.set_index(["resp_id", "round"])
    assert rows.loc[("TJ001002", "baseline"), "job_wage__reason"] == "dont_know"
    assert rows.loc[("TJ002001", "baseline"), "job_wage"] == 5200
    assert rows.loc[("TJ001001", "baseline"), "job_title_text"] == "焊工,手机[phone]"
    assert rows.loc[("TJ001002", "endline"), "interviewed"] == 0
    attrition = pd.read_parquet(out / "apprentice" / "attrition.parquet").set_index("resp_id")
    assert attrition["attrited"].tolist() == [0, 1, 1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sources"]["baseline.csv"]["problems"]["pii_in_text"] == 3
    private = sorted(p for p in (tmp_path / "private").rglob("*") if p.is_file())
    assert private
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in private)
    stored = pd.read_parquet(
        tmp_path / "private" / "apprentice" / "baseline" / "identifiers.parquet"
    )
    assert stored["id_name"].tolist() == list(NAMES)
    assert_pii_kept = pd.read_parquet(
        tmp_path / "private" / "apprentice" / "baseline" / "redactions.parquet"
    )
    assert len(assert_pii_kept) == 3


@pytest.mark.slow
def test_unresolved_duplicates_exit_1_with_a_report(tmp_path, capsys):
    rows = [
        _baseline(1, "TJ001001", "TJ001", "1"),
        _baseline(
            2, "TJ001001", "TJ001", "1", id_name=NAMES[0], dem_sex="2", dem_birth_year="2001"
        ),
        _baseline(3, "TJ002001", "TJ002", "0"),
    ]
    raw = _raw(tmp_path, baseline=rows)
    assert _run(tmp_path, raw) == 1
    err = capsys.readouterr().err
    assert "duplicates need decisions" in err
    assert "TJ001001" in err
    for planted in PLANTED:
        assert planted not in err
    report = pd.read_csv(
        tmp_path / "out" / "duplicates_report.csv", dtype=str, keep_default_na=False
    )
    assert report["instance_id"].tolist() == ["uuid:b1", "uuid:b2"]
    assert report["classification"].tolist() == ["different_person", "different_person"]
    # the field team fills the report in; it becomes the decisions file
    decisions = tmp_path / "decisions"
    decisions.mkdir()
    report = report.assign(
        action=["keep", "newid"],
        newid=["", "TJ001002"],
        initials=["LW", "LW"],
        notes=["roster", "roster"],
    )
    report[
        ["instrument", "round", "key", "instance_id", "action", "newid", "initials", "notes"]
    ].to_csv(decisions / "duplicates.csv", index=False)
    assert _run(tmp_path, raw, "--decisions", str(decisions)) == 0
    baseline = pd.read_parquet(tmp_path / "out" / "apprentice" / "baseline.parquet")
    assert baseline["resp_id"].tolist() == ["TJ001001", "TJ001002", "TJ002001"]


@pytest.mark.slow
def test_an_endline_id_outside_the_frame_exits_1(tmp_path, capsys):
    endline = [
        {
            "KEY": "uuid:e9",
            "meta_enum_id": "E001",
            "meta_city": "TJ",
            "enterprise_id": "TJ009",
            "meta_sample_group": "1",
            "meta_round": "endline",
            "resp_id": "TJ009001",
            "resp_id_check": "TJ009001",
            "trk_status": "4",
            "trk_attempts": "1",
        },
    ]
    raw = _raw(tmp_path, endline=endline)
    assert _run(tmp_path, raw) == 1
    err = capsys.readouterr().err
    assert "LinkageError" in err
    assert "TJ009001" in err


def test_private_inside_out_is_refused(tmp_path, capsys):
    raw = _raw(tmp_path)
    status = main(
        [
            "clean",
            "--raw",
            str(raw),
            "--out",
            str(tmp_path / "out"),
            "--private",
            str(tmp_path / "out" / "private"),
            "--surveys",
            str(ROOT / "surveys"),
        ]
    )
    assert status == 1
    assert "inside --out" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
