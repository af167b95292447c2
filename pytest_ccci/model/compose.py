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
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|\u00b5s|ms|s|m|h))+|0")
PIDS_VERSION = (3, 9)  # the first compose file version whose schema has limits.pids (docker CLI 28)


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


def _set_labels(holder: dict[str, Any], labels: Mapping[str, str]) -> None:
    holder["labels"] = {**labels_dict(holder.get("labels")), **labels}


def stamp(config: Mapping[str, Any], app_labels: Mapping[str, str], run_labels: Mapping[str, str]) -> dict[str, Any]:
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


def external_secrets(config: Mapping[str, Any]) -> dict[str, str]:
    """Compose secret key → the swarm secret name it expects to exist."""
    declared = config.get("secrets") or {}
    return {key: swarm_name(key, spec) for key, spec in declared.items() if (spec or {}).get("external")}


def external_networks(config: Mapping[str, Any]) -> list[str]:
    """The swarm names of the networks the config declares `external` (they must exist)."""
    declared = config.get("networks") or {}
    return [swarm_name(key, spec) for key, spec in declared.items() if (spec or {}).get("external")]


def service_images(config: Mapping[str, Any]) -> dict[str, str]:
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


def declared_memory(config: Mapping[str, Any]) -> int:
    """Bytes the stack may use, for deploy admission: per service the larger of its memory
    reservation and its limit, per replica, summed.

    A limit is what a task may use before the kernel stops it; a reservation is only the
    scheduler's floor (swarm does not even give it to the container). Counting reservations
    alone admitted `reservations: 1M, limits: 64G` as 1 MiB. Where the host bounds memory, the
    vetted config's limits are bounded, so this is what the deploy can really take."""
    total = 0
    for svc in (config.get("services") or {}).values():
        deploy = (svc or {}).get("deploy") or {}
        res = deploy.get("resources") or {}
        reserved = parse_memory((res.get("reservations") or {}).get("memory")) or 0
        limited = parse_memory((res.get("limits") or {}).get("memory")) or 0
        replicas = deploy.get("replicas", 1) or 1
        total += max(reserved, limited, 0) * int(replicas)
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
    """A copy of `config` where no service's memory limit is above `limit_mib`: one without a
    limit (none, or 0: unlimited to swarm) or with a higher one gets `limit_mib`; a lower one is
    kept. A reservation is left as it is: swarm only schedules by it."""
    return _bound_limit(config, "memory", limit_mib * MIB, parse_memory, f"{limit_mib}M")


def bound_pids(config: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """A copy of `config` where no service may run more than `limit` processes (threads count):
    `limits.pids` where there is none (or 0, -1: unlimited) or a higher one; a lower one is kept.
    The compose loader accepts `pids` from file version 3.9 on: an older `version` is raised to it
    (3.x versions only add keys)."""
    out = _bound_limit(config, "pids", limit, _parse_number, limit)
    if _version(out.get("version")) < PIDS_VERSION:
        out["version"] = ".".join(map(str, PIDS_VERSION))
    return out


def bound_cpus(config: Mapping[str, Any], cpus: float) -> dict[str, Any]:
    """A copy of `config` where no service's `limits.cpus` is above `cpus` (none, 0 or higher: `cpus`)."""
    return _bound_limit(config, "cpus", cpus, _parse_number, f"{cpus:g}")


def bound_stop_grace(config: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A copy of `config` where no service's `stop_grace_period` is above `seconds`: teardown
    waits that long for a task that ignores SIGTERM (one left unbounded outlives the run). A
    service without one gets swarm's default (10s); an unreadable one is bounded too."""
    out = copy.deepcopy(dict(config))
    for svc in _service_dicts(out):
        if "stop_grace_period" not in svc:
            continue
        given = parse_duration(svc["stop_grace_period"])
        if given is None or given > seconds:
            svc["stop_grace_period"] = f"{seconds:g}s"
    return out


def parse_duration(value: Any) -> float | None:
    """A compose (Go) duration in seconds: "1m30s", "8760h0m0s", "500ms"; a number is seconds.
    None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value or "").strip()
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def memory_limits(config: Mapping[str, Any]) -> dict[str, int | None]:
    """Each service's memory limit in MiB as deployed (None: unbounded), for results.json."""
    limits: dict[str, int | None] = {}
    for name, svc in (config.get("services") or {}).items():
        raw = (((svc or {}).get("deploy") or {}).get("resources") or {}).get("limits") or {}
        amount = parse_memory(raw.get("memory"))
        limits[str(name)] = amount // MIB if amount and amount > 0 else None
    return limits


def resource_bounds(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each service's bounds as deployed, for results.json: memory limit (MiB), pids and cpus
    limits, stop_grace_period (seconds); None where unbounded (stop grace: swarm's default)."""
    memory = memory_limits(config)
    bounds: dict[str, dict[str, Any]] = {}
    for name, svc in (config.get("services") or {}).items():
        limits = (((svc or {}).get("deploy") or {}).get("resources") or {}).get("limits") or {}
        pids, cpus = _parse_number(limits.get("pids")), _parse_number(limits.get("cpus"))
        bounds[str(name)] = {
            "memory_mib": memory[str(name)],
            "pids": int(pids) if pids and pids > 0 else None,
            "cpus": cpus if cpus and cpus > 0 else None,
            "stop_grace_seconds": parse_duration((svc or {}).get("stop_grace_period")),
        }
    return bounds


def _bound_limit(config: Mapping[str, Any], key: str, bound: float, parse: Any, shown: Any) -> dict[str, Any]:
    """A copy of `config` where every service's `deploy.resources.limits[key]` is at most
    `bound` (read with `parse`): none, 0 or below (unlimited to swarm), or higher, becomes `shown`."""
    out = copy.deepcopy(dict(config))
    for svc in _service_dicts(out):
        deploy = svc["deploy"] = svc.get("deploy") or {}
        resources = deploy["resources"] = deploy.get("resources") or {}
        limits = resources["limits"] = resources.get("limits") or {}
        given = parse(limits.get(key))
        if given is None or given <= 0 or given > bound:
            limits[key] = shown
    return out


def _service_dicts(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The services of `config` (a copy being bounded), each a dict (a bare `app:` becomes {})."""
    services = config.get("services") or {}
    for name, svc in services.items():
        if svc is None:
            services[name] = {}
    return list(services.values())


def _parse_number(value: Any) -> float | None:
    """A limit given as a number or a numeric string ("0.5", 100); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _version(value: Any) -> tuple[int, int]:
    """A compose file version as numbers ("3.8" -> (3, 8)); none, a bare major ("3") or
    unreadable: the newest (the loader then uses its latest 3.x)."""
    major, dot, minor = str(value).partition(".")
    if value is None or not dot or not (major.isdigit() and minor.isdigit()):
        return (99, 99)
    return int(major), int(minor)
