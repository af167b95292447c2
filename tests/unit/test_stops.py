"""How a task ended when teardown stopped it (model/stops.py), and reading that from the
engine's container events (swarm/teardown.task_stops)."""

from __future__ import annotations

import pytest

from pytest_ccci.model import stops
from pytest_ccci.model.naming import SERVICE_NAME_LABEL
from pytest_ccci.model.stops import EXITED, GRACEFUL, KILLED, StopRecord, classify, merge, stop_warnings, worst
from pytest_ccci.swarm import teardown
from pytest_ccci.swarm.stack import STACK_LABEL
from pytest_ccci.swarm.teardown import TASK_ID_LABEL, task_stops

SIGQUIT = 3


@pytest.mark.parametrize(
    ("exit_code", "seconds", "grace", "signal", "how"),
    [
        (0, 0.1, 10, stops.SIGTERM, GRACEFUL),  # trapped TERM, exit 0 (hello)
        (143, 0.2, 10, stops.SIGTERM, GRACEFUL),  # died of the TERM itself
        (131, 0.3, 10, SIGQUIT, GRACEFUL),  # STOPSIGNAL SIGQUIT (nginx): 128 + 3
        (137, 0.0, 10, stops.SIGKILL, GRACEFUL),  # STOPSIGNAL SIGKILL: its own code
        (137, 3.0, 3, stops.SIGTERM, KILLED),  # ignored TERM: swarm's SIGKILL at the grace's end
        (137, 19.5, 31536000, stops.SIGTERM, KILLED),  # force-removed by teardown long before the grace
        (143, 0.2, 10, SIGQUIT, EXITED),  # not its stop signal's code
        (1, 0.5, 10, stops.SIGTERM, EXITED),  # stopped at once, but not cleanly
    ],
)
def test_classify(exit_code, seconds, grace, signal, how):
    record = classify(exit_code, seconds, grace, signal)
    assert (record.how, record.exit_code, record.seconds, record.grace_seconds) == (how, exit_code, seconds, grace)


def test_a_clock_skewed_negative_duration_is_zero():
    assert classify(0, -0.01, 10).seconds == 0.0


def test_the_worst_task_speaks_for_its_service():
    fast, slow = classify(0, 0.1, 10), classify(143, 2.0, 10)
    killed, exited = classify(137, 3.0, 3), classify(1, 9.0, 10)
    assert worst(fast, slow) == slow
    assert worst(slow, exited, fast) == exited
    assert worst(exited, killed, slow) == killed
    assert worst(fast) == fast


def test_merging_teardowns_keeps_each_services_worst():
    install = {"app": classify(0, 0.1, 10), "db": classify(0, 0.4, 10)}
    upgrade = {"app": classify(137, 10.2, 10), "db": classify(0, 0.2, 10), "worker": classify(0, 0.1, 10)}
    merged = merge(install, upgrade)
    assert {name: (r.how, r.seconds) for name, r in merged.items()} == {
        "app": (KILLED, 10.2),
        "db": (GRACEFUL, 0.4),
        "worker": (GRACEFUL, 0.1),
    }


def test_the_json_record():
    assert classify(137, 3.04, 3).to_json() == {
        "how": "killed",
        "seconds": 3.0,
        "exit_code": 137,
        "grace_seconds": 3.0,
        "signal": "SIGTERM",
    }
    assert StopRecord(GRACEFUL, 0, 0, 10, signal=99).to_json()["signal"] == "99"


@pytest.mark.parametrize(
    "record", [classify(137, 3.0, 3.0), classify(131, 0.5, 10.0, SIGQUIT), StopRecord(GRACEFUL, 0, 0, 10, 99)]
)
def test_a_record_survives_results_json(record):
    assert StopRecord.from_json(record.to_json()) == record


def test_only_killed_services_warn_shaped_as_lint_warnings():
    warnings = stop_warnings(
        {
            "web": classify(137, 3.0, 3),
            "db": classify(0, 0.3, 10),
            "cron": classify(1, 0.1, 10),
            "x": classify(137, 20, 31536000),
        }
    )
    assert [w["id"] for w in warnings] == ["S001", "S001"]
    assert all(set(w) == {"id", "description", "detail"} for w in warnings)
    web, x = sorted(warnings, key=lambda w: w["detail"].startswith("service x"))
    said = "service web ignored SIGTERM: killed (exit 137) 3.0s after it, at the end of its 3s stop_grace_period"
    assert said in web["detail"]
    assert "killed (exit 137) 20.0s after it, before its 8760h stop_grace_period ended (force-removed)" in x["detail"]
    assert stop_warnings({"db": classify(0, 0.3, 10)}) == []


# --- reading the engine's events ----------------------------------------------------------------

STACK = "hell-abc123_ccci_test"
S = 1_000_000_000  # ns


