"""Deploy admission across processes, on the real swarm: two pytest-ccci runs started at once on
two recipes, sharing one lock dir that allows one deploy in flight, deploy one after the other.

The order is read off the engine's own event stream, not off the runs' reports: the second
stack's first resource must be created after the first stack's task turned healthy (a deploy
holds its slot until it has converged, which needs that healthy task).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from recipe_variants import slow_step, stack_of

RUN_TIMEOUT = 600
# Creations that only a deploy makes, and the health transition a deploy waits for.
EVENT_FILTERS = [
    "type=service",
    "type=container",
    "type=secret",
    "type=config",
    "type=network",
    "event=create",
    "event=health_status",
]


@contextlib.contextmanager
def engine_events(path: Path) -> Iterator[Path]:
    """The engine's events from now on, one JSON object a line, in `path` (read it after the block)."""
    since = str(int(time.time()) - 1)  # replayed by the daemon: nothing between start-up and now is missed
    args = ["docker", "events", "--since", since, "--format", "{{json .}}"]
    args += [arg for f in EVENT_FILTERS for arg in ("--filter", f)]
    with open(path, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield path
        finally:
            proc.terminate()  # ours, by its own pid
            proc.wait(timeout=30)


def finish(proc: subprocess.Popen) -> None:
    """Wait for a run this test started; kill it (by its own pid) if it outlives RUN_TIMEOUT."""
    try:
        proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=60)


def deploy_window(events: list[dict], stack: str) -> tuple[int, int]:
    """(first creation of anything of `stack`, its app task turning healthy), in engine nanoseconds."""
    created = [
        e["timeNano"]
        for e in events
        if e.get("Action") == "create"
        and (e.get("Actor", {}).get("Attributes", {}).get("name") or "").startswith(f"{stack}_")
    ]
    healthy = [
        e["timeNano"]
        for e in events
        if e.get("Action") == "health_status: healthy"
        and e.get("Actor", {}).get("Attributes", {}).get("com.docker.swarm.service.name") == f"{stack}_app"
    ]
    assert created and healthy, f"{stack}: no creation or no healthy task among the engine's events"
    return min(created), min(healthy)


def test_one_deploy_slot_serializes_the_deploys_of_two_concurrent_runs(lab, assert_clean):
    steps = slow_step(lab)  # each deploy takes 15 s or more: started together, the runs must meet
    stacks = {
        name: stack_of(name, lab.enroll(name, extra_steps=steps, settings={"deploy_timeout": 120}))
        for name in ("adma", "admb")
    }
    lab.set_ini(ccci_max_deploys=1, ccci_lock_dir=lab.tmp / "locks")
    procs: dict[str, subprocess.Popen] = {}
    with engine_events(lab.tmp / "events.jsonl") as events_file, contextlib.ExitStack() as runs:
        for name in stacks:  # started at once, each writing to a file (no pipe to fill)
            log = runs.enter_context(open(lab.tmp / f"{name}.log", "wb"))
            args = lab.args("--recipe", name, "--tiers", "install", json_name=f"{name}.json")
            procs[name] = lab.pytester.popen(
                [sys.executable, "-m", "pytest", *args], stdout=log, stderr=subprocess.STDOUT
            )
            runs.callback(finish, procs[name])
    outputs = {name: (lab.tmp / f"{name}.log").read_text(errors="replace") for name in stacks}
    for name, proc in procs.items():
        assert proc.returncode == 0, outputs[name][-3000:]
    records = {name: json.loads((lab.tmp / f"{name}.json").read_text())["recipes"][name] for name in stacks}
    for rec in records.values():
        assert rec["rungs"]["install"]["status"] == "pass", rec["rungs"]["install"]

    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.startswith("{")]
    windows = {name: deploy_window(events, stack) for name, stack in stacks.items()}
    first, second = sorted(stacks, key=lambda name: windows[name][0])
    assert windows[first][1] < windows[second][0], (
        f"deploys overlapped: {stacks[second]} created things before {stacks[first]} had converged"
    )
    waited = f"deploy of {stacks[second]} (chaos) waiting: all 1 deploy slots busy"
    assert waited in outputs[second], outputs[second][-3000:]
    for rec in records.values():
        assert_clean(rec["domain"])
