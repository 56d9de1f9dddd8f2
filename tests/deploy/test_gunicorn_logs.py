"""gunicorn's own log lines (deploy/gunicorn.conf.py) never carry a token."""

import runpy
from pathlib import Path

from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "lnt_" + "q" * 43


def test_a_worker_timeout_error_line_and_an_access_line_are_written_without_the_token(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PERF_VAR_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", conf["access_log_format"])
    logger = conf["RedactingLogger"](cfg)
    try:
        raise SystemExit(1)  # what a worker sees when the arbiter aborts it on timeout
    except SystemExit:
        # gunicorn/workers/base.py handle_error, on a request that timed out:
        logger.exception("Error handling request %s", f"/submitRun?token={TOKEN}")
    logger.error("WORKER TIMEOUT (pid:%s) %s", 1234, f"/api/x?token={TOKEN}")
    for handler in logger.error_log.handlers + logger.access_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /submitRun?token=[redacted]" in text
    assert TOKEN not in text
    assert "%(U)s" in conf["access_log_format"]  # the path without its query string
    assert "%(r)s" not in conf["access_log_format"] and "%(q)s" not in conf["access_log_format"]


def test_the_master_freezes_its_imports_before_each_fork():
    import gc

    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        conf["pre_fork"](None, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
