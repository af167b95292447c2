"""Whether redeploying the same head left the app alone: molecule's idempotence check, pure.

An operator re-running `abra app deploy` on an unchanged recipe must not restart anything. The
lifecycle snapshots every service of the stack (its spec and its running task ids) before and
after the redeploy; `replaced_tasks` names each service whose running tasks changed, with the
spec fields that differ (`TaskTemplate.ContainerSpec.Env (GREETING)`): the true cause, a
generated value, a moving tag or a config re-rendered differently. Env values are never shown,
only the names of the variables that changed (they may be secrets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Fields named in a message, at most: one is the cause, a dozen is noise.
MAX_FIELDS = 6


@dataclass(frozen=True)
class ServiceSnapshot:
    spec: Mapping[str, Any]  # the service's Spec, as the engine reports it
    tasks: frozenset[str]  # ids of the tasks swarm wants running

    @property
    def task_template(self) -> Mapping[str, Any]:
        return task_template(self.spec)


def task_template(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a service's tasks run, from its Spec: a change here makes swarm replace them."""
    return spec.get("TaskTemplate") or {}


@dataclass(frozen=True)
class FieldChange:
    """A field where two engine documents differ: its path (`A.B[0].C`), the values on each side
    (None: absent), or for an env list only the names of the variables that changed (`hidden`:
    env values may be secrets)."""

    path: str
    before: Any = None
    after: Any = None
    hidden: bool = False


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Where two engine documents differ, deepest first-differing field each. An env list is one
    change naming the variables whose values differ (`...Env (NAME, OTHER)`), values hidden."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[FieldChange] = []
        for key in sorted(set(before) | set(after), key=str):
            out += field_changes(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return out
    if path.endswith(".Env") and isinstance(before, list) and isinstance(after, list):
        names = _changed_env_names(before, after)
        return [FieldChange(f"{path} ({', '.join(names)})", hidden=True)] if names else []
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += field_changes(b, a, f"{path}[{i}]")
        return out
    return [] if before == after else [FieldChange(path or "(the whole document)", before, after)]


def changed_fields(before: Any, after: Any) -> list[str]:
    """The paths where two engine documents differ (field_changes', values left out)."""
    return [change.path for change in field_changes(before, after)]


def _changed_env_names(before: list[Any], after: list[Any]) -> list[str]:
    old, new = _env_map(before), _env_map(after)
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def _env_map(entries: list[Any]) -> dict[str, str | None]:
    pairs = (str(e).partition("=") for e in entries)
    return {name: (value if sep else None) for name, sep, value in pairs}


def replaced_tasks(before: Mapping[str, ServiceSnapshot], after: Mapping[str, ServiceSnapshot]) -> list[str]:
    """One line per service whose running tasks a redeploy replaced, naming what changed."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            lines.append(f"service {name} was {'created' if old is None else 'removed'} by the redeploy")
            continue
        if old.tasks == new.tasks:
            continue
        fields = changed_fields(old.spec, new.spec)
        gone = ", ".join(sorted(t[:12] for t in old.tasks - new.tasks)) or "none"
        if fields:
            more = f" and {len(fields) - MAX_FIELDS} more" if len(fields) > MAX_FIELDS else ""
            lines.append(
                f"service {name}: task {gone} replaced; its spec changed: {', '.join(fields[:MAX_FIELDS])}{more}"
            )
        else:
            lines.append(f"service {name}: task {gone} replaced though its spec did not change (it stopped on its own)")
    return lines
