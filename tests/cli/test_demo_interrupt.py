"""Issue 18 item 6: Ctrl-C ends `make demo` quietly. The demo takes the terminal's
foreground for itself, so the Ctrl-C reaches the demo alone (not make, which would print
`make: *** ... Interrupt`), and the Makefile's recipe takes the demo's "interrupted" exit
code 130 as a normal stop. Driven through a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys, time
from monitor.cli.demo import foreground
with foreground():
    try:
        print("up", flush=True)
        time.sleep(20)
    except KeyboardInterrupt:
        sys.exit(130)
"""


def demo_recipe() -> str:
    """The `demo` recipe of the Makefile, with `$(BIN)/vakt demo` replaced by CHILD."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("demo:")))
    recipe = lines[start + 1]
    assert "$(BIN)/vakt demo" in recipe
    return recipe.replace("$(BIN)/vakt demo", f"{sys.executable} child.py")


def read_until(fd: int, done: bytes, within: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + within
    while done not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_problem_6_ctrl_c_ends_make_demo_without_an_error_from_make(tmp_path: Path) -> None:
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "Makefile").write_text(f"demo:\n{demo_recipe()}\n")
    pid, fd = pty.fork()
    if pid == 0:  # the child: make in the pseudo-terminal, as a person runs it
        os.chdir(tmp_path)
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execvp("make", ["make", "-s", "demo"])
    try:
        assert b"up" in read_until(fd, b"up", 30)
        os.write(fd, b"\x03")  # Ctrl-C, as the terminal sends it
        after = read_until(fd, b"\x00", 10)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"make:" not in after
