"""The sessions people run: ``nox`` (lint, tests, docs), ``nox -s report``, ``nox -s instruments``,
``nox -s notebooks``, ``nox -s bench``, ``nox -s studies``.

A bare ``nox`` runs every default session: everything that must pass before a change lands.
"""

from __future__ import annotations

import os
import pathlib

import nox

nox.options.sessions = ["lint", "tests", "docs"]

ROOT = pathlib.Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def _group(name: str) -> list[str]:
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff (style, imports, numpy docstring rules) and numpydoc validation of public docstrings."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "src").rglob("*.py"))
    session.run("numpydoc", "lint", *sources)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite on two cores (unit, reference and end-to-end tests)."""
    session.install("-e", ".", *_group("test"))
    workers = os.environ.get("PYTEST_WORKERS", "auto")
    # loadgroup: tests marked xdist_group share a worker (one demo build per export format)
    session.run("pytest", "-n", workers, "--dist", "loadgroup", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into ``site/``; any warning fails the build.

    Executes the tutorials (so their numbers are what the package produces), generates the API
    and command-line reference and the codebooks, and checks that every public module and name
    is documented. Open ``site/index.html`` in a browser.
    """
    session.install("-e", ".", *_group("docs"))
    session.run(
        "sphinx-build", "-W", "--keep-going", "-E", "-j", "auto", "-b", "html",
        "-d", "build/doctrees", "docs", "site", *session.posargs,
    )  # fmt: skip


@nox.session
def report(session: nox.Session) -> None:
    """Run the analysis plan end to end and write the evaluation report into ``reports/``.

    Without arguments it runs on the demo world (simulated data, built once into
    ``data/demo/`` and labelled as simulated in every output); pass ``-- --data-dir DIR`` to
    run on a data folder holding ``raw/`` (with ``sources.toml``), ``decisions/`` and
    ``private/``. Outputs: ``reports/index.html``, ``reports/MANIFEST.md``,
    ``reports/tables/`` and ``reports/figures/``.
    """
    session.install(".")
    session.env["SOURCE_DATE_EPOCH"] = "0"
    session.run(
        "evaluation", "report", "--plan", "analysis/plan.toml", "--out", "reports",
        *session.posargs,
    )  # fmt: skip


@nox.session
def instruments(session: nox.Session) -> None:
    """Build every instrument and round into ``reports/instruments/``.

    Writes the XLSForms, codebooks (Markdown and CSV), printable bilingual questionnaires and
    back-check forms, after linting the definitions in ``surveys/``.
    """
    session.install(".")
    out = session.posargs[0] if session.posargs else "reports/instruments"
    session.run("evaluation", "instruments", "lint", "surveys")
    session.run("evaluation", "instruments", "build", "--surveys", "surveys", "--out", out)


@nox.session
def notebooks(session: nox.Session) -> None:
    """Execute the analysis notebooks on the demo data and render them into ``reports/notebooks/``.

    Each ``analysis/NN_slug.py`` (jupytext percent format) runs on a fresh kernel; a notebook
    that raises fails the session. Arguments go to ``analysis/execute.py`` (``--only 03``,
    ``--set seed=3``, ``--set data_dir='"data"'``, ``--out DIR``).
    """
    session.install("-e", ".", *_group("notebooks"))
    session.env["SOURCE_DATE_EPOCH"] = "0"  # figures without dates, as in the report
    session.run("python", "analysis/execute.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and memory benchmarks against peers measured in the same run."""
    session.install(".", *_group("bench"))
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if session.posargs:
        scripts = [s for s in scripts if any(arg in s.name for arg in session.posargs)]
    for script in scripts:
        session.run("python", str(script))


@nox.session
def studies(session: nox.Session) -> None:
    """Monte Carlo studies too long for the tests: ``benchmarks/study_*.py`` and ``-m study``."""
    session.install(".", *_group("test"))
    scripts = sorted((ROOT / "benchmarks").glob("study_*.py"))
    if session.posargs:
        scripts = [s for s in scripts if any(arg in s.name for arg in session.posargs)]
    for script in scripts:
        session.run("python", str(script))
    if not session.posargs:
        # The studies written as tests (marked ``study``, deselected from the default run).
        session.run("pytest", "-m", "study", "-p", "no:cacheprovider")
