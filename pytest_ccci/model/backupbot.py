"""What backup-bot-two would back up for a recipe, read from its compose config's labels.

Conventions (backup-bot-two, as real recipes use them on a service's deploy.labels, which
is what the bot reads: swarm *service* labels, not container labels):
- backupbot.backup=true                      the service takes part (anything else: it does not)
- backupbot.backup.path=/a,/b                v1: container paths to copy out
- backupbot.backup.volumes.<vol>=false       v2: leave that volume out (volumes are in by default)
- backupbot.backup.volumes.<vol>.path=x,y    v2: only these paths, relative to the volume's root
- backupbot.{backup,restore}.{pre,post}-hook shell commands run inside the service's container
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_ccci.model.compose import service_labels, service_mounts

ENABLE = "backupbot.backup"
V1_PATHS = "backupbot.backup.path"
VOLUME_PREFIX = "backupbot.backup.volumes."
PATH_SUFFIX = ".path"


@dataclass(frozen=True)
class Hooks:
    backup_pre: str | None = None
    backup_post: str | None = None
    restore_pre: str | None = None
    restore_post: str | None = None


@dataclass(frozen=True)
class ServiceBackup:
    service: str
    paths: tuple[str, ...]  # absolute container paths to copy out, deduplicated, in label/volume order
    hooks: Hooks


@dataclass(frozen=True)
class VolumeMount:
    """A named volume mounted into a service (bind mounts and tmpfs are not volumes)."""

    volume: str
    target: str


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def _split_paths(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def volume_mounts(service: Mapping[str, Any] | None) -> list[VolumeMount]:
    """Named volumes in the service's `volumes:` list, in order (short and long syntax)."""
    # Bind mounts, tmpfs and anonymous volumes have no name a label could refer to.
    return [
        VolumeMount(m.source, posixpath.normpath(m.target))
        for m in service_mounts(service)
        if m.type == "volume" and m.source and m.target
    ]


def _volume_labels(labels: Mapping[str, str]) -> tuple[set[str], dict[str, list[str]]]:
    """(excluded volume names, volume name -> restricting relative paths)."""
    excluded: set[str] = set()
    restricted: dict[str, list[str]] = {}
    for key, value in labels.items():
        if not key.startswith(VOLUME_PREFIX):
            continue
        rest = key.removeprefix(VOLUME_PREFIX)
        if rest.endswith(PATH_SUFFIX):
            restricted[rest.removesuffix(PATH_SUFFIX)] = _split_paths(value)
        elif value.strip().lower() == "false":
            excluded.add(rest)
    return excluded, restricted


def _service_paths(service: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, ...]:
    paths = [posixpath.normpath(p) for p in _split_paths(labels.get(V1_PATHS, ""))]
    excluded, restricted = _volume_labels(labels)
    for mount in volume_mounts(service):
        if mount.volume in excluded:
            continue
        if mount.volume in restricted:
            # Relative to the volume's root; a leading "/" is tolerated (the bot strips it too).
            paths += [posixpath.normpath(posixpath.join(mount.target, p.lstrip("/"))) for p in restricted[mount.volume]]
        else:
            paths.append(mount.target)
    return tuple(dict.fromkeys(paths))  # dedupe, keep first-seen order


def _hooks(labels: Mapping[str, str]) -> Hooks:
    def hook(key: str) -> str | None:
        return labels.get(key, "").strip() or None  # an empty hook label is no hook

    return Hooks(
        backup_pre=hook("backupbot.backup.pre-hook"),
        backup_post=hook("backupbot.backup.post-hook"),
        restore_pre=hook("backupbot.restore.pre-hook"),
        restore_post=hook("backupbot.restore.post-hook"),
    )


def backup_plan(compose: Mapping[str, Any]) -> list[ServiceBackup]:
    """The services that take part in backups, in compose order; [] when none do."""
    plan: list[ServiceBackup] = []
    for name, service in (compose.get("services") or {}).items():
        service = service or {}
        labels = service_labels(service)
        if not _is_true(labels.get(ENABLE)):
            continue
        plan.append(ServiceBackup(str(name), _service_paths(service, labels), _hooks(labels)))
    return plan


def is_backup_capable(compose: Mapping[str, Any]) -> bool:
    """True when backup-bot-two would copy something out of this recipe.

    A service labelled backupbot.backup=true with no volumes and no paths gives a restore
    nothing to check, so it does not make the recipe capable on its own.
    """
    return any(entry.paths for entry in backup_plan(compose))
