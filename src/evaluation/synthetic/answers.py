"""From the world's states to questionnaire answers: the contract variables of each instrument.

The data-generating process decides the variables named in ``/work/notes/names.md`` (the binding
contract between the questionnaires and the other stages); this module writes them in the
questionnaires' codes, one row per submission and round, every value as the text a form stores
(``""`` where the process gives no answer). Every other question is answered by the generic engine
of :mod:`evaluation.synthetic.respond`, which obeys the instrument.

Families of items whose names the contract gives only by prefix (``mm_use_*``,
``grn_practice_*``, ``img_*``, ``cb_se_*``) are answered for whatever items of that prefix the
instrument holds, from a latent trait (graded on the item's own list). Knowledge-test items
(``grn_quiz_*``, ``cb_qNN``) are answered with the item's ``answer_key`` when correct, its
don't-know option, or another option; without the instrument a placeholder coding is used
(key ``1``, wrong ``2``, don't know ``-99``) and said in a note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.instruments.model import Instrument, Question
from evaluation.synthetic import tables
from evaluation.synthetic.population import (
    CORE_SKILL_ITEMS,
    GREEN_QUIZ_ITEMS,
    Population,
    simulate_capacity,
    simulate_enterprise_rounds,
    stream,
)

__all__ = [
    "apprentice_answers",
    "capacity_answers",
    "capacity_item_count",
    "enterprise_answers",
    "odk_time",
    "text_column",
]

_CORE_ITEMS = tuple(item for group in CORE_SKILL_ITEMS.values() for item in group)


def text_column(values: Sequence | np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
    """Return values as form text, sharing one string object per distinct value.

    Parameters
    ----------
    values : array-like
        Integers, strings or floats (integral floats print without a decimal point).
    blank : numpy.ndarray of bool, optional
        Rows to leave unanswered (``""``).

    Returns
    -------
    numpy.ndarray
        An object array of ``str``.
    """
    array = np.asarray(values)
    if array.dtype.kind == "f":
        array = np.where(np.isnan(array), 0, array)
        if np.all(array == np.round(array)):
            array = array.astype(np.int64)
    uniques, inverse = np.unique(array, return_inverse=True)
    pool = np.array([str(u) for u in uniques] + [""], dtype=object)
    if blank is not None:
        inverse = np.where(blank, len(uniques), inverse)
    return pool[inverse.reshape(-1)]


def odk_time(moments: np.ndarray, offset_hours: int = 8) -> np.ndarray:
    """Format local wall-clock times as ODK stores ``start``/``end`` (milliseconds and offset).

    Parameters
    ----------
    moments : numpy.ndarray of datetime64
        Local wall-clock times.
    offset_hours : int, optional
        The device's UTC offset (China: +8).

    Returns
    -------
    numpy.ndarray
        Text such as ``2026-12-03T09:15:22.000+08:00``.
    """
    sign = "+" if offset_hours >= 0 else "-"
    suffix = f".000{sign}{abs(offset_hours):02d}:00"
    text = np.datetime_as_string(np.asarray(moments).astype("datetime64[s]"), unit="s")
    return np.array([t + suffix for t in text], dtype=object)


def _date_text(moments: np.ndarray) -> np.ndarray:
    return text_column(np.datetime_as_string(np.asarray(moments).astype("datetime64[D]")))


def _device_ids(seed: int, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ODK Collect device IDs (``collect:`` + 16 characters) and usernames per enumerator."""
    rng = stream(seed, "answers")
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    top = int(numbers.max()) + 1 if len(numbers) else 1
    devices = np.array(
        ["collect:" + "".join(alphabet[rng.integers(0, len(alphabet), 16)]) for _ in range(top)],
        dtype=object,
    )
    names = np.array([f"e{k:03d}" for k in range(top)], dtype=object)
    return devices[numbers], names[numbers]


