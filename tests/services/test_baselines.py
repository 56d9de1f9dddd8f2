"""Promoting orders to named baselines, renaming and deleting them."""

from __future__ import annotations

import pytest

from perf.models import Baseline, Order, TestSuite
from perf.services.baselines import (
    BaselineError,
    baseline_create,
    baseline_delete,
    baseline_rename,
)
from tests.factories import submit_grid

pytestmark = pytest.mark.django_db


def suite_and_orders() -> tuple[TestSuite, list[int]]:
    submit_grid(machines=1, tests=1, orders=2)
    suite = TestSuite.objects.get(name="nts")
    return suite, list(
        Order.objects.filter(suite=suite).order_by("position").values_list("id", flat=True)
    )


def test_it_names_an_order_as_a_baseline():
    suite, orders = suite_and_orders()
    baseline = baseline_create(suite, orders[0], "  release-18 ")
    assert (baseline.name, baseline.order_id) == ("release-18", orders[0])


def test_a_name_is_taken_once_per_suite_and_nothing_is_written_twice():
    suite, orders = suite_and_orders()
    baseline_create(suite, orders[0], "release")
    with pytest.raises(BaselineError, match="name: a baseline called 'release' already exists"):
        baseline_create(suite, orders[1], "release")
    assert Baseline.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name: give the baseline a name"),
        ("x" * 129, "name: at most 128"),
        ("42", "all digits"),
    ],
)
def test_it_refuses_a_bad_name(name, message):
    suite, orders = suite_and_orders()
    with pytest.raises(BaselineError, match=message):
        baseline_create(suite, orders[0], name)
    assert not Baseline.objects.exists()


def test_it_refuses_an_order_of_another_suite_or_none():
    suite, orders = suite_and_orders()
    other = TestSuite.objects.exclude(id=suite.id).first()
    assert other is not None
    with pytest.raises(BaselineError, match=f"order: no order {orders[0]} in suite {other.name}"):
        baseline_create(other, orders[0], "x")
    with pytest.raises(BaselineError, match="order: no order 999999"):
        baseline_create(suite, 999999, "x")


def test_rename_keeps_the_order_and_refuses_a_taken_name():
    suite, orders = suite_and_orders()
    a = baseline_create(suite, orders[0], "a")
    baseline_create(suite, orders[1], "b")
    baseline_rename(suite, a.id, "c")
    assert Baseline.objects.get(id=a.id).name == "c"
    with pytest.raises(BaselineError, match="'b' already exists"):
        baseline_rename(suite, a.id, "b")
    with pytest.raises(BaselineError, match="baseline: no baseline 999999"):
        baseline_rename(suite, 999999, "d")


def test_delete_is_harmless_when_repeated():
    suite, orders = suite_and_orders()
    a = baseline_create(suite, orders[0], "a")
    baseline_delete(suite, a.id)
    baseline_delete(suite, a.id)
    assert not Baseline.objects.exists()
    assert Order.objects.filter(id=orders[0]).exists()
