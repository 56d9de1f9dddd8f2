"""Read side of the overview pages: dashboard, matrix, global status, latest runs
report and the daily report by run date.

Every function issues a fixed number of queries whatever the number of machines,
tests, runs or orders (tests assert the counts at two sizes); the heavy lifting
(latest run per machine, per-test worst change, geometric means) is done by the
database with window functions and aggregates, and the rows that come back are
bounded by the page (its N orders, its machines, its page of tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Subquery,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Abs, RowNumber
from django.utils import timezone

from ..analysis import verdict
from ..copy_out import copy_tuples
from ..formats.run_values import run_values_group, run_values_pack, run_values_unpack
from ..models import (
    FieldChange,
    Metric,
    Order,
    Point,
    Run,
    RunGeomean,
    RunValues,
    Test,
    TestSuite,
)
from .graphs import PlotKey, graph_series

DAILY_CHANGE_LIMIT = 500  # changes listed in one daily report


def metric_label(name: str, display_name: str | None) -> str:
    """A metric's human name (``Metric.label``) from a values() row."""
    return display_name or name


# --- the latest runs of every machine ------------------------------------------------


def _newest_first(partition: str, tie: str) -> Window:
    """1, 2, ... for the rows of each ``partition`` value, newest order position first
    (``tie`` descending between rows at one position): filter on it for "the newest N
    of each" in one query."""
    return Window(
        RowNumber(),
        partition_by=[F(partition)],
        order_by=[F("position").desc(), F(tie).desc()],
    )


# Above every order position (they are BigIntegerFields spaced by POSITION_GAP).
NO_POSITION_BOUND = 2**62


