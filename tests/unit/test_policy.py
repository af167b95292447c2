"""The deploy policy for untrusted refs (model/policy.py): findings on a compose config as
`docker stack config` gives it (long syntax, absolute paths) and as lint reads a recipe (short
syntax, relative paths), allowances, the one-line refusal, and the memory bound."""

from __future__ import annotations

import os

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import bound_memory, memory_limits
from pytest_ccci.model.policy import (
    KINDS,
    Allowance,
    DeployPolicy,
    HostPolicy,
    findings,
    not_permitted,
    refusal,
)


def config(**service) -> dict:
    return {"services": {"app": {"image": "ccci/busybox:1.35.0", **service}}}


def kinds(cfg: dict, checkout=".") -> list[tuple[str | None, str, str]]:
    return [(f.service, f.key, f.kind) for f in findings(cfg, checkout)]


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"volumes": [{"type": "bind", "source": "/srv/media", "target": "/m"}]}, ("volumes", "bind-mount")),
        ({"volumes": ["/srv/media:/m"]}, ("volumes", "bind-mount")),
        ({"volumes": ["./data:/data:ro"]}, ("volumes", "bind-mount")),
        ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, ("volumes", "engine-socket")),
        (
            {"volumes": [{"type": "bind", "source": "/run/docker.sock", "target": "/s"}]},
            ("volumes", "engine-socket"),
        ),
        ({"privileged": True}, ("privileged", "privileged")),
        ({"cap_add": ["SYS_ADMIN"]}, ("cap_add", "cap-add")),
        ({"devices": ["/dev/fuse:/dev/fuse"]}, ("devices", "devices")),
        ({"network_mode": "host"}, ("network_mode", "host-network")),
        ({"network_mode": "container:abc"}, ("network_mode", "container-network")),
        ({"pid": "host"}, ("pid", "host-pid")),
        ({"ipc": "host"}, ("ipc", "host-ipc")),
        ({"userns_mode": "host"}, ("userns_mode", "host-userns")),
        ({"security_opt": ["apparmor:unconfined"]}, ("security_opt", "security-opt")),
        ({"security_opt": ["seccomp=unconfined"]}, ("security_opt", "security-opt")),
        ({"sysctls": {"net.core.somaxconn": "1024"}}, ("sysctls", "sysctls")),
        ({"sysctls": ["net.core.somaxconn=1024"]}, ("sysctls", "sysctls")),
        ({"ports": [{"mode": "host", "target": 81, "published": 8081}]}, ("ports", "host-mode-ports")),
        ({"ports": [{"mode": "ingress", "target": 80, "published": 8080}]}, ("ports", "published-ports")),
        ({"ports": ["8080:80"]}, ("ports", "published-ports")),
        ({"ports": ["80"]}, ("ports", "published-ports")),  # swarm still publishes it, on a port it picks
    ],
)
def test_each_kind_is_found(service, expected):
    assert kinds(config(**service)) == [("app", *expected)]


def test_what_stays_in_the_container_is_not_found():
    cfg = config(
        volumes=[
            "data:/data",
            {"type": "volume", "source": "cache", "target": "/cache"},
            {"type": "tmpfs", "target": "/t"},
        ],
        security_opt=["no-new-privileges:true"],
        cap_drop=["ALL"],
        network_mode="bridge",
        networks=["proxy"],
        expose=["8080"],
    )
    cfg["volumes"] = {"data": {}, "cache": {"driver": "local"}}
    cfg["networks"] = {"proxy": {"external": True}}
    assert findings(cfg, ".") == []


def test_named_volume_binding_a_host_path():
    cfg = config(volumes=["hostvol:/hv", "nfs:/n"])
    cfg["volumes"] = {
        "hostvol": {"driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": "/etc"}},
        "nfs": {"driver_opts": {"type": "nfs", "o": "addr=127.0.0.1,rw", "device": ":/export"}},
    }
    found = findings(cfg, ".")
    assert [(f.key, f.kind) for f in found] == [
        ("volumes.hostvol.driver_opts", "bind-mount"),
        ("volumes.nfs.driver_opts", "bind-mount"),
    ]
    assert "device=/etc" in found[0].value and "o=bind" in found[0].value


def test_attaching_the_swarm_host_network():
    cfg = config(networks=["hostnet"])
    cfg["networks"] = {"hostnet": {"external": True, "name": "host"}}
    assert kinds(cfg) == [("app", "networks", "host-network")]


def test_config_and_secret_files_outside_the_checkout(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "conf").mkdir(parents=True)
    (checkout / "conf" / "ok.conf").write_text("inside")
    os.symlink("/etc/hostname", checkout / "escape.conf")
    cfg = config(configs=[{"source": "inside", "target": "/i"}, "escape", "abs"], secrets=["up"])
    cfg["configs"] = {
        "inside": {"file": str(checkout / "conf" / "ok.conf")},  # stack config gives absolute paths
        "escape": {"file": "./escape.conf"},  # a symlink out of the checkout
        "abs": {"file": "/etc/passwd"},
        "unused": {"file": "../../etc/shadow"},  # read into the swarm even if no service uses it
    }
    cfg["secrets"] = {"up": {"file": "../../etc/shadow"}, "ext": {"external": True}}
    found = findings(cfg, checkout)
    assert [(f.service, f.key) for f in found] == [
        ("app", "configs.escape.file"),
        ("app", "configs.abs.file"),
        (None, "configs.unused.file"),
        ("app", "secrets.up.file"),
    ]
    assert all(f.kind == "outside-file" for f in found)
    assert "resolves to /etc/hostname" in found[0].value


