"""The deploy policy, round two (issue 18): logging and network drivers, external networks
other than the runner's infrastructure, objects named outside the stack, raised ulimits,
addresses embedding a private IPv4, the nfs allowance hint; and the bounds a vetted config gets
(memory clamped, pids, CPUs, stop grace), with admission counting what a task may use."""

from __future__ import annotations

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import (
    bound_cpus,
    bound_pids,
    bound_stop_grace,
    declared_memory,
    memory_limits,
    parse_duration,
    resource_bounds,
)
from pytest_ccci.model.images import runner_network_registry
from pytest_ccci.model.policy import KINDS, Allowance, DeployPolicy, HostPolicy, explain, findings, not_permitted

STACK = "r_abc123"
MiB = 1 << 20


def config(**service) -> dict:
    return {"version": "3.8", "services": {"app": {"image": "ccci/busybox:1.35.0", **service}}}


def found(cfg: dict, infrastructure=("proxy",)) -> list[tuple[str | None, str, str, str]]:
    return [(f.service, f.key, f.value, f.kind) for f in findings(cfg, ".", STACK, infrastructure)]


def top(cfg: dict, **top_level) -> dict:
    return {**cfg, **top_level}


# -- 1. logging drivers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logging", "value"),
    [
        (
            {"driver": "syslog", "options": {"syslog-address": "tcp://127.0.0.1:5514", "tag": "x"}},
            "syslog (syslog-address=tcp://127.0.0.1:5514)",
        ),
        (
            {"driver": "gelf", "options": {"gelf-address": "udp://10.0.0.1:12201"}},
            "gelf (gelf-address=udp://10.0.0.1:12201)",
        ),
        (
            {"driver": "fluentd", "options": {"fluentd-address": "10.0.0.2:24224"}},
            "fluentd (fluentd-address=10.0.0.2:24224)",
        ),
        (
            {"driver": "splunk", "options": {"splunk-url": "https://10.0.0.3:8088", "splunk-token": "s3cret"}},
            "splunk (splunk-url=https://10.0.0.3:8088)",  # the token is never shown
        ),
        ({"driver": "awslogs", "options": {"awslogs-region": "eu-west-1"}}, "awslogs (awslogs-region=eu-west-1)"),
        ({"driver": "none"}, "none"),
    ],
)
def test_a_logging_driver_other_than_json_file_or_local_is_found(logging, value):
    assert found(config(logging=logging)) == [("app", "logging.driver", value, "logging-driver")]


@pytest.mark.parametrize(
    "logging", [None, {}, {"driver": "json-file", "options": {"max-size": "10m"}}, {"driver": "local"}]
)
def test_logs_kept_on_the_host_are_not_found(logging):
    assert found(config(logging=logging)) == []


def test_a_logging_driver_allowance_permits_it_for_its_service():
    cfg = config(logging={"driver": "gelf", "options": {"gelf-address": "udp://127.0.0.1:1"}})
    assert (
        not_permitted(findings(cfg, ".", STACK), [Allowance("logging-driver", "app", "ships to the lab's graylog")])
        == []
    )
    assert not_permitted(findings(cfg, ".", STACK), [Allowance("logging-driver", "db", "another service")]) != []


# -- 2. network drivers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "value"),
    [
        ({"driver": "macvlan", "driver_opts": {"parent": "eth0"}}, "driver macvlan, parent=eth0"),
        ({"driver": "ipvlan"}, "driver ipvlan"),
        ({"driver": "bridge"}, "driver bridge"),
        ({"driver": "overlay", "driver_opts": {"encrypted": ""}}, "driver overlay, encrypted="),
        (
            {"driver_opts": {"com.docker.network.driver.mtu": "9000"}},
            "driver overlay, com.docker.network.driver.mtu=9000",
        ),
    ],
)
def test_a_network_driver_other_than_overlay_or_driver_options_are_found(network, value):
    cfg = top(config(networks=["internal"]), networks={"internal": network})
    assert found(cfg) == [("app", "networks.internal", value, "network-driver")]


def test_overlay_networks_and_the_default_are_not_found():
    cfg = top(config(networks=["internal", "default"]), networks={"internal": {"driver": "overlay"}, "default": None})
    assert found(cfg) == []