def recent_runs(
    suite: TestSuite,
    *,
    depth: int,
    machine_filter: str = "",
    at_or_before: int | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """machine id -> its newest ``depth`` runs, newest first (by order, then id).

    One query.  On PostgreSQL each machine's newest runs are probed from the run
    (machine, position) index (a LATERAL subquery a machine, ``depth`` entries each),
    instead of ranking every run of the suite by a window function (8,400 runs at
    scale 1, sorted with their machine and order joined), which elsewhere stays.
    ``machine_filter`` keeps machines whose name contains it (case-insensitive);
    ``at_or_before`` keeps runs at or before that order position (a baseline's).
    Machines come in name order.
    """
    qs = Run.objects.filter(suite=suite)
    if machine_filter:
        qs = qs.filter(machine__name__icontains=machine_filter)
    if connection.vendor == "postgresql":
        qs = qs.filter(
            # Django has no LATERAL; the text is constant, every value is bound.
            id__in=RawSQL(  # noqa: S611
                "SELECT r.id FROM perf_machine m CROSS JOIN LATERAL ("
                "SELECT r.id FROM perf_run r WHERE r.machine_id = m.id AND r.position <= %s "
                "ORDER BY r.position DESC, r.id DESC LIMIT %s) r WHERE m.suite_id = %s",
                [NO_POSITION_BOUND if at_or_before is None else at_or_before, depth, suite.id],
            )
        )
    else:
        if at_or_before is not None:
            qs = qs.filter(position__lte=at_or_before)
        qs = qs.filter(
            id__in=qs.annotate(rank=_newest_first("machine_id", "id"))
            .filter(rank__lte=depth)
            .values("id")
        )
    rows = qs.order_by("machine__name", "machine_id", "-position", "-id").values(
        "id",
        "machine_id",
        "machine__name",
        "order_id",
        "order__fields",
        "position",
        "start_time",
    )
    by_machine: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        runs = by_machine.setdefault(row["machine_id"], [])
        row["rank"] = len(runs) + 1
        runs.append(row)
    return by_machine


def order_text(fields: dict[str, Any] | None) -> str:
    return ", ".join(str(v) for v in (fields or {}).values())


@dataclass
class RunPair:
    """A machine's newest run and the run it is compared with."""

    machine_id: int
    machine: str
    new: dict[str, Any]
    old: dict[str, Any]
    # Every run between them, newest first (the latest runs report's history).
    runs: list[dict[str, Any]] = field(default_factory=list)


def run_pairs(
    newest: dict[int, list[dict[str, Any]]],
    baselines: dict[int, list[dict[str, Any]]] | None = None,
) -> list[RunPair]:
    """Pairs (newest run, oldest of the runs read) per machine; with ``baselines``
    (machine -> its runs at or before a baseline's order) the old side is the newest
    of those instead.  A machine with nothing to compare with is left out.  Pure."""
    pairs = []
    for machine_id, runs in newest.items():
        new = runs[0]
        if baselines is not None:
            candidates = [r for r in baselines.get(machine_id, []) if r["id"] != new["id"]]
            old = candidates[0] if candidates else None
        else:
            old = runs[-1] if len(runs) > 1 else None
        if old is not None:
            pairs.append(RunPair(machine_id, new["machine__name"], new, old, runs))
    return pairs


# --- global status ------------------------------------------------------------------


@dataclass
class StatusGrid:
    pairs: list[RunPair]
    rows: list[dict[str, Any]]  # {test_id, test, worst, cells: [cell or None per pair]}
    has_next: bool


def global_status(
    suite: TestSuite,
    metric: Metric,
    *,
    depth: int = 2,
    baseline: Run | None = None,
    machine_filter: str = "",
    recent_days: int = 0,
    offset: int = 0,
    limit: int = 50,
) -> StatusGrid:
    """The latest run of every machine against a baseline: test x machine, % change.

    The baseline of a machine is its run ``depth - 1`` runs before its newest (the
    previous run by default), or, with ``baseline`` (a run), the machine's newest run
    at or before that run's order (LNT's "closest previously reported run").  Rows are
    tests, worst first: the largest regression over the machines (direction from
    ``bigger_is_better``), then name.  A cell is left out when the new point failed or
    has no value, or the old one failed or is not above 0 (no relative scale).  With
    ``recent_days`` only the machines whose newest run started within that many days
    of the suite's newest run count (LNT keeps those of the last day), so retired
    machines do not fill the grid.

    The runs' values come packed, a row per run (``models.RunValues``, written at
    ingest), and are compared and ranked in numpy: no read of the points, which was
    the page's time (one aggregate over 89,000 index entries at scale 1).  Three
    queries (four with a baseline): the runs, their packed values and the page's
    tests' names; one more for the points of the runs without packed values, if any
    (runs written by something that does not pack them: still right, only slower).
    """
    newest = recent_runs(suite, depth=depth, machine_filter=machine_filter)
    if recent_days and newest:
        latest = max(runs[0]["start_time"] for runs in newest.values())
        since = latest - timedelta(days=recent_days)
        newest = {m: runs for m, runs in newest.items() if runs[0]["start_time"] >= since}
    olds = None
    if baseline is not None:
        olds = recent_runs(
            suite, depth=2, machine_filter=machine_filter, at_or_before=baseline.position
        )
    pairs = run_pairs(
        {m: runs[:1] if olds is not None else runs for m, runs in newest.items()}, olds
    )
    if not pairs:
        return StatusGrid(pairs=[], rows=[], has_next=False)
    sign = -1.0 if metric.bigger_is_better else 1.0
    stored = _run_values(metric, [r for p in pairs for r in (p.new["id"], p.old["id"])])
    # Each pair's cells: (test ids ascending, new value, old value, change in %).
    columns = [_status_cells(stored[p.new["id"]], stored[p.old["id"]]) for p in pairs]
    # The worst change of each test over the machines, signed so that worse is larger
    # (what the database's MAX(pct * sign) gave: the same float operations).
    every = np.concatenate([c[0] for c in columns])
    tests, at = np.unique(every, return_inverse=True)
    worst = np.full(len(tests), -np.inf)
    np.maximum.at(worst, at, np.concatenate([c[3] for c in columns]) * sign)
    ranked = _status_page(tests, worst, offset, limit)
    has_next = len(ranked) > limit
    ranked = ranked[:limit]
    page = np.array([r[0] for r in ranked], dtype=np.int64)
    rows = []
    cells: list[list[dict[str, Any] | None]] = [[None] * len(pairs) for _ in ranked]
    for k, (ids, values, olds_, pcts) in enumerate(columns):
        found = np.minimum(np.searchsorted(ids, page), max(len(ids) - 1, 0))
        for i in np.flatnonzero(ids[found] == page) if len(ids) else ():
            j = found[i]
            value, old, pct = float(values[j]), float(olds_[j]), float(pcts[j])
            # Display strings made here: a floatformat filter per cell costs ten
            # times more, and a page has thousands of cells.
            cells[i][k] = {
                "key": f"{pairs[k].machine_id}.{ranked[i][0]}.{metric.position}",
                "pct": pct,
                "text": f"{pct:+.2f}",
                "title": f"{old:.4f} → {value:.4f}",
                "heat": heat_class(pct * sign),
            }
    for (test_id, name, value), row_cells in zip(ranked, cells, strict=True):
        rows.append(
            {
                "test_id": test_id,
                "test": name,
                "worst": value,
                "worst_text": f"{value:.2f}",
                "cells": row_cells,
            }
        )
    return StatusGrid(pairs=pairs, rows=rows, has_next=has_next)


Packed = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _run_values(metric: Metric, run_ids: list[int]) -> dict[int, Packed]:
    """run id -> (test ids ascending, values; NaN where failed or none) of ``metric``
    in these runs: their ``RunValues`` rows, and for a run without one, its points
    (one more query, only then).  A run with no point of the metric has empty arrays."""
    rows = RunValues.objects.filter(run_id__in=run_ids, metric=metric).values_list(
        "run_id", "tests", "values"
    )
    if connection.vendor == "postgresql":
        # By binary COPY: the bytes as stored, not a hex text of 2.9 MB to decode for
        # 21 machines' two runs (a third of the time at scale 1).
        sql, params = rows.query.sql_with_params()
        out = {
            int.from_bytes(run_id, "big", signed=True): run_values_unpack(tests, values)
            for run_id, tests, values in copy_tuples(sql, params, 3)
            if run_id is not None and tests is not None and values is not None
        }
    else:
        out = {run_id: run_values_unpack(tests, values) for run_id, tests, values in rows}
    missing = [r for r in dict.fromkeys(run_ids) if r not in out]
    if missing:
        read = run_values_group(
            Point.objects.filter(run_id__in=missing, series__metric=metric).values_list(
                "run_id", "series__metric_id", "series__test_id", "value", "failed"
            )
        )
        nothing = run_values_pack([], [])
        for run_id in missing:
            out[run_id] = run_values_unpack(*read.get((run_id, metric.id), nothing))
    return out


def _status_cells(
    new: Packed, old: Packed
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]
]:
    """The cells of one machine: the tests both runs have with a valid new value and
    an old value above 0, ascending, with the new and old values and the change in
    percent, ``(new - old) * 100.0 / old`` (the order of operations the SQL had)."""
    common, at_new, at_old = np.intersect1d(new[0], old[0], assume_unique=True, return_indices=True)
    values, olds = new[1][at_new], old[1][at_old]
    keep = ~np.isnan(values) & (olds > 0)
    values, olds = values[keep], olds[keep]
    return common[keep], values, olds, (values - olds) * 100.0 / olds


