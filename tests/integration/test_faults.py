"""The fault matrix: a run that is interrupted, crashes, or meets a broken recipe or engine.

Every fault must end in a clear verdict, results.json must still be written (the affected
rungs `unver`, or `fail` where the recipe is at fault), and nothing may be left on the swarm:
either the run removes it itself, or — where a process died without a chance to clean up —
the next run's janitor does.

The faults are real: real signals to a real pytest process, a real xdist worker SIGKILLed,
real tasks that crash, a real missing image, a real hanging hook.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from background_run import RUN_TIMEOUT, Background, children_of, has_task, reap_now, wait_until
from recipe_variants import MISSING_IMAGE_ID, compose_step, domain_of, slow_step

from conftest import LOCK_DIR, Lab, leftovers
from pytest_ccci.model.naming import UPGRADE_VARIANT, stack_name
from pytest_ccci.run.locks import app_lock_path, read_holder

# -- a, b: a signal during the install deploy -------------------------------------------------


def assert_interrupted(run, code: int, recipe: str, rung_name: str) -> dict:
    """An interrupted run: exit 2, results.json still written and marked interrupted, the rung
    under way unverified (never failed), and no traceback. Returns the results."""
    out = run.output
    assert code == pytest.ExitCode.INTERRUPTED, f"exit {code}:\n{out[-3000:]}"
    results = run.results()
    assert results["interrupted"] is True
    rung = results["recipes"][recipe]["rungs"][rung_name]
    assert rung["status"] == "unver", rung
    assert "interrupt" in rung["reason"].lower(), rung
    assert "Traceback" not in out, out[-3000:]
    return results


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_install_deploy_leaves_install_unverified_and_nothing_behind(lab, swarm, assert_clean, sig):
    source = lab.enroll("fsig", extra_steps=slow_step(lab), settings={"deploy_timeout": 120})
    domain = domain_of("fsig", source)
    app_service = f"{stack_name(domain)}_app"
    run = Background(lab, "--recipe", "fsig", "--tiers", "install")
    try:
        wait_until(swarm, lambda: has_task(swarm, app_service), f"{app_service} to have a task", run)
        run.proc.send_signal(sig)
        code = run.wait()
    finally:
        run.stop()
    results = assert_interrupted(run, code, "fsig", "install")
    assert results["recipes"]["fsig"]["level"] == 0
    assert_clean(domain)


# -- c: a signal during the upgrade's redeploy of the head ------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_upgrade_redeploy_leaves_upgrade_unverified_and_nothing_behind(lab, swarm, assert_clean, sig):
    # The base release (0.2.0) converges quickly; only the head is slow to get healthy.
    source = lab.enroll("fupg", extra_steps=slow_step(lab), settings={"deploy_timeout": 120})
    domain = domain_of("fupg", source, UPGRADE_VARIANT)  # the upgrade lifecycle's own domain
    stack = stack_name(domain)
    chaos_label = f"coop-cloud.{stack}.chaos"

    def head_redeploy_started() -> bool:
        svc = swarm.service(f"{stack}_app")
        if not svc:
            return False
        return svc.labels.get(chaos_label) == "true" or svc.update_state == "updating"

    run = Background(lab, "--recipe", "fupg", "--tiers", "upgrade")
    try:
        wait_until(swarm, head_redeploy_started, f"the head redeploy of {stack}_app", run, timeout=180)
        run.proc.send_signal(sig)
        code = run.wait()
    finally:
        run.stop()
    assert_interrupted(run, code, "fupg", "upgrade")
    assert_clean(domain)


# -- c2: a signal while an overlapped run has both lifecycles deployed -------------------------


def test_signal_while_both_overlapped_lifecycles_are_deployed_leaves_nothing_on_either_domain(lab, swarm, assert_clean):
    # The upgrade lifecycle runs beside the install chain (run/overlap.py): two stacks are up.
    source = lab.enroll("fovl", functional=True)
    install_app = f"{stack_name(domain_of('fovl', source))}_app"
    upgrade_app = f"{stack_name(domain_of('fovl', source, UPGRADE_VARIANT))}_app"
    run = Background(lab, "--recipe", "fovl", "-o", "ccci_max_deploys=2")
    try:
        wait_until(
            swarm,
            lambda: has_task(swarm, install_app) and has_task(swarm, upgrade_app),
            f"{install_app} and {upgrade_app} both to have a task",
            run,
            timeout=180,
        )
        run.proc.send_signal(signal.SIGINT)
        code = run.wait()
    finally:
        run.stop()
    assert code == pytest.ExitCode.INTERRUPTED, run.output[-3000:]
    results = run.results()
    assert results["interrupted"] is True
    assert "Traceback" not in run.output, run.output[-3000:]
    rungs = results["recipes"]["fovl"]["rungs"]
    assert rungs["upgrade"]["status"] == "unver", rungs  # under way in the background: never a fail
    assert "fail" not in {r["status"] for r in rungs.values()}, rungs
    assert_clean(domain_of("fovl", source))  # the install's domain, and the upgrade's beside it


# -- d: an xdist worker killed mid-run ---------------------------------------------------------


def _kill_worker_deploying(lab: Lab, swarm, run: Background, domain: str) -> int:
    """SIGKILL the xdist worker (a child of the run's pytest process) that holds `domain`'s
    app lock, once its app task has a container. Returns the pid killed."""
    service = f"{stack_name(domain)}_app"

    def victim_worker() -> int | None:
        holder = read_holder(app_lock_path(LOCK_DIR, domain))
        if holder and holder.pid in children_of(run.proc.pid) and has_task(swarm, service):
            return holder.pid
        return None

    pid = wait_until(swarm, victim_worker, f"a worker of the run deploying {service}", run, timeout=180)
    os.kill(pid, signal.SIGKILL)
    return pid


def test_killed_xdist_worker_ends_the_run_with_results_and_the_janitor_cleans_up(lab, swarm, assert_clean):
    """The run ends with the crash named, results.json is written with both recipes, the killed
    recipe's install is `unver` (an infrastructure event, never the recipe's fault nor a pass),
    the other recipe's verdict stands, and after a janitor run nothing of either is left. (The
    dead worker's stack may already be gone: the next lifecycle on its domain, or a concurrent
    session's janitor, reaps it once its lock died with it.)"""
    victim_src = lab.enroll("fkil", extra_steps=slow_step(lab), settings={"deploy_timeout": 120})
    other_src = lab.enroll("fok")
    victim, other = domain_of("fkil", victim_src), domain_of("fok", other_src)
    run = Background(lab, "--recipe", "fkil", "--recipe", "fok", "--tiers", "install", "-n", "2")
    reaped: list[str] = []
    try:
        _kill_worker_deploying(lab, swarm, run, victim)
        code = run.wait()
        out = run.output
        results = run.results()
    finally:
        run.stop()
        reaped = reap_now(lab.tmp)
    assert code == pytest.ExitCode.TESTS_FAILED, f"exit {code}:\n{out[-3000:]}"
    assert "crashed while running 'ccci/fkil::test_install'" in out, out[-3000:]
    assert set(results["recipes"]) == {"fkil", "fok"}, results["recipes"].keys()
    assert results["recipes"]["fkil"]["rungs"]["install"]["status"] == "unver", results["recipes"]["fkil"]
    assert results["recipes"]["fok"]["rungs"]["install"]["status"] == "pass", results["recipes"]["fok"]
    assert not any(other in r for r in reaped), f"the janitor had to clean the surviving worker's app: {reaped}"
    assert_clean(other)
    assert_clean(victim)