def test_a_network_no_service_uses_is_found_at_top_level():
    cfg = top(config(), networks={"lan": {"driver": "macvlan"}})  # app is on `default`, not on lan
    assert found(cfg) == [(None, "networks.lan", "driver macvlan", "network-driver")]
    assert "ccci_allow = network-driver in the ini" in explain(findings(cfg, ".", STACK)[0])


# -- 3. external networks -------------------------------------------------------------------------


def test_an_external_network_is_accepted_only_when_it_is_infrastructure():
    cfg = top(
        config(networks=["proxy", "victim", "edge"]),
        networks={
            "proxy": {"external": True},
            "victim": {"external": True, "name": "nextcloud_abc_internal"},  # another stack's network
            "edge": {"external": {"name": "edge"}},  # the legacy form
            "unused": {"external": True},
        },
    )
    assert found(cfg) == [
        ("app", "networks.victim", "external name nextcloud_abc_internal (infrastructure: proxy)", "external-network"),
        ("app", "networks.edge", "external name edge (infrastructure: proxy)", "external-network"),
        (None, "networks.unused", "external name unused (infrastructure: proxy)", "external-network"),
    ]
    assert [f[1] for f in found(cfg, infrastructure=("proxy", "edge", "unused"))] == ["networks.victim"]


def test_the_runners_infrastructure_networks_come_from_the_policy():
    cfg = top(config(networks=["edge"]), networks={"edge": {"external": True}})
    with pytest.raises(RecipeError, match="external-network"):
        DeployPolicy().vet(cfg, ".", "r", STACK)  # proxy only, by default
    policy = HostPolicy(infrastructure_networks=("proxy", "edge")).for_recipe((), None)
    assert policy.vet(cfg, ".", "r", STACK)["networks"] == {"edge": {"external": True}}
    allowed = DeployPolicy((Allowance("external-network", "app", "joins the lab's edge"),))
    allowed.vet(cfg, ".", "r", STACK)  # an allowance permits it too


# -- 4. object names ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["secrets", "configs", "networks"])
def test_a_created_object_named_outside_the_stack_is_foreign(kind):
    used = {"networks": ["shared"]} if kind == "networks" else {kind: ["shared"]}
    cfg = top(
        config(**used), **{kind: {"shared": {"name": "victim_abc_db_password_v1"}, "own": {"name": f"{STACK}_own"}}}
    )
    assert found(cfg) == [("app", f"{kind}.shared", "name victim_abc_db_password_v1", "foreign-object")]
    assert not_permitted(findings(cfg, ".", STACK), [Allowance("foreign-object", "app", "reviewed")]) == []


def test_an_unused_secret_named_outside_the_stack_is_still_created_so_found():
    cfg = top(config(), secrets={"planted": {"name": "victim_abc_db_password_v1", "file": "./s"}})
    assert found(cfg) == [(None, "secrets.planted", "name victim_abc_db_password_v1", "foreign-object")]


def test_an_external_secret_outside_the_stack_is_another_recipes_password():
    cfg = top(
        config(secrets=["theirs", "mine"]),
        secrets={
            "theirs": {"external": True, "name": "victim_abc_db_password_v1"},
            "mine": {"external": True, "name": f"{STACK}_pw_v1"},
        },
    )
    assert found(cfg) == [("app", "secrets.theirs", "external name victim_abc_db_password_v1", "foreign-object")]


# -- 5. memory --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "expected_mib"),
    [
        ({}, 512),  # none: the bound
        ({"memory": "0"}, 512),  # 0: unlimited to swarm
        ({"memory": "64G"}, 512),  # above: clamped (it kept 64 GiB before)
        ({"memory": "128M"}, 128),  # the recipe's own lower limit is kept
    ],
)
def test_memory_above_the_bound_is_clamped_and_a_lower_one_kept(limits, expected_mib):
    cfg = config(deploy={"resources": {"limits": limits, "reservations": {"memory": "1M"}}})
    vetted = HostPolicy(memory_limit_mib=512).for_recipe((), None).vet(cfg, ".", "r", STACK)
    assert memory_limits(vetted) == {"app": expected_mib}
    assert vetted["services"]["app"]["deploy"]["resources"]["reservations"] == {"memory": "1M"}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"reservations": {"memory": "1M"}, "limits": {"memory": "64G"}}, 64 << 30),  # what a task may use
        ({"reservations": {"memory": "1G"}, "limits": {"memory": "256M"}}, 1 << 30),  # the scheduler's floor
        ({"reservations": {"memory": "32M"}}, 32 * MiB),
        ({"limits": {"memory": "0"}}, 0),  # unlimited: nothing declared
    ],
)
def test_admission_counts_the_larger_of_reservation_and_limit(resources, expected):
    assert declared_memory(config(deploy={"replicas": 2, "resources": resources})) == 2 * expected


