"""manage.py import_lnt_db: one summary line, detection afterwards, mistakes named."""

import os
import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from perf.models import FieldChange, LntIdMap, Regression, RegressionIndicator, Run
from tests.factories import CORPUS
from tests.rowcounts import row_counts

pytestmark = pytest.mark.django_db

INSTANCE = Path(CORPUS, "lnt-instance")


def import_lnt_db(*args):
    out, err = StringIO(), StringIO()
    call_command("import_lnt_db", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_an_instance_directory_and_prints_a_summary_with_counts():
    out, err = import_lnt_db(str(INSTANCE))

    assert out.startswith(
        "Imported 1 suites, 9 machines, 19 orders, 18 tests, 20 runs, 139 samples"
    )
    assert "1 profiles, 4 field changes, 2 regressions, 4 indicators, 0 ignores, 1 baselines" in out
    assert "Change detection enqueued for 9 machines" in out
    assert "runs:" in err  # the progress bar
    assert Run.objects.count() == 20


def test_it_imports_the_sqlite_file_itself_and_a_second_time_adds_nothing():
    import_lnt_db(str(INSTANCE / "data/lnt.db"))
    before = row_counts()

    out, _ = import_lnt_db(str(INSTANCE / "data/lnt.db"))

    assert row_counts() == before
    assert out.startswith("Imported 0 suites, 0 machines, 0 orders, 0 tests, 0 runs, 0 samples")
    assert "20 runs were already here" in out
    assert "Change detection" not in out


def test_detection_over_the_imported_history_does_not_duplicate_lnts_regressions():
    import_lnt_db(str(INSTANCE))  # detection runs in-process (eager tasks in tests)

    # LNT's two regressions are still there, each with its own changes, none withdrawn.
    imported = Regression.objects.filter(id__in=[1, 2])
    assert imported.count() == 2
    assert RegressionIndicator.objects.filter(regression__in=imported).count() == 4
    lnt_changes = FieldChange.objects.filter(
        id__in=LntIdMap.objects.filter(kind="fieldchange").values("local_id")
    )
    assert lnt_changes.count() == 4
    assert not lnt_changes.filter(withdrawn=True).exists()
    # Whatever this site found at the same series and order is the same row.
    keys = list(FieldChange.objects.values_list("series_id", "end_order_id"))
    assert len(keys) == len(set(keys))
    # No regression of this site holds one of LNT's changes.
    assert (
        not RegressionIndicator.objects.filter(field_change__in=lnt_changes)
        .exclude(regression__in=imported)
        .exists()
    )


def test_it_names_a_source_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="not an LNT instance directory"):
        import_lnt_db(str(tmp_path / "nowhere"))


def test_it_names_a_directory_without_a_database(tmp_path):
    with pytest.raises(CommandError, match="no LNT database at"):
        import_lnt_db(str(tmp_path))


def test_it_refuses_a_database_that_is_not_lnts_and_writes_nothing(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    before = row_counts()

    with pytest.raises(CommandError, match="is it an LNT database"):
        import_lnt_db(str(path))
    assert row_counts() == before


def test_it_reads_the_database_named_by_lnt_cfg(tmp_path):
    (tmp_path / "db").mkdir()
    os.symlink(INSTANCE / "data/lnt.db", tmp_path / "db" / "main.db")
    (tmp_path / "lnt.cfg").write_text(
        "db_dir = 'db'\ndatabases = {\n    'default': {'path': 'main.db'},\n}\n"
    )

    out, _ = import_lnt_db(str(tmp_path), "--no-detect")

    assert "20 runs" in out
    assert "Change detection" not in out
