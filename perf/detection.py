"""Detection orchestration (placeholder until perf.analysis lands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from .models import Run


def run_detect(run_id: int) -> str:
    updated = Run.objects.filter(id=run_id).update(
        detection_state=Run.DONE, detected_at=timezone.now()
    )
    return "done" if updated else "missing"


def runs_enqueue_pending(*, enqueue: Callable[[int], Any]) -> int:
    ids = list(
        Run.objects.filter(detection_state__in=[Run.PENDING, Run.FAILED]).values_list(
            "id", flat=True
        )[:1000]
    )
    for run_id in ids:
        enqueue(run_id)
    return len(ids)
