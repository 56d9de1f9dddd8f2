"""The only code that writes runs.

``run_import`` takes a validated ``Report`` and stores it in one transaction with
bulk inserts: a constant number of queries whatever the number of tests and
whatever the length of the history.  When the transaction commits, the run id is
handed to the entry point's ``enqueue`` callback (which publishes the detection
task; this module never imports tasks); if the broker cannot take it, the run stays
``pending`` and the periodic sweep picks it up.
"""

from __future__ import annotations

import json
import logging
import math
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from typing import Any, Literal

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F

from lntsite.db.postgresql import allow
from lntsite.db.queue import DatabaseQueue

from ..analysis.summary import figures, status_metric_name, summarize, worst_status
from ..formats import (
    FormatError,
    Report,
    SuiteSchema,
    TestResult,
    decode_report,
    parse_report,
    report_digest,
    revision_sort_key,
)
from ..formats.run_values import level_mean
from ..formats.samples import REAL_TAG, STATUS_TAG, pack_samples
from ..formats.types import STATUS_FAIL
from ..models import (
    Machine,
    Metric,
    Order,
    Point,
    Profile,
    Run,
    RunValues,
    Series,
    Test,
    TestSuite,
)
from .geomeans import run_geomeans_save
from .runs import derived_remove
from .runvalues import Kept, run_values_packed, run_values_save
from .suites import suite_schemas

log = logging.getLogger(__name__)

MergePolicy = Literal["reject", "replace", "append"]
MachinePolicy = Literal["match", "update", "split"]
MERGE_POLICIES: tuple[str, ...] = ("reject", "replace", "append")
MACHINE_POLICIES: tuple[str, ...] = ("match", "update", "split")

# Orders are spaced this far apart, so that ~32 revisions can be inserted between two
# neighbours before a range has to be renumbered.
POSITION_GAP = 1 << 32
SPLIT_SEPARATOR = "~"  # split machines are named "<name>~2", "<name>~3", ...
COPY_MIN_ROWS = 500  # insert_rows switches to COPY on PostgreSQL from this many rows
# Column order of the rows ingest writes (bench/ loaders write the same rows with COPY).
POINT_COLUMNS = [
    "run_id",
    "series_id",
    "order_id",
    "position",
    "count",
    "valid_count",
    "value",
    "mean",
    "minimum",
    "maximum",
    "stdev",
    "failed",
    "hash",
    "samples",
]
_POINT_VALUE, _POINT_FAILED = POINT_COLUMNS.index("value"), POINT_COLUMNS.index("failed")
_POINT_MEAN = POINT_COLUMNS.index("mean")


class ImportRefused(Exception):
    """The report is valid but cannot be stored as asked (duplicate, machine mismatch)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class ImportResult:
    run_id: int
    suite: str
    machine_id: int
    machine_name: str
    order_label: str
    added_machines: int = 0
    added_runs: int = 0
    added_tests: int = 0
    added_samples: int = 0
    replaced_run: bool = False
    # True when an identical report (perf.formats.report_digest) was already stored as
    # this run: nothing was written, the stored run is the answer (a client's retry).
    already_stored: bool = False
    seconds: float = 0.0  # time spent storing the run
    warnings: list[str] = field(default_factory=list)
    # The report stored (or found already stored) as this run: submitRun's answer
    # compares it with the previous run without reading the new run back.
    report: Report | None = field(default=None, repr=False, compare=False)


def run_import(
    report: Report,
    schema: SuiteSchema,
    *,
    merge: MergePolicy = "reject",
    select_machine: MachinePolicy = "match",
    source: str = "api",
    source_detail: str = "",
    dry_run: bool = False,
    detect: bool = True,
    enqueue: Callable[[int], Any] | None = None,
) -> ImportResult:
    """Store ``report`` (already validated against ``schema``) as one run.

    ``merge`` decides what happens when the machine already has a run at this order:
    ``reject`` refuses (nothing is written), ``replace`` deletes the old run's samples
    and derived changes and keeps its id, ``append`` keeps both.  ``select_machine``
    decides what happens when the machine exists with other field values: ``match``
    refuses, ``update`` overwrites them, ``split`` stores the run on a new machine
    named ``<name>~N``.  ``dry_run`` does everything and rolls back.  ``detect=False``
    leaves the run pending without enqueueing it (bulk loads detect afterwards, per
    machine, with ``detection.machine_detect_all``).  Otherwise ``enqueue(run_id)`` is
    registered with ``transaction.on_commit``: it runs after the run is committed, never
    inside the transaction, and its failure cannot undo the stored run.  Without
    ``enqueue`` the run is left pending for the periodic sweep.
    Raises ImportRefused; any exception leaves the database as it was.
    """
    if merge not in MERGE_POLICIES:
        raise ImportRefused(f"merge must be one of {', '.join(MERGE_POLICIES)}, got {merge!r}")
    if select_machine not in MACHINE_POLICIES:
        raise ImportRefused(
            f"select_machine must be one of {', '.join(MACHINE_POLICIES)}, got {select_machine!r}"
        )
    started = time.monotonic()
    with transaction.atomic():
        result = _import(report, schema, merge, select_machine, source, source_detail)
        result.seconds = time.monotonic() - started
        result.report = report
        if dry_run:
            transaction.set_rollback(True)
            return result
        run_id = result.run_id
        if detect and enqueue is not None and not result.already_stored:
            callback = enqueue
            transaction.on_commit(lambda: callback(run_id), robust=True)
    return result


# Session settings of ``import_run`` (PostgreSQL, ``bulk_session``): a report's commit
# does not wait for its WAL to reach the disk.  A crash of the server may lose the
# last reports committed, never part of one; importing the same files again stores
# them (the others answer "already stored").  Durability, not consistency, is traded.
IMPORT_RUN_SETTINGS = {"synchronous_commit": "off"}


@contextmanager
def bulk_session(session_settings: Mapping[str, str]) -> Iterator[None]:
    """These session settings for the connection (PostgreSQL; elsewhere nothing),
    RESET afterwards to the connection's own.  For commands that write in bulk."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        for name, value in session_settings.items():
            cursor.execute(f"SET {name} = %s", [value])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name in session_settings:
                cursor.execute(f"RESET {name}")


