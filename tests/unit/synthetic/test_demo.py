"""The demo world end to end: clean answers obey every form; messy files hold the manifest.

Clean mode is checked with ``check_responses`` (the expression evaluator only); messy mode by
reading the written files back with pandas and counting each kind of problem independently of
the code that injected it.
"""

from __future__ import annotations

import io
import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from evaluation.synthetic.answers import apprentice_answers, capacity_answers, enterprise_answers
from evaluation.synthetic.demo import DemoOptions, attachments, build_demo
from evaluation.synthetic.population import simulate_enterprise_rounds
from evaluation.synthetic.respond import Responses, Table, answer_instrument, check_responses

SMALL = {"n_enterprises": 8, "apprentices_per_enterprise": 15}
WRITERS = {"apprentice": apprentice_answers, "enterprise": enterprise_answers}


def _answer(world, form, family, round_name):
    writer = {
        "apprentice": apprentice_answers,
        "enterprise": enterprise_answers,
        "capacity": capacity_answers,
    }[family]
    fixed, _ = writer(world, round_name, form)
    return answer_instrument(form, fixed, np.random.default_rng(1), attachments=attachments(world))


@pytest.mark.parametrize("round_name", ["baseline", "endline"])
def test_project_forms_clean_answers_break_no_rule(small_world, project_forms, round_name):
    form = project_forms[("apprentice", round_name)]
    responses = _answer(small_world, form, "apprentice", round_name)
    kinds = {note.kind for note in responses.notes}
    assert kinds <= {"absent"}, [str(n) for n in responses.notes if n.kind != "absent"]
    violations = check_responses(
        responses, attachments=attachments(small_world), today=small_world.config.baseline_start
    )
    assert violations.empty, violations.head().to_string()
    main = responses.main
    done = main[main["resp_id"] != ""]
    frame = small_world.apprentices.set_index("resp_id")
    assert (done["enterprise_id"] == done["resp_id"].str.slice(0, 5)).all()
    hukou = frame.loc[done["resp_id"], "hukou_type"].astype(str).to_numpy()
    assert (done["dem_hukou_type"].to_numpy() == hukou).all()


def test_stand_in_forms_carry_the_process(small_world, stand_in_forms):
    rounds = simulate_enterprise_rounds(small_world).set_index(["round", "enterprise_id"])
    for (family, round_name), form in stand_in_forms.items():
        responses = _answer(small_world, form, family, round_name)
        assert {n.kind for n in responses.notes} <= {"absent"}
        assert check_responses(responses).empty
        main = responses.main
        if family == "enterprise":
            expected = rounds.loc[round_name].loc[main["enterprise_id"], "ent_skill_gap_share"]
            assert (main["ent_skill_gap_share"].to_numpy() == expected.astype(str).to_numpy()).all()
        if family == "capacity":
            assert main["participant_id"].str.fullmatch(r"P[0-9]{5}").all()
            assert set(main["cb_q01"]) <= {"1", "2", "3", "-99"}
            assert set(main["cb_se_confident"]) <= {"1", "2", "3", "4", "5"}


def test_capacity_scores_follow_the_answer_keys(small_world, stand_in_forms):
    pre = _answer(small_world, stand_in_forms[("capacity", "pre")], "capacity", "pre").main
    post = _answer(small_world, stand_in_forms[("capacity", "post")], "capacity", "post").main
    score = {
        "pre": ((pre["cb_q01"] == "2").mean() + (pre["cb_q02"] == "3").mean()) / 2,
        "post": ((post["cb_q01"] == "2").mean() + (post["cb_q02"] == "3").mean()) / 2,
    }
    assert score["post"] > score["pre"] + 0.1


@pytest.fixture(scope="module")
def messy(project_forms):
    return build_demo(project_forms, DemoOptions(seed=4, format="kobo-csv", **SMALL))


def _read(demo, name):
    data = demo.files[f"raw/exports/kobo-csv/{name}.csv"]
    frame = pd.read_csv(io.BytesIO(data), sep=";", dtype=str, keep_default_na=False)
    return frame.rename(
        columns=lambda c: (
            c.rsplit("/", 1)[-1] if "/" in c and not c.split("/")[-1].lstrip("-").isdigit() else c
        )
    )


