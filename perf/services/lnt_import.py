"""Bring a whole LNT database over: suites, machines, orders, runs, samples, profiles,
field changes, regressions, ignores and baselines (``manage.py import_lnt_db``).

Idempotent and resumable: every row brought over is recorded in ``LntIdMap`` as
(source, suite, kind, LNT id) -> local id, in the same transaction as the row itself;
runs are written a chunk at a time, one transaction per chunk, so an interrupted import
loses at most one chunk and the next one skips what the map says is done.

Ids: LNT's ids are per suite, lntsite's are global.  A row keeps its LNT id when that id
is free here (so LNT's links open the same run, machine, order or regression); otherwise
it gets a new id and the old-link views redirect through the map.  After each phase the
id sequences are moved past every id used, so later native ids never take an LNT id.

Samples are written as ingest writes them: one ``Point`` row per (run, series), its
aggregate and the run's samples packed in LNT's sample-row order (``ingest.point_row``).
On PostgreSQL the rows go in as records of COPY's binary format built by
``ingest.point_record`` while ``ingest.copy_lines`` sends them,
and into an empty or small site a chunk rebuilds the hot tables' indexes rather than
updating them row by row (``_secondary_indexes_rebuilt``; docs/performance.md has the
figures).  Memory is bounded by one chunk of runs plus per-suite maps of machines,
orders, tests and series (never by the number of samples).

Field changes that came from LNT keep ``method="lnt"`` (``FieldChange.IMPORTED``) and
their LNT regression; lntsite's detection, run afterwards per machine, updates a change
it finds at the same (series, end order) in place (the unique constraint makes it the
same row, still in LNT's regression) and never withdraws an imported change.
"""

from __future__ import annotations

import gc
import logging
import math
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction

from ..analysis.summary import STATUS_FAIL as FAIL
from ..analysis.summary import status_metric_name
from ..formats import FormatError, MetricSpec, SuiteSchema, parse_suite_schema
from ..formats.samples import REAL_TAG
from ..models import (
    Baseline,
    ChangeIgnore,
    FieldChange,
    LntIdMap,
    Machine,
    Metric,
    Order,
    Point,
    Profile,
    Regression,
    RegressionEvent,
    RegressionIndicator,
    Run,
    Series,
    Test,
    TestSuite,
)
from .geomeans import run_geomeans_refresh
from .ingest import (
    ONE_REAL_HEAD,
    ONE_REAL_SAMPLES,
    POINT_COLUMNS,
    POSITION_GAP,
    SPLIT_SEPARATOR,
    bulk_session,
    copy_lines,
    hash_field,
    insert_rows,
    order_get_or_create,
    order_key,
    order_sort_key,
    point_record,
    point_row,
)
from .lnt_source import LntFieldChange, LntRun, LntSource, LntSuite
from .runvalues import run_values_refresh
from .suites import suite_save, suite_schema

log = logging.getLogger(__name__)

SOURCE_NAME = "import_lnt_db"  # Run.source of imported runs
STATES = {value for value, _ in Regression.STATE_CHOICES}


