"""Read side of the home, machine, run-report and compare pages.

Every function issues a fixed number of queries whatever the number of runs,
tests or machines (tests assert the counts) and returns plain rows or small
dataclasses.  The comparison itself (``report_compare``) is plain Python over
what ``report_data`` read; the verdict on each move is ``analysis.verdict``'s (no
Django), the change detector's own model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
import re2  # google-re2: linear-time matching for user-given test-name filters
from django.db import connection
from django.db.models import BigIntegerField, Count, Max, Subquery, Value
from django.db.models.functions import Coalesce

from ..analysis import verdict
from ..analysis.changepoints import DetectionParams
from ..analysis.summary import status_metric_name
from ..copy_out import copy_records
from ..models import (
    FieldChange,
    Machine,
    Metric,
    Order,
    Point,
    Regression,
    Run,
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

    @property
    def geomean_delta(self) -> float | None:
        if not self.geomean_old or self.geomean_new is None:
            return None
        return (self.geomean_new - self.geomean_old) / self.geomean_old * 100.0

    @property
    def counts(self) -> dict[str, int]:
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


@dataclass
class ReportData:
    """What a comparison of two runs reads: see ``report_data``."""

    # (run_id, series_id, test_id, test name, metric_id, value, failed, binary hash):
    # the point's columns are those the (run, series) index covers (an index-only scan).
    points: list[tuple[Any, ...]]
    history: History = field(default_factory=History)
    changes: dict[int, dict[str, Any]] = field(default_factory=dict)  # series -> change

    @cached_property
    def by_test(self) -> tuple[dict[int, dict[int, dict[int, tuple[Any, ...]]]], dict[int, str]]:
        """(metric id -> test id -> run id -> point row, test id -> name), built once for
        all the comparisons of the data."""
        by_metric: dict[int, dict[int, dict[int, tuple[Any, ...]]]] = {}
        names: dict[int, str] = {}
        for row in self.points:
            run_id, _series, test_id, test_name, metric_id = row[:5]
            names[test_id] = test_name
            by_metric.setdefault(metric_id, {}).setdefault(test_id, {})[run_id] = row
        return by_metric, names


def run_metric_ids(run: Run) -> set[int]:
    """The metrics that have at least one point in ``run``.  One query.

    A point's series is of its run's machine: the filter on it lets the join read the
    machine's series (by the (machine, test, metric) index), not every series of the
    site."""
    return set(
        Point.objects.filter(run_id=run.id, series__machine_id=run.machine_id)
        .values_list("series__metric_id", flat=True)
        .distinct()
        .order_by()
    )


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


def report_data(
    new: Run,
    olds: list[Run | None],
    metric_ids: list[int],
    *,
    status_metric_ids: list[int] | None = None,
    history_min_change: float | None = None,
) -> ReportData:
    """The points, history and detected changes behind comparisons of ``new`` with each
    of ``olds`` (previous order, baseline...), read together.

    At most three queries whatever the number of tests, comparisons or the length of
    the history:

    1. the points of all the runs for ``metric_ids`` and ``status_metric_ids`` (the
       status metrics say which tests failed, also for a test that reports only its
       status);
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

    ``history_min_change`` (percent): read the history only of the series that moved
    by at least that much against one of the old runs.  A smaller move is "small"
    whatever its history, so a caller that shows only the groups' counts (the
    machine page) gets the same counts from a fraction of the history (about a
    quarter with 1 % noise); the rows of the other series then have no noise
    estimate (``known`` 0).
    """
    old_ids = list(dict.fromkeys(o.id for o in olds if o is not None and o.id != new.id))
    run_ids = [new.id, *old_ids]
    # A point's series is of its run's machine: the series joined are those of the
    # runs' machines (their (machine, test, metric) index), not every series of the
    # metrics on the site, and the changes are looked up by machine, not by a list of
    # thousands of series (which Django prepares one value at a time).
    machine_ids = list(dict.fromkeys([new.machine_id, *(o.machine_id for o in olds if o)]))
    points = list(
        Point.objects.filter(
            run_id__in=run_ids,
            series__machine_id__in=machine_ids,
            series__metric_id__in=[*metric_ids, *(status_metric_ids or [])],
        ).values_list(
            "run_id",
            "series_id",
            "series__test_id",
            "series__test__name",
            "series__metric_id",
            "value",
            "failed",
            "hash",
        )
    )
    data = ReportData(points=points)
    if not points:
        return data
    wanted = set(metric_ids)
    values: dict[int, dict[int, float | None]] = {}
    for row in points:
        if row[4] in wanted:
            values.setdefault(row[1], {})[row[0]] = None if row[6] else row[5]
    compared = {
        series_id
        for series_id, by_run in values.items()
        if by_run.get(new.id) is not None and any(by_run.get(o) for o in old_ids)
    }
    if history_min_change is not None:
        compared = {
            series_id
            for series_id in compared
            if any(
                _moved(values[series_id][new.id], values[series_id].get(o), history_min_change)
                for o in old_ids
            )
        }
    if compared:
        data.history = series_history(new, sorted(compared))
    data.changes = {
        c["series_id"]: c
        for c in FieldChange.objects.filter(
            machine_id__in=machine_ids, end_order_id=new.order_id, withdrawn=False
        ).values("series_id", "confirmed", "is_regression", "indicator__regression_id")
        if c["series_id"] in values
    }
    return data


def _moved(new: float | None, old: float | None, min_change: float) -> bool:
    """Whether the move from ``old`` to ``new`` is at least ``min_change`` percent, as
    ``report_compare`` measures it (a zero old value has no relative scale)."""
    if new is None or not old:
        return False
    return abs(new - old) / abs(old) * 100.0 >= min_change


def series_history(
    new: Run, series_ids: list[int], *, points: int = DetectionParams().window_before
) -> History:
    """The values of the last ``points`` points before ``new``'s order of each series,
    as one matrix (``History``; failed points count as unknown, NaN).  One query.

    The window starts at the order of the machine's ``points``-th previous run (a
    subquery evaluated once), so each series is one short range scan of the
    (series, position) index, which covers the columns read (index-only on
    PostgreSQL).  On PostgreSQL each series' window comes back as one row of fixed-width
    columns by binary COPY straight into numpy (``_series_history_copy``).
    """
    if connection.vendor == "postgresql":
        return _series_history_copy(new, series_ids, points)
    return _series_history_points(new, series_ids, points)


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


# One row per series: its window's values, newest first, padded with NaN to ``points``
# columns, and the run of the newest point (0: no point), by one LIMIT range scan of
# the (series, position) index a series in the index's own order (no sort; ARRAY()
# keeps its subquery's order): a 2-D array of [value, run] pairs, so that the newest
# run needs no second descent of the index (run ids are far below 2**53, exact as
# float8).  OFFSET 0 keeps the array from being computed once a column.
# Every column has a fixed width and none is NULL, so the binary COPY of the rows is
# one numpy array (``copy_out``): no Python value per point, as a cursor would make
# (~100,000 for a 5,000-test report).
_HISTORY_SQL = """
WITH lowest AS (
    SELECT COALESCE((
        SELECT o.position FROM perf_run r JOIN perf_order o ON o.id = r.order_id
        WHERE r.machine_id = %(machine)s AND o.position < %(position)s
        ORDER BY o.position DESC, r.id DESC OFFSET %(skip)s LIMIT 1
    ), -9223372036854775808) AS position
)
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