def test_allowance_permits_its_kind_for_its_service_only():
    cfg = {
        "services": {
            "proxy": {"volumes": ["/var/run/docker.sock:/var/run/docker.sock:ro"], "ports": ["8080:80"]},
            "app": {"volumes": ["/var/run/docker.sock:/s"]},
        }
    }
    allow = [Allowance("engine-socket", "proxy", "traefik reads the engine's services")]
    left = not_permitted(findings(cfg, "."), allow)
    assert [(f.service, f.kind) for f in left] == [("proxy", "published-ports"), ("app", "engine-socket")]


def test_host_wide_allowance_permits_a_kind_everywhere():
    cfg = {"services": {"a": {"ports": ["80:80"]}, "b": {"ports": ["81:81"], "privileged": True}}}
    policy = HostPolicy(allow=("published-ports",)).for_recipe((), None)
    left = not_permitted(findings(cfg, "."), policy.allowances)
    assert [(f.service, f.kind) for f in left] == [("b", "privileged")]


def test_refusal_is_one_line_naming_service_key_value_and_allowance():
    cfg = config(volumes=["/srv/media:/m"], privileged=True)
    with pytest.raises(RecipeError) as caught:
        DeployPolicy().vet(cfg, ".", "hello-root", "hello_root")
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith("recipe hello-root: deploy refused by the policy for untrusted refs, nothing created:")
    assert "service app volumes: bind /srv/media -> /m (a bind mount of a host path)" in line
    assert "allow: [{kind: bind-mount, service: app, source: /srv/media, reason: ...}] in ccci.yml" in line
    assert "service app privileged: true" in line and "kind: privileged, service: app" in line


def test_refusal_of_a_top_level_file_points_at_the_ini():
    cfg = {"services": {}, "configs": {"c": {"file": "/etc/passwd"}}}
    line = refusal("r", findings(cfg, "/tmp"))
    assert "no service (top level) configs.c.file: /etc/passwd" in line
    assert "ccci_allow = outside-file in the ini" in line


def test_vet_passes_an_allowed_config_through_unchanged():
    cfg = config(volumes=["/srv/ro:/srv:ro"])
    policy = DeployPolicy((Allowance("bind-mount", "app", "read-only fixtures", source="/srv/ro"),))
    assert policy.vet(cfg, ".", "r", "r_x") == cfg


def test_kinds_named_in_refusals_are_all_known():
    assert set(KINDS) >= {f.kind for f in findings(config(volumes=["/:/h"], ports=["1:1"]), ".")}


# -- memory -------------------------------------------------------------------------------------


def test_bound_memory_gives_a_limit_only_where_there_is_none():
    cfg = {
        "services": {
            "app": {"image": "x"},
            "db": {"deploy": {"resources": {"limits": {"memory": "67108864"}}}},
            "worker": {"deploy": {"replicas": 2, "resources": {"reservations": {"memory": "32M"}}}},
        }
    }
    bounded = bound_memory(cfg, 256)
    assert memory_limits(bounded) == {"app": 256, "db": 64, "worker": 256}
    assert bounded["services"]["worker"]["deploy"]["replicas"] == 2
    assert "deploy" not in cfg["services"]["app"]  # the input is left alone


def test_host_memory_bound_prefers_the_recipes_memory_mb():
    assert HostPolicy(memory_limit_mib=512).for_recipe((), 128).memory_limit_mib == 128
    assert HostPolicy(memory_limit_mib=512).for_recipe((), None).memory_limit_mib == 512
    assert HostPolicy().for_recipe((), 128).memory_limit_mib is None  # off unless the host bounds memory


def test_vet_bounds_memory_when_the_host_says_so():
    vetted = HostPolicy(memory_limit_mib=64).for_recipe((), None).vet(config(), ".", "r", "r_x")
    assert memory_limits(vetted) == {"app": 64}
    assert memory_limits(DeployPolicy().vet(config(), ".", "r", "r_x")) == {"app": None}


def test_policy_shown_for_results_json():
    shown = HostPolicy(("published-ports",), 256).for_recipe((Allowance("engine-socket", "app", "why"),), None).shown()
    assert shown == {
        "allow": [
            {"kind": "engine-socket", "service": "app", "reason": "why", "from": "ccci.yml"},
            {"kind": "published-ports", "service": "*", "reason": "allowed host-wide", "from": "ini ccci_allow"},
        ],
        "memory_limit_mib": 256,
        "pids_limit": 4096,  # the ini's defaults
        "cpu_limit": None,
        "max_stop_grace_seconds": 60.0,
        "infrastructure_networks": ["proxy"],
    }
