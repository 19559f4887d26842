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
# # Comparison groups, attrition and power
#
# The project's enterprises were not assigned by lottery: they **chose** to join. Enterprises
# that join may differ from those that do not (larger, better paying), and a simple comparison
# would credit the programme with those differences. Apprentices also leave between baseline
# and endline, and wages exist only for those in work. This tutorial shows the tools for these
# three problems, and for the question that comes before them all: is the sample large enough?
#
# You will:
#
# 1. simulate enterprises that select into the programme, and see the bias of a naive comparison;
# 2. fit a propensity score, check overlap and balance;
# 3. estimate the effect by inverse-probability weighting (IPW), doubly robust AIPW and matching;
# 4. measure attrition and bound a wage effect with Lee bounds;
# 5. ask how sensitive the result is to what we cannot observe (Oster);
# 6. compute minimum detectable effects and the number of enterprises needed.

# %% [markdown]
# ## 1. Enterprises that choose to join
#
# 60 enterprises; large ones are more likely to join. 12 apprentices each. The outcome is a
# skills score; it is higher in large enterprises and among apprentices with more schooling,
# and the programme raises it by **0.25** for the apprentices of treated enterprises.

# %%
import numpy as np
import pandas as pd

rng = np.random.default_rng(14)

n_enterprises, per_enterprise = 60, 12
firms = pd.DataFrame(
    {
        "enterprise_id": [f"E{i:03d}" for i in range(n_enterprises)],
        "large": rng.integers(0, 2, n_enterprises),
    }
)
join_probability = 1 / (1 + np.exp(-(-1.0 + 1.8 * firms["large"])))
firms["treatment"] = (rng.uniform(size=n_enterprises) < join_probability).astype(int)
firms["u"] = rng.normal(0, 0.3, n_enterprises)

data = firms.loc[firms.index.repeat(per_enterprise)].reset_index(drop=True)
n = len(data)
data["female"] = rng.integers(0, 2, n)
data["edu_years"] = rng.integers(9, 16, n)
data["skills_baseline"] = (
    0.5 * data["large"] + 0.15 * (data["edu_years"] - 12) + data["u"] + rng.normal(0, 1, n)
)
data["skills"] = (
    0.25 * data["treatment"]
    + 0.5 * data["large"]
    + 0.15 * (data["edu_years"] - 12)
    + 0.5 * data["skills_baseline"]
    + data["u"]
    + rng.normal(0, 1, n)
)
data = data.drop(columns="u")
pd.crosstab(data["large"], data["treatment"], margins=True)

# %% [markdown]
# The naive comparison, treated minus comparison apprentices, mixes the programme with the
# advantage of large enterprises:

# %%
from evaluation.estimation import estimate_effect

naive = estimate_effect(data, "skills", "treatment", cluster="enterprise_id", vcov="CR2")
print(naive.summary())

# %% [markdown]
# ## 2. The propensity score
#
# The *propensity score* is the probability of being treated given what we observe. Two
# apprentices with the same score are comparable on those observables, whichever arm they are
# in. `fit_propensity` fits a logit; covariates can be column names or formula terms.

# %%
from evaluation.estimation import fit_propensity, overlap_data, trim_propensity

covariates = ["large", "female", "edu_years", "skills_baseline"]
score = fit_propensity(data, "treatment", covariates)
score.params.round(3)

# %% [markdown]
# **Overlap.** Each treated apprentice needs comparable comparison apprentices, and the other
# way round. `overlap_data` counts units by score bin in each arm (ready for a mirrored
# histogram):

# %%
overlap = overlap_data(score, bins=10)
overlap.pivot(index="bin_lower", columns="arm", values="count").fillna(0).astype(int)

# %% [markdown]
# A common rule keeps only scores between 0.1 and 0.9 (or the data-driven rule of Crump et
# al., `trim="crump"`). `trim_propensity` says how many treated and comparison rows a rule
# drops (in this simulation the scores stay inside the bounds, so none):

