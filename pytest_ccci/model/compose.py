"""Pure operations on a compose config (a dict from `docker stack config`, or a recipe's compose
file as YAML loads it), and the one parser of compose labels.

Labels come in every shape compose accepts and real recipes write: a mapping, a list of
"key=value", a list holding one-item mappings (`- traefik.enable: "true"`), "key = value" with
spaces; YAML makes unquoted `true` a bool and `8080` an int. `labels_dict` reads them all the
same way; lint, backupbot and stamping use it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

MIB = 1 << 20
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def escape_dollars(obj: Any) -> Any:
    """`docker stack config` unescapes `$$`; the file we deploy is interpolated again, so re-escape."""
    if isinstance(obj, str):
        return obj.replace("$", "$$")
    if isinstance(obj, list):
        return [escape_dollars(v) for v in obj]
    if isinstance(obj, dict):
        return {k: escape_dollars(v) for k, v in obj.items()}
    return obj


def labels_dict(raw: Any) -> dict[str, str]:
    """Labels in any form compose accepts, as a dict of strings; None or empty gives {}."""
    items = raw.items() if isinstance(raw, Mapping) else _label_list_items(raw or ())
    return {str(key).strip(): _label_value(value) for key, value in items}


def service_labels(service: Mapping[str, Any] | None) -> dict[str, str]:
    """A service's deploy.labels (swarm service labels, not the container's `labels:`)."""
    deploy = (service or {}).get("deploy") or {}
    return labels_dict(deploy.get("labels"))


def _label_list_items(raw: Any) -> Iterator[tuple[Any, Any]]:
    for entry in raw:
        if isinstance(entry, Mapping):
            yield from entry.items()  # `- key: "value"` in a list is a one-item mapping
        else:
            key, _, value = str(entry).partition("=")  # as docker: no "=" means an empty value
            yield key, value.strip()


def _label_value(value: Any) -> str:
    # YAML turns an unquoted `true` into a bool and `8080` into an int; labels are strings.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _set_labels(holder: dict, labels: Mapping[str, str]) -> None:
    holder["labels"] = {**labels_dict(holder.get("labels")), **labels}


def stamp(config: Mapping, app_labels: Mapping[str, str], run_labels: Mapping[str, str]) -> dict:
    """The config to deploy: abra's labels on `app`, the run's labels on everything it creates."""
    out = copy.deepcopy(dict(config))
    services = out.get("services") or {}
    for name, svc in services.items():
        deploy = svc.setdefault("deploy", {})
        _set_labels(deploy, {**run_labels, **(app_labels if name == "app" else {})})
    for kind in ("volumes", "networks", "configs"):
        for name, spec in (out.get(kind) or {}).items():
            if spec is None:
                spec = out[kind][name] = {}
            if not spec.get("external"):
                _set_labels(spec, run_labels)
    return out


def swarm_name(key: str, spec: Mapping[str, Any] | None, stack: str | None = None) -> str:
    """The swarm name of the compose object (network, volume, secret, config) declared under
    `key`: its `name:`; an external one's key (or its legacy `external: {name: ...}`); else
    `<stack>_<key>`, as a stack deploy names it (the key alone where no stack is given)."""
    spec = spec or {}
    if spec.get("name"):
        return str(spec["name"])
    external = spec.get("external")
    if external:
        legacy = external.get("name") if isinstance(external, Mapping) else None
        return str(legacy or key)
    return f"{stack}_{key}" if stack else str(key)


def external_secrets(config: Mapping) -> dict[str, str]:
    """Compose secret key → the swarm secret name it expects to exist."""
    declared = config.get("secrets") or {}
    return {key: swarm_name(key, spec) for key, spec in declared.items() if (spec or {}).get("external")}


def external_networks(config: Mapping) -> list[str]:
    """The swarm names of the networks the config declares `external` (they must exist)."""
    declared = config.get("networks") or {}
    return [swarm_name(key, spec) for key, spec in declared.items() if (spec or {}).get("external")]


def service_images(config: Mapping) -> dict[str, str]:
    """Service name -> the image it runs, for the services that name one (not `build:` only)."""
    services = config.get("services") or {}
    return {str(name): str(svc["image"]) for name, svc in services.items() if (svc or {}).get("image")}


def parse_memory(value: Any) -> int | None:
    """Compose memory strings ("512M", "1g", 2048) in bytes."""
    if isinstance(value, (int, float)):
        return int(value)
    m = _MEMORY.match(str(value or ""))
    if not m:
        return None
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def declared_memory(config: Mapping) -> int:
    """Bytes the stack declares it needs: reservation, else limit, per replica, summed."""
    total = 0
    for svc in (config.get("services") or {}).values():
        deploy = svc.get("deploy") or {}
        res = deploy.get("resources") or {}
        amount = parse_memory((res.get("reservations") or {}).get("memory")) or parse_memory(
            (res.get("limits") or {}).get("memory")
        )
        replicas = deploy.get("replicas", 1) or 1
        total += (amount or 0) * int(replicas)
    return total


class Mount(NamedTuple):
    """One entry of a service's `volumes:`; `source` is "" for an anonymous volume."""

    type: str  # bind, volume, tmpfs, npipe
    source: str
    target: str
    read_only: bool


def service_mounts(service: Mapping[str, Any] | None) -> list[Mount]:
    """A service's `volumes:` in order, short syntax (`src:dst:ro`) and long (`type: bind`) alike."""
    mounts = []
    for entry in (service or {}).get("volumes") or []:
        if isinstance(entry, Mapping):
            kind = str(entry.get("type", "volume"))
            source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
            mounts.append(Mount(kind, source, target, bool(entry.get("read_only"))))
            continue
        parts = str(entry).split(":")
        if len(parts) < 2:
            mounts.append(Mount("volume", "", parts[0], False))  # "/target" alone: an anonymous volume
            continue
        # Compose's rule for short syntax: a path starts with ".", "/" or "~"; otherwise it is a volume name.
        host_path = parts[0].startswith((".", "/", "~")) or "/" in parts[0]
        mounts.append(Mount("bind" if host_path else "volume", parts[0], parts[1], "ro" in parts[2:3]))
    return mounts


def bound_memory(config: Mapping[str, Any], limit_mib: int) -> dict[str, Any]:
    """A copy of `config` where every service without a memory limit has `limit_mib`."""
    out = copy.deepcopy(dict(config))
    for svc in (out.get("services") or {}).values():
        deploy = svc.get("deploy") or {}
        resources = deploy.get("resources") or {}
        limits = resources.get("limits") or {}
        if (parse_memory(limits.get("memory")) or 0) <= 0:  # none, or 0: unlimited to swarm
            limits["memory"] = f"{limit_mib}M"
            resources["limits"], deploy["resources"], svc["deploy"] = limits, resources, deploy
    return out


def memory_limits(config: Mapping[str, Any]) -> dict[str, int | None]:
    """Each service's memory limit in MiB as deployed (None: unbounded), for results.json."""
    limits: dict[str, int | None] = {}
    for name, svc in (config.get("services") or {}).items():
        raw = (((svc or {}).get("deploy") or {}).get("resources") or {}).get("limits") or {}
        amount = parse_memory(raw.get("memory"))
        limits[str(name)] = amount // MIB if amount and amount > 0 else None
    return limits
