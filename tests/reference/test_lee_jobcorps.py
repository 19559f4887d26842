"""Lee (2009) bounds on the Job Corps extract (METHODS.md 4.8).

Source: ``jobcorps_lee2009.csv`` (mindis/leebounds ``data/JobCorps_*.rda``), week-208 log hourly
wage among the employed. Published replication (``mindis/leebounds``
``1.replicate_lee2009/tables/Table3_replicated.csv``): bounds [-0.016, 0.100], bootstrap SE
(0.017, 0.014), 95% CI [-0.049, 0.128], Imbens-Manski CI [-0.044, 0.123]. Full-precision values
from METHODS.md: trimming share 0.0577, bounds [-0.0159, 0.1001] (quantile-inclusive, as
Semenova's ``basic_lee_bound``) and [-0.0171, 0.1024] (dropping floor(p n) order statistics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.estimation.attrition import lee_bounds

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def jobcorps(reference_data) -> pd.DataFrame:
    return pd.read_csv(reference_data / "jobcorps_lee2009.csv")


def test_week_208_quantile_inclusive(jobcorps):
    b = lee_bounds(jobcorps, "lwage_week_208", "treatment", "emp_week_208")
    assert b.observed_treated == pytest.approx(0.6122, abs=5e-5)
    assert b.observed_control == pytest.approx(0.5768, abs=5e-5)
    assert b.trimmed_arm == 1
    assert b.trimming_share == pytest.approx(0.0577, abs=5e-5)
    assert b.naive == pytest.approx(0.0356, abs=5e-5)
    assert b.lower == pytest.approx(-0.0159, abs=5e-5)
    assert b.upper == pytest.approx(0.1001, abs=5e-5)


def test_week_208_order_statistics(jobcorps):
    b = lee_bounds(jobcorps, "lwage_week_208", "treatment", "emp_week_208", trimming="order")
    assert b.lower == pytest.approx(-0.0171, abs=5e-5)
    assert b.upper == pytest.approx(0.1024, abs=5e-5)


@pytest.mark.slow
def test_week_208_bootstrap_matches_published_replication(jobcorps):
    b = lee_bounds(jobcorps, "lwage_week_208", "treatment", "emp_week_208", n_boot=300, seed=2009)
    # bootstrap SEs are random: the published (0.017, 0.014) within 20%
    assert b.se_lower == pytest.approx(0.017, rel=0.2)
    assert b.se_upper == pytest.approx(0.014, rel=0.2)
    assert b.ci_lower == pytest.approx(-0.049, abs=0.006)
    assert b.ci_upper == pytest.approx(0.128, abs=0.006)
    assert b.im_lower == pytest.approx(-0.044, abs=0.006)
    assert b.im_upper == pytest.approx(0.123, abs=0.006)


def test_other_weeks_hold_infinite_log_wages_and_are_refused(jobcorps):
    # The extract's lwage_week_45..180 are log(0) = -inf/inf for some employed rows (Lee's
    # HWH/EARNH variables behind Table 6 are not in the extract), so those weeks' published
    # bounds cannot be reproduced from it; the estimator refuses the non-finite outcomes.
    assert np.isinf(jobcorps.loc[jobcorps["emp_week_45"] == 1, "lwage_week_45"]).any()
    with pytest.raises(ValueError, match="infinite for 1"):
        lee_bounds(jobcorps, "lwage_week_45", "treatment", "emp_week_45")