def report_import(
    raw: bytes | str,
    *,
    suite: str | None = None,
    merge: str = "reject",
    select_machine: str = "match",
    source: str = "api",
    source_detail: str = "",
    dry_run: bool = False,
    allowed_machine: str = "",
    detect: bool = True,
    enqueue: Callable[[int], Any] | None = None,
) -> ImportResult:
    """Parse a report as it came on the wire and store it: what every entry point calls.

    ``suite`` None means the v1 tag, else ``nts``.  ``allowed_machine``, when set, is
    the only machine name accepted (a token bound to a machine).  Raises FormatError
    for a malformed report and ImportRefused when it cannot be stored as asked.
    """
    if merge not in MERGE_POLICIES:
        raise FormatError(f"merge must be one of {', '.join(MERGE_POLICIES)}, got {merge!r}")
    if select_machine not in MACHINE_POLICIES:
        raise FormatError(
            f"select_machine must be one of {', '.join(MACHINE_POLICIES)}, got {select_machine!r}"
        )
    schemas = suite_schemas()
    # Decoded first and the bytes dropped, so the parse does not hold them next to
    # the text (freed now if the caller handed over its only reference, as the
    # submission views do); the parse frees the text once it is done with it, not
    # after the report is stored.
    decoded = decode_report(raw)
    del raw
    report = parse_report(decoded, schemas, suite=suite)
    if allowed_machine and allowed_machine != report.machine_name:
        raise ImportRefused(
            f"this token may only submit machine {allowed_machine!r}, not {report.machine_name!r}",
            status=403,
        )
    return run_import(
        report,
        schemas[report.suite],
        merge=merge,  # type: ignore[arg-type]
        select_machine=select_machine,  # type: ignore[arg-type]
        source=source,
        source_detail=source_detail,
        dry_run=dry_run,
        detect=detect,
        enqueue=enqueue,
    )


def _import(
    report: Report,
    schema: SuiteSchema,
    merge: str,
    select_machine: str,
    source: str,
    source_detail: str,
) -> ImportResult:
    # The suite comes with its metrics (one query); a suite without metrics is looked up.
    metrics = {
        m.name: m for m in Metric.objects.filter(suite__name=schema.name).select_related("suite")
    }
    suite = (
        next(iter(metrics.values())).suite
        if metrics
        else TestSuite.objects.filter(name=schema.name).first()
    )
    if suite is None:
        raise ImportRefused(f"unknown test suite {schema.name!r}", status=404)

    machine, added_machine = _select_machine(suite, report, select_machine)
    order = order_get_or_create(suite, report.order, schema.order_fields)
    # A report of more than one chunk is written from a second thread (PostgreSQL):
    # a smaller one has too little to overlap, and handing its few statements to a
    # thread made a 1,000-test import 15 % slower (README "Big reports").
    parallel = connection.vendor == "postgresql" and len(report.tests) > STORE_CHUNK_TESTS
    with DatabaseQueue(parallel=parallel) as db:
        # The first chunks' tests and series are looked up (made, if missing) while
        # the digest is computed; a refusal or a retry below rolls them back or finds
        # them all there.
        chunks = _ChunkLookups(db, suite, machine, report.tests, metrics, added_machine)
        digest = report_digest(report)
        db.drain()  # the connection is this thread's alone again
        return _import_run(
            suite, machine, added_machine, order, report, schema, metrics, chunks, digest,
            merge, source, source_detail,
        )


def _import_run(
    suite: TestSuite,
    machine: Machine,
    added_machine: bool,
    order: Order,
    report: Report,
    schema: SuiteSchema,
    metrics: dict[str, Metric],
    chunks: _ChunkLookups,
    digest: str,
    merge: str,
    source: str,
    source_detail: str,
) -> ImportResult:
    """``_import`` once the machine and order are known and the report's digest is:
    its retry check, its run, its samples (``chunks`` queued on a ``DatabaseQueue``
    with nothing pending)."""
    stored = list(
        Run.objects.filter(machine=machine, order=order)
        .order_by("id")
        .values_list("id", "report_digest")
    )
    same = next((run_id for run_id, d in stored if d == digest), None)
    if same is not None:  # a retry of the identical report: answer the stored run
        return _result(same, suite, machine, order, report, already_stored=True)
    existing = [run_id for run_id, _ in stored]
    now = datetime.now(UTC).replace(tzinfo=None)  # report times are naive UTC too
    start = report.start_time or now
    end = report.end_time or start
    run_values = {
        "start_time": start.replace(tzinfo=UTC),
        "end_time": end.replace(tzinfo=UTC),
        "run_fields": report.run_fields,
        "parameters": report.run_parameters,
        "source": source,
        "source_detail": source_detail[:512],
        "detection_state": Run.PENDING,
        "detection_attempts": 0,
        "detection_error": "",
        "detected_at": None,
        "detection_queued_at": None,
        "detection_next_attempt_at": None,
        "detection_started_at": None,  # a replaced run's new data is detected anew
        "report_digest": digest,
    }
    replaced = False
    if existing and merge == "reject":
        raise ImportRefused(
            f"duplicate run: machine {machine.name!r} already has run {existing[0]} at order "
            f"{order.label!r}; submit with merge=replace to replace it or merge=append to add "
            "its samples",
            status=409,
        )
    if existing and merge == "replace":
        run_id = existing[0]
        # The changes at this order came from the data being replaced: removed as for a
        # deleted run (regressions settled); the run's detection redoes its window.
        _lock_suite(suite)
        derived_remove(machine.id, [order.position], why=f"run {run_id} was replaced")
        _delete_run_data(existing)
        Run.objects.filter(id__in=existing[1:]).delete()
        Run.objects.filter(id=run_id).update(**run_values)
        replaced = True
    else:
        run_id = Run.objects.create(
            suite=suite, machine=machine, order=order, position=order.position, **run_values
        ).id

    added_tests, added_samples = _store_samples(
        chunks, order, run_id, metrics, fresh=not replaced
    )
    return _result(
        run_id,
        suite,
        machine,
        order,
        report,
        added_machines=int(added_machine),
        added_runs=0 if replaced else 1,
        added_tests=added_tests,
        added_samples=added_samples,
        replaced_run=replaced,
    )


def _result(
    run_id: int, suite: TestSuite, machine: Machine, order: Order, report: Report, **counts: Any
) -> ImportResult:
    return ImportResult(
        run_id=run_id,
        suite=suite.name,
        machine_id=machine.id,
        machine_name=machine.name,
        order_label=order.label,
        warnings=list(report.warnings),
        **counts,
    )


def _delete_run_data(run_ids: list[int]) -> None:
    """Remove what was stored for these runs (their rows stay or go above)."""
    Point.objects.filter(run_id__in=run_ids).delete()
    Profile.objects.filter(run_id__in=run_ids).delete()


# --- machines ----------------------------------------------------------------------


