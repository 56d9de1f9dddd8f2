"""Migration 0011_baselines turns each run baseline into its run's order, keeping the
name, and back."""

from __future__ import annotations

import pytest

from tests.factories import submit_grid
from tests.migrating import migrate, migrate_to_latest

BEFORE = [("perf", "0010_writepath")]
AFTER = [("perf", "0011_baselines")]


# transaction=True: migrating changes the schema, which the db fixture's enclosing
# transaction cannot hold on every database.
pytestmark = pytest.mark.django_db(transaction=True)


def test_run_baselines_become_their_runs_orders_and_back():
    results = submit_grid(machines=1, tests=1, orders=2)
    run_id = results[1].run_id
    try:
        old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
        Run = old_apps.get_model("perf", "Run")
        run = Run.objects.get(id=run_id)
        OldBaseline = old_apps.get_model("perf", "Baseline")
        OldBaseline.objects.create(suite_id=run.suite_id, name="release", run_id=run_id)

        new_apps = migrate(AFTER).loader.project_state(AFTER).apps
        baseline = new_apps.get_model("perf", "Baseline").objects.get()
        assert (baseline.name, baseline.order_id) == ("release", run.order_id)

        old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
        back = old_apps.get_model("perf", "Baseline").objects.get()
        assert (back.name, back.run_id) == ("release", run_id)
    finally:
        migrate_to_latest()
