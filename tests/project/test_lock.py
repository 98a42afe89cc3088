"""Problem 0 of "Delivery you can trust": installs are reproducible.

A fresh clone once went red overnight because nothing pinned the versions the suite had
been proven with (PyYAML 6.0.4 changed an error). Every direct and transitive dependency
is now locked (uv.lock, exported to requirements/*.txt with hashes), `make` and CI install
from those files only, and pyproject.toml keeps ranges for people who install the package.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def _pins(name: str) -> dict[str, str]:
    """package (normalised) -> version, from one exported requirements file; every pin
    must carry at least one hash."""
    text = (ROOT / "requirements" / name).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match is None:
            continue
        assert "--hash=sha256:" in block, f"{name}: {match.group(1)} has no hash"
        pins[_norm(match.group(1))] = match.group(2)
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]  # type: ignore[no-any-return]


def test_problem_0_every_dependency_is_pinned_with_hashes() -> None:
    project = _project()
    runtime = _pins("runtime.txt")
    test = _pins("test.txt")
    direct = [Requirement(r) for r in project["dependencies"]]  # type: ignore[attr-defined]
    extras = [Requirement(r) for r in project["optional-dependencies"]["test"]]  # type: ignore[index]
    for requirement in direct:
        assert _norm(requirement.name) in runtime, f"{requirement.name} is not locked"
        # the lock agrees with the honest range pyproject.toml offers to pip users
        assert requirement.specifier.contains(runtime[_norm(requirement.name)], prereleases=True)
    for requirement in extras:
        assert _norm(requirement.name) in test, f"{requirement.name} is not locked"
    # the test lock is the runtime lock plus the tools, at the same versions
    assert {k: test[k] for k in runtime} == runtime
    assert "pytest" not in runtime, "make demo installs only what Vakt runs"


def test_problem_0_make_and_ci_install_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert installs
    for line in installs:
        if "uv==" in line:  # `make lock` installs the locking tool itself
            continue
        assert "--require-hashes" in line or "--no-deps" in line, line
    assert "-r requirements/runtime.txt" in makefile
    assert "-r requirements/test.txt" in makefile
    assert re.search(r"^demo: \$\(RUNTIME\)", makefile, re.M), "make demo needs only runtime"
    assert re.search(r"^lock:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("name", ["runtime.txt", "test.txt", "build.txt"])
def test_problem_0_the_exports_match_uv_lock(name: str) -> None:
    """requirements/*.txt come from uv.lock: every pinned version is the lock's."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {_norm(p["name"]): p["version"] for p in lock["package"] if "version" in p}
    for package, version in _pins(name).items():
        assert locked.get(package) == version, f"{name}: {package}=={version} not in uv.lock"
