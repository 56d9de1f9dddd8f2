"""Reads behind LNT's REST shapes and ``lnt submit``'s run-over-run results.

LNT stores a sample as one row per (run, test, repetition) with one column per
metric; lntsite stores one ``Point`` per (run, series) holding the repetitions
packed (``Point.samples``).  These selectors read lntsite's rows and hand back LNT's
rows, each with an *LNT sample id*: ``base * SAMPLE_ID_STRIDE + k`` where ``base`` is
the smallest ``Point.id`` of that (run, test) and ``k`` the repetition (before the
samples moved into the points it was ``Sample.id``), so ``samples/<id>``
finds it again with two indexed queries.  Every function issues a fixed number of
queries whatever the size of the runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BinaryField, Case, F, When

from ..analysis.lnt_compare import (
    Columns,
    ColumnsBuilder,
    ColumnVerdicts,
    MetricRule,
    Side,
    SideRow,
    column_run_over_run,
)
from ..analysis.summary import status_metric_name
from ..formats import DEFAULT_LIMITS, Report, TestResult
from ..formats.samples import unpack_samples
from ..models import FieldChange, Metric, Point, Run, TestSuite
from ..services.ingest import POINT_COLUMNS, point_row

# A test holds at most this many repetitions (the report limit), so ids never collide.
SAMPLE_ID_STRIDE = DEFAULT_LIMITS.max_samples_per_value
# A test's (current, previous) Sides by metric name.
TestSides = Callable[[str], tuple[dict[str, Side], dict[str, Side]]]
# Rows fetched per round trip when a read streams a big run's rows.
_CHUNK = 10_000


def _lnt_rows(
    pairs: dict[tuple[int, int], dict[str, Any]], values: list[tuple[int, int, int, str, Any]]
) -> None:
    """Fill ``pairs[(run, test)]['metrics']`` with metric -> values from Point rows
    ``(point id, run id, test id, metric name, packed samples)`` and its smallest
    point id."""
    for sample_id, run_id, test_id, metric, packed in values:
        pair = pairs.get((run_id, test_id))
        if pair is None:
            continue
        pair["metrics"][metric] = unpack_samples(packed)
        pair["base"] = min(pair.get("base", sample_id), sample_id)


def _expand(pair: dict[str, Any], head: dict[str, Any]) -> list[dict[str, Any]]:
    """One LNT row per repetition: ``head`` plus every metric that has a k-th value."""
    metrics: dict[str, list[Any]] = pair["metrics"]
    depth = max((len(v) for v in metrics.values()), default=0)
    rows = []
    for k in range(depth):
        row = {"id": pair["base"] * SAMPLE_ID_STRIDE + k, **head}
        for metric, vals in metrics.items():
            if k < len(vals) and vals[k] is not None:
                row[metric] = vals[k]
        rows.append(row)
    return rows


def sample_rows(
    suite: TestSuite, run_ids: list[int], offset: int, limit: int
) -> list[dict[str, Any]]:
    """LNT's ``samples?runid=``: one row per sample, metric columns, order fields.

    Paged by (run, test): ``offset``/``limit`` count those pairs, so a test's
    repetitions are never split across pages.  Two queries.
    """
    page = list(
        Point.objects.filter(run_id__in=run_ids, run__suite=suite)
        .values_list("run_id", "series__test_id")
        .order_by("run_id", "series__test_id")
        .distinct()[offset : offset + limit]
    )
    if not page:
        return []
    pairs: dict[tuple[int, int], dict[str, Any]] = {p: {"metrics": {}} for p in page}
    heads: dict[tuple[int, int], dict[str, Any]] = {}
    rows = Point.objects.filter(
        run_id__in={r for r, _ in page}, series__test_id__in={t for _, t in page}
    ).values_list(
        "id",
        "run_id",
        "series__test_id",
        "series__metric__name",
        "samples",
        "series__test__name",
        "run__order__fields",
    )
    values = []
    for sample_id, run_id, test_id, metric, vals, name, order in rows:
        values.append((sample_id, run_id, test_id, metric, vals))
        heads[(run_id, test_id)] = {"run_id": run_id, "name": name, **order}
    _lnt_rows(pairs, values)
    out: list[dict[str, Any]] = []
    for key in page:
        if "base" in pairs[key]:
            out.extend(_expand(pairs[key], heads[key]))
    return out


def sample_row(suite: TestSuite, lnt_sample_id: int) -> dict[str, Any] | None:
    """LNT's ``samples/<id>``: the one repetition that id names, or None.  Two queries."""
    base, k = divmod(lnt_sample_id, SAMPLE_ID_STRIDE)
    found = (
        Point.objects.filter(id=base, run__suite=suite).values("run_id", "series__test_id").first()
    )
    if found is None:
        return None
    key = (found["run_id"], found["series__test_id"])
    pairs: dict[tuple[int, int], dict[str, Any]] = {key: {"metrics": {}}}
    _lnt_rows(
        pairs,
        list(
            Point.objects.filter(run_id=key[0], series__test_id=key[1]).values_list(
                "id", "run_id", "series__test_id", "series__metric__name", "samples"
            )
        ),
    )
    if pairs[key].get("base") != base:
        return None  # not the id of a row's first sample: no such LNT sample
    rows = _expand(pairs[key], {"run_id": key[0], "test_id": key[1]})
    return rows[k] if k < len(rows) else None


