"""The janitor on the real swarm: at session start it removes what killed runs left behind, but
only what its own lock dir guards and only where the app-domain lock is free.

The leftovers are real: pytest-ccci runs SIGKILLed in the middle of a deploy. The runs here use
lock dirs of their own (in the test's tmp dir), so no other run on the host (whose janitor uses
the default lock dir) can reap them first, and every outcome is this test's janitor's doing.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from recipe_variants import domain_of, slow_step

from conftest import Lab, Run, leftovers
from pytest_ccci.model.naming import stack_name
from pytest_ccci.run.locks import acquire, app_lock_path, release

TASK_TIMEOUT = 180  # a killed run's deploy must get a task within this (two cores, shared)


def deploy_then_kill(lab: Lab, lock_dir_of: dict[str, Path]) -> None:
    """Start one run per recipe (with its lock dir), SIGKILL each once its app task has a
    container: what a run killed mid-deploy leaves on the swarm (the kernel frees its locks)."""
    with contextlib.ExitStack() as stack:
        client = docker.from_env()
        stack.callback(client.close)
        procs = {}
        for name, lock_dir in lock_dir_of.items():
            log = stack.enter_context(open(lab.tmp / f"{name}.log", "wb"))
            args = lab.args(
                "--recipe", name, "--tiers", "install", *lock_dir_option(lock_dir), json_name=f"{name}.json"
            )
            procs[name] = lab.pytester.popen(
                [sys.executable, "-m", "pytest", *args], stdout=log, stderr=subprocess.STDOUT
            )
            stack.callback(kill, procs[name])
        for name, proc in procs.items():
            service = f"{stack_name(domain_of(name, lab.tmp / 'sources' / name))}_app"
            wait_for_task(client.api, service, proc, lab.tmp / f"{name}.log")


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a run this test started (by its own pid) and reap it."""
    proc.kill()
    proc.wait(timeout=60)


def lock_dir_option(lock_dir: Path) -> tuple[str, str]:
    return ("-o", f"ccci_lock_dir={lock_dir}")


def wait_for_task(api: docker.APIClient, service: str, proc: subprocess.Popen, log: Path) -> None:
    # A readiness loop: a test's wait, bounded; the run under test does its own event-driven waiting.
    deadline = time.monotonic() + TASK_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"the run deploying {service} ended (exit {proc.returncode}) before it was killed:\n{output}")
        try:
            tasks = api.tasks(filters={"service": service})
        except docker.errors.APIError:
            tasks = []
        if any((t["Status"].get("ContainerStatus") or {}).get("ContainerID") for t in tasks):
            return
        time.sleep(0.5)
    pytest.fail(f"{service} got no task with a container within {TASK_TIMEOUT}s")


def janitor_run(lab: Lab, lock_dir: Path, json_name: str) -> Run:
    """A run whose recipe cannot even be fetched: it deploys nothing, so whatever goes from the
    swarm during it is the janitor's doing."""
    return lab.run("--recipe", "jnone", "--tiers", "install", *lock_dir_option(lock_dir), json_name=json_name)


def reaped_by(run: Run) -> str:
    """The janitor's report of what it removed (after checking the run itself deployed nothing)."""
    install = run.recipe("jnone")["rungs"]["install"]
    assert install["status"] == "fail" and "no-such-repo" in install["reason"], install
    lines = [ln for ln in run.output.splitlines() if "janitor removed leftovers of earlier runs:" in ln]
    return "\n".join(lines)


def test_janitor_reaps_a_killed_run_and_spares_a_held_lock_and_another_lock_dir(lab, swarm, assert_clean):
    mine, foreign = lab.tmp / "locks", lab.tmp / "other-locks"
    steps = slow_step(lab)
    lock_dir_of = {"jkil": mine, "jheld": mine, "jfor": foreign}
    domains = {name: domain_of(name, lab.enroll(name, extra_steps=steps)) for name in lock_dir_of}
    (lab.recipes_dir / "jnone").mkdir()
    (lab.recipes_dir / "jnone" / "ccci.yml").write_text("source: ./no-such-repo\n")
    stacks = {name: stack_name(domain) for name, domain in domains.items()}
    held = None
    done = False
    try:
        deploy_then_kill(lab, lock_dir_of)
        for name in lock_dir_of:
            assert f"service {stacks[name]}_app" in leftovers(swarm, domains[name]), f"{name}: nothing left to reap"
        # (b) A live run's app: its app-domain lock is held (here, by this test process).
        held = acquire(app_lock_path(mine, domains["jheld"]), "janitor-test", "held by the test", timeout=30)

        run = janitor_run(lab, mine, "janitor.json")
        said = reaped_by(run)
        # (a) The killed run's leftovers, in this lock dir and with a free lock: reaped at session start.
        assert f"service {stacks['jkil']}_app" in said, run.output[-3000:]
        assert_clean(domains["jkil"])
        # (b) and (c): spared, and not named.
        assert stacks["jheld"] not in said and stacks["jfor"] not in said, said
        assert f"service {stacks['jheld']}_app" in leftovers(swarm, domains["jheld"]), "reaped a held lock's app"
        assert f"service {stacks['jfor']}_app" in leftovers(swarm, domains["jfor"]), "reaped another lock dir's app"

        # What spared them was the held lock and the other lock dir: without those, they go.
        release(held)
        held = None
        assert f"service {stacks['jheld']}_app" in reaped_by(janitor_run(lab, mine, "janitor-released.json"))
        assert f"service {stacks['jfor']}_app" in reaped_by(janitor_run(lab, foreign, "janitor-foreign.json"))
        done = True
    finally:
        if held is not None:
            release(held)
        if not done:  # nothing but these janitors can reap the private lock dirs' leftovers
            for lock_dir in (mine, foreign):
                janitor_run(lab, lock_dir, f"{lock_dir.name}.json")
    for domain in domains.values():
        assert_clean(domain)
