"""bench/make_dataset.py's builder at a tiny shape: its rows fit the schema and serve
the pages (so a change of the storage shows here, not only in a 10-minute build)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from perf.formats.samples import unpack_samples
from perf.models import FieldChange, Machine, Metric, Point, Run, RunValues, Series, TestSuite

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from make_dataset import Shape, build, shape_at  # noqa: E402 - bench/ is not a package

TINY = Shape(machines=2, tests=200, big_tests=300, orders=8)


def test_scales_keep_the_widths_and_refuse_nonsense():
    assert shape_at(1).orders == 400 and shape_at(0.1).orders == 40
    assert shape_at(0.1).points * 10 == shape_at(1).points
    with pytest.raises(ValueError, match="--scale must be in"):
        shape_at(1.5)


def point_indexes(cursor):
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'perf_point'")
    return dict(cursor.fetchall())


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="builds with PostgreSQL SQL")
def test_the_builder_writes_every_point_with_its_samples_and_the_pages_read_them(client):
    suite = TestSuite.objects.get(name="nts")
    metrics = [Metric.objects.get(suite=suite, name=name).id for name in TINY.metrics]
    with connection.cursor() as cursor:
        indexes_migrated = point_indexes(cursor)
        build(cursor, suite.id, metrics, TINY)
        # The indexes it rebuilds after the load are the migrations' own.
        assert point_indexes(cursor) == indexes_migrated
    assert Point.objects.count() == TINY.points == (2 * 200 + 300) * 2 * 8
    for point in Point.objects.all()[:50]:
        samples = unpack_samples(point.samples)
        assert len(samples) == TINY.samples
        assert min(samples) <= point.value <= max(samples)
    assert Point.objects.filter(failed=True).exists()
    # Every 100th test steps at 3/4 of the history, on every machine and metric.
    stepped = [t for t in Series.objects.values_list("test_id", flat=True) if t % 100 == 0]
    assert stepped and FieldChange.objects.count() == len(stepped)
    # Every run packed for global status, as ingest would (services/runvalues.py).
    assert RunValues.objects.count() == Run.objects.count() * len(TINY.metrics)
    big = Machine.objects.get(suite=suite, name="bench-big")
    run = Run.objects.filter(machine=big).order_by("-position").first()
    assert Point.objects.filter(run=run).count() == 300 * 2
    response = client.get(reverse("perf:run-detail", args=["nts", run.id]))
    assert response.status_code == 200
    assert client.get(reverse("perf:machine-detail", args=["nts", big.id])).status_code == 200
