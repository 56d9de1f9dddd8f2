"""A private PostgreSQL cluster that a test may stop, restart, freeze or replicate.

The shared PostgreSQL on 127.0.0.1:5432 must never be stopped (other tests and people
use it), so fault tests run the site on a cluster of their own::

    with Cluster.create(scratch_dir(), free_port_in(range(15432, 15440))) as pg:
        pg.create_database("lntsite")
        url = pg.url("lntsite")
        pg.freeze(); ...; pg.thaw()
        pg.stop(); ...; pg.start()

The data directory is made by ``initdb`` as the ``postgres`` OS user (PostgreSQL refuses
to run as root; ``runuser`` when we are root), with trust authentication on 127.0.0.1
only, no Unix socket, and durability off (``fsync``, ``full_page_writes``): a crash of
the machine loses the cluster, which a test throws away anyway.  (Commits stay
synchronous, so a committed row's WAL is written and a replica can be waited for.)

The cluster's directory must not be under pytest's ``tmp_path``: each pytest session
that starts (another job's, on a shared machine) resets /tmp/pytest-of-<user> to mode
0700, which locks the postgres OS user out of a running cluster.  ``scratch_dir()``
gives a directory of its own under /tmp; ``destroy()`` removes it.

Every wait is bounded (``timeout`` arguments, in seconds).  Used as a context manager,
the cluster (and any replica made from it) is destroyed on exit, so nothing outlives
the test.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

OS_USER = "postgres"


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL's ``name`` binary (Debian's layout)."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not found:
        raise RuntimeError(f"no /usr/lib/postgresql/*/bin/{name}: is PostgreSQL installed?")
    return found[-1]


def _as_postgres(args: list[str], *, timeout: float, cwd: Path | None = None) -> str:
    """Run ``args`` as the postgres OS user; its output, or RuntimeError with it."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", OS_USER, "--", *args]
    try:
        result = subprocess.run(  # noqa: S603 - PostgreSQL's own programs
            args,
            cwd=cwd or "/",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(args)}: no answer in {timeout}s") from exc
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}"
        )
    return result.stdout