def run_test_rows(run: Run) -> list[dict[str, Any]]:
    """The tests of one run for LNT's ``runs/<id>``: one row per test, by name.

    A metric with one sample is a plain value, as in LNT's rows; with several it is
    the list of samples (LNT's API left that case open; its report format reads a
    list as the samples), so the export re-imports to the same samples.  One query.
    """
    rows = (
        Point.objects.filter(run=run)
        .order_by("series__test__name", "series__metric__position")
        .values_list("id", "series__test__name", "series__metric__name", "samples")
    )
    tests: dict[str, dict[str, Any]] = {}
    for sample_id, name, metric, packed in rows:
        vals = unpack_samples(packed)
        if not vals:  # a point stored without its samples (see migration 0016)
            continue
        test = tests.setdefault(name, {"base": sample_id, "metrics": {}})
        test["base"] = min(test["base"], sample_id)
        test["metrics"][metric] = vals[0] if len(vals) == 1 else vals
    return [
        {"id": t["base"] * SAMPLE_ID_STRIDE, "run_id": run.id, "name": name, **t["metrics"]}
        for name, t in tests.items()
    ]


def graph_samples(series_id: int, *, limit: int) -> list[tuple[dict[str, Any], Any, datetime, int]]:
    """LNT's ``graph/<machine>/<test>/<field>``: one entry per sample, oldest first.

    (order fields, value, run start time, run id) for the newest ``limit`` samples;
    samples of runs where the test failed are left out, as LNT leaves out samples
    whose status is not PASS.  One query: the newest points, with their samples, by
    the (series, position) index.
    """
    points = list(
        Point.objects.filter(series_id=series_id, failed=False)
        .order_by("-position", "-run_id")
        .values_list("run_id", "order__fields", "run__start_time", "samples")[:limit]
    )
    out: list[tuple[dict[str, Any], Any, datetime, int]] = []
    for run_id, order, start, packed in points:  # newest first
        for value in reversed(unpack_samples(packed)):
            if value is not None:
                out.append((order, value, start, run_id))
    return out[:limit][::-1]


def _run_over_run_runs(run_id: int) -> tuple[int | None, list[tuple[Any, ...]]] | None:
    """(the machine's previous run's id, the suite's metrics: id, name, type,
    bigger_is_better, ignore_same_hash in field order), or None when the run is
    gone.  Three queries."""
    run = Run.objects.filter(id=run_id).values("machine_id", "position", "suite_id").first()
    if run is None:
        return None
    prev_id = (
        Run.objects.filter(machine_id=run["machine_id"], position__lt=run["position"])
        .order_by("-position", "-id")
        .values_list("id", flat=True)
        .first()
    )
    suite_metrics = list(
        Metric.objects.filter(suite_id=run["suite_id"])
        .order_by("position")
        .values_list("id", "name", "type", "bigger_is_better", "ignore_same_hash")
    )
    return prev_id, suite_metrics


