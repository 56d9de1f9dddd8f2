"""Typed objects produced by the report and schema parsers.

Everything downstream of ``perf.formats`` trusts these objects: they are only
built by the parsers, which validate every field once.  No Django here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

MetricType = Literal["Real", "Hash", "Status"]

# Values of a Status metric, as in LNT.
STATUS_PASS = 0
STATUS_FAIL = 1
STATUS_XFAIL = 2


class FormatError(ValueError):
    """A report or schema document was refused.

    ``message`` is stable, human-readable and names the field, test or value at
    fault; the HTTP layer returns it verbatim (as JSON) with a 4xx status.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MetricSpec:
    """One metric a suite's tests may report (LNT's "sample field")."""

    name: str
    type: MetricType = "Real"
    bigger_is_better: bool = False
    ignore_same_hash: bool = False
    display_name: str = ""
    unit: str = ""
    unit_abbrev: str = ""


@dataclass(frozen=True)
class SuiteSchema:
    """A test suite: its metrics, its order (x-axis) fields, run and machine fields."""

    name: str
    metrics: tuple[MetricSpec, ...]
    order_fields: tuple[str, ...]
    run_fields: tuple[str, ...] = ()  # non-order run fields
    machine_fields: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricSpec | None:
        for m in self.metrics:
            if m.name == name:
                return m
        return None


SampleValue = float | int | str  # Real -> float, Status -> int (0-2), Hash -> str


@dataclass(frozen=True)
class TestResult:
    """All samples one test reported in one run, keyed by metric name.

    Each metric maps to a non-empty tuple of samples (several runs of the same
    binary).  Types follow the metric: float for Real, int for Status, str for Hash.
    """

    name: str
    samples: dict[str, tuple[SampleValue, ...]]
    # The test's profile as the client sent it, base64-decoded (LNT's profile file,
    # opaque here); None when the test has none.
    profile: bytes | None = None


@dataclass(frozen=True)
class Report:
    """A validated report, always in the v2 shape whatever the wire format was."""

    suite: str
    machine_name: str
    machine_fields: dict[str, str]  # keys that are machine fields of the suite
    machine_parameters: dict[str, str]  # any other machine keys (kept and shown)
    order: dict[str, str]  # every order field of the suite -> revision string
    run_fields: dict[str, str]  # non-order run fields of the suite
    run_parameters: dict[str, str]  # any other run keys (kept and shown)
    start_time: datetime | None  # naive UTC; None when the report had none
    end_time: datetime | None
    tests: tuple[TestResult, ...]
    format_version: int  # the version on the wire: 1 or 2
    warnings: tuple[str, ...] = field(default=())  # e.g. skipped profile entries

    @property
    def sample_count(self) -> int:
        return sum(len(v) for t in self.tests for v in t.samples.values())
