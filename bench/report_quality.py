"""False flags and power of the run report's verdicts on the demo data.

    PERF_VAR_DIR=/tmp/demo .venv/bin/python manage.py load_demo --if-empty
    PERF_VAR_DIR=/tmp/demo .venv/bin/python bench/report_quality.py

Compares every demo run with its machine's previous run on execution_time (three
samples a run, about 1 % noise), exactly as the run report does (``report_data`` then
``report_compare``, whose verdicts are ``perf.analysis.verdict``'s), and prints:

* false flags: tests flagged as regression or improvement per run, on the runs with
  no injected step (every flag there is false), by verdict (detected, suspect, or
  changed: beyond the detector's noise model, not yet confirmed), and the tests put
  in "too little history" per run;
* power: of the injected steps (``perf.services.demo.demo_steps``), the share flagged in the
  right direction on the run where the step happens, by verdict, with the detector's
  stored changes and without them (as the report reads before detection has run).

Both with the metric's ``ignore_same_hash`` rule off (the statistical model alone:
the demo changes a test's binary hash only at its steps) and on (as the site shows it).

Reads the database only; about half a minute on SQLite.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _score(
    pairs: list[tuple[str, int, Any]],
    runs_by_machine: dict[str, list[Any]],
    steps: dict[tuple[str, int], list[Any]],
    metric: Any,
    tests: int,
) -> None:
    """Print the false flags and the power of the report's verdicts on ``pairs``."""
    from perf.selectors.runs import report_compare
    from perf.services.demo import demo_test_name

    quiet_runs = 0
    quiet_flags: Counter[str] = Counter()
    few: list[int] = []
    found: Counter[str] = Counter()
    unstored: Counter[str] = Counter()  # the same, as the report reads before detection ran
    by_run: list[int] = []
    for name, index, data in pairs:
        new, old = runs_by_machine[name][index], runs_by_machine[name][index - 1]
        (report,) = report_compare(data, old.id, new.id, [metric])
        flagged = report.groups["regressions"] + report.groups["improvements"]
        stepped = steps.get((name, index))
        if stepped is None:
            quiet_runs += 1
            quiet_flags.update(r.verdict for r in flagged)
            few.append(len(report.groups["too_little_history"]))
            by_run.append(len(flagged))
            continue
        unjudged = copy.copy(data)
        unjudged.changes = {}
        (before_detection,) = report_compare(unjudged, old.id, new.id, [metric])
        for step in stepped:
            worse = step.factor > 1 if not metric.bigger_is_better else step.factor < 1
            group = "regressions" if worse else "improvements"
            for seen, tally in ((report, found), (before_detection, unstored)):
                hit = [r for r in seen.groups[group] if r.test == demo_test_name(step.test)]
                tally[hit[0].verdict if hit else "missed"] += 1
    total_flags = sum(quiet_flags.values())
    print(
        f"  runs without a step: {quiet_runs}; tests flagged: {total_flags} "
        f"({total_flags / quiet_runs:.2f} per run, "
        f"{total_flags / quiet_runs / tests * 100:.3f} % of tests; worst run {max(by_run)}); "
        f"by verdict: {dict(sorted(quiet_flags.items()))}"
    )
    print(
        f"  too little history to judge: {sum(few) / quiet_runs:.2f} tests per run "
        f"(on {sum(1 for n in few if n)} runs)"
    )
    total = sum(len(s) for s in steps.values())
    print(
        f"  power: {total - found['missed']}/{total} injected steps flagged on their run; "
        f"by verdict: {dict(sorted(found.items()))}"
    )
    print(
        f"    before detection stored anything: {total - unstored['missed']}/{total}; "
        f"by verdict: {dict(sorted(unstored.items()))}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", default="execution_time", help="metric to judge")
    args = parser.parse_args()

    import django

    django.setup()
    from perf.models import Machine, Metric, Run, TestSuite
    from perf.selectors.runs import report_data
    from perf.services.demo import MACHINES, demo_steps

    started = time.perf_counter()
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name=args.metric)
    machines = {
        m.name: m for m in Machine.objects.filter(suite=suite, name__in=[n for n, _ in MACHINES])
    }
    if len(machines) != len(MACHINES):
        print("The demo data is not loaded (manage.py load_demo).", file=sys.stderr)
        return 2
    tests = orders = 0
    runs_by_machine: dict[str, list[Run]] = {}
    for name, machine in machines.items():
        runs = list(
            Run.objects.filter(machine=machine)
            .select_related("machine", "order")
            .order_by("order__position", "id")
        )
        runs_by_machine[name] = runs
        orders = max(orders, len(runs))
    tests = len(
        report_data(runs_by_machine[MACHINES[0][0]][-1], [], [metric.id]).points
    )  # points of one run: one per test
    steps: dict[tuple[str, int], list[Any]] = {}  # (machine name, order index) -> steps
    for s in demo_steps(tests, orders):
        steps.setdefault((MACHINES[s.machine][0], s.order), []).append(s)

    print(f"{len(machines)} machines x {orders} orders x {tests} tests, metric {metric.name}")
    pairs = [
        (name, index, report_data(runs[index], [runs[index - 1]], [metric.id]))
        for name, runs in runs_by_machine.items()
        for index in range(1, len(runs))
    ]
    variants = [("the verdict engine", metric)]
    if metric.ignore_same_hash:
        # The demo changes a test's binary hash only at its injected steps, so the
        # ignore_same_hash rule alone would hide every false flag: judge without it
        # too, to measure the statistical model.
        unhashed = copy.copy(metric)
        unhashed.ignore_same_hash = False
        variants = [
            ("the statistical model alone (ignore_same_hash off)", unhashed),
            ("as the site shows it (ignore_same_hash on)", metric),
        ]
    for label, judged in variants:
        print(f"{label}:")
        _score(pairs, runs_by_machine, steps, judged, tests)
    print(f"{time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
