"""Metric positions become LNT's field indices (``perf.formats.field_positions``).

LNT numbers nts's fields in the order its first migration created them
(execution_time is 3, compile_time 2) and every other suite's in the order of its
schema document; graph URLs and ``graph/<machine>/<test>/<field>`` carry that index.
Existing databases are renumbered here; new suites are numbered so by suite_save.
"""

from django.db import migrations
from django.db.models import F

PARKING = 10_000  # above any field index: (suite, position) is unique


def renumber(apps, schema_editor):
    from perf.formats import field_positions, parse_suite_schema

    TestSuite = apps.get_model("perf", "TestSuite")
    Metric = apps.get_model("perf", "Metric")
    for suite in TestSuite.objects.all():
        positions = field_positions(parse_suite_schema(suite.schema))
        metrics = list(Metric.objects.filter(suite=suite))
        extra = [m for m in metrics if m.name not in positions]  # not in the document
        for i, m in enumerate(sorted(extra, key=lambda m: m.position)):
            positions[m.name] = len(positions) + i
        moved = [m for m in metrics if m.position != positions[m.name]]
        if not moved:
            continue
        Metric.objects.filter(id__in=[m.id for m in moved]).update(position=F("position") + PARKING)
        for m in moved:
            Metric.objects.filter(id=m.id).update(position=positions[m.name])


class Migration(migrations.Migration):
    dependencies = [("perf", "0002_builtin_suites")]

    operations = [migrations.RunPython(renumber, migrations.RunPython.noop)]