def test_killed_xdist_worker_verdict_in_results_agrees_with_pytest(lab, swarm, assert_clean):
    victim_src = lab.enroll("fkin", extra_steps=slow_step(lab), settings={"deploy_timeout": 120})
    victim = domain_of("fkin", victim_src)
    run = Background(lab, "--recipe", "fkin", "--tiers", "install", "-n", "1")
    try:
        _kill_worker_deploying(lab, swarm, run, victim)
        code = run.wait()
        results = run.results()
    finally:
        run.stop()
        reap_now(lab.tmp)
    assert code == pytest.ExitCode.TESTS_FAILED  # pytest: the item failed (its worker crashed)
    rung = results["recipes"]["fkin"]["rungs"]["install"]
    assert rung["status"] == "unver" and "crash" in rung["reason"], rung
    # Whoever took the dead worker's stack down (the janitor above, or a concurrent session's
    # janitor once the lock died with the worker), nothing of it may be left.
    assert_clean(victim)


# -- e, f, g: the recipe's own tasks never get healthy ----------------------------------------


def test_crash_looping_task_fails_install_naming_the_exit(lab, assert_clean):
    steps = compose_step(
        lab, "crashloop", ("    entrypoint: /docker-entrypoint.sh\n", '    entrypoint: ["sh", "-c", "exit 1"]\n')
    )
    lab.enroll("fcrash", extra_steps=steps, settings={"max_task_failures": 2})
    run = lab.run("--recipe", "fcrash", "--tiers", "install", timeout=RUN_TIMEOUT)
    run.result.assert_outcomes(failed=1)
    rec = run.recipe("fcrash")
    rung = rec["rungs"]["install"]
    assert rung["status"] == "fail" and rec["level"] == 0, rung
    assert "non-zero exit (1)" in rung["reason"] and "lost 2 tasks" in rung["reason"], rung
    assert "Traceback" not in run.output
    assert_clean(rec["domain"])


# f. A healthcheck that never passes (hello-broken) is covered by
#    test_lifecycle.py::test_install_failure_names_the_unhealthy_task_and_its_error.


