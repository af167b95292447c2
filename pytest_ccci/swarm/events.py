"""The engine's event stream, as something a waiter can block on with a timeout.

A thread reads the stream into a buffer. `wait()` blocks until an event is buffered (without
taking it), a follow-up re-read is due, or the timeout passes; `drain()` hands over every
buffered event in the order the engine sent them.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType
from typing import Any

import docker

# Event-less transitions (a task rejected before any container exists) are caught by a
# re-read at most this far apart; everything else wakes the waiter the moment its event arrives.
RECHECK_SECONDS = 1.0
# Swarm's task state trails the container events it follows (a task turns `running` a moment
# after its container's `health_status: healthy`), so right after an event the waiter re-reads
# soon, then less and less often, up to RECHECK_SECONDS.
FOLLOW_UP_SECONDS = 0.05


class EventFeed:
    """The engine's events of `kinds` from `since` (epoch seconds) on; a context manager that
    closes the stream on exit."""

    def __init__(self, api: docker.APIClient, since: float, kinds: tuple[str, ...]):
        self._buffer: deque[dict[str, Any]] = deque()
        self._arrived = threading.Condition()
        self._stream_ended = False  # news for the next wait(), once
        # The daemon takes whole seconds; events from before `since` itself are dropped by the
        # reader, or a previous update's `completed` would pass for this one's.
        self._since_ns = int(since * 1e9)
        self._follow_up = FOLLOW_UP_SECONDS
        self._stream = api.events(since=int(since), decode=True, filters={"type": list(kinds)})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for event in self._stream:
                if event.get("timeNano", self._since_ns) >= self._since_ns:
                    with self._arrived:
                        self._buffer.append(event)
                        self._arrived.notify_all()
        except Exception:  # the stream was closed, or the daemon went away: both end the feed
            pass
        with self._arrived:
            self._stream_ended = True
            self._arrived.notify_all()

    def wait(self, timeout: float) -> None:
        """Block until an event is buffered, or the next follow-up re-read is due, or `timeout`
        passes. The events stay buffered, in order, for drain()."""
        timeout = min(timeout, self._follow_up)
        self._follow_up = min(self._follow_up * 2, RECHECK_SECONDS)
        if timeout <= 0:
            return
        with self._arrived:
            woken = self._arrived.wait_for(lambda: self._buffer or self._stream_ended, timeout)
            self._stream_ended = False  # said once; after that the waiter's re-reads take over
        if woken:
            self._follow_up = FOLLOW_UP_SECONDS

    def drain(self) -> list[dict[str, Any]]:
        """Every buffered event, oldest first, taken off the buffer."""
        with self._arrived:
            events = list(self._buffer)
            self._buffer.clear()
        return events

    def __enter__(self) -> EventFeed:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # closing a stream the daemon already dropped
                pass
