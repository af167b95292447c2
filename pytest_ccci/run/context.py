"""What every recipe lifecycle of one pytest process shares: the run's options (`RunOptions`,
read once: the plugin's CcciOptions is one, and the context holds that very object), its own
directory, the secret vault, and the swarm, connected on first use (collection never needs
docker-py, and a lint-only run never connects).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.model.runner import DEFAULT_RUNNER, RunnerChoices
from pytest_ccci.model.secrets import SecretVault
from pytest_ccci.run.locks import DeployAdmission

if TYPE_CHECKING:  # the engine (docker-py) is imported on first use, not by collection
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.swarm.facade import Swarm


def new_run_id() -> str:
    """When the run started, and enough randomness to tell two runs of one second apart."""
    return time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """The run's options every lifecycle reads: the plugin reads them once (plugin/options.py)."""

    recipes_dir: Path
    ref: str | None
    base_domain: str
    cache_dir: Path  # recipe mirrors go in its `mirrors` folder
    lock_dir: Path
    lock_timeout: float
    max_deploys: int
    runner: RunnerChoices = DEFAULT_RUNNER  # the ini's choices for every deploy (model/runner.py)
    history_dir: Path | None = None  # --ccci-history: where `upgrade_from: last-green` looks
    upgrade_from: str = "auto"  # --upgrade-from: auto | all | last-green
    keep_failed_hours: float | None = None  # --ccci-keep-failed: how long a failed app is kept; None: off


@dataclass
class RunContext:
    """One per pytest process (xdist worker included)."""

    options: RunOptions
    make_run_dir: Callable[[], Path]
    run_id: str
    progress: Callable[[str], None]
    connect: Callable[[], Swarm]
    vault: SecretVault = field(default_factory=SecretVault)
    _swarm: Swarm | None = None
    _backend: SwarmBackend | None = None
    _run_dir: Path | None = None

    @property
    def lock_dir(self) -> Path:
        """The host-wide lock directory (the options'): app locks, deploy slots, the janitor's."""
        return self.options.lock_dir

    @property
    def mirrors_dir(self) -> Path:
        """Where recipe sources are mirrored, shared by the runs of this host."""
        return self.options.cache_dir / "mirrors"

    @property
    def run_dir(self) -> Path:
        """This run's own directory (checkouts, deploy files): never shared with another run."""
        if self._run_dir is None:
            self._run_dir = self.make_run_dir()
        return self._run_dir

    @property
    def connected(self) -> bool:
        """Whether this process has connected to the swarm (nothing was deployed otherwise)."""
        return self._swarm is not None

    @property
    def swarm(self) -> Swarm:
        """The swarm facade; connecting raises a UsageError that says how to get a swarm."""
        if self._swarm is None:
            self._swarm = self.connect()
        return self._swarm

    @property
    def backend(self) -> SwarmBackend:
        """Deploys, data operations and the probe, on this run's swarm."""
        if self._backend is None:
            from pytest_ccci.run.backend import SwarmBackend

            self._backend = SwarmBackend(
                self.swarm,
                self.run_dir / "deploy",
                self.vault,
                self.progress,
                self.lock_dir,
                self.options.runner,
            )
        return self._backend

    @property
    def admission(self) -> DeployAdmission:
        return DeployAdmission(self.lock_dir, self.options.max_deploys)
