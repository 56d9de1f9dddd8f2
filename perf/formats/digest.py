"""A content hash of a validated report: what "the same report again" means.

Two reports are *identical* when they describe the same run: the same suite,
machine (name, fields and parameters), order, run fields and parameters, start and
end times (as given; a missing time stays missing, it is not "now"), and the same
samples and profile (by its SHA-256) for every test.  The order of tests in the
document, key order, whitespace, number spelling (``1.0`` / ``1``) and the wire
version (v1 upgraded to v2) do not count; the order of samples within one metric
does (a retry is byte-identical anyway).  A client that retries after a timeout
sends an identical report, and the server answers it with the run it already
stored instead of a 409 or a second run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from json.encoder import encode_basestring_ascii

from perf.formats.types import Report, TestResult


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# One encoder for the head (json.dumps with options builds a new one per call).
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode
# A string as that encoder writes it (ASCII, quoted), without the encoder's per-call cost.
_string = encode_basestring_ascii


def _test_entry(test: TestResult) -> str:
    """The JSON of one test in the digested document: what ``_encode`` writes for
    ``[name, sorted([metric, samples as floats or strings]), profile sha256]`` (a test
    holds lists only, so there are no keys to sort), written directly: a finite
    float as ``float.__repr__``, a string by the encoder's own C function."""
    metrics = ",".join(
        [
            f"[{_string(metric)},["
            + ",".join(
                [
                    repr(float(v)) if isinstance(v, int | float) else _string(v)
                    for v in values
                ]
            )
            + "]]"
            for metric, values in sorted(test.samples.items())
        ]
    )
    profile = (
        f'"{hashlib.sha256(test.profile).hexdigest()}"' if test.profile is not None else "null"
    )
    return f"[{_string(test.name)},[{metrics}],{profile}]"


def report_digest(report: Report) -> str:
    """SHA-256 (64 hex digits) of the normalised report; equal iff identical (above).

    The digested text is the JSON (sorted keys, no spaces, ASCII) of an object
    ``{"machine", "order", "run", "suite", "tests", "times"}`` whose ``tests`` is the
    list of ``[name, [[metric, samples], ...], profile sha256]`` sorted by name (names
    are unique in a report).  It is hashed a test at a time, never built whole, so
    that a 90,000-test report costs no second copy of itself.
    """
    head = {
        "machine": [report.machine_name, report.machine_fields, report.machine_parameters],
        "order": report.order,
        "run": [report.run_fields, report.run_parameters],
        "suite": report.suite,
        "tests": None,
        "times": [_time(report.start_time), _time(report.end_time)],
    }
    prefix, suffix = _encode(head).split('"tests":null', 1)
    digest = hashlib.sha256(f'{prefix}"tests":['.encode("ascii"))
    for index, test in enumerate(sorted(report.tests, key=lambda t: t.name)):
        digest.update(f"{',' if index else ''}{_test_entry(test)}".encode("ascii"))
    digest.update(f"]{suffix}".encode("ascii"))
    return digest.hexdigest()