def _status_page(
    tests: npt.NDArray[np.int64], worst: npt.NDArray[np.float64], offset: int, limit: int
) -> list[tuple[int, str, float]]:
    """(test id, name, worst) of the tests ranked ``offset`` to ``offset + limit``
    (one more than the page, to tell whether another follows), by worst descending
    then name.  One query: the names of the tests whose worst lies within the page's
    (the page and its ties at either end, ordered by the database), none when the
    page is past the end."""
    if offset >= len(tests):
        return []
    order = np.argsort(-worst, kind="stable")
    stop = min(len(tests), offset + limit + 1)
    top, bottom = worst[order[offset]], worst[order[stop - 1]]
    inside = (worst <= top) & (worst >= bottom)
    before = int(np.count_nonzero(worst > top))
    value_of = dict(zip(tests[inside].tolist(), worst[inside].tolist(), strict=True))
    named = list(
        Test.objects.filter(id__in=list(value_of)).order_by("name").values_list("id", "name")
    )
    # Stable: tests of one worst value stay in the database's name order.
    named.sort(key=lambda row: -value_of[row[0]])
    return [
        (test_id, name, value_of[test_id])
        for test_id, name in named[offset - before : stop - before]
    ]


def heat_class(worse: float | None) -> str:
    """CSS class of a status cell from its change signed so that worse is positive
    (percent): ``bad-1..3`` / ``good-1..3`` from 1, 5 and 20 %, "" under 1 %.  Pure."""
    if worse is None or abs(worse) < 1.0:
        return ""
    level = 3 if abs(worse) >= 20 else 2 if abs(worse) >= 5 else 1
    return f"{'bad' if worse > 0 else 'good'}-{level}"


