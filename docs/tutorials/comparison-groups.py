# %% [markdown]
# # comparison-groups
