"""The true effects of a demo world, each with its estimand stated.

Every number is computed from the simulated **potential outcomes of the sample** (both states of
every sampled unit), not read from a parameter, so a test compares an estimate with the quantity
it estimates: the average of individual effects over a stated population, on a stated scale.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from evaluation.synthetic.population import (
    CORE_SKILL_ITEMS,
    GREEN_QUIZ_ITEMS,
    Population,
    simulate_capacity,
    simulate_enterprise_rounds,
)

__all__ = [
    "MAIN_POPULATION",
    "POPULATIONS",
    "TrueEffect",
    "Truth",
    "core_skills_standardisation",
    "truth",
]

#: The populations an effect can be averaged over (apprentices).
POPULATIONS = {
    "all_sampled": "every apprentice interviewed at baseline (the panel sample)",
    "endline_respondents": "baseline respondents also interviewed at endline (trk_status 1 or 2)",
    "always_employed": (
        "baseline respondents employed at endline whether treated or not (principal stratum "
        "E(0) = E(1) = 1): where wages, contracts and occupations exist in both states"
    ),
    "employed_both_rounds": (
        "baseline respondents observed employed at baseline and at endline (a realised, "
        "treatment-dependent selection: not a causal stratum)"
    ),
}


@dataclass(frozen=True, slots=True)
class TrueEffect:
    """One true effect and its estimand.

    Attributes
    ----------
    outcome : str
        The indicator (names of ``/work/notes/clean_data.md``: ``employed``, ``formal_job``,
        ``log_wage_hour``, ``core_skills_index``...).
    instrument : str
        The questionnaire it is measured by (``apprentice``, ``enterprise``, ``capacity``).
    estimand : str
        ``ATE`` (average over the population), ``ATT`` (over its treated members) or
        ``mean gain`` (capacity building: post minus pre, no counterfactual).
    population : str
        Key of :data:`POPULATIONS` (or ``all_enterprises``, ``pre_and_post``).
    subgroup : str or None
        ``female``, ``male``, ``rural_hukou``, ``urban_hukou``, or ``None`` for everyone.
    scale : str
        What a unit of the effect is (``probability``, ``log points``, ``SD of the baseline
        comparison group``, ...).
    value : float
        The mean of the individual effects over the population.
    n : int
        Units averaged over.
    primary : bool
        Whether this is the outcome's primary estimand (the one estimation tests compare with).
    definition : str
        How the indicator is built from the answers, so that a reader can rebuild it.
    """

    outcome: str
    instrument: str
    estimand: str
    population: str
    subgroup: str | None
    scale: str
    value: float
    n: int
    primary: bool
    definition: str


@dataclass(frozen=True, slots=True)
class Truth:
    """All true effects of a world.

    Attributes
    ----------
    effects : tuple of TrueEffect
        Sorted by instrument, outcome, population, estimand and subgroup.
    """

    effects: tuple[TrueEffect, ...]

    def __iter__(self) -> Iterator[TrueEffect]:
        """Iterate over the effects."""
        return iter(self.effects)

    def __len__(self) -> int:
        """Return the number of effects."""
        return len(self.effects)

    def primary(self) -> tuple[TrueEffect, ...]:
        """Return the primary effect of every outcome.

        Returns
        -------
        tuple of TrueEffect
            One per outcome with ``primary=True``.
        """
        return tuple(e for e in self.effects if e.primary)

    def get(
        self,
        outcome: str,
        *,
        population: str | None = None,
        estimand: str = "ATE",
        subgroup: str | None = None,
    ) -> TrueEffect:
        """Return one effect.

        Parameters
        ----------
        outcome : str
            The indicator.
        population : str, optional
            The population; the outcome's main population when omitted (the primary
            population of a primary outcome).
        estimand : str, optional
            ``ATE`` (default), ``ATT`` or ``mean gain``.
        subgroup : str, optional
            ``female``, ``male``, ``rural_hukou`` or ``urban_hukou``.

        Returns
        -------
        TrueEffect
            The matching effect.

        Raises
        ------
        KeyError
            When there is no such effect.
        """
        if population is None:
            by_module = outcome.startswith(("score_gain_", "norm_gain_"))
            if outcome not in MAIN_POPULATION and not by_module:
                raise KeyError(f"no true effect for outcome {outcome!r}")
            population = "pre_and_post" if by_module else MAIN_POPULATION[outcome]
        for e in self.effects:
            if (e.outcome, e.population, e.estimand, e.subgroup) == (
                outcome,
                population,
                estimand,
                subgroup,
            ):
                return e
        raise KeyError(
            f"no true effect for outcome={outcome!r}, population={population!r}, "
            f"estimand={estimand!r}, subgroup={subgroup!r}"
        )

    def to_frame(self) -> pd.DataFrame:
        """Return one row per effect.

        Returns
        -------
        pandas.DataFrame
            The fields of :class:`TrueEffect` as columns.
        """
        return pd.DataFrame([asdict(e) for e in self.effects])

    def to_json(self) -> str:
        """Return the effects as JSON text (sorted keys, deterministic).

        Returns
        -------
        str
            ``{"populations": {...}, "effects": [...]}``.
        """
        document = {
            "note": "synthetic demo data: effects are known by construction",
            "populations": POPULATIONS,
            "effects": [{**asdict(e), "value": round(e.value, 10)} for e in self.effects],
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


_CORE_ITEMS = tuple(item for group in CORE_SKILL_ITEMS.values() for item in group)
_SUBSCALE = {
    "core_skills_index": _CORE_ITEMS,
    "core_skills_social": CORE_SKILL_ITEMS["social"],
    "core_skills_cognitive": CORE_SKILL_ITEMS["cognitive"],
    "core_skills_digital": CORE_SKILL_ITEMS["digital"],
    "core_skills_green": CORE_SKILL_ITEMS["green"],
}


def _core_raw(app: pd.DataFrame, name: str, state: str) -> np.ndarray:
    """Raw core-skills score: a subscale's item mean, or the index's mean of subscale means."""
    if name == "core_skills_index":
        means = [_core_raw(app, sub, state) for sub in _SUBSCALE if sub != name]
        return np.mean(means, axis=0)
    return app[[f"{i}__{state}" for i in _SUBSCALE[name]]].to_numpy(float).mean(axis=1)


def core_skills_standardisation(population: Population) -> dict[str, tuple[float, float]]:
    """Return the mean and SD that standardise each core-skills score.

    Parameters
    ----------
    population : Population
        The world.

    Returns
    -------
    dict
        Score name to ``(mean, sd)`` of its raw score among baseline respondents of the
        comparison group (``sd`` with ``ddof=1``). A subscale's raw score is the mean of its
        items; the index's raw score is the mean of the four subscale means (each ILO category
        weighs the same, as :func:`evaluation.indicators.skills.core_skills` builds it).
    """
    app = population.apprentices
    mask = app["in_panel"].to_numpy() & (app["treatment"].to_numpy() == 0)
    result = {}
    for name in _SUBSCALE:
        raw = _core_raw(app, name, "b")[mask]
        result[name] = (float(raw.mean()), float(raw.std(ddof=1)))
    return result


def _quiz_score(app: pd.DataFrame, state: str) -> np.ndarray:
    correct = [app[f"{item}__{state}"].to_numpy() == 1 for item in GREEN_QUIZ_ITEMS]
    return 100 * np.mean(correct, axis=0).astype(float)


def _potential(population: Population) -> dict[str, tuple[np.ndarray, np.ndarray, str, str]]:
    """Each outcome's potential values (state 0, state 1), its scale and its definition."""
    app = population.apprentices
    hours = app["hours_e"].to_numpy(float) * 4.33
    result = {
        "employed": (
            app["employed_0"].to_numpy(float),
            app["employed_1"].to_numpy(float),
            "probability",
            (
                "act_employed (19th ICLS): worked >= 1 hour for pay last week or temporarily "
                "absent with return within 3 months"
            ),
        ),
        "formal_job": (
            app["formal_0"].to_numpy(float),
            app["formal_1"].to_numpy(float),
            "probability",
            (
                "employee whose employer pays pension (job_si 1) or medical insurance (job_si 2); "
                "when job_si is don't know, paid annual leave and paid sick leave both yes"
            ),
        ),
        "log_wage_hour": (
            np.log(app["wage_0"].to_numpy(float) / hours),
            np.log(app["wage_1"].to_numpy(float) / hours),
            "log points",
            "log(job_wage / (job_hours_usual * 4.33)); job_wage net monthly RMB as reported",
        ),
        "green_knowledge_score": (
            *(_quiz_score(app, s) for s in ("0", "1")),
            "percentage points (percent of the 5 quiz items correct)",
            "100 x share of grn_quiz_1..5 equal to their answer_key (don't know scored 0)",
        ),
        "overqual_norm": (
            app["overqual_0"].to_numpy(float),
            app["overqual_1"].to_numpy(float),
            "probability",
            (
                "ISCED level of edu_level above the highest level required by the ISCO-08 major "
                "group of the job (DOMAIN.md 2.2, major group 9 -> ISCED 0-1)"
            ),
        ),
        "underqual_norm": (
            app["underqual_0"].to_numpy(float),
            app["underqual_1"].to_numpy(float),
            "probability",
            "ISCED level of edu_level below the lowest level required by the ISCO-08 major group",
        ),
    }
    for name, (centre, spread) in core_skills_standardisation(population).items():
        items = _SUBSCALE[name]
        values = tuple((_core_raw(app, name, s) - centre) / spread for s in ("0", "1"))
        raw = (
            "the mean of the four subscale means (social, cognitive, digital, green items on 1-5)"
            if name == "core_skills_index"
            else f"the mean of the {len(items)} items {items[0]}... on 1-5"
        )
        result[name] = (
            *values,
            "SD of the baseline comparison group",
            f"({raw} minus its baseline comparison-group mean) / its SD (ddof 1)",
        )
    return result


