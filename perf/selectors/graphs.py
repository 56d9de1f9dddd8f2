"""Read side of the graph page: series, their points, samples and change markers.

A graph shows at most MAX_PLOTS series; each series reads at most ``limit`` points
with one index range scan on (series, position), and the points of all the series
come in one query (``series_windows``), whatever the length of the history.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Max, Min, QuerySet

from ..formats import BUILTIN_SUITES
from ..formats.samples import unpack_samples
from ..models import FieldChange, Machine, Metric, Point, RunGeomean, Series, TestSuite

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


# What a graph point carries: its series, the value and its spread, the order and the
# run's date (hover), and the run id (click).  Not the run's free parameters: one JSON
# object a point was half the bytes of a graph of 10 series and the largest Python
# cost; the hover reads them with the point's samples (``point_samples``).
POINT_FIELDS = (
    "run_id",
    "position",
    "value",
    "mean",
    "minimum",
    "stdev",
    "failed",
    # The order's label as its key (the order fields' values in the suite's order),
    # not its JSON fields: decoding one JSON object per point was half the time of a
    # graph of 10 series x 400 points (docs/performance.md "Reads at scale").
    "order__key",
    "run__start_time",
    "series_id",
)


class GraphPoint(NamedTuple):
    """One graph point as the page's columns (the first nine fields, in the order of
    ``POINT_COLUMNS``), then its raw value (thinning) and its series.  A tuple, so that
    PostgreSQL's rows are used as they come and a series' columns are one ``zip``."""

    position: int
    time: int  # the run's start, seconds since the epoch
    run: int
    order: str  # the order's label (``order_key_label``)
    median: float | None  # None when failed, as are the three below
    min: float | None
    mean: float | None
    stdev: float | None
    failed: bool
    value: float | None
    series_id: int


POINT_COLUMNS = GraphPoint._fields[:9]


def _graph_point(row: dict[str, Any]) -> GraphPoint:
    """A GraphPoint from a row of POINT_FIELDS (what ``_WINDOWS_SQL`` computes)."""
    failed = row["failed"]
    return GraphPoint(
        row["position"],
        int(row["run__start_time"].timestamp()),
        row["run_id"],
        order_key_label(row["order__key"]),
        None if failed else row["value"],
        None if failed else row["minimum"],
        None if failed else row["mean"],
        None if failed else row["stdev"],
        failed,
        row["value"],
        row["series_id"],
    )


def order_key_label(key: str) -> str:
    """An order's label from its key (``services.ingest.order_key``: the values of the
    suite's order fields joined by the unit separator), e.g. "600123" or "1.2, 600123"."""
    return key.replace("\x1f", ", ")


def _keys_parse(values: list[str], pattern: re.Pattern[str], limit: int) -> list[tuple[int, ...]]:
    """The integer groups of the values that match ``pattern``, distinct, in order."""
    keys: list[tuple[int, ...]] = []
    for value in values:
        match = pattern.match(value.strip())
        if match:
            key = tuple(int(g) for g in match.groups())
            if key not in keys:
                keys.append(key)
    return keys[:limit]


def plot_keys_parse(values: list[str]) -> list[PlotKey]:
    """Valid, distinct plot keys in the given order, at most MAX_PLOTS; junk is dropped."""
    return [PlotKey(*k) for k in _keys_parse(values, _PLOT, MAX_PLOTS)]


