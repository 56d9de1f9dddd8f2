"""v1 reports (``lnt runtest``'s format) upgrade to the v2 shape as LNT's upgrade_1_to_2 does."""

from __future__ import annotations

import copy
import json
import zlib
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

V1: dict[str, Any] = {
    "Machine": {"Name": "x86-box", "Info": {"os": "linux", "hardware": "x86_64"}},
    "Run": {
        "Start Time": "2026-03-02 01:10:00",
        "End Time": "2026-03-02 01:52:13",
        "Info": {"tag": "nts", "run_order": "501234", "__report_version__": "1",
                 "cc_name": "clang"},
    },
    "Tests": [
        {"Name": "nts.SingleSource/Benchmarks/Misc/mandel.exec", "Info": {},
         "Data": [0.512, 0.509]},
        {"Name": "nts.SingleSource/Benchmarks/Misc/mandel.compile", "Info": {}, "Data": [0.84]},
        {"Name": "nts.SingleSource/Benchmarks/Misc/mandel.hash", "Info": {},
         "Data": ["7c1e0f"]},
    ],
}


def v1_with(tag: str | None = "nts", tests: list[dict[str, Any]] | None = None,
            machine_info: dict[str, Any] | None = None,
            run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(V1)
    if tag is None:
        doc["Run"]["Info"].pop("tag")
    else:
        doc["Run"]["Info"]["tag"] = tag
    if tests is not None:
        doc["Tests"] = tests
    if machine_info is not None:
        doc["Machine"]["Info"] = machine_info
    if run_info is not None:
        doc["Run"]["Info"].update(run_info)
    return doc


def entry(name: str, *data: object) -> dict[str, Any]:
    return {"Name": name, "Info": {}, "Data": list(data)}


def parse(doc: dict[str, Any], schemas: dict[str, SuiteSchema] | None = None,
          **kwargs: Any) -> Report:
    return parse_report(json.dumps(doc), schemas or BUILTIN_SUITES, **kwargs)


def refusal(doc: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(FormatError) as caught:
        parse(doc, **kwargs)
    return caught.value.message


def test_it_upgrades_the_protocol_example() -> None:
    report = parse(V1)
    assert report.format_version == 1
    assert report.suite == "nts"
    assert report.machine_name == "x86-box"
    assert report.machine_fields == {"os": "linux", "hardware": "x86_64"}
    assert report.order == {"llvm_project_revision": "501234"}
    assert report.run_parameters == {"cc_name": "clang"}  # tag and version dropped
    assert [(t.name, t.samples) for t in report.tests] == [
        ("SingleSource/Benchmarks/Misc/mandel",
         {"execution_time": (0.512, 0.509), "compile_time": (0.84,), "hash": ("7c1e0f",)}),
    ]


@pytest.mark.parametrize(
    ("suffix", "metric", "data", "samples"),
    [
        (".compile", "compile_time", [1.5], (1.5,)),
        (".compile.status", "compile_status", [1.0], (1,)),
        (".exec", "execution_time", [2, 3], (2.0, 3.0)),
        (".exec.status", "execution_status", [2], (2,)),
        (".hash", "hash", ["h"], ("h",)),
        (".hash.status", "hash_status", [0], (0,)),
        (".mem", "mem_bytes", [1e6], (1e6,)),
        (".score", "score", [9.5], (9.5,)),
        (".code_size", "code_size", [812344], (812344.0,)),
        (".execution_time", "execution_time", [4], (4.0,)),  # any other .xxx is metric xxx
    ],
)
def test_nts_suffixes_map_to_metrics(
    suffix: str, metric: str, data: list[object], samples: tuple[object, ...]
) -> None:
    report = parse(v1_with(tests=[entry(f"nts.a.b/c{suffix}", *data)]))
    assert [(t.name, t.samples) for t in report.tests] == [("a.b/c", {metric: samples})]


@pytest.mark.parametrize(
    ("suffix", "metric"),
    [
        (".user", "user_time"), (".user.status", "user_status"),
        (".sys", "sys_time"), (".sys.status", "sys_status"),
        (".wall", "wall_time"), (".wall.status", "wall_status"),
        (".size", "size_bytes"), (".size.status", "size_status"),
        (".mem", "mem_bytes"), (".mem.status", "mem_status"),
    ],
)
def test_compile_suffixes_map_to_metrics(suffix: str, metric: str) -> None:
    report = parse(v1_with(tag="compile", tests=[entry(f"compile.build/x(j=1){suffix}", 1)]))
    assert report.suite == "compile"
    assert report.tests[0].name == "build/x(j=1)"
    assert list(report.tests[0].samples) == [metric]


def test_repeated_entries_merge_in_input_order() -> None:
    report = parse(v1_with(tests=[
        entry("nts.b.exec", 1.0),
        entry("nts.a.exec", 5.0),
        entry("nts.b.exec", 2.0, 3.0),
        entry("nts.b.exec.status", 0),
        entry("nts.b.exec"),
        entry("nts.b.exec", 4.0),
    ]))
    assert [(t.name, t.samples) for t in report.tests] == [
        ("b", {"execution_time": (1.0, 2.0, 3.0, 4.0), "execution_status": (0,)}),
        ("a", {"execution_time": (5.0,)}),
    ]


def test_merged_samples_count_against_the_sample_limit() -> None:
    tests = [entry("nts.a.exec", *range(6000)), entry("nts.a.exec", *range(5000))]
    assert refusal(v1_with(tests=tests)) == (
        "test 'a': execution_time has 11000 samples (limit 10000)"
    )


def test_machine_info_name_becomes_hostname() -> None:
    report = parse(v1_with(machine_info={"name": "box.local", "os": "linux", "cpus": 8}))
    assert report.machine_name == "x86-box"
    assert report.machine_fields == {"os": "linux"}
    assert report.machine_parameters == {"hostname": "box.local", "cpus": "8"}


def test_compile_machine_info_renames_sysctl_keys() -> None:
    doc = v1_with(tag="compile", tests=[],
                  machine_info={"hw.model": "MacBookPro10,1", "kern.version": "Darwin 14",
                                "name": "mbp"})
    report = parse(doc)
    assert report.machine_fields == {"hardware": "MacBookPro10,1", "os_version": "Darwin 14"}
    assert report.machine_parameters == {"hostname": "mbp"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (v1_with(machine_info={"name": "a", "hostname": "b"}),
         "'Machine.Info.name' and 'Machine.Info.hostname' would both become machine.hostname"),
        (v1_with(run_info={"llvm_project_revision": "1"}),
         "'Run.Info.run_order' and 'Run.Info.llvm_project_revision' would both become "
         "run.llvm_project_revision"),
        (v1_with(run_info={"start_time": "2026-01-01 00:00:00"}),
         "'Run.Start Time' and 'Run.Info.start_time' would both become run.start_time"),
    ],
)
def test_renames_onto_existing_keys_are_refused(doc: dict[str, Any], message: str) -> None:
    assert refusal(doc) == message


def test_times_come_from_start_and_end_time() -> None:
    doc = v1_with()
    del doc["Run"]["End Time"]
    report = parse(doc)
    assert (report.start_time is not None, report.end_time) == (True, None)


def test_the_url_suite_wins_over_the_tag_and_names_keep_the_tag_prefix() -> None:
    doc = v1_with(tag="compile", tests=[entry("compile.t.exec", 1.0)])
    report = parse(doc, suite="nts")
    assert report.suite == "nts"
    assert report.tests[0].samples == {"execution_time": (1.0,)}
    assert report.warnings == ("report Run.Info.tag 'compile' ignored: submitted to suite 'nts'",)


def test_without_a_tag_the_suite_comes_from_the_url_and_prefixes_names() -> None:
    doc = v1_with(tag=None, tests=[entry("compile.t.user", 1.0)])
    assert parse(doc, suite="compile").tests[0].samples == {"user_time": (1.0,)}
    assert parse(v1_with(tag=None)).suite == "nts"


def test_a_custom_suite_takes_suffixes_as_metric_names_and_renames_its_order_field() -> None:
    sizes = SuiteSchema(
        name="sizes",
        metrics=(MetricSpec("text_size"), MetricSpec("profile", "Hash")),
        order_fields=("build",),
    )
    doc = v1_with(tag="sizes", tests=[entry("sizes.lib/a.o.text_size", 10),
                                      entry("sizes.lib/a.o.profile", "p")])
    report = parse(doc, {"sizes": sizes})
    assert report.order == {"build": "501234"}
    # A suite that defines a "profile" metric keeps it.
    assert report.tests[0].samples == {"text_size": (10.0,), "profile": ("p",)}
    assert report.warnings == ()


def test_a_profile_entry_becomes_the_tests_profile() -> None:
    report = parse(v1_with(tests=[entry("nts.a.profile", "eJxLTEoGAAJNASc="),
                                  entry("nts.a.exec", 1), entry("nts.b.profile", "YQ==")]))
    assert [(t.name, t.samples, t.profile) for t in report.tests] == [
        ("a", {"execution_time": (1.0,)}, zlib.compress(b"abc")),
        ("b", {}, b"a"),
    ]
    assert report.warnings == ()


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ([entry("nts.a.profile", "YQ=="), entry("nts.a.profile", "Yg==")],
         "v1 test 'a' has more than one '.profile' entry"),
        ([entry("nts.a.profile", "YQ==", "Yg==")],
         "test 'a': profile must be one base64 string, not a list of 2"),
        ([entry("nts.a.profile", "eJx")], "test 'a': profile is not valid base64"),
        ([entry("nts.a.profile", 7)], "test 'a': profile must be a base64 string, not number"),
        ([entry("nts.a.profile", "")], "test 'a': profile is empty"),
    ],
)
def test_a_bad_profile_entry_is_refused_with_its_test_named(
    tests: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(FormatError) as refused:
        parse(v1_with(tests=tests))
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ([entry("nts.mandel", 1)], "v1 test 'nts.mandel' has no '.<metric>' suffix"),
        ([entry("nts..exec", 1)], "v1 test 'nts..exec' has no '.<metric>' suffix"),
        ([entry("nts.a.", 1)], "v1 test 'nts.a.' has no '.<metric>' suffix"),
        ([entry("nts.exec", 1)], "v1 test 'nts.exec' has no '.<metric>' suffix"),
        ([entry("mandel.exec", 1)], "v1 test 'mandel.exec' does not start with 'nts.'"),
        ([entry("nts.a.bogus", 1)], "test 'a': unknown metric 'bogus' for suite 'nts'"),
        ([entry("nts.a.name", 1)], "test 'a': unknown metric 'name' for suite 'nts'"),
        ([entry("nts.a.build_id", 1)], "test 'a': unknown metric 'build_id' for suite 'nts'"),
        ([entry("nts.a.exec", "x")], "test 'a': execution_time value 'x' is not a number"),
        ([entry("nts.a.exec")], "test 'a': execution_time has an empty sample list"),
        ([{"Name": "nts.a.exec", "Data": 1}], "v1 test 'nts.a.exec': Data must be a list, "
                                              "not number"),
        ([{"Name": "nts.a.exec", "Info": {"x": 1}, "Data": [1]}],
         "v1 test 'nts.a.exec': a non-empty Info record is not supported"),
        ([{"Data": [1]}], "Tests[0].Name is required"),
        ([{"Name": 3, "Data": [1]}], "Tests[0].Name must be a string, not number"),
        (["nts.a.exec"], "Tests[0] must be an object, not string"),
    ],
)
def test_it_refuses_bad_v1_tests_naming_them(tests: list[Any], message: str) -> None:
    assert refusal(v1_with(tests=tests)) == message


