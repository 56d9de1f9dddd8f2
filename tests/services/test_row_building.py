"""ingest's row builders: the fast paths write what the general ones write."""

import pytest

from perf.analysis.summary import summarize
from perf.formats.samples import pack_samples, unpack_samples
from perf.models import Metric
from perf.services.ingest import copy_line, point_line, point_row


@pytest.mark.parametrize("value", [1.0, 0.1, -3.5e-7, 2.0**60])
def test_a_single_real_sample_gives_the_point_summarize_gives(value):
    row = point_row(1, 2, 3, 4, Metric.REAL, (value,), None, "h1")
    s = summarize([value])
    packed = pack_samples(Metric.REAL, [value])
    assert row == (
        *(1, 2, 3, 4, 1, 1, s.value, s.mean, s.minimum, s.maximum, s.stdev, False, "h1"),
        packed,
    )


@pytest.mark.parametrize(
    ("metric_type", "values"),
    [
        (Metric.REAL, (1.0, 3.0, 2.0)),
        (Metric.STATUS, (2, 1, 0)),
        (Metric.HASH, ("x" * 300, "y")),  # whole, where the point's hash is cut
    ],
)
def test_a_point_row_ends_with_its_samples_packed_in_order(metric_type, values):
    row = point_row(1, 2, 3, 4, metric_type, values, None, None)
    assert unpack_samples(row[-1]) == list(values)


def test_a_single_sample_with_a_fail_status_still_goes_through_summarize():
    row = point_row(1, 2, 3, 4, Metric.REAL, (1.5,), (1,), None)
    assert row[6:12] == (None, None, None, None, None, True)


@pytest.mark.parametrize(
    ("metric_type", "values", "statuses", "binary_hash"),
    [
        (Metric.REAL, (1.25,), None, "h1"),  # one sample, the binary's hash
        (Metric.REAL, (2.0**60,), (0,), None),  # one sample that passed
        (Metric.REAL, (1.5,), (1,), "h"),  # one sample that failed
        (Metric.REAL, (1e-05,), (0, 1), None),  # statuses that do not pair up, one FAIL
        (Metric.REAL, (1.0, 3.0, 2.0), (0, 1, 0), "tab\there"),  # several samples
        (Metric.REAL, (7.0,), None, ""),  # an empty hash is no hash
        (Metric.STATUS, (0,), None, None),
        (Metric.STATUS, (1,), None, "h"),
        (Metric.STATUS, (2, 1, 0), None, None),
        (Metric.HASH, ("back\\slash\nline",), None, None),
        (Metric.HASH, ("x" * 300, "y"), None, None),  # cut to the column's 256 characters
    ],
)
def test_a_point_line_is_the_copy_line_of_its_point_row(metric_type, values, statuses, binary_hash):
    row = point_row(7, 8, 9, 1 << 40, metric_type, values, statuses, binary_hash)
    line = point_line(7, 8, 9, 1 << 40, metric_type, values, statuses, binary_hash)
    assert line == copy_line(row)


def test_a_copy_line_escapes_what_copys_text_format_reads_as_syntax():
    line = copy_line([1, None, 2.5, True, "a\tb\nc\rd\\e", "", b"d\x00\xff"])
    assert line == "1\t\\N\t2.5\tTrue\ta\\tb\\nc\\rd\\\\e\t\t\\\\x6400ff\n"