def test_admission_counts_the_clamped_limit_of_a_vetted_config():
    cfg = config(deploy={"resources": {"reservations": {"memory": "1M"}, "limits": {"memory": "64G"}}})
    vetted = HostPolicy(memory_limit_mib=256).for_recipe((), None).vet(cfg, ".", "r", STACK)
    assert declared_memory(vetted) == 256 * MiB


# -- 6. pids and CPUs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, 4096), (0, 4096), (-1, 4096), (100000, 4096), (100, 100), ("200", "200")],
)
def test_pids_are_bounded_and_a_lower_limit_kept(given, expected):
    limits = {} if given is None else {"pids": given}
    bounded = bound_pids(config(deploy={"resources": {"limits": limits}}), 4096)
    assert bounded["services"]["app"]["deploy"]["resources"]["limits"]["pids"] == expected


@pytest.mark.parametrize(("version", "expected"), [("3.8", "3.9"), ("3.2", "3.9"), ("3.9", "3.9"), ("3.13", "3.13")])
def test_bounding_pids_raises_an_older_compose_version_to_the_first_that_has_pids(version, expected):
    assert bound_pids({**config(), "version": version}, 64)["version"] == expected
    assert "version" not in bound_pids({"services": {"app": None}}, 64)  # no version: the loader's latest


@pytest.mark.parametrize(("given", "expected"), [(None, "1.5"), ("0", "1.5"), ("4", "1.5"), ("0.5", "0.5"), (1, 1)])
def test_cpus_are_bounded_and_a_lower_limit_kept(given, expected):
    limits = {} if given is None else {"cpus": given}
    bounded = bound_cpus(config(deploy={"resources": {"limits": limits}}), 1.5)
    assert bounded["services"]["app"]["deploy"]["resources"]["limits"]["cpus"] == expected


def test_the_host_bounds_every_service_by_default_pids_and_stop_grace_not_cpus():
    cfg = {"version": "3.8", "services": {"app": {"image": "x"}, "db": None}}
    vetted = HostPolicy().for_recipe((), None).vet(cfg, ".", "r", STACK)
    assert resource_bounds(vetted) == {
        name: {"memory_mib": None, "pids": 4096, "cpus": None, "stop_grace_seconds": None} for name in ("app", "db")
    }
    assert vetted["version"] == "3.9" and cfg["services"]["db"] is None  # the input is left alone
    off = HostPolicy(pids_limit=None, cpu_limit=2.0).for_recipe((), None).vet(cfg, ".", "r", STACK)
    assert resource_bounds(off)["app"] == {"memory_mib": None, "pids": None, "cpus": 2.0, "stop_grace_seconds": None}


# -- 7. ulimits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ulimits", "value"),
    [
        ({"nofile": {"soft": 1024, "hard": 2000000}}, "nofile=1024/2000000 (at most 1048576)"),
        ({"nofile": -1}, "nofile=-1 (at most 1048576)"),
        ({"nproc": -1}, "nproc=-1 (at most 65536)"),  # unlimited
        ({"nproc": 100000}, "nproc=100000 (at most 65536)"),
        ({"rtprio": 99}, "rtprio=99 (at most 0)"),
        ({"nice": {"soft": 40, "hard": 40}, "nofile": 10}, "nice=40/40 (at most 0)"),
        ({"nofile": "lots"}, "nofile=lots (at most 1048576)"),
    ],
)
def test_ulimits_above_the_engines_defaults_are_found(ulimits, value):
    assert found(config(ulimits=ulimits)) == [("app", "ulimits", value, "ulimits")]


def test_usual_ulimits_are_not_found():
    usual = {"nofile": {"soft": 65535, "hard": 1048576}, "nproc": 65535, "memlock": -1, "core": 0, "stack": -1}
    assert found(config(ulimits=usual)) == []
    raised = findings(config(ulimits={"nofile": -1}), ".", STACK)
    assert not_permitted(raised, [Allowance("ulimits", "app", "a search index")]) == []


