"""The stored form of one (run, series)'s raw samples: a few bytes in the point row.

A point keeps the samples its summary was computed from in ``Point.samples``, packed
here and unpacked by every reader.  The first byte says what follows:

* ``d`` (Real): the values as IEEE 754 doubles, 8 bytes each, big-endian -- the
  byte order of PostgreSQL's ``float8send``, so a migration can pack in SQL.  Three
  samples take 25 bytes, against 65 for the same list as ``jsonb``.
* ``q`` (Status): the values as signed 64-bit integers, big-endian (``int8send``).
* ``j`` (Hash, and anything else): the list as JSON text, UTF-8.

Self-describing, so a reader needs no metric type to read a row back: Real samples
come back as floats, Status samples as ints, Hash samples as strings, in the order
they were reported.  Non-finite Real values never get here (reports and LNT imports
refuse them), but ``d`` would keep them bit for bit anyway.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

from perf.formats.types import SampleValue

REAL_TAG, STATUS_TAG, JSON_TAG = b"d", b"q", b"j"
_PACKERS = {REAL_TAG: "d", STATUS_TAG: "q"}
# Struct objects by (tag, count): a run's rows have one to a few samples each.
_structs: dict[tuple[bytes, int], struct.Struct] = {}


def _struct(tag: bytes, count: int) -> struct.Struct:
    found = _structs.get((tag, count))
    if found is None:
        found = _structs[(tag, count)] = struct.Struct(f">{count}{_PACKERS[tag]}")
    return found


def pack_samples(metric_type: str, values: Sequence[SampleValue]) -> bytes:
    """``values`` of a metric of type ``metric_type`` ("Real", "Status" or "Hash") as
    stored.  Real values are stored as floats (an int 3 comes back as 3.0), Status
    values as ints; any other type as JSON.  An empty sequence packs to its tag alone."""
    if metric_type == "Real":
        return REAL_TAG + _struct(REAL_TAG, len(values)).pack(*values)
    if metric_type == "Status":
        return STATUS_TAG + _struct(STATUS_TAG, len(values)).pack(*values)
    return JSON_TAG + json.dumps(list(values)).encode()


def unpack_samples(data: bytes | memoryview) -> list[SampleValue]:
    """The values ``pack_samples`` packed into ``data``, as a new list.

    Raises ValueError on bytes it did not write (unknown tag, a length that is not a
    whole number of values, bad JSON).
    """
    raw = bytes(data)
    tag, body = raw[:1], raw[1:]
    if tag in _PACKERS:
        count, rest = divmod(len(body), 8)
        if rest:
            raise ValueError(f"packed samples: {len(body)} bytes is not a whole number of values")
        return list(_struct(tag, count).unpack(body))
    if tag == JSON_TAG:
        values = json.loads(body)
        if not isinstance(values, list):
            raise ValueError("packed samples: the JSON is not a list")
        return values
    raise ValueError(f"packed samples: unknown tag {tag!r}")
