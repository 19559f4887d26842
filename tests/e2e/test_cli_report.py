"""`evaluation report` end to end on a small demo world: raw exports to the published report.

Slow: each run cleans every round of every instrument (about a minute or more on two cores).

The command runs without ``--data-dir``, so it asks the demo world for a data folder (a small
one here: DEMO enterprises, apprentices per enterprise, in a temporary ``--demo-dir``) and runs
quality checks, cleaning, indicators, the committed analysis plan (with fewer resampling draws,
so the test stays quick) and the report. Independent checks: the files listed in the generated
manifest are exactly the files written; every planted name, phone and resident ID number of the
demo (names and phones read from the demo's own sample frame and roster, and every 18-digit
number passing the GB 11643 check digit, as resident ID numbers) appears in no output file; a
second run from scratch gives byte-identical files; with the endline exports removed from
``sources.toml`` the command writes the baseline report.
"""

from __future__ import annotations

import csv
import html
import io
import pathlib
import re
import shutil
import zipfile

import pytest

from evaluation.cli import main
from evaluation.loaders.text import is_valid_resident_id
from tests.browser import read_report_page

# one worker builds the module fixture (the demo report) once: nox runs --dist loadgroup
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report")]
ROOT = pathlib.Path(__file__).resolve().parents[2]
#: The small demo: enough enterprises that strata hold both arms, few apprentices each.
DEMO = ("--demo-enterprises", "36", "--demo-apprentices", "12", "--demo-seed", "3")
#: The demo declares city x (sector x size class) as strata; with 36 enterprises almost no
#: such cell holds both arms and the plan's stratum fixed effects would leave the treatment
#: unidentified, so the data manager declares the sampling strata (sector x size class).
STRATA = ('strata = ["city", "stratum"]', 'strata = ["stratum"]')
FEWER_DRAWS = (
    ("bootstrap_draws = 9999", "bootstrap_draws = 99"),
    ("draws = 9999", "draws = 99"),
    ("lee_draws = 999", "lee_draws = 19"),
)


def small_plan(folder: pathlib.Path) -> pathlib.Path:
    """The committed plan with fewer draws, next to copies of the files it names."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "analysis" / "plan.toml").read_text(encoding="utf-8")
    for old, new in FEWER_DRAWS:
        assert old in text
        text = text.replace(old, new)
    for name in ("results_framework.toml", "checks.toml"):
        shutil.copy(ROOT / "analysis" / name, folder / name)
    (folder / "plan.toml").write_text(text, encoding="utf-8")
    return folder / "plan.toml"


def report(plan, out, *extra):
    return main(
        [
            "report",
            "--plan",
            str(plan),
            "--out",
            str(out),
            "--surveys",
            str(ROOT / "surveys"),
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    plan = small_plan(base / "analysis")
    demo_dir = base / "demo"
    # The folder `evaluation report` asks the demo world for, built here first so that its
    # sources.toml can declare the sampling strata (see STRATA); the command then reuses it.
    folder = demo_dir / "seed3-36x12"
    size = ["--n-enterprises", "36", "--apprentices-per-enterprise", "12"]
    surveys = ["--surveys", str(ROOT / "surveys")]
    built = main(["demo", "--out", str(folder), "--seed", "3", *size, "--clean", *surveys])
    assert built == 0
    sources = folder / "raw" / "sources.toml"
    text = sources.read_text(encoding="utf-8")
    assert STRATA[0] in text
    sources.write_text(text.replace(*STRATA), encoding="utf-8")
    code = report(plan, base / "reports", "--demo-dir", str(demo_dir), *DEMO)
    assert [p.name for p in demo_dir.iterdir()] == [folder.name]
    return {"code": code, "plan": plan, "out": base / "reports", "data": folder, "base": base}


def files_under(folder: pathlib.Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_report_is_written_and_says_it_is_simulated(run):
    assert run["code"] == 0
    out = run["out"]
    page = (out / "index.html").read_text(encoding="utf-8")
    body = page.split("<body>", 1)[1]
    assert body.lstrip().startswith('<div class="banner" role="note">SIMULATED DATA')
    for heading in (
        "Design",
        "Data and attrition",
        "Balance",
        "Results: Employability",
        "Heterogeneity",
        "Robustness",
        "Results framework",
        "Methods notes",
    ):
        assert re.search(rf"<h2>\d+\. {re.escape(heading)}</h2>", page), heading
    manifest = (out / "MANIFEST.md").read_text(encoding="utf-8")
    assert "**Simulated data**" in manifest
    listed = {line.split("`")[1] for line in manifest.splitlines() if line.startswith("| `")}
    assert listed == set(files_under(out))
    # Every Markdown, HTML and LaTeX table and the workbook say it at the top too.
    for name, content in files_under(out).items():
        if name.endswith((".md", ".tex")) and name.startswith("tables/"):
            head = content.decode("utf-8")[:400]
            assert "SIMULATED DATA" in head, name
    # The data folder holds the clean data and the private store, never under --out.
    assert any((run["data"] / "clean").rglob("*.parquet"))
    assert any((run["data"] / "private" / "cache").glob("sources-*.pickle"))
    assert not any("private" in name or name.endswith(".pickle") for name in files_under(out))


def planted_identifiers(folder: pathlib.Path) -> set[str]:
    """Names, phones and ID numbers of the demo's frame files, read with the csv module."""
    values: set[str] = set()
    columns = {"name", "phone", "id_name", "id_phone", "resident_id", "id_number"}
    for stem in ("sample_frame", "roster"):
        path = folder / "raw" / "frame" / f"{stem}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for column, value in row.items():
                    project_id = re.fullmatch(r"[A-Z]{2}\d{6}|P\d{5}", value or "")
                    if column in columns and value and not project_id:
                        values.add(value)
    return {v for v in values if len(v) >= 2 and "*" not in v}


