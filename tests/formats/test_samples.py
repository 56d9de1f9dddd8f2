"""perf.formats.samples: the packed samples of a point come back as they went in."""

import math
import struct

import pytest

from perf.formats.samples import pack_samples, unpack_samples


@pytest.mark.parametrize(
    ("metric_type", "values"),
    [
        ("Real", [1.0]),
        ("Real", [0.1, 1e-05, 1e20, 123456789.123456789, -0.0, 5e-324, 1.7976931348623157e308]),
        ("Real", []),
        ("Status", [0, 1, 2]),
        ("Status", [-1, 2**62]),
        ("Hash", ['a"b\\c', "\u00e9\n", "x"]),
        ("Hash", ["x" * 300]),
    ],
)
def test_samples_come_back_bit_for_bit_in_order(metric_type, values):
    back = unpack_samples(pack_samples(metric_type, values))
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]
    assert [math.copysign(1, v) for v in back if isinstance(v, float)] == [
        math.copysign(1, v) for v in values if isinstance(v, float)
    ]


def test_three_real_samples_take_a_tag_and_three_doubles():
    assert len(pack_samples("Real", [1.0, 2.0, 3.0])) == 25


def test_an_int_real_sample_comes_back_a_float():
    assert unpack_samples(pack_samples("Real", [3])) == [3.0]


def test_real_samples_are_big_endian_doubles_as_postgresqls_float8send_writes_them():
    assert pack_samples("Real", [1.5]) == b"d" + bytes.fromhex("3ff8000000000000")
    assert pack_samples("Status", [2]) == b"q" + bytes.fromhex("0000000000000002")


def test_a_memoryview_reads_like_bytes():
    packed = pack_samples("Real", [2.5, 4.0])
    assert unpack_samples(memoryview(packed)) == [2.5, 4.0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "unknown tag b''"),
        (b"z123", "unknown tag b'z'"),
        (b"d" + struct.pack(">d", 1.0)[:5], "5 bytes is not a whole number of values"),
        (b'j{"a": 1}', "the JSON is not a list"),
    ],
)
def test_bytes_it_did_not_write_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        unpack_samples(data)
