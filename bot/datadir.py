"""The data dir (`HISTBOT_DATA_DIR`): writable, and owned by one histbot process at a time.

Two bots on one data dir would both answer every event (every mention twice, every quiz
made twice) and write the same database. `DataDirLock` takes an OS file lock
(`fcntl.flock`) on `histbot.lock` in the data dir for as long as the process lives: the
kernel releases it when the process ends, however it ends (SIGKILL and out-of-memory
included), so it never goes stale the way a PID file does. The owner writes its PID into the
locked file only so that a second process can name it in its one-line refusal.

Whether the data dir can be written is checked first, by writing a file in it, so that a
read-only mount or a folder owned by another user is one line naming the path and the uids,
before anything is loaded or any connection made.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

LOCK_NAME = "histbot.lock"


class DataDirError(Exception):
    """The data dir cannot be used; the message (one line) names the path and the cause."""


def _owner(path: Path) -> str:
    try:
        uid = path.stat().st_uid
    except OSError:
        return ""
    return f" ({path} is owned by uid {uid}; histbot runs as uid {os.getuid()})"


def _cannot(what: str, path: Path, exc: OSError, owned: Path | None = None) -> DataDirError:
    reason = exc.strerror or str(exc)
    owner = _owner(owned or path) if exc.errno in (errno.EACCES, errno.EPERM) else ""
    return DataDirError(f"cannot {what} {path}: {reason}{owner}")


def check_writable(data_dir: Path, files: Iterable[Path] = ()) -> None:
    """Create the data dir if needed and write a file in it; `files` that already exist
    (the databases) must be writable too. DataDirError naming the path otherwise."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        existing = next((p for p in data_dir.parents if p.exists()), None)
        raise _cannot("create the data dir", data_dir, exc, existing) from None
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".histbot-write-test-"):
            pass
    except OSError as exc:
        raise _cannot("write to the data dir", data_dir, exc) from None
    for path in files:
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise DataDirError(f"cannot write to {path}: Permission denied{_owner(path)}")


class DataDirLock:
    """One histbot process per data dir: `acquire` or DataDirError naming the other one."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise _cannot("create the lock file", self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"pid {owner}" if owner.isdigit() else "another process"
            raise DataDirError(
                f"another histbot ({who}) is using the data dir {self.path.parent}: it holds "
                f"the lock {self.path}. Stop it first, or give this one its own "
                "HISTBOT_DATA_DIR (see README, 'Several instances')"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise _cannot("lock", self.path, exc) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the data dir up (the kernel does it anyway when the process ends)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
