"""Signal handling for the critical sections of a run: a lock being taken, a stack being torn
down. A Ctrl-C or a CI runner's SIGTERM landing inside one would leave a lock without its
holder file, or stacks half removed; inside `signals_deferred()` it waits until the section ends.
"""

from __future__ import annotations

import signal
import threading
from types import TracebackType

DEFERRED = (signal.SIGINT, signal.SIGTERM)


class signals_deferred:
    """SIGINT/SIGTERM received inside the block are re-raised as KeyboardInterrupt after it.

    Outside the main thread (where Python cannot install handlers) it does nothing. Nested
    blocks are fine: only the outermost one re-raises."""

    def __enter__(self) -> "signals_deferred":
        self.received: list[int] = []
        self.previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in DEFERRED:
            self.previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, frame: object) -> None:
        self.received.append(signum)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        outer = None
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
            if isinstance(getattr(handler, "__self__", None), signals_deferred):
                outer = handler.__self__  # type: ignore[union-attr]
        if outer is not None:
            outer.received.extend(self.received)  # the outermost block re-raises
        elif self.received and exc_type is None:
            raise KeyboardInterrupt(f"signal {self.received[0]} (deferred until a critical section ended)")
