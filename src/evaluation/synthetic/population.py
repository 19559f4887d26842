r"""The demo world's population and data-generating process, documented in one place.

The world is a simulated evaluation of the project "Quality Apprenticeship and Lifelong Learning in
China - Phase 2" with effects known by construction. :func:`simulate_population` draws it from one
seed; :mod:`evaluation.synthetic.truth` reads the true effects off its potential outcomes;
:mod:`evaluation.synthetic.answers` turns it into questionnaire answers. All numbers below are
parameters of a simulation, **synthetic**, never statements about China.

Notes
-----
**Structure.** Cities (:data:`~evaluation.synthetic.tables.CITIES`: 8 pilot cities, the four
Phase 1 pilot cities Chongqing, Huzhou, Rizhao and Tianjin plus four illustrative ones, and four
illustrative comparison cities) hold enterprises (assigned to cities in turn); enterprises hold
sampled apprentices (``1 + Poisson(m - 1)`` each, ``m`` = ``apprentices_per_enterprise``, at
most 80% of the enterprise's employees). IDs
follow the project's contract: ``enterprise_id`` = city code + 3 digits, ``resp_id`` =
``enterprise_id`` + 3 digits.

**Enterprises.** Sector (six pilot sectors of :data:`~evaluation.synthetic.tables.SECTORS`),
size band (firm_size 1-5, sector-specific weights, leaving out bands whose upper bound is below
``1.5 m``: a sampled enterprise holds its sample), employees (log-uniform within the band),
ownership (state-owned 0.2, collective 0.03, private 0.6, foreign 0.12, individual business only
for 1-9 persons, others 0.05). Stratum = GB/T 4754 letter x size class (small 1-2, medium 3,
large 4-5), e.g. ``C-large``.

**Selection into treatment on observables.** Only enterprises of pilot cities can be pilot
enterprises: :math:`P(T_e=1) = \operatorname{expit}(-0.3 + 1.1\,large_e + 0.9\,soe_e +
0.7\,manuf_e)` in pilot cities, 0 in comparison cities (at least one treated and one comparison
enterprise are forced). Large, state-owned and manufacturing enterprises pay more, are more
formal and train more, so unadjusted treatment-comparison differences are biased upwards; the
confounders are observed (``large``, ``soe``, ``manuf``, ``pilot_city``, city).

**Apprentices' covariates.** Sex (women: sector share), age at baseline :math:`16 +
\Gamma(2.2, 3.2)` capped at 45 (birth year and month from the interview date), hukou (rural:
sector share; type 1 or 3 if rural, 2, 4 or 5 if urban; location 1-4 with rural apprentices far
more often from another city or province), months worked away and locally, disability through the
six Washington Group items (2.5% have a domain at "a lot of difficulty" or worse, 6% "some
difficulty" per domain), Chinese education levels (``edu_level`` by hukou; no tertiary level
before age 19) with ISCED from :data:`~evaluation.synthetic.tables.EDU_LEVEL_ISCED`, field and
major, certificates, marital status, children, ethnicity. Direct identifiers are synthetic:
Chinese names from common surnames, mobile numbers ``1[3-9]`` + 9 digits, resident ID numbers
with valid GB 11643-1999 check digits (area code of the city, or of an origin province for
inter-provincial migrants).

**Enterprise random effects** (independent across outcomes): employment :math:`N(0, 0.05^2)` on
the probability, formality :math:`N(0, 0.07^2)`, log wage :math:`N(0, 0.11^2)` (ICC of log wages
about 0.15), core skills latent :math:`N(0, 0.35^2)` (ICC about 0.1), green knowledge
:math:`N(0, 0.35^2)`, attrition :math:`N(0, 0.3^2)` on the logit.

**Potential outcomes at endline** (``d`` = 0, 1; one set of uniforms and noises shared by both
states, so each person's individual effect is defined; the effect is
:math:`\tau(X) = \tau + \tau_f\,female + \tau_r\,rural` on the scale named):

- Employment (19th ICLS; a linear probability model so that OLS is correctly specified):
  baseline :math:`E_b = 1[U_b < p_b]`, :math:`p_b = 0.80 + 0.05\,male - 0.04\,rural + 0.04\,
  (ISCED \ge 3) + a_e`; endline :math:`E(d) = 1[U < p_0 + d\,\tau_E(X)]`, :math:`p_0 = 0.28 +
  0.45\,E_b + 0.04\,male - 0.05\,rural + 0.03\,soe + 0.03\,large + 0.03\,manuf + 0.04\,
  (ISCED \ge 3) + a_e`
  (probabilities clipped to [0.01, 0.995]).
- Formal job (employee with employer pension or medical insurance): latent baseline formality
  :math:`F_b = 1[U_{fb} < q_b]`, :math:`q_b = 0.38 + 0.25\,soe + 0.2\,large + 0.1\,foreign +
  0.05\,manuf - 0.08\,rural - 0.05\,migrant + b_e`; endline
  :math:`F(d) = 1[U_f < q_0 + d\,\tau_F(X)]`, :math:`q_0 = 0.15 + 0.45\,F_b + 0.12\,soe +
  0.1\,large + 0.05\,foreign + 0.05\,manuf - 0.05\,rural + b_e`.
  Observed only when employed; every employed apprentice is an employee (job_status 1 or 2).
  ``job_si`` holds pension and/or medical exactly when :math:`F = 1`; when it is "don't know",
  paid annual and sick leave are both yes exactly when :math:`F = 1` (the fallback rule).
- Log hourly wage: :math:`\ell_b = \mu_c + 0.08\,male + 0.12\,(ISCED \ge 5) - 0.05\,
  (ISCED \le 2) + 0.1\,soe + 0.1\,large + 0.06\,manuf + 0.05\,foreign + 0.015\,(age - 22) +
  w_e + \eta_i`,
  :math:`\eta_i \sim N(0, 0.32^2)`; :math:`\ell(d) = \ell_b - \eta_i + 0.7\,\eta_i + 0.06 +
  \varepsilon_i + d\,\tau_W(X)`, :math:`\varepsilon_i \sim N(0, 0.2^2)`. Monthly net wage =
  :math:`e^{\ell}\times` usual weekly hours :math:`\times 4.33`, floored at the person's
  :math:`f_i` = city minimum wage :math:`\times U(0.92, 1.03)` and rounded as the person reports
  (to 100, 50, 10 or 1 yuan); hourly wage = monthly / (hours :math:`\times` 4.33). Wage
  potential outcomes do not depend on the employment uniform, so wage selection is on
  observables only. Wages are refused (4%) or not known (2%) at random; the bracket is then
  asked.
- Core skills: latent :math:`\theta_b = 0.3\,(ISCED-3)/1.5 + 0.05\,(age-22) + s_e + \zeta_i`,
  :math:`\zeta_i \sim N(0, 0.9^2)`; :math:`\theta(d) = 0.6\,\theta_b + 0.15 + 0.6\,s_e + \xi_i
  + d\,\tau_C(X)` (:math:`\xi_i \sim N(0, 0.6^2)`; the green subscale moves by a further
  ``effects.green_core``). Each of the 19 ILO core-skill items (``cs_*``) is a graded response
  1-5: :math:`1 + \sum_k 1[\theta_k + \epsilon_{ij} > c_{jk}]` with a subscale deviation
  :math:`\nu_{ik} \sim N(0, 0.4^2)`, item noise :math:`N(0, 0.8^2)` (the same noise under both
  states) and item-specific cut points.
- Green knowledge: five quiz items, :math:`P(\text{correct}) = \operatorname{expit}(\kappa -
  b_j)`, :math:`b = (-1, -0.3, 0.2, 0.6, 1.2)`, :math:`\kappa` built like :math:`\theta`
  (effect ``effects.green_knowledge`` on the logit); a wrong answer is "don't know" with
  probability 0.4, else a random wrong option.
- Mismatch: everyone has an occupation (:data:`~evaluation.synthetic.tables.OCCUPATIONS`,
  chosen by sector and, for technician-level jobs, by education); at endline 20% change
  occupation, and a promotion (to the occupation's ``up``) happens when :math:`U_{up} <
  \pi_0 + d\,\tau_P(X)`, :math:`\pi_0 = 0.04 + 0.04\,(ISCED \ge 5)`. Normative over- and
  under-qualification compare ISCED with the ISCO major group's required levels
  (:data:`~evaluation.synthetic.tables.ISCO_REQUIRED_ISCED`), so promotions of tertiary-educated
  craft workers remove over-qualification and promotions of ISCED 3 workers to technician jobs
  create under-qualification.

**Attrition** (endline ``trk_status``): lost with :math:`\operatorname{expit}(-1.4 - 0.5\,T -
0.5\,E_b - 0.3\,(\bar y^{cs}_b - 3) + 0.7\,(\text{other province}) + 0.3\,(age < 20) + r_e)`;
among the lost 35% refuse (3), 0.5% have died (5), the rest are not found (4); found apprentices
who live in another city or province are interviewed by phone (2) more often.

**Baseline non-response**: 2.5% refuse consent; minors (under 18 at the interview) need a
guardian's consent, refused for 8% of them. Only consenting baseline respondents form the panel.

**Fieldwork** (``WorldConfig``): baseline from 3 March 2025 and endline from 2 March 2026, one
visit day per enterprise and round within six weeks (working days), three enumerators per city
working through the enterprise's apprentices from 8:30, about 38 minutes per interview (1-4
minutes for a refusal or a tracking-only record); capacity-building events every two weeks from
May 2025, post-test two days and follow-up 120 days after the pre-test. Every date falls before
the 31 December 2026 deletion date the consent texts promise.

**Enterprise survey** (both rounds) and **capacity-building test** (pre, post, follow-up, with a
learning gain that differs by training module) are simulated by
:func:`simulate_enterprise_rounds` and :func:`simulate_capacity`; see their notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.synthetic import tables

__all__ = [
    "CAPACITY_MODULE_GAIN",
    "CORE_SKILL_ITEMS",
    "DEFAULT_CAPACITY_MODULES",
    "GREEN_QUIZ_ITEMS",
    "Effects",
    "Population",
    "WorldConfig",
    "enumerators_of",
    "gb11643_check_digit",
    "minor_at",
    "simulate_capacity",
    "simulate_enterprise_rounds",
    "simulate_population",
    "stream",
]

#: The 19 core-skill items of the contract (names.md), by subscale.
CORE_SKILL_ITEMS: dict[str, tuple[str, ...]] = {
    "social": ("cs_se_communication", "cs_se_teamwork", "cs_se_conflict", "cs_se_emotional"),
    "cognitive": (
        "cs_cg_literacy_numeracy",
        "cs_cg_critical",
        "cs_cg_creative",
        "cs_cg_strategic",
        "cs_cg_problem_solving",
        "cs_cg_learning",
        "cs_cg_information",
        "cs_cg_planning",
        "cs_cg_career",
    ),
    "digital": ("cs_dg_hardware", "cs_dg_software", "cs_dg_online_safety"),
    "green": ("cs_gr_environment", "cs_gr_waste", "cs_gr_energy_water"),
}
#: The five green knowledge quiz items.
GREEN_QUIZ_ITEMS: tuple[str, ...] = tuple(f"grn_quiz_{j}" for j in range(1, 6))
_QUIZ_DIFFICULTY = np.array([-1.0, -0.3, 0.2, 0.6, 1.2])

# Stream numbers: each part of the world draws from its own generator, so that changing one
# part does not change the draws of another.
_STREAMS = {
    "parameters": 1,
    "enterprises": 2,
    "apprentices": 3,
    "outcomes": 4,
    "schedule": 5,
    "identifiers": 6,
    "enterprise_survey": 7,
    "capacity": 8,
    "answers": 9,
    "respond": 10,
    "envelope": 11,
    "messiness": 12,
}


def stream(seed: int, name: str) -> np.random.Generator:
    """Return the random generator of one part of the world.

    Parameters
    ----------
    seed : int
        The world's seed.
    name : str
        The part: ``parameters``, ``enterprises``, ``apprentices``, ``outcomes``, ``schedule``,
        ``identifiers``, ``enterprise_survey``, ``capacity``, ``answers``, ``respond``,
        ``envelope`` or ``messiness``.

    Returns
    -------
    numpy.random.Generator
        A generator seeded by ``(seed, part)``: independent of every other part's.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), _STREAMS[name]]))


