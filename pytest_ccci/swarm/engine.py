"""The one module that talks to the Docker engine.

docker-py for everything it covers; the docker CLI only for what it does not (`docker stack
config` and `docker stack deploy`, which have no API). Convergence is followed through the
engine's event stream: each event wakes the waiter, which then reads the state it needs.
"""

from __future__ import annotations

import io
import os
import queue
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import docker
import docker.errors
import requests.exceptions
import yaml

from pytest_ccci.errors import InfraError, RecipeError, UsageError

SETUP_HINT = "run `bash scripts/setup-engine.sh` as root (installs docker.io, starts dockerd, inits the swarm)"
# Update states after which a service update will not complete on its own.
UPDATE_FAILED = ("rollback_started", "rollback_completed", "rollback_paused", "paused")
STACK_LABEL = "com.docker.stack.namespace"
# What the CLI says when the engine, not the compose file, is the problem.
_ENGINE_TROUBLE = ("Cannot connect to the Docker daemon", "error during connect", "code = Unavailable",
                   "update out of sequence", "context deadline exceeded", "connection refused")
# Event-less transitions (a task rejected before any container exists) are caught by a
# re-read at most this far apart; everything else wakes the waiter the moment its event arrives.
RECHECK_SECONDS = 1.0
# Swarm's task state trails the container events it follows (a task turns `running` a moment
# after its container's `health_status: healthy`), so right after an event the waiter re-reads
# soon, then less and less often: EventFeed.wait().
FOLLOW_UP_SECONDS = 0.05


def _engine_error(exc: Exception) -> InfraError:
    text = " ".join(str(exc).split())
    return InfraError(f"docker engine error: {text}")


