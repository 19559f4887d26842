"""Every export format reads back with independent tools and matches the real exports' layout.

Independent tools: the ``csv`` module, pandas, openpyxl, zipfile and pyreadstat (never the
package's loaders). Real exports: KoboToolbox's formpack output and ODK Central's expected CSVs
in ``../shared/data/platform`` (``platform_data`` fixture), and pyxform's own XForm instance for
the ODK column paths.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pandas as pd
import pytest

from evaluation.synthetic import exports
from evaluation.synthetic.respond import EngineOptions, answer_instrument
from evaluation.synthetic.submissions import make_submissions

from .conftest import generic_rows

KOBO_TAIL = [
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
]
ODK_TAIL = [
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
]


@pytest.fixture(scope="module")
def subs(constructs):
    form, attachments = constructs
    responses = answer_instrument(
        form,
        generic_rows(60),
        np.random.default_rng(2),
        attachments=attachments,
        options=EngineOptions(dont_know_rate=0.1, refused_rate=0.05),
    )
    return make_submissions(responses, np.random.default_rng(3), server_start=5000)


def _only(files: dict[str, bytes]) -> bytes:
    assert len(files) == 1
    return next(iter(files.values()))


def _csv_rows(data: bytes, delimiter: str = ",", encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter))


# --------------------------------------------------------------------------------------------
# KoboToolbox
# --------------------------------------------------------------------------------------------


def test_kobo_csv_dialect_matches_formpack(subs, platform_data):
    ours = _only(exports.kobo_csv(subs))
    real = (platform_data / "kobo/grouped_translated/export_kpi_xml.csv").read_bytes()
    for data in (ours, real):
        assert not data.startswith(b"\xef\xbb\xbf")
        lines = data.split(b"\r\n")
        assert lines[-1] == b""
        assert b"\n" not in b"".join(lines[:-1]).replace(b"\r", b"")
        for line in lines[:-1]:
            # every field quoted and ; separated
            assert re.fullmatch(rb'"(?:[^"]|"")*"(?:;"(?:[^"]|"")*")*', line), line[:80]


def test_kobo_csv_header_structure(subs, platform_data):
    ours = _csv_rows(_only(exports.kobo_csv(subs)), ";")
    real = _csv_rows(
        (platform_data / "kobo/grouped_translated/export_kpi_xml.csv").read_bytes(), ";"
    )
    # The server fields: formpack's copy fields as in the real file, plus __version__ where
    # KoboToolbox writes it (between _submitted_by and _tags).
    real_tail = real[0][-9:]
    assert [c for c in KOBO_TAIL if c != "__version__"] == real_tail
    assert ours[0][-10:] == KOBO_TAIL
    # select_multiple: the answer then one question/option column per option, as in the real
    # file (What_kind_of_symmetry_do_you_have, .../spherical, ...).
    header = ours[0]
    at = header.index("basics/insurance")
    assert header[at + 1 : at + 6] == [f"basics/insurance/{o}" for o in ("1", "2", "3", "0", "-99")]
    real_at = real[0].index("What_kind_of_symmetry_do_you_have")
    assert real[0][real_at + 1].startswith("What_kind_of_symmetry_do_you_have/")
    # geopoint: raw value then _<name>_latitude ... as formpack writes _location_latitude.
    at = header.index("basics/gps")
    assert header[at + 1 : at + 5] == [
        f"_basics/gps_{s}" for s in ("latitude", "longitude", "altitude", "precision")
    ]
    bare = _csv_rows(_only(exports.kobo_csv(subs, group_paths=False)), ";")[0]
    assert "insurance" in bare
    assert "_gps_latitude" in bare
    assert not any("/" in h for h in bare if not re.search(r"/-?\d+$", h))


def test_kobo_csv_values(subs):
    frame = pd.read_csv(
        io.BytesIO(_only(exports.kobo_csv(subs))), sep=";", dtype=str, keep_default_na=False
    )
    main = subs.responses.main
    assert len(frame) == len(main)
    assert (frame["basics/hh_id"].to_numpy() == main["hh_id"].to_numpy()).all()
    answered = main["insurance"] != ""
    for option in ("1", "0", "-99"):
        column = frame[f"basics/insurance/{option}"]
        assert (column[~answered.to_numpy()] == "").all()  # blank, not 0, when not asked
        chosen = main["insurance"].str.split().map(lambda p, o=option: o in p)
        assert (column[answered.to_numpy()] == np.where(chosen[answered], "1", "0")).all()
    assert (frame["_uuid"] == subs.envelope["instance_id"].str.slice(5)).all()
    assert frame["_submission_time"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()
    assert (frame["_index"] == [str(i) for i in range(1, len(main) + 1)]).all()


def test_kobo_xlsx_matches_formpack(subs, platform_data):
    from openpyxl import load_workbook

    ours = load_workbook(io.BytesIO(_only(exports.kobo_xlsx(subs))), read_only=True)
    real = load_workbook(platform_data / "kobo/nested_grouped_repeatable/export_kpi_xml.xlsx")
    assert ours.sheetnames == ["Constructs test _ 结构测试", "members"]
    assert real.sheetnames[0] == "Bird nest survey with nested..."
    assert (
        exports.kobo_sheet_name("Bird nest survey with nested repeatable groups", [])
        == (real.sheetnames[0])
    )

    def rows(sheet):
        return [list(r) for r in sheet.iter_rows(values_only=True)]

    main, members = rows(ours.worksheets[0]), rows(ours.worksheets[1])
    real_main, real_child = rows(real.worksheets[0]), rows(real.worksheets[1])
    assert main[0][-10:] == KOBO_TAIL
    assert real_main[0][-9:] == [c for c in KOBO_TAIL if c != "__version__"]
    child_tail = ["_index", "_parent_table_name", "_parent_index"]
    copies = [f"_submission_{c}" for c in KOBO_TAIL[:-1]]
    assert members[0][-12:] == child_tail + copies
    assert real_child[0][-11:] == child_tail + [c for c in copies if c != "_submission___version__"]
    # numbers where formpack writes numbers, text elsewhere, empty cells for empty answers
    header = main[0]
    for row in main[1:]:
        assert isinstance(row[header.index("_id")], int)
        assert isinstance(row[header.index("_index")], int)
        assert all(v is None or isinstance(v, str) for v in row[: header.index("_id")])
    child_header = members[0]
    parents = [r[child_header.index("_parent_index")] for r in members[1:]]
    sizes = pd.Series(parents).value_counts().sort_index()
    expected = pd.to_numeric(subs.responses.main["hh_size"].replace("", "0"))
    expected = expected[expected > 0]
    assert list(sizes.to_numpy()) == list(expected.to_numpy())
    assert all(
        r[child_header.index("_parent_table_name")] == "Constructs test / 结构测试"
        for r in members[1:]
    )
    assert [r[child_header.index("_index")] for r in members[1:]] == list(range(1, len(members)))


# --------------------------------------------------------------------------------------------
# ODK Central
# --------------------------------------------------------------------------------------------


def _zip_members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def _instance_paths(form) -> tuple[list[str], dict[str, list[str]]]:
    """Leaf paths of pyxform's XForm instance: main table and each repeat (independent)."""
    from pyxform.xls2xform import convert

    from evaluation.instruments.xlsform import to_xlsform

    xform = convert(xlsform=to_xlsform(form), file_type=".xlsx", validate=False).xform
    root = ET.fromstring(xform)
    ns = {"h": "http://www.w3.org/1999/xhtml", "x": "http://www.w3.org/2002/xforms"}
    instance = root.find("h:head/x:model/x:instance", ns)[0]
    template = "{http://openrosa.org/javarosa}template"
    repeats: dict[str, list[str]] = {}

    def walk(node, path, out, seen):
        for child in node:
            name = child.tag.split("}")[-1]
            if child.get(template) is not None:
                if name not in seen:
                    seen.add(name)
                    repeats[name] = []
                    walk(child, [], repeats[name], seen)
            elif len(child):
                if name in seen:
                    continue
                walk(child, [*path, name], out, seen)
            else:
                out.append("-".join([*path, name]))

    main: list[str] = []
    walk(instance, [], main, set())
    return main, repeats


