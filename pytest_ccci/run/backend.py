"""The swarm backend: deploy a recipe checkout the way abra does, prove it, tear it down.

It knows the recipe conventions (env, compose files, secrets, labels) and uses `engine` for
every word it says to Docker.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from pytest_ccci.model import compose
from pytest_ccci.model import naming
from pytest_ccci.swarm.engine import Convergence, Swarm
from pytest_ccci.model.envfile import EnvSample, load_env_sample, parse_env_sample
from pytest_ccci.model.app import App, SecretVault
from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.run.repo import Checkout
from pytest_ccci.model.settings import Settings



@dataclass
class Deployment:
    app: App
    checkout: Checkout
    mode: str  # "chaos" or "release"
    version: str | None
    expected_chaos: str | None
    config: dict = field(repr=False)  # interpolated compose: holds the env's values (see Settings.env)
    convergence: Convergence
    deploy_seconds: float
    secrets_created: list[str] = field(default_factory=list)

    @property
    def app_service(self) -> str:
        return f"{self.app.stack}_app"


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
    names = [n for n in env.get("COMPOSE_FILE", "compose.yml").split(":") if n]
    files = []
    for name in names:
        path = checkout.path / name
        if not path.is_file():
            raise RecipeError(f"recipe {app.recipe}: COMPOSE_FILE names {name}, which is not in the recipe at {checkout.head_sha[:8]}")
        files.append(path)
    if app.settings.overlay:
        files.append(app.settings.overlay)
    return files


@dataclass
class BackupArchive:
    """What a backup copied out: one tar per (service, path), with a sha256 manifest."""

    stack: str
    paths: list[tuple[str, str]]
    files: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, str] = field(default_factory=dict)

    def verify(self) -> list[str]:
        import hashlib

        return [k for k, data in self.files.items() if hashlib.sha256(data).hexdigest() != self.manifest.get(k)]


def _hook_error(kind: str, service: str, container: str, code: int, out: str) -> RecipeError:
    if code == 124:
        return RecipeError(f"{kind} of {service} hung in container {container[:12]}: {' '.join(out.split())[:200]}, killed")
    return RecipeError(f"{kind} of {service} failed in container {container[:12]}: exit {code}: {' '.join(out.split())[:200]}")


class _DataOps:
    """Files, hooks, backup and restore inside running tasks (mixed into SwarmBackend)."""

    swarm: Swarm

    def write_file(self, service: str, path: str, content: bytes) -> None:
        import posixpath

        from pytest_ccci.swarm.engine import tar_bytes

        self.swarm.exec(service, ["mkdir", "-p", posixpath.dirname(path)], timeout=30)
        self.swarm.put_archive(service, posixpath.dirname(path), tar_bytes({posixpath.basename(path): content}))

    def read_file(self, service: str, path: str) -> bytes:
        import io
        import tarfile

        data = self.swarm.get_archive(service, path)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            fh = tar.extractfile(member) if member else None
            if fh is None:
                raise RecipeError(f"{service}: {path} is not a regular file")
            return fh.read()

    def run_hook(self, kind: str, service: str, command: str | None, timeout: float) -> None:
        if not command:
            return
        container = self.swarm.running_container(service)
        code, out = self.swarm.exec(service, command, timeout=timeout)
        if code != 0:
            raise _hook_error(kind, service, container.id, code, out)

    def backup(self, deployment: Deployment) -> BackupArchive:
        import hashlib

        from pytest_ccci.model.backupbot import backup_plan

        timeout = deployment.app.settings.hook_timeout
        plan = backup_plan(deployment.config)
        archive = BackupArchive(deployment.app.stack, [(s.service, p) for s in plan for p in s.paths])
        for svc in plan:
            service = f"{deployment.app.stack}_{svc.service}"
            self.run_hook("backup pre-hook", service, svc.hooks.backup_pre, timeout)
            for path in svc.paths:
                data = self.swarm.get_archive(service, path)
                key = f"{svc.service}:{path}"
                archive.files[key] = data
                archive.manifest[key] = hashlib.sha256(data).hexdigest()
            self.run_hook("backup post-hook", service, svc.hooks.backup_post, timeout)
        return archive

    def restore(self, deployment: Deployment, archive: BackupArchive) -> None:
        import posixpath

        from pytest_ccci.model.backupbot import backup_plan

        timeout = deployment.app.settings.hook_timeout
        bad = archive.verify()
        if bad:
            raise RecipeError(f"backup archive of {archive.stack} is corrupt: {', '.join(bad)}")
        for svc in backup_plan(deployment.config):
            service = f"{deployment.app.stack}_{svc.service}"
            self.run_hook("restore pre-hook", service, svc.hooks.restore_pre, timeout)
            for path in svc.paths:
                data = archive.files.get(f"{svc.service}:{path}")
                if data is not None:
                    # get_archive's tar is rooted at the path's basename: unpack it in the parent.
                    self.swarm.put_archive(service, posixpath.dirname(path.rstrip("/")) or "/", data)
            self.run_hook("restore post-hook", service, svc.hooks.restore_post, timeout)


class SwarmBackend(_DataOps):
    def __init__(self, swarm: Swarm, run_dir: Path, vault: SecretVault, progress: Callable[[str], None] | None = None,
                 lock_dir: Path | None = None):
        self.swarm = swarm
        self.lock_dir = lock_dir
        self.run_dir = run_dir
        self.vault = vault
        self.progress = progress

    def deploy(self, app: App, checkout: Checkout, mode: str, admit: Callable[[int], Callable[[], None]] | None = None) -> Deployment:
        """Deploy (or redeploy in place) `checkout` as `app`; wait for the swarm's verdict.

        `admit(bytes)` is called once the memory the stack declares is known, before anything
        is created, and returns what releases the admission when the deploy has settled."""
        start = time.monotonic()
        sample = load_env_sample(checkout.path / ".env.sample")
        env = deploy_env(checkout, app, sample)
        merged = self.swarm.stack_config(compose_files(checkout, app, env), env, checkout.path)
        if "app" not in (merged.get("services") or {}):
            raise RecipeError(f"recipe {app.recipe}: no service named 'app' in its compose files")
        done = admit(compose.declared_memory(merged)) if admit else (lambda: None)
        try:
            return self._deploy_admitted(app, checkout, mode, merged, sample, start)
        finally:
            done()

    def _deploy_admitted(self, app: App, checkout: Checkout, mode: str, merged: dict, sample: EnvSample, start: float) -> Deployment:

        newest = checkout.ancestor_releases[-1].tag if checkout.ancestor_releases else None
        if mode == "release":
            version, chaos = (checkout.release_on_head.tag if checkout.release_on_head else newest), None
        else:
            version, chaos = newest, naming.chaos_version(checkout.head_sha, checkout.dirty)
        app_labels = naming.deploy_labels(app.stack, app.recipe, version=version, chaos=chaos)
        run_labels = naming.run_labels(app.run_id, app.domain, app.recipe, str(self.lock_dir or ""))

        created = self._ensure_secrets(app, sample, merged, run_labels)
        final = compose.escape_dollars(compose.stamp(merged, app_labels, run_labels))
        deploy_file = self.run_dir / f"{app.stack}-{mode}-{checkout.head_sha[:8]}-{uuid.uuid4().hex[:6]}.yml"
        deploy_file.parent.mkdir(parents=True, exist_ok=True)
        deploy_file.write_text(yaml.safe_dump(final, sort_keys=False))

        before = {s["Spec"]["Name"]: s["Spec"]["TaskTemplate"] for s in self.swarm.services(app.stack)}
        since = time.time()
        self.swarm.stack_deploy(app.stack, deploy_file, checkout.path)
        # Services whose task spec changed are being updated: their update must reach `completed`.
        changed = {
            s["Spec"]["Name"]
            for s in self.swarm.services(app.stack)
            if s["Spec"]["Name"] in before and s["Spec"]["TaskTemplate"] != before[s["Spec"]["Name"]]
        }
        convergence = self.swarm.wait_converged(
            app.stack,
            since=since,
            timeout=app.settings.deploy_timeout,
            max_task_failures=app.settings.max_task_failures,
            expect_update=changed,
            progress=self.progress,
        )
        return Deployment(
            app=app,
            checkout=checkout,
            mode=mode,
            version=version,
            expected_chaos=chaos,
            config=merged,
            convergence=convergence,
            deploy_seconds=time.monotonic() - start,
            secrets_created=created,
        )

    def _ensure_secrets(self, app: App, sample: EnvSample, merged: dict, labels: dict) -> list[str]:
        wanted = set(compose.external_secrets(merged).values())
        created = []
        for spec in sample.secrets:
            name = naming.secret_name(app.stack, spec.name, spec.version)
            if len(name) > naming.MAX_SECRET_NAME_LENGTH:
                raise RecipeError(
                    f"recipe {app.recipe}: secret name {name} is {len(name)} characters, over docker's {naming.MAX_SECRET_NAME_LENGTH}"
                )
            # generate=false means abra leaves the value to the operator; CI has no operator, so it
            # still generates one (the recipe cannot be deployed otherwise).
            if self.swarm.ensure_secret(name, self.vault.value(name, spec), labels):
                created.append(name)
            wanted.discard(name)
        if wanted:
            raise RecipeError(
                f"recipe {app.recipe}: compose expects secrets {', '.join(sorted(wanted))} that no SECRET_*_VERSION in .env.sample declares"
            )
        return created

    def read_stamp(self, deployment: Deployment) -> dict[str, str]:
        """The coop-cloud labels on the app service, as the swarm has them now."""
        prefix = f"coop-cloud.{deployment.app.stack}."
        labels = self.swarm.service_labels(deployment.app_service)
        return {k[len(prefix):]: v for k, v in labels.items() if k.startswith(prefix)}

    def http_status(self, deployment: Deployment) -> tuple[int | None, str]:
        """GET the health path from inside the app's own task (never by dialling a container IP)."""
        health = deployment.app.settings.health
        service = f"{deployment.app.stack}_{health.service}"
        port = health.port or compose.http_port(deployment.config, health.service)
        url = f"http://127.0.0.1:{port}{health.path}"
        # No `-T`: busybox 1.35's wget segfaults with it; the exec timeout bounds the call.
        code, out = self.swarm.exec(service, ["wget", "-S", "-O", "/dev/null", url], timeout=20)
        status = _http_status(out)
        if status is None and (code in (126, 127) or "not found" in out):
            raise InfraError(f"cannot probe {service}: no wget in its image (set health.port/path, or add a functional test)")
        if status is None:
            return None, f"GET {url} from inside {service} gave no HTTP status (wget exit {code}): {' '.join(out.split())[:200]}"
        return status, f"GET {url} from inside {service} answered {status}"

    def teardown(self, app: App) -> list[str]:
        """Remove everything of the app; return what could not be removed."""
        return self.swarm.remove(app.stack, app.label_filter)


def _http_status(wget_output: str) -> int | None:
    # busybox wget -S prints the response headers ("  HTTP/1.1 200 OK"); on an error status it
    # says "server returned error: HTTP/1.1 404 Not Found".
    found = re.findall(r"HTTP/\d(?:\.\d)?\s+(\d{3})", wget_output)
    return int(found[-1]) if found else None
