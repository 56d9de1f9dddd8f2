"""A baseline becomes an order (as in LNT): each run baseline keeps its name and takes
its run's order."""

import django.db.models.deletion
from django.db import migrations, models


def runs_to_orders(apps, schema_editor):  # type: ignore[no-untyped-def]
    Baseline = apps.get_model("perf", "Baseline")
    Run = apps.get_model("perf", "Run")
    for baseline in Baseline.objects.all().only("id", "run_id"):
        order_id = Run.objects.filter(id=baseline.run_id).values_list("order_id", flat=True)
        Baseline.objects.filter(id=baseline.id).update(order_id=order_id.first())


def orders_to_runs(apps, schema_editor):  # type: ignore[no-untyped-def]
    Baseline = apps.get_model("perf", "Baseline")
    Run = apps.get_model("perf", "Run")
    for baseline in Baseline.objects.all().only("id", "order_id"):
        run = Run.objects.filter(order_id=baseline.order_id).order_by("id").values("id").first()
        if run is None:
            baseline.delete()
        else:
            Baseline.objects.filter(id=baseline.id).update(run_id=run["id"])


class Migration(migrations.Migration):
    dependencies = [
        ("perf", "0010_writepath"),
    ]

    operations = [
        migrations.AddField(
            model_name="baseline",
            name="order",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="baselines",
                to="perf.order",
            ),
        ),
        migrations.AlterField(
            model_name="baseline",
            name="run",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="perf.run",
            ),
        ),
        migrations.RunPython(runs_to_orders, orders_to_runs),
        migrations.RemoveField(model_name="baseline", name="run"),
        migrations.AlterField(
            model_name="baseline",
            name="order",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="baselines",
                to="perf.order",
            ),
        ),
    ]