#: Each outcome's primary population and the other populations reported for it.
_OUTCOME_POPULATIONS = {
    "employed": ("all_sampled", ("endline_respondents",)),
    "formal_job": ("always_employed", ("employed_both_rounds",)),
    "log_wage_hour": ("always_employed", ("employed_both_rounds",)),
    "core_skills_index": ("all_sampled", ("endline_respondents",)),
    "core_skills_social": ("all_sampled", ()),
    "core_skills_cognitive": ("all_sampled", ()),
    "core_skills_digital": ("all_sampled", ()),
    "core_skills_green": ("all_sampled", ()),
    "green_knowledge_score": ("all_sampled", ("endline_respondents",)),
    "overqual_norm": ("always_employed", ("employed_both_rounds",)),
    "underqual_norm": ("always_employed", ("employed_both_rounds",)),
}
#: The population each outcome's effect is first reported for.
MAIN_POPULATION = {
    **{outcome: main for outcome, (main, _) in _OUTCOME_POPULATIONS.items()},
    "employer_satisfaction_apprentices": "all_enterprises",
    "skill_gap_share": "all_enterprises",
    "score_gain": "pre_and_post",
    "norm_gain": "pre_and_post",
}
_PRIMARY_OUTCOMES = (
    "employed",
    "formal_job",
    "log_wage_hour",
    "core_skills_index",
    "green_knowledge_score",
    "overqual_norm",
)