def _lock_suite(suite: TestSuite) -> None:
    """Serialise creations of orders (and replacements) within one suite; held to commit.

    ``FOR NO KEY UPDATE``: lockers wait for each other, but a concurrent import's
    foreign-key checks on the suite row (inserting its run) do not wait for the lock.
    Lock order: a machine's row first, then the suite's (never the other way round).

    An import that created an order holds the row until it commits: for a 90,000-test
    report on a loaded machine, longer than the statement timeout.  On PostgreSQL
    this one wait may last ``PERF_SUITE_LOCK_WAIT_MS`` (README "Big reports"), so two
    big submissions at once (two new machines, or bots at a new revision) are stored
    one after the other instead of the second answering 503.
    """
    if connection.vendor != "postgresql":
        TestSuite.objects.select_for_update(no_key=True).filter(pk=suite.pk).values_list(
            "pk"
        ).first()
        return
    _wait_long("SELECT id FROM perf_testsuite WHERE id = %s FOR NO KEY UPDATE", [suite.pk])


def _wait_long(sql: str, params: list[Any], answer: str = "NULL") -> Any:
    """Run one statement that may wait for another import's commit for as long as
    ``PERF_SUITE_LOCK_WAIT_MS``, in one round trip: keep the timeout, raise it, run
    the statement, restore.  Returns ``answer``, an expression evaluated after it
    (psycopg2 sees only the last statement's rows)."""
    sql = (
        "SELECT set_config('lntsite.statement_timeout', current_setting('statement_timeout'),"
        " true), set_config('statement_timeout', %s, true);"
        f" {sql};"
        " SELECT set_config('statement_timeout',"
        f" current_setting('lntsite.statement_timeout'), true), {answer}"
    )
    # The client-side bound of a request's round trips (lntsite/db/postgresql.py) lets
    # this one wait as long as the server does.
    with connection.cursor() as cursor, allow(settings.PERF_SUITE_LOCK_WAIT_MS / 1000):
        cursor.execute(sql, [f"{settings.PERF_SUITE_LOCK_WAIT_MS}ms", *params])
        return cursor.fetchone()[1]


def _machine_conflicts(machine: Machine, report: Report) -> list[str]:
    """Values the report gives that differ from the machine's non-empty ones.

    Fields and free parameters both count, as in LNT; a key the report leaves out,
    or one the machine did not have, is not a conflict.
    """
    conflicts = []
    for stored, given in (
        (machine.fields, report.machine_fields),
        (machine.parameters, report.machine_parameters),
    ):
        for key, value in given.items():
            old = stored.get(key)
            if old not in (None, "") and value not in (None, "") and old != value:
                conflicts.append(f"{key} {old!r} != {value!r}")
    return conflicts


def _select_machine(suite: TestSuite, report: Report, policy: str) -> tuple[Machine, bool]:
    name = report.machine_name
    # Locking the machine row serialises submissions of one machine, so two
    # concurrent "reject" submissions of the same order cannot both pass the check.
    # NO KEY: the lock does not make other writers' foreign-key checks wait (detection
    # inserting the machine's changes, say).
    locked = Machine.objects.select_for_update(no_key=True)
    candidates = list(
        locked.filter(suite=suite, name__startswith=name)
        if policy == "split"
        else locked.filter(suite=suite, name=name)
    )
    candidates = [
        m
        for m in candidates
        if m.name == name
        or (m.name.startswith(name + SPLIT_SEPARATOR) and m.name[len(name) + 1 :].isdigit())
    ]
    exact = next((m for m in candidates if m.name == name), None)
    if exact is None:
        return _create_machine(suite, name, report)
    conflicts = _machine_conflicts(exact, report)
    if not conflicts:
        _merge_machine_info(exact, report, overwrite=False)
        return exact, False
    if policy == "match":
        raise ImportRefused(
            f"machine {name!r} exists with different fields ({'; '.join(conflicts)}); "
            "submit with select_machine=update to overwrite them or select_machine=split "
            "to store the run on a new machine",
            status=409,
        )
    if policy == "update":
        _merge_machine_info(exact, report, overwrite=True)
        return exact, False
    # split: reuse a split machine whose fields match, else make the next one.
    for m in candidates:
        if m is not exact and not _machine_conflicts(m, report):
            _merge_machine_info(m, report, overwrite=False)
            return m, False
    numbers = [int(m.name[len(name) + 1 :]) for m in candidates if m is not exact]
    split_name = f"{name}{SPLIT_SEPARATOR}{max(numbers, default=1) + 1}"
    return _create_machine(suite, split_name, report)


def _create_machine(suite: TestSuite, name: str, report: Report) -> tuple[Machine, bool]:
    """The new machine and True; or, when a concurrent submission created it
    meanwhile, that one (locked) and False: it may have runs and series already.

    No suite lock here: a submission that finds the name being inserted waits on the
    unique index for the inserter's commit, holding no lock (one holding the suite's
    and waiting for the machine's deadlocked with one holding the machine's and
    waiting for the suite's to add an order).  That wait may be as long as a big
    import, hence ``PERF_SUITE_LOCK_WAIT_MS`` on PostgreSQL.
    """
    if connection.vendor == "postgresql":
        # The new row's id, or '' when the name was taken, kept in a setting.
        created = _wait_long(
            "WITH new AS (INSERT INTO perf_machine (suite_id, name, fields, parameters,"
            " created_at) VALUES (%s, %s, %s::jsonb, %s::jsonb, now())"
            " ON CONFLICT (suite_id, name) DO NOTHING RETURNING id)"
            " SELECT set_config('lntsite.new_machine', coalesce(max(id)::text, ''), true)"
            " FROM new",
            [
                suite.pk,
                name,
                json.dumps(report.machine_fields),
                json.dumps(report.machine_parameters),
            ],
            answer="current_setting('lntsite.new_machine')",
        )
        if created:
            machine = Machine(
                id=int(created),
                suite=suite,
                name=name,
                fields=report.machine_fields,
                parameters=report.machine_parameters,
            )
            machine._state.adding, machine._state.db = False, connection.alias
            return machine, True
    else:
        try:
            with transaction.atomic():
                return Machine.objects.create(
                    suite=suite,
                    name=name,
                    fields=report.machine_fields,
                    parameters=report.machine_parameters,
                ), True
        except IntegrityError:
            pass
    return Machine.objects.select_for_update(no_key=True).get(suite=suite, name=name), False


def _merge_machine_info(machine: Machine, report: Report, *, overwrite: bool) -> None:
    fields = dict(machine.fields)
    params = dict(machine.parameters)
    if overwrite:
        fields.update(report.machine_fields)
    else:
        for k, v in report.machine_fields.items():
            if fields.get(k) in (None, ""):
                fields[k] = v
    params.update(report.machine_parameters)
    if fields != machine.fields or params != machine.parameters:
        machine.fields, machine.parameters = fields, params
        machine.save(update_fields=["fields", "parameters"])


# --- orders ------------------------------------------------------------------------


