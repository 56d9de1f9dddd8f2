"""False flags and power of the run report's significance rule on the demo data.

    PERF_VAR_DIR=/tmp/demo .venv/bin/python manage.py load_demo --if-empty
    PERF_VAR_DIR=/tmp/demo .venv/bin/python bench/report_quality.py

Compares every demo run with its machine's previous run on execution_time (three
samples a run, about 1 % noise), exactly as the run report does (``report_data`` then
``report_compare``), and prints:

* false flags: tests flagged as regression or improvement per run, on the runs with
  no injected step (every flag there is false); flags that only the detector's
  changes made ("detected") are counted apart, since they are not the report's rule;
* power: of the injected steps (``perf.services.demo.demo_steps``), the share flagged in the
  right direction on the run where the step happens, by the report's own rule.

Reads the database only; about half a minute on SQLite.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", default="execution_time", help="metric to judge")
    args = parser.parse_args()

    import django

    django.setup()
    from perf.analysis.significance import MIN_HISTORY
    from perf.models import Machine, Metric, Run, TestSuite
    from perf.selectors.runs import report_compare, report_data
    from perf.services.demo import MACHINES, demo_steps, demo_test_name

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

    quiet_runs = quiet_flags = quiet_detected = early_flags = 0
    found = 0
    by_run: list[int] = []
    for name, runs in runs_by_machine.items():
        for index in range(1, len(runs)):
            new, old = runs[index], runs[index - 1]
            data = report_data(new, [old], [metric.id])
            (report,) = report_compare(data, old.id, new.id, [metric])
            flagged = report.groups["regressions"] + report.groups["improvements"]
            by_rule = [r for r in flagged if r.method != "detected"]
            stepped = steps.get((name, index))
            if stepped is None:
                quiet_runs += 1
                quiet_flags += len(by_rule)
                early_flags += len(by_rule) if index < MIN_HISTORY else 0
                quiet_detected += len(flagged) - len(by_rule)
                by_run.append(len(by_rule))
                continue
            for step in stepped:
                worse = step.factor > 1 if not metric.bigger_is_better else step.factor < 1
                group = "regressions" if worse else "improvements"
                hit = [r for r in report.groups[group] if r.test == demo_test_name(step.test)]
                found += bool(hit) and hit[0].method != "detected"
    print(f"{len(machines)} machines x {orders} orders x {tests} tests, metric {metric.name}")
    print(
        f"runs without a step: {quiet_runs}; flagged by the rule: {quiet_flags} "
        f"({quiet_flags / quiet_runs:.2f} tests per run, "
        f"{quiet_flags / quiet_runs / tests * 100:.2f} % of tests; "
        f"worst run {max(by_run)}); flagged only as detected: {quiet_detected}"
    )
    print(
        f"  of which on a machine's first {MIN_HISTORY - 1} compared runs "
        f"(too little history: the samples' test alone): {early_flags}"
    )
    total = sum(len(s) for s in steps.values())
    print(f"power: {found}/{total} injected steps flagged on their run by the rule")
    print(f"{time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