def test_manifest_is_written_and_complete(messy):
    written = pd.read_csv(io.BytesIO(messy.files["manifest.csv"]), dtype=str, keep_default_na=False)
    assert list(written.columns) == ["file", "key", "instance_id", "column", "kind", "detail"]
    assert len(written) == len(messy.manifest)
    kinds = set(written["kind"])
    assert {
        "exact_resubmission",
        "conflicting_duplicate",
        "mistyped_id",
        "leading_zero_id",
        "full_width_digits",
        "out_of_range",
        "skip_logic_violation",
        "rushed_interview",
        "direct_identifier",
    } <= kinds


def _manifest(demo, name, kind):
    m = demo.manifest
    return m[(m["file"] == f"raw/exports/kobo-csv/{name}.csv") & (m["kind"] == kind)]


@pytest.mark.parametrize("name", ["qall2_apprentice_baseline", "qall2_apprentice_endline"])
def test_duplicates_in_the_file_match_the_manifest(messy, name):
    frame = _read(messy, name)
    done = frame[frame["resp_id"] != ""]
    exact = _manifest(messy, name, "exact_resubmission")
    conflicting = _manifest(messy, name, "conflicting_duplicate")
    extra_rows = len(done) - done["resp_id"].nunique()
    assert extra_rows == len(exact) + conflicting["instance_id"].nunique()
    meta = [c for c in frame.columns if c.startswith("_") or c in ("start", "end")]
    answers = [c for c in frame.columns if c not in meta]
    for row in exact.itertuples():
        group = done[done["resp_id"] == row.key]
        assert len(group) == 2
        assert (group[answers].nunique() == 1).all()
    for row in conflicting.itertuples():
        group = done[done["resp_id"] == row.key]
        copy = group[group["_uuid"] == row.instance_id[5:]]
        original = group[group["_uuid"] != row.instance_id[5:]]
        assert copy[row.column].iat[0] != original[row.column].iat[0]
        assert row.detail == f"was {original[row.column].iat[0]!r}"


@pytest.mark.parametrize("name", ["qall2_apprentice_baseline", "qall2_apprentice_endline"])
def test_ids_and_digits_in_the_file_match_the_manifest(messy, name):
    frame = _read(messy, name)
    frame_ids = set(messy.population.apprentices["resp_id"])
    done = frame[frame["resp_id"] != ""]
    unknown = done[~done["resp_id"].isin(frame_ids)]
    mistyped = _manifest(messy, name, "mistyped_id")
    zeros = _manifest(messy, name, "leading_zero_id")
    assert len(unknown) == len(mistyped) + len(zeros)
    assert set(unknown["resp_id"]) == set(mistyped["key"]) | set(zeros["key"])
    assert zeros["key"].str.fullmatch(r"[A-Z]{2}[1-9][0-9]*").all()
    full = frame.apply(lambda c: c.str.contains("[０-９]", regex=True)).sum().sum()
    assert full == len(_manifest(messy, name, "full_width_digits"))


@pytest.mark.parametrize("name", ["qall2_apprentice_baseline", "qall2_apprentice_endline"])
def test_rule_breaks_in_the_file_match_the_manifest(messy, project_forms, name):
    frame = _read(messy, name)
    round_name = name.rsplit("_", 1)[-1]
    form = project_forms[("apprentice", round_name)]
    columns = [q.name for q, _ in form.walk() if not q.is_container]
    table = Table("main", None, frame[columns].astype(object))
    found = check_responses(
        Responses(form, (table,), ()), attachments=attachments(messy.population)
    )
    out_of_range = _manifest(messy, name, "out_of_range")
    skipped = _manifest(messy, name, "skip_logic_violation")
    zeros = len(_manifest(messy, name, "leading_zero_id"))
    by_kind = found.groupby("kind").size()
    assert by_kind.get("not_relevant", 0) == len(skipped)
    # A leading-zero ID breaks the ID's pattern (its re-entry still equals it); full-width
    # digits break the phone's pattern; every other constraint break is out of range. A
    # mistyped ID keeps the pattern: only the sample frame reveals it.
    full_width = len(_manifest(messy, name, "full_width_digits"))
    assert by_kind.get("constraint", 0) == len(out_of_range) + zeros + full_width
    assert set(by_kind.index) <= {"constraint", "not_relevant"}
    for row in out_of_range.itertuples():
        question = form.question(row.column)
        value = float(frame.loc[frame["_uuid"] == row.instance_id[5:], row.column].iat[0])
        assert value > question.value_range[1]


