"""How services are reached on the runner's swarm: virtual IPs, or DNS round-robin where the
runner's kernel cannot route VIPs. Pure: the caller says whether the host has IPVS.

Swarm's service VIPs are load-balanced by the kernel's IPVS. A runner without it (no
/proc/net/ip_vs) resolves `db` to a VIP that goes nowhere, while `tasks.db` connects. That is a
property of the runner, not of recipes: on such a host every service of every deployed recipe
gets `deploy.endpoint_mode: dnsrr` (the stack then works as on a real server), and no recipe is
ever asked to change. Real runners with IPVS keep VIPs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The ini option's values: auto detects, vip and dnsrr force one.
ENDPOINT_MODE_CHOICES = ("auto", "vip", "dnsrr")


@dataclass(frozen=True)
class EndpointMode:
    """The mode services get on this runner, and why."""

    mode: str  # "vip" or "dnsrr"
    why: str

    @property
    def dnsrr(self) -> bool:
        return self.mode == "dnsrr"

    def describe(self) -> str:
        """As recorded in results.json: `dnsrr (no IPVS on this runner)`."""
        return f"{self.mode} ({self.why})"


def choose_endpoint_mode(setting: str, ipvs: bool | None) -> EndpointMode:
    """The mode for `setting` (auto|vip|dnsrr); `ipvs` says whether the engine's host has IPVS,
    None when that cannot be seen from here (a remote engine)."""
    if setting not in ENDPOINT_MODE_CHOICES:
        raise ValueError(f"endpoint mode {setting!r}: choose from {', '.join(ENDPOINT_MODE_CHOICES)}")
    if setting != "auto":
        return EndpointMode(setting, "set by ccci_endpoint_mode")
    if ipvs is None:
        return EndpointMode("vip", "remote engine: its kernel is not visible here, VIPs kept")
    if ipvs:
        return EndpointMode("vip", "IPVS present")
    return EndpointMode("dnsrr", "no IPVS on this runner")


def apply_endpoint_mode(config: Mapping[str, Any], endpoint: EndpointMode) -> dict[str, Any]:
    """`config` with `deploy.endpoint_mode: dnsrr` on every service, when the runner needs it.

    Left as they are: a service that sets its own endpoint mode (the recipe chose), and one that
    publishes ports through the ingress mesh (swarm refuses dnsrr there, and ingress is VIP-based
    on any host)."""
    out = copy.deepcopy(dict(config))
    if not endpoint.dnsrr:
        return out
    for svc in (out.get("services") or {}).values():
        deploy = svc.setdefault("deploy", {})
        if "endpoint_mode" in deploy or publishes_through_ingress(svc):
            continue
        deploy["endpoint_mode"] = "dnsrr"
    return out


def publishes_through_ingress(service: Mapping[str, Any]) -> bool:
    """Whether the service publishes a port in ingress mode (compose's default for `ports:`)."""
    for port in service.get("ports") or []:
        if not isinstance(port, Mapping) or port.get("mode", "ingress") == "ingress":
            return True
    return False