def order_key(values: dict[str, str], order_fields: tuple[str, ...]) -> str:
    return "\x1f".join(values[f] for f in order_fields)


def order_sort_key(values: dict[str, str], order_fields: tuple[str, ...]) -> str | None:
    """A string that sorts like the revisions, or None when one is not numeric."""
    parts = []
    for f in order_fields:
        ints = revision_sort_key(values[f])
        if ints is None or any(i >= 10**20 for i in ints):
            return None
        parts.append(".".join(f"{i:020d}" for i in ints))
    key = "|".join(parts)
    return key if len(key) <= 512 else None


def order_get_or_create(
    suite: TestSuite, values: dict[str, str], schema_fields: tuple[str, ...]
) -> Order:
    key = order_key(values, schema_fields)
    order = Order.objects.filter(suite=suite, key=key).first()
    if order is not None:
        return order
    _lock_suite(suite)
    order = Order.objects.filter(suite=suite, key=key).first()  # created while we waited?
    if order is not None:
        return order
    sort_key = order_sort_key(values, schema_fields)
    position = _new_position(suite, sort_key)
    return Order.objects.create(
        suite=suite, fields=values, key=key, sort_key=sort_key, position=position
    )


def _new_position(suite: TestSuite, sort_key: str | None) -> int:
    """A position for a new order between its neighbours (caller holds the suite lock).

    One query: the suite's last position and the positions of the orders that sort
    just after and just before ``sort_key``."""
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(position) FROM {table} WHERE suite_id = %s), "  # noqa: S608 - quoted table name, values bound
            f"(SELECT position FROM {table} WHERE suite_id = %s AND sort_key > %s "
            "ORDER BY sort_key LIMIT 1), "
            f"(SELECT position FROM {table} WHERE suite_id = %s AND sort_key < %s "
            "ORDER BY sort_key DESC LIMIT 1)",
            [suite.id, suite.id, sort_key, suite.id, sort_key],
        )
        last, nxt, prev = cursor.fetchone()
    if last is None:
        return 0
    if sort_key is None or nxt is None:
        return last + POSITION_GAP
    if prev is None:
        return nxt - POSITION_GAP
    if nxt - prev >= 2:
        return (prev + nxt) // 2
    _shift_positions(suite, nxt, POSITION_GAP)
    return prev + POSITION_GAP // 2


def _shift_positions(suite: TestSuite, from_position: int, delta: int) -> None:
    """Renumber: move every order at or after ``from_position`` (rare; all in SQL)."""
    from ..models import FieldChange, Regression

    moved = Order.objects.filter(suite=suite, position__gte=from_position)
    # Points through their runs (the run index): perf_point has no index on order_id.
    moved_runs = Run.objects.filter(order__in=moved.values("id")).values("id")
    Point.objects.filter(run__in=moved_runs).update(position=F("position") + delta)
    Run.objects.filter(order__in=moved.values("id")).update(position=F("position") + delta)
    FieldChange.objects.filter(end_order__in=moved.values("id")).update(
        end_position=F("end_position") + delta
    )
    Regression.objects.filter(start_order__in=moved.values("id")).update(
        start_position=F("start_position") + delta
    )
    Regression.objects.filter(end_order__in=moved.values("id")).update(
        end_position=F("end_position") + delta
    )
    moved.update(position=F("position") + delta)


# --- samples -----------------------------------------------------------------------


# Tests handled per round of queries: a run of up to this many tests takes the six
# queries below; a bigger one takes six per chunk, so that no statement (and no list
# of rows held in memory) grows with the report.
STORE_CHUNK_TESTS = 10_000


class _ChunkLookups:
    """A report's tests in chunks of ``STORE_CHUNK_TESTS``, each with its ids
    (``_chunk_ids``), looked up on ``db`` ``AHEAD`` chunks before the chunk is stored:
    while the server works on them, the caller computes the digest (the first chunks)
    or builds a chunk's point records (the others).  At most ``AHEAD`` + 1 chunks'
    ids and records are held."""

    AHEAD = 2

    def __init__(
        self,
        db: DatabaseQueue,
        suite: TestSuite,
        machine: Machine,
        tests: Sequence[TestResult],
        metrics: dict[str, Metric],
        new_machine: bool,
    ) -> None:
        self.db = db
        self._lookup = partial(
            _chunk_ids, suite=suite, machine=machine, metrics=metrics, new_machine=new_machine
        )
        self._chunks = deque(
            tests[start : start + STORE_CHUNK_TESTS]
            for start in range(0, len(tests), STORE_CHUNK_TESTS)
        )
        self._pending: deque[tuple[Sequence[TestResult], Future[_ChunkIds]]] = deque()
        if db.parallel:  # inline, a lookup would only run sooner, not meanwhile
            self._fill()

    def _fill(self) -> None:
        while len(self._pending) < self.AHEAD and self._chunks:
            chunk = self._chunks.popleft()
            self._pending.append((chunk, self.db.submit(self._lookup, chunk)))

    def __iter__(self) -> Iterator[tuple[Sequence[TestResult], _ChunkIds]]:
        """Each chunk with its ids, the next lookups queued before it is stored."""
        self._fill()
        while self._pending:
            chunk, future = self._pending.popleft()
            self._fill()
            yield chunk, future.result()


def _store_samples(
    chunks: _ChunkLookups,
    order: Order,
    run_id: int,
    metrics: dict[str, Metric],
    *,
    fresh: bool,
) -> tuple[int, int]:
    """Insert tests, series, samples, points, the run's geometric means and its packed
    values, ``STORE_CHUNK_TESTS`` tests at a time: a bounded number of queries per chunk
    whatever its size (``_insert_new``), and one for the means and one for the values
    (two each when the run is not ``fresh``, i.e. replaced: its old rows are removed).
    Returns (tests added, samples stored).

    The statements run on the ``chunks``' queue (a second thread on PostgreSQL): while
    the server stores one chunk's points and looks up the next chunks' tests and
    series, this thread builds the next chunk's point records (README "Big reports")."""
    db = chunks.db
    added_tests = added_samples = 0
    status_metrics = {name: status_metric_name(name, metrics) for name in metrics}
    logs: dict[int, tuple[float, int]] = {}
    kept: dict[int, tuple[list[int], list[float | None], list[float | None], list[int]]] = {
        m.id: ([], [], [], []) for m in metrics.values()
    }
    for chunk, ids in chunks:
        added_tests += ids.added_tests
        store, count = _chunk_points(
            order, run_id, chunk, ids, metrics, status_metrics, logs, kept, built=db.parallel
        )
        db.submit(store)
        added_samples += count
    # The run's geometric means, for LNT's mean= graph (see services/geomeans.py).
    db.submit(run_geomeans_save, run_id, logs, fresh=fresh)
    # Its values packed a metric a row, for global status (see services/runvalues.py).
    # Every metric of the suite gets a row, empty when the run has no point of it: a
    # reader then knows the run was packed (no fall back to its points).
    db.submit(run_values_store, run_id, kept, fresh=fresh)
    db.drain()
    return added_tests, added_samples


