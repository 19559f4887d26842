"""The evaluation report of a pipeline run: gated tables, figures and text in their sections (pure).

:func:`build_report` turns one :class:`~evaluation.pipeline.PipelineRun` (the data part and
the plan's estimates) into a :class:`~evaluation.reporting.Report`, the input of
:func:`evaluation.reporting.write_report`. Every table passes the disclosure gate at the plan's
threshold (stricter for its sensitive variables); every figure takes gated tables or applies
the threshold itself. With baseline data only, the report is the **baseline report**:
descriptives, balance, ex-ante minimum detectable effects and the results-framework baselines.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from evaluation.estimation import EffectEstimates, mde_table
from evaluation.indicators import REGISTRY
from evaluation.indicators.framework import ResultsFramework, results_framework_table
from evaluation.pipeline import RESULT_ESTIMATORS, PipelineRun
from evaluation.plan import AnalysisPlan
from evaluation.reporting import (
    FigureItem,
    Paragraph,
    Provenance,
    PublishedTable,
    Report,
    Section,
    figures,
    gate,
    tables,
)
from evaluation.reporting.tables import Column, Quantity, Table

__all__ = ["build_report", "labels_for", "mde_curve"]

_FIGURES = "evaluation.reporting.figures."
#: Cluster counts of the power curve, as multiples of the realised number of clusters.
_CURVE_MULTIPLES = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def labels_for(plan: AnalysisPlan, language: str = "en") -> dict[str, str]:
    """Return display labels of the indicators, families and subgroups in one language.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan (family and subgroup labels).
    language : {"en", "zh"}, optional
        Language.

    Returns
    -------
    dict of str to str
        Indicator names (from :data:`evaluation.indicators.REGISTRY`), family names and
        subgroup columns to labels.
    """
    zh = language == "zh"
    labels = {name: (i.label_zh if zh else i.label_en) for name, i in REGISTRY.items()}
    for family in plan.families:
        labels[family.name] = (family.label_zh if zh else family.label) or family.name
    for group in plan.subgroups:
        labels[group.column] = (group.label_zh if zh else group.label) or group.column
    return {k: v for k, v in labels.items() if v}


def mde_curve(ex_ante: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Standardised minimum detectable effects by number of clusters, one line per outcome.

    Parameters
    ----------
    ex_ante : pandas.DataFrame
        ``PlanResults.ex_ante_mde``: the realised design per outcome (``n_clusters``,
        ``cluster_size``, ``icc``, ``outcome``).
    plan : AnalysisPlan
        The plan (``[power] alpha`` and ``power``).

    Returns
    -------
    pandas.DataFrame
        :func:`evaluation.estimation.mde_table` rows in SD units (``sigma = 1``) at multiples
        of the realised clusters, with ``outcome``.
    """
    rows = []
    for row in ex_ante.itertuples(index=False):
        counts = sorted({max(4, round(row.n_clusters * k)) for k in _CURVE_MULTIPLES})
        table = mde_table(
            counts,
            float(row.cluster_size),
            float(row.icc),
            alpha=plan.power.alpha,
            power=plan.power.power,
        )
        rows.append(table.assign(outcome=row.outcome))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


