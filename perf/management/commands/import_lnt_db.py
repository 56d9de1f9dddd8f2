from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from perf.services.lnt_import import LntImportError, lnt_db_import, lnt_run_total
from perf.services.lnt_source import LntSourceError, lnt_source_open


class Command(BaseCommand):
    help = (
        "Bring an LNT database over: every suite, machine, order, run, sample, profile, "
        "field change, regression, ignore and baseline.  Safe to run again: it adds only "
        "what is missing, so an interrupted import resumes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source",
            help="An LNT instance directory, an LNT SQLite file, or a postgresql:// URL.",
        )
        parser.add_argument(
            "--profiles-dir",
            help="Where LNT kept profile files (default: the instance's data/profiles).",
        )
        parser.add_argument(
            "--chunk", type=int, default=500, help="Runs written per transaction (default 500)."
        )
        parser.add_argument(
            "--no-detect",
            action="store_true",
            help="Do not enqueue this site's change detection over the imported machines.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")
        try:
            opened = lnt_source_open(options["source"], profiles_dir=options["profiles_dir"])
        except LntSourceError as exc:
            raise CommandError(str(exc)) from exc
        try:
            total = lnt_run_total(opened.source)
            with tqdm(total=total, desc="runs", unit="run", file=self.stderr) as bar:
                summary = lnt_db_import(
                    opened.source,
                    source_key=opened.key,
                    profiles_dir=opened.profiles_dir,
                    schemas_dir=opened.schemas_dir,
                    chunk_runs=options["chunk"],
                    progress=bar.update,
                )
        except LntImportError as exc:
            raise CommandError(exc.message) from exc
        finally:
            opened.close()
        for warning in summary.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(summary.line())
        if summary.machine_ids and not options["no_detect"]:
            self._enqueue_detection(sorted(summary.machine_ids))

    def _enqueue_detection(self, machine_ids: list[int]) -> None:
        from perf.tasks import detect_machine_task

        try:
            for machine_id in machine_ids:
                detect_machine_task.delay(machine_id)
        except Exception as exc:  # broker down: say how to run it by hand
            self.stderr.write(
                f"could not enqueue change detection ({exc}); run "
                "`manage.py detect_changes` to detect changes over the imported history"
            )
            return
        self.stdout.write(f"Change detection enqueued for {len(machine_ids)} machines")
