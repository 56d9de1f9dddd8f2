"""report_digest: equal exactly for identical reports (perf/formats/digest.py)."""

import hashlib
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


def big_doc() -> dict:
    """More tests than one batch, every sample type, a profile."""
    tests = {
        f"t{i:05d}": {
            "execution_time": [i / 7, 1],
            "execution_status": i % 3,
            "hash": f"h{i % 11}",
            "compile_time": i,
        }
        for i in range(2_500, 0, -1)
    }
    tests["t00001"]["profile"] = "cHJvZmlsZQ=="  # base64 of b"profile"
    return report_doc(tests=tests, machine_fields={"os": "linux"}, run={"flag": "x"})


def test_the_digest_is_the_sha256_of_the_documented_json():
    report = parse_report(json.dumps(big_doc()), SCHEMAS)
    tests = [
        [
            t.name,
            sorted([m, [float(v) if isinstance(v, int | float) else v for v in vs]]
                   for m, vs in t.samples.items()),
            hashlib.sha256(t.profile).hexdigest() if t.profile is not None else None,
        ]
        for t in sorted(report.tests, key=lambda t: t.name)
    ]
    whole = {
        "machine": [report.machine_name, report.machine_fields, report.machine_parameters],
        "order": report.order,
        "run": [report.run_fields, report.run_parameters],
        "suite": report.suite,
        "tests": tests,
        "times": [report.start_time.isoformat(), report.end_time.isoformat()],
    }
    text = json.dumps(whole, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert report_digest(report) == hashlib.sha256(text.encode("ascii")).hexdigest()


# big_doc's digest as the per-test digest of 2026-11-30 (a4caaaa) computed it.
PINNED = "4897199fc267276ce1a7a54a7285783b1c984c08cf0ca9db1880b07d4e132725"


def test_digests_stored_by_earlier_versions_still_match():
    # Runs stored before are still found by a retry of the same report.
    assert digest(big_doc()) == PINNED


def test_a_test_entry_is_the_encoders_json_of_the_test():
    from perf.formats import digest as digest_module

    doc = report_doc(
        tests={
            "caf\u00e9/\"q\"\\\u2603": {
                "execution_time": [0.1, 1e-07, 3, 1e22, -0.0],
                "execution_status": 2,
                "hash": "h\u00e9\n\"",
            },
            "b": {"compile_time": 12345678901234567890},
        }
    )
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode
    for test in parse_report(json.dumps(doc), SCHEMAS).tests:
        samples = sorted(
            [m, [float(v) if isinstance(v, int | float) else v for v in vs]]
            for m, vs in test.samples.items()
        )
        assert digest_module._test_entry(test) == encode([test.name, samples, None])
