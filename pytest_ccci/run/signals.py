"""Signal handling for the critical sections of a run: a lock being taken, a stack being torn
down. A Ctrl-C or a CI runner's SIGTERM landing inside one would leave a lock without its
holder file, or stacks half removed; inside `signals_deferred()` it waits until the section ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

DEFERRED = (signal.SIGINT, signal.SIGTERM)


class signals_deferred:
    """SIGINT/SIGTERM received inside the block are re-raised as KeyboardInterrupt after it.

    Outside the main thread (where Python cannot install handlers) it does nothing. Nested
    blocks are fine: only the outermost one re-raises.

    `only_while`: defer only while it returns True (e.g. once a lock is held); before that a
    signal acts at once, as it would outside the block, so a long wait stays interruptible."""

    def __init__(self, only_while: Callable[[], bool] | None = None):
        self.only_while = only_while

    def __enter__(self) -> signals_deferred:
        self.received: list[int] = []
        self.previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in DEFERRED:
            self.previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.only_while is None or self.only_while():
            self.received.append(signum)
            return
        previous = self.previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        outer: signals_deferred | None = None
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
            owner = getattr(handler, "__self__", None)
            if isinstance(owner, signals_deferred):
                outer = owner
        if outer is not None:
            outer.received.extend(self.received)  # the outermost block re-raises
        elif self.received:
            # Even when the section itself failed: the run was asked to stop, and must.
            raise KeyboardInterrupt(f"signal {self.received[0]} (deferred until a critical section ended)") from exc
