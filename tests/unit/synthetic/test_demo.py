"""The demo world end to end on the project's questionnaires.

Clean mode is checked with ``check_responses`` (the expression evaluator only) on every round of
every instrument, and the answers against the world they come from with rules written out here
(pandas merges with the roster and the sample frame, the calendar months counted by hand, the
19th ICLS employment rule, the 21st ICLS formality rule, the indicators' own occupation coding).
Messy mode is checked by reading the written files back with pandas and counting each kind of
problem independently of the code that injected it.
"""

from __future__ import annotations

import io
import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from evaluation.synthetic import tables
from evaluation.synthetic.answers import apprentice_answers, capacity_answers, enterprise_answers
from evaluation.synthetic.demo import DemoOptions, attachments, build_demo
from evaluation.synthetic.messiness import KINDS
from evaluation.synthetic.population import simulate_enterprise_rounds
from evaluation.synthetic.respond import Responses, Table, check_responses

from .conftest import SMALL

FORMS = [
    ("apprentice", "baseline"),
    ("apprentice", "endline"),
    ("enterprise", "baseline"),
    ("enterprise", "endline"),
    ("capacity", "pre"),
    ("capacity", "post"),
    ("capacity", "followup"),
]
WRITERS = {
    "apprentice": apprentice_answers,
    "enterprise": enterprise_answers,
    "capacity": capacity_answers,
}


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan))


# --------------------------------------------------------------------------------------------
# Clean mode: every round of every instrument obeys its form
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", FORMS, ids="-".join)
def test_clean_answers_break_no_rule(clean_demo, project_forms, key):
    submissions = clean_demo.submissions[key]
    form = project_forms[key]
    assert submissions.instrument.form_id == form.form_id
    # Every value the process decides is taken by the form as it is (no note of any kind).
    assert not [n for n in clean_demo.notes if n.startswith(f"{form.form_id}:")]
    assert form.form_id not in clean_demo.absent
    violations = check_responses(
        submissions.responses, attachments=attachments(clean_demo.population)
    )
    assert violations.empty, violations.groupby(["question", "kind"]).size().to_string()
    # Every question of the form is a column of its table.
    for table in submissions.responses.tables:
        assert not table.data.columns.duplicated().any()
    assert len(submissions.responses.main) > 0


def test_every_form_and_table_is_answered(clean_demo):
    sizes = {
        (key, t.name): len(t.data)
        for key, s in clean_demo.submissions.items()
        for t in s.responses.tables
    }
    assert sizes[(("apprentice", "baseline"), "trn_course")] > 0
    assert sizes[(("apprentice", "endline"), "trn_course")] > 0
    assert sizes[(("apprentice", "endline"), "cal_months")] > 0
    app = clean_demo.population.apprentices
    assert sizes[(("apprentice", "baseline"), "main")] == len(app)
    assert sizes[(("apprentice", "endline"), "main")] == int(app["in_panel"].sum())
    assert sizes[(("enterprise", "endline"), "main")] == len(clean_demo.population.enterprises)


def test_writers_answer_alike_through_the_engine(small_world, project_forms):
    """The fixed answers are what the engine keeps (no note) in a world of another seed."""
    from evaluation.synthetic.respond import answer_instrument

    for family, round_name in FORMS:
        form = project_forms[(family, round_name)]
        fixed = WRITERS[family](small_world, round_name, form)
        responses = answer_instrument(
            form,
            fixed.main,
            np.random.default_rng(1),
            attachments=attachments(small_world),
            repeats=fixed.repeats,
        )
        assert responses.notes == (), [str(n) for n in responses.notes]
        main = responses.main
        for column in fixed.main.columns:
            assert (main[column].to_numpy() == fixed.main[column].to_numpy()).all(), column


def test_unknown_rounds_are_refused(small_world):
    for family, wrong in (("apprentice", "midline"), ("enterprise", "pre"), ("capacity", "end")):
        with pytest.raises(ValueError, match="rounds are"):
            WRITERS[family](small_world, wrong)


# --------------------------------------------------------------------------------------------
# Pre-loads, repeats and metadata
# --------------------------------------------------------------------------------------------


