"""The `evaluation demo` command as a user runs it."""

from __future__ import annotations

import json
import pathlib
import tomllib

import pytest

from evaluation.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(tmp_path, *extra):
    return main(
        [
            "demo",
            "--out",
            str(tmp_path),
            "--surveys",
            str(ROOT / "surveys"),
            "--n-enterprises",
            "6",
            "--apprentices-per-enterprise",
            "8",
            *extra,
        ]
    )


def test_demo_writes_a_project_folder(tmp_path, capsys):
    assert _run(tmp_path, "--seed", "2", "--format", "gb18030-csv") == 0
    out = capsys.readouterr().out
    assert "synthetic data" in out
    assert "not in the form yet" not in out  # every contract variable is in the forms
    assert "decisions/occupation_coding.csv" in out
    assert (tmp_path / "decisions/occupation_coding.csv").is_file()
    raw = tmp_path / "raw"
    for name in (
        "sources.toml",
        "frame/sample_frame.csv",
        "frame/cities.csv",
        "frame/enterprises.csv",
        "frame/roster.csv",
        "frame/backcheck_sample.csv",
        "exports/gb18030-csv/qall2_apprentice_baseline.csv",
        "exports/gb18030-csv/qall2_apprentice_endline.csv",
    ):
        assert (raw / name).is_file(), name
    sources = tomllib.loads((raw / "sources.toml").read_text("utf-8"))
    assert {entry["encoding"] for entry in sources["files"]} == {"gb18030"}
    effects = json.loads((tmp_path / "truth.json").read_text("utf-8"))["effects"]
    assert any(e["primary"] and e["outcome"] == "log_wage_hour" for e in effects)
    assert (tmp_path / "manifest.csv").read_text().startswith("file,key,instance_id,column,kind")


def test_clean_flag(tmp_path, capsys):
    assert _run(tmp_path, "--clean", "--format", "odk") == 0
    assert "clean mode" in capsys.readouterr().out
    assert (tmp_path / "manifest.csv").read_text() == "file,key,instance_id,column,kind,detail\n"
    assert (tmp_path / "raw/exports/odk/qall2_apprentice_baseline.zip").is_file()


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(tmp_path, "--format", "excel")
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_size_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--n-enterprises", "1"]) == 2
    assert "n_enterprises must be at least 2" in capsys.readouterr().err
