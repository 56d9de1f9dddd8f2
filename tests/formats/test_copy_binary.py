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


def varlen_tuple(*fields):
    parts = [struct.pack(">h", len(fields))]
    for field in fields:
        parts.append(struct.pack(">i", -1) if field is None else struct.pack(">i", len(field)))
        parts.append(field or b"")
    return b"".join(parts)


def test_read_tuples_gives_each_fields_bytes_of_any_width_and_none_for_null():
    from perf.formats.copy_binary import read_tuples

    data = output(
        varlen_tuple(struct.pack(">q", 7), b"\x00\x01" * 9000, b""),
        varlen_tuple(struct.pack(">q", 8), None, b"x"),
        extension=b"ext",
    )
    rows = read_tuples(data, 3)
    assert [[None if f is None else bytes(f) for f in row] for row in rows] == [
        [struct.pack(">q", 7), b"\x00\x01" * 9000, b""],
        [struct.pack(">q", 8), None, b"x"],
    ]
    assert read_tuples(output(), 3) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"COPY" + TRAILER, "bad signature"),
        (output(varlen_tuple(b"a", b"b")), "exactly 3 fields"),
        (output(varlen_tuple(b"a", b"b", b"c"))[:-2], "without its trailer"),
        (output(varlen_tuple(b"a", b"b", b"c"))[:-5], "cut short"),
        (output() + b"\x00", "after its trailer"),
    ],
)
def test_read_tuples_refuses_what_is_not_whole_tuples(data, message):
    from perf.formats.copy_binary import read_tuples

    with pytest.raises(ValueError, match=message):
        read_tuples(data, 3)
