"""Demo folders built once per session and per options, cleaned and checked as a user runs them.

``demo_folder(**options)`` builds the demo (:func:`evaluation.synthetic.demo.build_demo`) of a
small world, writes it to a temporary folder and caches it for the session; ``cleaned_demo``
runs :func:`evaluation.cleaning.outputs.run_clean` on it the way a data manager does: the first
run stops at conflicting duplicates with a report, which the field team fills in (keep the first
submission of a group, drop the others); the second run stops at respondent IDs outside the
sample frame, which call-backs correct (``id_corrections.csv``, the right ID being the one the
demo manifest records as replaced); the third run cleans. ``checked_demo`` runs
:func:`evaluation.checks.run_checks` with the project's ``analysis/checks.toml``.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: A small world: 4 enterprises of about 8 apprentices (every apprentice form has at least the
#: 20 completed interviews at which each kind of problem is injected at least once).
SIZE = {"n_enterprises": 4, "apprentices_per_enterprise": 8}
#: Every export format of the demo world, each a pytest parameter run on one xdist worker
#: (``--dist loadgroup``), so that each format is built and cleaned once.
FORMATS = tuple(
    pytest.param(name, marks=pytest.mark.xdist_group(f"demo-{name}"))
    for name in ("kobo-xlsx", "kobo-csv", "odk", "surveycto", "spss", "stata", "gb18030-csv")
)


@dataclasses.dataclass(frozen=True)
class Cleaned:
    """What a data manager sees over the runs of ``evaluation clean`` on a demo folder."""

    folder: pathlib.Path
    demo: object
    out: pathlib.Path
    private: pathlib.Path
    duplicates_report: pd.DataFrame
    linkage_message: str
    run: object


@pytest.fixture(scope="session")
def demo_forms():
    """The project's questionnaires."""
    from evaluation.instruments.files import read_instruments

    return read_instruments(ROOT / "surveys")


@pytest.fixture(scope="session")
def demo_folder(demo_forms, tmp_path_factory):
    """Build (once per options) and write a demo folder; return ``(folder, Demo)``.

    ``families`` (a tuple of instrument families) limits the demo to those questionnaires.
    """
    from evaluation.synthetic.demo import DemoOptions, build_demo
    from evaluation.synthetic.exports import write_files

    built = {}

    def build(families=None, **options):
        key = (families, *sorted(options.items()))
        if key not in built:
            forms = {k: f for k, f in demo_forms.items() if families is None or k[0] in families}
            demo = build_demo(forms, DemoOptions(**{**SIZE, **options}))
            folder = tmp_path_factory.mktemp("demo")
            write_files(demo.files, folder)
            built[key] = (folder, demo)
        return built[key]

    return build


def run_clean_demo(folder: pathlib.Path, out: pathlib.Path, private: pathlib.Path, **extra):
    from evaluation.cleaning.outputs import run_clean

    return run_clean(
        folder / "raw",
        out,
        private=private,
        decisions=folder / "decisions",
        surveys=ROOT / "surveys",
        key_env=None,
        **extra,
    )


def _write(path: pathlib.Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False, encoding="utf-8")


@pytest.fixture(scope="session")
def cleaned_demo(demo_folder):
    """Clean a messy demo folder of a format as a data manager does (see the module notes)."""
    from evaluation.cleaning import LinkageError, UnresolvedDuplicatesError

    done = {}

    def clean(format_name: str) -> Cleaned:
        if format_name in done:
            return done[format_name]
        folder, demo = demo_folder(seed=1, format=format_name)
        out, private = folder / "out", folder / "private"
        with pytest.raises(UnresolvedDuplicatesError) as duplicates:
            run_clean_demo(folder, out, private)
        report = duplicates.value.report
        first = report.sort_values(["group", "submitted_at"], kind="stable").groupby("group")
        keep = report["instance_id"].isin(first["instance_id"].first())
        decided = report.assign(
            action=keep.map({True: "keep", False: "drop"}), newid="", initials="QA", notes="demo"
        )
        columns = ["instrument", "round", "key", "instance_id", "action", "newid", "initials"]
        _write(folder / "decisions" / "duplicates.csv", decided[[*columns, "notes"]])
        with pytest.raises(LinkageError) as linkage:
            run_clean_demo(folder, out, private)
        message = str(linkage.value)
        listed = set(re.findall(r"'([A-Z]{2}[0-9]+)'", message))
        manifest = demo.manifest
        typos = manifest[manifest["key"].isin(listed) & (manifest["column"] == "resp_id")]
        forms = forms_of(folder)
        corrections = pd.DataFrame(
            {
                "instrument": [forms[f.removeprefix("raw/")][0] for f in typos["file"]],
                "round": [forms[f.removeprefix("raw/")][1] for f in typos["file"]],
                "instance_id": typos["instance_id"],
                "old_id": typos["key"],
                "new_id": typos["detail"].str.removeprefix("was "),
                "initials": "QA",
                "notes": "call-back",
            }
        )
        _write(folder / "decisions" / "id_corrections.csv", corrections)
        run = run_clean_demo(folder, out, private, partner=("sav", "dta"), override_disclosure=True)
        done[format_name] = Cleaned(folder, demo, out, private, report, message, run)
        return done[format_name]

    return clean


@pytest.fixture(scope="session")
def checked_demo(demo_folder, demo_forms):
    """Run every quality check (``analysis/checks.toml``) on a demo folder: ``(Demo, Findings)``."""
    from evaluation.checks import run_checks

    done = {}

    def check(**options):
        key = tuple(sorted(options.items()))
        if key not in done:
            folder, demo = demo_folder(**options)
            findings = run_checks(
                folder / "raw", ROOT / "analysis" / "checks.toml", instruments=demo_forms
            )
            done[key] = (demo, findings)
        return done[key]

    return check


def forms_of(folder: pathlib.Path) -> dict[str, tuple[str, str]]:
    """Each export of a demo folder (path under ``raw/``) to its ``(instrument, round)``."""
    import tomllib

    declared = tomllib.loads((folder / "raw" / "sources.toml").read_text("utf-8"))
    return {entry["path"]: (entry["instrument"], entry["round"]) for entry in declared["files"]}