def test_rushed_interviews_match_the_manifest(messy):
    frame = _read(messy, "qall2_apprentice_baseline")
    done = frame[frame["resp_id"] != ""]
    minutes = (
        pd.to_datetime(done["end"].str.slice(0, 19))
        - pd.to_datetime(done["start"].str.slice(0, 19))
    ).dt.total_seconds() / 60
    rushed = _manifest(messy, "qall2_apprentice_baseline", "rushed_interview")
    assert (minutes < 15).sum() == len(rushed) > 0
    assert done.loc[minutes < 15, "username"].nunique() == 1


def test_resident_ids_in_the_sample_frame(messy):
    frame = pd.read_csv(
        io.BytesIO(messy.files["raw/frame/sample_frame.csv"]), dtype=str, keep_default_na=False
    )
    listed = messy.manifest[messy.manifest["kind"] == "direct_identifier"]
    assert len(listed) == len(frame) == frame["resident_id"].str.fullmatch(r"\d{17}[\dX]").sum()


def test_clean_mode_has_no_problems(project_forms):
    demo = build_demo(project_forms, DemoOptions(seed=4, format="kobo-csv", clean=True, **SMALL))
    assert demo.manifest.empty
    assert demo.files["manifest.csv"].decode() == "file,key,instance_id,column,kind,detail\n"
    frame = pd.read_csv(
        io.BytesIO(demo.files["raw/frame/sample_frame.csv"]), dtype=str, keep_default_na=False
    )
    assert "resident_id" not in frame.columns
    for (family, round_name), submissions in demo.submissions.items():
        found = check_responses(submissions.responses, attachments=attachments(demo.population))
        assert found.empty, (family, round_name)
        assert submissions.responses.main["resp_id"].replace("", np.nan).dropna().is_unique


@pytest.mark.parametrize(
    "format_name", ["kobo-xlsx", "kobo-csv", "odk", "surveycto", "spss", "stata", "gb18030-csv"]
)
def test_same_seed_same_bytes_other_seed_differs(project_forms, format_name):
    options = DemoOptions(seed=7, format=format_name, **SMALL)
    first = build_demo(project_forms, options).files
    again = build_demo(project_forms, options).files
    assert first == again
    other = build_demo(project_forms, DemoOptions(seed=8, format=format_name, **SMALL)).files
    assert sorted(first) == sorted(other)
    exported = [p for p in first if p.startswith("raw/exports/")]
    assert exported
    assert all(first[p] != other[p] for p in exported)


def test_sources_toml_declares_every_file(messy):
    sources = tomllib.loads(messy.files["raw/sources.toml"].decode())
    paths = {f"raw/{entry['path']}" for entry in sources["files"]}
    assert paths == {p for p in messy.files if p.startswith("raw/exports/")}
    for entry in sources["files"]:
        assert entry["format"] == "kobo-csv"
        assert entry["delimiter"] == ";"
        assert entry["encoding"] == "utf-8"
        frame = _read(messy, entry["path"].rsplit("/", 1)[-1][:-4])
        assert entry["expected_rows"] == len(frame)
    assert sources["sample_frame"]["key"] == "resp_id"
    assert f"raw/{sources['sample_frame']['path']}" in messy.files
    assert f"raw/{sources['roster']['path']}" in messy.files
    roster = pd.read_csv(io.BytesIO(messy.files["raw/frame/roster.csv"]), dtype=str)
    assert roster["name"].is_unique
    assert set(roster["name"]) <= set(messy.population.apprentices["resp_id"])


def test_the_loaders_read_the_demo_folder(messy, project_forms, tmp_path):
    """Integration with the loaders stage (runs once both stages are on the same branch)."""
    loaders = pytest.importorskip("evaluation.loaders")
    from evaluation.synthetic.exports import write_files

    write_files(messy.files, tmp_path)
    loaded = loaders.read_sources(tmp_path / "raw", project_forms)
    sizes = sorted(len(r.data) for r in loaded.rounds)
    expected = sorted(len(s.responses.main) for s in messy.submissions.values())
    assert sizes == expected
    assert len(loaded.sample_frame.data) == len(messy.population.apprentices)


def test_backcheck_sample(messy):
    frame = pd.read_csv(io.BytesIO(messy.files["raw/frame/backcheck_sample.csv"]), dtype=str)
    counts = frame.groupby("enumerator").size()
    assert (counts >= 1).all()
    assert frame["resp_id"].is_unique
    assert frame["instance_id"].str.fullmatch(r"uuid:[0-9a-f-]{36}").all()
    assert all(re.fullmatch(r"BC0[1-4]", b) for b in frame["backchecker"])