def _masks(population: Population) -> dict[str, np.ndarray]:
    app = population.apprentices
    panel = app["in_panel"].to_numpy()
    responded = panel & app["responded_e"].to_numpy()
    return {
        "all_sampled": panel,
        "endline_respondents": responded,
        "always_employed": panel
        & (app["employed_0"].to_numpy() == 1)
        & (app["employed_1"].to_numpy() == 1),
        "employed_both_rounds": responded
        & (app["employed_b"].to_numpy() == 1)
        & (app["employed_e"].to_numpy() == 1),
    }


def _apprentice_effects(population: Population) -> list[TrueEffect]:
    app = population.apprentices
    masks = _masks(population)
    treated = app["treatment"].to_numpy() == 1
    female = app["female"].to_numpy() == 1
    rural = app["rural"].to_numpy() == 1
    subgroups = {
        None: np.ones(len(app), bool),
        "female": female,
        "male": ~female,
        "rural_hukou": rural,
        "urban_hukou": ~rural,
    }
    effects = []
    for outcome, (y0, y1, scale, definition) in _potential(population).items():
        main, others = _OUTCOME_POPULATIONS[outcome]
        diff = y1 - y0
        for pop in (main, *others):
            for subgroup, in_group in subgroups.items():
                if subgroup is not None and pop != main:
                    continue
                for estimand, extra in (("ATE", True), ("ATT", treated)):
                    mask = masks[pop] & in_group & extra
                    if not mask.any():
                        continue
                    effects.append(
                        TrueEffect(
                            outcome=outcome,
                            instrument="apprentice",
                            estimand=estimand,
                            population=pop,
                            subgroup=subgroup,
                            scale=scale,
                            value=float(diff[mask].mean()),
                            n=int(mask.sum()),
                            primary=(
                                outcome in _PRIMARY_OUTCOMES
                                and pop == main
                                and subgroup is None
                                and estimand == "ATE"
                            ),
                            definition=definition,
                        )
                    )
    return effects


