"""Read side of the home, machine, run-report and compare pages.

Every function issues a fixed number of queries whatever the number of runs,
tests or machines (tests assert the counts) and returns plain rows or small
dataclasses.  The comparison itself (``report_compare``) is plain Python over
what ``report_data`` read; the verdict on each move is ``analysis.verdict``'s (no
Django), the change detector's own model.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from operator import itemgetter
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
import re2  # google-re2: linear-time matching for user-given test-name filters
from django.db import connection
from django.db.models import BigIntegerField, CharField, Count, Max, Subquery, Value
from django.db.models.functions import Coalesce

from ..analysis import verdict
from ..analysis.changepoints import DetectionParams
from ..analysis.summary import status_metric_name
from ..copy_out import copy_records, copy_tuples
from ..formats.run_values import run_values_unpack
from ..models import (
    FieldChange,
    Machine,
    Metric,
    Order,
    Point,
    Regression,
    Run,
    Series,
    TestSuite,
    order_label,
)
from . import baselines as baseline_selectors

# A filter longer than this is refused: no test-name filter needs more, and RE2's
# compile cost and memory grow with the pattern.
FILTER_MAX_LENGTH = 100

# The groups of a report, in display order.
GROUPS = (
    ("regressions", "Regressions"),
    ("improvements", "Improvements"),
    ("new_failures", "New failures"),
    ("new_passes", "New passes"),
    ("existing_failures", "Existing failures"),
    ("too_little_history", "Too little history to judge"),
    ("added", "Added tests"),
    ("removed", "Removed tests"),
    ("unchanged", "Unchanged"),
)
GROUP_ROW_LIMIT = 500  # rows shown per group; the CSV and JSON exports have them all
# The unchanged group is folded away and the longest: fewer rows keep big reports fast.
UNCHANGED_ROW_LIMIT = 200


class FilterError(ValueError):
    """A test-name filter that was refused; the message is shown to the user."""


class NameFilter(Protocol):
    """A compiled test-name filter: ``search(name)`` is truthy when the name matches."""

    def search(self, text: str) -> object: ...


def name_filter_compile(pattern: str) -> NameFilter | None:
    """Compile a user's test-name regex with RE2, or raise FilterError with a clear message.

    An empty pattern means no filter (None).  RE2 matches in time linear in the
    name whatever the pattern, so no pattern can pin a worker (Python's ``re``
    backtracks: ``(.|..)+!`` takes seconds on one 32-character name and 1.6x more
    per character).  The price is RE2's syntax: no backreferences or lookarounds,
    which are refused with RE2's own message.  Patterns longer than
    FILTER_MAX_LENGTH are refused too.
    """
    if not pattern:
        return None
    if len(pattern) > FILTER_MAX_LENGTH:
        raise FilterError(f"The filter is too long (at most {FILTER_MAX_LENGTH} characters).")
    options = re2.Options()
    options.log_errors = False  # a bad filter is the user's mistake, not a log line
    try:
        compiled: NameFilter = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise FilterError(f"The filter is not a valid regular expression: {reason}.") from None
    return compiled


# --- home and machines -------------------------------------------------------------


def home_summary(suite: TestSuite | None = None, *, limit: int = 15) -> dict[str, Any]:
    """Recent runs, most recently active machines, open regressions by state.

    Three queries; restricted to one suite when ``suite`` is given.
    """
    runs = Run.objects.all()
    machines = Machine.objects.all()
    regressions = Regression.objects.all()
    if suite is not None:
        runs = runs.filter(suite=suite)
        machines = machines.filter(suite=suite)
        regressions = regressions.filter(suite=suite)
    recent = list(
        runs.order_by("-submitted_at", "-id").values(
            "id",
            "suite__name",
            "machine_id",
            "machine__name",
            "order__fields",
            "submitted_at",
            "detection_state",
        )[:limit]
    )
    active = list(
        machines.annotate(last_run=Max("runs__submitted_at"), run_count=Count("runs"))
        .filter(last_run__isnull=False)
        .order_by("-last_run")
        .values("id", "name", "suite__name", "last_run", "run_count")[:limit]
    )
    labels = dict(Regression.STATE_CHOICES)
    counts: dict[str, dict[int, int]] = {}
    for row in (
        regressions.filter(state__in=Regression.OPEN_STATES)
        .values("suite__name", "state")
        .annotate(n=Count("id"))
        .order_by("suite__name", "state")
    ):
        counts.setdefault(row["suite__name"], {})[row["state"]] = row["n"]
    open_by_suite = [
        {
            "suite": name,
            "states": [
                {"state": s, "label": labels[s], "count": by_state.get(s, 0)}
                for s in Regression.OPEN_STATES
            ],
        }
        for name, by_state in counts.items()
    ]
    return {"recent": recent, "active": active, "open_regressions": open_by_suite}


def machine_runs_page(machine: Machine, offset: int, limit: int) -> list[Run]:
    """A machine's runs, newest order first, with their orders (``run.order``), and
    ``run.machine`` set to ``machine`` (no query for it).  One query."""
    runs = list(
        Run.objects.filter(machine=machine)
        .select_related("order")
        .order_by("-order__position", "-id")[offset : offset + limit]
    )
    for run in runs:
        run.machine = machine
    return runs


class MachineRun(NamedTuple):
    """A run as the machine page lists it."""

    id: int
    order_id: int
    order_label: str
    start_time: datetime
    submitted_at: datetime
    detection_state: str


@dataclass
class MachinePage:
    """What the machine page shows: the suite, the machine, one page of its runs."""

    suite: TestSuite
    machine: Machine
    runs: list[MachineRun]


_MACHINE_PAGE_COLUMNS = (
    "id",
    "order_id",
    "order__fields",
    "start_time",
    "submitted_at",
    "detection_state",
    "machine__suite_id",
    "machine__name",
    "machine__fields",
    "machine__parameters",
)


def machine_page(
    suite_name: str, machine_id: int, offset: int, limit: int
) -> MachinePage | Literal["suite", "machine"]:
    """The machine ``machine_id`` of suite ``suite_name`` and its runs ``offset`` to
    ``offset + limit``, newest order first (as ``machine_runs_page``), or why there is
    none: "suite" (no such suite) or "machine" (no such machine in it).

    One query when that page has runs (the runs' columns shown, their orders' and
    their machine's, joined): the machine page's usual case, where each round trip and
    each model instance is a large part of the time.  Otherwise (a machine without
    runs, a page past the last, a missing suite or machine) three: that query, then
    the suite and the machine.  The suite and machine returned hold only what the page
    shows (ids, names, the machine's fields and parameters).
    """
    if machine_id < 2**63:  # larger ids cannot be stored: no such machine
        rows = list(
            Run.objects.filter(machine_id=machine_id, machine__suite__name=suite_name)
            .order_by("-order__position", "-id")
            .values_list(*_MACHINE_PAGE_COLUMNS)[offset : offset + limit]
        )
        if rows:
            suite_id, name, fields, parameters = rows[0][6:]
            return MachinePage(
                suite=TestSuite(id=suite_id, name=suite_name),
                machine=Machine(
                    id=machine_id,
                    suite_id=suite_id,
                    name=name,
                    fields=fields,
                    parameters=parameters,
                ),
                runs=[
                    MachineRun(run_id, order_id, order_label(revisions), started, submitted, state)
                    for run_id, order_id, revisions, started, submitted, state, *_ in rows
                ],
            )
    suite = TestSuite.objects.filter(name=suite_name).first()
    if suite is None:
        return "suite"
    found = (
        Machine.objects.filter(suite=suite, id=machine_id).first() if machine_id < 2**63 else None
    )
    if found is None:
        return "machine"
    return MachinePage(suite=suite, machine=found, runs=[])


# --- finding the runs to compare ------------------------------------------------------


def run_previous(
    run: Run, *, newest_first: Sequence[Run] = (), complete: bool = False
) -> Run | None:
    """The machine's run at the closest earlier order (by position).  At most one query.

    Runs appended at the same order are not "previous": the report compares
    revisions, not repeats.  ``newest_first``: the machine's runs already read, from
    ``run`` on, in ``machine_runs_page``'s order (its first page): the previous run is
    the first of them at an earlier order, found without a query; ``complete`` says
    they are all the machine's runs from ``run`` on, so that none means no previous run.
    """
    for other in newest_first:
        if other.order.position < run.order.position:
            return other
    if complete:
        return None
    return (
        Run.objects.filter(machine_id=run.machine_id, order__position__lt=run.order.position)
        .select_related("machine", "order")
        .order_by("-order__position", "-id")
        .first()
    )


def run_for_order(machine_id: int, revision: str, suite: TestSuite) -> Run | None:
    """The machine's latest run at the order whose revision (or order id) is given."""
    orders = Order.objects.filter(suite=suite)
    match = orders.filter(key=revision)
    if revision.isdigit():
        match = match | orders.filter(id=int(revision))
    return (
        Run.objects.filter(machine_id=machine_id, order__in=match.values("id"))
        .select_related("machine", "order")
        .order_by("-id")
        .first()
    )


def baseline_run(suite: TestSuite, key: str, machine_id: int) -> Run | None:
    """A baseline given as a run id, or as a Baseline name: then the machine's latest
    run at the baseline's order.  One query."""
    if key.isdigit():
        if len(key) > 18:  # more digits would overflow a bigint
            return None
        return (
            Run.objects.filter(suite=suite, id=int(key)).select_related("machine", "order").first()
        )
    return baseline_selectors.baseline_run_for_machine(suite, key, machine_id)


# --- the comparison -------------------------------------------------------------------


@dataclass(slots=True)
class ReportRow:
    test_id: int
    test: str
    series_id: int | None
    old: float | None
    new: float | None
    delta: float | None  # relative change in percent, signed, (new - old) / |old|
    group: str
    # The engine's verdict (``verdict.judge``): detected, suspect, changed, small, few or
    # noise; "" when the values were not compared (added, removed, failed).
    verdict: str = ""
    # The detector's noise estimate of one run's level, percent, from the history.
    noise: float | None = None
    z: float | None = None  # the move in the detector's standard errors, when it got there
    history_runs: int = 0  # known runs in the history window before the new run
    # A live change the detector found at the new run's order: "detected" or
    # "suspect" (unconfirmed), with its regression if grouped into one.
    detected: str = ""
    regression_id: int | None = None

    @property
    def significant(self) -> bool:
        return self.verdict in verdict.FLAGGED

    # Display strings: formatting here is ten times cheaper than a floatformat
    # filter per cell, which matters with 500 rows a group.
    @property
    def test_key(self) -> str:
        return str(self.test_id)  # a string: the template would localise an int

    @property
    def old_text(self) -> str:
        return "—" if self.old is None else f"{self.old:.4f}"

    @property
    def new_text(self) -> str:
        return "—" if self.new is None else f"{self.new:.4f}"

    @property
    def delta_text(self) -> str:
        return "—" if self.delta is None else f"{self.delta:+.2f}"

    @property
    def noise_text(self) -> str:
        return "—" if self.noise is None else f"{self.noise:.2f}"

    @property
    def evidence(self) -> str:
        """Why the row is judged as it is, for a tooltip."""
        runs = f"{self.history_runs} earlier run{'s' if self.history_runs != 1 else ''}"
        z = "" if self.z is None else f"{self.z:.1f} standard errors over {runs}"
        if self.verdict == verdict.DETECTED:
            return "found by change detection"
        if self.verdict == verdict.SUSPECT:
            return "suspect: seen on this run alone, not yet confirmed by the next runs"
        if self.verdict == verdict.CHANGED:
            return f"beyond the detector's noise ({z}); not yet confirmed by the next run"
        if self.verdict == verdict.FEW:
            return f"only {runs}: too little history to judge"
        if self.verdict == verdict.NOISE:
            return z or f"within the noise of {runs}"
        if self.verdict == verdict.SMALL:
            return "smaller than the threshold"
        if self.verdict == verdict.SAME_BINARY:
            return "the binary did not change (same hash in both runs)"
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "old": self.old,
            "new": self.new,
            "delta_percent": self.delta,
            "noise_percent": self.noise,
            "significant": self.significant,
            "group": self.group,
            "verdict": self.verdict,
            "z": self.z,
            "history_runs": self.history_runs,
            "detected": self.detected,
            "regression": self.regression_id,
        }


@dataclass
class MetricReport:
    metric: Metric
    groups: dict[str, list[ReportRow]] = field(default_factory=dict)
    geomean_old: float | None = None
    geomean_new: float | None = None
    # The groups' sizes, when the report was built without its rows
    # (``report_compare(rows=False)``): ``groups`` is then empty.
    tally: dict[str, int] | None = None

    @property
    def geomean_delta(self) -> float | None:
        if not self.geomean_old or self.geomean_new is None:
            return None
        return (self.geomean_new - self.geomean_old) / self.geomean_old * 100.0

    @property
    def counts(self) -> dict[str, int]:
        if self.tally is not None:
            return dict(self.tally)
        return {key: len(self.groups.get(key, [])) for key, _ in GROUPS}

    @property
    def detected_count(self) -> int:
        return sum(1 for row in self.rows() if row.detected)

    def rows(self) -> list[ReportRow]:
        return [row for key, _ in GROUPS for row in self.groups.get(key, [])]


FloatArray = npt.NDArray[np.float64]


def _no_levels() -> FloatArray:
    return np.full((0, 0), np.nan)


@dataclass
class History:
    """The recent history of some series as one matrix (``series_history``).

    ``levels[rows[s]]`` is series s's window: the values of its last points before the
    new run's order, oldest first, right-aligned, NaN for a failed point and before a
    short history -- the shape ``verdict.judge`` takes whole (``verdict.windows``), so
    no Python value is built per point.  ``last`` maps each series with a point in its
    window to the run of its newest point: the old run is "adjacent" when it is that
    run, else the history is moved to the old run's level (see ``verdict.judge``).
    """

    rows: dict[int, int] = field(default_factory=dict)  # series id -> row of levels
    levels: FloatArray = field(default_factory=_no_levels)
    last: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_values(
        cls, values: dict[int, list[float | None]], last: dict[int, int], points: int
    ) -> History:
        """The history of the series of ``values`` (series -> its values, oldest
        first, None for a failed point; only the last ``points`` count)."""
        return cls(
            rows={series_id: k for k, series_id in enumerate(values)},
            levels=verdict.windows(list(values.values()), points),
            last=last,
        )

    def windows(self, series_ids: Sequence[int | None]) -> FloatArray:
        """The windows of ``series_ids``, a row each; all NaN for a series not read."""
        width = self.levels.shape[1]
        padded = np.concatenate([self.levels, np.full((1, width), np.nan)])
        missing = len(self.levels)  # the row of NaN
        return padded[[self.rows.get(s, missing) if s is not None else missing
                       for s in series_ids]]


IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class PointColumns(NamedTuple):
    """``ReportData.points`` as columns, one entry a point, in the rows' order."""

    run: IntArray
    series: IntArray
    test: IntArray
    metric: IntArray
    value: FloatArray  # NaN where the value is NULL
    has_value: BoolArray  # the value is not NULL
    failed: BoolArray
    # The binary hash a point reported, as a key that is equal for equal hashes
    # (``has_hash`` False: none; read by COPY, the first 64 bits of its MD5).
    has_hash: BoolArray
    hash_key: IntArray
    names: dict[int, str]  # test id -> name

    def valid(self) -> BoolArray:
        """The points with a value that counts: not failed, not NULL."""
        return self.has_value & ~self.failed


def _no_points() -> PointColumns:
    empty, no = np.zeros(0, dtype=np.int64), np.zeros(0, np.bool_)
    return PointColumns(empty, empty, empty, empty, np.zeros(0), no, no, no, empty, {})


def _columns_of(points: list[tuple[Any, ...]], names: dict[int, str] | None) -> PointColumns:
    """``points`` (``ReportData.points``' tuples) as columns; ``names``: the tests' names
    when not in the tuples."""
    count = len(points)
    if count == 0:
        return _no_points()
    # A list a column: ``zip(*points)`` (a row an argument) costs as much with the
    # collector frozen (gunicorn) and ten times more without.
    width = len(points[0])
    columns = [list(map(itemgetter(k), points)) for k in range(width)]
    values = columns[5]
    hashes = columns[7] if width > 7 else [None] * count
    keys: dict[str, int] = {}  # hash -> key: its index among the distinct ones
    return PointColumns(
        run=np.array(columns[0], dtype=np.int64),
        series=np.array(columns[1], dtype=np.int64),
        test=np.array(columns[2], dtype=np.int64),
        metric=np.array(columns[4], dtype=np.int64),
        value=np.array(values, dtype=np.float64),  # None -> NaN
        has_value=np.array([v is not None for v in values], dtype=np.bool_),
        failed=np.array(columns[6], dtype=np.bool_),
        has_hash=np.array([h is not None for h in hashes], dtype=np.bool_),
        hash_key=np.array(
            [-1 if h is None else keys.setdefault(h, len(keys)) for h in hashes],
            dtype=np.int64,
        ),
        names=dict(zip(columns[2], columns[3], strict=True)) if names is None else names,
    )


@dataclass
class ReportData:
    """What a comparison of two runs reads: see ``report_data``."""

    # (run_id, series_id, test_id, test name, metric_id, value, failed, binary hash):
    # the point's columns are those the (run, series) index covers (an index-only scan).
    # Empty when the points were read as columns (``read``).
    points: list[tuple[Any, ...]] = field(default_factory=list)
    history: History = field(default_factory=History)
    changes: dict[int, dict[str, Any]] = field(default_factory=dict)  # series -> change
    # The points read straight into columns (binary COPY), instead of ``points``.
    read: PointColumns | None = None

    @cached_property
    def columns(self) -> PointColumns:
        """The points as numpy columns, built once for all the comparisons of the data:
        the comparison works a column at a time, not a Python object a test and run."""
        return self.read if self.read is not None else _columns_of(self.points, None)


# The metrics of a run's packed values (``RunValues``: a row a metric of the suite,
# empty for one without a point, written with the points) with a point; for a run
# without a row (not packed), the metrics of its points, which the one-time filter
# NOT EXISTS reads only then.  The rows are one range of the (run, metric) index, where
# the points are every point of the run joined to its series: 10,000 of them for a
# 5,000-test run (5 ms at scale 1, against 0.3).
_RUN_METRICS_SQL = """
SELECT v.metric_id FROM perf_runvalues v WHERE v.run_id = %(run)s AND length(v.tests) > 0
UNION ALL
SELECT DISTINCT s.metric_id FROM perf_point p JOIN perf_series s ON s.id = p.series_id
WHERE p.run_id = %(run)s AND s.machine_id = %(machine)s
    AND NOT EXISTS (SELECT 1 FROM perf_runvalues v WHERE v.run_id = %(run)s)
"""


def run_metric_ids(run: Run) -> set[int]:
    """The metrics that have at least one point in ``run``.  One query.

    From the run's packed values (``RunValues``) when it has them, else from its
    points (``_RUN_METRICS_SQL``).  A point's series is of its run's machine: the
    filter on it lets the join read the machine's series (by the (machine, test,
    metric) index), not every series of the site."""
    with connection.cursor() as cursor:
        cursor.execute(_RUN_METRICS_SQL, {"run": run.id, "machine": run.machine_id})
        return {metric_id for (metric_id,) in cursor.fetchall()}


def report_metric_default(metrics: list[Metric], present: set[int]) -> Metric | None:
    """The metric a report opens on: execution_time if the run has it, else the first
    Real metric (by position) with data, else the first Real metric.  Pure."""
    real = [m for m in metrics if m.type == Metric.REAL]
    with_data = [m for m in real if m.id in present]
    preferred = next((m for m in with_data if m.name == "execution_time"), None)
    return preferred or (with_data or real or [None])[0]


def report_status_metrics(metrics: list[Metric]) -> dict[int, int]:
    """Real metric id -> id of the Status metric that says whether its test failed
    (``execution_time`` -> ``execution_status``), for the metrics that have one.  Pure."""
    by_name = {m.name: m for m in metrics if m.type == Metric.STATUS}
    pairs = {}
    for metric in metrics:
        if metric.type != Metric.REAL:
            continue
        name = status_metric_name(metric.name, by_name)
        if name is not None:
            pairs[metric.id] = by_name[name].id
    return pairs


# The points of some runs for some metrics, a column each (``PointColumns``), by binary
# COPY into numpy: a cursor would build a Python tuple a point (20,000 for a 5,000-test
# report) only for ``PointColumns`` to take them apart again, and the client's share
# of the read is most of it.  Every column has a fixed width and none is NULL: a NULL
# value is NaN with ``has_value`` False; a point's binary hash is the first 64 bits of
# its MD5 (equal hashes, equal keys; two different hashes of one test have one chance
# in 2**64 to look the same) with ``has_hash`` False for none.
_POINTS_SQL = """
SELECT p.run_id, p.series_id, s.test_id, s.metric_id, COALESCE(p.value, 'NaN'),
    p.value IS NOT NULL, p.failed, p.hash IS NOT NULL,
    CASE WHEN p.hash IS NULL THEN 0 ELSE ('x' || left(md5(p.hash), 16))::bit(64)::int8 END
FROM perf_point p JOIN perf_series s ON s.id = p.series_id
WHERE p.run_id = ANY(%(runs)s::bigint[]) AND s.machine_id = ANY(%(machines)s::bigint[])
    AND s.metric_id = ANY(%(metrics)s::bigint[])
"""
_POINTS_FIELDS = [
    ("run", "int8"),
    ("series", "int8"),
    ("test", "int8"),
    ("metric", "int8"),
    ("value", "float8"),
    ("has_value", "bool"),
    ("failed", "bool"),
    ("has_hash", "bool"),
    ("hash_key", "int8"),
]


def _report_points(
    run_ids: list[int], machine_ids: list[int], metric_ids: list[int]
) -> PointColumns:
    """The points of runs ``run_ids`` (of machines ``machine_ids``) for ``metric_ids``, as
    columns without the tests' names (``names`` empty).  One query: on PostgreSQL a
    binary COPY (``_POINTS_SQL``), elsewhere a cursor read."""
    if connection.vendor != "postgresql":
        return _columns_of(
            list(
                Point.objects.filter(
                    run_id__in=run_ids,
                    series__machine_id__in=machine_ids,
                    series__metric_id__in=metric_ids,
                ).values_list(
                    "run_id",
                    "series_id",
                    "series__test_id",
                    Value(None, output_field=CharField()),  # ReportData.points' layout
                    "series__metric_id",
                    "value",
                    "failed",
                    "hash",
                )
            ),
            {},
        )
    records = copy_records(
        _POINTS_SQL,
        {  # array literals: ids are ints, nothing to quote
            "runs": "{" + ",".join(map(str, run_ids)) + "}",
            "machines": "{" + ",".join(map(str, machine_ids)) + "}",
            "metrics": "{" + ",".join(map(str, metric_ids)) + "}",
        },
        _POINTS_FIELDS,
    )
    if len(records) == 0:
        return _no_points()
    return PointColumns(
        run=records["run"].astype(np.int64),
        series=records["series"].astype(np.int64),
        test=records["test"].astype(np.int64),
        metric=records["metric"].astype(np.int64),
        value=records["value"].astype(np.float64),
        has_value=records["has_value"].astype(np.bool_),
        failed=records["failed"].astype(np.bool_),
        has_hash=records["has_hash"].astype(np.bool_),
        hash_key=records["hash_key"].astype(np.int64),
        names={},
    )


def report_data(
    new: Run,
    olds: list[Run | None],
    metric_ids: list[int],
    *,
    status_metric_ids: list[int] | None = None,
    shown: ShownRows | None = None,
) -> ReportData:
    """The points, history and detected changes behind comparisons of ``new`` with each
    of ``olds`` (previous order, baseline...), read together.

    At most four queries whatever the number of tests, comparisons or the length of
    the history:

    1. the points of all the runs for ``metric_ids`` and ``status_metric_ids`` (the
       status metrics say which tests failed, also for a test that reports only its
       status), straight into columns (``_report_points``);
    1b. the names of their tests, unless ``shown.rows`` is False;
    2. the recent history of every series compared by value: its points before the
       new run's order, from the position of the machine's ``window_before``-th
       previous run on (the detector's window), an index range scan on (series,
       position) per series, so bounded whatever the history length
       (``series_history``);
    3. the live (not withdrawn) field changes at the new run's order, by the unique
       (series, end_order) index.

    The runs' raw samples are not read: the verdict (``verdict.judge``) is the
    detector's model on run levels, the medians of the samples that the points hold.
    Query 2 is skipped when no series needs it.

    ``shown``: what the caller shows of the comparisons' rows (``ShownRows``), when
    not every row: only the series whose row it shows with their noise estimate get
    their history read.  The rows of the other series then have no noise estimate
    (``known`` 0), and the same verdicts and groups.  With ``shown.rows`` False the
    tests' names are not read (``columns.names`` is empty).
    """
    old_ids = list(dict.fromkeys(o.id for o in olds if o is not None and o.id != new.id))
    run_ids = [new.id, *old_ids]
    # A point's series is of its run's machine: the series joined are those of the
    # runs' machines (their (machine, test, metric) index), not every series of the
    # metrics on the site, and the changes are looked up by machine, not by a list of
    # thousands of series (which Django prepares one value at a time).
    machine_ids = list(dict.fromkeys([new.machine_id, *(o.machine_id for o in olds if o)]))
    point_metric_ids = [*metric_ids, *(status_metric_ids or [])]
    data = ReportData(read=_report_points(run_ids, machine_ids, point_metric_ids))
    if len(data.columns.run) == 0:
        return data
    if shown is None or shown.rows:
        # The series' join to their tests, unsorted (a test with a status metric comes
        # twice, the same name).
        data.columns.names.update(
            Series.objects.filter(machine_id__in=machine_ids, metric_id__in=point_metric_ids)
            .order_by()
            .values_list("test_id", "test__name")
        )
    compared, seen = _compared_series(data.columns, new.id, old_ids, metric_ids, shown)
    if compared:
        data.history = series_history(new, compared, columns=data.columns)
    data.changes = {
        c["series_id"]: c
        for c in FieldChange.objects.filter(
            machine_id__in=machine_ids, end_order_id=new.order_id, withdrawn=False
        ).values("series_id", "confirmed", "is_regression", "indicator__regression_id")
        if c["series_id"] in seen
    }
    return data


@dataclass(frozen=True)
class ShownRows:
    """What a reader shows of a report's rows, when not every row (``report_data``).

    A move smaller than ``min_change`` percent (the report's threshold) is SMALL,
    "unchanged", whatever its history: its history only gives the noise estimate shown
    in its row.  A reader that shows only the groups' counts (the machine page) or not
    the "unchanged" group (the text report) needs none of them (``small_rows`` 0); the
    run report page shows the first ``small_rows`` rows of "unchanged" in its order
    (``report_refine`` with ``sort``, ``name_filter`` and ``hide_below``), so at most
    the first ``small_rows`` SMALL rows in that order: a fraction of the history (about
    a quarter and 200 series of a 5,000-test run with 1 % noise).
    """

    min_change: float
    small_rows: int = 0
    sort: str = "delta"
    name_filter: NameFilter | None = None
    hide_below: float = 0.0
    # False: no row is shown, only the groups' counts (``report_compare(rows=False)``):
    # the points are read without their tests' names (no join of the tests).
    rows: bool = True


def _compared_series(
    columns: PointColumns,
    new_id: int,
    old_ids: list[int],
    metric_ids: list[int],
    shown: ShownRows | None,
) -> tuple[list[int], set[int]]:
    """(The series of ``metric_ids`` compared by value, ascending, whose history is
    needed: a valid value in the new run and a valid non-zero one in one of the old runs
    -- with ``shown``, only those not SMALL against it and the SMALL ones ``shown``
    may show (``_small_shown``); every series of those metrics with a point)."""
    wanted = np.isin(columns.metric, metric_ids)
    valid = wanted & columns.valid()
    in_new = np.flatnonzero(valid & (columns.run == new_id))
    new_series, new_values = columns.series[in_new], columns.value[in_new]
    compared = []
    for old_id in old_ids:
        in_old = np.flatnonzero(valid & (columns.run == old_id) & (columns.value != 0))
        both, at_new, at_old = np.intersect1d(
            new_series, columns.series[in_old], assume_unique=True, return_indices=True
        )
        if shown is None:
            compared.append(both)
            continue
        # The move as report_compare measures it, SMALL as verdict.judge_columns says.
        news, olds = new_values[at_new], columns.value[in_old][at_old]
        deltas = (news - olds) / np.abs(olds) * 100.0
        small = np.abs(deltas) < shown.min_change
        compared.append(both[~small])
        if shown.small_rows > 0 and small.any():
            names = [columns.names[t] for t in columns.test[in_new][at_new][small].tolist()]
            compared.append(
                both[small][_small_shown(shown, names, olds[small], news[small], deltas[small])]
            )
    chosen = np.unique(np.concatenate(compared)) if compared else np.zeros(0, np.int64)
    return chosen.tolist(), set(columns.series[wanted].tolist())


def _small_shown(
    shown: ShownRows, names: list[str], olds: FloatArray, news: FloatArray, deltas: FloatArray
) -> npt.NDArray[np.intp]:
    """The indexes of the SMALL moves that may be among the first ``shown.small_rows``
    rows of the "unchanged" group as ``report_refine`` orders and filters it: the
    first ``small_rows`` of them in that order, and any tied with the last (a superset:
    the group holds other rows too, which can only push SMALL ones out)."""
    kept = np.ones(len(names), dtype=np.bool_)
    if shown.name_filter is not None:
        kept &= np.array([bool(shown.name_filter.search(n)) for n in names], dtype=np.bool_)
    if shown.hide_below > 0:
        kept &= np.abs(deltas) >= shown.hide_below
    candidates = np.flatnonzero(kept)
    if len(candidates) <= shown.small_rows:
        return candidates
    if shown.sort == "name":
        ordered = sorted(names[k] for k in candidates.tolist())
        last_name = ordered[shown.small_rows - 1]
        return np.array([k for k in candidates.tolist() if names[k] <= last_name], dtype=np.intp)
    # SORTS' numeric keys (smaller first; a tie is broken by the name, so every row tied
    # with the last one kept is kept); an unknown sort is "delta", as report_refine's.
    key = {"old": -olds, "new": -news}.get(shown.sort, -np.abs(deltas))[candidates]
    last = np.partition(key, shown.small_rows - 1)[shown.small_rows - 1]
    return candidates[(key <= last) | np.isnan(key)]


def series_history(
    new: Run,
    series_ids: list[int],
    *,
    points: int = DetectionParams().window_before,
    columns: PointColumns | None = None,
) -> History:
    """The values of the last ``points`` points before ``new``'s order of each series,
    as one matrix (``History``; failed points count as unknown, NaN).  One query (two
    when the window's runs are not all packed, below).

    The window starts at the order of the machine's ``points``-th previous run (a
    subquery evaluated once), so each series is one short range scan of the
    (series, position) index, which covers the columns read (index-only on
    PostgreSQL).  On PostgreSQL each series' window comes back as one row of fixed-width
    columns by binary COPY straight into numpy (``_series_history_copy``).

    ``columns``: points of ``new`` that hold every series of ``series_ids`` (with
    its test and metric; ``report_data``'s).  On PostgreSQL, when the series are
    many (``PACKED_HISTORY_SHARE`` of the run's points of their metrics or more), the
    windows are read from the window's runs' packed values (``RunValues``, a row a run
    and metric: ``_series_history_packed``) instead of an index range scan a series;
    if one of those runs is not packed, as above.
    """
    if connection.vendor != "postgresql":
        return _series_history_points(new, series_ids, points)
    if columns is not None and points > 0:
        keys = _series_keys(columns, new.id, series_ids)
        if keys is not None:
            packed = _series_history_packed(new, series_ids, *keys, points)
            if packed is not None:
                return packed
    return _series_history_copy(new, series_ids, points)


# The share of a run's tests (of the metrics read) from which their histories are read
# from the window's runs' packed values, every test of them, rather than a series at a
# time: at scale 1 an index range scan a series costs 10-18 us, a test's packed values
# in the 20 runs of a window about 1 us (bench/history_speed.py).
PACKED_HISTORY_SHARE = 0.125


def _series_keys(
    columns: PointColumns, new_id: int, series_ids: list[int]
) -> tuple[IntArray, IntArray] | None:
    """The test and metric of each of ``series_ids`` from ``new_id``'s points among
    ``columns``, or None when they are too few for the packed read to pay
    (``PACKED_HISTORY_SHARE``) or one is not there."""
    in_new = np.flatnonzero(columns.run == new_id)
    wanted = np.asarray(series_ids, dtype=np.int64)
    series, first = np.unique(columns.series[in_new], return_index=True)
    at = np.searchsorted(series, wanted)
    if len(series) == 0 or not (series[np.minimum(at, len(series) - 1)] == wanted).all():
        return None
    rows = in_new[first[at]]
    # The packed read takes every test of these metrics in each run of the window.
    read = np.count_nonzero(np.isin(columns.metric[in_new], np.unique(columns.metric[rows])))
    if len(wanted) < PACKED_HISTORY_SHARE * read:
        return None
    return columns.test[rows], columns.metric[rows]


def _series_history_points(new: Run, series_ids: list[int], points: int) -> History:
    """``series_history`` a point a row (any database)."""
    position = new.order.position
    lowest = (
        Run.objects.filter(machine_id=new.machine_id, order__position__lt=position)
        .order_by("-order__position", "-id")
        .values("order__position")[points - 1 : points]
    )
    rows = (
        Point.objects.filter(series_id__in=series_ids, position__lt=position)
        .filter(
            position__gte=Coalesce(
                Subquery(lowest, output_field=BigIntegerField()), Value(-(2**63))
            )
        )
        # The index's own order: no sort step.  Runs at one order come in any order,
        # which only matters to the trimming below, between repeats of one order.
        .order_by("series_id", "position")
        .values_list("series_id", "run_id", "value", "failed")
    )
    values: dict[int, list[float | None]] = {}
    last: dict[int, int] = {}
    for series_id, run_id, value, failed in rows:
        values.setdefault(series_id, []).append(None if failed else value)
        last[series_id] = run_id
    # Several runs at the window's first order can add a few: the newest are kept.
    return History.from_values({s: values.get(s, []) for s in series_ids}, last, points)


# The position where a window ends: the ``skip``-th earlier run of the machine before
# ``position`` (the smallest possible position when there are fewer runs), shared by
# the window's reads from the points and from the packed values.
_WINDOW_START_SQL = """
WITH lowest AS (
    SELECT COALESCE((
        SELECT o.position FROM perf_run r JOIN perf_order o ON o.id = r.order_id
        WHERE r.machine_id = %(machine)s AND o.position < %(position)s
        ORDER BY o.position DESC, r.id DESC OFFSET %(skip)s LIMIT 1
    ), -9223372036854775808) AS position
)
"""


# One row per series: its window's values, newest first, padded with NaN to ``points``
# columns, and the run of the newest point (0: no point), by one LIMIT range scan of
# the (series, position) index a series in the index's own order (no sort; ARRAY()
# keeps its subquery's order): a 2-D array of [value, run] pairs, so that the newest
# run needs no second descent of the index (run ids are far below 2**53, exact as
# float8).  OFFSET 0 keeps the array from being computed once a column.
# Every column has a fixed width and none is NULL, so the binary COPY of the rows is
# one numpy array (``copy_out``): no Python value per point, as a cursor would make
# (~100,000 for a 5,000-test report).
_HISTORY_SQL = (
    _WINDOW_START_SQL  # noqa: S608 - constant text, values bound
    + """
SELECT w.row::int4, COALESCE(w.v[1][2]::int8, 0), {columns} FROM (
    SELECT s.row,
        ARRAY(
            SELECT ARRAY[
                CASE WHEN p.failed THEN 'NaN' ELSE COALESCE(p.value, 'NaN') END, p.run_id
            ]
            FROM perf_point p
            WHERE p.series_id = s.id AND p.position < %(position)s
                AND p.position >= lowest.position
            ORDER BY p.position DESC LIMIT %(points)s
        ) AS v
    FROM unnest(%(series)s::bigint[]) WITH ORDINALITY AS s(id, row) CROSS JOIN lowest
    OFFSET 0
) w
"""
)


def _series_history_copy(new: Run, series_ids: list[int], points: int) -> History:
    """``series_history`` on PostgreSQL: the same window, one row per series."""
    columns = ", ".join(f"COALESCE(w.v[{k}][1], 'NaN')" for k in range(1, points + 1))
    fields = [("row", "int4"), ("run", "int8")] + [(f"v{k}", "float8") for k in range(points)]
    records = copy_records(
        _HISTORY_SQL.format(columns=columns),
        {
            "machine": new.machine_id,
            "position": new.order.position,
            "skip": points - 1,
            # One array literal, not thousands of values for psycopg to adapt one by
            # one (ids are ints: nothing to quote).
            "series": "{" + ",".join(map(str, series_ids)) + "}",
            "points": points,
        },
        fields,
    )
    rows = records["row"].astype(np.intp) - 1  # ORDINALITY counts from 1
    levels = np.full((len(series_ids), points), np.nan)
    if points:
        # Newest first, padded on the right: reversed, oldest first and right-aligned.
        levels[rows] = np.column_stack([records[f"v{k}"] for k in range(points)])[:, ::-1]
    return History(
        rows={series_id: k for k, series_id in enumerate(series_ids)},
        levels=levels,
        last={series_ids[k]: run for k, run in zip(rows.tolist(), records["run"].tolist(),
                                                   strict=True) if run},
    )


# The runs of a window (``_HISTORY_SQL``'s), newest first (ties: the higher id first),
# each with its packed values of the metrics read (a row a metric, NULL for a metric
# it has no row of) and whether it has any packed row at all: a run without one is
# not packed (stored before the packed values, or an import not yet refreshed), and
# its points must be read instead.  A handful of index lookups; the values come by
# binary COPY as stored (``copy_tuples``).
_WINDOW_VALUES_SQL = (
    _WINDOW_START_SQL  # noqa: S608 - constant text, values bound
    + """
SELECT r.id, v.metric_id, v.tests, v."values",
    EXISTS (SELECT 1 FROM perf_runvalues x WHERE x.run_id = r.id)
FROM perf_run r JOIN perf_order o ON o.id = r.order_id CROSS JOIN lowest
LEFT JOIN perf_runvalues v ON v.run_id = r.id AND v.metric_id = ANY(%(metrics)s::bigint[])
WHERE r.machine_id = %(machine)s AND o.position < %(position)s
    AND o.position >= lowest.position
ORDER BY o.position DESC, r.id DESC
"""
)


def _series_history_packed(
    new: Run, series_ids: list[int], tests: IntArray, metrics: IntArray, points: int
) -> History | None:
    """``series_history`` from the window's runs' packed values (``RunValues``):
    series ``series_ids[k]`` is test ``tests[k]`` of metric ``metrics[k]``.  A series'
    point in a run is its test's entry in the run's row (a failed point's is NaN, as
    in the point read); its window is its last ``points`` of them, newest first as the
    runs come (``_WINDOW_VALUES_SQL``), right-aligned.  None when a run of the window
    is not packed.  One query."""
    rows = copy_tuples(
        _WINDOW_VALUES_SQL,
        {
            "machine": new.machine_id,
            "position": new.order.position,
            "skip": points - 1,
            "metrics": "{" + ",".join(map(str, np.unique(metrics).tolist())) + "}",
        },
        5,
    )
    runs: list[int] = []  # newest first
    packed: dict[tuple[int, int], tuple[IntArray, FloatArray]] = {}
    for run_bytes, metric_bytes, test_bytes, value_bytes, any_row in rows:
        if run_bytes is None or any_row != b"\x01":
            return None
        run = int.from_bytes(run_bytes, "big", signed=True)
        if not runs or runs[-1] != run:
            runs.append(run)
        if metric_bytes is not None and test_bytes is not None and value_bytes is not None:
            metric = int.from_bytes(metric_bytes, "big", signed=True)
            packed[(run, metric)] = run_values_unpack(test_bytes, value_bytes)
    count = len(series_ids)
    # A row a run: each series' value in it, and whether it has a point there.
    present = np.zeros((len(runs), count), dtype=np.bool_)
    values = np.full((len(runs), count), np.nan)
    for metric in np.unique(metrics).tolist():
        at_metric = np.flatnonzero(metrics == metric)
        wanted = tests[at_metric]
        for j, run in enumerate(runs):
            ids, levels = packed.get((run, metric), (None, None))
            if ids is None or levels is None or len(ids) == 0:
                continue
            at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            found = ids[at] == wanted
            present[j, at_metric] = found
            values[j, at_metric] = np.where(found, levels[at], np.nan)
    history = History(rows={series_id: k for k, series_id in enumerate(series_ids)})
    run_ids = np.asarray(runs, dtype=np.int64)
    if present.all() and len(runs) <= points:  # the usual window: no gap, no extra run
        levels_matrix = np.full((count, points), np.nan)
        levels_matrix[:, points - len(runs):] = values[::-1].T
        history.levels = levels_matrix
        history.last = dict.fromkeys(series_ids, runs[0]) if runs else {}
        return history
    # Each series' points, newest first, numbered; the first ``points`` are kept,
    # the newest in the last column.
    rank = np.cumsum(present, axis=0) - 1
    run_at, series_at = np.nonzero(present & (rank < points))
    levels_matrix = np.full((count, points), np.nan)
    levels_matrix[series_at, points - 1 - rank[run_at, series_at]] = values[run_at, series_at]
    history.levels = levels_matrix
    has_point = present.any(axis=0)
    newest = run_ids[np.argmax(present, axis=0)]
    history.last = {
        series_ids[k]: run
        for k, run in zip(np.flatnonzero(has_point).tolist(), newest[has_point].tolist(),
                          strict=True)
    }
    return history


def _geomean(values: list[float]) -> float | None:
    if not values:
        return None
    return math.exp(sum(map(math.log, values)) / len(values))  # map: no generator frame


class _Sides(NamedTuple):
    """Each test's state in one run, a column each: present at all, failed, a valid
    value (``value`` holds it there), the index of its Real point (-1: none)."""

    present: BoolArray
    failed: BoolArray
    valid: BoolArray
    value: FloatArray
    real: npt.NDArray[np.intp]


def _point_of(
    columns: PointColumns, rows: npt.NDArray[np.intp], run_id: int | None,
    slot: npt.NDArray[np.intp], tests: int,
) -> npt.NDArray[np.intp]:
    """The index of each test's point among ``rows`` (the points of one metric, whose
    tests are at ``slot``) in run ``run_id``, -1 for none."""
    found = np.full(tests, -1, dtype=np.intp)
    if run_id is not None:
        in_run = columns.run[rows] == run_id
        found[slot[in_run]] = rows[in_run]
    return found


def _sides(columns: PointColumns, real: npt.NDArray[np.intp],
           status: npt.NDArray[np.intp]) -> _Sides:
    """A test failed in a run when its Real point failed or its status point did."""
    has_real, has_status = real >= 0, status >= 0
    real_failed = has_real & columns.failed[real]
    failed = real_failed | (has_status & columns.failed[status])
    valid = has_real & ~real_failed & columns.has_value[real]
    return _Sides(has_real | has_status, failed, valid, columns.value[real], real)


# A test's group as its pass/fail states decide it (``_group_by_status``), by code.
_COMPARED = 0  # compared by value
_BY_STATUS = (
    "",  # _COMPARED
    "added",
    "new_failures",
    "new_passes",
    "removed",
    "existing_failures",
    "unchanged",
)
_CODE = {group: code for code, group in enumerate(_BY_STATUS)}


def _group_by_status(old: _Sides, new: _Sides, has_old_run: bool) -> npt.NDArray[np.intp]:
    """The group (code in ``_BY_STATUS``) each test's pass/fail states decide, as LNT's
    run report does, or 0 when its values must be compared.  Failures come first: PASS
    -> FAIL is a new failure (an added test that fails too), FAIL -> PASS a new pass,
    FAIL -> FAIL an existing failure; a test whose value is on one side only is added or
    removed."""
    if not has_old_run:
        return np.full(len(new.present), _CODE["added"], dtype=np.intp)
    decided = [  # (condition, group): the first that holds decides
        (new.failed & ~old.failed, "new_failures"),
        (old.failed & new.present & ~new.failed, "new_passes"),
        (~new.present, "removed"),
        (~old.present, "added"),
        (old.failed, "existing_failures"),  # and new.failed
        (~new.valid & ~old.valid, "unchanged"),  # both passed with a status only
        (~new.valid, "removed"),
        (~old.valid, "added"),
    ]
    return np.select(
        [condition for condition, _ in decided],
        [_CODE[group] for _, group in decided],
        default=_COMPARED,
    )


def _first_seen(tests: IntArray) -> IntArray:
    """The distinct values of ``tests`` in the order of their first occurrence."""
    distinct, first = np.unique(tests, return_index=True)
    return distinct[np.argsort(first, kind="stable")]


def report_compare(
    data: ReportData,
    old_run_id: int | None,
    new_run_id: int,
    metrics: list[Metric],
    *,
    min_change: float = 1.0,
    status_metrics: dict[int, int] | None = None,
    rows: bool = True,
) -> list[MetricReport]:
    """Compare two runs' points, metric by metric (Real metrics only).  Pure.

    Pass/fail first, as LNT's run report does (``_group_by_status``): a test failed in
    a run when its point failed or its status metric (``status_metrics``: Real metric
    id -> Status metric id, ``report_status_metrics``) says FAIL, also when the test
    reports only a status.  A test with a valid value on both sides is judged by
    ``verdict.judge`` (the change detector's model and its stored changes): detected,
    suspect and changed moves are regressions or improvements (direction follows
    ``bigger_is_better``), a move with too little history to judge goes to its own
    group (largest moves first), and the rest is unchanged.  With no old run every
    test is "added".  The geometric mean is over tests with positive values in both
    runs.  The tests are worked on as columns (``ReportData.columns``); only their rows
    are Python objects.

    ``rows`` False: the reports hold their groups' sizes only (``MetricReport.tally``,
    the same ``counts``), for a reader of counts (the machine page): no row is built,
    no test name is read (``ReportData.columns.names`` may be empty), the moves under
    ``min_change`` are counted "unchanged" without being judged (SMALL is the verdict's
    first rule) and the others' verdicts carry no noise estimate
    (``verdict.judge_columns(evidence=False)``).
    """
    columns = data.columns
    status_of = status_metrics or {}
    reports = []
    for metric in metrics:
        if metric.type != Metric.REAL:
            continue
        report = MetricReport(metric=metric, groups={key: [] for key, _ in GROUPS})
        reports.append(report)
        real_rows = np.flatnonzero(columns.metric == metric.id)
        status_rows = np.flatnonzero(columns.metric == status_of.get(metric.id, -1))
        # The tests in the order they come: the Real points', then those with a status only.
        real_tests = _first_seen(columns.test[real_rows])
        status_tests = _first_seen(columns.test[status_rows])
        tests = np.concatenate(
            [real_tests, status_tests[~np.isin(status_tests, real_tests)]]
        ).astype(np.int64)
        if len(tests) == 0:
            continue
        by_id = np.argsort(tests, kind="stable")
        real_slot = by_id[np.searchsorted(tests, columns.test[real_rows], sorter=by_id)]
        status_slot = by_id[np.searchsorted(tests, columns.test[status_rows], sorter=by_id)]
        count = len(tests)
        old = _sides(
            columns,
            _point_of(columns, real_rows, old_run_id, real_slot, count),
            _point_of(columns, status_rows, old_run_id, status_slot, count),
        )
        new = _sides(
            columns,
            _point_of(columns, real_rows, new_run_id, real_slot, count),
            _point_of(columns, status_rows, new_run_id, status_slot, count),
        )
        shown = new.present | old.present  # else only in another comparison's old run
        group = _group_by_status(old, new, old_run_id is not None)
        compared = shown & (group == _COMPARED)
        zero = compared & (old.value == 0)  # no relative scale: unchanged
        group[zero] = _CODE["unchanged"]
        judged = np.flatnonzero(compared & ~zero)
        # The series of a test: of its Real point in the new run, else in the old run.
        point = np.where(new.real >= 0, new.real, old.real)
        series = np.where(point >= 0, columns.series[point], -1).tolist()
        olds = np.where(old.valid, old.value, np.nan)
        news = np.where(new.valid, new.value, np.nan)
        deltas = np.full(count, np.nan)
        deltas[judged] = (news[judged] - olds[judged]) / np.abs(olds[judged]) * 100.0
        # A move under the threshold is SMALL, "unchanged", whatever else is known
        # (``verdict.judge``'s first rule): counted without being judged when no row
        # is built.
        weighed, small = judged, 0  # the moves given to the verdict, the SMALL ones not
        if not rows:
            under = np.abs(deltas[judged]) < min_change
            weighed, small = judged[~under], int(under.sum())
        judged_list = weighed.tolist()
        changes = data.changes
        if rows:
            found_changes = [changes.get(s) for s in series]
            detected = [
                ("detected" if c["confirmed"] else "suspect") if c else ""
                for c in found_changes
            ]
            stored = [detected[k] for k in judged_list]
        else:  # only the judged tests' stored changes count
            stored = [
                ("detected" if c["confirmed"] else "suspect") if c else ""
                for c in [changes.get(series[k]) for k in judged_list]
            ]
        same_binary = np.zeros(len(weighed), dtype=np.bool_)
        if metric.ignore_same_hash:  # both points have a hash, the same
            at_old, at_new = old.real[weighed], new.real[weighed]
            same_binary = (
                columns.has_hash[at_old]
                & columns.has_hash[at_new]
                & (columns.hash_key[at_old] == columns.hash_key[at_new])
            )
        history_last = data.history.last
        found = verdict.judge_columns(
            verdict.MoveColumns(
                delta=deltas[weighed],
                new_level=news[weighed],
                old_level=olds[weighed],
                adjacent=np.array(
                    [history_last.get(series[k]) == old_run_id for k in judged_list],
                    dtype=np.bool_,
                ),
                stored=stored,
                same_binary=same_binary,
            ),
            data.history.windows([series[k] for k in judged_list]),
            min_change=min_change,
            evidence=rows,
        )
        moved = deltas[weighed]
        worse = moved < 0 if metric.bigger_is_better else moved > 0
        by_status = group.tolist()
        decided = np.flatnonzero(shown & (group != _COMPARED))
        positive = judged[(olds[judged] > 0) & (news[judged] > 0)]
        report.geomean_old = _geomean(olds[positive].tolist())
        report.geomean_new = _geomean(news[positive].tolist())
        if not rows:
            tally = dict.fromkeys(report.groups, 0)
            tally["unchanged"] = small
            for code, n in enumerate(np.bincount(group[decided], minlength=len(_BY_STATUS))):
                if code != _COMPARED:
                    tally[_BY_STATUS[code]] += int(n)
            # Counted by (kind, direction): a handful of pairs, not a call a test.
            pairs = Counter(zip(found.kind, worse.tolist(), strict=True))
            for (kind, is_worse), n in pairs.items():
                tally[_verdict_group(kind, is_worse)] += n
            report.groups, report.tally = {}, tally
            continue
        ids, old_list, new_list = tests.tolist(), olds.tolist(), news.tolist()
        delta_list = deltas.tolist()
        names = columns.names
        report_rows = [
            # Positional: the keywords of 13 fields cost more than the row.  The delta,
            # group and verdict fields are filled in below.
            ReportRow(
                ids[k],
                names[ids[k]],
                None if series[k] < 0 else series[k],
                old_list[k] if valid_old else None,
                new_list[k] if valid_new else None,
                None,
                "",
                "",
                None,
                None,
                0,
                detected[k],
                found_changes[k]["indicator__regression_id"] if found_changes[k] else None,
            )
            for k, valid_old, valid_new in zip(
                range(count), old.valid.tolist(), new.valid.tolist(), strict=True
            )
        ]
        for k in decided.tolist():
            row = report_rows[k]
            row.group = _BY_STATUS[by_status[k]]
            report.groups[row.group].append(row)
        for k, kind, noise, z, known, is_worse in zip(
            judged_list, found.kind, found.noise, found.z, found.known, worse.tolist(),
            strict=True,
        ):
            row = report_rows[k]
            row.delta = delta_list[k]
            row.verdict, row.noise, row.z, row.history_runs = kind, noise, z, known
            row.group = _verdict_group(kind, is_worse)
            report.groups[row.group].append(row)
        report.groups["too_little_history"].sort(key=lambda r: (SORTS["delta"](r), r.test))
    return reports


def _verdict_group(kind: str, worse: bool) -> str:
    """The group of a test judged by value, from its verdict (``verdict.judge``) and
    whether it moved in the worse direction."""
    if kind in verdict.FLAGGED:
        return "regressions" if worse else "improvements"
    return "too_little_history" if kind == verdict.FEW else "unchanged"


SORTS = {
    "delta": lambda r: -abs(r.delta or 0.0),
    "name": lambda r: r.test,
    "old": lambda r: -(r.old or 0.0),
    "new": lambda r: -(r.new or 0.0),
}


def report_refine(
    report: MetricReport,
    *,
    sort: str = "delta",
    name_filter: NameFilter | None = None,
    hide_below: float = 0.0,
) -> MetricReport:
    """Sort, filter by test name and hide changes smaller than ``hide_below`` percent.

    The "too little history" group keeps its largest moves first whatever ``sort``:
    that is what makes it worth reading.
    """
    chosen = SORTS.get(sort, SORTS["delta"])
    groups = {}
    for name, rows in report.groups.items():
        kept = [
            r
            for r in rows
            if (name_filter is None or name_filter.search(r.test))
            and (hide_below <= 0 or r.delta is None or abs(r.delta) >= hide_below)
        ]
        key = SORTS["delta"] if name == "too_little_history" else chosen
        groups[name] = sorted(kept, key=lambda r, key=key: (key(r), r.test))
    return MetricReport(
        metric=report.metric,
        groups=groups,
        geomean_old=report.geomean_old,
        geomean_new=report.geomean_new,
    )
