"""Suite schema documents: the built-in suites, validation, and which upgrades are allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from perf.formats import (
    BUILTIN_SUITES,
    FormatError,
    MetricSpec,
    SuiteSchema,
    check_schema_upgrade,
    parse_suite_schema,
)
from perf.formats.documents import schema_document
from tests.formats.corpus import corpus_bytes, corpus_schema

MY_SUITE = SuiteSchema(
    name="my_suite",
    metrics=(
        MetricSpec("text_size"),
        MetricSpec("data_size"),
        MetricSpec("score", bigger_is_better=True),
        MetricSpec("hash", "Hash"),
    ),
    order_fields=("llvm_project_revision",),
    run_fields=(),
    machine_fields=("hardware", "os"),
)

MINIMAL: dict[str, Any] = {
    "name": "s",
    "metrics": [{"name": "m"}],
    "run_fields": [{"name": "rev", "order": True}],
}


def schema_with(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(MINIMAL))
    doc.update(changes)
    return doc


def refusal(data: Any) -> str:
    with pytest.raises(FormatError) as caught:
        parse_suite_schema(data)
    return caught.value.message


@pytest.mark.parametrize("name", ["nts", "compile"])
def test_the_builtin_suites_are_exactly_lnts_schema_files(name: str) -> None:
    assert BUILTIN_SUITES[name] == corpus_schema(f"schemas/{name}.yaml")


def test_the_builtin_nts_suite_has_the_documented_directions() -> None:
    nts = BUILTIN_SUITES["nts"]
    assert nts.order_fields == ("llvm_project_revision",)
    assert [m.name for m in nts.metrics if m.bigger_is_better] == ["score"]
    assert [m.name for m in nts.metrics if m.ignore_same_hash] == ["execution_time", "score"]
    assert {m.name: m.type for m in nts.metrics if m.type != "Real"} == {
        "compile_status": "Status", "execution_status": "Status", "hash": "Hash",
        "hash_status": "Status",
    }


def test_it_parses_the_documented_custom_suite() -> None:
    assert corpus_schema("docs/my_suite.yaml") == MY_SUITE


def test_yaml_json_bytes_and_mappings_parse_alike() -> None:
    text = json.dumps(MINIMAL)
    expected = SuiteSchema("s", (MetricSpec("m"),), ("rev",))
    assert parse_suite_schema(text) == expected
    assert parse_suite_schema(text.encode()) == expected
    assert parse_suite_schema(MINIMAL) == expected
    assert parse_suite_schema("name: s\nmetrics: [{name: m}]\nrun_fields:\n"
                              "- {name: rev, order: true}\n") == expected


def test_it_reads_lnts_own_schema_export_with_null_labels() -> None:
    exported = {
        "format_version": "2",
        "machine_fields": [{"name": "hardware"}],
        "metrics": [{"bigger_is_better": False, "display_name": None, "name": "m",
                     "type": "Status", "unit": None, "unit_abbrev": None}],
        "name": "s",
        "run_fields": [{"name": "rev", "order": True}, {"name": "branch"}],
    }
    assert parse_suite_schema(exported) == SuiteSchema(
        "s", (MetricSpec("m", "Status"),), ("rev",), ("branch",), ("hardware",)
    )


def test_several_order_fields_keep_their_order() -> None:
    doc = schema_with(run_fields=[{"name": "b", "order": True}, {"name": "x"},
                                  {"name": "a", "order": True}])
    schema = parse_suite_schema(doc)
    assert (schema.order_fields, schema.run_fields) == (("b", "a"), ("x",))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("name: [unclosed",
         "schema is not valid YAML: expected ',' or ']', but got '<stream end>'"),
        (b"\xff", "schema is not valid UTF-8 (invalid byte at offset 0)"),
        ("- a\n- b\n", "schema must be a mapping, not array"),
        ("", "schema must be a mapping, not null"),
        (schema_with(extra=1), "schema has unknown key 'extra'"),
        (schema_with(format_version="1"), "schema format_version must be '2', not '1'"),
        (schema_with(name=None), "schema name is required"),
        (schema_with(name="a b"),
         "schema name 'a b' is not a suite name (1 to 64 letters, digits, '_', '-')"),
        (schema_with(name="x" * 65), "schema name 'xxxxxxxx"),
        (schema_with(name=5), "schema name 5 is not a suite name"),
        (schema_with(metrics=None), "schema has no metrics list"),
        (schema_with(metrics=[]), "schema has no metrics"),
        (schema_with(metrics={"m": {}}), "schema metrics must be a list, not object"),
        (schema_with(metrics=["m"]), "schema metrics[0] must be a mapping, not string"),
        (schema_with(metrics=[{}]), "schema metrics[0].name is required"),
        (schema_with(metrics=[{"name": "exec-time"}]),
         "schema metrics[0].name 'exec-time' is not an identifier"),
        (schema_with(metrics=[{"name": "1st"}]),
         "schema metrics[0].name '1st' is not an identifier"),
        (schema_with(metrics=[{"name": "m" * 65}]), "schema metrics[0].name 'mmm"),
        (schema_with(metrics=[{"name": "name"}]), "schema metrics[0].name 'name' is reserved"),
        (schema_with(metrics=[{"name": "m"}, {"name": "m", "type": "Hash"}]),
         "schema metric 'm' is defined twice"),
        (schema_with(metrics=[{"name": "m", "type": "real"}]),
         "schema metric 'm': type 'real' is not one of Real, Hash, Status"),
        (schema_with(metrics=[{"name": "m", "type": "Integer"}]),
         "schema metric 'm': type 'Integer' is not one of Real, Hash, Status"),
        (schema_with(metrics=[{"name": "m", "bigger_is_better": "yes"}]),
         "schema metric 'm': bigger_is_better must be true or false, not 'yes'"),
        (schema_with(metrics=[{"name": "m", "ignore_same_hash": 1}]),
         "schema metric 'm': ignore_same_hash must be true or false, not 1"),
        (schema_with(metrics=[{"name": "m", "bigger_is_beter": True}]),
         "schema metrics[0] has unknown key 'bigger_is_beter'"),
        (schema_with(metrics=[{"name": "m", "unit": 5}]),
         "schema metric 'm': unit must be a string, not number"),
        (schema_with(metrics=[{"name": "m", "display_name": "a\nb"}]),
         "schema metric 'm': display_name 'a\\nb' contains a control character"),
        (schema_with(run_fields=None), "schema has no run_fields list"),
        (schema_with(run_fields=[{"name": "rev"}]),
         "schema has no order field (a run field with 'order: true')"),
        (schema_with(run_fields=[{"name": "rev", "order": "true"}]),
         "schema run_fields[0].order must be true or false, not 'true'"),
        (schema_with(run_fields=[{"name": "rev", "order": True}, {"name": "rev"}]),
         "schema run field 'rev' is defined twice"),
        (schema_with(run_fields=[{"name": "start_time", "order": True}]),
         "schema run_fields[0].name 'start_time' is reserved"),
        (schema_with(run_fields=[{"name": "rev", "order": True, "type": "int"}]),
         "schema run_fields[0] has unknown key 'type'"),
        (schema_with(machine_fields=[{"name": "os"}, {"name": "os"}]),
         "schema machine field 'os' is defined twice"),
        (schema_with(machine_fields=[{"name": "name"}]),
         "schema machine_fields[0].name 'name' is reserved"),
        (schema_with(machine_fields="os"), "schema machine_fields must be a list, not string"),
    ],
)
def test_it_refuses_invalid_schemas_naming_the_field(data: Any, message: str) -> None:
    assert refusal(data).startswith(message)


def test_yaml_booleans_are_booleans() -> None:
    schema = parse_suite_schema(
        "name: s\nmetrics:\n- {name: m, bigger_is_better: yes}\nrun_fields:\n"
        "- {name: rev, order: true}\n"
    )
    assert schema.metrics[0].bigger_is_better is True


# --- upgrades -----------------------------------------------------------------


def test_the_migratable_example_may_replace_my_suite() -> None:
    new = corpus_schema("server/db/schema-example-migratable.yaml")
    check_schema_upgrade(corpus_schema("docs/my_suite.yaml"), new)
    assert new.metric("newfield") == MetricSpec("newfield", bigger_is_better=True)
    assert new.run_fields == ("new_run_field",)


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("server/db/schema-example-nomigration0.yaml",
         "cannot upgrade suite 'my_suite': metric 'data_size' removed"),
        ("server/db/schema-example-nomigration1.yaml",
         "cannot upgrade suite 'my_suite': machine field 'os' removed"),
        ("server/db/schema-example-nomigration2.yaml",
         "cannot upgrade suite 'my_suite': metric 'data_size' changed type from Real to Hash"),
    ],
)
def test_the_nomigration_examples_are_refused(relative: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        check_schema_upgrade(corpus_schema("docs/my_suite.yaml"), corpus_schema(relative))
    assert caught.value.message == message


def test_an_unchanged_schema_is_a_valid_upgrade() -> None:
    check_schema_upgrade(MY_SUITE, parse_suite_schema(corpus_bytes("docs/my_suite.yaml")))


def test_metadata_changes_are_allowed() -> None:
    old = SuiteSchema("s", (MetricSpec("m", unit="s"),), ("rev",), ("a",), ("os",))
    new = SuiteSchema(
        "s",
        (MetricSpec("m", bigger_is_better=True, ignore_same_hash=True, display_name="M",
                    unit="ms", unit_abbrev="ms"), MetricSpec("n", "Hash")),
        ("rev",), ("a", "b"), ("os", "cpu"),
    )
    check_schema_upgrade(old, new)


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (SuiteSchema("t", (MetricSpec("m"),), ("rev",), ("a",), ("os",)),
         "suite name changed from 's' to 't'"),
        (SuiteSchema("s", (MetricSpec("m", "Status"),), ("rev",), ("a",), ("os",)),
         "metric 'm' changed type from Real to Status"),
        (SuiteSchema("s", (MetricSpec("m"),), ("rev", "a"), (), ("os",)),
         "order fields changed from rev to rev, a; run field 'a' became an order field"),
        (SuiteSchema("s", (MetricSpec("m"),), ("revision",), ("a",), ("os",)),
         "order fields changed from rev to revision"),
        (SuiteSchema("s", (MetricSpec("m"),), ("rev",), (), ("os",)), "run field 'a' removed"),
        (SuiteSchema("s", (MetricSpec("x"),), ("rev",), (), ()),
         "metric 'm' removed; run field 'a' removed; machine field 'os' removed"),
    ],
)
def test_removing_retyping_or_reordering_is_refused_with_every_problem(
    new: SuiteSchema, problem: str
) -> None:
    old = SuiteSchema("s", (MetricSpec("m"),), ("rev",), ("a",), ("os",))
    with pytest.raises(FormatError) as caught:
        check_schema_upgrade(old, new)
    assert caught.value.message == f"cannot upgrade suite 's': {problem}"


@pytest.mark.parametrize(
    "schema",
    [
        BUILTIN_SUITES["nts"],
        BUILTIN_SUITES["compile"],
        MY_SUITE,
        SuiteSchema("s", (MetricSpec("m", "Hash"),), ("a", "b"), ("x", "y"), ()),
    ],
    ids=lambda s: s.name,
)
def test_schema_documents_read_back_as_the_same_schema(schema: SuiteSchema) -> None:
    document = schema_document(schema)
    assert parse_suite_schema(document) == schema
    assert parse_suite_schema(json.dumps(document)) == schema