# -- 8. stop grace period ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("8760h0m0s", "60s"), ("2m", "60s"), ("junk", "60s"), ("45s", "45s"), ("1m", "1m"), ("500ms", "500ms")],
)
def test_a_long_stop_grace_period_is_clamped_and_a_shorter_kept(given, expected):
    assert bound_stop_grace(config(stop_grace_period=given), 60)["services"]["app"]["stop_grace_period"] == expected


def test_vet_clamps_the_stop_grace_period_and_leaves_an_unset_one():
    cfg = {"services": {"db": {"stop_grace_period": "8760h"}, "app": {}}}
    vetted = HostPolicy(max_stop_grace_seconds=90).for_recipe((), None).vet(cfg, ".", "r", STACK)
    assert {n: b["stop_grace_seconds"] for n, b in resource_bounds(vetted).items()} == {"db": 90.0, "app": None}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("8760h0m0s", 8760 * 3600.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25), ("0", 0.0), (90, 90.0)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "60 s", "1d", "-5s", "s", None, True])
def test_parse_duration_junk(text):
    assert parse_duration(text) is None


# -- 9. registries at IPv6 addresses embedding a private IPv4 ---------------------------------------


@pytest.mark.parametrize(
    ("image", "runners"),
    [
        ("[64:ff9b::7f00:1]:5000/x:1", True),  # NAT64 of 127.0.0.1
        ("[64:ff9b::a00:1]/x:1", True),  # NAT64 of 10.0.0.1
        ("[64:ff9b::808:808]/x:1", False),  # NAT64 of 8.8.8.8
        ("[64:ff9b:1::808:808]/x:1", True),  # local-use NAT64: the site's own
        ("[2002:7f00:1::1]/x:1", True),  # 6to4 of 127.0.0.1
        ("[2002:c0a8:101::1]/x:1", True),  # 6to4 of 192.168.1.1
        ("[2002:808:808::1]/x:1", False),
        ("[::ffff:127.0.0.1]/x:1", True),  # IPv4-mapped
        ("[::ffff:0:a00:1]/x:1", True),  # IPv4-translated
        ("[::127.0.0.1]/x:1", True),  # IPv4-compatible
        ("[::8.8.8.8]/x:1", False),
        ("[2606:4700::1111]/x:1", False),
    ],
)
def test_an_ipv6_registry_is_judged_by_the_ipv4_it_embeds(image, runners):
    assert runner_network_registry(image) is runners


# -- 10. an nfs volume's allowance hint --------------------------------------------------------------


def test_an_nfs_volume_points_at_the_ini_not_a_none_source():
    cfg = top(
        config(volumes=["data:/data"]),
        volumes={"data": {"driver_opts": {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/export"}}},
    )
    (finding,) = findings(cfg, ".", STACK)
    hint = explain(finding)
    assert "None" not in hint
    assert "permit with ccci_allow = bind-mount in the ini" in hint
    assert not_permitted([finding], HostPolicy(allow=("bind-mount",)).for_recipe((), None).allowances) == []


# -- 11. every new kind is known, shown and permitted -------------------------------------------------


NEW_KINDS = {
    "logging-driver": config(logging={"driver": "syslog"}),
    "network-driver": top(config(networks=["lan"]), networks={"lan": {"driver": "macvlan"}}),
    "external-network": top(config(networks=["theirs"]), networks={"theirs": {"external": True}}),
    "ulimits": config(ulimits={"nproc": -1}),
    "foreign-object": top(config(secrets=["s"]), secrets={"s": {"name": "x_s", "file": "./s"}}),
}


@pytest.mark.parametrize("kind", sorted(NEW_KINDS))
def test_each_new_kind_refuses_with_its_allowance_named_and_is_permitted_by_it(kind):
    cfg = NEW_KINDS[kind]
    assert kind in KINDS
    with pytest.raises(RecipeError) as caught:
        DeployPolicy().vet(cfg, ".", "r", STACK)
    line = str(caught.value)
    assert "\n" not in line and KINDS[kind] in line
    assert f"allow: [{{kind: {kind}, service: app, reason: ...}}] in ccci.yml" in line
    DeployPolicy((Allowance(kind, "app", "reviewed"),)).vet(cfg, ".", "r", STACK)
    HostPolicy(allow=(kind,)).for_recipe((), None).vet(cfg, ".", "r", STACK)
