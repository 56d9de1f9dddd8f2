"""Read side of the graph page: series, their points, samples and change markers.

A graph shows at most MAX_PLOTS series; each series reads at most ``limit`` points
with one index range scan on (series, position), so the number of queries is
bounded by MAX_PLOTS whatever the length of the history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q

from ..formats import BUILTIN_SUITES
from ..models import FieldChange, Machine, Metric, Point, Run, Sample, Series, TestSuite

MAX_PLOTS = 12
POINT_LIMIT = 20_000  # points per series per request; older ones are paged with ``before``
SAMPLE_POINT_LIMIT = 5_000  # all-samples dots are read for the newest this many points
MAX_MEANS = 4  # geometric-mean series on one graph
_PLOT = re.compile(r"^(\d{1,18})\.(\d{1,18})\.(\d{1,4})$")
_MEAN = re.compile(r"^(\d{1,18})\.(\d{1,4})$")


@dataclass(frozen=True)
class PlotKey:
    """machine id . test id . metric position, as in the ``plot`` URL parameter."""

    machine_id: int
    test_id: int
    metric_position: int

    def __str__(self) -> str:
        return f"{self.machine_id}.{self.test_id}.{self.metric_position}"


@dataclass(frozen=True)
class MeanKey:
    """machine id . metric position, as in LNT's ``mean`` URL parameter."""

    machine_id: int
    metric_position: int

    def __str__(self) -> str:
        return f"{self.machine_id}.{self.metric_position}"


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


def mean_keys_parse(values: list[str]) -> list[MeanKey]:
    """Valid, distinct ``mean`` keys in the given order, at most MAX_MEANS; junk is dropped."""
    keys: list[MeanKey] = []
    for value in values:
        match = _MEAN.match(value.strip())
        if match:
            key = MeanKey(*(int(g) for g in match.groups()))
            if key not in keys:
                keys.append(key)
    return keys[:MAX_MEANS]


def metric_unit(suite_name: str, metric_name: str, unit_abbrev: str) -> str:
    """The unit to print on a y axis: the metric's own, else seconds for *_time metrics
    of the built-in suites (whose schemas predate units), else "" (no unit known)."""
    if unit_abbrev:
        return unit_abbrev
    if suite_name in BUILTIN_SUITES and metric_name.endswith("_time"):
        return "s"
    return ""


def machines_running(
    suite: TestSuite, test_ids: list[int], metric_position: int, *, limit: int = MAX_PLOTS
) -> list[int]:
    """Ids of the machines with a series of any of ``test_ids`` for the metric, by name.

    One query on Series' (test) index; at most ``limit`` machines.
    """
    return list(
        Series.objects.filter(
            test_id__in=test_ids, metric__suite=suite, metric__position=metric_position
        )
        .order_by("machine__name")
        .values_list("machine_id", flat=True)
        .distinct()[:limit]
    )


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


def mean_series(suite: TestSuite, keys: list[MeanKey]) -> list[dict[str, Any]]:
    """Names and metric of each ``mean`` key whose machine and metric exist.  Two queries."""
    if not keys:
        return []
    machines = dict(
        Machine.objects.filter(suite=suite, id__in={k.machine_id for k in keys}).values_list(
            "id", "name"
        )
    )
    metrics = {
        m["position"]: m
        for m in Metric.objects.filter(
            suite=suite, type=Metric.REAL, position__in={k.metric_position for k in keys}
        ).values("id", "name", "display_name", "position", "bigger_is_better", "unit_abbrev")
    }
    out = []
    for k in keys:
        if k.machine_id in machines and k.metric_position in metrics:
            out.append(
                {
                    "key": str(k),
                    "machine_id": k.machine_id,
                    "machine__name": machines[k.machine_id],
                    "metric": metrics[k.metric_position],
                }
            )
    return out


def geomean_points(
    machine_id: int, metric_id: int, *, bigger_is_better: bool = False
) -> list[dict[str, Any]]:
    """LNT's "Geometric Mean" series of one machine and metric, one row per order.

    For each order, each test contributes its best valid value at that order (the
    lowest, or the highest when bigger is better: as LNT, the best of the runs at
    that order); failed points and values that are not positive are left out
    (a geometric mean is undefined for them).  The value is exp(mean(ln v)) over
    the tests that contributed, ``tests`` how many did.  Rows are oldest first, with
    the order's position and id.  One query, computed in the database: on
    PostgreSQL ``ln``/``exp`` are built in; on SQLite Django registers them.
    """
    best = "MAX" if bigger_is_better else "MIN"
    point, series = Point._meta.db_table, Series._meta.db_table
    sql = f"""
        SELECT b.position, b.order_id, EXP(AVG(LN(b.v))), COUNT(*)
        FROM (
            SELECT p.position AS position, p.order_id AS order_id, {best}(p.value) AS v
            FROM {point} p JOIN {series} s ON s.id = p.series_id
            WHERE s.machine_id = %s AND s.metric_id = %s AND NOT p.failed AND p.value > 0
            GROUP BY p.position, p.order_id, p.series_id
        ) b
        GROUP BY b.position, b.order_id
        ORDER BY b.position"""  # noqa: S608 - table names from the models, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [machine_id, metric_id])
        rows = cursor.fetchall()
    return [
        {"position": r[0], "order_id": r[1], "value": float(r[2]), "tests": int(r[3])} for r in rows
    ]


def machine_order_runs(machine_id: int) -> dict[int, dict[str, Any]]:
    """order id -> the machine's first run at that order (id, start time, order fields).

    One query over the machine's runs (index on (machine, order)); serves the x
    labels, dates and click targets of a mean series.
    """
    out: dict[int, dict[str, Any]] = {}
    rows = (
        Run.objects.filter(machine_id=machine_id)
        .order_by("start_time", "id")
        .values("id", "order_id", "start_time", "order__fields")
    )
    for r in rows:
        out.setdefault(r["order_id"], r)
    return out


def point_samples(suite: TestSuite, key: PlotKey, run_id: int) -> list[Any] | None:
    """The raw samples behind one graph point (series ``key`` in run ``run_id``).

    None when the run has no samples for that series.  One query, through the
    unique (run, series) index of Sample.
    """
    return (
        Sample.objects.filter(
            run_id=run_id,
            series__machine_id=key.machine_id,
            series__test_id=key.test_id,
            series__metric__position=key.metric_position,
            series__metric__suite=suite,
        )
        .values_list("values", flat=True)
        .first()
    )
