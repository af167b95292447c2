"""The engine's waiter on the real swarm: verdicts come from this deploy's own events."""

from __future__ import annotations

import time

from pytest_ccci.swarm.engine import _timestamp


def test_back_to_back_redeploys_wait_for_their_own_update(direct_hello, swarm):
    """A redeploy right after another update completed must not take that `completed` for its own."""
    backend, app = direct_hello.backend, direct_hello.app
    assert backend.deploy(app, direct_hello.base, "release").convergence.ok
    first = backend.deploy(app, direct_hello.head, "chaos")
    assert first.convergence.ok, first.convergence.reason
    started = time.time()
    second = backend.deploy(app, direct_hello.base, "release")  # within a second of the first `completed`
    assert second.convergence.ok, second.convergence.reason
    status = swarm.service(second.app_service)["UpdateStatus"]
    assert status["State"] == "completed"
    assert _timestamp(status["StartedAt"]) >= started, "returned on an update that started before this deploy"
    assert "completed" in second.convergence.update_states.get(second.app_service, [])
    assert backend.read_stamp(second)["version"] == "0.2.0+1.35.0"
