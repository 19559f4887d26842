"""A whole raw folder: ``sources.toml``, exports, a back-check, the sample frame, the manifest.

Uses the project's own apprentice baseline instrument (metadata, identification and
demographics are on main; names from ``/work/notes/names.md``). Files are written by hand here.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from evaluation.instruments.files import read_instruments
from evaluation.loaders import (
    MAIN_TABLE,
    RowCountError,
    SourcesConfigError,
    read_manifest,
    read_sources,
    write_manifest,
)
from tests.unit.loaders.conftest import NAME, PHONE, ROOT

SOURCES = """
[[files]]
path = "kobo/baseline.csv"
instrument = "apprentice"
round = "baseline"
format = "kobo-csv"
encoding = "utf-8"
timezone = "Asia/Shanghai"

[[backchecks]]
path = "kobo/backcheck.csv"
instrument = "apprentice"
round = "baseline"
format = "kobo-csv"
encoding = "utf-8"

[sample_frame]
path = "frame.csv"
format = "csv"
encoding = "gb18030"
delimiter = ","
key_pattern = "^[A-Z]{2}[0-9]{6}$"
enterprise = "enterprise_id"
treatment = "treatment"
treatment_values = ["0", "1"]
"""

BASELINE = (
    '"start";"end";"deviceid";"meta_enum_id";"enterprise_id";"meta_consent";"resp_id";'
    '"id_name";"id_phone";"dem_sex";"dem_birth_year";"_uuid";"_submission_time";"__version__"\r\n'
    '"2026-12-05T09:00:00.000+08:00";"2026-12-05T09:41:00.000+08:00";"collect:A1";"E012";'
    f'"TJ001";"1";"TJ001001";"{NAME}";"{PHONE}";"2";"2001";"u-1";"2026-12-05T01:42:00";"v1"\r\n'
    '"2026-12-05T10:00:00.000+08:00";"2026-12-05T10:35:00.000+08:00";"collect:A1";"E012";'
    '"TJ001";"1";"TJ001002";"李四";"13900000000";"1";"1999";"u-2";"2026-12-05T02:36:00";"v1"\r\n'
)
BACKCHECK = (
    '"bc_backchecker_id";"resp_id";"dem_sex";"_uuid";"_submission_time"\r\n'
    '"B003";"TJ001001";"2";"b-1";"2026-12-07T03:00:00"\r\n'
)
FRAME = "resp_id,enterprise_id,treatment\nTJ001001,TJ001,1\nTJ001002,TJ001,1\n"


@pytest.fixture(scope="module")
def instruments():
    return read_instruments(ROOT / "surveys")


@pytest.fixture
def raw_dir(tmp_path):
    (tmp_path / "kobo").mkdir()
    (tmp_path / "sources.toml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "kobo" / "baseline.csv").write_bytes(BASELINE.encode("utf-8"))
    (tmp_path / "kobo" / "backcheck.csv").write_bytes(BACKCHECK.encode("utf-8"))
    (tmp_path / "frame.csv").write_bytes(FRAME.encode("gb18030"))
    return tmp_path


def test_read_a_raw_folder(raw_dir, instruments):
    loaded = read_sources(raw_dir, instruments)
    (baseline,) = loaded.rounds
    assert baseline.round == "baseline"
    assert baseline.instrument.form_id == "qall2_apprentice_baseline"
    assert baseline.data["id_phone"].tolist() == [PHONE, "13900000000"]
    assert baseline.meta["instance_id"].tolist() == ["uuid:u-1", "uuid:u-2"]
    assert baseline.meta["start"].iloc[0] == pd.Timestamp("2026-12-05T01:00:00Z")
    assert baseline.meta["device_id"].tolist() == ["collect:A1", "collect:A1"]
    assert baseline.meta["form_version"].tolist() == ["v1", "v1"]
    missing = {i.column for i in baseline.issues_of("missing_column")}
    assert "dem_marital" in missing
    assert "resp_id" not in missing
    (backcheck,) = loaded.backchecks
    assert backcheck.instrument.form_id == "qall2_apprentice_baseline_backcheck"
    assert backcheck.data["bc_backchecker_id"].tolist() == ["B003"]
    assert loaded.sample_frame is not None
    assert loaded.sample_frame.data["resp_id"].tolist() == ["TJ001001", "TJ001002"]


def test_manifest_records_every_file(raw_dir, instruments, tmp_path_factory):
    loaded = read_sources(raw_dir, instruments)
    entries = {e.name: e for e in loaded.manifest.entries}
    assert sorted(entries) == ["frame.csv", "kobo/backcheck.csv", "kobo/baseline.csv"]
    baseline = entries["kobo/baseline.csv"]
    assert baseline.sha256 == hashlib.sha256(BASELINE.encode("utf-8")).hexdigest()
    assert baseline.size == len(BASELINE.encode("utf-8"))
    assert baseline.rows == ((MAIN_TABLE, 2),)
    assert baseline.encoding == "utf-8"
    assert baseline.delimiter == ";"
    assert entries["frame.csv"].kind == "sample_frame"
    assert entries["frame.csv"].encoding == "gb18030"
    out = tmp_path_factory.mktemp("out") / "manifest.json"
    write_manifest(loaded.manifest, out)
    first = out.read_bytes()
    assert read_manifest(out) == loaded.manifest
    write_manifest(read_sources(raw_dir, instruments).manifest, out)
    assert out.read_bytes() == first  # deterministic: no timestamps
    assert json.loads(first)["files"][0]["name"] == "frame.csv"


def test_a_download_that_lost_rows_is_refused(raw_dir, instruments):
    loaded = read_sources(raw_dir, instruments)
    shorter = BASELINE.rsplit("\r\n", 2)[0] + "\r\n"
    (raw_dir / "kobo" / "baseline.csv").write_bytes(shorter.encode("utf-8"))
    with pytest.raises(RowCountError) as caught:
        read_sources(raw_dir, instruments, previous=loaded.manifest)
    assert "kobo/baseline.csv: table 'main' has 1 rows but the previous run read 2" in str(
        caught.value
    )


def test_unknown_instrument_round_and_missing_files(raw_dir, instruments):
    text = SOURCES.replace(
        'round = "baseline"\nformat = "kobo-csv"\nencoding = "utf-8"\ntimezone',
        'round = "midline"\nformat = "kobo-csv"\nencoding = "utf-8"\ntimezone',
        1,
    )
    (raw_dir / "sources.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SourcesConfigError) as caught:
        read_sources(raw_dir, instruments)
    assert "names instrument 'apprentice' round 'midline', which is not defined" in str(
        caught.value
    )
    (raw_dir / "sources.toml").write_text(SOURCES, encoding="utf-8")
    (raw_dir / "frame.csv").unlink()
    with pytest.raises(
        SourcesConfigError, match=r"frame\.csv: declared in sources\.toml but not found"
    ):
        read_sources(raw_dir, instruments)
    (raw_dir / "sources.toml").unlink()
    with pytest.raises(SourcesConfigError, match=r"no sources\.toml"):
        read_sources(raw_dir, instruments)
