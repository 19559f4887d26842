"""Helpers to build clean-panel rows by hand (the shape of notes/clean_data.md)."""

from __future__ import annotations

import pandas as pd

NA = pd.NA


def clean_rows(rows: list[dict], reasons: dict[tuple[int, str], str] | None = None) -> pd.DataFrame:
    """Build clean rows: numbers as Int64 (Float64 when fractional), text as string.

    ``reasons`` maps (row position, question) to a reason such as "dont_know"; the value there
    must be missing, as cleaning leaves it.
    """
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        values = frame[col]
        if values.map(lambda v: isinstance(v, str)).any():
            frame[col] = values.astype("string")
        elif values.dropna().map(lambda v: float(v).is_integer()).all():
            frame[col] = values.astype("Float64").astype("Int64")
        else:
            frame[col] = values.astype("Float64")
    for (pos, name), why in (reasons or {}).items():
        col = f"{name}__reason"
        if col not in frame.columns:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
        assert pd.isna(frame.loc[pos, name]) if name in frame.columns else True
        frame.loc[pos, col] = why
    return frame