def event(action: str, task: str, at: float, service: str = "app", stack: str = STACK, **attrs: str) -> dict:
    labels = {STACK_LABEL: stack, SERVICE_NAME_LABEL: f"{stack}_{service}", TASK_ID_LABEL: task}
    actor = {"Attributes": {**labels, **attrs}}
    return {"Type": "container", "Action": action, "timeNano": int(at * S), "Actor": actor}


def test_task_stops_measure_from_the_first_kill_to_the_die():
    events = [
        event("exec_die", "t1", 99.0, exitCode="0"),  # a healthcheck: neither a stop nor an exit
        event("kill", "t1", 100.0, signal="15"),
        event("kill", "t2", 100.1, service="db", signal="15"),
        event("die", "t2", 100.4, service="db", exitCode="0"),
        event("kill", "t1", 103.0, signal="9"),  # swarm's SIGKILL at the end of the grace
        event("die", "t1", 103.05, exitCode="137"),
        event("die", "t3", 100.2, exitCode="1"),  # no kill of teardown's: exited on its own
        event("kill", "t4", 100.0, stack="other_stack", signal="15"),
        event("die", "t4", 100.1, stack="other_stack", exitCode="0"),
    ]
    found = task_stops(events, STACK, {f"{STACK}_app": 3.0, f"{STACK}_db": 10.0})
    assert set(found) == {"app", "db"}
    assert (found["app"].how, found["app"].exit_code, found["app"].grace_seconds) == (KILLED, 137, 3.0)
    assert found["app"].seconds == pytest.approx(3.05)
    assert (found["db"].how, found["db"].exit_code) == (GRACEFUL, 0)
    assert found["db"].seconds == pytest.approx(0.3)


def test_a_service_with_several_tasks_gets_its_worst():
    events = [
        event("kill", "a", 10.0, signal="15"),
        event("kill", "b", 10.0, signal="15"),
        event("die", "a", 10.2, exitCode="143"),
        event("die", "b", 11.5, exitCode="0"),
    ]
    found = task_stops(events, STACK, {f"{STACK}_app": 10.0})
    assert (found["app"].how, found["app"].seconds) == (GRACEFUL, pytest.approx(1.5))


def test_a_custom_stop_signal_is_read_from_the_kill_event():
    events = [event("kill", "a", 10.0, signal="3"), event("die", "a", 10.1, exitCode="131")]
    record = task_stops(events, STACK, {})["app"]
    assert (record.how, record.signal) == (GRACEFUL, SIGQUIT)


# --- teardown hands the records over ------------------------------------------------------------


class ScriptedFeed:
    """An event feed holding the events the fake engine sends while its stack is removed."""

    def __init__(self, api, since, kinds) -> None:
        self.api = api

    def __enter__(self) -> ScriptedFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def drain(self) -> list:
        sent, self.api.sent = self.api.sent, []
        return sent

    def wait(self, timeout: float) -> None:
        pass


class StoppingApi:
    """A stack of one service (stop_grace_period 3 s) whose one running task ignores TERM."""

    def __init__(self) -> None:
        spec = {"Name": f"{STACK}_app", "TaskTemplate": {"ContainerSpec": {"StopGracePeriod": 3 * S}}}
        self.listed = [{"ID": "svc1", "Spec": spec}]
        labels = {STACK_LABEL: STACK, TASK_ID_LABEL: "t1"}
        self.running = [{"Id": "c1", "Labels": labels}]
        self.sent: list = []

    def services(self, filters=None):
        return list(self.listed)

    def remove_service(self, service_id):
        self.listed, self.running = [], []
        self.sent = [event("kill", "t1", 50.0, signal="15"), event("kill", "t1", 53.0, signal="9")]
        self.sent.append(event("die", "t1", 53.02, exitCode="137"))

    def containers(self, all=False, filters=None):
        return list(self.running) if filters and filters.get("status") == "running" else []

    def networks(self, filters=None, names=None):
        return []

    def volumes(self, filters=None):
        return {"Volumes": []}

    secrets = configs = networks

    def remove_network(self, key):
        raise AssertionError("nothing else of the stack is listed")

    remove_volume = remove_secret = remove_config = remove_container = remove_network


def test_teardown_hands_each_services_stop_to_its_callback(monkeypatch):
    monkeypatch.setattr(teardown, "EventFeed", ScriptedFeed)
    monkeypatch.setattr(teardown, "wait_gone", lambda *args: True)
    got: list[dict] = []
    left = teardown.remove(StoppingApi(), STACK, "ccci.domain=stub.test", timeout=1, stopped=got.append)
    assert left == []
    assert [{name: r.to_json() for name, r in found.items()} for found in got] == [
        {"app": {"how": KILLED, "seconds": 3.0, "exit_code": 137, "grace_seconds": 3.0, "signal": "SIGTERM"}}
    ]
