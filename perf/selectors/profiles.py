"""Profiles of a run: the list (run page, API) and one profile's bytes (download)."""

from __future__ import annotations

import zlib
from typing import Any

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
