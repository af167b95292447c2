"""The plugin's per-process state: the run context every recipe lifecycle of this process
shares, the lifecycles in progress, and the verdicts seen so far (for prerequisites).

One `CcciContext` per pytest process (the controller, and each xdist worker), kept on the
config under `ccci_context_key`; fixtures and collectors find it there.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_ccci.model.verdict import Status
from pytest_ccci.plugin.options import CcciOptions
from pytest_ccci.run.context import RunContext, new_run_id

if TYPE_CHECKING:
    from pytest_ccci.run.lifecycle import RecipeLifecycle
    from pytest_ccci.swarm.facade import Swarm

# The workerinput key that hands the controller's run id to every xdist worker (labels, results).
RUN_ID_KEY = "ccci_run_id"


def run_directory(config: pytest.Config) -> Callable[[], Path]:
    """This process's run directory, made on first use: `ccci` under pytest's basetemp (so
    `--basetemp` and pytest's retention apply, and each xdist worker gets its own)."""

    def make() -> Path:
        # pytest hands its TempPathFactory out publicly only as the `tmp_path_factory` fixture,
        # but the run dir is needed before any fixture runs: `--upgrade-from all` checks each
        # recipe out at collection to list its releases. So it is read off the config, where
        # pytest's tmpdir plugin puts it at configure; here only.
        factory: pytest.TempPathFactory = getattr(config, "_tmp_path_factory")  # noqa: B009
        return factory.mktemp("ccci", numbered=False)

    return make


@dataclass
class CcciContext:
    """Per-process state: the options, the run context, and the recipes' lifecycles."""

    options: CcciOptions
    runtime: RunContext
    lifecycles: dict[str, RecipeLifecycle] = field(default_factory=dict)
    # Verdicts seen in this process, for skipping tiers whose prerequisite did not pass.
    outcomes: dict[tuple[str, str], Status] = field(default_factory=dict)
    # Whether a recipe's install and upgrade lifecycles run at once here (run/overlap.py).
    overlap: bool = False

    def secret_values(self) -> list[str]:
        """Every secret this process knows: generated ones, and secret-shaped settings values."""
        return [*self.runtime.vault.values(), *(v for lc in self.lifecycles.values() for v in lc.secret_values())]

    def lifecycle(self, name: str) -> RecipeLifecycle:
        from pytest_ccci.run.lifecycle import RecipeLifecycle

        if name not in self.lifecycles:
            self.lifecycles[name] = RecipeLifecycle(self.runtime, name)
        return self.lifecycles[name]


ccci_context_key = pytest.StashKey[CcciContext]()


def build_context(config: pytest.Config, options: CcciOptions) -> CcciContext:
    """The state of this process; an xdist worker takes the controller's run id."""
    from pytest_ccci.run.overlap import overlaps

    workerinput = getattr(config, "workerinput", None) or {}
    runtime = RunContext(
        options=options,
        make_run_dir=run_directory(config),
        run_id=workerinput.get(RUN_ID_KEY) or new_run_id(),
        progress=progress_printer(config),
        connect=_connect,
    )
    # xdist's workers share the host's deploy slots: a worker overlaps only with two of its own.
    return CcciContext(options, runtime, overlap=overlaps(options.max_deploys, workerinput.get("workercount", 1)))


def _connect() -> Swarm:
    from pytest_ccci.swarm.facade import connect  # docker-py only once a swarm tier runs

    return connect()


def progress_printer(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines during long waits, on stderr past pytest's capture (`ccci[gw0]: ...`).
    Only the main thread touches the capture: a background thread's lines (an overlapped
    upgrade's, run/overlap.py) wait, whole, for the main thread's next line."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    prefix = f"ccci[{worker}]" if worker else "ccci"
    pending: list[str] = []
    guard = threading.Lock()

    def say(message: str) -> None:
        with guard:
            pending.append(message)
            if threading.current_thread() is not threading.main_thread():
                return
            lines = pending[:]
            pending.clear()
        capman = config.pluginmanager.getplugin("capturemanager")
        if capman is None:
            sys.stderr.write("".join(f"{prefix}: {line}\n" for line in lines))
            return
        with capman.global_and_fixture_disabled():
            sys.stderr.write("".join(f"\n{prefix}: {line}\n" for line in lines))
            sys.stderr.flush()

    return say
