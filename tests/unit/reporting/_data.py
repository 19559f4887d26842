"""Small hand-built inputs shared by the reporting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def framework_rows() -> pd.DataFrame:
    """Rows in the shape of evaluation.indicators.framework.results_framework_table."""
    columns = ["outcome", "id", "indicator", "statistic", "disaggregation", "group"]
    columns += ["n_baseline", "baseline", "baseline_source", "n_endline", "endline", "change"]
    columns += ["target", "status", "progress"]
    rows = [
        [
            1,
            "1.1",
            "appr_completion",
            "share",
            "all",
            "all",
            300,
            0.40,
            "data",
            280,
            0.55,
            0.15,
            0.60,
            "not achieved",
            0.75,
        ],
        [
            1,
            "1.1",
            "appr_completion",
            "share",
            "disability",
            "0",
            297,
            0.40,
            "data",
            277,
            0.55,
            0.15,
            0.60,
            "not achieved",
            0.75,
        ],
        [
            1,
            "1.1",
            "appr_completion",
            "share",
            "disability",
            "1",
            3,
            0.0 + 1 / 3,
            "data",
            3,
            2 / 3,
            1 / 3,
            0.60,
            "achieved",
            1.33,
        ],
        [
            3,
            "3.1",
            "core_skills_index",
            "mean",
            "all",
            "all",
            300,
            0.0,
            "data",
            280,
            0.2,
            0.2,
            np.nan,
            "target missing",
            np.nan,
        ],
        [
            4,
            "4.1",
            "norm_gain",
            "mean",
            "all",
            "all",
            np.nan,
            np.nan,
            "data",
            np.nan,
            np.nan,
            np.nan,
            np.nan,
            "no data",
            np.nan,
        ],
    ]
    return pd.DataFrame(rows, columns=columns)
