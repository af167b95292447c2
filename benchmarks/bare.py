"""The bare side of the overhead measures: an app driven on the swarm by hand.

What a careful person would script without pytest-ccci: plain `git`, the docker CLI for
`docker stack deploy` / `docker stack rm`, and docker-py for the rest, with a tight poll loop
(POLL) instead of the plugin's event-driven waiter. The plugin's code is used only to *prepare*
the compose file: the recipe's resolved view (`build_view`: the safe copy of the checkout, the app
env, the compose files interpolated, docker's `docker stack config` merge, abra's additions), built
once per checkout as the plugin builds it, then `stamp` and the runner's endpoint mode; so both
sides do the same preparation and deploy the very same file, from the view's directory.
Deploying, waiting, exec, probes, copies in and out, backups on disk and teardown are all done
here, bare.

`bare_hello.py` and `bare_notes_pg.py` are the two lifecycles built on it; each prints one JSON
line ({"wall", "phases", "stack", "domain"}) for benchmarks/run.py. A failed step raises
SystemExit with one line saying what did not happen: a bare run is only a valid sample when it
did all of its work.
"""

from __future__ import annotations

import secrets
import string
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker
import docker.errors
import yaml

from pytest_ccci.model import abra, compose, naming
from pytest_ccci.model.app import App
from pytest_ccci.model.endpoints import apply_endpoint_mode
from pytest_ccci.model.settings import Settings
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run.view import build_view
from pytest_ccci.swarm.archives import tar_bytes
from pytest_ccci.swarm.helper import PROBE_IMAGE
from pytest_ccci.swarm.networks import LABEL_INFRASTRUCTURE, runner_endpoint_mode
from pytest_ccci.swarm.stack import STACK_LABEL

POLL = 0.1  # the tight loop
# The container spec keys that tell a task of the service's current spec from an old one (the
# ones the examples' deploys change; the waiter compares more: convergence.SPEC_KEYS).
SPEC_KEYS = ("Image", "Env", "Labels", "Args", "Command")