class LntImportError(Exception):
    """The LNT database cannot be brought over as it is (a message says why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class LntImportSummary:
    """What one invocation added (a second invocation over the same source adds 0)."""

    suites: int = 0
    machines: int = 0
    orders: int = 0
    tests: int = 0
    runs: int = 0
    samples: int = 0  # sample values (one per metric per LNT sample row)
    profiles: int = 0
    field_changes: int = 0
    regressions: int = 0
    indicators: int = 0
    ignores: int = 0
    baselines: int = 0
    runs_already_done: int = 0
    # Machines to run detection over: all the source's, when this invocation added runs.
    machine_ids: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        counts = [
            f"{getattr(self, f.name)} {f.name.replace('_', ' ')}"
            for f in fields(self)
            if f.type == "int" and f.name != "runs_already_done"
        ]
        return (
            "Imported " + ", ".join(counts) + f"; {self.runs_already_done} runs were already here"
        )


def lnt_db_import(
    source: LntSource,
    *,
    source_key: str,
    profiles_dir: Path | None = None,
    schemas_dir: Path | None = None,
    chunk_runs: int = 500,
    progress: Callable[[int], None] | None = None,
) -> LntImportSummary:
    """Import every suite of ``source``; safe to run again (adds only what is missing).

    ``source_key`` names the LNT database in the id map (two different LNT databases
    imported into one lntsite must have different keys).  ``profiles_dir`` is the LNT
    instance's ``data/profiles`` (a profile's stored path names a file there by its
    base name); ``schemas_dir`` its ``schemas/`` (display names and units of custom
    suites).  ``progress`` is called with the number of LNT runs handled per chunk.
    Raises LntImportError when the source is not an LNT database or a suite cannot
    be reconciled with the suite of the same name here (other order fields, a metric
    of another type).
    """
    if not source.is_lnt():
        raise LntImportError("the source has no TestSuite tables: is it an LNT database?")
    summary = LntImportSummary()
    with bulk_session(BULK_SETTINGS):
        for lnt_suite in source.suites():
            _Importer(source, lnt_suite, source_key, profiles_dir, schemas_dir, summary).run(
                chunk_runs, progress
            )
    if summary.runs:  # every machine of the source: an interrupted import resumes here
        summary.machine_ids = set(
            LntIdMap.objects.filter(source=source_key[:255], kind="machine").values_list(
                "local_id", flat=True
            )
        )
    return summary


# Session settings for the import (PostgreSQL), each RESET afterwards to the
# connection's own.
BULK_SETTINGS = {
    # The web's statement timeout (``DATABASE_STATEMENT_TIMEOUT_MS``): one chunk's COPY
    # of a big LNT database may take longer, and this runs in a management command.
    "statement_timeout": "0",
    # A chunk's commit does not wait for its WAL to reach the disk.  A crash may lose
    # the last chunks committed, never half of one: the id map commits with the rows,
    # so the next import does them again.  Durability, not consistency, is traded.
    "synchronous_commit": "off",
    # Room to sort a chunk's rows when its indexes are rebuilt (see
    # ``_secondary_indexes_rebuilt``) without spilling to disk.
    "maintenance_work_mem": "256MB",
}


def lnt_run_total(source: LntSource) -> int:
    """How many runs the source holds (for a progress bar)."""
    return sum(source.run_count(s) for s in source.suites()) if source.is_lnt() else 0


class _Importer:
    """One suite of one source.  Holds the per-suite maps (machines, orders, tests)."""

    def __init__(
        self,
        source: LntSource,
        lnt: LntSuite,
        source_key: str,
        profiles_dir: Path | None,
        schemas_dir: Path | None,
        summary: LntImportSummary,
    ) -> None:
        self.source, self.lnt, self.key = source, lnt, source_key[:255]
        self.profiles_dir, self.schemas_dir, self.summary = profiles_dir, schemas_dir, summary
        self.machines: dict[int, int] = {}
        self.orders: dict[int, tuple[int, int]] = {}  # LNT id -> (local id, position)
        self.tests: dict[int, int] = {}

    def run(self, chunk_runs: int, progress: Callable[[int], None] | None) -> None:
        self.suite, self.metrics = self._suite()
        self._machines()
        self._orders()
        self._tests()
        for chunk in self.source.runs(self.lnt, size=chunk_runs):
            self._runs(chunk)
            if progress:
                progress(len(chunk))
        self._field_changes()
        self._regressions()
        self._ignores()
        self._baselines()

    # --- the id map ------------------------------------------------------------------------

    def _mapped(self, kind: str, lnt_ids: Iterable[int] | None = None) -> dict[int, int]:
        rows = LntIdMap.objects.filter(source=self.key, suite=self.lnt.name, kind=kind)
        if lnt_ids is not None:
            rows = rows.filter(lnt_id__in=list(lnt_ids))
        return dict(rows.values_list("lnt_id", "local_id"))

    def _record(self, kind: str, pairs: Iterable[tuple[int, int]]) -> None:
        LntIdMap.objects.bulk_create(
            [
                LntIdMap(source=self.key, suite=self.lnt.name, kind=kind, lnt_id=a, local_id=b)
                for a, b in pairs
            ]
        )

    # --- suite -------------------------------------------------------------------------

    def _suite(self) -> tuple[TestSuite, dict[int, Metric]]:
        """The local suite, created or extended; metrics by LNT field id.

        A new suite's metric positions are LNT's field indices.  An existing suite
        gains the metrics it lacks; its positions are renumbered to LNT's only while
        it has no series (afterwards graph links already use them).
        """
        lnt = self.lnt
        documented = self._documented_metrics()
        specs = [
            MetricSpec(
                name=f.name,
                type=f.type,  # type: ignore[arg-type]
                bigger_is_better=f.bigger_is_better,
                ignore_same_hash=f.ignore_same_hash,
                display_name=f.display_name
                or documented.get(f.name, MetricSpec(f.name)).display_name,
                unit=f.unit or documented.get(f.name, MetricSpec(f.name)).unit,
                unit_abbrev=f.unit_abbrev or documented.get(f.name, MetricSpec(f.name)).unit_abbrev,
            )
            for f in lnt.fields
        ]
        local = TestSuite.objects.filter(name=lnt.name).first()
        if local is None:
            schema = SuiteSchema(
                name=lnt.name,
                metrics=tuple(specs),
                order_fields=lnt.order_fields,
                run_fields=lnt.run_fields,
                machine_fields=lnt.machine_fields,
            )
        else:
            current = suite_schema(local)
            if current.order_fields != lnt.order_fields:
                raise LntImportError(
                    f"suite {lnt.name!r}: LNT orders runs by {', '.join(lnt.order_fields)}, "
                    f"this site by {', '.join(current.order_fields)}"
                )
            for spec in specs:
                mine = current.metric(spec.name)
                if mine is not None and mine.type != spec.type:
                    raise LntImportError(
                        f"suite {lnt.name!r}: metric {spec.name!r} is {spec.type} in LNT "
                        f"and {mine.type} here"
                    )
            schema = SuiteSchema(
                name=lnt.name,
                metrics=current.metrics + tuple(s for s in specs if current.metric(s.name) is None),
                order_fields=current.order_fields,
                run_fields=current.run_fields
                + tuple(f for f in lnt.run_fields if f not in current.run_fields),
                machine_fields=current.machine_fields
                + tuple(f for f in lnt.machine_fields if f not in current.machine_fields),
            )
        if not schema.metrics:
            raise LntImportError(f"suite {lnt.name!r} has no sample fields")
        try:
            with transaction.atomic():
                suite, created = suite_save(schema)
                self._align_positions(suite)
        except FormatError as exc:
            raise LntImportError(f"suite {lnt.name!r}: {exc.message}") from exc
        self.summary.suites += int(created)
        by_name = {m.name: m for m in Metric.objects.filter(suite=suite)}
        # LNT's field index -> metric, for graph links when positions could not follow.
        known = self._mapped("field")
        self._record(
            "field", [(f.index, by_name[f.name].id) for f in lnt.fields if f.index not in known]
        )
        return suite, {f.lnt_id: by_name[f.name] for f in lnt.fields}

    def _documented_metrics(self) -> dict[str, MetricSpec]:
        """Display names and units from the instance's ``schemas/<suite>.yaml``, if any."""
        if self.schemas_dir is None:
            return {}
        path = self.schemas_dir / f"{self.lnt.name}.yaml"
        try:
            schema = parse_suite_schema(path.read_text())
        except (OSError, FormatError) as exc:
            if path.exists():
                self.summary.warnings.append(f"{path}: not used ({exc})")
            return {}
        return {m.name: m for m in schema.metrics}

    def _align_positions(self, suite: TestSuite) -> None:
        metrics = list(Metric.objects.filter(suite=suite).order_by("position"))
        wanted = {f.name: f.index for f in self.lnt.fields}
        if all(m.position == wanted.get(m.name, m.position) for m in metrics):
            return
        if Series.objects.filter(metric__suite=suite).exists():
            self.summary.warnings.append(
                f"suite {suite.name!r} already has data: its metric positions are kept, "
                "so LNT graph links name other field indices (they are redirected)"
            )
            return
        others = [m for m in metrics if m.name not in wanted]
        # Two steps: the (suite, position) unique index forbids a swap in one pass.
        Metric.objects.filter(suite=suite).update(position=models.F("position") + 10000)
        for m in metrics:
            m.position = wanted[m.name] if m.name in wanted else len(wanted) + others.index(m)
        Metric.objects.bulk_update(metrics, ["position"])

    # --- machines, orders, tests -------------------------------------------------------

    @transaction.atomic
    def _machines(self) -> None:
        self.machines = self._mapped("machine")
        mine = set(self.machines.values())
        taken = dict(Machine.objects.filter(suite=self.suite).values_list("name", "id"))
        new: list[tuple[int, Machine]] = []
        for m in self.source.machines(self.lnt):
            if m.lnt_id in self.machines:
                continue
            local = taken.get(m.name)
            if local is not None and local not in mine:
                # A machine this site already had: LNT's runs join it.
                self.machines[m.lnt_id] = local
                self._record("machine", [(m.lnt_id, local)])
                mine.add(local)
                continue
            name = m.name
            number = 1
            while name in taken:  # LNT allows two machines of one name; here they split
                number += 1
                name = f"{m.name}{SPLIT_SEPARATOR}{number}"[:512]
            taken[name] = -1
            new.append(
                (
                    m.lnt_id,
                    Machine(suite=self.suite, name=name, fields=m.fields, parameters=m.parameters),
                )
            )
        created = _create_keeping_ids(Machine, new)
        self._record("machine", created)
        self.machines.update(created)
        self.summary.machines += len(created)

    @transaction.atomic
    def _orders(self) -> None:
        """Orders in LNT's sequence.  Into an empty suite they get positions in that
        sequence (so non-numeric revisions keep LNT's order); into a suite that has
        orders, new ones are placed by revision as ingest places them."""
        lnt_orders = self.source.orders(self.lnt)
        done = self._mapped("order")
        fields_ = self.lnt.order_fields
        local = {
            key: (i, p)
            for key, i, p in Order.objects.filter(suite=self.suite).values_list(
                "key", "id", "position"
            )
        }
        positions = {i: p for i, p in local.values()}
        self.orders = {a: (b, positions[b]) for a, b in done.items() if b in positions}
        empty = not local
        new: list[tuple[int, Order]] = []
        found: list[tuple[int, int]] = []
        for index, o in enumerate(lnt_orders):
            if o.lnt_id in self.orders:
                continue
            key = order_key(o.fields, fields_)
            if key in local:
                self.orders[o.lnt_id] = local[key]
                found.append((o.lnt_id, local[key][0]))
            elif empty:
                new.append(
                    (
                        o.lnt_id,
                        Order(
                            suite=self.suite,
                            fields=o.fields,
                            key=key,
                            sort_key=order_sort_key(o.fields, fields_),
                            position=index * POSITION_GAP,
                        ),
                    )
                )
                local[key] = (-1, index * POSITION_GAP)
            else:
                order = order_get_or_create(self.suite, o.fields, fields_)
                self.orders[o.lnt_id] = (order.id, order.position)
                local[key] = (order.id, order.position)
                found.append((o.lnt_id, order.id))
                self.summary.orders += 1
        created = _create_keeping_ids(Order, new)
        position_of = {lnt_id: obj.position for lnt_id, obj in new}
        for lnt_id, local_id in created:
            self.orders[lnt_id] = (local_id, position_of[lnt_id])
        self._record("order", found + created)
        self.summary.orders += len(created)
        if not empty and found:
            # Positions may have been renumbered while placing new orders.
            positions = dict(Order.objects.filter(suite=self.suite).values_list("id", "position"))
            self.orders = {a: (b, positions[b]) for a, (b, _) in self.orders.items()}

    def _tests(self) -> None:
        self.tests = self._mapped("test")
        for chunk in self.source.tests(self.lnt):
            todo = [(i, n) for i, n in chunk if i not in self.tests]
            if not todo:
                continue
            with transaction.atomic():
                names = {n for _, n in todo}
                local = dict(
                    Test.objects.filter(suite=self.suite, name__in=names).values_list("name", "id")
                )
                known = [(i, local[n]) for i, n in todo if n in local]
                new, seen = [], set()
                for i, n in todo:
                    if n in local:
                        continue
                    if n in seen:  # LNT allows a repeated name: both ids mean one test
                        continue
                    seen.add(n)
                    new.append((i, Test(suite=self.suite, name=n[:512])))
                created = _create_keeping_ids(Test, new)
                by_name = dict(
                    Test.objects.filter(suite=self.suite, name__in=names).values_list("name", "id")
                )
                created_ids = dict(created)
                pairs = known + [
                    (i, created_ids.get(i, by_name.get(n))) for i, n in todo if n not in local
                ]
                pairs = [(a, b) for a, b in pairs if b is not None]
                self._record("test", pairs)
                self.tests.update(pairs)
                self.summary.tests += len(created)

    # --- runs and samples ----------------------------------------------------------------

    def _runs(self, chunk: list[LntRun]) -> None:
        done = self._mapped("run", (r.lnt_id for r in chunk))
        self.summary.runs_already_done += len(done)
        todo = [r for r in chunk if r.lnt_id not in done]
        if not todo:
            return
        with transaction.atomic():
            self._store_runs(todo, chunk[0].lnt_id, chunk[-1].lnt_id)

    def _store_runs(self, todo: list[LntRun], first: int, last: int) -> None:
        now = datetime.now(UTC)
        new: list[tuple[int, Run]] = []
        for r in todo:
            if r.machine_id not in self.machines or r.order_id not in self.orders:
                self.summary.warnings.append(
                    f"{self.lnt.name} run {r.lnt_id}: its machine or order is missing; skipped"
                )
                continue
            order_id, position = self.orders[r.order_id]
            start = r.start_time.replace(tzinfo=UTC) if r.start_time else now
            end = r.end_time.replace(tzinfo=UTC) if r.end_time else start
            new.append(
                (
                    r.lnt_id,
                    Run(
                        suite=self.suite,
                        machine_id=self.machines[r.machine_id],
                        order_id=order_id,
                        position=position,
                        start_time=start,
                        end_time=end,
                        run_fields=r.fields,
                        parameters=r.parameters,
                        source=SOURCE_NAME,
                        source_detail=r.imported_from[:512],
                        # Detection runs per machine after the import (see module doc).
                        detection_state=Run.DONE,
                    ),
                )
            )
        created = _create_keeping_ids(Run, new)
        local_run = {
            lnt_id: (run.pk, run.machine_id, run.order_id, run.position) for lnt_id, run in new
        }
        with _gc_paused():
            self._store_samples(self.source.sample_rows(self.lnt, first, last), local_run)
        self._record("run", created)
        self.summary.runs += len(created)

    def _store_samples(
        self, rows: Iterable[tuple[Any, ...]], local_run: dict[int, tuple[int, int, int, int]]
    ) -> None:
        """Write the ``Point`` rows of LNT's sample ``rows`` (run, test,
        profile, one value per field; ordered by run, test, ID) of the runs in
        ``local_run`` (LNT run id -> local run id, machine, order, position).

        Two passes over the chunk: the first groups LNT's rows per (run, test) and
        types the values, so that the series can be found or made; the second is a
        generator that builds the point records while their COPY sends them, so
        PostgreSQL stores one part while Python builds the next.
        """
        fields_ = self.lnt.fields
        metric_of = [self.metrics[f.lnt_id] for f in fields_]
        names = {m.name for m in metric_of}
        status_of = [
            next(
                (
                    k
                    for k, m in enumerate(metric_of)
                    if m.name == status_metric_name(mm.name, names)
                ),
                None,
            )
            for mm in metric_of
        ]
        hash_index = next((k for k, m in enumerate(metric_of) if m.name == "hash"), None)
        metric_ids = [m.id for m in metric_of]
        types = [m.type for m in metric_of]
        convert = [_CONVERTERS[t] for t in types]
        real = [t == Metric.REAL for t in types]
        width = len(fields_)
        tests = self.tests
        # Per run: its key and, per test, the typed values of each field in LNT's row
        # order (None: no sample).
        Columns = list[tuple[Any, ...] | None]
        by_run: dict[int, tuple[tuple[int, int, int, int], list[tuple[int, Columns]]]] = {}
        keys: set[tuple[int, int, int]] = set()
        profiles: dict[tuple[int, int], int] = {}
        count = cell_count = 0  # sample values; rows of each table
        for (run, test), same in groupby(rows, key=itemgetter(0, 1)):
            run_key = local_run.get(run)
            test_id = tests.get(test)
            if run_key is None or test_id is None:
                continue
            block = list(same)
            columns: Columns = [None] * width
            # One tuple per field, its values in row order (zip: no Python loop per row).
            for k, values in enumerate(list(zip(*block, strict=True))[3:]):
                if None in values:
                    values = tuple(v for v in values if v is not None)
                    if not values:
                        continue
                typed = tuple(map(convert[k], values))
                if real[k] and not all(map(math.isfinite, typed)):
                    # JSON (and so jsonb) has no NaN or infinity; ingest refuses them too.
                    self.summary.warnings.append(
                        f"{self.lnt.name} run {run} test {test}: non-finite "
                        f"{metric_of[k].name} samples skipped"
                    )
                    typed = tuple(v for v in typed if math.isfinite(v))
                    if not typed:
                        continue
                columns[k] = typed
                count += len(typed)
                cell_count += 1
                keys.add((run_key[1], test_id, metric_ids[k]))
            if run not in by_run:
                by_run[run] = (run_key, [])
            by_run[run][1].append((test_id, columns))
            profile = next((r[2] for r in reversed(block) if r[2] is not None), None)
            if profile is not None:
                profiles[(run, test)] = profile
        found = self._series(keys)
        field_of = {metric_id: k for k, metric_id in enumerate(metric_ids)}
        # (machine, test) -> the series of each field (None where it has no samples).
        series: dict[tuple[int, int], list[int | None]] = {}
        for (machine_id, test_id, metric_id), series_id in found.items():
            if metric_id in field_of:
                series.setdefault((machine_id, test_id), [None] * width)[field_of[metric_id]] = (
                    series_id
                )

        def cells(
            run_key: tuple[int, int, int, int], tests_: list[tuple[int, Columns]]
        ) -> Iterator[tuple[int, int, tuple[Any, ...], Any, Any]]:
            """(series, field index, values, statuses, binary hash) of one run."""
            machine_id = run_key[1]
            for test_id, columns in tests_:
                ids = series[(machine_id, test_id)]
                binary = columns[hash_index] if hash_index is not None else None
                for k, values in enumerate(columns):
                    if values is not None:
                        status = status_of[k]
                        yield (
                            ids[k],  # type: ignore[misc] # found or made by _series
                            k,
                            values,
                            columns[status] if status is not None else None,
                            binary[0] if binary else None,
                        )

        # One piece of data per run: the COPY reads whole runs (see ingest.copy_lines).
        # The loops are cells() unrolled, with the one-sample Real cell (most of them)
        # written in place: per cell, no tuple and one struct call (docs/performance.md).
        fields_range = range(width)
        one_head, one_samples = ONE_REAL_HEAD.pack, ONE_REAL_SAMPLES.pack
        field_count = len(POINT_COLUMNS)

        def point_records() -> Iterator[bytes]:
            for run_key, tests_ in by_run.values():
                run_id, machine_id, order_id, position = run_key
                records: list[bytes] = []
                add = records.append
                for test_id, columns in tests_:
                    ids = series[(machine_id, test_id)]
                    binary = columns[hash_index] if hash_index is not None else None
                    hash_bytes = hash_field(binary[0] if binary else None)
                    for k in fields_range:
                        values = columns[k]
                        if values is None:
                            continue
                        status = status_of[k]
                        statuses = columns[status] if status is not None else None
                        if real[k] and len(values) == 1 and not (statuses and FAIL in statuses):
                            # point_record's one valid Real sample (statuses are ints here).
                            v = values[0]
                            add(
                                one_head(
                                    *(field_count, 8, run_id, 8, ids[k], 8, order_id, 8, position),
                                    *(4, 1, 4, 1, 8, v, 8, v, 8, v, 8, v, -1, 1, 0),
                                )
                                + hash_bytes
                                + one_samples(9, REAL_TAG, v)
                            )
                        else:
                            add(
                                point_record(
                                    run_id,
                                    ids[k],  # type: ignore[arg-type] # found or made above
                                    order_id,
                                    position,
                                    types[k],
                                    values,
                                    statuses,
                                    binary[0] if binary else None,
                                )
                            )
                yield b"".join(records)

        if connection.vendor == "postgresql":
            with _secondary_indexes_rebuilt([Point], new_rows=cell_count):
                copy_lines(Point, POINT_COLUMNS, point_records())
        else:
            flat = [
                (run_key, cell)
                for run_key, tests_ in by_run.values()
                for cell in cells(run_key, tests_)
            ]
            insert_rows(
                Point,
                POINT_COLUMNS,
                [point_row(r[0], c[0], r[2], r[3], types[c[1]], c[2], c[3], c[4]) for r, c in flat],
            )
        # The per-run geometric means LNT's mean= graphs read, and the packed values
        # global status reads, as ingest writes them.
        imported = sorted({run_id for run_id, *_ in local_run.values()})
        run_geomeans_refresh(imported)
        run_values_refresh(imported)
        self.summary.samples += count
        if profiles:
            self._store_profiles(profiles, {lnt: key[0] for lnt, key in local_run.items()})

    def _series(self, keys: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
        machines = {m for m, _, _ in keys}
        tests = {t for _, t, _ in keys}

        def load() -> dict[tuple[int, int, int], int]:
            rows = Series.objects.filter(machine_id__in=machines, test_id__in=tests).values_list(
                "machine_id", "test_id", "metric_id", "id"
            )
            return {(m, t, k): i for m, t, k, i in rows}

        found = load()
        missing = keys - found.keys()
        if missing:
            Series.objects.bulk_create(
                [Series(machine_id=m, test_id=t, metric_id=k) for m, t, k in missing],
                ignore_conflicts=True,
            )
            found = load()
        return found

    def _store_profiles(
        self, wanted: dict[tuple[int, int], int], local_run: dict[int, int]
    ) -> None:
        """Profiles are files under LNT's ``data/profiles``; the row names the path it
        had on the LNT server, so the file is found here by its base name."""
        done = self._mapped("profile", set(wanted.values()))
        rows = {p.lnt_id: p for p in self.source.profiles(self.lnt, sorted(set(wanted.values())))}
        new, pairs = [], []
        for (run, test), profile_id in wanted.items():
            p = rows.get(profile_id)
            if profile_id in done or p is None or profile_id in pairs:
                continue
            data = self._profile_bytes(p.filename)
            if data is None:
                continue
            new.append(
                Profile(
                    run_id=local_run[run],
                    test_id=self.tests[test],
                    data=zlib.compress(data),
                    size=len(data),
                    counters=p.counters,
                )
            )
            pairs.append(profile_id)
        Profile.objects.bulk_create(new)
        self._record("profile", [(a, p.id) for a, p in zip(pairs, new, strict=True)])
        self.summary.profiles += len(new)

    def _profile_bytes(self, filename: str) -> bytes | None:
        name = Path(filename.replace("\\", "/")).name
        if self.profiles_dir is None or not name:
            self.summary.warnings.append(
                f"profile {filename!r}: no profiles directory given; skipped"
            )
            return None
        try:
            return (self.profiles_dir / name).read_bytes()
        except OSError:
            self.summary.warnings.append(
                f"profile {filename!r}: {name} is not in {self.profiles_dir}; skipped"
            )
            return None

    # --- changes, regressions, ignores, baselines ----------------------------------------

    def _field_changes(self) -> None:
        for chunk in self.source.field_changes(self.lnt):
            done = self._mapped("fieldchange", (c.lnt_id for c in chunk))
            todo = [c for c in chunk if c.lnt_id not in done]
            if todo:
                with transaction.atomic():
                    self._store_field_changes(todo)

    def _store_field_changes(self, todo: list[LntFieldChange]) -> None:
        usable = []
        for c in todo:
            if (
                c.machine_id in self.machines
                and c.test_id in self.tests
                and c.field_id in self.metrics
                and c.start_order_id in self.orders
                and c.end_order_id in self.orders
            ):
                usable.append(c)
            else:
                self.summary.warnings.append(
                    f"{self.lnt.name} field change {c.lnt_id}: refers to rows LNT no "
                    "longer has; skipped"
                )
        keys = {
            (self.machines[c.machine_id], self.tests[c.test_id], self.metrics[c.field_id].id)
            for c in usable
        }
        series = self._series(keys)
        runs = self._mapped("run", (c.run_id for c in usable if c.run_id is not None))
        existing = {
            (s, e): i
            for s, e, i in FieldChange.objects.filter(
                series_id__in=set(series.values())
            ).values_list("series_id", "end_order_id", "id")
        }
        pairs: list[tuple[int, int]] = []
        new: list[tuple[int, FieldChange]] = []
        made: dict[tuple[int, int], FieldChange] = {}  # created in this chunk
        again: list[tuple[int, tuple[int, int]]] = []  # LNT ids of a change made above
        for c in usable:
            metric = self.metrics[c.field_id]
            machine, test = self.machines[c.machine_id], self.tests[c.test_id]
            series_id = series[(machine, test, metric.id)]
            end_order, end_position = self.orders[c.end_order_id]
            if (series_id, end_order) in existing:  # this site found it too: one row
                pairs.append((c.lnt_id, existing[(series_id, end_order)]))
                continue
            if (series_id, end_order) in made:  # LNT recorded it twice: one row here
                again.append((c.lnt_id, (series_id, end_order)))
                continue
            delta = c.new_value - c.old_value
            relative = delta / abs(c.old_value) if c.old_value else 0.0
            change = FieldChange(
                series_id=series_id,
                machine_id=machine,
                test_id=test,
                metric_id=metric.id,
                start_order_id=self.orders[c.start_order_id][0],
                end_order_id=end_order,
                end_position=end_position,
                old_value=c.old_value,
                new_value=c.new_value,
                relative_change=relative,
                confidence=1.0,
                is_regression=(delta < 0) if metric.bigger_is_better else (delta > 0),
                method=FieldChange.IMPORTED,
                parameters={"lnt_id": c.lnt_id},
                run_id=runs.get(c.run_id) if c.run_id is not None else None,
            )
            made[(series_id, end_order)] = change
            new.append((c.lnt_id, change))
        FieldChange.objects.bulk_create([c for _, c in new])
        pairs += [(a, c.id) for a, c in new] + [(a, made[key].id) for a, key in again]
        self._record("fieldchange", pairs)
        self.summary.field_changes += len(new)

    def _regressions(self) -> None:
        for chunk in self.source.regressions(self.lnt):
            done = self._mapped("regression", (r.lnt_id for r in chunk))
            todo = [r for r in chunk if r.lnt_id not in done]
            if not todo:
                continue
            with transaction.atomic():
                changes = self._mapped("fieldchange", (i for r in todo for i in r.field_change_ids))
                rows = {
                    fc["id"]: fc
                    for fc in FieldChange.objects.filter(id__in=set(changes.values())).values(
                        "id",
                        "start_order_id",
                        "end_order_id",
                        "end_position",
                        "start_order__position",
                        "indicator",
                    )
                }
                new: list[tuple[int, Regression]] = []
                members: dict[int, list[int]] = {}
                for r in todo:
                    ids = [changes[i] for i in r.field_change_ids if changes.get(i) in rows]
                    if not ids:
                        self.summary.warnings.append(
                            f"{self.lnt.name} regression {r.lnt_id} {r.title!r}: no field "
                            "changes; skipped"
                        )
                        continue
                    first = min((rows[i] for i in ids), key=lambda fc: fc["start_order__position"])
                    last = max((rows[i] for i in ids), key=lambda fc: fc["end_position"])
                    new.append(
                        (
                            r.lnt_id,
                            Regression(
                                suite=self.suite,
                                title=r.title[:512] or f"LNT regression {r.lnt_id}",
                                bug=r.bug[:512],
                                state=r.state if r.state in STATES else Regression.DETECTED,
                                start_order_id=first["start_order_id"],
                                end_order_id=last["end_order_id"],
                                start_position=first["start_order__position"],
                                end_position=last["end_position"],
                                notified=True,  # LNT's users already know of it
                            ),
                        )
                    )
                    members[r.lnt_id] = [i for i in ids if rows[i]["indicator"] is None]
                created = _create_keeping_ids(Regression, new)
                indicators = [
                    RegressionIndicator(regression_id=local, field_change_id=fc)
                    for lnt_id, local in created
                    for fc in dict.fromkeys(members[lnt_id])
                ]
                RegressionIndicator.objects.bulk_create(indicators)
                RegressionEvent.objects.bulk_create(
                    RegressionEvent(
                        regression_id=local, action="created", detail={"lnt_id": lnt_id}
                    )
                    for lnt_id, local in created
                )
                self._record("regression", created)
                self.summary.regressions += len(created)
                self.summary.indicators += len(indicators)

    def _ignores(self) -> None:
        lnt_ids = self.source.ignored_changes(self.lnt)
        if not lnt_ids:
            return
        with transaction.atomic():
            changes = self._mapped("fieldchange", lnt_ids)
            have = set(
                ChangeIgnore.objects.filter(field_change_id__in=changes.values()).values_list(
                    "field_change_id", flat=True
                )
            )
            new = [
                ChangeIgnore(field_change_id=i, reason="ignored in LNT")
                for i in dict.fromkeys(changes.values())
                if i not in have
            ]
            ChangeIgnore.objects.bulk_create(new)
            self.summary.ignores += len(new)

    @transaction.atomic
    def _baselines(self) -> None:
        """LNT's baseline is an order, and so it is here: the order it names, mapped."""
        done = self._mapped("baseline")
        names = set(Baseline.objects.filter(suite=self.suite).values_list("name", flat=True))
        rows = [row for row in self.source.baselines(self.lnt) if row[0] not in done]
        orders = self._mapped("order", [order_id for *_, order_id in rows])
        for lnt_id, name, _comment, lnt_order in rows:
            order = orders.get(lnt_order)
            if order is None or name[:128] in names:
                self.summary.warnings.append(
                    f"{self.lnt.name} baseline {name!r}: its order is unknown, or the name is "
                    "taken; skipped"
                )
                continue
            baseline = Baseline.objects.create(suite=self.suite, name=name[:128], order_id=order)
            names.add(baseline.name)
            self._record("baseline", [(lnt_id, baseline.id)])
            self.summary.baselines += 1


# How LNT's stored values become the samples of each metric type.
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    Metric.REAL: float,
    Metric.STATUS: int,
    Metric.HASH: str,
}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a chunk's rows are built: they are
    hundreds of thousands of small tuples and lists, none in a cycle, and each
    collection would walk them all again (docs/performance.md has the figure)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# A secondary index is rebuilt rather than kept up to date while a chunk's rows go in