def run_values_store(run_id: int, kept: Kept, *, fresh: bool) -> None:
    """``services.runvalues.run_values_save``; for a new run on PostgreSQL (no rows to
    replace) its rows COPYed in binary, a metric at a time: an INSERT's parameters go
    as hex text, several copies at once, 100 MB of a 90,000-test report's peak
    memory (README "Big reports").  One statement either way."""
    if not (fresh and connection.vendor == "postgresql"):
        run_values_save(run_id, kept, fresh=fresh)
        return
    copy_lines(
        RunValues,
        RUN_VALUES_COLUMNS,
        (binary_record((run_id, *row), RUN_VALUES_ENCODERS) for row in run_values_packed(kept)),
    )


def _test_ids(suite: TestSuite, names: list[str]) -> tuple[dict[str, int], int]:
    """The ids of these tests of the suite, creating the missing ones (and their count)."""
    tests = dict(_select_any(Test, ["name", "id"], {"suite_id": suite.id}, "name", names))
    missing = [n for n in names if n not in tests]
    if missing:
        # A concurrent submission may create the same tests (_insert_new).
        inserted = _insert_new(
            Test, {"suite_id": [suite.id] * len(missing), "name": missing}, ["name", "id"]
        )
        if inserted is not None and len(inserted) == len(missing):
            tests.update(inserted)
        else:  # not PostgreSQL, or some were created meanwhile: read them all
            tests = dict(_select_any(Test, ["name", "id"], {"suite_id": suite.id}, "name", names))
    return tests, len(missing)


def _select_any(
    model: type[models.Model],
    columns: list[str],
    equal: dict[str, Any],
    column: str,
    values: Iterable[Any],
) -> list[tuple[Any, ...]]:
    """``columns`` of ``model``'s rows whose fields match ``equal`` and whose
    ``column`` is one of ``values``.

    On PostgreSQL with one array parameter (``column = ANY(%s)``; the same index
    serves it): Django's ``__in`` binds, and first prepares, every one of thousands
    of values in Python (0.13 s for 5,000 tests, docs/performance.md).
    """
    values = list(values)
    if connection.vendor != "postgresql":
        return list(
            model._default_manager.filter(**equal, **{f"{column}__in": values}).values_list(
                *columns
            )
        )
    qn = connection.ops.quote_name
    fields = {name: model._meta.get_field(name) for name in [*columns, *equal, column]}
    where = [f"{qn(fields[name].column)} = %s" for name in equal]
    where.append(f"{qn(fields[column].column)} = ANY(%s::{_db_type(fields[column])}[])")
    sql = (
        f"SELECT {', '.join(qn(fields[c].column) for c in columns)} "  # noqa: S608 - identifiers quoted, values bound
        f"FROM {qn(model._meta.db_table)} WHERE {' AND '.join(where)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*equal.values(), values])
        return cursor.fetchall()


def _db_type(field: Any) -> str:
    """The database type of a column (a foreign key's is its target's)."""
    return (field.rel_db_type(connection) if field.is_relation else field.db_type(connection)) or ""


def _insert_ignoring_conflicts(
    model: type[models.Model], columns: dict[str, list[Any]], returning: list[str]
) -> list[tuple[Any, ...]] | None:
    """Insert rows given column by column, skipping those a unique constraint refuses;
    the ``returning`` columns of the rows inserted (not of those skipped), or None
    where the database cannot say (then the caller reads them).

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays) ... RETURNING``: a
    statement of a few parameters however many rows, where ``bulk_create`` builds a
    model instance and binds every value of every row (most of a first submission's
    time at 90,000 tests), and no second query for the new ids.  Elsewhere
    ``bulk_create(ignore_conflicts=True)``.
    """
    if connection.vendor != "postgresql":
        rows = zip(*columns.values(), strict=True)
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows],
            ignore_conflicts=True,
        )
        return None
    return _insert_rows_returning(model, columns, returning, conflicts=True)


def _insert_rows_returning(
    model: type[models.Model],
    columns: dict[str, list[Any]],
    returning: list[str],
    *,
    conflicts: bool,
) -> list[tuple[Any, ...]]:
    """PostgreSQL's ``INSERT ... SELECT FROM unnest(arrays) RETURNING``, with
    ``ON CONFLICT DO NOTHING`` when ``conflicts`` (the rows skipped are not returned)."""
    fields = [model._meta.get_field(name.removesuffix("_id")) for name in columns]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    types = [_db_type(f) for f in fields]
    arrays = ", ".join(f"%s::{db_type}[]" for db_type in types)
    table = connection.ops.quote_name(model._meta.db_table)
    returned = ", ".join(
        connection.ops.quote_name(model._meta.get_field(name).column) for name in returning
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "  # noqa: S608 - identifiers quoted, values bound
            + ("ON CONFLICT DO NOTHING " if conflicts else "")
            + f"RETURNING {returned}",
            list(columns.values()),
        )
        return cursor.fetchall()


def _insert_new(
    model: type[models.Model],
    columns: dict[str, list[Any]],
    returning: list[str],
    *,
    savepoint: bool = True,
) -> list[tuple[Any, ...]] | None:
    """``_insert_ignoring_conflicts`` for rows just looked up and found missing: on
    PostgreSQL a plain ``INSERT ... SELECT FROM unnest(arrays)``, in a savepoint, and
    only if a unique constraint refuses one (a concurrent writer created it since)
    again ignoring conflicts.  ``ON CONFLICT`` costs PostgreSQL a speculative
    insertion per row: 3.6 CPU s instead of 2.6 for a new machine's 360,000 series
    (bench/series_insert_cost.py, README "Big reports").  ``savepoint=False`` when
    no conflict is possible (the series of a machine created in this transaction): a
    conflict is then an error.
    Three queries (savepoint, insert, release), one without the savepoint; two more
    after a conflict (back to the savepoint, the insert ignoring conflicts)."""
    if connection.vendor != "postgresql":
        return _insert_ignoring_conflicts(model, columns, returning)
    if not savepoint:
        return _insert_rows_returning(model, columns, returning, conflicts=False)
    try:
        with transaction.atomic():
            return _insert_rows_returning(model, columns, returning, conflicts=False)
    except IntegrityError:
        return _insert_ignoring_conflicts(model, columns, returning)


@dataclass
class _ChunkIds:
    """The ids a chunk of tests is stored under (``_chunk_ids``)."""

    tests: dict[str, int]  # name -> test id
    series: dict[tuple[int, int], int]  # (test id, metric id) -> series id
    added_tests: int


