"""Sample frame, preload roster and back-check sample.

Expected values are hand calculations written out in each test (counts per stratum, the CSV
text of the roster) or exact properties of simple random sampling without replacement.
"""

from __future__ import annotations

import csv
import io
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from evaluation.loaders import (
    FrameError,
    FrameSource,
    HeaderError,
    MangledValueError,
    backcheck_sample,
    preload_roster,
    read_sample_frame,
)
from tests.unit.loaders.conftest import NAME, PHONE, RESIDENT_ID, assert_no_identifiers

FRAME = (
    "resp_id,enterprise_id,treatment,city,id_name\n"
    f"TJ001001,TJ001,1,TJ,{NAME}\n"
    "TJ001002,TJ001,1,TJ,李四\n"
    "SH002001,SH002,0,SH,王五\n"
)


def _source(path: pathlib.Path, **options: object) -> FrameSource:
    settings: dict[str, object] = {
        "format": "csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "key_pattern": "^[A-Z]{2}[0-9]{6}$",
        "enterprise": "enterprise_id",
        "enterprise_pattern": "^[A-Z]{2}[0-9]{3}$",
        "treatment": "treatment",
        "treatment_values": ("0", "1"),
        "strata": ("city",),
    }
    settings.update(options)
    return FrameSource(name=path.name, path=path, **settings)  # type: ignore[arg-type]


def _write(tmp_path: pathlib.Path, text: str, name: str = "frame.csv") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_frame(tmp_path):
    frame = read_sample_frame(_source(_write(tmp_path, FRAME)))
    assert frame.data["resp_id"].tolist() == ["TJ001001", "TJ001002", "SH002001"]
    assert frame.info.rows == (("main", 3),)
    assert len(frame.info.sha256) == 64
    assert frame.source_rows.tolist() == [2, 3, 4]


def test_duplicate_keys_name_rows_not_values(tmp_path):
    text = FRAME + "TJ001002,TJ001,0,TJ,x\n"
    with pytest.raises(FrameError) as caught:
        read_sample_frame(_source(_write(tmp_path, text)))
    message = str(caught.value)
    assert message == (
        "frame.csv: 1 keys of column 'resp_id' appear more than once, on rows 3, 5; keys must "
        "be unique"
    )


def test_key_pattern_never_prints_the_key(tmp_path):
    text = FRAME + f"{PHONE},TJ001,0,TJ,x\n"
    with pytest.raises(FrameError) as caught:
        read_sample_frame(_source(_write(tmp_path, text)))
    message = str(caught.value)
    assert "column 'resp_id' does not match '^[A-Z]{2}[0-9]{6}$' on rows 5" in message
    assert "a value of 11 characters" in message
    assert_no_identifiers(message)


def test_enterprise_pattern_shows_the_value(tmp_path):
    text = FRAME.replace("SH002,0", "SH02,0")
    with pytest.raises(FrameError) as caught:
        read_sample_frame(_source(_write(tmp_path, text)))
    assert "column 'enterprise_id' does not match" in str(caught.value)
    assert "(row 4: 'SH02')" in str(caught.value)


def test_treatment_values_and_empty_keys_and_strata(tmp_path):
    with pytest.raises(FrameError, match=r"column 'treatment' on rows 4 holds '2' \(row 4\)"):
        read_sample_frame(_source(_write(tmp_path, FRAME.replace("SH002,0", "SH002,2"))))
    with pytest.raises(FrameError, match="column 'resp_id' is empty on rows 4"):
        read_sample_frame(_source(_write(tmp_path, FRAME.replace("SH002001,", ","))))
    with pytest.raises(FrameError, match="stratum column 'city' is empty on rows 3"):
        read_sample_frame(_source(_write(tmp_path, FRAME.replace("1,TJ,李四", "1,,李四"))))


def test_missing_declared_column_lists_columns(tmp_path):
    with pytest.raises(HeaderError) as caught:
        read_sample_frame(_source(_write(tmp_path, FRAME), strata=("district",)))
    assert "no column 'district'" in str(caught.value)
    assert "'resp_id', 'enterprise_id'" in str(caught.value)


def test_mangled_keys(tmp_path):
    text = "resp_id,treatment\n" + f"{RESIDENT_ID[:15]}000,1\n"
    with pytest.raises(MangledValueError) as caught:
        read_sample_frame(
            _source(_write(tmp_path, text), key_pattern=None, enterprise=None, strata=())
        )
    assert "row 2 (18 digits ending in 000)" in str(caught.value)
    assert_no_identifiers(str(caught.value))


