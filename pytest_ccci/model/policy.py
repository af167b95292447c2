"""The deploy policy for untrusted refs: what a recipe's compose config may ask of the host.

Default deny. A recipe under test is whatever a ref says (a release, a branch, a contributor's
pull request), so before anything of a deploy is created on the swarm, its merged and
interpolated config (what `docker stack config` returns) is searched for what reaches the
runner: bind mounts of host paths and the engine socket (or a directory holding it), named
volumes binding a host path, privileges, host namespaces, confinement switched off, kernel
parameters, raised ulimits, published ports, files outside the recipe checkout (configs/secrets
`file:`, `env_file:`, COMPOSE_FILE entries), objects the stack does not own (secrets, configs,
volumes and networks named outside `<stack>_*`, volume drivers other than `local`), external
networks other than the runner's infrastructure (ini `ccci_networks`), network drivers other
than overlay, logging drivers the engine would run on the host (anything but json-file and
local), images whose registry is on the runner's own network (an address the engine would
dial to pull them), and the runner's own images (the probe helper's `ccci/probe:1`: a recipe
naming it would run the runner's tool as its own service, and a recipe's image of that name
would shadow it). Each is a `Finding` (service, key, value, kind, and the host path it
reaches); one not permitted by an `Allowance` (a kind for a named service, for bind mounts
only under a reviewed `source` path, from ccci.yml; or host-wide from the ini's `ccci_allow`)
refuses the deploy with one line naming each finding and the allowance that would permit it.
Lint rule R018 reports the same findings, honouring the same allowances. The plugin's own probe
helper is in no recipe's config: the policy never sees it, only a recipe naming its image.

A vetted config is also bounded, so no recipe takes the runner down (`DeployPolicy.bound`; each
bound off when the ini empties it): every service's memory limit at most the host's (the
recipe's `memory_mb` first; off by default), its processes at most `ccci_pids_limit` (4096),
its CPUs at most `ccci_cpu_limit` (off), its stop grace period at most `ccci_max_stop_grace`
(60s: clamped rather than refused, since a long grace is legitimate for a database up to a
point). Where a service has none, or a higher one, it gets the bound; its own lower one is kept.

Pure: the only file system access is resolving symlinks of a host path (os.path.realpath).
"""

from __future__ import annotations

import copy
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import (
    Mount,
    bound_cpus,
    bound_memory,
    bound_pids,
    bound_stop_grace,
    service_mounts,
    swarm_name,
)
from pytest_ccci.model.images import runner_image, runner_network_registry

