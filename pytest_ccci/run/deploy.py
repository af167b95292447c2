"""Deploy a recipe checkout the way abra does, read its stamp back, tear it down.

The env (`.env.sample`, abra.sh's exports, TYPE/DOMAIN/STACK_NAME, then the settings' env),
the compose files `COMPOSE_FILE` names plus the overlay, the images the engine lacks (pulled
before the deploy is timed, unless the ini says `ccci_pull = never`), one generated secret per
`SECRET_*_VERSION`, the external networks a Co-op Cloud server has (created where missing, as
the runner's own), abra's labels on `app` and ccci's on everything, dnsrr endpoints where the
runner cannot route VIPs (model/endpoints.py), then `docker stack deploy` and the swarm's verdict.
Every word said to Docker goes through the swarm facade.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model import compose, naming
from pytest_ccci.model.app import App
from pytest_ccci.model.endpoints import EndpointMode, apply_endpoint_mode
from pytest_ccci.model.envfile import (
    EnvSample,
    compose_file_names,
    interpolate_tree,
    load_env_sample,
    parse_env_sample,
)
from pytest_ccci.model.images import PullProgress
from pytest_ccci.model.policy import DeployPolicy, Finding, compose_file_findings, env_file_findings
from pytest_ccci.model.runner import DEFAULT_RUNNER, RunnerChoices
from pytest_ccci.model.secrets import SecretVault
from pytest_ccci.run.repo import Checkout

if TYPE_CHECKING:  # annotations only: a Deployment can be imported without docker-py
    from pytest_ccci.swarm.convergence import Convergence
    from pytest_ccci.swarm.facade import Swarm

# What a deploy calls once the memory the stack declares is known; it returns what ends the
# admission (see DeployAdmission).
Admit = Callable[[int], Callable[[], None]]


@dataclass
class Deployment:
    """One deploy of a checkout as an app, and the swarm's verdict on it."""

    app: App
    checkout: Checkout
    mode: str  # "chaos" or "release"
    version: str | None
    expected_chaos: str | None
    config: dict = field(repr=False)  # interpolated compose: holds the env's values (see Settings.env)
    convergence: Convergence
    deploy_seconds: float
    endpoint_note: str = ""  # how its services are reached on this runner, said: "dnsrr (no IPVS on this runner)"

    @property
    def app_service(self) -> str:
        return naming.service_name(self.app.stack, "app")


def deploy_env(checkout: Checkout, app: App, sample: EnvSample | None = None) -> dict[str, str]:
    """The env abra deploys with: `.env.sample`, TYPE/DOMAIN/STACK_NAME, then settings overrides."""
    sample = sample or load_env_sample(checkout.path / ".env.sample")
    env = sample.values()
    env.update(abra_sh_exports(checkout.path / "abra.sh"))
    env.update(TYPE=app.recipe, DOMAIN=app.domain, STACK_NAME=app.stack)
    env.update(app.settings.env)
    return env


def abra_sh_exports(path: Path) -> dict[str, str]:
    """`export NAME=value` lines of abra.sh: abra reads config versions from there."""
    if not path.is_file():
        return {}
    lines = [ln.strip() for ln in path.read_text().splitlines() if re.match(r"\s*export\s+\w+=", ln)]
    return parse_env_sample("\n".join(lines), origin=str(path)).values()


def compose_files(checkout: Checkout, app: App, env: dict[str, str]) -> list[Path]:
    """The recipe's compose files COMPOSE_FILE names (vetted by `source_findings` first), then the overlay."""
    files = []
    for name in compose_file_names(env):
        path = checkout.path / name
        if not path.is_file():
            raise RecipeError(
                f"recipe {app.recipe}: COMPOSE_FILE names {name}, which is not in the recipe at {checkout.head_sha[:8]}"
            )
        files.append(path)
    if app.settings.overlay:
        files.append(app.settings.overlay)
    return files


def source_findings(checkout: Checkout, env: dict[str, str]) -> list[Finding]:
    """What the policy must see before `docker stack config` reads any host file: COMPOSE_FILE
    entries outside the checkout, and `env_file:` entries (interpolated as the CLI will) outside it.
    The CLI reads env files relative to the first compose file's directory; each file's own is
    checked too."""
    names = compose_file_names(env)
    found = compose_file_findings(names, checkout.path)
    if found:
        return found
    first = (checkout.path / names[0]).parent
    for name in names:
        path = checkout.path / name
        for service, env_file in _env_files(path).items():
            interpolated = {"env_file": interpolate_tree(env_file, env, str(path))}
            for base in dict.fromkeys([first, path.parent]):
                found += env_file_findings(service, interpolated, base, checkout.path)
    return list(dict.fromkeys(found))


