"""What the daemon's process imports: the config loader (pydantic schema, YAML composer,
PyYAML itself) and Alembic (with Mako and Pygments) stay in the child processes and
commands that need them, and sentry-sdk is imported only when a DSN turns it on: out of
`vakt run`'s resident memory (docs/performance.md, issue
14)."""

from __future__ import annotations

import subprocess
import sys

KEPT_OUT = (
    "monitor.config.loader",
    "monitor.config.schema",
    "monitor.config.source",
    "yaml",
    "alembic",
    "sentry_sdk",
)


def _imported(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_daemons_modules_leave_the_loader_and_alembic_out() -> None:
    modules = _imported("import monitor.app, monitor.cli.run")
    assert "monitor.app" in modules
    assert not modules & set(KEPT_OUT)


def test_loading_a_config_in_process_still_imports_the_loader() -> None:
    """The other side: the lazy name works (and would fail this test if it imported
    nothing, e.g. a typo in the package's `__getattr__`)."""
    modules = _imported("from monitor.config import load_config; assert callable(load_config)")
    assert "monitor.config.schema" in modules
