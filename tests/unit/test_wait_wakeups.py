"""Waiting for a removal is woken by events, not spun: each event wakes the waiter once.

wait_gone (the stack's containers going) and teardown.remove (the stack's networks, volumes,
secrets, configs let go of) only use the event feed as a wake-up. An event they never took off
the feed kept every later wait() returning at once: a busy loop of container and task listings
against the daemon until the removal ended (found by the overhead benchmark's profile: ~1,400
wake-ups in the three teardowns of one hello run).
"""

from __future__ import annotations

import threading
import time

import docker.errors

from pytest_ccci.swarm import teardown, waiter

SINCE_EVENT = {"Type": "container", "Action": "die", "timeNano": int(time.time() * 1e9) + 10**9}
WAIT_SECONDS = 0.6
# Follow-up re-reads at 0.05, 0.1, 0.2, 0.4 s: about five reads in WAIT_SECONDS; a spinning
# loop makes hundreds.
MOST_READS = 12


class FakeStream:
    """One event, then blocks as the engine's stream does, until closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self):
        yield dict(SINCE_EVENT)
        self.closed.wait(10)

    def close(self) -> None:
        self.closed.set()


class StuckApi:
    """A stack whose container never goes and whose network stays in use; counts the reads."""

    def __init__(self) -> None:
        self.reads = 0

    def events(self, since, decode, filters):
        return FakeStream()

    def containers(self, all=False, filters=None):
        self.reads += 1
        return [{"Id": "c1"}] if "com.docker.stack.namespace" in str(filters) else []

    def tasks(self, filters=None):
        return []

    def services(self, filters=None):
        return []

    def networks(self, filters=None, names=None):
        return [{"Id": "n1", "Name": "stack_default"}]

    def remove_network(self, net_id):
        raise docker.errors.APIError("network stack_default is in use")

    def volumes(self, filters=None):
        return {"Volumes": []}

    def secrets(self, filters=None):
        return []

    def configs(self, filters=None):
        return []

    def remove_container(self, cid, force=False):
        raise AssertionError("no plain container of the app to remove")

    remove_volume = remove_secret = remove_config = remove_container


def test_wait_gone_reads_once_per_wake_up_not_in_a_busy_loop():
    api = StuckApi()
    assert waiter.wait_gone(api, "stack", timeout=WAIT_SECONDS) is False
    assert api.reads <= MOST_READS, f"{api.reads} reads in {WAIT_SECONDS}s: a busy loop"


def test_teardown_retries_a_network_in_use_per_wake_up_not_in_a_busy_loop(monkeypatch):
    api = StuckApi()
    monkeypatch.setattr(teardown, "wait_gone", lambda *args, **kwargs: True)  # the containers went
    tries = []
    real = teardown._remove_labelled
    monkeypatch.setattr(teardown, "_remove_labelled", lambda kinds: tries.append(1) or real(kinds))
    left = teardown.remove(api, "stack", "ccci.domain=d.test", timeout=WAIT_SECONDS)
    assert "network stack_default" in left
    assert len(tries) <= MOST_READS, f"{len(tries)} removal rounds in {WAIT_SECONDS}s: a busy loop"
