"""Builders for tests: reports, runs through the real ingest service, tokens, users."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model

from perf.formats.samples import unpack_samples
from perf.services.ingest import ImportResult, report_import
from perf.services.tokens import token_create
from tests.formats.corpus import CORPUS as _CORPUS

CORPUS = str(_CORPUS)  # shared/lnt-corpus beside the repository


def report_doc(
    *,
    machine: str = "box-1",
    revision: str | int = "1000",
    tests: Mapping[str, Mapping[str, Any]] | None = None,
    machine_fields: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A v2 nts report document; ``tests`` maps test name to metric values."""
    if tests is None:
        tests = {"SingleSource/mandel": {"execution_time": [1.0, 1.01, 0.99]}}
    return {
        "format_version": "2",
        "machine": {"name": machine, **(machine_fields or {})},
        "run": {
            "start_time": "2026-03-02T01:10:00",
            "end_time": "2026-03-02T01:52:13",
            "llvm_project_revision": str(revision),
            **(run or {}),
        },
        "tests": [{"name": name, **metrics} for name, metrics in tests.items()],
    }


def many_tests_doc(
    count: int, *, revision: str | int = "1000", machine: str = "box-1", prefix: str = "suite"
) -> dict:
    return report_doc(
        machine=machine,
        revision=revision,
        tests={
            f"{prefix}/test{i:05d}": {
                "execution_time": [1.0 + i / 1000, 1.01, 0.99],
                "compile_time": 0.5,
                "execution_status": 0,
                "hash": f"h{i}",
            }
            for i in range(count)
        },
    )


def submit_doc(doc: Mapping[str, Any], **options: Any) -> ImportResult:
    options.setdefault("suite", "nts")
    return report_import(json.dumps(doc), **options)


def submit_history(
    values: Iterable[float | list[float]],
    *,
    machine: str = "box-1",
    test: str = "SingleSource/mandel",
    metric: str = "execution_time",
    first_revision: int = 1000,
) -> list[ImportResult]:
    """One run per value, at consecutive revisions, for one test."""
    results = []
    for i, value in enumerate(values):
        doc = report_doc(
            machine=machine, revision=first_revision + i, tests={test: {metric: value}}
        )
        results.append(submit_doc(doc))
    return results


def make_token(name: str = "bot", machine: str = "") -> str:
    return token_create(name, machine_name=machine)[1]


def make_user(username: str = "alice", password: str = "correct horse battery") -> Any:
    return get_user_model().objects.create_user(username=username, password=password)


# --- regression rows, written directly until detection fills them ------------------


def make_field_change(
    *,
    machine: str = "box-1",
    test: str = "SingleSource/mandel",
    metric: str = "execution_time",
    at_revision: str | int | None = None,
    relative_change: float = 0.1,
    is_regression: bool = True,
    suite: str = "nts",
) -> Any:
    """A FieldChange on an existing series, ending at ``at_revision`` (default: latest)."""
    from perf.models import FieldChange, Order, Series

    series = Series.objects.select_related("machine", "test", "metric").get(
        machine__suite__name=suite, machine__name=machine, test__name=test, metric__name=metric
    )
    orders = Order.objects.filter(suite__name=suite).order_by("position")
    end = orders.get(key=str(at_revision)) if at_revision is not None else orders.last()
    start = orders.filter(position__lt=end.position).last() or end
    # Detection may already have found this change: take its row over.
    change, _ = FieldChange.objects.update_or_create(
        series=series,
        end_order=end,
        defaults={
            "machine": series.machine,
            "test": series.test,
            "metric": series.metric,
            "start_order": start,
            "end_position": end.position,
            "old_value": 1.0,
            "new_value": 1.0 + relative_change,
            "relative_change": relative_change,
            "confidence": 0.99,
            "is_regression": is_regression,
            "method": "test",
            "withdrawn": False,
        },
    )
    return change


