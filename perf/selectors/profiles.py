"""Profiles of a run: the list (run page, API), one profile's bytes (download), and one
profile read for the profile page."""

from __future__ import annotations

import zlib
from typing import Any

from ..formats.profiles import ProfileError, parse_profile
from ..models import Profile, TestSuite


def run_profiles(run_id: int) -> list[dict[str, Any]]:
    """(test id, test name, size in bytes, counters) of a run's profiles by test name.
    One query; the profile data itself is not read."""
    return list(
        Profile.objects.filter(run_id=run_id)
        .order_by("test__name")
        .values("test_id", "test__name", "size", "counters")
    )


def profile_bytes(suite: TestSuite, run_id: int, test_id: int) -> bytes | None:
    """One profile as the client sent it (base64-decoded), or None.  One query."""
    data = (
        Profile.objects.filter(run_id=run_id, run__suite=suite, test_id=test_id)
        .values_list("data", flat=True)
        .first()
    )
    return None if data is None else zlib.decompress(bytes(data))


def profile_read(suite: TestSuite, run_id: int, test_id: int) -> dict[str, Any] | None:
    """One profile of a run with its run's machine and order, read (``profile``: a
    ``perf.formats.profiles.Profile``, or None with ``error`` saying why it cannot be
    read), or None when there is no such profile.  One query."""
    row = (
        Profile.objects.filter(run_id=run_id, run__suite=suite, test_id=test_id)
        .values(
            "data",
            "size",
            "run_id",
            "test__name",
            "run__machine_id",
            "run__machine__name",
            "run__order__fields",
            "run__start_time",
        )
        .first()
    )
    if row is None:
        return None
    data = bytes(row.pop("data"))
    row["profile"], row["error"] = None, ""
    try:
        row["profile"] = parse_profile(zlib.decompress(data))
    except (ProfileError, zlib.error) as exc:
        row["error"] = str(exc)
    return row