def test_preloads_come_from_the_sample_frame_and_the_roster(clean_demo):
    files = attachments(clean_demo.population)
    baseline = clean_demo.submissions[("apprentice", "baseline")].responses.main
    endline = clean_demo.submissions[("apprentice", "endline")].responses.main
    frame = files["enterprises.csv"].set_index("name")
    for main in (baseline, endline):
        assert (main["meta_sample_group"] == main["enterprise_id"].map(frame["sample_group"])).all()
        treatment = clean_demo.population.enterprises.set_index("enterprise_id")["treatment"]
        assert (main["meta_sample_group"] == main["enterprise_id"].map(treatment).astype(str)).all()
    roster = files["roster.csv"]
    merged = endline.merge(roster, on="resp_id", how="left", validate="one_to_one")
    for column, source in (
        ("trk_roster_ent", "enterprise_id_y"),
        ("trk_roster_initials", "initials"),
        ("trk_roster_birth_year", "birth_year"),
        ("trk_roster_job", "job_title"),
        ("trk_roster_bl_year", "bl_year"),
        ("trk_roster_bl_month", "bl_month"),
    ):
        assert (merged[column].to_numpy() == merged[source].to_numpy()).all(), column
    # The roster is the baseline as answered: its job title is the baseline job_title_text
    # and its month the month of the baseline interview.
    done = baseline[baseline["meta_consent"] == "1"].set_index("resp_id")
    on_roster = done.loc[roster["resp_id"]]
    assert (on_roster["job_title_text"].to_numpy() == roster["job_title"].to_numpy()).all()
    assert (on_roster["today"].str.slice(0, 4).to_numpy() == roster["bl_year"].to_numpy()).all()
    month = on_roster["today"].str.slice(5, 7).astype(int).astype(str)
    assert (month.to_numpy() == roster["bl_month"].to_numpy()).all()
    assert roster["initials"].str.fullmatch(r".\*+").all()
    assert (roster["initials"].str.len() == on_roster["id_name"].str.len().to_numpy()).all()
    # Endline rows are exactly the panel: every baseline respondent, nobody else.
    assert sorted(endline["resp_id"]) == sorted(roster["resp_id"])


def test_training_repeat_counts_and_positions(clean_demo):
    for round_name in ("baseline", "endline"):
        responses = clean_demo.submissions[("apprentice", round_name)].responses
        main = responses.main
        courses = responses.table("trn_course").data
        expected = np.where(
            main["trn_any_12m"] == "1", np.minimum(_number(main["trn_n_courses"]).fillna(0), 3), 0
        )
        counts = courses.groupby("_parent").size().reindex(range(len(main)), fill_value=0)
        assert (counts.to_numpy() == expected).all()
        assert (courses["trn_c_pos"] == courses["_position"].astype(str)).all()
        assert (main.loc[main["trn_any_12m"] == "1", "trn_courses_n"].astype(int) <= 3).all()
        # ILO participants' first course is the project's (apprenticeship or subsidised).
        first = courses[courses["_position"] == 1]
        ilo = main["trn_ilo_attended"].to_numpy()[first["_parent"].to_numpy()] == "1"
        assert set(first.loc[ilo, "trn_c_type"]) <= {"2", "3"}


def test_activity_calendar_runs_from_the_baseline_month(clean_demo):
    responses = clean_demo.submissions[("apprentice", "endline")].responses
    main = responses.main
    months = responses.table("cal_months").data
    asked = main["meta_consent"] == "1"
    # By hand: months from the baseline month to the month before the interview, at most 24.
    start = _number(main["trk_roster_bl_year"]) * 12 + _number(main["trk_roster_bl_month"]) - 1
    now = main["today"].str.slice(0, 4).astype(int) * 12 + main["today"].str.slice(5, 7).astype(int)
    now = now - 1
    first = np.where(now - start > 24, now - 24, start)
    count = np.where(asked, np.maximum(now - first, 0), 0)
    sizes = months.groupby("_parent").size().reindex(range(len(main)), fill_value=0)
    assert (sizes.to_numpy() == count).all()
    assert count[asked.to_numpy()].min() >= 10
    assert count.max() <= 14
    index = first[months["_parent"].to_numpy()] + months["_position"].to_numpy() - 1
    assert (months["cal_index"].astype(int).to_numpy() == index).all()
    labels = [f"{i // 12}-{i % 12 + 1:02d}" for i in index]
    assert list(months["cal_ym"]) == labels
    assert set(months["cal_activity"]) <= {"1", "2", "3", "4"}
    # The last month agrees with the current activity more often than not.
    last = months.groupby("_parent")["cal_activity"].last()
    employed = main.loc[last.index, "act_employed"]
    assert ((last == "1") == (employed == "1")).mean() > 0.8