def _chunk_ids(
    chunk: Sequence[TestResult],
    *,
    suite: TestSuite,
    machine: Machine,
    metrics: dict[str, Metric],
    new_machine: bool,
) -> _ChunkIds:
    """The test and series ids of a chunk of tests, creating the missing ones.
    ``new_machine``: the machine was created in this transaction, so it has no series
    yet and no one else can give it any: they are inserted without being looked up."""
    tests, added = _test_ids(suite, [t.name for t in chunk])
    wanted = {(tests[t.name], metrics[m].id) for t in chunk for m in t.samples if m in metrics}
    test_ids = {tid for tid, _ in wanted}
    series = {} if new_machine else _series_ids(machine, test_ids)
    missing = sorted(wanted - series.keys())
    if missing and new_machine and connection.vendor == "postgresql":
        # No one else can have given this machine series: ids drawn, rows COPYed (two
        # statements, whatever their number, as the tests' query counts expect).
        series.update(_copy_new_series(machine.id, missing))
    elif missing:
        inserted = _insert_new(
            Series,
            {
                "machine_id": [machine.id] * len(missing),
                "test_id": [t for t, _ in missing],
                "metric_id": [m for _, m in missing],
            },
            ["test_id", "metric_id", "id"],
            savepoint=not new_machine,
        )
        if inserted is not None and len(inserted) == len(missing):
            series.update({(t, m): i for t, m, i in inserted})
        else:  # as for tests (_test_ids)
            series = _series_ids(machine, test_ids)
    return _ChunkIds(tests, series, added)


def _chunk_points(
    order: Order,
    run_id: int,
    chunk: Sequence[TestResult],
    ids: _ChunkIds,
    metrics: dict[str, Metric],
    status_metrics: dict[str, str | None],
    logs: dict[int, tuple[float, int]],
    kept: dict[int, tuple[list[int], list[float | None], list[float | None], list[int]]],
    *,
    built: bool,
) -> tuple[Callable[[], None], int]:
    """The job that writes the points and profiles of some tests of the run, with the
    number of samples they hold.  ``built``: the COPY records are built here, before
    the job runs (a queue's second thread then writes them while this one goes on);
    otherwise the job builds them as it sends them, and the server stores the first
    while the next are built (a queue that runs its jobs at once).

    Adds each valid positive Real point value's ln to ``logs[metric id]`` (sum, count),
    from which the run's geometric means are stored, and each point's test id, value
    (None: failed or none), level mean and count to ``kept[metric id]``, from which its
    packed values are (``services.runvalues``)."""
    tests, series = ids.tests, ids.series
    cells = [
        (test, metric, values, series[(tests[test.name], metric.id)])
        for test in chunk
        for metric_name, values in test.samples.items()
        # None: validated upstream, so a schema changed under us.
        if (metric := metrics.get(metric_name)) is not None
    ]
    count = sum(len(values) for _, _, values, _ in cells)

    def points(build: Callable[..., tuple[Any, Any, bool, Any]]) -> Iterator[Any]:
        """Each cell's row (or record), adding its value's ln to ``logs`` and its value
        to ``kept``."""
        for test, metric, values, series_id in cells:
            samples = test.samples
            status_name = status_metrics.get(metric.name)
            binary_hash = samples.get("hash")
            point, value, failed, mean = build(
                run_id,
                series_id,
                order.id,
                order.position,
                metric.type,
                values,
                samples.get(status_name) if status_name else None,
                binary_hash[0] if binary_hash else None,
            )
            if metric.type == Metric.REAL and not failed and value is not None and value > 0:
                total, n = logs.get(metric.id, (0.0, 0))
                logs[metric.id] = (total + math.log(value), n + 1)
            kept_tests, kept_values, kept_means, kept_counts = kept[metric.id]
            value = None if failed else value
            kept_tests.append(tests[test.name])
            kept_values.append(value)
            # count = valid_count = len(values): as point_row stores them.
            kept_means.append(level_mean(value, mean, len(values), len(values)))
            kept_counts.append(len(values))
            yield point

    copy = connection.vendor == "postgresql" and len(cells) >= COPY_MIN_ROWS
    # COPY records (joined into one buffer of a few MB, when built here) or INSERT rows.
    data: Any
    if not copy:
        data = list(points(_point_row_value))
    elif built:
        data = [b"".join(points(point_record_value))]
    else:  # a generator: the rows' ln and values are kept as they are sent
        data = points(point_record_value)
    profiles = [
        Profile(
            run_id=run_id,
            test_id=tests[t.name],
            data=zlib.compress(t.profile),
            size=len(t.profile),
        )
        for t in chunk
        if t.profile is not None
    ]

    def store() -> None:
        if copy:
            copy_lines(Point, POINT_COLUMNS, data)
        else:
            insert_rows(Point, POINT_COLUMNS, data)
        if profiles:  # stored compressed; the report's size limit bounds them
            Profile.objects.bulk_create(profiles)

    return store, count


# A point's summary columns, ``value`` to ``hash`` in POINT_COLUMNS order.
PointFields = tuple[
    float | None, float | None, float | None, float | None, float | None, bool, str | None
]


def point_fields(
    metric_type: str, values: Sequence[Any], statuses: Sequence[Any] | None, binary_hash: Any
) -> PointFields:
    """The summary columns (``value``, ``mean``, ``minimum``, ``maximum``, ``stdev``,
    ``failed``, ``hash``) of one (run, series)'s samples.

    Real: the summary of the samples, failed when ``statuses`` (the matching
    ``<metric>_status`` samples) say FAIL, ``hash`` the test's binary hash in this run.
    Status: the worst status.  Hash: the first value.  ``values`` is never empty.
    """
    if metric_type == Metric.REAL:
        point_hash = str(binary_hash)[:256] if binary_hash else None
        if len(values) == 1 and (not statuses or STATUS_FAIL not in [int(s) for s in statuses]):
            # One valid sample (most tests): what ``summarize`` returns, without building it.
            value = float(values[0])
            return value, value, value, value, None, False, point_hash
        summary = summarize(
            [float(v) for v in values], [int(s) for s in statuses] if statuses else None
        )
        return (
            *(summary.value, summary.mean, summary.minimum, summary.maximum, summary.stdev),
            *(summary.failed, point_hash),
        )
    if metric_type == Metric.STATUS:
        status = float(worst_status([int(v) for v in values]))
        return status, None, status, status, None, status == STATUS_FAIL, None
    return None, None, None, None, None, False, str(values[0])[:256]