class _Builder:
    """Gate tables and wrap figures with the run's source, threshold and language."""

    def __init__(self, plan: AnalysisPlan, provenance: Provenance, language: str) -> None:
        self.plan, self.language = plan, language
        self.source = provenance.source
        self.simulated = provenance.simulated
        self.labels = labels_for(plan, language)
        self.threshold = plan.disclosure.threshold
        self.notes: list[str] = []

    def _recorded(self, what: str, make: Any) -> Any:
        """Build an output; numerical warnings (an all-missing row...) become report notes."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            made = make()
        self.notes += [f"{what}: {w.category.__name__}: {w.message}" for w in caught]
        return made

    def gate(self, table: Table) -> PublishedTable:
        threshold = self.plan.disclosure.threshold_for(table.variables)
        return self._recorded(f"table {table.name}", lambda: gate(table, threshold))

    def figure(self, name: str, function: str, caption: str, **kw: Any) -> FigureItem:
        draw = getattr(figures, function)
        options = {"language": self.language, "simulated": self.simulated, "source": self.source}
        drawn = self._recorded(f"figure {name}", lambda: draw(**kw, **options))
        return FigureItem(name, drawn, caption, _FIGURES + function)


def _design(plan: AnalysisPlan, run: PipelineRun, provenance: Provenance) -> Section:
    items = []
    if provenance.simulated:
        items.append(
            Paragraph(
                "Every number in this report comes from the demo world: simulated data with "
                "known effects, rendered as platform exports and run through the same "
                f"pipeline as survey data ({provenance.source}). Nothing here describes real "
                "apprentices or enterprises.",
                "Simulated data",
            )
        )
    for instrument in plan.estimated_instruments:
        spec = plan.instrument(instrument)
        frame = run.data.frames[instrument]
        base = frame.loc[frame[plan.round].eq(plan.baseline_round)]
        arms = base.groupby(plan.treatment)[spec.key].nunique()
        clusters = base[spec.cluster].nunique() if spec.cluster else None
        items.append(
            Paragraph(
                f"{instrument.capitalize()} survey: unit {spec.key}, rounds "
                f"{', '.join(spec.rounds)}; {int(arms.sum())} units at baseline "
                f"({int(arms.get(1, 0))} treated, {int(arms.get(0, 0))} comparison)"
                + (f" in {clusters} clusters ({spec.cluster})" if clusters else "")
                + (f"; fixed effects {', '.join(spec.fixed_effects)}" if spec.fixed_effects else "")
                + ".",
                f"Sample: {instrument}",
            )
        )
    inference = plan.inference
    items.append(
        Paragraph(
            f"Primary estimator {plan.primary}; robustness {', '.join(plan.robustness) or 'none'}"
            f". Inference {inference.method}, {inference.vcov} standard errors, "
            f"{inference.bootstrap_draws:,} resampling draws ({inference.bootstrap_weights} "
            f"weights); multiple testing within families {plan.multiple_testing.within}, across "
            f"families {plan.multiple_testing.across}; confidence level {plan.level:.0%}; seed "
            f"{plan.seed}. Analysis plan {plan.source} ({plan.status}, version {plan.version}).",
            "Analysis plan",
        )
    )
    return Section("design", tuple(items))


def _quality(run: PipelineRun) -> list[Paragraph]:
    counts = run.data.findings.counts()
    if counts.empty:
        text = "The quality checks found nothing to review."
    else:
        parts = [
            f"{row.form} {row.check}: {int(row.total)}" for row in counts.itertuples(index=False)
        ]
        text = (
            f"The quality checks raised {int(counts['total'].sum())} findings to review "
            f"(by form and check): {'; '.join(parts)}."
        )
    cleaning = []
    for result in run.data.rounds:
        read = sum(n for (_, table), n in result.rows_in.items() if table == "main")
        kept = sum(n for (_, table), n in result.rows_kept.items() if table == "main")
        cleaning.append(
            f"{result.family} {result.round}: {read} submissions read, {kept} kept, "
            f"{read - kept} excluded, {len(result.log)} values changed (cleaning log)"
        )
    return [
        Paragraph(text, "Data quality"),
        Paragraph("; ".join(cleaning) + ".", "Cleaning"),
    ]


def _data(b: _Builder, run: PipelineRun) -> Section:
    plan, results = b.plan, run.results
    items: list[Any] = _quality(run)
    rounds = [plan.baseline_round] if results.baseline_only else None
    for instrument in plan.estimated_instruments:
        spec = plan.instrument(instrument)
        frame = run.data.frames[instrument]
        variables = [
            v
            for v in (*plan.outcomes(instrument), *spec.covariates)
            if pd.api.types.is_numeric_dtype(frame[v]) and frame[v].notna().any()
        ]
        if instrument == "enterprise":
            table = tables.enterprise_table(
                frame,
                variables,
                treatment=plan.treatment,
                round=plan.round,
                source=b.source,
                labels=b.labels,
                language=b.language,
            )
        else:
            table = tables.descriptive_table(
                frame,
                variables,
                treatment=plan.treatment,
                round=plan.round,
                rounds=rounds,
                cluster=spec.cluster,
                source=b.source,
                labels=b.labels,
                language=b.language,
                name=f"descriptives_{instrument}",
                title=f"Descriptive statistics by arm and round: {instrument}",
            )
        items.append(b.gate(table))
    attrition = results.attrition
    if attrition is not None:
        table = b.gate(
            tables.attrition_table(
                attrition.sample,
                treatment=plan.treatment,
                response=plan.attrition.response,
                differential=attrition.differential,
                source=b.source,
                labels=b.labels,
                language=b.language,
            )
        )
        items += [
            table,
            b.figure("attrition", "attrition_plot", "Attrition by arm", table=table),
        ]
    apprentice = run.data.frames.get("apprentice")
    if apprentice is not None:
        for variable in ("wage_month", "core_skills_index"):
            if variable in apprentice.columns and apprentice[variable].notna().sum():
                items.append(
                    b.figure(
                        f"distribution_{variable}",
                        "distribution_plot",
                        f"Distribution of {b.labels.get(variable, variable)} by arm and round",
                        data=apprentice,
                        variable=variable,
                        treatment=plan.treatment,
                        round=plan.round,
                        threshold=plan.disclosure.threshold_for([variable]),
                        labels=b.labels,
                    )
                )
    return Section("data", tuple(items))


def _balance(b: _Builder, run: PipelineRun) -> Section:
    items: list[Any] = []
    for instrument, balance in run.results.balance.items():
        items.append(
            b.gate(
                tables.balance_table(
                    balance.table,
                    joint=balance.joint,
                    treatment=b.plan.treatment,
                    source=b.source,
                    labels=b.labels,
                    language=b.language,
                    name=f"balance_{instrument}",
                    title=f"Balance at baseline: {instrument}",
                )
            )
        )
        samples = {"Unweighted": balance.table}
        if balance.weighted is not None:
            samples = dict(tuple(balance.weighted.groupby("sample", sort=True)))
        items.append(
            b.figure(
                f"balance_{instrument}",
                "balance_love_plot",
                f"Normalised differences at baseline: {instrument}",
                samples=samples,
                labels=b.labels,
            )
        )
        if balance.trimming:
            items.append(Paragraph(f"{instrument}: {balance.trimming}."))
    attrition = run.results.attrition
    if attrition is not None:
        for sample, rows in attrition.stayers.groupby("sample", sort=True):
            items.append(
                b.gate(
                    tables.balance_table(
                        rows,
                        source=b.source,
                        treatment=b.plan.treatment,
                        labels=b.labels,
                        language=b.language,
                        name=f"balance_stayers_{sample}",
                        title=f"Balance of the units followed up ({sample})",
                    )
                )
            )
    return Section("balance", tuple(items))


def _family_estimates(estimates: EffectEstimates, family: str) -> EffectEstimates:
    return EffectEstimates(tuple(e for e in estimates if e.family == family))


def _results(b: _Builder, run: PipelineRun) -> list[Section]:
    plan, primary = b.plan, run.results.primary
    families = {f.name: b.labels.get(f.name, f.name) for f in plan.families}
    sections = []
    for position, family in enumerate(plan.families):
        if not len(_family_estimates(primary, family.name)):
            continue
        items: list[Any] = [
            b.gate(
                tables.effects_table(
                    primary,
                    family=family.name,
                    families=families,
                    source=b.source,
                    labels=b.labels,
                    language=b.language,
                )
            )
        ]
        if position == 0:
            items.append(
                b.figure(
                    "coefficients",
                    "coefficient_plot",
                    f"Effects ({plan.primary}) with {plan.level:.0%} confidence intervals, by "
                    "outcome family",
                    estimates=primary,
                    families=families,
                    labels=b.labels,
                )
            )
        items += _family_figures(b, run, family.name)
        sections.append(Section("results", tuple(items), title=f"Results: {families[family.name]}"))
    return sections


def _family_figures(b: _Builder, run: PipelineRun, family: str) -> list[FigureItem]:
    plan = b.plan
    frame = run.data.frames.get("apprentice")
    if frame is None:
        return []
    endline = frame.loc[frame[plan.round].eq(plan.endline_round)]
    if family == "mismatch" and {"isco_major", "qual_mismatch_norm"} <= set(endline.columns):
        data = endline.loc[endline["qual_mismatch_norm"].notna() & endline["isco_major"].notna()]
        data = data.assign(isco_major=data["isco_major"].astype("Int64").astype("string"))
        return [
            b.figure(
                "mismatch_composition",
                "mismatch_composition_plot",
                "Qualification mismatch (normative) by ISCO major group, endline",
                data=data,
                threshold=b.threshold,
                labels=b.labels,
            )
        ]
    subscales = [
        c
        for c in frame.columns
        if c.startswith("core_skills_") and c.count("_") == 2 and c != "core_skills_index"
    ]
    if family == "skills" and subscales and len(endline):
        return [
            b.figure(
                "core_skills",
                "core_skills_plot",
                "Core-skills profile by arm, endline",
                data=endline,
                subscales=subscales,
                treatment=plan.treatment,
                threshold=b.threshold,
                labels=b.labels,
            )
        ]
    return []


def _heterogeneity(b: _Builder, run: PipelineRun) -> Section | None:
    if not len(run.results.heterogeneity):
        return None
    table = tables.heterogeneity_table(
        run.results.heterogeneity, source=b.source, labels=b.labels, language=b.language
    )
    return Section("heterogeneity", (b.gate(table),))


def _robustness(b: _Builder, run: PipelineRun) -> Section | None:
    results = run.results
    if not len(results.robustness):
        return None
    order = [RESULT_ESTIMATORS[e] for e in b.plan.estimators]
    present = list(dict.fromkeys(e.estimator for e in results.robustness))
    estimators = [e for e in order if e in present] + [e for e in present if e not in order]
    items: list[Any] = [
        b.gate(
            tables.robustness_table(
                results.robustness,
                estimators=estimators,
                source=b.source,
                labels=b.labels,
                language=b.language,
            )
        )
    ]
    if len(results.did):
        items.append(
            b.gate(
                tables.did_table(results.did, source=b.source, labels=b.labels, language=b.language)
            )
        )
    if results.attrition is not None and results.attrition.lee:
        items.append(
            b.gate(
                tables.lee_bounds_table(
                    results.attrition.lee, source=b.source, labels=b.labels, language=b.language
                )
            )
        )
    if len(results.ex_post_mde):
        items.append(b.gate(_mde_table(b, results.ex_post_mde, ex_post=True)))
    return Section("robustness", tuple(items))


def _framework_rows(
    plan: AnalysisPlan, run: PipelineRun, framework: ResultsFramework
) -> pd.DataFrame:
    indicators = run.data.indicators
    frames = {
        level: frame
        for level, frame in (
            ("respondent", indicators.respondents),
            ("enterprise", indicators.enterprises),
            ("participant", indicators.participants),
        )
        if frame is not None
    }
    rows = results_framework_table(
        frames, framework, baseline_round=plan.baseline_round, endline_round=plan.endline_round
    )
    if len(run.results.primary):
        effects = run.results.primary.to_frame().drop_duplicates("outcome").set_index("outcome")
        overall = rows["disaggregation"].eq("all")
        for column in ("effect", "ci_lower", "ci_upper"):
            rows[column] = rows["indicator"].map(effects[column]).where(overall)
    return rows


def _framework(b: _Builder, run: PipelineRun, framework: ResultsFramework | None) -> Section | None:
    items: list[Any] = []
    if framework is not None:
        table = b.gate(
            tables.results_framework_table(
                _framework_rows(b.plan, run, framework),
                source=b.source,
                labels=b.labels,
                language=b.language,
            )
        )
        items.append(table)
        if not run.results.baseline_only:
            items.append(
                b.figure(
                    "logframe_progress",
                    "logframe_progress_plot",
                    "Progress towards the results-framework targets",
                    table=table,
                )
            )
    gains = run.data.indicators.gains
    if gains is not None and not run.results.baseline_only:
        scores = gains.dropna(subset=["score_pre", "score_post"])
        if len(scores):
            table = b.gate(
                tables.capacity_gains_table(
                    scores, source=b.source, labels=b.labels, language=b.language
                )
            )
            items += [
                table,
                b.figure(
                    "knowledge_gains",
                    "knowledge_gains_plot",
                    "Capacity building: knowledge test before and after training",
                    table=table,
                ),
            ]
    return Section("results_framework", tuple(items)) if items else None


def _mde_table(b: _Builder, mde: pd.DataFrame, *, ex_post: bool) -> Table:
    """One row per outcome: N, clusters, ICC or R squared, and the MDE (raw and in SDs)."""
    name = "mde_ex_post" if ex_post else "mde_ex_ante"
    frame = mde.reset_index(drop=True).copy()
    frame["label"] = [b.labels.get(o, o) for o in frame["outcome"]]
    if "n_total" in frame.columns:  # ex ante: mde_table
        frame["n"] = frame["n_total"].round()
        frame["mde_sd"] = frame["mde"] / frame["sigma"]
    else:  # ex post: ex_post_mde
        frame["n"] = (frame["n_clusters"] * frame["mean_cluster_size"]).round()
    columns = [
        Column("label", "Outcome", "text"),
        Column("n", "N", "count"),
        Column("n_clusters", "Clusters", "count"),
        Column("icc", "ICC", "number", digits=3),
        Column("mde", "MDE", "number", digits=3),
        Column("mde_sd", "MDE (SD)", "number", digits=3),
    ]
    quantities = [
        Quantity(("n", r), int(frame.at[r, "n"]), ((r, "n"),), (r, "n")) for r in range(len(frame))
    ]
    derived = {
        (r, c.key): frozenset({("n", r)})
        for r in range(len(frame))
        for c in columns
        if c.kind == "number"
    }
    when = "of the primary model (ex post)" if ex_post else "at the baseline design (ex ante)"
    return Table(
        name=name,
        title=f"Minimum detectable effects {when}",
        frame=frame,
        columns=tuple(columns),
        notes=(
            (
                f"Alpha {b.plan.power.alpha}, power {b.plan.power.power}, two-sided; clustered by "
                "the instrument's cluster; ICC estimated at baseline."
            ),
        ),
        source=b.source,
        quantities=tuple(quantities),
        derived=derived,
        language=b.language,
        producer="evaluation.pipeline_report.build_report",
        variables=tuple(frame["outcome"]),
    )


def _methods(b: _Builder, run: PipelineRun) -> Section:
    results = run.results
    items: list[Any] = []
    if len(results.ex_ante_mde):
        items.append(b.gate(_mde_table(b, results.ex_ante_mde, ex_post=False)))
        curve = mde_curve(results.ex_ante_mde, b.plan)
        realised = float(np.median(results.ex_ante_mde["n_clusters"]))
        items.append(
            b.figure(
                "power_curve",
                "power_curve_plot",
                "Minimum detectable effect (SD units) by number of clusters",
                power=curve,
                by="outcome",
                ylabel="Minimum detectable effect (SD)",
                note=(
                    f"alpha {b.plan.power.alpha}, power {b.plan.power.power}; realised design "
                    f"about {realised:.0f} clusters"
                ),
            )
        )
    notes = [*results.notes, *run.data.notes, *dict.fromkeys(b.notes)]
    if notes:
        items.append(Paragraph(" ".join(f"{n.rstrip('.')}." for n in notes), "Notes of the run"))
    items.append(
        Paragraph(
            "Tables pass one disclosure gate: counts below "
            f"{b.plan.disclosure.threshold} (or {b.plan.disclosure.sensitive_threshold} for "
            "sensitive variables) are suppressed as [c] with every statistic computed from "
            "them, plus complementary cells; figures draw only from gated tables or hide bins "
            "resting on fewer observations.",
            "Disclosure control",
        )
    )
    return Section("methods", tuple(items))


def build_report(
    plan: AnalysisPlan,
    run: PipelineRun,
    provenance: Provenance,
    *,
    framework: ResultsFramework | None = None,
    language: str = "en",
    title: str | None = None,
) -> Report:
    """Assemble the evaluation report of one pipeline run.

    Parameters
    ----------
    plan : AnalysisPlan
        The plan that was run.
    run : PipelineRun
        :func:`evaluation.pipeline.run` (data and results).
    provenance : Provenance
        Data hash, plan hash, commit, source line and whether the data are simulated.
    framework : ResultsFramework, optional
        The results framework (``analysis/results_framework.toml``) for its table.
    language : {"en", "zh"}, optional
        Language of labels, headers and built-in text.
    title : str, optional
        Report title (the plan's title by default; "Baseline report" is appended for baseline
        data).

    Returns
    -------
    Report
        Sections in the standard order: design, data and attrition (quality checks, cleaning
        accounting, descriptives, attrition), balance, results by family, heterogeneity,
        robustness, results framework, methods (MDEs, notes). Baseline data give the baseline
        report (no effects, attrition, heterogeneity or robustness).

    Notes
    -----
    Reads only what it is given. Tables pass :func:`evaluation.reporting.gate` with
    ``plan.disclosure.threshold_for`` the variables they show.
    """
    b = _Builder(plan, provenance, language)
    sections: list[Section | None] = [
        _design(plan, run, provenance),
        _data(b, run),
        _balance(b, run),
        *_results(b, run),
        _heterogeneity(b, run),
        _robustness(b, run),
        _framework(b, run, framework),
        _methods(b, run),
    ]
    name = title or plan.title
    if run.results.baseline_only:
        name = f"{name}: baseline report"
    return Report(
        title=name,
        sections=tuple(s for s in sections if s is not None and s.items),
        provenance=provenance,
        deviations=plan.deviations,
        language=language,
    )