def test_metadata_is_plausible_and_inside_fieldwork(clean_demo):
    config = clean_demo.population.config
    deletion = pd.Timestamp("2026-12-31T23:59:59")
    windows = {
        "baseline": (pd.Timestamp(config.baseline_start), config.fieldwork_days + 30),
        "endline": (pd.Timestamp(config.endline_start), config.fieldwork_days + 30),
    }
    for (family, round_name), submissions in clean_demo.submissions.items():
        main = submissions.responses.main
        start = pd.to_datetime(main["start"].str.slice(0, 19))
        end = pd.to_datetime(main["end"].str.slice(0, 19))
        assert main["start"].str.endswith(".000+08:00").all()
        assert (end > start).all()
        assert (main["today"] == main["start"].str.slice(0, 10)).all()
        assert (end < deletion).all(), "interviews after the consent's deletion date"
        assert (start.dt.hour.between(8, 18)).all()
        if round_name in windows:
            first, days = windows[round_name]
            assert (start >= first).all()
            assert (start < first + pd.Timedelta(days=days)).all()
        # The server receives a submission after the interview ends (UTC = local - 8 h).
        arrived = submissions.envelope["submitted_at"] + pd.Timedelta(hours=8)
        assert (arrived.to_numpy() > end.to_numpy()).all()
        if "meta_enum_id" in main.columns:
            assert main["meta_enum_id"].str.fullmatch(r"E\d{3}").all()
            assert main["deviceid"].str.fullmatch(r"collect:[A-Za-z0-9]{16}").all()
            pairs = main[["meta_enum_id", "username", "deviceid"]].drop_duplicates()
            assert pairs["meta_enum_id"].is_unique
            assert pairs["username"].is_unique
        minutes = (end - start).dt.total_seconds() / 60
        done = main["meta_consent"] == "1"
        if family == "apprentice":
            assert minutes[done].between(15, 120).all()
            assert minutes[~done].lt(5).all()
    capacity = clean_demo.submissions[("capacity", "pre")].responses.main
    assert pd.to_datetime(capacity["today"]).min() > pd.Timestamp(config.baseline_start)


def test_endline_non_respondents_have_tracking_records_only(clean_demo, project_forms):
    form = project_forms[("apprentice", "endline")]
    main = clean_demo.submissions[("apprentice", "endline")].responses.main
    status = main["trk_status"].astype(int)
    population = clean_demo.population.apprentices.set_index("resp_id")
    assert (status.to_numpy() == population.loc[main["resp_id"], "trk_status"].to_numpy()).all()
    lost = status >= 3
    assert lost.any()
    assert (~lost).any()
    modules = [q for q in form.questions if q.name != "metadata"]
    after = [
        leaf.name
        for module in modules
        for leaf, _ in module.walk()
        if not leaf.is_container and leaf.type != "note"
    ]
    consent = ["meta_consent", "meta_under18", "meta_minor_guardian"]
    after = [name for name in after if name in main.columns]  # repeats are their own tables
    assert (main.loc[lost, after + consent] == "").all().all()
    assert (main.loc[lost, ["resp_id", "trk_attempts", "trk_informant"]] != "").all().all()
    assert (main.loc[~lost, "meta_consent"] == "1").all()
    assert (main.loc[~lost, "trk_informant"] == "").all()


# --------------------------------------------------------------------------------------------
# The answers carry the world's states exactly
# --------------------------------------------------------------------------------------------


def _employed(main: pd.DataFrame) -> pd.Series:
    """19th ICLS: worked for pay, or absent on leave, or absent with a return within 3 months."""
    leave = main["act_absent_reason"].isin(["1", "2", "3"])
    absent = (main["act_temp_absent"] == "1") & (leave | (main["act_absent_return3m"] == "1"))
    return ((main["act_work_pay"] == "1") | absent).astype(int)


def _formal(main: pd.DataFrame) -> pd.Series:
    """21st ICLS: employer pension or medical insurance; if unknown, paid annual and sick leave."""
    codes = main["job_si"].str.split()
    insured = codes.map(lambda c: "1" in c or "2" in c)
    leave = (main["job_paid_leave"] == "1") & (main["job_sick_leave"] == "1")
    return np.where(main["job_si"] == "-99", leave, insured).astype(int)


