"""compose.py: pure operations on a merged compose config."""

from __future__ import annotations

import copy

import pytest
import yaml

from pytest_ccci.model.compose import (
    declared_memory,
    escape_dollars,
    external_secrets,
    labels_dict,
    parse_memory,
    service_labels,
    stamp,
)
from pytest_ccci.model.naming import deploy_labels, run_labels
from pytest_ccci.model.routes import http_port

MiB = 1 << 20
GiB = 1 << 30

APP = deploy_labels("stk", "demo", version="1.0.0+1", chaos="01234567")
RUN = run_labels("run-1", "demo-abcdef.x.test", "demo")


# -- labels: one parser for every form ---------------------------------------------------


def test_labels_list_form() -> None:
    assert labels_dict(["backupbot.backup=true", "a.b=x=y", "bare", "empty="]) == {
        "backupbot.backup": "true",
        "a.b": "x=y",  # only the first "=" separates
        "bare": "",  # as docker: no "=" means an empty value
        "empty": "",
    }


def test_labels_spaced_list_form_strips_key_and_value() -> None:
    assert labels_dict([" spaced = v ", "traefik.enable = true"]) == {"spaced": "v", "traefik.enable": "true"}


def test_labels_mapping_form_normalises_scalars() -> None:
    raw = {"backupbot.backup": True, "off": False, "port": 8080, "none": None, " key ": "x=y"}
    assert labels_dict(raw) == {"backupbot.backup": "true", "off": "false", "port": "8080", "none": "", "key": "x=y"}


def test_labels_list_with_one_item_mappings() -> None:
    # `- key: "value"` inside a labels list is a one-item mapping once YAML loads it.
    loaded = yaml.safe_load('labels:\n  - "a=1"\n  - traefik.enable: true\n  - port: 8080\n')
    assert labels_dict(loaded["labels"]) == {"a": "1", "traefik.enable": "true", "port": "8080"}


@pytest.mark.parametrize("raw", [None, [], {}, ()])
def test_labels_absent(raw) -> None:
    assert labels_dict(raw) == {}


@pytest.mark.parametrize("service", [{}, {"deploy": None}, {"deploy": {}}, {"deploy": {"labels": None}}, None])
def test_service_labels_absent(service) -> None:
    assert service_labels(service) == {}


def test_service_labels_are_deploy_labels_not_container_labels() -> None:
    assert service_labels({"labels": {"backupbot.backup": "true"}}) == {}
    assert service_labels({"deploy": {"labels": ["a = b"]}, "labels": ["c=d"]}) == {"a": "b"}


def test_stamp_reads_every_label_form() -> None:
    config = {"services": {"app": {"deploy": {"labels": [" k = v ", {"traefik.enable": True}]}}}}
    assert stamp(config, APP, RUN)["services"]["app"]["deploy"]["labels"] == {
        "k": "v",
        "traefik.enable": "true",
        **RUN,
        **APP,
    }


# -- escape_dollars --------------------------------------------------------------------------


def test_escape_dollars_strings():
    assert escape_dollars("pa$word") == "pa$$word"
    assert escape_dollars("$$") == "$$$$"
    assert escape_dollars("no dollars") == "no dollars"


def test_escape_dollars_nested_and_non_strings():
    config = {
        "services": {
            "app": {
                "command": ["sh", "-c", "echo $HOME"],
                "environment": {"A": "x$y", "PORT": 8080, "ON": True, "NONE": None},
                "deploy": {"replicas": 2},
            }
        }
    }
    out = escape_dollars(config)
    assert out["services"]["app"]["command"] == ["sh", "-c", "echo $$HOME"]
    assert out["services"]["app"]["environment"] == {"A": "x$$y", "PORT": 8080, "ON": True, "NONE": None}
    assert out["services"]["app"]["deploy"] == {"replicas": 2}
    assert config["services"]["app"]["command"][2] == "echo $HOME"  # input not mutated


def test_escape_dollars_round_trips_through_interpolation():
    # Compose interpolation turns `$$` into a literal `$`: escaping then interpolating is identity.
    for text in ["$", "$$", "a$b$$c", "${VAR}", "trailing$"]:
        assert escape_dollars(text).replace("$$", "$") == text


# -- stamp -----------------------------------------------------------------------------------


