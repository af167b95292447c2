"""The engine's waiter on the real swarm: verdicts come from this deploy's own events."""

from __future__ import annotations

import time
from pathlib import Path

from pytest_ccci.backend import App, SecretVault, SwarmBackend
from pytest_ccci.engine import _timestamp
from pytest_ccci.locks import acquire, app_lock_path, release
from pytest_ccci.recipe import RecipeRepo
from pytest_ccci.settings import load_settings

LOCK_DIR = Path("/tmp/pytest-ccci/locks")


def test_back_to_back_redeploys_wait_for_their_own_update(lab, swarm, tmp_path, assert_clean):
    """A redeploy right after another update completed must not take that `completed` for its own."""
    lab.enroll("again")
    settings = load_settings(lab.recipes_dir / "again")
    repo = RecipeRepo("again", settings.source, tmp_path / "cache")
    repo.fetch()
    head = repo.checkout(repo.resolve(None), tmp_path / "head")
    base = repo.checkout(repo.resolve("0.2.0+1.35.0"), tmp_path / "base")
    app = App.for_checkout(settings, head.head_sha, "ccci.test", "engine-test")
    backend = SwarmBackend(swarm, tmp_path / "deploy", SecretVault(), lock_dir=LOCK_DIR)
    lock = acquire(app_lock_path(LOCK_DIR, app.domain), "engine-test", "waiter test", timeout=300)
    try:
        assert backend.deploy(app, base, "release").convergence.ok
        first = backend.deploy(app, head, "chaos")
        assert first.convergence.ok, first.convergence.reason
        started = time.time()
        second = backend.deploy(app, base, "release")  # within a second of the first `completed`
        assert second.convergence.ok, second.convergence.reason
        status = swarm.service(second.app_service)["UpdateStatus"]
        assert status["State"] == "completed"
        assert _timestamp(status["StartedAt"]) >= started, "returned on an update that started before this deploy"
        assert "completed" in second.convergence.update_states.get(second.app_service, [])
        assert backend.read_stamp(second)["version"] == "0.2.0+1.35.0"
    finally:
        left = backend.teardown(app)
        release(lock)
    assert not left
    assert_clean(app.domain)