def _geomean(values: list[float]) -> float | None:
    if not values:
        return None
    return math.exp(sum(map(math.log, values)) / len(values))  # map: no generator frame


class _Side(NamedTuple):
    """One test's state in one run: present at all, failed, its value if valid.  A
    tuple: a report builds two a test."""

    present: bool = False
    failed: bool = False
    value: float | None = None


_ABSENT = _Side()
_NO_ROWS: dict[int, tuple[Any, ...]] = {}  # a test's rows in no run (read, never written)


def _sides(
    rows: dict[int, tuple[Any, ...]], status_rows: dict[int, tuple[Any, ...]], run_id: int | None
) -> _Side:
    if run_id is None:
        return _ABSENT
    real, status = rows.get(run_id), status_rows.get(run_id)
    if real is None and status is None:
        return _ABSENT
    failed = bool((real is not None and real[6]) or (status is not None and status[6]))
    value = real[5] if real is not None and not real[6] else None
    return _Side(True, failed, value)


def _binary(rows: dict[int, tuple[Any, ...]], run_id: int | None) -> str | None:
    """The binary hash a test's point in ``run_id`` reported, if any."""
    row = rows.get(run_id) if run_id is not None else None
    return row[7] if row is not None and len(row) > 7 else None


def _group_by_status(old: _Side, new: _Side, has_old_run: bool) -> str | None:
    """The group a test's pass/fail states decide, as LNT's run report does, or None
    when its values must be compared.  Failures come first: PASS -> FAIL is a new
    failure (an added test that fails too), FAIL -> PASS a new pass, FAIL -> FAIL an
    existing failure; a test whose value is on one side only is added or removed."""
    if not has_old_run:
        return "added"
    if new.failed and not old.failed:
        return "new_failures"
    if old.failed and new.present and not new.failed:
        return "new_passes"
    if not new.present:
        return "removed"
    if not old.present:
        return "added"
    if old.failed:  # and new.failed
        return "existing_failures"
    if new.value is None and old.value is None:
        return "unchanged"  # both passed with a status only
    if new.value is None:
        return "removed"
    if old.value is None:
        return "added"
    return None


