from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perf.formats import FormatError, parse_suite_schema
from perf.services.suites import suite_save


class Command(BaseCommand):
    help = "Create a test suite from an LNT schema document (YAML or JSON), or extend one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema", help="Path to the schema document.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["schema"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        try:
            suite, created = suite_save(parse_suite_schema(data))
        except FormatError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} suite {suite.name} ({suite.metrics.count()} metrics)")
