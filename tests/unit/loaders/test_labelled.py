"""SPSS and Stata: writer round trips with pyreadstat, labels and missing-value definitions intact.

Independent source: the values, labels and missing definitions written here with pyreadstat's
own writers (and pandas' ``to_stata``); the loader must give them back unchanged, with
user-defined missing codes as values (DATA.md section 6.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from evaluation.loaders import DecodingError, RowCountError, SourceFormatError, read_labelled
from evaluation.loaders.labelled import dta_version

FRAME = pd.DataFrame(
    {
        "resp_id": ["TJ001001", "TJ001002", "TJ001003", "TJ001004"],
        "job_wage": [3500.0, -99.0, -98.0, np.nan],
        "dem_sex": [1.0, 2.0, 1.0, 2.0],
        "job_title_text": ["电工", "", "焊工", "学徒"],
    }
)
LABELS = {
    "resp_id": "受访者编号",
    "job_wage": "月工资",
    "dem_sex": "性别",
    "job_title_text": "职业",
}
VALUE_LABELS = {"job_wage": {-99.0: "不知道", -98.0: "拒绝回答"}, "dem_sex": {1.0: "男", 2.0: "女"}}


@pytest.mark.parametrize(("suffix", "compress"), [(".sav", False), (".zsav", True)])
def test_sav_round_trip(tmp_path, suffix, compress):
    path = tmp_path / f"w{suffix}"
    pyreadstat.write_sav(
        FRAME,
        str(path),
        column_labels=LABELS,
        variable_value_labels=VALUE_LABELS,
        missing_ranges={"job_wage": [-99.0, -98.0]},
        compress=compress,
        file_label="测试",
    )
    read = read_labelled(path)
    pd.testing.assert_series_equal(read.data["job_wage"], FRAME["job_wage"])  # -99, -98 kept
    assert read.data["job_title_text"].tolist() == FRAME["job_title_text"].tolist()
    assert dict(read.labels.variable_labels) == LABELS
    assert {k: dict(v) for k, v in read.labels.value_labels.items()} == VALUE_LABELS
    assert read.labels.missing_ranges["job_wage"] == (
        {"lo": -99.0, "hi": -99.0},
        {"lo": -98.0, "hi": -98.0},
    )
    assert read.labels.file_label == "测试"
    assert read.file_format == suffix[1:]
    assert read.format_version == suffix[1:]
    assert read.encoding == "UTF-8"
    # pyreadstat's default read would have lost the reasons: both codes become NaN
    default, _ = pyreadstat.read_sav(str(path))
    assert default["job_wage"].isna().sum() == 3


def test_dta_round_trip_with_extended_missing(tmp_path):
    frame = FRAME.assign(job_wage=pd.Series([3500.0, "a", "b", np.nan], dtype=object))
    path = tmp_path / "w.dta"
    pyreadstat.write_dta(
        frame,
        str(path),
        column_labels=list(LABELS.values()),
        variable_value_labels={"dem_sex": {1: "男", 2: "女"}},
        missing_user_values={"job_wage": ["a", "b"]},
    )
    read = read_labelled(path)
    assert read.data["job_wage"].tolist()[:3] == [3500.0, "a", "b"]
    assert np.isnan(read.data["job_wage"].iloc[3])
    assert read.labels.missing_user_values["job_wage"] == ("a", "b")
    assert dict(read.labels.variable_labels) == LABELS
    assert dict(read.labels.value_labels["dem_sex"]) == {1: "男", 2: "女"}
    assert read.format_version == "dta 119"  # pyreadstat writes version 15 = release 119
    assert read.encoding == "utf-8"


def test_por_round_trip(tmp_path):
    frame = FRAME[["job_wage", "dem_sex"]]
    path = tmp_path / "w.por"
    # write_por drops labels given as a dict (pyreadstat #98 family): pass them as a list
    pyreadstat.write_por(frame, str(path), column_labels=["wage", "sex"])
    read = read_labelled(path)
    # POR stores upper-case names (SPSS portable format)
    assert list(read.data.columns) == ["JOB_WAGE", "DEM_SEX"]
    assert read.data["JOB_WAGE"].tolist()[:3] == [3500.0, -99.0, -98.0]
    assert read.labels.variable_labels["DEM_SEX"] == "sex"
    with pytest.raises(DecodingError, match="portable files take no encoding"):
        read_labelled(path, encoding="gb18030")


def test_pandas_stata_118_reads_chinese_without_encoding(tmp_path):
    path = tmp_path / "w118.dta"
    FRAME.to_stata(path, version=118, write_index=False, variable_labels=LABELS)
    read = read_labelled(path)
    assert read.data["job_title_text"].tolist() == ["电工", "", "焊工", "学徒"]
    assert read.format_version == "dta 118"
    with pytest.raises(DecodingError, match="UTF-8 by definition"):
        read_labelled(path, encoding="gb18030")


def test_dta_117_ascii_needs_no_encoding(tmp_path):
    path = tmp_path / "a117.dta"
    FRAME[["resp_id", "dem_sex"]].to_stata(path, version=117, write_index=False)
    read = read_labelled(path)
    assert read.data["resp_id"].tolist() == FRAME["resp_id"].tolist()
    assert read.encoding is None


def test_dta_versions_from_headers(tmp_path):
    for version in (114, 117, 118):
        path = tmp_path / f"v{version}.dta"
        FRAME[["dem_sex"]].to_stata(path, version=version, write_index=False)
        assert dta_version(path.read_bytes()[:128]) == version
    with pytest.raises(SourceFormatError, match="not a Stata"):
        dta_version(b"PK\x03\x04")


def test_unknown_suffix_empty_and_rowless_files(tmp_path):
    with pytest.raises(SourceFormatError, match="suffix must be one of"):
        read_labelled(tmp_path / "x.csv")
    empty = tmp_path / "e.sav"
    empty.write_bytes(b"")
    with pytest.raises(RowCountError, match=r"e\.sav: the file is empty \(0 bytes\)"):
        read_labelled(empty)
    rowless = tmp_path / "r.sav"
    pyreadstat.write_sav(FRAME.iloc[0:0], str(rowless))
    with pytest.raises(RowCountError, match="has variables but no rows"):
        read_labelled(rowless)


def test_gbk_declared_sav_is_read_with_its_own_encoding(tmp_path):
    # DATA.md section 11: write UTF-8, then replace b"UTF-8" with b"CP936" and placeholders.
    frame = pd.DataFrame({"name": ["QQQQ", "abcd"], "x": [1.0, 2.0]})
    path = tmp_path / "g.sav"
    pyreadstat.write_sav(frame, str(path), column_labels={"name": "WWWW", "x": "x"})
    data = path.read_bytes()
    assert data.count(b"UTF-8") == 1
    data = data.replace(b"UTF-8", b"CP936").replace(b"QQQQ", "张三".encode("gbk"))
    data = data.replace(b"WWWW", "姓名".encode("gbk"))
    path.write_bytes(data)
    read = read_labelled(path)
    assert read.data["name"].tolist() == ["张三", "abcd"]
    assert read.labels.variable_labels["name"] == "姓名"
    assert read.labels.file_encoding == "CP936"
