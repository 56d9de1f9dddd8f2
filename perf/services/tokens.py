"""Submission tokens: created once, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from ..models import SubmissionToken

TOKEN_PREFIX = "lnt_"  # noqa: S105 - a marker, not a secret
# ``last_used_at`` is written when it is older than this: a bot submitting every few
# seconds (or sixteen at once with one token) does not rewrite, and wait to lock, the
# token's row on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_set_secret(token: SubmissionToken) -> str:
    """Give an unsaved token a new secret; return the secret (stored only hashed)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.key_hash = token_hash(raw)
    token.prefix = raw[:10]
    return raw


def token_create(name: str, *, machine_name: str = "") -> tuple[SubmissionToken, str]:
    """Create a token; return it with its secret, which is not stored anywhere."""
    token = SubmissionToken(name=name, machine_name=machine_name)
    raw = token_set_secret(token)
    token.save()
    return token, raw


def token_authenticate(raw: str | None) -> SubmissionToken | None:
    """The active token whose secret is ``raw``, or None.  One query; two when its
    ``last_used_at`` is older than ``LAST_USED_RESOLUTION`` (then set to now)."""
    if not raw or len(raw) > 256:
        return None
    token = SubmissionToken.objects.filter(key_hash=token_hash(raw), is_active=True).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            SubmissionToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
