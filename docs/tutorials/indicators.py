# %% [markdown]
# # indicators
