"""The swarm backend: what the run layer can do with an app on the swarm, in one object.

It composes the deployer (deploy.py), the data operations in running tasks (data.py) and the
probe (probe.py), so that tiers, a recipe's own tests (the `ccci_backend` fixture) and tests
that drive deploys directly hold one handle. It adds no behaviour of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_ccci.model.app import EXEC_TIMEOUT_SECONDS, App, DeployMode
from pytest_ccci.model.policy import DeployPolicy
from pytest_ccci.model.runner import DEFAULT_RUNNER, RunnerChoices
from pytest_ccci.model.secrets import SecretVault
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run import probe
from pytest_ccci.run.data import BackupArchive, TaskData
from pytest_ccci.run.deploy import Admit, Deployer, Deployment
from pytest_ccci.run.repo import Checkout
from pytest_ccci.swarm.facade import Swarm
from pytest_ccci.swarm.teardown import Stopped


class SwarmBackend:
    def __init__(
        self,
        swarm: Swarm,
        run_dir: Path,
        vault: SecretVault,
        progress: Callable[[str], None] | None = None,
        lock_dir: Path | None = None,
        runner: RunnerChoices = DEFAULT_RUNNER,
    ):
        self.swarm = swarm
        self.deployer = Deployer(swarm, run_dir, vault, progress, lock_dir, runner)
        self.tasks = TaskData(swarm)
        self.prober = probe.Prober(swarm, lock_dir, progress)

    # -- deployments (deploy.py) -------------------------------------------------------------

    def deploy(
        self,
        app: App,
        checkout: Checkout,
        mode: DeployMode,
        admit: Admit | None = None,
        policy: DeployPolicy | None = None,
        pulled: dict[str, float] | None = None,
        view: RecipeView | None = None,
    ) -> Deployment:
        return self.deployer.deploy(app, checkout, mode, admit, policy, pulled, view)

    def read_stamp(self, deployment: Deployment) -> dict[str, str]:
        return self.deployer.read_stamp(deployment)

    def teardown(self, app: App, stopped: Stopped | None = None) -> list[str]:
        return self.deployer.teardown(app, stopped)

    # -- looking at the app (probe.py) -------------------------------------------------------

    def http_status(self, deployment: Deployment) -> tuple[int | None, str]:
        return self.prober.http_status(deployment)

    def http(
        self, deployment: Deployment, path: str = "/", data: str | None = None, service: str = "app"
    ) -> tuple[int | None, str]:
        return self.prober.request(deployment, path, data, service)

    def diagnostics(self, stack: str) -> list[str]:
        return probe.diagnostics(self.swarm, stack)

    # -- data in running tasks (data.py) -----------------------------------------------------

    def exec(self, service: str, cmd: str | list[str], timeout: float = EXEC_TIMEOUT_SECONDS) -> tuple[int, str]:
        return self.tasks.exec(service, cmd, timeout)

    def write_file(self, service: str, path: str, content: bytes) -> None:
        self.tasks.write_file(service, path, content)

    def read_file(self, service: str, path: str) -> bytes:
        return self.tasks.read_file(service, path)

    def backup(self, deployment: Deployment, dest: Path) -> BackupArchive:
        """A backup file (and its manifest) written into `dest`."""
        return self.tasks.backup(deployment, dest)

    def restore(self, deployment: Deployment, archive: BackupArchive) -> None:
        self.tasks.restore(deployment, archive)
