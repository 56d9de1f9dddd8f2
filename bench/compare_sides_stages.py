"""The compare sides page's Python, stage by stage, in one process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/compare_sides_stages.py bench-m00 --repeat 9

On the dataset of bench/make_dataset.py: the machine's newest run against the one
before (--runs: the newest N against the N before), execution_time, as
``bench/pages_speed.py``'s "compare sides" page asks.  The median process CPU ms of
each stage the view runs (perf/views/compare.py ``compare_sides``): each side's
samples (query and unpacking), the rows (``sides.compare_sides``), their sort, their
HTML (``sides_rows_html``) and the chart's points; then the float reprs alone that
the rows' HTML writes (three a row), which no change to the code can skip while the
page stays byte for byte.  --tree runs another checkout's code.  Read-only.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _pg import django_on_dataset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("machine", help="machine name")
    parser.add_argument("--repeat", type=int, default=9, help="times each stage (median)")
    parser.add_argument(
        "--runs", type=int, default=1,
        help="runs a side: the newest N against the N before (2 or more: 4+ samples a "
        "side, so each row gets its Mann-Whitney test)",
    )
    parser.add_argument(
        "--tree", default=None, help="the checkout whose code runs (default: this one)"
    )
    args = parser.parse_args()
    if args.tree:
        django_on_dataset(args.tree)
    else:
        django_on_dataset()
    from perf.analysis import sides
    from perf.models import Run
    from perf.selectors import compare as cs
    from perf.views.compare import _sorted
    from perf.views.compare_rows import sides_rows_html

    newest = list(
        Run.objects.filter(machine__name=args.machine, suite__name="nts")
        .order_by("-order__position", "-id")
        .values_list("id", flat=True)[: 2 * args.runs]
    )
    old = cs.side_resolve(cs.Side("a", "nts", runs=newest[args.runs :]))
    new = cs.side_resolve(cs.Side("b", "nts", runs=newest[: args.runs]))
    gc.freeze()  # as the gunicorn master does
    cpu: dict[str, list[float]] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        started = time.process_time()
        result = work()
        cpu.setdefault(stage, []).append((time.process_time() - started) * 1000)
        return result

    for _ in range(args.repeat):
        a = timed("old side's samples", lambda: cs.side_samples(old, "execution_time"))
        b = timed("new side's samples", lambda: cs.side_samples(new, "execution_time"))
        rows = timed(
            "rows (compare_sides)", lambda a=a, b=b: sides.compare_sides(a, b, sides.Knobs())
        )
        rows = timed("sort", lambda rows=rows: _sorted(rows, "change"))
        timed("rows' HTML", lambda rows=rows: sides_rows_html([(r, True) for r in rows],
                                                              choose=False))
        timed("chart points", lambda rows=rows: sorted(
            ([r.log2_ratio, r.test, r.status] for r in rows if r.log2_ratio is not None),
            key=lambda p: (p[0], p[1]),
        ))
        numbers = [v for r in rows for v in (r.log2_ratio, r.old, r.new) if v is not None]
        timed("of which the float reprs", lambda numbers=numbers: list(map(repr, numbers)))
    print(f"{args.tree or 'this tree'}, {args.machine}, {args.runs} run(s) a side: "
          f"{len(rows)} rows, medians of "
          f"{args.repeat}, CPU ms, load {os.getloadavg()[0]:.1f}")
    for stage, values in cpu.items():
        print(f"  {stage:26s} {statistics.median(values):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
