"""One construction path for every indicator of every round: :func:`construct_indicators`.

Reads the clean panels (``notes/clean_data.md``: typed codes, ``<name>__reason`` columns,
select_multiple dummies ``q__<code>``, a ``round`` column) and the instruments that describe them,
and returns every indicator with its metadata. Cleaning builds no indicators and analysis
builds no variables: both go through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.indicators._common import ConfigError, IndicatorError, as_float, as_int, binary
from evaluation.indicators.capacity import capacity_scores
from evaluation.indicators.enterprise import enterprise_indicators
from evaluation.indicators.files import reference_table
from evaluation.indicators.jobs import WageRules, below_minimum_wage, deflate, job_quality, low_pay
from evaluation.indicators.jobs import wages as wage_indicators
from evaluation.indicators.labour import activity_calendar, labour_status, transition_stage
from evaluation.indicators.mismatch import (
    field_mismatch,
    normative_mapping,
    qualification_mismatch,
    skills_mismatch,
)
from evaluation.indicators.occupations import code_industry, code_occupations
from evaluation.indicators.registry import REGISTRY, Indicator, indicator_codebook
from evaluation.indicators.skills import (
    answer_score,
    apprenticeship_indicators,
    core_skills,
    index_of_items,
    item_columns,
)
from evaluation.instruments.model import Instrument

__all__ = [
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
        tag of each item.
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
    capacity_module_column: str = "module"

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


def _forms(instruments: Instrument | Mapping | Iterable[Instrument] | None) -> list[Instrument]:
    if instruments is None:
        return []
    if isinstance(instruments, Instrument):
        return [instruments]
    if isinstance(instruments, Mapping):
        return list(instruments.values())
    return list(instruments)


def _family(forms: list[Instrument], family: str) -> list[Instrument]:
    return [f for f in forms if f.instrument in (family, None)]


def list_column(forms: list[Instrument], list_name: str, column: str) -> dict[int, str]:
    """Code -> value of an extra column of a choice list (e.g. ``edu_level`` -> ``isced``).

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search (the first that has the list wins).
    list_name : str
        The choice list.
    column : str
        The extra column.

    Returns
    -------
    dict
        Integer code -> value, for options that have the column; empty when no form has the list.
    """
    for form in forms:
        try:
            cl = form.choice_list(list_name)
        except KeyError:
            continue
        out = {}
        for c in cl.choices:
            value = c.get(column)
            if value not in (None, "") and c.special is None:
                out[int(c.name)] = value
        return out
    return {}


def answer_keys(forms: list[Instrument], prefix: str) -> dict[str, str]:
    """Question -> answer key for every keyed question whose name starts with ``prefix``.

    Parameters
    ----------
    forms : list of Instrument
        Instruments of one family.
    prefix : str
        Name prefix (``grn_quiz_``, ``cb_q``).

    Returns
    -------
    dict
        Question name -> correct option code, sorted by name.
    """
    keys = {}
    for form in forms:
        for q in form.all_questions():
            if q.name.startswith(prefix) and q.answer_key is not None:
                keys.setdefault(q.name, q.answer_key)
    return dict(sorted(keys.items()))


def _exclusive(forms: list[Instrument], question: str) -> set[str]:
    for form in forms:
        try:
            q = form.question(question)
            cl = form.choice_list(q.list_name or "")
        except KeyError:
            continue
        return {c.name for c in cl.choices if c.exclusive}
    return set()


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
    wg = [
        c
        for c in item_columns(data, "dem_wg_")
        if c != "dem_wg_difficulty" and pd.api.types.is_numeric_dtype(data[c])
    ]
    if wg:
        frame = pd.DataFrame({c: as_float(data[c]).astype(float) for c in wg})
        out["disability"] = binary(frame.ge(3).any(axis=1), frame.notna().any(axis=1))
    if "dem_age" in data:
        age = as_float(data["dem_age"])
        out["age_lt25"] = binary(age.lt(25), age.notna())
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


def _respondents(
    panel: pd.DataFrame,
    forms: list[Instrument],
    config: IndicatorConfig,
    calendar: pd.DataFrame | None,
    missing: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if "round" not in panel.columns or "resp_id" not in panel.columns:
        msg = "the apprentice panel needs 'resp_id' and 'round' columns"
        raise IndicatorError(msg)
    dup = panel.duplicated(["resp_id", "round"])
    if dup.any():
        msg = f"the apprentice panel has {int(dup.sum())} duplicated resp_id x round rows"
        raise IndicatorError(msg)
    data = panel.reset_index(drop=True)
    ref = _reference_mask(data, config, missing)
    keep = ["resp_id", "round", *[c for c in _DESIGN if c in data.columns]]
    out = data[keep].copy()
    out = out.join(population_groups(data))
    status = labour_status(data)
    out = out.join(status.drop(columns=[]))
    out["transition_stage"] = transition_stage(data, status)
    if "srch_months_to_first_job" in data:
        out["months_to_first_job"] = as_float(data["srch_months_to_first_job"])

    jobs = job_quality(data)
    out = out.join(jobs)
    pay = wage_indicators(data, config.wage_rules)
    out = out.join(pay)
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

    coding = code_occupations(data, config.manual_coding, keywords=config.keywords)
    out["isco08"] = coding["isco08"]
    out["isco_major"] = coding["isco_major"]
    if "job_industry" in data:
        letters = {k: str(v) for k, v in list_column(forms, "industry_section", "gbt4754").items()}
        out = out.join(code_industry(data["job_industry"], letters or None)[["isic_section"]])

    isced_map: dict[int, object] = {
        k: int(v) for k, v in list_column(forms, "edu_level", "isced").items()
    }
    if not isced_map:
        missing.append(
            "no edu_level list with an isced column: qualification mismatch not computed"
        )
    isced_map.update({int(k): int(v) for k, v in config.isced_overrides.items()})
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
        for rnd in sorted(out["round"].dropna().unique()):
            here = out["round"].eq(rnd).fillna(False)
            options = {
                "digits": config.stat_digits,
                "min_cell": config.stat_min_cell,
                "fallback": config.stat_fallback,
                "external": config.stat_external,
            }
            stat[here] = qualification_mismatch(
                out.loc[here, "isco08"], attained[here], "statistical", **options
            )
            stat_sd[here] = qualification_mismatch(
                out.loc[here, "isco08"],
                out.loc[here, "years_schooling"],
                "statistical",
                rule="mean_sd",
                **{**options, "external": None},
            )
        _categorical_flags(out, stat, "qual", "stat")
        out["qual_mismatch_stat_sd"] = stat_sd
        required_map = dict(isced_map)
        required_map.update(
            {int(k): int(v) for k, v in list_column(forms, "edu_required", "isced").items()}
        )
        required_map.setdefault(0, 0)
        if config.required_item in data:
            required = _levels(data[config.required_item], required_map)
            subj = qualification_mismatch(None, attained, "subjective", required=required)
            _categorical_flags(out, subj, "qual", "subj")
    employed_job = out["isco08"].notna()
    if "mm_field_related" in data:
        field = data["edu_field"] if "edu_field" in data else pd.Series(pd.NA, index=data.index)
        out["field_mismatch"] = field_mismatch(field, relatedness=data["mm_field_related"])
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
                    data["edu_field"],
                    "crosswalk",
                    isco=out["isco08"],
                    crosswalk=config.field_crosswalk,
                )
            else:
                missing.append("no ISCED-F x ISCO crosswalk: field_mismatch_xwalk not computed")
    out = out.join(skills_mismatch(data))
    if item_columns(data, "mm_use_"):
        out["skills_use_index"] = index_of_items(
            data, "mm_use_", ref, method=config.index_method, name="skills_use_index"
        )

    scores, reliability = (
        core_skills(data, ref)
        if item_columns(data, "cs_")
        else (pd.DataFrame(index=data.index), pd.DataFrame())
    )
    out = out.join(scores)
    rel_rows = []
    for rnd in sorted(data["round"].dropna().unique()):
        here = data["round"].eq(rnd).fillna(False)
        if item_columns(data, "cs_"):
            _, r = core_skills(data[here], None)
            rel_rows.append(r.assign(round=rnd))
    reliability = (
        pd.concat(rel_rows, ignore_index=True)
        if rel_rows
        else pd.DataFrame(columns=["scale", "items", "n", "alpha", "round"])
    )
    quiz_keys = answer_keys(forms, "grn_quiz_")
    quiz_items = item_columns(data, "grn_quiz_")
    if quiz_items:
        unkeyed = [q for q in quiz_items if q not in quiz_keys]
        if unkeyed:
            missing.append(f"green quiz items without an answer key: {unkeyed} (not scored)")
        keyed = {q: k for q, k in quiz_keys.items() if q in data.columns}
        if keyed:
            out["green_knowledge_score"] = answer_score(data, keyed)[0]
    if item_columns(data, "grn_practice_"):
        out["green_practice_index"] = index_of_items(
            data, "grn_practice_", ref, method=config.index_method, name="green_practice_index"
        )
    if item_columns(data, "img_"):
        out["image_index"] = index_of_items(
            data, "img_", ref, method=config.index_method, name="image_index"
        )

    if "edu_cert_any" in data:
        any_cert = as_int(data["edu_cert_any"], "edu_cert_any")
        level = (
            as_float(data["edu_cert_level"])
            if "edu_cert_level" in data
            else pd.Series(pd.NA, index=data.index, dtype="Float64")
        )
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
    if "trn_any_12m" in data:
        t = as_int(data["trn_any_12m"], "trn_any_12m")
        out["training_any_12m"] = binary(t.eq(1), t.notna())
    if "trn_hours_12m" in data:
        out["training_hours"] = as_float(data["trn_hours_12m"])
    if "trn_ilo_attended" in data:
        t = as_int(data["trn_ilo_attended"], "trn_ilo_attended")
        out["ilo_training"] = binary(t.eq(1), t.notna())
    if "trn_ilo_hours" in data:
        out["ilo_training_hours"] = as_float(data["trn_ilo_hours"])
    if "appr_status" in data:
        out = out.join(apprenticeship_indicators(data, out))
    if calendar is not None:
        cal = activity_calendar(calendar)
        endline = out["round"].ne(config.reference_round).fillna(False)
        merged = out.loc[endline, ["resp_id"]].merge(
            cal, on="resp_id", how="left", validate="many_to_one"
        )
        for c in cal.columns:
            if c != "resp_id":
                out.loc[endline, c] = merged[c].to_numpy()
                out[c] = out[c].astype(cal[c].dtype)
    coding_detail = pd.concat([out[["resp_id", "round"]], coding], axis=1)
    return out, coding_detail, reliability


def construct_indicators(
    panel: pd.DataFrame,
    instruments: Instrument | Mapping | Iterable[Instrument] | None = None,
    config: IndicatorConfig | None = None,
    *,
    enterprise: pd.DataFrame | None = None,
    capacity: pd.DataFrame | None = None,
    calendar: pd.DataFrame | None = None,
) -> IndicatorSet:
    """Build every indicator for every round in one pass.

    Parameters
    ----------
    panel : DataFrame
        The clean apprentice panel (all rounds stacked, ``resp_id`` x ``round`` unique).
    instruments : Instrument, mapping or iterable of Instrument, optional
        The instruments of the panels (any rounds; answer keys, ISCED columns, exclusive
        options and section letters are read from them).
    config : IndicatorConfig, optional
        Settings and user-supplied tables.
    enterprise : DataFrame, optional
        The clean enterprise panel (``enterprise_id`` x ``round``).
    capacity : DataFrame, optional
        The clean capacity-test data (``participant_id`` x ``round``).
    calendar : DataFrame, optional
        The endline ``cal_months`` repeat table.

    Returns
    -------
    IndicatorSet
        Indicators by unit, coding detail, reliability, what was missing and the metadata.

    Raises
    ------
    IndicatorError
        For panels without their keys, duplicated keys, or items in an unexpected form.

    Notes
    -----
    Units and keys: respondent (``resp_id``, ``round``), enterprise (``enterprise_id``,
    ``round``), participant (``participant_id``, ``round``). Indices and core-skills scores are
    standardised on the comparison group of ``config.reference_round``; statistical mismatch
    uses the distribution of each round. Every input row is kept: the outputs have exactly one
    row per input row, in input order.
    """
    config = config or IndicatorConfig()
    forms = _forms(instruments)
    missing: list[str] = []
    for name, table in (("CPI", config.cpi), ("minimum wage", config.min_wage)):
        if _synthetic(table):
            missing.append(f"{name} table is SYNTHETIC (demo only): results are not real figures")
    respondents, coding, reliability = _respondents(
        panel, _family(forms, "apprentice"), config, calendar, missing
    )
    enterprises = None
    if enterprise is not None:
        for c in ("enterprise_id", "round"):
            if c not in enterprise.columns:
                msg = f"the enterprise panel needs a {c!r} column"
                raise IndicatorError(msg)
        ent_forms = _family(forms, "enterprise")
        exclusive = {
            q: _exclusive(ent_forms, q) for q in ("ent_green_practices", "ent_ilo_tools_used")
        }
        keep = [
            c
            for c in ("enterprise_id", "round", "meta_city", "treatment", "stratum")
            if c in enterprise
        ]
        enterprises = (
            enterprise[keep]
            .reset_index(drop=True)
            .join(enterprise_indicators(enterprise.reset_index(drop=True), exclusive=exclusive))
        )
    participants = gains = None
    if capacity is not None:
        cb_forms = _family(forms, "capacity")
        keys = answer_keys(cb_forms, "cb_q")
        if not keys:
            missing.append("no capacity-test answer keys in the instruments: tests not scored")
        else:
            modules = {}
            for form in cb_forms:
                for q in form.all_questions():
                    tag = q.get(config.capacity_module_column)
                    if q.name in keys and tag:
                        modules.setdefault(q.name, tag)
            participants, gains = capacity_scores(capacity.reset_index(drop=True), keys, modules)
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