def make_regression(
    changes: Iterable[Any], *, title: str = "Slower mandel", state: int | None = None
) -> Any:
    """A Regression grouping the given FieldChanges, with a "created" event.

    The changes are taken out of any regression detection put them in.
    """
    from perf.models import Regression, RegressionEvent, RegressionIndicator

    changes = list(changes)
    first = changes[0]
    regression = Regression.objects.create(
        suite=first.machine.suite,
        title=title,
        state=Regression.DETECTED if state is None else state,
        start_order=first.start_order,
        end_order=first.end_order,
        start_position=first.start_order.position,
        end_position=first.end_order.position,
    )
    # A change belongs to one regression: detection's grouping, if any, is undone.
    RegressionIndicator.objects.filter(field_change__in=changes).delete()
    RegressionIndicator.objects.bulk_create(
        RegressionIndicator(regression=regression, field_change=c) for c in changes
    )
    RegressionEvent.objects.create(regression=regression, action="created", detail={})
    return regression


def submit_grid(
    *,
    machines: int = 2,
    tests: int = 3,
    orders: int = 4,
    first_revision: int = 1000,
    step_at: int | None = None,
    step_factor: float = 1.2,
) -> list[ImportResult]:
    """``orders`` runs on each of ``machines`` machines with ``tests`` tests.

    Test ``t`` has level 1 + t/10 with three samples; from order index ``step_at``
    on, test 0 moves by ``step_factor``.  Machines are "box-<m>", tests "suite/t<t>".
    """
    results = []
    for o in range(orders):
        for m in range(machines):
            docs = {}
            for t in range(tests):
                level = 1.0 + t / 10
                if t == 0 and step_at is not None and o >= step_at:
                    level *= step_factor
                docs[f"suite/t{t}"] = {
                    "execution_time": [level, level * 1.001, level * 0.999],
                    "compile_time": 0.5,
                }
            doc = report_doc(machine=f"box-{m}", revision=first_revision + o, tests=docs)
            results.append(submit_doc(doc))
    return results


def detected_history(
    levels: Iterable[float],
    *,
    machine: str = "box-1",
    test: str = "SingleSource/mandel",
    first_revision: int = 1000,
    seed: int = 1,
    **options: Any,
) -> list[ImportResult]:
    """One run per level (three samples, 1 % noise) at consecutive revisions, each
    detected in-process as the task would after the commit."""
    import random

    from perf.services.detection import run_detect

    rng = random.Random(seed)
    results = []
    for i, level in enumerate(levels):
        samples = [round(level * rng.gauss(1.0, 0.01), 6) for _ in range(3)]
        doc = report_doc(
            machine=machine,
            revision=first_revision + i,
            tests={test: {"execution_time": samples}},
        )
        result = submit_doc(doc, **options)
        run_detect(result.run_id)
        results.append(result)
    return results


def unpacked(rows: Any) -> list[tuple[Any, ...]]:
    """``values_list`` rows whose last column is ``Point.samples``, the samples unpacked."""
    return [(*row[:-1], unpack_samples(row[-1])) for row in rows]


def varied_tests(seed: int) -> dict[str, dict]:
    """Tests exercising every rule: failures, several samples, hashes, a test present
    in one run only, metrics missing, zero values."""
    rng = random.Random(seed)
    tests: dict[str, dict] = {}
    for t in range(60):
        if rng.random() < 0.1:
            continue  # in the other run only
        test: dict = {}
        if rng.random() < 0.8:
            n = rng.choice([1, 1, 3, 5])
            test["execution_time"] = [round(rng.uniform(0.0, 3.0), 3) for _ in range(n)]
            if rng.random() < 0.2:
                test["execution_status"] = [rng.choice([0, 1, 0]) for _ in range(n)]
        if rng.random() < 0.7:
            test["compile_time"] = rng.choice([0.0, 0.5, round(rng.uniform(0.1, 2), 2)])
            if rng.random() < 0.2:
                test["compile_status"] = 1
        if rng.random() < 0.5:
            test["score"] = [round(rng.uniform(1, 100), 1) for _ in range(rng.choice([1, 4]))]
        if rng.random() < 0.5:
            test["hash"] = rng.choice(["aa", "bb", "x" * 300, ""])
        tests[f"t{t:02d}"] = test
    # Failing in every run, with one sample and with several.
    tests["failing"] = {"execution_time": 1.0, "execution_status": 1, "compile_time": [1, 2]}
    tests["failing"]["compile_status"] = [1, 0]
    return tests
