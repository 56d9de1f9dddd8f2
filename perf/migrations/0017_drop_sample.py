"""The sample rows are gone: their values live packed in the points since 0016
(docs/performance.md, "One row per (run, series)").  Backward, the table comes back
empty and 0016's reverse fills it from the points."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("perf", "0016_point_samples"),
    ]

    operations = [
        migrations.DeleteModel(
            name="Sample",
        ),
    ]