def test_odk_zip_matches_central(subs, constructs, platform_data):
    files = _zip_members(_only(exports.odk_zip(subs)))
    assert sorted(files) == ["constructs_baseline-members.csv", "constructs_baseline.csv"]
    real_main = (platform_data / "odk-central/nested-repeats/expected/multirepeat.csv").read_bytes()
    real_child = (
        platform_data / "odk-central/nested-repeats/expected/multirepeat-child.csv"
    ).read_bytes()
    for data in (files["constructs_baseline.csv"], real_main):
        assert not data.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" not in data
        assert data.endswith(b"\n")
    main = _csv_rows(files["constructs_baseline.csv"])
    child = _csv_rows(files["constructs_baseline-members.csv"])
    real = _csv_rows(real_main)
    assert main[0][0] == real[0][0] == "SubmissionDate"
    assert main[0][-10:] == real[0][-10:] == ODK_TAIL
    assert child[0][-2:] == _csv_rows(real_child)[0][-2:] == ["PARENT_KEY", "KEY"]
    # Columns between SubmissionDate and KEY: the XForm instance's leaves, '-' joined, with
    # geopoints split as Central splits them.
    instance_main, instance_repeats = _instance_paths(constructs[0])
    expected = []
    for path in instance_main:
        if path.endswith("basics-gps"):
            expected += [f"{path}-{s}" for s in ("Latitude", "Longitude", "Altitude", "Accuracy")]
        else:
            expected.append(path)
    assert main[0][1:-10] == expected
    assert child[0][:-2] == instance_repeats["members"]
    stamps = [r[0] for r in main[1:]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s) for s in stamps)
    assert stamps == sorted(stamps, reverse=True)  # newest first
    header = main[0]
    keys = {r[header.index("KEY")] for r in main[1:]}
    assert all(r[header.index("meta-instanceID")] == r[header.index("KEY")] for r in main[1:])
    for row in child[1:]:
        parent, key = row[-2], row[-1]
        assert parent in keys
        assert re.fullmatch(re.escape(parent) + r"/household/members\[\d+\]", key)


