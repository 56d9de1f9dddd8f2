"""import_lnt_db's service: LNT's own database comes over whole, once, and resumes."""

import sqlite3
import zlib
from pathlib import Path

import pytest

from perf.analysis.summary import status_metric_name
from perf.formats.samples import unpack_samples
from perf.models import (
    Baseline,
    FieldChange,
    LntIdMap,
    Machine,
    Metric,
    Order,
    Point,
    Profile,
    Regression,
    RegressionIndicator,
    Run,
    RunGeomean,
    Test,
    TestSuite,
)
from perf.services import ingest, lnt_import
from perf.services.lnt_import import LntImportError, lnt_db_import
from perf.services.lnt_source import LntSource, lnt_source_open
from tests.factories import CORPUS
from tests.rowcounts import row_counts

pytestmark = pytest.mark.django_db

INSTANCE = Path(CORPUS, "lnt-instance")
DB = INSTANCE / "data" / "lnt.db"


def source_rows(sql):
    with sqlite3.connect(f"file:{DB}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def suites_in_source():
    """(name, table prefix, [(field id, name)]) of every suite of the corpus database."""
    fields = source_rows('SELECT "ID", "TestSuiteID", "Name" FROM "TestSuiteSampleFields"')
    return [
        (name, prefix, sorted((fid, fname) for fid, sid, fname in fields if sid == suite_id))
        for suite_id, name, prefix in source_rows('SELECT "ID", "Name", "DBKeyName" FROM TestSuite')
    ]


def expected_samples():
    """(suite, LNT run id, test name, metric) -> the values LNT holds, in sample-row order."""
    expected = {}
    for suite, prefix, fields in suites_in_source():
        columns = ", ".join(f'"{name}"' for _, name in fields)
        rows = source_rows(
            f'SELECT s."RunID", t."Name", {columns} FROM "{prefix}_Sample" s '  # noqa: S608 - LNT's names
            f'JOIN "{prefix}_Test" t ON t."ID" = s."TestID" ORDER BY s."ID"'
        )
        for run, test, *values in rows:
            for (_, metric), value in zip(fields, values, strict=True):
                if value is not None:
                    expected.setdefault((suite, run, test, metric), []).append(value)
    return expected


def imported_samples(source_key):
    """The same, read back from lntsite through the id map."""
    lnt_run = {
        (m.suite, m.local_id): m.lnt_id
        for m in LntIdMap.objects.filter(source=source_key, kind="run")
    }
    found = {}
    for run_id, suite, test, metric, packed in Point.objects.values_list(
        "run_id", "run__suite__name", "series__test__name", "series__metric__name", "samples"
    ):
        found[(suite, lnt_run[(suite, run_id)], test, metric)] = unpack_samples(packed)
    return found


def import_corpus(**options):
    opened = lnt_source_open(str(INSTANCE))
    try:
        return (
            lnt_db_import(
                opened.source,
                source_key=opened.key,
                profiles_dir=opened.profiles_dir,
                schemas_dir=opened.schemas_dir,
                **options,
            ),
            opened.key,
        )
    finally:
        opened.close()


def total(table):
    """Rows of ``<prefix>_<table>`` summed over every suite of the source."""
    return sum(
        source_rows(f'SELECT COUNT(*) FROM "{prefix}_{table}"')[0][0]  # noqa: S608 - LNT's names
        for _, prefix, _ in suites_in_source()
    )


def assert_everything_came_over(source_key):
    lnt_runs = total("Run")
    assert TestSuite.objects.filter(name__in=["nts", "compile", "my_suite"]).count() == 3
    assert Machine.objects.count() == total("Machine")
    assert Order.objects.count() == total("Order")
    assert Test.objects.count() == total("Test")
    assert Run.objects.count() == lnt_runs == 20
    expected = expected_samples()
    assert imported_samples(source_key) == expected
    assert Point.objects.count() == len(expected)
    assert FieldChange.objects.filter(method=FieldChange.IMPORTED).count() == 4
    assert RegressionIndicator.objects.count() == 4
    assert Regression.objects.count() == 2
    assert Baseline.objects.count() == 1
    assert Profile.objects.count() == 1
    # Every run with a valid positive Real value has the geometric mean mean= graphs read.
    with_values = set(
        Point.objects.filter(value__gt=0, failed=False, series__metric__type=Metric.REAL)
        .values_list("run_id", flat=True)
    )
    assert set(RunGeomean.objects.values_list("run_id", flat=True)) == with_values


def test_the_corpus_database_comes_over_with_every_count_and_every_sample_value():
    summary, key = import_corpus()

    assert_everything_came_over(key)
    assert (summary.suites, summary.machines, summary.orders, summary.tests, summary.runs) == (
        1,
        9,
        19,
        18,
        20,
    )
    assert summary.samples == sum(len(v) for v in expected_samples().values())
    assert (summary.field_changes, summary.regressions, summary.indicators) == (4, 2, 4)
    assert (summary.baselines, summary.profiles, summary.ignores) == (1, 1, 0)
    assert summary.line().startswith("Imported 1 suites, 9 machines, 19 orders, 18 tests, 20 runs")


def test_a_second_import_adds_nothing():
    import_corpus()
    before = row_counts()

    summary, key = import_corpus()

    assert row_counts() == before
    assert summary.runs == summary.samples == summary.machines == summary.regressions == 0
    assert summary.runs_already_done == 20
    assert_everything_came_over(key)


def test_an_interrupted_import_resumes_where_it_stopped(monkeypatch):
    real = lnt_import._Importer._store_runs
    calls = []

    def fail_on_third_chunk(self, todo, first, last):
        calls.append(first)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(self, todo, first, last)

    monkeypatch.setattr(lnt_import._Importer, "_store_runs", fail_on_third_chunk)
    with pytest.raises(RuntimeError, match="power cut"):
        import_corpus(chunk_runs=4)
    # Two chunks of four nts runs were committed; the third rolled back whole.
    assert Run.objects.count() == 8
    assert LntIdMap.objects.filter(kind="run").count() == 8
    monkeypatch.setattr(lnt_import._Importer, "_store_runs", real)

    summary, key = import_corpus(chunk_runs=4)

    assert summary.runs_already_done == 8
    assert summary.runs == 12
    # Detection covers every machine, those finished before the interruption too.
    assert summary.machine_ids == set(Machine.objects.values_list("id", flat=True))
    assert_everything_came_over(key)


def test_lnt_ids_are_kept_where_free_and_mapped_where_taken():
    import_corpus()

    nts = dict(LntIdMap.objects.filter(suite="nts", kind="run").values_list("lnt_id", "local_id"))
    assert nts == {i: i for i in range(1, 17)}  # the first suite keeps every run id
    compile_runs = LntIdMap.objects.filter(suite="compile", kind="run")
    # compile's runs 1..3 collide with nts's: new ids, past every id in use.
    assert sorted(compile_runs.values_list("local_id", flat=True)) == [17, 18, 19]
    assert set(Run.objects.filter(suite__name="compile").values_list("id", flat=True)) == {
        17,
        18,
        19,
    }


def test_runs_keep_their_fields_parameters_times_and_origin():
    import_corpus()

    run = Run.objects.get(id=5)  # nts-regression-run1 on machine2
    assert run.machine.name == "machine2"
    assert run.order.fields == {"llvm_project_revision": "152292"}
    assert run.parameters == {
        "producer": "http://buildbot.server.url/builders/some-builder/builds/987"
    }
    assert run.source == "import_lnt_db"
    assert run.source_detail == "lnt_tmp/nts-regression-run1.json"
    assert run.start_time.isoformat() == "2012-05-01T16:28:23+00:00"
    machine = Machine.objects.get(suite__name="nts", name="localhost__clang_DEV__x86_64")
    assert machine.fields == {"hardware": "x86_64", "os": "Darwin 11.3.0"}
    assert machine.parameters["hostname"] == "localhost"


def test_orders_follow_lnts_linked_list():
    import_corpus()

    revisions = [
        fields["llvm_project_revision"]
        for fields in Order.objects.filter(suite__name="nts")
        .order_by("position")
        .values_list("fields", flat=True)
    ]
    assert revisions == [
        "1", "2", "3", "42", "43", "152289", "152290", "152291", "152292", "152293",
        "152294", "152295", "152296", "154331", "265649",
    ]  # fmt: skip


def test_metric_positions_are_lnts_field_indices_in_a_suite_it_creates():
    import_corpus()

    positions = dict(Metric.objects.filter(suite__name="my_suite").values_list("name", "position"))
    assert positions == {"text_size": 0, "data_size": 1, "score": 2, "hash": 3}
    # nts had no data: it is renumbered to LNT's indices (execution_time is field 3).
    nts = dict(Metric.objects.filter(suite__name="nts").values_list("name", "position"))
    assert (nts["compile_time"], nts["execution_time"], nts["code_size"]) == (2, 3, 8)


def test_several_samples_statuses_and_hashes_come_over_and_points_are_ingests():
    import_corpus()

    # nts-regression-run1: test2 reported execution_time twice, the first sample failed.
    point = Point.objects.get(
        run_id=5, series__test__name="test2", series__metric__name="execution_time"
    )
    assert (point.count, point.value, point.failed) == (2, 1.0, False)
    status = Point.objects.get(
        run_id=5, series__test__name="test2", series__metric__name="execution_status"
    )
    assert unpack_samples(status.samples) == [1, 0]
    hashed = Point.objects.get(
        run_id=7, series__test__name="test_mhash_on_run", series__metric__name="execution_time"
    )
    assert hashed.hash == "hash1"


def test_field_changes_and_regressions_keep_titles_bugs_states_and_indicators():
    import_corpus()

    triaged = Regression.objects.get(id=2)
    assert (triaged.title, triaged.bug, triaged.state) == (
        "hash tests slower after 152296",
        "https://bugs.example.org/42",
        Regression.ACTIVE,
    )
    assert triaged.notified
    names = sorted(triaged.indicators.values_list("field_change__test__name", flat=True))
    assert names == ["test_hash1", "test_hash2", "test_mhash_on_run"]
    change = FieldChange.objects.get(indicator__regression=triaged, test__name="test_hash1")
    assert (change.old_value, change.new_value, change.metric.name) == (1.0, 1.2, "execution_time")
    assert change.start_order.label == "152295" and change.end_order.label == "152296"
    assert change.is_regression
    # Grouping finds open regressions by their range's positions: they follow the orders.
    assert (triaged.start_position, triaged.end_position) == (
        change.start_order.position,
        change.end_order.position,
    )
    assert Regression.objects.get(id=1).state == Regression.IGNORED


def test_the_baseline_is_lnts_baseline_order():
    import_corpus()

    baseline = Baseline.objects.get(name="release-1")
    assert baseline.order.label == "152292"


def test_the_profile_file_is_found_by_name_and_stored_compressed():
    import_corpus()

    profile = Profile.objects.get()
    raw = (INSTANCE / "data/profiles/t-foo-s-3s7hx3hl.lntprof").read_bytes()
    assert zlib.decompress(profile.data) == raw
    assert profile.size == len(raw)
    assert profile.counters == {"cycles": 12345.0, "branch-misses": 200.0}
    assert profile.run_id == 16


def test_it_refuses_a_database_that_is_not_lnts(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()

    with pytest.raises(LntImportError, match="is it an LNT database"):
        lnt_db_import(LntSource(sqlite3.connect(path), "sqlite"), source_key="x")
    assert Run.objects.count() == 0


def altered_copy(tmp_path, *statements):
    """A copy of the corpus database with some SQL applied (the corpus stays read-only)."""
    path = tmp_path / "lnt.db"
    path.write_bytes(DB.read_bytes())
    with sqlite3.connect(path) as conn:
        for sql in statements:
            conn.execute(sql)
    return path


def import_file(path):
    opened = lnt_source_open(str(path), profiles_dir=str(INSTANCE / "data/profiles"))
    try:
        return lnt_db_import(opened.source, source_key=opened.key, profiles_dir=opened.profiles_dir)
    finally:
        opened.close()


def test_orders_that_are_not_numbers_keep_lnts_sequence(tmp_path):
    path = altered_copy(tmp_path, "UPDATE NT_Order SET llvm_project_revision = 'g' || (20 - ID)")

    import_file(path)

    by_position = [
        fields["llvm_project_revision"]
        for fields in Order.objects.filter(suite__name="nts")
        .order_by("position")
        .values_list("fields", flat=True)
    ]
    lnt_sequence = [11, 12, 13, 14, 15, 2, 3, 4, 5, 6, 7, 8, 9, 1, 10]
    assert by_position == [f"g{20 - i}" for i in lnt_sequence]


def test_a_change_lnt_recorded_twice_is_one_row_and_both_ids_find_it(tmp_path):
    path = altered_copy(
        tmp_path,
        'INSERT INTO "NT_FieldChangeV2" SELECT 5, "OldValue", "NewValue", "StartOrderID", '
        '"EndOrderID", "TestID", "MachineID", "FieldID", "RunID" FROM "NT_FieldChangeV2" '
        'WHERE "ID" = 2',
    )

    summary = import_file(path)

    assert summary.field_changes == 4
    mapped = dict(
        LntIdMap.objects.filter(suite="nts", kind="fieldchange").values_list("lnt_id", "local_id")
    )
    assert mapped[5] == mapped[2]


def test_every_point_is_the_one_ingest_builds_from_its_samples():
    import_corpus()

    samples = {
        (run, test, metric): unpack_samples(packed)
        for run, test, metric, packed in Point.objects.values_list(
            "run_id", "series__test_id", "series__metric__name", "samples"
        )
    }
    names = {
        suite: set(Metric.objects.filter(suite__name=suite).values_list("name", flat=True))
        for suite in TestSuite.objects.values_list("name", flat=True)
    }
    points = Point.objects.values_list(
        *ingest.POINT_COLUMNS,
        "series__test_id",
        "series__metric__name",
        "series__metric__type",
        "run__suite__name",
    )
    assert points
    for *row, test, metric, metric_type, suite in points:
        run, series, order, position = row[:4]
        status = status_metric_name(metric, names[suite])
        binary = samples.get((run, test, "hash"))
        expected = ingest.point_row(
            run,
            series,
            order,
            position,
            metric_type,
            samples[(run, test, metric)],
            samples.get((run, test, status)) if status else None,
            binary[0] if binary else None,
        )
        assert (*row[:-1], bytes(row[-1])) == expected, (suite, run, test, metric)
