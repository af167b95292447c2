"""Bounded exec on a fake engine: what counts as a timeout, and how a hung exec is stopped."""

from __future__ import annotations

import os
import threading
import time

import pytest

from pytest_ccci.swarm import execution
from pytest_ccci.swarm.execution import KILLER, WRAPPER, ended_by_timeout, execute


@pytest.mark.parametrize(
    ("code", "elapsed", "bound", "timed_out"),
    [
        (143, 0.2, 5, False),  # the app exited 143 on its own, long before the bound
        (124, 0.2, 5, False),  # nor is an early 124 the bound's doing
        (143, 5.01, 5, True),  # busybox `timeout` sent TERM at the bound
        (124, 5.0, 5, True),  # coreutils `timeout` says 124 at the bound
        (1, 6.0, 5, False),  # ended at the bound, but not by `timeout`: its own exit code
        (None, 6.0, 5, False),
    ],
)
def test_a_timeout_is_the_bound_ending_the_command_not_an_exit_code(code, elapsed, bound, timed_out):
    assert ended_by_timeout(code, elapsed, bound) is timed_out


class FakeContainer:
    id = "c0ffee0000000000000000000000000000000000000000000000000000000000"
    short_id = "c0ffee000000"

    def __init__(self):
        self.killed = False

    def kill(self):
        self.killed = True


class FakeEngine:
    """The exec part of docker-py's APIClient. The command exec `behaves` as told: ("exit",
    seconds, code, output), or ("hang",) until a killer exec reads its token (when `killable`)."""

    def __init__(self, behaves, killable=True):
        self.behaves = behaves
        self.killable = killable
        self.created: dict[str, list[str]] = {}
        self.codes: dict[str, int] = {}
        self.stopped = threading.Event()

    def exec_create(self, container, cmd, **_):
        exec_id = f"exec{len(self.created)}"
        self.created[exec_id] = cmd
        return {"Id": exec_id}

    def exec_start(self, exec_id, stream=False):
        output = self._run(exec_id)
        return iter([output]) if stream else output  # docker-py streams chunks when asked

    def _run(self, exec_id):
        cmd = self.created[exec_id]
        if cmd[2] == KILLER:
            wrapped = next(c for c in self.created.values() if c[2] == WRAPPER)
            found = self.killable and cmd[3] == wrapped[3]  # the token names the pid file
            self.codes[exec_id] = 0 if found else 3
            if found:
                self.stopped.set()
            return b""
        if self.behaves[0] == "hang":
            self.stopped.wait(30)
            self.codes[exec_id] = 137
            return b""
        _, seconds, code, output = self.behaves
        time.sleep(seconds)
        self.codes[exec_id] = code
        return output

    def exec_inspect(self, exec_id):
        # The pid as the daemon's host sees it: here, a process of this very test run.
        return {"ExitCode": self.codes.get(exec_id), "Running": exec_id not in self.codes, "Pid": os.getpid()}


@pytest.fixture
def no_local_kill(monkeypatch):
    def forbidden(pid, sig):
        raise AssertionError(f"os.kill({pid}, {sig}): a daemon's pid is no local process")

    monkeypatch.setattr(os, "kill", forbidden)
    monkeypatch.setattr(execution, "HUNG_GRACE_SECONDS", 0.3)
    monkeypatch.setattr(execution, "KILL_GRACE_SECONDS", 0.5)


def test_a_command_runs_wrapped_with_its_bound_and_a_token(no_local_kill):
    engine = FakeEngine(("exit", 0, 0, b"ok\n"))
    assert execute(engine, FakeContainer(), "echo ok", timeout=7.5) == (0, "ok\n")
    [cmd] = engine.created.values()
    assert cmd[:3] == ["sh", "-c", WRAPPER]
    token, bound, *argv = cmd[3:]
    assert len(token) == 16 and bound == "7" and argv == ["sh", "-c", "echo ok"]


def test_an_app_exiting_143_on_its_own_is_exit_143(no_local_kill):
    engine = FakeEngine(("exit", 0, 143, b"terminated\n"))
    assert execute(engine, FakeContainer(), ["app", "stop"], timeout=60) == (143, "terminated\n")


def test_exit_143_at_the_bound_is_a_timeout(no_local_kill):
    engine = FakeEngine(("exit", 1.05, 143, b"partial\n"))
    assert execute(engine, FakeContainer(), ["sleep", "600"], timeout=1) == (124, "timed out after 1s: partial")


def test_a_hung_exec_is_killed_inside_its_container_never_by_a_local_pid(no_local_kill):
    engine, container = FakeEngine(("hang",)), FakeContainer()
    assert execute(engine, container, "trap '' TERM; sleep 600", timeout=1) == (124, "timed out after 1s")
    wrapper, killer = engine.created.values()
    assert killer == ["sh", "-c", KILLER, wrapper[3]]
    assert not container.killed


def test_a_hung_exec_that_cannot_be_killed_inside_kills_its_container_and_says_so(no_local_kill):
    engine, container = FakeEngine(("hang",), killable=False), FakeContainer()
    code, said = execute(engine, container, "sleep 600", timeout=1)
    assert code == 124 and container.killed
    assert said == (
        "timed out after 1s; it could not be stopped inside container c0ffee000000, so the container was killed"
    )
    engine.stopped.set()
