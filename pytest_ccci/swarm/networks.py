"""The runner's shared networking: external networks a recipe expects, and whether the host can
route swarm's service VIPs.

A Co-op Cloud server has networks every recipe joins as `external` (traefik's `proxy`). The
runner provides the missing ones as its own infrastructure: swarm-scoped, attachable overlays
labelled `ccci.infrastructure=true` and nothing else of ours, so neither a recipe's teardown
nor the janitor (both find things by `ccci.domain`) ever removes them. A network that already
exists, the operator's or an earlier run's, is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.model.endpoints import EndpointMode, choose_endpoint_mode

if TYPE_CHECKING:  # host_has_ipvs is read without docker-py
    import docker

# The only label on the runner's shared networks: not ccci.domain, not ccci.locks.
LABEL_INFRASTRUCTURE = "ccci.infrastructure"
# Where the kernel shows IPVS, the load balancer behind swarm's service VIPs.
IPVS_PROC = Path("/proc/net/ip_vs")
# DOCKER_HOST schemes of an engine on this very host (whose kernel /proc shows).
LOCAL_SCHEMES = ("unix://", "npipe://")


def missing_networks(api: docker.APIClient, names: Iterable[str]) -> list[str]:
    """Which of the network names do not exist on the engine (by exact name)."""
    missing = []
    for name in names:
        # The name filter matches substrings: only an exact name counts as existing.
        if not any(net.get("Name") == name for net in api.networks(names=[name])):
            missing.append(name)
    return missing


def ensure_networks(api: docker.APIClient, names: Iterable[str]) -> list[str]:
    """Create each missing network as the runner's infrastructure; the names it created."""
    import docker.errors

    created = []
    for name in missing_networks(api, names):
        try:
            api.create_network(
                name,
                driver="overlay",
                scope="swarm",
                attachable=True,
                check_duplicate=True,
                labels={LABEL_INFRASTRUCTURE: "true"},
            )
            created.append(name)
        except docker.errors.APIError:
            # Another worker's deploy created it a moment ago: what counts is that it exists.
            if missing_networks(api, [name]):
                raise
    return created


def runner_endpoint_mode(setting: str) -> EndpointMode:
    """The endpoint mode services get on this runner, for the ini setting (auto|vip|dnsrr)."""
    return choose_endpoint_mode(setting, host_has_ipvs())


def host_has_ipvs(docker_host: str | None = None) -> bool | None:
    """Whether the engine's host has IPVS; None when the engine is remote (its kernel is not
    this one)."""
    host = docker_host if docker_host is not None else os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith(LOCAL_SCHEMES):
        return None
    return IPVS_PROC.exists()
