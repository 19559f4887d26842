"""The executed analysis plan end to end: time and peak memory, with a peer in the same run.

Issue 10: ``evaluation.pipeline.estimate`` on 10,000 respondents x 2 rounds x 30 outcomes with
the wild bootstrap and Romano-Wolf at B = 9,999. Goal: under 20 seconds in-process on two cores.

The data: 10,000 apprentices in 100 enterprises (sizes vary, coefficient of variation about 0.5)
in 4 cities and 8 strata (city x enterprise size), treatment assigned to half the enterprises of
each stratum; a baseline and an endline round; the committed plan's 26 apprentice outcomes in
its five families and 4 enterprise outcomes (100 enterprises x 2 rounds), with known effects,
enterprise random effects, 15% attrition (less among the treated), and the missingness real
outcomes have (wages, contracts and mismatch only for the employed, some item non-response), so
the outcomes have different estimation samples and most baseline values are dummied out.

The plan: ``analysis/plan.toml`` as committed (``inference = "auto"`` with CR2, wild bootstrap
and Romano-Wolf at B = 9,999 Webb draws, Lee bounds with 999 draws, every robustness estimator,
four subgroup dimensions). ``pipeline.estimate`` runs all of it: primary ANCOVA with subgroups
and inference, six robustness estimators, balance, attrition, Lee bounds, power, and the
within-family and across-family adjustments.

The peer (pyfixest, same process, same data): the part of the plan a peer can run, the 30
primary ANCOVA regressions (each outcome on the treatment, its baseline value, the missing-
baseline indicator, the covariates and stratum fixed effects, CRV1 by enterprise) by
``pyfixest.feols``, the wild cluster bootstrap of each by ``Feols.wildboottest`` (B = 9,999,
Webb; p-value only, no interval) and ``pyfixest.rwolf`` across the 26 apprentice outcomes. The
peer's bootstrap and Romano-Wolf are timed on a subset of outcomes and scaled up linearly (each
costs one bootstrap per model; stated in the output). Ours on the same part
(``estimate_effects`` with ``inference="wild"`` and ``adjust_pvalues(..., "romano_wolf")``,
which also computes CR2 and test-inversion intervals) is timed too, so the ratio compares like
with like.

Usage: ``python benchmarks/bench_pipeline.py [--respondents N] [--enterprises G]
[--profile FILE] [--no-peer] [--no-memory]``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pathlib
import pstats
import resource
import time
import tracemalloc
import warnings

os.environ.setdefault("TQDM_DISABLE", "1")  # pyfixest's progress bars

import numpy as np
import pandas as pd

from evaluation import pipeline
from evaluation.estimation import EffectSpec, adjust_pvalues, estimate_effects
from evaluation.plan import read_plan

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "plan.toml"
GOAL_SECONDS = 20.0


# --- the simulated analysis frames ------------------------------------------------------------


def _bernoulli(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    return (rng.random(p.shape) < np.clip(p, 0.01, 0.99)).astype(float)


def _apprentice_round(
    rng: np.random.Generator, units: pd.DataFrame, shock: np.ndarray, post: float
) -> pd.DataFrame:
    """One round of the 26 apprentice outcomes (effects switched on at endline)."""
    n = len(units)
    t = units["treatment"].to_numpy() * post
    s = shock[units["firm"].to_numpy()]
    female = units["female"].to_numpy()
    employed = _bernoulli(rng, 0.45 + 0.15 * post + 0.06 * t + 0.1 * s - 0.05 * female)
    seeking = _bernoulli(rng, np.full(n, 0.6))
    unemployed = (1 - employed) * seeking
    neet = (1 - employed) * (1 - seeking) * _bernoulli(rng, np.full(n, 0.5))
    emp = employed == 1
    wage = np.exp(8.1 + 0.05 * t + 0.2 * s + rng.normal(0, 0.4, n))
    hours = rng.normal(190, 25, n).clip(80, 320)
    hours_known = _bernoulli(rng, np.full(n, 0.95)) == 1

    def job(values: np.ndarray, also: np.ndarray | None = None) -> np.ndarray:
        keep = emp if also is None else emp & also
        return np.where(keep, values, np.nan)

    coded = _bernoulli(rng, np.full(n, 0.92)) == 1  # occupation coded (ISCO)
    subjective = _bernoulli(rng, np.full(n, 0.96)) == 1
    answered = _bernoulli(rng, np.full(n, 0.97)) == 1
    overqual = _bernoulli(rng, 0.25 - 0.04 * t)
    out = {
        "employed": employed,
        "unemployed": unemployed,
        "neet": neet,
        "wage_month": job(wage),
        "log_wage_hour": job(np.log(wage / hours), hours_known),
        "formal_job": job(_bernoulli(rng, 0.5 + 0.08 * t + 0.1 * s)),
        "written_contract": job(_bernoulli(rng, 0.6 + 0.07 * t)),
        "contract_ge12m": job(_bernoulli(rng, 0.4 + 0.05 * t)),
        "si_count": job(rng.binomial(5, np.clip(0.5 + 0.05 * t, 0, 1)).astype(float)),
        "low_pay": job(_bernoulli(rng, 0.3 - 0.04 * t)),
        "excess_hours": job(_bernoulli(rng, 0.25 - 0.02 * t)),
        "job_satisfaction": job(rng.integers(1, 6, n).astype(float) + 0.1 * t, answered),
        "overqual_norm": job(overqual, coded),
        "underqual_norm": job((1 - overqual) * _bernoulli(rng, np.full(n, 0.2)), coded),
        "field_mismatch": job(_bernoulli(rng, 0.35 - 0.05 * t), coded),
        "overskilled": job(_bernoulli(rng, 0.3 - 0.03 * t), subjective),
        "underskilled": job(_bernoulli(rng, 0.2 - 0.03 * t), subjective),
        "core_skills_index": 0.3 * t + 0.5 * s + rng.normal(0, 1, n),
        "green_knowledge_score": 0.25 * t + 0.3 * s + rng.normal(0, 1, n),
        "green_practice_index": np.where(
            _bernoulli(rng, np.full(n, 0.98)) == 1, 0.2 * t + rng.normal(0, 1, n), np.nan
        ),
        "cert_upgrade": _bernoulli(rng, 0.1 + 0.1 * t),
        "training_any_12m": _bernoulli(rng, 0.4 + 0.1 * t),
        "appr_quality_index": 0.4 * t + 0.4 * s + rng.normal(0, 1, n),
        "appr_completion": _bernoulli(rng, 0.6 + 0.1 * t),
        "appr_dropout": _bernoulli(rng, 0.15 - 0.05 * t),
        "image_index": 0.2 * t + rng.normal(0, 1, n),
    }
    return pd.DataFrame(out)


def simulate(n_respondents: int = 10_000, n_enterprises: int = 100, seed: int = 2025):
    """Long analysis frames of the apprentice and enterprise instruments (see module doc)."""
    rng = np.random.default_rng(seed)
    g = n_enterprises
    cities = np.array(["TJ", "SZ", "CQ", "WH"])
    city = cities[np.arange(g) % 4]
    big = (np.arange(g) // 4) % 2
    stratum = np.arange(g) % 4 * 2 + big
    treated = np.zeros(g)
    for s in np.unique(stratum):
        members = np.flatnonzero(stratum == s)
        treated[rng.permutation(members)[: members.size // 2]] = 1.0
    sizes = rng.gamma(4.0, 1.0, g) * (1 + big)
    firm = rng.choice(g, size=n_respondents, p=sizes / sizes.sum())
    firm[:g] = np.arange(g)  # every enterprise has apprentices
    firm.sort()
    shock = rng.normal(0, 0.5, g)
    eid = np.array([f"{city[e]}{e:04d}" for e in range(g)])
    n = n_respondents
    units = pd.DataFrame(
        {
            "resp_id": [f"R{i:06d}" for i in range(n)],
            "firm": firm,
            "enterprise_id": eid[firm],
            "meta_city": city[firm],
            "stratum": stratum[firm],
            "treatment": treated[firm],
            "dem_age": rng.normal(21, 3, n).round(),
            "female": _bernoulli(rng, np.full(n, 0.45)),
            "edu_level": rng.choice([3, 4, 5], n, p=[0.3, 0.5, 0.2]),
            "rural_hukou": _bernoulli(rng, np.full(n, 0.4)),
            "disability": _bernoulli(rng, np.full(n, 0.06)),
        }
    )
    baseline = pd.concat([units, _apprentice_round(rng, units, shock, 0.0)], axis=1)
    baseline = baseline.assign(round="baseline", interviewed=1.0)
    endline = pd.concat([units, _apprentice_round(rng, units, shock, 1.0)], axis=1)
    response = _bernoulli(rng, 0.82 + 0.06 * units["treatment"].to_numpy())
    outcomes = [c for c in endline.columns if c not in units.columns]
    endline.loc[response == 0, outcomes] = np.nan
    endline = endline.assign(round="endline", interviewed=response)
    apprentice = pd.concat([baseline, endline], ignore_index=True).drop(columns="firm")

    firms = pd.DataFrame(
        {
            "enterprise_id": eid,
            "stratum": stratum,
            "treatment": treated,
            "meta_city": city,
            "ent_size": big + 1 + rng.integers(0, 2, g),
            "ent_ownership": rng.integers(1, 4, g),
            "ent_industry": rng.integers(1, 4, g),
        }
    )
    rounds = []
    for name, post in (("baseline", 0.0), ("endline", 1.0)):
        t = treated * post
        rounds.append(
            firms.assign(
                round=name,
                hard_to_fill_rate=np.clip(0.3 - 0.05 * t + rng.normal(0, 0.1, g), 0, 1),
                skill_gap_share=np.clip(0.4 - 0.08 * t + rng.normal(0, 0.1, g), 0, 1),
                apprentice_retention_12m=np.clip(0.6 + 0.1 * t + rng.normal(0, 0.1, g), 0, 1),
                employer_satisfaction_apprentices=3 + 0.3 * t + rng.normal(0, 0.7, g),
            )
        )
    enterprise = pd.concat(rounds, ignore_index=True)
    return {"apprentice": apprentice, "enterprise": enterprise}


# --- ours ---------------------------------------------------------------------------------------


def run_pipeline(plan, frames):
    return pipeline.estimate(plan, frames, np.random.default_rng(plan.seed))


def timed(func):
    start = time.perf_counter()
    out = func()
    return out, time.perf_counter() - start


def peak_memory(func) -> float:
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


# --- the primary part, ours and the peer's --------------------------------------------------------


def ancova_frame(plan, frames, instrument: str) -> pd.DataFrame:
    """The endline sample with each outcome's baseline (dummied out) for the peer's formulas."""
    samples = pipeline.analysis_samples(plan, frames[instrument], instrument)
    data = samples.endline.copy()
    # wildboottest (numba) needs numeric cluster identifiers
    data["cluster_code"] = pd.factorize(data[plan.instrument(instrument).cluster])[0]
    for outcome in plan.outcomes(instrument):
        column = plan.baseline_column.format(outcome=outcome)
        data[f"{column}_missing"] = data[column].isna().astype(float)
        data[column] = data[column].fillna(0.0)
    return data


def peer_formula(plan, instrument: str, outcome: str, data: pd.DataFrame) -> str:
    spec = plan.instrument(instrument)
    column = plan.baseline_column.format(outcome=outcome)
    terms = [plan.treatment, column]
    if data.loc[data[outcome].notna(), f"{column}_missing"].any():
        terms.append(f"{column}_missing")
    terms += [*spec.covariates, *(f"C({c})" for c in spec.categorical_covariates)]
    fe = " + ".join(spec.fixed_effects)
    return f"{outcome} ~ {' + '.join(terms)}" + (f" | {fe}" if fe else "")


def peer_primary(plan, frames, subset: int) -> tuple[float, str]:
    import pyfixest as pf

    draws = plan.inference.bootstrap_draws
    fit_time = boot_time = rw_time = 0.0
    n_fits = n_boot = n_rw = n_rw_timed = 0
    for instrument in plan.estimated_instruments:
        data = ancova_frame(plan, frames, instrument)
        outcomes = plan.outcomes(instrument)
        start = time.perf_counter()
        fits = [
            pf.feols(
                peer_formula(plan, instrument, o, data),
                data=data,
                vcov={"CRV1": "cluster_code"},
            )
            for o in outcomes
        ]
        fit_time += time.perf_counter() - start
        n_fits += len(fits)
        chosen = fits[:subset]
        start = time.perf_counter()
        for fit in chosen:
            fit.wildboottest(param=plan.treatment, reps=draws, weights_type="webb", seed=1)
        boot_time += (time.perf_counter() - start) * len(fits) / len(chosen)
        n_boot += len(fits)
        if instrument == "apprentice":
            start = time.perf_counter()
            pf.rwolf(chosen, param=plan.treatment, reps=draws, seed=1)
            rw_time += (time.perf_counter() - start) * len(fits) / len(chosen)
            n_rw, n_rw_timed = len(fits), len(chosen)
    total = fit_time + boot_time + rw_time
    detail = (
        f"feols {n_fits} fits {fit_time:.2f} s; wildboottest {boot_time:.2f} s "
        f"({subset} per instrument timed, scaled to {n_boot}); rwolf {rw_time:.2f} s "
        f"({n_rw_timed} timed, scaled to {n_rw})"
    )
    return total, detail


def ours_primary(plan, frames) -> None:
    for instrument in plan.estimated_instruments:
        samples = pipeline.analysis_samples(plan, frames[instrument], instrument)
        spec = pipeline.effect_spec(plan, "ancova", instrument, seed=1, subgroups=False)
        args = {name: getattr(spec, name) for name in EffectSpec.__dataclass_fields__}
        args.update(inference="wild", vcov="CR1")
        estimates = estimate_effects(samples.endline, EffectSpec(**args))
        if instrument == "apprentice":
            adjust_pvalues(
                estimates,
                "romano_wolf",
                by=(),
                bootstrap_draws=plan.multiple_testing.draws,
                weights_type=plan.inference.bootstrap_weights,
                seed=1,
            )


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=10_000)
    parser.add_argument("--enterprises", type=int, default=100)
    parser.add_argument("--profile", type=pathlib.Path, help="write cProfile stats here")
    parser.add_argument("--no-peer", action="store_true", help="skip the pyfixest peer")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced (memory) run")
    parser.add_argument("--peer-subset", type=int, default=3, help="peer outcomes timed")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    plan = read_plan(PLAN)
    frames = simulate(args.respondents, args.enterprises)
    n_outcomes = len(plan.outcomes())
    print(
        f"pipeline.estimate: {args.respondents:,} respondents in {args.enterprises} enterprises "
        f"x 2 rounds x {n_outcomes} outcomes; committed plan (inference "
        f"{plan.inference.method!r}, vcov {plan.inference.vcov}, B = "
        f"{plan.inference.bootstrap_draws:,} {plan.inference.bootstrap_weights}, Romano-Wolf "
        f"B = {plan.multiple_testing.draws:,}, Lee draws {plan.attrition.lee_draws})"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.profile:
        profiler = cProfile.Profile()
        results, seconds = timed(lambda: profiler.runcall(run_pipeline, plan, frames))
        profiler.dump_stats(args.profile)
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(40)
    else:
        results, seconds = timed(lambda: run_pipeline(plan, frames))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "meets" if seconds < GOAL_SECONDS else "MISSES"
    print(
        f"  end to end: {seconds:8.2f} s ({verdict} the goal of {GOAL_SECONDS:g} s); "
        f"{len(results.primary)} primary, {len(results.heterogeneity)} heterogeneity, "
        f"{len(results.robustness)} robustness rows; max RSS {rss_before:.0f} -> "
        f"{rss_after:.0f} MiB"
    )
    if not args.no_memory:
        peak = peak_memory(lambda: run_pipeline(plan, frames))
        print(f"  peak traced memory (tracemalloc, separate run): {peak:8.1f} MiB")
    _, ours_seconds = timed(lambda: ours_primary(plan, frames))
    print(
        f"  primary part only (ANCOVA x {n_outcomes}, CR1, WCR B = "
        f"{plan.inference.bootstrap_draws:,} with CIs, Romano-Wolf): ours {ours_seconds:.2f} s"
    )
    if not args.no_peer:
        peer_primary(plan, frames, 1)  # warm-up: numba compiles on first use
        peer_seconds, detail = peer_primary(plan, frames, args.peer_subset)
        print(f"  the same part by pyfixest: {peer_seconds:.2f} s ({detail})")
        print(f"  ratio pyfixest / ours on the primary part: {peer_seconds / ours_seconds:.1f}x")


if __name__ == "__main__":
    main()
