"""Per-(run, series) aggregates of raw samples.  Pure: no Django.

Used by ingest to fill ``Point`` rows, so that graphs and detection read one row
per run instead of the raw samples.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import NamedTuple

STATUS_FAIL = 1


class Summary(NamedTuple):
    """Aggregate of one run's samples for one Real series.

    ``reported`` is the number of samples reported; the other figures are over the
    valid ones only (samples whose paired status is not FAIL).  With no valid
    sample, every figure is None and ``failed`` is True.  ``stdev`` is the sample
    standard deviation, None with fewer than two valid samples.  A named tuple, not a
    frozen dataclass: as immutable, and built in a sixth of the time (ingest builds one
    per (run, series) it stores).
    """

    reported: int  # samples reported (``count`` would hide tuple.count)
    valid: int  # samples that are real measurements
    value: float | None  # median
    mean: float | None
    minimum: float | None
    maximum: float | None
    stdev: float | None
    failed: bool


def valid_samples(values: Sequence[float], statuses: Sequence[int] | None) -> list[float]:
    """The samples that are real measurements.

    ``statuses`` is the test's ``<metric>_status`` in the same run.  When it has one
    status per sample they pair up (LNT stores sample i of every metric together);
    otherwise the worst status applies to every sample.  FAIL (1) invalidates.
    """
    if not statuses:
        return list(values)
    if len(statuses) == len(values):
        return [v for v, s in zip(values, statuses, strict=True) if s != STATUS_FAIL]
    if STATUS_FAIL in statuses:
        return []
    return list(values)


def sample_mean(values: Sequence[float]) -> float:
    """The mean of finite ``values`` (not empty), as ``Point.mean`` stores it.

    ``math.fsum(values) / n``: the detector (``changepoints.means_of``) and ingest use this
    one function, so the means the detection task screens from ``Point`` rows are the
    very numbers the analysis computes from the samples.  Where the exact sum overflows
    (samples near the largest float), the sum of ``x / n``, kept within the samples'
    range: always finite.
    """
    n = len(values)
    try:
        return math.fsum(values) / n
    except OverflowError:
        return min(max(sum(x / n for x in values), min(values)), max(values))


def figures(valid: Sequence[float]) -> tuple[float, float, float, float, float | None]:
    """Median, mean, minimum, maximum and sample standard deviation (None for one
    sample) of ``valid`` (not empty): ``summarize``'s figures without the ``Summary``,
    for ingest's record writer, which needs the same numbers to the last bit.

    The median is ``statistics.median``'s (the middle of the sorted samples, or the
    mean of the two middle ones), computed from the one sort that also gives the
    minimum and maximum (the ends of the sorted samples)."""
    n = len(valid)
    mean = sample_mean(valid)
    stdev = None
    if n > 1:
        # Float arithmetic: statistics.stdev is exact (Fractions) and 20x slower.
        stdev = math.sqrt(math.fsum([(v - mean) ** 2 for v in valid]) / (n - 1))
    ordered = sorted(valid)
    half = n // 2
    median = ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) / 2
    return float(median), mean, float(ordered[0]), float(ordered[-1]), stdev


def summarize(values: Sequence[float], statuses: Sequence[int] | None = None) -> Summary:
    """Summarise one run's samples of a Real metric (see ``Summary``, ``figures``);
    ingest summarises every (run, series) it stores."""
    valid = valid_samples(values, statuses)
    if not valid:
        return Summary(len(values), 0, None, None, None, None, None, True)
    return Summary(len(values), len(valid), *figures(valid), False)


def status_metric_name(metric: str, available: Collection[str]) -> str | None:
    """The Status metric that says whether ``metric``'s samples are valid, if any.

    LNT pairs ``execution_time`` with ``execution_status`` and ``size_bytes`` with
    ``size_status``: the last ``_word`` becomes ``_status``.  ``<metric>_status`` is
    accepted too.  None when the suite has no such metric.
    """
    for candidate in (f"{metric.rsplit('_', 1)[0]}_status", f"{metric}_status"):
        if candidate != metric and candidate in available:
            return candidate
    return None


def worst_status(statuses: Sequence[int]) -> int:
    """FAIL if any sample failed, else the largest status (XFAIL over PASS)."""
    return STATUS_FAIL if STATUS_FAIL in statuses else max(statuses)
