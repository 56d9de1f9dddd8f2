"""LNT's old links: which local row an LNT id (per suite) names after ``import_lnt_db``.

The rule, the same for every kind: a row of this suite that has the id itself wins
(``import_lnt_db`` keeps an LNT id wherever it was free, and moves the id sequences
past every id it used, so a native row and an LNT row never share an id unless the
native row existed before the import); else the id map says where the LNT row went.
"""

from __future__ import annotations

from django.db import models

from ..models import LntIdMap, Machine, Metric, Order, Regression, Run, Test, TestSuite

KINDS: dict[str, type[models.Model]] = {
    "run": Run,
    "machine": Machine,
    "order": Order,
    "regression": Regression,
    "test": Test,
}


def lnt_mapped_id(suite: TestSuite, kind: str, lnt_id: int) -> int | None:
    """Where LNT's ``kind`` ``lnt_id`` of ``suite`` went, from the map only.  One query."""
    return (
        LntIdMap.objects.filter(suite=suite.name, kind=kind, lnt_id=lnt_id)
        .order_by("id")
        .values_list("local_id", flat=True)
        .first()
    )


def lnt_local_id(suite: TestSuite, kind: str, lnt_id: int) -> int | None:
    """The local id an LNT link's id names (see the module docstring).  At most two
    queries; None when neither this suite nor the map knows the id."""
    if KINDS[kind]._default_manager.filter(id=lnt_id, suite=suite).exists():
        return lnt_id
    return lnt_mapped_id(suite, kind, lnt_id)


def lnt_field_position(suite: TestSuite, field_index: int) -> int:
    """The metric position LNT's field index names: the imported mapping, else the same
    number (suites this site created from LNT's schema use LNT's indices).  One query."""
    metric_id = lnt_mapped_id(suite, "field", field_index)
    if metric_id is None:
        return field_index
    position = Metric.objects.filter(id=metric_id).values_list("position", flat=True).first()
    return field_index if position is None else position
