"""Wakes this process's delivery workers when new outbound work is committed.

The API and the worker often share a process (``node serve``): a submission that queues a
delivery commits in a worker thread, then ``OutboxSignal.notify`` sets an ``asyncio.Event``
on each attached worker's loop (thread-safe), so the worker assembles and sends at once
instead of at its next poll. Workers in other processes (``node worker``) are not reached:
they keep polling every ``worker_poll_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from sqlalchemy import event
from sqlmodel import Session

_NOTIFY_FLAG = "tradeaccord_outbox_notify"


class OutboxSignal:
    """A process-local, thread-safe wake-up for delivery workers (one per node context)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def attach(self) -> asyncio.Event:
        """An event set on every ``notify``; call from the worker's running loop."""
        wake = asyncio.Event()
        with self._lock:
            self._waiters.append((asyncio.get_running_loop(), wake))
        return wake

    def detach(self, wake: asyncio.Event) -> None:
        with self._lock:
            self._waiters = [(loop, w) for loop, w in self._waiters if w is not wake]

    def notify(self) -> None:
        """Wake every attached worker (from any thread)."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, wake in waiters:
            # A loop that has closed (its worker stopped) has nothing left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def after_commit(self, session: Session) -> None:
        """Notify once ``session``'s transaction commits (never on rollback: nothing new
        would be there to send). Idempotent per session."""
        if session.info.get(_NOTIFY_FLAG):
            return
        session.info[_NOTIFY_FLAG] = True

        def _committed(committed: Session) -> None:
            committed.info.pop(_NOTIFY_FLAG, None)
            self.notify()

        def _rolled_back(rolled_back: Session) -> None:
            rolled_back.info.pop(_NOTIFY_FLAG, None)
            with contextlib.suppress(Exception):  # the listener may already be gone
                event.remove(rolled_back, "after_commit", _committed)

        event.listen(session, "after_commit", _committed, once=True)
        event.listen(session, "after_soft_rollback", _rolled_back, once=True)
