import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from perf.models import Run
from perf.services.demo import demo_reports
from perf.services.detection import Outcome, machine_detect_all
from perf.services.ingest import report_import


class Command(BaseCommand):
    help = "Load seeded demo data (3 machines, 100 orders, 200 tests, a few real steps)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=100, help="Revisions per machine.")
        parser.add_argument("--tests", type=int, default=200, help="Tests per run.")
        parser.add_argument("--machines", type=int, default=3, help="Machines (1-3).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any run exists."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Run.objects.exists():
            self.stdout.write("Runs exist; demo data not loaded.")
            return
        if options["orders"] < 1 or options["tests"] < 1 or not 1 <= options["machines"] <= 3:
            raise CommandError("--orders and --tests must be >= 1, --machines 1 to 3")
        started = time.monotonic()
        reports = demo_reports(
            machines=options["machines"], orders=options["orders"], tests=options["tests"]
        )
        samples = 0
        machines: set[int] = set()
        for doc in tqdm(reports, desc="demo runs", unit="run", file=self.stderr):
            # Detection once per machine at the end: the same verdicts as run by run
            # (the analysis guarantees it), in a fraction of the time.
            result = report_import(
                json.dumps(doc), suite="nts", merge="replace", source="demo", detect=False
            )
            samples += result.added_samples
            machines.add(result.machine_id)
        outcome = Outcome()
        for machine_id in sorted(machines):
            outcome.add(machine_detect_all(machine_id))
        Run.objects.filter(machine_id__in=machines).update(
            detection_state=Run.DONE, detected_at=timezone.now()
        )
        self.stdout.write(
            f"Loaded {len(reports)} demo runs ({samples} samples, {outcome.created} changes, "
            f"{len(outcome.regressions)} regressions) in {time.monotonic() - started:.1f}s"
        )