def run_over_run_inputs(
    run_id: int, report: Report | None = None
) -> tuple[list[MetricRule], list[str], TestSides]:
    """What LNT's submission report compares: the run and the machine's previous run.

    The previous run is the machine's run at the closest earlier order.  Returns
    (Real metrics in field order, test names of either run by name, a function that
    gives a test's (current, previous) Sides by metric name).  Four queries: the run,
    its predecessor, the suite's metrics, and the runs' points (with the raw samples
    of those that have several), read in one pass of narrow rows: for a 90,000-test
    run, one Side per point and nothing else per row.

    ``report``, when given, is the report just stored as this run (``ImportResult.report``):
    the run's own Sides are then derived from it when asked for (what ingest stored
    for each: ``point_row``'s value, failed and hash), and only the previous run's
    points are read -- half the rows, and no Side held for the new run.
    """
    found = _run_over_run_runs(run_id)
    if found is None:
        return [], [], lambda test: ({}, {})
    prev_id, suite_metrics = found
    rules = [row for row in suite_metrics if row[2] == Metric.REAL]
    metrics = [MetricRule(name, bool(bib), bool(ish)) for _, name, _, bib, ish in rules]
    metric_names = {metric_id: name for metric_id, name, _, _, _ in rules}
    run_ids = [] if report is not None else [run_id]
    if prev_id is not None:
        run_ids.append(prev_id)
    sides = _point_sides(run_ids, metric_names)
    previous = sides.get(prev_id, {}) if prev_id is not None else {}
    empty: dict[str, Side] = {}
    names = set(previous)
    if report is None:
        current = sides.get(run_id, {})
        names.update(current)

        def test_sides(test: str) -> tuple[dict[str, Side], dict[str, Side]]:
            return current.get(test, empty), previous.get(test, empty)

    else:
        reported = _ReportSides(
            report, [name for _, name, _, _, _ in suite_metrics], set(metric_names.values())
        )
        names.update(reported.names())

        def test_sides(test: str) -> tuple[dict[str, Side], dict[str, Side]]:
            return reported.of(test), previous.get(test, empty)

    return metrics, sorted(names), test_sides


def _point_sides(
    run_ids: list[int], metric_names: dict[int, str]
) -> dict[int, dict[str, dict[str, Side]]]:
    """The Real points of these runs as Sides, by run, test and metric.  One query."""
    sides: dict[int, dict[str, dict[str, Side]]] = {r: {} for r in run_ids}
    for r, test, metric_id, values, failed, hash_ in _real_points(run_ids, list(metric_names)):
        by_test = sides[r]
        metric_sides = by_test.get(test)
        if metric_sides is None:
            metric_sides = by_test[test] = {}
        metric_sides[metric_names[metric_id]] = Side(values, failed, hash_)
    return sides


def _take(builders: dict[Any, ColumnsBuilder], batch: dict[Any, list[SideRow]]) -> None:
    """Hand each builder its batch of rows, and empty the batch."""
    for key, rows in batch.items():
        builders[key].extend(rows)
        rows.clear()


def _real_points(
    run_ids: list[int], metric_ids: list[int]
) -> Iterator[tuple[int, str, int, tuple[float, ...], bool, str | None]]:
    """(run id, test name, metric id, samples, failed, hash) of each point of these
    runs and metrics (a Side's parts).  One query, none when ``run_ids`` is empty."""
    if not run_ids:
        return
    # One pass over narrow rows streamed from the server (a big run has hundreds of
    # thousands): a point brings its packed samples along (a few bytes; unpacked
    # only when there are several); test names and hashes are shared.
    # The packed samples only where there are several (a single one is the value):
    # no bytes object made for most rows.
    several = Case(When(count__gt=1, then=F("samples")), output_field=BinaryField())
    points = (
        Point.objects.filter(run_id__in=run_ids, series__metric_id__in=metric_ids)
        .annotate(several=several)
        .values_list(
            "run_id",
            "series__test__name",
            "series__metric_id",
            "failed",
            "hash",
            "value",
            "several",
        )
    )
    # The ORM's SQL on a plain (server-side where the database has them) cursor: its
    # per-row converters would cost more than the verdicts.
    sql, params = points.query.sql_with_params()
    shared: dict[str, str] = {}
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_CHUNK):
            for r, test, metric_id, failed, hash_, value, packed in rows:
                test = shared.setdefault(test, test)
                if hash_ is not None:
                    hash_ = shared.setdefault(hash_, hash_)
                if packed is not None:
                    values = tuple(float(v) for v in unpack_samples(packed))
                else:
                    values = () if value is None else (value,)
                yield r, test, metric_id, values, bool(failed), hash_