@dataclass(frozen=True, slots=True)
class Effects:
    """True treatment effects of the demo world, as parameters (see the module notes).

    Each outcome's individual effect is ``base + female * effect_female + rural * effect_rural``
    on the scale named; :func:`evaluation.synthetic.truth.truth` reports what these parameters
    imply for the simulated sample.

    Attributes
    ----------
    employed, employed_female, employed_rural : float
        Employment probability (percentage points / 100).
    formal_job, formal_job_female, formal_job_rural : float
        Probability of a formal job when employed.
    log_wage, log_wage_female, log_wage_rural : float
        Log hourly wage (before flooring and rounding).
    core_skills, core_skills_female, core_skills_rural : float
        Latent core skills (SD units of the latent trait).
    green_core : float
        Extra shift of the green core-skill subscale.
    green_knowledge, green_knowledge_female, green_knowledge_rural : float
        Green knowledge on the logit of a correct quiz answer.
    promotion : float
        Probability of a promotion to the occupation's higher job.
    attrition_logit : float
        Effect of treatment on the logit of being lost at endline (negative: treated are found
        more often).
    capacity_gain : float
        Learning gain of capacity-building participants on the logit of a correct answer.
    employer_satisfaction : float
        Shift of treated enterprises' latent satisfaction with apprentices at endline.
    skill_gap_share : float
        Change of the share of staff not fully proficient in treated enterprises (points).
    """

    employed: float = 0.05
    employed_female: float = 0.03
    employed_rural: float = 0.03
    formal_job: float = 0.10
    formal_job_female: float = 0.0
    formal_job_rural: float = 0.05
    log_wage: float = 0.08
    log_wage_female: float = 0.02
    log_wage_rural: float = 0.03
    core_skills: float = 0.30
    core_skills_female: float = 0.05
    core_skills_rural: float = 0.10
    green_core: float = 0.20
    green_knowledge: float = 0.60
    green_knowledge_female: float = 0.10
    green_knowledge_rural: float = 0.10
    promotion: float = 0.10
    attrition_logit: float = -0.5
    capacity_gain: float = 1.0
    employer_satisfaction: float = 0.6
    skill_gap_share: float = -5.0


#: Training modules of the capacity-building test (``cb_module`` tags of the form), with the
#: world's relative learning gain in each (a parameter of the simulation).
CAPACITY_MODULE_GAIN: MappingProxyType = MappingProxyType(
    {
        "appr_systems": 1.2,
        "r208": 0.9,
        "core_skills": 1.0,
        "green_skills": 1.1,
        "anticipation": 0.8,
        "tracer_me": 0.6,
    }
)
#: The item modules of the project's capacity-building test (cb_q01 .. cb_q19), the default
#: when no form is given.
DEFAULT_CAPACITY_MODULES: tuple[str, ...] = (
    *("appr_systems",) * 4,
    *("r208",) * 3,
    *("core_skills",) * 3,
    *("green_skills",) * 3,
    *("anticipation",) * 3,
    *("tracer_me",) * 3,
)


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Size, timing and parameters of a demo world.

    Attributes
    ----------
    seed : int
        The one seed every draw derives from.
    n_enterprises : int
        Sampled enterprises (about 60 in the project's design).
    apprentices_per_enterprise : int
        Mean number of sampled apprentices per enterprise.
    capacity_events : int
        Capacity-building events (workshops) with a knowledge test.
    participants_per_event : int
        Mean participants per event.
    capacity_modules : tuple of str
        The training module of each multiple-choice item of the capacity-building test
        (``cb_q01`` ...), as the form's ``cb_module`` tags; its length is the number of items.
    baseline_start, endline_start : datetime.date
        First fieldwork day of each round. Defaults: 3 March 2025 and 2 March 2026, so that
        every interview and the capacity-building follow-up (by December 2025) fall before the
        31 December 2026 deletion date the consent texts promise.
    fieldwork_days : int
        Length of each round's fieldwork (calendar days).
    effects : Effects
        The true effects.
    """

    seed: int = 0
    n_enterprises: int = 60
    apprentices_per_enterprise: int = 95
    capacity_events: int = 6
    participants_per_event: int = 30
    capacity_modules: tuple[str, ...] = DEFAULT_CAPACITY_MODULES
    baseline_start: dt.date = dt.date(2025, 3, 3)
    endline_start: dt.date = dt.date(2026, 3, 2)
    fieldwork_days: int = 42
    effects: Effects = field(default_factory=Effects)

    def __post_init__(self) -> None:
        """Check the sizes."""
        if self.n_enterprises < 2:
            raise ValueError(f"n_enterprises must be at least 2; got {self.n_enterprises}")
        if not 1 <= self.apprentices_per_enterprise <= 999:
            raise ValueError(
                "apprentices_per_enterprise must be between 1 and 999 (three-digit resp_id "
                f"suffix); got {self.apprentices_per_enterprise}"
            )
        if self.n_enterprises > 999 * len(tables.CITIES):
            raise ValueError(f"at most {999 * len(tables.CITIES)} enterprises")
        if not self.capacity_modules:
            raise ValueError("the capacity-building test needs at least one item")
        if self.endline_start <= self.baseline_start:
            raise ValueError("the endline must start after the baseline")

    @property
    def capacity_items(self) -> int:  # numpydoc ignore=RT01
        """Number of multiple-choice items of the capacity-building test."""
        return len(self.capacity_modules)


@dataclass(frozen=True, slots=True)
class Population:
    """A simulated world: its units, covariates, potential outcomes and observed states.

    Attributes
    ----------
    config : WorldConfig
        The configuration it was drawn from.
    cities : pandas.DataFrame
        One row per city of the world (``city`` key).
    enterprises : pandas.DataFrame
        One row per sampled enterprise (``enterprise_id`` key): city, sector, size, ownership,
        treatment, stratum, random effects, fieldwork days and enumerators.
    apprentices : pandas.DataFrame
        One row per sampled apprentice (``resp_id`` key), baseline refusals included
        (``in_panel`` is False for them): covariates, identifiers, baseline states, potential
        endline states (suffix ``_0`` / ``_1``), observed endline states (suffix ``_e``),
        item responses (``<item>__b``, ``__0``, ``__1``) and tracking status.
    """

    config: WorldConfig
    cities: pd.DataFrame
    enterprises: pd.DataFrame
    apprentices: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _choice(
    rng: np.random.Generator, values: np.ndarray, probs: np.ndarray, size: int
) -> np.ndarray:
    """Draw ``size`` values with the given probabilities."""
    p = np.asarray(probs, dtype=float)
    return np.asarray(values)[rng.choice(len(p), size=size, p=p / p.sum())]


def _rowwise_choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one category index per row from a matrix of row probabilities (rows sum to 1)."""
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cumulative).sum(axis=1), probs.shape[1] - 1)


