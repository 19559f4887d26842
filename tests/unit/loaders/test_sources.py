"""``sources.toml``: the documented example parses, every broken declaration names file and key."""

from __future__ import annotations

import pathlib
import re

import pytest

from evaluation.loaders import SourcesConfigError, parse_sources
from evaluation.loaders import sources as sources_module

RAW = pathlib.Path("/raw")


def _example() -> str:
    # the example in the module docstring (the README shows the same one)
    doc = sources_module.__doc__ or ""
    block = doc.split("Example::", 1)[1].split("Keys of ``[[files]]``", 1)[0]
    return "\n".join(line[4:] for line in block.splitlines())


def test_documented_example_parses():
    parsed = parse_sources(_example(), "raw/sources.toml", RAW)
    assert [s.format for s in parsed.files] == ["kobo-xlsx", "odk-zip", "surveycto-long", "stata"]
    kobo, odk, scto, stata = parsed.files
    assert kobo.path == RAW / "kobo" / "apprentice_baseline.xlsx"
    assert kobo.sheets == (("members", "members"),)
    assert kobo.expected_rows == 1520
    assert odk.delimiter == ","
    assert scto.resolve("firm/endline-jobs.csv") == RAW / "firm" / "endline-jobs.csv"
    assert scto.date_format("submitted_at") == "%b %d, %Y %I:%M:%S %p"
    assert stata.metadata_column("instance_id") == "qid"
    assert [b.kind for b in parsed.backchecks] == ["backcheck"]
    assert parsed.backchecks[0].delimiter == ";"
    assert parsed.sample_frame is not None
    assert parsed.sample_frame.treatment_values == ("0", "1")
    assert parsed.roster is not None
    assert parsed.roster.sheet == "名单"


def test_readme_shows_the_same_example():
    readme = (pathlib.Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    assert _example().strip() in readme


FILE = """
[[files]]
path = "a.csv"
instrument = "apprentice"
round = "baseline"
format = "csv"
encoding = "utf-8"
delimiter = ","
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('encoding = "utf-8"\n', ""), "a.csv): encoding: required for format 'csv'"),
        (('encoding = "utf-8"', 'encodng = "utf-8"'), "a.csv): encodng: unknown key"),
        (('format = "csv"', 'format = "sav"'), "a.csv): format: 'sav' is not one of"),
        (('encoding = "utf-8"', 'encoding = "klingon"'), "encoding: unknown encoding 'klingon'"),
        (('delimiter = ","\n', ""), "a.csv): delimiter: required for format 'csv'"),
        (('delimiter = ","', 'delimiter = ",;"'), "delimiter: ',;' is not one ASCII character"),
        (('path = "a.csv"', 'path = "../a.csv"'), "path: '../a.csv' must be relative"),
        (('round = "baseline"\n', ""), "round: missing (required)"),
        (('delimiter = ","', 'delimiter = ","\nsheet = "x"'), "sheet: only workbooks have sheets"),
        (('delimiter = ","', 'delimiter = ","\nexpected_rows = -1'), "expected_rows: must be"),
        (('delimiter = ","', 'delimiter = ","\ntimezone = "Mars/Base"'), "unknown IANA zone"),
        (
            ('delimiter = ","', 'delimiter = ","\ndate_formats = { today = "iso8601" }'),
            "'today' is not one of",
        ),
        (
            ('delimiter = ","', 'delimiter = ","\ndate_formats = { start = "YYYY" }'),
            "date_formats.start",
        ),
        (
            ('delimiter = ","', 'delimiter = ","\nrepeats = { hh = "b.csv" }'),
            "repeats: repeat files",
        ),
    ],
)
def test_broken_declarations_name_file_entry_and_key(change, expected):
    text = FILE.replace(*change)
    with pytest.raises(SourcesConfigError) as caught:
        parse_sources(text, "raw/sources.toml", RAW)
    message = str(caught.value)
    assert message.startswith("raw/sources.toml [[files]] #1")
    assert expected in message


def test_whole_file_problems():
    with pytest.raises(SourcesConfigError, match=r"raw/sources\.toml: not valid TOML: .*line 2"):
        parse_sources("[[files]]\npath = \n", "raw/sources.toml", RAW)
    with pytest.raises(SourcesConfigError, match="no \\[\\[files\\]\\] entry"):
        parse_sources("", "raw/sources.toml", RAW)
    with pytest.raises(SourcesConfigError, match=re.escape("'a.csv' is declared twice")):
        parse_sources(FILE + FILE, "raw/sources.toml", RAW)
    with pytest.raises(SourcesConfigError, match=re.escape("raw/sources.toml: filez: unknown key")):
        parse_sources(FILE + "[filez]\n", "raw/sources.toml", RAW)
    workbook = FILE.replace('format = "csv"', 'format = "xlsx"').replace('delimiter = ","\n', "")
    with pytest.raises(SourcesConfigError, match="not allowed for workbooks"):
        parse_sources(workbook, "raw/sources.toml", RAW)


def test_frame_declaration():
    text = FILE + '[sample_frame]\npath = "f.csv"\nformat = "csv"\nencoding = "utf-8"\n'
    with pytest.raises(SourcesConfigError, match=r"\[sample_frame\] \(f.csv\): delimiter: missing"):
        parse_sources(text, "raw/sources.toml", RAW)
    parsed = parse_sources(text + 'delimiter = "\\t"\n', "raw/sources.toml", RAW)
    assert parsed.sample_frame is not None
    assert parsed.sample_frame.delimiter == "\t"
    assert parsed.sample_frame.key == "resp_id"
