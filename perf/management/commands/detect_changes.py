from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from perf.models import Machine, Order
from perf.services.detection import machine_detect_all, runs_enqueue_pending
from perf.tasks import detect_run_task


class Command(BaseCommand):
    help = (
        "Re-run change detection over a machine, a suite or everything (idempotent), "
        "or over the runs whose detection is pending or failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--suite", help="Only the machines of this suite.")
        parser.add_argument("--machine", help="Only this machine (name or id).")
        parser.add_argument(
            "--pending",
            action="store_true",
            help="Only runs whose detection is pending or failed (what the sweep does).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pending"]:
            failed: list[int] = []

            def detect(run_id: int) -> None:
                # The task's body, here and now (it also enqueues notifications); a
                # failure is recorded on the run (attempts, back-off) and reported.
                try:
                    detect_run_task(run_id)
                except Exception:  # noqa: BLE001 - recorded on the run, counted below
                    failed.append(run_id)

            count = runs_enqueue_pending(enqueue=detect)
            self.stdout.write(f"Detected {count - len(failed)} pending runs")
            if failed:
                self.stderr.write(f"Detection failed for runs {', '.join(map(str, failed))}")
            return
        machines = Machine.objects.all()
        if options["suite"]:
            machines = machines.filter(suite__name=options["suite"])
            if not machines.exists():
                raise CommandError(f"no machines in suite {options['suite']!r}")
        if options["machine"]:
            key = options["machine"]
            machines = machines.filter(id=int(key)) if key.isdigit() else machines.filter(name=key)
            if not machines.exists():
                raise CommandError(f"no machine {key!r}")
        ids = list(machines.order_by("id").values_list("id", flat=True))
        total = (
            Order.objects.filter(runs__machine_id__in=ids)
            .values("runs__machine_id", "id")
            .distinct()
            .count()
        )
        created = withdrawn = regressions = 0
        with tqdm(total=total, desc="orders", unit="order", file=self.stderr) as bar:
            for machine_id in ids:
                outcome = machine_detect_all(machine_id, progress=bar.update)
                created += outcome.created
                withdrawn += outcome.withdrawn
                regressions += len(outcome.regressions)
        self.stdout.write(
            f"Evaluated {len(ids)} machines: {created} new changes, {withdrawn} withdrawn, "
            f"{regressions} new regressions"
        )