def _with(frame: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return the frame with columns added (or replaced) in one block."""
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
    return pd.concat([kept, pd.DataFrame(columns, index=frame.index)], axis=1)


def _concat(*parts: np.ndarray) -> np.ndarray:
    """Join string arrays element by element (vectorised)."""
    joined = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        joined = np.char.add(joined, np.asarray(part, dtype=str))
    return joined


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded text."""
    return np.char.zfill(np.asarray(values).astype(np.int64).astype(str), width)


def _lookup(table: Mapping, keys: np.ndarray) -> np.ndarray:
    """Map integer keys through a small table (vectorised)."""
    keys = np.asarray(keys).astype(int)
    low = min(table)
    values = np.zeros(max(table) - low + 1, dtype=np.asarray(list(table.values())).dtype)
    for key, value in table.items():
        values[key - low] = value
    return values[keys - low]


def _sector_values(column: str) -> np.ndarray:
    """One column of :data:`~evaluation.synthetic.tables.SECTORS`, by sector index."""
    return np.array([sector[column] for sector in tables.SECTORS])


def _clip01(p: np.ndarray) -> np.ndarray:
    return np.clip(p, 0.01, 0.995)


def _heterogeneous(base: float, female_extra: float, rural_extra: float, female, rural):
    return base + female_extra * female + rural_extra * rural


# --------------------------------------------------------------------------------------------
# Cities and enterprises
# --------------------------------------------------------------------------------------------


def _cities() -> pd.DataFrame:
    frame = pd.DataFrame([dict(c) for c in tables.CITIES]).rename(columns={"code": "city"})
    frame["pilot_city"] = (frame["role"] == "pilot").astype(int)
    return frame


_BAND_BOUNDS = np.array([(1, 9), (10, 49), (50, 299), (300, 999), (1000, 6000)], dtype=float)
_NAME_WORDS = tuple(
    "华盛 恒达 宏远 鑫源 永泰 金桥 新星 博创 瑞丰 安达 天成 佳和 隆基 盛世 汇通 振华".split()  # noqa: SIM905
)


def _enterprises(config: WorldConfig, cities: pd.DataFrame) -> pd.DataFrame:
    rng = stream(config.seed, "enterprises")
    n = config.n_enterprises
    city_index = np.arange(n) % len(cities)
    city = cities["city"].to_numpy()[city_index]
    number = np.zeros(n, dtype=int)
    for i in range(len(cities)):
        mask = city_index == i
        number[mask] = np.arange(1, mask.sum() + 1)
    sectors = tables.SECTORS
    sector_index = _choice(rng, np.arange(len(sectors)), [s["weight"] for s in sectors], n)
    size_probs = np.array([sectors[k]["size"] for k in sector_index])
    # Sampled enterprises must hold their sample of apprentices and young workers: bands too
    # small for 1.5 times the mean sample per enterprise are not drawn (the largest always is).
    room = _BAND_BOUNDS[:, 1] >= 1.5 * config.apprentices_per_enterprise
    room[-1] = True
    size_probs = size_probs * room[None, :]
    size = _rowwise_choice(rng, size_probs) + 1
    low, high = _BAND_BOUNDS[size - 1, 0], _BAND_BOUNDS[size - 1, 1]
    employees = np.round(np.exp(rng.uniform(np.log(low), np.log(high + 1)))).astype(int)
    employees = np.clip(employees, low.astype(int), high.astype(int))
    ownership = _choice(rng, np.array([1, 2, 3, 4, 7]), [0.2, 0.03, 0.6, 0.12, 0.05], n)
    small = size == 1
    ownership[small] = np.where(rng.random(small.sum()) < 0.5, 5, 3)
    pilot_city = cities["pilot_city"].to_numpy()[city_index]
    soe = (ownership == 1).astype(int)
    large = (size >= 4).astype(int)
    manuf = np.array([sectors[k]["code"] == 3 for k in sector_index], dtype=int)
    propensity = np.where(pilot_city == 1, expit(-0.3 + 1.1 * large + 0.9 * soe + 0.7 * manuf), 0.0)
    treatment = (rng.random(n) < propensity).astype(int)
    if treatment.sum() == 0:
        treatment[np.argmax(propensity)] = 1
    if treatment.sum() == n or (treatment == 0).sum() == 0:  # pragma: no cover - n >= 2
        treatment[np.argmin(propensity)] = 0
    size_class = np.array(["small", "small", "medium", "large", "large"])[size - 1]
    letter = np.array([sectors[k]["letter"] for k in sector_index])
    city_zh = cities["zh"].to_numpy()[city_index]
    words = np.array(_NAME_WORDS)[rng.integers(0, len(_NAME_WORDS), n)]
    trade = np.array([sectors[k]["zh"] for k in sector_index])
    frame = pd.DataFrame(
        {
            "enterprise_id": [f"{c}{k:03d}" for c, k in zip(city, number, strict=True)],
            "city": city,
            "name": [f"{c}{w}{t}有限公司" for c, w, t in zip(city_zh, words, trade, strict=True)],
            "industry": np.array([sectors[k]["code"] for k in sector_index]),
            "gbt4754": letter,
            "sector_index": sector_index,
            "size": size,
            "employees": employees,
            "ownership": ownership,
            "soe": soe,
            "foreign": (ownership == 4).astype(int),
            "large": large,
            "manuf": manuf,
            "pilot_city": pilot_city,
            "propensity": propensity,
            "treatment": treatment,
            "stratum": [f"{a}-{b}" for a, b in zip(letter, size_class, strict=True)],
            "re_employed": rng.normal(0, 0.05, n),
            "re_formal": rng.normal(0, 0.07, n),
            "re_wage": rng.normal(0, 0.11, n),
            "re_skills": rng.normal(0, 0.35, n),
            "re_green": rng.normal(0, 0.35, n),
            "re_attrition": rng.normal(0, 0.3, n),
        }
    )
    # Fieldwork: one visit day per enterprise and round (working days), three enumerators per
    # city: E + three digits, the city's position times ten plus 1-3.
    days = max(config.fieldwork_days - 14, 1)
    frame["visit_baseline"] = rng.integers(0, days, n)
    frame["visit_endline"] = rng.integers(0, days, n)
    frame["city_number"] = city_index
    return frame.sort_values("enterprise_id", kind="stable").reset_index(drop=True)


def enumerators_of(city_number: np.ndarray) -> np.ndarray:
    """Return the three enumerator numbers of each city (E001-E003 for the first city...).

    Parameters
    ----------
    city_number : numpy.ndarray
        Position of each city in :data:`~evaluation.synthetic.tables.CITIES`.

    Returns
    -------
    numpy.ndarray
        An ``(n, 3)`` array of enumerator numbers.
    """
    return np.asarray(city_number)[:, None] * 10 + np.array([1, 2, 3])[None, :]


# --------------------------------------------------------------------------------------------
# Apprentices: covariates
# --------------------------------------------------------------------------------------------

_EDU_CODES = np.arange(2, 11)
_EDU_PROBS = {
    "urban": np.array([0.0, 0.10, 0.10, 0.18, 0.14, 0.10, 0.03, 0.25, 0.10]),
    "rural": np.array([0.02, 0.22, 0.08, 0.25, 0.15, 0.08, 0.02, 0.15, 0.03]),
}
_COMPLETION_AGE = {2: 12, 3: 15, 4: 18, 5: 18, 6: 18, 7: 20, 8: 21, 9: 21, 10: 22}


def _birth(rng: np.random.Generator, n: int, interview: np.ndarray) -> pd.DataFrame:
    age = np.minimum(16.0 + rng.gamma(2.2, 3.2, n), 45.0)
    birth = interview - (age * 365.25).astype("timedelta64[D]")
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    months = birth.astype("datetime64[M]").astype(int) % 12 + 1
    return pd.DataFrame(
        {"age": age, "birth_date": birth, "birth_year": years, "birth_month": months}
    )


def _resident_ids(area: np.ndarray, birth: np.ndarray, female: np.ndarray, rng) -> np.ndarray:
    """Synthetic 18-character resident ID numbers with valid GB 11643-1999 check digits."""
    n = len(area)
    dates = np.char.replace(
        np.datetime_as_string(np.asarray(birth).astype("datetime64[D]")), "-", ""
    )
    serial = rng.integers(0, 500, n) * 2 + np.where(female == 1, 0, 1)  # odd men, even women
    body = _concat(np.asarray(area, dtype=str), dates.astype(str), _digits(serial, 3))
    digits = np.frombuffer(body.astype("<U17").astype("S17").tobytes(), dtype=np.uint8)
    digits = digits.reshape(n, 17).astype(int) - 48
    check = np.array(list("10X98765432"))[(digits @ _GB11643_WEIGHTS) % 11]
    return _concat(body, check).astype(object)


_GB11643_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))


