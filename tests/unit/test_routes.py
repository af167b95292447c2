"""The route parser and install's route check (model/routes.py), and the `route:` settings.

Real recipes nobody here wrote (../shared/real-recipes) are read as their compose files say,
interpolated the way compose does for the few variables their labels use.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import labels_dict, service_labels
from pytest_ccci.model.routes import (
    first_port_label,
    http_port,
    proxy_problem,
    read_routes,
    route_problems,
    rule_hosts,
)
from pytest_ccci.model.settings import Route, parse_settings

ENV = {"STACK_NAME": "app_example_com", "DOMAIN": "app.example.com", "LETS_ENCRYPT_ENV": "production"}
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation, as far as labels use it: ${X}, ${X:-default}, $X and $$."""

    def value(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(3)
        return env.get(name) or (m.group(2) or "")

    return _VARIABLE.sub(value, text)


def real_compose(real_recipes: Path, recipe: str, name: str = "compose.yml", **env: str) -> dict:
    text = (real_recipes / recipe / name).read_text()
    return yaml.safe_load(interpolate(text, {**ENV, **env}))


def app_labels(config: dict) -> dict[str, str]:
    return service_labels(config["services"]["app"])


# -- Host(...) matchers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "hosts"),
    [
        ("Host(`a.example`)", ("a.example",)),
        ("Host(`a.example`, `www.a.example`)", ("a.example", "www.a.example")),
        ("Host(`a.example`) || Host(`b.example`)", ("a.example", "b.example")),
        ('Host("a.example")', ("a.example",)),
        ("Host(`A.Example`) && PathPrefix(`/api`)", ("a.example",)),
        ("Host(`a.example`) || HostRegexp(`{sub:\\w+}.a.example`)", ("a.example",)),
        ("HostSNI(`*`)", ()),
        ("PathPrefix(`/`)", ()),
        ("Host( `a.example` ,`a.example` )", ("a.example",)),
    ],
)
def test_rule_hosts(rule, hosts):
    assert rule_hosts(rule) == hosts


def test_extra_domains_appended_as_catalogue_recipes_do():
    # .env.sample: EXTRA_DOMAINS=', `www.app.example.com`'; compose: Host(`${DOMAIN}`${EXTRA_DOMAINS})
    label = "Host(`${DOMAIN}`${EXTRA_DOMAINS})"
    with_extra = interpolate(label, {**ENV, "EXTRA_DOMAINS": ", `www.app.example.com`"})
    assert rule_hosts(with_extra) == ("app.example.com", "www.app.example.com")
    assert rule_hosts(interpolate(label, ENV)) == ("app.example.com",)


# -- reading a service's labels --------------------------------------------------------------

HELLO_LABELS = {
    "traefik.enable": "true",
    "traefik.http.services.s.loadbalancer.server.port": "8080",
    "traefik.http.routers.s.rule": "Host(`app.example.com`)",
    "traefik.http.routers.s.entrypoints": "web-secure",
    "coop-cloud.s.version": "1.0.0+1",
}


def test_read_routes():
    routes = read_routes(HELLO_LABELS)
    assert list(routes.routers) == ["s"]
    assert routes.routers["s"].hosts == ("app.example.com",)
    assert routes.routers["s"].service is None
    assert routes.service_of(routes.routers["s"]) == "s"
    assert routes.ports == {"s": "8080"}


def test_tcp_routers_and_other_attributes_are_not_http_routes():
    labels = {
        "traefik.tcp.routers.t.rule": "HostSNI(`*`)",
        "traefik.tcp.services.t.loadbalancer.server.port": "8008",
        "traefik.http.routers.s.tls.certresolver": "production",
        "traefik.http.middlewares.m.redirectregex.regex": "^https://x",
    }
    routes = read_routes(labels)
    assert routes.routers == {} and routes.ports == {}


def test_first_port_label_is_what_http_port_gives():
    assert first_port_label(HELLO_LABELS) == ("traefik.http.services.s.loadbalancer.server.port", 8080)
    assert first_port_label({"traefik.http.services.t.loadbalancer.server.port": "web"}) is None
    config = {"services": {"app": {"deploy": {"labels": [f"{k}={v}" for k, v in HELLO_LABELS.items()]}}}}
    assert http_port(config, "app") == 8080
    assert http_port({"services": {"app": {}}}, "app") == 80


