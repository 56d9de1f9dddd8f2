"""The ingest service: constant query counts, orders in sequence, aggregates."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perf.formats.samples import unpack_samples
from perf.models import Order, Point, Run, Series, Test
from perf.services.ingest import report_import
from tests.factories import many_tests_doc, report_doc, submit_doc

pytestmark = pytest.mark.django_db


def queries_for(doc) -> int:
    with CaptureQueriesContext(connection) as ctx:
        report_import(json.dumps(doc), suite="nts")
    return len(ctx.captured_queries)


@pytest.mark.parametrize("phase", ["first run (creates tests)", "later run (tests exist)"])
def test_an_import_costs_the_same_queries_for_10_and_2000_tests(phase):
    # Each import creates its own order at the end of the suite's history (and, in the
    # first phase, its machine and tests), so both do the same kind of work.
    submit_doc(report_doc(machine="seed", revision=0))
    if phase.startswith("later"):
        submit_doc(many_tests_doc(10, revision=1, machine="small", prefix="s"))
        submit_doc(many_tests_doc(2000, revision=2, machine="big", prefix="b"))
    small = queries_for(many_tests_doc(10, revision=3, machine="small", prefix="s"))
    big = queries_for(many_tests_doc(2000, revision=4, machine="big", prefix="b"))
    assert small == big
    assert big <= 30


def test_a_run_at_a_new_order_of_a_known_machine_takes_17_queries():
    # Each is a round trip, and round trips are most of a submission's wall time on a
    # loaded machine: the suite comes with its metrics, a new order's neighbours are
    # read in one query, and a new run has no old geometric means to remove (was 19).
    # One of the 17 stores the run's packed values (services/runvalues.py, was 16).
    submit_doc(many_tests_doc(20, revision=1))
    submit_doc(many_tests_doc(20, revision=2))
    assert queries_for(many_tests_doc(20, revision=3)) == 17


def test_a_replaced_run_keeps_only_its_new_geometric_means():
    from perf.models import RunGeomean

    submit_doc(report_doc(tests={"a": {"execution_time": 2.0, "compile_time": 3.0}}))
    doc = report_doc(tests={"a": {"execution_time": 4.0}})
    report_import(json.dumps(doc), suite="nts", merge="replace")
    means = list(RunGeomean.objects.values_list("metric__name", "value"))
    assert means == [("execution_time", pytest.approx(4.0))]


def test_an_import_costs_the_same_queries_whatever_the_history():
    for revision in range(1, 4):
        submit_doc(many_tests_doc(20, revision=revision))
    short = queries_for(many_tests_doc(20, revision=4))
    for revision in range(5, 40):
        submit_doc(many_tests_doc(20, revision=revision))
    long = queries_for(many_tests_doc(20, revision=40))
    assert short == long


def test_a_2000_test_run_stores_every_sample():
    result = submit_doc(many_tests_doc(2000))
    assert Test.objects.count() == 2000
    assert Series.objects.count() == 2000 * 4
    assert Point.objects.count() == 2000 * 4
    assert result.added_samples == 2000 * (3 + 1 + 1 + 1)
    assert sum(len(unpack_samples(p)) for p in Point.objects.values_list("samples", flat=True)) == (
        result.added_samples
    )


@pytest.mark.parametrize("machines", ["new", "known"])
def test_a_run_stored_in_chunks_holds_what_a_run_stored_at_once_holds(monkeypatch, machines):
    """Several chunks are written from a second thread on PostgreSQL, the next chunk's
    ids looked up meanwhile (lntsite/db/queue.py); one chunk, in this thread."""
    from perf.models import RunGeomean, RunValues
    from perf.services import ingest

    def stored(run: int) -> dict[str, list]:
        points = Point.objects.filter(run=run).values_list(
            "series__test__name", "series__metric__name", "value", "mean", "stdev", "failed",
            "hash", "count", "samples",
        )
        return {
            "points": sorted((*p[:-1], bytes(p[-1])) for p in points),
            "means": sorted(RunGeomean.objects.filter(run=run).values_list("metric_id", "value")),
            "packed": sorted(
                (v.metric_id, bytes(v.tests), bytes(v.values), bytes(v.means), bytes(v.counts))
                for v in RunValues.objects.filter(run=run)
            ),
        }

    if machines == "known":  # the series of most tests exist; 300 are new
        for machine in ("whole", "chunked"):
            submit_doc(many_tests_doc(1700, revision=1, machine=machine))
    whole = submit_doc(many_tests_doc(2000, revision=2, machine="whole"))
    monkeypatch.setattr(ingest, "STORE_CHUNK_TESTS", 300)
    chunked = submit_doc(many_tests_doc(2000, revision=2, machine="chunked"))
    assert chunked.added_samples == 2000 * (3 + 1 + 1 + 1)
    assert stored(chunked.run_id) == stored(whole.run_id)
    assert len(stored(chunked.run_id)["points"]) == 2000 * 4


@pytest.mark.parametrize("merge", ["reject", "replace", "append"])
def test_a_run_in_chunks_sent_again_is_answered_with_the_stored_run_and_writes_nothing(
    monkeypatch, merge
):
    """The first chunks' lookups are queued before the digest says it is a retry."""
    from perf.services import ingest
    from tests.rowcounts import row_counts

    monkeypatch.setattr(ingest, "STORE_CHUNK_TESTS", 300)
    doc = many_tests_doc(1000, revision=2)
    first = submit_doc(doc)
    before = row_counts()
    again = submit_doc(doc, merge=merge)
    assert (again.run_id, again.already_stored) == (first.run_id, True)
    assert row_counts() == before


