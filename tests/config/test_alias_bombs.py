"""Issue 16 problem 5: a YAML alias bomb is refused with its line, without eating the host.

Each bomb is loaded in a child process under a 512 MB address-space limit, so the unfixed
reader (which expands every alias) fails by running out of memory instead of taking the
machine's; the fixed one refuses the file long before that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LEVELS = 9  # 10**9 values once every alias is expanded


def anchors_bomb() -> str:
    lines = ["vakt: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, LEVELS):
        lines.append(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]")
    lines.append(f"customers: *a{LEVELS - 1}")
    return "\n".join(lines) + "\n"


def merge_keys_bomb() -> str:
    lines = ["vakt: 1", "m0: &m0 {" + ", ".join(f"k{i}: x" for i in range(10)) + "}"]
    for n in range(1, LEVELS):
        items = ", ".join(f"k{i}: {{<<: *m{n - 1}}}" for i in range(10))
        lines.append(f"m{n}: &m{n} {{{items}}}")
    lines.append(f"customers: {{<<: *m{LEVELS - 1}}}")
    return "\n".join(lines) + "\n"


CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 29, 1 << 29))
from monitor.config import ConfigError, load_config
try:
    load_config(sys.argv[1], env={})
except ConfigError as exc:
    print(json.dumps([[i.line, i.message] for i in exc.issues]))
else:
    print(json.dumps(None))
"""


def refused(path: Path) -> list[tuple[int | None, str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    issues = json.loads(done.stdout)
    assert issues is not None, "the bomb was accepted"
    return [(line, message) for line, message in issues]


@pytest.mark.parametrize("text", [anchors_bomb(), merge_keys_bomb()], ids=["anchors", "merge"])
def test_problem_5_an_alias_bomb_is_a_config_error_with_a_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    issues = refused(path)
    assert len(issues) == 1
    line, message = issues[0]
    assert line is not None
    assert 2 <= line <= LEVELS + 2
    assert "alias" in message