def base_config() -> dict:
    return {
        "version": "3.8",
        "services": {
            "app": {"image": "nginx", "deploy": {"labels": {"traefik.enable": "true"}}},
            "db": {"image": "postgres"},
            "worker": {"image": "w", "deploy": {"labels": ["existing=1", "flag", "eq=a=b"], "replicas": 2}},
        },
        "volumes": {"data": None, "db": {"driver": "local"}, "shared": {"external": True}},
        "networks": {"internal": {}, "proxy": {"external": True, "name": "proxy"}},
        "configs": {"nginx_conf": {"file": "nginx.conf"}, "ext_conf": {"external": True}},
        "secrets": {"db_password": {"external": True, "name": "stk_db_password_v1"}},
    }


def test_stamp_app_labels_only_on_app():
    out = stamp(base_config(), APP, RUN)
    app_labels = out["services"]["app"]["deploy"]["labels"]
    assert app_labels == {"traefik.enable": "true", **RUN, **APP}
    for name in ("db", "worker"):
        labels = out["services"][name]["deploy"]["labels"]
        assert not any(k.startswith("coop-cloud.") for k in labels), name


def test_stamp_run_labels_on_every_service():
    out = stamp(base_config(), APP, RUN)
    for name, svc in out["services"].items():
        labels = svc["deploy"]["labels"]
        assert {k: labels[k] for k in RUN} == RUN, name


def test_stamp_service_without_deploy_gets_one():
    out = stamp(base_config(), APP, RUN)
    assert out["services"]["db"]["deploy"] == {"labels": RUN}


def test_stamp_list_labels_converted_and_kept():
    out = stamp(base_config(), APP, RUN)
    worker = out["services"]["worker"]["deploy"]
    assert isinstance(worker["labels"], dict)
    assert worker["labels"] == {"existing": "1", "flag": "", "eq": "a=b", **RUN}
    assert worker["replicas"] == 2


def test_stamp_labels_on_non_external_resources_only():
    out = stamp(base_config(), APP, RUN)
    assert out["volumes"]["data"] == {"labels": RUN}
    assert out["volumes"]["db"] == {"driver": "local", "labels": RUN}
    assert out["volumes"]["shared"] == {"external": True}
    assert out["networks"]["internal"] == {"labels": RUN}
    assert out["networks"]["proxy"] == {"external": True, "name": "proxy"}
    assert out["configs"]["nginx_conf"] == {"file": "nginx.conf", "labels": RUN}
    assert out["configs"]["ext_conf"] == {"external": True}
    # Run labels never carry abra's app labels.
    assert not any(k.startswith("coop-cloud.") for k in out["volumes"]["data"]["labels"])


def test_stamp_keeps_existing_resource_labels():
    config = {
        "services": {"app": {}},
        "volumes": {"v": {"labels": {"backup": "true"}}},
        "networks": {"n": {"labels": ["a=b"]}},
    }
    out = stamp(config, APP, RUN)
    assert out["volumes"]["v"]["labels"] == {"backup": "true", **RUN}
    assert out["networks"]["n"]["labels"] == {"a": "b", **RUN}


def test_stamp_our_labels_win_over_recipe_labels():
    stale = {"coop-cloud.stk.chaos": "false", "ccci.run": "someone-else"}
    config = {"services": {"app": {"deploy": {"labels": stale}}}}
    out = stamp(config, APP, RUN)
    assert out["services"]["app"]["deploy"]["labels"]["coop-cloud.stk.chaos"] == "true"
    assert out["services"]["app"]["deploy"]["labels"]["ccci.run"] == "run-1"


def test_stamp_does_not_mutate_input_and_leaves_secrets():
    config = base_config()
    before = copy.deepcopy(config)
    out = stamp(config, APP, RUN)
    assert config == before
    assert out["secrets"] == before["secrets"]
    assert out["version"] == "3.8"


def test_stamp_without_resources():
    out = stamp({"services": {"app": {"image": "x"}}}, APP, RUN)
    assert set(out) == {"services"}
    assert out["services"]["app"]["deploy"]["labels"] == {**RUN, **APP}


# -- external_secrets ------------------------------------------------------------------------


def test_external_secrets():
    config = {
        "secrets": {
            "db_password": {"external": True, "name": "stk_db_password_v1"},
            "api_key": {"external": True},
            "local": {"file": "./secret.txt"},
            "empty": None,
        }
    }
    assert external_secrets(config) == {"db_password": "stk_db_password_v1", "api_key": "api_key"}