def test_a_refused_run_in_chunks_writes_nothing(monkeypatch):
    """Its first chunks' tests were made while the digest was computed: undone."""
    from perf.services import ingest
    from perf.services.ingest import ImportRefused
    from tests.rowcounts import row_counts

    monkeypatch.setattr(ingest, "STORE_CHUNK_TESTS", 300)
    submit_doc(many_tests_doc(10, revision=2))
    before = row_counts()
    with pytest.raises(ImportRefused, match="duplicate run"):
        submit_doc(many_tests_doc(1000, revision=2, prefix="new"))  # new tests, same order
    assert row_counts() == before


def test_a_new_machines_report_whose_tests_report_no_metric_is_stored():
    result = submit_doc(report_doc(machine="quiet-box", tests={"a": {}, "b": {}}))
    assert (result.added_machines, result.added_tests, result.added_samples) == (1, 2, 0)
    assert Series.objects.filter(machine__name="quiet-box").count() == 0


def test_orders_are_positioned_by_revision_whatever_the_arrival_order():
    for revision in ["100", "300", "200", "150", "250", "50", "1000"]:
        submit_doc(report_doc(revision=revision))
    revisions = [
        o["llvm_project_revision"]
        for o in Order.objects.order_by("position").values_list("fields", flat=True)
    ]
    assert revisions == ["50", "100", "150", "200", "250", "300", "1000"]


def test_points_copy_their_order_position():
    submit_doc(report_doc(revision="10"))
    submit_doc(report_doc(revision="5"))
    for point in Point.objects.select_related("order"):
        assert point.position == point.order.position


def test_a_full_gap_is_renumbered_in_the_database_and_points_follow(monkeypatch):
    monkeypatch.setattr("perf.services.ingest.POSITION_GAP", 8)  # exhaust a gap in a few inserts
    submit_doc(report_doc(revision="1"))
    submit_doc(report_doc(revision="100000"))
    submit_doc(report_doc(revision="200000"))
    low, high = 1, 100000
    for _ in range(40):
        mid = (low + high) // 2
        if mid in (low, high):
            break
        submit_doc(report_doc(revision=str(mid)))
        high = mid
    keys = list(Order.objects.order_by("position").values_list("fields", flat=True))
    numbers = [int(k["llvm_project_revision"]) for k in keys]
    assert numbers == sorted(numbers)
    positions = list(Order.objects.values_list("position", flat=True))
    assert len(set(positions)) == len(positions)
    for point in Point.objects.select_related("order"):
        assert point.position == point.order.position
    assert max(positions) - min(positions) > 2 * 8  # it really renumbered


def test_git_hash_revisions_are_kept_in_arrival_order():
    for revision in ["c0ffee1", "0badf00d", "deadbee"]:
        submit_doc(report_doc(revision=revision))
    revisions = [
        o["llvm_project_revision"]
        for o in Order.objects.order_by("position").values_list("fields", flat=True)
    ]
    assert revisions == ["c0ffee1", "0badf00d", "deadbee"]


def test_a_point_holds_the_median_and_spread_of_its_samples():
    submit_doc(report_doc(tests={"t": {"execution_time": [3.0, 1.0, 2.0, 10.0]}}))
    point = Point.objects.get(series__metric__name="execution_time")
    assert point.count == 4
    assert point.value == 2.5
    assert point.minimum == 1.0 and point.maximum == 10.0
    assert point.stdev == pytest.approx(4.0824829, rel=1e-6)
    assert not point.failed


def test_a_failing_status_invalidates_the_paired_sample():
    submit_doc(report_doc(tests={"t": {"execution_time": [9.0, 1.0], "execution_status": [1, 0]}}))
    point = Point.objects.get(series__metric__name="execution_time")
    assert point.value == 1.0 and point.count == 2 and not point.failed
    status = Point.objects.get(series__metric__name="execution_status")
    assert status.failed and status.value == 1.0


