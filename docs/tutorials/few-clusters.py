# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Estimating effects with few clusters
#
# In this evaluation, **enterprises** join the programme, not individual apprentices. All the
# apprentices of one enterprise are treated or none is. Apprentices in the same enterprise are
# also alike (same trainers, same pay scale), so their outcomes move together. Standard errors
# must allow for this: they must be *clustered* by enterprise. And with a few dozen enterprises,
# the usual clustered standard errors are themselves too small. This tutorial shows how to get
# it right.
#
# You will:
#
# 1. simulate a small evaluation with a known effect;
# 2. see how much the standard error depends on the variance estimator (`iid`, `HC1`, `CR1`,
#    `CR2`);
# 3. check, by simulation, which estimator keeps its promise of 5% false positives;
# 4. estimate the effect by ANCOVA and by difference-in-differences, by subgroup, and for
#    several outcomes at once;
# 5. make a balance table.
#
# Stata users: `estimate_effect(..., cluster="enterprise_id", vcov="CR1")` gives the numbers
# of `regress y treatment, vce(cluster enterprise_id)`.

# %% [markdown]
# ## 1. A small simulated evaluation
#
# 24 enterprises in 3 cities; in each city half of the enterprises are treated. 15 apprentices
# per enterprise are interviewed at baseline and at endline. The outcome is a skills score
# (mean 0, SD about 1). The programme raises it by **0.30**. Each enterprise has its own
# level (`u`), shared by its apprentices: this is what makes clustering matter.

# %%
import numpy as np
import pandas as pd

rng = np.random.default_rng(20250608)  # a fixed seed: the same data every time