@pytest.mark.parametrize("round_name", ["baseline", "endline"])
def test_answers_carry_the_simulated_states(clean_demo, project_forms, round_name):
    form = project_forms[("apprentice", round_name)]
    main = clean_demo.submissions[("apprentice", round_name)].responses.main
    main = main[main["meta_consent"] == "1"]
    world = clean_demo.population.apprentices.set_index("resp_id").loc[main["resp_id"]]
    state = "b" if round_name == "baseline" else "e"
    assert (_employed(main).to_numpy() == world[f"employed_{state}"].to_numpy()).all()
    assert (main["act_employed"].astype(int).to_numpy() == _employed(main).to_numpy()).all()
    working = (_employed(main) == 1).to_numpy()
    assert (main.loc[working, "job_status"].isin(["1", "2"])).all()  # employees only
    formal = _formal(main[working])
    assert (formal == world.loc[working, f"formal_{state}"].to_numpy()).all()
    reported = _number(main.loc[working, "job_wage"])
    nonresponse = world.loc[working, f"wage_nr_{state}"].to_numpy() != 0
    wage = world.loc[working, f"wage_{state}"].to_numpy()
    assert (reported.to_numpy()[~nonresponse] == wage[~nonresponse]).all()
    assert reported.to_numpy()[nonresponse].tolist() == list(
        world.loc[working, f"wage_nr_{state}"].to_numpy()[nonresponse]
    )
    hours = _number(main.loc[working, "job_hours_usual"]).to_numpy()
    assert (hours == world.loc[working, f"hours_{state}"].to_numpy()).all()
    for item in ("cs_se_communication", "cs_dg_software", "cs_gr_waste"):
        assert (main[item].astype(int).to_numpy() == world[f"{item}__{state}"].to_numpy()).all()
    for j in range(1, 6):
        item = f"grn_quiz_{j}"
        key = form.question(item).answer_key
        correct = (main[item] == key).to_numpy()
        assert (correct == (world[f"{item}__{state}"].to_numpy() == 1)).all()
        unknown = (main[item] == "-99").to_numpy()
        assert (unknown == (world[f"{item}__{state}"].to_numpy() == -1)).all()


@pytest.mark.parametrize("round_name", ["baseline", "endline"])
def test_job_titles_code_to_the_simulated_isco(clean_demo, round_name):
    """The indicators' coding (keyword table + the demo's manual file) recovers the ISCO code."""
    occupations = pytest.importorskip("evaluation.indicators.occupations")
    manual = pd.read_csv(
        io.BytesIO(clean_demo.files["decisions/occupation_coding.csv"]),
        dtype=str,
        keep_default_na=False,
    )
    main = clean_demo.submissions[("apprentice", round_name)].responses.main
    working = main[main["act_employed"] == "1"]
    coded = occupations.code_occupations(working, manual)
    world = clean_demo.population.apprentices.set_index("resp_id").loc[working["resp_id"]]
    state = "b" if round_name == "baseline" else "e"
    assert (coded["isco08"].to_numpy() == world[f"isco_{state}"].to_numpy()).all()
    assert set(coded["isco_method"]) <= {"manual", "keyword_title"}


def test_manual_coding_covers_exactly_what_the_keywords_cannot_settle():
    occupations = pytest.importorskip("evaluation.indicators.occupations")
    from evaluation.synthetic.answers import manual_coding

    rows = [
        {
            "job_title_text": t,
            "job_tasks_text": o["tasks"],
            "job_occ_major": str(o["dadian"]),
            "isco": o["isco"],
        }
        for o in tables.OCCUPATIONS
        for t in o["titles"]
    ]
    frame = pd.DataFrame(rows)
    by_keywords = occupations.code_occupations(frame)
    settled = (by_keywords["isco08"].fillna("") == frame["isco"]).to_numpy()
    unsettled = set(frame.loc[~settled, "job_title_text"])
    assert unsettled == set(tables.MANUAL_CODING_TITLES)
    manual = manual_coding("2026-04-13")
    assert occupations.validate_manual_coding(manual).shape[0] == len(manual)
    with_manual = occupations.code_occupations(frame, manual)
    assert (with_manual["isco08"].to_numpy() == frame["isco"].to_numpy()).all()