def test_a_run_whose_test_failed_has_a_failed_point():
    submit_doc(report_doc(tests={"t": {"execution_time": 9.0, "execution_status": 1}}))
    point = Point.objects.get(series__metric__name="execution_time")
    assert point.failed and point.value is None


def test_a_real_point_carries_the_binary_hash_of_its_run():
    submit_doc(report_doc(tests={"t": {"execution_time": 1.0, "hash": "abc123"}}))
    assert Point.objects.get(series__metric__name="execution_time").hash == "abc123"


def test_a_dry_run_writes_nothing():
    from tests.rowcounts import row_counts

    before = row_counts()
    result = report_import(json.dumps(report_doc()), suite="nts", dry_run=True)
    assert result.added_runs == 1
    assert row_counts() == before


def test_a_run_without_times_gets_the_current_time():
    submit_doc({"machine": {"name": "minimal"}, "run": {"llvm_project_revision": "1"}, "tests": []})
    run = Run.objects.get()
    assert run.start_time is not None and run.end_time >= run.start_time


def test_a_replaced_run_loses_its_field_changes():
    from perf.models import FieldChange

    first = submit_doc(report_doc(tests={"t": {"execution_time": 1.0}}))
    series = Series.objects.get()
    order = Order.objects.get()
    FieldChange.objects.create(
        series=series,
        machine_id=series.machine_id,
        test_id=series.test_id,
        metric_id=series.metric_id,
        start_order=order,
        end_order=order,
        end_position=order.position,
        old_value=1,
        new_value=2,
        relative_change=1,
        confidence=1,
        is_regression=True,
        method="test",
        run_id=first.run_id,
    )
    submit_doc(report_doc(tests={"t": {"execution_time": 2.0}}), merge="replace")
    assert FieldChange.objects.count() == 0


def test_a_failure_halfway_leaves_the_database_as_it_was(monkeypatch):
    from perf.services import ingest
    from tests.rowcounts import row_counts

    submit_doc(report_doc(revision="1"))
    before = row_counts()
    real = ingest.insert_rows
    calls = []

    def fail_on_points(model, columns, rows):
        calls.append(model)
        if model is Point:
            raise RuntimeError("disk full")
        return real(model, columns, rows)

    monkeypatch.setattr(ingest, "insert_rows", fail_on_points)
    with pytest.raises(RuntimeError, match="disk full"):
        submit_doc(many_tests_doc(50, revision="2", machine="new-box"))
    assert calls == [Point]  # it failed writing the points (and their samples)
    assert row_counts() == before


def test_a_failure_in_a_later_chunk_leaves_the_database_as_it_was(monkeypatch):
    """Chunks are written on a queue (lntsite/db/queue.py; a second thread on
    PostgreSQL), the next chunks looked up while one is written: a failure writing the
    second chunk's points undoes the first chunk's and stops the lookups queued."""
    from perf.services import ingest
    from tests.rowcounts import row_counts

    monkeypatch.setattr(ingest, "STORE_CHUNK_TESTS", 150)
    submit_doc(report_doc(revision="1"))
    before = row_counts()
    written = []

    def failing_on_the_second_points(real):
        def write(model, columns, data):
            if model is Point:
                written.append(model)
                if len(written) == 2:
                    raise RuntimeError("disk full")
            return real(model, columns, data)

        return write

    for name in ("copy_lines", "insert_rows"):  # COPY on PostgreSQL, INSERT on SQLite
        monkeypatch.setattr(ingest, name, failing_on_the_second_points(getattr(ingest, name)))
    with pytest.raises(RuntimeError, match="disk full"):
        submit_doc(many_tests_doc(600, revision="2", machine="new-box"))
    assert written == [Point, Point]  # the first chunk's points were written, then undone
    assert row_counts() == before


def test_the_entry_points_enqueue_callback_runs_once_after_the_commit(
    django_capture_on_commit_callbacks,
):
    handed: list[int] = []
    with django_capture_on_commit_callbacks() as callbacks:
        result = submit_doc(report_doc(), enqueue=handed.append)
        assert handed == []  # not inside the transaction
    for callback in callbacks:
        callback()
    assert handed == [result.run_id]


def test_a_refused_dry_or_undetected_import_enqueues_nothing(django_capture_on_commit_callbacks):
    from perf.services.ingest import ImportRefused

    handed: list[int] = []
    submit_doc(report_doc(), detect=False, enqueue=handed.append)
    with django_capture_on_commit_callbacks(execute=True):
        submit_doc(report_doc(revision=2), dry_run=True, enqueue=handed.append)
        with pytest.raises(ImportRefused):
            other = {"SingleSource/mandel": {"execution_time": [2.0]}}
            submit_doc(report_doc(tests=other), enqueue=handed.append)  # same order
        submit_doc(report_doc(revision=3), detect=False, enqueue=handed.append)
    assert handed == []


