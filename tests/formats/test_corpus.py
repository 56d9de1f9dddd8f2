"""Real LNT reports (shared/lnt-corpus) parse, or are refused, as LNT's own tests expect."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest

from perf.formats import BUILTIN_SUITES, FormatError, SuiteSchema, parse_report
from tests.formats.corpus import corpus_bytes, corpus_reports, corpus_schema, schemas_with

REFUSED = {
    "lnttool/invalid_submission0.json":
        "report is not valid JSON: Expecting value at line 1 column 1",
    "lnttool/invalid_submission1.json": "report has no 'machine' object",
}


def suite_for(relative: str) -> str | None:
    """The suite a build bot would submit the corpus file to (None: let the report say)."""
    if "customschema" in relative:
        return "my_suite"
    if "compile" in relative:
        return "compile"
    return None


def schemas_for(relative: str) -> dict[str, SuiteSchema]:
    if relative.endswith("customschema-report2.json"):
        # Its "newfield" metric only exists in the migrated schema.
        return schemas_with(corpus_schema("server/db/schema-example-migratable.yaml"))
    return schemas_with(corpus_schema("docs/my_suite.yaml"))


@pytest.mark.parametrize("relative", [r for r in corpus_reports() if r not in REFUSED])
def test_every_corpus_report_parses(relative: str) -> None:
    report = parse_report(
        corpus_bytes(relative), schemas_for(relative), suite=suite_for(relative)
    )
    assert report.machine_name
    assert report.order["llvm_project_revision"].isdigit()
    for test in report.tests:
        assert all(samples for samples in test.samples.values())


@pytest.mark.parametrize(("relative", "message"), sorted(REFUSED.items()))
def test_it_refuses_the_invalid_corpus_submissions(relative: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_report(corpus_bytes(relative), BUILTIN_SUITES)
    assert caught.value.message == message


@pytest.mark.parametrize(
    "relative",
    [
        "lnttool/compile_submission.json",
        "lnttool/compile_submission1.json",
        "lnttool/compile_submission_machine_diff_fine.json",
        "lnttool/compile_submission_machine_diff_reject.json",
        "lnttool/compile_submission_machine_diff_split.json",
    ],
)
def test_compile_submissions_parse_with_the_compile_suite_from_url_or_tag(relative: str) -> None:
    raw = corpus_bytes(relative)
    from_url = parse_report(raw, BUILTIN_SUITES, suite="compile")
    from_tag = parse_report(raw, BUILTIN_SUITES)
    assert from_url == from_tag
    assert from_url.suite == "compile"
    assert from_url.format_version == 1
    assert {metric for t in from_url.tests for metric in t.samples} <= {
        "user_time", "sys_time", "wall_time"
    }


def test_compile_submission_merges_the_three_metrics_of_each_build() -> None:
    report = parse_report(corpus_bytes("lnttool/compile_submission.json"), BUILTIN_SUITES)
    assert [t.name for t in report.tests] == [
        "build/Adium-1.5.7(config='Debug',j=1)",
        "build/Adium-1.5.7(config='Release',j=1)",
    ]
    debug = report.tests[0]
    assert debug.samples["user_time"] == (14.601326, 14.411566, 14.490528)
    assert debug.samples["wall_time"] == (20.398301, 20.121045, 19.722336)
    assert report.machine_fields == {"os_version": "42"}
    assert report.machine_parameters == {
        "hw.activecpu": "4",
        "machdep.cpu.vendor": "GenuineIntel",
    }
    assert report.run_parameters == {}
    assert report.start_time == datetime(2017, 7, 6, 15, 5, 23)


def test_compile_v2_reports_take_the_suite_from_their_schema_key() -> None:
    report = parse_report(corpus_bytes("utils/base-reports/compile-run1.json"), BUILTIN_SUITES)
    assert report.suite == "compile"
    assert report.machine_fields["hardware"] == "MacBookPro8,2"
    assert report.tests[0].samples["mem_bytes"] == (33353728.0, 33353728.0)


def test_regression_run1_keeps_the_failing_sample_of_test2() -> None:
    report = parse_report(
        corpus_bytes("utils/extra-reports/nts-regression-run1.json"), BUILTIN_SUITES
    )
    test2 = {t.name: t for t in report.tests}["test2"]
    assert test2.samples["execution_status"] == (1, 0)
    assert test2.samples["execution_time"] == (1.0, 1.0)
    assert report.run_parameters == {
        "producer": "http://buildbot.server.url/builders/some-builder/builds/987"
    }


def test_an_exported_run_reimports_without_its_ids() -> None:
    report = parse_report(corpus_bytes("server/ui/v4/last-run-report.json"), BUILTIN_SUITES)
    assert report.machine_name == "e105293.local__clang_DEV__x86_64"
    assert report.machine_parameters == {}
    assert report.order == {"llvm_project_revision": "154338"}
    assert report.warnings == ()
    first = report.tests[0]
    assert first.samples == {
        "compile_status": (0,),
        "compile_time": (1.3,),
        "execution_status": (0,),
        "execution_time": (1.4,),
        "hash_status": (0,),
        "hash": ("fedcba",),
        "score": (18.0,),
        "code_size": (10126.0,),
    }


def test_the_documented_example_keeps_fractional_seconds() -> None:
    report = parse_report(corpus_bytes("docs/report-example.json"), BUILTIN_SUITES)
    assert report.start_time == datetime(2017, 7, 18, 11, 28, 33)
    assert report.end_time == datetime(2017, 7, 18, 11, 28, 23, 991076)
    assert report.machine_fields == {"hardware": "HAL 9000"}
    assert report.run_parameters == {"compiler_version": "clang 4.0"}
    assert report.tests[0].samples["execution_time"] == (0.1056, 0.1055)


def test_the_minimal_report_has_no_times_and_no_tests() -> None:
    report = parse_report(corpus_bytes("lnttool/minimal.json"), BUILTIN_SUITES)
    assert (report.start_time, report.end_time, report.tests) == (None, None, ())
    assert report.format_version == 2


def test_a_boolean_run_parameter_is_kept_as_lnt_spells_it() -> None:
    report = parse_report(corpus_bytes("utils/base-reports/nts-run1.json"), BUILTIN_SUITES)
    assert report.run_parameters["no_errors"] == "True"
    assert report.machine_parameters["hostname"] == "localhost"


def test_the_profile_report_keeps_its_profile() -> None:
    report = parse_report(corpus_bytes("utils/profile-report.json"), BUILTIN_SUITES)
    assert report.warnings == ()
    doc = json.loads(corpus_bytes("utils/profile-report.json"))
    sent = next(t["Data"][0] for t in doc["Tests"] if t["Name"] == "nts.foo.profile")
    assert report.tests[0].profile == base64.b64decode(sent)
    assert report.tests[0].samples == {
        "execution_time": (1.4,),
        "compile_time": (1.3,),
        "score": (1.5,),
        "hash": ("xyz",),
    }
    assert "\n" in report.run_parameters["cc_version"]


def test_a_failed_v1_status_becomes_the_integer_1() -> None:
    report = parse_report(
        corpus_bytes("server/ui/v4/sample-failed-report1.json"), BUILTIN_SUITES
    )
    assert report.tests[0].name == "FailingTest"
    assert report.tests[0].samples == {"execution_status": (1,)}


def test_custom_schema_reports_need_the_custom_suite() -> None:
    raw = corpus_bytes("server/db/customschema-report.json")
    with pytest.raises(FormatError) as caught:
        parse_report(raw, BUILTIN_SUITES, suite="my_suite")
    assert caught.value.message == "unknown test suite 'my_suite'"
    report = parse_report(raw, schemas_for("x"), suite="my_suite")
    assert report.tests[0].samples == {
        "text_size": (402.0,), "data_size": (568.0,), "score": (42.42,)
    }
    assert report.machine_parameters == {"hostname": "mymachine.local"}


def test_the_second_custom_report_is_refused_before_the_schema_migration() -> None:
    with pytest.raises(FormatError) as caught:
        parse_report(
            corpus_bytes("server/db/customschema-report2.json"),
            schemas_for("x"),
            suite="my_suite",
        )
    assert "unknown metric 'newfield' for suite 'my_suite'" in caught.value.message
