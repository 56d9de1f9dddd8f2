"""The suite's grouping lock is apart from its row: a submission that creates an
order (holding the suite row to its commit) and a grouping do not wait for each
other; two groupings, or a grouping and triage, still do (PostgreSQL).

``transactional_db``: the other side runs in a thread on its own connection, and
each side must hold its lock in a real, open transaction.  ``lock_timeout`` turns a
wait into an error, so a lock that should not be waited for fails the test at once.
A submission waits for the suite row past the statement timeout, up to
``PERF_SUITE_LOCK_WAIT_MS`` (a big import holds it longer than 10 s on a loaded machine).
"""

import json
import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from perf.formats import parse_report
from perf.models import Machine, Run, TestSuite
from perf.services.grouping import regressions_group
from perf.services.ingest import _create_machine, _lock_suite
from perf.services.locks import suite_grouping_lock
from perf.services.suites import suite_schemas
from tests.factories import report_doc, submit_doc
from tests.pipeline.test_concurrency import race


def nts_id() -> int:
    return TestSuite.objects.get(name="nts").id


def with_lock_timeout(call):
    """``call`` on this thread's connection, failing instead of waiting over 2 s."""

    def wrapped():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        return call()

    return wrapped


def test_it_must_be_taken_inside_a_transaction():
    # Outside one, the lock would be released as soon as it was taken.
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        suite_grouping_lock(1)


postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="locks between connections need PostgreSQL"
)


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_grouping_does_not_wait_for_a_submission_holding_the_suite_row():
    suite_id = nts_id()
    with transaction.atomic():
        _lock_suite(TestSuite.objects.get(id=suite_id))
        [result] = race(with_lock_timeout(lambda: regressions_group(suite_id, [])), count=1)
    assert result == [], result


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_submission_at_a_known_order_does_not_wait_for_one_holding_the_suite_row():
    # Its run's foreign-key check on the suite row is not held up by the lock (the
    # FOR UPDATE it once was made that check wait, and closed a deadlock).
    submit_doc(report_doc(revision=4141))
    with transaction.atomic():
        _lock_suite(TestSuite.objects.get(id=nts_id()))
        [result] = race(
            with_lock_timeout(
                lambda: submit_doc(
                    report_doc(revision=4141, tests={"t": {"execution_time": 2.0}}),
                    merge="append",
                )
            ),
            count=1,
        )
    assert not isinstance(result, Exception), result
    assert Run.objects.filter(order__fields__llvm_project_revision="4141").count() == 2


def in_thread(call) -> tuple[threading.Thread, list]:
    """A thread, not started, that appends ``call``'s result or error to the list."""
    out: list = []

    def run():
        try:
            out.append(call())
        except Exception as exc:  # noqa: BLE001 - asserted on
            out.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run), out


def wait_until_one_backend_waits_for_a_lock() -> None:
    with connection.cursor() as cursor:
        for _ in range(200):
            # Inside a transaction the activity view is read once unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid() AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.025)
    raise AssertionError("the other submission never waited for a lock")


@postgresql
@pytest.mark.django_db(transaction=True)
def test_one_that_finds_its_new_machine_just_created_waits_for_it_holding_no_suite_lock():
    # One submission holds the machine and goes on to add an order (the suite's lock);
    # another found no machine, tried to create it and waits for it.  Were the second
    # holding the suite's lock, the two would deadlock.
    submit_doc(report_doc(machine="fresh-box"))
    suite = TestSuite.objects.get(id=nts_id())
    report = parse_report(json.dumps(report_doc(machine="fresh-box")), suite_schemas(), suite="nts")

    def create():
        with transaction.atomic():
            return _create_machine(suite, "fresh-box", report)

    thread, out = in_thread(create)
    with transaction.atomic():
        Machine.objects.select_for_update(no_key=True).get(name="fresh-box")  # as ingest does
        thread.start()
        wait_until_one_backend_waits_for_a_lock()
        with_lock_timeout(lambda: _lock_suite(suite))()
    thread.join(timeout=30)
    [(machine, created)] = out
    assert machine.name == "fresh-box" and created is False


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_submission_of_a_new_order_does_not_wait_for_a_grouping():
    with transaction.atomic():
        suite_grouping_lock(nts_id())
        [result] = race(with_lock_timeout(lambda: submit_doc(report_doc(revision=4242))), count=1)
    assert not isinstance(result, Exception), result
    assert Run.objects.filter(id=result.run_id).exists()


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_second_grouping_of_the_suite_waits_for_the_first():
    suite_id = nts_id()
    with transaction.atomic():
        suite_grouping_lock(suite_id)
        [result] = race(with_lock_timeout(lambda: regressions_group(suite_id, [])), count=1)
    assert isinstance(result, OperationalError) and "lock timeout" in str(result), result


def submit_with_statement_timeout(revision: int, holder_seconds: float, settings, wait_ms: int):
    """A submission of a new order (statement timeout 300 ms) while this thread holds
    the suite row for ``holder_seconds``; its result or error."""
    settings.PERF_SUITE_LOCK_WAIT_MS = wait_ms

    def submit():
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '300ms'")
        return submit_doc(report_doc(revision=revision))

    thread, out = in_thread(submit)
    with transaction.atomic():
        _lock_suite(TestSuite.objects.get(id=nts_id()))  # as an import does
        thread.start()
        time.sleep(holder_seconds)
    thread.join(timeout=30)
    return out[0]


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_submission_that_creates_an_order_waits_past_the_statement_timeout_for_the_suite(
    settings,
):
    result = submit_with_statement_timeout(4343, 1.0, settings, wait_ms=10_000)
    assert not isinstance(result, Exception), result
    assert Run.objects.filter(id=result.run_id).exists()


@postgresql
@pytest.mark.django_db(transaction=True)
def test_the_wait_for_the_suite_is_bounded_by_its_own_setting(settings):
    result = submit_with_statement_timeout(4344, 1.0, settings, wait_ms=200)
    assert isinstance(result, OperationalError) and "statement timeout" in str(result), result
    assert not Run.objects.filter(order__fields__llvm_project_revision="4344").exists()


@postgresql
@pytest.mark.django_db
def test_the_statement_timeout_is_restored_once_the_suite_is_locked():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()
        _lock_suite(TestSuite.objects.get(name="nts"))
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == before
