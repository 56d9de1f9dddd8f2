"""Point's unique (run, series) constraint is a CoveringUniqueConstraint: on SQLite, which
has no covering indexes, Django skipped 0014's constraint altogether (models.W039), so
the embedded default lost the uniqueness and the index a run's report reads by.  The
state takes the new class; on SQLite the plain unique index is created.  PostgreSQL is
untouched (its covering index from 0014 stays, no rebuild)."""

from django.db import migrations

import perf.models

SQLITE_INDEX = 'CREATE UNIQUE INDEX IF NOT EXISTS "point_run_series_uniq" ON "perf_point" ("run_id", "series_id")'


def _sqlite_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_INDEX)


def _drop_sqlite_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute('DROP INDEX IF EXISTS "point_run_series_uniq"')


class Migration(migrations.Migration):
    dependencies = [
        ("perf", "0014_point_covering_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="point", name="point_run_series_uniq"),
                migrations.AddConstraint(
                    model_name="point",
                    constraint=perf.models.CoveringUniqueConstraint(
                        fields=("run", "series"),
                        include=("value", "failed", "hash"),
                        name="point_run_series_uniq",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_sqlite_index, _drop_sqlite_index)],
        ),
    ]
