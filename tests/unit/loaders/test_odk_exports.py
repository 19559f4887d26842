"""ODK Central CSV exports as ODK Central's own tests expect them, read back value for value.

Independent sources: the expected CSV text and the submission XML instances of each case in
``../shared/data/platform/odk-central/`` (taken from getodk/central-backend's tests; see the
README there), plus each case's ``case.json`` for the envelope metadata (SubmissionDate). The zip
container is built here from the expected CSV files, as Central streams them into
``submissions.csv.zip``. Instruments are written by hand from each case's ``form.xml``.
"""

from __future__ import annotations

import io
import json
import pathlib
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pytest

from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question
from evaluation.loaders import MAIN_TABLE, RawRound, Source, read_round


def _instrument(form_id: str, questions: tuple[Question, ...], lists=()) -> Instrument:
    return Instrument(
        form_id=form_id,
        title=form_id,
        version="",
        languages=(),
        default_language=None,
        questions=questions,
        choice_lists=tuple(lists),
    )


def _zip(tmp_path: pathlib.Path, members: dict[str, bytes]) -> Source:
    path = tmp_path / "export.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    path.write_bytes(buffer.getvalue())
    return Source(
        name="export.zip",
        path=path,
        instrument="odk",
        round="case",
        format="odk-zip",
        encoding="utf-8",
    )


def _leaves(element: ET.Element) -> dict[str, object]:
    """An XML instance as {bare tag: text} with repeats as lists (the structure of the data)."""
    found: dict[str, object] = {}
    for child in element:
        tag = child.tag.split("}")[-1]
        if tag == "meta":
            continue
        if len(child):
            nested = _leaves(child)
            if tag in REPEATS:
                found.setdefault(tag, []).append(nested)  # type: ignore[union-attr]
            else:
                found.update(nested)
        else:
            found[tag] = child.text or ""
    return found


REPEATS = {"child", "toy"}


