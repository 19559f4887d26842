"""Submissions as a server holds them: the answers plus what the server adds to each one.

A platform export is the answers of each submission plus an envelope the server writes: the
instance ID (``uuid:...``), the time it arrived (UTC), the server's own row ID, the form version,
the account that submitted it. :func:`make_submissions` draws that envelope for simulated
responses; every writer in :mod:`evaluation.synthetic.exports` reads the fields it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.synthetic.respond import Responses, Table

__all__ = ["Submissions", "make_submissions", "submission_times", "uuid4_strings"]


@dataclass(frozen=True, slots=True)
class Submissions:
    """Simulated submissions of one form: answers and server envelope.

    Attributes
    ----------
    responses : Responses
        The answers (main table and repeats).
    envelope : pandas.DataFrame
        One row per main-table row: ``instance_id`` (``uuid:`` + UUID), ``submitted_at``
        (UTC, ``datetime64[ms]``), ``server_id`` (int), ``submitter_id`` (int),
        ``submitter_name``, ``device_id``, ``kobo_version`` (the Kobo deployment's version
        string), ``edits`` (int), ``attachments_present`` and ``attachments_expected`` (int).
    """

    responses: Responses
    envelope: pd.DataFrame

    @property
    def instrument(self):  # numpydoc ignore=RT01
        """The form."""
        return self.responses.instrument

    def replace(self, tables: tuple[Table, ...], envelope: pd.DataFrame) -> Submissions:
        """Return new submissions with other tables and envelope.

        Parameters
        ----------
        tables : tuple of Table
            The tables (same names and order).
        envelope : pandas.DataFrame
            One row per row of the new main table.

        Returns
        -------
        Submissions
            The new value.
        """
        return Submissions(self.responses.replace_tables(tables), envelope.reset_index(drop=True))


def submission_times(
    end: pd.Series, delay_seconds: np.ndarray, offset_hours: int = 8
) -> np.ndarray:
    """UTC arrival times from the device's ``end`` times (local, with offset) and upload delays.

    Parameters
    ----------
    end : pandas.Series
        ``end`` answers such as ``2026-12-03T09:53:22.000+08:00`` (blank: a working hour of the
        first day is used).
    delay_seconds : numpy.ndarray
        Seconds between finishing the interview and the server receiving it.
    offset_hours : int, optional
        The devices' UTC offset.

    Returns
    -------
    numpy.ndarray
        ``datetime64[ms]`` UTC times.
    """
    local = pd.to_datetime(end.astype(str).str.slice(0, 19), errors="coerce").to_numpy()
    fallback = np.datetime64("2026-12-01T12:00:00")
    local = np.where(pd.isna(local), fallback, local).astype("datetime64[ms]")
    utc = local - np.timedelta64(offset_hours, "h")
    return utc + (np.asarray(delay_seconds) * 1000).astype("timedelta64[ms]")


def uuid4_strings(rng: np.random.Generator, n: int, prefix: str = "uuid:") -> np.ndarray:
    """Draw random (version 4) UUIDs as text, as ODK writes instance IDs.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the 122 random bits of each.
    n : int
        How many.
    prefix : str, optional
        Text before each UUID.

    Returns
    -------
    numpy.ndarray
        ``n`` strings such as ``uuid:6d1b903a-6d50-4504-bd7b-76c1a5098ed9`` (what
        ``uuid.UUID(bytes=..., version=4)`` prints for the same bytes).
    """
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = raw.tobytes().hex()
    return np.array(
        [
            f"{prefix}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            for h in (text[32 * i : 32 * (i + 1)] for i in range(n))
        ],
        dtype=object,
    )


def make_submissions(
    responses: Responses, rng: np.random.Generator, *, server_start: int
) -> Submissions:
    """Add the server envelope to simulated responses.

    Parameters
    ----------
    responses : Responses
        The answers.
    rng : numpy.random.Generator
        Source of the instance UUIDs, upload delays and version string.
    server_start : int
        The server ID of the first submission of this form (IDs follow arrival order).

    Returns
    -------
    Submissions
        The answers with their envelope.

    Notes
    -----
    Unit: submission. Devices upload between 2 minutes and 36 hours after finishing (sync at
    the end of the day or the next morning). The submitter is the enumerator's account
    (``username`` answer, ``enumerator`` when the form has none).
    """
    main = responses.main
    n = len(main)
    ids = uuid4_strings(rng, n)
    end = main["end"] if "end" in main.columns else pd.Series([""] * n)
    submitted = submission_times(end, rng.uniform(120, 36 * 3600, n))
    order = np.argsort(submitted, kind="stable")
    server_id = np.empty(n, dtype=np.int64)
    server_id[order] = server_start + np.arange(n)
    users = (
        main["username"].to_numpy(dtype=object)
        if "username" in main.columns
        else np.full(n, "enumerator", dtype=object)
    )
    users = np.where(users == "", "enumerator", users)
    codes, uniques = pd.factorize(pd.Series(users, dtype=object), sort=True)
    devices = (
        main["deviceid"].to_numpy(dtype=object) if "deviceid" in main.columns else np.full(n, "")
    )
    alphabet = list("23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
    version = "v" + "".join(rng.choice(alphabet, 21))
    audit = any(q.type == "audit" for q in responses.instrument.all_questions())
    envelope = pd.DataFrame(
        {
            "instance_id": ids,
            "submitted_at": submitted,
            "server_id": server_id,
            "submitter_id": codes + 5,
            "submitter_name": np.asarray(uniques, dtype=object)[codes],
            "device_id": devices,
            "kobo_version": version,
            "edits": np.zeros(n, dtype=int),
            "attachments_present": np.full(n, int(audit)),
            "attachments_expected": np.full(n, int(audit)),
        }
    )
    return Submissions(responses, envelope)