# -- the route check --------------------------------------------------------------------------


def test_route_ok():
    assert route_problems(HELLO_LABELS, "app.example.com", 8080) == []
    assert route_problems(HELLO_LABELS, "APP.example.com", 8080) == []


def test_wrong_rule_names_the_label_and_the_value():
    labels = {**HELLO_LABELS, "traefik.http.routers.s.rule": "Host(`wrong.example.com`)"}
    (problem,) = route_problems(labels, "app.example.com", 8080)
    assert "Host(`app.example.com`)" in problem
    assert "traefik.http.routers.s.rule=Host(`wrong.example.com`)" in problem


def test_wrong_port_names_the_label_the_value_and_the_port_that_answered():
    labels = {**HELLO_LABELS, "traefik.http.services.s.loadbalancer.server.port": "8081"}
    (problem,) = route_problems(labels, "app.example.com", 8080)
    assert problem == "traefik.http.services.s.loadbalancer.server.port=8081, but the app answered on port 8080"


def test_no_router_at_all():
    (problem,) = route_problems({"traefik.enable": "true"}, "app.example.com", 80)
    assert "traefik.http.routers.<name>.rule" in problem


def test_missing_port_label():
    labels = {"traefik.http.routers.s.rule": "Host(`a.test`)", "traefik.http.routers.s.service": "s"}
    (problem,) = route_problems(labels, "a.test", 80)
    assert problem.startswith("no traefik.http.services.s.loadbalancer.server.port label")


def test_router_without_service_among_several():
    labels = {
        "traefik.http.routers.r.rule": "Host(`a.test`)",
        "traefik.http.services.x.loadbalancer.server.port": "80",
        "traefik.http.services.y.loadbalancer.server.port": "81",
    }
    (problem,) = route_problems(labels, "a.test", 80)
    assert "traefik.http.routers.r has no .service label" in problem and "x, y" in problem


def test_one_good_router_for_the_domain_is_enough():
    # An http router redirecting to https, and the https one that serves: both match the domain.
    labels = {
        "traefik.http.routers.web.rule": "Host(`a.test`)",
        "traefik.http.routers.web.service": "noop@internal",
        "traefik.http.routers.app.rule": "Host(`a.test`)",
        "traefik.http.routers.app.service": "app",
        "traefik.http.services.app.loadbalancer.server.port": "3000",
    }
    assert route_problems(labels, "a.test", 3000) == []
    problems = route_problems(labels, "a.test", 3001)
    assert "traefik.http.routers.web.service=noop@internal: not this app's service" in problems
    assert "traefik.http.services.app.loadbalancer.server.port=3000, but the app answered on port 3001" in problems


PROXY = {"external": True}


@pytest.mark.parametrize(
    ("service", "networks", "problem"),
    [
        ({"networks": ["proxy"]}, {"proxy": {"name": "proxy", "external": True}}, None),
        ({"networks": {"proxy": None}}, {"proxy": PROXY}, None),
        ({"networks": ["web"]}, {"web": {"name": "proxy", "external": True}}, None),
        ({}, {}, "service app is not on traefik's external network 'proxy' (its networks: default)"),
        (
            {"networks": ["proxy"]},
            {"proxy": {"name": "s_proxy"}},
            "service app is not on traefik's external network 'proxy' (its networks: s_proxy)",
        ),
        ({"networks": ["internal"]}, {"internal": None, "proxy": PROXY}, "(its networks: internal)"),
    ],
)
def test_proxy_network(service, networks, problem):
    found = proxy_problem({"services": {"app": service}, "networks": networks}, "app", "proxy")
    assert found == problem or (problem and found and found.endswith(problem))


# -- real recipes nobody here wrote -----------------------------------------------------------


def test_real_go_ssb_room(real_recipes):
    config = real_compose(real_recipes, "go-ssb-room")
    labels = app_labels(config)
    routes = read_routes(labels)
    assert routes.routers["app_example_com"].hosts == ("app.example.com",)  # HostRegexp is not a Host
    assert routes.ports == {"app_example_com": "3000"}  # the tcp muxrpc service is not HTTP
    assert route_problems(labels, "app.example.com", 3000) == []
    assert route_problems(labels, "app.example.com", 8008) == [
        "traefik.http.services.app_example_com.loadbalancer.server.port=3000, but the app answered on port 8008"
    ]
    assert proxy_problem(config, "app", "proxy") is None


