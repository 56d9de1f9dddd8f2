"""Write side of baselines: promote an order to a named baseline, rename, delete.

A baseline is a name for an order of a suite (as in LNT).  Names are unique per suite
(a database constraint): creating a name twice, even by two requests racing, gives a
``BaselineError`` and writes nothing.  No audit trail (baselines are labels).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from ..models import Baseline, Order, TestSuite

NAME_MAX_LENGTH = 128


class BaselineError(ValueError):
    """A baseline request that cannot be applied; the message is shown to the user."""


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise BaselineError("name: give the baseline a name.")
    if len(name) > NAME_MAX_LENGTH:
        raise BaselineError(f"name: at most {NAME_MAX_LENGTH} characters.")
    if name.isdigit():
        # A digit-only key means a run id on the run report's ?baseline=.
        raise BaselineError(f"name: {name!r} is all digits, which reads as a run id.")
    return name


def baseline_create(suite: TestSuite, order_id: int, name: str) -> Baseline:
    """Name the order ``order_id`` of ``suite`` as a baseline."""
    name = _clean_name(name)
    if not Order.objects.filter(suite=suite, id=order_id).exists():
        raise BaselineError(f"order: no order {order_id} in suite {suite.name}.")
    try:
        with transaction.atomic():
            return Baseline.objects.create(suite=suite, order_id=order_id, name=name)
    except IntegrityError:
        raise BaselineError(f"name: a baseline called {name!r} already exists.") from None


def baseline_rename(suite: TestSuite, baseline_id: int, name: str) -> None:
    name = _clean_name(name)
    try:
        with transaction.atomic():
            updated = Baseline.objects.filter(suite=suite, id=baseline_id).update(name=name)
    except IntegrityError:
        raise BaselineError(f"name: a baseline called {name!r} already exists.") from None
    if not updated:
        raise BaselineError(f"baseline: no baseline {baseline_id} in suite {suite.name}.")


def baseline_delete(suite: TestSuite, baseline_id: int) -> None:
    """Delete a baseline; deleting one already gone is not an error (a repeated POST)."""
    Baseline.objects.filter(suite=suite, id=baseline_id).delete()
