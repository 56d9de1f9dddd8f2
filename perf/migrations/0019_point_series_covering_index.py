"""The point table's (series, position) index carries value, failed and run, so that
the run report reads the history window of thousands of series with an index-only
scan (see the comment on Point.Meta; docs/performance.md, "Reads at scale").

On PostgreSQL the covering index is built under another name before the plain one is
dropped and the new one renamed: the table's ACCESS EXCLUSIVE lock (the drop) is then
held for a moment at the end, not during the build (the build's SHARE lock lets reads
go on; writes wait).  SQLite has no covering indexes: its plain index stays as it is.
"""

from django.db import migrations, models

# Building an index of the largest table outlasts the web's statement timeout
# (DATABASE_STATEMENT_TIMEOUT_MS) on a big database: lifted for this migration's
# transaction only.
COVERING = """
SET LOCAL statement_timeout = 0;
CREATE INDEX point_series_position_cov ON perf_point (series_id, position)
    INCLUDE (value, failed, run_id);
DROP INDEX point_series_position_idx;
ALTER INDEX point_series_position_cov RENAME TO point_series_position_idx;
"""
PLAIN = """
SET LOCAL statement_timeout = 0;
CREATE INDEX point_series_position_plain ON perf_point (series_id, position);
DROP INDEX point_series_position_idx;
ALTER INDEX point_series_position_plain RENAME TO point_series_position_idx;
"""


def _covering(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COVERING)


def _plain(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PLAIN)


class Migration(migrations.Migration):
    dependencies = [
        ("perf", "0018_series_keys_checked_by_writers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="point",
                    name="point_series_position_idx",
                ),
                migrations.AddIndex(
                    model_name="point",
                    index=models.Index(
                        fields=["series", "position"],
                        include=("value", "failed", "run"),
                        name="point_series_position_idx",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_covering, _plain)],
        ),
    ]
