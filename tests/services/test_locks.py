"""The suite's grouping lock is apart from its row: a submission that creates an
order (holding the suite row to its commit) and a grouping do not wait for each
other; two groupings, or a grouping and triage, still do (PostgreSQL).

``transactional_db``: the other side runs in a thread on its own connection, and
each side must hold its lock in a real, open transaction.  ``lock_timeout`` turns a
wait into an error, so a lock that should not be waited for fails the test at once.
"""

import pytest
from django.db import OperationalError, connection, transaction

from perf.models import Run, TestSuite
from perf.services.grouping import regressions_group
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
