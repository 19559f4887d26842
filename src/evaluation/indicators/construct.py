"""One construction path for every indicator of every round: :func:`construct_indicators`.

Reads the clean panels (``notes/clean_data.md``: typed codes, ``<name>__reason`` columns,
select_multiple dummies ``q__<code>``, a ``round`` column) and the instruments that describe them,
and returns every indicator with its metadata. Cleaning builds no indicators and analysis
builds no variables: both go through here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.indicators._common import (
    ConfigError,
    IndicatorError,
    as_float,
    as_int,
    binary,
    codes,
    multi_count,
    reason,
)
from evaluation.indicators.capacity import capacity_scores
from evaluation.indicators.enterprise import enterprise_indicators
from evaluation.indicators.files import reference_table
from evaluation.indicators.forms import (
    answer_keys,
    exclusive_options,
    family,
    forms_of,
    icse18_statuses,
    list_column,
    question_items,
    question_tags,
    unmapped_codes,
    wage_brackets,
)
from evaluation.indicators.jobs import (
    CONTRIBUTING_FAMILY_WORKER,
    WageRules,
    below_minimum_wage,
    deflate,
    job_quality,
    low_pay,
)
from evaluation.indicators.jobs import wages as wage_indicators
from evaluation.indicators.labour import (
    EMPLOYEE_STATUSES,
    activity_calendar,
    labour_status,
    transition_stage,
)
from evaluation.indicators.mismatch import (
    field_mismatch,
    normative_mapping,
    qualification_mismatch,
    skills_mismatch,
)
from evaluation.indicators.occupations import code_industry, code_occupations
from evaluation.indicators.registry import ITEMS, REGISTRY, Indicator, indicator_codebook
from evaluation.indicators.skills import (
    answer_score,
    apprenticeship_indicators,
    core_skills,
    core_skills_reliability,
    index_of_items,
    item_columns,
    scale_score,
    training_volume,
)
from evaluation.instruments.model import Instrument

__all__ = [
    "NO_QUALIFICATION_ISCED",
    "IndicatorConfig",
    "IndicatorSet",
    "answer_keys",
    "construct_indicators",
    "list_column",
    "population_groups",
]

_KEYS = {"apprentice": "resp_id", "enterprise": "enterprise_id", "capacity": "participant_id"}
_DESIGN = ("enterprise_id", "meta_city", "treatment", "stratum")


@dataclass(frozen=True, eq=False)
class IndicatorConfig:
    """Every setting of the indicator construction (read from the analysis plan).

    Attributes
    ----------
    reference_round : str
        Round of the standardisation group (``"baseline"``).
    treatment : str
        Treatment column (0 = comparison); the standardisation group is the comparison group
        in ``reference_round`` (the whole round when the column is absent).
    normative_overrides : mapping
        Changes to the strict ISCO -> ISCED table, e.g. ``{9: (0, 2)}``.
    isced_overrides : mapping
        ``edu_level`` code -> ISCED level replacing the instrument's ``isced`` column (e.g.
        ``{7: 3, 8: 5}`` for the run without the MOHRSS technician-class upgrade).
    stat_digits, stat_min_cell, stat_fallback : int, int, str
        Statistical mismatch settings (see
        :func:`~evaluation.indicators.mismatch.statistical_thresholds`).
    stat_external : DataFrame or None
        External occupation x ISCED distribution (``isco``, ``level``, ``weight``).
    required_item : str
        Item of the subjective requirement: ``mm_req_edu_do`` (to do the job) or
        ``mm_req_edu_get`` (to get it).
    wage_rules : WageRules
        Wage handling.
    cpi : DataFrame or None
        CPI table (``year``, ``cpi``, ``source``, optional ``region``); real wages are missing
        and reported without it.
    min_wage : DataFrame or None
        Minimum wages (``city``, ``year``, ``min_wage_month``, ``source``).
    low_pay_median : float, mapping or None
        External median hourly wage (per round) for low pay; default the sample median.
    manual_coding : DataFrame or None
        The reviewed manual occupation-coding table.
    keywords : DataFrame or None
        A keyword table replacing the packaged one.
    field_crosswalk : DataFrame or None
        ISCED-F x ISCO crosswalk for the normative field mismatch.
    index_method : str
        Method of the item indices (image, green practice, skills use): ``zscore`` or ``icw``.
    date_column : str
        Interview date column; the wage refers to the month before it.
    capacity_module_column : str
        Column of the capacity-test questions (in the instrument's ``extra``) holding the module
        tag of each item (``cb_module`` in ``surveys/modules/cb_knowledge.yaml``).
    synthetic_sources : bool
        Set by :func:`construct_indicators` when a supplied table's ``source`` says SYNTHETIC.
    """

    reference_round: str = "baseline"
    treatment: str = "treatment"
    normative_overrides: Mapping[int, tuple[int, int] | None] = field(default_factory=dict)
    isced_overrides: Mapping[int, int] = field(default_factory=dict)
    stat_digits: int = 2
    stat_min_cell: int = 20
    stat_fallback: str = "coarser"
    stat_external: pd.DataFrame | None = None
    required_item: str = "mm_req_edu_do"
    wage_rules: WageRules = field(default_factory=WageRules)
    cpi: pd.DataFrame | None = None
    min_wage: pd.DataFrame | None = None
    low_pay_median: float | Mapping[str, float] | None = None
    manual_coding: pd.DataFrame | None = None
    keywords: pd.DataFrame | None = None
    field_crosswalk: pd.DataFrame | None = None
    index_method: str = "zscore"
    date_column: str = "today"
    capacity_module_column: str = "cb_module"

    def __post_init__(self) -> None:
        """Check the settings."""
        if self.required_item not in ("mm_req_edu_do", "mm_req_edu_get"):
            msg = (
                f"required_item must be mm_req_edu_do or mm_req_edu_get, got {self.required_item!r}"
            )
            raise ConfigError(msg)
        if self.index_method not in ("zscore", "icw"):
            msg = f"index_method must be 'zscore' or 'icw', got {self.index_method!r}"
            raise ConfigError(msg)
        normative_mapping(self.normative_overrides)


@dataclass(frozen=True, eq=False)
class IndicatorSet:
    """Every indicator of every round, with the metadata and diagnostics behind them.

    Attributes
    ----------
    respondents : DataFrame
        Apprentice/worker indicators, one row per ``resp_id`` x ``round``.
    enterprises : DataFrame or None
        Enterprise indicators, one row per ``enterprise_id`` x ``round``.
    participants : DataFrame or None
        Capacity-test scores, one row per ``participant_id`` x ``round``.
    gains : DataFrame or None
        One row per participant: ``score_pre``, ``score_post``, ``norm_gain``.
    coding : DataFrame
        Occupation coding detail (method, suggestions) by respondent x round.
    reliability : DataFrame
        Cronbach's alpha of each scale by round.
    missing : tuple of str
        Reference values the run lacked (CPI years, minimum wages, answer keys...) and what
        they left missing.
    registry : Mapping
        The :class:`Indicator` metadata of the indicators present.
    """

    respondents: pd.DataFrame
    enterprises: pd.DataFrame | None
    participants: pd.DataFrame | None
    gains: pd.DataFrame | None
    coding: pd.DataFrame
    reliability: pd.DataFrame
    missing: tuple[str, ...]
    registry: Mapping[str, Indicator]

    def codebook(self) -> pd.DataFrame:
        """Return the metadata of the indicators present, one row each.

        Returns
        -------
        DataFrame
            Name, labels, unit, definition, standard, level and kind.
        """
        return indicator_codebook(list(self.registry))


def _age(data: pd.DataFrame) -> pd.Series:
    """Age in years from ``dem_age`` (a calculation: text, blank when unknown)."""
    if "dem_age" not in data.columns:
        return pd.Series(pd.NA, index=data.index, dtype="Float64")
    raw = data["dem_age"]
    if not pd.api.types.is_numeric_dtype(raw):
        raw = raw.astype("string").str.strip().replace("", pd.NA)
    return as_float(raw.rename("dem_age"))


def population_groups(data: pd.DataFrame) -> pd.DataFrame:
    """Disaggregation groups: sex, hukou, migration, disability, age.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data (``dem_sex``, ``dem_hukou_type``, ``dem_hukou_location``,
        ``dem_wg_*``, ``dem_age``).

    Returns
    -------
    DataFrame
        0/1 ``female``, ``rural_hukou`` (agricultural, or unified resident formerly
        agricultural: codes 1 and 3), ``migrant`` (hukou outside this county, location >= 2),
        ``disability`` (a lot of difficulty or cannot do in any Washington Group domain, code >= 3)
        and ``age_lt25``; missing where the items are.

    Notes
    -----
    ``dem_age`` is the form's calculation (text, blank when the birth year is unknown).
    """
    out = pd.DataFrame(index=data.index)
    if "dem_sex" in data:
        sex = as_int(data["dem_sex"], "dem_sex")
        out["female"] = binary(sex.eq(2), sex.isin([1, 2]))
    if "dem_hukou_type" in data:
        hk = as_int(data["dem_hukou_type"], "dem_hukou_type")
        out["rural_hukou"] = binary(hk.isin([1, 3]), hk.notna())
    if "dem_hukou_location" in data:
        loc = as_int(data["dem_hukou_location"], "dem_hukou_location")
        out["migrant"] = binary(loc.ge(2), loc.notna())
    wg = [c for c in ITEMS["disability"] if c in data.columns]
    if wg:
        frame = pd.DataFrame({c: as_float(data[c]).astype(float) for c in wg})
        out["disability"] = binary(frame.ge(3).any(axis=1), frame.notna().any(axis=1))
    if "dem_age" in data:
        age = _age(data)
        out["age_lt25"] = binary(age.lt(25), age.notna())
    return out


#: Disaggregation group -> the questions it is built from (for carrying baseline values into
#: rounds whose form does not ask them: sex and birth date are asked at baseline only).
_GROUP_ITEMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {g: ITEMS[g] for g in ("female", "rural_hukou", "migrant", "disability", "age_lt25")}
)


def _asked(items: Iterable[str], rnd: object, forms: list[Instrument], data: pd.DataFrame) -> bool:
    """Whether a round asks any of the items: its form has one, or (no form) data hold one."""
    round_forms = [f for f in forms if f.round == rnd]
    names = set(items)
    if round_forms:
        return any(q.name in names for f in round_forms for q in f.all_questions())
    here = data["round"].eq(rnd).fillna(False)
    return any(c in data.columns and data.loc[here, c].notna().any() for c in names)


def _carry_groups(
    out: pd.DataFrame, data: pd.DataFrame, forms: list[Instrument], reference_round: str
) -> pd.DataFrame:
    """Fill groups of rounds that do not ask their items from the reference round."""
    out = out.copy()
    base = out["round"].eq(reference_round).fillna(False)
    for group, items in _GROUP_ITEMS.items():
        if group not in out.columns:
            continue
        values = out.loc[base, ["resp_id", group]].set_index("resp_id")[group]
        carried = out["resp_id"].map(values)
        for rnd in out.loc[~base, "round"].dropna().unique():
            if _asked(items, rnd, forms, data):
                continue
            here = out["round"].eq(rnd).fillna(False) & out[group].isna()
            out.loc[here, group] = carried[here]
    return out


def _wage_year(data: pd.DataFrame, column: str) -> pd.Series:
    """Year of the month before the interview (the wage's reference month)."""
    if column not in data.columns:
        return pd.Series(pd.NA, index=data.index, dtype="Int64")
    dates = pd.to_datetime(data[column], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return (dates - pd.DateOffset(months=1)).dt.year.astype("Int64")


def _synthetic(table: pd.DataFrame | None) -> bool:
    return table is not None and table["source"].astype(str).str.contains("SYNTHETIC").any()


def _check_keys(data: pd.DataFrame, key: str, what: str) -> None:
    """Refuse a panel without its key and round, with a missing key or a duplicated pair."""
    for c in (key, "round"):
        if c not in data.columns:
            msg = f"the {what} panel needs a {c!r} column"
            raise IndicatorError(msg)
    blank = data[key].isna() | data["round"].isna()
    if blank.any():
        rows = [int(i) for i in np.flatnonzero(blank.to_numpy())[:5]]
        msg = f"the {what} panel has {int(blank.sum())} rows without {key} or round (rows {rows})"
        raise IndicatorError(msg)
    dup = data.duplicated([key, "round"])
    if dup.any():
        msg = f"the {what} panel has {int(dup.sum())} duplicated {key} x round rows"
        raise IndicatorError(msg)


def _reference_mask(data: pd.DataFrame, config: IndicatorConfig, missing: list[str]) -> pd.Series:
    in_round = data["round"].eq(config.reference_round).fillna(False)
    if not in_round.any():
        missing.append(
            f"no {config.reference_round!r} rows: indices are standardised on every row instead"
        )
        return pd.Series(True, index=data.index)
    if config.treatment in data.columns:
        return in_round & as_float(data[config.treatment]).eq(0).fillna(False)
    missing.append(
        f"no {config.treatment!r} column: indices are standardised on the whole "
        f"{config.reference_round} round, not its comparison group"
    )
    return in_round


def _levels(codes: pd.Series, mapping: Mapping[int, object]) -> pd.Series:
    c = as_int(codes, codes.name)
    return c.map(lambda v: np.nan if pd.isna(v) else mapping.get(int(v), np.nan)).astype("Float64")


def _categorical_flags(out: pd.DataFrame, cat: pd.Series, stem: str, suffix: str) -> None:
    out[f"qual_mismatch_{suffix}"] = cat
    defined = cat.notna()
    out[f"over{stem}_{suffix}"] = binary(cat.eq("over"), defined)
    out[f"under{stem}_{suffix}"] = binary(cat.eq("under"), defined)


def _items(forms: list[Instrument], data: pd.DataFrame, prefix: str) -> list[str]:
    """Items with a prefix: the instrument's select_one questions, else the numeric columns."""
    if forms:
        return [c for c in question_items(forms, prefix) if c in data.columns]
    return item_columns(data, prefix)


def _index(
    data: pd.DataFrame,
    items: list[str],
    prefix: str,
    ref: pd.Series,
    *,
    config: IndicatorConfig,
    name: str,
    missing: list[str],
) -> pd.Series:
    """Build a summary index of the items the reference group can scale; say what was left out.

    An item without two distinct values in the reference group cannot be standardised: it is
    left out of the index (and reported) rather than leaving the index missing for everyone.
    """
    usable = [c for c in items if as_float(data.loc[ref, c]).dropna().nunique() >= 2]
    dropped = [c for c in items if c not in usable]
    if dropped:
        missing.append(
            f"{name}: items {dropped} have fewer than two distinct values in the reference "
            "group and are left out of the index"
        )
    if not usable:
        return pd.Series(pd.NA, index=data.index, dtype="Float64", name=name)
    try:
        return index_of_items(
            data, prefix, ref, method=config.index_method, name=name, items=usable
        )
    except IndicatorError as exc:
        missing.append(f"{name} not computed: {exc}")
        return pd.Series(pd.NA, index=data.index, dtype="Float64", name=name)


#: ISCED level given to a requirement of "no particular qualification" (``edu_required`` options
#: without an ``isced`` value, code 0): the bottom of the scale, so that any attained level above
#: it counts as over-qualification. A convention of the package: **[verify]** against the OECD's
#: derivation of the PIAAC requirement item before publishing subjective mismatch.
NO_QUALIFICATION_ISCED = 0


def _education_maps(
    forms: list[Instrument], config: IndicatorConfig, missing: list[str]
) -> tuple[dict[int, object], dict[int, object]]:
    """ISCED of ``edu_level`` codes and of ``edu_required`` codes, overrides applied to both."""
    level = {k: int(v) for k, v in list_column(forms, "edu_level", "isced").items()}
    if not level:
        missing.append(
            "no edu_level list with an isced column: qualification mismatch not computed"
        )
    overrides = {int(k): int(v) for k, v in config.isced_overrides.items()}
    attained: dict[int, object] = {**level, **overrides} if level else {}
    required: dict[int, object] = {
        k: int(v) for k, v in list_column(forms, "edu_required", "isced").items()
    } or dict(level)
    required.update({k: v for k, v in overrides.items() if k in required})
    unmapped = unmapped_codes(forms, "edu_required", "isced") if forms else [0]
    required.update(dict.fromkeys(unmapped, NO_QUALIFICATION_ISCED))
    return attained, required


def _mismatch(
    data: pd.DataFrame,
    out: pd.DataFrame,
    forms: list[Instrument],
    config: IndicatorConfig,
    missing: list[str],
) -> pd.DataFrame:
    """Qualification, field and skills mismatch columns for the respondents."""
    out = out.copy()
    isced_map, required_map = _education_maps(forms, config, missing)
    years_table = reference_table("edu_years")
    years_map = {int(r.edu_level): float(r.years) for r in years_table.itertuples()}
    if "edu_level" in data and isced_map:
        attained = _levels(data["edu_level"], isced_map)
        out["isced_attained"] = attained
        out["years_schooling"] = _levels(data["edu_level"], years_map)
        norm = qualification_mismatch(
            out["isco08"],
            attained,
            "normative",
            mapping=normative_mapping(config.normative_overrides),
        )
        _categorical_flags(out, norm, "qual", "norm")
        stat = pd.Series(
            pd.Categorical([None] * len(out), categories=norm.cat.categories), index=out.index
        )
        stat_sd = stat.copy()
        options = {
            "digits": config.stat_digits,
            "min_cell": config.stat_min_cell,
            "fallback": config.stat_fallback,
        }
        for rnd in sorted(out["round"].dropna().unique()):
            here = out["round"].eq(rnd).fillna(False)
            stat[here] = qualification_mismatch(
                out.loc[here, "isco08"],
                attained[here],
                "statistical",
                external=config.stat_external,
                **options,
            )
            stat_sd[here] = qualification_mismatch(
                out.loc[here, "isco08"],
                out.loc[here, "years_schooling"],
                "statistical",
                rule="mean_sd",
                **options,
            )
        _categorical_flags(out, stat, "qual", "stat")
        out["qual_mismatch_stat_sd"] = stat_sd
        if config.required_item in data:
            required = _levels(data[config.required_item], required_map)
            subj = qualification_mismatch(None, attained, "subjective", required=required)
            _categorical_flags(out, subj, "qual", "subj")
    employed_job = out["isco08"].notna()
    if "mm_field_related" in data:
        out["field_mismatch"] = field_mismatch(
            codes(data, "edu_field"), relatedness=data["mm_field_related"]
        )
    if "edu_field" in data and "mm_req_field" in data:
        out["field_mismatch_req"] = field_mismatch(
            data["edu_field"], "required", required=data["mm_req_field"]
        )
    if "edu_field" in data:
        out["field_mismatch_stat"] = pd.Series(pd.NA, index=out.index, dtype="Float64")
        for rnd in sorted(out["round"].dropna().unique()):
            here = out["round"].eq(rnd).fillna(False) & employed_job
            out.loc[here, "field_mismatch_stat"] = field_mismatch(
                data.loc[here, "edu_field"],
                "statistical",
                isco=out.loc[here, "isco08"],
                digits=config.stat_digits,
                min_cell=config.stat_min_cell,
            )
        if config.field_crosswalk is not None:
            out["field_mismatch_xwalk"] = field_mismatch(
                data["edu_field"], "crosswalk", isco=out["isco08"], crosswalk=config.field_crosswalk
            )
        else:
            missing.append("no ISCED-F x ISCO crosswalk: field_mismatch_xwalk not computed")
    return out.join(skills_mismatch(data))


def _wage_rules(forms: list[Instrument], config: IndicatorConfig, missing: list[str]) -> WageRules:
    """Return the wage rules, with the instrument's bracket bounds unless configured."""
    rules = config.wage_rules
    if rules.brackets is not None:
        return rules
    bounds = wage_brackets(forms)
    if bounds is None:
        if forms:
            missing.append("no wage_bracket list in the instruments: default bracket bounds used")
        return rules
    return dataclasses.replace(rules, brackets=bounds)


def _statuses(
    forms: list[Instrument], missing: list[str]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``job_status`` codes of employees and contributing family workers (ICSE-18 column)."""
    found = icse18_statuses(forms)
    if found is None:
        if forms:
            missing.append("no job_status list with an icse18 column: default status codes used")
        return tuple(EMPLOYEE_STATUSES), (CONTRIBUTING_FAMILY_WORKER,)
    return found


def _pay(
    data: pd.DataFrame,
    out: pd.DataFrame,
    forms: list[Instrument],
    config: IndicatorConfig,
    missing: list[str],
) -> pd.DataFrame:
    """Wages, real wages, low pay and the minimum-wage flag."""
    out = out.join(wage_indicators(data, _wage_rules(forms, config, missing)))
    year = _wage_year(data, config.date_column)
    if config.cpi is not None:
        region = data["meta_city"] if "region" in config.cpi.columns else None
        out["wage_month_real"], gaps = deflate(out["wage_month"], year, config.cpi, region)
        out["wage_hour_real"], _ = deflate(out["wage_hour"], year, config.cpi, region)
        missing += [f"CPI missing for {g}: real wages missing there" for g in gaps]
    else:
        missing.append("no CPI table: wage_month_real and wage_hour_real not computed")
    out["low_pay"] = low_pay(out["wage_hour"], data["round"], median=config.low_pay_median)
    if config.min_wage is not None and "meta_city" in data:
        out["below_min_wage"], gaps = below_minimum_wage(
            out["wage_month"], data["meta_city"], year, config.min_wage
        )
        missing += [f"minimum wage missing for {g}: below_min_wage missing there" for g in gaps]
    else:
        missing.append("no minimum-wage table (or no meta_city): below_min_wage not computed")
    return out


def _skills(
    data: pd.DataFrame,
    out: pd.DataFrame,
    forms: list[Instrument],
    *,
    config: IndicatorConfig,
    ref: pd.Series,
    missing: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Core skills, green knowledge and practice, skills use, image and awareness."""
    rel_rows = []
    if item_columns(data, "cs_"):
        try:
            scores, _ = core_skills(data, ref)
            out = out.join(scores)
        except IndicatorError as exc:
            missing.append(f"core skills not computed: {exc}")
        for rnd in sorted(data["round"].dropna().unique()):
            here = data["round"].eq(rnd).fillna(False)
            rel_rows.append(core_skills_reliability(data[here]).assign(round=rnd))
    reliability = (
        pd.concat(rel_rows, ignore_index=True)
        if rel_rows
        else pd.DataFrame(columns=["scale", "items", "n", "alpha", "round"])
    )
    quiz_keys = answer_keys(forms, "grn_quiz_")
    quiz_items = _items(forms, data, "grn_quiz_")
    if quiz_items:
        unkeyed = [q for q in quiz_items if q not in quiz_keys]
        if unkeyed:
            missing.append(f"green quiz items without an answer key: {unkeyed} (not scored)")
        keyed = {q: k for q, k in quiz_keys.items() if q in quiz_items}
        if keyed:
            out["green_knowledge_score"] = answer_score(data, keyed)[0]
    for prefix, name in (
        ("mm_use_", "skills_use_index"),
        ("grn_practice_", "green_practice_index"),
        ("img_", "image_index"),
    ):
        items = _items(forms, data, prefix)
        if items:
            out[name] = _index(data, items, prefix, ref, config=config, name=name, missing=missing)
    if "awr_appr_scheme" in data:
        aware = codes(data, "awr_appr_scheme")
        out["aware_new_apprenticeship"] = binary(aware.eq(1), aware.notna())
    if "awr_campaign" in data:
        aware = codes(data, "awr_campaign")
        dk = reason(data, "awr_campaign").eq("dont_know").fillna(False)
        out["aware_ilo_campaign"] = binary(aware.eq(1), aware.notna() | dk)
    return out, reliability


def _repeat_key(table: pd.DataFrame, name: str) -> list[str]:
    """Parent key of a repeat table: ``resp_id`` and ``round`` when it has the round."""
    if "round" in table.columns:
        return ["resp_id", "round"]
    if "resp_id" not in table.columns:
        msg = f"the {name} repeat table needs a 'resp_id' column"
        raise IndicatorError(msg)
    return ["resp_id"]


def _training(
    data: pd.DataFrame, out: pd.DataFrame, training: pd.DataFrame | None, missing: list[str]
) -> pd.DataFrame:
    """Training participation, courses, hours and the ILO-project dose."""
    out = out.copy()
    if "trn_any_12m" in data:
        took = codes(data, "trn_any_12m")
        out["training_any_12m"] = binary(took.eq(1), took.notna())
        key = ["resp_id", "round"]
        courses = training
        if training is not None and _repeat_key(training, "trn_course") == ["resp_id"]:
            if data["resp_id"].duplicated().any():
                msg = (
                    "the trn_course repeat table needs a 'round' column: the panel has several "
                    "rounds per resp_id"
                )
                raise IndicatorError(msg)
            courses = training.merge(
                data[["resp_id", "round"]], on="resp_id", how="inner", validate="many_to_one"
            )
        if training is None and took.eq(1).any():
            missing.append("no trn_course table: training_hours missing for those trained")
        out = out.join(training_volume(data, courses, key=key))
    if "trn_ilo_attended" in data:
        ilo = codes(data, "trn_ilo_attended")
        out["ilo_training"] = binary(ilo.eq(1), ilo.notna())
        if "trn_ilo_hours" in data:
            hours = as_float(data["trn_ilo_hours"]).mask(ilo.eq(0).fillna(False), 0.0)
            out["ilo_training_hours"] = hours
    return out


def _calendar(out: pd.DataFrame, calendar: pd.DataFrame, config: IndicatorConfig) -> pd.DataFrame:
    """Employment history from the endline calendar, on the rounds that collected it."""
    out = out.copy()
    key = _repeat_key(calendar, "cal_months")
    new_job = "cal_new_job" if "cal_new_job" in calendar.columns else None
    cal = activity_calendar(calendar, key=key, new_job=new_job)
    rows = (
        pd.Series(True, index=out.index)
        if "round" in key
        else out["round"].ne(config.reference_round).fillna(False)
    )
    merged = out.loc[rows, key].merge(cal, on=key, how="left", validate="many_to_one")
    for c in cal.columns:
        if c in key:
            continue
        out[c] = pd.Series(pd.NA, index=out.index, dtype=cal[c].dtype)
        out.loc[rows, c] = merged[c].to_numpy()
        out[c] = out[c].astype(cal[c].dtype)
    return out


def _interviewed(data: pd.DataFrame) -> pd.Series:
    """Consented (and, for minors, with the guardian's agreement): the round's interview."""
    consent = codes(data, "meta_consent")
    guardian = codes(data, "meta_minor_guardian")
    done = consent.eq(1).fillna(False) & ~guardian.eq(0).fillna(False)
    return binary(done, pd.Series(True, index=data.index))


def _respondents(
    panel: pd.DataFrame,
    forms: list[Instrument],
    config: IndicatorConfig,
    *,
    calendar: pd.DataFrame | None,
    training: pd.DataFrame | None,
    missing: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    _check_keys(panel, "resp_id", "apprentice")
    data = panel.reset_index(drop=True)
    ref = _reference_mask(data, config, missing)
    keep = ["resp_id", "round", *[c for c in _DESIGN if c in data.columns]]
    out = data[keep].copy()
    if "meta_consent" in data:
        out["interviewed"] = _interviewed(data)
    out = _carry_groups(out.join(population_groups(data)), data, forms, config.reference_round)
    employee_codes, family_codes = _statuses(forms, missing)
    status = labour_status(data)
    out = out.join(status)
    out["transition_stage"] = transition_stage(data, status, employee_codes=employee_codes)
    if "srch_months_to_first_job" in data:
        out["months_to_first_job"] = as_float(data["srch_months_to_first_job"])

    out = out.join(job_quality(data, employee_codes=employee_codes, family_codes=family_codes))
    out = _pay(data, out, forms, config, missing)

    coding = code_occupations(data, config.manual_coding, keywords=config.keywords)
    out["isco08"] = coding["isco08"]
    out["isco_major"] = coding["isco_major"]
    if "job_industry" in data:
        letters = {k: str(v) for k, v in list_column(forms, "industry_section", "gbt4754").items()}
        out = out.join(code_industry(data["job_industry"], letters or None)[["isic_section"]])
    out = _mismatch(data, out, forms, config, missing)
    out, reliability = _skills(data, out, forms, config=config, ref=ref, missing=missing)

    if "edu_cert_any" in data:
        any_cert = codes(data, "edu_cert_any")
        level = codes(data, "edu_cert_level").astype("Float64")
        cert = level.where(any_cert.eq(1).fillna(False))
        cert = cert.mask(any_cert.eq(0).fillna(False), 0.0)
        out["skill_cert_level"] = cert.astype("Float64")
        base = out.loc[out["round"].eq(config.reference_round), ["resp_id", "skill_cert_level"]]
        merged = out[["resp_id"]].merge(
            base, on="resp_id", how="left", validate="many_to_one", suffixes=("", "_base")
        )
        later = out["round"].ne(config.reference_round).fillna(False)
        base_level = pd.Series(merged["skill_cert_level"].to_numpy(), index=out.index).astype(
            "Float64"
        )
        out["cert_upgrade"] = binary(
            out["skill_cert_level"].gt(base_level),
            later & out["skill_cert_level"].notna() & base_level.notna(),
        )
    out = _training(data, out, training, missing)
    if "appr_status" in data:
        out = out.join(apprenticeship_indicators(data, out))
    if calendar is not None:
        out = _calendar(out, calendar, config)
    coding_detail = pd.concat([out[["resp_id", "round"]], coding], axis=1)
    return out, coding_detail, reliability


def _enterprises(enterprise: pd.DataFrame, forms: list[Instrument]) -> pd.DataFrame:
    _check_keys(enterprise, "enterprise_id", "enterprise")
    data = enterprise.reset_index(drop=True)
    exclusive = {
        q: exclusive_options(forms, q) or {"0"}
        for q in ("ent_green_practices", "ent_ilo_tools_used")
    }
    keep = [c for c in ("enterprise_id", "round", *_DESIGN) if c in data]
    out = data[list(dict.fromkeys(keep))]
    return out.join(enterprise_indicators(data, exclusive=exclusive))


def _participants(
    capacity: pd.DataFrame,
    forms: list[Instrument],
    config: IndicatorConfig,
    missing: list[str],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    _check_keys(capacity, "participant_id", "capacity")
    data = capacity.reset_index(drop=True)
    keys = answer_keys(forms, "cb_q")
    if not keys:
        missing.append("no capacity-test answer keys in the instruments: tests not scored")
        return None, None
    modules = question_tags(forms, config.capacity_module_column, keys)
    untagged = sorted(set(keys) - set(modules))
    if untagged:
        missing.append(
            f"capacity-test items without a {config.capacity_module_column!r} tag: {untagged} "
            "(in the total score only)"
        )
    long, wide = capacity_scores(data, keys, modules)
    items = _items(forms, data, "cb_se_")
    if items:
        long["self_efficacy"] = scale_score(data[items])
    if "cb_apply_actions" in data:
        exclusive = exclusive_options(forms, "cb_apply_actions") or {"0"}
        count, known = multi_count(data, "cb_apply_actions", exclusive)
        long["apply_actions_count"] = count
        long["applied_any"] = binary(count.gt(0), known)
    return long, wide


def construct_indicators(
    panel: pd.DataFrame,
    instruments: Instrument | Mapping | Iterable[Instrument] | None = None,
    config: IndicatorConfig | None = None,
    *,
    enterprise: pd.DataFrame | None = None,
    capacity: pd.DataFrame | None = None,
    calendar: pd.DataFrame | None = None,
    training: pd.DataFrame | None = None,
) -> IndicatorSet:
    """Build every indicator for every round in one pass.

    Parameters
    ----------
    panel : DataFrame
        The clean apprentice panel (all rounds stacked, ``resp_id`` x ``round`` unique and
        non-missing), with ``<name>__reason`` columns and select_multiple dummies as the
        cleaning stage writes them.
    instruments : Instrument, mapping or iterable of Instrument, optional
        The instruments of the panels (every family and round, e.g. the mapping of
        :func:`evaluation.instruments.files.read_instruments`). Codes are read from them:
        ISCED levels of ``edu_level`` and ``edu_required``, ICSE-18 groups of ``job_status``,
        the earnings brackets' bounds, answer keys, exclusive options, module tags of test
        items, the items of each index and GB/T 4754 section letters.
    config : IndicatorConfig, optional
        Settings and user-supplied tables.
    enterprise : DataFrame, optional
        The clean enterprise panel (``enterprise_id`` x ``round``).
    capacity : DataFrame, optional
        The clean capacity-test data (``participant_id`` x ``round``, round ``pre`` / ``post``
        / ``followup``).
    calendar : DataFrame, optional
        The endline ``cal_months`` repeat table (``resp_id``, optionally ``round``,
        ``cal_months_index``, ``cal_activity``).
    training : DataFrame, optional
        The ``trn_course`` repeat table (``resp_id``, ``round``, ``trn_course_index``,
        ``trn_c_hours``), for ``training_hours``.

    Returns
    -------
    IndicatorSet
        Indicators by unit, coding detail, reliability, what was missing and the metadata.

    Raises
    ------
    IndicatorError
        For panels without their keys, missing or duplicated keys, or items in an unexpected
        form.

    Notes
    -----
    Units and keys: respondent (``resp_id``, ``round``), enterprise (``enterprise_id``,
    ``round``), participant (``participant_id``, ``round``). Repeat tables are keyed by the
    parent key plus ``<repeat>_index``. Indices and core-skills scores are standardised on the
    comparison group of ``config.reference_round``; statistical mismatch uses the distribution
    of each round. Disaggregation groups whose items a round does not ask (sex and age are
    asked at baseline only) carry the reference round's value. Every input row is kept: the
    outputs have exactly one row per input row, in input order.
    """
    config = config or IndicatorConfig()
    forms = forms_of(instruments)
    missing: list[str] = []
    for name, table in (("CPI", config.cpi), ("minimum wage", config.min_wage)):
        if _synthetic(table):
            missing.append(f"{name} table is SYNTHETIC (demo only): results are not real figures")
    respondents, coding, reliability = _respondents(
        panel,
        family(forms, "apprentice"),
        config,
        calendar=calendar,
        training=training,
        missing=missing,
    )
    enterprises = (
        None if enterprise is None else _enterprises(enterprise, family(forms, "enterprise"))
    )
    participants = gains = None
    if capacity is not None:
        participants, gains = _participants(capacity, family(forms, "capacity"), config, missing)
    present = set(respondents.columns)
    for frame in (enterprises, participants, gains):
        if frame is not None:
            present |= set(frame.columns)
    registry = MappingProxyType({n: REGISTRY[n] for n in REGISTRY if n in present})
    return IndicatorSet(
        respondents=respondents,
        enterprises=enterprises,
        participants=participants,
        gains=gains,
        coding=coding,
        reliability=reliability,
        missing=tuple(dict.fromkeys(missing)),
        registry=registry,
    )
