"""Read side of the home, machine, run-report and compare pages.

Every function issues a fixed number of queries whatever the number of runs,
tests or machines (tests assert the counts) and returns plain rows or small
dataclasses.  The comparison itself (``report_compare``) is plain Python over
what ``report_data`` read; the statistics are in ``significance`` (no Django).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import re2  # google-re2: linear-time matching for user-given test-name filters
from django.db.models import BigIntegerField, Count, Max, Subquery, Value
from django.db.models.functions import Coalesce

from ..analysis import significance
from ..models import (
    Baseline,
    FieldChange,
    Machine,
    Metric,
    Order,
    Point,
    Regression,
    Run,
    Sample,
    TestSuite,
)

# A filter longer than this is refused: no test-name filter needs more, and RE2's
# compile cost and memory grow with the pattern.
FILTER_MAX_LENGTH = 100

# The groups of a report, in display order.
GROUPS = (
    ("regressions", "Regressions"),
    ("improvements", "Improvements"),
    ("new_failures", "New failures"),
    ("new_passes", "New passes"),
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


def machine_runs_page(machine: Machine, offset: int, limit: int) -> list[dict[str, Any]]:
    """A machine's runs, newest order first, with each run's order position.  One query."""
    return list(
        Run.objects.filter(machine=machine)
        .order_by("-order__position", "-id")
        .values("id", "start_time", "submitted_at", "detection_state", "order__fields")[
            offset : offset + limit
        ]
    )


# --- finding the runs to compare ------------------------------------------------------


def run_previous(run: Run) -> Run | None:
    """The machine's run at the closest earlier order (by position).  One query.

    Runs appended at the same order are not "previous": the report compares
    revisions, not repeats.
    """
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


def baseline_run(suite: TestSuite, key: str) -> Run | None:
    """A baseline given as a run id or a Baseline name.  One query."""
    runs = Run.objects.filter(suite=suite).select_related("machine", "order")
    if key.isdigit():
        return runs.filter(id=int(key)).first()
    baseline = Baseline.objects.filter(suite=suite, name=key).values("run_id").first()
    return runs.filter(id=baseline["run_id"]).first() if baseline else None


def suite_baselines(suite: TestSuite) -> list[dict[str, Any]]:
    return list(Baseline.objects.filter(suite=suite).order_by("name").values("name", "run_id"))


# --- the comparison -------------------------------------------------------------------


@dataclass
class ReportRow:
    test_id: int
    test: str
    series_id: int | None
    old: float | None
    new: float | None
    delta: float | None  # relative change in percent, signed, (new - old) / |old|
    # Percent of the level, the noise the change was held to: with several samples
    # the larger of the samples' relative stdev (max of both runs) and the series'
    # run-to-run noise (robust, from its history), with one sample the latter.
    noise: float | None
    significant: bool
    group: str
    reason: str = ""  # significance.SIGNIFICANT / SMALL / NOISE / UNKNOWN, "" if not compared
    p_value: float | None = None  # when the samples were tested
    method: str = ""  # "mann-whitney", "welch", "history", "detected" or ""
    history_noise: float | None = None  # the run-to-run noise alone, percent, if known
    # A live change the detector found at the new run's order: "detected" or
    # "suspect" (unconfirmed), with its regression if grouped into one.
    detected: str = ""
    regression_id: int | None = None

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
        if self.p_value is not None:
            tested = f"p = {self.p_value:.3g} ({self.method})"
            if self.history_noise is None:
                return f"{tested}; too few runs to know their noise"
            return f"{tested}; runs vary by {self.history_noise:.2f} %"
        if self.method == "detected":
            return "found by change detection"
        if self.method == "history":
            return "noise from the series' last runs"
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
            "reason": self.reason,
            "p_value": self.p_value,
            "method": self.method,
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


@dataclass
class ReportData:
    """What a comparison of two runs reads: see ``report_data``."""

    # (run_id, series_id, test_id, test name, metric_id, value, stdev, failed, count)
    points: list[tuple[Any, ...]]
    samples: dict[tuple[int, int], list[Any]] = field(default_factory=dict)  # (run, series)
    history: dict[int, list[float | None]] = field(default_factory=dict)  # series -> values
    changes: dict[int, dict[str, Any]] = field(default_factory=dict)  # series -> change
    # Old runs whose points are not in the history (a baseline older than the
    # window, another machine's run): the history's median says nothing of their
    # level, so the new value is not held to it (see significance.change_verdict).
    distant_runs: set[int] = field(default_factory=set)


def run_metric_ids(run: Run) -> set[int]:
    """The metrics that have at least one point in ``run``.  One query."""
    return set(
        Point.objects.filter(run_id=run.id)
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


def report_data(
    new: Run, olds: list[Run | None], metric_ids: list[int], *, min_change: float = 1.0
) -> ReportData:
    """The points, samples, history and detected changes behind comparisons of ``new``
    with each of ``olds`` (previous order, baseline...), read together.

    At most four queries whatever the number of tests, comparisons or the length
    of the history:

    1. the points of all the runs for ``metric_ids``;
    2. the raw samples of the runs, for the series with several samples on both
       sides of some comparison;
    3. the recent history of every compared series: its points before the new
       run's order, from the position of the machine's ``HISTORY_POINTS``-th
       previous run on, an index range scan on (series, position) per series, so
       bounded whatever the history length (``series_history``);
    4. the live (not withdrawn) field changes at the new run's order, by the unique
       (series, end_order) index.

    Samples are read only for changes of at least ``min_change`` percent (smaller
    ones never count, and their noise comes from the points); the history of every
    compared series is read, as it gives the run-to-run noise that the change must
    exceed and that the Noise % shows.  Queries 2 and 3 are skipped when no series
    needs them.
    """
    old_ids = list(dict.fromkeys(o.id for o in olds if o is not None and o.id != new.id))
    run_ids = [new.id, *old_ids]
    points = list(
        Point.objects.filter(run_id__in=run_ids, series__metric_id__in=metric_ids).values_list(
            "run_id",
            "series_id",
            "series__test_id",
            "series__test__name",
            "series__metric_id",
            "value",
            "stdev",
            "failed",
            "count",
        )
    )
    data = ReportData(points=points)
    if not points:
        return data
    counts: dict[int, dict[int, int]] = {}
    values: dict[int, dict[int, float | None]] = {}
    for row in points:
        counts.setdefault(row[1], {})[row[0]] = row[8]
        values.setdefault(row[1], {})[row[0]] = None if row[7] else row[5]
    several: set[int] = set()
    compared: set[int] = set()
    for series_id, by_run in counts.items():
        if new.id not in by_run:
            continue  # removed: nothing to judge
        new_value = values[series_id][new.id]
        for old_id in old_ids:
            old_value = values[series_id].get(old_id)
            if old_id not in by_run or new_value is None or not old_value:
                continue
            compared.add(series_id)  # history read even when small: its noise is shown
            several_samples = min(by_run[new.id], by_run[old_id]) >= 2
            if several_samples and abs(new_value - old_value) / abs(old_value) * 100.0 >= (
                min_change
            ):
                several.add(series_id)  # smaller changes never count: no test needed
    if several:
        data.samples = {
            (run_id, series_id): values
            for run_id, series_id, values in Sample.objects.filter(
                run_id__in=run_ids, series_id__in=sorted(several)
            ).values_list("run_id", "series_id", "values")
        }
    if compared:
        data.history, recent = series_history(new, sorted(compared))
        data.distant_runs = set(old_ids) - recent
    data.changes = {
        c["series_id"]: c
        for c in FieldChange.objects.filter(
            series_id__in=list(counts), end_order_id=new.order_id, withdrawn=False
        ).values("series_id", "confirmed", "is_regression", "indicator__regression_id")
    }
    return data


def series_history(
    new: Run, series_ids: list[int], *, points: int = significance.HISTORY_POINTS
) -> tuple[dict[int, list[float | None]], set[int]]:
    """(series id -> values of its last ``points`` points before ``new``'s order, the
    ids of the runs those points come from).  One query.

    The window starts at the order of the machine's ``points``-th previous run (a
    subquery evaluated once), so each series is one short range scan of the
    (series, position) index; failed points count as unknown (None).
    """
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
    history: dict[int, list[float | None]] = {}
    runs: set[int] = set()
    for series_id, run_id, value, failed in rows:
        history.setdefault(series_id, []).append(None if failed else value)
        runs.add(run_id)
    # Several runs at the window's first order can add a few: keep the newest.
    return {s: values[-points:] for s, values in history.items()}, runs


def _relative_noise(value: float | None, stdev: float | None) -> float | None:
    if value is None or stdev is None or value == 0:
        return None
    return abs(stdev / value) * 100.0


def _geomean(values: list[float]) -> float | None:
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def report_compare(
    data: ReportData,
    old_run_id: int | None,
    new_run_id: int,
    metrics: list[Metric],
    *,
    min_change: float = 1.0,
    alpha: float = 0.05,
    noise_factor: float = 3.0,
) -> list[MetricReport]:
    """Compare two runs' points, metric by metric (Real metrics only).  Pure.

    A test is a regression or an improvement only when its change is at least
    ``min_change`` percent and significant (``significance.change_verdict``):
    p < ``alpha`` on the two runs' samples when both have several, and, when the
    series has enough history, at least ``noise_factor`` times its run-to-run
    noise with the new value that far from the history's median (not required
    for an old run outside the history, ``data.distant_runs``); one sample with
    too little history is not counted.  A live change the detector found at the new run's
    order (``data.changes``) counts as significant too when it reaches
    ``min_change``: the detector has seen the whole window, and the report must
    not call "unchanged" what the regression list shows.  Direction follows
    ``bigger_is_better``.  Failed points are never compared by value: they make
    new failures, new passes, or stay unchanged when both failed.  With no old run
    every test is "added".  The geometric mean is over tests with positive values
    in both runs.
    """
    by_metric: dict[int, dict[int, dict[int, tuple[Any, ...]]]] = {}
    names: dict[int, str] = {}
    for row in data.points:
        run_id, _series, test_id, test_name, metric_id = row[:5]
        names[test_id] = test_name
        by_metric.setdefault(metric_id, {}).setdefault(test_id, {})[run_id] = row
    tested_series = sorted(
        {s for run, s in data.samples if run == old_run_id and (new_run_id, s) in data.samples}
    )
    tested = dict(
        zip(
            tested_series,
            significance.samples_p_values(
                [
                    (data.samples.get((old_run_id, s)), data.samples.get((new_run_id, s)))  # type: ignore[arg-type]
                    for s in tested_series
                ],
                alpha=alpha,
            ),
            strict=True,
        )
    )
    reports = []
    for metric in metrics:
        if metric.type != Metric.REAL:
            continue
        report = MetricReport(metric=metric, groups={key: [] for key, _ in GROUPS})
        olds: list[float] = []
        news: list[float] = []
        for test_id, runs in by_metric.get(metric.id, {}).items():
            old, new = runs.get(old_run_id) if old_run_id else None, runs.get(new_run_id)
            series_id = (new or old)[1]  # type: ignore[index]
            old_value = old[5] if old else None
            new_value = new[5] if new else None
            noise_values = [
                n
                for n in (
                    _relative_noise(old_value, old[6]) if old else None,
                    _relative_noise(new_value, new[6]) if new else None,
                )
                if n is not None
            ]
            noise = max(noise_values) if noise_values else None
            delta = None
            if old_value is not None and new_value is not None and old_value != 0:
                delta = (new_value - old_value) / abs(old_value) * 100.0
            change = data.changes.get(series_id) if new else None
            significant, reason, p_value, method = False, "", None, ""
            history_noise = None
            if new is None:
                group = "removed"
            elif old is None:
                group = "added"
            elif new[7] and not old[7]:
                group = "new_failures"
            elif old[7] and not new[7]:
                group = "new_passes"
            elif old[7] or delta is None:
                group = "unchanged"
            else:
                verdict = significance.change_verdict(
                    delta,
                    tested=tested.get(series_id, (None, "")),
                    sample_noise=noise,
                    history=data.history.get(series_id),
                    new_value=None if old_run_id in data.distant_runs else new_value,
                    min_change=min_change,
                    alpha=alpha,
                    noise_factor=noise_factor,
                )
                noise, reason, p_value, method, history_noise = (
                    verdict.noise,
                    verdict.reason,
                    verdict.p_value,
                    verdict.method,
                    verdict.history_noise,
                )
                significant = verdict.significant
                if change is not None and not significant and verdict.reason != significance.SMALL:
                    significant, reason, method = True, significance.SIGNIFICANT, "detected"
                worse = delta < 0 if metric.bigger_is_better else delta > 0
                if not significant:
                    group = "unchanged"
                else:
                    group = "regressions" if worse else "improvements"
                if old_value > 0 and new_value > 0:
                    olds.append(old_value)
                    news.append(new_value)
            report.groups[group].append(
                ReportRow(
                    test_id=test_id,
                    test=names[test_id],
                    series_id=series_id,
                    old=old_value,
                    new=new_value,
                    delta=delta,
                    noise=noise,
                    significant=significant,
                    group=group,
                    reason=reason,
                    p_value=p_value,
                    method=method,
                    history_noise=history_noise,
                    detected=(("detected" if change["confirmed"] else "suspect") if change else ""),
                    regression_id=change["indicator__regression_id"] if change else None,
                )
            )
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
    """Sort, filter by test name and hide changes smaller than ``hide_below`` percent."""
    key = SORTS.get(sort, SORTS["delta"])
    groups = {}
    for name, rows in report.groups.items():
        kept = [
            r
            for r in rows
            if (name_filter is None or name_filter.search(r.test))
            and (hide_below <= 0 or r.delta is None or abs(r.delta) >= hide_below)
        ]
        groups[name] = sorted(kept, key=lambda r: (key(r), r.test))
    return MetricReport(
        metric=report.metric,
        groups=groups,
        geomean_old=report.geomean_old,
        geomean_new=report.geomean_new,
    )
