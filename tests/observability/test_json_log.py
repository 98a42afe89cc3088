"""Issue 16 item 7: every line the daemon's log gets is JSON, whoever logged it.

A child process sets up logging as `vakt run` does and then logs through loggers Vakt does
not own (APScheduler's "skipped" warning, an aiohttp handler traceback, a Python warning);
its whole stderr must parse as JSON lines.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import logging, warnings
from monitor.app import configure_logging
configure_logging("info")
logging.getLogger("apscheduler.executors.default").warning(
    "Run time of job %r was missed by %s", "engine.tick", "0:00:01")
try:
    raise RuntimeError("handler bug")
except RuntimeError:
    logging.getLogger("aiohttp.server").exception("Error handling request")
warnings.warn("something old", DeprecationWarning, stacklevel=1)
warnings.warn("something odd", UserWarning, stacklevel=1)
logging.getLogger("monitor.app").info("vakt.started", extra={"checks": 1})
"""


def test_problem_7_every_stderr_line_of_the_daemon_log_is_json() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stderr.splitlines()
    entries = [json.loads(line) for line in lines]  # raises on a plain-text line
    by_logger = {entry["logger"]: entry for entry in entries}
    assert by_logger["apscheduler.executors.default"]["level"] == "warning"
    assert "RuntimeError: handler bug" in by_logger["aiohttp.server"]["exception"]
    assert by_logger["py.warnings"]["level"] == "warning"
    assert by_logger["monitor.app"]["event"] == "vakt.started"
