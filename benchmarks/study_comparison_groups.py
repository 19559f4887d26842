"""Monte Carlo on the demo world's generator: comparison-group estimators under selection.

The demo world (:mod:`evaluation.synthetic.population`) selects enterprises into the pilot on
observables: :math:`P(T_e = 1) = \\operatorname{expit}(-0.3 + 1.1\\,large_e + 0.9\\,soe_e +
0.7\\,manuf_e)` in pilot cities, and the same enterprise traits raise the outcomes. This study
draws ``--reps`` worlds (one seed each), and in each estimates the sample average treatment
effect (ATE over every sampled apprentice) of two outcomes by

- the unadjusted difference in means (CR2 by enterprise),
- ANCOVA with Lin's interactions (baseline outcome, person and enterprise covariates; CR2),
- inverse-probability weighting (logit score on the enterprise traits; clustered sandwich),
- augmented IPW (the same score and the ANCOVA covariates; clustered sandwich),

and reports, against the true sample ATE computed from the potential outcomes, the bias, the
RMSE, the mean standard error over the standard deviation of the errors (estimate minus the
draw's true sample ATE: the sampling variance an interval must cover), and the coverage
of the 95% intervals. Outcomes, with every unit's potential outcomes known:

- ``employed`` (19th ICLS, endline): its true ATE equals :func:`evaluation.synthetic.truth`'s
  primary ``employed`` effect (checked in every draw);
- ``formal``: the latent formality of the job, ``formal_0``/``formal_1``, taken as observed for
  everyone (the study is about selection into treatment, not about who is employed).

No attrition (every sampled apprentice is used), so differences come from selection and the
estimators alone. Run: ``python benchmarks/study_comparison_groups.py [--reps 200]`` (about 2 s
a draw on one core); ``nox -s studies`` runs it with the default.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from evaluation.estimation import aipw_effect, estimate_effect, fit_propensity, ipw_effect
from evaluation.estimation.propensity import SeparationError
from evaluation.synthetic.population import WorldConfig, simulate_population
from evaluation.synthetic.truth import truth

SCORE = ["soe", "large", "manuf"]
PERSON = ["female", "rural", "migrant", "isced3"]


def world_frame(seed: int, n_enterprises: int, per_enterprise: int) -> dict[str, object]:
    """One world's analysis frame per outcome, with the true sample ATEs."""
    population = simulate_population(
        WorldConfig(
            seed=seed, n_enterprises=n_enterprises, apprentices_per_enterprise=per_enterprise
        )
    )
    a = population.apprentices[population.apprentices["in_panel"]].reset_index(drop=True)
    treated = a["treatment"].to_numpy() == 1
    base = pd.DataFrame(
        {
            "t": a["treatment"].astype(float),
            "firm": a["enterprise_id"].astype(str),
            **{c: a[c].astype(float) for c in ("female", "rural", "migrant", *SCORE)},
            "isced3": (a["isced"] >= 3).astype(float),
        }
    )
    frames, true = {}, {}
    for outcome, (y0, y1, yb) in {
        "employed": ("employed_0", "employed_1", "employed_b"),
        "formal": ("formal_0", "formal_1", "formal_b"),
    }.items():
        frames[outcome] = base.assign(
            y=np.where(treated, a[y1], a[y0]).astype(float), yb=a[yb].astype(float)
        )
        true[outcome] = float((a[y1].astype(float) - a[y0].astype(float)).mean())
    published = next(
        e.value
        for e in truth(population).effects
        if e.outcome == "employed"
        and e.estimand == "ATE"
        and e.population == "all_sampled"
        and e.subgroup is None
    )
    if not np.isclose(published, true["employed"], rtol=0, atol=1e-12):
        msg = f"seed {seed}: truth() says {published}, the potential outcomes {true['employed']}"
        raise AssertionError(msg)
    return {"frames": frames, "true": true}


def estimates(frame: pd.DataFrame) -> dict[str, tuple[float, float, float, float]]:
    """The four estimators on one frame: (effect, standard error, CI lower, CI upper).

    An estimator that refuses the draw (a separated score: every state-owned enterprise in one
    arm, say; a treatment collinear with the covariates) gives NaNs and is counted as failed.
    """
    covariates = ["yb", *PERSON, *SCORE]
    fits = {
        "unadjusted": lambda: estimate_effect(frame, "y", "t", cluster="firm", vcov="CR2"),
        "ancova_lin": lambda: estimate_effect(
            frame, "y", "t", covariates=covariates, cluster="firm", vcov="CR2", lin=True
        ),
        "ipw": lambda: ipw_effect(
            frame, "y", "t", fit_propensity(frame, "t", SCORE), estimand="ATE", cluster="firm"
        ),
        "aipw": lambda: aipw_effect(
            frame, "y", "t", fit_propensity(frame, "t", SCORE), outcome_covariates=covariates,
            estimand="ATE", cluster="firm",
        ),
    }  # fmt: skip
    results = {}
    for name, fit in fits.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # small-cluster notes of the sandwich estimators
                f = fit()
        except (SeparationError, ValueError):
            results[name] = (np.nan, np.nan, np.nan, np.nan)
            continue
        results[name] = (f.effect, f.std_error, f.ci_lower, f.ci_upper)
    return results


def simulate(reps: int, n_enterprises: int = 40, per_enterprise: int = 30) -> pd.DataFrame:
    """One row per draw, outcome and estimator: error, standard error and coverage."""
    rows = []
    for seed in range(reps):
        world = world_frame(seed, n_enterprises, per_enterprise)
        for outcome, frame in world["frames"].items():
            true = world["true"][outcome]
            for name, (effect, se, lower, upper) in estimates(frame).items():
                rows.append(
                    {
                        "seed": seed,
                        "outcome": outcome,
                        "estimator": name,
                        "error": effect - true,
                        "effect": effect,
                        "std_error": se,
                        "covered": bool(lower <= true <= upper),
                        "failed": bool(np.isnan(effect)),
                    }
                )
    return pd.DataFrame(rows)


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, mean SE / SD of the errors and coverage per outcome and estimator.

    Draws where an estimator failed are left out of its row and counted in ``failed``.
    """
    ok = draws[~draws["failed"]]
    grouped = ok.groupby(["outcome", "estimator"], sort=True)
    return pd.DataFrame(
        {
            "bias": grouped["error"].mean(),
            "rmse": grouped["error"].apply(lambda e: float(np.sqrt((e**2).mean()))),
            "se_over_sd": grouped["std_error"].mean() / grouped["error"].std(ddof=1),
            "coverage": grouped["covered"].mean(),
            "reps": grouped.size(),
            "failed": draws.groupby(["outcome", "estimator"], sort=True)["failed"].sum(),
        }
    )


def main() -> None:
    """Run the study and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    table = summarise(simulate(args.reps))
    seconds = time.perf_counter() - start
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120):
        print(f"Comparison groups on the demo world's generator: {args.reps} draws, "
              f"40 enterprises x 30 apprentices, {seconds:.0f} s")  # fmt: skip
        print(table)


if __name__ == "__main__":
    main()