def test_a_test_entry_without_info_is_fine() -> None:
    report = parse(v1_with(tests=[{"Name": "nts.a.exec", "Data": [1]}]))
    assert report.tests[0].samples == {"execution_time": (1.0,)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("Machine"), "report has no 'Machine' object"),
        (lambda d: d.update(Machine=[]), "report 'Machine' must be an object, not array"),
        (lambda d: d["Machine"].pop("Name"), "machine.name is required"),
        (lambda d: d["Machine"].update(Info="x"), "Machine.Info must be an object, not string"),
        (lambda d: d.pop("Tests"), "report has no 'Tests' list"),
        (lambda d: d.update(Tests={}), "report 'Tests' must be a list, not object"),
        (lambda d: d["Run"]["Info"].pop("run_order"),
         "run.llvm_project_revision is required (order field of suite 'nts')"),
        (lambda d: d["Run"]["Info"].update(tag=1), "Run.Info.tag must be a string, not number"),
        (lambda d: d["Run"]["Info"].update(tag="nosuch"), "unknown test suite 'nosuch'"),
        (lambda d: d["Run"]["Info"].update(__report_version__="0"),
         "unsupported report version '0' in Run.Info.__report_version__"),
        (lambda d: d["Run"]["Info"].update(__report_version__="2"),
         "unsupported report version '2' in Run.Info.__report_version__"),
        (lambda d: d["Run"]["Info"].pop("__report_version__"),
         "unsupported report version '0' in Run.Info.__report_version__"),
        (lambda d: d["Run"].update(**{"Start Time": "soon"}),
         "run.start_time 'soon' is not a date and time"),
    ],
)
def test_it_refuses_malformed_v1_reports(change: Any, message: str) -> None:
    doc = copy.deepcopy(V1)
    change(doc)
    assert refusal(doc).startswith(message)


def test_a_numeric_report_version_1_is_accepted() -> None:
    doc = v1_with(run_info={"__report_version__": 1})
    assert parse(doc).format_version == 1


def test_unknown_v1_top_level_keys_are_ignored_with_a_warning() -> None:
    doc = v1_with()
    doc["Extra"] = 1
    assert parse(doc).warnings == ("ignored unknown top-level key 'Extra'",)


def test_entry_count_is_bounded_before_merging() -> None:
    tests = [entry(f"nts.t{i}.exec", 1) for i in range(21)]
    # 2 tests x (9 nts metrics + 1) = 20 entries at most.
    assert refusal(v1_with(tests=tests), limits=Limits(max_tests=2)) == (
        "report has 21 test entries (limit 20)"
    )