# %%
trimming = trim_propensity(score, (0.1, 0.9))
trimming.dropped_treated, trimming.dropped_control

# %% [markdown]
# **Balance after weighting.** Weighting each comparison apprentice by p/(1 − p) makes the
# comparison group look like the treated group (the ATT weights). `balance_weighted` shows the
# standardised mean differences before and after, as R's `cobalt` does:

# %%
from evaluation.estimation import balance_weighted, balancing_weights

att_weights = balancing_weights(score.score, data["treatment"], estimand="ATT")
balance = balance_weighted(
    data, "treatment", covariates, att_weights, estimand="ATT", cluster="enterprise_id"
)
balance.loc[balance["arm"] == 1].pivot(index="variable", columns="sample", values="smd").round(3)

# %% [markdown]
# Before weighting, `large` is badly unbalanced; after weighting every SMD is close to 0.
#
# ## 3. Three estimators of the effect
#
# All three return the same kind of result as the regression of the previous tutorial, so they
# can be put side by side. Each clusters its standard errors by enterprise.
#
# - **IPW** weights the comparison group as above.
# - **AIPW** also fits an outcome regression; it is right if *either* the score *or* the
#   outcome model is right ("doubly robust").
# - **Matching** pairs each treated apprentice with the comparison apprentice of the closest
#   score (within a caliper of 0.2 standard deviations of the logit score, a common choice).

# %%
from evaluation.estimation import aipw_effect, ipw_effect, match_effect

estimates = {
    "naive difference": naive,
    "regression": estimate_effect(
        data, "skills", "treatment", covariates=covariates, cluster="enterprise_id", vcov="CR2"
    ),
    "IPW (ATT)": ipw_effect(
        data, "skills", "treatment", score, estimand="ATT", trim=(0.1, 0.9), cluster="enterprise_id"
    ),
    "AIPW (ATT)": aipw_effect(
        data, "skills", "treatment", score, estimand="ATT", trim=(0.1, 0.9), cluster="enterprise_id"
    ),
    "matching (ATT)": match_effect(
        data, "skills", "treatment", score, caliper=0.2, cluster="enterprise_id"
    ),
}
pd.DataFrame(
    {
        name: {
            "effect": e.effect,
            "std_error": e.std_error,
            "ci_lower": e.ci_lower,
            "ci_upper": e.ci_upper,
            "nobs": e.nobs,
        }
        for name, e in estimates.items()
    }
).T.round(3)

# %% [markdown]
# The true effect is 0.25. The naive difference is pulled upwards by the large enterprises;
# the adjusted estimators move towards the truth. They can only adjust for what was measured:
# had joining depended on something we did not record, all of them would be biased. That is
# what section 5 is about.
#
# ## 4. Attrition and Lee bounds
#
# Suppose some apprentices cannot be found at endline, and those who leave are more often in
# the comparison group and have lower skills. Then the stayers are not comparable any more.

# %%
stay_probability = 1 / (
    1 + np.exp(-(1.0 + 0.8 * data["treatment"] + 0.5 * data["skills_baseline"]))
)
data["responded"] = (rng.uniform(size=n) < stay_probability).astype(int)
data["skills_endline"] = data["skills"].where(data["responded"] == 1)

from evaluation.estimation import attrition_rates, differential_attrition

attrition_rates(data, "treatment", "responded").query("level != 'cluster'")

# %% [markdown]
# `differential_attrition` tests whether attrition depends on the arm, and whether the arm
# changes *who* leaves (arm × baseline characteristics), with clustered tests:

# %%
tests = differential_attrition(
    data, "treatment", "responded", ["skills_baseline", "female"], cluster="enterprise_id"
)
tests[["term", "estimate", "pvalue", "f_statistic"]].round(3)

