"""Baselines read for pages and graphs."""

from __future__ import annotations

import pytest

from perf.models import Baseline, Order, Series, TestSuite
from perf.selectors.baselines import (
    baseline_run_for_machine,
    order_baselines,
    series_baseline_values,
    suite_baselines,
)
from tests.factories import report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db


def name_orders(*pairs: tuple[str, int]) -> TestSuite:
    suite = TestSuite.objects.get(name="nts")
    orders = list(Order.objects.filter(suite=suite).order_by("position"))
    for name, index in pairs:
        Baseline.objects.create(suite=suite, name=name, order=orders[index])
    return suite


def test_series_values_at_each_baseline_order_in_one_query(django_assert_num_queries):
    submit_grid(machines=2, tests=2, orders=4, step_at=2, step_factor=2.0)
    suite = name_orders(("before", 0), ("after", 3))
    series = list(Series.objects.filter(metric__name="execution_time").order_by("id"))
    with django_assert_num_queries(1):
        values = series_baseline_values([s.id for s in series], suite)
    t0 = next(s for s in series if s.test.name == "suite/t0")
    assert values[t0.id] == [
        {"name": "after", "order": "1003", "value": pytest.approx(2.0)},
        {"name": "before", "order": "1000", "value": pytest.approx(1.0)},
    ]
    assert set(values) == {s.id for s in series}


def test_a_series_without_a_run_at_the_baseline_order_has_no_value_there():
    submit_grid(machines=1, tests=1, orders=2)
    submit_doc(report_doc(machine="late", revision=1001))
    suite = name_orders(("first", 0))
    late = Series.objects.get(machine__name="late", metric__name="execution_time")
    assert series_baseline_values([late.id], suite) == {}
    assert series_baseline_values([], suite) == {}


def test_the_latest_run_of_the_machine_at_the_order_is_the_baseline_run():
    submit_grid(machines=1, tests=1, orders=2)
    again = submit_doc(report_doc(machine="box-0", revision=1000), merge="append").run_id
    suite = name_orders(("first", 0))
    machine_id = Series.objects.filter(machine__name="box-0").values_list("machine_id", flat=True)[
        0
    ]
    run = baseline_run_for_machine(suite, "first", machine_id)
    assert run is not None and run.id == again
    assert baseline_run_for_machine(suite, "nope", machine_id) is None


def test_suite_and_order_lists_name_the_baselines():
    submit_grid(machines=1, tests=1, orders=2)
    suite = name_orders(("b", 0), ("a", 0))
    assert [b["name"] for b in suite_baselines(suite)] == ["a", "b"]
    order = Order.objects.filter(suite=suite).order_by("position").first()
    assert order is not None
    assert [b["name"] for b in order_baselines(order.id)] == ["a", "b"]
