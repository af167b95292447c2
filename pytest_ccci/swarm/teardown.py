"""Removing what a run put on the swarm, and finding what earlier runs left behind.

A run labels everything it creates (services, networks, volumes, secrets, configs, probe helper
containers); teardown and the janitor find things by that label and by the stack's namespace
label (`com.docker.stack.namespace`, which docker puts on services, networks, secrets, configs
and on every task's container). The runner's shared networks (networks.py) carry neither, and
are never removed here.

Teardown is judged by what is really left, never by a wait: a task container still there once
its service's stop grace has run out (`stop_patience`: the stack's longest stop_grace_period as
deployed, plus the agent's own delay, at most `MAX_STOP_PATIENCE_SECONDS`) is force-removed with
its anonymous volumes, and said so; whatever survives is returned, named. A service that stops
within its grace, however long the policy lets it be, is never force-killed.

How each service's tasks ended is read from the engine's events while they stop: a task
container's first `kill` event carries its stop signal, its `die` event its exit code; the time
between them, the exit code and the service's stop_grace_period make a stop record
(model/stops.py), each service's worst task handed to `stopped` once the stack is gone. A task
already stopped before teardown (crashed, or scaled to 0) has no record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import docker
import docker.errors

from pytest_ccci.model import stops
from pytest_ccci.model.naming import SERVICE_NAME_LABEL
from pytest_ccci.swarm import inventory
from pytest_ccci.swarm.events import EventFeed
from pytest_ccci.swarm.stack import STACK_LABEL
from pytest_ccci.swarm.waiter import REMOVAL_TIMEOUT_SECONDS, wait_gone

Obj = dict[str, Any]
# A removed service's containers get their stop grace period and this much more (swarm's agent
# adds its own delay before its SIGKILL lands) before they are force-removed.
STOP_SLACK_SECONDS = 10.0
# Past this, teardown force-removes whatever the grace: a grace the policy leaves unbounded
# (ccci_max_stop_grace empty) may be a year long, and the removal's timeout starts after it.
MAX_STOP_PATIENCE_SECONDS = 120.0
# (kind, list them, remove one, the key remove takes): the labelled kinds besides services.
Kind = tuple[str, Callable[[], list[Obj]], Callable[[str], Any], str]
# How long the `die` events of containers already gone may trail behind (the feed's reader
# thread): past it (the engine restarted and the stream ended, say), those tasks have no record.
DIE_EVENT_LAG_SECONDS = 5.0
# Swarm's label on a task's container naming its task (inventory.py's; the service's: naming.py).
TASK_ID_LABEL = inventory.TASK_ID_LABEL
Stopped = Callable[[dict[str, stops.StopRecord]], None]


def remove(
    api: docker.APIClient,
    stack: str,
    label_filter: str,
    timeout: float = REMOVAL_TIMEOUT_SECONDS,
    say: Callable[[str], None] | None = None,
    stopped: Stopped | None = None,
) -> list[str]:
    """Remove a stack and everything labelled `label_filter`; return what is still left (named).
    A task container that outlives its service's removal is force-removed, each said to `say`;
    how each service's running tasks ended goes to `stopped` ({service: record}, the compose
    service's name as key)."""
    with EventFeed(api, time.time(), kinds=("container",)) as stop_feed:
        running = _running_tasks(api, stack)
        graces = {svc["Spec"]["Name"]: _grace_seconds(svc) for svc in inventory.services(api, stack)}
        patience = stop_patience(graces.values())
        removed = _remove_services(api, stack)
        gone = wait_gone(api, stack, patience, removed)
        # The removal's own timeout starts once the tasks had their grace.
        deadline = time.monotonic() + timeout
        if not gone:
            for line in _force_remove_containers(api, stack, patience):
                (say or (lambda _line: None))(line)
            gone = wait_gone(api, stack, max(0.0, deadline - time.monotonic()), removed)
        if stopped is not None:
            lag = min(deadline, time.monotonic() + DIE_EVENT_LAG_SECONDS)
            stopped(task_stops(_stop_events(stop_feed, running, lag), stack, graces))
    # Swarm lets go of a removed service's networks, configs and secrets a moment after its
    # containers are gone ("in use" until then): retry until nothing is left or time is up.
    with EventFeed(api, time.time(), kinds=("service", "container", "network")) as feed:
        while True:
            # Events only wake this loop: one left buffered would make wait() spin, and one that
            # comes while removing must still wake the next wait (so: drained before, not after).
            feed.drain()
            if not _remove_labelled(_kinds(api, label_filter, stack)) or time.monotonic() >= deadline:
                break
            feed.wait(max(0.0, deadline - time.monotonic()))
    left = leftovers(api, label_filter, stack)
    if not gone:  # a wait that timed out is never clean, even when nothing is listed any more
        left += [f"tasks of {stack} (their removal did not finish within {timeout:.0f}s)"]
    return left


