"""bench/load.py on four layouts: 1 or 2 web nodes and workers, with or without a replica.

Makes a private PostgreSQL primary and a streaming replica of it (tests/pgcluster.py,
pg_basebackup -R; ports --pg-port and the next free one), then for each layout a fresh
database, ``deploy/prod.sh start`` with that layout's environment, the load
(default 16 submitters of 1,000-test reports and 32 readers for 60 s), and
``deploy/prod.sh stop``; at the end one line of figures per layout.  Every layout
runs on the same primary, so only the layout differs between rows::

    nice -n 10 .venv/bin/python bench/scaleout.py                  # 4 x 60 s
    nice -n 10 .venv/bin/python bench/scaleout.py --seconds 10     # a quick look

Run as root or as a user that may ``runuser -u postgres`` (initdb refuses root); the
stack's ports come from PERF_HTTP_PORT / PERF_HTTPS_PORT / PERF_NODE_PORT_BASE as for
``make prod``, its files go under --var.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import load  # noqa: E402 - bench/load.py

from tests.pgcluster import Cluster, free_port_in, scratch_dir  # noqa: E402

LAYOUTS = [  # (web nodes, workers, replica)
    (1, 1, False),
    (1, 1, True),
    (2, 2, False),
    (2, 2, True),
]
COLUMNS = [
    ("read p50/p95 ms", lambda f: f"{f['read_p50_ms']:.0f} / {f['read_p95_ms']:.0f}"),
    ("submit p50/p95 ms", lambda f: f"{f['submit_p50_ms']:.0f} / {f['submit_p95_ms']:.0f}"),
    ("reads", lambda f: str(f["reads"])),
    ("5xx", lambda f: str(f["server_errors"])),
    ("stored/accepted", lambda f: f"{f['stored']}/{f['accepted']}"),
    ("detected after s", lambda f: f"{f['detection_done_after_s']}"),
    ("peak conn/bound", lambda f: f"{f['peak_connections']}/{f['connection_bound']}"),
    (
        "replica peak/bound",
        lambda f: (
            f"{f['replica_peak_connections']}/{f['replica_connection_bound']}"
            if "replica_peak_connections" in f
            else "-"
        ),
    ),
    ("stack CPU cores busy", lambda f: str(f["cpu_cores_busy"])),
    (
        "CPU s web/submit/celery/postgres",
        lambda f: "/".join(
            f"{f['cpu_seconds'][k]:.0f}" for k in ("web", "submit", "celery", "postgres")
        ),
    ),
    ("load avg before -> after", lambda f: f["load_average"]),
]


def prod(action: str, env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "deploy" / "prod.sh"), action], cwd=ROOT, env=env, check=True, timeout=300
    )


def one_layout(
    primary: Cluster, replica: Cluster, index: int, layout: tuple[int, int, bool], args: Any
) -> dict[str, Any]:
    nodes, workers, with_replica = layout
    db = primary.create_database(f"lntsite_scaleout_{index}")
    env = {
        **os.environ,
        "PY": sys.executable,
        "PERF_VAR_DIR": str(Path(args.var) / f"layout{index}"),
        "STATIC_ROOT": str(Path(args.var) / "static"),
        "DATABASE_URL": db,
        "PERF_WEB_NODES": str(nodes),
        "PERF_WORKERS": str(workers),
    }
    env.pop("DATABASE_REPLICA_URL", None)
    if with_replica:
        env["DATABASE_REPLICA_URL"] = replica.url(db.rsplit("/", 1)[1])
    prod("start", env)
    saved = dict(os.environ)
    os.environ.update(env)  # load.py reads the stack's settings from the environment
    if not with_replica:
        os.environ.pop("DATABASE_REPLICA_URL", None)
    try:
        before = os.getloadavg()[0]
        figures = load.run(args)
        return {**figures, "load_average": f"{before:.1f} -> {os.getloadavg()[0]:.1f}"}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        prod("stop", env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-port", type=int, default=15440, help="first port to try")
    parser.add_argument("--var", default="", help="the stacks' var/ directories (else a temp)")
    parser.add_argument("--only", type=int, nargs="*", help="layout numbers (1-4) to run")
    own, rest = parser.parse_known_args()
    args = load.parse_args(rest)
    if not own.var:
        own.var = tempfile.mkdtemp(prefix="lntsite-scaleout-")
        Path(own.var).chmod(0o755)  # nginx's workers (www-data) reach the sockets
    args.var = own.var
    ports = range(own.pg_port, own.pg_port + 10)
    chosen = [(i, layout) for i, layout in enumerate(LAYOUTS, 1) if not own.only or i in own.only]
    results = []
    with Cluster.create(scratch_dir(), free_port_in(ports)) as primary:
        replica = primary.make_replica(scratch_dir(), free_port_in(ports))
        nonce = args.nonce
        args.pg_pid = [primary.pid(), replica.pid()]
        for index, layout in chosen:
            args.nonce = f"{nonce}-{index}"
            figures = one_layout(primary, replica, index, layout, args)
            results.append((layout, figures))
            print(f"layout {layout}: {figures}", flush=True)  # noqa: T201
    print(  # noqa: T201
        f"\n{args.submitters} submitters x {args.tests} tests, {args.readers} readers, "
        f"{args.seconds:.0f} s per layout"
    )
    header = ["nodes+workers", "replica"] + [name for name, _ in COLUMNS]
    print(" | ".join(header))  # noqa: T201
    for (nodes, workers, with_replica), figures in results:
        cells = [f"{nodes}+{workers}", "yes" if with_replica else "no"]
        print(" | ".join(cells + [show(figures) for _, show in COLUMNS]))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
