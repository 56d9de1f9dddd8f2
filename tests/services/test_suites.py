"""Suites keep LNT's field indices as metric positions, when created, extended and migrated."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps

from perf.formats import MetricSpec, SuiteSchema, parse_suite_schema
from perf.models import Metric
from perf.services.suites import suite_save
from tests.factories import CORPUS

pytestmark = pytest.mark.django_db


def positions(suite: str) -> dict[str, int]:
    return dict(Metric.objects.filter(suite__name=suite).values_list("name", "position"))


def test_builtin_nts_has_lnts_field_indices():
    assert positions("nts")["execution_time"] == 3
    assert positions("nts")["compile_time"] == 2


def test_a_suite_from_a_schema_document_is_numbered_in_document_order():
    suite_save(parse_suite_schema(Path(CORPUS, "docs/my_suite.yaml").read_bytes()))
    assert positions("my_suite") == {"text_size": 0, "data_size": 1, "score": 2, "hash": 3}


def test_a_metric_inserted_in_the_document_renumbers_the_ones_after_it_as_lnt_does():
    suite_save(parse_suite_schema(Path(CORPUS, "docs/my_suite.yaml").read_bytes()))
    schema = parse_suite_schema(Path(CORPUS, "docs/my_suite.yaml").read_bytes())
    inserted = SuiteSchema(
        name=schema.name,
        metrics=(schema.metrics[0], MetricSpec("bss_size"), *schema.metrics[1:]),
        order_fields=schema.order_fields,
        machine_fields=schema.machine_fields,
    )
    suite_save(inserted)
    assert positions("my_suite") == {
        "text_size": 0,
        "bss_size": 1,
        "data_size": 2,
        "score": 3,
        "hash": 4,
    }


def test_the_migration_renumbers_an_old_database_to_lnts_indices():
    migration = importlib.import_module("perf.migrations.0003_lnt_field_indices")
    nts = Metric.objects.filter(suite__name="nts")
    # The numbering before this migration: nts.yaml's document order.
    old = [
        "compile_time",
        "compile_status",
        "execution_time",
        "execution_status",
        "score",
        "mem_bytes",
        "hash",
        "hash_status",
        "code_size",
    ]
    for i, name in enumerate(old):
        nts.filter(name=name).update(position=100 + i)
    for i, name in enumerate(old):
        nts.filter(name=name).update(position=i)
    migration.renumber(apps, None)
    assert positions("nts")["execution_time"] == 3
    assert positions("nts")["compile_status"] == 0
    assert sorted(positions("nts").values()) == list(range(9))
    migration.renumber(apps, None)  # a second run changes nothing
    assert positions("nts")["execution_time"] == 3
