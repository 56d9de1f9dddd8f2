"""perf/models.py: what the database itself guarantees, on SQLite and PostgreSQL."""

import pytest
from django.core import checks
from django.db import IntegrityError, connection, transaction

from perf.models import Point
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


def test_a_second_point_of_a_run_and_series_is_refused_on_either_database():
    run_id = submit_doc(report_doc(revision=1000, tests={"t": {"execution_time": 1.0}})).run_id
    point = Point.objects.filter(run_id=run_id).first()
    twin = Point(
        run_id=point.run_id,
        series_id=point.series_id,
        order_id=point.order_id,
        position=point.position,
        count=1,
        value=2.0,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_the_covering_point_constraint_raises_no_check_warning_on_either_database():
    messages = [m for m in checks.run_checks(tags=["models"]) if m.id == "models.W039"]
    assert messages == []
    index = "point_run_series_uniq"
    with connection.cursor() as cursor:
        names = connection.introspection.get_constraints(cursor, "perf_point")
    assert names[index]["unique"] and names[index]["columns"][:2] == ["run_id", "series_id"]
