"""Loading time of every source format: ``read_round`` vs the plain reader, in the same run.

For 5,000 and 100,000 submissions of the apprentice baseline form (its metadata, identification
and demographics columns, with Chinese names, phones, IDs and ISO times), each format is written
once into a temporary folder and read by

- ours: :func:`evaluation.loaders.read_round` (hash, strict decoding, record scan, header checks
  against the instrument, canonical metadata with parsed times, mangled-ID and mojibake checks);
- the plain reader: ``pandas.read_csv(dtype=str)`` for the CSV formats (the zip member for ODK),
  ``pandas.read_excel(engine="calamine")`` for workbooks, ``pyreadstat.read_sav``/``read_dta``.

The two readers alternate five times and each keeps its best time (the machine is shared); the
ratio ours / plain is the figure of merit (goal within 1.2x).
"""

from __future__ import annotations

import io
import pathlib
import tempfile
import time
import warnings
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat

from evaluation.instruments.files import read_instruments
from evaluation.loaders import Source, read_round

ROOT = pathlib.Path(__file__).resolve().parents[1]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英")


def make_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-12-01T08:00:00") + pd.to_timedelta(
        rng.integers(0, 30 * 86400, n_rows), unit="s"
    )
    end = start + pd.to_timedelta(rng.integers(1200, 4000, n_rows), unit="s")
    names = [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c % 2 else "")
        for a, b, c in zip(
            rng.integers(0, len(SURNAMES), n_rows),
            rng.integers(0, len(GIVEN), n_rows),
            rng.integers(0, len(GIVEN), n_rows),
            strict=True,
        )
    ]
    enterprise = [f"TJ{e:03d}" for e in rng.integers(1, 400, n_rows)]
    table = pd.DataFrame(
        {
            "start": start.strftime("%Y-%m-%dT%H:%M:%S.000+08:00"),
            "end": end.strftime("%Y-%m-%dT%H:%M:%S.000+08:00"),
            "today": start.strftime("%Y-%m-%d"),
            "deviceid": [f"collect:{d:012d}" for d in rng.integers(0, 10**12, n_rows)],
            "username": [f"enum{e:03d}" for e in rng.integers(1, 80, n_rows)],
            "meta_enum_id": [f"E{e:03d}" for e in rng.integers(1, 80, n_rows)],
            "meta_city": "TJ",
            "enterprise_id": enterprise,
            "meta_consent": "1",
            "meta_under18": rng.choice(["0", "1"], n_rows, p=[0.9, 0.1]),
            "resp_id": [f"{e}{i % 1000:03d}" for i, e in enumerate(enterprise)],
            "id_name": names,
            "id_phone": [f"1{d}" for d in rng.integers(3 * 10**9, 10**10 - 1, n_rows)],
            "dem_sex": rng.choice(["1", "2"], n_rows),
            "dem_birth_year": rng.integers(1970, 2008, n_rows).astype(str),
            "dem_birth_month": rng.integers(1, 13, n_rows).astype(str),
            "dem_marital": rng.choice(["1", "2", "3"], n_rows),
            "dem_children_u6": rng.integers(0, 3, n_rows).astype(str),
            "dem_ethnicity": rng.choice(["1", "2", "-99"], n_rows),
            "dem_hukou_type": rng.choice(["1", "2", "3"], n_rows),
            "dem_hukou_location": rng.choice(["1", "2", "3", "4"], n_rows),
            "dem_months_nonfarm_local": rng.integers(0, 13, n_rows).astype(str),
            "dem_months_away": rng.integers(0, 13, n_rows).astype(str),
            "dem_wg_seeing": rng.choice(["1", "2", "3", "4"], n_rows),
            "dem_wg_hearing": rng.choice(["1", "2", "3", "4"], n_rows),
            "dem_disability_cert": rng.choice(["0", "1"], n_rows),
        }
    )
    return table


