"""Metric positions are LNT's field indices (graph/<m>/<t>/<field>, plot=m.t.field)."""

from pathlib import Path

from perf.formats import (
    BUILTIN_SUITES,
    MetricSpec,
    SuiteSchema,
    field_positions,
    parse_suite_schema,
)
from tests.factories import CORPUS


def test_nts_fields_are_numbered_as_in_an_lnt_database():
    positions = field_positions(BUILTIN_SUITES["nts"])
    assert positions["compile_time"] == 2
    assert positions["execution_time"] == 3
    assert positions == {
        "compile_status": 0,
        "execution_status": 1,
        "compile_time": 2,
        "execution_time": 3,
        "score": 4,
        "mem_bytes": 5,
        "hash_status": 6,
        "hash": 7,
        "code_size": 8,
    }


def test_the_corpus_lnt_database_numbers_nts_the_same_way():
    # LNT numbers a suite's fields by their rows' ids; the corpus database was written by LNT.
    import sqlite3

    db = sqlite3.connect(Path(CORPUS, "lnt-instance/data/lnt.db"))
    rows = db.execute(
        "SELECT f.Name FROM TestSuiteSampleFields f JOIN TestSuite s ON f.TestSuiteID = s.ID "
        "WHERE s.Name = 'nts' ORDER BY f.ID"
    ).fetchall()
    db.close()
    assert [name for (name,) in rows] == sorted(
        field_positions(BUILTIN_SUITES["nts"]), key=field_positions(BUILTIN_SUITES["nts"]).get
    )


def test_compile_and_custom_suites_follow_their_document():
    assert list(field_positions(BUILTIN_SUITES["compile"])) == [
        m.name for m in BUILTIN_SUITES["compile"].metrics
    ]
    schema = parse_suite_schema(Path(CORPUS, "docs/my_suite.yaml").read_bytes())
    assert field_positions(schema) == {"text_size": 0, "data_size": 1, "score": 2, "hash": 3}


def test_metrics_added_to_nts_come_after_lnts_fields():
    nts = BUILTIN_SUITES["nts"]
    extended = SuiteSchema(
        name="nts",
        metrics=(MetricSpec("link_time"), *nts.metrics),
        order_fields=nts.order_fields,
    )
    positions = field_positions(extended)
    assert positions["execution_time"] == 3
    assert positions["link_time"] == 9
