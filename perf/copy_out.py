"""A query's rows read by PostgreSQL's binary COPY straight into numpy.

For reads of tens of thousands of rows of fixed-width columns (detection's levels, the
run report's history windows), which a cursor's ``fetchall`` would turn into a Python
object per value for numpy code to turn back.  PostgreSQL only: callers keep a cursor
read for other databases.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection

from .formats.copy_binary import read_records, read_tuples


def copy_records(
    select: str, params: Sequence[Any] | Mapping[str, Any], fields: Sequence[tuple[str, str]]
) -> npt.NDArray[np.void]:
    """The rows of ``select`` (bound with ``params``) as a structured array, one field
    per ``(name, PostgreSQL type)`` in the SELECT list's order (``read_records``: a
    NULL or a column of another type is a ValueError).  One statement, logged like
    any other when queries are logged (query-count tests)."""
    return read_records(_copy_out(select, params), fields)


def copy_tuples(
    select: str, params: Sequence[Any] | Mapping[str, Any], width: int
) -> list[tuple[memoryview | None, ...]]:
    """The rows of ``select`` (``width`` columns of any type) with each field's binary
    form as bytes (``read_tuples``; None for NULL): a ``bytea`` comes as it is stored,
    not as hex text to decode.  One statement, logged like ``copy_records``."""
    return read_tuples(_copy_out(select, params), width)


def _copy_out(select: str, params: Sequence[Any] | Mapping[str, Any]) -> bytes:
    with connection.cursor() as cursor:
        raw = cursor.cursor
        query = raw.mogrify(select, params).decode()
        sql = f"COPY ({query}) TO STDOUT (FORMAT binary)"
        out = io.BytesIO()
        started = time.monotonic()
        raw.copy_expert(sql, out)
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return out.getvalue()