# when the table holds at most this many times the chunk's rows: inserting into the
# (series, position) index costs ~10 us a row (its entries land all over it), building
# it afresh ~1 us a row of the whole table (docs/performance.md, "import_lnt_db").
REBUILD_MAX_RATIO = 3


@contextmanager
def _secondary_indexes_rebuilt(
    model_list: list[type[models.Model]], *, new_rows: int
) -> Iterator[None]:
    """Drop the secondary indexes (neither primary key nor unique) of ``model_list``'s
    tables for the block, and build them again after it, when the tables are small
    next to the ``new_rows`` about to go in (PostgreSQL; a no-op elsewhere).

    Safe because it happens inside the caller's transaction: the drop, the rows and
    the rebuild commit together or not at all, and no other session ever sees a table
    without its index (it waits on the lock until the chunk commits: the price of a
    bulk import into an empty or small site).  Uniqueness is never relaxed.
    """
    if connection.vendor != "postgresql" or not new_rows or REBUILD_MAX_RATIO <= 0:
        yield
        return
    assert connection.in_atomic_block, "the indexes must come back in the same transaction"
    limit = REBUILD_MAX_RATIO * new_rows
    restore: list[str] = []  # what puts each one back
    with connection.cursor() as cursor:
        for model in model_list:
            table = model._meta.db_table
            # Counted up to the limit only: bounded whatever the table's size.
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {connection.ops.quote_name(table)} "  # noqa: S608 - a model's table
                "LIMIT %s) AS head",
                [limit + 1],
            )
            if cursor.fetchone()[0] > limit:
                continue
            quoted = connection.ops.quote_name(table)
            # Unique constraints (not the primary key): dropped and added back, which
            # checks every row of the table again before the chunk can commit.
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            for name, definition in cursor.fetchall():
                name = connection.ops.quote_name(name)
                cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {name}")
                restore.append(f"ALTER TABLE {quoted} ADD CONSTRAINT {name} {definition}")
            # Plain indexes (those no constraint owns).
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                restore.append(definition)
    # No ``finally``: when the block fails, the rollback of the caller's transaction
    # is what brings them back (a statement here would fail in the aborted transaction).
    yield
    with connection.cursor() as cursor:
        for statement in restore:
            cursor.execute(statement)


def _create_keeping_ids(
    model: type[models.Model], rows: list[tuple[int, Any]]
) -> list[tuple[int, int]]:
    """Insert ``rows`` ((LNT id, unsaved instance)); each keeps its LNT id as its id when
    that id is free.  Returns (LNT id, local id) pairs.

    The rows that keep their id go first and the sequence is then moved past them, so
    the rows that need a new id cannot be given one of those.
    """
    if not rows:
        return []
    taken = set(
        model._default_manager.filter(pk__in=[i for i, _ in rows]).values_list("pk", flat=True)
    )
    keep, fresh = [], []
    for lnt_id, obj in rows:
        if lnt_id in taken:
            fresh.append(obj)
        else:
            obj.pk = lnt_id
            taken.add(lnt_id)
            keep.append(obj)
    model._default_manager.bulk_create(keep)
    sequences_sync([model])
    model._default_manager.bulk_create(fresh)
    return [(lnt_id, obj.pk) for lnt_id, obj in rows]


def sequences_sync(model_list: list[type[models.Model]]) -> None:
    """Move the id sequences of ``model_list`` past their largest id (PostgreSQL; SQLite's
    AUTOINCREMENT already follows explicit ids)."""
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
