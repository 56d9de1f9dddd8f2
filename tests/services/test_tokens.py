"""perf.services.tokens: tokens are found by their secret; their last use is kept to
the minute without a write on every request."""

from datetime import timedelta

import pytest
from django.utils import timezone

from perf.models import SubmissionToken
from perf.services import tokens

pytestmark = pytest.mark.django_db


def test_a_first_use_is_recorded(django_assert_num_queries):
    token, raw = tokens.token_create("bot")
    with django_assert_num_queries(2):
        assert tokens.token_authenticate(raw) == token
    assert SubmissionToken.objects.get(pk=token.pk).last_used_at is not None


def test_a_use_within_the_resolution_writes_nothing(django_assert_num_queries):
    token, raw = tokens.token_create("bot")
    tokens.token_authenticate(raw)
    with django_assert_num_queries(1):
        assert tokens.token_authenticate(raw) == token


def test_a_use_after_the_resolution_moves_the_last_use():
    token, raw = tokens.token_create("bot")
    old = timezone.now() - tokens.LAST_USED_RESOLUTION - timedelta(seconds=1)
    SubmissionToken.objects.filter(pk=token.pk).update(last_used_at=old)
    tokens.token_authenticate(raw)
    assert SubmissionToken.objects.get(pk=token.pk).last_used_at > old


def test_a_wrong_or_inactive_secret_finds_nothing():
    token, raw = tokens.token_create("bot")
    assert tokens.token_authenticate(raw + "x") is None
    SubmissionToken.objects.filter(pk=token.pk).update(is_active=False)
    assert tokens.token_authenticate(raw) is None
