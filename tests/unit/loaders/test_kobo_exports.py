"""KoboToolbox exports written by Kobo's own exporter (formpack), read back value for value.

Independent sources: ``submissions.json`` (the submissions formpack exported, row i = submission
i) and ``manifest.json`` (formpack's own ``Export.to_dict()`` of every table), both in
``../shared/data/platform/kobo/`` (see its README). The instruments come from each fixture's
``form.json`` (:mod:`tests.unit.loaders.kobo_forms`).
"""

from __future__ import annotations

import json
import pathlib

import pandas as pd
import pytest

from evaluation.loaders import (
    MAIN_TABLE,
    HeaderError,
    LabelExportError,
    RawRound,
    RowCountError,
    Source,
    read_round,
)
from tests.conftest import _shared_data
from tests.unit.loaders.kobo_forms import kobo_instrument

FIXTURES = (
    "grouped_translated",
    "restaurant_profile",
    "nested_grouped_repeatable",
    "grouped_repeatable",
)
# Variants in XML values and headers (what the loader supports); label variants are refused.
XML_VARIANTS = ("xml_both", "xml_summary", "xml_details", "kpi_xml")
# The formpack quirk documented in the fixture README: ragged rows in these two files.
RAGGED = {("restaurant_profile", "xml_details"), ("restaurant_profile", "label-default_details")}


def _source(path: pathlib.Path, **extra: object) -> Source:
    fmt = "kobo-csv" if path.suffix == ".csv" else "kobo-xlsx"
    encoding = "utf-8" if fmt == "kobo-csv" else None
    return Source(
        name=path.name,
        path=path,
        instrument="kobo",
        round="fixture",
        format=fmt,
        encoding=encoding,
        **extra,  # type: ignore[arg-type]
    )


def _read(folder: pathlib.Path, file: str, **extra: object) -> RawRound:
    return read_round(_source(folder / file, **extra), kobo_instrument(folder))


def _cases() -> list[tuple[str, str, str]]:
    # Collected from the manifests when the fixture folder is there; without it the platform_data
    # fixture skips every test visibly (and fails under CI=true).
    root = _shared_data()
    cases = []
    for fixture in FIXTURES:
        manifest_path = root / "platform" / "kobo" / fixture / "manifest.json"
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for export in manifest["exports"]:
            cases.extend((fixture, export["variant"], file) for file in export["files"])
    return cases


CASES = _cases()
XML_CASES = [c for c in CASES if c[1] in XML_VARIANTS and (c[0], c[1]) not in RAGGED]
LABEL_CASES = [c for c in CASES if c[1].startswith(("label-", "kpi_default"))]


def _table_of(raw: RawRound, table: str) -> pd.DataFrame:
    return raw.data if table == MAIN_TABLE else raw.repeats[table]


def _header_to_column(raw: RawRound, table: str) -> dict[str, str]:
    return {header: column for column, header in raw.source_path[table].items()}


@pytest.mark.parametrize(("fixture", "variant", "file"), XML_CASES)
def test_exact_parse_matches_formpack_tables(platform_data, fixture, variant, file):
    # manifest.json: "reading export_<variant>.csv must yield the first table of tables (same
    # header; every cell equal to str(value), "" for empty); .xlsx every table, sheet by sheet".
    folder = platform_data / "kobo" / fixture
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    export = next(e for e in manifest["exports"] if e["variant"] == variant)
    raw = _read(folder, file)
    tables = list(export["tables"].items())
    if file.endswith(".csv"):
        tables = tables[:1]
    for position, (title, expected) in enumerate(tables):
        table = MAIN_TABLE if position == 0 else title
        frame = _table_of(raw, table)
        columns = _header_to_column(raw, table)
        assert list(columns) == expected["fields"]
        for field_index, header in enumerate(expected["fields"]):
            want = [
                "" if row[field_index] is None else str(row[field_index])
                for row in expected["data"]
            ]
            assert frame[columns[header]].tolist() == want, (table, header)


def _questions(raw: RawRound) -> set[str]:
    return {q.name for q, _ in raw.instrument.walk()}


