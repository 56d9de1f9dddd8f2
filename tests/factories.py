"""Builders for tests: reports, runs through the real ingest service, tokens, users."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model

from perf.ingest import ImportResult, report_import
from perf.tokens import token_create

CORPUS = "/work/shared/lnt-corpus"


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
