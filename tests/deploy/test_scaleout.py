"""Two web nodes and two Celery workers behind one nginx, as on separate machines.

deploy/prod.sh with PERF_WEB_NODES=2 PERF_WORKERS=2 starts two gunicorn instances per
pool on TCP ports (nginx upstream members) and two workers under their own node names;
bench/load.py puts a short load on it.  Both instances of each pool answer, both
workers detect, every run is stored and detected exactly once, and the peak number of
connections stays within the bound computed for this layout.  PostgreSQL + Redis only.
"""

import socket
import sys
from pathlib import Path

import pytest

from perf.models import Run
from tests.deploy.test_stack import pytestmark, stack  # noqa: F401 - the fixture, reused
from tests.factories import make_token

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402 - bench/load.py


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for base in range(20000, 60000, 97):
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError("no run of free ports")


@pytest.fixture
def two_by_two(monkeypatch, request):
    monkeypatch.setenv("PERF_WEB_NODES", "2")
    monkeypatch.setenv("PERF_WORKERS", "2")
    monkeypatch.setenv("PERF_NODE_PORT_BASE", str(free_port_run(4)))
    return request.getfixturevalue("stack")


def log_lines(logs: Path, name: str, needle: str = "") -> int:
    return sum(needle in line for line in (logs / name).read_text().splitlines())


def test_two_web_nodes_and_two_workers_share_the_load_and_store_each_run_once(two_by_two):
    args = load.parse_args(
        [
            "--seconds", "10", "--submitters", "4", "--readers", "8", "--tests", "200",
            "--detect-wait", "60", "--token", make_token("scale-bot"),
            "--http-port", two_by_two["PERF_HTTP_PORT"],
            "--https-port", two_by_two["PERF_HTTPS_PORT"],
        ]
    )  # fmt: skip
    figures = load.run(args)

    assert figures["server_errors"] == 0, figures["server_error_examples"]
    assert figures["submissions"] > 0 and figures["reads"] > 0, figures
    assert figures["missing"] == 0 and figures["duplicated"] == 0, figures
    assert figures["stored"] == figures["accepted"], figures
    assert figures["detection_pending_after_wait"] == 0, figures
    assert figures["connection_formula"] == "2 x (3 x 4 + 2) + 2 x 2 + 1"
    assert figures["peak_connections"] <= figures["connection_bound"] == 33, figures
    runs = Run.objects.filter(machine__name__startswith=f"load-{args.nonce}-")
    assert runs.count() == figures["accepted"]
    # Claimed once each: no run was detected by both workers.
    assert set(runs.values_list("detection_attempts", flat=True)) == {1}

    logs = Path(two_by_two["PERF_VAR_DIR"]) / "log"
    for name in ("web-1", "web-2", "submit-1", "submit-2"):
        assert log_lines(logs, f"gunicorn-{name}-access.log") > 0, f"{name} served nothing"
    for worker in ("celery-worker-1.log", "celery-worker-2.log"):
        assert log_lines(logs, worker, "detect_run_task") > 0, f"{worker} detected nothing"
        assert log_lines(logs, worker, "succeeded") > 0
    assert log_lines(logs, "celery-worker-1.log", "lntsite@node1.") > 0  # its own node name
    assert not (logs / "celery-beat-2.log").exists()  # one beat