# --- latest runs report -------------------------------------------------------------


@dataclass
class MachineChanges:
    pair: RunPair
    regressions: list[dict[str, Any]]
    improvements: list[dict[str, Any]]

    @property
    def groups(self) -> list[tuple[str, list[dict[str, Any]], str]]:
        """(label, rows, CSS name) for the page and the text."""
        return [
            ("Regressions", self.regressions, "regressions"),
            ("Improvements", self.improvements, "improvements"),
        ]


def latest_runs_report(
    suite: TestSuite,
    metric: Metric,
    *,
    depth: int = 10,
    min_change: float = 1.0,
    machine_filter: str = "",
    offset: int = 0,
    limit: int = 1000,
) -> tuple[list[MachineChanges], bool]:
    """Oldest vs newest of each machine's last ``depth`` runs: the changes beyond noise.

    Judged by the run report's engine (``verdict.judge``: the change detector's model,
    with the machine's runs between the two as the history, moved to the oldest run's
    level; the detector's stored change at the newest run's order counts as detected
    or suspect).  A move is a test with a valid new value and an old value above 0
    whose change, ``(new - old) * 100.0 / old`` percent, reaches ``min_change``.  At
    most four queries whatever the number of machines and tests: the runs; the packed
    values (``RunValues``) of each machine's newest run and of the runs between, from
    which the moves and their history come (one more for the points of runs without
    them, if any); the stored changes at the newest runs (when a test moved); and the
    points of the flagged moves alone (their series, names and binary hashes: a move
    of a metric that ignores an unchanged binary is dropped when its two points report
    the same hash), when any is flagged.  Machines (by name) are paged by ``offset``
    and ``limit``, since the work grows with machines x tests; the second value
    returned says whether more machines follow.
    """
    every = run_pairs(recent_runs(suite, depth=depth, machine_filter=machine_filter))
    pairs = every[offset : offset + limit]
    more = len(every) > offset + limit
    if not pairs:
        return [], more
    packed = _run_values(metric, [r["id"] for p in pairs for r in p.runs])
    # The moves as columns, machine after machine, each machine's tests ascending.
    parts = []
    for p in pairs:
        tests, values, olds, pcts = _status_cells(packed[p.new["id"]], packed[p.old["id"]])
        moved = (pcts >= min_change) | (pcts <= -min_change)
        parts.append((tests[moved], values[moved], olds[moved], pcts[moved]))
    test_ids = np.concatenate([t for t, _, _, _ in parts])
    values = np.concatenate([v for _, v, _, _ in parts])
    olds = np.concatenate([o for _, _, o, _ in parts])
    pcts = np.concatenate([c for _, _, _, c in parts])
    machine_ids = np.repeat(
        np.array([p.machine_id for p in pairs], dtype=np.int64), [len(t) for t, _, _, _ in parts]
    )
    # The history of each move as one matrix (``verdict.judge``'s ``history``), a row a
    # move: its machine's runs between the two, oldest first, right-aligned (a machine
    # with fewer runs has NaN on the left), NaN for a failed or missing point; no
    # Python list a move.
    width = max(len(p.runs) for p in pairs) - 1
    levels = np.full((len(test_ids), width), np.nan)
    stored = [""] * len(test_ids)
    row_of = {
        key: k for k, key in enumerate(zip(machine_ids.tolist(), test_ids.tolist(), strict=True))
    }
    if len(test_ids):
        _history_fill(levels, packed, pairs, test_ids, machine_ids)
        newest_order = {p.machine_id: p.new["order_id"] for p in pairs}
        # The machines' live changes of the metric at their newest orders (at most one
        # a series), kept for the moved tests here: no list of thousands of ids.
        for c in FieldChange.objects.filter(
            machine_id__in=list(newest_order),
            metric=metric,
            end_order_id__in=list(newest_order.values()),
            withdrawn=False,
        ).values("series__test_id", "machine_id", "end_order_id", "confirmed"):
            k = row_of.get((c["machine_id"], c["series__test_id"]))
            if k is not None and newest_order[c["machine_id"]] == c["end_order_id"]:
                stored[k] = verdict.DETECTED if c["confirmed"] else verdict.SUSPECT
    # The binaries are compared after the verdict, on the flagged moves' points only:
    # SAME_BINARY takes precedence over every flagged kind, so a flagged move whose
    # binary did not change is one the verdict would not have flagged, and no other.
    adjacent = {p.machine_id: len(p.runs) == 2 for p in pairs}
    judged = verdict.judge_columns(
        verdict.MoveColumns(
            delta=pcts,
            new_level=values,
            old_level=olds,
            adjacent=np.array([adjacent[m] for m in machine_ids.tolist()], dtype=np.bool_),
            stored=stored,
            same_binary=np.zeros(len(test_ids), dtype=np.bool_),
        ),
        levels,
        min_change=min_change,
        evidence="flagged",
    )
    flagged = [k for k, kind in enumerate(judged.kind) if kind in verdict.FLAGGED]
    out = {p.machine_id: MachineChanges(p, [], []) for p in pairs}
    for row in _flagged_rows(metric, pairs, flagged, test_ids, machine_ids):
        k = row_of[(row["series__machine_id"], row["series__test_id"])]
        if metric.ignore_same_hash and row["hash"] is not None and row["hash"] == row["old_hash"]:
            continue  # verdict.SAME_BINARY
        pct = float(pcts[k])
        row.update(
            value=float(values[k]),
            old=float(olds[k]),
            pct=pct,
            verdict=judged.kind[k],
            noise=judged.noise[k],
            z=judged.z[k],
        )
        worse = pct < 0 if metric.bigger_is_better else pct > 0
        target = out[row["series__machine_id"]]
        (target.regressions if worse else target.improvements).append(row)
    for result in out.values():
        for rows in (result.regressions, result.improvements):
            rows.sort(key=lambda r: (-abs(r["pct"]), r["series__test__name"]))
    return list(out.values()), more


