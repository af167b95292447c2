"""Traefik's route to an app, read from the app service's labels, and install's route check.

On a Co-op Cloud server traefik serves an app through labels on its service: a router whose
`rule` matches the app's domain (`Host(`a`)`, `Host(`a`, `b`)`, `Host(`a`) || Host(`b`)`, with
`${EXTRA_DOMAINS}` appended inside the parentheses as catalogue recipes do), sending to a
loadbalancer port, with the service on traefik's external `proxy` network. `read_routes` parses
the labels; `route_problems` says what would make traefik answer 404 or 502 for the app, each
problem naming the label and the value found. Pure: labels and configs come in as mappings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_ccci.model.compose import service_labels, swarm_name

# traefik.http.<routers|services>.<name>.<attribute path>; tcp/udp routers do not serve HTTP.
_HTTP_LABEL = re.compile(r"^traefik\.http\.(?P<kind>routers|services)\.(?P<name>[^.]+)\.(?P<attr>.+)$")
PORT_ATTR = "loadbalancer.server.port"
# `Host(...)` but not `HostRegexp(...)` or `HostSNI(...)`: the matcher name ends at the parenthesis.
_HOST_MATCHER = re.compile(r"\bHost\s*\(([^)]*)\)")
# Traefik's rule strings: backquoted or double-quoted.
_RULE_STRING = re.compile(r"`([^`]*)`|\"([^\"]*)\"")


@dataclass(frozen=True)
class Router:
    name: str
    rule: str
    hosts: tuple[str, ...]  # the domains of its Host(...) matchers
    service: str | None  # its `.service` label; None: traefik picks the only service defined

    @property
    def rule_label(self) -> str:
        return f"traefik.http.routers.{self.name}.rule"


@dataclass(frozen=True)
class Routes:
    """The HTTP routers and loadbalancer ports one service's labels declare."""

    routers: dict[str, Router] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)  # traefik service name -> port label value

    def service_of(self, router: Router) -> str | None:
        """The traefik service a router sends to, as traefik resolves it; None when it cannot."""
        if router.service:
            return router.service
        return next(iter(self.ports)) if len(self.ports) == 1 else None


def port_label(service: str) -> str:
    return f"traefik.http.services.{service}.{PORT_ATTR}"


def rule_hosts(rule: str) -> tuple[str, ...]:
    """The domains a rule's Host matchers name, lower-cased, in order, each once."""
    hosts: list[str] = []
    for args in _HOST_MATCHER.findall(rule):
        for backquoted, quoted in _RULE_STRING.findall(args):
            host = (backquoted or quoted).strip().lower()
            if host and host not in hosts:
                hosts.append(host)
    return tuple(hosts)


def read_routes(labels: Mapping[str, str]) -> Routes:
    """The HTTP routers and loadbalancer ports of a service's labels (as `labels_dict` gives them)."""
    rules: dict[str, str] = {}
    services: dict[str, str] = {}
    ports: dict[str, str] = {}
    for key, value in labels.items():
        m = _HTTP_LABEL.match(key.strip())
        if not m:
            continue
        kind, name, attr = m.group("kind", "name", "attr")
        if kind == "routers" and attr in ("rule", "service"):
            (rules if attr == "rule" else services)[name] = str(value).strip()
        elif kind == "services" and attr == PORT_ATTR:
            ports[name] = str(value).strip()
    routers = {name: Router(name, rule, rule_hosts(rule), services.get(name)) for name, rule in rules.items()}
    return Routes(routers, ports)


def first_port_label(labels: Mapping[str, str]) -> tuple[str, int] | None:
    """The first numeric loadbalancer port the labels declare, with its label: where an app
    serves HTTP unless its settings say otherwise."""
    for service, port in read_routes(labels).ports.items():
        if port.isdigit():
            return port_label(service), int(port)
    return None


def first_port(labels: Mapping[str, str]) -> int | None:
    found = first_port_label(labels)
    return found[1] if found else None


def http_port(config: Mapping[str, Any], service: str, default: int = 80) -> int:
    """The port the app serves HTTP on: its traefik loadbalancer port label, as recipes declare it."""
    svc = (config.get("services") or {}).get(service) or {}
    port = first_port(service_labels(svc))
    return default if port is None else port


def route_problems(labels: Mapping[str, str], domain: str, answered_port: int) -> list[str]:
    """Why traefik would not route `domain` to the port the app answered on; [] when it would.

    Some router whose Host matches the domain must send to a service whose loadbalancer port is
    `answered_port`. Each problem names the label and the value found."""
    routes = read_routes(labels)
    if not routes.routers:
        return ["no traefik.http.routers.<name>.rule label: traefik has no route to the app"]
    matching = [r for r in routes.routers.values() if domain.lower() in r.hosts]
    if not matching:
        found = "; ".join(f"{r.rule_label}={r.rule}" for r in routes.routers.values())
        return [f"no traefik router rule has Host(`{domain}`): {found}"]
    problems = [_port_problem(routes, router, answered_port) for router in matching]
    if any(p is None for p in problems):
        return []
    return [p for p in problems if p]


def _port_problem(routes: Routes, router: Router, answered_port: int) -> str | None:
    service = routes.service_of(router)
    if service is None:
        defined = ", ".join(sorted(routes.ports)) or "none"
        return (
            f"traefik.http.routers.{router.name} has no .service label and traefik cannot choose one "
            f"(services with a port label: {defined})"
        )
    if "@" in service:
        return f"traefik.http.routers.{router.name}.service={service}: not this app's service"
    port = routes.ports.get(service)
    if port is None:
        return f"no {port_label(service)} label (traefik on swarm needs the port)"
    if port != str(answered_port):
        return f"{port_label(service)}={port}, but the app answered on port {answered_port}"
    return None


def attached_network_keys(config: Mapping[str, Any], service: str) -> list[str]:
    """The compose keys of the networks a service is attached to: those it lists, else `default`."""
    svc = (config.get("services") or {}).get(service) or {}
    keys: Iterable[str] = svc.get("networks") or ["default"]  # a list or a mapping of keys
    return [str(key) for key in keys]


def attached_networks(config: Mapping[str, Any], service: str) -> list[str]:
    """The swarm names of the networks a service of a merged compose config is attached to (a
    network of the stack's own by its key: the config does not say the stack's name)."""
    declared = config.get("networks") or {}
    return [swarm_name(key, declared.get(key)) for key in attached_network_keys(config, service)]


def proxy_problem(config: Mapping[str, Any], service: str, network: str) -> str | None:
    """Why `service` is not on traefik's external network `network`; None when it is."""
    declared = config.get("networks") or {}
    for key in attached_network_keys(config, service):
        spec = declared.get(key) or {}
        if spec.get("external") and swarm_name(key, spec) == network:
            return None
    on = ", ".join(attached_networks(config, service))
    return f"service {service} is not on traefik's external network {network!r} (its networks: {on})"
