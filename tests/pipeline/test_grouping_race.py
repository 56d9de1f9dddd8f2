"""Two machines' detections grouping overlapping changes at once: one regression
(PostgreSQL; ``transactional_db`` because each thread commits on its own connection)."""

import pytest
from django.db import connection

from perf.models import FieldChange, Regression, RegressionIndicator, Run
from perf.services.detection import run_detect
from perf.services.runs import run_delete
from tests.factories import detected_history
from tests.pipeline.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent writers need PostgreSQL (run with DATABASE_URL)",
    ),
]


def test_two_machines_detected_at_once_share_one_regression_for_overlapping_changes():
    last = {}
    for machine, seed in (("box-1", 1), ("box-2", 2)):
        last[machine] = detected_history([1.0] * 20 + [1.1] * 6, machine=machine, seed=seed)[-1]
    FieldChange.objects.all().delete()
    Regression.objects.all().delete()
    targets = iter([last["box-1"].run_id, last["box-2"].run_id])
    results = race(lambda: run_detect(next(targets)))
    assert not any(isinstance(r, Exception) for r in results), results
    assert FieldChange.objects.filter(withdrawn=False).count() == 2
    assert Regression.objects.count() == 1
    assert RegressionIndicator.objects.count() == 2


def test_a_run_deleted_while_its_neighbour_is_detected_leaves_no_live_change_there():
    results = detected_history([1.0] * 20 + [1.3])
    suspect, before = results[-1].run_id, results[-2].run_id
    calls = iter([lambda: run_delete(suspect, redetect=lambda _: None), lambda: run_detect(before)])
    errors = race(lambda: next(calls)())
    assert not any(isinstance(r, Exception) for r in errors), errors
    run_detect(before)  # the re-detection the delete scheduled
    assert not Run.objects.filter(id=suspect).exists()
    assert not FieldChange.objects.filter(withdrawn=False).exists()
    assert not Regression.objects.filter(indicators__field_change__withdrawn=False).exists()