def test_real_bore_routes_subdomains_only(real_recipes):
    config = real_compose(real_recipes, "bore")
    labels = app_labels(config)
    routes = read_routes(labels)
    assert len(routes.routers) == 10
    assert routes.routers["app_example_com-3"].hosts == ("3.app.example.com",)
    assert routes.service_of(routes.routers["app_example_com-3"]) == "app_example_com-3"
    assert routes.ports["app_example_com-10"] == "10"
    assert route_problems(labels, "3.app.example.com", 3) == []
    # Nothing answers on the bare domain: a tunnel server declares `route: {check: false, ...}`.
    (problem,) = route_problems(labels, "app.example.com", 7835)
    assert "no traefik router rule has Host(`app.example.com`)" in problem
    assert "traefik.http.routers.app_example_com-1.rule=Host(`1.app.example.com`)" in problem
    assert proxy_problem(config, "app", "proxy") is None


def test_real_traefik_routes_to_its_own_dashboard(real_recipes):
    config = real_compose(real_recipes, "traefik-2021")
    labels = app_labels(config)
    routes = read_routes(labels)
    assert routes.routers["traefik"].hosts == ("app.example.com",)
    assert routes.routers["traefik"].service == "api@internal"
    assert routes.ports == {"traefik": "web"}  # a named entrypoint, not a number
    assert first_port_label(labels) is None
    assert route_problems(labels, "app.example.com", 80) == [
        "traefik.http.routers.traefik.service=api@internal: not this app's service"
    ]
    assert proxy_problem(config, "app", "proxy") is None


def test_every_real_compose_file_parses(real_recipes):
    """Every label of every service in every compose file: each rule with a Host matcher gives
    its hosts, and every loadbalancer port label is read."""
    files = sorted(real_recipes.glob("*/compose*.yml"))
    assert len(files) >= 12
    for path in files:
        config = yaml.safe_load(interpolate(path.read_text(), ENV)) or {}
        for name, service in (config.get("services") or {}).items():
            labels = service_labels(service)
            routes = read_routes(labels)
            for router in routes.routers.values():
                assert router.hosts or "Host(" not in router.rule, (path, name, router)
            ports = {k for k in labels if k.startswith("traefik.http.services.") and k.endswith(".server.port")}
            assert len(routes.ports) == len(ports), (path, name)


def test_label_shapes_read_alike():
    listed = labels_dict(["traefik.http.routers.s.rule=Host(`a.test`)"])
    mapped = labels_dict({"traefik.http.routers.s.rule": "Host(`a.test`)"})
    assert read_routes(listed) == read_routes(mapped)


# -- settings: route -------------------------------------------------------------------------


def settings(route):
    return parse_settings("r", {"source": "x", "route": route}, "recipes/r/ccci.yml")


def test_route_settings_default():
    assert parse_settings("r", {"source": "x"}, "o").route == Route(check=True, reason=None, network="proxy")


def test_route_settings_declared():
    declared = settings({"check": False, "reason": "a tunnel server: its own protocol"})
    assert declared.route == Route(check=False, reason="a tunnel server: its own protocol", network="proxy")
    assert settings({"network": "traefik_public"}).route.network == "traefik_public"
    assert declared.shown()["route"]["reason"] == "a tunnel server: its own protocol"


@pytest.mark.parametrize(
    ("route", "said"),
    [
        ({"check": False}, "recipes/r/ccci.yml: route.check: false needs a reason"),
        ({"check": False, "reason": " "}, "route.check: false needs a reason"),
        ({"check": "no"}, "route.check must be bool, got str 'no'"),
        ({"check": 0, "reason": "x"}, "route.check must be bool, got int 0"),
        ({"network": 5}, "route.network must be str"),
        ({"chek": False}, "unknown key route.chek"),
        ("off", "route must be dict"),
    ],
)
def test_route_settings_rejected(route, said):
    with pytest.raises(RecipeError, match=re.escape(said)):
        settings(route)