def _flagged_rows(
    metric: Metric,
    pairs: list[RunPair],
    flagged: list[int],
    test_ids: npt.NDArray[np.int64],
    machine_ids: npt.NDArray[np.int64],
) -> list[dict[str, Any]]:
    """One row a flagged move (``flagged``: indices into ``test_ids`` and
    ``machine_ids``): its ``series_id``, ``series__test_id``, ``series__test__name``,
    ``series__machine_id`` and the binary ``hash`` of its new and old points
    (``old_hash``).  One query, of the two runs' points of the flagged tests; none
    when nothing is flagged."""
    if not flagged:
        return []
    runs = {p.new["id"]: p for p in pairs} | {p.old["id"]: p for p in pairs}
    wanted = {(int(machine_ids[k]), int(test_ids[k])) for k in flagged}
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for run_id, series_id, test_id, name, machine_id, hash_ in Point.objects.filter(
        run_id__in=list(runs),
        series__metric=metric,
        series__test_id__in=sorted({t for _, t in wanted}),
    ).values_list(
        "run_id", "series_id", "series__test_id", "series__test__name", "series__machine_id",
        "hash",
    ):
        if (machine_id, test_id) not in wanted:
            continue
        row = rows.setdefault(
            (machine_id, test_id),
            {
                "series_id": series_id,
                "series__test_id": test_id,
                "series__test__name": name,
                "series__machine_id": machine_id,
                "hash": None,
                "old_hash": None,
            },
        )
        row["hash" if runs[run_id].new["id"] == run_id else "old_hash"] = hash_
    return list(rows.values())


