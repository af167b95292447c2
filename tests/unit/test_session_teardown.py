"""At session end every recipe's stacks go, whatever one recipe's teardown raised
(plugin/runner.py's pytest_sessionfinish, with stand-in lifecycles)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from pytest_ccci.errors import InfraError
from pytest_ccci.model.secrets import MASK
from pytest_ccci.plugin.runner import TierRunner


class FakeLifecycle:
    def __init__(self, name: str, raises: Exception | None = None):
        self.name = name
        self.raises = raises
        self.closed = False
        self.stopped = False
        self.has_upgrade = False  # no upgrade lifecycle, no background work (run/overlap.py)
        self.background = None

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True
        if self.raises is not None:
            raise self.raises


def finish(lifecycles: list[FakeLifecycle], secrets: tuple[str, ...] = ()) -> list[str]:
    said: list[str] = []
    ctx = SimpleNamespace(
        lifecycles={lc.name: lc for lc in lifecycles},
        runtime=SimpleNamespace(progress=said.append),
        secret_values=lambda: list(secrets),
    )
    TierRunner(cast(Any, ctx)).pytest_sessionfinish(cast(Any, None))
    return said


@pytest.mark.parametrize("error", [RuntimeError("boom\n  in the engine"), KeyError("app"), InfraError("no engine")])
def test_one_recipes_failing_teardown_leaves_no_other_recipe_up(error: Exception):
    lifecycles = [FakeLifecycle("first"), FakeLifecycle("broken", raises=error), FakeLifecycle("last")]
    said = finish(lifecycles)
    assert all(lc.closed for lc in lifecycles)
    assert len(said) == 1 and said[0].startswith(f"teardown of broken failed: {type(error).__name__}: ")
    assert "\n" not in said[0]


def test_the_teardown_failure_line_masks_secrets():
    said = finish([FakeLifecycle("broken", raises=RuntimeError("password hunter2 rejected"))], secrets=("hunter2",))
    assert said == [f"teardown of broken failed: RuntimeError: password {MASK} rejected"]