def connect(timeout: float = 30.0) -> "Swarm":
    """A connected swarm manager, or a UsageError telling how to get one."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        info = client.info()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise UsageError(f"no Docker daemon reachable at {host}: {SETUP_HINT}") from exc
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise UsageError(
            f"the Docker daemon at {host} is not a swarm manager (state: {swarm.get('LocalNodeState')}): "
            "run `docker swarm init --advertise-addr 127.0.0.1` or " + SETUP_HINT
        )
    return Swarm(client)


@dataclass
class TaskFailure:
    service: str
    task_id: str
    slot: Any
    state: str
    error: str
    exit_code: int | None

    def describe(self) -> str:
        code = f" (exit {self.exit_code})" if self.exit_code not in (None, 0) else ""
        return f"task {self.service}.{self.slot} ({self.task_id[:12]}) {self.state}: {self.error or 'no error given'}{code}"


@dataclass
class ServiceState:
    name: str
    desired: int
    running: int
    update_state: str | None
    update_message: str
    failures: list[TaskFailure] = field(default_factory=list)
    stale_running: int = 0  # running tasks whose spec is not the service's current spec


@dataclass
class Convergence:
    """What the waiter saw: converged, or the true cause of not converging."""

    ok: bool
    reason: str
    services: dict[str, ServiceState]
    elapsed: float
    update_states: dict[str, list[str]] = field(default_factory=dict)  # every updatestate.new seen, in order


class Swarm:
    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.api = client.api

    # -- compose -----------------------------------------------------------------------------

    def stack_config(self, files: Iterable[Path], env: Mapping[str, str], cwd: Path) -> dict:
        """Merged, interpolated compose config, exactly as `docker stack deploy` would read it."""
        args = ["docker", "stack", "config"]
        for f in files:
            args += ["-c", str(f)]
        proc = _run(args, env=env, cwd=cwd)
        if proc.returncode != 0:
            raise RecipeError(f"compose files of {cwd.name} rejected: {_one_line(proc.stderr or proc.stdout)}")
        return yaml.safe_load(proc.stdout) or {}

    def stack_deploy(self, stack: str, compose_file: Path, cwd: Path) -> None:
        # --resolve-image never: local images, and no registry is asked for digests.
        args = ["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "-c", str(compose_file), stack]
        proc = _run(args, env={}, cwd=cwd)
        if proc.returncode != 0:
            said = _one_line(proc.stderr or proc.stdout)
            # The engine's own trouble is not the recipe's fault: unverified, not failed.
            kind = InfraError if any(p in said for p in _ENGINE_TROUBLE) else RecipeError
            raise kind(f"docker stack deploy {stack} failed: {said}")

    # -- secrets -----------------------------------------------------------------------------

    def ensure_secret(self, name: str, value: str, labels: Mapping[str, str]) -> bool:
        """Create a secret unless one of that name exists (a redeploy keeps its secrets)."""
        try:
            # The name filter matches prefixes: only an exact name counts as existing.
            if any(s["Spec"]["Name"] == name for s in self.api.secrets(filters={"name": name})):
                return False
            self.api.create_secret(name=name, data=value.encode(), labels=dict(labels))
            return True
        except docker.errors.APIError as exc:
            raise _engine_error(exc) from None

    # -- state -------------------------------------------------------------------------------

    def services(self, stack: str) -> list[dict]:
        return self.api.services(filters={"label": f"{STACK_LABEL}={stack}"})

    def service(self, name: str) -> dict | None:
        found = [s for s in self.api.services(filters={"name": name}) if s["Spec"]["Name"] == name]
        return found[0] if found else None

    def service_labels(self, name: str) -> dict[str, str]:
        svc = self.service(name)
        return dict(svc["Spec"].get("Labels") or {}) if svc else {}

    def service_state(self, svc: dict, since: float) -> ServiceState:
        name = svc["Spec"]["Name"]
        mode = svc["Spec"].get("Mode", {})
        desired = mode.get("Replicated", {}).get("Replicas", 1) if "Replicated" in mode else 1
        tasks = self.api.tasks(filters={"service": svc["ID"]})
        current = svc["Spec"]["TaskTemplate"].get("ContainerSpec", {})
        running = stale = 0
        failures = []
        for task in tasks:
            status = task.get("Status", {})
            state = status.get("State")
            if task.get("DesiredState") == "running" and state == "running":
                if _same_container_spec(task["Spec"].get("ContainerSpec", {}), current):
                    running += 1
                else:
                    stale += 1
            # A task of a long-running service that ended on its own failed, whatever its exit
            # code: an app that exits 0 on the SIGTERM swarm sends an unhealthy task ends
            # `complete`, not `failed`. (Tasks stopped by an update or a removal end `shutdown`.)
            if state in ("failed", "rejected", "complete") and _timestamp(status.get("Timestamp")) >= since:
                failures.append(
                    TaskFailure(
                        service=name,
                        task_id=task["ID"],
                        slot=task.get("Slot", "?"),
                        state=state,
                        error=status.get("Err") or ("exited on its own" if state == "complete" else ""),
                        exit_code=(status.get("ContainerStatus") or {}).get("ExitCode"),
                    )
                )
        failures.sort(key=lambda f: f.task_id)
        upd = svc.get("UpdateStatus") or {}
        return ServiceState(
            name=name,
            desired=desired,
            running=running,
            update_state=upd.get("State") if _timestamp(upd.get("StartedAt")) >= since else None,
            update_message=upd.get("Message", ""),
            failures=failures,
            stale_running=stale,
        )

    def running_container(self, service: str):
        """The container of a running task of `service` (single-node swarm: it is local)."""
        tasks = self.api.tasks(filters={"service": service, "desired-state": "running"})
        for task in tasks:
            cid = (task.get("Status", {}).get("ContainerStatus") or {}).get("ContainerID")
            if task["Status"].get("State") == "running" and cid:
                try:
                    return self.client.containers.get(cid)
                except docker.errors.NotFound:
                    continue
        # The daemon answered: the app is not running (it crashed after a restore, say). That is
        # the recipe's doing, named with its last task's own words.
        recent = sorted(self.api.tasks(filters={"service": service}), key=lambda t: t["Status"].get("Timestamp", ""))
        last = f": last task {recent[-1]['Status'].get('State')}: {recent[-1]['Status'].get('Err') or 'no error given'}" if recent else ""
        raise RecipeError(f"service {service} has no running task{last}")

    def health_log(self, service: str, since: float) -> str:
        """The last healthcheck output of the service's most recent container, for messages."""
        try:
            listed = self.api.containers(all=True, filters={"label": f"com.docker.swarm.service.name={service}"})
        except docker.errors.APIError:
            return ""
        for entry in sorted(listed, key=lambda c: c.get("Created", 0), reverse=True):
            try:
                state = self.api.inspect_container(entry["Id"]).get("State", {})
            except docker.errors.NotFound:
                continue
            log = (state.get("Health") or {}).get("Log") or []
            # The newest check that said something (a check cut off by the kill says nothing).
            said = [entry for entry in log if (entry.get("Output") or "").strip()]
            if said:
                last = said[-1]
                return f"last healthcheck exit {last.get('ExitCode')}: {_one_line(last.get('Output', ''))[:200]}"
        return ""

    def task_logs(self, service: str, lines: int = 20) -> str:
        try:
            raw = self.api.service_logs(service, stdout=True, stderr=True, tail=lines, timestamps=False)
            return b"".join(raw).decode(errors="replace") if not isinstance(raw, bytes) else raw.decode(errors="replace")
        except docker.errors.APIError:
            return ""

    # -- waiting -----------------------------------------------------------------------------

    def events(self, since: float, kinds: tuple[str, ...] = ("service", "container")) -> "EventFeed":
        return EventFeed(self.api, since, kinds)

    def wait_converged(
        self,
        stack: str,
        since: float,
        timeout: float,
        max_task_failures: int,
        expect_update: Iterable[str] = (),
        progress: Callable[[str], None] | None = None,
    ) -> Convergence:
        """Wait until every service of the stack runs its desired replicas of its current spec,
        healthy (swarm counts a task running only once its healthcheck passes), and every
        expected update completed; or until the swarm shows it will not get there."""
        expect_update = set(expect_update)
        start = time.monotonic()
        deadline = start + timeout
        seen_updates: dict[str, list[str]] = {}
        next_progress = start + 10
        with self.events(since) as feed:
            while True:
                for ev in feed.drain():
                    new = (ev.get("Actor", {}).get("Attributes") or {}).get("updatestate.new")
                    if ev.get("Type") == "service" and new:
                        seen_updates.setdefault(ev["Actor"]["Attributes"].get("name", "?"), []).append(new)
                try:
                    states = {s["Spec"]["Name"]: self.service_state(s, since) for s in self.services(stack)}
                except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
                    raise _engine_error(exc) from None
                verdict = _verdict(states, expect_update, max_task_failures, seen_updates)
                elapsed = time.monotonic() - start
                if verdict is not None:
                    ok, reason, culprit = verdict
                    if culprit:
                        health = self.health_log(culprit, since)
                        reason += f"; {health}" if health else ""
                    return Convergence(ok, reason, states, elapsed, seen_updates)
                now = time.monotonic()
                if now >= deadline:
                    return Convergence(False, self._timeout_reason(states, timeout, since), states, elapsed, seen_updates)
                if progress and now >= next_progress:
                    waiting = ", ".join(f"{n} {s.running}/{s.desired}" for n, s in states.items())
                    progress(f"waiting for {stack} to converge ({waiting}): {elapsed:.0f}s of {timeout:.0f}s")
                    next_progress = now + 10
                feed.wait(deadline - now)

    def _timeout_reason(self, states: dict[str, ServiceState], timeout: float, since: float) -> str:
        parts = []
        for name, s in states.items():
            if s.running >= s.desired and not s.stale_running:
                continue
            why = f"{name} has {s.running}/{s.desired} running tasks"
            if s.failures:
                why += f"; last {s.failures[-1].describe()}"
            health = self.health_log(name, since)
            if health:
                why += f"; {health}"
            parts.append(why)
        if not states:
            parts.append("the stack has no services")
        elif not parts:
            parts.append("update not completed: " + ", ".join(f"{n} {s.update_state or 'no update state'}" for n, s in states.items()))
        return f"not converged within {timeout:.0f}s: " + "; ".join(parts)

    def wait_gone(self, stack: str, timeout: float = 60.0, service_ids: Iterable[str] = ()) -> bool:
        """After removing services: wait until their tasks and containers are gone (a task still
        preparing creates its container, and so its volume, after the service is removed)."""
        deadline = time.monotonic() + timeout
        service_ids = list(service_ids)
        with self.events(time.time(), kinds=("container",)) as feed:
            while time.monotonic() < deadline:
                # The low-level list: no per-container inspect that races the removal.
                containers = self.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"})
                # (Filtering tasks by a removed service's id is a 404: list them all, then match.)
                tasks = [t for t in self.api.tasks() if t.get("ServiceID") in service_ids] if service_ids else []
                if not containers and not tasks:
                    return True
                feed.wait(max(0.0, deadline - time.monotonic()))
        return False

    # -- exec and archives -------------------------------------------------------------------

    def exec(self, service: str, cmd: list[str] | str, timeout: float = 60.0) -> tuple[int, str]:
        """Run a command inside the service's running task; (exit code, combined output).

        Bounded by `timeout` twice over: inside the container by `timeout` (busybox and
        coreutils both have it) where the image has one, and from here in any case; a command
        still running then is killed by its own process id, and the result is exit 124."""
        container = self.running_container(service)
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        bound = max(1, int(timeout))
        wrapped = ["sh", "-c", 'if command -v timeout >/dev/null 2>&1; then exec timeout "$0" "$@"; else exec "$@"; fi', str(bound), *argv]
        try:
            exec_id = self.api.exec_create(container.id, wrapped)["Id"]
        except docker.errors.APIError as exc:
            raise _engine_error(exc) from None
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                result["out"] = self.api.exec_start(exec_id)
            except Exception as exc:  # surfaced below, in the caller's thread
                result["e"] = exc

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout + 5)
        if worker.is_alive():
            self._kill_exec(exec_id)
            return 124, f"timed out after {timeout:.0f}s"
        if "e" in result:
            raise _engine_error(result["e"])
        code = self.api.exec_inspect(exec_id).get("ExitCode")
        out = (result.get("out") or b"").decode(errors="replace")
        if code in (124, 143) and bound <= timeout:
            # busybox `timeout` ends the command with TERM (143), coreutils says 124: one answer.
            return 124, f"timed out after {timeout:.0f}s" + (f": {out.strip()}" if out.strip() else "")
        return code if code is not None else -1, out

    def _kill_exec(self, exec_id: str) -> None:
        """Kill a hung exec by its own pid (the host's view; the daemon is local on a swarm node
        we test on). Never by name: that could hit the app's own processes."""
        try:
            pid = self.api.exec_inspect(exec_id).get("Pid")
            if pid:
                os.kill(pid, 9)
        except (docker.errors.APIError, ProcessLookupError, PermissionError):
            pass

    def get_archive(self, service: str, path: str) -> bytes:
        container = self.running_container(service)
        try:
            stream, _ = container.get_archive(path)
        except docker.errors.NotFound:
            raise RecipeError(f"{service}: path {path} does not exist in the running container") from None
        return b"".join(stream)

    def put_archive(self, service: str, path: str, data: bytes) -> None:
        container = self.running_container(service)
        if not container.put_archive(path, data):
            raise InfraError(f"{service}: could not write archive into {path}")

    # -- teardown ----------------------------------------------------------------------------

    def remove(self, stack: str, label_filter: str, timeout: float = 60.0) -> list[str]:
        """Remove a stack and everything labelled `label_filter`; return what is still left."""
        removed = []
        for svc in self.services(stack):
            try:
                self.api.remove_service(svc["ID"])
                removed.append(svc["ID"])
            except docker.errors.NotFound:
                pass
        deadline = time.monotonic() + timeout
        self.wait_gone(stack, timeout, removed)
        # Swarm lets go of a removed service's networks, configs and secrets a moment after its
        # containers are gone ("in use" until then): retry until nothing is left or time is up.
        with self.events(time.time(), kinds=("service", "container", "network")) as feed:
            while True:
                busy = 0
                for _kind, lister, remover, key in self._kinds(label_filter, stack):
                    for obj in lister():
                        try:
                            remover(obj[key])
                        except docker.errors.NotFound:
                            pass
                        except docker.errors.APIError:
                            busy += 1
                if not busy or time.monotonic() >= deadline:
                    break
                feed.wait(max(0.0, deadline - time.monotonic()))
        return self.leftovers(label_filter, stack)

    def _kinds(self, label_filter: str, stack: str):
        api = self.api
        by_label = {"label": label_filter}
        by_stack = {"label": f"{STACK_LABEL}={stack}"}
        return (
            ("network", lambda: api.networks(filters=by_stack) + api.networks(filters=by_label), api.remove_network, "Id"),
            ("volume", lambda: (api.volumes(filters=by_stack).get("Volumes") or []) + (api.volumes(filters=by_label).get("Volumes") or []), api.remove_volume, "Name"),
            ("secret", lambda: api.secrets(filters=by_label) + api.secrets(filters=by_stack), api.remove_secret, "ID"),
            ("config", lambda: api.configs(filters=by_label) + api.configs(filters=by_stack), api.remove_config, "ID"),
        )

    def leftovers(self, label_filter: str, stack: str | None = None) -> list[str]:
        """Everything still on the swarm carrying the label (and the stack's namespace)."""
        left = []
        by_label = {"label": label_filter}
        for svc in self.api.services(filters=by_label):
            left.append(f"service {svc['Spec']['Name']}")
        if stack:
            left += [f"service {s['Spec']['Name']}" for s in self.services(stack) if f"service {s['Spec']['Name']}" not in left]
        for kind, lister, _remover, _key in self._kinds(label_filter, stack or "\0none"):
            for obj in lister():
                name = obj.get("Name") or obj.get("Spec", {}).get("Name") or obj.get("Id", obj.get("ID"))
                entry = f"{kind} {name}"
                if entry not in left:
                    left.append(entry)
        return left

    def labelled(self, label_key: str, also: str | None = None) -> dict[str, set[str]]:
        """Values of `label_key` on every labelled resource kind (that also carries the label
        `also`, when given), mapped to what carries them."""
        found: dict[str, set[str]] = {}
        api = self.api
        f = {"label": [label_key, also] if also else label_key}
        groups = [
            ("service", api.services(filters=f), lambda o: o["Spec"].get("Labels") or {}, lambda o: o["Spec"]["Name"]),
            ("network", api.networks(filters=f), lambda o: o.get("Labels") or {}, lambda o: o["Name"]),
            ("volume", api.volumes(filters=f).get("Volumes") or [], lambda o: o.get("Labels") or {}, lambda o: o["Name"]),
            ("secret", api.secrets(filters=f), lambda o: o["Spec"].get("Labels") or {}, lambda o: o["Spec"]["Name"]),
            ("config", api.configs(filters=f), lambda o: o["Spec"].get("Labels") or {}, lambda o: o["Spec"]["Name"]),
        ]
        for kind, objs, labels, name in groups:
            for obj in objs:
                value = labels(obj).get(label_key)
                if value:
                    found.setdefault(value, set()).add(f"{kind} {name(obj)}")
        return found

    def stack_of_domain(self, label_filter: str) -> set[str]:
        stacks = set()
        for svc in self.api.services(filters={"label": label_filter}):
            ns = (svc["Spec"].get("Labels") or {}).get(STACK_LABEL)
            if ns:
                stacks.add(ns)
        return stacks


