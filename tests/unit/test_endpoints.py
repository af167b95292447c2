"""The runner's endpoint mode: chosen from the ini setting and the host's IPVS, applied to every
service of a compose config (model/endpoints.py), and the host check (swarm/networks.py)."""

from __future__ import annotations

import pytest

from pytest_ccci.model.endpoints import EndpointMode, apply_endpoint_mode, choose_endpoint_mode
from pytest_ccci.swarm import networks

DNSRR = EndpointMode("dnsrr", "no IPVS on this runner")
VIP = EndpointMode("vip", "IPVS present")


@pytest.mark.parametrize(
    ("setting", "ipvs", "mode", "described"),
    [
        ("auto", False, "dnsrr", "dnsrr (no IPVS on this runner)"),
        ("auto", True, "vip", "vip (IPVS present)"),
        ("auto", None, "vip", "vip (remote engine: its kernel is not visible here, VIPs kept)"),
        ("dnsrr", True, "dnsrr", "dnsrr (set by ccci_endpoint_mode)"),
        ("vip", False, "vip", "vip (set by ccci_endpoint_mode)"),
    ],
)
def test_mode_follows_the_setting_then_the_host(setting, ipvs, mode, described):
    chosen = choose_endpoint_mode(setting, ipvs)
    assert chosen.mode == mode
    assert chosen.describe() == described


def test_an_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="choose from auto, vip, dnsrr"):
        choose_endpoint_mode("ipvs", True)


def config() -> dict:
    return {
        "services": {
            "app": {"image": "a", "deploy": {"labels": {"x": "1"}}},
            "db": {"image": "b"},
            "chosen": {"image": "c", "deploy": {"endpoint_mode": "vip"}},
            "published": {"image": "d", "ports": [{"mode": "ingress", "target": 80, "published": 8080}]},
            "hostport": {"image": "e", "ports": [{"mode": "host", "target": 80, "published": 8081}]},
        }
    }


def test_dnsrr_goes_on_every_service_the_recipe_left_to_the_runner():
    original = config()
    out = apply_endpoint_mode(original, DNSRR)
    modes = {name: svc.get("deploy", {}).get("endpoint_mode") for name, svc in out["services"].items()}
    assert modes == {"app": "dnsrr", "db": "dnsrr", "chosen": "vip", "published": None, "hostport": "dnsrr"}
    assert out["services"]["app"]["deploy"]["labels"] == {"x": "1"}
    assert original == config(), "the input config must not change"


def test_vip_changes_nothing():
    assert apply_endpoint_mode(config(), VIP) == config()


def test_a_short_port_entry_publishes_through_ingress():
    out = apply_endpoint_mode({"services": {"web": {"ports": ["8080:80"]}}}, DNSRR)
    assert "endpoint_mode" not in out["services"]["web"].get("deploy", {})


def test_ipvs_is_read_from_proc_only_for_a_local_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(networks, "IPVS_PROC", tmp_path / "ip_vs")
    assert networks.host_has_ipvs("unix:///var/run/docker.sock") is False
    assert networks.host_has_ipvs("") is False
    (tmp_path / "ip_vs").write_text("IP Virtual Server\n")
    assert networks.host_has_ipvs("unix:///var/run/docker.sock") is True
    assert networks.host_has_ipvs("tcp://10.0.0.5:2376") is None
    assert networks.host_has_ipvs("ssh://runner") is None