def mean_keys_parse(values: list[str]) -> list[MeanKey]:
    """Valid, distinct ``mean`` keys in the given order, at most MAX_MEANS; junk is dropped."""
    return [MeanKey(*k) for k in _keys_parse(values, _MEAN, MAX_MEANS)]


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
    """The series behind ``keys`` with their names, in the keys' order.  One query.

    It asks for the keys' machines x tests x metric positions and keeps the keys in
    Python: at most MAX_PLOTS of each, so at most MAX_PLOTS ** 3 rows (a graph of one
    test on ten machines reads exactly its ten), where an OR of one condition a key
    took the ORM longer to compile (5 ms for ten keys) than PostgreSQL took to run.
    """
    if not keys:
        return []
    rows = Series.objects.filter(
        machine_id__in={k.machine_id for k in keys},
        test_id__in={k.test_id for k in keys},
        metric__position__in={k.metric_position for k in keys},
        metric__suite=suite,
    ).values(
        "id",
        "machine_id",
        "machine__name",
        "test_id",
        "metric_id",
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


def _sliced_union(parts: list[QuerySet[Point, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of several sliced (ORDER BY ... LIMIT) querysets of points.

    One query, a UNION ALL of the parts, where the database can combine sliced
    queries (PostgreSQL: each part stays one LIMIT range scan of (series, position));
    else one query a part (SQLite, which runs in-process, where a query costs no round
    trip).  The rows come in no particular order.
    """
    if not parts:
        return []
    if len(parts) > 1 and connection.features.supports_slicing_ordering_in_compound:
        return list(parts[0].union(*parts[1:], all=True))
    return [row for part in parts for row in part]


def _points_by_series(points: list[GraphPoint]) -> dict[int, list[GraphPoint]]:
    """series id -> its points, oldest first (by position, then run)."""
    out: dict[int, list[GraphPoint]] = {}
    for point in sorted(points, key=lambda p: (p.series_id, p.position, p.run)):
        out.setdefault(point.series_id, []).append(point)
    return out


def _point_rows(series_id: int) -> QuerySet[Point, dict[str, Any]]:
    return Point.objects.filter(series_id=series_id).values(*POINT_FIELDS)


# ``series_windows`` on PostgreSQL: one LIMIT range scan of (series, position) a
# series, in one statement whose text is built once (the ORM's UNION of ten sliced
# querysets took longer to compile than the database took to run it), rows as plain
# tuples in GraphPoint's order, computed by the database (no Python a point but the
# tuple).
_WINDOWS_SQL = """
SELECT p.position, floor(extract(epoch FROM r.start_time))::bigint, p.run_id,
    replace(o.key, chr(31), ', '),
    CASE WHEN p.failed THEN NULL ELSE p.value END,
    CASE WHEN p.failed THEN NULL ELSE p.minimum END,
    CASE WHEN p.failed THEN NULL ELSE p.mean END,
    CASE WHEN p.failed THEN NULL ELSE p.stdev END,
    p.failed, p.value, p.series_id
FROM unnest(%(series)s::bigint[]) AS s(id)
CROSS JOIN LATERAL (
    SELECT * FROM perf_point p WHERE p.series_id = s.id {before}
    ORDER BY p.position DESC, p.run_id DESC LIMIT %(limit)s
) p
JOIN perf_run r ON r.id = p.run_id
JOIN perf_order o ON o.id = p.order_id
"""


def series_windows(
    series_ids: list[int], *, before: int | None = None, limit: int = POINT_LIMIT
) -> dict[int, tuple[list[GraphPoint], bool]]:
    """series id -> (its newest ``limit`` points before position ``before``, oldest
    first; whether older points exist), for every series of ``series_ids``.

    Each series is one range scan of the (series, position) index that stops after
    ``limit`` + 1 points, whatever the length of its history.  One query on
    PostgreSQL (``_WINDOWS_SQL``); elsewhere one a series (SQLite runs in-process: no
    round trip to save).
    """
    if not series_ids:
        return {}
    if connection.vendor == "postgresql":
        older = "AND p.position < %(before)s" if before is not None else ""
        sql = _WINDOWS_SQL.format(before=older)
        with connection.cursor() as cursor:
            cursor.execute(sql, {"series": series_ids, "before": before, "limit": limit + 1})
            points = [GraphPoint._make(row) for row in cursor.fetchall()]
    else:
        points = []
        for series_id in series_ids:
            qs = _point_rows(series_id)
            if before is not None:
                qs = qs.filter(position__lt=before)
            points.extend(map(_graph_point, qs.order_by("-position", "-run_id")[: limit + 1]))
    found = _points_by_series(points)
    out = {}
    for series_id in series_ids:
        window = found.get(series_id, [])
        out[series_id] = (window[-limit:], len(window) > limit)
    return out


# ``series_windows_json``: the same windows, each series' columns built as JSON by
# PostgreSQL.  The LIMIT scans come first, the run and order joins after them (inside
# the LATERAL the planner hashed the whole run table once a series); ``rn`` numbers a
# window from its newest point, so that the extra point that says "more" is counted
# but not sent.
_WINDOWS_JSON_SQL = """
WITH pts AS (
    SELECT p.*, row_number() OVER (
        PARTITION BY p.series_id ORDER BY p.position DESC, p.run_id DESC) AS rn
    FROM unnest(%(series)s::bigint[]) AS s(id)
    CROSS JOIN LATERAL (
        SELECT p.series_id, p.position, p.run_id, p.order_id, p.value, p.minimum,
            p.mean, p.stdev, p.failed
        FROM perf_point p WHERE p.series_id = s.id {before}
        ORDER BY p.position DESC, p.run_id DESC LIMIT %(limit)s + 1
    ) p
)
SELECT pts.series_id, max(pts.rn) > %(limit)s, json_build_object(
    'position', json_agg(pts.position ORDER BY pts.rn DESC) FILTER (WHERE rn <= %(limit)s),
    'time', json_agg(floor(extract(epoch FROM r.start_time))::bigint ORDER BY pts.rn DESC)
        FILTER (WHERE rn <= %(limit)s),
    'run', json_agg(pts.run_id ORDER BY pts.rn DESC) FILTER (WHERE rn <= %(limit)s),
    'order', json_agg(replace(o.key, chr(31), ', ') ORDER BY pts.rn DESC)
        FILTER (WHERE rn <= %(limit)s),
    'median', json_agg(CASE WHEN pts.failed THEN NULL ELSE pts.value END ORDER BY pts.rn DESC)
        FILTER (WHERE rn <= %(limit)s),
    'min', json_agg(CASE WHEN pts.failed THEN NULL ELSE pts.minimum END ORDER BY pts.rn DESC)
        FILTER (WHERE rn <= %(limit)s),
    'mean', json_agg(CASE WHEN pts.failed THEN NULL ELSE pts.mean END ORDER BY pts.rn DESC)
        FILTER (WHERE rn <= %(limit)s),
    'stdev', json_agg(CASE WHEN pts.failed THEN NULL ELSE pts.stdev END ORDER BY pts.rn DESC)
        FILTER (WHERE rn <= %(limit)s),
    'failed', json_agg(pts.failed ORDER BY pts.rn DESC) FILTER (WHERE rn <= %(limit)s)
)::text
FROM pts JOIN perf_run r ON r.id = pts.run_id JOIN perf_order o ON o.id = pts.order_id
GROUP BY pts.series_id
"""
_NO_POINTS_JSON = json.dumps({name: [] for name in POINT_COLUMNS})


def series_windows_json(
    series_ids: list[int], *, before: int | None = None, limit: int = POINT_LIMIT
) -> dict[int, tuple[str, bool]] | None:
    """``series_windows`` with each window as the JSON text of its ``point_columns``,
    built by PostgreSQL: series id -> (JSON text, whether older points exist).  One
    query; None on a database that cannot build it (the caller uses
    ``series_windows``).  Turning 4,000 points into Python objects and back into JSON
    was most of the time of a graph of 10 series (docs/performance.md "Graph data").
    """
    if connection.vendor != "postgresql":
        return None
    if not series_ids:
        return {}
    older = "AND p.position < %(before)s" if before is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            _WINDOWS_JSON_SQL.format(before=older),
            {"series": series_ids, "before": before, "limit": limit},
        )
        found = {series_id: (columns, more) for series_id, more, columns in cursor.fetchall()}
    return {s: found.get(s, (_NO_POINTS_JSON, False)) for s in series_ids}


def series_around(
    series_ids: list[int], position: int, *, width: int = 30
) -> dict[int, list[GraphPoint]]:
    """series id -> its ``width`` points before ``position`` and ``width`` from it on,
    oldest first.  Two range scans a series, all in one query where the database
    allows (``_sliced_union``); serves the small graphs of a regression."""
    parts = []
    for series_id in series_ids:
        base = _point_rows(series_id)
        parts.append(base.filter(position__lt=position).order_by("-position")[:width])
        parts.append(base.filter(position__gte=position).order_by("position")[:width])
    found = _points_by_series([_graph_point(row) for row in _sliced_union(parts)])
    return {series_id: found.get(series_id, []) for series_id in series_ids}


def series_samples(runs_by_series: dict[int, list[int]]) -> dict[tuple[int, int], list[Any]]:
    """(series id, run id) -> raw sample values, for each series' given runs.  One query.

    Reads by (run, series), the unique index of Point, so it stays an index scan.
    """
    if not runs_by_series:
        return {}
    rows = Point.objects.filter(
        series_id__in=list(runs_by_series),
        run_id__in={r for runs in runs_by_series.values() for r in runs},
    ).values_list("series_id", "run_id", "samples")
    # Two series of one machine share its runs: keep each series' own runs only.
    wanted = {(s, r) for s, runs in runs_by_series.items() for r in runs}
    return {
        (series_id, run_id): unpack_samples(packed)
        for series_id, run_id, packed in rows
        if (series_id, run_id) in wanted
    }


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


def downsample(points: list[GraphPoint], max_points: int) -> tuple[list[GraphPoint], bool]:
    """Keep the lowest and highest point of each of max_points/2 buckets.  Pure.

    Min/max per bucket keeps every step and spike visible, unlike averaging; points
    without a value are dropped first.  Returns (points, whether it thinned them).
    """
    if len(points) <= max_points:
        return points, False
    valued = [p for p in points if p.value is not None]
    buckets = max(1, max_points // 2)
    size = len(valued) / buckets
    kept: list[GraphPoint] = []
    for b in range(buckets):
        chunk = valued[int(b * size) : int((b + 1) * size)]
        if not chunk:
            continue
        lo = min(chunk, key=lambda p: p.value)  # type: ignore[arg-type,return-value]
        hi = max(chunk, key=lambda p: p.value)  # type: ignore[arg-type,return-value]
        kept.extend(sorted({id(lo): lo, id(hi): hi}.values(), key=lambda p: p.position))
    return kept, True


def point_columns(points: list[GraphPoint]) -> dict[str, list[Any]]:
    """The page's columns of a series' points (``POINT_COLUMNS``): one list a field."""
    columns = list(zip(*points, strict=True)) if points else [()] * len(POINT_COLUMNS)
    return {name: list(values) for name, values in zip(POINT_COLUMNS, columns, strict=False)}


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

    The geometric mean, at each order, over the tests with a valid (not failed),
    positive value; ``tests`` says how many.  Read from the runs' stored means
    (RunGeomean, written at ingest): one query, one row per run.  At an order where
    the machine has several runs, each test contributes its best value of those runs
    (the lowest, or the highest when bigger is better), as in LNT: computed from
    their points by a second query, made only when such orders exist.  Rows are
    oldest first with the order's position, id and fields and the first run's id
    and start time.
    """
    rows = list(
        RunGeomean.objects.filter(run__machine_id=machine_id, metric_id=metric_id)
        .order_by("run__position", "run_id")
        .values(
            "run_id",
            "value",
            "tests",
            "run__position",
            "run__order_id",
            "run__start_time",
            "run__order__fields",
        )
    )
    by_order: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_order.setdefault(r["run__order_id"], []).append(r)
    shared = [r["run_id"] for runs in by_order.values() if len(runs) > 1 for r in runs]
    best = _best_of_runs(shared, metric_id, bigger_is_better) if shared else {}
    out = []
    for order_id, runs in by_order.items():  # dicts keep the position order of ``rows``
        first = runs[0]
        value, tests = (first["value"], first["tests"]) if len(runs) == 1 else best[order_id]
        out.append(
            {
                "position": first["run__position"],
                "order_id": order_id,
                "order_fields": first["run__order__fields"],
                "run_id": first["run_id"],
                "start_time": first["run__start_time"],
                "value": value,
                "tests": tests,
            }
        )
    return out


def _best_of_runs(
    run_ids: list[int], metric_id: int, bigger_is_better: bool
) -> dict[int, tuple[float, int]]:
    """order id -> (geometric mean of each test's best value, tests) for these runs."""
    best = Max("value") if bigger_is_better else Min("value")
    values: dict[int, list[float]] = {}
    rows = (
        Point.objects.filter(
            run_id__in=run_ids, series__metric_id=metric_id, failed=False, value__gt=0
        )
        .values("order_id", "series_id")
        .annotate(v=best)
        .order_by()
    )
    for r in rows:
        values.setdefault(r["order_id"], []).append(r["v"])
    return {o: (statistics.geometric_mean(v), len(v)) for o, v in values.items()}


def point_samples(
    suite: TestSuite, key: PlotKey, run_id: int
) -> tuple[list[Any] | None, dict[str, Any]]:
    """The raw samples behind one graph point (series ``key`` in run ``run_id``) and
    the run's free parameters, for the point the page's cursor rests on.

    (None, {}) when the run has no point of that series.  One query, through the
    unique (run, series) index of Point.
    """
    row = (
        Point.objects.filter(
            run_id=run_id,
            series__machine_id=key.machine_id,
            series__test_id=key.test_id,
            series__metric__position=key.metric_position,
            series__metric__suite=suite,
        )
        .values_list("samples", "run__parameters")
        .first()
    )
    if row is None:
        return None, {}
    return unpack_samples(row[0]), row[1]
