"""The analysis notebooks: all six parse and are thin; the smallest one executes end to end.

``nox -s notebooks`` executes all six on the full demo world; here the data-quality notebook
runs on a small demo world (six enterprises) through the same runner, ``analysis/execute.py``,
so that the suite stays fast.
"""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import jupytext
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXPECTED = [
    "01_data_quality",
    "02_baseline_balance",
    "03_main_effects",
    "04_mismatch",
    "05_robustness_attrition",
    "06_results_framework",
]
NOTEBOOKS = sorted((ROOT / "analysis").glob("[0-9][0-9]_*.py"))


def test_the_six_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_parses_and_is_thin(script):
    notebook = jupytext.read(script)
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    assert notebook.cells[0].cell_type == "markdown"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    assigned = {
        target.id: node.value
        for node in ast.parse(parameters[0].source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
    }
    assert {"data_dir", "seed", "out", "demo_dir"} <= set(assigned)
    assert isinstance(assigned["data_dir"], ast.Constant)
    assert assigned["data_dir"].value is None  # None: the demo world
    for cell in code:
        tree = ast.parse(cell.source)  # every cell is valid Python
        definitions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)
        ]
        assert definitions == [], f"{script.name}: notebooks call the package, define nothing"
    imports = {
        alias.name if isinstance(node, ast.Import) else node.module
        for cell in code
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert any(name.startswith("evaluation") for name in imports)


@pytest.mark.slow
def test_data_quality_notebook_executes(tmp_path):
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [
            sys.executable,
            "analysis/execute.py",
            "--out",
            str(tmp_path),
            "--only",
            "01",
            "--set",
            "n_enterprises=6",
            "--set",
            f"demo_dir={str(tmp_path / 'data')!r}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 of 1 notebooks executed" in done.stdout
    executed = nbformat.read(tmp_path / "01_data_quality.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    page = (tmp_path / "01_data_quality.html").read_text(encoding="utf-8")
    assert "SIMULATED DATA" in page
    assert "<script src=" not in page  # nothing fetched from a CDN: the page opens offline
    assert "cdnjs" not in page
    assert "findings:" in page  # the summary of the checks was printed
    assert "missing_by_variable" in page
    assert (tmp_path / "01_findings.csv").stat().st_size > 0
    assert (tmp_path / "data" / "seed0-6x95-messy" / "raw" / "sources.toml").is_file()