def _instance(path: pathlib.Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    if "orx:" in text and "xmlns:orx" not in text:
        # the test instance uses the orx: prefix without declaring it, as Central's test does
        text = text.replace("<data ", '<data xmlns:orx="http://openrosa.org/xforms" ', 1)
    return _leaves(ET.fromstring(text))


def _envelope(case: pathlib.Path) -> dict[str, dict]:
    meta = json.loads((case / "case.json").read_text(encoding="utf-8"))
    return {s["instanceId"]: s for s in meta["submissions"]}


def _check_flat(raw: RawRound, row: int, expected: dict[str, object]) -> None:
    for name, value in expected.items():
        if isinstance(value, list):
            continue
        assert raw.data[name].iloc[row] == value, name


ALL_TYPES = _instrument(
    "all-data-types",
    (
        Question("some_string", "text"),
        Question("some_int", "integer"),
        Question("some_decimal", "decimal"),
        Question("some_date", "date"),
        Question("some_time", "time"),
        Question("some_date_time", "dateTime"),
        Question("some_geopoint", "geopoint"),
        Question("some_geotrace", "geotrace"),
        Question("some_geoshape", "geoshape"),
        Question("some_barcode", "barcode"),
    ),
)


def test_all_data_types(platform_data, tmp_path):
    case = platform_data / "odk-central" / "all-data-types"
    source = _zip(
        tmp_path, {"all-data-types.csv": (case / "expected/all-data-types.csv").read_bytes()}
    )
    raw = read_round(source, ALL_TYPES)
    (xml,) = sorted((case / "submissions").glob("*.xml"))
    expected = _instance(xml)
    envelope = next(iter(_envelope(case).values()))
    assert len(raw) == 1
    for name, value in expected.items():
        if name == "some_geopoint":
            parts = str(value).split()
            got = [
                raw.data[f"some_geopoint/{p}"].iloc[0]
                for p in ("latitude", "longitude", "altitude", "accuracy")
            ]
            assert got == parts
        else:
            assert raw.data[name].iloc[0] == value, name
    # the barcode keeps its leading zeros: identifiers are never parsed as numbers
    assert raw.data["some_barcode"].iloc[0] == "000049499094"
    assert raw.meta["instance_id"].iloc[0] == envelope["instanceId"]
    assert raw.meta["submitted_at"].iloc[0] == pd.Timestamp(envelope["createdAt"])
    assert raw.meta["form_version"].isna().all()  # FormVersion is empty
    assert raw.source_path[MAIN_TABLE]["some_geopoint/latitude"] == "some_geopoint-Latitude"
    assert raw.data["meta-instanceID"].iloc[0] == envelope["instanceId"]
    assert not raw.issues_of("unknown_column")


STRUCTURED = _instrument(
    "structuredform",
    (
        Question("name", "text"),
        Question(
            "home",
            "group",
            children=(
                Question("type", "text"),
                Question(
                    "address",
                    "group",
                    children=(Question("street", "text"), Question("city", "text")),
                ),
            ),
        ),
    ),
)


@pytest.mark.parametrize("variant", ["groupPaths-true", "groupPaths-false"])
def test_structured_groups(platform_data, tmp_path, variant):
    case = platform_data / "odk-central" / "structured-groups"
    csv = (case / "expected" / variant / "structuredform.csv").read_bytes()
    raw = read_round(_zip(tmp_path, {"structuredform.csv": csv}), STRUCTURED)
    envelopes = _envelope(case)
    assert len(raw) == 3
    for row, instance_id in enumerate(raw.meta["instance_id"]):
        _check_flat(raw, row, _instance(case / envelopes[instance_id]["file"]))
        assert raw.meta["submitted_at"].iloc[row] == pd.Timestamp(
            envelopes[instance_id]["createdAt"]
        )
        assert raw.meta["form_version"].iloc[row] == envelopes[instance_id]["formVersion"]
    if variant == "groupPaths-true":
        assert raw.source_path[MAIN_TABLE]["city"] == "home-address-city"
    else:
        assert raw.source_path[MAIN_TABLE]["city"] == "city"
    assert raw.data["city"].tolist() == ["Seattle, WA", "Portland, OR", "San Francisco, CA"]
    assert not raw.issues_of("unknown_column")
    assert not raw.issues_of("missing_column")


MULTIREPEAT = _instrument(
    "multirepeat",
    (
        Question("name", "text"),
        Question("age", "integer"),
        Question(
            "children",
            "group",
            children=(
                Question(
                    "child",
                    "repeat",
                    children=(
                        Question("name", "text"),
                        Question("age", "integer"),
                        Question("toy", "repeat", children=(Question("name", "text"),)),
                    ),
                ),
            ),
        ),
    ),
)


def _rebuild(raw: RawRound, table: str, parent_key: str) -> list[dict[str, object]]:
    frame = raw.repeats[table]
    rows = frame[frame["parent_key"] == parent_key]
    out = []
    for _, row in rows.iterrows():
        item: dict[str, object] = {"name": row["name"]}
        if table == "child":
            item["age"] = row["age"]
            toys = _rebuild(raw, "toy", row["key"])
            if toys:
                item["toy"] = toys
        out.append(item)
    return out


def test_nested_repeats_rebuild_the_xml_nesting(platform_data, tmp_path):
    case = platform_data / "odk-central" / "nested-repeats"
    members = {
        f"multirepeat{suffix}.csv": (case / f"expected/multirepeat{suffix}.csv").read_bytes()
        for suffix in ("", "-child", "-toy")
    }
    raw = read_round(_zip(tmp_path, members), MULTIREPEAT)
    envelopes = _envelope(case)
    assert set(raw.repeats) == {"child", "toy"}
    for row, instance_id in enumerate(raw.meta["instance_id"]):
        expected = _instance(case / envelopes[instance_id]["file"])
        _check_flat(raw, row, expected)
        assert _rebuild(raw, "child", instance_id) == expected.get("child", [])
    toys = raw.repeats["toy"]
    # every toy links to its submission through its child
    assert toys["instance_id"].tolist() == ["two", "two", "two", "three", "three", "three"]
    assert toys["submission_row"].tolist() == [3, 3, 3, 4, 4, 4]
    assert raw.source_path["toy"]["key"] == "KEY"
    assert [m[0] for m in raw.info.members] == [MAIN_TABLE, "child", "toy"]


SELECT = _instrument(
    "selectMultiple",
    (
        Question("q1", "select_multiple", list_name="l1"),
        Question("g1", "group", children=(Question("q2", "select_multiple", list_name="l2"),)),
        Question("q3", "select_multiple", list_name="l3"),
    ),
    # Central's form declares no options (it indexes the values it sees); these are the values
    # the case's submissions use.
    lists=(
        ChoiceList("l1", (Choice("a"), Choice("b"))),
        ChoiceList("l2", (Choice("m"), Choice("x"), Choice("y"), Choice("z"))),
        ChoiceList("l3", (Choice("z"),)),
    ),
)


def _select_csv(case: pathlib.Path, variant: str) -> bytes:
    # rows_after_submission_date: each data row without its 24-character SubmissionDate
    expected = json.loads((case / "expected" / f"{variant}.json").read_text(encoding="utf-8"))
    stamp = "2018-01-01T00:00:00.000Z"
    assert len(stamp) == 24
    lines = [expected["header"], *(stamp + row for row in expected["rows_after_submission_date"])]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.mark.parametrize(
    "variant", ["split", "unsplit", "split_no_group_paths", "split_multiversion"]
)
def test_select_multiple(platform_data, tmp_path, variant):
    case = platform_data / "odk-central" / "select-multiple"
    raw = read_round(_zip(tmp_path, {"selectMultiple.csv": _select_csv(case, variant)}), SELECT)
    files = {"one": "one.xml", "two": "two.xml", "three": "three_v3.xml"}
    for row, instance_id in enumerate(raw.meta["instance_id"]):
        expected = _instance(case / "submissions" / files[instance_id])
        for question in ("q1", "q2", "q3"):
            if question not in expected:
                if question in raw.data.columns:
                    assert raw.data[question].iloc[row] == ""
                continue
            value = str(expected[question])
            assert raw.data[question].iloc[row] == value
            dummies = [c for c in raw.data.columns if c.startswith(f"{question}/")]
            chosen = {c.split("/")[1] for c in dummies if raw.data[c].iloc[row] == "1"}
            if dummies:
                # Central writes split columns only for values it has seen, 0 otherwise
                assert chosen == set(value.split()) & {c.split("/")[1] for c in dummies}
    if variant == "split_multiversion":
        (mixed,) = raw.issues_of("mixed_form_versions")
        assert "'3': 1" in mixed.message
        assert "'(none)': 2" in mixed.message
        assert raw.meta["form_version"].tolist()[0] == "3"
    else:
        assert not raw.issues_of("mixed_form_versions")
    if variant == "split_no_group_paths":
        assert raw.source_path[MAIN_TABLE]["q2/m"] == "q2/m"
    elif variant == "split":
        assert raw.source_path[MAIN_TABLE]["q2/m"] == "g1-q2/m"
    assert not raw.issues_of("unknown_column")
