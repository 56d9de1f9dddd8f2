"""Moving the test database along the migration graph, for the migration tests."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    """Migrate to ``targets``; an executor whose loader sees the state reached
    (``.loader.project_state().apps`` for the models as they are there)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def migrate_to_latest() -> MigrationExecutor:
    """Migrate to the newest migrations, where every other test expects the database."""
    return migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
