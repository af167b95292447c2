"""The HTTP probe: from a helper beside the app's task, or from inside it where the probe image
is missing (said once); same verdicts either way (run/probe.py, with a stand-in swarm)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from pytest_ccci.errors import InfraError
from pytest_ccci.model.settings import Health
from pytest_ccci.run.probe import BODY_MARKER, PROBE_IMAGE, Prober

OK = "Connecting to 127.0.0.1:8080 (127.0.0.1:8080)\n  HTTP/1.1 200 OK\n  Content-Length: 3\n"
LABEL = "traefik.http.services.x.loadbalancer.server.port"


class FakeSwarm:
    def __init__(self, image: bool, answer: tuple[int, str]) -> None:
        self.image = image
        self.answer = answer
        self.beside: list[tuple] = []
        self.inside: list[tuple] = []

    def image_present(self, image: str) -> bool:
        assert image == PROBE_IMAGE
        return self.image

    def run_beside(self, service, cmd, labels, timeout):
        self.beside.append((service, cmd, dict(labels), timeout))
        return self.answer

    def exec(self, service, cmd, timeout):
        self.inside.append((service, cmd, timeout))
        return self.answer


def deployment(path: str = "/health") -> Any:  # a Deployment's shape, without a deploy
    settings = SimpleNamespace(health=Health(path=path))
    app = SimpleNamespace(settings=settings, stack="hell_x", run_id="run1", domain="hell-x.ccci.test", recipe="hell")
    config = {"services": {"app": {"deploy": {"labels": {LABEL: "8080"}}}}}
    return SimpleNamespace(app=app, config=config)


def test_the_probe_runs_beside_the_task_on_the_loopback_with_the_apps_labels(tmp_path):
    swarm = FakeSwarm(image=True, answer=(0, OK))
    status, said = Prober(cast(Any, swarm), lock_dir=tmp_path).http_status(deployment())
    assert status == 200
    assert said == "GET http://127.0.0.1:8080/health from a probe helper in hell_x_app's network answered 200"
    service, cmd, labels, timeout = swarm.beside[0]
    assert service == "hell_x_app" and cmd == ["wget", "-S", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
    assert labels == {
        "ccci.run": "run1",
        "ccci.domain": "hell-x.ccci.test",
        "ccci.recipe": "hell",
        "ccci.locks": str(tmp_path),
    }
    assert timeout == 20 and not swarm.inside


def test_no_status_is_said_with_wgets_words():
    swarm = FakeSwarm(image=True, answer=(1, "wget: can't connect to remote host (127.0.0.1): Connection refused\n"))
    status, said = Prober(cast(Any, swarm)).http_status(deployment())
    assert status is None
    assert "gave no HTTP status (wget exit 1): wget: can't connect to remote host" in said


def test_a_timeout_is_said_as_such():
    swarm = FakeSwarm(image=True, answer=(124, "timed out after 20s"))
    status, said = Prober(cast(Any, swarm)).http_status(deployment())
    assert status is None and said.endswith("gave no HTTP status (wget exit 124): timed out after 20s")


def test_without_the_probe_image_it_falls_back_inside_the_task_and_says_so_once():
    said_lines: list[str] = []
    swarm = FakeSwarm(image=False, answer=(0, OK))
    prober = Prober(cast(Any, swarm), progress=said_lines.append)
    assert prober.http_status(deployment())[0] == 200
    assert prober.http_status(deployment())[1].startswith("GET http://127.0.0.1:8080/health from inside hell_x_app")
    assert len(swarm.inside) == 2 and not swarm.beside
    assert len(said_lines) == 1 and f"probe image {PROBE_IMAGE} is missing" in said_lines[0]


def test_the_fallback_in_an_image_without_wget_is_unverified():
    swarm = FakeSwarm(image=False, answer=(127, "exec: wget: not found"))
    with pytest.raises(InfraError, match="no wget in its image and no probe image"):
        Prober(cast(Any, swarm)).http_status(deployment())


def test_a_request_posts_and_splits_headers_from_body():
    answer = "  HTTP/1.1 201 Created\n" + BODY_MARKER + "\nsaved\n"
    swarm = FakeSwarm(image=True, answer=(0, answer))
    status, body = Prober(cast(Any, swarm)).request(deployment(), "/cgi-bin/notes", data="a 'quoted' note")
    assert (status, body) == (201, "saved\n")
    _service, cmd, _labels, _timeout = swarm.beside[0]
    assert cmd[:2] == ["sh", "-c"] and cmd[3:] == ["request", "http://127.0.0.1:8080/cgi-bin/notes", "a 'quoted' note"]
