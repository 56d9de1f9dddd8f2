"""Row counts of every table the app writes: 'writes nothing' is checked with these."""

from django.apps import apps


def row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_app_config("perf").get_models()}
