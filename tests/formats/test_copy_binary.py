"""perf.formats.copy_binary reads PostgreSQL's binary COPY output of fixed-width,
non-NULL columns into numpy, and refuses anything else rather than misread it."""

import struct

import numpy as np
import pytest

from perf.formats.copy_binary import SIGNATURE, TRAILER, read_records

FIELDS = [("id", "int8"), ("value", "float8"), ("count", "int4"), ("failed", "bool")]


def tuple_bytes(id_, value, count, failed, *, lengths=(8, 8, 4, 1)):
    parts = [struct.pack(">h", len(lengths))]
    for length, packed in zip(
        lengths,
        (struct.pack(">q", id_), struct.pack(">d", value), struct.pack(">i", count),
         bytes([failed])),
        strict=True,
    ):
        parts.append(struct.pack(">i", length) + (packed if length >= 0 else b""))
    return b"".join(parts)


def output(*tuples, extension=b""):
    header = SIGNATURE + struct.pack(">ii", 0, len(extension)) + extension
    return header + b"".join(tuples) + TRAILER


def test_the_tuples_come_back_as_columns_with_their_values():
    data = output(tuple_bytes(7, 1.5, 3, 0), tuple_bytes(2**40, float("nan"), 1, 1))
    records = read_records(data, FIELDS)
    assert records["id"].tolist() == [7, 2**40]
    assert records["value"][0] == 1.5 and np.isnan(records["value"][1])
    assert records["count"].tolist() == [3, 1]
    assert records["failed"].astype(bool).tolist() == [False, True]


def test_an_empty_output_and_a_header_extension_are_read():
    assert read_records(output(), FIELDS).size == 0
    assert read_records(output(tuple_bytes(1, 2.0, 3, 0), extension=b"xyz"), FIELDS).size == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"COPY\n" + bytes(20), "bad signature"),
        (output(tuple_bytes(1, 2.0, 3, 0))[:-2], "without its trailer"),
        (output(tuple_bytes(1, 2.0, 3, 0))[:-5] + TRAILER, "not whole"),
        (output(tuple_bytes(1, 2.0, 3, 0, lengths=(8, -1, 4, 1)) + bytes(8)), "'value' NULL"),
    ],
)
def test_output_it_cannot_read_exactly_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        read_records(data, FIELDS)


def test_a_tuple_with_another_field_count_is_refused():
    fields = FIELDS[:3]
    odd = struct.pack(">h", 4) + tuple_bytes(1, 2.0, 3, 0)[2:-5]  # 4 claimed, 3 present
    with pytest.raises(ValueError, match="exactly 3 fields"):
        read_records(output(odd), fields)


def test_a_type_without_a_fixed_width_is_refused():
    with pytest.raises(ValueError, match="no fixed-width binary form for 'text'"):
        read_records(output(), [("name", "text")])