def test_frame_from_a_workbook_sheet(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "名单"
    for row in csv.reader(io.StringIO(FRAME)):
        book.active.append(row)
    book.create_sheet("说明")
    path = tmp_path / "frame.xlsx"
    book.save(path)
    options = {"format": "xlsx", "encoding": None, "delimiter": None}
    with pytest.raises(
        HeaderError, match=r"2 sheets; the workbook's sheets are \['名单', '说明'\]"
    ):
        read_sample_frame(_source(path, **options))
    frame = read_sample_frame(_source(path, sheet="名单", **options))
    assert frame.data["enterprise_id"].tolist() == ["TJ001", "TJ001", "SH002"]


def test_preload_roster_text(tmp_path):
    frame = read_sample_frame(_source(_write(tmp_path, FRAME))).data
    frame = frame.assign(job_title=["电工", "焊工, 二级", ""])
    text = preload_roster(frame, ["enterprise_id", "job_title"], label=["resp_id", "job_title"])
    # sorted by key; the comma in a value is quoted; missing values empty; UTF-8 without BOM
    assert text.decode("utf-8") == (
        "name,label,enterprise_id,job_title\n"
        "SH002001,SH002001 · ,SH002,\n"
        "TJ001001,TJ001001 · 电工,TJ001,电工\n"
        'TJ001002,"TJ001002 · 焊工, 二级",TJ001,"焊工, 二级"\n'
    )
    assert not text.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8"))))
    assert [r["name"] for r in rows] == ["SH002001", "TJ001001", "TJ001002"]


def test_preload_roster_refuses_direct_identifiers(tmp_path, apprentice):
    frame = read_sample_frame(_source(_write(tmp_path, FRAME))).data
    with pytest.raises(FrameError, match="'id_name' is a direct identifier"):
        preload_roster(frame, ["id_name"], instrument=apprentice)
    allowed = preload_roster(
        frame, ["id_name"], instrument=apprentice, allow_direct_identifiers=True
    )
    assert NAME in allowed.decode("utf-8")
    with pytest.raises(FrameError, match="keys of 'resp_id' repeat"):
        preload_roster(pd.concat([frame, frame]), ["city"])
    with pytest.raises(FrameError, match="no column 'nope'"):
        preload_roster(frame, ["nope"])


def _interviews() -> pd.DataFrame:
    # enumerator E001: 25 interviews, E002: 7, E003: 3
    rows = (
        [("E001", i) for i in range(25)]
        + [("E002", i) for i in range(7)]
        + [("E003", i) for i in range(3)]
    )
    return pd.DataFrame(
        {"resp_id": [f"TJ{e[1:]}{i:03d}" for e, i in rows], "enum": [e for e, _ in rows]}
    )


def test_backcheck_counts_per_enumerator():
    # k = min(n, max(minimum, ceil(rate * n))) with rate 0.1, minimum 2:
    # E001: ceil(2.5) = 3; E002: ceil(0.7) = 1 -> 2; E003: ceil(0.3) = 1 -> 2.
    sample = backcheck_sample(
        _interviews(), key="resp_id", enumerator="enum", rng=np.random.default_rng(1), minimum=2
    )
    assert sample.groupby("enum").size().to_dict() == {"E001": 3, "E002": 2, "E003": 2}
    assert sample["resp_id"].is_monotonic_increasing
    assert sample.groupby("enum")["stratum_size"].first().to_dict() == {
        "E001": 25,
        "E002": 7,
        "E003": 3,
    }
    # 30% of 10 interviews is 3 exactly (ceil must not round 3.0000000000000004 up to 4)
    ten = _interviews().iloc[:10]
    assert (
        len(
            backcheck_sample(
                ten, key="resp_id", enumerator="enum", rng=np.random.default_rng(0), rate=0.3
            )
        )
        == 3
    )


def test_backcheck_is_reproducible_and_ignores_row_order():
    frame = _interviews()
    first = backcheck_sample(frame, key="resp_id", enumerator="enum", rng=np.random.default_rng(7))
    shuffled = frame.sample(frac=1.0, random_state=3)
    again = backcheck_sample(
        shuffled, key="resp_id", enumerator="enum", rng=np.random.default_rng(7)
    )
    pd.testing.assert_frame_equal(first, again)


@pytest.mark.slow
def test_backcheck_inclusion_probabilities_are_equal():
    # Simple random sampling without replacement of k = 3 out of n = 25: every interview has
    # inclusion probability 3/25 = 0.12. Over 600 draws each count is Binomial(600, 0.12):
    # sd = sqrt(600 * 0.12 * 0.88) = 7.96; all 25 counts within 5 sd of 72.
    frame = _interviews()
    counts = pd.Series(0, index=frame["resp_id"][:25])
    rng = np.random.default_rng(2026)
    for _ in range(600):
        sample = backcheck_sample(frame, key="resp_id", enumerator="enum", rng=rng)
        chosen = sample.loc[sample["enum"] == "E001", "resp_id"]
        counts[chosen] += 1
    sd = math.sqrt(600 * 0.12 * 0.88)
    assert (counts - 72).abs().max() < 5 * sd


def test_backcheck_strata_and_bad_arguments():
    frame = _interviews().assign(city=lambda d: np.where(d.index % 2 == 0, "TJ", "SH"))
    sample = backcheck_sample(
        frame,
        key="resp_id",
        enumerator="enum",
        strata=["city"],
        rng=np.random.default_rng(0),
        rate=0.5,
    )
    sizes = frame.groupby(["enum", "city"]).size()
    drawn = sample.groupby(["enum", "city"]).size()
    expected = sizes.map(lambda n: min(n, max(1, math.ceil(0.5 * n))))
    pd.testing.assert_series_equal(drawn, expected, check_names=False)
    with pytest.raises(FrameError, match="rate 0 must be in"):
        backcheck_sample(
            frame, key="resp_id", enumerator="enum", rng=np.random.default_rng(0), rate=0
        )
    with pytest.raises(FrameError, match="must be non-empty and unique"):
        backcheck_sample(
            pd.concat([frame, frame]),
            key="resp_id",
            enumerator="enum",
            rng=np.random.default_rng(0),
        )