def _nested(raw: RawRound, table: str, parent_key: str, submission_row: int) -> list[dict]:
    frame = raw.repeats[table]
    mine = frame[(frame["parent_key"] == parent_key) & (frame["submission_row"] == submission_row)]
    return [row for _, row in mine.iterrows()]


def _check_record(
    raw: RawRound, expected: dict, row: pd.Series, *, details: bool, table: str
) -> None:
    questions = _questions(raw)
    frame_columns = set(row.index)
    for path, value in expected.items():
        bare = path.split("/")[-1]
        if bare not in questions:
            continue
        question = raw.instrument.question(bare)
        if isinstance(value, list):
            if bare not in raw.repeats:
                # a KoboToolbox CSV holds the main table only; the loader says so
                assert any(i.table == bare for i in raw.issues_of("missing_table"))
                continue
            children = _nested(raw, bare, row["key"], int(row["submission_row"]))
            assert len(children) == len(value), (path, row["key"])
            for child_row, child in zip(children, value, strict=True):
                _check_record(raw, child, child_row, details=details, table=bare)
            continue
        if question.type == "select_multiple" and details:
            chosen = {
                c.split("/", 1)[1]
                for c in frame_columns
                if c.startswith(f"{bare}/") and row[c] == "1"
            }
            assert chosen == set(value.split()), (path, row.get("key"))
            continue
        assert row[bare] == value, (path, table)
    for column in frame_columns & questions:
        mentioned = {p.split("/")[-1] for p in expected}
        q = raw.instrument.question(column)
        if column not in mentioned and q.type not in {"repeat", "group"}:
            assert row[column] == "", (column, "absent from the submission but not empty")


@pytest.mark.parametrize(("fixture", "variant", "file"), XML_CASES)
def test_submissions_reproduced_value_for_value(platform_data, fixture, variant, file):
    folder = platform_data / "kobo" / fixture
    submissions = json.loads((folder / "submissions.json").read_text(encoding="utf-8"))
    raw = _read(folder, file)
    assert len(raw) == len(submissions)
    details = variant.endswith("details")
    for i, submission in enumerate(submissions):
        row = pd.Series(
            raw.data.iloc[i].to_dict()
            | {"key": raw.meta["key"].iloc[i], "submission_row": raw.meta["source_row"].iloc[i]},
            dtype=object,
        )
        _check_record(raw, submission, row, details=details, table=MAIN_TABLE)
        if variant.startswith("kpi"):
            # the server's copy fields: _uuid becomes the uuid: instance ID, _submission_time is UTC
            if "_uuid" in submission:
                assert raw.meta["instance_id"].iloc[i] == "uuid:" + submission["_uuid"]
            if "_submission_time" in submission:
                assert raw.meta["submitted_at"].iloc[i] == pd.Timestamp(
                    submission["_submission_time"], tz="UTC"
                )
            if isinstance(submission.get("_validation_status"), dict):
                assert raw.meta["review_state"].iloc[i] == submission["_validation_status"]["uid"]
        if "start" in submission:
            assert raw.meta["start"].iloc[i] == pd.Timestamp(submission["start"]).tz_convert("UTC")


@pytest.mark.parametrize("fixture", FIXTURES)
def test_typed_xlsx_reproduces_submissions_up_to_the_dropped_offset(platform_data, fixture):
    # README: with xls_types_as_text=False integers and 1/0 columns are numbers and date-times
    # are Excel datetimes with the UTC offset dropped. Numbers read back as the same text; the
    # times are local times (fixtures are from America/New_York, -05:00 and -04:00 in the JSON).
    folder = platform_data / "kobo" / fixture
    submissions = json.loads((folder / "submissions.json").read_text(encoding="utf-8"))
    raw = _read(folder, "export_xml_both_typed.xlsx", timezone="America/New_York")
    for i, submission in enumerate(submissions):
        for path, value in submission.items():
            bare = path.split("/")[-1]
            if bare in {"start", "end"}:
                assert raw.data[bare].iloc[i] == value[:19]
                assert raw.meta[bare].iloc[i] == pd.Timestamp(value).tz_convert("UTC")
            elif bare in raw.data.columns and isinstance(value, str):
                assert raw.data[bare].iloc[i] == value
    if "start" in raw.data.columns:
        assert {i.column for i in raw.issues_of("date_cells")} == {"start", "end"}