def _history_fill(
    levels: npt.NDArray[np.float64],
    packed: dict[int, Packed],
    pairs: list[RunPair],
    test_ids: npt.NDArray[np.int64],
    machine_ids: npt.NDArray[np.int64],
) -> None:
    """Write into ``levels`` (a row a move, a column a run between each machine's two,
    right-aligned, oldest first) the value of each move's test at each of its
    machine's runs between the two, from the runs' packed values (``packed``, by run
    id, ``_run_values``); NaN stays where the point failed, has no value or is
    missing."""
    width = levels.shape[1]
    for p in pairs:
        rows = np.flatnonzero(machine_ids == p.machine_id)
        if not len(rows):
            continue
        tests = test_ids[rows]
        for k, run in enumerate(p.runs[1:]):
            ids, values = packed[run["id"]]
            if not len(ids):
                continue
            at = np.minimum(np.searchsorted(ids, tests), len(ids) - 1)
            found = ids[at] == tests
            levels[rows[found], width - 1 - k] = values[at[found]]


# --- matrix -------------------------------------------------------------------------


@dataclass
class MatrixData:
    series: list[dict[str, Any]]  # graph_series rows, in the keys' order
    orders: list[dict[str, Any]]  # columns, oldest first: {order_id, position, label}
    # series id -> order id -> {value, pct (vs the first column with a value), run_id}
    cells: dict[int, dict[int, dict[str, Any]]]


def matrix(suite: TestSuite, keys: list[PlotKey], *, orders: int = 20) -> MatrixData:
    """The values of the chosen series over the last ``orders`` orders that any of them
    has, with the change in percent against the series' value in the first column
    (or its first value shown).  Two queries: the series, and each series' newest
    ``orders`` points (a window function over the (series, position) index).  With
    several runs at one order, the newest run's value is shown."""
    series = graph_series(suite, keys)
    if not series:
        return MatrixData(series=[], orders=[], cells={})
    points = (
        Point.objects.filter(series_id__in=[s["id"] for s in series])
        .annotate(rank=_newest_first("series_id", "run_id"))
        .filter(rank__lte=orders)
        .order_by("position", "-run_id")
        .values("series_id", "order_id", "position", "order__fields", "value", "failed", "run_id")
    )
    columns: dict[int, dict[str, Any]] = {}
    cells: dict[int, dict[int, dict[str, Any]]] = {}
    for p in points:
        columns.setdefault(
            p["order_id"],
            {
                "order_id": p["order_id"],
                "position": p["position"],
                "label": order_text(p["order__fields"]),
            },
        )
        cells.setdefault(p["series_id"], {}).setdefault(
            p["order_id"],
            {"value": None if p["failed"] else p["value"], "run_id": p["run_id"], "pct": None},
        )
    shown = sorted(columns.values(), key=lambda c: c["position"])[-orders:]
    for by_order in cells.values():
        base = next(
            (
                by_order[c["order_id"]]["value"]
                for c in shown
                if c["order_id"] in by_order and by_order[c["order_id"]]["value"]
            ),
            None,
        )
        for cell in by_order.values():
            if base and cell["value"] is not None:
                cell["pct"] = (cell["value"] - base) / abs(base) * 100.0
    return MatrixData(series=series, orders=shown, cells=cells)


