"""ingest's row builders: the fast paths write what the general ones write."""

import pytest

from perf.analysis.summary import summarize
from perf.formats.samples import pack_samples, unpack_samples
from perf.models import Metric
from perf.services import ingest
from perf.services.ingest import (
    POINT_ENCODERS,
    binary_record,
    point_record,
    point_record_value,
    point_row,
)


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
        (Metric.REAL, (1.0, 3.0, 2.0, 0.5), None, None),  # several samples, all valid
        (Metric.REAL, (4, 2.5), (0, 0), "h" * 300),  # an int sample; the hash cut
        (Metric.REAL, (1.0, 3.0), (1, 1), None),  # every sample failed
        (Metric.REAL, (0.3, 0.1, 0.2), None, "h"),  # several valid samples: odd count
        (Metric.REAL, (4.0, 1.0, 3.0, 2.5), (0, 0, 2, 0), None),  # even, none failed
        (Metric.REAL, (0.0, -0.0), None, None),  # equal minimum and maximum, two signs
        (Metric.REAL, (1e30, 1e30, -1e30), (0, 0), "h"),  # statuses that do not pair up
        (Metric.REAL, (7.0,), None, ""),  # an empty hash is no hash
        (Metric.REAL, (0.5,), None, "caf\u00e9" * 100),  # cut to 256 characters, then UTF-8
        (Metric.STATUS, (0,), None, None),
        (Metric.STATUS, (1,), None, "h"),
        (Metric.STATUS, (2, 1, 0), None, None),
        (Metric.HASH, ("back\\slash\nline",), None, None),
        (Metric.HASH, ("x" * 300, "y"), None, None),  # cut to the column's 256 characters
        (Metric.HASH, ("",), None, "h"),  # an empty Hash value is kept, not NULL
    ],
)
def test_a_point_record_is_the_binary_record_of_its_point_row(
    metric_type, values, statuses, binary_hash
):
    row = point_row(7, 8, 9, 1 << 40, metric_type, values, statuses, binary_hash)
    record = point_record(7, 8, 9, 1 << 40, metric_type, values, statuses, binary_hash)
    assert record == binary_record(row, POINT_ENCODERS)
    _, value, failed, mean = point_record_value(
        7, 8, 9, 1 << 40, metric_type, values, statuses, binary_hash
    )
    assert (value, failed, mean) == (row[6], row[11], row[7])


def test_a_binary_record_is_what_copys_binary_format_reads():
    record = binary_record(
        [1, None, 2.5, True, "caf\u00e9", "", b"d\x00"],
        [ingest._int8, ingest._float8, ingest._float8, ingest._bool, ingest._text]
        + [ingest._text, ingest._bytea],
    )
    assert record == b"".join(
        [
            b"\x00\x07",  # field count
            b"\x00\x00\x00\x08" + (1).to_bytes(8, "big"),
            b"\xff\xff\xff\xff",  # NULL
            b"\x00\x00\x00\x08" + bytes.fromhex("4004000000000000"),  # 2.5
            b"\x00\x00\x00\x01\x01",
            b"\x00\x00\x00\x05caf\xc3\xa9",
            b"\x00\x00\x00\x00",  # an empty string, not NULL
            b"\x00\x00\x00\x02d\x00",
        ]
    )