def submission_columns(
    run_id: int, report: Report | None = None
) -> tuple[list[MetricRule], list[str], list[tuple[Columns, Columns]], dict[str, int]]:
    """``run_over_run_inputs`` as columns: (Real metrics in field order, test names of
    either run by name, each metric's (current, previous) ``Columns``, the hash codes
    they share), for ``lnt_compare.column_run_over_run``.  The same queries: four, or
    three with ``report`` (the run's Sides then come from it, as there)."""
    found = _run_over_run_runs(run_id)
    if found is None:
        return [], [], [], {}
    prev_id, suite_metrics = found
    rules = [row for row in suite_metrics if row[2] == Metric.REAL]
    metrics = [MetricRule(name, bool(bib), bool(ish)) for _, name, _, bib, ish in rules]
    now = {name: ColumnsBuilder() for _, name, _, _, _ in rules}
    before = {name: ColumnsBuilder() for _, name, _, _, _ in rules}
    by_run = {run_id: now, prev_id: before}
    metric_names = {metric_id: name for metric_id, name, _, _, _ in rules}
    run_ids = [] if report is not None else [run_id]
    if prev_id is not None:
        run_ids.append(prev_id)
    if report is not None and prev_id is not None and connection.vendor == "postgresql":
        # The previous run alone: its rows come aggregated, a few arrays per metric.
        if _previous_side(prev_id, metric_names, before):
            run_ids = []
    # Rows are gathered a batch at a time (a tuple each only until the batch is taken).
    builders = {(r, m): by_run[r][name] for r in run_ids for m, name in metric_names.items()}
    batch: dict[tuple[int, int], list[SideRow]] = {key: [] for key in builders}
    for i, (r, test, metric_id, values, failed, hash_) in enumerate(
        _real_points(run_ids, list(metric_names)), 1
    ):
        batch[r, metric_id].append((test, values, failed, hash_))
        if i % _CHUNK == 0:
            _take(builders, batch)
    _take(builders, batch)
    if report is not None:
        reported = _ReportSides(report, [row[1] for row in suite_metrics], set(now))
        rows: dict[str, list[SideRow]] = {name: [] for name in now}
        for i, test in enumerate(report.tests, 1):
            name = test.name
            for metric, samples, failed, hash_ in reported.parts(test):
                rows[metric].append((name, samples, failed, hash_))
            if i % _CHUNK == 0:
                _take(now, rows)
        _take(now, rows)
    names = sorted({t for builder in (*now.values(), *before.values()) for t in builder.tests()})
    index = {test: i for i, test in enumerate(names)}
    codes: dict[str, int] = {}
    columns = []
    for m in metrics:
        with_hash = codes if m.ignore_same_hash else None
        sides = (now[m.name].build(index, with_hash), before[m.name].build(index, with_hash))
        columns.append(sides)
    return metrics, names, columns, codes


# One run's Real points of some metrics, a row per metric: the tests' names, the
# points' failed flags and hashes, how many samples each side has (what
# ``_real_points`` gives: the samples when there are several, else the value, none
# when it is NULL) and those samples as one string of big-endian doubles (a Real
# point's packed samples after their tag byte, ``formats.samples``).  ``packed``: no
# point of several samples is packed other than as Real (then the read is not used).
_PREVIOUS_SIDE_SQL = """
SELECT s.metric_id, array_agg(t.name), array_agg(p.failed), array_agg(p.hash),
       array_agg(CASE WHEN p.count > 1 THEN (octet_length(p.samples) - 1) / 8
                      WHEN p.value IS NULL THEN 0 ELSE 1 END),
       string_agg(CASE WHEN p.count > 1 THEN substring(p.samples FROM 2)
                       WHEN p.value IS NULL THEN ''::bytea ELSE float8send(p.value) END,
                  ''::bytea),
       bool_and(p.count <= 1 OR (get_byte(p.samples, 0) = 100
                                 AND octet_length(p.samples) %% 8 = 1)) AS packed
FROM perf_point p JOIN perf_series s ON s.id = p.series_id JOIN perf_test t ON t.id = s.test_id
WHERE p.run_id = %s AND s.metric_id = ANY(%s)
GROUP BY s.metric_id
"""


def _previous_side(
    run_id: int, metric_names: dict[int, str], builders: dict[str, ColumnsBuilder]
) -> bool:
    """Hand ``builders`` (by metric name) the Real points of run ``run_id`` as
    ``_real_points`` would, read in one statement that aggregates them per metric
    (PostgreSQL): a few arrays parsed in C instead of a tuple and a loop per point.
    False, with nothing handed over, when a point's samples are not packed as Real
    ones (the caller then reads the rows)."""
    # A metric's row at a time from the server (a 90,000-test run's rows are tens of
    # megabytes each); each is checked before it is handed over, so that a row packed
    # otherwise leaves every builder as it was.
    # Every metric's row names the same tests and hashes: one string object each is
    # kept for all (as ``_real_points`` does), not one per metric.
    taken: list[str] = []
    shared: dict[str, str] = {}
    with connection.chunked_cursor() as cursor:
        cursor.execute(_PREVIOUS_SIDE_SQL, [run_id, list(metric_names)])
        while row := cursor.fetchone():
            metric_id, tests, failed, hashes, counts, samples, packed = row
            if not packed:
                for name in taken:
                    builders[name] = ColumnsBuilder()
                return False
            tests = [shared.setdefault(t, t) for t in tests]
            hashes = [h if h is None else shared.setdefault(h, h) for h in hashes]
            name = metric_names[metric_id]
            builders[name].extend_columns(tests, counts, bytes(samples or b""), failed, hashes)
            taken.append(name)
    return True


