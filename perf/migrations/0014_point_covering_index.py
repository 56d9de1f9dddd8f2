"""The point table's unique (run, series) index carries value, failed and hash, so that
global status and the latest runs report read two runs' points per machine with an
index-only scan (see the comment on Point.Meta)."""

from django.db import migrations, models

# Rebuilding the index of the largest table outlasts the web's statement timeout
# (DATABASE_STATEMENT_TIMEOUT_MS) on a big database: lifted for this migration's
# transaction only.  SQLite has no such setting.
NO_TIMEOUT = "SET LOCAL statement_timeout = 0"


def _no_timeout(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_TIMEOUT)


class Migration(migrations.Migration):
    dependencies = [
        ("perf", "0013_triage"),
    ]

    operations = [
        migrations.RunPython(_no_timeout, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="point",
            name="point_run_series_uniq",
        ),
        migrations.AddConstraint(
            model_name="point",
            constraint=models.UniqueConstraint(
                fields=("run", "series"),
                include=("value", "failed", "hash"),
                name="point_run_series_uniq",
            ),
        ),
        # Reversed, the operations run last to first: the timeout is lifted first there.
        migrations.RunPython(migrations.RunPython.noop, _no_timeout),
    ]
