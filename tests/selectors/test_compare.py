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


@pytest.mark.parametrize(
    "rows",
    [
        [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],  # the usual side: as many Real samples a row
        [[1.0, 2.0, 3.0], [4.0], [5.0, 6.0, 7.0, 8.0, 9.0]],  # as many bytes in all
        [[], []],  # a tag alone
        [[1.0, float("nan")], [float("inf"), -0.0]],  # non-finite: left to compare_row
    ],
)
def test_a_sides_rows_of_real_samples_unpack_as_one_at_a_time(rows):
    from perf.formats.samples import pack_samples

    packed = [memoryview(pack_samples("Real", r)) for r in rows]
    got = cs._real_samples(packed)
    assert [[repr(v) for v in values] for values in got] == [[repr(v) for v in r] for r in rows]
    assert all(type(v) is float for values in got for v in values)


def test_rows_of_other_samples_keep_only_their_floats():
    from perf.formats.samples import pack_samples

    packed = [pack_samples("Real", [1.0, 2.0]), pack_samples("Status", [1, 0]),
              pack_samples("Hash", ["abc", 2.5])]
    assert cs._real_samples(packed) == [[1.0, 2.0], [], [2.5]]
    assert cs._real_samples([]) == []
    status_only = [pack_samples("Status", [1, 0]), pack_samples("Status", [0, 0])]
    assert cs._real_samples(status_only) == [[], []]  # as wide as Real rows, not Real