def test_external_secrets_none():
    assert external_secrets({"services": {}}) == {}
    assert external_secrets({"secrets": None}) == {}


# -- http_port -------------------------------------------------------------------------------


def test_http_port_from_dict_labels():
    config = {
        "services": {
            "app": {
                "deploy": {
                    "labels": {"traefik.enable": "true", "traefik.http.services.stk.loadbalancer.server.port": "3000"}
                }
            }
        }
    }
    assert http_port(config, "app") == 3000


def test_http_port_from_list_labels():
    config = {
        "services": {
            "app": {
                "deploy": {
                    "labels": ["traefik.enable=true", "traefik.http.services.stk_app.loadbalancer.server.port=8080"]
                }
            }
        }
    }
    assert http_port(config, "app") == 8080


def test_http_port_int_label_value():
    config = {"services": {"app": {"deploy": {"labels": {"traefik.http.services.x.loadbalancer.server.port": 9000}}}}}
    assert http_port(config, "app") == 9000


def test_http_port_of_named_service():
    config = {
        "services": {
            "app": {"deploy": {"labels": {"traefik.http.services.a.loadbalancer.server.port": "3000"}}},
            "web": {"deploy": {"labels": {"traefik.http.services.w.loadbalancer.server.port": "8081"}}},
        }
    }
    assert http_port(config, "web") == 8081
    assert http_port(config, "app") == 3000


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"traefik.http.routers.x.rule": "Host(`a`)"},
        {"traefik.http.services.x.loadbalancer.server.port": "${PORT}"},
        {"traefik.http.services.x.loadbalancer.server.port.extra": "3000"},
        {"traefik.http.services.x.y.loadbalancer.server.port": "3000"},
        {"traefik.tcp.services.x.loadbalancer.server.port": "3000"},
    ],
)
def test_http_port_default(labels):
    config = {"services": {"app": {"deploy": {"labels": labels}}}}
    assert http_port(config, "app") == 80
    assert http_port(config, "app", default=8000) == 8000


def test_http_port_missing_service():
    assert http_port({"services": {}}, "app") == 80
    assert http_port({}, "app", default=1234) == 1234


# -- parse_memory ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("512M", 512 * MiB),
        ("512m", 512 * MiB),
        ("1g", GiB),
        ("1G", GiB),
        ("1.5G", int(1.5 * GiB)),
        ("64k", 64 * 1024),
        ("2t", 2 << 40),
        ("100", 100),
        ("100b", 100),
        ("256MiB", 256 * MiB),
        ("256mb", 256 * MiB),
        (" 128M ", 128 * MiB),
        (2048, 2048),
        (1.5e9, 1_500_000_000),
    ],
)
def test_parse_memory(value, expected):
    assert parse_memory(value) == expected


@pytest.mark.parametrize("value", ["junk", "", None, "M", "12X", "-5M", "1.2.3G", "512 MB extra"])
def test_parse_memory_junk(value):
    assert parse_memory(value) is None


# -- declared_memory -------------------------------------------------------------------------


def test_declared_memory_counts_the_larger_of_reservation_and_limit_times_replicas():
    # A task may use up to its limit: admission counts that, not the (smaller) reservation.
    config = {
        "services": {
            "app": {
                "deploy": {"replicas": 3, "resources": {"reservations": {"memory": "256M"}, "limits": {"memory": "1G"}}}
            },
            "db": {"deploy": {"resources": {"limits": {"memory": "512M"}}}},
            "cache": {"image": "redis"},  # declares nothing: counts 0
            "worker": {"deploy": {"replicas": 2, "resources": {"limits": {"memory": "junk"}}}},
        }
    }
    assert declared_memory(config) == 3 * 1024 * MiB + 512 * MiB


def test_declared_memory_numeric_and_fractional():
    config = {
        "services": {
            "a": {"deploy": {"resources": {"reservations": {"memory": 1048576}}}},
            "b": {"deploy": {"replicas": 2, "resources": {"limits": {"memory": "1.5G"}}}},
        }
    }
    assert declared_memory(config) == MiB + 2 * int(1.5 * GiB)


def test_declared_memory_nothing_declared():
    assert declared_memory({"services": {"app": {"image": "x"}}}) == 0
    assert declared_memory({}) == 0
    assert declared_memory({"services": {"app": {"deploy": None}}}) == 0
