"""From the world's states to questionnaire answers, in the questionnaires' codes.

The data-generating process decides the variables named in ``/work/notes/names.md`` (the binding
contract between the questionnaires and the other stages) and every answer that must agree with
them (the tracking status before consent, the reason of a temporary absence that decides whether
the return question is asked, the repeat of training courses, the activity calendar since the
baseline month, contract months that fit the contract type, counts that fit their totals...).
This module writes them as the text a form stores, one row per submission and round, ``""``
where the form's skip logic does not ask the question (the relevance of each block is written
out next to it), so that the engine of :mod:`evaluation.synthetic.respond` takes every value as
given. Every other question is answered by that engine, which obeys the instrument.

Families of items whose names the contract gives only by prefix (``mm_use_*``,
``grn_practice_*``, ``img_*``, ``cb_se_*``) are answered for whatever items of that prefix the
instrument holds, from a latent trait (graded on the item's own list). Knowledge-test items
(``grn_quiz_*``, ``cb_qNN``) are answered with the item's ``answer_key`` when correct, its
don't-know option, or another option; without the instrument a placeholder coding is used
(key ``1``, wrong ``2``, don't know ``-99``) and said in a note.

Notes
-----
Everything is vectorised over respondents: per-person reporting draws that must agree across
rounds (the year a certificate was obtained, the start of an apprenticeship) come from one
person-level generator shared by both rounds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.instruments.model import Instrument, Question
from evaluation.synthetic import tables
from evaluation.synthetic.population import (
    CORE_SKILL_ITEMS,
    GREEN_QUIZ_ITEMS,
    Population,
    minor_at,
    simulate_capacity,
    simulate_enterprise_rounds,
    stream,
)
from evaluation.synthetic.respond import join_codes

__all__ = [
    "FixedAnswers",
    "apprentice_answers",
    "calendar_months",
    "capacity_answers",
    "capacity_modules",
    "enterprise_answers",
    "job_titles",
    "manual_coding",
    "odk_time",
    "preload_roster",
    "text_column",
]

_CORE_ITEMS = tuple(item for group in CORE_SKILL_ITEMS.values() for item in group)


@dataclass(frozen=True, slots=True)
class FixedAnswers:
    """What the data-generating process answers in one form and round.

    Attributes
    ----------
    main : pandas.DataFrame
        One row per submission, one object column of text per question (``""``: the process
        gives no answer, or the form does not ask it).
    repeats : Mapping of str to pandas.DataFrame
        Values inside repeats, by repeat name, in long form: ``_row`` (row of ``main``),
        ``_position`` (1-based instance) and one text column per question.
    notes : tuple of str
        What could not be written as the contract says.
    """

    main: pd.DataFrame
    repeats: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


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
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    uniques, inverse = np.unique(array, return_inverse=True)
    pool = np.array([str(u) for u in uniques] + [""], dtype=object)
    if blank is not None:
        inverse = np.where(np.asarray(blank).reshape(inverse.shape), len(uniques), inverse)
    return pool[inverse.reshape(-1)]


def _ask(values: Sequence | np.ndarray, asked: np.ndarray) -> np.ndarray:
    """Text where the form asks the question, ``""`` elsewhere."""
    return text_column(values, blank=~np.asarray(asked, dtype=bool))


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
        Text such as ``2025-03-04T09:15:22.000+08:00``.
    """
    sign = "+" if offset_hours >= 0 else "-"
    suffix = f".000{sign}{abs(offset_hours):02d}:00"
    text = np.datetime_as_string(np.asarray(moments).astype("datetime64[s]"), unit="s")
    return np.char.add(text, suffix).astype(object)


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


def _choose(rng: np.random.Generator, values: Sequence, probs: Sequence[float], n: int):
    p = np.asarray(probs, dtype=float)
    return np.asarray(values)[rng.choice(len(p), size=n, p=p / p.sum())]


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


def _ordinal(latent: np.ndarray, top: int, rng: np.random.Generator) -> np.ndarray:
    return _graded(latent, [str(c) for c in range(1, top + 1)], rng)


# --------------------------------------------------------------------------------------------
# Occupations: titles, the baseline roster and the manual-coding file
# --------------------------------------------------------------------------------------------

_TITLES = np.array([t for o in tables.OCCUPATIONS for t in o["titles"]], dtype=object)
_TITLE_COUNT = np.array([len(o["titles"]) for o in tables.OCCUPATIONS])
_TITLE_START = np.cumsum(_TITLE_COUNT) - _TITLE_COUNT


def _occupation_column(key: str) -> np.ndarray:
    return np.array([o[key] for o in tables.OCCUPATIONS], dtype=object)