def test_enterprise_answers_follow_the_process(clean_demo):
    rounds = simulate_enterprise_rounds(clean_demo.population).set_index(["round", "enterprise_id"])
    for round_name in ("baseline", "endline"):
        main = clean_demo.submissions[("enterprise", round_name)].responses.main
        expected = rounds.loc[round_name].loc[main["enterprise_id"]]
        assert (
            main["ent_visit_status"].astype(int).to_numpy() == expected["ent_visit_status"]
        ).all()
        done = (main["meta_consent"] == "1").to_numpy()
        for column in ("ent_skill_gap_share", "ent_sat_apprentices", "ent_appr_total"):
            values = main.loc[done, column].astype(int).to_numpy()
            assert (values == expected.loc[done, column].to_numpy()).all(), column
        assert (main.loc[~done, "ent_employees_total"] == "").all()
        # Counts fit their totals as the form's cross-checks require.
        total = _number(main.loc[done, "ent_employees_total"])
        certified = main.loc[done, [c for c in main.columns if c.startswith("ent_emp_cert_")]]
        assert (certified.apply(_number).sum(axis=1) <= total).all()
        size = main.loc[done, "ent_size"].astype(int)
        low = size.map({1: 1, 2: 10, 3: 50, 4: 300, 5: 1000})
        assert (total >= low).all()


def test_capacity_scores_follow_the_keys_and_modules(clean_demo, project_forms):
    form = project_forms[("capacity", "pre")]
    items = [q for q, _ in form.walk() if re.fullmatch(r"cb_q\d\d", q.name)]
    assert len(items) == clean_demo.population.config.capacity_items
    modules = {q.name: q.get("cb_module") for q in items}
    assert tuple(modules[f"cb_q{j:02d}"] for j in range(1, len(items) + 1)) == (
        clean_demo.population.config.capacity_modules
    )
    scores = {}
    for round_name in ("pre", "post"):
        main = clean_demo.submissions[("capacity", round_name)].responses.main
        correct = pd.DataFrame({q.name: main[q.name] == q.answer_key for q in items})
        scores[round_name] = (100 * correct.mean(axis=1)).set_axis(main["participant_id"])
    both = scores["post"].index
    gain = scores["post"] - scores["pre"].reindex(both)
    true_gain = clean_demo.truth.get("score_gain", estimand="mean gain")
    assert abs(gain.mean() - true_gain.value) < 3 * gain.std(ddof=1) / np.sqrt(len(gain))
    for module in set(modules.values()):
        assert clean_demo.truth.get(f"norm_gain_{module}", estimand="mean gain").value > 0


# --------------------------------------------------------------------------------------------
# Messy mode: what is written matches the manifest
# --------------------------------------------------------------------------------------------


def _read(demo, name):
    data = demo.files[f"raw/exports/kobo-csv/{name}.csv"]
    frame = pd.read_csv(io.BytesIO(data), sep=";", dtype=str, keep_default_na=False)
    return frame.rename(
        columns=lambda c: (
            c.rsplit("/", 1)[-1] if "/" in c and not c.split("/")[-1].lstrip("-").isdigit() else c
        )
    )


def _completed(frame: pd.DataFrame) -> pd.Series:
    """Interviews that went past consent (the respondent's and, for a minor, a guardian's)."""
    return (frame["meta_consent"] == "1") & (frame.get("meta_minor_guardian", "") != "0")


def _manifest(demo, name, kind):
    m = demo.manifest
    return m[(m["file"] == f"raw/exports/kobo-csv/{name}.csv") & (m["kind"] == kind)]


MESSY_FILES = [f"qall2_{family}_{round_name}" for family, round_name in FORMS]
KEYS = {"apprentice": "resp_id", "enterprise": "enterprise_id", "capacity": "participant_id"}


def test_manifest_is_written_and_has_every_kind(messy_demo):
    written = pd.read_csv(
        io.BytesIO(messy_demo.files["manifest.csv"]), dtype=str, keep_default_na=False
    )
    assert list(written.columns) == ["file", "key", "instance_id", "column", "kind", "detail"]
    assert len(written) == len(messy_demo.manifest)
    assert set(written["kind"]) == {*KINDS, "direct_identifier"}
    # No identifier is printed in the details (they say which value was replaced, by code).
    phones = written["detail"].str.contains(r"1[3-9]\d{9}")
    assert not phones.any()


