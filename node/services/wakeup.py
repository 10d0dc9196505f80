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

_PENDING = "tradeaccord_outbox_pending"
_LISTENING = "tradeaccord_outbox_listening"


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
        """Notify once ``session``'s transaction commits; a rollback cancels it (nothing
        new to send then). A missed wake-up only delays the work to the next poll."""
        session.info[_PENDING] = True
        if session.info.get(_LISTENING):
            return
        session.info[_LISTENING] = True

        def _committed(committed: Session) -> None:
            if committed.info.pop(_PENDING, False):
                self.notify()

        def _rolled_back(rolled_back: Session, _previous: object) -> None:
            rolled_back.info.pop(_PENDING, None)

        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_soft_rollback", _rolled_back)
