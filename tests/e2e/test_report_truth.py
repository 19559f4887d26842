"""The report's primary effects recover the demo world's true effects.

Independent source: :func:`evaluation.synthetic.truth.truth` computes every true effect from the
simulated potential outcomes of the sampled units (both states of every unit), not from the
estimation code. Over five seeds of a small demo world (SIZE enterprises x apprentices per
enterprise, clean exports, strata declared as sector x size class: see STRATA), the full
pipeline runs (loaders, checks, cleaning, indicators,
analysis frames, the committed plan's primary ANCOVA), and each outcome with a primary true
effect must lie inside the report's 95% confidence interval in at least 90% of the
outcome x seed pairs. The plan keeps its primary estimator and inference but drops the
robustness estimators (they do not enter the primary effects) and uses 99 resampling draws, so
the test stays within a few minutes.
"""

from __future__ import annotations

import pathlib
import shutil

import pytest

from evaluation.instruments.files import read_instruments
from evaluation.pipeline_files import run_data_dir
from evaluation.plan import parse_plan
from evaluation.synthetic.demo import DemoOptions, build_demo
from evaluation.synthetic.exports import write_files

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = (11, 12, 13, 14, 15)
SIZE = (36, 12)  # enterprises, apprentices per enterprise
#: The demo declares city x (sector x size class) as strata; in a world of 36 enterprises
#: almost no such cell holds both arms, so the plan's stratum fixed effects would leave the
#: treatment unidentified. The data manager here declares the sampling strata (sector x size
#: class), which absorb two of the three observed confounders (large, manufacturing).
STRATA = ('strata = ["city", "stratum"]', 'strata = ["stratum"]')


def plan_for_truth(folder: pathlib.Path):
    text = (ROOT / "analysis" / "plan.toml").read_text(encoding="utf-8")
    for old, new in (
        ("bootstrap_draws = 9999", "bootstrap_draws = 99"),
        ("draws = 9999", "draws = 99"),
        ("lee_draws = 999", "lee_draws = 19"),
    ):
        assert old in text
        text = text.replace(old, new)
    start = text.index("robustness = [")
    end = text.index("]", start) + 1
    text = text[:start] + "robustness = []" + text[end:]
    shutil.copy(ROOT / "analysis" / "results_framework.toml", folder / "results_framework.toml")
    return parse_plan(text, source=str(folder / "plan.toml"))


@pytest.mark.study  # about 8 minutes on an idle 2-core machine, 26 under load: nox -s studies
@pytest.mark.xfail(
    strict=True,
    reason=(
        "measured 2026-12-03: 26 of 30 outcome x seed pairs covered (87%); misses: seed 12 "
        "log_wage_hour, seed 14 employed, formal_job and log_wage_hour. The committed plan's "
        "ANCOVA adjusts for the strata (sector x size here) but not for the demo's other "
        "observed confounders of treatment (state ownership, pilot city), so the primary "
        "effects can be biased on this world; a plan change is the lead's decision"
    ),
)
def test_primary_effects_cover_the_truth(tmp_path):
    forms = read_instruments(ROOT / "surveys")
    plan = plan_for_truth(tmp_path)
    pairs = []
    for seed in SEEDS:
        options = DemoOptions(
            seed=seed, n_enterprises=SIZE[0], apprentices_per_enterprise=SIZE[1], clean=True
        )
        demo = build_demo(forms, options)
        folder = tmp_path / f"seed{seed}"
        write_files(demo.files, folder)
        sources = folder / "raw" / "sources.toml"
        text = sources.read_text(encoding="utf-8")
        assert STRATA[0] in text
        sources.write_text(text.replace(*STRATA), encoding="utf-8")
        run, _ = run_data_dir(plan, folder, surveys=ROOT / "surveys", cache=False)
        estimates = {e.outcome: e for e in run.results.primary if e.subgroup is None}
        for true in demo.truth.primary():
            if true.outcome not in estimates:
                continue
            estimate = estimates[true.outcome]
            assert estimate.level == pytest.approx(0.95)
            covered = estimate.ci_lower <= true.value <= estimate.ci_upper
            pairs.append((seed, true.outcome, true.value, estimate.effect, covered))
    outcomes = {p[1] for p in pairs}
    assert len(outcomes) >= 5, outcomes  # employment, wages, formality, skills, mismatch
    assert len(pairs) == len(outcomes) * len(SEEDS)
    share = sum(p[4] for p in pairs) / len(pairs)
    misses = [p[:4] for p in pairs if not p[4]]
    assert share >= 0.9, misses
