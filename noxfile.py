"""The sessions people run: ``nox`` (lint, tests, docs), ``nox -s instruments``, ``nox -s bench``.

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
def bench(session: nox.Session) -> None:
    """Speed and memory benchmarks against peers measured in the same run."""
    session.install(".", *_group("bench"))
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if session.posargs:
        scripts = [s for s in scripts if any(arg in s.name for arg in session.posargs)]
    for script in scripts:
        session.run("python", str(script))
