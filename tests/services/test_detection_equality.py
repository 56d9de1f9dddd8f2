"""The detection task stores exactly what it stored before its speed work (issue #10).

A factory history with steps up and down, failed runs, missing points, single-sample
metrics, two runs at one order and a fresh step at the end is submitted and detected
run by run; the changes and regressions stored are compared, every float to the last
bit, with those recorded from the task as it was at 78ae56c (batches of 500 series;
``tests/data/detection_equality.json``).  After an intended change of
the detector, PERF_RECORD_DETECTION_EQUALITY=1 records the new verdicts (review the diff).
"""

import json
import os
import random
from pathlib import Path

import pytest

from perf.models import FieldChange, Regression, Run
from perf.services import detection
from tests.factories import report_doc
from tests.services.test_detection import noisy, submit_and_detect

pytestmark = pytest.mark.django_db

EXPECTED = Path(__file__).resolve().parent.parent / "data" / "detection_equality.json"


def levels_at(run: int) -> dict[str, float | None]:
    """Each test's level at run ``run`` (None: the test is missing from that run)."""
    return {
        "step/up": 1.0 if run < 20 else 1.15,
        "step/down": 2.0 if run < 14 else 1.6,
        "step/late": 3.0 if run < 33 else 3.6,  # confirmed by the newest run
        "step/newest": 1.0 if run < 34 else 1.3,  # a suspect on the newest run
        "gaps/step": None if run % 4 == 1 else (1.0 if run < 24 else 0.8),
        "flaky/clean": 0.5,
        "clean/a": 1.2,
        "clean/b": 0.7,
    }


def history_doc(run: int, rng: random.Random) -> dict:
    tests: dict[str, dict] = {}
    for name, level in levels_at(run).items():
        if level is None:
            continue
        metrics: dict = {
            "execution_time": noisy(level, rng, noise=0.01),
            # One sample per run: a step only the rank test over more orders confirms.
            "compile_time": round(level * 2 * rng.gauss(1.0, 0.02), 6),
        }
        if name == "flaky/clean" and run % 7 == 3:  # failed runs with wild values
            metrics = {"execution_time": [9.0, 9.0, 9.0], "execution_status": 1}
        tests[name] = metrics
    return report_doc(machine="equal-box", revision=1000 + run, tests=tests)


def stored() -> dict:
    """The changes and regressions stored, by test, metric and order keys."""
    changes = [
        [
            fc.test.name,
            fc.metric.name,
            fc.start_order.key,
            fc.end_order.key,
            fc.old_value,
            fc.new_value,
            fc.relative_change,
            fc.confidence,
            fc.is_regression,
            fc.method,
            fc.withdrawn,
            fc.confirmed,
        ]
        for fc in FieldChange.objects.select_related("test", "metric", "start_order", "end_order")
    ]
    regressions = [
        [
            regression.state,
            sorted(
                [i.field_change.test.name, i.field_change.metric.name,
                 i.field_change.end_order.key]
                for i in regression.indicators.select_related(
                    "field_change__test", "field_change__metric", "field_change__end_order"
                )
            ),
        ]
        for regression in Regression.objects.all()
    ]
    return {"changes": sorted(changes), "regressions": sorted(regressions)}


@pytest.mark.parametrize("batch_size", [2, detection.BATCH_SIZE])
def test_the_task_stores_what_it_stored_before_its_speed_work(monkeypatch, batch_size):
    monkeypatch.setattr(detection, "BATCH_SIZE", batch_size)
    rng = random.Random(10)
    for run in range(35):
        submit_and_detect(history_doc(run, rng))
        if run == 27:  # a second run at an order already stored: its samples are pooled
            submit_and_detect(history_doc(run, rng), merge="append")
    assert Run.objects.filter(order__key="1027").count() == 2
    got = json.loads(json.dumps(stored()))  # floats by repr: exact
    if os.environ.get("PERF_RECORD_DETECTION_EQUALITY"):
        EXPECTED.write_text(json.dumps(got, indent=1) + "\n")
    expected = json.loads(EXPECTED.read_text())
    assert got == expected
    # The history exercises what it is meant to: live and withdrawn changes, suspects,
    # both directions, the single-sample metric, and a regression.
    kinds = {(c[1], c[8], c[10], c[11]) for c in got["changes"]}
    assert ("execution_time", True, False, True) in kinds
    assert ("execution_time", False, False, True) in kinds
    assert any(c[11] is False for c in got["changes"])  # a suspect
    assert any(c[10] is True for c in got["changes"])  # a withdrawn change
    assert any(c[1] == "compile_time" for c in got["changes"])
    assert got["regressions"]

