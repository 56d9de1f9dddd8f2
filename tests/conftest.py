"""Shared fixtures.  Builders live in tests/factories.py."""

import pytest
from hypothesis import HealthCheck, settings

from tests.factories import make_token

# Property tests judge correctness, not speed: a loaded CI machine must not fail them
# for generating data slowly.
settings.register_profile("lntsite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lntsite")

DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(autouse=True)
def _builtin_suites(request):
    """The built-in suites come from a data migration, which a ``transactional_db``
    test's flush removes; put them back for every database test that follows."""
    if request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames):
        from perf.services.suites import suites_ensure_builtin

        suites_ensure_builtin()


@pytest.fixture
def token(db) -> str:
    """A valid submission token's secret."""
    return make_token()