def gb11643_check_digit(body: str) -> str:
    """Return the check character of a resident ID number (GB 11643-1999, ISO 7064 MOD 11-2).

    Parameters
    ----------
    body : str
        The first 17 digits.

    Returns
    -------
    str
        ``"0"``-``"9"`` or ``"X"``.

    Raises
    ------
    ValueError
        When ``body`` is not 17 digits.
    """
    if len(body) != 17 or not body.isdigit():
        raise ValueError("a resident ID number body has 17 digits")
    total = sum(int(d) * int(w) for d, w in zip(body, _GB11643_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def _names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    n = len(female)
    surnames = np.array(tables.SURNAMES)[rng.integers(0, len(tables.SURNAMES), n)]
    male_chars = np.array(tables.GIVEN_NAME_CHARS[1])
    female_chars = np.array(tables.GIVEN_NAME_CHARS[2])
    first = np.where(
        female == 1,
        female_chars[rng.integers(0, len(female_chars), n)],
        male_chars[rng.integers(0, len(male_chars), n)],
    )
    second = np.where(
        female == 1,
        female_chars[rng.integers(0, len(female_chars), n)],
        male_chars[rng.integers(0, len(male_chars), n)],
    )
    two = rng.random(n) < 0.6
    return _concat(surnames, first, np.where(two, second, "")).astype(object)


_PHONE_PREFIX = np.array(
    [
        *(130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 158, 159),
        *(166, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199),
    ]
)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = _PHONE_PREFIX[rng.integers(0, len(_PHONE_PREFIX), n)]
    rest = rng.integers(0, 100_000_000, n)
    return _concat(prefix.astype(str), _digits(rest, 8)).astype(object)


def _covariates(config: WorldConfig, ent: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    rng = stream(config.seed, "apprentices")
    sizes = 1 + rng.poisson(config.apprentices_per_enterprise - 1, len(ent))
    # At most 80% of an enterprise's staff are in the sample (and three-digit IDs).
    capacity = np.maximum(1, np.floor(0.8 * ent["employees"].to_numpy())).astype(int)
    sizes = np.minimum(np.minimum(sizes, capacity), 999)
    e_index = np.repeat(np.arange(len(ent)), sizes)
    n = len(e_index)
    within = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    e = ent.iloc[e_index].reset_index(drop=True)
    sector = e["sector_index"].to_numpy()
    female = (rng.random(n) < _sector_values("female")[sector]).astype(int)
    rural = (rng.random(n) < _sector_values("rural")[sector]).astype(int)
    start = np.datetime64(config.baseline_start)
    interview_day = start + e["visit_baseline"].to_numpy().astype("timedelta64[D]")
    birth = _birth(rng, n, interview_day)
    edu_index = np.where(
        rural == 1,
        _rowwise_choice(rng, np.tile(_EDU_PROBS["rural"], (n, 1))),
        _rowwise_choice(rng, np.tile(_EDU_PROBS["urban"], (n, 1))),
    )
    edu = _EDU_CODES[edu_index]
    young = birth["age"].to_numpy() < 19
    edu = np.where(young & (edu >= 7), np.where(rng.random(n) < 0.5, 5, 6), edu)
    isced = _lookup(tables.EDU_LEVEL_ISCED, edu)
    hukou_type = np.where(
        rural == 1,
        np.where(rng.random(n) < 0.6, 1, 3),
        _choice(rng, np.array([2, 4, 5]), [0.55, 0.42, 0.03], n),
    )
    loc_probs = np.where(
        rural[:, None] == 1, np.array([0.3, 0.15, 0.25, 0.3]), np.array([0.7, 0.1, 0.1, 0.1])
    )
    hukou_location = _rowwise_choice(rng, loc_probs) + 1
    frame = pd.DataFrame(
        {
            "resp_id": _concat(e["enterprise_id"].to_numpy(dtype=str), _digits(within, 3)).astype(
                object
            ),
            "enterprise_id": e["enterprise_id"].to_numpy(),
            "city": e["city"].to_numpy(),
            "city_number": e["city_number"].to_numpy(),
            "treatment": e["treatment"].to_numpy(),
            "female": female,
            "rural": rural,
            "edu_level": edu,
            "isced": isced,
            "hukou_type": hukou_type,
            "hukou_location": hukou_location,
            "migrant": (hukou_location >= 2).astype(int),
            "interview_baseline": interview_day,
        }
    )
    frame = pd.concat([frame, birth], axis=1)
    for column in ("industry", "sector_index", "size", "ownership", "soe", "foreign", "large"):
        frame[column] = e[column].to_numpy()
    frame["manuf"] = e["manuf"].to_numpy()
    frame["pilot_city"] = e["pilot_city"].to_numpy()
    return frame


def _demographics(config: WorldConfig, frame: pd.DataFrame) -> pd.DataFrame:
    """Marital status, children, ethnicity, migration months, disability, education details."""
    rng = stream(config.seed, "apprentices").spawn(1)[0]
    n = len(frame)
    age = frame["age"].to_numpy()
    marital_probs = np.select(
        [(age < 22)[:, None], (age < 28)[:, None]],
        [np.array([0.95, 0.04, 0.01, 0.0, 0.0]), np.array([0.73, 0.24, 0.02, 0.01, 0.0])],
        default=np.array([0.33, 0.6, 0.02, 0.04, 0.01]),
    )
    marital = _rowwise_choice(rng, marital_probs) + 1
    children = np.where(marital == 2, np.minimum(rng.poisson(0.6, n), 3), 0)
    ethnicity = _choice(rng, np.array([1, 2, -98]), [0.92, 0.07, 0.01], n)
    loc = frame["hukou_location"].to_numpy()
    away = np.where(
        loc >= 2,
        rng.integers(8, 13, n),
        np.where(rng.random(n) < 0.8, 0, rng.integers(1, 4, n)),
    )
    farm = rng.integers(0, 4, n)
    local = np.clip(12 - away - farm, 0, 12)
    # Washington Group: 2.5% with a domain at level 3 or 4, otherwise "some difficulty" at 6%.
    wg = np.where(rng.random((n, 6)) < 0.06, 2, 1)
    disabled = rng.random(n) < 0.025
    domain = rng.integers(0, 6, n)
    level = np.where(rng.random(n) < 0.8, 3, 4)
    wg[disabled, domain[disabled]] = level[disabled]
    cert_card = np.where(disabled & (rng.random(n) < 0.4), 1, 0)
    sector_field = _sector_values("field")[frame["sector_index"].to_numpy()]
    edu = frame["edu_level"].to_numpy()
    other_field = _choice(rng, np.array([4, 6, 7, 9, 10, 2]), [0.25, 0.15, 0.25, 0.1, 0.2, 0.05], n)
    field_ = np.where(edu == 4, 0, np.where(rng.random(n) < 0.55, sector_field, other_field))
    majors = np.empty(n, dtype=object)
    u = rng.random(n)
    for code, names in tables.FIELD_MAJORS.items():
        mask = field_ == code
        majors[mask] = np.array(names, dtype=object)[(u[mask] * len(names)).astype(int)]
    majors[edu <= 3] = "无"
    completion = _lookup(_COMPLETION_AGE, edu) + rng.integers(0, 2, n)
    year_done = np.minimum(frame["birth_year"].to_numpy() + completion, config.baseline_start.year)
    vocational = (edu >= 5) & (edu <= 8)
    cert_any = _rowwise_choice(
        rng,
        np.column_stack([0.25 + 0.25 * vocational, 0.72 - 0.25 * vocational, np.full(n, 0.03)]),
    )
    cert_any = np.array([1, 0, -99])[cert_any]
    cert_level = _choice(rng, np.array([2, 3, 4, 5]), [0.35, 0.4, 0.2, 0.05], n)
    return _with(
        frame,
        {
            "marital": marital,
            "children_u6": children,
            "ethnicity": ethnicity,
            "months_away": away,
            "months_local": local,
            "wg_seeing": wg[:, 0],
            "wg_hearing": wg[:, 1],
            "wg_walking": wg[:, 2],
            "wg_cognition": wg[:, 3],
            "wg_selfcare": wg[:, 4],
            "wg_communication": wg[:, 5],
            "disabled": (wg >= 3).any(axis=1).astype(int),
            "disability_cert": cert_card,
            "edu_field": field_,
            "edu_major": majors,
            "edu_year_completed": year_done,
            "edu_enrolled": (rng.random(n) < 0.08).astype(int),
            "edu_cert_any": cert_any,
            "edu_cert_level": np.where(cert_any == 1, cert_level, 0),
        },
    )


def _identifiers(config: WorldConfig, frame: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    rng = stream(config.seed, "identifiers")
    n = len(frame)
    city_area = dict(zip(cities["city"], cities["area_code"], strict=True))
    local_area = frame["city"].map(city_area).to_numpy()
    origin = np.array(tables.MIGRANT_AREA_CODES)[rng.integers(0, len(tables.MIGRANT_AREA_CODES), n)]
    area = np.where(frame["hukou_location"].to_numpy() == 4, origin, local_area)
    return _with(
        frame,
        {
            "name": _names(rng, frame["female"].to_numpy()),
            "phone": _phones(rng, n),
            "resident_id": _resident_ids(
                area, frame["birth_date"].to_numpy(), frame["female"].to_numpy(), rng
            ),
        },
    )


# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------


def _occupation_arrays():
    occ = tables.OCCUPATIONS
    isco = np.array([o["isco"] for o in occ])
    major = np.array([int(o["isco"][0]) for o in occ])
    up = np.array([list(isco).index(o["up"]) if o["up"] else i for i, o in enumerate(occ)])
    return occ, isco, major, up


def _draw_occupations(rng, sector_code: np.ndarray, isced: np.ndarray) -> np.ndarray:
    """Occupation index for each person: an entry job of the sector, or a higher one."""
    occ, _, major, _ = _occupation_arrays()
    n = len(sector_code)
    result = np.zeros(n, dtype=int)
    higher_p = np.where(isced >= 5, 0.3, 0.06)
    higher = rng.random(n) < higher_p
    u = rng.random(n)
    for code in np.unique(sector_code):
        in_sector = np.array([code in o["sectors"] for o in occ])
        base = np.flatnonzero(in_sector & np.array([o["base"] for o in occ]))
        high = np.flatnonzero(in_sector & ~np.array([o["base"] for o in occ]) & (major != 1))
        if len(high) == 0:
            high = base
        for pool, mask in (
            (base, (sector_code == code) & ~higher),
            (high, (sector_code == code) & higher),
        ):
            result[mask] = pool[(u[mask] * len(pool)).astype(int)]
    return result


def _mismatch(isced: np.ndarray, major: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = _lookup({m: r[0] for m, r in tables.ISCO_REQUIRED_ISCED.items()}, major)
    high = _lookup({m: r[1] for m, r in tables.ISCO_REQUIRED_ISCED.items()}, major)
    return (isced > high).astype(int), (isced < low).astype(int)


_CUTS = np.array([-1.8, -0.8, 0.3, 1.4])


def _graded(theta: np.ndarray, noise: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Graded responses 1-5: one column per item; ``theta`` is (n, items) or (n, 1)."""
    latent = theta + noise
    cuts = _CUTS[None, None, :] + shift[None, :, None]
    return (1 + (latent[:, :, None] > cuts).sum(axis=2)).astype(np.int8)


def _wage_month(log_hour, hours, floor, rounding):
    monthly = np.exp(log_hour) * hours * 4.33
    monthly = np.maximum(monthly, floor)
    return np.minimum(np.round(monthly / rounding) * rounding, 100000).astype(int)


def _outcomes(config: WorldConfig, frame: pd.DataFrame, ent: pd.DataFrame, cities) -> pd.DataFrame:
    rng = stream(config.seed, "outcomes")
    params = stream(config.seed, "parameters")
    eff = config.effects
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    e_index = ent.set_index("enterprise_id").index.get_indexer(frame["enterprise_id"])
    re = {k: ent[k].to_numpy()[e_index] for k in ent.columns if k.startswith("re_")}
    female = frame["female"].to_numpy()
    male = 1 - female
    rural = frame["rural"].to_numpy()
    migrant = frame["migrant"].to_numpy()
    soe = frame["soe"].to_numpy()
    large = frame["large"].to_numpy()
    foreign = frame["foreign"].to_numpy()
    manuf = frame["manuf"].to_numpy()
    isced = frame["isced"].to_numpy()
    age = frame["age"].to_numpy()
    sec3 = (isced >= 3).astype(int)

    # Employment
    p_b = _clip01(0.80 + 0.05 * male - 0.04 * rural + 0.04 * sec3 + re["re_employed"])
    emp_b = (rng.random(n) < p_b).astype(int)
    p0 = _clip01(
        0.28 + 0.45 * emp_b + 0.04 * male - 0.05 * rural + 0.03 * soe + 0.03 * large
        + 0.03 * manuf + 0.04 * sec3 + re["re_employed"]
    )  # fmt: skip
    tau_e = _heterogeneous(eff.employed, eff.employed_female, eff.employed_rural, female, rural)
    p1 = _clip01(p0 + tau_e)
    u = rng.random(n)
    out["employed_b"] = emp_b
    out["employed_0"] = (u < p0).astype(int)
    out["employed_1"] = (u < p1).astype(int)

    # Formal job
    q_b = _clip01(
        0.38 + 0.25 * soe + 0.2 * large + 0.1 * foreign + 0.05 * manuf - 0.08 * rural
        - 0.05 * migrant + re["re_formal"]
    )  # fmt: skip
    formal_b = (rng.random(n) < q_b).astype(int)
    q0 = _clip01(
        0.15 + 0.45 * formal_b + 0.12 * soe + 0.1 * large + 0.05 * foreign + 0.05 * manuf
        - 0.05 * rural + re["re_formal"]
    )  # fmt: skip
    tau_f = _heterogeneous(
        eff.formal_job, eff.formal_job_female, eff.formal_job_rural, female, rural
    )
    u = rng.random(n)
    out["formal_b"] = formal_b
    out["formal_0"] = (u < q0).astype(int)
    out["formal_1"] = (u < _clip01(q0 + tau_f)).astype(int)

    # Wages
    level = dict(zip(cities["city"], cities["wage_level"], strict=True))
    minimum = dict(zip(cities["city"], cities["min_wage"], strict=True))
    mu = np.log(22.0) + frame["city"].map(level).to_numpy()
    eta = rng.normal(0, 0.32, n)
    lw_b = (
        mu + 0.08 * male + 0.12 * (isced >= 5) - 0.05 * (isced <= 2) + 0.1 * soe + 0.1 * large
        + 0.06 * manuf + 0.05 * foreign + 0.015 * (age - 22) + re["re_wage"] + eta
    )  # fmt: skip
    lw0 = lw_b - 0.3 * eta + 0.06 + rng.normal(0, 0.2, n)
    tau_w = _heterogeneous(eff.log_wage, eff.log_wage_female, eff.log_wage_rural, female, rural)
    lw1 = lw0 + tau_w
    sectors = tables.SECTORS
    sector = frame["sector_index"].to_numpy()
    hours_b = np.zeros(n, dtype=int)
    hours_e = np.zeros(n, dtype=int)
    for k, s in enumerate(sectors):
        mask = sector == k
        values, weights = s["hours"]
        hours_b[mask] = _choice(rng, np.array(values), weights, mask.sum())
        hours_e[mask] = _choice(rng, np.array(values), weights, mask.sum())
    floor = frame["city"].map(minimum).to_numpy() * rng.uniform(0.92, 1.03, n)
    rounding = _choice(rng, np.array([100, 50, 10, 1]), [0.6, 0.15, 0.15, 0.1], n)
    out["hours_b"] = hours_b
    out["hours_e"] = hours_e
    out["wage_b"] = _wage_month(lw_b, hours_b, floor, rounding)
    out["wage_0"] = _wage_month(lw0, hours_e, floor, rounding)
    out["wage_1"] = _wage_month(lw1, hours_e, floor, rounding)
    out["wage_floor"] = floor
    for r in ("b", "e"):
        out[f"wage_nr_{r}"] = _choice(rng, np.array([0, -98, -99]), [0.94, 0.04, 0.02], n)

    # Core skills: item shifts are world parameters (same for every person and round).
    items = [item for group in CORE_SKILL_ITEMS.values() for item in group]
    shift = params.uniform(-0.4, 0.4, len(items))
    theta_b = 0.3 * (isced - 3) / 1.5 + 0.05 * (age - 22) + re["re_skills"] + rng.normal(0, 0.9, n)
    tau_c = _heterogeneous(
        eff.core_skills, eff.core_skills_female, eff.core_skills_rural, female, rural
    )
    theta0 = 0.6 * theta_b + 0.15 + 0.6 * re["re_skills"] + rng.normal(0, 0.6, n)
    nu_b = rng.normal(0, 0.4, (n, len(CORE_SKILL_ITEMS)))
    nu_e = rng.normal(0, 0.4, (n, len(CORE_SKILL_ITEMS)))
    group_of = np.concatenate([np.full(len(g), k) for k, g in enumerate(CORE_SKILL_ITEMS.values())])
    green_group = list(CORE_SKILL_ITEMS).index("green")
    extra = np.where(group_of == green_group, eff.green_core, 0.0)
    noise_b = rng.normal(0, 0.8, (n, len(items)))
    noise_e = rng.normal(0, 0.8, (n, len(items)))
    resp_b = _graded(theta_b[:, None] + nu_b[:, group_of], noise_b, shift)
    resp_0 = _graded(theta0[:, None] + nu_e[:, group_of], noise_e, shift)
    resp_1 = _graded((theta0 + tau_c)[:, None] + extra[None, :] + nu_e[:, group_of], noise_e, shift)
    for j, item in enumerate(items):
        out[f"{item}__b"] = resp_b[:, j]
        out[f"{item}__0"] = resp_0[:, j]
        out[f"{item}__1"] = resp_1[:, j]

    # Green knowledge quiz: 1 correct, 0 wrong, -1 don't know; the wrong option is drawn later.
    kappa_b = 0.3 * (isced - 3) / 1.5 + re["re_green"] + rng.normal(0, 0.9, n)
    kappa0 = 0.6 * kappa_b + 0.1 + 0.6 * re["re_green"] + rng.normal(0, 0.6, n)
    tau_g = _heterogeneous(
        eff.green_knowledge, eff.green_knowledge_female, eff.green_knowledge_rural, female, rural
    )
    dk = rng.random((n, 5)) < 0.4
    quiz = {
        "b": rng.random((n, 5)) < expit(kappa_b[:, None] - _QUIZ_DIFFICULTY[None, :]),
    }
    draws = rng.random((n, 5))
    dk_e = rng.random((n, 5)) < 0.4
    quiz["0"] = draws < expit(kappa0[:, None] - _QUIZ_DIFFICULTY[None, :])
    quiz["1"] = draws < expit((kappa0 + tau_g)[:, None] - _QUIZ_DIFFICULTY[None, :])
    for suffix, correct in quiz.items():
        unknown = dk if suffix == "b" else dk_e
        for j, item in enumerate(GREEN_QUIZ_ITEMS):
            out[f"{item}__{suffix}"] = np.where(correct[:, j], 1, np.where(unknown[:, j], -1, 0))
    out["quiz_wrong_draw"] = rng.random(n)

    # Occupations and mismatch
    _occ, isco, major, up = _occupation_arrays()
    sector_code = frame["industry"].to_numpy()
    occ_b = _draw_occupations(rng, sector_code, isced)
    switch = rng.random(n) < 0.2
    occ_new = _draw_occupations(rng, sector_code, isced)
    occ_e0 = np.where(switch, occ_new, occ_b)
    pi0 = 0.04 + 0.04 * (isced >= 5)
    u = rng.random(n)
    promoted0 = u < pi0
    promoted1 = u < pi0 + eff.promotion
    occ0 = np.where(promoted0, up[occ_e0], occ_e0)
    occ1 = np.where(promoted1, up[occ_e0], occ_e0)
    out["occ_b"] = occ_b
    out["occ_0"] = occ0
    out["occ_1"] = occ1
    climbs = up[occ_e0] != occ_e0
    out["promoted_0"] = (promoted0 & climbs).astype(int)
    out["promoted_1"] = (promoted1 & climbs).astype(int)
    out["isco_b"], out["isco_0"], out["isco_1"] = isco[occ_b], isco[occ0], isco[occ1]
    for suffix, o in (("b", occ_b), ("0", occ0), ("1", occ1)):
        over, under = _mismatch(isced, major[o])
        out[f"overqual_{suffix}"] = over
        out[f"underqual_{suffix}"] = under
    out["same_employer"] = (rng.random(n) < 0.7).astype(int)
    out["title_draw"] = rng.random(n)
    out["tenure_months_b"] = rng.integers(1, 37, n)
    out["apprentice_b"] = (rng.random(n) < 0.85).astype(int)
    # Latent job satisfaction and training participation
    out["sat_latent"] = rng.normal(0, 1, n)
    out["ilo_contamination"] = (rng.random(n) < 0.05).astype(int)
    out["ilo_takeup"] = (rng.random(n) < 0.85).astype(int)
    out["ilo_hours"] = np.round(rng.gamma(4, 15, n)).astype(int) + 8
    out["appr_end_status"] = _choice(rng, np.array([1, 2, 3]), [0.3, 0.55, 0.15], n)
    out["quality_draw"] = rng.random((n,))
    return _with(frame, out)


def _core_mean(frame: pd.DataFrame, suffix: str, items=None) -> np.ndarray:
    names = items or [i for g in CORE_SKILL_ITEMS.values() for i in g]
    return frame[[f"{i}__{suffix}" for i in names]].to_numpy(float).mean(axis=1)


def _participation(config: WorldConfig, frame: pd.DataFrame, ent: pd.DataFrame) -> pd.DataFrame:
    """Baseline consent, panel membership, endline tracking status and interview schedule."""
    rng = stream(config.seed, "schedule")
    n = len(frame)
    age = frame["age"].to_numpy()
    consent = rng.random(n) >= 0.025
    guardian_draw = rng.random(n)
    e_index = ent.set_index("enterprise_id").index.get_indexer(frame["enterprise_id"])
    re_attr = ent["re_attrition"].to_numpy()[e_index]
    core_b = _core_mean(frame, "b")
    loss = expit(
        -1.4 + config.effects.attrition_logit * frame["treatment"].to_numpy()
        - 0.5 * frame["employed_b"].to_numpy() - 0.3 * (core_b - 3)
        + 0.7 * (frame["hukou_location"].to_numpy() == 4) + 0.3 * (age < 20) + re_attr
    )  # fmt: skip
    lost = rng.random(n) < loss
    why = rng.random(n)
    phone = rng.random(n) < np.where(frame["hukou_location"].to_numpy() >= 3, 0.3, 0.08)
    status = np.where(
        lost, np.where(why < 0.35, 3, np.where(why < 0.355, 5, 4)), np.where(phone, 2, 1)
    )
    # Interview times: each enumerator works through the enterprise's apprentices in order.
    start_day = {
        "baseline": np.datetime64(config.baseline_start),
        "endline": np.datetime64(config.endline_start),
    }
    schedule: dict[str, np.ndarray] = {}
    enumerator_slot = (np.arange(n) - np.r_[0, np.cumsum(np.bincount(e_index))[:-1]][e_index]) % 3
    order = (np.arange(n) - np.r_[0, np.cumsum(np.bincount(e_index))[:-1]][e_index]) // 3
    enums = enumerators_of(ent["city_number"].to_numpy()[e_index])
    schedule["enumerator"] = enums[np.arange(n), enumerator_slot]
    for round_name, visit in (("baseline", "visit_baseline"), ("endline", "visit_endline")):
        day_offset = ent[visit].to_numpy()[e_index] + order // 9
        minutes = 8 * 60 + 30 + (order % 9) * 52 + rng.integers(0, 15, n)
        weekday_shift = np.zeros(n, dtype=int)
        day = start_day[round_name] + (day_offset + weekday_shift).astype("timedelta64[D]")
        weekend = ((day.astype("datetime64[D]").astype(int) + 4) % 7) >= 5
        day = day + np.where(weekend, 2, 0).astype("timedelta64[D]")
        seconds = minutes * 60 + rng.integers(0, 60, n)
        start = day.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
        length = np.exp(rng.normal(np.log(38 * 60), 0.25, n))
        short = rng.uniform(60, 240, n)
        if round_name == "baseline":
            # Minors need a guardian's consent at the interview itself.
            minor = minor_at(start, frame["birth_date"].to_numpy())
            guardian = np.where(minor, guardian_draw >= 0.08, True)
            in_panel = consent & guardian
            length = np.where(in_panel, length, short)
        else:
            length = np.where(status == 2, length * 0.8, length)
            length = np.where(status >= 3, short, length)
        schedule[f"start_{round_name}"] = start
        schedule[f"end_{round_name}"] = start + length.astype("timedelta64[s]")
        schedule[f"upload_{round_name}"] = rng.uniform(120, 36 * 3600, n).astype("timedelta64[s]")
    status = np.where(in_panel, status, 0)
    return _with(
        frame,
        {
            "consent": consent.astype(int),
            "guardian": guardian.astype(int),
            "minor": minor.astype(int),
            "in_panel": in_panel,
            "trk_status": status,
            "responded_e": np.isin(status, (1, 2)),
            **schedule,
        },
    )


def minor_at(moment: np.ndarray, birth: np.ndarray) -> np.ndarray:
    """Whether each person is under 18 at a moment (the rule of the consent questions).

    Parameters
    ----------
    moment : numpy.ndarray of datetime64
        The interview.
    birth : numpy.ndarray of datetime64
        Dates of birth.

    Returns
    -------
    numpy.ndarray of bool
        True for minors: fewer than ``18 x 365.25`` days old.
    """
    days = np.asarray(moment).astype("datetime64[D]") - np.asarray(birth).astype("datetime64[D]")
    return days.astype(int) < 18 * 365.25


def _observed(frame: pd.DataFrame) -> pd.DataFrame:
    """Observed endline states: potential state of the apprentice's own treatment."""
    treated = frame["treatment"].to_numpy() == 1
    observed: dict[str, np.ndarray] = {}
    for column in frame.columns:
        if column.endswith("_0") and f"{column[:-2]}_1" in frame.columns:
            base = column[:-2]
            observed[f"{base}_e"] = np.where(treated, frame[f"{base}_1"], frame[column])
        elif column.endswith("__0") and f"{column[:-3]}__1" in frame.columns:
            base = column[:-3]
            observed[f"{base}__e"] = np.where(treated, frame[f"{base}__1"], frame[column])
    return _with(frame, observed)


def simulate_population(config: WorldConfig | None = None) -> Population:
    """Draw a demo world: cities, enterprises and apprentices with their potential outcomes.

    Parameters
    ----------
    config : WorldConfig, optional
        Size, timing, seed and true effects (defaults: 60 enterprises, about 5,000
        apprentices, seed 0).

    Returns
    -------
    Population
        The world, frozen. The same configuration always gives the same world.

    Notes
    -----
    Unit of observation: apprentice (``resp_id``), nested in enterprise (``enterprise_id``),
    nested in city. The data-generating process is the module's notes. Vectorised: no loop runs
    over apprentices.
    """
    config = config or WorldConfig()
    cities = _cities()
    enterprises = _enterprises(config, cities)
    frame = _covariates(config, enterprises, cities)
    frame = _demographics(config, frame)
    frame = _identifiers(config, frame, cities)
    frame = _outcomes(config, frame, enterprises, cities)
    frame = _participation(config, frame, enterprises)
    frame = _observed(frame)
    return Population(config, cities, enterprises, frame)


# --------------------------------------------------------------------------------------------
# Enterprise survey and capacity-building test
# --------------------------------------------------------------------------------------------


def simulate_enterprise_rounds(population: Population) -> pd.DataFrame:
    r"""Simulate the enterprise survey in both rounds.

    Parameters
    ----------
    population : Population
        The world.

    Returns
    -------
    pandas.DataFrame
        One row per enterprise and round (``enterprise_id``, ``round``), with the enterprise
        questionnaire's quantities as numbers (``ent_*`` columns named as the questions), the
        visit outcome ``ent_visit_status`` and the potential endline satisfaction and skill-gap
        share of both states (``sat_0``, ``sat_1``, ``gap_0``, ``gap_1``).

    Notes
    -----
    Unit: enterprise x round. Employees vary by :math:`U(0.95, 1.08)` around the frame's number,
    kept inside the enterprise's size band and at least its apprentices; women by the sector
    share of apprentices; staff with skill-level certificates (junior 15%, intermediate 10%,
    senior 5%, technician 2%, senior technician 0.5%, binomial); hires
    :math:`\text{Poisson}(0.12 \times \text{employees})`; vacancies
    :math:`\text{Poisson}(0.03 \times \text{employees})`, a binomial 40% of them hard to fill;
    skill-gap share :math:`25 + 10\,z_e + 4\,z_{er}` points (+ ``effects.skill_gap_share`` for
    treated enterprises at endline), clipped to 0-100; apprentices at least the sampled
    apprentices (3-12% of staff otherwise); completions and drop-outs in the last year
    (endline), the cohort that completed 12-24 months ago and its retention at 6 and 12 months
    (nested binomials); subsidies of at least RMB 5,000 for 80% of treated enterprises at endline
    (the 2021 guideline's floor), 30% of others; satisfaction with apprentices (sat5) graded from
    a latent :math:`z_e + \epsilon_{er}` (+ ``effects.employer_satisfaction`` for treated at
    endline). At endline 4% of enterprises are not interviewed (declined, closed, moved or not
    found: ``ent_visit_status`` 2-6); every baseline visit succeeds (the sample is drawn from
    enterprises that agreed to take part).
    """
    config = population.config
    rng = stream(config.seed, "enterprise_survey")
    ent = population.enterprises
    n = len(ent)
    app = population.apprentices
    learners = app[app["apprentice_b"].to_numpy() == 1]
    sampled = learners.groupby("enterprise_id").size().reindex(ent["enterprise_id"]).fillna(0)
    sampled = sampled.to_numpy().astype(int)
    female_share = _sector_values("female")[ent["sector_index"].to_numpy()]
    rural_share = _sector_values("rural")[ent["sector_index"].to_numpy()]
    employees = ent["employees"].to_numpy()
    size = ent["size"].to_numpy()
    treat = ent["treatment"].to_numpy()
    z_gap = rng.normal(0, 1, n)
    z_sat = rng.normal(0, 1, n)
    share = rng.uniform(0.03, 0.12, n)
    appr_total = np.maximum(sampled, np.round(employees * share)).astype(int)
    appr_total = np.maximum(np.minimum(appr_total, employees), 1)
    band_low = _BAND_BOUNDS[size - 1, 0].astype(int)
    band_high = np.where(size == 5, 500_000, _BAND_BOUNDS[size - 1, 1]).astype(int)
    since = rng.integers(2015, 2025, n)
    lost = rng.random(n) < 0.04
    why_lost = rng.choice(np.array([2, 3, 5, 6]), n, p=[0.4, 0.25, 0.15, 0.2])
    frames = []
    for round_name in ("baseline", "endline"):
        endline = round_name == "endline"
        emp = np.round(employees * rng.uniform(0.95, 1.08, n)).astype(int)
        emp = np.maximum(np.clip(emp, band_low, band_high), appr_total)
        levels = rng.multinomial(emp, [0.15, 0.10, 0.05, 0.02, 0.005, 0.675])
        cert = dict(zip(("junior", "inter", "senior", "tech", "srtech"), levels.T, strict=False))
        vac = rng.poisson(0.03 * emp)
        htf = rng.binomial(vac, 0.4)
        gap_0 = np.clip(np.round(25 + 10 * z_gap + rng.normal(0, 4, n)), 0, 100)
        gap_1 = np.clip(gap_0 + config.effects.skill_gap_share, 0, 100) if endline else gap_0
        sat_noise = rng.normal(0, 0.8, n)
        sat_cut = np.array([-2.0, -1.0, 0.0, 1.2])
        sat_0 = 1 + (z_sat[:, None] + sat_noise[:, None] > sat_cut[None, :]).sum(axis=1)
        shift = config.effects.employer_satisfaction if endline else 0.0
        sat_1 = 1 + (z_sat[:, None] + shift + sat_noise[:, None] > sat_cut[None, :]).sum(axis=1)
        subsidised = rng.random(n) < np.where((treat == 1) & endline, 0.8, 0.3)
        not_received = rng.choice(np.array([2, 3, 4]), n, p=[0.2, 0.15, 0.65])
        completed = rng.binomial(appr_total, 0.35) if endline else rng.binomial(appr_total, 0.2)
        dropped = rng.binomial(appr_total - completed, 0.12)
        cohort = rng.binomial(appr_total, 0.3)
        retained_6m = rng.binomial(cohort, np.where((treat == 1) & endline, 0.85, 0.78))
        retained_12m = rng.binomial(retained_6m, 0.88)
        mentors = np.maximum(1, rng.binomial(appr_total, 0.25))
        frames.append(
            pd.DataFrame(
                {
                    "enterprise_id": ent["enterprise_id"].to_numpy(),
                    "round": round_name,
                    "treatment": treat,
                    "ent_visit_status": np.where(endline & lost, why_lost, 1),
                    "ent_ownership": ent["ownership"].to_numpy(),
                    "ent_industry": ent["industry"].to_numpy(),
                    "ent_size": size,
                    "ent_employees_total": emp,
                    "ent_employees_female": rng.binomial(emp, female_share),
                    **{f"ent_emp_cert_{level}": count for level, count in cert.items()},
                    "ent_rural_share": np.clip(
                        np.round(100 * rural_share * rng.uniform(0.6, 1.1, n)), 0, 100
                    ).astype(int),
                    "ent_hires_12m": rng.poisson(0.12 * emp),
                    "ent_vacancies": vac,
                    "ent_vacancies_htf": htf,
                    "ent_appr_participates": np.ones(n, dtype=int),
                    "ent_appr_since_year": since,
                    "ent_appr_total": appr_total,
                    "ent_appr_female": rng.binomial(appr_total, female_share),
                    "ent_appr_rural": rng.binomial(appr_total, rural_share),
                    "ent_appr_disability": rng.binomial(appr_total, 0.015),
                    "ent_appr_completed": completed,
                    "ent_appr_dropped": dropped,
                    "ent_appr_certified": rng.binomial(completed, 0.8),
                    "ent_mentor_n": mentors,
                    "ent_mentor_trained": rng.binomial(
                        mentors, np.where((treat == 1) & endline, 0.8, 0.4)
                    ),
                    "ent_appr_offjob_hours": np.round(
                        rng.gamma(3.0, 8.0, n) + 8 * ((treat == 1) & endline)
                    ).astype(int),
                    "ent_appr_cost": np.round(rng.lognormal(np.log(12000), 0.35, n), -2),
                    "ent_appr_subsidy_status": np.where(subsidised, 1, not_received),
                    "ent_appr_subsidy": np.where(
                        subsidised, np.round(rng.uniform(5000, 8000, n), -2), 0
                    ),
                    "ent_appr_cohort": cohort,
                    "ent_appr_retained_6m": retained_6m,
                    "ent_appr_retained_12m": retained_12m,
                    "gap_0": gap_0,
                    "gap_1": gap_1,
                    "sat_0": sat_0,
                    "sat_1": sat_1,
                    "tools_draw": rng.random(n),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    treated = frame["treatment"].to_numpy() == 1
    return frame.assign(
        ent_skill_gap_share=np.where(treated, frame["gap_1"], frame["gap_0"]).astype(int),
        ent_sat_apprentices=np.where(treated, frame["sat_1"], frame["sat_0"]).astype(int),
    )


def simulate_capacity(population: Population) -> pd.DataFrame:
    r"""Simulate the capacity-building knowledge test (pre, post and follow-up).

    Parameters
    ----------
    population : Population
        The world (its seed, the events' cities and ``config.capacity_modules``, the module of
        each item).

    Returns
    -------
    pandas.DataFrame
        One row per participant and round (``participant_id``, ``round``): event, sex, the
        item results ``cb_qNN__r`` (1 correct, 0 wrong, -1 don't know), the expected score
        ``expected_score`` (percent) from the item response model and by module
        (``expected_<module>``), a latent self-efficacy and the draws that pick wrong options
        and the participant's profile (``wrong_draw``, ``profile_draw``).

    Notes
    -----
    Unit: participant x round. Ability :math:`\theta_p \sim N(0, 1)`, item difficulties
    :math:`b_j \sim N(0, 0.8^2)` (world parameters); :math:`P(\text{correct}) =
    \operatorname{expit}(\theta_p + g_r\,\delta_p\,m_{k(j)} - b_j)` with :math:`\delta_p \sim
    N(\text{effects.capacity\_gain}, 0.3^2)`, :math:`m_k` the module's relative gain
    (:data:`CAPACITY_MODULE_GAIN`, 1 for an unknown tag) and :math:`g` = 0 (pre), 1 (post),
    0.6 (follow-up). A wrong answer is "don't know" with probability 0.3 (pre) or 0.15
    (later). 5% miss the post-test and 35% the follow-up. There is no comparison group: the
    true learning gain is the mean of the expected score differences (see
    :func:`evaluation.synthetic.truth.truth`).
    """
    config = population.config
    rng = stream(config.seed, "capacity")
    params = stream(config.seed, "parameters").spawn(1)[0]
    modules = np.asarray(config.capacity_modules, dtype=object)
    items = len(modules)
    difficulty = params.normal(0, 0.8, items)
    module_gain = np.array([CAPACITY_MODULE_GAIN.get(m, 1.0) for m in modules])
    sizes = np.maximum(10, rng.poisson(config.participants_per_event, config.capacity_events))
    event = np.repeat(np.arange(config.capacity_events), sizes)
    n = len(event)
    theta = rng.normal(0, 1, n)
    delta = rng.normal(config.effects.capacity_gain, 0.3, n)
    female = (rng.random(n) < 0.5).astype(int)
    cities = population.cities["city"].to_numpy()
    event_city = cities[np.arange(config.capacity_events) % len(cities)]
    present = {
        "pre": np.ones(n, dtype=bool),
        "post": rng.random(n) >= 0.05,
        "followup": rng.random(n) >= 0.35,
    }
    profile_draw = rng.random(n)
    ids = np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 5)).astype(object)
    events = np.char.add("EV", np.char.zfill((event + 1).astype(str), 3)).astype(object)
    frames = []
    for round_name, g, dk_rate in (("pre", 0.0, 0.3), ("post", 1.0, 0.15), ("followup", 0.6, 0.15)):
        p = expit(theta[:, None] + g * delta[:, None] * module_gain[None, :] - difficulty[None, :])
        correct = rng.random((n, items)) < p
        dont_know = rng.random((n, items)) < dk_rate
        result = np.where(correct, 1, np.where(dont_know, -1, 0))
        columns: dict[str, object] = {
            "participant_id": ids,
            "event_id": events,
            "event_city": event_city[event],
            "round": round_name,
            "female": female,
            "present": present[round_name],
            "expected_score": 100 * p.mean(axis=1),
            "wrong_draw": rng.random(n),
            "profile_draw": profile_draw,
            "selfeff_latent": 0.5 * theta + g * 0.4 + rng.normal(0, 0.8, n),
        }
        for module in dict.fromkeys(modules):
            columns[f"expected_{module}"] = 100 * p[:, modules == module].mean(axis=1)
        columns.update({f"cb_q{j + 1:02d}__r": result[:, j] for j in range(items)})
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)
