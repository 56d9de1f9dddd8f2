"""ingest's row builders: the fast paths write what the general ones write."""

import json

import pytest

from perf.analysis.summary import summarize
from perf.models import Metric
from perf.services.ingest import point_row, samples_json


@pytest.mark.parametrize(
    ("metric_type", "values"),
    [
        (Metric.REAL, [1.0]),
        (
            Metric.REAL,
            [0.1, 1e-05, 1e20, 123456789.123456789, -0.0, 5e-324, 1.7976931348623157e308],
        ),
        (Metric.STATUS, [0, 1, 2]),
        (Metric.HASH, ['a"b\\c', "\u00e9\n", "x"]),
    ],
)
def test_samples_json_writes_what_json_dumps_writes(metric_type, values):
    assert samples_json(metric_type, tuple(values)) == json.dumps(values)
    assert json.loads(samples_json(metric_type, values)) == values


@pytest.mark.parametrize("value", [1.0, 0.1, -3.5e-7, 2.0**60])
def test_a_single_real_sample_gives_the_point_summarize_gives(value):
    row = point_row(1, 2, 3, 4, Metric.REAL, (value,), None, "h1")
    s = summarize([value])
    assert row == (1, 2, 3, 4, 1, 1, s.value, s.mean, s.minimum, s.maximum, s.stdev, False, "h1")


def test_a_single_sample_with_a_fail_status_still_goes_through_summarize():
    row = point_row(1, 2, 3, 4, Metric.REAL, (1.5,), (1,), None)
    assert row[6:12] == (None, None, None, None, None, True)
