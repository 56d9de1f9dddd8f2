"""Property tests: whatever arrives, parse_report returns a Report or raises FormatError.

Any other exception would reach the HTTP layer as a 500 instead of a 4xx.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from perf.formats import BUILTIN_SUITES, FormatError, Report, parse_report

FUZZ = settings(max_examples=300, deadline=None, database=None)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)

VALID: dict[str, Any] = {
    "format_version": "2",
    "machine": {"name": "box", "os": "linux", "cpus": 8},
    "run": {"llvm_project_revision": "501234", "start_time": "2026-03-02T01:10:00"},
    "tests": [
        {"name": "a", "execution_time": [0.5, 0.51], "execution_status": 0, "hash": "h"},
        {"name": "b", "score": 3},
    ],
}
V1: dict[str, Any] = {
    "Machine": {"Name": "box", "Info": {"os": "linux"}},
    "Run": {"Start Time": "2026-03-02 01:10:00",
            "Info": {"tag": "nts", "run_order": "1", "__report_version__": "1"}},
    "Tests": [{"Name": "nts.a.exec", "Info": {}, "Data": [1.0]},
              {"Name": "nts.a.exec.status", "Info": {}, "Data": [0]}],
}


def parses_or_refuses(raw: str | bytes, suite: str | None = None) -> Report | None:
    try:
        return parse_report(raw, BUILTIN_SUITES, suite=suite)
    except FormatError as error:
        assert error.message
        assert "\n" not in error.message
        return None


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += leaves(item, (*path, index))
    return found


def replaced(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(doc))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_are_refused(raw: bytes) -> None:
    parses_or_refuses(raw)


@FUZZ
@given(json_values, st.sampled_from([None, "nts", "compile", "nosuch"]))
def test_arbitrary_json_parses_or_is_refused(doc: Any, suite: str | None) -> None:
    parses_or_refuses(json.dumps(doc), suite)


@FUZZ
@given(st.data(), st.sampled_from([VALID, V1]))
def test_a_report_with_any_one_value_replaced_parses_or_is_refused(
    data: st.DataObject, base: dict[str, Any]
) -> None:
    path = data.draw(st.sampled_from(leaves(base)))
    doc = replaced(base, path, data.draw(json_values))
    parses_or_refuses(json.dumps(doc))


@FUZZ
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=30).filter(lambda s: s == s.strip()),
        st.lists(st.floats(min_value=-1e30, max_value=1e30), min_size=1, max_size=5),
        max_size=10,
    ),
    st.text(max_size=100),
)
def test_valid_reports_keep_every_sample_and_parameter(
    samples: dict[str, list[float]], note: str
) -> None:
    doc = {
        "machine": {"name": "box"},
        "run": {"llvm_project_revision": 1, "note": note},
        "tests": [{"name": name, "execution_time": values} for name, values in samples.items()],
    }
    try:
        report = parse_report(json.dumps(doc), BUILTIN_SUITES)
    except FormatError as error:
        # Only names with control characters or NUL may be refused.
        assert "control character" in error.message or "NUL" in error.message
        return
    assert [t.name for t in report.tests] == list(samples)
    for test in report.tests:
        expected = samples[test.name]
        got = test.samples["execution_time"]
        assert all(isinstance(a, float) for a in got)
        assert all(math.isclose(float(a), b) or a == b for a, b in zip(got, expected, strict=True))
    if "\x00" not in note:
        assert report.run_parameters == {"note": note}


def test_a_nul_under_an_odd_top_level_key_is_refused_on_one_line() -> None:
    """Found by the fuzzer: the key was put in the message raw, newline and all."""
    assert parses_or_refuses(json.dumps({"\n": "\x00"})) is None
