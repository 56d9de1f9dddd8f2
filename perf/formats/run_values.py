"""The stored form of one run's values of one metric (``models.RunValues``): two byte
strings, every test of the run at once.

* ``tests``: the test ids, ascending, as big-endian signed 64-bit integers (the byte
  order of PostgreSQL's ``int8send``);
* ``values``: each test's ``Point.value`` at the same place, big-endian IEEE 754
  doubles (``float8send``), NaN where the point failed or has no value.

Two more, for detection (``services.detection`` reads a window of runs from these
rows instead of one point row per series and run; NULL in rows written before them):

* ``means``: at the same places, the mean the detector screens a run's level with
  (``level_mean``), big-endian doubles, NaN where ``values`` is;
* ``counts``: each point's ``count`` (samples reported), big-endian signed 32-bit.

Big-endian like ``Point.samples`` (``formats.samples``), so that a migration or
``bench/make_dataset.py`` can pack a run's points in SQL (``string_agg`` of
``int8send`` / ``float8send`` ordered by test id) and get the bytes ingest writes.
A value is kept bit for bit, so a change computed from these is the one computed
from the points; except -0.0, stored as 0.0 (SQLite stores a point's -0.0 as 0.0,
PostgreSQL keeps it or not by the way it was written: this way both agree).  Pure: no Django.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

_TEST = np.dtype(">i8")
_VALUE = np.dtype(">f8")
_COUNT = np.dtype(">i4")


def level_mean(
    value: float | None, mean: float | None, count: int, valid_count: int
) -> float | None:
    """The mean of the samples behind a run's level, as the detector computes it from
    what it is given: ``Point.mean`` when the run has several samples, all valid
    (it is given them all), else the point's value (it is given that one value).
    None when the point has no value (or the mean is missing)."""
    if value is None:
        return None
    return mean if count > 1 and count == valid_count else value


def run_values_pack(tests: Sequence[int], values: Sequence[float | None]) -> tuple[bytes, bytes]:
    """(``tests`` bytes, ``values`` bytes) of a run's points of one metric, in any
    order (one per test): sorted by test id; a None value (its callers' failed point or
    one with no value) is stored as NaN.  Empty sequences give two empty strings."""
    ids = np.asarray(tests, dtype=np.int64)
    numbers = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    numbers += 0.0  # -0.0 + 0.0 is 0.0; NaN stays NaN
    order = np.argsort(ids, kind="stable")
    return ids[order].astype(_TEST).tobytes(), numbers[order].astype(_VALUE).tobytes()


def run_levels_pack(
    tests: Sequence[int], means: Sequence[float | None], counts: Sequence[int]
) -> tuple[bytes, bytes]:
    """(``means`` bytes, ``counts`` bytes) at the places ``run_values_pack`` puts the
    same tests (sorted by test id); None (failed, no value) and -0.0 as it stores them."""
    ids = np.asarray(tests, dtype=np.int64)
    numbers = np.array([math.nan if v is None else v for v in means], dtype=np.float64)
    numbers += 0.0
    order = np.argsort(ids, kind="stable")
    sizes = np.asarray(counts, dtype=np.int64)[order]
    return numbers[order].astype(_VALUE).tobytes(), sizes.astype(_COUNT).tobytes()


def run_levels_unpack(
    means: bytes | memoryview, counts: bytes | memoryview
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The means and counts ``run_levels_pack`` (or the SQL twin) stored, native order."""
    return (
        np.frombuffer(means, dtype=_VALUE).astype(np.float64),
        np.frombuffer(counts, dtype=_COUNT).astype(np.int64),
    )


def run_values_unpack(
    tests: bytes | memoryview, values: bytes | memoryview
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The test ids (ascending) and their values (NaN: failed or none) in native byte
    order, from what ``run_values_pack`` (or the SQL twin) stored."""
    return (
        np.frombuffer(tests, dtype=_TEST).astype(np.int64),
        np.frombuffer(values, dtype=_VALUE).astype(np.float64),
    )


def run_values_group(
    points: Iterable[tuple[int, int, int, float | None, bool]],
) -> dict[tuple[int, int], tuple[bytes, bytes]]:
    """(run id, metric id) -> its packed (tests, values), from points given as (run id,
    metric id, test id, value, failed) rows in any order."""
    kept: dict[tuple[int, int], tuple[list[int], list[float | None]]] = {}
    for run_id, metric_id, test_id, value, failed in points:
        tests, values = kept.setdefault((run_id, metric_id), ([], []))
        tests.append(test_id)
        values.append(None if failed else value)
    return {key: run_values_pack(tests, values) for key, (tests, values) in kept.items()}