def test_nested_repeats_keep_copies_apart(platform_data):
    # The v1 and v2 copies of the bird-nest submissions share _uuid; linking goes through
    # submission_row, so each copy keeps its own trees, nests and eggs, and the duplicate is
    # reported rather than resolved.
    folder = platform_data / "kobo" / "nested_grouped_repeatable"
    raw = _read(folder, "export_kpi_xml.xlsx")
    assert raw.meta["instance_id"].duplicated().sum() == 2
    (duplicate,) = raw.issues_of("duplicate_instance_id")
    assert duplicate.count == 4
    trees = raw.repeats["group_tree"]
    assert trees.groupby("submission_row").size().tolist() == [2, 1, 2, 1]
    eggs = raw.repeats["group_egg"]
    # key of the first egg: ODK-style path through its nest and tree
    assert eggs["key"].iloc[0] == (
        "uuid:f16d9a3f-0892-413e-81d4-758ab188ea0b/group_tree[1]/group_nest[1]/group_egg[1]"
    )
    nests = raw.repeats["group_nest"]
    assert set(eggs["parent_key"]) <= set(nests["key"])
    assert set(nests["parent_key"]) <= set(trees["key"])


def test_repeat_in_group_has_odk_key_path(platform_data):
    folder = platform_data / "kobo" / "grouped_repeatable"
    raw = _read(folder, "export_kpi_xml.xlsx")
    members = raw.repeats["houshold_member_repeat"]
    first = members.iloc[0]
    assert first["key"] == first["parent_key"] + "/household_visit/houshold_member_repeat[1]"
    assert members.groupby("submission_row").size().sum() == 13


def _headers_are_names(folder: pathlib.Path, variant: str) -> bool:
    # formpack falls back to names when a translation has no labels (restaurant_profile's
    # untranslated versions): such a "label" export is an XML export and must be read.
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    export = next(e for e in manifest["exports"] if e["variant"] == variant)
    names = {q.name for q, _ in kobo_instrument(folder).walk()}
    return all(
        field.startswith("_") or field.split("/")[0] in names
        for table in export["tables"].values()
        for field in table["fields"]
    )


@pytest.mark.parametrize(("fixture", "variant", "file"), LABEL_CASES)
def test_label_exports_are_refused(platform_data, fixture, variant, file):
    folder = platform_data / "kobo" / fixture
    if _headers_are_names(folder, variant):
        if (fixture, variant) in RAGGED:
            with pytest.raises((RowCountError, HeaderError)):
                _read(folder, file)
        else:
            assert len(_read(folder, file)) > 0
        return
    if file.endswith(".csv") and fixture == "nested_grouped_repeatable":
        # the CSV holds only the main table, whose columns (start, end) have no labels: nothing
        # in it depends on the language, so it is read
        assert len(_read(folder, file)) == 4
        return
    with pytest.raises(LabelExportError) as caught:
        _read(folder, file)
    assert "export XML values and headers" in str(caught.value)
    assert file in str(caught.value)


@pytest.mark.parametrize("file", ["export_xml_details.csv", "export_xml_details.xlsx"])
def test_formpack_ragged_rows_are_refused_with_their_lines(platform_data, file):
    folder = platform_data / "kobo" / "restaurant_profile"
    with pytest.raises((RowCountError, HeaderError)) as caught:
        _read(folder, file)
    message = str(caught.value)
    assert file in message
    if file.endswith(".csv"):
        assert "line 4: 9 fields" in message
        assert "line 9: 9 fields" in message
    else:
        assert "column 9 has no header but holds cells on rows 4, 5, 6, 7, 8, 9" in message
    assert "never" in message


def test_kobo_csv_reports_repeats_it_cannot_hold(platform_data):
    folder = platform_data / "kobo" / "grouped_repeatable"
    raw = _read(folder, "export_kpi_xml.csv")
    (missing,) = raw.issues_of("missing_table")
    assert missing.table == "houshold_member_repeat"
    assert "export XLSX" in missing.message
    assert raw.info.delimiter == ";"
    assert raw.info.rows == ((MAIN_TABLE, 6),)
