"""Does a long history slow a submission down?  The embedded default, before/after.

Times a --tests-test submission (through the submitRun view, as `lnt submit` sends it)
to a machine with no history and to one with --history runs of detected history, and
prints the medians and their ratio (long history / fresh), for each mode:

- ``eager``: no broker, tasks run inside the request (the embedded default before H10);
- ``embedded``: `make run`'s filesystem broker (the request only publishes the task;
  no worker consumes meanwhile, so the figure is what the submitter waits for).

Each mode runs in a child process on its own SQLite file in a temporary directory.

    nice -n 10 python bench/submit_history.py [--tests 1000] [--history 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "eager": {"CELERY_BROKER_URL": "", "CELERY_TASK_ALWAYS_EAGER": "1"},
    "embedded": {"CELERY_BROKER_URL": "filesystem://", "CELERY_TASK_ALWAYS_EAGER": "0"},
}


def report(machine: str, revision: int, tests: int) -> str:
    return json.dumps(
        {
            "format_version": "2",
            "machine": {"name": machine, "hardware": "x86_64", "os": "linux"},
            "run": {
                "start_time": "2026-01-01T00:00:00",
                "end_time": "2026-01-01T01:00:00",
                "llvm_project_revision": str(revision),
            },
            "tests": [
                {
                    "name": f"bench/test{t:05d}",
                    "execution_time": [1.0 + t / 1000 + 0.001 * (revision % 3)] * 3,
                }
                for t in range(tests)
            ],
        }
    )


def child(tests: int, history: int, repeat: int, setup: bool) -> None:
    """``setup``: migrate and load the detected history; else time one mode and print
    a JSON line with the medians."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from perf.models import Run
    from perf.services.detection import machine_detect_all
    from perf.services.ingest import report_import
    from perf.services.tokens import token_create

    if setup:
        call_command("migrate", verbosity=0)
        for revision in range(1, history + 1):
            report_import(report("old-box", revision, tests), suite="nts", detect=False)
        old = report_import(report("old-box", history + 1, tests), suite="nts", detect=False)
        machine_detect_all(old.machine_id)
        Run.objects.update(detection_state=Run.DONE)  # the history is detected
        return
    client = Client(HTTP_AUTHTOKEN=token_create("bench")[1])

    def submit(doc: str) -> float:
        body = urlencode({"input_data": doc, "commit": "1", "merge": "reject"})
        started = time.perf_counter()
        response = client.post(
            "/db_default/v4/nts/submitRun", body, content_type="application/x-www-form-urlencoded"
        )
        took = time.perf_counter() - started
        assert response.status_code == 200, response.content[:300]
        return took

    submit(report("warm-up-box", 1, tests))  # first-request costs (imports, caches)
    fresh = [submit(report(f"fresh-box-{i}", 1, tests)) for i in range(repeat)]
    long = [submit(report("old-box", history + 2 + i, tests)) for i in range(repeat)]
    print(json.dumps({"fresh": statistics.median(fresh), "history": statistics.median(long)}))  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests per run")
    parser.add_argument("--history", type=int, default=100, help="runs of history")
    parser.add_argument("--repeat", type=int, default=5, help="timed submissions per case")
    parser.add_argument("--child", choices=["setup", "time"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.tests, args.history, args.repeat, setup=args.child == "setup")
        return
    print(f"{args.tests}-test submissions, {args.history} runs of history, median of {args.repeat}")  # noqa: T201
    with tempfile.TemporaryDirectory() as tmp:
        history_db = Path(tmp, "history.sqlite3")
        _child(["setup"], {**MODES["eager"], "DATABASE_URL": f"sqlite:///{history_db}"}, tmp)
        for mode, env in MODES.items():
            db = Path(tmp, f"{mode}.sqlite3")
            shutil.copyfile(history_db, db)
            out = _child(["time"], {**env, "DATABASE_URL": f"sqlite:///{db}"}, tmp)
            row = json.loads(out.strip().splitlines()[-1])
            fresh, history = row["fresh"] * 1000, row["history"] * 1000
            print(  # noqa: T201
                f"{mode:9s} fresh {fresh:7.0f} ms   history {history:7.0f} ms   "
                f"ratio {history / fresh:.2f}x"
            )


def _child(args: list[str], env: dict[str, str], tmp: str) -> str:
    run_env = {**os.environ, **env, "PERF_VAR_DIR": tmp, "PERF_DEBUG_TOOLBAR": "0"}
    return subprocess.run(  # noqa: S603 - this script, in a child
        [sys.executable, __file__, *sys.argv[1:], "--child", *args],
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


if __name__ == "__main__":
    main()