class Clock:
    """Seconds since start at the end of each phase."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.phases: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        self.phases[phase] = round(time.monotonic() - self.t0, 3)

    @property
    def wall(self) -> float:
        return round(time.monotonic() - self.t0, 3)


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def checkout(source: str, dest: Path, ref: str) -> SimpleNamespace:
    """A private checkout at `ref`, shaped as build_view reads one (its path, head and tags)."""
    git("clone", "--quiet", "--shared", "--no-checkout", source, str(dest))
    git("checkout", "--quiet", "--detach", ref, cwd=dest)
    return SimpleNamespace(path=dest, head_sha=git("rev-parse", "HEAD", cwd=dest).strip(), tags=())


def fail(message: str) -> SystemExit:
    return SystemExit(f"bare: {message}")


def expect(ok: bool, what: str) -> None:
    """A check of the bare run: a sample is only valid when the work was done right."""
    if not ok:
        raise fail(what)


class BareApp:
    """One app on the swarm, deployed, waited for, probed and removed by hand."""

    def __init__(self, settings: Settings, head_sha: str, work: Path, probe_port: int):
        self.client = docker.from_env(timeout=60)
        self.api = self.client.api
        self.app = App.for_checkout(settings, head_sha, "ccci.test", f"bare-{int(time.time())}")
        self.stack, self.domain = self.app.stack, self.app.domain
        self.labels = naming.run_labels(self.app.run_id, self.domain, self.app.recipe)
        self.work = work
        self.port = probe_port
        self.endpoint = runner_endpoint_mode("auto")  # dnsrr where the host has no IPVS, as the plugin
        self._secret_values: dict[str, str] = {}
        self.config: dict[str, Any] = {}
        self._views: dict[Path, RecipeView] = {}  # by checkout: built once, as the plugin does

    def service(self, name: str) -> str:
        return naming.service_name(self.stack, name)

    # -- preparation (the plugin's helpers) ----------------------------------------------------

    def view(self, co: SimpleNamespace) -> RecipeView:
        """The checkout's resolved view (docker's merge of its compose files), once per checkout."""
        if co.path not in self._views:
            dest = self.work / "views" / co.path.name
            self._views[co.path] = build_view(co, self.app, dest)  # type: ignore[arg-type]  # path, head_sha, tags
        return self._views[co.path]

    def prepare(self, view: RecipeView, version: str | None, chaos: str | None, name: str) -> tuple[Path, dict]:
        """The stamped deploy file, in the view's directory (its paths are recipe-relative)."""
        merged = view.require_config()
        auto_update = abra.auto_update(view.env)
        labels = naming.deploy_labels(
            self.stack, self.app.recipe, version=version, chaos=chaos, auto_update=auto_update
        )
        final = apply_endpoint_mode(compose.stamp(merged, labels, self.labels), self.endpoint)
        out = view.root / f".bare-{name}.yml"
        out.write_text(yaml.safe_dump(compose.escape_dollars(final), sort_keys=False))
        return out, merged

    # -- deploying -----------------------------------------------------------------------------

    def deploy(self, co: SimpleNamespace, version: str | None, chaos: str | None, name: str) -> set[str]:
        """Secrets, the external network, `docker stack deploy`; the services whose spec changed
        (their update must complete)."""
        view = self.view(co)
        path, merged = self.prepare(view, version, chaos, name)
        self.config = merged  # the interpolated compose of the last deploy: hooks, paths
        self._ensure_secrets(view)
        for net in compose.external_networks(merged):
            if not any(n["Name"] == net for n in self.api.networks(names=[net])):
                # As the runner's shared infrastructure, like the plugin's: never removed by anyone.
                labels = {LABEL_INFRASTRUCTURE: "true"}
                self.api.create_network(net, driver="overlay", scope="swarm", attachable=True, labels=labels)
        before = self._templates()
        subprocess.run(
            ["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "-c", str(path), self.stack],
            cwd=view.root,
            check=True,
            capture_output=True,
            timeout=300,
        )
        after = self._templates()
        return {name for name, spec in after.items() if name in before and before[name] != spec}

    def _ensure_secrets(self, view: RecipeView) -> None:
        """One generated secret per SECRET_*_VERSION of .env.sample, where missing."""
        for spec in view.sample.secrets if view.sample else ():
            name = naming.secret_name(self.stack, spec.name, spec.version)
            if any(s["Spec"]["Name"] == name for s in self.api.secrets(filters={"name": name})):
                continue
            alphabet = string.ascii_letters + string.digits
            value = self._secret_values.setdefault(name, "".join(secrets.choice(alphabet) for _ in range(spec.length)))
            self.api.create_secret(name=name, data=value.encode(), labels=self.labels)

    def _services(self) -> list[dict[str, Any]]:
        return self.api.services(filters={"label": f"{STACK_LABEL}={self.stack}"})

    def _templates(self) -> dict[str, Any]:
        return {s["Spec"]["Name"]: s["Spec"]["TaskTemplate"] for s in self._services()}

    def wait(self, timeout: float, expect_update: Iterable[str] = ()) -> None:
        """Tight loop: every service runs one task of its current spec (healthy: swarm only says
        running after the healthcheck passed) and no other; every expected update completed."""
        expected = set(expect_update)
        deadline = time.monotonic() + timeout
        seen = "no service"
        while time.monotonic() < deadline:
            services = self._services()
            pending = [why for svc in services if (why := self._pending(svc, expected))]
            if services and not pending:
                return
            seen = "; ".join(pending) or seen
            time.sleep(POLL)
        raise fail(f"{self.stack} not converged within {timeout}s: {seen}")

    def _pending(self, svc: dict[str, Any], expected: set[str]) -> str:
        name = svc["Spec"]["Name"]
        spec = svc["Spec"]["TaskTemplate"]["ContainerSpec"]
        state = (svc.get("UpdateStatus") or {}).get("State")
        if state in ("rollback_started", "rollback_completed", "paused"):
            raise fail(f"update of {name} failed: {state}")
        tasks = self.api.tasks(filters={"service": svc["ID"], "desired-state": "running"})
        running = [t for t in tasks if t["Status"]["State"] == "running"]
        current = [t for t in running if all(t["Spec"]["ContainerSpec"].get(k) == spec.get(k) for k in SPEC_KEYS)]
        if len(current) == 1 and len(running) == 1 and (name not in expected or state == "completed"):
            return ""
        return f"{name}: update {state}, {len(running)} running, {len(current)} current"

    def snapshot(self) -> dict[str, tuple[Any, set[str]]]:
        """Each service's spec and running task ids: a redeploy of the same head changes neither."""
        return {
            s["Spec"]["Name"]: (
                s["Spec"],
                {t["ID"] for t in self.api.tasks(filters={"service": s["ID"], "desired-state": "running"})},
            )
            for s in self._services()
        }

    def stamp(self) -> dict[str, str]:
        """The coop-cloud labels on the app service, as the swarm has them."""
        prefix = f"coop-cloud.{self.stack}."
        labels = self.api.inspect_service(self.service("app"))["Spec"].get("Labels") or {}
        return {k[len(prefix) :]: v for k, v in labels.items() if k.startswith(prefix)}

    # -- inside the tasks ----------------------------------------------------------------------

    def container(self, service: str) -> Any:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for t in self.api.tasks(filters={"service": self.service(service), "desired-state": "running"}):
                cid = (t["Status"].get("ContainerStatus") or {}).get("ContainerID")
                if t["Status"]["State"] == "running" and cid:
                    return self.client.containers.get(cid)
            time.sleep(POLL)
        raise fail(f"no running container of {service}")

    def sh(self, service: str, cmd: str, ok: bool = True) -> str:
        code, out = self.container(service).exec_run(["sh", "-c", cmd])
        text = out.decode(errors="replace")
        if ok and code != 0:
            raise fail(f"{cmd[:60]!r} in {service}: exit {code}: {text[:200]}")
        return text

    def http(self, path: str, data: str | None = None, service: str = "app") -> tuple[int, str]:
        """(status, body) of a request on 127.0.0.1 from a probe helper in the task's namespace."""
        url = f"http://127.0.0.1:{self.port}{path}"
        argv = ["wget", "-S", "-O", "-", *(["--post-data", data] if data is not None else []), url]
        try:
            out = self.client.containers.run(
                PROBE_IMAGE,
                argv,
                network_mode=f"container:{self.container(service).id}",
                labels=self.labels,
                remove=True,
                stdout=True,
                stderr=True,
            ).decode(errors="replace")
        except docker.errors.ContainerError as exc:
            raise fail(f"{url}: wget exit {exc.exit_status}: {exc.stderr!r}") from None
        statuses = [ln.split()[1] for ln in out.splitlines() if ln.strip().startswith("HTTP/")]
        return (int(statuses[-1]) if statuses else 0), out

    def healthy(self, path: str = "/health") -> None:
        status, out = self.http(path)
        if status != 200:
            raise fail(f"GET {path} answered {status}: {out[:200]!r}")

    def copy_out(self, service: str, path: str) -> bytes:
        stream, _ = self.container(service).get_archive(path)
        return b"".join(stream)

    def put(self, service: str, directory: str, archive: bytes) -> None:
        if not self.container(service).put_archive(directory, archive):
            raise fail(f"put_archive into {service}:{directory}")

    def write(self, service: str, path: str, content: bytes) -> None:
        directory, name = path.rsplit("/", 1)
        self.sh(service, f"mkdir -p {directory}")
        self.put(service, directory, tar_bytes({name: content}))

    def read(self, service: str, path: str) -> bytes:
        return self.copy_out(service, path)  # a tar holding the file: enough to find a marker in

    # -- the end -------------------------------------------------------------------------------

    def teardown(self) -> None:
        """`docker stack rm`, the containers gone, then the app's volume, secrets, configs, networks."""
        subprocess.run(["docker", "stack", "rm", self.stack], capture_output=True, timeout=120)
        deadline = time.monotonic() + 60
        by_stack = {"label": f"{STACK_LABEL}={self.stack}"}
        while time.monotonic() < deadline and self.api.containers(all=True, filters=by_stack):
            time.sleep(POLL)
        # Swarm lets go of a removed stack's networks, configs and secrets a moment after its
        # containers are gone ("in use" until then): retried in the same tight loop.
        while (in_use := self._remove_left(by_stack)) and time.monotonic() < deadline:
            time.sleep(POLL)
        # A teardown that left something is not the plugin's equal: the sample is not valid.
        expect(not in_use, f"bare teardown of {self.stack} left objects in use after 60 s")

    def _remove_left(self, by_stack: dict[str, str]) -> int:
        """Try to remove the app's volumes, secrets, configs and networks; how many are still in use."""
        api, busy = self.api, 0
        kinds = (
            ([v["Name"] for v in api.volumes(filters=by_stack).get("Volumes") or []], api.remove_volume),
            ([s["ID"] for s in api.secrets(filters={"label": f"ccci.domain={self.domain}"})], api.remove_secret),
            ([c["ID"] for c in api.configs(filters=by_stack)], api.remove_config),
            ([n["Id"] for n in api.networks(filters=by_stack)], api.remove_network),
        )
        for ids, remove in kinds:
            for key in ids:
                try:
                    remove(key)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError:
                    busy += 1
        return busy


class Lifecycle:
    """The phases both bare lifecycles share, in the plugin's tier order: install (with its
    idempotent redeploy), the script's own phases (backup, restore, functional), teardown, the
    upgrade from the base release to the head, teardown. Timed per phase."""

    def __init__(self, source: str, work: Path, settings: Settings, port: int, tags: tuple[str, str], timeout: float):
        self.clock = Clock()
        work.mkdir(parents=True, exist_ok=True)
        self.base_tag, self.head_tag = tags  # the upgrade base; the newest release the head is built on
        self.head = checkout(source, work / "head", "HEAD")
        self.base = checkout(source, work / "base", self.base_tag)
        self.chaos = self.head.head_sha[:8]
        self.app = BareApp(settings, self.head.head_sha, work, port)
        self.timeout = timeout
        self.clock.mark("checkouts")

    def install(self) -> None:
        """Deploy the head, wait, probe, read the stamp and the labels (the route check); redeploy
        the same head and check that no task was replaced."""
        app = self.app
        app.deploy(self.head, self.head_tag, self.chaos, "install")
        app.wait(self.timeout)
        app.healthy()
        expect(app.stamp().get("chaos-version") == self.chaos, "install stamp is not the head's")
        app.stamp()  # the route check reads the app service's labels as the swarm has them
        before = {name: tasks for name, (_spec, tasks) in app.snapshot().items()}
        app.deploy(self.head, self.head_tag, self.chaos, "redeploy")
        app.wait(self.timeout)
        after = {name: tasks for name, (_spec, tasks) in app.snapshot().items()}
        expect(before == after, f"redeploying the same head replaced tasks: {before} -> {after}")

    def upgrade(self, seed: Callable[[], Any], still_there: Callable[[Any], bool]) -> None:
        """The base release deployed and seeded, the head redeployed in place, its update waited
        for; then the stamp, the probe and the seed read back."""
        app = self.app
        app.deploy(self.base, self.base_tag, None, "base")
        app.wait(self.timeout)
        seeded = seed()
        self.clock.mark("upgrade_base")
        changed = app.deploy(self.head, self.head_tag, self.chaos, "head")
        app.wait(self.timeout, expect_update=changed)
        expect(app.stamp().get("chaos-version") == self.chaos, "upgrade stamp is not the head's")
        app.healthy()
        expect(still_there(seeded), f"the data seeded on {self.base_tag} is lost in the upgrade")
        self.clock.mark("upgrade_head")

    def run(
        self, phases: list[tuple[str, Callable[[], None]]], seed: Callable[[], Any], still_there: Callable[[Any], bool]
    ) -> dict[str, Any]:
        """The whole lifecycle; the JSON line benchmarks/run.py reads."""
        try:
            self.install()
            self.clock.mark("install")
            for name, phase in phases:
                phase()
                self.clock.mark(name)
            self.app.teardown()
            self.clock.mark("teardown_install")
            self.upgrade(seed, still_there)
        finally:
            self.app.teardown()
            self.clock.mark("teardown")
        return {
            "wall": self.clock.wall,
            "phases": self.clock.phases,
            "stack": self.app.stack,
            "domain": self.app.domain,
        }