def report_compare(
    data: ReportData,
    old_run_id: int | None,
    new_run_id: int,
    metrics: list[Metric],
    *,
    min_change: float = 1.0,
    status_metrics: dict[int, int] | None = None,
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
    runs.
    """
    by_metric, names = data.by_test
    history_last = data.history.last
    has_old_run = old_run_id is not None
    status_of = status_metrics or {}
    reports = []
    for metric in metrics:
        if metric.type != Metric.REAL:
            continue
        report = MetricReport(metric=metric, groups={key: [] for key, _ in GROUPS})
        real_rows = by_metric.get(metric.id, {})
        status_rows = by_metric.get(status_of.get(metric.id, -1), {})
        moves: list[verdict.Move] = []
        judged: list[ReportRow] = []
        olds: list[float] = []
        news: list[float] = []
        for test_id in dict.fromkeys([*real_rows, *status_rows]):
            runs, statuses = real_rows.get(test_id, _NO_ROWS), status_rows.get(test_id, _NO_ROWS)
            old = _sides(runs, statuses, old_run_id)
            new = _sides(runs, statuses, new_run_id)
            if not new.present and not old.present:
                continue  # only in another comparison's old run
            any_row = runs.get(new_run_id) or runs.get(old_run_id or -1)
            series_id = any_row[1] if any_row else None
            change = data.changes.get(series_id) if series_id is not None else None
            row = ReportRow(
                test_id=test_id,
                test=names[test_id],
                series_id=series_id,
                old=old.value,
                new=new.value,
                delta=None,
                group=_group_by_status(old, new, has_old_run) or "",
                detected=(("detected" if change["confirmed"] else "suspect") if change else ""),
                regression_id=change["indicator__regression_id"] if change else None,
            )
            if row.group:
                report.groups[row.group].append(row)
                continue
            assert old.value is not None and new.value is not None  # noqa: S101 -- by _group_by_status
            if old.value == 0:
                row.group = "unchanged"  # no relative scale
                report.groups[row.group].append(row)
                continue
            row.delta = (new.value - old.value) / abs(old.value) * 100.0
            same_binary = False
            if metric.ignore_same_hash:
                old_hash = _binary(runs, old_run_id)
                same_binary = old_hash is not None and old_hash == _binary(runs, new_run_id)
            moves.append(
                verdict.Move(
                    delta=row.delta,
                    new_level=new.value,
                    old_level=old.value,
                    history=(),  # the matrix of data.history below
                    adjacent=history_last.get(series_id) == old_run_id,  # type: ignore[arg-type]
                    stored=row.detected,
                    same_binary=same_binary,
                )
            )
            judged.append(row)
            if old.value > 0 and new.value > 0:
                olds.append(old.value)
                news.append(new.value)
        found_all = verdict.judge(
            moves,
            min_change=min_change,
            history=data.history.windows([row.series_id for row in judged]),
        )
        for row, found in zip(judged, found_all, strict=True):
            row.verdict, row.noise, row.z, row.history_runs = (
                found.kind,
                found.noise,
                found.z,
                found.known,
            )
            worse = row.delta < 0 if metric.bigger_is_better else row.delta > 0  # type: ignore[operator]
            if found.flagged:
                row.group = "regressions" if worse else "improvements"
            elif found.kind == verdict.FEW:
                row.group = "too_little_history"
            else:
                row.group = "unchanged"
            report.groups[row.group].append(row)
        report.groups["too_little_history"].sort(key=lambda r: (SORTS["delta"](r), r.test))
        report.geomean_old = _geomean(olds)
        report.geomean_new = _geomean(news)
        reports.append(report)
    return reports


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
