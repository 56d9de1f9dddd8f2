"""The machine page's latest-run comparison with the whole history and with the history
of the moved tests only (``counts_only``), alternated in one process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/machine_summary_speed.py bench-m00 bench-big

On the dataset of bench/make_dataset.py.  For each machine named: the median wall time
of --repeat comparisons each way (its newest run against the previous one, every Real
metric, as perf/views/pages.py ``machine_summary`` makes it), and a check that both give
the same counts.  Read-only; stops by itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("machines", nargs="+", help="machine names")
    parser.add_argument("--repeat", type=int, default=7, help="comparisons each way (median)")
    args = parser.parse_args()
    import django

    django.setup()
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
        counts: dict[bool, list[dict[str, int]]] = {}
        for _ in range(args.repeat):
            for counts_only in (False, True):
                started = time.perf_counter()
                (comparison,) = _comparisons(
                    latest, olds, metrics, metrics, counts_only=counts_only
                )
                timings[counts_only].append((time.perf_counter() - started) * 1000)
                counts[counts_only] = [r.counts for r in comparison.reports]
        same = "same counts" if counts[False] == counts[True] else "COUNTS DIFFER"
        print(
            f"{name}: whole history {statistics.median(timings[False]):.0f} ms, moved tests' "
            f"only {statistics.median(timings[True]):.0f} ms "
            f"(medians of {args.repeat}, alternated; {same})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