def _enterprise_effects(population: Population) -> list[TrueEffect]:
    rounds = simulate_enterprise_rounds(population)
    end = rounds[rounds["round"] == "endline"]
    treated = end["treatment"].to_numpy() == 1
    effects = []
    for outcome, y0, y1, scale, definition in (
        (
            "employer_satisfaction_apprentices",
            (end["sat_0"].to_numpy() >= 4).astype(float),
            (end["sat_1"].to_numpy() >= 4).astype(float),
            "probability",
            "ent_sat_apprentices 4 or 5 (satisfied or very satisfied)",
        ),
        (
            "skill_gap_share",
            end["gap_0"].to_numpy(float),
            end["gap_1"].to_numpy(float),
            "percentage points",
            "ent_skill_gap_share: percent of staff not fully proficient",
        ),
    ):
        for estimand, mask in (("ATE", np.ones(len(end), bool)), ("ATT", treated)):
            effects.append(
                TrueEffect(
                    outcome=outcome,
                    instrument="enterprise",
                    estimand=estimand,
                    population="all_enterprises",
                    subgroup=None,
                    scale=scale,
                    value=float((y1 - y0)[mask].mean()),
                    n=int(mask.sum()),
                    primary=False,
                    definition=definition,
                )
            )
    return effects


def _capacity_effects(population: Population) -> list[TrueEffect]:
    tests = simulate_capacity(population)
    pre = tests[tests["round"] == "pre"].set_index("participant_id")
    post = tests[tests["round"] == "post"].set_index("participant_id")
    both = post.index[post["present"].to_numpy()]
    modules = list(dict.fromkeys(population.config.capacity_modules))
    definition = (
        "percent of cb_qNN items answered with their answer_key (don't know scored 0); "
        "true scores are expected scores under the item response model"
    )
    effects = []
    for module in (None, *modules):
        column = "expected_score" if module is None else f"expected_{module}"
        suffix = "" if module is None else f"_{module}"
        which = "" if module is None else f" of the items tagged cb_module = {module}"
        pre_mean = float(pre.loc[both, column].mean())
        post_mean = float(post.loc[both, column].mean())
        gain = post.loc[both, column] - pre.loc[both, column]
        effects += [
            TrueEffect(
                outcome=f"score_gain{suffix}",
                instrument="capacity",
                estimand="mean gain",
                population="pre_and_post",
                subgroup=None,
                scale="percentage points",
                value=float(gain.mean()),
                n=len(both),
                primary=False,
                definition=f"score_post - score_pre{which}: " + definition,
            ),
            TrueEffect(
                outcome=f"norm_gain{suffix}",
                instrument="capacity",
                estimand="mean gain",
                population="pre_and_post",
                subgroup=None,
                scale="share of the possible gain (Hake)",
                value=(post_mean - pre_mean) / (100 - pre_mean),
                n=len(both),
                primary=False,
                definition=(
                    f"(mean score_post - mean score_pre) / (100 - mean score_pre){which}: "
                    + definition
                ),
            ),
        ]
    return effects


def truth(population: Population) -> Truth:
    r"""Compute every true effect of a world from its potential outcomes.

    Parameters
    ----------
    population : Population
        The simulated world.

    Returns
    -------
    Truth
        Apprentice outcomes (ATE and ATT over each population, the primary population by sex
        and hukou), enterprise outcomes and the capacity-building learning gain, overall and by
        training module (``norm_gain_<module>``, ``score_gain_<module>``).

    Notes
    -----
    Unit: the sampled unit. An ATE is :math:`\\frac{1}{|S|}\\sum_{i \\in S} (Y_i(1) - Y_i(0))`
    over the population :math:`S`; an ATT the same over its treated members. Wage, contract and
    occupation outcomes exist only where the apprentice is employed, so their primary
    population is the always-employed. The core-skills indices are standardised by the baseline
    comparison group (:func:`core_skills_standardisation`).
    """
    effects = (
        _apprentice_effects(population)
        + _enterprise_effects(population)
        + _capacity_effects(population)
    )
    effects.sort(
        key=lambda e: (e.instrument, e.outcome, e.population, e.estimand, e.subgroup or "")
    )
    return Truth(tuple(effects))
