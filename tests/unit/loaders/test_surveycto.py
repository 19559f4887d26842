"""SurveyCTO wide and long CSV exports (hand-written after SurveyCTO's documented layout).

SurveyCTO's help page on its data format (cited in DATA.md section 12) describes the columns
``KEY``, ``instanceID``, ``formdef_version``, ``SubmissionDate``, the wide layout (repeat fields
``field_1``, ``field_2``...) and the long layout (one file per repeat linked by
``PARENT_KEY``/``KEY``). No real SurveyCTO export is available to the project, so these fixtures
are written by hand from that description; expected values are read off the fixture text.
"""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.instruments.model import Instrument, Question
from evaluation.loaders import MAIN_TABLE, HeaderError, SourceFormatError, read_round

FORM = Instrument(
    form_id="scto",
    title="SurveyCTO test",
    version="2024120201",
    languages=(),
    default_language=None,
    questions=(
        Question("starttime", "start"),
        Question("endtime", "end"),
        Question("deviceid", "deviceid"),
        Question("resp_id", "text"),
        Question(
            "hh",
            "repeat",
            children=(
                Question("hh_name", "text"),
                Question("hh_age", "integer"),
                Question("job", "repeat", children=(Question("job_title", "text"),)),
            ),
        ),
    ),
)
DATES = (
    ("submitted_at", "%b %d, %Y %I:%M:%S %p"),
    ("start", "%b %d, %Y %I:%M:%S %p"),
    ("end", "%b %d, %Y %I:%M:%S %p"),
)
WIDE = (
    "SubmissionDate,starttime,endtime,deviceid,resp_id,hh_name_1,hh_age_1,hh_name_2,hh_age_2,"
    "job_title_1_1,job_title_1_2,job_title_2_1,instanceID,formdef_version,KEY\n"
    '"Dec 2, 2022 3:49:00 AM","Dec 2, 2022 3:10:00 AM","Dec 2, 2022 3:40:00 AM",'
    "collect:1,TJ001001,A,40,B,12,welder,cook,,uuid:a,2024120201,uuid:a\n"
    '"Dec 3, 2022 10:00:00 PM","Dec 3, 2022 9:00:00 PM","Dec 3, 2022 9:30:00 PM",'
    "collect:2,TJ001002,C,33,,,,,,uuid:b,2024120201,uuid:b\n"
)


def test_wide_file_reshaped_into_linked_repeat_tables(declare):
    source = declare(
        "scto_WIDE.csv",
        WIDE.encode(),
        "surveycto-wide",
        encoding="utf-8",
        date_formats=DATES,
        timezone="Asia/Shanghai",
    )
    raw = read_round(source, FORM)
    assert raw.data["resp_id"].tolist() == ["TJ001001", "TJ001002"]
    assert "hh_name_1" not in raw.data.columns
    hh = raw.repeats["hh"]
    assert hh["key"].tolist() == ["uuid:a/hh[1]", "uuid:a/hh[2]", "uuid:b/hh[1]"]
    assert hh["hh_name"].tolist() == ["A", "B", "C"]
    assert hh["hh_age"].tolist() == ["40", "12", "33"]
    assert hh["submission_row"].tolist() == [2, 2, 3]
    job = raw.repeats["job"]
    assert job["key"].tolist() == ["uuid:a/hh[1]/job[1]", "uuid:a/hh[1]/job[2]"]
    assert job["parent_key"].tolist() == ["uuid:a/hh[1]", "uuid:a/hh[1]"]
    assert job["job_title"].tolist() == ["welder", "cook"]
    assert raw.source_path["job"]["job_title"] == "job_title_<i>_<i>"
    # Dec 2, 2022 3:49:00 AM in Shanghai (UTC+8) is Dec 1, 19:49 UTC
    assert raw.meta["submitted_at"].iloc[0] == pd.Timestamp("2022-12-01T19:49:00Z")
    assert raw.meta["start"].iloc[1] == pd.Timestamp("2022-12-03T13:00:00Z")
    assert raw.meta["form_version"].tolist() == ["2024120201", "2024120201"]
    assert raw.meta["device_id"].tolist() == ["collect:1", "collect:2"]
    assert raw.info.platform == "surveycto"
    assert not raw.issues_of("unknown_column")


