"""Reading what PostgreSQL's ``COPY ... TO STDOUT (FORMAT binary)`` writes, for rows of
fixed-width, non-NULL columns, straight into a numpy structured array.

A tuple is a 16-bit field count, then each field as a 32-bit length and its bytes, all
big-endian; the file has an 11-byte signature, 32-bit flags and a header extension
before the tuples, and a field count of -1 after them.  When every field has a fixed
width and none is NULL, every tuple has the same size, so the whole body is one array:
no Python object per row or per value (what a cursor's ``fetchall`` builds).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = struct.Struct(">ii")  # flags, header extension length
TRAILER = b"\xff\xff"

# PostgreSQL types by the numpy type of their binary form.
WIDTHS = {"int8": ">i8", "int4": ">i4", "float8": ">f8", "bool": "u1"}


def record_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype[np.void]:
    """The numpy type of one tuple whose fields are ``(name, PostgreSQL type)``."""
    layout: list[tuple[str, str]] = [("_fields", ">i2")]
    for name, pg_type in fields:
        if pg_type not in WIDTHS:
            raise ValueError(f"no fixed-width binary form for {pg_type!r} (field {name!r})")
        layout += [(f"_length_{name}", ">i4"), (name, WIDTHS[pg_type])]
    return np.dtype(layout)


def read_records(data: bytes, fields: Sequence[tuple[str, str]]) -> npt.NDArray[np.void]:
    """The tuples of a binary COPY output ``data`` as a structured array (read-only,
    over ``data``) with one field per ``(name, PostgreSQL type)``, in their order.

    Raises ValueError if ``data`` is not such an output: a bad signature or trailer, a
    body that is not whole tuples, a tuple with another field count, or a field that
    is NULL or of another width (so a schema change is an error, never wrong numbers).
    """
    if not data.startswith(SIGNATURE):
        raise ValueError("not a binary COPY output: bad signature")
    start = len(SIGNATURE) + _HEADER.size
    if len(data) < start + len(TRAILER):
        raise ValueError("binary COPY output cut short")
    _, extension = _HEADER.unpack_from(data, len(SIGNATURE))
    start += extension
    if not data.endswith(TRAILER):
        raise ValueError("binary COPY output without its trailer")
    body = memoryview(data)[start : len(data) - len(TRAILER)]
    dtype = record_dtype(fields)
    if len(body) % dtype.itemsize:
        raise ValueError(
            f"binary COPY body of {len(body)} bytes is not whole {dtype.itemsize}-byte tuples"
        )
    records = np.frombuffer(body, dtype=dtype)  # fixed width: one array
    if records.size and not (records["_fields"] == len(fields)).all():
        raise ValueError(f"binary COPY tuples without exactly {len(fields)} fields")
    for name, pg_type in fields:
        width = np.dtype(WIDTHS[pg_type]).itemsize
        if records.size and not (records[f"_length_{name}"] == width).all():
            raise ValueError(f"binary COPY field {name!r} NULL or not {width} bytes wide")
    return records


_COUNT = struct.Struct(">h")
_LENGTH = struct.Struct(">i")


def read_tuples(data: bytes, width: int) -> list[tuple[memoryview | None, ...]]:
    """The tuples of a binary COPY output ``data`` whose fields may have any width
    (``bytea``, ``text``), each field's bytes as a view over ``data`` (None: NULL): for
    a few rows of large values (a run's packed values), where a cursor would send
    ``bytea`` as hex text for the client to decode.  Raises ValueError as
    ``read_records`` does: bad signature or trailer, a tuple without ``width`` fields,
    a field past the end."""
    if not data.startswith(SIGNATURE) or len(data) < len(SIGNATURE) + _HEADER.size:
        raise ValueError("not a binary COPY output: bad signature")
    _, extension = _HEADER.unpack_from(data, len(SIGNATURE))
    at = len(SIGNATURE) + _HEADER.size + extension
    view = memoryview(data)
    rows = []
    while True:
        if at + _COUNT.size > len(data):
            raise ValueError("binary COPY output without its trailer")
        (count,) = _COUNT.unpack_from(data, at)
        at += _COUNT.size
        if count == -1:
            break
        if count != width:
            raise ValueError(f"binary COPY tuples without exactly {width} fields")
        row: list[memoryview | None] = []
        for _ in range(count):
            if at + _LENGTH.size > len(data):
                raise ValueError("binary COPY output cut short")
            (length,) = _LENGTH.unpack_from(data, at)
            at += _LENGTH.size
            if length == -1:
                row.append(None)
                continue
            if at + length > len(data):
                raise ValueError("binary COPY output cut short")
            row.append(view[at : at + length])
            at += length
        rows.append(tuple(row))
    if at != len(data):
        raise ValueError("binary COPY output with bytes after its trailer")
    return rows
