"""An interrupt ends in one line and exit 2, even when pytest cannot render its traceback."""

from __future__ import annotations

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
    result = pytester.runpytest_subprocess("test_stop.py", "--recipe", "r", "--tiers", "lint", "-p", "no:cacheprovider",
                                           "-o", f"ccci_lock_dir={pytester.path / 'locks'}")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, out
    assert "INTERNALERROR" not in out
    assert "ccci: interrupted (KeyboardInterrupt: signal 15)" in out