def write_files(table: pd.DataFrame, folder: pathlib.Path) -> dict[str, tuple[Source, object]]:
    n = len(table)
    submitted = (
        pd.to_datetime(table["end"].str[:19]) - pd.Timedelta(hours=8) + pd.Timedelta(minutes=2)
    )
    uuid = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(n)]
    files: dict[str, tuple[Source, object]] = {}

    def declare(name: str, fmt: str, **options: object) -> Source:
        return Source(
            name=name,
            path=folder / name,
            instrument="apprentice",
            round="baseline",
            format=fmt,
            root=folder,
            **options,
        )  # type: ignore[arg-type]

    kobo = table.assign(
        _id=range(1, n + 1),
        _uuid=uuid,
        _submission_time=submitted.dt.strftime("%Y-%m-%dT%H:%M:%S"),
        __version__="vABC",
    )
    kobo.to_csv(folder / "kobo.csv", sep=";", index=False, quoting=1, lineterminator="\r\n")
    files["kobo-csv"] = (
        declare("kobo.csv", "kobo-csv", encoding="utf-8"),
        lambda: pd.read_csv(folder / "kobo.csv", sep=";", dtype=str, keep_default_na=False),
    )
    odk = table.assign(
        KEY=["uuid:" + u for u in uuid], FormVersion="2026112501", ReviewState="", DeviceID=""
    )
    odk.insert(0, "SubmissionDate", submitted.dt.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "qall2_apprentice_baseline.csv", odk.to_csv(index=False, lineterminator="\n")
        )
    (folder / "odk.zip").write_bytes(buffer.getvalue())

    def plain_zip() -> pd.DataFrame:
        with (
            zipfile.ZipFile(folder / "odk.zip") as archive,
            archive.open("qall2_apprentice_baseline.csv") as member,
        ):
            return pd.read_csv(member, dtype=str, keep_default_na=False)

    files["odk-zip"] = (declare("odk.zip", "odk-zip", encoding="utf-8"), plain_zip)
    scto = table.rename(columns={"start": "starttime", "end": "endtime"}).assign(
        instanceID=["uuid:" + u for u in uuid],
        formdef_version="2026112501",
        KEY=["uuid:" + u for u in uuid],
    )
    scto.insert(0, "SubmissionDate", submitted.dt.strftime("%b %-d, %Y %-I:%M:%S %p"))
    scto["starttime"] = pd.to_datetime(table["start"].str[:19]).dt.strftime(
        "%b %-d, %Y %-I:%M:%S %p"
    )
    scto["endtime"] = pd.to_datetime(table["end"].str[:19]).dt.strftime("%b %-d, %Y %-I:%M:%S %p")
    scto.to_csv(folder / "scto_WIDE.csv", index=False)
    fmt = "%b %d, %Y %I:%M:%S %p"
    files["surveycto-wide"] = (
        declare(
            "scto_WIDE.csv",
            "surveycto-wide",
            encoding="utf-8",
            date_formats=(("submitted_at", fmt), ("start", fmt), ("end", fmt)),
            timezone="Asia/Shanghai",
        ),
        lambda: pd.read_csv(folder / "scto_WIDE.csv", dtype=str, keep_default_na=False),
    )
    table.to_csv(folder / "firm.csv", index=False, encoding="gb18030")
    files["csv (gb18030)"] = (
        declare(
            "firm.csv",
            "csv",
            encoding="gb18030",
            delimiter=",",
            date_formats=(("start", "iso8601"), ("end", "iso8601")),
        ),
        lambda: pd.read_csv(
            folder / "firm.csv", dtype=str, keep_default_na=False, encoding="gb18030"
        ),
    )
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("数据")
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append(list(row))
    book.save(folder / "firm.xlsx")
    files["xlsx"] = (
        declare("firm.xlsx", "xlsx", date_formats=(("start", "iso8601"), ("end", "iso8601"))),
        lambda: pd.read_excel(folder / "firm.xlsx", engine="calamine"),
    )
    typed = table.drop(columns=["start", "end", "today"]).copy()
    for column in (
        "dem_sex",
        "dem_birth_year",
        "dem_birth_month",
        "dem_marital",
        "dem_ethnicity",
        "dem_hukou_type",
    ):
        typed[column] = typed[column].astype(float)
    pyreadstat.write_sav(typed, str(folder / "firm.sav"), missing_ranges={"dem_ethnicity": [-99.0]})
    files["spss"] = (
        declare("firm.sav", "spss"),
        lambda: pyreadstat.read_sav(str(folder / "firm.sav")),
    )
    pyreadstat.write_dta(typed, str(folder / "firm.dta"))
    files["stata"] = (
        declare("firm.dta", "stata"),
        lambda: pyreadstat.read_dta(str(folder / "firm.dta")),
    )
    return files


def interleaved(ours, plain, repeats: int = 5) -> tuple[float, float]:
    # Alternate the two readers and keep each one's best time, so that load from other
    # processes on a shared machine hits both alike.
    best_ours = best_plain = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ours()
        best_ours = min(best_ours, time.perf_counter() - start)
        start = time.perf_counter()
        plain()
        best_plain = min(best_plain, time.perf_counter() - start)
    return best_ours, best_plain


def main() -> None:
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("evaluation.loaders").setLevel(logging.ERROR)
    form = read_instruments(ROOT / "surveys")[("apprentice", "baseline")]
    print(f"{'format':<16}{'rows':>9}{'ours (s)':>11}{'plain (s)':>11}{'ratio':>8}")
    for n_rows in (5_000, 100_000):
        table = make_table(n_rows)
        with tempfile.TemporaryDirectory() as tmp:
            files = write_files(table, pathlib.Path(tmp))
            for label, (source, plain) in files.items():
                raw = read_round(source, form)
                assert len(raw) == n_rows
                ours, peer = interleaved(lambda source=source: read_round(source, form), plain)
                print(f"{label:<16}{n_rows:>9,}{ours:>11.3f}{peer:>11.3f}{ours / peer:>7.2f}x")


if __name__ == "__main__":
    main()