def texts_of(content: bytes, name: str) -> list[str]:
    if name.endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return [book.read(member).decode("utf-8") for member in book.namelist()]
    if name.endswith(".png"):
        return []  # pixels; the figures draw aggregates only (the SVG text is paths)
    return [content.decode("utf-8")]


def test_no_identifier_reaches_the_report(run):
    planted = planted_identifiers(run["data"])
    phones = {v for v in planted if re.fullmatch(r"1\d{10}", v)}
    assert len(phones) > 100
    assert len(planted) - len(phones) > 100  # the names
    for name, content in files_under(run["out"]).items():
        for text in texts_of(content, name):
            found = sorted(v for v in planted if v in text)
            assert not found, f"{name} holds {len(found)} planted identifiers"
            ids = list(re.findall(r"(?<![\d.])\d{17}[\dX](?![\d.])", text))
            assert not [m for m in ids if is_valid_resident_id(m)], name


def test_two_runs_are_byte_identical(run):
    again = run["base"] / "again"
    code = report(run["plan"], again, "--demo-dir", str(run["data"].parent), "--no-cache", *DEMO)
    assert code == 0
    first, second = files_under(run["out"]), files_under(again)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name


def test_baseline_data_give_the_baseline_report(run, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(run["data"] / "raw", data / "raw")
    shutil.copytree(run["data"] / "decisions", data / "decisions")
    shutil.copy(run["data"] / "truth.json", data / "truth.json")  # marks the demo's folders
    sources = (data / "raw" / "sources.toml").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=\[)", sources)  # one block per table header
    kept = [b for b in blocks if not (b.startswith("[[files]]") and 'round = "endline"' in b)]
    assert len(kept) == len(blocks) - 2  # apprentice and enterprise endlines
    assert any(b.startswith("[sample_frame]") for b in kept)
    (data / "raw" / "sources.toml").write_text("\n".join(kept), encoding="utf-8")
    out = tmp_path / "reports"
    assert report(run["plan"], out, "--data-dir", str(data)) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "baseline report" in page.split("</h1>", 1)[0]
    headings = re.findall(r"<h2>\d+\. ([^<]+)</h2>", page)
    assert headings == [
        "Design",
        "Data and attrition",
        "Balance",
        "Results framework",
        "Methods notes",
    ]
    tables = {p.stem for p in (out / "tables").glob("*.csv")}
    assert {"balance_apprentice", "descriptives_apprentice", "mde_ex_ante"} <= tables
    assert "results_framework" in tables
    assert not any(t.startswith(("effects", "robustness", "attrition")) for t in tables)
    assert page.split("<body>", 1)[1].lstrip().startswith('<div class="banner"')


@pytest.mark.browser
def test_the_report_in_chromium(run, browser):
    # The demo report as a reader sees it (tests/browser.py): no console error or failed load,
    # every figure decoded, every contents link lands below the banner; a screenshot is saved.
    out = run["out"]
    page = read_report_page(browser, out / "index.html", run["base"] / "report.png")
    assert len(page.images) == len(list((out / "figures").glob("*.png"))) > 5
    text = (out / "index.html").read_text(encoding="utf-8")
    assert page.h1 == [html.unescape(re.search(r"<h1>([^<]+)</h1>", text).group(1))]
    sections = [html.unescape(h) for h in re.findall(r"<h2>(\d+\. [^<]+)</h2>", text)]
    assert page.h2 == ["Contents", *sections]
    assert sections[-1].endswith(". Methods notes")
