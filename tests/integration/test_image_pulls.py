"""Image pulls on the real engine, against a real registry on 127.0.0.1 (issue 11, item 5).

With `ccci_pull = missing` the plugin pulls the images a recipe names and the engine lacks,
before the deploy is timed, saying so: a reference the registry does not know fails the recipe
naming the image in docker's words; a registry out of reach is the runner's problem (unver).
With `ccci_pull = never` it pulls nothing and a missing image fails its task in swarm's words.

No public registry is ever asked: the registry is Debian's `docker-registry` binary
(scripts/setup-registry.sh) serving on 127.0.0.1:<free port> from a tmp dir, and every image
reference here names it (or a 127.0.0.1 port with nothing listening). The lab's ini says
`ccci_pull = never`; each run here opts in with `-o ccci_pull=missing`.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import docker
import docker.errors
import pytest
import yaml
from background_run import RUN_TIMEOUT
from recipe_variants import compose_step
from stalling_registry import StallingRegistry

from conftest import ROOT, Lab
from pytest_ccci.errors import InfraError

# Where scripts/setup-registry.sh leaves the binary (a link to the one on PATH, or Debian's, extracted).
REGISTRY_BINARY = ROOT / ".ccci" / "tools" / "docker-registry"
REGISTRY_START_SECONDS = 30
BASE_IMAGE = "ccci/busybox:1.35.0"  # hello's image, and the base of the image pushed here
HELLO_IMAGE_LINE = f"    image: {BASE_IMAGE}\n"
PULL_MISSING = ("-o", "ccci_pull=missing")


# -- the registry ----------------------------------------------------------------------------


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def registry_answers(address: str) -> bool:
    """Whether the registry's API root answers (any HTTP status); dials 127.0.0.1 only, never
    through a proxy the environment may name."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}/v2/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answered (e.g. 401 from a registry with auth)
    except OSError:
        return False


def registry_binary() -> str | None:
    found = REGISTRY_BINARY if os.access(REGISTRY_BINARY, os.X_OK) else shutil.which("docker-registry")
    return str(found) if found else None


