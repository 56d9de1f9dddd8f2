"""The compare page's selector: a side's samples, pooled over its runs."""

from __future__ import annotations

import pytest

from perf.models import Run
from perf.selectors import compare as cs
from tests.factories import submit_grid

pytestmark = pytest.mark.django_db


def test_a_sides_samples_are_pooled_over_its_runs_test_by_test(django_assert_num_queries):
    results = submit_grid(machines=2, tests=2, orders=2, step_at=1, step_factor=2.0)
    box_0 = [r.run_id for r in results if Run.objects.get(id=r.run_id).machine.name == "box-0"]
    side = cs.side_resolve(cs.Side(prefix="a", suite="nts", runs=box_0))
    with django_assert_num_queries(1):
        samples = cs.side_samples(side, "execution_time")
    # Three samples a run; t0 doubled in the second run; box-1's runs stay out.
    assert {name: sorted(values) for name, values in samples.items()} == {
        "suite/t0": pytest.approx([0.999, 1.0, 1.001, 1.998, 2.0, 2.002]),
        "suite/t1": pytest.approx([1.0989, 1.0989, 1.1, 1.1, 1.1011, 1.1011]),
    }
    assert all(type(v) is float for values in samples.values() for v in values)
    assert cs.side_samples(side, "no_such_metric") == {}
