"""Test suites: the schemas stored in the database, and their creation/upgrade."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from ..formats import (
    BUILTIN_SUITES,
    FormatError,
    SuiteSchema,
    check_schema_upgrade,
    field_positions,
    parse_suite_schema,
)
from ..formats.documents import schema_document
from ..models import Metric, TestSuite

# Added to positions being renumbered, above any real field index.
POSITION_PARKING = 10_000


def suite_schema(suite: TestSuite) -> SuiteSchema:
    return parse_suite_schema(suite.schema)


def suite_schemas() -> dict[str, SuiteSchema]:
    """Every suite's schema by name.  One query."""
    return {s.name: parse_suite_schema(s.schema) for s in TestSuite.objects.all()}


@transaction.atomic
def suite_save(schema: SuiteSchema) -> tuple[TestSuite, bool]:
    """Create the suite, or upgrade it when only additions were made.

    Metric positions are LNT's field indices (``field_positions``).  Returns
    (suite, created).  Removing or retyping a metric, or changing the order
    fields, raises FormatError naming what (checked by ``check_schema_upgrade``).
    """
    suite = TestSuite.objects.select_for_update().filter(name=schema.name).first()
    created = suite is None
    if suite is None:
        suite = TestSuite.objects.create(name=schema.name, schema=schema_document(schema))
        existing: dict[str, Metric] = {}
    else:
        check_schema_upgrade(parse_suite_schema(suite.schema), schema)
        suite.schema = schema_document(schema)
        suite.save(update_fields=["schema"])
        existing = {m.name: m for m in suite.metrics.all()}
    positions = field_positions(schema)
    new_metrics = []
    moved = []
    for spec in schema.metrics:
        current = existing.get(spec.name)
        attrs = {
            "type": spec.type,
            "bigger_is_better": spec.bigger_is_better,
            "ignore_same_hash": spec.ignore_same_hash,
            "display_name": spec.display_name,
            "unit": spec.unit,
            "unit_abbrev": spec.unit_abbrev,
            "position": positions[spec.name],
        }
        if current is None:
            new_metrics.append(Metric(suite=suite, name=spec.name, **attrs))
        elif any(getattr(current, k) != v for k, v in attrs.items()):
            for k, v in attrs.items():
                setattr(current, k, v)
            moved.append(current)
    if moved:
        # LNT numbers fields by their place in the document, so a metric inserted
        # before others renumbers them.  Park the moved ones out of the way first:
        # (suite, position) is unique and rows are saved one at a time.
        Metric.objects.filter(id__in=[m.id for m in moved]).update(
            position=F("position") + POSITION_PARKING
        )
        for m in moved:
            m.save()
    Metric.objects.bulk_create(new_metrics)
    return suite, created


__all__ = ["FormatError", "schema_document", "suite_save", "suite_schema", "suite_schemas"]


def suites_ensure_builtin() -> None:
    """Create ``nts`` and ``compile`` if they are missing (a migration normally does).

    Two queries when they exist.  Used after a database flush (tests) and safe to
    call at any time: existing suites are left as they are.
    """
    present = set(TestSuite.objects.filter(name__in=BUILTIN_SUITES).values_list("name", flat=True))
    for name, schema in BUILTIN_SUITES.items():
        if name not in present:
            suite_save(schema)