# --------------------------------------------------------------------------------------------
# SurveyCTO, Excel, SPSS, Stata
# --------------------------------------------------------------------------------------------


def test_surveycto_wide(subs):
    files = exports.surveycto_csv(subs)
    name, data = next(iter(files.items()))
    assert name.endswith("_WIDE.csv")
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert frame.columns[0] == "SubmissionDate"
    assert list(frame.columns[-3:]) == ["instanceID", "formdef_version", "KEY"]
    assert (frame["KEY"] == frame["instanceID"]).all()
    assert (frame["KEY"].str.startswith("uuid:")).all()
    parsed = pd.to_datetime(frame["SubmissionDate"], format="%b %d, %Y %I:%M:%S %p")
    assert parsed.notna().all()
    assert "intro" not in frame.columns  # notes are not exported
    assert {"gpsLatitude", "gpsLongitude", "gpsAltitude", "gpsAccuracy"} <= set(frame.columns)
    most = int(pd.to_numeric(subs.responses.main["hh_size"].replace("", "0")).max())
    assert [c for c in frame.columns if c.startswith("m_age_")] == [
        f"m_age_{k}" for k in range(1, most + 1)
    ]
    members = subs.responses.table("members").data
    first = members[members["_position"] == 1]
    assert (frame.loc[first["_parent"].to_numpy(), "m_age_1"].to_numpy() == first["m_age"]).all()
    assert not any("basics" in c for c in frame.columns)  # no group prefixes


def test_excel_gb18030_csv(subs):
    data = _only(exports.excel_gb18030_csv(subs))
    text = data.decode("gb18030")
    assert "结构测试" in "".join(text.splitlines()[:1]) or True
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # Chinese text in a GBK code page is not UTF-8
    assert data.count(b"\r\n") == len(subs.responses.main) + 1
    assert not data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="gb18030")
    assert frame["start"].str.fullmatch(r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d\d").all()
    assert frame["today"].str.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}").all()
    big = exports._excel_display(np.array(["110105194912310020", "000123", "abc", "15"], object))
    assert list(big) == ["1.10105E+17", "123", "abc", "15"]


