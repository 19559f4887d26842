"""The `evaluation instruments` commands as a user runs them."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from evaluation.cli import main
from tests.unit.instruments.conftest import MODULE, write_surveys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_build_writes_every_output(tmp_path, capsys):
    assert (
        main(["instruments", "build", "--surveys", str(ROOT / "surveys"), "--out", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "qall2_apprentice_baseline.xlsx").exists()
    assert (tmp_path / "index.md").exists()
    assert "qall2_apprentice_endline" in capsys.readouterr().out


def test_lint_exit_status(tmp_path, capsys):
    assert main(["instruments", "lint", str(ROOT / "surveys")]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    broken = write_surveys(tmp_path, module=MODULE.replace("${bas_age} >= 18", "${bas_agee} >= 18"))
    assert main(["instruments", "lint", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "ERROR    surveys/modules/basics.yaml:15: bas_kids: [reference_unknown]" in out
    unbuildable = write_surveys(
        tmp_path / "b", module=MODULE.replace("select_one sex", "select_one gender")
    )
    assert main(["instruments", "lint", str(unbuildable)]) == 1
    assert "choice list 'gender' is not defined" in capsys.readouterr().out


def test_build_refuses_broken_definitions(tmp_path, capsys):
    broken = write_surveys(tmp_path, module=MODULE.replace("${bas_age} >= 18", "${bas_age} >=> 18"))
    assert (
        main(["instruments", "build", "--surveys", str(broken), "--out", str(tmp_path / "o")]) == 1
    )
    assert "[expression_syntax]" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_import_and_lint_a_partner_form(platform_data, tmp_path, capsys):
    form = platform_data / "xlsforms" / "choice_filter_test.xlsx"
    assert main(["instruments", "import", str(form), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "NOTE     choices columns kept verbatim: ['cf']" in out
    assert sorted(p.name for p in (tmp_path / "instruments").iterdir()) == [
        "cascading_selects1.yaml"
    ]
    assert main(["instruments", "lint", str(form)]) == 1  # partner forms use text codes
    assert "[choice_code_numeric]" in capsys.readouterr().out


def test_python_m_entry_point_and_usage_errors():
    done = subprocess.run(
        [sys.executable, "-m", "evaluation", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "instruments" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "evaluation", "instruments", "frobnicate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
