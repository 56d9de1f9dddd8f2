"""Two submissions or two detections at once: nothing is stored twice (PostgreSQL).

These use ``transactional_db`` because each thread commits on its own connection; the
point is what the database's constraints and locks do when real transactions race.
"""

import json
import threading

import pytest
from django.db import connection, connections

from perf.models import FieldChange, Regression, RegressionIndicator, Run, Test
from perf.services.detection import run_detect
from perf.services.ingest import ImportRefused, report_import
from tests.factories import report_doc, submit_doc

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent writers need PostgreSQL (run with DATABASE_URL)",
    ),
]


def race(target, count: int = 2) -> list:
    """Run ``target`` in ``count`` threads released together; return results/errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = target()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_identical_submissions_with_reject_store_one_run_and_answer_it_twice():
    raw = json.dumps(report_doc(tests={f"t{i}": {"execution_time": 1.0} for i in range(50)}))
    results = race(lambda: report_import(raw, suite="nts", merge="reject"))
    # The second is a retry of the first (perf.formats.report_digest): the stored run.
    assert not any(isinstance(r, Exception) for r in results), results
    assert len({r.run_id for r in results}) == 1
    assert sorted(r.already_stored for r in results) == [False, True]
    assert Run.objects.count() == 1
    assert Test.objects.count() == 50


def test_two_different_submissions_at_one_order_with_reject_store_one_run():
    raws = iter(
        json.dumps(report_doc(tests={f"t{i}": {"execution_time": v} for i in range(50)}))
        for v in (1.0, 2.0)
    )
    lock = threading.Lock()

    def submit():
        with lock:
            raw = next(raws)
        return report_import(raw, suite="nts", merge="reject")

    results = race(submit)
    refused = [r for r in results if isinstance(r, ImportRefused)]
    assert len(refused) == 1 and "duplicate run" in refused[0].message
    assert Run.objects.count() == 1


def test_two_submissions_creating_the_same_tests_and_machine_both_succeed():
    docs = [
        json.dumps(
            report_doc(revision=r, tests={f"t{i}": {"execution_time": 1.0} for i in range(50)})
        )
        for r in (1, 2)
    ]
    it = iter(docs)
    lock = threading.Lock()

    def submit():
        with lock:
            raw = next(it)
        return report_import(raw, suite="nts")

    results = race(submit)
    assert not any(isinstance(r, Exception) for r in results), results
    assert Run.objects.count() == 2 and Test.objects.count() == 50


def test_two_workers_detecting_the_same_run_create_nothing_twice():
    import random

    rng = random.Random(3)
    last = None
    for i, level in enumerate([1.0] * 20 + [1.1] * 3):
        samples = [level * rng.gauss(1, 0.01) for _ in range(3)]
        last = submit_doc(report_doc(revision=1000 + i, tests={"t": {"execution_time": samples}}))
        run_detect(last.run_id)
    FieldChange.objects.all().delete()
    Regression.objects.all().delete()
    for _ in range(3):
        results = race(lambda: run_detect(last.run_id))
        assert not any(isinstance(r, Exception) for r in results), results
    assert FieldChange.objects.filter(withdrawn=False).count() == 1
    assert Regression.objects.count() == 1
    assert RegressionIndicator.objects.count() == 1
