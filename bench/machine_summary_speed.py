"""The machine page's latest-run comparison with rows and without (counts only, as
``machine_summary`` makes it now), alternated in one process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/machine_summary_speed.py bench-m00 bench-big

On the dataset of bench/make_dataset.py.  For each machine named: the median wall time
and process CPU time of --repeat comparisons each way (its newest run against the
previous one, every Real metric, the history of the moves over the threshold only, as
perf/views/pages.py ``machine_summary`` makes it): with every row built, the tests'
names read and the noise estimated (``rows=True``, the fragment before it built counts
only) and without (``rows=False``); and a check that both give the same counts.
Alternating in one process, the machine's load falls on both alike.  Read-only; stops
by itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _pg import django_on_dataset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("machines", nargs="+", help="machine names")
    parser.add_argument("--repeat", type=int, default=7, help="comparisons each way (median)")
    args = parser.parse_args()
    django_on_dataset()
    from perf import selectors
    from perf.models import Run, TestSuite
    from perf.selectors import runs as run_selectors
    from perf.views.pages import _comparisons

    suite = TestSuite.objects.get(name="nts")
    metrics = selectors.suite_metrics(suite)
    for name in args.machines:
        latest = (
            Run.objects.select_related("order", "machine")
            .filter(suite=suite, machine__name=name)
            .order_by("-position", "-id")
            .first()
        )
        if latest is None:
            print(f"{name}: no runs", file=sys.stderr)
            return 1
        olds = [(run_selectors.run_previous(latest), "previous")]
        timings: dict[bool, list[float]] = {False: [], True: []}
        cpu: dict[bool, list[float]] = {False: [], True: []}
        counts: dict[bool, list[dict[str, int]]] = {}
        for _ in range(args.repeat):
            for rows in (True, False):
                started, started_cpu = time.perf_counter(), time.process_time()
                (comparison,) = _comparisons(
                    latest, olds, metrics, metrics, small_rows=0, rows=rows
                )
                cpu[rows].append((time.process_time() - started_cpu) * 1000)
                timings[rows].append((time.perf_counter() - started) * 1000)
                counts[rows] = [r.counts for r in comparison.reports]
        same = "same counts" if counts[False] == counts[True] else "COUNTS DIFFER"
        print(
            f"{name}: with rows {statistics.median(timings[True]):.1f} ms "
            f"(CPU {statistics.median(cpu[True]):.1f}), counts only "
            f"{statistics.median(timings[False]):.1f} ms (CPU {statistics.median(cpu[False]):.1f}) "
            f"(medians of {args.repeat}, alternated; {same})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
