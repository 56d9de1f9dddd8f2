"""Claiming rows for one worker: the building block of "publish each task once"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet


def rows_claim(
    rows: QuerySet[Any],
    *,
    mark: str,
    now: datetime,
    limit: int | None = None,
    reset: dict[str, Any] | None = None,
) -> list[int]:
    """Ids of the rows of ``rows`` this caller now owns, each with ``mark`` set to ``now``.

    ``rows`` must filter on the condition the mark changes (e.g. ``queued_at`` NULL):
    the rows are locked with SKIP LOCKED and marked in one short transaction, so of two
    callers racing for a row exactly one gets it (PostgreSQL re-checks the condition on
    a row committed meanwhile; SQLite serialises writers).  Oldest (lowest id) first,
    at most ``limit``; ``reset`` names other fields set in the same UPDATE.  Two queries.
    """
    with transaction.atomic():
        locked = rows.select_for_update(skip_locked=True).order_by("id")
        ids = locked.values_list("id", flat=True)
        claimed = list(ids[:limit] if limit is not None else ids)
        rows.model.objects.filter(id__in=claimed).update(**{mark: now, **(reset or {})})
    return claimed