@pytest.fixture(scope="module")
def local_registry(tmp_path_factory: pytest.TempPathFactory, missing_requirement) -> Iterator[str]:
    """A registry (distribution 2.x) on 127.0.0.1:<free port>, storing in a tmp dir; yields its
    address `127.0.0.1:PORT` (dockerd treats 127.0.0.0/8 as an insecure registry: plain HTTP,
    no daemon config). Stopped, by its pid, afterwards."""
    binary = registry_binary() or missing_requirement(
        f"no registry binary at {REGISTRY_BINARY} or on PATH: run scripts/setup-registry.sh"
    )
    root = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": address},
    }
    (root / "config.yml").write_text(yaml.safe_dump(config))
    with open(root / "registry.log", "wb") as log:
        proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + REGISTRY_START_SECONDS
        while not registry_answers(address):
            log_text = (root / "registry.log").read_text(errors="replace")
            assert proc.poll() is None, f"the registry exited ({proc.returncode}):\n{log_text}"
            assert time.monotonic() < deadline, f"the registry did not answer within {REGISTRY_START_SECONDS}s"
            time.sleep(0.2)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def push_registry_only_image(client: docker.DockerClient, image: str) -> None:
    """Make `image` (REGISTRY/REPOSITORY:TAG) a new image, busybox plus a layer of random bytes
    (a layer the engine has nowhere else), push it to its registry and remove it from the engine."""
    repository, tag = image.rsplit(":", 1)
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        data = secrets.token_bytes(256 * 1024)
        info = tarfile.TarInfo("ccci-pulltest.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    container = client.containers.create(BASE_IMAGE)  # never started: only its filesystem is used
    try:
        container.put_archive("/", payload.getvalue())
        container.commit(repository=repository, tag=tag)
    finally:
        container.remove(force=True)
    for event in client.api.push(repository, tag=tag, stream=True, decode=True):
        assert not event.get("error"), f"pushing {repository}:{tag}: {event}"
    client.images.remove(image)  # its only name: the image and its own layer go


def remove_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.remove(image, force=True)
    except docker.errors.NotFound:
        pass


# The deploy policy refuses an image from the runner's own network unless the recipe is allowed it.
ALLOW_LOCAL_REGISTRY = [{"kind": "private-registry", "service": "app", "reason": "the test's registry on 127.0.0.1"}]


def enroll_with_image(lab: Lab, name: str, image: str, allow_local_registry: bool = True, **settings) -> None:
    """hello under `name`, its app image swapped for `image`."""
    if allow_local_registry:
        settings["allow"] = ALLOW_LOCAL_REGISTRY
    lab.enroll(
        name, extra_steps=compose_step(lab, name, (HELLO_IMAGE_LINE, f"    image: {image}\n")), settings=settings
    )


def install_verdict(run, name: str, status: str) -> dict:
    """The recipe's install rung, asserted to have `status` and the run to have no traceback."""
    rung = run.recipe(name)["rungs"]["install"]
    assert rung["status"] == status, f"{rung}\n{run.output[-3000:]}"
    assert "Traceback" not in run.output
    return rung


# -- a: pulled before the deploy --------------------------------------------------------------


def test_an_image_only_the_registry_has_is_pulled_before_the_deploy(lab, swarm, local_registry, assert_clean):
    image = f"{local_registry}/ccci-pulltest/hello:{secrets.token_hex(6)}"
    try:
        push_registry_only_image(swarm.client, image)
        assert not swarm.image_present(image)
        enroll_with_image(lab, "pullnew", image)

        run = lab.run("--recipe", "pullnew", "--tiers", "install", *PULL_MISSING, timeout=RUN_TIMEOUT)

        rec = run.recipe("pullnew")
        install_verdict(run, "pullnew", "pass")
        assert f"pulling {image} (not on this runner's engine)" in run.output, run.output[-3000:]
        assert re.search(rf"pulled {re.escape(image)} in \d+\.\d+s", run.output), run.output[-3000:]
        assert list(rec["pulled"]) == [image] and rec["pulled"][image] >= 0, rec["pulled"]
        assert swarm.image_present(image)
        assert_clean(rec["domain"])
    finally:
        remove_image(swarm.client, image)


# -- b, c: a tag the registry does not know (fail), a registry out of reach (unver); and a ------
# registry on the runner's own network the recipe is not allowed (refused: fail, nothing pulled)


def test_an_unknown_tag_fails_and_an_unreachable_registry_is_unverified(lab, local_registry, assert_clean):
    unknown = f"{local_registry}/ccci-pulltest/hello:nope-{secrets.token_hex(4)}"
    unreachable = f"127.0.0.1:{free_port()}/ccci-pulltest/hello:1"  # nothing listens there
    enroll_with_image(lab, "pulltag", unknown)
    enroll_with_image(lab, "pullnoreg", unreachable)
    enroll_with_image(lab, "pullrefused", unknown, allow_local_registry=False)

    recipes = ("--recipe", "pulltag", "--recipe", "pullnoreg", "--recipe", "pullrefused")
    run = lab.run(*recipes, "--tiers", "install", *PULL_MISSING)

    tag = install_verdict(run, "pulltag", "fail")
    assert f"image {unknown} cannot be pulled" in tag["reason"] and "manifest unknown" in tag["reason"], tag
    noreg = install_verdict(run, "pullnoreg", "unver")
    assert f"image {unreachable} could not be pulled on this runner" in noreg["reason"], noreg
    assert "connection refused" in noreg["reason"], noreg
    refused = install_verdict(run, "pullrefused", "fail")
    assert f"service app image: {unknown}" in refused["reason"] and "kind: private-registry" in refused["reason"]
    for name in ("pulltag", "pullnoreg", "pullrefused"):  # refused before anything was created
        assert run.recipe(name)["pulled"] == {}, run.recipe(name)
        assert_clean(run.recipe(name)["domain"])


def test_an_invalid_image_reference_fails_naming_the_image(lab, assert_clean):
    bad = "ccci/BusyBox:1.35.0"  # repository names are lowercase: no registry is asked
    enroll_with_image(lab, "pullbad", bad)

    run = lab.run("--recipe", "pullbad", "--tiers", "install", *PULL_MISSING)

    rung = install_verdict(run, "pullbad", "fail")
    assert bad in rung["reason"] and "invalid reference format" in rung["reason"], rung
    assert_clean(run.recipe("pullbad")["domain"])


# -- d: never pulls ---------------------------------------------------------------------------


def test_never_makes_a_missing_image_the_runners_trouble_before_anything_is_deployed(lab, local_registry, assert_clean):
    # The runner may pull (ccci_pull = missing) from a registry it reaches, but the recipe's own
    # `pull: never` says its images are preloaded: unver, naming the image and the rule (the
    # ini's `never` takes the same path: tests/unit/test_images.py).
    image = f"{local_registry}/ccci-pulltest/hello:never-{secrets.token_hex(4)}"
    enroll_with_image(lab, "pullnever", image, pull="never")

    run = lab.run("--recipe", "pullnever", "--tiers", "install", *PULL_MISSING, timeout=RUN_TIMEOUT)

    rung = install_verdict(run, "pullnever", "unver")
    assert f"image {image} is not on this runner's engine, and its pull says never to pull it" in rung["reason"]
    assert f"pulling {image}" not in run.output and run.recipe("pullnever")["pulled"] == {}, run.output[-3000:]
    assert_clean(run.recipe("pullnever")["domain"])


# -- a registry gone silent -------------------------------------------------------------------


def test_a_registry_gone_silent_mid_layer_ends_the_pull_and_the_engine_drops_it(swarm):
    # Swarm.pull directly, with a silence bound of seconds (the plugin's is minutes).
    with StallingRegistry() as registry:
        image = f"{registry.address}/ccci-pulltest/stall:{secrets.token_hex(4)}"
        try:
            for attempt in (1, 2):
                started = time.monotonic()
                with pytest.raises(InfraError, match=r"the pull said nothing for 3s \(the registry stalled\)"):
                    swarm.pull(image, lambda event: None, silence=3)
                assert time.monotonic() - started < 30
                # A pull the engine kept going would be joined by the next one, which would then
                # not ask for the layer again: each attempt asking anew shows the engine dropped it.
                assert registry.layer_requests == attempt
        finally:
            assert not swarm.image_present(image)


def test_a_registry_silent_before_the_manifest_ends_the_pull_naming_the_image(swarm):
    # The engine answers a pull only once the registry gave it the manifest: the silence is then
    # the request's own, and still this pull's verdict (not "docker engine error").
    with StallingRegistry(stall_at="manifest") as registry:
        image = f"{registry.address}/ccci-pulltest/stall:{secrets.token_hex(4)}"
        with pytest.raises(InfraError, match=r"the pull said nothing for 3s \(the registry stalled\)") as caught:
            swarm.pull(image, lambda event: None, silence=3)
        assert image in str(caught.value)
