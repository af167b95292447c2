"""The swarm name of a compose object, one rule (model/compose.py swarm_name), and what reads it:
the external networks a deploy creates, the networks a service is on, traefik's proxy network."""

from __future__ import annotations

import pytest

from pytest_ccci.model.compose import external_networks, external_secrets, swarm_name
from pytest_ccci.model.routes import attached_networks, proxy_problem


@pytest.mark.parametrize(
    ("key", "spec", "stack", "name"),
    [
        ("db", {"name": "shared_db"}, "s", "shared_db"),  # a name: always it
        ("proxy", {"external": True}, "s", "proxy"),  # external: the key is the name
        ("proxy", {"external": {"name": "web"}}, "s", "web"),  # legacy external: {name: ...}
        ("proxy", {"name": "web", "external": {"name": "old"}}, "s", "web"),
        ("internal", None, "s", "s_internal"),  # the stack's own: <stack>_<key>
        ("internal", {"driver": "overlay"}, "s", "s_internal"),
        ("internal", {}, None, "internal"),  # no stack given: the key
    ],
)
def test_the_swarm_name_of_a_compose_object(key, spec, stack, name):
    assert swarm_name(key, spec, stack) == name


def test_external_objects_by_their_swarm_names():
    config = {
        "networks": {"proxy": {"external": True}, "web": {"external": {"name": "edge"}}, "own": None},
        "secrets": {"pw": {"external": True, "name": "app_pw_v1"}, "local": {"file": "x"}},
    }
    assert external_networks(config) == ["proxy", "edge"]
    assert external_secrets(config) == {"pw": "app_pw_v1"}


def test_a_service_listing_no_networks_is_on_the_default_one():
    config = {"services": {"app": {}}, "networks": {"default": {"name": "proxy", "external": True}}}
    assert attached_networks(config, "app") == ["proxy"]
    # Before, the proxy check read only the networks a service lists, and missed this one.
    assert proxy_problem(config, "app", "proxy") is None


def test_a_legacy_external_name_is_traefiks_network():
    config = {"services": {"app": {"networks": ["web"]}}, "networks": {"web": {"external": {"name": "proxy"}}}}
    assert proxy_problem(config, "app", "proxy") is None
