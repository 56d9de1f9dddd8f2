"""report_digest: equal exactly for identical reports (perf/formats/digest.py)."""

import json

from perf.formats import BUILTIN_SUITES, parse_report, report_digest
from tests.factories import report_doc

SCHEMAS = BUILTIN_SUITES


def digest(doc) -> str:
    return report_digest(parse_report(json.dumps(doc), SCHEMAS))


def test_key_order_test_order_and_number_spelling_do_not_count():
    doc = report_doc(tests={"a": {"execution_time": [1.0, 2]}, "b": {"compile_time": 3}})
    other = report_doc(tests={"b": {"compile_time": 3.0}, "a": {"execution_time": [1, 2.0]}})
    assert digest(doc) == digest(other)


def test_a_different_sample_machine_order_or_time_counts():
    base = digest(report_doc())
    assert digest(report_doc(tests={"SingleSource/mandel": {"execution_time": 1.0}})) != base
    assert digest(report_doc(machine="box-2")) != base
    assert digest(report_doc(revision="1001")) != base
    assert digest(report_doc(run={"end_time": "2026-03-02T01:52:14"})) != base
    assert digest(report_doc(machine_fields={"os": "linux"})) != base
