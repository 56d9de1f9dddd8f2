"""Shared fixtures.  Builders live in tests/factories.py."""

import pytest

from tests.factories import make_token


@pytest.fixture
def token(db) -> str:
    """A valid submission token's secret."""
    return make_token()