class EventFeed:
    """The engine's event stream, read on a thread into a queue so the waiter can also time out."""

    def __init__(self, api, since: float, kinds: tuple[str, ...]):
        self._queue: queue.Queue = queue.Queue()
        # The daemon takes whole seconds; events from before `since` itself are dropped in
        # _pump, or a previous update's `completed` would pass for this one's.
        self._since_ns = int(since * 1e9)
        self._follow_up = FOLLOW_UP_SECONDS
        self._stream = api.events(since=int(since), decode=True, filters={"type": list(kinds)})
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for ev in self._stream:
                if ev.get("timeNano", self._since_ns) >= self._since_ns:
                    self._queue.put(ev)
        except Exception:  # the stream was closed, or the daemon went away
            self._queue.put(None)

    def wait(self, timeout: float) -> None:
        """Block until an event arrives, or until the next follow-up re-read is due, or the
        timeout; the event stays queued for drain()."""
        timeout = min(timeout, self._follow_up)
        self._follow_up = min(self._follow_up * 2, RECHECK_SECONDS)
        if timeout <= 0:
            return
        try:
            ev = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        self._queue.put(ev)
        self._follow_up = FOLLOW_UP_SECONDS

    def drain(self) -> list[dict]:
        out = []
        while True:
            try:
                ev = self._queue.get_nowait()
            except queue.Empty:
                return out
            if ev is not None:
                out.append(ev)

    def __enter__(self) -> "EventFeed":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._stream.close()
        except Exception:
            pass