# --- dashboard ----------------------------------------------------------------------


@dataclass
class Sparkline:
    machine_id: int
    machine: str
    metric: Metric
    values: list[float | None]  # one per order column, oldest first
    last: float | None
    change: float | None  # last vs first known value, percent


def dashboard(
    suite: TestSuite, metrics: list[Metric], *, orders: int = 20, machines: int = 4
) -> tuple[list[dict[str, Any]], list[Sparkline]]:
    """Per Real metric, the geometric mean over all tests of each of the ``machines``
    most active machines (most runs over the suite's last ``orders`` orders) at each of
    those orders.  Failed points and values <= 0 are left out of the means.  Three
    queries: the orders, the active machines, the means.

    The means are the runs' stored RunGeomean rows (one per run and metric, written
    with the run's points), not the points: machines x orders rows whatever the
    number of tests.  Two runs of a machine at one order are pooled, each weighted by
    its number of tests, which is the mean of all their points."""
    columns = list(
        Order.objects.filter(suite=suite)
        .order_by("-position")
        .values("id", "position", "fields")[:orders]
    )[::-1]
    if not columns:
        return [], []
    lowest = columns[0]["position"]
    active = list(
        Run.objects.filter(suite=suite, position__gte=lowest)
        .values("machine_id", "machine__name")
        .annotate(n=Count("id"))
        .order_by("-n", "machine__name")[:machines]
    )
    real = [m for m in metrics if m.type == Metric.REAL]
    if not active or not real:
        return columns, []
    pooled: dict[tuple[int, int, int], list[float]] = {}
    for machine_id, metric_id, position, value, tests in RunGeomean.objects.filter(
        run__machine_id__in=[a["machine_id"] for a in active],
        run__position__gte=lowest,
        metric_id__in=[m.id for m in real],
        value__gt=0,
    ).values_list("run__machine_id", "metric_id", "run__position", "value", "tests"):
        acc = pooled.setdefault((machine_id, metric_id, position), [0.0, 0.0])
        acc[0] += tests * math.log(value)
        acc[1] += tests
    means = [
        {"run__machine_id": m, "series__metric_id": k, "position": p, "mean": math.exp(t / n)}
        for (m, k, p), (t, n) in pooled.items()
        if n
    ]
    index = {c["position"]: k for k, c in enumerate(columns)}
    grid: dict[tuple[int, int], list[float | None]] = {}
    for row in means:
        k = index.get(row["position"])
        if k is None:
            continue
        key = (row["run__machine_id"], row["series__metric_id"])
        grid.setdefault(key, [None] * len(columns))[k] = row["mean"]
    lines = []
    for metric in real:
        for a in active:
            values = grid.get((a["machine_id"], metric.id))
            if values is None:
                continue
            known = [v for v in values if v is not None]
            change = (known[-1] - known[0]) / known[0] * 100.0 if len(known) > 1 else None
            lines.append(
                Sparkline(a["machine_id"], a["machine__name"], metric, values, known[-1], change)
            )
    return columns, lines


def sparkline_points(
    values: list[float | None],
    *,
    width: float = 160.0,
    height: float = 32.0,
    pad: float = 2.0,
    min_span: float = 0.02,
) -> list[str]:
    """SVG polyline ``points`` strings for ``values`` (None breaks the line), scaled to
    the box with ``pad`` pixels inside; the y axis grows upward.  The vertical scale
    spans at least ``min_span`` (a fraction) of the middle value, so that a line that
    moves by a fraction of a percent stays flat instead of filling the box.  Pure."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return []
    low, high = min(known), max(known)
    floor = min_span * abs(low + high) / 2
    if high - low < floor:
        middle = (low + high) / 2
        low, high = middle - floor / 2, middle + floor / 2
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for k, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if segments[-1]:
                segments.append([])
            continue
        x = pad + k * step
        y = height - pad - (v - low) / span * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    return [" ".join(s) for s in segments if s]


# --- daily report by run date -------------------------------------------------------


def day_bounds(day: date, days: int) -> tuple[datetime, datetime]:
    """[start, end) of the ``days`` days ending with ``day``, in the site's time zone."""
    tz = timezone.get_current_timezone()
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return end - timedelta(days=days), end


