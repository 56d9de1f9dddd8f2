"""The streamed parse (a test at a time) gives what the whole-document parse gives.

``parse_report`` streams a plain report's tests list and falls back to decoding the
whole document for anything else, and for every refusal; these tests hold the two
paths to the same Report and the same messages.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from perf.formats import BUILTIN_SUITES, DEFAULT_LIMITS, FormatError, Report, reports
from tests.formats.corpus import corpus_bytes, corpus_reports
from tests.formats.test_corpus import schemas_for, suite_for


def whole(raw: bytes, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Report | str:
    """The whole-document parse's Report, or its refusal message."""
    with monkeypatch.context() as patch:
        patch.setattr(reports, "_parse_streamed", lambda *args: None)
        return outcome(raw, **kwargs)


def outcome(raw: bytes, **kwargs: Any) -> Report | str:
    kwargs.setdefault("schemas", BUILTIN_SUITES)
    try:
        return reports.parse_report(raw, **kwargs)
    except FormatError as error:
        return error.message


def streamed(raw: bytes, suite: str | None = None) -> Report | None:
    text, _ = reports._text(raw, "report")
    return reports._parse_streamed(text, BUILTIN_SUITES, suite, DEFAULT_LIMITS)


def v2_doc(tests: int) -> dict[str, Any]:
    return {
        "format_version": "2",
        "machine": {"name": "box-1", "os": "linux"},
        "run": {"llvm_project_revision": "1000", "start_time": "2026-03-02T01:10:00"},
        "tests": [
            {
                "name": f"suite/test{i:05d}",
                "execution_time": [1.0 + i / 1000, 1.01, 0.99],
                "execution_status": 0,
                "hash": f"h{i}",
                "code_size": 1000 + i,
                "compile_time": 0.5,
            }
            for i in range(tests)
        ],
    }


def v1_doc(tests: int) -> dict[str, Any]:
    entries = []
    for i in range(tests):
        entries.append({"Name": f"nts.t{i}.exec", "Info": {}, "Data": [1.0 + i, 2]})
        entries.append({"Name": f"nts.t{i}.hash", "Info": {}, "Data": [f"h{i}"]})
        entries.append({"Name": f"nts.t{i}.exec.status", "Info": {}, "Data": [0]})
    entries.append({"Name": "nts.t0.exec", "Info": {}, "Data": [3.5]})  # merged into t0
    return {
        "Machine": {"Name": "v1-box", "Info": {"name": "host", "os": "linux"}},
        "Run": {
            "Start Time": "2026-03-02 01:10:00",
            "Info": {"tag": "nts", "run_order": "123", "__report_version__": "1"},
        },
        "Tests": entries,
    }