def _verdict(
    states: Mapping[str, ServiceState],
    expect_update: set[str],
    max_task_failures: int,
    seen_updates: Mapping[str, list[str]],
) -> tuple[bool, str, str | None] | None:
    """(ok, reason, the failing service) once the outcome is known, None while converging."""
    if not states:
        return None
    for name, s in states.items():
        seen = seen_updates.get(name, [])
        failed_state = next((st for st in seen if st in UPDATE_FAILED), None) or (
            s.update_state if s.update_state in UPDATE_FAILED else None
        )
        if failed_state:
            verb = "rolled back" if failed_state.startswith("rollback") else "paused"
            cause = f"; {s.failures[-1].describe()}" if s.failures else ""
            msg = f": {s.update_message}" if s.update_message else ""
            return False, f"swarm {verb} the update of {name} ({failed_state}){msg}{cause}", name
        if len(s.failures) >= max_task_failures:
            return False, f"{name} lost {len(s.failures)} tasks; last {s.failures[-1].describe()}", name
    for name, s in states.items():
        if s.running < s.desired or s.stale_running:
            return None
        if name in expect_update and s.update_state != "completed" and "completed" not in seen_updates.get(name, []):
            return None
    return True, "converged", None


def _same_container_spec(task_spec: Mapping, service_spec: Mapping) -> bool:
    keys = ("Image", "Args", "Command", "Env", "Labels", "Mounts", "Healthcheck")
    return all(task_spec.get(k) == service_spec.get(k) for k in keys)


def _timestamp(value: str | None) -> float:
    """Docker's RFC 3339 timestamps (nanoseconds) as epoch seconds; 0 for none."""
    if not value or value.startswith("0001-"):
        return 0.0
    from datetime import datetime

    head, _, frac = value.rstrip("Z").partition(".")
    base = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
    offset = 0.0
    digits = "".join(ch for ch in frac if ch.isdigit())
    if digits:
        offset = float("0." + digits[:6])
    from calendar import timegm

    return timegm(base.timetuple()) + offset


def _run(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # The recipe's env replaces the caller's: nothing from the CI host leaks into interpolation,
    # but the CLI still needs to find its daemon and its config.
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")}
    try:
        return subprocess.run(args, env={**keep, **env}, cwd=cwd, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise UsageError(f"the docker CLI is not installed: {SETUP_HINT}") from None
    except subprocess.TimeoutExpired:
        raise InfraError(f"{' '.join(args[:3])} did not finish within 300s") from None


def _one_line(text: str) -> str:
    return " ".join((text or "").split())[:500]


def tar_bytes(files: Mapping[str, bytes]) -> bytes:
    """A tar archive of {name: content}, for put_archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()