def _env_files(path: Path) -> dict[str, object]:
    """{service: its raw `env_file:`} of one compose file; {} when it cannot be read (the CLI then
    says why, in its own words)."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict):
        return {}
    return {str(k): svc["env_file"] for k, svc in services.items() if isinstance(svc, dict) and "env_file" in svc}


def stamp_versions(checkout: Checkout, mode: str) -> tuple[str | None, str | None]:
    """(version, chaos-version) as abra stamps them: a release deploy carries its tag; a chaos
    deploy the newest release it is built on, and the head's chaos-version."""
    newest = checkout.ancestor_releases[-1].tag if checkout.ancestor_releases else None
    if mode == "release":
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
        mode: str,
        admit: Admit | None = None,
        policy: DeployPolicy | None = None,
        pulled: dict[str, float] | None = None,
    ) -> Deployment:
        """Deploy (or redeploy in place) `checkout` as `app`; wait for the swarm's verdict.

        `admit(bytes)` is called once the memory the stack declares is known, before anything
        is created, and returns what releases the admission when the deploy has settled.
        `policy` is the recipe's deploy policy (built from its settings and the host's when None).
        `pulled` records each image pulled for it (image -> seconds), a failed deploy's too."""
        start = time.monotonic()
        policy = policy or self.runner.host_policy.for_recipe(app.settings.allow, app.settings.memory_mb)
        sample = load_env_sample(checkout.path / ".env.sample")
        env = deploy_env(checkout, app, sample)
        # Untrusted refs: refused (RecipeError) before anything is created or any host file read;
        # memory bounded if the ini says so.
        policy.refuse(app.recipe, source_findings(checkout, env))
        merged = self.swarm.stack_config(compose_files(checkout, app, env), env, checkout.path)
        merged = policy.vet(merged, checkout.path, app.recipe, app.stack)
        if "app" not in (merged.get("services") or {}):
            raise RecipeError(f"recipe {app.recipe}: no service named 'app' in its compose files")
        # A deploy is timed without its pulls (`pulled` has those).
        start += self._pull_missing(app, merged, {} if pulled is None else pulled)
        done = admit(compose.declared_memory(merged)) if admit else (lambda: None)
        try:
            return self._deploy_admitted(app, checkout, mode, merged, sample, start)
        finally:
            done()

    def _pull_missing(self, app: App, merged: dict, pulled: dict[str, float]) -> float:
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
        self, app: App, checkout: Checkout, mode: str, merged: dict, sample: EnvSample, start: float
    ) -> Deployment:
        version, chaos = stamp_versions(checkout, mode)
        app_labels = naming.deploy_labels(app.stack, app.recipe, version=version, chaos=chaos)
        run_labels = naming.run_labels(app.run_id, app.domain, app.recipe, str(self.lock_dir or ""))
        self._ensure_secrets(app, sample, merged, run_labels)
        self._ensure_networks(merged)
        stamped = apply_endpoint_mode(compose.stamp(merged, app_labels, run_labels), self.endpoint)
        deploy_file = self._write_deploy_file(app, checkout, mode, stamped)
        convergence = self._stack_deploy(app, checkout, deploy_file)
        took = time.monotonic() - start
        return Deployment(app, checkout, mode, version, chaos, merged, convergence, took, self.endpoint.describe())

    def _ensure_networks(self, merged: dict) -> None:
        """The external networks a Co-op Cloud server has (traefik's `proxy`), where missing:
        created as the runner's shared infrastructure, never removed (swarm/networks.py)."""
        created = self.swarm.ensure_networks(compose.external_networks(merged))
        if created and self.progress:
            self.progress(
                f"created external network {', '.join(created)} as the runner's shared infrastructure "
                "(what a Co-op Cloud server has; never removed by teardown or the janitor)"
            )

    def _write_deploy_file(self, app: App, checkout: Checkout, mode: str, stamped: dict) -> Path:
        deploy_file = self.run_dir / f"{app.stack}-{mode}-{checkout.head_sha[:8]}-{uuid.uuid4().hex[:6]}.yml"
        deploy_file.parent.mkdir(parents=True, exist_ok=True)
        deploy_file.write_text(yaml.safe_dump(compose.escape_dollars(stamped), sort_keys=False))
        return deploy_file

    def _stack_deploy(self, app: App, checkout: Checkout, deploy_file: Path) -> Convergence:
        before = {s["Spec"]["Name"]: s["Spec"]["TaskTemplate"] for s in self.swarm.services(app.stack)}
        since = time.time()
        self.swarm.stack_deploy(app.stack, deploy_file, checkout.path)
        # Services whose task spec changed are being updated: their update must reach `completed`.
        changed = {
            s["Spec"]["Name"]
            for s in self.swarm.services(app.stack)
            if s["Spec"]["Name"] in before and s["Spec"]["TaskTemplate"] != before[s["Spec"]["Name"]]
        }
        return self.swarm.wait_converged(
            app.stack,
            since=since,
            timeout=app.settings.deploy_timeout,
            max_task_failures=app.settings.max_task_failures,
            expect_update=changed,
            progress=self.progress,
        )

    def _ensure_secrets(self, app: App, sample: EnvSample, merged: dict, labels: dict) -> None:
        wanted = set(compose.external_secrets(merged).values())
        for spec in sample.secrets:
            name = naming.secret_name(app.stack, spec.name, spec.version)
            if len(name) > naming.MAX_SECRET_NAME_LENGTH:
                raise RecipeError(
                    f"recipe {app.recipe}: secret name {name} is {len(name)} characters, "
                    f"over docker's {naming.MAX_SECRET_NAME_LENGTH}"
                )
            # generate=false means abra leaves the value to the operator; CI has no operator, so it
            # still generates one (the recipe cannot be deployed otherwise).
            self.swarm.ensure_secret(name, self.vault.value(name, spec), labels)
            wanted.discard(name)
        if wanted:
            raise RecipeError(
                f"recipe {app.recipe}: compose expects secrets {', '.join(sorted(wanted))} "
                "that no SECRET_*_VERSION in .env.sample declares"
            )

    def read_stamp(self, deployment: Deployment) -> dict[str, str]:
        """The coop-cloud labels on the app service, as the swarm has them now."""
        prefix = f"coop-cloud.{deployment.app.stack}."
        labels = self.swarm.service_labels(deployment.app_service)
        return {k[len(prefix) :]: v for k, v in labels.items() if k.startswith(prefix)}

    def teardown(self, app: App) -> list[str]:
        """Remove everything of the app; return what could not be removed."""
        return self.swarm.remove(app.stack, app.label_filter)
