"""parse_report on v2 reports: where each key goes, how values convert, what is refused."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from perf.formats import (
    BUILTIN_SUITES,
    FormatError,
    Limits,
    MetricSpec,
    Report,
    SuiteSchema,
    parse_report,
)

BASE: dict[str, Any] = {
    "format_version": "2",
    "machine": {"name": "arm64-o3-box", "hardware": "neoverse-n1", "os": "linux"},
    "run": {
        "start_time": "2026-03-02T01:10:00",
        "end_time": "2026-03-02T01:52:13",
        "llvm_project_revision": "501234",
        "compiler": "clang 21",
    },
    "tests": [
        {"name": "mandel", "execution_time": [0.512, 0.509, 0.511], "compile_time": 0.84,
         "hash": "7c1e0f"},
        {"name": "sqlite3", "execution_time": 2.91, "execution_status": 0,
         "code_size": 812344},
    ],
}


def report_with(**changes: Any) -> dict[str, Any]:
    """BASE with top-level keys replaced (None removes the key)."""
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def parse(doc: dict[str, Any], **kwargs: Any) -> Report:
    return parse_report(json.dumps(doc), BUILTIN_SUITES, **kwargs)


def refusal(doc: dict[str, Any] | str | bytes, **kwargs: Any) -> str:
    raw = doc if isinstance(doc, str | bytes) else json.dumps(doc)
    with pytest.raises(FormatError) as caught:
        parse_report(raw, BUILTIN_SUITES, **kwargs)
    return caught.value.message


def with_test(**metrics: Any) -> dict[str, Any]:
    return report_with(tests=[{"name": "foo", **metrics}])


def test_it_parses_the_protocol_example() -> None:
    report = parse(BASE)
    assert report == Report(
        suite="nts",
        machine_name="arm64-o3-box",
        machine_fields={"hardware": "neoverse-n1", "os": "linux"},
        machine_parameters={},
        order={"llvm_project_revision": "501234"},
        run_fields={},
        run_parameters={"compiler": "clang 21"},
        start_time=datetime(2026, 3, 2, 1, 10),
        end_time=datetime(2026, 3, 2, 1, 52, 13),
        tests=report.tests,
        format_version=2,
    )
    assert [(t.name, t.samples) for t in report.tests] == [
        ("mandel", {"execution_time": (0.512, 0.509, 0.511), "compile_time": (0.84,),
                    "hash": ("7c1e0f",)}),
        ("sqlite3", {"execution_time": (2.91,), "execution_status": (0,),
                     "code_size": (812344.0,)}),
    ]
    assert report.sample_count == 8


def test_it_accepts_bytes_str_and_a_utf8_bom_alike() -> None:
    text = json.dumps(BASE)
    assert (
        parse_report(text, BUILTIN_SUITES)
        == parse_report(text.encode(), BUILTIN_SUITES)
        == parse_report(b"\xef\xbb\xbf" + text.encode(), BUILTIN_SUITES)
    )


def test_it_refuses_input_that_is_neither_bytes_nor_str() -> None:
    with pytest.raises(TypeError):
        parse_report(BASE, BUILTIN_SUITES)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["2", 2])
def test_it_reads_format_version_2_as_string_or_number(version: object) -> None:
    assert parse(report_with(format_version=version)).format_version == 2


def test_a_report_without_format_version_is_v2() -> None:
    assert parse(report_with(format_version=None)).format_version == 2


@pytest.mark.parametrize(
    ("version", "shown"), [("1", "'1'"), (0, "0"), (True, "True"), (2.0, "2.0"), (None, "None")]
)
def test_it_refuses_other_format_versions(version: object, shown: str) -> None:
    doc = report_with()
    doc["format_version"] = version
    assert refusal(doc).startswith(f"unsupported format_version {shown} ")


# --- suite resolution -------------------------------------------------------

CUSTOM = SuiteSchema(
    name="sizes",
    metrics=(MetricSpec("text_size"), MetricSpec("status", "Status"), MetricSpec("build_id")),
    order_fields=("build",),
    run_fields=("branch", "job_id"),
    machine_fields=("arch",),
)


def test_the_url_suite_wins_over_the_schema_key_with_a_warning() -> None:
    doc = report_with(schema="compile", tests=[])
    report = parse(doc, suite="nts")
    assert report.suite == "nts"
    assert report.warnings == ("report schema 'compile' ignored: submitted to suite 'nts'",)


@pytest.mark.parametrize(
    ("doc_suite", "url_suite", "message"),
    [
        (None, "nosuch", "unknown test suite 'nosuch'"),
        ("nosuch", None, "unknown test suite 'nosuch'"),
        (42, None, "report 'schema' must be a string, not number"),
    ],
)
def test_it_refuses_unknown_suites(doc_suite: object, url_suite: str | None, message: str) -> None:
    doc = report_with(schema=doc_suite)
    assert refusal(doc, suite=url_suite) == message


def test_the_default_suite_must_exist_too() -> None:
    with pytest.raises(FormatError, match="unknown test suite 'nts'"):
        parse_report(json.dumps(BASE), {"sizes": CUSTOM})


def test_a_custom_suite_sorts_keys_into_its_own_fields() -> None:
    doc = {
        "machine": {"name": "m", "arch": "riscv", "os": "linux", "id": 3},
        "run": {"build": 77, "branch": "main", "job_id": "j-9", "runner_id": 5, "note": 1.5},
        "tests": [{"name": "a", "text_size": 10, "status": "2", "build_id": 4, "id": 9,
                   "test_id": 1}],
    }
    report = parse_report(json.dumps(doc), {"sizes": CUSTOM}, suite="sizes")
    assert report.machine_fields == {"arch": "riscv"}
    assert report.machine_parameters == {"os": "linux"}
    assert report.order == {"build": "77"}
    # A suite field named like an id is kept; other *_id keys are export leftovers.
    assert report.run_fields == {"branch": "main", "job_id": "j-9"}
    assert report.run_parameters == {"note": "1.5"}
    assert report.tests[0].samples == {"text_size": (10.0,), "status": (2,), "build_id": (4.0,)}


# --- machine and run ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("text", "text"),
        ("two\nlines", "two\nlines"),
        (8, "8"),
        (-3, "-3"),
        (2.5, "2.5"),
        (True, "True"),
        (False, "False"),
        ("", ""),
    ],
)
def test_parameter_values_are_stored_as_strings(value: object, stored: str) -> None:
    doc = report_with()
    doc["machine"]["cpu"] = value
    doc["run"]["flag"] = value
    report = parse(doc)
    assert report.machine_parameters == {"cpu": stored}
    assert report.run_parameters["flag"] == stored


def test_null_values_count_as_absent() -> None:
    doc = report_with()
    doc["machine"]["os"] = None
    doc["run"].update(compiler=None, end_time=None)
    doc["tests"][0]["hash"] = None
    report = parse(doc)
    assert report.machine_fields == {"hardware": "neoverse-n1"}
    assert report.run_parameters == {}
    assert report.end_time is None
    assert "hash" not in report.tests[0].samples


def test_id_keys_and_generated_by_are_ignored() -> None:
    doc = report_with(generated_by="LNT Server v0.4.3")
    doc["machine"]["id"] = 4
    doc["run"].update(id=7, machine_id=4, order_id=12)
    doc["tests"][0].update(id=1, test_id=9, run_id=7)
    report = parse(doc)
    assert report == parse(BASE)


def test_unknown_top_level_keys_are_ignored_with_a_warning() -> None:
    report = parse(report_with(comment="hi"))
    assert report.warnings == ("ignored unknown top-level key 'comment'",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T01:10:00", datetime(2026, 3, 2, 1, 10)),
        ("2026-03-02 01:10:00", datetime(2026, 3, 2, 1, 10)),
        ("2026-03-02T01:10:00.25", datetime(2026, 3, 2, 1, 10, 0, 250000)),
        ("2026-03-02T01:10:00Z", datetime(2026, 3, 2, 1, 10)),
        ("2026-03-02T03:10:00+02:00", datetime(2026, 3, 2, 1, 10)),
        ("2026-03-01T20:10:00-05:00", datetime(2026, 3, 2, 1, 10)),
    ],
)
def test_times_become_naive_utc(value: str, expected: datetime) -> None:
    doc = report_with()
    doc["run"]["start_time"] = value
    assert parse(doc).start_time == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "run.start_time 'yesterday' is not a date and time "
                      "(ISO-8601 or YYYY-MM-DD HH:MM:SS)"),
        ("", "run.start_time '' is not a date and time"),
        ("2026-02-30 00:00:00", "run.start_time '2026-02-30 00:00:00' is not a date"),
        (1772413800, "run.start_time must be a date and time string "
                     "(ISO-8601 or YYYY-MM-DD HH:MM:SS), not number"),
    ],
)
def test_it_refuses_bad_times_naming_the_field(value: object, message: str) -> None:
    doc = report_with()
    doc["run"]["start_time"] = value
    assert refusal(doc).startswith(message)


@pytest.mark.parametrize(
    ("value", "stored"), [("501234", "501234"), (501234, "501234"), (" 501234\n", "501234"),
                          ("7c1e0f9", "7c1e0f9")]
)
def test_order_values_are_strings_or_integers_stripped(value: object, stored: str) -> None:
    doc = report_with()
    doc["run"]["llvm_project_revision"] = value
    assert parse(doc).order == {"llvm_project_revision": stored}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "run.llvm_project_revision is required (order field of suite 'nts')"),
        ("", "run.llvm_project_revision must not be empty (order field of suite 'nts')"),
        (1.5, "run.llvm_project_revision must be a string or an integer, not number"),
        (True, "run.llvm_project_revision must be a string or an integer, not boolean"),
        (["1"], "run.llvm_project_revision must be a string or an integer, not array"),
        ("50\x071", "run.llvm_project_revision '50\\x071' contains a control character"),
        ("1" * 513, "run.llvm_project_revision is 513 characters long (limit 512)"),
    ],
)
def test_it_refuses_bad_order_values(value: object, message: str) -> None:
    doc = report_with()
    doc["run"]["llvm_project_revision"] = value
    assert refusal(doc) == message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "machine.name is required"),
        ("", "machine.name must not be empty"),
        (["a"], "machine.name must be a string, not array"),
        ("box ", "machine.name 'box ' has leading or trailing whitespace"),
        ("a\tb", "machine.name 'a\\tb' contains a control character ('\\t')"),
        ("a\x7fb", "machine.name 'a\\x7fb' contains a control character ('\\x7f')"),
        ("a\x85b", "machine.name 'a\\x85b' contains a control character ('\\x85')"),
        ("a&b", "machine.name 'a&b' contains '&', which is not allowed in machine names "
                "(refused: < > \" ' & / \\)"),
        ("a\\b", "machine.name 'a\\\\b' contains '\\\\', which is not allowed"),
        ("x" * 513, "machine.name is 513 characters long (limit 512)"),
    ],
)
def test_it_refuses_bad_machine_names(name: object, message: str) -> None:
    doc = report_with()
    doc["machine"]["name"] = name
    assert refusal(doc).startswith(message)


@pytest.mark.parametrize(
    "name", ["BM_vector<int>/8", "a&b \"quoted\" 'x'", "ünïcødé/测试", "x" * 512]
)
def test_test_names_may_hold_html_characters_and_unicode(name: str) -> None:
    report = parse(report_with(tests=[{"name": name, "execution_time": 1}]))
    assert report.tests[0].name == name


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "machine has an empty key"),
        ("a\nb", "machine key 'a\\nb' contains a control character"),
        ("k" * 513, "machine has a key 513 characters long (limit 512)"),
    ],
)
def test_it_refuses_bad_parameter_keys(key: str, message: str) -> None:
    doc = report_with()
    doc["machine"][key] = "v"
    assert refusal(doc) == message


def test_messages_quote_odd_keys_and_truncate_long_values() -> None:
    doc = report_with()
    doc["run"]["odd key!"] = {"nested": True}
    assert refusal(doc) == "run['odd key!'] must be a string or a number, not object"
    doc = report_with()
    doc["machine"]["name"] = "<" + "x" * 200
    assert refusal(doc).startswith("machine.name '<" + "x" * 79 + "'... contains '<'")


# --- tests and samples --------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "value", "samples"),
    [
        ("execution_time", 1, (1.0,)),
        ("execution_time", [1, 2.5, "3", "-4e-3", " 5 "], (1.0, 2.5, 3.0, -0.004, 5.0)),
        ("execution_time", 10**30, (1e30,)),
        ("execution_status", [0, 1, 2], (0, 1, 2)),
        ("execution_status", ["0", 1.0, "2.0"], (0, 1, 2)),
        ("hash", "abc", ("abc",)),
        ("hash", ["abc", "", "def"], ("abc", "", "def")),
    ],
)
def test_samples_convert_to_the_metric_type(
    metric: str, value: object, samples: tuple[object, ...]
) -> None:
    report = parse(with_test(**{metric: value}))
    assert report.tests[0].samples == {metric: samples}
    assert all(type(s) is type(samples[0]) for s in report.tests[0].samples[metric])


@pytest.mark.parametrize(
    ("metric", "value", "message"),
    [
        ("execution_time", "abc", "test 'foo': execution_time value 'abc' is not a number"),
        ("execution_time", "1_000", "test 'foo': execution_time value '1_000' is not a number"),
        ("execution_time", "١٢", "test 'foo': execution_time value '١٢' is not a number"),
        ("execution_time", False, "test 'foo': execution_time value False is not a number"),
        ("execution_time", {"v": 1}, "test 'foo': execution_time value {'v': 1} is not a number"),
        ("execution_time", [1, None], "test 'foo': execution_time value None is not a number"),
        ("execution_time", "nan", "test 'foo': execution_time value 'nan' is not a finite number"),
        ("execution_time", "Infinity",
         "test 'foo': execution_time value 'Infinity' is not a finite number"),
        ("execution_time", 10**400,
         "test 'foo': execution_time value 1000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000... is not a finite number"),
        ("execution_time", [], "test 'foo': execution_time has an empty sample list"),
        ("execution_status", 7,
         "test 'foo': execution_status value 7 is not a status (0 PASS, 1 FAIL, 2 XFAIL)"),
        ("execution_status", -1, "test 'foo': execution_status value -1 is not a status"),
        ("execution_status", 1.5, "test 'foo': execution_status value 1.5 is not a status"),
        ("execution_status", True, "test 'foo': execution_status value True is not a status"),
        ("execution_status", "FAIL", "test 'foo': execution_status value 'FAIL' is not a status"),
        ("hash", 12, "test 'foo': hash value 12 is not a string"),
        ("hash", ["a", ["b"]], "test 'foo': hash value ['b'] is not a string"),
        ("bogus", 1, "test 'foo': unknown metric 'bogus' for suite 'nts'"),
        ("user_time", 1, "test 'foo': unknown metric 'user_time' for suite 'nts'"),
    ],
)
def test_it_refuses_bad_samples_naming_test_metric_and_value(
    metric: str, value: object, message: str
) -> None:
    assert refusal(with_test(**{metric: value})).startswith(message)


def test_the_json_number_1e400_is_refused_as_not_finite() -> None:
    raw = json.dumps(with_test(execution_time=0.5)).replace("0.5", "1e400")
    assert refusal(raw) == "test 'foo': execution_time value inf is not a finite number"


def test_a_test_may_report_no_metric_at_all() -> None:
    assert parse(report_with(tests=[{"name": "bare"}])).tests[0].samples == {}


def test_tests_keep_their_input_order() -> None:
    names = [f"t{i}" for i in (5, 1, 9, 3, 0)]
    report = parse(report_with(tests=[{"name": n, "score": 1} for n in names]))
    assert [t.name for t in report.tests] == names


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ({"foo": {}}, "report 'tests' must be a list, not object"),
        ([["foo"]], "tests[0] must be an object, not array"),
        ([{"name": "a"}, {"execution_time": 1}], "tests[1] has no 'name'"),
        ([{"name": "a"}, {"name": "b"}, {"name": "a"}],
         "test 'a' appears more than once (tests[0] and tests[2])"),
        ([{"name": " a"}], "tests[0].name ' a' has leading or trailing whitespace"),
        ([{"name": "a\u2028b\x01"}], "tests[0].name 'a\\u2028b\\x01' contains a control "
                                     "character ('\\x01')"),
    ],
)
def test_it_refuses_malformed_tests(tests: object, message: str) -> None:
    assert refusal(report_with(tests=tests)) == message


@pytest.mark.parametrize(
    ("limits", "doc", "message"),
    [
        (Limits(max_tests=2), report_with(tests=[{"name": str(i)} for i in range(3)]),
         "report has 3 tests (limit 2)"),
        (Limits(max_samples_per_value=3), with_test(score=[1, 2, 3, 4]),
         "test 'foo': score has 4 samples (limit 3)"),
        (Limits(max_name_length=5), with_test(score=1) | {"machine": {"name": "sixsix"}},
         "machine.name is 6 characters long (limit 5)"),
        (Limits(max_string_length=3),
         with_test(hash="abcd") | {"machine": {"name": "m"}, "run": {"llvm_project_revision": 1}},
         "test 'foo': hash value is 4 characters long (limit 3)"),
        (Limits(max_string_length=3), report_with(machine={"name": "m", "os": "linux"}),
         "machine.os is 5 characters long (limit 3)"),
        (Limits(max_parameters=3), report_with(run={"llvm_project_revision": "1", "a": 1,
                                                    "b": 2, "c": 3}),
         "run has 4 keys (limit 3)"),
    ],
)
def test_limits_are_enforced_with_a_message_naming_them(
    limits: Limits, doc: dict[str, Any], message: str
) -> None:
    assert refusal(doc, limits=limits) == message


def test_the_default_limits_admit_exactly_their_maximum() -> None:
    limits = Limits()
    doc = report_with(tests=[{"name": "t" * limits.max_name_length,
                              "score": [1] * limits.max_samples_per_value}])
    doc["run"]["log"] = "x" * limits.max_string_length
    report = parse(doc)
    assert report.sample_count == limits.max_samples_per_value


# --- decoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "report is empty"),
        ("   ", "report is empty"),
        (b"\xff{}", "report is not valid UTF-8 (invalid byte at offset 0)"),
        ("{", "report is not valid JSON: Expecting property name enclosed in double quotes "
             "at line 1 column 2"),
        ('{"a": 1}\n{"b": 2}', "report is not valid JSON: Extra data at line 2 column 1"),
        ("[]", "report must be a JSON object, not array"),
        ("null", "report must be a JSON object, not null"),
        ('{"a": NaN}', "report contains NaN, which JSON does not allow"),
        ('{"a": -Infinity}', "report contains -Infinity, which JSON does not allow"),
        ('{"a": 1, "a": 2}', "report has duplicate key 'a' in one object"),
        ('{"a": "\x01"}', "report is not valid JSON: Invalid control character at "
                          "at line 1 column 8"),
        ('{"a": ' + "1" * 5000 + "}", "report is not valid JSON: Exceeds the limit"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "report is nested too deeply"),
        ('{"run": {"x": ["ok", "a\\u0000b"]}}', "run.x[1] contains a NUL character"),
        ('{"a\\u0000": 1}', "report has a key containing a NUL character"),
        ('{"tests": [{"name": "\\udc80"}]}',
         "tests[0].name contains an unpaired surrogate, which is not valid Unicode"),
        ('{"run": {"x": "\ud800"}}',
         "run.x contains an unpaired surrogate, which is not valid Unicode"),
    ],
)
def test_it_refuses_undecodable_input(raw: str | bytes, message: str) -> None:
    assert refusal(raw).startswith(message)


def test_escaped_characters_other_than_nul_are_fine() -> None:
    raw = json.dumps(BASE).replace("clang 21", "clang\\u00a021 \\ud83d\\ude00")
    assert parse_report(raw, BUILTIN_SUITES).run_parameters["compiler"] == "clang\xa021 \U0001f600"
