"""Demo data: seeded, realistic-looking nts reports with a few real steps.  Pure.

Three machines, ``orders`` revisions, ``tests`` tests; execution_time with three
samples per run and about 1 % noise, compile_time with one sample, statuses and
binary hashes.  A handful of tests get a real step (regressions and improvements)
at known revisions, and the binary hash changes with them, as it would when a
compiler change alters the code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FIRST_REVISION = 500_000
MACHINES = (
    ("x86-64-o3-box", {"hardware": "x86_64", "os": "linux"}),
    ("arm64-o3-box", {"hardware": "neoverse-n1", "os": "linux"}),
    ("x86-64-lto-box", {"hardware": "x86_64", "os": "linux"}),
)


@dataclass(frozen=True)
class Step:
    machine: int  # index into MACHINES
    test: int
    order: int  # index of the first order at the new level
    factor: float  # new level / old level (1.10 = 10 % slower)


def demo_steps(tests: int, orders: int) -> list[Step]:
    """The steps injected in the demo, at fixed places."""
    at = max(2, orders * 6 // 10)
    later = max(2, orders * 8 // 10)
    return [
        Step(0, 3 % tests, at, 1.10),
        Step(0, 7 % tests, at, 1.15),
        Step(0, 11 % tests, at, 1.12),
        Step(1, 5 % tests, later, 0.85),
        Step(1, 13 % tests, later, 1.25),
        Step(2, 17 % tests, at, 1.20),
    ]


def demo_test_name(i: int) -> str:
    kinds = ("SingleSource/Benchmarks/Misc", "MultiSource/Benchmarks/Olden", "MicroBenchmarks")
    return f"{kinds[i % len(kinds)]}/bench{i:03d}"


def demo_reports(
    *, machines: int = 3, orders: int = 100, tests: int = 200, seed: int = 42
) -> list[dict[str, Any]]:
    """LNT v2 report documents, in submission order (by revision, machine by machine)."""
    rng = random.Random(seed)  # noqa: S311 - seeded demo data, not security
    base = [rng.uniform(0.05, 5.0) for _ in range(tests)]
    compile_base = [rng.uniform(0.1, 2.0) for _ in range(tests)]
    steps = demo_steps(tests, orders)
    start = datetime(2026, 1, 1, 2, 0, 0)
    reports = []
    for o in range(orders):
        revision = str(FIRST_REVISION + 7 * o)
        for m in range(min(machines, len(MACHINES))):
            name, fields = MACHINES[m]
            factor_m = 1.0 + 0.3 * m
            test_docs = []
            for t in range(tests):
                level = base[t] * factor_m
                binary = f"{t:04x}{m:02x}00"
                for s in steps:
                    if s.machine == m and s.test == t and o >= s.order:
                        level *= s.factor
                        binary = f"{t:04x}{m:02x}01"
                samples = [round(level * rng.gauss(1.0, 0.01), 6) for _ in range(3)]
                test_docs.append(
                    {
                        "name": demo_test_name(t),
                        "execution_time": samples,
                        "compile_time": round(compile_base[t] * rng.gauss(1.0, 0.02), 6),
                        "execution_status": 0,
                        "compile_status": 0,
                        "hash": binary,
                    }
                )
            when = start + timedelta(hours=12 * o, minutes=5 * m)
            reports.append(
                {
                    "format_version": "2",
                    "machine": {"name": name, **fields},
                    "run": {
                        "start_time": when.isoformat(),
                        "end_time": (when + timedelta(minutes=40)).isoformat(),
                        "llvm_project_revision": revision,
                        "compiler": f"clang 21 (r{revision})",
                        "build_log": f"https://ci.example.invalid/builds/{o * 10 + m}",
                    },
                    "tests": test_docs,
                }
            )
    return reports