def point_row(
    run_id: int,
    series_id: int,
    order_id: int,
    position: int,
    metric_type: str,
    values: Sequence[Any],
    statuses: Sequence[Any] | None,
    binary_hash: Any,
) -> tuple[Any, ...]:
    """The ``Point`` row (in ``POINT_COLUMNS`` order) of one (run, series)'s samples:
    its keys, ``point_fields`` and the samples packed (``pack_samples``)."""
    return (
        *(run_id, series_id, order_id, position),
        *(len(values), len(values)),  # count, valid_count: as ingest has always stored them
        *point_fields(metric_type, values, statuses, binary_hash),
        pack_samples(metric_type, values),
    )


def _point_row_value(*args: Any) -> tuple[tuple[Any, ...], Any, bool, Any]:
    """``point_row(*args)``, its value, its failed flag and its mean
    (``point_record_value``'s shape)."""
    row = point_row(*args)
    return row, row[_POINT_VALUE], row[_POINT_FAILED], row[_POINT_MEAN]


def insert_rows(model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Multi-row INSERT of plain tuples: what bulk_create does, without building model
    instances (most of its cost on a 10,000-row run).  One statement per chunk, and a
    chunk holds every row of a run of up to ~20,000 series on both databases.  On
    PostgreSQL, from ``COPY_MIN_ROWS`` rows on, one COPY in binary format instead
    (about ten times faster than binding the values of a big INSERT, and no float
    formatted or parsed; same rows, same transaction) when every column's type has a
    binary encoder here (the point rows do)."""
    if not rows:
        return
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        encoders = _binary_encoders(model, columns)
        if encoders is not None:
            copy_lines(model, columns, [binary_record(row, encoders) for row in rows])
            return
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = connection.features.max_query_params or 1_000_000
    per_chunk = max(1, min(20_000, limit // len(columns)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES " + ", ".join([one] * len(chunk)),  # noqa: S608 - identifiers quoted, values bound
                [v for row in chunk for v in row],
            )


# COPY's binary format (PostgreSQL's "Binary Format" of COPY): a signature and two
# 32-bit words (flags, header extension length), then per row a 16-bit field count
# and per field a 32-bit length (-1: NULL) and the value in the type's binary form,
# big-endian; a field count of -1 ends the data.
COPY_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_BINARY_TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
_ROW_HEAD = struct.Struct(">h")
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")
_INT4 = struct.Struct(">ii")
_FLOAT8 = struct.Struct(">id")
_TRUE, _FALSE = b"\x00\x00\x00\x01\x01", b"\x00\x00\x00\x01\x00"


def _int8(v: Any) -> bytes:
    return _NULL if v is None else _INT8.pack(8, v)


def _int4(v: Any) -> bytes:
    return _NULL if v is None else _INT4.pack(4, v)


def _float8(v: Any) -> bytes:
    return _NULL if v is None else _FLOAT8.pack(8, v)


def _bool(v: Any) -> bytes:
    return _NULL if v is None else _TRUE if v else _FALSE


def _text(v: Any) -> bytes:
    if v is None:
        return _NULL
    data = v.encode()
    return _LENGTH.pack(len(data)) + data


def _bytea(v: Any) -> bytes:
    return _NULL if v is None else _LENGTH.pack(len(v)) + v


# Binary encoders by a column's database type (varchar(n) as varchar): these cover
# the point rows; a model with any other type takes the CSV path.
_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "bigint": _int8,
    "integer": _int4,
    "double precision": _float8,
    "boolean": _bool,
    "varchar": _text,
    "text": _text,
    "bytea": _bytea,
}


def _binary_encoders(
    model: type[models.Model], columns: list[str]
) -> list[Callable[[Any], bytes]] | None:
    """The binary encoder of each column, or None when one has no encoder."""
    encoders = []
    for name in columns:
        encoder = _ENCODERS.get(_db_type(model._meta.get_field(name)).split("(")[0])
        if encoder is None:
            return None
        encoders.append(encoder)
    return encoders


def binary_record(row: Sequence[Any], encoders: list[Callable[[Any], bytes]]) -> bytes:
    """``row`` as a record of COPY's binary format, each value written by its
    column's encoder (``_binary_encoders``): None is NULL, an empty string stays one."""
    return _ROW_HEAD.pack(len(encoders)) + b"".join(
        [encode(v) for encode, v in zip(encoders, row, strict=True)]
    )


# A RunValues row: run, metric, then its four packed columns.
RUN_VALUES_COLUMNS = ["run", "metric", "tests", "values", "means", "counts"]
RUN_VALUES_ENCODERS = [_int8, _int8] + [_bytea] * 4

# The encoders of POINT_COLUMNS (their PostgreSQL types; a test checks them against
# ``_binary_encoders``), for writers that build point records without a connection.
POINT_ENCODERS = [_int8] * 4 + [_int4] * 2 + [_float8] * 5 + [_bool, _text, _bytea]
# The record of a point of one valid Real sample (most cells of an LNT database), up
# to its hash: field count, run, series, order, position, count and valid count (1),
# value, mean, minimum and maximum (the sample), stdev (NULL), failed (false).  Then
# the hash (``hash_field``) and the samples: length, tag, the double.
ONE_REAL_HEAD = struct.Struct(">h iq iq iq iq ii ii id id id id i iB")
ONE_REAL_SAMPLES = struct.Struct(">icd")
# The whole record of a point of one Status sample: the same head with the status as
# value, minimum and maximum (mean and stdev NULL), failed when it is FAIL, no hash,
# and the samples: length, tag, the int64.
ONE_STATUS = struct.Struct(">h iq iq iq iq ii ii id i id id i iB i icq")


def hash_field(binary_hash: Any) -> bytes:
    """A point's ``hash`` (the test's binary hash, cut to the column's 256
    characters; none when empty) as a field of COPY's binary format."""
    return _text(str(binary_hash)[:256]) if binary_hash else _NULL


# A valid Real point of several samples: the same head with the stdev.
MANY_REAL_HEAD = struct.Struct(">h iq iq iq iq ii ii id id id id id iB")
# A Hash point: value to stdev NULL, not failed; then its hash and its samples.
HASH_HEAD = struct.Struct(">h iq iq iq iq ii ii i i i i i iB")


def point_record(
    run_id: int,
    series_id: int,
    order_id: int,
    position: int,
    metric_type: str,
    values: Sequence[Any],
    statuses: Sequence[Any] | None,
    binary_hash: Any,
) -> bytes:
    """``binary_record(point_row(...), POINT_ENCODERS)``: the ``Point`` row as a record
    of COPY's binary format (``point_record_value`` without the value)."""
    return point_record_value(
        run_id, series_id, order_id, position, metric_type, values, statuses, binary_hash
    )[0]


def point_record_value(
    run_id: int,
    series_id: int,
    order_id: int,
    position: int,
    metric_type: str,
    values: Sequence[Any],
    statuses: Sequence[Any] | None,
    binary_hash: Any,
) -> tuple[bytes, float | None, bool, float | None]:
    """``point_record``, with the point's ``value``, ``failed`` (for the run's
    geometric means) and ``mean`` (for its packed values).  Valid Real samples (no
    FAIL status: nearly every cell), one status and Hash values are written directly,
    with no row tuple, no ``Summary`` and one struct call for the head:
    ``summarize``'s own ``figures``."""
    if metric_type == Metric.REAL and (
        not statuses or STATUS_FAIL not in [int(s) for s in statuses]
    ):
        n = len(values)
        head = (len(POINT_COLUMNS), 8, run_id, 8, series_id, 8, order_id, 8, position, 4, n, 4, n)
        if n == 1:
            v = float(values[0])
            return (
                (
                    ONE_REAL_HEAD.pack(*head, 8, v, 8, v, 8, v, 8, v, -1, 1, 0)
                    + hash_field(binary_hash)
                    + ONE_REAL_SAMPLES.pack(9, REAL_TAG, v)
                ),
                v,
                False,
                v,
            )
        valid = [float(v) for v in values]
        median, mean, minimum, maximum, stdev = figures(valid)
        return (
            (
                MANY_REAL_HEAD.pack(
                    *head, 8, median, 8, mean, 8, minimum, 8, maximum, 8, stdev, 1, 0
                )
                + hash_field(binary_hash)
                + _real_samples_field(valid)
            ),
            median,
            False,
            mean,
        )
    if metric_type == Metric.STATUS and len(values) == 1:
        status = int(values[0])
        v = float(status)
        failed = status == STATUS_FAIL
        return (
            ONE_STATUS.pack(
                *(len(POINT_COLUMNS), 8, run_id, 8, series_id, 8, order_id, 8, position),
                *(4, 1, 4, 1, 8, v, -1, 8, v, 8, v, -1, 1, failed, -1),
                *(9, STATUS_TAG, status),
            ),
            v,
            failed,
            None,
        )
    if metric_type == Metric.HASH:
        n = len(values)
        return (
            (
                HASH_HEAD.pack(
                    *(len(POINT_COLUMNS), 8, run_id, 8, series_id, 8, order_id, 8, position),
                    *(4, n, 4, n, -1, -1, -1, -1, -1, 1, 0),
                )
                + _text(str(values[0])[:256])
                + _bytea(pack_samples(metric_type, values))
            ),
            None,
            False,
            None,
        )
    row, value, failed, mean = _point_row_value(
        run_id, series_id, order_id, position, metric_type, values, statuses, binary_hash
    )
    return binary_record(row, POINT_ENCODERS), value, failed, mean


def _real_samples_field(values: Sequence[Any]) -> bytes:
    """``pack_samples`` of Real ``values`` as a bytea field of COPY's binary format."""
    packer = _SAMPLES_FIELDS.get(len(values))
    if packer is None:
        packer = _SAMPLES_FIELDS[len(values)] = struct.Struct(f">ic{len(values)}d")
    return packer.pack(1 + 8 * len(values), REAL_TAG, *values)


_SAMPLES_FIELDS: dict[int, struct.Struct] = {}


class _LineReader:
    """A read-only binary file over an iterator of COPY records, for ``copy_expert``:
    each ``read`` pulls records only as the connection asks for them, so a generator
    that builds the rows runs while PostgreSQL works on the records already sent.

    A read returns whole records, at least ``size`` bytes of them unless the records
    run out (psycopg2 sends what it is given; nothing is cut or copied twice)."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.lines = iter(lines)

    def read(self, size: int = -1) -> bytes:
        parts, length = [], 0
        for line in self.lines:
            parts.append(line)
            length += len(line)
            if length >= size >= 0:
                break
        return b"".join(parts)


COPY_READ_SIZE = 1 << 18  # bytes handed to the connection per read


def copy_lines(model: type[models.Model], columns: list[str], lines: Iterable[bytes]) -> None:
    """COPY records of COPY's binary format (``binary_record``, ``point_record``; the
    header and trailer are added here) into ``model``'s table, in the current
    transaction (PostgreSQL only).  ``lines`` may be a generator: it is consumed as
    the rows are sent, so building them overlaps with the server storing them."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    sql = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT binary)"
    records = chain([COPY_BINARY_HEADER], lines, [COPY_BINARY_TRAILER])
    started = time.monotonic()
    with connection.cursor() as cursor:
        # The raw cursor: Django's has no COPY.
        cursor.cursor.copy_expert(sql, _LineReader(records), size=COPY_READ_SIZE)
    if connection.queries_logged:  # counted like any statement (query-count tests)
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


