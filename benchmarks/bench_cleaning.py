"""Cleaning time and peak memory at 5,000 and 1,000,000 respondents (issue 5).

Each size runs in a fresh process: synthetic raw rows of a 20-question form (select_one,
integers with ranges and special codes, a select_multiple with exclusive options and its
indicator columns, free text, a date, skip logic, a constraint, a name and a phone) with the
messiness cleaning handles (full-width digits, text special codes, out-of-range values, skip
violations, resubmissions), cleaned by :func:`evaluation.cleaning.clean_round`. Peak memory is
the growth of the process's peak resident set during cleaning (``ru_maxrss``; pyarrow memory
included, which ``tracemalloc`` would miss).

Peer, measured in the same process on the same rows: what naive pandas does with the same
columns (``pd.to_numeric(errors="coerce")`` on the numbers and codes, ``str.get_dummies`` on the
select_multiple, ``pd.to_datetime(errors="coerce")`` on the date, ``drop_duplicates`` on the key),
which loses reasons, flags and accounting. The ratio says what the careful version costs.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time

import numpy as np
import pandas as pd

#: Respondents per run (override with BENCH_CLEANING_SIZES="5000,50000").
SIZES = tuple(
    int(size) for size in os.environ.get("BENCH_CLEANING_SIZES", "5000,1000000").split(",")
)


EXCLUSIVE = "not((selected(., '0') or selected(., '-99')) and count-selected(.) > 1)"


def _instrument():
    from evaluation.instruments.model import (
        Choice,
        ChoiceList,
        Instrument,
        Question,
        SpecialCode,
        Text,
    )

    def t(text):
        return Text.of({"English (en)": text})

    special = (
        SpecialCode("dont_know", -99, t("Don't know")),
        SpecialCode("refused", -98, t("Refused")),
        SpecialCode("not_applicable", -97, t("Not applicable")),
    )
    lists = (
        ChoiceList("yes_no", (Choice("1", t("Yes")), Choice("0", t("No")))),
        ChoiceList("sex", (Choice("1", t("Male")), Choice("2", t("Female")))),
        ChoiceList("edu", tuple(Choice(str(i), t(f"Level {i}")) for i in range(1, 13))),
        ChoiceList(
            "si",
            (
                *(Choice(str(i), t(f"Insurance {i}")) for i in range(1, 7)),
                Choice("0", t("None"), exclusive=True),
                Choice("-99", t("Don't know"), special="dont_know", exclusive=True),
            ),
        ),
        ChoiceList("sat", tuple(Choice(str(i), t(f"Sat {i}")) for i in range(1, 6))),
    )
    works = "${job_work} = 1"
    questions = (
        Question("resp_id", "text", required="yes", constraint="regex(., '^[A-Z]{2}[0-9]{6}$')"),
        Question("meta_consent", "select_one", list_name="yes_no", required="yes"),
        Question("id_name", "text", pii="direct", relevant="${meta_consent} = 1"),
        Question("id_phone", "text", pii="direct", special=("refused",)),
        Question(
            "main",
            "group",
            relevant="${meta_consent} = 1",
            children=(
                Question("dem_sex", "select_one", list_name="sex", required="yes"),
                Question(
                    "dem_birth_year",
                    "integer",
                    required="yes",
                    value_range=(1950.0, 2010.0),
                    soft_range=(1960.0, 2008.0),
                    special=("dont_know", "refused"),
                ),
                Question("edu_level", "select_one", list_name="edu", required="yes"),
                Question("job_work", "select_one", list_name="yes_no", required="yes"),
                Question(
                    "job_wage",
                    "integer",
                    required="yes",
                    relevant=works,
                    value_range=(0.0, 100000.0),
                    soft_range=(500.0, 30000.0),
                    special=("dont_know", "refused"),
                ),
                Question("job_hours", "integer", relevant=works, value_range=(1.0, 112.0)),
                Question(
                    "job_si",
                    "select_multiple",
                    list_name="si",
                    required="yes",
                    relevant=works,
                    constraint=EXCLUSIVE,
                ),
                Question("job_title_text", "text", relevant=works),
                Question("job_start", "date", relevant=works),
                Question("job_sat", "select_one", list_name="sat", relevant=works),
                Question("trn_any", "select_one", list_name="yes_no", required="yes"),
                Question(
                    "trn_hours", "integer", relevant="${trn_any} = 1", value_range=(1.0, 2000.0)
                ),
            ),
        ),
    )
    return Instrument(
        form_id="bench",
        title="Benchmark form",
        version="1",
        languages=("English (en)",),
        default_language="English (en)",
        questions=questions,
        choice_lists=lists,
        special_codes=special,
        instrument="bench",
        round="baseline",
    )


def _rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    def pick(values, p=None):
        return np.asarray(values, dtype=object)[rng.choice(len(values), n, p=p)]

    resp = np.char.add("TJ", np.char.zfill(np.arange(n).astype(str), 6)).astype(object)
    work = pick(["1", "0"], [0.7, 0.3])
    wage = rng.integers(1500, 20000, n).astype(str).astype(object)
    wage = np.where(rng.random(n) < 0.03, pick(["-99", "-98", "不知道", "拒绝"]), wage)
    wage = np.where(
        rng.random(n) < 0.01,
        pd.Series(wage)
        .str.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        .to_numpy(),
        wage,
    )
    wage = np.where(work == "1", wage, np.where(rng.random(n) < 0.01, "3000", ""))
    si = pick(["1 2", "1 2 3 4 5", "1", "0", "-99", "2 6"])
    si = np.where(work == "1", si, "")
    frame = pd.DataFrame(
        {
            "resp_id": resp,
            "meta_consent": pick(["1", "1", "1", "0"]),
            "id_name": pick(["张三", "李四", "王五", "赵六"]),
            "id_phone": np.char.add(
                "13", rng.integers(100_000_000, 999_999_999, n).astype(str)
            ).astype(object),
            "dem_sex": pick(["1", "2"]),
            "dem_birth_year": rng.integers(1940, 2009, n).astype(str).astype(object),
            "edu_level": rng.integers(1, 13, n).astype(str).astype(object),
            "job_work": work,
            "job_wage": wage,
            "job_hours": np.where(work == "1", rng.integers(20, 70, n).astype(str), ""),
            "job_si": si,
            "job_title_text": np.where(
                work == "1", pick(["焊工", "电工", "车工", "钳工", "数控操作工"]), ""
            ),
            "job_start": np.where(
                work == "1", pick(["2023-01-15", "2024-03-05", "2022-11-30"]), ""
            ),
            "job_sat": np.where(work == "1", rng.integers(1, 6, n).astype(str), ""),
            "trn_any": pick(["1", "0"]),
            "trn_hours": "",
        }
    )
    frame["trn_hours"] = np.where(frame["trn_any"] == "1", rng.integers(1, 200, n).astype(str), "")
    for code in ("1", "2", "3", "4", "5", "6", "0"):
        has = pd.Series(si).str.split().map(lambda parts, c=code: c in parts)
        frame[f"job_si/{code}"] = np.where(si == "", "", np.where(has, "1", "0"))
    # resubmissions: 0.2% of rows are exact copies of the row before
    rows = np.arange(n)
    copies = rows[1:][rng.random(n - 1) < 0.002]
    rows[copies] = copies - 1
    rows[copies] = rows[copies - 1]
    return frame.iloc[rows].reset_index(drop=True).astype("string")


def _raw(frame: pd.DataFrame, instrument):
    import pathlib

    from evaluation.loaders import META_COLUMNS, RawRound, Source, SourceInfo

    n = len(frame)
    meta = pd.DataFrame(
        {
            "source_row": np.arange(2, n + 2),
            "key": pd.array([f"uuid:{i}" for i in range(n)], dtype="string"),
            "instance_id": pd.array([f"uuid:{i}" for i in range(n)], dtype="string"),
            "submitted_at": pd.Timestamp("2026-03-01", tz="UTC")
            + pd.to_timedelta(np.arange(n) % 86400, unit="s"),
            "start": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]"),
            "end": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]"),
            "form_version": pd.array(["1"] * n, dtype="string"),
            "device_id": pd.array([pd.NA] * n, dtype="string"),
            "review_state": pd.array([pd.NA] * n, dtype="string"),
        }
    )[list(META_COLUMNS)]
    source = Source(
        name="bench.csv",
        path=pathlib.Path("bench.csv"),
        instrument="bench",
        round="baseline",
        format="csv",
        encoding="utf-8",
        delimiter=",",
    )
    info = SourceInfo(name="bench.csv", sha256="0" * 64, size=0, format="csv", rows=(("main", n),))
    return RawRound(
        instrument=instrument, round="baseline", source=source, info=info, data=frame, meta=meta
    )


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for column in (
        "meta_consent",
        "dem_sex",
        "dem_birth_year",
        "edu_level",
        "job_work",
        "job_wage",
        "job_hours",
        "job_sat",
        "trn_any",
        "trn_hours",
    ):
        out[column] = pd.to_numeric(frame[column], errors="coerce")
    out = out.join(frame["job_si"].str.get_dummies(sep=" ").add_prefix("job_si__"))
    out["job_start"] = pd.to_datetime(frame["job_start"], errors="coerce")
    out["resp_id"] = frame["resp_id"]
    return out.drop_duplicates("resp_id")


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _measure(n: int, queue) -> None:
    try:
        _run(n, queue)
    except Exception as err:  # report, never hang the parent
        queue.put({"n": n, "error": f"{type(err).__name__}: {err}"})
        raise


def _run(n: int, queue) -> None:
    from evaluation.cleaning import Decisions, clean_round
    from evaluation.cleaning.rules import CleaningRules

    instrument = _instrument()
    frame = _rows(n, np.random.default_rng(20260301))
    raw = _raw(frame, instrument)
    start = time.perf_counter()
    naive = _naive(frame)
    peer = time.perf_counter() - start
    del naive
    before = _rss_mb()
    start = time.perf_counter()
    result = clean_round(raw, instrument, Decisions(rules=CleaningRules()))
    ours = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = result.summary()["bench.csv"]
    queue.put(
        {
            "n": n,
            "ours": ours,
            "peer": peer,
            "peak_growth_mb": max(peak - before, 0.0),
            "peak_mb": peak,
            "kept": summary["rows_kept"],
            "excluded": summary["rows_excluded"],
            "changed": summary["values_changed"],
            "problems": sum(summary["problems"].values()),
        }
    )


def main() -> None:
    context = multiprocessing.get_context("spawn")
    print(
        f"{'respondents':>12} {'clean (s)':>10} {'naive pandas (s)':>17} {'ratio':>6} "
        f"{'peak RSS (MB)':>14} {'growth (MB)':>12} {'kept':>9} {'excluded':>9} "
        f"{'changed':>8} {'problems':>9}"
    )
    for n in SIZES:
        queue = context.Queue()
        process = context.Process(target=_measure, args=(n, queue))
        process.start()
        row = queue.get()
        process.join()
        if "error" in row:
            print(f"{row['n']:>12,} failed: {row['error']}")
            continue
        print(
            f"{row['n']:>12,} {row['ours']:>10.2f} {row['peer']:>17.2f} "
            f"{row['ours'] / row['peer']:>6.1f} {row['peak_mb']:>14.0f} "
            f"{row['peak_growth_mb']:>12.0f} {row['kept']:>9,} {row['excluded']:>9,} "
            f"{row['changed']:>8,} {row['problems']:>9,}"
        )


if __name__ == "__main__":
    main()