def scratch_dir(prefix: str = "pgcluster-") -> Path:
    """A new directory under the system's temporary directory for a cluster (see above)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def _reachable(base_dir: Path) -> None:
    """Let the postgres OS user reach ``base_dir``: traversal (o+x, not listing) on
    every ancestor that lacks it, as pytest's 0700 temporary directories do."""
    if os.geteuid() != 0:
        return
    for parent in [base_dir, *base_dir.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _accepts(port: int) -> bool:
    """True once the TCP port accepts connections (not yet that PostgreSQL answers)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _bindable(port: int) -> bool:
    """True if a server could bind the port now, as PostgreSQL does (SO_REUSEADDR):
    not when a client connection holds it as its own end (a port of the ephemeral
    range, 32768-60999 here, can be; the CI's ranges lie below it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_in(ports: range) -> int:
    """The first port of ``ports`` that nothing listens on and nothing holds (each
    helper and test job is given a range of its own)."""
    for port in ports:
        if not _accepts(port) and _bindable(port):
            return port
    raise RuntimeError(f"every port in {ports.start}-{ports.stop - 1} is taken")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie does not: in a container nobody may reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; PostgreSQL's backends and helpers)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process went away while we looked
        if int(fields[1]) == pid:
            kids.append(int(entry.name))
    return kids


class Cluster:
    """One PostgreSQL cluster: a data directory under ``base_dir`` and a port on 127.0.0.1."""

    def __init__(self, base_dir: Path, port: int) -> None:
        self.base_dir = base_dir
        self.port = port
        self.data = base_dir / "data"
        self.log = base_dir / "postgres.log"
        self.replicas: list[Cluster] = []
        self.frozen: list[int] = []
        self.primary: Cluster | None = None  # set on a replica

    # -- making one ------------------------------------------------------------------

    @classmethod
    def create(cls, base_dir: Path, port: int, *, timeout: float = 60) -> Cluster:
        """initdb a new cluster in ``base_dir`` (made if missing) and start it on ``port``."""
        cluster = cls._prepare(base_dir, port)
        try:
            cluster._initdb(timeout)
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def _initdb(self, timeout: float) -> None:
        _as_postgres(
            [
                pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            timeout=timeout,
        )
        self._configure(
            {
                "fsync": "off",
                "full_page_writes": "off",
                "wal_level": "replica",
                "max_wal_senders": "4",
                "hot_standby": "on",
            }
        )
        (self.data / "pg_hba.conf").write_text(
            "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
        )
        self.start(timeout=timeout)

    @classmethod
    def _prepare(cls, base_dir: Path, port: int) -> Cluster:
        if _accepts(port):
            raise RuntimeError(f"port {port} is taken on 127.0.0.1")
        base_dir.mkdir(parents=True, exist_ok=True)
        _reachable(base_dir)
        cluster = cls(base_dir, port)
        if cluster.data.exists():
            raise RuntimeError(f"{cluster.data} exists: destroy() the old cluster first")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(OS_USER)
            os.chown(base_dir, pw.pw_uid, pw.pw_gid)
        return cluster

    def _configure(self, extra: dict[str, str]) -> None:
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "max_connections": "100",
            "shared_buffers": "32MB",
            **extra,
        }
        # postgresql.auto.conf is read last: these win over postgresql.conf (and over
        # what pg_basebackup copied from the primary).
        lines = "".join(f"{k} = {v}\n" for k, v in settings.items())
        with open(self.data / "postgresql.auto.conf", "a") as f:
            f.write(lines)

    # -- running it ------------------------------------------------------------------

    def _pg_ctl(self, *args: str, timeout: float) -> str:
        return _as_postgres(
            [pg_bin("pg_ctl"), "-D", str(self.data), "-t", str(int(timeout)), *args],
            timeout=timeout + 10,
        )

    def start(self, *, timeout: float = 60) -> None:
        """Start the postmaster and wait (at most ``timeout`` s) until it takes connections."""
        try:
            self._pg_ctl("start", "-w", "-l", str(self.log), timeout=timeout)
        except RuntimeError as exc:
            log = self.log.read_text()[-2000:] if self.log.exists() else "(no log)"
            raise RuntimeError(f"{exc}\n--- {self.log}:\n{log}") from exc

    def stop(self, mode: str = "fast", *, timeout: float = 60) -> None:
        """Stop the cluster: ``fast`` (roll back sessions), ``smart`` or ``immediate``
        (a crash: recovery at the next start).  A frozen cluster is thawed first."""
        self.thaw()
        if self.pid() is None:
            return
        self._pg_ctl("stop", "-w", "-m", mode, timeout=timeout)

    def restart(self, *, timeout: float = 60) -> None:
        self.stop(timeout=timeout)
        self.start(timeout=timeout)

    def pid(self) -> int | None:
        """The postmaster's pid, or None when it is not running."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections are accepted by the
        kernel and never answered, open sessions hang mid-query (a hung host)."""
        pid = self.pid()
        if pid is None:
            raise RuntimeError("the cluster is not running")
        os.kill(pid, signal.SIGSTOP)  # first: it forks no new backend from here on
        self.frozen = [pid]
        for child in _children(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGSTOP)
                self.frozen.append(child)

    def thaw(self) -> None:
        """SIGCONT what freeze() stopped (children first, the postmaster last)."""
        for pid in reversed(self.frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres", *, timeout: float = 30) -> str:
        """Run ``sql`` with psql; its unaligned, tuples-only output."""
        args = ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", *self._client_args(), "-d", dbname]
        return _as_postgres([pg_bin("psql"), *args, "-c", sql], timeout=timeout).strip()

    def _client_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # -- replicas --------------------------------------------------------------------

    def make_replica(self, base_dir: Path, port: int, *, timeout: float = 120) -> Cluster:
        """A streaming hot standby of this cluster (pg_basebackup -R), started on ``port``
        and connected to this primary; destroyed with it."""
        replica = self._prepare(base_dir, port)
        self.replicas.append(replica)  # destroyed with this cluster from here on
        replica.primary = self
        backup = ["-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"]
        _as_postgres([pg_bin("pg_basebackup"), *self._client_args(), *backup], timeout=timeout)
        replica._configure({})
        replica.start(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (
                self.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                != "0"
            ):
                return replica
            time.sleep(0.2)
        raise RuntimeError(f"the replica on port {port} did not start streaming in {timeout}s")

    def wait_caught_up(self, timeout: float = 30) -> None:
        """Wait (at most ``timeout`` s) until this replica has replayed everything its
        primary had written when the call began."""
        if self.primary is None:
            raise RuntimeError("not a replica")
        target = self.primary.psql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replayed = self.psql(
                f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"  # noqa: S608 - an LSN we read
            )
            if replayed == "t":
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"the replica on port {self.port} did not catch up to {target} in {timeout}s"
        )

    # -- throwing it away ------------------------------------------------------------

    def destroy(self) -> None:
        """Stop (immediately) this cluster and its replicas and delete their files."""
        for replica in self.replicas:
            replica.destroy()
        self.replicas = []
        self.thaw()
        if self.pid() is not None:
            try:
                self._pg_ctl("stop", "-w", "-m", "immediate", timeout=30)
            except RuntimeError:
                pid = self.pid()
                if pid is not None:
                    for victim in [pid, *_children(pid)]:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(victim, signal.SIGKILL)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()
