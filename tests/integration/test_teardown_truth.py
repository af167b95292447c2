"""Teardown is judged by what is really left on the swarm, task containers included.

The app's task ignores SIGTERM (its PID 1 traps it to nothing) under a stop_grace_period of a
year, which the deploy policy clamps to ccci_max_stop_grace (60 s by default): once its service
is removed, the container runs on for that long. It carries none of the run's labels, only
swarm's stack namespace label. Teardown waits out that grace (a legitimate long grace is never
force-killed early), then the run must either have it gone (killed, or force-removed) or name it
as a leftover: never say `clean_teardown: true` with it still there.
"""

from __future__ import annotations

import time

import docker.errors
import pytest
from recipe_variants import stack_of

from conftest import leftovers
from pytest_ccci.model.policy import DEFAULT_MAX_STOP_GRACE_SECONDS
from pytest_ccci.swarm.stack import STACK_LABEL

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
    # The task really ignored its SIGTERM: teardown waited out its (clamped) grace, then it was killed.
    assert rec["deploy_durations"]["teardown"] >= DEFAULT_MAX_STOP_GRACE_SECONDS - 1, rec["deploy_durations"]
    assert rec["stops"]["app"]["how"] == "killed", rec["stops"]
    assert rec["stops"]["app"]["grace_seconds"] == DEFAULT_MAX_STOP_GRACE_SECONDS, rec["stops"]
    assert "S001" in [w["id"] for w in rec["warnings"]], rec["warnings"]
    still_there = [(c["Names"][0].lstrip("/"), c["State"]) for c in stack_containers(stack_of("tstubborn", source))]
    if rec["clean_teardown"]:
        assert not still_there, f"clean_teardown is true, yet the stack's containers are still there: {still_there}"
        assert not leftovers(swarm, rec["domain"])
    else:
        named = " ".join(rec["leftovers"])
        assert all(name in named for name, _state in still_there), (still_there, rec["leftovers"])
    assert took < 180, f"the run took {took:.0f}s: teardown waited out more than the policy's stop grace"
