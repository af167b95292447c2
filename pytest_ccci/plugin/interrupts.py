"""Interrupts: a CI runner's cancel (SIGTERM) unwinds like Ctrl-C, so teardown and results still
happen; and an interrupt always ends in one line and exit 2.

The SIGTERM handler is installed while the plugin is configured and the previous handler is put
back at unconfigure: a process that runs pytest in-process (pytester, an IDE) keeps its own.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any

import pytest

# What signal.signal returns and takes: a handler, SIG_DFL/SIG_IGN, or None (set outside Python).
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class TerminateAsInterrupt:
    """SIGTERM raises KeyboardInterrupt from install() until pytest_unconfigure."""

    def __init__(self) -> None:
        self.previous: _Handler = None
        self.installed = False

    def install(self) -> None:
        try:
            self.previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        except ValueError:  # not the main thread: leave the default
            return
        self.installed = True

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        if self.installed:
            # None: the handler was not set from Python; the default is the closest we can restore.
            signal.signal(signal.SIGTERM, signal.SIG_DFL if self.previous is None else self.previous)
            self.installed = False


class InterruptReport:
    """An interrupt is a normal way for a CI run to end; it must end in one line, exit 2.

    A signal can land mid-instruction, leaving a traceback entry without a line number
    (Python 3.11), which pytest's own interrupt report cannot render: INTERNALERROR, exit 1.
    The interrupt itself is handled (teardown, results) either way, so say it plainly."""

    def __init__(self, config: pytest.Config):
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Generator[None, None, None]:
        try:
            return (yield)
        except TypeError as exc:  # what rendering a traceback entry without a line number raises
            message = f"{excinfo.typename}: {excinfo.value}"
            sys.stderr.write(f"ccci: interrupted ({message}); pytest could not render where ({type(exc).__name__})\n")
            self._give_terminal_reporter(message)
            return None

    def _give_terminal_reporter(self, message: str) -> None:
        """The terminal reporter insists on a rendered interrupt at the end of the run: give it
        the message alone. Its memo attribute is private (no public way to hand it one); if it
        moves, this does nothing."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and hasattr(reporter, "_keyboardinterrupt_memo"):
            reporter._keyboardinterrupt_memo = _InterruptMemo(message)


class _CrashLine:
    """The one line the terminal reporter prints of an interrupt (`reprcrash`)."""

    def __init__(self, message: str):
        self.message = message

    def toterminal(self, tw: Any) -> None:
        tw.line(self.message)


class _InterruptMemo:
    """The least of an exception repr the terminal reporter reads: a crash line, which it prints
    (or the whole repr, with --full-trace: the same line)."""

    def __init__(self, message: str):
        self.reprcrash = _CrashLine(message)

    def toterminal(self, tw: Any) -> None:
        self.reprcrash.toterminal(tw)