@pytest.mark.parametrize("name", MESSY_FILES)
def test_duplicates_in_the_file_match_the_manifest(messy_demo, name):
    frame = _read(messy_demo, name)
    key = KEYS[name.split("_")[1]]
    done = frame[(frame[key] != "") & _completed(frame)]
    exact = _manifest(messy_demo, name, "exact_resubmission")
    conflicting = _manifest(messy_demo, name, "conflicting_duplicate")
    extra_rows = len(done) - done[key].nunique()
    assert extra_rows == len(exact) + conflicting["instance_id"].nunique()
    meta = [c for c in frame.columns if c.startswith("_") or c in ("start", "end")]
    answers = [c for c in frame.columns if c not in meta]
    for row in exact.itertuples():
        group = done[done[key] == row.key]
        assert len(group) == 2
        assert (group[answers].nunique() == 1).all()
    for row in conflicting.itertuples():
        group = done[done[key] == row.key]
        copy = group[group["_uuid"] == row.instance_id[5:]]
        original = group[group["_uuid"] != row.instance_id[5:]]
        assert copy[row.column].iat[0] != original[row.column].iat[0]
        assert row.detail == f"was {original[row.column].iat[0]!r}"


@pytest.mark.parametrize("name", MESSY_FILES)
def test_ids_and_digits_in_the_file_match_the_manifest(messy_demo, name):
    frame = _read(messy_demo, name)
    family = name.split("_")[1]
    key = KEYS[family]
    known = {
        "apprentice": set(messy_demo.population.apprentices["resp_id"]),
        "enterprise": set(messy_demo.population.enterprises["enterprise_id"]),
        "capacity": set(attachments(messy_demo.population)["participants.csv"]["name"]),
    }[family]
    done = frame[frame[key] != ""]
    unknown = done[~done[key].isin(known)]
    mistyped = _manifest(messy_demo, name, "mistyped_id")
    zeros = _manifest(messy_demo, name, "leading_zero_id")
    assert len(unknown) == len(mistyped) + len(zeros)
    assert set(unknown[key]) == set(mistyped["key"]) | set(zeros["key"])
    assert zeros["key"].str.fullmatch(r"[A-Z]{1,2}[1-9][0-9]*").all()
    # A mistyped ID keeps its enterprise prefix (the forms check it): only a digit of the
    # person's own number differs.
    was = mistyped["detail"].str.removeprefix("was ")
    assert (mistyped["key"].str.slice(0, -3) == was.str.slice(0, -3)).all()
    if family == "enterprise":
        assert mistyped.empty
        assert zeros.empty
    full = frame.apply(lambda c: c.str.contains("[０-９]", regex=True)).sum().sum()
    assert full == len(_manifest(messy_demo, name, "full_width_digits"))


@pytest.mark.parametrize("name", MESSY_FILES)
def test_rule_breaks_in_the_file_match_the_manifest(messy_demo, project_forms, name):
    frame = _read(messy_demo, name)
    family, round_name = name.split("_")[1:]
    form = project_forms[(family, round_name)]
    columns = [q.name for q, parents in form.walk() if not q.is_container and not any(
        p.type == "repeat" for p in parents
    )]  # fmt: skip
    table = Table("main", None, frame[columns].astype(object))
    found = check_responses(
        Responses(form, (table,), ()), attachments=attachments(messy_demo.population)
    )
    out_of_range = _manifest(messy_demo, name, "out_of_range")
    skipped = _manifest(messy_demo, name, "skip_logic_violation")
    zeros = len(_manifest(messy_demo, name, "leading_zero_id"))
    full_width = len(_manifest(messy_demo, name, "full_width_digits"))
    by_kind = found.groupby("kind").size()
    assert by_kind.get("not_relevant", 0) == len(skipped)
    # A leading-zero ID breaks the ID's pattern (its re-entry still equals it); full-width
    # digits break the phone's pattern; every other constraint break is out of range. A
    # mistyped ID keeps the pattern: only the sample frame reveals it.
    assert by_kind.get("constraint", 0) == len(out_of_range) + zeros + full_width
    # At endline an ID changed after the interview no longer finds the roster row the device
    # read: the stored look-ups differ from the roster's row for the new ID.
    expected_calculation = 0
    if name.endswith("apprentice_endline"):
        roster = attachments(messy_demo.population)["roster.csv"].set_index("resp_id")
        ids = _manifest(messy_demo, name, "mistyped_id")["key"].tolist()
        ids += _manifest(messy_demo, name, "leading_zero_id")["key"].tolist()
        pulled = {
            "trk_roster_ent": "enterprise_id",
            "trk_roster_initials": "initials",
            "trk_roster_birth_year": "birth_year",
            "trk_roster_job": "job_title",
            "trk_roster_bl_year": "bl_year",
            "trk_roster_bl_month": "bl_month",
        }
        for resp_id in ids:
            row = frame[frame["resp_id"] == resp_id].iloc[0]
            looked = roster.loc[resp_id] if resp_id in roster.index else None
            for column, source in pulled.items():
                new = "" if looked is None else looked[source]
                expected_calculation += int(row[column] != new)
        assert expected_calculation > 0
    assert by_kind.get("calculation", 0) == expected_calculation
    assert set(by_kind.index) <= {"constraint", "not_relevant", "calculation"}
    for row in out_of_range.itertuples():
        question = form.question(row.column)
        value = float(frame.loc[frame["_uuid"] == row.instance_id[5:], row.column].iat[0])
        assert value > question.value_range[1]


