"""Pure operations on a merged, interpolated compose config (a dict from `docker stack config`)."""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from pytest_ccci.model.backupbot import labels_of

_TRAEFIK_PORT = re.compile(r"^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$")
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


def _set_labels(holder: dict, labels: Mapping[str, str]) -> None:
    current = holder.get("labels") or {}
    if isinstance(current, list):
        current = dict(item.split("=", 1) if "=" in item else (item, "") for item in current)
    holder["labels"] = {**current, **labels}


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


def external_secrets(config: Mapping) -> dict[str, str]:
    """Compose secret key → the swarm secret name it expects to exist."""
    found = {}
    for key, spec in (config.get("secrets") or {}).items():
        spec = spec or {}
        if spec.get("external"):
            found[key] = spec.get("name") or key
    return found


def http_port(config: Mapping, service: str, default: int = 80) -> int:
    """The port the app serves HTTP on: its traefik loadbalancer port label, as recipes declare it."""
    svc = (config.get("services") or {}).get(service) or {}
    for key, value in labels_of(svc).items():
        if _TRAEFIK_PORT.match(key) and str(value).isdigit():
            return int(value)
    return default


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
