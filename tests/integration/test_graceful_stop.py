"""Teardown measures how each service's tasks ended (swarm/teardown.py, model/stops.py).

hello's entrypoint runs httpd as a child and exits 0 on TERM; notes-pg's app and PostgreSQL
stop on TERM too: all graceful, no warning. `tstopless` is hello with httpd exec'd as PID 1,
which has no default handler for TERM and so ignores it, under a stop_grace_period of 3 s:
swarm kills it (exit 137) after those 3 s, and that is the install rung's S001 warning.
Each app is deployed through the backend, as a lifecycle deploys it, then removed by teardown.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from recipe_variants import HELLO_COMPOSE

from conftest import EXAMPLES, LOCK_DIR, ROOT
from pytest_ccci.model.stops import GRACEFUL, KILLED, StopRecord, stop_warnings
from pytest_ccci.swarm import teardown

STOPLESS_GRACE_SECONDS = 3.0
HELLO_ENTRYPOINT = (EXAMPLES / "hello/unreleased/entrypoint.sh").read_text()
RUNS_HTTPD_AS_A_CHILD = "httpd -f -p 8080 -h /www &\ntrap 'kill $!; exit 0' TERM INT\nwait\n"


def stopless_step(tmp: Path) -> list[dict]:
    """hello, its httpd exec'd as PID 1 (TERM ignored), with a 3 s stop_grace_period."""
    assert HELLO_ENTRYPOINT.endswith(RUNS_HTTPD_AS_A_CHILD), "hello's entrypoint no longer ends as this test expects"
    folder = tmp / "steps" / "stopless"
    folder.mkdir(parents=True)
    entrypoint = HELLO_ENTRYPOINT.removesuffix(RUNS_HTTPD_AS_A_CHILD) + "exec httpd -f -p 8080 -h /www\n"
    (folder / "entrypoint.sh").write_text(entrypoint)
    line = "    entrypoint: /docker-entrypoint.sh\n"
    assert line in HELLO_COMPOSE
    compose = HELLO_COMPOSE.replace(line, f"{line}    stop_grace_period: {STOPLESS_GRACE_SECONDS:g}s\n")
    (folder / "compose.yml").write_text(compose)
    return [{"root": folder.parent, "files": "stopless", "message": "test variant: httpd as PID 1"}]


@pytest.fixture
def stops_at_teardown(lab, swarm, tmp_path, assert_clean):
    """Deploy an enrolled recipe's head through the backend, remove it with teardown; its stop
    records. Whatever a failed step leaves is removed by the backend's own teardown."""
    from pytest_ccci.model.app import App
    from pytest_ccci.model.runner import RunnerChoices
    from pytest_ccci.model.secrets import SecretVault
    from pytest_ccci.model.settings import load_settings
    from pytest_ccci.run.backend import SwarmBackend
    from pytest_ccci.run.locks import acquire, app_lock_path, release
    from pytest_ccci.run.repo import RecipeRepo

    def deploy_and_remove(name: str) -> dict[str, StopRecord]:
        settings = load_settings(lab.recipes_dir / name)
        repo = RecipeRepo(name, settings.source, tmp_path / "cache" / name)
        repo.fetch()
        head = repo.checkout(repo.resolve(None), tmp_path / "head" / name)
        app = App.for_checkout(settings, head.head_sha, "ccci.test", "stop20-test")
        backend = SwarmBackend(
            swarm, tmp_path / "deploy" / name, SecretVault(), lock_dir=LOCK_DIR, runner=RunnerChoices(pull="never")
        )
        lock = acquire(app_lock_path(LOCK_DIR, app.domain), "stop20-test", "graceful stop test", timeout=300)
        found: list[dict[str, StopRecord]] = []
        try:
            deployed = backend.deploy(app, head, "chaos")
            assert deployed.convergence.ok, deployed.convergence.reason
            left = teardown.remove(swarm.api, app.stack, app.label_filter, stopped=found.append)
            assert not left, f"teardown left: {left}"
        finally:
            backend.teardown(app)
            release(lock)
        assert_clean(app.domain)
        assert len(found) == 1, found
        return found[0]

    return deploy_and_remove


def test_sigterm_ignoring_app_is_killed_after_its_grace_and_warned(lab, tmp_path, stops_at_teardown):
    lab.enroll("tstopless", extra_steps=stopless_step(tmp_path))
    stops = stops_at_teardown("tstopless")
    record = stops["app"]
    assert (record.how, record.exit_code, record.grace_seconds) == (KILLED, 137, STOPLESS_GRACE_SECONDS)
    assert STOPLESS_GRACE_SECONDS - 0.5 <= record.seconds <= STOPLESS_GRACE_SECONDS + 2, record
    (warning,) = stop_warnings(stops)
    assert warning["id"] == "S001"
    assert "service app ignored SIGTERM: killed (exit 137)" in warning["detail"]
    assert "at the end of its 3s stop_grace_period" in warning["detail"]


def test_hello_and_notes_pg_stop_on_sigterm_without_a_warning(lab, stops_at_teardown):
    lab.enroll("tstophello")
    hello = stops_at_teardown("tstophello")
    assert set(hello) == {"app"}
    assert hello["app"].how == GRACEFUL and hello["app"].exit_code == 0, hello
    assert hello["app"].seconds < 2, hello

    settings = yaml.safe_load((ROOT / "recipes/notes-pg/ccci.yml").read_text())
    del settings["source"]
    lab.enroll("tstopnotes", example="notes-pg", settings={**settings, "env": {}})
    notes = stops_at_teardown("tstopnotes")
    assert set(notes) == {"app", "db"}, notes
    assert all(r.how == GRACEFUL and r.seconds < 5 for r in notes.values()), notes
    assert stop_warnings({**hello, **notes}) == []


def test_a_plugin_run_warns_on_install_for_the_app_that_ignores_sigterm_and_not_for_hello(lab, tmp_path):
    lab.enroll("tstopwarn", extra_steps=stopless_step(tmp_path))
    lab.enroll("tstopquiet")
    run = lab.run("--recipe", "tstopwarn", "--recipe", "tstopquiet", "--tiers", "install")
    stopless, hello = run.recipe("tstopwarn"), run.recipe("tstopquiet")
    assert stopless["rungs"]["install"]["status"] == "pass", stopless["rungs"]
    assert stopless["stops"]["app"]["how"] == KILLED, stopless["stops"]
    assert [(w["id"], w.get("rung")) for w in stopless["warnings"]] == [("S001", "install")], stopless["warnings"]
    assert hello["rungs"]["install"]["status"] == "pass", hello["rungs"]
    assert hello["stops"]["app"]["how"] == GRACEFUL, hello["stops"]
    assert not [w for w in hello["warnings"] if w["id"].startswith("S")], hello["warnings"]
    table = run.result.stdout.str().splitlines()
    header = next(line for line in table if line.startswith("recipe ") and " install" in line)
    column = header.index("install")
    row_of = {name: next(line for line in table if line.startswith(name + " ")) for name in ("tstopwarn", "tstopquiet")}
    assert row_of["tstopwarn"][column:].startswith("pass (1 warn)"), row_of["tstopwarn"]
    assert row_of["tstopquiet"][column:].startswith("pass ") and "warn" not in row_of["tstopquiet"], row_of
    assert any(line.strip().startswith("tstopwarn install: 1 warning(s): S001") for line in table), run.output
