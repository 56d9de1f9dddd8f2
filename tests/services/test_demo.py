"""The demo data, then one run with an injected 10 % regression: exactly that regression."""

import copy
import json
from io import StringIO

import pytest
from django.core.management import call_command

from perf.models import FieldChange, Machine, Order, Regression, Run, Test
from perf.services.demo import FIRST_REVISION, demo_reports, demo_steps
from perf.services.detection import run_detect
from perf.services.ingest import report_import

pytestmark = pytest.mark.django_db

ORDERS, TESTS = 40, 20


def test_the_demo_command_loads_machines_orders_tests_and_finds_its_steps():
    call_command("load_demo", "--orders", str(ORDERS), "--tests", str(TESTS), stdout=StringIO(),
                 stderr=StringIO())
    assert Machine.objects.count() == 3
    assert Order.objects.count() == ORDERS
    assert Test.objects.count() == TESTS
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.DONE}
    found = {
        (c.machine.name, c.test.name)
        for c in FieldChange.objects.filter(withdrawn=False, metric__name="execution_time")
    }
    from perf.services.demo import MACHINES, demo_test_name

    injected = {(MACHINES[s.machine][0], demo_test_name(s.test)) for s in demo_steps(TESTS, ORDERS)}
    assert found == injected


def test_a_run_with_an_injected_regression_produces_exactly_that_regression():
    reports = demo_reports(orders=ORDERS, tests=TESTS)
    for doc in reports:
        report_import(json.dumps(doc), suite="nts", detect=False)
    for machine in Machine.objects.all():
        from perf.services.detection import machine_detect_all

        machine_detect_all(machine.id)
    before = set(Regression.objects.values_list("id", flat=True))
    # The newest run of the first machine again, one revision later, 10 % slower on
    # three tests that the demo never steps.
    newest = copy.deepcopy(reports[-3])
    newest["run"]["llvm_project_revision"] = str(FIRST_REVISION + 7 * ORDERS)
    slowed = {t["name"] for t in newest["tests"][14:17]}
    for test in newest["tests"]:
        if test["name"] in slowed:
            test["execution_time"] = [v * 1.10 for v in test["execution_time"]]
            test["hash"] = test["hash"] + "-new"
    result = report_import(json.dumps(newest), suite="nts")
    run_detect(result.run_id)
    [regression] = Regression.objects.exclude(id__in=before)
    changes = FieldChange.objects.filter(indicator__regression=regression, withdrawn=False)
    assert {c.test.name for c in changes} == slowed
    assert {c.metric.name for c in changes} == {"execution_time"}
    assert all(c.relative_change == pytest.approx(0.10, abs=0.03) for c in changes)
