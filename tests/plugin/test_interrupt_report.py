"""An interrupt ends in one line and exit 2, even when pytest cannot render its traceback; and
the SIGTERM handler that makes a CI cancel an interrupt is the plugin's only while it runs."""

from __future__ import annotations

import signal

import pytest


def test_unrenderable_interrupt_is_one_line_not_an_internal_error(pytester: pytest.Pytester):
    pytester.makeconftest(
        """
        import _pytest._code.code as code

        # What a signal landing mid-instruction does on Python 3.11: a traceback entry without
        # a line number makes pytest's rendering raise TypeError.
        def unrenderable(self, *args, **kwargs):
            raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'")

        code.ExceptionInfo.getrepr = unrenderable
        """
    )
    # An enrolled recipe makes the plugin active; the interrupt comes from a plain test beside it.
    pytester.mkdir("recipes")
    pytester.mkdir("recipes/r")
    pytester.path.joinpath("recipes/r/ccci.yml").write_text("source: /nonexistent/repo\n")
    pytester.makepyfile(test_stop="def test_stop():\n    raise KeyboardInterrupt('signal 15')\n")
    result = pytester.runpytest_subprocess(
        "test_stop.py",
        "--recipe",
        "r",
        "--tiers",
        "lint",
        "-p",
        "no:cacheprovider",
        "-o",
        f"ccci_lock_dir={pytester.path / 'locks'}",
    )
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, out
    assert "INTERNALERROR" not in out
    assert "ccci: interrupted (KeyboardInterrupt: signal 15)" in out


class _HandlerDuringRun:
    """Notes the SIGTERM handler once the session has started."""

    def __init__(self) -> None:
        self.handler: object = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.handler = signal.getsignal(signal.SIGTERM)


def test_sigterm_handler_is_put_back_after_an_in_process_run(project):
    """Defect 6: the plugin's SIGTERM handler (SIGTERM unwinds like Ctrl-C) is the process's only
    while pytest runs; a process that runs pytest in-process gets its own handler back."""
    project.enroll("a")

    def ours(signum: int, frame: object) -> None:
        pass

    before = signal.signal(signal.SIGTERM, ours)
    during = _HandlerDuringRun()
    try:
        result = project.pytester.runpytest(*project.isolation(), "--tiers", "lint", plugins=[during])
        after = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, before)

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert during.handler is not ours and callable(during.handler)  # the plugin's, during the run
    assert after is ours
