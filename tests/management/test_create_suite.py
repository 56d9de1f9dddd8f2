from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from perf.models import Metric, TestSuite
from tests.factories import CORPUS

pytestmark = pytest.mark.django_db


def create_suite(path: Path) -> str:
    out = StringIO()
    call_command("create_suite", str(path), stdout=out)
    return out.getvalue()


def test_it_creates_a_suite_from_an_lnt_schema_and_extends_it():
    assert create_suite(Path(CORPUS, "docs/my_suite.yaml")).startswith("Created suite my_suite")
    assert Metric.objects.filter(suite__name="my_suite").count() == 4
    out = create_suite(Path(CORPUS, "server/db/schema-example-migratable.yaml"))
    assert out.startswith("Updated suite my_suite (5 metrics)")


def test_a_schema_that_removes_a_metric_is_refused_naming_it():
    create_suite(Path(CORPUS, "docs/my_suite.yaml"))
    with pytest.raises(CommandError, match="cannot upgrade suite 'my_suite'"):
        create_suite(Path(CORPUS, "server/db/schema-example-nomigration0.yaml"))
    assert TestSuite.objects.get(name="my_suite").metrics.count() == 4


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        create_suite(tmp_path / "nope.yaml")