def test_a_task_rejected_for_a_missing_image_fails_install_quickly_with_the_swarms_words(lab, assert_clean):
    steps = compose_step(lab, "noimage", ("    image: ccci/busybox:1.35.0\n", f"    image: {MISSING_IMAGE_ID}\n"))
    lab.enroll("fimg", extra_steps=steps, settings={"max_task_failures": 2, "deploy_timeout": 120})
    started = time.monotonic()
    run = lab.run("--recipe", "fimg", "--tiers", "install", timeout=RUN_TIMEOUT)
    elapsed = time.monotonic() - started
    run.result.assert_outcomes(failed=1)
    rec = run.recipe("fimg")
    rung = rec["rungs"]["install"]
    assert rung["status"] == "fail", rung
    assert "No such image" in rung["reason"] and MISSING_IMAGE_ID in rung["reason"], rung
    # Given up on after max_task_failures rejected tasks, not after the deploy timeout.
    assert "not converged within" not in rung["reason"], rung
    assert rec["durations"]["install"] < 60 and elapsed < 100, (rec["durations"], elapsed)
    assert_clean(rec["domain"])


# -- h: a backup hook that hangs --------------------------------------------------------------


def test_hanging_backup_hook_fails_backup_within_the_hook_timeout(lab, assert_clean):
    steps = compose_step(
        lab,
        "hang",
        (
            "\"backupbot.backup.pre-hook=sh -c 'sync && date > /data/.backup-stamp'\"",
            '"backupbot.backup.pre-hook=sleep 600"',
        ),
    )
    lab.enroll("fhang", extra_steps=steps, settings={"hook_timeout": 3})
    run = lab.run("--recipe", "fhang", "--tiers", "install,backup", timeout=RUN_TIMEOUT)
    # The hook runs while the backup is being taken (fixture setup): a pytest error, rung fail.
    run.result.assert_outcomes(passed=1, errors=1)
    rec = run.recipe("fhang")
    rung = rec["rungs"]["backup_restore"]
    assert rung["status"] == "fail", rung
    assert "backup pre-hook" in rung["reason"] and "hung" in rung["reason"], rung
    assert "timed out after 3s" in rung["reason"], rung
    assert rec["durations"]["backup"] < 30, rec["durations"]
    assert "Traceback" not in run.output
    assert_clean(rec["domain"])


# -- i: the daemon goes away mid-run (last: it disturbs everything else on the host) ------------

DOCKERD_LOG = "/var/log/ccci-dockerd.log"


def _dockerd_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "dockerd":
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def _docker_info_ok() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _wait_for(condition, timeout: float) -> bool:
    # A readiness loop: there is no event to wait for while the daemon is down.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def _start_dockerd() -> None:
    if _dockerd_pids() and _docker_info_ok():
        return
    if not _dockerd_pids():
        # As scripts/setup-engine.sh starts it: swarm tasks start from local images and never
        # ask a registry (Docker Hub for ccci/busybox); the plugin pulls what is missing.
        subprocess.Popen(
            f"DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd >{DOCKERD_LOG} 2>&1 &",
            shell=True,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    assert _wait_for(_docker_info_ok, 120), f"dockerd did not come back within 120s; see {DOCKERD_LOG}"
    assert _wait_for(
        lambda: subprocess.run(["docker", "node", "ls"], capture_output=True, timeout=10).returncode == 0, 120
    ), "the swarm did not come back"


@pytest.mark.dockerd_restart
@pytest.mark.skipif(
    os.environ.get("CCCI_ALLOW_DOCKERD_RESTART") != "1",
    reason="stops the host's dockerd (every other run on the host fails meanwhile): set CCCI_ALLOW_DOCKERD_RESTART=1 "
    "and select it with -m dockerd_restart",
)
def test_daemon_unreachable_mid_run_is_unverified_and_the_janitor_cleans_after_restart(
    lab, swarm, assert_clean, missing_requirement
):
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        missing_requirement("needs root and a dockerd binary to stop and restart the daemon")
    source = lab.enroll("fdmn", extra_steps=slow_step(lab), settings={"deploy_timeout": 120})
    domain = domain_of("fdmn", source)
    app_service = f"{stack_name(domain)}_app"
    run = Background(lab, "--recipe", "fdmn", "--tiers", "install")
    try:
        wait_until(swarm, lambda: has_task(swarm, app_service), f"{app_service} to have a task", run)
        pids = _dockerd_pids()
        assert len(pids) == 1, f"expected one dockerd, found {pids}"
        os.kill(pids[0], signal.SIGTERM)
        assert _wait_for(lambda: not _dockerd_pids(), 60), "dockerd did not stop within 60s"
        code = run.wait(timeout=RUN_TIMEOUT)
        out = run.output
        results = run.results()
    finally:
        run.stop()
        _start_dockerd()
    assert code == pytest.ExitCode.TESTS_FAILED, f"exit {code}:\n{out[-3000:]}"
    rung = results["recipes"]["fdmn"]["rungs"]["install"]
    assert rung["status"] == "unver", rung
    assert rung["reason"].startswith("infrastructure:"), rung
    assert "Traceback" not in out, out[-3000:]
    # The swarm kept its state across the restart; the dead run's leftovers go to the janitor,
    # which may meet the stack's removal still under way: it runs again until the domain is
    # clean (a readiness loop: the daemon just came back, and no event says when removal ends).
    deadline = time.monotonic() + 60
    while leftovers(swarm, domain) and time.monotonic() < deadline:
        reap_now(lab.tmp)
        time.sleep(1)
    assert_clean(domain)