def simulate(rng, n_enterprises=24, per_enterprise=15, effect=0.30):
    """One simulated evaluation: one row per apprentice."""
    firms = pd.DataFrame(
        {
            "enterprise_id": [f"E{i:03d}" for i in range(n_enterprises)],
            "city": np.repeat(["Tianjin", "Ningbo", "Chongqing"], n_enterprises // 3),
        }
    )
    # Within each city, half of the enterprises are treated.
    firms["treatment"] = firms.groupby("city")["city"].transform(
        lambda s: rng.permutation(np.arange(len(s)) < len(s) // 2).astype(int)
    )
    firms["u"] = rng.normal(0, 0.5, n_enterprises)  # enterprise level
    data = firms.loc[firms.index.repeat(per_enterprise)].reset_index(drop=True)
    n = len(data)
    data["resp_id"] = data["enterprise_id"] + data.groupby("enterprise_id").cumcount().map(
        "{:03d}".format
    )
    data["female"] = rng.integers(0, 2, n)
    data["age"] = rng.integers(17, 30, n)
    data["skills_baseline"] = data["u"] + rng.normal(0, 1, n)
    data["skills"] = (
        effect * data["treatment"]
        + 0.6 * data["skills_baseline"]
        + 0.5 * data["u"]
        + rng.normal(0, 1, n)
    )
    data["employed"] = (0.4 * data["treatment"] + data["u"] + rng.normal(0, 1, n) > 0).astype(int)
    return data.drop(columns="u")


data = simulate(rng)
data.head()

# %%
data.groupby("treatment").agg(
    enterprises=("enterprise_id", "nunique"),
    apprentices=("resp_id", "count"),
    mean_skills=("skills", "mean"),
)

# %% [markdown]
# ## 2. One effect, four standard errors
#
# `estimate_effect` regresses the outcome on the treatment indicator. The `vcov` argument picks
# the variance estimator:
#
# | `vcov` | Stata | What it assumes |
# |---|---|---|
# | `"iid"` | `regress` | every apprentice independent, equal variances |
# | `"HC1"` | `regress, robust` | independent apprentices, any variances |
# | `"CR1"` | `regress, vce(cluster id)` | independent enterprises; t on G − 1 degrees of freedom |
# | `"CR2"` | `reg_sandwich` / R `clubSandwich` | as CR1, with the bias correction of Bell and McCaffrey and Satterthwaite degrees of freedom; recommended with few clusters |

# %%
from evaluation.estimation import estimate_effect

rows = []
for vcov in ["iid", "HC1", "CR1", "CR2"]:
    cluster = "enterprise_id" if vcov.startswith("CR") else None
    est = estimate_effect(data, "skills", "treatment", cluster=cluster, vcov=vcov)
    rows.append(
        {
            "vcov": vcov,
            "effect": est.effect,
            "std_error": est.std_error,
            "df": est.df,
            "p-value": est.pvalue,
            "95% CI": f"[{est.ci_lower:.2f}, {est.ci_upper:.2f}]",
        }
    )
pd.DataFrame(rows).round(3)

# %% [markdown]
# The true effect is 0.30; this one simulated evaluation estimates it with noise, as a real one
# would (another seed gives another estimate, and that spread is what the standard error
# measures). The effect is the same in every row: only the uncertainty changes. Ignoring the clustering
# (`iid`, `HC1`) gives a standard error about half as large as it should be, and a confidence
# interval that is far too narrow. The degrees of freedom also change: 358 for `iid` (the
# apprentices) but 23 for `CR1` (the 24 enterprises minus one), and fewer still for `CR2`.
#
# Every result is an `EffectEstimate`. Its `summary()` says what was done, in words:

# %%
print(est.summary())

# %% [markdown]
# ## 3. Which standard errors can you trust? A small experiment
#
# A 95% confidence interval promises that, when the programme has **no** effect, a test at 5%
# wrongly finds one only 5% of the time. We can check that promise: simulate 200 evaluations
# with a true effect of zero and count how often each estimator rejects.

# %%
rejections = {"iid": 0, "CR2": 0}
n_sims = 200
for _ in range(n_sims):
    null_data = simulate(rng, effect=0.0)
    for vcov in rejections:
        cluster = None if vcov == "iid" else "enterprise_id"
        result = estimate_effect(null_data, "skills", "treatment", cluster=cluster, vcov=vcov)
        rejections[vcov] += result.pvalue < 0.05

pd.Series({k: v / n_sims for k, v in rejections.items()}, name="false-positive rate")

# %% [markdown]
# Ignoring the clustering finds an "effect" several times more often than the promised 5%, in a
# programme that does nothing. The clustered estimator stays close to 5% (200 draws give a
# rough answer: about ±3 percentage points). With fewer enterprises, or few *treated*
# enterprises, Stata's default CR1 also rejects too often; CR2's small-sample correction removes
# much of that, so it is the safer default. That is why the project's
# analysis plan (`analysis/plan.toml`) asks for `vcov = "CR2"`.
#
# The package warns when inference rests on very few treated or control clusters. Here we keep
# only one treated enterprise:

# %%
import warnings

one_treated = data.loc[data["treatment"] == 1, "enterprise_id"].iloc[0]
few = data[(data["treatment"] == 0) | (data["enterprise_id"] == one_treated)]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    estimate_effect(few, "skills", "treatment", cluster="enterprise_id", vcov="CR2")
[str(w.message) for w in caught]

# %% [markdown]
# ## 4. The evaluation's estimators
#
# ### ANCOVA: the primary specification
#
# Controlling for the baseline value of the outcome removes much of the noise. `ancova` takes
# the endline outcome and its baseline column. City fixed effects account for the
# randomisation strata (treatment was assigned within cities).

# %%
from evaluation.estimation import ancova

main = ancova(
    data,
    "skills",
    "treatment",
    "skills_baseline",
    fixed_effects=["city"],
    cluster="enterprise_id",
    vcov="CR2",
)
print(main.summary())

# %% [markdown]
# Compare the standard error with the CR2 row of section 2: the baseline control makes the
# estimate more precise, so a smaller sample detects the same effect.
#
# ### Difference-in-differences
#
# With the data in "long" form (one row per apprentice and round), `did` estimates the change
# in the treated group minus the change in the comparison group. With `unit=` it adds
# apprentice fixed effects and clusters by apprentice by default; we cluster by enterprise.

# %%
long = pd.concat(
    [
        data.assign(round="baseline", post=0, score=data["skills_baseline"]),
        data.assign(round="endline", post=1, score=data["skills"]),
    ],
    ignore_index=True,
)[["resp_id", "enterprise_id", "city", "treatment", "round", "post", "score"]]

from evaluation.estimation import did

print(
    did(
        long, "score", "treatment", post="post", unit="resp_id", cluster="enterprise_id", vcov="CR2"
    ).summary()
)

# %% [markdown]
# In this simulation DiD is even more precise than ANCOVA, because the enterprise level `u`
# barely changes between rounds and differences out. Which of the two is more precise depends
# on how persistent the outcome is (McKenzie 2012; see `mckenzie_factor` in the
# [next tutorial](comparison-groups.py)). The plan fixes the choice in advance: ANCOVA is
# primary, DiD a robustness check.
#
# ### Effects by subgroup
#
# `heterogeneity` fits one interacted model and returns the effect in each subgroup and the
# difference between them, with its test:

# %%
from evaluation.estimation import heterogeneity

by_sex = heterogeneity(
    data,
    "skills",
    "treatment",
    "female",
    covariates=["skills_baseline"],
    cluster="enterprise_id",
    vcov="CR2",
)
by_sex.to_frame()[["subgroup", "effect", "std_error", "pvalue", "nobs"]].round(3)

# %% [markdown]
# Read the last row first: it tests whether the effect differs between women and men. Subgroup
# estimates are noisier than the overall one (half the sample each), so a difference between
# them is convincing only when this test says so.
#
# ### Many outcomes at once
#
# The analysis plan runs one *specification* over many outcomes. An `EffectSpec` holds it;
# `estimate_effects` runs it and returns a collection whose `to_frame()` is one tidy row per
# outcome, the basis of every table in the report.

# %%
from evaluation.estimation import EffectSpec, estimate_effects

spec = EffectSpec(
    outcomes=("skills", "employed"),
    treatment="treatment",
    estimator="ols",
    covariates=("female", "age"),
    fixed_effects=("city",),
    cluster="enterprise_id",
    vcov="CR2",
)
results = estimate_effects(data, spec)
results.to_frame()[
    ["outcome", "effect", "std_error", "ci_lower", "ci_upper", "pvalue", "nobs", "n_clusters"]
].round(3)

# %% [markdown]
# `employed` is a 0/1 variable, so its effect is in percentage points (0.10 = 10 points): a
# linear probability model, as in most evaluations.
#
# ## 5. A balance table
#
# Before any effect, show that the groups were alike at baseline. `balance_table` is the
# equivalent of Stata's `iebaltab`: means and SDs by arm, differences with clustered tests,
# standardised mean differences (SMD) and variance ratios. It returns a long table (one row
# per variable and arm) that the reporting stage lays out.

# %%
from evaluation.estimation import balance_table, joint_orthogonality_test

balance = balance_table(
    data,
    "treatment",
    ["female", "age", "skills_baseline"],
    cluster="enterprise_id",
    fixed_effects=["city"],
)
balance[["variable", "arm", "mean", "sd", "n", "difference", "pvalue", "smd"]].round(3)

# %% [markdown]
# Look at the SMD column: values above 0.1 in absolute value are usually read as imbalance
# worth a look. With 24 enterprises some chance imbalance is expected; the usual answer is to
# control for that variable in the regression (pre-specified in the plan's covariates). The
# joint test asks whether the baseline variables together predict treatment (iebaltab's
# `ftest`):

# %%
joint_orthogonality_test(
    data, "treatment", ["female", "age", "skills_baseline"], cluster="enterprise_id"
)[["f_statistic", "pvalue", "vcov", "tested"]]

# %% [markdown]
# ## What next
#
# - The exact formulas and the published numbers each estimator was checked against:
#   [Methods notes](../methods/regression.rst).
# - When the comparison enterprises were not chosen at random, or apprentices drop out:
#   [Comparison groups, attrition and power](comparison-groups.py).
