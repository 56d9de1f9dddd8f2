"""The suite's grouping lock is apart from its row: a submission that creates an
order (holding the suite row to its commit) and a grouping do not wait for each
other; two groupings, or a grouping and triage, still do (PostgreSQL).

``transactional_db``: the other side runs in a thread on its own connection, and
each side must hold its lock in a real, open transaction.  ``lock_timeout`` turns a
wait into an error, so a lock that should not be waited for fails the test at once.
A submission waits for the suite row past the statement timeout, up to
``PERF_SUITE_LOCK_WAIT_MS`` (a big import holds it longer than 10 s on a loaded machine).
"""

import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from perf.models import Run, TestSuite
from perf.services.grouping import regressions_group
from perf.services.ingest import _lock_suite
from perf.services.locks import suite_grouping_lock
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
        TestSuite.objects.select_for_update().filter(id=suite_id).first()  # as ingest does
        [result] = race(with_lock_timeout(lambda: regressions_group(suite_id, [])), count=1)
    assert result == [], result


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
    out: list = []

    def submit():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = '300ms'")
            out.append(submit_doc(report_doc(revision=revision)))
        except Exception as exc:  # noqa: BLE001 - asserted on
            out.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=submit)
    with transaction.atomic():
        TestSuite.objects.select_for_update().filter(id=nts_id()).first()  # as an import does
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