# %% [markdown]
# **Lee bounds** make no assumption about why people left, except that the programme only
# moves people one way (into responding, here). They trim the arm with more respondents until
# both arms have the same response rate, once from the top and once from the bottom. The result
# is an interval that contains the effect for the apprentices who would respond in either arm.
# The bootstrap (with whole enterprises resampled) gives a confidence interval for it.

# %%
from evaluation.estimation import lee_bounds

bounds = lee_bounds(
    data,
    "skills_endline",
    "treatment",
    "responded",
    cluster="enterprise_id",
    n_boot=199,
    seed=1,
)
bounds.to_frame()[
    ["trimming_share", "lower", "upper", "ci_lower", "ci_upper", "im_lower", "im_upper"]
].round(3)

# %% [markdown]
# `trimming_share` is the share of the larger arm that was trimmed. `lower` and `upper` bound
# the effect; `ci_lower` and `ci_upper` are the 95% interval for the whole set of values between
# them, and `im_lower`/`im_upper` the (narrower) Imbens–Manski interval for the effect itself.
# The project uses the same tool for wages, which exist only for the employed (`observed` is
# then the employment indicator).
#
# ## 5. How much hidden selection would explain the effect away?
#
# Oster's (2019) method compares the estimate with and without the observed controls, and how
# much the controls raise the R². If adding controls barely moves the estimate while
# explaining a lot of variance, unobserved factors would have to be much more important than
# the observed ones to explain the effect away. `delta_for_zero` is that ratio: above 1 is
# usually read as robust.

# %%
from evaluation.estimation import oster_bounds

oster_bounds(data, "skills", "treatment", covariates)[
    ["beta_short", "beta_long", "r2_short", "r2_long", "r_max", "beta_star", "delta_for_zero"]
].round(3)

# %% [markdown]
# ## 6. Power: how many enterprises do we need?
#
# The minimum detectable effect (MDE) is the smallest true effect that a study would detect
# with 80% power at the 5% level. With clusters, it depends on the number of clusters much
# more than on the number of respondents per cluster, through the intra-cluster correlation
# (ICC): the share of the outcome's variance that lies between enterprises. Estimate it from
# baseline data:

# %%
from evaluation.estimation import clustered_mde, estimate_icc, mde_table, required_clusters

icc = estimate_icc(data, "skills_baseline", "enterprise_id")
print(f"ICC of the baseline skills score: {icc:.3f}")

# %% [markdown]
# The MDE in standard deviations of the outcome, for 60 enterprises of 12 apprentices, an
# ICC of 0.1 and a comparison of endline means (`design="post"`), then with ANCOVA on a
# baseline that correlates 0.5 with the endline:

# %%
post = clustered_mde(60, 12, 0.1)
with_baseline = clustered_mde(60, 12, 0.1, design="ancova", autocorrelation=0.5)
round(post, 3), round(with_baseline, 3)

# %% [markdown]
# A table across designs shows where the MDE comes from. Doubling the apprentices per
# enterprise helps far less than doubling the enterprises:

# %%
table = mde_table([30, 60, 120], [12, 24], [0.05, 0.1, 0.2], design="ancova", autocorrelation=0.5)
table.pivot_table(index=["n_clusters", "cluster_size"], columns="icc", values="mde").round(3)

# %% [markdown]
# And the other way round: how many enterprises (both arms together) to detect 0.2 SD, with
# 15% attrition?

# %%
required_clusters(0.2, 12, 0.1, design="ancova", autocorrelation=0.5, attrition=0.15)

# %% [markdown]
# ## What next
#
# - The formulas, small-sample conventions and the published numbers each of these was checked
#   against: [Methods notes](../methods/comparison-groups.rst).
# - The project's choices (estimand ATT, trimming 0.1–0.9, caliper 0.2, Lee bounds for wages)
#   are fixed in `analysis/plan.toml`: see [Adapting the analysis plan](../how-to/analysis-plan.md).