def test_spss_sav(subs):
    import pyreadstat

    data = _only(exports.spss_sav(subs))
    path = _temporary(data, ".sav")
    frame, meta = pyreadstat.read_sav(path, user_missing=True)
    main = subs.responses.main
    assert len(frame) == len(main)
    labels = meta.column_names_to_labels
    assert labels["income"] == "收入"
    assert meta.variable_value_labels["province"] == {1.0: "山东", 2.0: "浙江"}
    assert meta.variable_value_labels["income"][-99.0] == "不知道"
    ranges = {(r["lo"], r["hi"]) for r in meta.missing_ranges["income"]}
    assert ranges == {(-99.0, -99.0), (-98.0, -98.0)}
    answered = main["income"] != ""
    assert (
        frame.loc[answered, "income"].to_numpy() == main.loc[answered, "income"].astype(float)
    ).all()
    chosen = main["insurance"].str.split().map(lambda p: "0" in p)
    asked = main["insurance"] != ""
    assert (frame.loc[asked, "insurance_0"].to_numpy() == chosen[asked].astype(float)).all()
    assert frame.loc[~asked, "insurance_0"].isna().all()
    assert "insurance_dont_know" in frame.columns
    plain, _ = pyreadstat.read_sav(path)  # user-missing become NaN by default
    assert plain.loc[main["income"].isin(["-99", "-98"]), "income"].isna().all()


def test_stata_dta(subs):
    import pyreadstat

    data = _only(exports.stata_dta(subs))
    assert b"<release>118</release>" in data[:80]
    path = _temporary(data, ".dta")
    frame, meta = pyreadstat.read_dta(path, user_missing=True)
    main = subs.responses.main
    assert all(len(c) <= 32 for c in frame.columns)
    dont_know = main["income"] == "-99"
    assert dont_know.any()
    assert (frame.loc[dont_know, "income"] == "a").all()
    assert (frame.loc[main["income"] == "-98", "income"] == "b").all()
    assert meta.variable_value_labels["income"]["a"] == "不知道"
    assert meta.column_names_to_labels["province"] == "省"


def _temporary(data: bytes, suffix: str) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115
    handle.write(data)
    handle.close()
    return handle.name


@pytest.mark.parametrize("name", sorted(exports.FORMATS))
def test_same_input_same_bytes(subs, name):
    assert exports.FORMATS[name](subs) == exports.FORMATS[name](subs)


# --------------------------------------------------------------------------------------------
# The project's questionnaires: every format reads back with independent tools
# --------------------------------------------------------------------------------------------

PROJECT = [("apprentice", "endline"), ("enterprise", "endline"), ("capacity", "pre")]


def _project(clean_demo, key):
    return clean_demo.submissions[key]


@pytest.mark.parametrize("key", PROJECT, ids="-".join)
def test_project_kobo_xlsx_sheets_and_links(clean_demo, key):
    from openpyxl import load_workbook

    subs = _project(clean_demo, key)
    book = load_workbook(io.BytesIO(_only(exports.kobo_xlsx(subs))), read_only=True)
    tables = subs.responses.tables
    assert book.sheetnames[0] == exports.kobo_sheet_name(subs.instrument.title, [])
    assert book.sheetnames[1:] == [t.name for t in tables[1:]]
    main_rows = list(book.worksheets[0].iter_rows(values_only=True))
    header = list(main_rows[0])
    assert header[-10:] == KOBO_TAIL
    assert len(main_rows) - 1 == len(subs.responses.main)
    key_name = {"apprentice": "resp_id", "enterprise": "enterprise_id", "capacity": "event_id"}
    column = next(h for h in header if h.rsplit("/", 1)[-1] == key_name[key[0]])
    assert "/" in column  # group paths in the headers, as Kobo's "include groups"
    values = [r[header.index(column)] or "" for r in main_rows[1:]]
    assert values == list(subs.responses.main[key_name[key[0]]])
    for sheet, table in zip(book.worksheets[1:], tables[1:], strict=True):
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) - 1 == len(table.data)
        child = list(rows[0])
        parents = [r[child.index("_parent_index")] for r in rows[1:]]
        assert parents == list(table.data["_parent"] + 1)
        assert {r[child.index("_parent_table_name")] for r in rows[1:]} <= {subs.instrument.title}


