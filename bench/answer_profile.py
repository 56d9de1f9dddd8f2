"""The run-over-run answer of a machine's second 90,000-test report, timed and profiled.

Run after ``bench/big_report.py --stages`` against the same database (it leaves the
machine ``stages`` with its two runs): regenerates the second report, parses it, and
times the answer ``submitRun`` streams for it (``submission_verdicts`` where the
tree has it, else ``iter_submission_results``), then prints a cProfile of the same
by internal time (the profile's overhead inflates every figure: read the shares).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_bigreport_bigreport \\
        nice -n 10 .venv/bin/python bench/answer_profile.py [--collector-off] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import ROOT  # noqa: E402 - after the path is set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collector-off", action="store_true", help="gc.disable() first")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]  # not recreated
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from big_report import big_report

    from perf.api.lnt_shapes import submission_body_chunks
    from perf.formats import BUILTIN_SUITES, parse_report
    from perf.models import Run
    from perf.selectors import lnt

    run_id = (
        Run.objects.filter(machine__name="stages")
        .order_by("-position")
        .values_list("id", flat=True)
        .first()
    )
    report = parse_report(
        big_report(90_000, machine="stages", revision=2, version=2, seed=1), BUILTIN_SUITES
    )
    verdicts = getattr(lnt, "submission_verdicts", lnt.iter_submission_results)
    if args.collector_off:
        gc.disable()

    def answer() -> int:
        return sum(len(c) for c in submission_body_chunks({}, verdicts(run_id, report)))

    started = time.process_time()
    size = answer()
    print(f"answer: {time.process_time() - started:.2f} CPU s, {size / 1e6:.1f} MB of JSON")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(answer)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
