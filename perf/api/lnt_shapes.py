"""LNT's JSON shapes for the REST API and the submission reply (``lnt/server/ui/api.py``).

LNT's clients (``lnt admin``, ``lnt submit``, scripts written against LNT) read
these keys; lntsite's own extras are only ever *added* keys.  Plain functions over
rows the selectors read: no queries here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from ..analysis.lnt_compare import PAIRS, ColumnVerdicts

GENERATED_BY = "lntsite (LNT Server API v4)"

# str() of LNT's SQLAlchemy column type for each metric type, as ``fields`` shows it.
COLUMN_TYPES = {"Real": "FLOAT", "Status": "INTEGER", "Hash": "VARCHAR(256)"}


def lnt_time(value: datetime | None) -> str | None:
    """LNT's times: naive UTC ISO 8601 (``2026-01-15T10:30:00``)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def lnt_body(**keys: Any) -> dict[str, Any]:
    """Every LNT API object answer starts with ``generated_by``."""
    return {"generated_by": GENERATED_BY, **keys}


def machine_json(
    machine_id: int,
    name: str,
    fields: Mapping[str, Any],
    parameters: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """LNT's machine: ``name``, ``id``, the suite's machine fields and the free
    parameters, all at the top level (name and id win over a parameter so named)."""
    return {**extra, **parameters, **fields, "name": name, "id": machine_id}


def run_json(
    run: Mapping[str, Any],
    order: Mapping[str, Any],
    order_fields: Sequence[str],
    **extra: Any,
) -> dict[str, Any]:
    """LNT's run with its order flattened in (``Run.__json__(flatten_order=True)``).

    ``run`` has id, start_time, end_time, order_id, run_fields, parameters.
    ``order_by`` names the order fields, comma-separated, as ``lnt admin list-runs``
    reads them: ``run[field]`` must then exist for each.
    """
    return {
        **extra,
        **run.get("parameters", {}),
        **run.get("run_fields", {}),
        "id": run["id"],
        "start_time": lnt_time(run["start_time"]),
        "end_time": lnt_time(run["end_time"]),
        **{f: order.get(f) for f in order_fields},
        "order_by": ",".join(order_fields),
        "order_id": run["order_id"],
    }


def order_json(order: Mapping[str, Any]) -> dict[str, Any]:
    """LNT's order: id, its fields at the top level, and its neighbours' ids."""
    return {
        **order["fields"],
        "id": order["id"],
        "previous_order_id": order.get("previous_order_id"),
        "next_order_id": order.get("next_order_id"),
    }


def field_json(position: int, name: str, metric_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "column_id": position,
        "column_name": name,
        "column_type": COLUMN_TYPES.get(metric_type, "FLOAT"),
        **extra,
    }


def order_label(order_fields: Mapping[str, Any]) -> str:
    """The revision as LNT's graph shows it (the order values, comma-joined)."""
    return ", ".join(str(v) for v in order_fields.values())


def graph_points(
    samples: Iterable[tuple[Mapping[str, Any], Any, datetime, int]],
) -> list[list[Any]]:
    """LNT's graph answer: ``[revision, value, {label, date, runID}]`` per sample."""
    out: list[list[Any]] = []
    for order, value, start, run_id in samples:
        label = order_label(order)
        date = (lnt_time(start) or "").replace("T", " ")  # LNT prints str(datetime)
        out.append([label, value, {"label": label, "date": date, "runID": str(run_id)}])
    return out


def submission_test_results(rows: Iterable[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    """The submission reply's ``test_results``: one parameter set with every row."""
    return [{"pset": [], "results": [list(r) for r in rows]}]


# Results serialised per chunk when a submission reply is streamed.
RESULTS_CHUNK = 5_000
_RESULTS_SLOT = "\x00test_results\x00"


def submission_body_chunks(
    body: Mapping[str, Any], rows: Iterator[tuple[str, str, str | None]] | ColumnVerdicts
) -> Iterator[bytes]:
    """The submission reply ``body`` with ``test_results`` built from ``rows``, as
    JSON text in pieces: the same document as ``json.dumps`` of the whole, but only
    ``RESULTS_CHUNK`` rows are ever held as Python lists and JSON text at once.
    ``ColumnVerdicts`` are written without a row tuple (``_verdict_texts``)."""
    head, tail = json.dumps({**body, "test_results": _RESULTS_SLOT}).split(
        json.dumps(_RESULTS_SLOT)
    )
    yield (head + '[{"pset": [], "results": [').encode()
    texts = _verdict_texts(rows) if isinstance(rows, ColumnVerdicts) else _row_texts(rows)
    first = True
    for text in texts:
        yield (text if first else ", " + text).encode()
        first = False
    yield ("]}]" + tail).encode()


def _row_texts(rows: Iterator[tuple[str, str, str | None]]) -> Iterator[str]:
    """The rows' JSON, ``RESULTS_CHUNK`` at a time, without the list's brackets."""
    encode = json.JSONEncoder().encode
    while chunk := list(islice(rows, RESULTS_CHUNK)):
        yield encode(chunk)[1:-1]


def _verdict_texts(verdicts: ColumnVerdicts) -> Iterator[str]:
    """``_row_texts`` of the verdicts, written from their parts: each test's name
    escaped once (``encode_basestring_ascii``, as ``json.dumps`` escapes, a
    character at a time, so the name and ``.metric`` escape apart), each metric's
    row ending once per verdict pair."""
    names = [encode_basestring_ascii(test)[:-1] for test in verdicts.tests]  # no closing quote
    for metric, order, pairs in verdicts.metrics:
        suffix = encode_basestring_ascii("." + metric)[1:]
        ends = [f'{suffix}, {json.dumps(status)}, {json.dumps(perf)}]' for status, perf in PAIRS]
        for at in range(0, len(order), RESULTS_CHUNK):
            rows = order[at : at + RESULTS_CHUNK].tolist()
            codes = pairs[at : at + RESULTS_CHUNK].tolist()
            yield ", ".join(["[" + names[r] + ends[c] for r, c in zip(rows, codes, strict=True)])
