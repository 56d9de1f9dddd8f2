"""manage.py import_run: files, directories and globs; failures named, good files kept."""

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from perf.models import Profile, Run
from tests.factories import CORPUS
from tests.rowcounts import row_counts

pytestmark = pytest.mark.django_db

BASE = Path(CORPUS, "utils/base-reports")


def run_import(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("import_run", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_it_imports_files_and_prints_one_summary_line():
    out, _, error = run_import(str(BASE / "nts-run1.json"), str(BASE / "nts-run2.json"))
    assert error is None
    assert Run.objects.count() == 2
    # nts-run2 has no tests: two runs, four samples in all.
    assert out.strip().startswith("Imported 2 runs (2 new tests, 4 samples) from 2 files in ")
    assert out.strip().endswith("; 0 of 2 inputs failed")


def test_it_imports_a_directory_and_a_glob():
    glob = str(Path(CORPUS, "utils/extra-reports/nts-machine*.json"))
    # compile-run3 repeats compile-run2's order, hence append.
    _, _, error = run_import("--merge", "append", str(BASE), glob)
    assert error is None
    # base-reports has 2 nts and 4 compile reports; the glob adds 2 machines.
    assert Run.objects.count() == 8


def test_it_names_each_failed_file_and_keeps_the_good_ones(tmp_path):
    shutil.copy(BASE / "nts-run1.json", tmp_path / "good.json")
    (tmp_path / "bad.json").write_text("{not json")
    out, err, error = run_import(str(tmp_path), str(tmp_path / "missing.json"))
    assert error is not None and "2 file(s) failed" in str(error)
    assert f"failed: {tmp_path / 'bad.json'}: report is not valid JSON" in err
    assert f"failed: {tmp_path / 'missing.json'}: no such file or directory" in err
    assert "2 of 3 inputs failed" in out
    assert Run.objects.count() == 1
    assert "Imported 1 runs" in out


def test_dry_run_validates_and_stores_nothing(tmp_path):
    before = row_counts()
    out, _, error = run_import("--dry-run", str(BASE / "nts-run1.json"))
    assert error is None and out.startswith("Validated 1 runs")
    assert row_counts() == before


def test_merge_and_suite_options_are_honoured(tmp_path):
    run_import(str(BASE / "nts-run1.json"))
    # Another report at the same order (one sample changed).
    other = tmp_path / "nts-run1-other.json"
    other.write_text((BASE / "nts-run1.json").read_text().replace("0.007,", "0.008,", 1))
    _, err, error = run_import(str(other))
    assert error is not None and "duplicate run" in err
    _, _, error = run_import("--merge", "append", str(other))
    assert error is None and Run.objects.count() == 2
    _, err, error = run_import("--suite", "compile", str(BASE / "nts-run1.json"))
    assert error is not None and "unknown metric" in err


def test_importing_the_identical_file_again_stores_nothing_and_says_so():
    run_import(str(BASE / "nts-run1.json"))
    out, err, error = run_import("--merge", "append", str(BASE / "nts-run1.json"))
    assert error is None and Run.objects.count() == 1
    assert "already stored as run" in err and out.startswith("Imported 0 runs")


def test_a_profile_entry_is_stored_without_a_warning():
    _, err, error = run_import(str(Path(CORPUS, "utils/profile-report.json")))
    assert error is None
    assert "warning:" not in err
    assert Profile.objects.get().test.name == "foo"



def test_its_commits_do_not_wait_for_the_disk_and_the_setting_is_reset_after(monkeypatch):
    # import_run trades durability for speed (IMPORT_RUN_SETTINGS): each file is still
    # committed on its own; only PostgreSQL has the setting.
    from django.db import connection

    from perf.management.commands import import_run as command

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    seen = []
    real = command.report_import

    def spy(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(command, "report_import", spy)
    _, _, error = run_import(str(BASE / "nts-run1.json"), str(BASE / "nts-run2.json"))
    assert error is None
    assert seen == ["off", "off"]
    assert Run.objects.count() == 2
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