def _graded(latent: np.ndarray, codes: Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """Graded answers on an ordered list of codes from a latent trait (one item)."""
    k = len(codes)
    cuts = np.linspace(-1.5, 1.5, k - 1) if k > 1 else np.array([])
    level = (latent[:, None] + rng.normal(0, 0.7, len(latent))[:, None] > cuts[None, :]).sum(axis=1)
    return np.asarray(codes, dtype=object)[level]


def _regular_codes(instrument: Instrument | None, question: Question) -> list[str]:
    if instrument is None or question.list_name is None:
        return []
    return [c.name for c in instrument.choice_list(question.list_name).choices if not c.special]


def _family(instrument: Instrument | None, prefix: str) -> list[Question]:
    if instrument is None:
        return []
    return [
        q
        for q, _ in instrument.walk()
        if q.name.startswith(prefix) and q.type == "select_one" and q.list_name
    ]


def _quiz(
    instrument: Instrument | None,
    name: str,
    status: np.ndarray,
    draw: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    """Answer codes of a knowledge item from 1 correct / 0 wrong / -1 don't know."""
    question = None
    if instrument is not None:
        try:
            question = instrument.question(name)
        except KeyError:
            question = None
    if question is None or question.answer_key is None or question.list_name is None:
        key, wrong, unknown = "1", ["2"], "-99"
        notes.append(f"{name}: not in the instrument with an answer_key; placeholder coding")
    else:
        choices = instrument.choice_list(question.list_name).choices
        key = question.answer_key
        wrong = [c.name for c in choices if not c.special and c.name != key]
        specials = [c.name for c in choices if c.special == "dont_know"]
        unknown = specials[0] if specials else (wrong[0] if wrong else key)
    wrong_codes = np.asarray(wrong or [key], dtype=object)
    picked = wrong_codes[(draw * len(wrong_codes)).astype(int) % len(wrong_codes)]
    return np.where(status == 1, key, np.where(status == -1, unknown, picked)).astype(object)


def _multi(chosen: dict[str, np.ndarray], order: Sequence[str]) -> np.ndarray:
    """Space-joined codes of a select_multiple from boolean columns, in list order."""
    n = len(next(iter(chosen.values())))
    parts = np.full(n, "", dtype=object)
    for code in order:
        mask = chosen[code]
        parts[mask] = np.where(parts[mask] == "", code, parts[mask] + " " + code)
    return parts


# --------------------------------------------------------------------------------------------
# Apprentice questionnaire
# --------------------------------------------------------------------------------------------


def _labour(frame: pd.DataFrame, employed: np.ndarray, rng) -> dict[str, np.ndarray]:
    """Answers of the current-activity module (M4) for an employment state."""
    n = len(frame)
    emp = employed == 1
    absent = emp & (rng.random(n) < 0.04)
    work = emp & ~absent
    absent_not = ~emp & (rng.random(n) < 0.08)
    search = ~emp & (rng.random(n) < 0.55)
    available = ~emp & (rng.random(n) < np.where(search, 0.85, 0.4))
    return {
        "act_work_pay": text_column(work.astype(int)),
        "act_temp_absent": text_column((absent | absent_not).astype(int), blank=work),
        "act_absent_return3m": text_column(
            np.where(absent, 1, np.where(rng.random(n) < 0.3, -99, 0)), blank=~(absent | absent_not)
        ),
        "act_employed": text_column(emp.astype(int)),
        "act_search_4wk": text_column(search.astype(int), blank=emp),
        "act_available_2wk": text_column(available.astype(int), blank=emp),
        "act_study_4wk": text_column(
            (frame["edu_enrolled"].to_numpy() == 1) | (rng.random(n) < 0.1)
        ),
    }


def _required_level(major: np.ndarray, rng) -> np.ndarray:
    """Draw a usual qualification (edu_required code) for each ISCO major group."""
    n = len(major)
    base = np.select([major == 1, major == 2, major == 3, major == 9], [9, 10, 9, 3], default=5)
    step = rng.choice([-2, 0, 0, 0, 1], n)
    level = np.clip(base + step, 0, 12)
    return np.where((major >= 4) & (rng.random(n) < 0.15), 0, level)


def _job(
    frame: pd.DataFrame, state: str, *, endline: bool, appr_status: np.ndarray, rng
) -> dict[str, np.ndarray]:
    """Answers of the job, contract, wage and mismatch modules (M5, M6) for the employed."""
    n = len(frame)
    employed = frame["employed_b" if state == "b" else f"employed_{state}"].to_numpy() == 1
    blank = ~employed
    occ = frame[f"occ_{state}"].to_numpy()
    occupations = tables.OCCUPATIONS
    titles = np.array(
        [o["titles"][int(d * len(o["titles"]))] for o, d in zip(
            (occupations[k] for k in occ), frame["title_draw"].to_numpy(), strict=True
        )],
        dtype=object,
    )  # fmt: skip
    tasks = np.array([occupations[k]["tasks"] for k in occ], dtype=object)
    dadian = np.array([occupations[k]["dadian"] for k in occ])
    major = np.array([int(occupations[k]["isco"][0]) for k in occ])
    occ_field = np.array([occupations[k]["field"] for k in occ])
    formal = frame[f"formal_{state}"].to_numpy() == 1
    if endline:
        stay = frame["same_employer"].to_numpy() == 1
        sector_codes = np.array([sector["code"] for sector in tables.SECTORS])
        moved_sector = rng.random(n) < 0.3
        industry = np.where(stay | ~moved_sector, frame["industry"], rng.choice(sector_codes, n))
        ownership = np.where(stay, frame["ownership"], rng.choice([1, 3, 3, 3, 4], n))
        size = np.where(stay, frame["size"], rng.integers(1, 6, n))
        hours = frame["hours_e"].to_numpy()
        wage = frame[f"wage_{state}"].to_numpy()
        nonresponse = frame["wage_nr_e"].to_numpy()
        months_ago = np.where(stay, frame["tenure_months_b"] + 12, rng.integers(1, 12, n))
        interview = frame["start_endline"].to_numpy()
    else:
        industry, ownership, size = frame["industry"], frame["ownership"], frame["size"]
        hours = frame["hours_b"].to_numpy()
        wage = frame["wage_b"].to_numpy()
        nonresponse = frame["wage_nr_b"].to_numpy()
        months_ago = frame["tenure_months_b"].to_numpy()
        interview = frame["start_baseline"].to_numpy()
    month_index = interview.astype("datetime64[M]").astype(int) - np.asarray(months_ago)
    start_year = month_index // 12 + 1970
    start_month = month_index % 12 + 1
    written = np.where(rng.random(n) < np.where(formal, 0.97, 0.55), 1, 0)
    written = np.where(rng.random(n) < 0.02, -99, written)
    contract_type = np.where(
        formal,
        rng.choice([1, 2, 2, 2, 2, 2, 2, 3], n),
        rng.choice([2, 3, 3, 4, 5, 6], n),
    )
    si_dk = rng.random(n) < 0.03
    pension = formal & (rng.random(n) < 0.95)
    medical = formal & (~pension | (rng.random(n) < 0.97))
    injury = np.where(formal, rng.random(n) < 0.95, rng.random(n) < 0.4)
    chosen = {
        "1": pension,
        "2": medical,
        "3": formal & (rng.random(n) < 0.85),
        "4": injury,
        "5": formal & (rng.random(n) < 0.6),
        "6": formal & (rng.random(n) < np.where(frame["soe"] == 1, 0.9, 0.45)),
    }
    si = _multi(chosen, ["1", "2", "3", "4", "5", "6"])
    si = np.where(si == "", "0", si)
    si = np.where(si_dk, "-99", si).astype(object)
    paid_leave = np.where(si_dk, formal, rng.random(n) < np.where(formal, 0.9, 0.3)).astype(int)
    sick_leave = np.where(si_dk, formal, rng.random(n) < np.where(formal, 0.85, 0.25)).astype(int)
    reported = np.where(nonresponse != 0, nonresponse, wage)
    bracket = np.digitize(wage, [2000, 4000, 6000, 8000, 10000]) + 1
    edu_field = frame["edu_field"].to_numpy()
    over = frame[f"overqual_{state}"].to_numpy() == 1
    under = frame[f"underqual_{state}"].to_numpy() == 1
    skill = (frame[f"{_CORE_ITEMS[0]}__{state}"].to_numpy() - 3) / 1.2
    related = np.where(
        edu_field == occ_field, rng.choice([1, 1, 2, 2, 3], n), rng.choice([3, 4, 5], n)
    )
    sat_latent = frame["sat_latent"].to_numpy() + 0.5 * formal + 0.3 * (wage > np.median(wage))
    status = np.where(appr_status == 1, 2, 1)

    def ordinal(latent, codes):
        return _graded(latent, [str(c) for c in codes], rng)

    answers = {
        "job_title_text": titles,
        "job_tasks_text": tasks,
        "job_occ_major": text_column(dadian),
        "job_industry": text_column(industry),
        "job_status": text_column(status),
        "job_ownership": text_column(ownership),
        "job_firm_size": text_column(size),
        "job_contract_written": text_column(written),
        "job_contract_type": text_column(contract_type, blank=written != 1),
        "job_dispatch": text_column(np.where(rng.random(n) < 0.06, 1, 0)),
        "job_start_year": text_column(start_year),
        "job_start_month": text_column(start_month),
        "job_hours_usual": text_column(hours),
        "job_hours_last_week": text_column(
            np.clip(hours + np.where(rng.random(n) < 0.8, 0, rng.integers(-8, 9, n)), 1, 112)
        ),
        "job_wage": text_column(reported),
        "job_wage_bracket": text_column(bracket, blank=nonresponse == 0),
        "job_si": si,
        "job_paid_leave": text_column(paid_leave),
        "job_sick_leave": text_column(sick_leave),
        "job_union": text_column(rng.random(n) < np.where(frame["soe"] == 1, 0.6, 0.2)),
        "job_sat_overall": ordinal(sat_latent, range(1, 6)),
        "mm_req_edu_get": text_column(_required_level(major, rng)),
        "mm_req_edu_do": text_column(_required_level(major, rng)),
        "mm_req_field": text_column(occ_field),
        "mm_field_related": text_column(related),
        "mm_overskilled": ordinal(0.8 * over + 0.5 * skill, range(1, 5)),
        "mm_underskilled": ordinal(0.8 * under - 0.5 * skill, range(1, 5)),
        "mm_gap_technical": ordinal(0.5 * skill + 0.6 * over - 0.6 * under, range(1, 6)),
        "mm_gap_digital": ordinal(0.5 * skill, range(1, 6)),
        "mm_gap_green": ordinal(0.4 * skill, range(1, 6)),
    }
    return {k: np.where(blank, "", v).astype(object) for k, v in answers.items()}


def _calendar(frame: pd.DataFrame, rng) -> np.ndarray:
    """Twelve monthly activities since baseline (cal_activity codes), as tuples."""
    n = len(frame)
    start = frame["employed_b"].to_numpy()
    end = frame["employed_e"].to_numpy()
    switch = rng.integers(1, 12, n)
    months = np.arange(12)[None, :]
    employed = np.where(months < switch[:, None], start[:, None], end[:, None]) == 1
    other = np.where(rng.random((n, 12)) < 0.6, 2, np.where(rng.random((n, 12)) < 0.5, 3, 4))
    codes = np.where(employed, 1, other).astype(str)
    cells = np.empty(n, dtype=object)
    cells[:] = [tuple(row) for row in codes.tolist()]
    return cells


def apprentice_answers(
    population: Population, round_name: str, instrument: Instrument | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Write the apprentice questionnaire's contract variables for one round.

    Parameters
    ----------
    population : Population
        The world.
    round_name : {"baseline", "endline"}
        The round.
    instrument : Instrument, optional
        The round's form: needed for prefix families and knowledge items, and to decide how
        lost apprentices appear when the form has no ``trk_status`` question.

    Returns
    -------
    pandas.DataFrame
        One row per submission, one object column per contract variable, text values
        (``""`` = no answer from the process). Baseline: every sampled apprentice (refusals
        included); endline: every panel member (lost ones with their ``trk_status`` only).
    tuple of str
        Notes on what could not be written as the contract says.

    Raises
    ------
    ValueError
        For an unknown round.

    Notes
    -----
    Unit: submission (apprentice x round). Key: ``resp_id``.
    """
    if round_name not in ("baseline", "endline"):
        raise ValueError(f"apprentice rounds are baseline and endline; got {round_name!r}")
    rng = stream(population.config.seed, "answers").spawn(2)[round_name == "endline"]
    app = population.apprentices
    notes: list[str] = []
    endline = round_name == "endline"
    names = {q.name for q, _ in instrument.walk()} if instrument is not None else None
    if endline:
        app = app[app["in_panel"].to_numpy()]
        status = app["trk_status"].to_numpy()
        if names is not None and "trk_status" not in names:
            keep = status != 4
            keep &= status != 5
            notes.append(
                f"trk_status not in the form: {int((~keep).sum())} apprentices not found or "
                "deceased have no submission; refusals are recorded as meta_consent = 0"
            )
            app = app[keep]
            status = status[keep]
        interviewed = np.isin(status, (1, 2))
    app = app.reset_index(drop=True)
    n = len(app)
    start = app[f"start_{round_name}"].to_numpy()
    end = app[f"end_{round_name}"].to_numpy()
    device, user = _device_ids(population.config.seed, app["enumerator"].to_numpy())
    consent = interviewed if endline else app["consent"].to_numpy() == 1
    birth = app["birth_date"].to_numpy().astype("datetime64[D]")
    minor = (start.astype("datetime64[D]") - birth).astype(int) < 18 * 365.25
    # Guardians who agreed at baseline are not asked again; new minors do not occur at endline.
    guardian = app["guardian"].to_numpy() == 1
    go = consent & (guardian | ~minor)
    out: dict[str, np.ndarray] = {
        "start": odk_time(start),
        "end": odk_time(end),
        "today": _date_text(start),
        "deviceid": device,
        "username": user,
        "meta_enum_id": text_column([f"E{k:03d}" for k in app["enumerator"]]),
        "meta_city": text_column(app["city"].to_numpy()),
        "enterprise_id": text_column(app["enterprise_id"].to_numpy()),
        "meta_sample_group": text_column(app["treatment"].to_numpy()),
        "meta_round": text_column(np.full(n, round_name)),
    }
    if endline and (names is None or "trk_status" in names):
        out["trk_status"] = text_column(status)
        out["meta_consent"] = text_column(np.ones(n, int), blank=~interviewed)
    else:
        out["meta_consent"] = text_column(consent.astype(int))
    out["meta_under18"] = text_column(minor.astype(int), blank=~consent)
    out["meta_minor_guardian"] = text_column(guardian.astype(int), blank=~(consent & minor))
    phone_refused = rng.random(n) < 0.02
    out.update(
        {
            "resp_id": text_column(app["resp_id"].to_numpy()),
            "resp_id_check": text_column(app["resp_id"].to_numpy()),
            "id_name": app["name"].to_numpy(dtype=object),
            "id_phone": np.where(phone_refused, "-98", app["phone"].to_numpy(dtype=object)),
        }
    )
    out.update(_demographics(app, endline, rng))
    out.update(_education(app, endline, rng))
    state = "e" if endline else "b"
    employed = app[f"employed_{state}"].to_numpy()
    out.update(_labour(app, employed, rng))
    appr_status = np.where(
        app["apprentice_b"].to_numpy() == 1,
        app["appr_end_status"].to_numpy() if endline else 1,
        4,
    )
    out.update(_job(app, state, endline=endline, appr_status=appr_status, rng=rng))
    out.update(_training_and_apprenticeship(app, endline, appr_status, rng))
    out.update(_skills(app, state, instrument, notes, rng))
    if endline:
        out["cal_activity"] = _calendar(app, rng)
        months = np.where(app["employed_b"].to_numpy() == 1, 0, rng.integers(0, 10, n))
        out["srch_months_to_first_job"] = text_column(
            months, blank=app["employed_e"].to_numpy() == 0
        )
    frame = pd.DataFrame(out, dtype=object)
    # Nothing after consent (and, at endline, tracking) for those not interviewed.
    interviewed_rows = go
    keep_always = {
        "start", "end", "today", "deviceid", "username", "meta_enum_id", "meta_city",
        "enterprise_id", "meta_sample_group", "meta_round", "meta_consent", "meta_under18",
        "meta_minor_guardian", "trk_status",
    }  # fmt: skip
    for column in frame.columns:
        if column not in keep_always:
            values = frame[column].to_numpy(dtype=object).copy()
            if column == "cal_activity":
                values[np.flatnonzero(~interviewed_rows)] = [()] * int((~interviewed_rows).sum())
            else:
                values[~interviewed_rows] = ""
            frame[column] = pd.Series(values, index=frame.index, dtype=object)
    return frame, tuple(notes)


def _demographics(app: pd.DataFrame, endline: bool, rng) -> dict[str, np.ndarray]:
    """Demographics (M2): every item at baseline; the time-varying ones at endline."""
    n = len(app)
    birth_dk = rng.random(n) < 0.005
    rural_type = np.isin(app["hukou_type"].to_numpy(), (1, 3))
    wg_names = ("seeing", "hearing", "walking", "cognition", "selfcare", "communication")
    result = {
        "dem_sex": text_column(app["female"].to_numpy() + 1),
        "dem_birth_year": text_column(np.where(birth_dk, -99, app["birth_year"])),
        "dem_birth_month": text_column(app["birth_month"].to_numpy(), blank=birth_dk),
        "dem_marital": text_column(app["marital"].to_numpy()),
        "dem_children_u6": text_column(app["children_u6"].to_numpy()),
        "dem_ethnicity": text_column(app["ethnicity"].to_numpy()),
        "dem_hukou_type": text_column(app["hukou_type"].to_numpy()),
        "dem_hukou_location": text_column(app["hukou_location"].to_numpy()),
        "dem_months_nonfarm_local": text_column(app["months_local"].to_numpy(), blank=~rural_type),
        "dem_months_away": text_column(app["months_away"].to_numpy()),
        "dem_disability_cert": text_column(
            app["disability_cert"].to_numpy(), blank=app["disabled"].to_numpy() == 0
        ),
    }
    for name in wg_names:
        result[f"dem_wg_{name}"] = text_column(app[f"wg_{name}"].to_numpy())
    if endline:
        for name in ("dem_sex", "dem_birth_year", "dem_birth_month", "dem_ethnicity"):
            del result[name]
        married = (app["marital"].to_numpy() == 1) & (rng.random(n) < 0.08)
        result["dem_marital"] = text_column(np.where(married, 2, app["marital"]))
        birth = (app["marital"].to_numpy() == 2) & (rng.random(n) < 0.1)
        result["dem_children_u6"] = text_column(np.minimum(app["children_u6"] + birth, 10))
    return result


def _education(app: pd.DataFrame, endline: bool, rng) -> dict[str, np.ndarray]:
    edu = app["edu_level"].to_numpy()
    cert = app["edu_cert_any"].to_numpy()
    cert_level = app["edu_cert_level"].to_numpy()
    if endline:
        upgrade = (cert == 1) & (rng.random(len(app)) < 0.25 + 0.15 * app["treatment"].to_numpy())
        cert_level = np.where(upgrade, np.minimum(cert_level + 1, 8), cert_level)
    return {
        "edu_level": text_column(edu),
        "edu_field": text_column(app["edu_field"].to_numpy(), blank=edu < 4),
        "edu_major_text": app["edu_major"].to_numpy(dtype=object),
        "edu_year_completed": text_column(app["edu_year_completed"].to_numpy()),
        "edu_enrolled": text_column(app["edu_enrolled"].to_numpy()),
        "edu_cert_any": text_column(cert),
        "edu_cert_level": text_column(cert_level, blank=cert != 1),
    }


def _training_and_apprenticeship(
    app: pd.DataFrame, endline: bool, appr_status: np.ndarray, rng
) -> dict[str, np.ndarray]:
    n = len(app)
    treated = app["treatment"].to_numpy() == 1
    if endline:
        attended = np.where(treated, app["ilo_takeup"], app["ilo_contamination"]) == 1
    else:
        attended = rng.random(n) < 0.02
    hours = np.where(endline, app["ilo_hours"], rng.integers(2, 17, n))
    any_training = attended | (rng.random(n) < 0.35)
    apprentice = appr_status != 4
    quality = app["quality_draw"].to_numpy() + 0.25 * (treated & endline)
    result = {
        "trn_any_12m": text_column(any_training.astype(int)),
        "trn_ilo_attended": text_column(attended.astype(int)),
        "trn_ilo_hours": text_column(hours, blank=~attended),
        "appr_status": text_column(appr_status),
    }
    for k, name in enumerate(
        (
            "appr_agreement",
            "appr_mentor_ent",
            "appr_mentor_inst",
            "appr_training_plan",
            "appr_assessed",
        )
    ):
        yes = rng.random(n) < np.clip(0.45 + 0.4 * quality - 0.05 * k, 0.05, 0.98)
        value = np.where(rng.random(n) < 0.03, -99, yes.astype(int))
        result[name] = text_column(value, blank=~apprentice)
    offjob = np.round(rng.gamma(2.0, 6.0, n) + 10 * (treated & endline)).astype(int)
    result["appr_offjob_hours"] = text_column(offjob, blank=~apprentice)
    result["appr_study_protected"] = _graded(quality * 2 - 1, [str(c) for c in range(1, 6)], rng)
    result["appr_sat_overall"] = _graded(quality * 2 - 0.8, [str(c) for c in range(1, 6)], rng)
    for name in ("appr_study_protected", "appr_sat_overall"):
        result[name] = np.where(apprentice, result[name], "").astype(object)
    return result


def _skills(
    app: pd.DataFrame, state: str, instrument: Instrument | None, notes: list[str], rng
) -> dict[str, np.ndarray]:
    n = len(app)
    result = {item: text_column(app[f"{item}__{state}"].to_numpy()) for item in _CORE_ITEMS}
    draw = app["quiz_wrong_draw"].to_numpy()
    for j, item in enumerate(GREEN_QUIZ_ITEMS):
        status = app[f"{item}__{state}"].to_numpy()
        result[item] = _quiz(instrument, item, status, (draw * (j + 2)) % 1.0, notes)
    green = np.mean([app[f"{i}__{state}"].to_numpy() == 1 for i in GREEN_QUIZ_ITEMS], axis=0)
    skill = np.mean([app[f"{i}__{state}"].to_numpy() for i in _CORE_ITEMS], axis=0) - 3
    treated_end = (app["treatment"].to_numpy() == 1) & (state == "e")
    families = {
        "grn_practice_": 2 * green - 1,
        "mm_use_": skill,
        "img_": 0.3 * treated_end + rng.normal(0, 0.8, n),
    }
    for prefix, latent in families.items():
        for question in _family(instrument, prefix):
            codes = _regular_codes(instrument, question)
            if codes:
                result[question.name] = _graded(latent, codes, rng)
    return result


# --------------------------------------------------------------------------------------------
# Enterprise questionnaire and capacity-building test
# --------------------------------------------------------------------------------------------


def enterprise_answers(
    population: Population, round_name: str, instrument: Instrument | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Write the enterprise questionnaire's contract variables for one round.

    Parameters
    ----------
    population : Population
        The world.
    round_name : {"baseline", "endline"}
        The round.
    instrument : Instrument, optional
        The round's form (unused today; kept for the same signature as the other writers).

    Returns
    -------
    pandas.DataFrame
        One row per enterprise, object columns of text.
    tuple of str
        Notes.

    Raises
    ------
    ValueError
        For an unknown round.

    Notes
    -----
    Unit: enterprise x round. Key: ``enterprise_id``. The numbers come from
    :func:`evaluation.synthetic.population.simulate_enterprise_rounds`.
    """
    del instrument
    if round_name not in ("baseline", "endline"):
        raise ValueError(f"enterprise rounds are baseline and endline; got {round_name!r}")
    rounds = simulate_enterprise_rounds(population)
    ent = population.enterprises
    rows = rounds[rounds["round"] == round_name].reset_index(drop=True)
    rng = stream(population.config.seed, "answers").spawn(3)[2]
    n = len(rows)
    first = np.datetime64(
        population.config.baseline_start
        if round_name == "baseline"
        else population.config.endline_start
    )
    day = first + ent[f"visit_{round_name}"].to_numpy().astype("timedelta64[D]")
    start = day.astype("datetime64[s]") + rng.integers(14 * 3600, 17 * 3600, n).astype(
        "timedelta64[s]"
    )
    end = start + np.exp(rng.normal(np.log(45 * 60), 0.2, n)).astype("timedelta64[s]")
    enumerator = ent["city_number"].to_numpy() * 10 + 1
    device, user = _device_ids(population.config.seed, enumerator)
    out = {
        "start": odk_time(start),
        "end": odk_time(end),
        "today": _date_text(start),
        "deviceid": device,
        "username": user,
        "meta_enum_id": text_column([f"E{k:03d}" for k in enumerator]),
        "meta_city": text_column(ent["city"].to_numpy()),
        "enterprise_id": text_column(rows["enterprise_id"].to_numpy()),
        "meta_consent": text_column(np.ones(n, int)),
        "meta_round": text_column(np.full(n, round_name)),
    }
    for column in rows.columns:
        if column.startswith("ent_"):
            out[column] = text_column(rows[column].to_numpy())
    return pd.DataFrame(out, dtype=object), ()


def capacity_answers(
    population: Population, round_name: str, instrument: Instrument | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Write the capacity-building test's contract variables for one round.

    Parameters
    ----------
    population : Population
        The world.
    round_name : {"pre", "post", "followup"}
        The round.
    instrument : Instrument, optional
        The round's form: its ``cb_qNN`` items (number, answer keys) and ``cb_se_*`` items.

    Returns
    -------
    pandas.DataFrame
        One row per participant present in the round, object columns of text.
    tuple of str
        Notes.

    Raises
    ------
    ValueError
        For an unknown round.

    Notes
    -----
    Unit: participant x round. Key: ``participant_id``. The results come from
    :func:`evaluation.synthetic.population.simulate_capacity` with the instrument's number of
    items.
    """
    if round_name not in ("pre", "post", "followup"):
        raise ValueError(f"capacity rounds are pre, post and followup; got {round_name!r}")
    items = capacity_item_count(instrument) or population.config.capacity_items
    tests = simulate_capacity(population, items)
    rows = tests[(tests["round"] == round_name) & tests["present"]].reset_index(drop=True)
    rng = stream(population.config.seed, "answers").spawn(4)[3]
    notes: list[str] = []
    n = len(rows)
    config = population.config
    base = np.datetime64(config.baseline_start) + np.timedelta64(60, "D")
    event_number = rows["event_id"].str[2:].astype(int).to_numpy()
    offset = {"pre": 0, "post": 2, "followup": 120}[round_name]
    day = base + (event_number * 14 + offset).astype("timedelta64[D]")
    start = day.astype("datetime64[s]") + rng.integers(9 * 3600, 10 * 3600, n).astype(
        "timedelta64[s]"
    )
    end = start + rng.integers(15 * 60, 30 * 60, n).astype("timedelta64[s]")
    out = {
        "start": odk_time(start),
        "end": odk_time(end),
        "today": _date_text(start),
        "participant_id": text_column(rows["participant_id"].to_numpy()),
        "event_id": text_column(rows["event_id"].to_numpy()),
        "cb_sex": text_column(rows["female"].to_numpy() + 1),
        "meta_round": text_column(np.full(n, round_name)),
    }
    draw = rows["wrong_draw"].to_numpy()
    for j in range(items):
        name = f"cb_q{j + 1:02d}"
        out[name] = _quiz(
            instrument, name, rows[f"{name}__r"].to_numpy(), (draw * (j + 2)) % 1.0, notes
        )
    for question in _family(instrument, "cb_se_"):
        codes = _regular_codes(instrument, question)
        if codes:
            out[question.name] = _graded(rows["selfeff_latent"].to_numpy(), codes, rng)
    if instrument is None or not capacity_item_count(instrument):
        notes = [*sorted(set(notes))[:1], f"capacity test simulated with {items} items"]
    return pd.DataFrame(out, dtype=object), tuple(notes)


def capacity_item_count(instrument: Instrument | None) -> int:
    """Count the ``cb_qNN`` knowledge items of a capacity-building form.

    Parameters
    ----------
    instrument : Instrument or None
        The form.

    Returns
    -------
    int
        The number of questions named ``cb_q`` + two digits (0 without a form).
    """
    if instrument is None:
        return 0
    pattern = re.compile(r"^cb_q(\d{2})$")
    return sum(1 for q, _ in instrument.walk() if pattern.match(q.name))
