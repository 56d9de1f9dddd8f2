"""Create the built-in suites, nts and compile, as LNT defines them."""

from django.db import migrations


def create_builtin_suites(apps, schema_editor):
    from perf.formats import BUILTIN_SUITES, field_positions
    from perf.formats.documents import schema_document

    TestSuite = apps.get_model("perf", "TestSuite")
    Metric = apps.get_model("perf", "Metric")
    for schema in BUILTIN_SUITES.values():
        if TestSuite.objects.filter(name=schema.name).exists():
            continue
        suite = TestSuite.objects.create(name=schema.name, schema=schema_document(schema))
        positions = field_positions(schema)  # LNT's field indices
        Metric.objects.bulk_create(
            Metric(
                suite=suite,
                name=m.name,
                type=m.type,
                bigger_is_better=m.bigger_is_better,
                ignore_same_hash=m.ignore_same_hash,
                display_name=m.display_name,
                unit=m.unit,
                unit_abbrev=m.unit_abbrev,
                position=positions[m.name],
            )
            for m in schema.metrics
        )


class Migration(migrations.Migration):
    dependencies = [("perf", "0001_initial")]

    operations = [migrations.RunPython(create_builtin_suites, migrations.RunPython.noop)]