def test_rushed_interviews_match_the_manifest(messy_demo):
    for name in MESSY_FILES:
        frame = _read(messy_demo, name)
        rushed = _manifest(messy_demo, name, "rushed_interview")
        if "meta_enum_id" not in frame.columns:
            assert rushed.empty  # self-administered: no enumerator to rush
            continue
        done = frame[_completed(frame)]
        minutes = (
            pd.to_datetime(done["end"].str.slice(0, 19))
            - pd.to_datetime(done["start"].str.slice(0, 19))
        ).dt.total_seconds() / 60
        assert (minutes < 15).sum() == len(rushed) > 0
        assert done.loc[minutes < 15, "username"].nunique() == 1


def test_other_specify_answers_match_the_manifest(messy_demo, project_forms):
    pairs = {
        "qall2_enterprise_endline": ("ent_ilo_changes", "ent_ilo_change_text"),
        "qall2_capacity_followup": ("cb_apply_actions", "cb_apply_example"),
    }
    total = 0
    for name, (parent, text) in pairs.items():
        family, round_name = name.split("_")[1:]
        form = project_forms[(family, round_name)]
        choices = form.choice_list(form.question(parent).list_name).choices
        other = next(c.name for c in choices if (c.label.get("en") or "").startswith("Other"))
        labels = {c.label.get("zh"): c.name for c in choices if not c.special and not c.exclusive}
        frame = _read(messy_demo, name)
        hit = (frame[parent] == other) & frame[text].isin(labels)
        listed = _manifest(messy_demo, name, "other_specify_existing")
        assert hit.sum() == len(listed)
        assert set(frame.loc[hit, "_uuid"]) == set(listed["instance_id"].str.slice(5))
        assert (listed["column"] == text).all()
        total += len(listed)
    assert total > 0
    assert (
        messy_demo.manifest.query("kind == 'other_specify_existing'")["file"]
        .str.contains("|".join(pairs))
        .all()
    )


def test_phone_numbers_in_free_text_match_the_manifest(messy_demo, project_forms):
    for name in MESSY_FILES:
        family, round_name = name.split("_")[1:]
        form = project_forms[(family, round_name)]
        free = [
            q.name
            for q, _ in form.walk()
            if q.type == "text" and q.pii != "direct" and not q.constraint
        ]
        frame = _read(messy_demo, name)
        found = sum(int(frame[c].str.contains(r"1[3-9]\d{9}").sum()) for c in free)
        listed = _manifest(messy_demo, name, "pii_in_free_text")
        assert found == len(listed)
        assert "job_title_text" not in set(listed["column"])
    assert len(messy_demo.manifest.query("kind == 'pii_in_free_text'")) > 0


def test_resident_ids_in_the_sample_frame(messy_demo):
    frame = pd.read_csv(
        io.BytesIO(messy_demo.files["raw/frame/sample_frame.csv"]), dtype=str, keep_default_na=False
    )
    listed = messy_demo.manifest[messy_demo.manifest["kind"] == "direct_identifier"]
    assert len(listed) == len(frame) == frame["resident_id"].str.fullmatch(r"\d{17}[\dX]").sum()


