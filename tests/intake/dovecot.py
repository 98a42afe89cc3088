"""A real IMAP server for the tests: Debian's dovecot, started as a child process with a
generated config in its own directory (loopback, a free port, passwd-file logins, plain
authentication allowed on loopback, maildirs in that directory).

When the tests run as root, dovecot's login processes run as `dovenull` and the mail
processes as `nobody` (dovecot refuses root for both); otherwise all run as the current
user.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port

PASSWORD = "support-secret"
USERS = tuple(f"support{i}" for i in range(40))


@dataclass(frozen=True, slots=True)
class Dovecot:
    port: int
    root: Path

    def append(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        """Deliver `message` to `user`'s folder (an IMAP APPEND, as a mail client would)."""
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as conn:
            conn.login(user, PASSWORD)
            status, _ = conn.append(folder, None, None, message)
            assert status == "OK"

    def keywords(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The FLAGS of every message in the folder, in UID order."""
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as conn:
            conn.login(user, PASSWORD)
            conn.select(folder)
            status, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            assert status == "OK"
            return [d for d in data if isinstance(d, bytes)]


def _ids() -> tuple[str, str, int, int]:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return "dovenull", "dovecot", nobody.pw_uid, nobody.pw_gid
    user = pwd.getpwuid(os.geteuid()).pw_name
    return user, user, os.geteuid(), os.getegid()


def _config(root: Path, port: int) -> str:
    login, internal, uid, gid = _ids()
    group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = vakt-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:{root}/mail/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _ready(port: int, deadline: float) -> None:
    while True:
        try:
            with imaplib.IMAP4("127.0.0.1", port, timeout=2) as conn:
                conn.login(USERS[0], PASSWORD)
                return
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start() -> Iterator[Dovecot]:
    """Start dovecot, yield it, stop it (a generator for a pytest fixture)."""
    if shutil.which("dovecot") is None:
        raise RuntimeError("dovecot is not installed (Debian: dovecot-imapd; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="vakt-dovecot-"))
    root.chmod(0o755)  # the mail processes run as another user when the tests run as root
    _, _, uid, gid = _ids()
    for sub in ("mail", "home"):
        (root / sub).mkdir()
        os.chown(root / sub, uid, gid)
    (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in USERS))
    port = free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    process = subprocess.Popen(
        ["dovecot", "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _ready(port, time.monotonic() + 20)
        yield Dovecot(port, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
