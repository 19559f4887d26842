"""`evaluation checks` on a raw folder written by hand (KoboToolbox CSV, the project's form)."""

from __future__ import annotations

import pathlib

import openpyxl
import pandas as pd

from evaluation.cli import main
from tests.unit.checks.conftest import NAME, PHONE, assert_no_identifiers

ROOT = pathlib.Path(__file__).resolve().parents[2]

SOURCES = """
[[files]]
path = "kobo/baseline.csv"
instrument = "apprentice"
round = "baseline"
format = "kobo-csv"
encoding = "utf-8"
timezone = "Asia/Shanghai"

[[backchecks]]
path = "kobo/backcheck.csv"
instrument = "apprentice"
round = "baseline"
format = "kobo-csv"
encoding = "utf-8"

[sample_frame]
path = "frame.csv"
format = "csv"
encoding = "utf-8"
delimiter = ","
enterprise = "enterprise_id"
treatment = "treatment"
strata = ["city"]
"""
HEADER = (
    "start;end;deviceid;meta_enum_id;meta_city;enterprise_id;meta_consent;resp_id;"
    "resp_id_check;id_name;id_phone;dem_sex;dem_birth_year;_uuid;_submission_time;__version__"
)


def _row(n: int, *, name: str = "李四", phone: str = "13900000000", minutes: int = 41, **o):
    values = {
        "start": f"2026-12-05T{8 + n:02d}:00:00.000+08:00",
        "end": f"2026-12-05T{8 + n:02d}:{minutes:02d}:00.000+08:00",
        "deviceid": "collect:A1",
        "meta_enum_id": "E012",
        "meta_city": "TJ",
        "enterprise_id": "TJ001",
        "meta_consent": "1",
        "resp_id": f"TJ001{n:03d}",
        "resp_id_check": f"TJ001{n:03d}",
        "id_name": name,
        "id_phone": phone,
        "dem_sex": "2",
        "dem_birth_year": "2001",
        "_uuid": f"u-{n}",
        "_submission_time": f"2026-12-05T{8 + n:02d}:59:00",
        "__version__": "v1",
    }
    values.update(o)
    return ";".join(f'"{values[c]}"' for c in HEADER.split(";"))


def _raw(tmp_path: pathlib.Path) -> pathlib.Path:
    raw = tmp_path / "raw"
    (raw / "kobo").mkdir(parents=True)
    (raw / "sources.toml").write_text(SOURCES, encoding="utf-8")
    rows = [
        _row(1, name=NAME, phone=PHONE),
        _row(2, dem_birth_year="1890"),  # out of range
        _row(3),
        _row(3, _uuid="u-3b", _submission_time="2026-12-05T12:30:00"),  # a resubmission
    ]
    (raw / "kobo" / "baseline.csv").write_text(
        "\r\n".join(['"' + HEADER.replace(";", '";"') + '"', *rows]) + "\r\n", encoding="utf-8"
    )
    (raw / "kobo" / "backcheck.csv").write_text(
        '"bc_backchecker_id";"resp_id";"dem_sex";"_uuid";"_submission_time"\r\n'
        '"B003";"TJ001001";"1";"b-1";"2026-12-07T03:00:00"\r\n',
        encoding="utf-8",
    )
    frame = "resp_id,enterprise_id,treatment,city\n" + "".join(
        f"TJ001{n:03d},TJ001,1,TJ\n" for n in range(1, 6)
    )
    (raw / "frame.csv").write_text(frame, encoding="utf-8")
    return raw


def test_checks_command_writes_a_dated_folder(tmp_path, capsys):
    raw = _raw(tmp_path)
    out = tmp_path / "out"
    status = main(
        [
            "checks",
            "--raw",
            str(raw),
            "--out",
            str(out),
            "--surveys",
            str(ROOT / "surveys"),
            "--config",
            str(ROOT / "analysis" / "checks.toml"),
            "--date",
            "2026-12-06",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "apprentice/baseline" in printed
    folder = out / "2026-12-06"
    assert printed.strip().endswith(f"Wrote {folder}")
    findings = pd.read_csv(folder / "findings.csv", dtype=str, keep_default_na=False)
    rules = set(zip(findings["key"], findings["rule"], strict=True))
    assert ("TJ001003", "duplicate_id_identical") in rules
    assert ("TJ001002", "hard_range") in rules
    assert ("TJ001001", "backcheck_should_not_change") in rules  # dem_sex 2 vs 1
    progress = pd.read_csv(folder / "tables" / "progress_by_group.csv", dtype=str)
    assert progress.set_index("city").loc["all", "pending"] == "2"
    book = openpyxl.load_workbook(folder / "hfc_output.xlsx")
    assert book.sheetnames[:3] == ["summary", "source", "ids"]
    for path in folder.rglob("*"):
        if path.suffix in {".csv", ".html"}:
            assert_no_identifiers(path.read_text(encoding="utf-8"))
    text = "\n".join(
        str(c.value) for s in book.worksheets for r in s.iter_rows() for c in r if c.value
    )
    assert_no_identifiers(text)


def test_replacing_the_sample_frame_and_bad_configurations(tmp_path, capsys):
    raw = _raw(tmp_path)
    other = tmp_path / "other_frame.csv"
    other.write_text(
        "resp_id,enterprise_id,treatment,city\nTJ001001,TJ001,0,TJ\n", encoding="utf-8"
    )
    arguments = ["checks", "--raw", str(raw), "--out", str(tmp_path / "o"), "--surveys"]
    arguments += [str(ROOT / "surveys"), "--date", "2026-12-06"]
    assert main([*arguments, "--sample", str(other)]) == 0
    capsys.readouterr()
    findings = pd.read_csv(
        tmp_path / "o" / "2026-12-06" / "findings.csv", dtype=str, keep_default_na=False
    )
    not_sampled = findings[findings["rule"] == "not_in_sample"]["key"]
    assert sorted(set(not_sampled)) == ["TJ001002", "TJ001003"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[outliers]\nmultipler = 2\n", encoding="utf-8")
    assert main([*arguments, "--config", str(bad)]) == 1
    error = capsys.readouterr().err
    assert "unknown key 'multipler'" in error
    assert main([*arguments, "--backchecks", str(tmp_path / "nowhere.csv")]) == 1
    assert "nowhere.csv" in capsys.readouterr().err
