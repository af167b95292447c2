"""What a Co-op Cloud server has, on the real swarm: external networks the runner provides, and
an HTTP probe that works whatever the app's image holds (swarm/networks.py, swarm/helper.py)."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
from recipe_variants import compose_step

from pytest_ccci.swarm.networks import LABEL_INFRASTRUCTURE

NOWGET_IMAGE = "ccci-test/nowget:1"


def network(swarm, name: str) -> dict | None:
    found = [n for n in swarm.api.networks(names=[name]) if n["Name"] == name]
    return swarm.api.inspect_network(found[0]["Id"]) if found else None


@pytest.fixture
def unique_network(swarm):
    name = f"ccci-test-proxy-{uuid.uuid4().hex[:8]}"
    assert network(swarm, name) is None
    yield name
    found = network(swarm, name)
    if found:
        swarm.api.remove_network(found["Id"])


def test_a_missing_external_network_is_created_kept_and_left_alone(lab, swarm, unique_network, assert_clean):
    # hello joins traefik's `proxy` network as external; here also a second one, of the test's own.
    steps = compose_step(
        lab,
        "extnet",
        ("      - proxy\n", "      - proxy\n      - shared\n"),
        ("\nnetworks:\n", f"\nnetworks:\n  shared:\n    external: true\n    name: {unique_network}\n"),
    )
    lab.enroll("nextnet", extra_steps=steps)
    # Only the networks the ini names are the runner's infrastructure (any other is refused).
    lab.set_ini(ccci_networks=f"proxy {unique_network}")
    first = lab.run("--recipe", "nextnet", "--tiers", "install")
    assert first.recipe("nextnet")["rungs"]["install"]["status"] == "pass", first.output[-3000:]
    assert f"created external network {unique_network} as the runner's shared infrastructure" in first.output
    made = network(swarm, unique_network)
    assert made is not None, "teardown removed the runner's shared network"
    assert made["Driver"] == "overlay" and made["Scope"] == "swarm" and made["Attachable"] is True
    assert made["Labels"] == {LABEL_INFRASTRUCTURE: "true"}, made["Labels"]
    assert_clean(first.recipe("nextnet")["domain"])

    # A second run (its janitor runs first) finds the network there: it neither creates nor removes it.
    second = lab.run("--recipe", "nextnet", "--tiers", "install", json_name="second.json")
    assert second.recipe("nextnet")["rungs"]["install"]["status"] == "pass", second.output[-3000:]
    assert "created external network" not in second.output
    kept = network(swarm, unique_network)
    assert kept is not None and kept["Id"] == made["Id"]
    assert_clean(second.recipe("nextnet")["domain"])


@pytest.fixture
def nowget_image(tmp_path: Path):
    """An image holding only busybox-static as /httpd (busybox picks the applet by argv[0]) and
    a web root: no shell, no wget."""
    root = tmp_path / "nowget"
    (root / "www").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "httpd")
    (root / "www/index.html").write_text("<h1>no shell here</h1>\n")
    (root / "www/health").write_text("ok\n")
    tar = tmp_path / "nowget.tar"
    with tarfile.open(tar, "w") as out:
        out.add(root / "httpd", "httpd")
        out.add(root / "www", "www")
    entrypoint = 'ENTRYPOINT ["/httpd","-f","-p","8080","-h","/www"]'
    subprocess.run(["docker", "import", "-c", entrypoint, str(tar), NOWGET_IMAGE], check=True, capture_output=True)
    yield NOWGET_IMAGE
    subprocess.run(["docker", "image", "rm", NOWGET_IMAGE], capture_output=True)


NOWGET_COMPOSE = """---
version: "3.8"

services:
  app:
    image: ccci-test/nowget:1
    networks:
      - proxy
    deploy:
      labels:
        - "traefik.enable=true"
        - "traefik.http.services.${STACK_NAME}.loadbalancer.server.port=8080"
        - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)"
        - "traefik.http.routers.${STACK_NAME}.entrypoints=web-secure"

networks:
  proxy:
    external: true
"""


def test_an_app_without_shell_or_wget_passes_install(lab, swarm, nowget_image, assert_clean):
    folder = lab.tmp / "steps" / "nowget"
    folder.mkdir(parents=True)
    (folder / "compose.yml").write_text(NOWGET_COMPOSE)
    lab.enroll("nnowget", extra_steps=[{"root": folder.parent, "files": "nowget", "message": "no shell, no wget"}])
    run = lab.run("--recipe", "nnowget", "--tiers", "install")
    install = run.recipe("nnowget")["rungs"]["install"]
    assert install["status"] == "pass", f"{install}\n{run.output[-3000:]}"
    helpers = swarm.api.containers(all=True, filters={"ancestor": "ccci/probe:1"})
    assert not [c for c in helpers if run.recipe("nnowget")["domain"] in str(c.get("Labels"))], helpers
    assert_clean(run.recipe("nnowget")["domain"])