@pytest.mark.parametrize("relative", corpus_reports())
def test_every_corpus_report_gives_the_same_report_or_message_both_ways(
    relative: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = corpus_bytes(relative)
    options = {"schemas": schemas_for(relative), "suite": suite_for(relative)}
    assert outcome(raw, **options) == whole(raw, monkeypatch, **options)


@pytest.mark.parametrize(
    "doc", [v2_doc(3000), v1_doc(1000)], ids=["v2 3,000 tests", "v1 1,000 tests"]
)
def test_a_generated_report_is_streamed_to_the_same_report(
    doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = json.dumps(doc, indent=1).encode()
    report = streamed(raw)
    assert report is not None  # the streamed path took it
    assert report == whole(raw, monkeypatch)
    assert len(report.tests) in (3000, 1000)


def test_a_tests_list_before_the_version_and_suite_keys_is_still_streamed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = v2_doc(20)
    reordered = {"tests": doc["tests"], "extra": 1, **doc}
    raw = json.dumps(reordered).encode()
    report = streamed(raw)
    assert report is not None
    assert report == whole(raw, monkeypatch)
    assert report.warnings == ("ignored unknown top-level key 'extra'",)


def text_of(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def late_test(doc_text: str, old: str, new: str) -> bytes:
    """The report with the last occurrence of ``old`` replaced (deep in the tests)."""
    head, found, tail = doc_text.rpartition(old)
    assert found
    return (head + new + tail).encode()


BIG = text_of(v2_doc(2000))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            late_test(BIG, '"compile_time":0.5}]', '"compile_time":0.5},]'),
            "report is not valid JSON: Expecting value",
        ),
        (
            late_test(BIG, '"compile_time":0.5', '"compile_time":NaN'),
            "report contains NaN, which JSON does not allow",
        ),
        (
            late_test(BIG, '"compile_time":0.5', '"compile_time":0.5,"hash":"x"'),
            "report has duplicate key 'hash' in one object",
        ),
        (
            late_test(BIG, '"compile_time":0.5', '"compile_time":"fast"'),
            "test 'suite/test01999': compile_time value 'fast' is not a number",
        ),
        (
            late_test(BIG, '"compile_time":0.5', '"compile_time":1e31'),
            "test 'suite/test01999': compile_time value 1e+31 is out of range",
        ),
        (
            late_test(BIG, '"suite/test01999"', '"suite/test00000"'),
            "test 'suite/test00000' appears more than once (tests[0] and tests[1999])",
        ),
        (
            late_test(BIG, '"compile_time":0.5', '"compile_time":0.5,"bogus":1'),
            "test 'suite/test01999': unknown metric 'bogus' for suite 'nts'",
        ),
        (BIG.replace('"machine":{"name":"box-1"', '"machine":{"name":""').encode(),
         "machine.name must not be empty"),
        ((BIG + " x").encode(), "report is not valid JSON: Extra data"),
        (BIG.replace('"tests":[', '"tests":{"a":[').replace("]}", "]}}").encode(), None),
        (BIG.replace('"format_version":"2",', '"format_version":"2","format_version":"2",')
         .encode(), "report has duplicate key 'format_version' in one object"),
    ],
)
def test_a_refused_report_gets_the_whole_parse_s_message(
    raw: bytes, message: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = outcome(raw)
    assert isinstance(got, str)
    assert got == whole(raw, monkeypatch)
    if message is not None:
        assert got.startswith(message)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (v1_doc(50), "report has 151 test entries (limit 100)"),
        (v2_doc(11), "report has 11 tests (limit 10)"),
    ],
    ids=["v1 entries", "v2 tests"],
)
def test_a_report_over_the_tests_limit_is_refused_as_before(
    doc: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = json.dumps(doc).encode()
    limits = reports.Limits(max_tests=10)
    got = outcome(raw, limits=limits)
    assert got == message
    assert got == whole(raw, monkeypatch, limits=limits)


def test_a_tests_list_that_ends_the_document_is_read_once() -> None:
    text = json.dumps(v2_doc(5), indent=1) + "\n"
    scanned = reports._scan_top_level(text)
    assert isinstance(scanned["tests"], reports._LastList)
    assert text[scanned["tests"].end] == "]"


@pytest.mark.parametrize(
    "tail",
    [', "extra": [1, 2]}', ', "x": {"y": []}}', ', "machine": {"name": "box-2"}, "t": [0]}'],
    ids=["a list after the tests", "an object after them", "the machine again, then a list"],
)
def test_a_member_after_the_tests_list_gives_the_whole_parse_s_report(
    tail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = text_of(v2_doc(30))
    raw = (text[:-1] + tail).encode()
    assert outcome(raw) == whole(raw, monkeypatch)



def same_tests(tests: int) -> tuple[bytes, bytes]:
    """One set of tests as a v2 and as a v1 report (four metrics a test)."""
    v2 = v2_doc(tests)
    entries = []
    suffixes = {"execution_time": "exec", "execution_status": "exec.status", "hash": "hash"}
    suffixes |= {"code_size": "code_size", "compile_time": "compile"}
    for test in v2["tests"]:
        for metric, suffix in suffixes.items():
            value = test[metric]
            data = value if isinstance(value, list) else [value]
            entries.append({"Name": f"nts.{test['name']}.{suffix}", "Info": {}, "Data": data})
    v1 = v1_doc(0) | {"Tests": entries}
    v1["Run"]["Info"]["run_order"] = v2["run"]["llvm_project_revision"]
    return json.dumps(v2).encode(), json.dumps(v1).encode()


def parse_peak(raw: bytes) -> tuple[Report, int]:
    """The Report and the parse's peak of Python allocations (tracemalloc), in bytes."""
    text = raw.decode()
    tracemalloc.start()
    try:
        report = reports.parse_report(text, BUILTIN_SUITES)
        return report, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_v1_report_is_parsed_within_a_bound_of_the_same_tests_in_v2() -> None:
    """A v1 report's entries are merged by test and each merged test is freed as it
    is validated: not the whole merged report held next to the Report (1.8x the v2
    parse's peak before, 1.2x after)."""
    v2, v1 = same_tests(5000)
    from_v2, v2_peak = parse_peak(v2)
    from_v1, v1_peak = parse_peak(v1)
    assert [t.samples for t in from_v1.tests] == [t.samples for t in from_v2.tests]
    assert v1_peak < 1.4 * v2_peak


def test_a_decoded_report_parses_as_its_bytes_do_and_hands_its_text_over_once() -> None:
    raw = json.dumps(v2_doc(10)).encode()
    decoded = reports.decode_report(raw)
    assert reports.parse_report(decoded, BUILTIN_SUITES) == reports.parse_report(
        raw, BUILTIN_SUITES
    )
    with pytest.raises(RuntimeError, match="already taken"):
        reports.parse_report(decoded, BUILTIN_SUITES)
    with pytest.raises(FormatError, match="not valid UTF-8"):
        reports.decode_report(b'{"tests": "\xff"}')