# Every kind of finding, with what it gives the recipe (said in a refusal). An allowance names one.
KINDS: dict[str, str] = {
    "bind-mount": "a bind mount of a host path",
    "engine-socket": "the container engine's socket, which owns the runner",
    "privileged": "a privileged container",
    "cap-add": "added kernel capabilities",
    "devices": "host devices",
    "host-network": "the host's network stack",
    "container-network": "another container's network stack",
    "host-pid": "the host's process namespace",
    "host-ipc": "the host's IPC namespace",
    "host-userns": "the host's user namespace",
    "security-opt": "confinement options (only no-new-privileges is safe)",
    "sysctls": "kernel parameters",
    "host-mode-ports": "a port bound on the runner itself (mode: host)",
    "published-ports": "a published port, reachable on the runner's network",
    "outside-file": "a file outside the recipe checkout",
    "foreign-object": "a secret, config, volume or network the stack does not own (another recipe's, or a driver's)",
    "private-registry": "an image pulled from the runner's own network (a loopback, private or link-local registry)",
    "runner-image": "one of the runner's own images (the probe helper's), which no recipe may name",
    "logging-driver": "a logging driver the engine runs on the host (dials out from it, or uses its credentials)",
    "network-driver": "a network driver other than overlay, or driver options (the host's interfaces)",
    "external-network": "an external network that is not the runner's infrastructure (another stack's network)",
    "ulimits": "resource limits above the engine's defaults (kernel memory, realtime or raised priority)",
}
# Sockets that hand whoever mounts them the container engine (and every recipe's secrets).
ENGINE_SOCKETS = frozenset({"docker.sock", "containerd.sock", "podman.sock"})
# Where those sockets live: a bind of one of these, or of any ancestor (`/`, `/var`), hands over
# the socket as surely as a bind of the socket itself.
ENGINE_SOCKET_DIRS = ("/run", "/var/run", "/var/lib/docker", "/run/containerd", "/run/docker", "/run/podman")
# Kinds whose findings reach a host path: an allowance of one may name the path (`source`); a
# bind-mount allowance must, so a reviewed exception for /srv/media does not also permit /etc.
SOURCED_KINDS = ("bind-mount", "engine-socket", "outside-file")
SOURCE_REQUIRED = ("bind-mount",)
# The one security_opt that tightens confinement rather than loosening it.
SAFE_SECURITY_OPTS = frozenset({"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"})
HOST_WIDE = "*"  # the service of a host-wide allowance: every service of every recipe
# What a bind of `/` is called: it holds the engine's socket, but is first of all everything.
ROOT_FILE_SYSTEM = "the runner's root file system, the container engine's socket with it"
# Logging drivers that write on the container's own host files (rotated); every other one is the
# engine dialing out from the runner's network (syslog, gelf, fluentd, splunk) or using the
# daemon's credentials (awslogs, gcplogs).
SAFE_LOGGING_DRIVERS = frozenset({"json-file", "local"})
# The options of a logging driver that say where it sends (shown in the finding; tokens never are).
_ADDRESS_OPTION_SUFFIXES = ("-address", "-url", "-endpoint", "-region", "-project", "-host")
# ulimits a recipe may raise, and how far: the engine's defaults (a container inherits dockerd's
# own limits; `docker info` shows no default-ulimits unless daemon.json sets them).
# - nofile: 1048576, the kernel's default fs.nr_open, what dockerd under systemd
#   (LimitNOFILE=infinity) gives; open files are kernel memory the memory limit does not count.
# - nproc: 65536, finite and above any real server's need (elasticsearch's 4096; recipes write
#   65535); counted per user across the whole host, so `unlimited` is a fork bomb's room.
# - rtprio, nice: 0, the engine's default: more lets a task take the CPU from the runner itself.
# Others (core, stack, memlock, ...) are unlimited or host-sized by default, or charged to the
# memory limit (memlock): raising them gives nothing over the host. -1 means unlimited.
ULIMIT_BOUNDS: dict[str, int] = {"nofile": 1 << 20, "nproc": 1 << 16, "rtprio": 0, "nice": 0}
# The external networks a Co-op Cloud server has (traefik's): ini ccci_networks.
INFRASTRUCTURE_NETWORKS = ("proxy",)
# Bounds every deploy gets unless the ini says otherwise (ccci_pids_limit, ccci_max_stop_grace):
# - pids 4096: a fork bomb otherwise fills the host's pid table (pid_max is 32768 by default) and
#   the runner cannot fork; 4096 is twice podman's default and far above real servers (threads
#   count: a JVM uses a few hundred).
# - stop grace 60s: what a database needs to checkpoint and stop; a task ignoring SIGTERM with
#   `8760h` would outlive the run.
DEFAULT_PIDS_LIMIT = 4096
DEFAULT_MAX_STOP_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Finding:
    """One thing a compose config asks of the host. `service` is None for a top-level object
    no service uses (a config or secret is still read from its file when the stack is deployed)."""

    service: str | None
    key: str
    value: str
    kind: str
    source: str | None = None  # the host path reached: relative to the checkout when inside it

    def describe(self) -> str:
        where = f"service {self.service}" if self.service else "no service (top level)"
        what = ROOT_FILE_SYSTEM if self.kind == "engine-socket" and self.source == "/" else KINDS[self.kind]
        return f"{where} {self.key}: {self.value} ({what})"


