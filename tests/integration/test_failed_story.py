"""A failed tier on the real swarm: its whole story saved before teardown (each service's log,
task history and last update, linked from results.json, the HTML report and JUnit), and
`--ccci-keep-failed` leaving the failed app deployed, its domain held by a marker until a
deadline, released by `pytest-ccci release`, reaped by the janitor only past its deadline.

hello-broken's head healthchecks a page that does not exist: its install never converges.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

from conftest import EXAMPLES, leftovers
from pytest_ccci.documents.kept import parse_marker
from pytest_ccci.model.secrets import MASK
from pytest_ccci.run.janitor import reap
from pytest_ccci.run.locks import app_lock_path, kept_marker_path

BROKEN = {"max_task_failures": 2}


def talking_step(lab) -> list[dict]:
    """hello-broken's entrypoint, saying something at each start: its admin password too (a
    story must mask it)."""
    folder = lab.tmp / "steps" / "talk"
    folder.mkdir(parents=True)
    entrypoint = (EXAMPLES / "hello/unreleased/entrypoint.sh").read_text()
    said = 'echo "hello: starting revision ${APP_REVISION}, password $(cat /run/secrets/admin_password)"\n'
    (folder / "entrypoint.sh").write_text(entrypoint.replace("mkdir -p /www", said + "mkdir -p /www", 1))
    return [{"root": lab.tmp / "steps", "files": "talk", "message": "hello: say something at start"}]


def test_a_failed_install_leaves_its_story_linked_from_results_html_and_junit(lab, assert_clean):
    lab.enroll("sbroken", example="hello-broken", settings=BROKEN, extra_steps=talking_step(lab))
    run = lab.run("--recipe", "sbroken", "--tiers", "install", "--html", "report.html", "--junitxml", "junit.xml")
    run.result.assert_outcomes(failed=1)
    hello = run.recipe("sbroken")
    (item,) = hello["tiers"].values()
    assert item["status"] == "fail"
    assert not any(Path(a["path"]).is_absolute() for a in item["artifacts"]), "paths relative to results.json"
    files = {(a["service"], a["kind"]): lab.tmp / a["path"] for a in item["artifacts"]}
    service = next(s for s, _ in files if s.endswith("_app"))
    assert {k for s, k in files if s == service} == {"log", "tasks", "update"}, files
    # The log: every task's start, named by its task, the password masked.
    log = files[(service, "log")].read_text()
    starts = [ln for ln in log.splitlines() if "hello: starting revision 3" in ln]
    assert len(starts) >= 2 and all(f" {service}.1." in ln for ln in starts), log[-2000:]
    assert all(ln.endswith(f"password {MASK}") for ln in starts), starts
    # The history: the tasks that failed their healthcheck, shut down, with their errors.
    tasks = files[(service, "tasks")].read_text()
    assert tasks.startswith("ID") and tasks.count(f"{service}.1") >= 2, tasks
    assert "shutdown" in tasks and "404 Not Found" in tasks, tasks  # each task's last healthcheck
    update = files[(service, "update")].read_text()
    assert update.startswith("UpdateStatus:") and "Spec changes (PreviousSpec -> Spec):" in update, update
    html = (lab.tmp / "report.html").read_text()
    for path in files.values():
        assert path.relative_to(lab.tmp).as_posix() in html, f"the HTML report does not link {path}"
    junit = ET.parse(lab.tmp / "junit.xml")
    named = {Path(p.get("value", "")).resolve() for p in junit.iter("property") if p.get("name") == "ccci.artifact"}
    assert {p.resolve() for p in files.values()} <= named, named
    assert hello["clean_teardown"] is True and "kept" not in hello
    assert_clean(hello["domain"])


def test_keep_failed_holds_the_app_until_released_and_the_janitor_waits_for_its_deadline(lab, swarm, assert_clean):
    lock_dir = lab.tmp / "locks"
    lab.enroll("kbroken", example="hello-broken", settings=BROKEN)
    keep = ("-o", f"ccci_lock_dir={lock_dir}", "-o", "ccci_keep_failed_hours=0.5")
    run = lab.run("--recipe", "kbroken", "--tiers", "install", "--ccci-keep-failed", *keep)
    run.result.assert_outcomes(failed=1)
    hello = run.recipe("kbroken")
    domain, kept = hello["domain"], hello["kept"]
    try:
        assert kept["domain"] == domain and kept["deadline"] and kept["services"], kept
        assert hello["leftovers"] == [] and hello["clean_teardown"] is not False, "a kept app is no leftover failure"
        service = kept["services"][0]
        assert f"service {service}" in leftovers(swarm, domain), "the failed app is still deployed"
        marker = kept_marker_path(app_lock_path(lock_dir, domain))
        assert parse_marker(marker.read_text()).deadline == kept["deadline"]
        # The run said, once, how to reach it and how to release it; the commands work as printed.
        out = run.output
        assert out.count(f"docker service logs --timestamps {service}") == 1, out[-3000:]
        release_line = f"pytest-ccci release --lock-dir {lock_dir} {domain}"
        assert release_line in out, out[-3000:]
        shell = next(ln for ln in out.splitlines() if "docker exec -it" in ln).split(":  ", 1)[1]
        assert shell.endswith(" sh"), shell
        assert_runs(shell.replace("docker exec -it", "docker exec").removesuffix(" sh") + " true")
        # Another run of the same recipe meets the held domain: one line naming the marker and the release.
        again = lab.run(
            "--recipe", "kbroken", "--tiers", "install", *keep, "-o", "ccci_lock_timeout=3", json_name="again.json"
        )
        reason = again.recipe("kbroken")["rungs"]["install"]["reason"]
        assert again.recipe("kbroken")["rungs"]["install"]["status"] == "unver", reason
        assert reason.startswith(f"infrastructure: {domain} is kept (--ccci-keep-failed) until "), reason
        assert f"free it with `pytest-ccci release {domain}`" in reason and str(marker) in again.output, reason
        # The janitor: not before the deadline ...
        janitor = SimpleNamespace(swarm=swarm, lock_dir=lock_dir)
        assert reap(janitor) == [] and f"service {service}" in leftovers(swarm, domain)
        assert marker.is_file()
        # ... after it: reaped, marker and all.
        moved = {**json.loads(marker.read_text()), "deadline": "2000-01-01T00:00:00Z"}
        marker.write_text(json.dumps(moved))
        assert f"service {service}" in reap(janitor)
        assert not marker.exists()
        assert_clean(domain)
    finally:
        released = release(lock_dir, domain)
    # Released already (by the janitor): one clear line, no traceback.
    assert released.returncode == 2 and "no kept app" in released.stderr and "Traceback" not in released.stderr


def test_release_tears_a_kept_app_down_and_frees_its_domain(lab, swarm, assert_clean):
    lock_dir = lab.tmp / "locks"
    lab.enroll("rbroken", example="hello-broken", settings=BROKEN)
    run = lab.run("--recipe", "rbroken", "--tiers", "install", "--ccci-keep-failed", "-o", f"ccci_lock_dir={lock_dir}")
    run.result.assert_outcomes(failed=1)
    domain = run.recipe("rbroken")["kept"]["domain"]
    assert leftovers(swarm, domain), "kept: still deployed"
    released = release(lock_dir, domain)
    assert released.returncode == 0, released.stderr
    assert f"{domain} torn down and released" in released.stdout
    assert not kept_marker_path(app_lock_path(lock_dir, domain)).exists()
    assert_clean(domain)


def assert_runs(command: str, patience: float = 60) -> None:
    """`command` (a shell line) exits 0, once the crash-looping app has a running task: between
    two of its tasks there is none to exec into (a test's bounded readiness loop)."""
    deadline = time.monotonic() + patience
    while True:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert done.returncode == 0, f"{command}: {done.stderr}"


def release(lock_dir: Path, domain: str) -> subprocess.CompletedProcess[str]:
    """`pytest-ccci release` as a maintainer runs it (the module form of the console script)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_ccci", "release", "--lock-dir", str(lock_dir), domain],
        capture_output=True,
        text=True,
        timeout=300,
    )
