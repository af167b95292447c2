"""Bad input ends in ONE clear line naming the thing and what to do, never a traceback.

Usage problems (the command line, the host) stop the run with exit code 4. Recipe problems
(its source, ref, files, settings) fail the recipe's rung — level 0 — with the reason in
results.json. A lock that cannot be had in time is not the recipe's fault: `unver`.
"""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from conftest import EXAMPLES, Lab
from pytest_ccci.model.naming import app_domain
from pytest_ccci.run.locks import acquire, app_lock_path, release

LOCK_DIR = Path("/tmp/pytest-ccci/locks")
HELLO_COMPOSE = (EXAMPLES / "hello/unreleased/compose.yml").read_text()


def no_traceback(run) -> None:
    assert "Traceback" not in run.output, run.output[-3000:]


def usage_line(run) -> str:
    """The run stopped as a usage error, with exactly one line saying why."""
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR, f"exit {run.result.ret}:\n{run.output[-3000:]}"
    no_traceback(run)
    lines = [ln for ln in run.output.splitlines() if "ccci:" in ln]
    assert len(lines) == 1, run.output
    assert run.results is None, "a usage error must stop the run before any results"
    return lines[0]


def failed_rung(run, recipe: str, rung: str = "install") -> str:
    """The recipe's rung failed (level 0) with a one-line reason, shown as one line, no traceback."""
    rec = run.recipe(recipe)
    got = rec["rungs"][rung]
    assert got["status"] == "fail", got
    assert rec["level"] == 0, rec
    reason = got["reason"]
    assert reason and "\n" not in reason, got
    no_traceback(run)
    assert f"RecipeError: {reason}" in run.output, f"the reason is not shown as one line:\n{run.output[-3000:]}"
    return reason


def step(lab: Lab, name: str, files: dict[str, str] | None = None, delete: list[str] | None = None) -> list[dict]:
    folder = lab.tmp / "steps" / name
    folder.mkdir(parents=True)
    for rel, text in (files or {}).items():
        (folder / rel).write_text(text)
    return [{"root": folder.parent, "files": name, "message": f"bad input: {name}", "delete": delete or []}]


# -- usage problems: exit 4 -------------------------------------------------------------------


def test_unknown_recipe_name_is_a_usage_error(lab):
    lab.enroll("bhere")
    run = lab.run("--recipe", "bnothere", "--tiers", "install")
    line = usage_line(run)
    assert "unknown recipe 'bnothere'" in line and "bhere" in line and str(lab.recipes_dir) in line, line


def test_no_docker_daemon_is_a_usage_error_saying_how_to_get_one(lab, monkeypatch):
    lab.enroll("bnod")
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/nonexistent.sock")
    run = lab.run("--recipe", "bnod", "--tiers", "install")
    line = usage_line(run)
    assert "no Docker daemon reachable at unix:///tmp/nonexistent.sock" in line, line
    assert "scripts/setup-engine.sh" in line, line


