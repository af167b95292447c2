"""Deploy a recipe checkout the way abra does, read its stamp back, tear it down.

What is deployed is the recipe's resolved view (run/view.py: the app env, the compose files
`COMPOSE_FILE` names plus the overlay, docker's merge, abra's additions), refused by the deploy
policy on exactly the findings lint's R018 reports. Then the images the engine lacks (pulled
before the deploy is timed, unless the ini says `ccci_pull = never`), the secrets the compose
file names (generated with their `.env.sample` modifiers, model/abra.py), the external networks a
Co-op Cloud server has (created where missing, as the runner's own), abra's labels on `app` and
ccci's on everything, dnsrr endpoints where the runner cannot route VIPs (model/endpoints.py),
then `docker stack deploy` in the view's directory and the swarm's verdict, awaited for as long
as the recipe's `coop-cloud.<stack>.timeout` label says unless the enrollment sets `deploy_timeout`.
Every word said to Docker goes through the swarm facade.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_ccci.errors import CcciError, InfraError, RecipeError
from pytest_ccci.model import abra, compose, naming
from pytest_ccci.model.app import App, DeployMode
from pytest_ccci.model.endpoints import EndpointMode, apply_endpoint_mode
from pytest_ccci.model.idempotence import ServiceSnapshot
from pytest_ccci.model.images import PullProgress
from pytest_ccci.model.policy import DeployPolicy
from pytest_ccci.model.runner import DEFAULT_RUNNER, RunnerChoices
from pytest_ccci.model.secrets import SecretVault
from pytest_ccci.model.settings import DEFAULT_DEPLOY_TIMEOUT, Settings
from pytest_ccci.model.versions import newest_release
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run.repo import Checkout
from pytest_ccci.run.view import build_view

if TYPE_CHECKING:  # annotations only: a Deployment can be imported without docker-py
    from pytest_ccci.swarm.convergence import Convergence
    from pytest_ccci.swarm.facade import Swarm
    from pytest_ccci.swarm.teardown import Stopped

# What a deploy calls once the memory the stack declares is known; it returns what ends the
# admission (see DeployAdmission).
Admit = Callable[[int], Callable[[], None]]


@dataclass(frozen=True)
class Deadline:
    """How long a deploy may take to converge, and who said so (results.json shows both)."""

    seconds: float
    why: str

    def shown(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "why": self.why}


def convergence_deadline(app: App, config: Mapping[str, Any]) -> Deadline:
    """The enrollment's `deploy_timeout` when it sets one; else abra's: the app service's
    `coop-cloud.<stack>.timeout` label; else DEFAULT_DEPLOY_TIMEOUT."""
    if app.settings.deploy_timeout is not None:
        return Deadline(app.settings.deploy_timeout, "deploy_timeout in ccci.yml")
    label = abra.timeout_label(config, app.stack)
    if label is not None:
        return Deadline(float(label), f"the recipe's coop-cloud.{app.stack}.timeout label (abra's deadline)")
    return Deadline(DEFAULT_DEPLOY_TIMEOUT, "the default: neither ccci.yml's deploy_timeout nor a timeout label")


def recipe_policy(runner: RunnerChoices, settings: Settings) -> DeployPolicy:
    """A recipe's deploy policy: its ccci.yml allowances and memory, and the host's (the ini's).
    The lifecycle builds it once per recipe and hands it to every deploy."""
    return runner.host_policy.for_recipe(settings.allow, settings.memory_mb)


@dataclass
class Deployment:
    """One deploy of a checkout as an app, and the swarm's verdict on it."""

    app: App
    checkout: Checkout
    mode: DeployMode
    version: str | None
    expected_chaos: str | None
    config: dict[str, Any] = field(repr=False)  # interpolated compose: holds the env's values (see Settings.env)
    convergence: Convergence
    deploy_seconds: float
    endpoint_note: str = ""  # how its services are reached on this runner, said: "dnsrr (no IPVS on this runner)"
    deadline: Deadline = Deadline(DEFAULT_DEPLOY_TIMEOUT, "the default")
    # The stack's services as they were just before this deploy (a redeploy's idempotence check
    # compares them with what runs after it).
    before: dict[str, ServiceSnapshot] = field(default_factory=dict, repr=False)
    # Each service's Spec as the engine reported it just after this deploy (the update's target):
    # a failed tier's story diffs it with `before` when a rollback made the engine forget it.
    deployed_specs: dict[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def app_service(self) -> str:
        return naming.service_name(self.app.stack, "app")


def stamp_versions(checkout: Checkout, mode: DeployMode) -> tuple[str | None, str | None]:
    """(version, chaos-version) as abra stamps them: a release deploy carries its tag; a chaos
    deploy the newest release it is built on, and the head's chaos-version."""
    release = newest_release(checkout.ancestor_releases)
    newest = release.tag if release else None
    if mode == DeployMode.RELEASE:
        return (checkout.release_on_head.tag if checkout.release_on_head else newest), None
    return newest, naming.chaos_version(checkout.head_sha, checkout.dirty)


class Deployer:
    """Deploys apps onto the swarm, one `docker stack deploy` each, and removes them."""

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
        self.runner = runner  # the ini's choices: endpoint mode, pulls, the host's deploy policy
        self.run_dir = run_dir  # where the deploy files go
        self.vault = vault
        self.progress = progress
        self.lock_dir = lock_dir  # labelled on everything, for the janitor of this lock dir
        self._endpoint: EndpointMode | None = None

    @property
    def endpoint(self) -> EndpointMode:
        """The endpoint mode of every service deployed here, decided once (the controller says it)."""
        if self._endpoint is None:
            from pytest_ccci.swarm.networks import runner_endpoint_mode

            self._endpoint = runner_endpoint_mode(self.runner.endpoint_mode)
        return self._endpoint

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
        """Deploy (or redeploy in place) `checkout` as `app` in `mode`; wait for the swarm's verdict.

        `admit(bytes)` is called once the memory the stack declares is known, before anything
        is created, and returns what releases the admission when the deploy has settled.
        `policy` is the recipe's deploy policy (built from its settings and the host's when None).
        `pulled` records each image pulled for it (image -> seconds), a failed deploy's too.
        `view` is the checkout's resolved view for `app` (run/view.py; built here when None)."""
        start = time.monotonic()
        mode = DeployMode(mode)
        policy = policy or recipe_policy(self.runner, app.settings)
        view = view or self.view(app, checkout, policy)
        if view.sample is None:
            raise RecipeError(f"recipe {app.recipe}: .env.sample: missing {view.files.where} (every recipe needs one)")
        # Untrusted refs: refused (RecipeError) on the findings lint's R018 reports, before
        # anything is created; memory bounded if the ini says so.
        policy.refuse(app.recipe, view.findings)
        merged = policy.bound(view.require_config())
        if "app" not in (merged.get("services") or {}):
            raise RecipeError(f"recipe {app.recipe}: no service named 'app' in its compose files")
        # A deploy is timed without its pulls (`pulled` has those).
        start += self._pull_missing(app, merged, {} if pulled is None else pulled)
        done = admit(compose.declared_memory(merged)) if admit else (lambda: None)
        try:
            return self._deploy_admitted(app, checkout, mode, merged, view, start, policy.infrastructure_networks)
        finally:
            done()

    def view(self, app: App, checkout: Checkout, policy: DeployPolicy) -> RecipeView:
        """The checkout's resolved view for `app`, in a directory of its own under the run's."""
        folder = f"{app.stack}-{checkout.head_sha[:8]}-{uuid.uuid4().hex[:6]}"
        return build_view(checkout, app, self.run_dir / "views" / folder, policy)

    def _pull_missing(self, app: App, merged: dict[str, Any], pulled: dict[str, float]) -> float:
        """Pull the images the engine lacks, each recorded in `pulled` (image -> seconds) as it
        completes; the seconds they took in all.

        A reference the registry does not know is a RecipeError naming the image, a registry
        out of reach an InfraError (model/fetch_failures.py); each pull says its progress.
        Where the ini or the recipe says never, a missing image is the runner's (InfraError):
        it was to be there, and nobody may fetch it."""
        never = [
            who
            for who, pull in (("ini ccci_pull", self.runner.pull), ("its pull", app.settings.pull))
            if pull == "never"
        ]
        took = 0.0
        for image in dict.fromkeys(compose.service_images(merged).values()):  # each once, in service order
            # An image id names no registry (swarm's own executor never pulls one either).
            if image.startswith("sha256:") or self.swarm.image_present(image):
                continue
            if never:
                raise InfraError(
                    f"recipe {app.recipe}: image {image} is not on this runner's engine, and {never[0]} says never "
                    "to pull it: preload it on the runner"
                )
            took += self._pull(image, pulled)
        return took

    def _pull(self, image: str, pulled: dict[str, float]) -> float:
        say = self.progress or (lambda line: None)
        started = time.monotonic()
        meter = PullProgress(image, started=started)
        say(f"pulling {image} (not on this runner's engine)")

        def on_event(event: Mapping[str, Any]) -> None:
            line = meter.feed(event, time.monotonic())
            if line:
                say(line)

        self.swarm.pull(image, on_event)
        took = time.monotonic() - started
        say(f"pulled {image} in {took:.1f}s")
        pulled[image] = round(took, 2)
        return took

    def _deploy_admitted(
        self,
        app: App,
        checkout: Checkout,
        mode: DeployMode,
        merged: dict[str, Any],
        view: RecipeView,
        start: float,
        infrastructure: Sequence[str],
    ) -> Deployment:
        version, chaos = stamp_versions(checkout, mode)
        auto_update = abra.auto_update(view.env)
        app_labels = naming.deploy_labels(app.stack, app.recipe, version=version, chaos=chaos, auto_update=auto_update)
        run_labels = naming.run_labels(app.run_id, app.domain, app.recipe, str(self.lock_dir or ""))
        self._ensure_secrets(app, view, merged, run_labels)
        self._ensure_networks(merged, infrastructure)
        stamped = apply_endpoint_mode(compose.stamp(merged, app_labels, run_labels), self.endpoint)
        deploy_file = self._write_deploy_file(view, mode, stamped)
        deadline = convergence_deadline(app, merged)
        before = self.swarm.snapshot(app.stack)
        deployed_specs: dict[str, Mapping[str, Any]] = {}
        convergence = self._stack_deploy(app, view, deploy_file, deadline, before, deployed_specs)
        took = time.monotonic() - start
        return Deployment(
            app,
            checkout,
            mode,
            version,
            chaos,
            merged,
            convergence,
            took,
            self.endpoint.describe(),
            deadline,
            before,
            deployed_specs,
        )

    def _ensure_networks(self, merged: dict[str, Any], infrastructure: Sequence[str]) -> None:
        """The external networks a Co-op Cloud server has (traefik's `proxy`: the ini's
        `ccci_networks`), where missing: created as the runner's shared infrastructure, never
        removed (swarm/networks.py). Any other external network an allowance let through must
        exist already: nothing a recipe names becomes permanent runner infrastructure."""
        wanted = [n for n in compose.external_networks(merged) if n in infrastructure]
        created = self.swarm.ensure_networks(wanted)
        if created and self.progress:
            self.progress(
                f"created external network {', '.join(created)} as the runner's shared infrastructure "
                "(what a Co-op Cloud server has; never removed by teardown or the janitor)"
            )

    def _write_deploy_file(self, view: RecipeView, mode: DeployMode, stamped: dict[str, Any]) -> Path:
        """In the view's directory: the config's recipe-relative paths mean the view's files."""
        deploy_file = view.root / f".ccci-deploy-{mode.value}-{uuid.uuid4().hex[:6]}.yml"
        deploy_file.write_text(yaml.safe_dump(compose.escape_dollars(stamped), sort_keys=False))
        return deploy_file

    def _stack_deploy(
        self,
        app: App,
        view: RecipeView,
        deploy_file: Path,
        deadline: Deadline,
        before: Mapping[str, ServiceSnapshot],
        deployed_specs: dict[str, Mapping[str, Any]],
    ) -> Convergence:
        """Deploy and wait; each service's Spec just after the deploy goes into `deployed_specs`."""
        since = time.time()
        try:
            self.swarm.stack_deploy(app.stack, deploy_file, view.root)
        except CcciError as exc:  # docker resolves the view's files by their run path: say them recipe-relative
            raise type(exc)(view.files.relative_text(str(exc))) from None
        # Services whose task spec changed are being updated: their update must reach `completed`.
        deployed = self.swarm.services(app.stack)
        deployed_specs.update((s.name, s.spec) for s in deployed)
        changed = {s.name for s in deployed if s.name in before and s.task_template != before[s.name].task_template}
        return self.swarm.wait_converged(
            app.stack,
            since=since,
            timeout=deadline.seconds,
            max_task_failures=app.settings.max_task_failures,
            expect_update=changed,
            progress=self.progress,
        )

    def _ensure_secrets(self, app: App, view: RecipeView, merged: dict[str, Any], labels: dict[str, Any]) -> None:
        """The secrets the compose file names, as abra generates them (model/abra.py): each
        `SECRET_<KEY>_VERSION` of the app env, with its `.env.sample` modifiers. generate=false
        means abra leaves the value to the operator; CI has no operator, so it still generates one
        (the recipe could not be deployed otherwise)."""
        assert view.sample is not None  # deploy() refused a recipe without one
        for spec in abra.secrets_to_generate(merged, view.env, view.sample, app.stack):
            self.swarm.ensure_secret(spec.swarm_name, self.vault.value(spec.swarm_name, spec), labels)

    def read_stamp(self, deployment: Deployment) -> dict[str, str]:
        """The coop-cloud labels on the app service, as the swarm has them now."""
        prefix = f"coop-cloud.{deployment.app.stack}."
        labels = self.swarm.service_labels(deployment.app_service)
        return {k[len(prefix) :]: v for k, v in labels.items() if k.startswith(prefix)}

    def teardown(self, app: App, stopped: Stopped | None = None) -> list[str]:
        """Remove everything of the app; return what could not be removed. How each service's
        tasks ended goes to `stopped` ({service: StopRecord})."""
        return self.swarm.remove(app.stack, app.label_filter, say=self.progress, stopped=stopped)