# One series as a record of COPY's binary format: four fields, each 8 bytes (id,
# machine, test, metric), big-endian.
_SERIES_RECORD = np.dtype(
    [("fields", ">i2")]
    + [
        (f"{name}{part}", kind)
        for name in ("id", "machine", "test", "metric")
        for part, kind in (("_length", ">i4"), ("", ">i8"))
    ]
)


def _copy_new_series(
    machine_id: int, missing: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """Create the series (test id, metric id) of a machine created in this transaction
    (none can exist, none can be created by anyone else): their ids drawn from the
    table's sequence, the rows sent by COPY.  PostgreSQL only.  Two statements whatever
    their number; for a new machine's 360,000 series PostgreSQL spends about 2.5x less
    than on ``INSERT ... SELECT FROM unnest(...) RETURNING`` (docs/performance.md
    "Submissions, round 4").  Returns (test id, metric id) -> series id."""
    table = Series._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            # The sequence's name looked up once (an InitPlan), not once a row.
            "SELECT array_agg(nextval((SELECT pg_get_serial_sequence(%s, 'id')::regclass))) "
            "FROM generate_series(1, %s)",
            [table, len(missing)],
        )
        ids = cursor.fetchone()[0]
    records = np.zeros(len(missing), dtype=_SERIES_RECORD)
    records["fields"] = 4
    for name in ("id", "machine", "test", "metric"):
        records[f"{name}_length"] = 8
    records["id"] = ids
    records["machine"] = machine_id
    records["test"] = [t for t, _ in missing]
    records["metric"] = [m for _, m in missing]
    copy_lines(Series, ["id", "machine", "test", "metric"], [records.tobytes()])
    return dict(zip(missing, ids, strict=True))


def _series_ids(machine: Machine, test_ids: set[int]) -> dict[tuple[int, int], int]:
    rows = _select_any(
        Series, ["test_id", "metric_id", "id"], {"machine_id": machine.id}, "test_id", test_ids
    )
    return {(t, m): i for t, m, i in rows}
