"""The daemon lock: two `vakt run` daemons never share one SQLite database.

An exclusive `flock` on `<database>.lock`, held for the daemon's lifetime. The kernel
releases it when the process dies, so a crash never leaves a stale lock behind. The file
holds the owner's PID so that the refusal can name it. CLI commands do not take this lock:
they write short transactions beside the daemon.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from monitor.store.errors import StoreLocked


class DaemonLock:
    """An exclusive, non-blocking, process-wide lock on one database."""

    __slots__ = ("_database", "_fd", "_path")

    def __init__(self, database: Path) -> None:
        self._database = database
        self._path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `StoreLocked` naming the database and the holder's PID."""
        if self._fd is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise StoreLocked(str(self._database), pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (the file stays; its content is only informative)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class NoLock:
    """The daemon lock of a backend that allows several daemons (PostgreSQL, scale-out)."""

    __slots__ = ()

    held = False

    def acquire(self) -> None:
        """Nothing to take: coordination happens through the leader lease."""

    def release(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> NoLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