def stop_patience(graces: Iterable[float]) -> float:
    """How long removed services' tasks get to stop before they are force-removed: the longest
    stop grace period (swarm's default at least), its agent's delay, bounded."""
    longest = max([stops.DEFAULT_GRACE_SECONDS, *graces])
    return min(longest + STOP_SLACK_SECONDS, MAX_STOP_PATIENCE_SECONDS)


def _remove_services(api: docker.APIClient, stack: str) -> list[str]:
    """Remove the stack's services; the ids of those removed."""
    removed = []
    for svc in inventory.services(api, stack):
        try:
            api.remove_service(svc["ID"])
            removed.append(svc["ID"])
        except docker.errors.NotFound:
            pass
    return removed


def _running_tasks(api: docker.APIClient, stack: str) -> set[str]:
    """The task ids of the stack's running containers: those whose stop teardown measures."""
    running = api.containers(filters={"label": f"{STACK_LABEL}={stack}", "status": "running"})
    return {(c.get("Labels") or {}).get(TASK_ID_LABEL, "") for c in running} - {""}


def _grace_seconds(svc: Obj) -> float:
    """The service's stop_grace_period (swarm's default when it sets none)."""
    spec = (svc["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {}
    grace_ns = spec.get("StopGracePeriod")
    return grace_ns / 1e9 if grace_ns is not None else stops.DEFAULT_GRACE_SECONDS


def _stop_events(feed: EventFeed, running: set[str], deadline: float) -> list[Obj]:
    """The feed's events until every running task's `die` came (the containers are gone, so
    their `die` was sent: the reader may still be a moment behind) or time is up."""
    events: list[Obj] = []
    while True:
        events += feed.drain()
        died = {_attributes(e).get(TASK_ID_LABEL) for e in events if e.get("Action") == "die"}
        if running <= died or time.monotonic() >= deadline:
            return events
        feed.wait(max(0.0, deadline - time.monotonic()))


def task_stops(events: Iterable[Obj], stack: str, graces: dict[str, float]) -> dict[str, stops.StopRecord]:
    """Each service's worst task stop, from container events: a task's first `kill` (its stop
    signal, and when it was sent) and its `die` (exit code, when). A `die` with no `kill` before
    it was no stop of teardown's (the task exited on its own): it has no record."""
    first: dict[str, tuple[int, int]] = {}  # task id: (time in ns, signal) of its first event
    by_service: dict[str, list[stops.StopRecord]] = {}
    for event in events:
        attrs = _attributes(event)
        task, service = attrs.get(TASK_ID_LABEL), attrs.get(SERVICE_NAME_LABEL, "")
        if not task or attrs.get(STACK_LABEL) != stack:
            continue
        when = int(event.get("timeNano") or 0)
        if event.get("Action") == "kill":
            first.setdefault(task, (when, _int(attrs.get("signal"), stops.SIGTERM)))
        elif event.get("Action") == "die" and task in first:
            asked, signal = first.pop(task)
            record = stops.classify(
                _int(attrs.get("exitCode"), -1), (when - asked) / 1e9, graces.get(service, 0.0), signal
            )
            by_service.setdefault(service.removeprefix(f"{stack}_"), []).append(record)
    return {name: stops.worst(*records) for name, records in by_service.items()}


def _attributes(event: Obj) -> dict[str, str]:
    return (event.get("Actor") or {}).get("Attributes") or {}


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _force_remove_containers(api: docker.APIClient, stack: str, patience: float) -> list[str]:
    """Force-remove the stack's containers still there (their services are removed); what was done."""
    said = []
    for container in inventory.stack_containers(api, stack):
        name = _container_name(container)
        try:
            api.remove_container(container["Id"], force=True, v=True)  # its anonymous volumes too
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as exc:
            said.append(f"container {name} of stack {stack} could not be force-removed: {exc.explanation or exc}")
            continue
        said.append(
            f"force-removed container {name} of stack {stack}: still {container.get('State') or 'there'} "
            f"{patience:.0f}s after its service was removed (its stop signal ignored under a stop_grace_period "
            "longer than that?)"
        )
    return said


def _container_name(container: Obj) -> str:
    names = [n.lstrip("/") for n in container.get("Names") or []]
    return names[0] if names else str(container.get("Id", ""))[:12]


def _remove_labelled(kinds: Iterable[Kind]) -> int:
    """Try to remove everything listed; how many are still in use."""
    busy = 0
    for _kind, lister, remover, key in kinds:
        for obj in lister():
            try:
                remover(obj[key])
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:
                busy += 1
    return busy


def _kinds(api: docker.APIClient, label_filter: str, stack: str) -> tuple[Kind, ...]:
    by_label = {"label": label_filter}
    by_stack = {"label": f"{STACK_LABEL}={stack}"}

    def volumes() -> list[Obj]:
        return [v for f in (by_stack, by_label) for v in api.volumes(filters=f).get("Volumes") or []]

    def containers() -> list[Obj]:
        # Plain containers of the app (a probe helper left by a killed run); task containers
        # carry no run labels: they go with their services, or remove() forces them.
        return list(api.containers(all=True, filters=by_label))

    return (
        ("container", containers, lambda cid: api.remove_container(cid, force=True, v=True), "Id"),
        ("network", lambda: api.networks(filters=by_stack) + api.networks(filters=by_label), api.remove_network, "Id"),
        ("volume", volumes, api.remove_volume, "Name"),
        ("secret", lambda: [*api.secrets(filters=by_label), *api.secrets(filters=by_stack)], api.remove_secret, "ID"),
        ("config", lambda: api.configs(filters=by_label) + api.configs(filters=by_stack), api.remove_config, "ID"),
    )


def leftovers(api: docker.APIClient, label_filter: str, stack: str | None = None) -> list[str]:
    """Everything still on the swarm carrying the label (and the stack's namespace), named:
    services, containers (task containers included), networks, volumes, secrets, configs."""
    left = [f"service {svc['Spec']['Name']}" for svc in api.services(filters={"label": label_filter})]
    if stack:
        left += [f"service {s['Spec']['Name']}" for s in inventory.services(api, stack)]
        # Task containers carry no run label, only swarm's: one that outlived its service.
        left += [f"container {_container_name(c)}" for c in inventory.stack_containers(api, stack)]
    for kind, lister, _remover, _key in _kinds(api, label_filter, stack or "\0none"):
        for obj in lister():
            name = _container_name(obj) if kind == "container" else obj.get("Name") or obj.get("Spec", {}).get("Name")
            left.append(f"{kind} {name or obj.get('Id', obj.get('ID'))}")
    return list(dict.fromkeys(left))  # each once, in the order found


def labelled(api: docker.APIClient, label_key: str, also: str | None = None) -> dict[str, set[str]]:
    """Values of `label_key` on every labelled resource kind (that also carries the label
    `also`, when given), mapped to what carries them."""
    f = {"label": [label_key, also] if also else label_key}
    groups: list[tuple[str, Iterable[Obj], Callable[[Obj], Obj], Callable[[Obj], str]]] = [
        ("service", api.services(filters=f), lambda o: o["Spec"].get("Labels") or {}, lambda o: o["Spec"]["Name"]),
        ("container", api.containers(all=True, filters=f), lambda o: o.get("Labels") or {}, lambda o: o["Id"][:12]),
        ("network", api.networks(filters=f), lambda o: o.get("Labels") or {}, lambda o: o["Name"]),
        ("volume", api.volumes(filters=f).get("Volumes") or [], lambda o: o.get("Labels") or {}, lambda o: o["Name"]),
        ("secret", api.secrets(filters=f), lambda o: o["Spec"].get("Labels") or {}, lambda o: o["Spec"]["Name"]),
        ("config", api.configs(filters=f), lambda o: o["Spec"].get("Labels") or {}, lambda o: o["Spec"]["Name"]),
    ]
    found: dict[str, set[str]] = {}
    for kind, objs, labels, name in groups:
        for obj in objs:
            value = labels(obj).get(label_key)
            if value:
                found.setdefault(value, set()).add(f"{kind} {name(obj)}")
    return found


def stack_of_domain(api: docker.APIClient, label_filter: str) -> set[str]:
    """The stack namespaces of the services carrying the label."""
    stacks = set()
    for svc in api.services(filters={"label": label_filter}):
        namespace = (svc["Spec"].get("Labels") or {}).get(STACK_LABEL)
        if namespace:
            stacks.add(namespace)
    return stacks
