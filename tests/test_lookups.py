"""perf/lookups.py: ``__any_of`` selects what ``__in`` selects, with one parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perf.models import Point, Series
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


def _series_ids() -> list[int]:
    tests = {f"t{i}": {"execution_time": float(i + 1)} for i in range(5)}
    submit_doc(report_doc(revision=1000, tests=tests))
    return sorted(Series.objects.values_list("id", flat=True))


def test_any_of_selects_the_rows_in_selects_on_a_plain_and_a_related_field():
    ids = _series_ids()
    some = ids[1:4]
    assert sorted(Series.objects.filter(id__any_of=some).values_list("id", flat=True)) == some
    via_fk = Point.objects.filter(series_id__any_of=some).values_list("series_id", flat=True)
    in_list = Point.objects.filter(series_id__in=some).values_list("series_id", flat=True)
    assert sorted(via_fk) == sorted(in_list) and len(in_list) == 3


def test_an_empty_list_matches_nothing_without_a_query():
    _series_ids()
    with CaptureQueriesContext(connection) as queries:
        assert list(Series.objects.filter(id__any_of=[])) == []
    assert len(queries) == 0


def test_on_postgresql_the_list_is_one_array_parameter():
    ids = _series_ids()
    sql, params = Series.objects.filter(id__any_of=ids).values_list("id").query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(%s)" in sql and params == (ids,)
    else:
        assert f"IN ({', '.join(['%s'] * len(ids))})" in sql and params == tuple(ids)
