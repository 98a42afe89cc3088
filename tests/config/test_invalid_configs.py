"""Every invalid config in tests/fixtures/configs/ fails with exactly the error it announces.

Each fixture is a small, complete `checks.yaml` with ONE problem. Its first line is a
comment stating the expected error without the file name:

    # error: <line>: <dotted.yaml.path>: <message>

(or `# error: <line>: <message>` for problems of the whole file, such as bad YAML).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
HEADER = re.compile(r"# error: (\d+): (.+)")
ALL = sorted(FIXTURES.glob("*.yaml"))


def expected_error(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = HEADER.fullmatch(first)
    assert match, f"{path.name}: the first line must be '# error: <line>: <path>: <message>'"
    return f"{path.name}:{match.group(1)}: {match.group(2)}"


def test_there_are_at_least_thirty_invalid_fixtures() -> None:
    assert len(ALL) >= 30


@pytest.mark.parametrize("fixture", ALL, ids=[p.stem for p in ALL])
def test_invalid_config_reports_exactly_its_one_announced_error(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = expected_error(fixture)
    monkeypatch.chdir(FIXTURES)  # so the file part of each error is the bare name

    with pytest.raises(ConfigError) as caught:
        load_config(fixture.name, env={})

    issues = caught.value.issues
    assert [str(issue) for issue in issues[:1]] == [expected]
    assert len(issues) == 1, "\n".join(str(issue) for issue in issues)


def test_the_error_names_the_file_it_was_given() -> None:
    fixture = FIXTURES / "bad_duration.yaml"

    with pytest.raises(ConfigError) as caught:
        load_config(str(fixture), env={})

    assert caught.value.issues[0].file == str(fixture)
    assert str(caught.value).startswith("1 error in the configuration:\n  " + str(fixture))