def test_a_new_machines_series_are_inserted_plainly_without_being_looked_up():
    # A machine created in the import's transaction has no series, and no one else
    # can give it any: on PostgreSQL their ids are drawn from the sequence and the rows
    # COPYed (ON CONFLICT's per-row speculative insertion was most of PostgreSQL's time
    # on a first 90,000-test report, and INSERT ... RETURNING 2.5x a COPY's).
    submit_doc(many_tests_doc(20, revision=1, machine="old"))
    with CaptureQueriesContext(connection) as ctx:
        submit_doc(many_tests_doc(20, revision=2, machine="new"))
    series_sql = [q["sql"] for q in ctx.captured_queries if '"perf_series"' in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(series_sql) == 1
        assert series_sql[0].startswith('COPY "perf_series"')
    old = set(Series.objects.filter(machine__name="old").values_list("test_id", "metric_id"))
    new = set(Series.objects.filter(machine__name="new").values_list("test_id", "metric_id"))
    assert new == old and len(new) == 20 * 4
    assert Point.objects.filter(run__machine__name="new").count() == 80
    assert not Point.objects.filter(run__machine__name="new").exclude(
        series__machine__name="new"
    ).exists()
    # The sequence moved past the ids drawn: series created the usual way come after.
    submit_doc(many_tests_doc(25, revision=3, machine="new"))
    assert Series.objects.filter(machine__name="new").count() == 25 * 4


def test_tests_created_meanwhile_are_skipped_after_the_plain_insert_fails():
    from perf.models import TestSuite
    from perf.services.ingest import _insert_new

    submit_doc(report_doc())
    suite = TestSuite.objects.get(name="nts")
    Test.objects.create(suite=suite, name="b")  # by a concurrent writer, since the lookup
    columns = {"suite_id": [suite.id] * 2, "name": ["a", "b"]}
    with CaptureQueriesContext(connection) as ctx:
        inserted = _insert_new(Test, columns, ["name", "id"])
    if connection.vendor == "postgresql":
        assert [name for name, _ in inserted] == ["a"]
        # savepoint, insert (refused), back to the savepoint, release, insert ignoring
        assert len(ctx.captured_queries) == 5
        assert "ON CONFLICT" in ctx.captured_queries[-1]["sql"]
    assert sorted(Test.objects.filter(suite=suite).values_list("name", flat=True)) == [
        "SingleSource/mandel",
        "a",
        "b",
    ]


def test_new_tests_take_three_queries_on_postgresql():
    from perf.models import TestSuite
    from perf.services.ingest import _insert_new

    submit_doc(report_doc())
    suite = TestSuite.objects.get(name="nts")
    with CaptureQueriesContext(connection) as ctx:
        inserted = _insert_new(Test, {"suite_id": [suite.id], "name": ["a"]}, ["name", "id"])
    if connection.vendor == "postgresql":
        assert inserted == [("a", Test.objects.get(name="a").id)]
        assert len(ctx.captured_queries) == 3  # savepoint, plain insert, release
        assert "ON CONFLICT" not in ctx.captured_queries[1]["sql"]


def test_series_created_meanwhile_are_read_back_not_duplicated(monkeypatch):
    from perf.services import ingest

    first = submit_doc(many_tests_doc(20, revision=1))
    before = Series.objects.count()
    looked_up = ingest._series_ids
    calls = []

    def stale_once(machine, test_ids):  # the lookup ran before a concurrent writer's commit
        calls.append(len(test_ids))
        return {} if len(calls) == 1 else looked_up(machine, test_ids)

    monkeypatch.setattr(ingest, "_series_ids", stale_once)
    second = submit_doc(many_tests_doc(20, revision=2))
    assert Series.objects.count() == before
    assert len(calls) == 2  # read back after the plain insert was refused
    by_run = {
        run: set(Point.objects.filter(run_id=run).values_list("series_id", flat=True))
        for run in (first.run_id, second.run_id)
    }
    assert by_run[first.run_id] == by_run[second.run_id] and len(by_run[first.run_id]) == 80


def test_a_machine_created_meanwhile_keeps_its_series(monkeypatch):
    # The machine lookup missed it, its creation is refused: it is that machine, with
    # series already, so they are looked up (not inserted as for a new machine).
    from perf.services import ingest

    first = submit_doc(many_tests_doc(20, revision=1, machine="m"))
    before = Series.objects.count()
    monkeypatch.setattr(
        ingest,
        "_select_machine",
        lambda suite, report, policy: ingest._create_machine(suite, report.machine_name, report),
    )
    second = submit_doc(many_tests_doc(20, revision=2, machine="m"))
    assert second.machine_id == first.machine_id and second.added_machines == 0
    assert Series.objects.count() == before