def test_clean_mode_has_no_problems(clean_demo):
    assert clean_demo.manifest.empty
    assert clean_demo.files["manifest.csv"].decode() == "file,key,instance_id,column,kind,detail\n"
    frame = pd.read_csv(
        io.BytesIO(clean_demo.files["raw/frame/sample_frame.csv"]), dtype=str, keep_default_na=False
    )
    assert "resident_id" not in frame.columns
    for (family, _), submissions in clean_demo.submissions.items():
        main = submissions.responses.main
        key = main[KEYS[family]].replace("", np.nan).dropna()
        assert key.is_unique


# --------------------------------------------------------------------------------------------
# Determinism and the project folder
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(project_forms):
    options = DemoOptions(seed=7, format="kobo-csv", **SMALL)
    return (
        build_demo(project_forms, options),
        build_demo(project_forms, options),
        build_demo(project_forms, DemoOptions(seed=8, format="kobo-csv", **SMALL)),
    )


def test_same_seed_same_bytes_other_seed_differs(seeded):
    first, again, other = (demo.files for demo in seeded)
    assert first == again
    assert sorted(first) == sorted(other)
    exported = [p for p in first if p.startswith("raw/exports/")]
    assert len(exported) == len(FORMS)
    assert all(first[p] != other[p] for p in exported)


@pytest.mark.parametrize(
    "format_name", ["kobo-xlsx", "kobo-csv", "odk", "surveycto", "spss", "stata", "gb18030-csv"]
)
def test_every_format_renders_the_same_bytes_for_the_same_seed(seeded, format_name):
    from evaluation.synthetic.exports import FORMATS

    first, again, other = seeded
    for key in (("apprentice", "endline"), ("enterprise", "endline"), ("capacity", "followup")):
        one = FORMATS[format_name](first.submissions[key])
        assert one == FORMATS[format_name](again.submissions[key])
        assert one != FORMATS[format_name](other.submissions[key])


def test_sources_toml_declares_every_file(messy_demo):
    sources = tomllib.loads(messy_demo.files["raw/sources.toml"].decode())
    paths = {f"raw/{entry['path']}" for entry in sources["files"]}
    assert paths == {p for p in messy_demo.files if p.startswith("raw/exports/")}
    for entry in sources["files"]:
        assert entry["format"] == "kobo-csv"
        assert entry["delimiter"] == ";"
        assert entry["encoding"] == "utf-8"
        frame = _read(messy_demo, entry["path"].rsplit("/", 1)[-1][:-4])
        assert entry["expected_rows"] == len(frame)
    assert sources["sample_frame"]["key"] == "resp_id"
    assert f"raw/{sources['sample_frame']['path']}" in messy_demo.files
    assert f"raw/{sources['roster']['path']}" in messy_demo.files
    roster = pd.read_csv(io.BytesIO(messy_demo.files["raw/frame/roster.csv"]), dtype=str)
    assert roster["name"].is_unique
    assert (roster["name"] == roster["resp_id"]).all()
    assert set(roster["name"]) <= set(messy_demo.population.apprentices["resp_id"])


def test_the_loaders_read_the_demo_folder(messy_demo, project_forms, tmp_path):
    """Integration with the loaders stage (runs once both stages are on the same branch)."""
    loaders = pytest.importorskip("evaluation.loaders")
    from evaluation.synthetic.exports import write_files

    write_files(messy_demo.files, tmp_path)
    loaded = loaders.read_sources(tmp_path / "raw", project_forms)
    sizes = sorted(len(r.data) for r in loaded.rounds)
    expected = sorted(len(s.responses.main) for s in messy_demo.submissions.values())
    assert sizes == expected
    assert len(loaded.sample_frame.data) == len(messy_demo.population.apprentices)


def test_backcheck_sample(messy_demo):
    frame = pd.read_csv(io.BytesIO(messy_demo.files["raw/frame/backcheck_sample.csv"]), dtype=str)
    counts = frame.groupby("enumerator").size()
    assert (counts >= 1).all()
    assert frame["resp_id"].is_unique
    assert frame["instance_id"].str.fullmatch(r"uuid:[0-9a-f-]{36}").all()
    assert all(re.fullmatch(r"BC0[1-4]", b) for b in frame["backchecker"])
