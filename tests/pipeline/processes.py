"""The site as real processes for pipeline tests: a web server and Celery workers on
the test database, each logging under the test's temporary directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def kill_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group ``proc`` leads (it and its children)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass  # the whole group is gone already


class Stack:
    """The web server and workers as processes, each with its log under ``tmp``."""

    def __init__(self, tmp: Path, broker: str) -> None:
        db = connection.settings_dict
        self.tmp = tmp
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DJANGO_SETTINGS_MODULE": "lntsite.settings",
            "PERF_DEBUG_TOOLBAR": "0",
            "PERF_VAR_DIR": str(tmp),
        }
        self.procs: list[subprocess.Popen] = []
        self.base = ""

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        # Its own process group: a worker with --beat runs beat as a child process,
        # which must go when the worker is killed (see kill_group).
        proc = subprocess.Popen(  # noqa: S603 - our own programs
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def web(self) -> None:
        port = free_port()
        self.start(
            "web", [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        )
        self.base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2):  # noqa: S310
                    return True
            except OSError as exc:
                return getattr(exc, "code", None) is not None  # an HTTP answer, even 503

        wait_for(up, 60, "the web server")

    def worker(self) -> subprocess.Popen:
        """A worker with the sweep (beat) inside it, as `make run` starts one."""
        return self.start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "lntsite",
                "worker",
                "--beat",
                "--schedule",
                str(self.tmp / "beat-schedule"),
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
        )

    def stop(self) -> None:
        for p in self.procs:
            kill_group(p, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(p, signal.SIGKILL)
                p.wait(timeout=10)
            kill_group(p, signal.SIGKILL)  # what the process left behind (beat)
        log = self.tmp / "worker.log"
        if log.exists():  # a stack may have had no worker
            print(log.read_text()[-3000:])  # noqa: T201 - shown on failure


def purge(env: dict) -> None:
    subprocess.run(  # noqa: S603 - our own celery app; start from an empty queue
        [sys.executable, "-m", "celery", "-A", "lntsite", "purge", "-f"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