def job_titles(occupation: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """Chinese job titles (free-text answers) of occupations.

    Parameters
    ----------
    occupation : numpy.ndarray of int
        Positions in :data:`~evaluation.synthetic.tables.OCCUPATIONS`.
    draw : numpy.ndarray of float
        Each person's uniform title draw (the same in every round, so a person keeps the words
        they use for the same job).

    Returns
    -------
    numpy.ndarray
        One of the occupation's titles per person.
    """
    occupation = np.asarray(occupation, dtype=int)
    offset = np.minimum((np.asarray(draw) * _TITLE_COUNT[occupation]).astype(int), 1000)
    offset = np.minimum(offset, _TITLE_COUNT[occupation] - 1)
    return _TITLES[_TITLE_START[occupation] + offset]


def manual_coding(date: str) -> pd.DataFrame:
    """Return the reviewed manual occupation-coding file of the demo.

    Parameters
    ----------
    date : str
        The review date written in the file (``YYYY-MM-DD``; the demo uses the last day of the
        endline fieldwork, so the file has no run time in it).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`evaluation.indicators.occupations.MANUAL_COLUMNS`
        (``title_norm``, ``suggested``, ``decision``, ``coder``, ``date``, ``reason``): one row
        per title of :data:`~evaluation.synthetic.tables.MANUAL_CODING_TITLES` with the ISCO-08
        unit group the simulation gave it, sorted by title.

    Notes
    -----
    The indicators code the other titles with their keyword table; a test checks that the two
    together recover every simulated code.
    """
    isco = {t: o["isco"] for o in tables.OCCUPATIONS for t in o["titles"]}
    titles = sorted(tables.MANUAL_CODING_TITLES)
    return pd.DataFrame(
        {
            "title_norm": titles,
            "suggested": "",
            "decision": [isco[t] for t in titles],
            "coder": "demo",
            "date": date,
            "reason": "synthetic demo: the simulated ISCO-08 unit group of this job title",
        },
        dtype=object,
    )


def preload_roster(population: Population) -> pd.DataFrame:
    """Return the baseline roster the endline form reads with ``pulldata('roster', ...)``.

    Parameters
    ----------
    population : Population
        The world.

    Returns
    -------
    pandas.DataFrame
        One row per panel member (baseline respondents), text columns: ``name`` and ``label``
        (for a ``select_one_from_file``), ``resp_id``, ``enterprise_id``, ``meta_city``,
        ``sample_group``, ``initials`` (surname and one ``*`` per further character, never the
        full name), ``birth_year``, ``job_title`` (the baseline ``job_title_text``, blank when
        not employed at baseline), ``bl_year``, ``bl_month`` (month of the baseline interview:
        the start of the endline activity calendar) and ``phone`` (for tracking, DOMAIN.md
        section 8.4).
    """
    app = population.apprentices
    panel = app[app["in_panel"].to_numpy()]
    names = population.enterprises.set_index("enterprise_id")["name"]
    person = panel["name"].to_numpy(dtype=str)
    stars = np.char.multiply("*", np.char.str_len(person) - 1)
    initials = np.char.add(np.char.ljust(person, 1).astype("<U1"), stars)
    titles = job_titles(panel["occ_b"].to_numpy(), panel["title_draw"].to_numpy())
    employed = panel["employed_b"].to_numpy() == 1
    month = panel["start_baseline"].to_numpy().astype("datetime64[M]").astype(int)
    ids = panel["resp_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "name": ids,
            "label": np.char.add(
                np.char.add(initials, " "), panel["enterprise_id"].map(names).to_numpy(dtype=str)
            ).astype(object),
            "resp_id": ids,
            "enterprise_id": panel["enterprise_id"].to_numpy(dtype=object),
            "meta_city": panel["city"].to_numpy(dtype=object),
            "sample_group": text_column(panel["treatment"].to_numpy()),
            "initials": initials.astype(object),
            "birth_year": text_column(panel["birth_year"].to_numpy()),
            "job_title": np.where(employed, titles, "").astype(object),
            "bl_year": text_column(month // 12 + 1970),
            "bl_month": text_column(month % 12 + 1),
            "phone": panel["phone"].to_numpy(dtype=object),
        },
    ).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Apprentice questionnaire
# --------------------------------------------------------------------------------------------


def _person_draws(population: Population, columns: int) -> np.ndarray:
    """Uniform draws per apprentice (rows of the whole frame), the same in both rounds."""
    rng = stream(population.config.seed, "answers").spawn(5)[4]
    return rng.random((len(population.apprentices), columns))


def _month_index(moments: np.ndarray) -> np.ndarray:
    return np.asarray(moments).astype("datetime64[M]").astype(int)


def calendar_months(bl_month: np.ndarray, interview: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First month and number of months of the endline activity calendar.

    Parameters
    ----------
    bl_month : numpy.ndarray of int
        Month of the baseline interview, as months since January 1970.
    interview : numpy.ndarray of datetime64
        The endline interview.

    Returns
    -------
    first : numpy.ndarray of int
        The calendar's first month (months since January 1970).
    count : numpy.ndarray of int
        Its months: from the baseline month to the month before the interview, at most 24.

    Notes
    -----
    The same rule as the form's ``cal_first`` and ``cal_n_months`` calculations.
    """
    now = _month_index(interview)
    first = np.where(now - bl_month > 24, now - 24, bl_month)
    return first, np.maximum(now - first, 0)


@dataclass(frozen=True)
class _Round:
    """What every module of one apprentice round needs."""

    app: pd.DataFrame
    rng: np.random.Generator
    person: np.ndarray
    endline: bool
    state: str
    go: np.ndarray
    employed: np.ndarray
    appr_status: np.ndarray
    start: np.ndarray
    instrument: Instrument | None
    notes: list

    @property
    def n(self) -> int:
        return len(self.app)

    @property
    def work(self) -> np.ndarray:
        return self.go & (self.employed == 1)

    def column(self, name: str) -> np.ndarray:
        return self.app[name].to_numpy()


def _metadata(r: _Round, population: Population, round_name: str) -> dict[str, np.ndarray]:
    app = r.app
    end = app[f"end_{round_name}"].to_numpy()
    device, user = _device_ids(population.config.seed, app["enumerator"].to_numpy())
    ids = app["resp_id"].to_numpy(dtype=object)
    return {
        "start": odk_time(r.start),
        "end": odk_time(end),
        "today": _date_text(r.start),
        "deviceid": device,
        "username": user,
        "meta_enum_id": text_column(
            np.char.add("E", np.char.zfill(app["enumerator"].astype(str).to_numpy(dtype=str), 3))
        ),
        "meta_city": text_column(app["city"].to_numpy()),
        "enterprise_id": text_column(app["enterprise_id"].to_numpy()),
        "meta_sample_group": text_column(app["treatment"].to_numpy()),
        "meta_round": text_column(np.full(r.n, round_name)),
        "resp_id": ids,
        "resp_id_check": ids,
    }


def _tracking(r: _Round, status: np.ndarray) -> dict[str, np.ndarray]:
    """Endline tracking (asked of every panel member, before consent)."""
    rng = r.rng
    n = r.n
    attempts = np.select(
        [status == 1, status == 2, status == 3, status == 4],
        [
            rng.integers(1, 3, n),
            rng.integers(1, 5, n),
            rng.integers(1, 4, n),
            rng.integers(3, 9, n),
        ],
        default=rng.integers(1, 3, n),
    )
    informant = np.select(
        [status == 3, status == 4],
        [_choose(rng, [1, 2], [0.8, 0.2], n), _choose(rng, [3, 4, 5], [0.35, 0.35, 0.3], n)],
        default=_choose(rng, [2, 3], [0.8, 0.2], n),
    )
    return {
        "trk_id_confirm": text_column(np.ones(n, dtype=int)),
        "trk_status": text_column(status),
        "trk_attempts": text_column(attempts),
        "trk_informant": _ask(informant, status >= 3),
    }


def _consent(r: _Round, status: np.ndarray | None) -> dict[str, np.ndarray]:
    app = r.app
    asked = np.ones(r.n, dtype=bool) if status is None else np.isin(status, (1, 2))
    consent = (app["consent"].to_numpy() == 1) if status is None else asked
    minor = minor_at(r.start, app["birth_date"].to_numpy())
    # Guardians who agreed at baseline are not refused at endline (panel members only).
    guardian = app["guardian"].to_numpy() == 1
    return {
        "meta_consent": _ask(consent, asked),
        "meta_under18": _ask(minor, asked & consent),
        "meta_minor_guardian": _ask(guardian, asked & consent & minor),
    }


def _identification(r: _Round) -> dict[str, np.ndarray]:
    app = r.app
    refused = r.rng.random(r.n) < 0.02
    phone = np.where(refused, "-98", app["phone"].to_numpy(dtype=object)).astype(object)
    return {
        "id_name": np.where(r.go, app["name"].to_numpy(dtype=object), "").astype(object),
        "id_phone": np.where(r.go, phone, "").astype(object),
    }


def _demographics(r: _Round) -> dict[str, np.ndarray]:
    """Demographics (M2): every item at baseline; the time-varying ones at endline."""
    app, rng, go, n = r.app, r.rng, r.go, r.n
    hukou = app["hukou_type"].to_numpy()
    wg_names = ("seeing", "hearing", "walking", "cognition", "selfcare", "communication")
    marital = app["marital"].to_numpy()
    children = app["children_u6"].to_numpy()
    if r.endline:
        marital = np.where((marital == 1) & (rng.random(n) < 0.08), 2, marital)
        children = np.minimum(children + ((marital == 2) & (rng.random(n) < 0.1)), 10)
    result = {
        "dem_marital": _ask(marital, go),
        "dem_children_u6": _ask(children, go),
        "dem_hukou_type": _ask(hukou, go),
        "dem_hukou_location": _ask(app["hukou_location"].to_numpy(), go),
        "dem_months_nonfarm_local": _ask(
            app["months_local"].to_numpy(), go & np.isin(hukou, (1, 3))
        ),
        "dem_months_away": _ask(app["months_away"].to_numpy(), go),
        "dem_disability_cert": _ask(
            app["disability_cert"].to_numpy(), go & (app["disabled"].to_numpy() == 1)
        ),
    }
    for name in wg_names:
        result[f"dem_wg_{name}"] = _ask(app[f"wg_{name}"].to_numpy(), go)
    if not r.endline:
        birth_dk = r.person[:, 0] < 0.005
        result["dem_sex"] = _ask(app["female"].to_numpy() + 1, go)
        result["dem_birth_year"] = _ask(np.where(birth_dk, -99, app["birth_year"]), go)
        result["dem_birth_month"] = _ask(app["birth_month"].to_numpy(), go & ~birth_dk)
        result["dem_ethnicity"] = _ask(app["ethnicity"].to_numpy(), go)
    return result


_ENROLLED_LEVEL = np.array([5, 5, 5, 5, 9, 9, 9, 8, 10, 10, 11, 12, 12])


def _education(r: _Round) -> dict[str, np.ndarray]:
    app, go = r.app, r.go
    edu = app["edu_level"].to_numpy()
    cert = app["edu_cert_any"].to_numpy()
    cert_level = app["edu_cert_level"].to_numpy()
    year = r.start.astype("datetime64[Y]").astype(int) + 1970
    birth = app["birth_year"].to_numpy()
    earliest = np.minimum(np.maximum(birth + 16, 2005), year)
    cert_year = earliest + np.floor(r.person[:, 1] * (year - earliest + 1)).astype(int)
    cert_year = np.minimum(cert_year, year)
    if r.endline:
        upgrade = (cert == 1) & (r.person[:, 2] < 0.25 + 0.15 * app["treatment"].to_numpy())
        cert_level = np.where(upgrade, np.minimum(cert_level + 1, 8), cert_level)
        cert_year = np.where(upgrade, year, cert_year)
    enrolled = app["edu_enrolled"].to_numpy() == 1
    certified = go & (cert == 1)
    occupation_title = _TITLES[_TITLE_START[app["occ_b"].to_numpy()]]
    return {
        "edu_level": _ask(edu, go),
        "edu_field": _ask(app["edu_field"].to_numpy(), go & (edu >= 4)),
        "edu_major_text": np.where(go & (edu >= 5), app["edu_major"], "").astype(object),
        "edu_year_completed": _ask(app["edu_year_completed"].to_numpy(), go & (edu >= 2)),
        "edu_enrolled": _ask(enrolled, go),
        "edu_enrolled_level": _ask(_ENROLLED_LEVEL[edu], go & enrolled),
        "edu_enrolled_mode": _ask(_choose(r.rng, [1, 2, 3], [0.1, 0.7, 0.2], r.n), go & enrolled),
        "edu_cert_any": _ask(cert, go),
        "edu_cert_level": _ask(cert_level, certified),
        "edu_cert_occ_text": np.where(certified, occupation_title, "").astype(object),
        "edu_cert_year": _ask(cert_year, certified),
    }


def _activity(r: _Round) -> dict[str, np.ndarray]:
    """Answer current activity (M4): the 19th ICLS employment questions of the round.

    Employed people at work answer ``act_work_pay`` = 1. The 4% temporarily absent are on leave
    (annual, sick, maternity: employed whatever the duration, return question not asked) or,
    for a third of them, absent for another reason with a return within three months. Of the
    not employed, 8% report an absence from a job without a return within three months.
    """
    rng, go, n = r.rng, r.go, r.n
    emp = r.employed == 1
    absent = emp & (rng.random(n) < 0.04)
    leave = absent & (rng.random(n) < 0.67)
    work = emp & ~absent
    absent_not = ~emp & (rng.random(n) < 0.08)
    temp = absent | absent_not
    reason = np.where(
        leave,
        _choose(rng, [1, 2, 3], [0.5, 0.35, 0.15], n),
        _choose(rng, [4, 5, 6, 7, 8], [0.2, 0.35, 0.1, 0.25, 0.1], n),
    )
    returns = np.where(absent, 1, _choose(rng, [0, -99], [0.75, 0.25], n))
    search = ~emp & (rng.random(n) < 0.55)
    available = ~emp & (rng.random(n) < np.where(search, 0.85, 0.4))
    study = (r.app["edu_enrolled"].to_numpy() == 1) | (rng.random(n) < 0.1)
    return {
        "act_work_pay": _ask(work, go),
        "act_temp_absent": _ask(temp, go & ~work),
        "act_absent_reason": _ask(reason, go & temp),
        "act_absent_return3m": _ask(returns, go & temp & ~leave),
        "act_employed": _ask(emp, go),
        "act_search_4wk": _ask(search, go & ~emp),
        "act_available_2wk": _ask(available, go & ~emp),
        "act_study_4wk": _ask(study, go),
        "_absent": absent,
    }


def _required_level(major: np.ndarray, rng) -> np.ndarray:
    """Draw a usual qualification (edu_required code) for each ISCO major group."""
    n = len(major)
    base = np.select([major == 1, major == 2, major == 3, major == 9], [9, 10, 9, 3], default=5)
    step = rng.choice([-2, 0, 0, 0, 1], n)
    level = np.clip(base + step, 0, 12)
    return np.where((major >= 4) & (rng.random(n) < 0.15), 0, level)


def _job(r: _Round, absent: np.ndarray) -> dict[str, np.ndarray]:
    """Answers of the job, contract, wage and mismatch modules (M5, M6) of the employed."""
    app, rng, n = r.app, r.rng, r.n
    asked = r.work
    state = r.state
    occ = app["occ_b" if state == "b" else f"occ_{state}"].to_numpy()
    major = np.array([int(code[0]) for code in _occupation_column("isco")])[occ]
    occ_field = _occupation_column("field").astype(int)[occ]
    formal = app[f"formal_{state}"].to_numpy() == 1
    if r.endline:
        stay = app["same_employer"].to_numpy() == 1
        sector_codes = np.array([sector["code"] for sector in tables.SECTORS])
        moved_sector = rng.random(n) < 0.3
        industry = np.where(stay | ~moved_sector, app["industry"], rng.choice(sector_codes, n))
        ownership = np.where(stay, app["ownership"], rng.choice([1, 3, 3, 3, 4], n))
        size = np.where(stay, app["size"], rng.integers(1, 6, n))
        hours = app["hours_e"].to_numpy()
        wage = app[f"wage_{state}"].to_numpy()
        nonresponse = app["wage_nr_e"].to_numpy()
        months_ago = np.where(stay, app["tenure_months_b"] + 12, rng.integers(1, 12, n))
    else:
        industry, ownership, size = app["industry"], app["ownership"], app["size"]
        hours = app["hours_b"].to_numpy()
        wage = app["wage_b"].to_numpy()
        nonresponse = app["wage_nr_b"].to_numpy()
        months_ago = app["tenure_months_b"].to_numpy()
    month_index = _month_index(r.start) - np.asarray(months_ago)
    written = np.where(rng.random(n) < np.where(formal, 0.97, 0.55), 1, 0)
    written = np.where(rng.random(n) < 0.02, -99, written)
    contract_type = np.where(
        formal,
        rng.choice([1, 2, 2, 2, 2, 2, 2, 3], n),
        rng.choice([2, 3, 3, 4, 5, 6], n),
    )
    contract_months = np.where(contract_type == 2, rng.choice([12, 24, 36, 36, 60], n),
                               rng.integers(3, 12, n))  # fmt: skip
    si_dk = rng.random(n) < 0.03
    pension = formal & (rng.random(n) < 0.95)
    medical = formal & (~pension | (rng.random(n) < 0.97))
    chosen = np.column_stack(
        [
            pension,
            medical,
            formal & (rng.random(n) < 0.85),
            np.where(formal, rng.random(n) < 0.95, rng.random(n) < 0.4),
            formal & (rng.random(n) < 0.6),
            formal & (rng.random(n) < np.where(app["soe"] == 1, 0.9, 0.45)),
        ]
    )
    si = join_codes(chosen, np.array(["1", "2", "3", "4", "5", "6"], dtype=object))
    si = np.where(si == "", "0", si)
    si = np.where(si_dk, "-99", si).astype(object)
    scheme_other = _choose(rng, [2, 4, -99], [0.5, 0.3, 0.2], n)
    paid_leave = np.where(si_dk, formal, rng.random(n) < np.where(formal, 0.9, 0.3))
    sick_leave = np.where(si_dk, formal, rng.random(n) < np.where(formal, 0.85, 0.25))
    reported = np.where(nonresponse != 0, nonresponse, wage)
    bracket = np.digitize(wage, [2000, 4000, 6000, 8000, 10000]) + 1
    edu = app["edu_level"].to_numpy()
    edu_field = app["edu_field"].to_numpy()
    over = app[f"overqual_{state}"].to_numpy() == 1
    under = app[f"underqual_{state}"].to_numpy() == 1
    skill = (app[f"{_CORE_ITEMS[0]}__{state}"].to_numpy() - 3) / 1.2
    related = np.where(
        edu_field == occ_field, rng.choice([1, 1, 2, 2, 3], n), rng.choice([3, 4, 5], n)
    )
    sat_latent = app["sat_latent"].to_numpy() + 0.5 * formal + 0.3 * (wage > np.median(wage))
    status = np.where(r.appr_status == 1, 2, 1)
    days = np.where(hours <= 40, 5, np.where(hours <= 48, 5 + (hours > 44), 6))
    last_week = np.clip(hours + np.where(rng.random(n) < 0.8, 0, rng.integers(-8, 9, n)), 1, 112)
    answers = {
        "job_title_text": np.where(asked, job_titles(occ, app["title_draw"].to_numpy()), ""),
        "job_tasks_text": np.where(asked, _occupation_column("tasks")[occ], ""),
        "job_occ_major": _ask(_occupation_column("dadian").astype(int)[occ], asked),
        "job_industry": _ask(industry, asked),
        "job_status": _ask(status, asked),
        "job_ownership": _ask(ownership, asked),
        "job_firm_size": _ask(size, asked),
        "job_contract_written": _ask(written, asked),
        "job_contract_type": _ask(contract_type, asked & (written == 1)),
        "job_contract_months": _ask(
            contract_months, asked & (written == 1) & np.isin(contract_type, (2, 3))
        ),
        "job_dispatch": _ask(np.where(rng.random(n) < 0.06, 1, 0), asked),
        "job_start_year": _ask(month_index // 12 + 1970, asked),
        "job_start_month": _ask(month_index % 12 + 1, asked),
        "job_days_week": _ask(days, asked),
        "job_hours_usual": _ask(hours, asked),
        "job_hours_last_week": _ask(np.where(absent, 0, last_week), asked),
        "job_wage": _ask(reported, asked),
        "job_wage_bracket": _ask(bracket, asked & (nonresponse != 0)),
        "job_si": np.where(asked, si, "").astype(object),
        "job_pension_scheme": _ask(np.where(pension & ~si_dk, 1, scheme_other), asked),
        "job_medical_scheme": _ask(np.where(medical & ~si_dk, 1, scheme_other), asked),
        "job_paid_leave": _ask(paid_leave, asked),
        "job_sick_leave": _ask(sick_leave, asked),
        "job_union": _ask(rng.random(n) < np.where(app["soe"] == 1, 0.6, 0.2), asked),
        "job_sat_overall": np.where(asked, _ordinal(sat_latent, 5, rng), "").astype(object),
        "job_sat_pay": np.where(asked, _ordinal(sat_latent - 0.3, 5, rng), "").astype(object),
        "job_sat_security": np.where(asked, _ordinal(sat_latent + 0.4 * formal, 5, rng), "").astype(
            object
        ),
        "mm_req_edu_get": _ask(_required_level(major, rng), asked),
        "mm_req_edu_do": _ask(_required_level(major, rng), asked),
        "mm_req_field": _ask(occ_field, asked),
        "mm_field_related": _ask(related, asked & (edu >= 4)),
    }
    graded = {
        "mm_overskilled": (0.8 * over + 0.5 * skill, 4),
        "mm_underskilled": (0.8 * under - 0.5 * skill, 4),
        "mm_gap_technical": (0.5 * skill + 0.6 * over - 0.6 * under, 5),
        "mm_gap_digital": (0.5 * skill, 5),
        "mm_gap_green": (0.4 * skill, 5),
    }
    for name, (latent, top) in graded.items():
        answers[name] = np.where(asked, _ordinal(latent, top, rng), "").astype(object)
    return {k: np.asarray(v, dtype=object) for k, v in answers.items()}


def _training(r: _Round) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Training in the last 12 months (M8) and its repeat of up to three courses."""
    app, rng, go, n = r.app, r.rng, r.go, r.n
    treated = app["treatment"].to_numpy() == 1
    if r.endline:
        attended = np.where(treated, app["ilo_takeup"], app["ilo_contamination"]) == 1
        hours = app["ilo_hours"].to_numpy()
    else:
        attended = rng.random(n) < 0.02
        hours = rng.integers(2, 17, n)
    any_training = attended | (rng.random(n) < 0.35)
    courses = np.minimum(1 + rng.poisson(0.6, n), 30)
    instances = np.where(go & any_training, np.minimum(courses, 3), 0)
    rows = np.repeat(np.arange(n), instances)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(instances) - instances, instances) + 1
    first_ilo = attended[rows] & (position == 1)
    course_type = np.where(
        first_ilo,
        _choose(rng, [2, 3], [0.6, 0.4], len(rows)),
        _choose(rng, [1, 2, 3, 4, 5, 6], [0.4, 0.15, 0.15, 0.15, 0.1, 0.05], len(rows)),
    )
    course_hours = np.where(
        first_ilo, hours[rows], np.maximum(1, np.round(rng.gamma(2.0, 12.0, len(rows))))
    )
    repeat = pd.DataFrame(
        {
            "_row": rows,
            "_position": position,
            "trn_c_type": text_column(course_type),
            "trn_c_hours": text_column(course_hours),
        }
    )
    main = {
        "trn_any_12m": _ask(any_training, go),
        "trn_n_courses": _ask(courses, go & any_training),
        "trn_ilo_attended": _ask(attended, go),
        "trn_ilo_hours": _ask(hours, go & attended),
    }
    return main, repeat


_QUALITY_ITEMS = (
    "appr_agreement",
    "appr_contract_1y",
    "appr_mentor_ent",
    "appr_mentor_inst",
    "appr_training_plan",
    "appr_osh",
    "appr_hours_legal",
    "appr_assessed",
)


def _apprenticeship(r: _Round) -> dict[str, np.ndarray]:
    """Answer the apprenticeship module (M9): status, dates, quality and satisfaction."""
    app, rng, n = r.app, r.rng, r.n
    status = r.appr_status
    asked = r.go & np.isin(status, (1, 2, 3))
    treated = app["treatment"].to_numpy() == 1
    baseline = app["start_baseline"].to_numpy()
    started = _month_index(baseline) - app["tenure_months_b"].to_numpy()
    # An apprenticeship ends between the baseline month and the month before the interview.
    span = np.maximum(_month_index(r.start) - _month_index(baseline), 1)
    ended = _month_index(baseline) + np.floor(r.person[:, 3] * span).astype(int)
    ended = np.maximum(ended, started)
    quality = app["quality_draw"].to_numpy() + 0.25 * (treated & r.endline)
    result = {
        "appr_status": _ask(status, r.go),
        "appr_start_year": _ask(started // 12 + 1970, asked),
        "appr_start_month": _ask(started % 12 + 1, asked),
        "appr_end_year": _ask(ended // 12 + 1970, asked & np.isin(status, (2, 3))),
        "appr_end_month": _ask(ended % 12 + 1, asked & np.isin(status, (2, 3))),
        "appr_occ_text": np.where(
            asked, job_titles(app["occ_b"].to_numpy(), app["title_draw"].to_numpy()), ""
        ).astype(object),
        "appr_target_level": _ask(_choose(rng, [2, 3, 4], [0.4, 0.45, 0.15], n), asked),
    }
    for k, name in enumerate(_QUALITY_ITEMS):
        yes = rng.random(n) < np.clip(0.45 + 0.4 * quality - 0.04 * k, 0.05, 0.98)
        value = np.where(rng.random(n) < 0.03, -99, yes.astype(int))
        result[name] = _ask(value, asked)
    offjob = np.round(rng.gamma(2.0, 6.0, n) + 10 * (treated & r.endline)).astype(int)
    result["appr_offjob_hours"] = _ask(np.minimum(offjob, 300), asked)
    result["appr_study_protected"] = np.where(asked, _ordinal(quality * 2 - 1, 5, rng), "").astype(
        object
    )
    result["appr_sat_overall"] = np.where(asked, _ordinal(quality * 2 - 0.8, 5, rng), "").astype(
        object
    )
    return result


def _skills(r: _Round) -> dict[str, np.ndarray]:
    """Core skills (19 ILO items), the green quiz and the prefix families."""
    app, rng, go, state = r.app, r.rng, r.go, r.state
    result = {item: _ask(app[f"{item}__{state}"].to_numpy(), go) for item in _CORE_ITEMS}
    draw = app["quiz_wrong_draw"].to_numpy()
    for j, item in enumerate(GREEN_QUIZ_ITEMS):
        status = app[f"{item}__{state}"].to_numpy()
        answer = _quiz(r.instrument, item, status, (draw * (j + 2)) % 1.0, r.notes)
        result[item] = np.where(go, answer, "").astype(object)
    green = np.mean([app[f"{i}__{state}"].to_numpy() == 1 for i in GREEN_QUIZ_ITEMS], axis=0)
    skill = np.mean([app[f"{i}__{state}"].to_numpy() for i in _CORE_ITEMS], axis=0) - 3
    treated = app["treatment"].to_numpy() == 1
    families = {
        "grn_practice_": (2 * green - 1, r.work),
        "mm_use_": (skill, r.work),
        "img_": (0.3 * (treated & r.endline) + rng.normal(0, 0.8, r.n), go),
    }
    for prefix, (latent, asked) in families.items():
        for question in _family(r.instrument, prefix):
            codes = _regular_codes(r.instrument, question)
            if codes:
                result[question.name] = np.where(asked, _graded(latent, codes, rng), "")
    aware = rng.random(r.n) < 0.3 + 0.1 * treated + 0.3 * (treated & r.endline)
    result["awr_appr_scheme"] = _ask(aware, go)
    return result


def _tracer(r: _Round) -> dict[str, np.ndarray]:
    """Endline tracer items: programme completion, first job after it, same enterprise."""
    app, go = r.app, r.go
    completed = r.appr_status == 2
    employed_b = app["employed_b"].to_numpy() == 1
    found = completed & (employed_b | (r.employed == 1))
    months = np.where(employed_b, 0, 1 + np.floor(r.person[:, 4] * 9).astype(int))
    return {
        "srch_completed_prog": _ask(completed, go),
        "srch_found_job": _ask(found, go & completed),
        "srch_months_to_first_job": _ask(months, go & found),
        "srch_same_enterprise": _ask(app["same_employer"].to_numpy(), r.work),
    }


def _calendar(r: _Round, population: Population) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Answer the activity calendar (cal_months repeat) and the change items of the employed."""
    app, rng, n = r.app, r.rng, r.n
    _, count = calendar_months(_month_index(app["start_baseline"].to_numpy()), r.start)
    count = np.where(r.go, count, 0)
    rows = np.repeat(np.arange(n), count)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count) + 1
    employed_b = app["employed_b"].to_numpy()[rows] == 1
    employed_e = r.employed[rows] == 1
    switch = 1 + np.floor(r.person[rows, 5] * np.maximum(count[rows], 1)).astype(int)
    employed = np.where(position < switch, employed_b, employed_e)
    studying = app["edu_enrolled"].to_numpy()[rows] == 1
    idle = np.where(studying, 3, np.where(r.person[rows, 6] < 0.7, 2, 4))
    repeat = pd.DataFrame(
        {
            "_row": rows,
            "_position": position,
            "cal_activity": text_column(np.where(employed, 1, idle)),
        }
    )
    wage_b = app["wage_b"].to_numpy()
    wage_e = app["wage_e"].to_numpy()
    was_employed = app["employed_b"].to_numpy() == 1
    change = np.where(wage_e > 1.05 * wage_b, 1, np.where(wage_e < 0.95 * wage_b, 3, 2))
    pay = np.where(~was_employed, -97, change)
    main = {
        "chg_pay": _ask(pay, r.work),
        "chg_promoted": _ask(app["promoted_e"].to_numpy(), r.work),
    }
    del rng, population
    return main, repeat


def apprentice_answers(
    population: Population, round_name: str, instrument: Instrument | None = None
) -> FixedAnswers:
    """Write the apprentice questionnaire's answers decided by the process for one round.

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
    FixedAnswers
        ``main``: one row per submission; baseline: every sampled apprentice (refusals keep the
        metadata and IDs entered before consent); endline: every panel member (those refused,
        not found or deceased with the tracking items only, as the form allows). ``repeats``:
        ``trn_course`` (courses) and, at endline, ``cal_months`` (the activity calendar).

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
    person = _person_draws(population, 8)
    notes: list[str] = []
    endline = round_name == "endline"
    names = {q.name for q, _ in instrument.walk()} if instrument is not None else None
    status = None
    keep = np.ones(len(app), dtype=bool)
    if endline:
        keep = app["in_panel"].to_numpy().copy()
        status = app["trk_status"].to_numpy()
        if names is not None and "trk_status" not in names:
            lost = np.isin(status, (4, 5))
            notes.append(
                f"trk_status not in the form: {int((keep & lost).sum())} apprentices not found "
                "or deceased have no submission; refusals are recorded as meta_consent = 0"
            )
            keep &= ~lost
        status = status[keep]
    app = app[keep].reset_index(drop=True)
    person = person[keep]
    start = app[f"start_{round_name}"].to_numpy()
    state = "e" if endline else "b"
    consent = np.isin(status, (1, 2)) if endline else app["consent"].to_numpy() == 1
    go = consent & (app["guardian"].to_numpy() == 1)
    appr_status = np.where(
        app["apprentice_b"].to_numpy() == 1,
        app["appr_end_status"].to_numpy() if endline else 1,
        4,
    )
    r = _Round(
        app=app,
        rng=rng,
        person=person,
        endline=endline,
        state=state,
        go=go,
        employed=np.where(go, app[f"employed_{state}"].to_numpy(), 0),
        appr_status=appr_status,
        start=start,
        instrument=instrument,
        notes=notes,
    )
    out = _metadata(r, population, round_name)
    if endline and (names is None or "trk_status" in names):
        out.update(_tracking(r, status))
    tracked = endline and (names is None or "trk_status" in names)
    out.update(_consent(r, status if tracked else None))
    out.update(_identification(r))
    out.update(_demographics(r))
    out.update(_education(r))
    activity = _activity(r)
    absent = activity.pop("_absent")
    out.update(activity)
    out.update(_job(r, absent))
    training, courses = _training(r)
    out.update(training)
    out.update(_apprenticeship(r))
    out.update(_skills(r))
    repeats = {"trn_course": courses}
    if endline:
        out.update(_tracer(r))
        change, calendar = _calendar(r, population)
        out.update(change)
        repeats["cal_months"] = calendar
    frame = pd.DataFrame(out, dtype=object)
    return FixedAnswers(frame, repeats, tuple(dict.fromkeys(notes)))


# --------------------------------------------------------------------------------------------
# Enterprise questionnaire
# --------------------------------------------------------------------------------------------

_PRODUCTS = {
    3: ("机械零部件", "数控机床", "汽车零部件", "电气设备"),
    5: ("房屋建筑工程", "市政工程", "建筑安装工程"),
    7: ("仓储物流服务", "道路货物运输", "快递配送"),
    8: ("中式餐饮", "酒店住宿", "团餐服务"),
    9: ("软件开发", "信息系统集成", "数据处理服务"),
    15: ("汽车维修", "美容美发", "家政服务"),
}


def enterprise_answers(
    population: Population, round_name: str, instrument: Instrument | None = None
) -> FixedAnswers:
    """Write the enterprise questionnaire's answers decided by the process for one round.

    Parameters
    ----------
    population : Population
        The world.
    round_name : {"baseline", "endline"}
        The round.
    instrument : Instrument, optional
        The round's form (unused; kept for the same signature as the other writers).

    Returns
    -------
    FixedAnswers
        One row per sampled enterprise; at endline those not interviewed (``ent_visit_status``
        2-6) with the visit items only.

    Raises
    ------
    ValueError
        For an unknown round.

    Notes
    -----
    Unit: enterprise x round. Key: ``enterprise_id``. The numbers come from
    :func:`evaluation.synthetic.population.simulate_enterprise_rounds`; every count is
    written only where the form asks it (vacancies hard to fill only when there are
    vacancies, retention only for a cohort...).
    """
    del instrument
    if round_name not in ("baseline", "endline"):
        raise ValueError(f"enterprise rounds are baseline and endline; got {round_name!r}")
    rounds = simulate_enterprise_rounds(population)
    ent = population.enterprises
    rows = rounds[rounds["round"] == round_name].reset_index(drop=True)
    rng = stream(population.config.seed, "answers").spawn(3)[2]
    n = len(rows)
    endline = round_name == "endline"
    first = np.datetime64(
        population.config.baseline_start if not endline else population.config.endline_start
    )
    day = first + ent[f"visit_{round_name}"].to_numpy().astype("timedelta64[D]")
    start = day.astype("datetime64[s]") + rng.integers(14 * 3600, 17 * 3600, n).astype(
        "timedelta64[s]"
    )
    visited = rows["ent_visit_status"].to_numpy() == 1
    length = np.where(visited, np.exp(rng.normal(np.log(45 * 60), 0.2, n)), rng.uniform(60, 300, n))
    end = start + length.astype("timedelta64[s]")
    enumerator = ent["city_number"].to_numpy() * 10 + 1
    device, user = _device_ids(population.config.seed, enumerator)
    go = visited
    value = {c: rows[c].to_numpy() for c in rows.columns}
    industry = value["ent_industry"]
    treated = value["treatment"] == 1
    titles = _htf_titles(industry, rng)
    htf = value["ent_vacancies_htf"]
    htf_n = np.minimum(htf, rng.integers(1, 4, n))
    with_htf = go & (htf > 0)
    products = np.array(
        [_PRODUCTS[code][k % len(_PRODUCTS[code])] for code, k in zip(
            industry, rng.integers(0, 12, n), strict=True
        )],
        dtype=object,
    )  # fmt: skip
    tools = _ilo_tools(treated, value["tools_draw"], rng)
    out = {
        "start": odk_time(start),
        "end": odk_time(end),
        "today": _date_text(start),
        "deviceid": device,
        "username": user,
        "meta_enum_id": text_column(np.char.add("E", np.char.zfill(enumerator.astype(str), 3))),
        "meta_city": text_column(ent["city"].to_numpy()),
        "enterprise_id": text_column(rows["enterprise_id"].to_numpy()),
        "meta_round": text_column(np.full(n, round_name)),
        "ent_visit_status": text_column(value["ent_visit_status"]),
        "meta_consent": _ask(np.ones(n, int), go),
        "ent_resp_role": _ask(_choose(rng, [1, 2, 3, 4], [0.15, 0.5, 0.3, 0.05], n), go),
        "ent_resp_name": np.where(go, _person_names(rng, n), "").astype(object),
        "ent_resp_phone": np.where(go, _mobiles(rng, n), "").astype(object),
        "ent_main_product": np.where(go, products, "").astype(object),
        "ent_htf_occ_n": _ask(htf_n, with_htf),
        "ent_htf_occ1": np.where(with_htf, titles[:, 0], "").astype(object),
        "ent_htf_occ2": np.where(with_htf & (htf_n >= 2), titles[:, 1], "").astype(object),
        "ent_htf_occ3": np.where(with_htf & (htf_n >= 3), titles[:, 2], "").astype(object),
        "ent_appr_occ_text": np.where(go, titles[:, 0], "").astype(object),
    }
    everyone = (
        "ent_ownership", "ent_industry", "ent_size", "ent_employees_total",
        "ent_employees_female", "ent_emp_cert_junior", "ent_emp_cert_inter",
        "ent_emp_cert_senior", "ent_emp_cert_tech", "ent_emp_cert_srtech", "ent_rural_share",
        "ent_hires_12m", "ent_vacancies", "ent_skill_gap_share", "ent_appr_participates",
        "ent_appr_since_year", "ent_appr_total", "ent_appr_female", "ent_appr_rural",
        "ent_appr_disability", "ent_appr_completed", "ent_appr_dropped", "ent_mentor_n",
        "ent_appr_offjob_hours", "ent_appr_cost", "ent_appr_subsidy_status", "ent_appr_cohort",
        "ent_sat_apprentices",
    )  # fmt: skip
    for name in everyone:
        out[name] = _ask(value[name], go)
    completed = value["ent_appr_completed"]
    cohort = value["ent_appr_cohort"]
    mentors = value["ent_mentor_n"]
    out.update(
        {
            "ent_vacancies_htf": _ask(htf, go & (value["ent_vacancies"] > 0)),
            "ent_appr_certified": _ask(value["ent_appr_certified"], go & (completed > 0)),
            "ent_mentor_trained": _ask(value["ent_mentor_trained"], go & (mentors > 0)),
            "ent_appr_subsidy": _ask(
                value["ent_appr_subsidy"], go & (value["ent_appr_subsidy_status"] == 1)
            ),
            "ent_appr_retained_6m": _ask(value["ent_appr_retained_6m"], go & (cohort > 0)),
            "ent_appr_retained_12m": _ask(value["ent_appr_retained_12m"], go & (cohort > 0)),
        }
    )
    if endline:
        out["ent_ilo_aware"] = _ask(treated | (rng.random(n) < 0.2), go)
        out["ent_ilo_tools_used"] = np.where(go, tools, "").astype(object)
    return FixedAnswers(pd.DataFrame(out, dtype=object))


def _htf_titles(industry: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Three distinct job titles of the enterprise's sector (hard-to-fill occupations)."""
    n = len(industry)
    result = np.empty((n, 3), dtype=object)
    sectors = _occupation_column("sectors")
    for code in np.unique(industry):
        pool = np.flatnonzero([code in s for s in sectors])
        pool = np.resize(pool, max(3, len(pool)))
        rows = np.flatnonzero(industry == code)
        order = np.argsort(rng.random((len(rows), len(pool))), axis=1)[:, :3]
        picked = pool[order % len(pool)]
        result[rows] = job_titles(picked.reshape(-1), np.zeros(picked.size)).reshape(-1, 3)
    return result


def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    surnames = np.array(tables.SURNAMES)[rng.integers(0, len(tables.SURNAMES), n)]
    chars = np.array(tables.GIVEN_NAME_CHARS[1] + tables.GIVEN_NAME_CHARS[2])
    given = chars[rng.integers(0, len(chars), n)]
    return np.char.add(surnames, given).astype(object)


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array(["138", "139", "150", "186", "188", "133"])[rng.integers(0, 6, n)]
    rest = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    return np.char.add(prefix, rest).astype(object)


def _ilo_tools(treated: np.ndarray, draw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ILO tools used (select_multiple): treated enterprises use some, others mostly none."""
    n = len(treated)
    uses = np.where(treated, draw < 0.85, draw < 0.1)
    chosen = (rng.random((n, 11)) < np.where(treated, 0.3, 0.1)[:, None]) & uses[:, None]
    chosen[uses & ~chosen.any(axis=1), 9] = True  # project workshops
    codes = np.array([str(k) for k in range(1, 12)], dtype=object)
    text = join_codes(chosen, codes)
    return np.where(uses, text, "0").astype(object)


# --------------------------------------------------------------------------------------------
# Capacity-building test
# --------------------------------------------------------------------------------------------


def capacity_modules(instrument: Instrument | None) -> tuple[str, ...]:
    """Return the training module of each ``cb_qNN`` item of a capacity-building form.

    Parameters
    ----------
    instrument : Instrument or None
        The form.

    Returns
    -------
    tuple of str
        The ``cb_module`` tag of ``cb_q01``, ``cb_q02``... in item order (``""`` for an
        untagged item); empty without a form or items.
    """
    if instrument is None:
        return ()
    pattern = re.compile(r"^cb_q(\d{2})$")
    items = sorted((q for q, _ in instrument.walk() if pattern.match(q.name)), key=lambda q: q.name)
    return tuple(q.get("cb_module") or "" for q in items)


def capacity_answers(
    population: Population, round_name: str, instrument: Instrument | None = None
) -> FixedAnswers:
    """Write the capacity-building test's answers decided by the process for one round.

    Parameters
    ----------
    population : Population
        The world (its ``config.capacity_modules`` should be the form's, see
        :func:`capacity_modules`).
    round_name : {"pre", "post", "followup"}
        The round.
    instrument : Instrument, optional
        The round's form: its ``cb_qNN`` answer keys and ``cb_se_*`` items.

    Returns
    -------
    FixedAnswers
        One row per participant present in the round.

    Raises
    ------
    ValueError
        For an unknown round.

    Notes
    -----
    Unit: participant x round. Key: ``participant_id``. The results come from
    :func:`evaluation.synthetic.population.simulate_capacity`. The test is self-administered
    on the participant's phone through the trainer's Enketo link, so ``username`` is the
    event's trainer account.
    """
    if round_name not in ("pre", "post", "followup"):
        raise ValueError(f"capacity rounds are pre, post and followup; got {round_name!r}")
    config = population.config
    items = config.capacity_items
    tests = simulate_capacity(population)
    rows = tests[(tests["round"] == round_name) & tests["present"]].reset_index(drop=True)
    rng = stream(config.seed, "answers").spawn(4)[3]
    notes: list[str] = []
    n = len(rows)
    base = np.datetime64(config.baseline_start) + np.timedelta64(60, "D")
    event_number = rows["event_id"].str[2:].astype(int).to_numpy()
    offset = {"pre": 0, "post": 2, "followup": 120}[round_name]
    day = base + (event_number * 14 + offset).astype("timedelta64[D]")
    hour = 9 if round_name == "pre" else 15
    start = day.astype("datetime64[s]") + rng.integers(hour * 3600, (hour + 1) * 3600, n).astype(
        "timedelta64[s]"
    )
    end = start + rng.integers(12 * 60, 30 * 60, n).astype("timedelta64[s]")
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    random_id = alphabet[rng.integers(0, len(alphabet), (n, 16))].view("<U16").reshape(n)
    device = np.char.add("ee.kobotoolbox.org:", random_id)
    profile = rows["profile_draw"].to_numpy()
    out = {
        "start": odk_time(start),
        "end": odk_time(end),
        "today": _date_text(start),
        "deviceid": device.astype(object),
        "username": text_column(np.char.add("trainer", np.char.zfill(event_number.astype(str), 2))),
        "meta_round": text_column(np.full(n, round_name)),
        "event_id": text_column(rows["event_id"].to_numpy()),
        "meta_consent": text_column(np.ones(n, dtype=int)),
        "participant_id": text_column(rows["participant_id"].to_numpy()),
        "participant_id_check": text_column(rows["participant_id"].to_numpy()),
    }
    if round_name == "pre":
        out.update(
            {
                "cb_sex": text_column(rows["female"].to_numpy() + 1),
                "cb_org_type": text_column(
                    1 + np.searchsorted(np.cumsum([0.15, 0.25, 0.15, 0.2, 0.1, 0.1]), profile)
                ),
                "cb_experience": text_column(np.minimum(np.round(profile * 25), 50)),
            }
        )
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
    if instrument is not None and not capacity_modules(instrument):
        notes = [*sorted(set(notes))[:1], f"capacity test simulated with {items} items"]
    return FixedAnswers(pd.DataFrame(out, dtype=object), {}, tuple(dict.fromkeys(notes)))
