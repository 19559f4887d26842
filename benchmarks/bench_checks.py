"""High-frequency checks on 5,000 respondents of the apprentice baseline questionnaire.

The round is synthetic text as the loaders deliver it: every question of the project's form (about
200 in the main table, a training repeat with about one course per respondent), answers drawn at
random within their lists and ranges, 2% "don't know" typed in various forms, a rushing
enumerator and some duplicates. Times preparing the round (normalisation, special codes, skip
logic of every question), every check, and the outputs (workbook, CSV, HTML). The peer is the
naive implementation of the costliest step: skip logic and constraints evaluated row by row with
the row evaluator (``expressions.holds``), timed on 250 rows and scaled to 5,000.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys
import time

import numpy as np
import pandas as pd

from evaluation.checks import output_files, prepare_round
from evaluation.checks.findings import Findings
from evaluation.checks.run import round_results
from evaluation.instruments.expressions import (
    ExpressionError,
    evaluate_frame,
    holds,
    holds_frame,
    parse,
)
from evaluation.instruments.files import read_instruments
from evaluation.loaders import META_COLUMNS, RawRound, Source, SourceInfo

ROOT = pathlib.Path(__file__).resolve().parents[1]
N = 5_000
PEER_ROWS = 250


def _draw(q, lists, n: int, rng: np.random.Generator) -> np.ndarray:
    if q.is_select and q.list_name in lists:
        codes = [c.name for c in lists[q.list_name].choices if not c.special and not c.exclusive]
        values = rng.choice(codes, n).astype(object)
        if q.type == "select_multiple" and len(codes) > 1:
            second = rng.choice(codes, n).astype(object)
            values = np.where(second != values, values + " " + second, values)
        return values
    if q.is_numeric:
        low, high = q.soft_range or q.value_range or (0, 100)
        return rng.integers(int(low), int(high) + 1, n).astype(str).astype(object)
    if q.type == "text":
        return np.array([f"文本{k % 97}" for k in range(n)], dtype=object)
    return np.full(n, "", dtype=object)


def _fill(form, n: int, rng: np.random.Generator, fixed: dict) -> pd.DataFrame:
    """Answer the main table in form order: skip logic obeyed, constraints mostly met."""
    lists = {cl.name: cl for cl in form.choice_lists}
    frame = pd.DataFrame(index=range(n))
    for q, parents in form.walk():
        if q.is_container or any(p.type == "repeat" for p in parents) or q.type == "note":
            continue
        if q.name in fixed:
            values = fixed[q.name]
        elif q.type == "calculate":
            try:
                values = evaluate_frame(q.calculation or "''", frame).astype(str).to_numpy(object)
                values = np.where(values == "nan", "", values)
            except ExpressionError:
                values = np.full(n, "", dtype=object)
        else:
            values = _draw(q, lists, n, rng)
        asked = np.ones(n, dtype=bool)
        for text in (*(p.relevant for p in parents), q.relevant):
            if text:
                with contextlib.suppress(ExpressionError):
                    asked &= holds_frame(text, frame).to_numpy(dtype=bool)
        frame[q.name] = np.where(asked, values, "")
        if q.constraint and q.name not in fixed:
            for _ in range(5):
                try:
                    ok = holds_frame(q.constraint, frame, current=q.name).to_numpy(dtype=bool)
                except ExpressionError:
                    break
                bad = asked & ~ok & (frame[q.name].to_numpy(dtype=object) != "")
                if not bad.any():
                    break
                column = frame[q.name].to_numpy(dtype=object).copy()
                column[bad] = _draw(q, lists, int(bad.sum()), rng)
                frame[q.name] = column
        if q.special and q.asks_respondent:
            dk = asked & (rng.uniform(size=n) < 0.02)
            column = frame[q.name].to_numpy(dtype=object).copy()
            column[dk] = rng.choice(["-99", "不知道", "－９９"], int(dk.sum()))
            frame[q.name] = column
    return frame


def _answers(form, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = np.array([f"TJ{k // 100:03d}{k % 100:03d}" for k in range(n)], dtype=object)
    fixed = {
        "today": np.full(n, "2026-12-10", dtype=object),
        "meta_enum_id": np.array([f"E{k % 40:03d}" for k in range(n)], dtype=object),
        "meta_city": np.full(n, "TJ", dtype=object),
        "enterprise_id": np.array([k[:5] for k in keys], dtype=object),
        "resp_id": keys,
        "resp_id_check": keys,
        "meta_consent": np.where(rng.uniform(size=n) < 0.97, "1", "0").astype(object),
        "id_phone": np.array([f"139{k:08d}" for k in range(n)], dtype=object),
    }
    main = _fill(form, n, rng, fixed)
    main = pd.concat([main, main.iloc[:50]], ignore_index=True)  # 50 resubmissions
    courses = pd.DataFrame(
        {
            "trn_c_type": rng.choice(["1", "2", "3"], n // 2),
            "trn_c_hours": rng.integers(1, 200, n // 2).astype(str),
        }
    )
    return main, courses


def make_round(n: int = N, seed: int = 0) -> RawRound:
    form = read_instruments(ROOT / "surveys")[("apprentice", "baseline")]
    rng = np.random.default_rng(seed)
    data, courses = _answers(form, n, rng)
    n = len(data)
    days = rng.integers(0, 20, n) * 24 * 60
    start = pd.Timestamp("2026-12-05 00:00", tz="UTC") + pd.to_timedelta(
        days + rng.integers(0, 10 * 60, n), unit="min"
    )  # 08:00-18:00 in Asia/Shanghai
    minutes = np.where(data["meta_enum_id"].to_numpy() == "E007", 9, rng.normal(40, 8, n))
    end = start + pd.to_timedelta(minutes, unit="min")
    data["start"] = start.tz_convert("Asia/Shanghai").strftime("%Y-%m-%dT%H:%M:%S.000+08:00")
    data["end"] = end.tz_convert("Asia/Shanghai").strftime("%Y-%m-%dT%H:%M:%S.000+08:00")
    meta = pd.DataFrame(
        {
            "source_row": np.arange(2, n + 2),
            "key": [f"uuid:{k}" for k in range(n)],
            "instance_id": [f"uuid:{k}" for k in range(n)],
            "submitted_at": end + pd.Timedelta(hours=2),
            "start": start,
            "end": end,
            "form_version": "v1",
            "device_id": "collect:x",
            "review_state": None,
        }
    )[list(META_COLUMNS)]
    parents = np.flatnonzero(data["trn_any_12m"].to_numpy(dtype=object) == "1")[: len(courses)]
    courses = courses.iloc[: len(parents)]
    links = pd.DataFrame(
        {
            "submission_row": parents + 2,
            "instance_id": [f"uuid:{k}" for k in parents],
            "parent_key": [f"uuid:{k}" for k in parents],
            "key": [f"uuid:{k}/trn_course[1]" for k in parents],
            "source_row": parents + 2,
        }
    )
    source = Source(
        name="bench.csv",
        path=pathlib.Path("bench.csv"),
        instrument="apprentice",
        round="baseline",
        format="csv",
        encoding="utf-8",
        delimiter=",",
    )
    info = SourceInfo(name="bench.csv", sha256="0" * 64, size=0, format="csv")
    return RawRound(
        instrument=form,
        round="baseline",
        source=source,
        info=info,
        data=data,
        meta=meta,
        repeats={"trn_course": pd.concat([links, courses.reset_index(drop=True)], axis=1)},
    )


def peer(raw: RawRound, rows: int) -> float:
    """Skip logic and constraints of every main-table question, one row at a time."""
    form = raw.instrument
    records = raw.data.iloc[:rows].to_dict("records")
    checks = []
    for q, parents in form.walk():
        if q.is_container or any(p.type == "repeat" for p in parents) or q.name not in raw.data:
            continue
        for text in (*(p.relevant for p in parents), q.relevant, q.constraint):
            if text:
                try:
                    parse(text)
                except ExpressionError:
                    continue
                checks.append((text, q.name))
    start = time.perf_counter()
    for record in records:
        for text, name in checks:
            try:
                holds(text, record, current=name)
            except ExpressionError:
                continue
    return time.perf_counter() - start


def main() -> None:
    raw = make_round()
    print(
        f"apprentice baseline: {len(raw.data):,} submissions x {raw.data.shape[1]} columns, "
        f"{len(raw.repeats['trn_course']):,} repeat rows"
    )
    start = time.perf_counter()
    prepared = prepare_round(raw)
    t_prepare = time.perf_counter() - start
    start = time.perf_counter()
    results = round_results(prepared)
    t_checks = time.perf_counter() - start
    findings = Findings.collect((prepared.label, r) for r in results)
    start = time.perf_counter()
    files = output_files(findings)
    t_outputs = time.perf_counter() - start
    total = t_prepare + t_checks
    print(f"prepare (normalise, special codes, skip logic): {t_prepare:6.2f} s")
    print(f"all checks:                                     {t_checks:6.2f} s")
    print(
        f"prepare + checks:                               {total:6.2f} s "
        f"({len(findings.findings):,} findings)"
    )
    print(f"outputs (workbook, CSV, HTML, {len(files)} files):        {t_outputs:6.2f} s")
    naive = peer(raw, PEER_ROWS) * (N / PEER_ROWS)
    print(
        f"peer: row-by-row skip logic and constraints (holds), {PEER_ROWS} rows scaled to "
        f"{N:,}: {naive:6.2f} s; ratio peer / (prepare + checks) {naive / total:5.1f}x"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
