"""The raw samples move into the point row: ``Point.samples``, packed by
``perf.formats.samples`` (docs/performance.md, "One row per (run, series)").

Forward: every point gets its sample row's values, packed; on PostgreSQL in one
``UPDATE ... FROM`` (``float8send``/``int8send`` write the big-endian bytes
``pack_samples`` writes), elsewhere a batch at a time in Python.  A point with no
sample row gets an empty list (the tag alone), which readers treat as "no raw
samples", as they treated the missing row.  Backward: the sample rows are written
again from the points (empty lists write none), then the column goes.
"""

from django.db import migrations, models

from perf.formats.samples import pack_samples, unpack_samples

BATCH = 5_000

PACK_SQL = r"""
UPDATE perf_point AS p SET samples = packed.bytes
FROM (
    SELECT pt.id,
        CASE m.type
        WHEN 'Real' THEN '\x64'::bytea || coalesce((
            SELECT string_agg(float8send(e.v::float8), ''::bytea ORDER BY e.i)
            FROM jsonb_array_elements_text(s."values") WITH ORDINALITY AS e(v, i)), '')
        WHEN 'Status' THEN '\x71'::bytea || coalesce((
            SELECT string_agg(int8send(e.v::int8), ''::bytea ORDER BY e.i)
            FROM jsonb_array_elements_text(s."values") WITH ORDINALITY AS e(v, i)), '')
        ELSE '\x6a'::bytea || convert_to(coalesce(s."values", '[]'::jsonb)::text, 'UTF8')
        END AS bytes
    FROM perf_point pt
    JOIN perf_series se ON se.id = pt.series_id
    JOIN perf_metric m ON m.id = se.metric_id
    LEFT JOIN perf_sample s ON s.run_id = pt.run_id AND s.series_id = pt.series_id
) AS packed
WHERE p.id = packed.id
"""


def _batches(Point, field):  # type: ignore[no-untyped-def]
    """(id, run id, series id, ``field``) of every point, ``BATCH`` at a time."""
    last = 0
    while batch := list(
        Point.objects.filter(id__gt=last)
        .order_by("id")
        .values_list("id", "run_id", "series_id", field)[:BATCH]
    ):
        last = batch[-1][0]
        yield batch


def _pack(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PACK_SQL)
        return
    Point = apps.get_model("perf", "Point")
    Sample = apps.get_model("perf", "Sample")
    for batch in _batches(Point, "series__metric__type"):
        found = {
            (r, s): v
            for r, s, v in Sample.objects.filter(
                run_id__in={p[1] for p in batch}, series_id__in={p[2] for p in batch}
            ).values_list("run_id", "series_id", "values")
        }
        for point_id, run_id, series_id, metric_type in batch:
            values = found.get((run_id, series_id)) or []
            Point.objects.filter(id=point_id).update(samples=pack_samples(metric_type, values))


def _unpack(apps, schema_editor):  # type: ignore[no-untyped-def]
    Point = apps.get_model("perf", "Point")
    Sample = apps.get_model("perf", "Sample")
    for batch in _batches(Point, "samples"):
        Sample.objects.bulk_create(
            [
                Sample(run_id=r, series_id=s, values=values)
                for _, r, s, packed in batch
                if (values := unpack_samples(packed))
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("perf", "0015_point_unique_on_sqlite"),
    ]

    operations = [
        migrations.AddField(
            model_name="point",
            name="samples",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.RunPython(_pack, _unpack),
    ]