class _NotASwarmDaemon(BaseHTTPRequestHandler):
    """Answers the three calls `engine.connect` makes as a daemon that never joined a swarm.

    The real daemon must not leave its swarm (other runs use it); this only stands in for the
    engine's /version, /_ping and /info answers."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            body, kind = b"OK", "text/plain"
        elif path.endswith("/version"):
            body, kind = (
                json.dumps({"ApiVersion": "1.41", "Version": "20.10.24", "MinAPIVersion": "1.12"}).encode(),
                "application/json",
            )
        elif path.endswith("/info"):
            body = json.dumps({"Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False}}).encode()
            kind = "application/json"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("local", 0)


def test_daemon_without_a_swarm_is_a_usage_error_saying_how_to_init_one(lab, monkeypatch):
    lab.enroll("bnos")
    sock_dir = tempfile.mkdtemp(prefix="ccci-", dir="/tmp")
    sock = os.path.join(sock_dir, "d.sock")
    server = _UnixHTTPServer(sock, _NotASwarmDaemon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
        run = lab.run("--recipe", "bnos", "--tiers", "install", timeout=120)
    finally:
        server.shutdown()
        server.server_close()
        Path(sock).unlink(missing_ok=True)
        os.rmdir(sock_dir)
    line = usage_line(run)
    assert "is not a swarm manager (state: inactive)" in line, line
    assert "docker swarm init" in line, line


# -- recipe problems: the rung fails, level 0 -------------------------------------------------


def test_ref_that_does_not_exist_fails_the_rung(lab):
    lab.enroll("bref")
    run = lab.run("--recipe", "bref", "--tiers", "install", "--ref", "no-such-ref")
    run.result.assert_outcomes(errors=1)
    reason = failed_rung(run, "bref")
    assert "ref 'no-such-ref' does not exist" in reason, reason


def test_unreachable_source_is_unverified_at_level_0(lab):
    """A source the runner cannot reach (connection refused) is the runner's trouble: unverified,
    not failed, and still level 0."""
    lab.enroll("bsrc", settings={"source": "http://127.0.0.1:9/nowhere/recipe.git"})
    run = lab.run("--recipe", "bsrc", "--tiers", "install", timeout=180)
    rec = run.recipe("bsrc")
    got = rec["rungs"]["install"]
    assert got["status"] == "unver" and rec["level"] == 0, rec
    assert "source http://127.0.0.1:9/nowhere/recipe.git could not be reached from this runner" in got["reason"], got
    assert "\n" not in got["reason"]
    no_traceback(run)


def test_recipe_without_env_sample_fails_the_rung(lab):
    lab.enroll("benv", extra_steps=step(lab, "noenv", delete=[".env.sample"]))
    run = lab.run("--recipe", "benv", "--tiers", "install")
    run.result.assert_outcomes(errors=1)
    reason = failed_rung(run, "benv")
    assert ".env.sample: missing" in reason, reason


def test_malformed_compose_yaml_fails_the_rung(lab):
    broken = HELLO_COMPOSE.replace("services:\n  app:\n", "services:\n  app:\n    image: [unclosed\n", 1)
    assert broken != HELLO_COMPOSE
    lab.enroll("byml", extra_steps=step(lab, "badyaml", {"compose.yml": broken}))
    run = lab.run("--recipe", "byml", "--tiers", "install")
    run.result.assert_outcomes(errors=1)
    reason = failed_rung(run, "byml")
    # Named recipe-relative, with its line: the view reads each compose file before docker does.
    assert reason.startswith("compose.yml:7: invalid YAML: "), reason


def test_compose_requiring_an_unset_variable_fails_the_rung_with_its_message(lab):
    needy = HELLO_COMPOSE.replace("      - GREETING\n", "      - GREETING\n      - NEEDED=${NEEDED:?set NEEDED}\n", 1)
    assert needy != HELLO_COMPOSE
    lab.enroll("bvar", extra_steps=step(lab, "needy", {"compose.yml": needy}))
    run = lab.run("--recipe", "bvar", "--tiers", "install")
    run.result.assert_outcomes(errors=1)
    reason = failed_rung(run, "bvar")
    assert "NEEDED" in reason and "set NEEDED" in reason, reason


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"deploy_timout": 5}, "unknown key 'deploy_timout'"),
        ({"deploy_timeout": "soon"}, "deploy_timeout must be int or float, got str 'soon'"),
    ],
    ids=["unknown-key", "wrong-type"],
)
def test_bad_settings_fail_the_rung_naming_the_file_and_key(lab, settings, words):
    lab.enroll("bset", settings=settings)
    run = lab.run("--recipe", "bset", "--tiers", "install")
    run.result.assert_outcomes(errors=1)
    reason = failed_rung(run, "bset")
    assert words in reason and "ccci.yml" in reason, reason


# -- not the recipe's fault: unver ------------------------------------------------------------


def test_app_lock_not_obtained_in_time_is_unverified_naming_the_holder(lab, assert_clean):
    source = lab.enroll("block")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True
    ).stdout.strip()
    domain = app_domain("block", head, "ccci.test")
    lock = acquire(app_lock_path(LOCK_DIR, domain), "bad-input-test", "held by test_bad_input", timeout=60)
    try:
        run = lab.run("--recipe", "block", "--tiers", "install", "-o", "ccci_lock_timeout=3", timeout=120)
    finally:
        release(lock)
    run.result.assert_outcomes(errors=1)
    rec = run.recipe("block")
    rung = rec["rungs"]["install"]
    assert rung["status"] == "unver", rung
    reason = rung["reason"]
    assert "not obtained within 3s" in reason, reason
    assert f"pid {os.getpid()}" in reason and "held by test_bad_input" in reason and "bad-input-test" in reason, reason
    no_traceback(run)
    assert_clean(domain)


def test_checkouts_live_in_the_runs_own_temp_dir(lab):
    # The reason names the file recipe-relative, at its commit, never the run's temporary checkout;
    # the checkout itself is inside this run's basetemp.
    lab.enroll("bdir", extra_steps=step(lab, "noenv", delete=[".env.sample"]))
    run = lab.run("--recipe", "bdir", "--tiers", "install")
    recipe = run.recipe("bdir")
    reason = recipe["rungs"]["install"]["reason"]
    assert reason == f"recipe bdir: .env.sample: missing at {recipe['head_sha'][:8]} (every recipe needs one)"
    assert any(lab.tmp.rglob("checkouts/bdir-*")), "the checkout is not in the run's basetemp"
