"""Migration 0016_point_samples moves each sample row's values into its point, packed,
and back."""

from __future__ import annotations

import pytest

from perf.formats.samples import unpack_samples
from tests.factories import report_doc, submit_doc
from tests.migrating import migrate, migrate_to_latest

BEFORE = [("perf", "0015_point_unique_on_sqlite")]
AFTER = [("perf", "0016_point_samples")]

TESTS = {
    "a": {
        "execution_time": [1.0, 2.5, 1e-05],
        "execution_status": [0, 2],
        "compile_time": 7,
        "hash": ['quote" tab\t caf\u00e9'],
    },
    "b": {"execution_time": [-0.0, 1e-300]},
}


def stored(apps, *, packed: bool) -> dict[tuple[str, str], list]:
    """(test, metric) -> the values stored for the one run, from the points or the
    sample rows."""
    model = apps.get_model("perf", "Point" if packed else "Sample")
    rows = model.objects.values_list(
        "series__test__name", "series__metric__name", "samples" if packed else "values"
    )
    return {(t, m): unpack_samples(v) if packed else v for t, m, v in rows}


# transaction=True: migrating changes the schema, which the db fixture's enclosing
# transaction cannot hold on every database.
pytestmark = pytest.mark.django_db(transaction=True)


def test_sample_rows_move_into_their_points_and_back():
    submit_doc(report_doc(tests=TESTS), detect=False)
    expected = {
        ("a", "execution_time"): [1.0, 2.5, 1e-05],
        ("a", "execution_status"): [0, 2],
        ("a", "compile_time"): [7.0],
        ("a", "hash"): ['quote" tab\t caf\u00e9'],
        ("b", "execution_time"): [-0.0, 1e-300],
    }
    try:
        old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
        assert stored(old_apps, packed=False) == expected  # the reverse wrote them
        old_apps.get_model("perf", "Sample").objects.filter(series__test__name="b").delete()

        new_apps = migrate(AFTER).loader.project_state(AFTER).apps
        moved = stored(new_apps, packed=True)
        # The point without a sample row has an empty list, which readers skip.
        assert moved == {**expected, ("b", "execution_time"): []}
        assert [type(v) for v in moved[("a", "execution_status")]] == [int, int]

        old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
        back = stored(old_apps, packed=False)
        assert back == {k: v for k, v in expected.items() if k[0] == "a"}
    finally:
        migrate_to_latest()
