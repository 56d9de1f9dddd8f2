"""Read side of the graph page: series, their points, samples and change markers.

A graph shows at most MAX_PLOTS series; each series reads at most ``limit`` points
with one index range scan on (series, position), so the number of queries is
bounded by MAX_PLOTS whatever the length of the history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from ..models import FieldChange, Point, Sample, Series, TestSuite

MAX_PLOTS = 12
POINT_LIMIT = 20_000  # points per series per request; older ones are paged with ``before``
SAMPLE_POINT_LIMIT = 5_000  # all-samples dots are read for the newest this many points
_PLOT = re.compile(r"^(\d{1,18})\.(\d{1,18})\.(\d{1,4})$")


@dataclass(frozen=True)
class PlotKey:
    """machine id . test id . metric position, as in the ``plot`` URL parameter."""

    machine_id: int
    test_id: int
    metric_position: int

    def __str__(self) -> str:
        return f"{self.machine_id}.{self.test_id}.{self.metric_position}"


# What a graph point carries: the value and its spread, the order, the run's date and
# free parameters (hover), and the run id (click).
POINT_FIELDS = (
    "run_id",
    "position",
    "value",
    "mean",
    "minimum",
    "maximum",
    "failed",
    "order__fields",
    "run__start_time",
    "run__parameters",
)


def plot_keys_parse(values: list[str]) -> list[PlotKey]:
    """Valid, distinct plot keys in the given order, at most MAX_PLOTS; junk is dropped."""
    keys: list[PlotKey] = []
    for value in values:
        match = _PLOT.match(value.strip())
        if match:
            key = PlotKey(*(int(g) for g in match.groups()))
            if key not in keys:
                keys.append(key)
    return keys[:MAX_PLOTS]


def graph_series(suite: TestSuite, keys: list[PlotKey]) -> list[dict[str, Any]]:
    """The series behind ``keys`` with their names, in the keys' order.  One query."""
    if not keys:
        return []
    match = Q()
    for k in keys:
        match |= Q(machine_id=k.machine_id, test_id=k.test_id, metric__position=k.metric_position)
    rows = Series.objects.filter(match, metric__suite=suite).values(
        "id",
        "machine_id",
        "machine__name",
        "test_id",
        "test__name",
        "metric__name",
        "metric__display_name",
        "metric__position",
        "metric__bigger_is_better",
        "metric__type",
        "metric__unit_abbrev",
    )
    by_key = {PlotKey(r["machine_id"], r["test_id"], r["metric__position"]): r for r in rows}
    return [by_key[k] | {"key": str(k)} for k in keys if k in by_key]


def series_window(
    series_id: int, *, before: int | None = None, limit: int = POINT_LIMIT
) -> tuple[list[dict[str, Any]], bool]:
    """The newest ``limit`` points of a series (before position ``before``), oldest first.

    Returns (points, more) where ``more`` says older points exist.  One query.
    """
    qs = Point.objects.filter(series_id=series_id)
    if before is not None:
        qs = qs.filter(position__lt=before)
    rows = list(qs.order_by("-position", "-run_id").values(*POINT_FIELDS)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return rows, more


def series_around(series_id: int, position: int, *, width: int = 30) -> list[dict[str, Any]]:
    """``width`` points before ``position`` and ``width`` from it on, oldest first.

    Two queries, both index range scans; serves the small graphs of a regression.
    """
    fields = POINT_FIELDS
    base = Point.objects.filter(series_id=series_id)
    before = list(base.filter(position__lt=position).order_by("-position").values(*fields)[:width])
    after = list(base.filter(position__gte=position).order_by("position").values(*fields)[:width])
    before.reverse()
    return before + after


def series_samples(series_id: int, run_ids: list[int]) -> dict[int, list[Any]]:
    """run id -> raw sample values of one series, for the given runs.  One query.

    Reads by (run, series), the unique index of Sample, so it stays an index scan.
    """
    rows = Sample.objects.filter(series_id=series_id, run_id__in=run_ids).values_list(
        "run_id", "values"
    )
    return dict(rows)


def graph_changes(series_ids: list[int]) -> list[dict[str, Any]]:
    """Change points (not withdrawn) of the given series, with their regression.  One query."""
    if not series_ids:
        return []
    return list(
        FieldChange.objects.filter(series_id__in=series_ids, withdrawn=False)
        .order_by("series_id", "end_position")
        .values(
            "id",
            "series_id",
            "end_position",
            "old_value",
            "new_value",
            "relative_change",
            "is_regression",
            "confirmed",
            "indicator__regression_id",
            "indicator__regression__state",
            "indicator__regression__title",
        )
    )


def downsample(points: list[dict[str, Any]], max_points: int) -> tuple[list[dict[str, Any]], bool]:
    """Keep the lowest and highest point of each of max_points/2 buckets.  Pure.

    Min/max per bucket keeps every step and spike visible, unlike averaging; points
    without a value are dropped first.  Returns (points, whether it thinned them).
    """
    if len(points) <= max_points:
        return points, False
    valued = [p for p in points if p["value"] is not None]
    buckets = max(1, max_points // 2)
    size = len(valued) / buckets
    kept: list[dict[str, Any]] = []
    for b in range(buckets):
        chunk = valued[int(b * size) : int((b + 1) * size)]
        if not chunk:
            continue
        lo = min(chunk, key=lambda p: p["value"])
        hi = max(chunk, key=lambda p: p["value"])
        kept.extend(sorted({id(lo): lo, id(hi): hi}.values(), key=lambda p: p["position"]))
    return kept, True
