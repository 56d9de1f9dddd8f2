"""lntsite/db/queue.py: database work queued to a second thread on the caller's own
connection, in order; errors are never lost and the connection is the caller's alone
again when the block is left.

The behaviour shared by both modes runs on both databases (inline on SQLite, a thread
on PostgreSQL); what needs a second thread is marked for PostgreSQL.
"""

import threading

import pytest
from django.db import connection, transaction

from lntsite.db.queue import DatabaseQueue, JobSkipped
from perf.models import TestSuite

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a second thread on the connection needs PostgreSQL (the CI's second pass)",
)


def suite_names() -> list[str]:
    return sorted(TestSuite.objects.values_list("name", flat=True))


def test_jobs_run_in_the_order_queued_and_return_their_results():
    done: list[int] = []
    with DatabaseQueue() as db:
        futures = [db.submit(lambda i=i: done.append(i) or i * i) for i in range(5)]
        assert [f.result() for f in futures] == [0, 1, 4, 9, 16]
    assert done == [0, 1, 2, 3, 4]


def test_a_queue_runs_inline_on_sqlite_and_in_a_thread_on_postgresql():
    with DatabaseQueue() as db:
        thread = db.submit(threading.current_thread).result()
    assert db.parallel == (connection.vendor == "postgresql")
    assert (thread is threading.current_thread()) == (not db.parallel)


def test_jobs_write_in_the_callers_transaction():
    with transaction.atomic():
        with DatabaseQueue() as db:
            db.submit(TestSuite.objects.create, name="queued", schema={})
        assert "queued" in suite_names()  # seen by the caller after the block
        transaction.set_rollback(True)
    assert "queued" not in suite_names()  # and rolled back with it


@pytest.mark.parametrize("parallel", [False, True])
def test_after_a_failed_job_the_later_ones_are_skipped_and_the_error_is_raised(parallel):
    if parallel and connection.vendor != "postgresql":
        pytest.skip("a second thread on the connection needs PostgreSQL")
    ran: list[str] = []

    def fail() -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        with DatabaseQueue(parallel=parallel) as db:
            db.submit(ran.append, "first")
            failed = db.submit(fail)
            skipped = db.submit(ran.append, "after")
    assert ran == ["first"]
    assert isinstance(failed.exception(), ValueError)
    assert isinstance(skipped.exception(), JobSkipped)


def test_drain_raises_the_first_error_even_when_no_one_waited_for_its_job():
    def fail() -> None:
        raise ValueError("first")

    with pytest.raises(ValueError, match="first"):
        with DatabaseQueue() as db:
            db.submit(fail)
            db.drain()


@on_postgresql
def test_the_caller_goes_on_while_its_job_is_waiting_for_the_server():
    """The job holds the connection until the caller, which is not blocked by
    ``submit``, lets it go: inline, this would wait the whole timeout and fail."""
    released = threading.Event()

    def job() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
        return released.wait(timeout=30)

    mine = pid()
    with DatabaseQueue() as db:
        future = db.submit(job)
        released.set()
        assert future.result() is True
        backend = db.submit(pid).result()
    assert backend == mine  # the same connection, not one of the thread's own


def pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@on_postgresql
def test_leaving_on_the_callers_error_waits_for_the_running_job_and_drops_the_rest():
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def running() -> None:
        started.set()
        release.wait(timeout=30)
        ran.append("running")

    with pytest.raises(KeyError):
        with DatabaseQueue() as db:
            db.submit(running)
            db.submit(ran.append, "queued")
            started.wait(timeout=30)
            threading.Timer(0.2, release.set).start()
            raise KeyError("the caller failed")
    assert ran == ["running"]  # finished before the block was left; the next dropped
    assert pid() > 0  # the connection is usable by the caller again


@on_postgresql
def test_the_switch_interval_is_shortened_while_the_thread_runs_and_restored_after():
    import sys

    from lntsite.db.queue import SWITCH_INTERVAL

    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL  # Python's default, 5 ms
    with pytest.raises(KeyError):
        with DatabaseQueue():
            assert sys.getswitchinterval() == SWITCH_INTERVAL
            raise KeyError("the caller failed")
    assert sys.getswitchinterval() == before
