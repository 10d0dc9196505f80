"""One serving process per node directory: ``DIR/node.lock`` names the pid that serves it.

The serving process holds an exclusive ``flock`` on the file for its whole life and writes
its pid into it. A second ``node serve`` on the same directory cannot take the lock and is
refused, naming that pid. The kernel drops the lock when its process dies, however it
dies (``kill -9``, a power cut): the file then still holds the dead pid, and the next start
takes it over and writes its own. Because the kernel arbitrates, two processes starting
together cannot both win, and a reused pid cannot keep a dead node's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from node.errors import ConflictError
from protocol.reason_codes import ReasonCode

LOCK_NAME = "node.lock"


class RunLock:
    """``DIR/node.lock`` for this process: ``acquire`` then ``release`` (or ``with``)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ConflictError (CONFLICT) naming the live holder's pid."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ConflictError(
                ReasonCode.CONFLICT,
                f"a node is already serving {self.path.parent} (pid {holder}, lock file "
                f"{self.path}): stop it before starting another", pid=holder) from None
        except BaseException:
            os.close(fd)
            raise
        # Ours (the previous holder, if any, is gone): record this pid for the next starter.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        """Empty the file and drop the lock (the file stays: removing it would race with a
        starter that has just opened it). A process that ends without calling this (a
        signal uvicorn re-raises, ``kill -9``) leaves its pid in the file, and the kernel
        drops the lock all the same."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