_POINT_VALUE = POINT_COLUMNS.index("value")
_POINT_FAILED = POINT_COLUMNS.index("failed")
_POINT_HASH = POINT_COLUMNS.index("hash")


class _ReportSides:
    """The Sides of a run read from the report it was stored from, built per test
    when asked for (``of``) and not kept: what ``_point_sides`` reads back from that
    run's points, since each is what ingest's ``point_row`` stored."""

    def __init__(self, report: Report, suite_metrics: list[str], real: set[str]) -> None:
        self._report = report
        self._real = real
        self._tests: dict[str, TestResult] | None = None
        # As ingest pairs them: a Real metric's Status metric among the suite's.
        self._status = {name: status_metric_name(name, suite_metrics) for name in suite_metrics}

    def names(self) -> Iterator[str]:
        """The tests with a Real point, as read back."""
        real = self._real
        return (t.name for t in self._report.tests if not real.isdisjoint(t.samples))

    def of(self, test_name: str) -> dict[str, Side]:
        """The test's Sides by Real metric; empty for a test the report does not have."""
        if self._tests is None:
            self._tests = {test.name: test for test in self._report.tests}
        test = self._tests.get(test_name)
        if test is None:
            return {}
        return {metric: Side(*parts) for metric, *parts in self.parts(test)}

    def parts(self, test: TestResult) -> Iterator[tuple[str, Sequence[float], bool, str | None]]:
        """(Real metric, samples, failed, hash) of each of the test's Real points: its
        Sides' parts."""
        samples = test.samples
        binary_hash = samples.get("hash")  # as ingest reads the test's binary hash
        # point_row's hash: none for an empty one either.
        point_hash = str(binary_hash[0])[:256] if binary_hash and binary_hash[0] else None
        real = self._real
        for metric, values in samples.items():
            if metric not in real:
                continue
            status_name = self._status.get(metric)
            statuses = samples.get(status_name) if status_name else None
            if not statuses:  # every sample valid (most points): the samples as reported
                yield metric, values if len(values) > 1 else (float(values[0]),), False, point_hash  # type: ignore[misc]
                continue
            row = point_row(
                0, 0, 0, 0, Metric.REAL, values, statuses, binary_hash[0] if binary_hash else None
            )
            value = row[_POINT_VALUE]
            kept = values if len(values) > 1 else () if value is None else (value,)
            yield metric, kept, bool(row[_POINT_FAILED]), row[_POINT_HASH]  # type: ignore[misc]


def submission_results(
    run_id: int, report: Report | None = None
) -> list[tuple[str, str, str | None]]:
    """LNT's run-over-run verdicts for a new run (``lnt_compare.run_over_run``).

    At most five queries (``run_over_run_inputs``: four); no detection.  ``report``:
    the report just stored as this run, which spares reading the run back.
    """
    return list(iter_submission_results(run_id, report))


def iter_submission_results(
    run_id: int, report: Report | None = None
) -> Iterator[tuple[str, str, str | None]]:
    """``submission_results`` yielded one at a time (from ``submission_verdicts``,
    computed on the first ``next``)."""
    yield from submission_verdicts(run_id, report)


def submission_verdicts(run_id: int, report: Report | None = None) -> ColumnVerdicts:
    """``submission_results`` held as arrays (``lnt_compare.ColumnVerdicts``):
    computed at once, numpy over each metric's columns, a few bytes a row; their
    JSON is written by ``lnt_shapes.submission_body_chunks``."""
    return column_run_over_run(*submission_columns(run_id, report))


def series_regressions(series_id: int) -> list[dict[str, Any]]:
    """The regressions holding a live change of this series, with the change's end
    order and new value (LNT's ``regression/<machine>/<test>/<field>``).  One query."""
    return list(
        FieldChange.objects.filter(series_id=series_id, withdrawn=False, indicator__isnull=False)
        .order_by("end_position")
        .values(
            "id",
            "end_order__fields",
            "new_value",
            "old_value",
            "relative_change",
            "is_regression",
            "indicator__regression_id",
            "indicator__regression__title",
            "indicator__regression__state",
        )
    )


__all__ = [
    "SAMPLE_ID_STRIDE",
    "graph_samples",
    "iter_submission_results",
    "run_over_run_inputs",
    "run_test_rows",
    "sample_row",
    "sample_rows",
    "series_regressions",
    "submission_results",
    "submission_verdicts",
]
