"""Read side of the two-sided compare page: resolve each side to runs, read their
samples of one metric by test name.  A fixed number of queries whatever the number of
runs or tests: one per side for its runs, one per side for its samples, one for the
metrics."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..formats.samples import REAL_TAG, unpack_samples
from ..models import Metric, Point, Run, TestSuite

MAX_RUNS_PER_SIDE = 20


class SideError(ValueError):
    """A side that does not resolve; the message names the field and value."""


@dataclass
class Side:
    """One side as given: a suite, a machine and run ids or revisions."""

    prefix: str  # "a" or "b": the query-string prefix, for messages
    suite: str
    machine: str = ""
    runs: list[int] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    baseline: str = ""  # a baseline's name: the machine's runs at its order


@dataclass
class ResolvedSide:
    suite: str
    suite_id: int
    machine: str
    machine_id: int
    runs: list[dict[str, Any]]  # id, order label

    @property
    def run_ids(self) -> list[int]:
        return [r["id"] for r in self.runs]

    @property
    def last_run_id(self) -> int:
        """The side's latest run (by order): the one chosen rows stand for."""
        return int(self.runs[-1]["id"])


def side_resolve(side: Side) -> ResolvedSide:
    """The side's runs (one query).  Runs must all be of one machine of the suite."""
    p = side.prefix
    rows = Run.objects.filter(suite__name=side.suite)
    if side.runs:
        rows = rows.filter(id__in=side.runs)
    elif side.orders:
        if not side.machine:
            raise SideError(f"{p}_machine: give the machine whose runs at these orders to use.")
        rows = rows.filter(machine__name=side.machine, order__key__in=side.orders)
    elif side.baseline:
        if not side.machine:
            raise SideError(f"{p}_machine: give the machine whose run at the baseline to use.")
        rows = rows.filter(
            machine__name=side.machine,
            order__baselines__suite__name=side.suite,
            order__baselines__name=side.baseline,
        )
    else:
        raise SideError(f"{p}_runs: give run ids, or {p}_machine and {p}_orders.")
    found = list(
        rows.order_by("position", "id").values(
            "id", "suite_id", "machine_id", "machine__name", "order__fields"
        )[: MAX_RUNS_PER_SIDE + 1]
    )
    if len(found) > MAX_RUNS_PER_SIDE:
        raise SideError(f"{p}: at most {MAX_RUNS_PER_SIDE} runs on a side.")
    if side.runs:
        missing = sorted(set(side.runs) - {r["id"] for r in found})
        if missing:
            raise SideError(f"{p}_runs: no run {missing[0]} in suite {side.suite}.")
    if not found and side.baseline:
        raise SideError(
            f"{p}_baseline: machine {side.machine} has no run at the order of a baseline "
            f"called {side.baseline!r} in suite {side.suite}."
        )
    if not found:
        raise SideError(
            f"{p}_orders: machine {side.machine} has no run at {', '.join(side.orders)} "
            f"in suite {side.suite}."
        )
    machines = {r["machine__name"] for r in found}
    if len(machines) > 1 or (side.machine and side.machine not in machines):
        expected = side.machine or found[0]["machine__name"]
        raise SideError(f"{p}_runs: the runs of a side must all be of machine {expected}.")
    return ResolvedSide(
        suite=side.suite,
        suite_id=found[0]["suite_id"],
        machine=found[0]["machine__name"],
        machine_id=found[0]["machine_id"],
        runs=[
            {"id": r["id"], "order": ", ".join(str(v) for v in r["order__fields"].values())}
            for r in found
        ],
    )


def side_samples(side: ResolvedSide, metric: str) -> dict[str, list[float]]:
    """Test name -> the pooled samples of the side's runs for the Real metric named
    ``metric``; failed or non-numeric samples are left out.  One query."""
    out: dict[str, list[float]] = defaultdict(list)
    rows = Point.objects.filter(
        run_id__in=side.run_ids,
        # Always true (a run's points are series of its machine), but it lets the
        # database start from the machine's series (the unique index leads with the
        # machine) and fetch each one's point by (run, series), instead of hashing
        # the series of the metric on every machine (45,000 for 2,000 of one).
        series__machine_id=side.machine_id,
        series__metric__name=metric,
        series__metric__type=Metric.REAL,
    ).values_list("series__test__name", "samples")
    names, packed = [], []
    for name, samples in rows:
        names.append(name)
        packed.append(samples)
    for name, values in zip(names, _real_samples(packed), strict=True):
        # A list added with ``+=``, not a generator into ``extend``: 2 ms less a side
        # of 2,000 tests (timed apart).
        out[name] += values
    return dict(out)


def _real_samples(packed: list[bytes | memoryview]) -> list[list[float]]:
    """The float samples of each packed row (``unpack_samples``, without the others).

    The usual side, rows of Real samples as many a row, is unpacked at once: their
    bytes joined are a numpy array of (tag, values) records, its values one list a row
    (no Python call a row); any other rows one at a time."""
    if packed:
        width = len(packed[0])
        count = (width - 1) // 8
        if width == 1 + 8 * count and set(map(len, packed)) == {width}:
            joined = b"".join(packed)
            records = np.frombuffer(joined, dtype=[("tag", "S1"), ("values", ">f8", (count,))])
            if (records["tag"] == REAL_TAG).all():
                values: list[list[float]] = records["values"].tolist()
                return values
    return [[v for v in unpack_samples(p) if isinstance(v, float)] for p in packed]


def compare_metrics(suite_ids: list[int]) -> list[dict[str, Any]]:
    """The Real metrics of the sides' suites (name, label, bigger_is_better, unit), by
    position; a name in both suites once.  One query."""
    seen: dict[str, dict[str, Any]] = {}
    for m in (
        Metric.objects.filter(suite_id__in=suite_ids, type=Metric.REAL)
        .order_by("suite_id", "position")
        .values("name", "display_name", "bigger_is_better", "unit_abbrev")
    ):
        seen.setdefault(m["name"], {**m, "label": m["display_name"] or m["name"]})
    return list(seen.values())


def run_points(run_id: int, metric: str, tests: list[str]) -> tuple[int | None, dict[str, Any]]:
    """The suite of run ``run_id`` (None when there is no such run) and, for each of
    ``tests`` with a value in that run for the Real metric named ``metric``, its
    ``(series id, order id)``: the graph points that rows of the compare page stand
    for.  Two queries."""
    suite_id = Run.objects.filter(id=run_id).values_list("suite_id", flat=True).first()
    if suite_id is None:
        return None, {}
    rows = (
        Point.objects.filter(
            run_id=run_id,
            series__metric__name=metric,
            series__metric__type=Metric.REAL,
            series__test__name__in=tests,
        )
        .exclude(value=None)
        .values_list("series__test__name", "series_id", "order_id")
    )
    return suite_id, {name: (series, order) for name, series, order in rows}


def suite_name(suite_id: int) -> str:
    """The name of suite ``suite_id``.  One query."""
    return str(TestSuite.objects.values_list("name", flat=True).get(id=suite_id))
