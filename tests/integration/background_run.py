"""A pytest-ccci run in the background, and watching the swarm while it runs: what the fault
tests (test_faults.py) need to interrupt, kill or starve a run at a chosen moment.

Waiting is driven by the engine's events (`wait_until`), never a sleep loop; every process
started here is ours, stopped by its own pid.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import LOCK_DIR, Lab

RUN_TIMEOUT = 300


class Background:
    """pytest-ccci running in a subprocess of its own, output to a file (no pipe to fill)."""

    def __init__(self, lab: Lab, *args: str, json_name: str = "results.json"):
        self.lab = lab
        self.json_path = lab.tmp / json_name
        self.log_path = lab.tmp / f"{json_name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 -- the run writes to it until stop() closes it
        self.proc = lab.pytester.popen(
            [sys.executable, "-m", "pytest", *lab.args(*args, json_name=json_name)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float = RUN_TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not end within {timeout:.0f}s:\n{self.output[-3000:]}")

    def results(self) -> dict:
        assert self.json_path.exists(), f"no results.json written:\n{self.output[-3000:]}"
        return json.loads(self.json_path.read_text())

    def stop(self) -> None:
        """In a finally: never leave the process behind (it is ours, killed by its pid)."""
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self._log.close()


def wait_until(
    swarm, condition: Callable[[], Any], what: str, run: Background | None = None, timeout: float = 120
) -> Any:
    """Poll `condition` each time the engine reports a service or container event (or every
    second at most); fail if the run ends first or the timeout passes."""
    deadline = time.monotonic() + timeout
    with swarm.events(time.time() - 1, kinds=("service", "container")) as feed:
        while True:
            value = condition()
            if value:
                return value
            if run is not None and run.proc.poll() is not None:
                pytest.fail(f"the run ended (exit {run.proc.returncode}) before {what}:\n{run.output[-3000:]}")
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"timed out after {timeout:.0f}s waiting for {what}" + (f":\n{run.output[-3000:]}" if run else "")
                )
            feed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            feed.drain()


def has_task(swarm, service: str) -> bool:
    """The service has a task whose container exists (swarm says `starting` until healthy)."""
    svc = swarm.service(service)
    if not svc:
        return False
    return any(
        t["Status"].get("State") in ("starting", "running")
        and (t["Status"].get("ContainerStatus") or {}).get("ContainerID")
        for t in swarm.api.tasks(filters={"service": service})
    )


def reap_now(tmp: Path) -> list[str]:
    """What the next run's janitor does at its session start, done right here."""
    from pytest_ccci.run.context import RunContext, RunOptions
    from pytest_ccci.run.janitor import reap
    from pytest_ccci.swarm.facade import connect

    runtime = RunContext(
        options=RunOptions(
            recipes_dir=tmp,
            ref=None,
            base_domain="ccci.test",
            cache_dir=tmp / "janitor-cache",
            lock_dir=LOCK_DIR,
            lock_timeout=10,
            max_deploys=2,
        ),
        make_run_dir=lambda: tmp / "janitor-run",
        run_id="fault-test-janitor",
        progress=lambda _m: None,
        connect=connect,
    )
    return reap(runtime)


def children_of(pid: int) -> set[int]:
    """The pids of a process's children (an xdist controller's workers)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.update(int(p) for p in task.read_text().split())
        except OSError:
            pass  # the thread ended while being read
    return found
