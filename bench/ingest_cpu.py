"""Python CPU of the parts of ingest that need no database, per report: parsing and
validating, the report digest, and the point records of its COPY.

    nice -n 10 .venv/bin/python bench/ingest_cpu.py [--tests 1000 --reports 10 --repeat 7]

Reports as bench/write_speed.py builds them (--tests tests x execution_time and
compile_time x 3 samples).  Each figure is the minimum over --repeat passes of
process CPU time divided by the reports: the figure least moved by other jobs on a
shared machine, for comparing two trees run one after the other.  No database.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")


def best_ms(work: Callable[[], object], repeat: int, per: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times) / per * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests per report")
    parser.add_argument("--reports", type=int, default=10, help="reports per pass")
    parser.add_argument("--repeat", type=int, default=7, help="passes (the minimum is kept)")
    args = parser.parse_args()
    import django

    django.setup()
    from bench.write_speed import report
    from perf.formats import BUILTIN_SUITES, parse_report, report_digest
    from perf.models import Metric
    from perf.services.ingest import point_record

    rng = random.Random(1)
    raws = [report(args.tests, 100 + i, rng) for i in range(args.reports)]
    reports = [parse_report(raw, BUILTIN_SUITES, suite="nts") for raw in raws]

    def records() -> None:
        for parsed in reports:
            for test in parsed.tests:
                for values in test.samples.values():
                    point_record(1, 2, 3, 4, Metric.REAL, values, None, None)

    def parse_all() -> None:
        for raw in raws:
            parse_report(raw, BUILTIN_SUITES, suite="nts")

    n = args.reports
    parse = best_ms(parse_all, args.repeat, n)
    digest = best_ms(lambda: [report_digest(r) for r in reports], args.repeat, n)
    build = best_ms(records, args.repeat, n)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    print(
        f"Python CPU per {args.tests}-test report (min of {args.repeat}): parse {parse:.1f} ms, "
        f"digest {digest:.1f} ms, point records {build:.1f} ms"
    )


if __name__ == "__main__":
    main()