def latest_run_day(suite: TestSuite) -> date | None:
    """The day of the suite's newest run by run start time.  One query (an index)."""
    newest = Run.objects.filter(suite=suite).aggregate(t=Max("start_time"))["t"]
    return timezone.localtime(newest).date() if newest else None


def daily_report(suite: TestSuite, *, day: date, days: int = 1) -> dict[str, Any]:
    """What was run, and what changed, in runs that *ran* in the ``days`` days ending
    with ``day`` (run start time, not submission time: importing old runs does not
    fill today's report).  Two queries.

    ``machines``: per machine, its runs in the window (count, first and last start,
    newest order).  ``changes``: the live detected changes at an order a machine ran in
    the window (the change's machine and end order match such a run), regressions
    first, largest first, at most DAILY_CHANGE_LIMIT; ``truncated`` says more exist.
    Metric names are the human ones (``Metric.label``).
    """
    start, end = day_bounds(day, days)
    in_window = Run.objects.filter(suite=suite, start_time__gte=start, start_time__lt=end)
    machines = list(
        in_window.values("machine_id", "machine__name")
        .annotate(
            n=Count("id"),
            first=Min("start_time"),
            last=Max("start_time"),
            newest_position=Max("position"),
            submitted=Max("submitted_at"),
        )
        .order_by("machine__name")
    )
    ran = in_window.filter(machine_id=OuterRef("machine_id"), order_id=OuterRef("end_order_id"))
    changes = list(
        FieldChange.objects.filter(end_order_id__in=in_window.values("order_id"), withdrawn=False)
        .filter(Exists(ran))
        .annotate(
            ran_id=Subquery(ran.order_by("-start_time").values("id")[:1]),
            run_start=Subquery(ran.order_by("-start_time").values("start_time")[:1]),
            size=Abs("relative_change"),
        )
        .order_by("-is_regression", "-size", "test__name", "id")
        .values(
            "id",
            "machine_id",
            "machine__name",
            "test_id",
            "test__name",
            "metric__name",
            "metric__display_name",
            "metric__position",
            "metric__unit_abbrev",
            "end_order__fields",
            "old_value",
            "new_value",
            "relative_change",
            "is_regression",
            "confirmed",
            "indicator__regression_id",
            "ran_id",
            "run_start",
        )[: DAILY_CHANGE_LIMIT + 1]
    )
    by_machine: dict[str, list[dict[str, Any]]] = {}
    for c in changes[:DAILY_CHANGE_LIMIT]:
        c["metric"] = metric_label(c["metric__name"], c["metric__display_name"])
        c["order"] = order_text(c["end_order__fields"])
        c["pct"] = c["relative_change"] * 100.0
        by_machine.setdefault(c["machine__name"], []).append(c)
    return {
        "day": day,
        "days": days,
        "first_day": day - timedelta(days=days - 1),
        "previous_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat(),
        "by_machine": sorted(by_machine.items()),
        "start": start,
        "end": end,
        "machines": machines,
        "changes": changes[:DAILY_CHANGE_LIMIT],
        "truncated": len(changes) > DAILY_CHANGE_LIMIT,
        "n_regressions": sum(1 for c in changes[:DAILY_CHANGE_LIMIT] if c["is_regression"]),
        "n_improvements": sum(1 for c in changes[:DAILY_CHANGE_LIMIT] if not c["is_regression"]),
    }
