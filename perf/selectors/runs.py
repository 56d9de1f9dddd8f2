"""Read side of the home, machine, run-report and compare pages.

Every function issues a fixed number of queries whatever the number of runs,
tests or machines (tests assert the counts) and returns plain rows or small
dataclasses.  The comparison itself (``report_compare``) is plain Python over
the two runs' points.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max

from ..models import Baseline, Machine, Metric, Order, Point, Regression, Run, TestSuite

# A regex longer than this is refused: with Python's backtracking engine, the
# catastrophic patterns need some length, and no test-name filter needs more.
FILTER_MAX_LENGTH = 100
# Nested quantifiers such as (a+)+ or (a*)* are the classic catastrophic shape.
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*}][^)]*\)\s*[+*{]")

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


class FilterError(ValueError):
    """A test-name filter that was refused; the message is shown to the user."""


def name_filter_compile(pattern: str) -> re.Pattern[str] | None:
    """Compile a user's test-name regex, or raise FilterError with a clear message.

    An empty pattern means no filter (None).  Patterns longer than
    FILTER_MAX_LENGTH or with nested quantifiers are refused, because they can
    take exponential time on a long name.
    """
    if not pattern:
        return None
    if len(pattern) > FILTER_MAX_LENGTH:
        raise FilterError(f"The filter is too long (at most {FILTER_MAX_LENGTH} characters).")
    if _NESTED_QUANTIFIER.search(pattern):
        raise FilterError(
            "The filter has a nested repetition such as (a+)+, which can take very long; "
            "simplify it."
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise FilterError(f"The filter is not a valid regular expression: {exc}.") from None


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
    noise: float | None  # relative stdev of the samples in percent, max of both runs
    significant: bool
    group: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "old": self.old,
            "new": self.new,
            "delta_percent": self.delta,
            "noise_percent": self.noise,
            "significant": self.significant,
            "group": self.group,
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

    def rows(self) -> list[ReportRow]:
        return [row for key, _ in GROUPS for row in self.groups.get(key, [])]


def report_points(run_ids: list[int]) -> list[tuple[Any, ...]]:
    """The points of a few runs for the report: one query, narrow tuples.

    (run_id, series_id, test_id, test name, metric_id, value, stdev, failed).
    """
    return list(
        Point.objects.filter(run_id__in=run_ids).values_list(
            "run_id",
            "series_id",
            "series__test_id",
            "series__test__name",
            "series__metric_id",
            "value",
            "stdev",
            "failed",
        )
    )


def _relative_noise(value: float | None, stdev: float | None) -> float | None:
    if value is None or stdev is None or value == 0:
        return None
    return abs(stdev / value) * 100.0


def _geomean(values: list[float]) -> float | None:
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def report_compare(
    points: list[tuple[Any, ...]],
    old_run_id: int | None,
    new_run_id: int,
    metrics: list[Metric],
    *,
    min_change: float = 1.0,
    noise_factor: float = 3.0,
) -> list[MetricReport]:
    """Compare two runs' points, metric by metric (Real metrics only).  Pure.

    A change is significant when |delta| >= ``min_change`` percent and larger than
    ``noise_factor`` times the relative stdev of the samples (the larger of the two
    runs'); with one sample per run there is no noise estimate and the threshold
    alone decides.  Direction follows ``bigger_is_better``.  Failed points (their
    status said FAIL) are never compared by value: they make new failures, new
    passes, or stay unchanged when both failed.  With no old run every test is
    "added".  The geometric mean is over tests with positive values in both runs.
    """
    by_metric: dict[int, dict[int, dict[int, tuple[Any, ...]]]] = {}
    names: dict[int, str] = {}
    for row in points:
        run_id, _series, test_id, test_name, metric_id = row[:5]
        names[test_id] = test_name
        by_metric.setdefault(metric_id, {}).setdefault(test_id, {})[run_id] = row
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
            significant = False
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
                significant = abs(delta) >= min_change and (
                    noise is None or abs(delta) > noise_factor * noise
                )
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
    name_filter: re.Pattern[str] | None = None,
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
