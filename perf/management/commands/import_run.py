import glob
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from perf.formats import FormatError
from perf.services.ingest import (
    IMPORT_RUN_SETTINGS,
    MACHINE_POLICIES,
    MERGE_POLICIES,
    ImportRefused,
    bulk_session,
    report_import,
)
from perf.tasks import enqueue_detection


def expand_paths(patterns: list[str]) -> tuple[list[Path], list[str]]:
    """Files named, found under directories (*.json) or matched by globs; and misses."""
    files: list[Path] = []
    missing: list[str] = []
    for pattern in patterns:
        matches = [Path(p) for p in sorted(glob.glob(pattern, recursive=True))] or [Path(pattern)]
        for path in matches:
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
            elif path.is_file():
                files.append(path)
            else:
                missing.append(pattern)  # a missing file or a glob that matched nothing
    return files, missing


class Command(BaseCommand):
    help = "Import LNT report files (files, directories, globs) as runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="Report files, directories or globs.")
        parser.add_argument(
            "--suite", default=None, help="Test suite (default: the v1 tag, else nts)."
        )
        parser.add_argument(
            "--merge",
            default="reject",
            choices=MERGE_POLICIES,
            help="What to do when the machine already has a run at that order.",
        )
        parser.add_argument(
            "--select-machine",
            default="match",
            choices=MACHINE_POLICIES,
            help="What to do when the machine exists with different fields.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and roll back; store nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        files, missing = expand_paths(options["paths"])
        failures = [f"{m}: no such file or directory, and no file matches it" for m in missing]
        runs = tests = samples = 0
        progress = tqdm(
            files, desc="importing", unit="file", file=self.stderr, disable=len(files) < 10
        )
        with bulk_session(IMPORT_RUN_SETTINGS):  # each file still its own transaction
            for path in progress:
                try:
                    result = report_import(
                        path.read_bytes(),
                        suite=options["suite"],
                        merge=options["merge"],
                        select_machine=options["select_machine"],
                        source="import_run",
                        source_detail=str(path),
                        dry_run=options["dry_run"],
                        enqueue=enqueue_detection,
                    )
                except (FormatError, ImportRefused) as exc:
                    failures.append(f"{path}: {exc.message}")
                    continue
                except OSError as exc:
                    failures.append(f"{path}: {exc.strerror}")
                    continue
                if result.already_stored:  # the identical report was imported before
                    self.stderr.write(f"{path}: already stored as run {result.run_id}")
                    continue
                runs += 1
                tests += result.added_tests
                samples += result.added_samples
                for warning in result.warnings:
                    self.stderr.write(f"{path}: warning: {warning}")
        verb = "Validated" if options["dry_run"] else "Imported"
        inputs = len(files) + len(missing)
        self.stdout.write(
            f"{verb} {runs} runs ({tests} new tests, {samples} samples) from "
            f"{len(files)} files in {time.monotonic() - started:.2f}s; "
            f"{len(failures)} of {inputs} inputs failed"
        )
        if failures:
            for failure in failures:
                self.stderr.write(f"failed: {failure}")
            raise CommandError(f"{len(failures)} file(s) failed: see the lines above")
