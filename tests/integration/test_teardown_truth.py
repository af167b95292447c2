"""Teardown is judged by what is really left on the swarm, task containers included.

The app's task ignores SIGTERM (its PID 1 traps it to nothing) under a stop_grace_period of a
year: once its service is removed, swarm would leave the container running for that long. It
carries none of the run's labels, only swarm's stack namespace label. The run must either
force-remove it (and then nothing of the stack is left) or name it as a leftover: never say
`clean_teardown: true` with it still there.
"""

from __future__ import annotations

import time

import docker.errors
import pytest
from recipe_variants import stack_of

from conftest import leftovers
from pytest_ccci.swarm.stack import STACK_LABEL
from pytest_ccci.swarm.teardown import STOP_PATIENCE_SECONDS

# The task's PID 1 ignores TERM; the app itself runs below it, as hello's entrypoint runs it.
STUBBORN = {
    "version": "3.8",
    "services": {
        "app": {
            "entrypoint": ["sh", "-c", "trap '' TERM; /docker-entrypoint.sh & wait"],
            "stop_grace_period": "8760h",
        }
    },
}


@pytest.fixture
def stack_containers(swarm):
    """The containers of a stack, by swarm's namespace label; any this test's stack still has at
    the end are force-removed (this test's own, by the stack name only it uses)."""
    stacks: list[str] = []

    def listed(stack: str) -> list[dict]:
        stacks.append(stack)
        return swarm.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"})

    yield listed
    for stack in stacks:
        for container in swarm.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"}):
            try:
                swarm.api.remove_container(container["Id"], force=True)
            except docker.errors.NotFound:
                pass


def test_a_task_that_ignores_sigterm_is_removed_or_named_never_silently_clean(lab, swarm, stack_containers):
    source = lab.enroll("tstubborn", overlay=STUBBORN)
    started = time.monotonic()
    run = lab.run("--recipe", "tstubborn", "--tiers", "install", timeout=300)
    took = time.monotonic() - started
    rec = run.recipe("tstubborn")
    assert rec["rungs"]["install"]["status"] == "pass", rec["rungs"]
    # The task really ignored its SIGTERM: teardown had to wait for it, and then act.
    assert rec["deploy_durations"]["teardown"] >= STOP_PATIENCE_SECONDS, rec["deploy_durations"]
    still_there = [(c["Names"][0].lstrip("/"), c["State"]) for c in stack_containers(stack_of("tstubborn", source))]
    if rec["clean_teardown"]:
        assert not still_there, f"clean_teardown is true, yet the stack's containers are still there: {still_there}"
        assert not leftovers(swarm, rec["domain"])
    else:
        named = " ".join(rec["leftovers"])
        assert all(name in named for name, _state in still_there), (still_there, rec["leftovers"])
    assert took < 120, f"the run took {took:.0f}s: teardown waited out a stop grace period it should not"
