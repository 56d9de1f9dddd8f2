"""A SuiteSchema back to an LNT schema document (what GET .../schema answers)."""

from __future__ import annotations

from typing import Any

from perf.formats.types import SuiteSchema


def schema_document(schema: SuiteSchema) -> dict[str, Any]:
    """The LNT schema document for ``schema``; ``parse_suite_schema`` reads it back."""
    metrics = []
    for m in schema.metrics:
        doc: dict[str, Any] = {"name": m.name, "type": m.type}
        if m.bigger_is_better:
            doc["bigger_is_better"] = True
        if m.ignore_same_hash:
            doc["ignore_same_hash"] = True
        for key in ("display_name", "unit", "unit_abbrev"):
            if getattr(m, key):
                doc[key] = getattr(m, key)
        metrics.append(doc)
    return {
        "format_version": "2",
        "name": schema.name,
        "metrics": metrics,
        "run_fields": [{"name": f, "order": True} for f in schema.order_fields]
        + [{"name": f} for f in schema.run_fields],
        "machine_fields": [{"name": f} for f in schema.machine_fields],
    }
