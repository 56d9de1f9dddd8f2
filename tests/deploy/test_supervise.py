"""deploy/supervise.sh keeps the Celery worker and beat of `make prod` running: a
process that dies is started again (with a new pid in its pid file), and TERM stops
the process and the supervisor, leaving no pid file.  Needs no services."""

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = ROOT / "deploy" / "supervise.sh"


def pid_in(pidfile: Path, other_than: int = 0, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        # Its own group yet: the script writes the pid as it forks, before the child's
        # setsid, and a group kill in between finds no such group.
        if pid and pid != other_than and group_of(pid) == pid:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"no process other than {other_than} in {pidfile}")


def group_of(pid: int) -> int:
    """The process group of ``pid``, 0 when it is gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return 0


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_process_is_started_again_and_term_stops_both(tmp_path):
    pidfile = tmp_path / "sleeper.pid"
    supervisor = subprocess.Popen(  # noqa: S603 - our own script
        [str(SUPERVISE), str(pidfile), "sleep", "300"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        first = pid_in(pidfile)
        os.killpg(first, signal.SIGKILL)  # in a session of its own, as the worker's pool
        second = pid_in(pidfile, other_than=first)
        assert running(second)
        assert not running(first)

        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=20)
        _, stderr = supervisor.communicate(timeout=5)
        assert not running(second)
        assert not pidfile.exists()
        assert "sleep ended (status 137); starting it again in 1 s" in stderr
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait(timeout=5)
        if supervisor.stderr is not None:
            supervisor.stderr.close()  # a failed run must not leave its pipe to the GC


def test_a_process_that_keeps_dying_young_is_started_again_later_each_time(tmp_path):
    pidfile = tmp_path / "false.pid"
    supervisor = subprocess.Popen(  # noqa: S603 - our own script
        [str(SUPERVISE), str(pidfile), "false"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(4)  # starts at 0, 1 and 3 s: the back-off doubles
    supervisor.send_signal(signal.SIGTERM)
    supervisor.wait(timeout=20)
    _, stderr = supervisor.communicate(timeout=5)
    delays = [line.rsplit(" in ", 1)[1] for line in stderr.splitlines() if "starting" in line]
    assert delays[:2] == ["1 s", "2 s"]