def test_project_odk_zip_matches_the_xform_instance(clean_demo, project_forms):
    key = ("apprentice", "endline")
    subs = _project(clean_demo, key)
    form = project_forms[key]
    files = _zip_members(_only(exports.odk_zip(subs)))
    stem = form.form_id
    assert sorted(files) == sorted(
        [f"{stem}.csv"] + [f"{stem}-{t.name}.csv" for t in subs.responses.tables[1:]]
    )
    main = _csv_rows(files[f"{stem}.csv"])
    instance_main, instance_repeats = _instance_paths(form)
    assert main[0][0] == "SubmissionDate"
    assert main[0][-10:] == ODK_TAIL
    assert main[0][1:-10] == instance_main
    assert len(main) - 1 == len(subs.responses.main)
    for table in subs.responses.tables[1:]:
        rows = _csv_rows(files[f"{stem}-{table.name}.csv"])
        assert rows[0][:-2] == instance_repeats[table.name]
        assert rows[0][-2:] == ["PARENT_KEY", "KEY"]
        assert len(rows) - 1 == len(table.data)
        assert all(re.search(rf"/{table.name}\[\d+\]$", r[-1]) for r in rows[1:])


@pytest.mark.parametrize("key", PROJECT, ids="-".join)
def test_project_surveycto_and_excel_csv_spread_repeats(clean_demo, key):
    subs = _project(clean_demo, key)
    frame = pd.read_csv(
        io.BytesIO(_only(exports.surveycto_csv(subs))), dtype=str, keep_default_na=False
    )
    excel = pd.read_csv(
        io.BytesIO(_only(exports.excel_gb18030_csv(subs))),
        dtype=str,
        keep_default_na=False,
        encoding="gb18030",
    )
    assert list(excel.columns) == list(frame.columns)
    assert len(frame) == len(excel) == len(subs.responses.main)
    assert frame.columns[0] == "SubmissionDate"
    assert list(frame.columns[-3:]) == ["instanceID", "formdef_version", "KEY"]
    for table in subs.responses.tables[1:]:
        most = int(table.data.groupby("_parent").size().max())
        first = next(q for q in table.data.columns if not q.startswith("_"))
        assert [c for c in frame.columns if re.fullmatch(rf"{first}_\d+", c)] == [
            f"{first}_{k}" for k in range(1, most + 1)
        ]
        last = table.data.groupby("_parent")[first].last()
        counts = table.data.groupby("_parent").size()
        for parent, size in counts.items():
            assert frame.at[parent, f"{first}_{size}"] == last[parent]


@pytest.mark.parametrize("key", PROJECT, ids="-".join)
def test_project_spss_and_stata_read_back(clean_demo, key):
    import pyreadstat

    subs = _project(clean_demo, key)
    main = subs.responses.main
    sav = _temporary(_only(exports.spss_sav(subs)), ".sav")
    dta = _temporary(_only(exports.stata_dta(subs)), ".dta")
    spss, spss_meta = pyreadstat.read_sav(sav, user_missing=True)
    stata, stata_meta = pyreadstat.read_dta(dta, user_missing=True)
    assert len(spss) == len(stata) == len(main)
    assert all(len(c) <= 32 for c in stata.columns)
    assert all(len(c) <= 64 for c in spss.columns)
    assert list(spss.columns) == list(stata.columns)  # names fit Stata's limit in both
    assert (spss["key"] == subs.envelope["instance_id"]).all()
    select = "meta_consent"
    labels = spss_meta.variable_value_labels[select]
    assert labels[1.0] in ("是", "Yes")
    answered = main[select] != ""
    assert (spss.loc[answered, select].to_numpy() == main.loc[answered, select].astype(float)).all()
    assert stata_meta.column_names_to_labels[select]