@dataclass(frozen=True)
class Allowance:
    """Permission for one kind of finding: in ccci.yml for one service, with a reason; from the
    ini for every service of every recipe (service `*`). With a `source`, only findings whose
    host path is that path or under it (a relative one: in the checkout)."""

    kind: str
    service: str
    reason: str
    origin: str = "ccci.yml"
    source: str | None = None

    def permits(self, finding: Finding) -> bool:
        if self.kind != finding.kind or self.service not in (HOST_WIDE, finding.service):
            return False
        if self.source is None:
            return True
        # Findings name host paths with symlinks resolved (/var/run/docker.sock is /run/docker.sock
        # on most hosts): so is the allowance's, or the same ccci.yml would mean different things.
        source = os.path.realpath(self.source) if posixpath.isabs(self.source) else self.source
        return finding.source is not None and path_under(finding.source, source)

    def shown(self) -> dict[str, str]:
        shown = {"kind": self.kind, "service": self.service, "reason": self.reason, "from": self.origin}
        return {**shown, "source": self.source} if self.source is not None else shown


@dataclass(frozen=True)
class DeployPolicy:
    """What one recipe's deploys may do: its allowances (ccci.yml's and the host's), the external
    networks that are the runner's infrastructure, and the bounds every service gets (None: not
    bounded): memory (MiB), processes, CPUs, and the stop grace period (seconds). A recipe's own
    lower bound is kept."""

    allowances: tuple[Allowance, ...] = ()
    memory_limit_mib: int | None = None
    pids_limit: int | None = None
    cpu_limit: float | None = None
    max_stop_grace_seconds: float | None = None
    infrastructure_networks: tuple[str, ...] = INFRASTRUCTURE_NETWORKS

    def vet(self, config: Mapping[str, Any], checkout: Path, recipe: str, stack: str) -> dict[str, Any]:
        """The config to deploy: RecipeError with the one-line refusal if any finding is not
        permitted, else the config with its bounds applied."""
        self.refuse(recipe, findings(config, checkout, stack, self.infrastructure_networks))
        return self.bound(config)

    def bound(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `config` with every bound this policy sets applied."""
        out = copy.deepcopy(dict(config))
        if self.memory_limit_mib:
            out = bound_memory(out, self.memory_limit_mib)
        if self.pids_limit:
            out = bound_pids(out, self.pids_limit)
        if self.cpu_limit:
            out = bound_cpus(out, self.cpu_limit)
        if self.max_stop_grace_seconds:
            out = bound_stop_grace(out, self.max_stop_grace_seconds)
        return out

    def refuse(self, recipe: str, found: Iterable[Finding]) -> None:
        """RecipeError with the one-line refusal if any of `found` is not permitted."""
        refused = not_permitted(found, self.allowances)
        if refused:
            raise RecipeError(refusal(recipe, refused))

    def shown(self) -> dict[str, Any]:
        """For results.json, next to the settings."""
        return {
            "allow": [a.shown() for a in self.allowances],
            "memory_limit_mib": self.memory_limit_mib,
            "pids_limit": self.pids_limit,
            "cpu_limit": self.cpu_limit,
            "max_stop_grace_seconds": self.max_stop_grace_seconds,
            "infrastructure_networks": list(self.infrastructure_networks),
        }


@dataclass(frozen=True)
class HostPolicy:
    """The operator's part, from the ini, defaults as the ini's: kinds allowed host-wide
    (`ccci_allow`), the default memory limit (`ccci_memory_limit_mb`; None: memory is not
    bounded), the pids and CPU limits (`ccci_pids_limit`, `ccci_cpu_limit`), the longest stop
    grace period (`ccci_max_stop_grace`), and the infrastructure networks (`ccci_networks`)."""

    allow: tuple[str, ...] = ()
    memory_limit_mib: int | None = None
    pids_limit: int | None = DEFAULT_PIDS_LIMIT
    cpu_limit: float | None = None
    max_stop_grace_seconds: float | None = DEFAULT_MAX_STOP_GRACE_SECONDS
    infrastructure_networks: tuple[str, ...] = INFRASTRUCTURE_NETWORKS

    def for_recipe(self, allowances: Iterable[Allowance], memory_mb: int | None) -> DeployPolicy:
        """A recipe's policy: its allowances and the host's; memory_mb as the limit if the host bounds memory."""
        host = tuple(Allowance(kind, HOST_WIDE, "allowed host-wide", "ini ccci_allow") for kind in self.allow)
        limit = (memory_mb or self.memory_limit_mib) if self.memory_limit_mib else None
        return DeployPolicy(
            (*tuple(allowances), *host),
            limit,
            self.pids_limit,
            self.cpu_limit,
            self.max_stop_grace_seconds,
            self.infrastructure_networks,
        )


def unknown_kind(kind: str) -> str | None:
    """Why `kind` names no kind of finding (None when it does): for a settings or ini error line."""
    return None if kind in KINDS else f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})"


def allowance_source_problem(kind: str, source: str | None) -> str | None:
    """Why an allowance's `source` does not fit its kind (None when it does)."""
    if source is None:
        return f"is required for {kind} (the host path allowed, or one above it)" if kind in SOURCE_REQUIRED else None
    return None if kind in SOURCED_KINDS else f"{kind} reaches no host path (source fits {', '.join(SOURCED_KINDS)})"


# --- findings --------------------------------------------------------------------------------


def findings(
    config: Mapping[str, Any],
    checkout: Path | str,
    stack: str | None = None,
    infrastructure_networks: Sequence[str] = INFRASTRUCTURE_NETWORKS,
) -> list[Finding]:
    """Everything in `config` the policy refuses by default. Relative file paths (a recipe's
    compose as lint reads it) are relative to `checkout`; `docker stack config` gives absolute ones.
    `stack` owns the secrets, configs, volumes and networks named `<stack>_*` (None: it owns no
    named one); `infrastructure_networks` are the external networks the runner provides."""
    root = os.path.realpath(checkout)
    services = {str(name): svc or {} for name, svc in (config.get("services") or {}).items()}
    found: list[Finding] = []
    for name, svc in services.items():
        found += _mount_findings(name, svc, config.get("volumes") or {}, root)
        found += _privilege_findings(name, svc)
        found += _namespace_findings(name, svc, config.get("networks") or {})
        found += _port_findings(name, svc)
        found += env_file_findings(name, svc, root, root)
        found += _foreign_findings(name, svc, config, stack)
        found += _registry_findings(name, svc)
        found += _runner_image_findings(name, svc)
        found += _logging_findings(name, svc)
        found += _ulimit_findings(name, svc)
    found += _file_findings(config, services, root)
    found += _created_object_findings(config, services, stack)
    found += _network_findings(config, services, infrastructure_networks)
    return found


def env_file_findings(service: str, svc: Mapping[str, Any], base: Path | str, checkout: Path | str) -> list[Finding]:
    """A service's (interpolated) `env_file:` entries, relative to `base`, outside the checkout."""
    entries, root, found = svc.get("env_file") or (), os.path.realpath(checkout), []
    for entry in [entries] if isinstance(entries, (str, Mapping)) else entries:
        path = str(entry.get("path", "")) if isinstance(entry, Mapping) else str(entry)
        real, inside = resolve(path, os.path.realpath(base), root)
        if not inside:
            found.append(Finding(service, "env_file", _shown_path(path, real), "outside-file", real))
    return found


def resolve(path: str, base: str, root: str) -> tuple[str, bool]:
    """(`path` relative to `base`, symlinks resolved; whether it lies in `root`)."""
    real = os.path.realpath(os.path.join(base, path))
    return real, real == root or real.startswith(root + os.sep)


def path_under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or under it, both normalised (relative `.`: all of the checkout)."""
    path, prefix = posixpath.normpath(path), posixpath.normpath(prefix)
    same_base = posixpath.isabs(path) == posixpath.isabs(prefix)
    return same_base and (prefix in (".", "/") or path == prefix or path.startswith(prefix + "/"))


def not_permitted(found: Iterable[Finding], allowances: Iterable[Allowance]) -> list[Finding]:
    allowed = tuple(allowances)
    return [f for f in found if not any(a.permits(f) for a in allowed)]


def refusal(recipe: str, refused: Sequence[Finding]) -> str:
    """The verdict on a refused deploy, one line: each finding and the allowance it needs."""
    parts = " | ".join(explain(f) for f in refused)
    return f"recipe {recipe}: deploy refused by the policy for untrusted refs, nothing created: {parts}"


def explain(finding: Finding) -> str:
    """The finding and the allowance that would permit it."""
    if finding.service is None:
        permit = f"ccci_allow = {finding.kind} in the ini (host-wide)"
    elif finding.kind in SOURCE_REQUIRED and finding.source is None:
        # A network mount (nfs's `device: ":/export"`) names no host path a ccci.yml source could.
        permit = f"ccci_allow = {finding.kind} in the ini (host-wide: it names no host path for a source)"
    else:
        source = f"source: {finding.source}, " if finding.kind in SOURCE_REQUIRED else ""
        permit = f"allow: [{{kind: {finding.kind}, service: {finding.service}, {source}reason: ...}}] in ccci.yml"
    return f"{finding.describe()}; permit with {permit}"


def _mount_findings(name: str, svc: Mapping[str, Any], volumes: Mapping[str, Any], root: str) -> list[Finding]:
    found = []
    for mount in service_mounts(svc):
        if mount.type == "bind":
            real, inside = resolve(mount.source, root, root)
            source = os.path.relpath(real, root) if inside else real
            found.append(Finding(name, "volumes", _shown_mount(mount, real, inside), _bind_kind(real), source))
        elif mount.type == "volume" and mount.source:
            opts = dict((volumes.get(mount.source) or {}).get("driver_opts") or {})
            binds = "bind" in str(opts.get("o", "")).replace(",", " ").split() or "device" in opts
            if binds:
                shown = ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
                device = str(opts.get("device", ""))
                host = os.path.realpath(device) if device.startswith("/") else None  # not nfs's ":/export"
                kind = _bind_kind(host) if host else "bind-mount"
                found.append(Finding(name, f"volumes.{mount.source}.driver_opts", shown, kind, host))
    return found


def _bind_kind(real: str) -> str:
    """engine-socket for a socket, its directory or any ancestor of it (`/`, `/var`); else bind-mount."""
    ancestor = any(d == real or d.startswith(real.rstrip("/") + "/") for d in ENGINE_SOCKET_DIRS)
    return "engine-socket" if ancestor or posixpath.basename(real) in ENGINE_SOCKETS else "bind-mount"


def _shown_mount(mount: Mount, real: str, inside: bool) -> str:
    shown = f"bind {mount.source} -> {mount.target}" + (" (read-only)" if mount.read_only else "")
    return shown if inside or real == posixpath.normpath(mount.source) else f"{shown} (resolves to {real})"


def _shown_path(path: str, real: str) -> str:
    return path if real == os.path.normpath(path) else f"{path} (resolves to {real})"


def _privilege_findings(name: str, svc: Mapping[str, Any]) -> list[Finding]:
    found = []
    if svc.get("privileged") is True or str(svc.get("privileged")).lower() == "true":
        found.append(Finding(name, "privileged", "true", "privileged"))
    for key, kind in (("cap_add", "cap-add"), ("devices", "devices")):
        if svc.get(key):
            found.append(Finding(name, key, ", ".join(map(str, svc[key])), kind))
    loosening = [str(o) for o in svc.get("security_opt") or () if str(o).strip() not in SAFE_SECURITY_OPTS]
    if loosening:
        found.append(Finding(name, "security_opt", ", ".join(loosening), "security-opt"))
    sysctls = svc.get("sysctls")
    if sysctls:
        pairs = sysctls.items() if isinstance(sysctls, Mapping) else (str(s).partition("=")[::2] for s in sysctls)
        shown = ", ".join(f"{k}={v}" for k, v in pairs)
        found.append(Finding(name, "sysctls", shown, "sysctls"))
    return found


def _namespace_findings(name: str, svc: Mapping[str, Any], networks: Mapping[str, Any]) -> list[Finding]:
    found = []
    mode = str(svc.get("network_mode") or "")
    if mode == "host":
        found.append(Finding(name, "network_mode", mode, "host-network"))
    elif mode.startswith(("container:", "service:")):
        found.append(Finding(name, "network_mode", mode, "container-network"))
    for key in svc.get("networks") or ():
        # Swarm's way to the host's network stack: attaching the predefined network `host`.
        spec = networks.get(key) or {}
        if str(spec.get("name") or key) == "host":
            found.append(Finding(name, "networks", f"{key} (the swarm network host)", "host-network"))
    for key, kind in (("pid", "host-pid"), ("ipc", "host-ipc"), ("userns_mode", "host-userns")):
        if str(svc.get(key) or "") == "host":
            found.append(Finding(name, key, "host", kind))
    return found


def _port_findings(name: str, svc: Mapping[str, Any]) -> list[Finding]:
    found = []
    for port in svc.get("ports") or ():
        if isinstance(port, Mapping):
            host_mode = port.get("mode") == "host"
            published = port.get("published", "(any)")
            shown = f"{published} -> {port.get('target')}" + (" (mode: host)" if host_mode else "")
        else:
            host_mode, shown = False, str(port)
        found.append(Finding(name, "ports", shown, "host-mode-ports" if host_mode else "published-ports"))
    return found


def _file_findings(config: Mapping[str, Any], services: Mapping[str, Any], root: str) -> list[Finding]:
    """Configs and secrets read from a file outside the checkout, after symlinks are resolved:
    the CLI reads every top-level one into the swarm, used by a service or not."""
    found = []
    for kind in ("configs", "secrets"):
        for key, spec in (config.get(kind) or {}).items():
            file = (spec or {}).get("file")
            if file is None:
                continue
            real, inside = resolve(str(file), root, root)
            if inside:
                continue
            users: list[str | None] = [s for s, svc in services.items() if key in _referenced(svc.get(kind))]
            shown = _shown_path(str(file), real)
            found += [Finding(user, f"{kind}.{key}.file", shown, "outside-file", real) for user in users or [None]]
    return found


def _foreign_findings(name: str, svc: Mapping[str, Any], config: Mapping[str, Any], stack: str | None) -> list[Finding]:
    """Volumes, configs and secrets the service uses that the stack does not own: external (or,
    a volume, named) outside `<stack>_*` -- stack names are predictable, so that may be another
    recipe's data or password -- and volumes of a driver other than `local`."""
    volumes = config.get("volumes") or {}
    found = []
    for key in dict.fromkeys(m.source for m in service_mounts(svc) if m.type == "volume" and m.source):
        spec = volumes.get(key) or {}
        foreign = _foreign_name(key, spec, stack, named_counts=True)
        if foreign:
            found.append(Finding(name, f"volumes.{key}", foreign, "foreign-object"))
        driver = str(spec.get("driver") or "local")
        if driver != "local":
            found.append(Finding(name, f"volumes.{key}.driver", driver, "foreign-object"))
    for kind in ("configs", "secrets"):
        declared = config.get(kind) or {}
        for key in sorted(_referenced(svc.get(kind))):
            foreign = _foreign_name(key, declared.get(key) or {}, stack, named_counts=False)
            if foreign:
                found.append(Finding(name, f"{kind}.{key}", foreign, "foreign-object"))
    return found


def _created_object_findings(
    config: Mapping[str, Any], services: Mapping[str, Any], stack: str | None
) -> list[Finding]:
    """Secrets, configs and networks the deploy creates under a `name:` outside `<stack>_*`: a
    secret named like another stack's becomes that stack's password. (Volumes: _foreign_findings.)
    The CLI creates every top-level secret and config, used or not: an unused one is top level."""
    found = []
    for kind in ("secrets", "configs", "networks"):
        for key, spec in (config.get(kind) or {}).items():
            spec = spec or {}
            if spec.get("external") or not spec.get("name"):
                continue
            foreign = _foreign_name(str(key), spec, stack, named_counts=True)
            if foreign:
                users = _users(kind, str(key), services)
                found += [Finding(user, f"{kind}.{key}", foreign, "foreign-object") for user in users]
    return found


def _network_findings(
    config: Mapping[str, Any], services: Mapping[str, Any], infrastructure: Sequence[str]
) -> list[Finding]:
    """Top-level networks that reach past the stack's own overlay: a driver other than overlay
    or driver options (macvlan, ipvlan, bridge: the host's interfaces), and an external network
    that is not the runner's infrastructure (another stack's). `host` is host-network's."""
    found = []
    for key, spec in (config.get("networks") or {}).items():
        spec, key = spec or {}, str(key)
        users = _users("networks", key, services)
        if spec.get("external"):
            name = swarm_name(key, spec)
            if name not in infrastructure and name != "host":
                shown = f"external name {name} (infrastructure: {', '.join(infrastructure) or 'none'})"
                found += [Finding(user, f"networks.{key}", shown, "external-network") for user in users]
            continue
        driver, opts = str(spec.get("driver") or "overlay"), spec.get("driver_opts") or {}
        if driver != "overlay" or opts:
            shown = f"driver {driver}" + "".join(f", {k}={v}" for k, v in sorted(dict(opts).items()))
            found += [Finding(user, f"networks.{key}", shown, "network-driver") for user in users]
    return found


def _users(kind: str, key: str, services: Mapping[str, Any]) -> list[str | None]:
    """The services using the top-level `kind` object `key`; [None] when none does. A service
    that names no network is on `default`."""
    users: list[str | None] = []
    for name, svc in services.items():
        if kind == "networks":
            used = set(map(str, svc.get("networks") or ())) or ({"default"} if not svc.get("network_mode") else set())
        else:
            used = _referenced(svc.get(kind))
        if key in used:
            users.append(name)
    return users or [None]


def _foreign_name(key: str, spec: Mapping[str, Any], stack: str | None, named_counts: bool) -> str | None:
    """What names an object outside the stack (None when the stack owns it): an external one
    (or, with `named_counts`, one with a `name:`) whose swarm name is not `<stack>_*`."""
    external = spec.get("external")
    if not (external or (named_counts and spec.get("name"))):
        return None
    name = swarm_name(key, spec)
    if stack is not None and name.startswith(f"{stack}_"):
        return None
    return f"{'external ' if external else ''}name {name}"


def _logging_findings(name: str, svc: Mapping[str, Any]) -> list[Finding]:
    """A logging driver other than json-file or local: dockerd runs it in the host's network
    namespace, with its own credentials. Shown with the options that say where it sends."""
    logging = svc.get("logging") or {}
    driver = str(logging.get("driver") or "json-file")
    if driver in SAFE_LOGGING_DRIVERS:
        return []
    options = dict(logging.get("options") or {})
    where = [f"{k}={v}" for k, v in sorted(options.items()) if str(k).endswith(_ADDRESS_OPTION_SUFFIXES)]
    return [Finding(name, "logging.driver", driver + (f" ({', '.join(where)})" if where else ""), "logging-driver")]


def _ulimit_findings(name: str, svc: Mapping[str, Any]) -> list[Finding]:
    """ulimits above ULIMIT_BOUNDS (-1, unlimited, always is); an unreadable value counts as above."""
    raised = []
    for limit, value in (svc.get("ulimits") or {}).items():
        bound = ULIMIT_BOUNDS.get(str(limit))
        if bound is None:
            continue
        given = [value.get("soft"), value.get("hard")] if isinstance(value, Mapping) else [value]
        if not all(_within(v, bound) for v in given if v is not None):
            shown = "/".join(str(v) for v in given if v is not None)
            raised.append(f"{limit}={shown} (at most {bound})")
    return [Finding(name, "ulimits", ", ".join(raised), "ulimits")] if raised else []


def _within(value: Any, bound: int) -> bool:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return False
    return 0 <= number <= bound and not isinstance(value, bool)


def _registry_findings(name: str, svc: Mapping[str, Any]) -> list[Finding]:
    # The engine would dial it on the ref's word (ccci_pull = missing): the runner's own network.
    image = str(svc.get("image") or "")
    return [Finding(name, "image", image, "private-registry")] if runner_network_registry(image) else []


def _runner_image_findings(name: str, svc: Mapping[str, Any]) -> list[Finding]:
    # Issue 18: the runner's own images (model/images.py RUNNER_IMAGES) are its tools, not a
    # recipe's: one named by a recipe runs with the recipe's settings beside every app.
    image = str(svc.get("image") or "")
    return [Finding(name, "image", image, "runner-image")] if runner_image(image) else []


def _referenced(entries: Any) -> set[str]:
    """The config or secret keys a service's `configs:`/`secrets:` list names (short or long)."""
    return {str(e.get("source")) if isinstance(e, Mapping) else str(e) for e in entries or ()}