def test_surveycto_dates_need_a_declared_format(declare):
    source = declare("w.csv", WIDE.encode(), "surveycto-wide", encoding="utf-8")
    with pytest.raises(SourceFormatError) as caught:
        read_round(source, FORM)
    assert str(caught.value).startswith("w.csv: column 'SubmissionDate' (submitted_at) holds")
    assert "declare date_formats.submitted_at" in str(caught.value)


def test_surveycto_without_formdef_version_is_not_surveycto(declare):
    text = WIDE.replace("formdef_version", "version")
    with pytest.raises(HeaderError, match="those of a odk export"):
        read_round(declare("w.csv", text.encode(), "surveycto-wide", encoding="utf-8"), FORM)


def test_long_files_linked_by_parent_key(declare):
    main = (
        "SubmissionDate,starttime,endtime,deviceid,resp_id,SET-OF-hh,instanceID,"
        "formdef_version,KEY\n"
        '"Dec 2, 2022 3:49:00 AM",,,collect:1,TJ001001,uuid:a/hh,uuid:a,1,uuid:a\n'
    )
    hh = (
        "hh_name,hh_age,SET-OF-job,PARENT_KEY,KEY,SET-OF-hh\n"
        "A,40,uuid:a/hh[1]/job,uuid:a,uuid:a/hh[1],uuid:a/hh\n"
        "B,12,uuid:a/hh[2]/job,uuid:a,uuid:a/hh[2],uuid:a/hh\n"
    )
    job = (
        "job_title,PARENT_KEY,KEY,SET-OF-job\n"
        "welder,uuid:a/hh[1],uuid:a/hh[1]/job[1],uuid:a/hh[1]/job\n"
    )
    declare("long-hh.csv", hh.encode(), "csv", encoding="utf-8", delimiter=",")
    declare("long-job.csv", job.encode(), "csv", encoding="utf-8", delimiter=",")
    source = declare(
        "long.csv",
        main.encode(),
        "surveycto-long",
        encoding="utf-8",
        repeats=(("hh", "long-hh.csv"), ("job", "long-job.csv")),
        date_formats=(("submitted_at", "%b %d, %Y %I:%M:%S %p"),),
        timezone="Asia/Shanghai",
    )
    raw = read_round(source, FORM)
    assert raw.repeats["hh"]["hh_name"].tolist() == ["A", "B"]
    assert raw.repeats["job"]["instance_id"].tolist() == ["uuid:a"]
    assert raw.repeats["job"]["parent_key"].tolist() == ["uuid:a/hh[1]"]
    assert raw.data["SET-OF-hh"].tolist() == ["uuid:a/hh"]  # platform columns kept
    assert [m[:2] for m in raw.info.members] == [("hh", "long-hh.csv"), ("job", "long-job.csv")]
    assert raw.meta["start"].isna().all()
    assert raw.source_path[MAIN_TABLE]["resp_id"] == "resp_id"


def test_wide_parent_instance_kept_for_its_nested_answers(declare):
    # hh[2] has no answer of its own but a job inside it: it must exist so the job links.
    text = WIDE.replace("welder,cook,,uuid:a", "welder,cook,driver,uuid:a").replace(
        "A,40,B,12,", "A,40,,,"
    )
    source = declare(
        "w.csv",
        text.encode(),
        "surveycto-wide",
        encoding="utf-8",
        date_formats=DATES,
        timezone="Asia/Shanghai",
    )
    raw = read_round(source, FORM)
    hh = raw.repeats["hh"]
    assert hh["key"].tolist() == ["uuid:a/hh[1]", "uuid:a/hh[2]", "uuid:b/hh[1]"]
    assert hh["hh_name"].tolist() == ["A", "", "C"]
    job = raw.repeats["job"]
    assert job["parent_key"].tolist() == ["uuid:a/hh[1]", "uuid:a/hh[1]", "uuid:a/hh[2]"]
    assert set(job["parent_key"]) <= set(hh["key"])
