"""The waiter's verdict from what the swarm reports: pure, so every cause is checked here."""

from __future__ import annotations

import pytest

from pytest_ccci.swarm.convergence import (
    ServiceState,
    TaskFailure,
    docker_timestamp,
    judge_convergence,
    read_service_state,
    record_update_states,
    timeout_reason,
)

FAILED = TaskFailure("s_app", "n4bg78gej6qbtif47h7uo0vf9", 1, "failed", "task: non-zero exit (1)", 1)
SINCE = 1_700_000_000.0  # 2023-11-14T22:13:20Z
BEFORE, AFTER = "2023-11-14T22:13:19.5Z", "2023-11-14T22:13:21.25Z"


def state(running=1, desired=1, update=None, message="", failures=(), stale=0):
    return ServiceState("s_app", desired, running, update, message, list(failures), stale)


def test_a_rollback_is_named_with_the_swarms_message_and_the_task_error():
    ok, reason, culprit = judge_convergence(
        {"s_app": state(update="rollback_started", message="update rolled back due to failure", failures=[FAILED])},
        {"s_app"},
        3,
        {"s_app": ["updating", "rollback_started"]},
    )
    assert not ok and culprit == "s_app"
    assert reason.startswith("swarm rolled back the update of s_app (rollback_started)")
    assert "update rolled back due to failure" in reason and "non-zero exit (1)" in reason
    assert "stamp" not in reason


def test_a_rollback_seen_only_as_an_event_still_counts():
    # The service may already show the restored spec as running: the event is the evidence.
    assert (
        judge_convergence({"s_app": state()}, {"s_app"}, 3, {"s_app": ["updating", "rollback_completed"]})[0] is False
    )


def test_a_paused_update_is_named_paused():
    ok, reason, _ = judge_convergence({"s_app": state(update="paused")}, {"s_app"}, 3, {})
    assert not ok and "swarm paused the update of s_app" in reason


def test_lost_tasks_end_the_wait_with_the_last_tasks_error():
    ok, reason, culprit = judge_convergence({"s_app": state(running=0, failures=[FAILED, FAILED])}, set(), 2, {})
    assert not ok and culprit == "s_app"
    assert reason.startswith("s_app lost 2 tasks; last task s_app.1 (n4bg78gej6qb) failed: task: non-zero exit (1)")


def test_fewer_lost_tasks_than_the_limit_keep_waiting():
    assert judge_convergence({"s_app": state(running=0, failures=[FAILED])}, set(), 2, {}) is None


def test_an_expected_update_must_complete_before_converged():
    assert judge_convergence({"s_app": state(update="updating")}, {"s_app"}, 3, {"s_app": ["updating"]}) is None
    assert judge_convergence({"s_app": state(update="completed")}, {"s_app"}, 3, {}) == (True, "converged", None)
    assert judge_convergence({"s_app": state()}, {"s_app"}, 3, {"s_app": ["updating", "completed"]})[0] is True


def test_old_tasks_still_serving_are_not_converged():
    assert judge_convergence({"s_app": state(stale=1)}, set(), 3, {}) is None


def test_no_services_yet_is_not_a_verdict():
    assert judge_convergence({}, set(), 3, {}) is None


# -- reading a service and its tasks ------------------------------------------------------------

SPEC = {"Image": "ccci/busybox:1.35.0", "Args": ["httpd"], "Env": ["A=1"]}


def service(replicas=2, update=None):
    svc = {
        "ID": "svc1",
        "Spec": {
            "Name": "s_app",
            "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {"ContainerSpec": SPEC},
        },
    }
    if update:
        svc["UpdateStatus"] = update
    return svc


def task(task_id, state, when=AFTER, spec=SPEC, desired="running", err="", exit_code=None):
    status = {"State": state, "Timestamp": when, "Err": err, "ContainerStatus": {"ExitCode": exit_code}}
    return {"ID": task_id, "Slot": 1, "DesiredState": desired, "Status": status, "Spec": {"ContainerSpec": spec}}


def test_running_tasks_of_an_older_spec_count_as_stale_not_running():
    old = {**SPEC, "Env": ["A=0"]}
    read = read_service_state(service(), [task("t1", "running"), task("t2", "running", spec=old)], SINCE)
    assert (read.desired, read.running, read.stale_running) == (2, 1, 1)


def test_only_tasks_that_ended_since_the_deploy_are_failures():
    tasks = [
        task("t3", "failed", err="task: non-zero exit (2)", exit_code=2),
        task("t1", "failed", when=BEFORE),  # an earlier deploy's
        task("t2", "complete", desired="shutdown"),  # ended on its own, exit 0: still lost
        task("t4", "shutdown", desired="shutdown"),  # stopped by an update: not a failure
    ]
    read = read_service_state(service(), tasks, SINCE)
    assert [(f.task_id, f.state, f.error, f.exit_code) for f in read.failures] == [
        ("t2", "complete", "exited on its own", None),
        ("t3", "failed", "task: non-zero exit (2)", 2),
    ]


def test_an_update_that_started_before_the_deploy_is_not_this_deploys():
    old = read_service_state(service(update={"State": "completed", "StartedAt": BEFORE}), [], SINCE)
    new = read_service_state(service(update={"State": "updating", "StartedAt": AFTER, "Message": "m"}), [], SINCE)
    assert old.update_state is None
    assert (new.update_state, new.update_message) == ("updating", "m")


def test_a_global_service_wants_one_task():
    svc = service()
    svc["Spec"]["Mode"] = {"Global": {}}
    assert read_service_state(svc, [], SINCE).desired == 1


def test_update_states_are_recorded_per_service_in_event_order():
    def event(name, new, kind="service"):
        return {"Type": kind, "Actor": {"Attributes": {"name": name, "updatestate.new": new}}}

    seen: dict[str, list[str]] = {"a": ["updating"]}
    events = [
        event("a", "rollback_started"),
        event("b", "updating"),
        event("c", "x", kind="container"),
        event("a", "x"),
    ]
    record_update_states(seen, events)
    assert seen == {"a": ["updating", "rollback_started", "x"], "b": ["updating"]}


def test_timeout_reason_names_what_is_missing_with_its_health_output():
    states = {"s_app": state(running=0, failures=[FAILED]), "s_db": state()}
    reason = timeout_reason(states, 60, lambda name: f"last healthcheck exit 1: {name} down")
    assert reason == (
        "not converged within 60s: s_app has 0/1 running tasks; last task s_app.1 (n4bg78gej6qb) failed: "
        "task: non-zero exit (1) (exit 1); last healthcheck exit 1: s_app down"
    )
    assert timeout_reason({}, 5, lambda name: "") == "not converged within 5s: the stack has no services"
    updating = timeout_reason({"s_app": state(update="updating")}, 5, lambda name: "")
    assert updating == "not converged within 5s: update not completed: s_app updating"


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000.123456),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000.5),
        ("0001-01-01T00:00:00Z", 0.0),  # docker's "never"
        (None, 0.0),
        ("", 0.0),
    ],
)
def test_docker_timestamps_are_utc_epoch_seconds(value, epoch):
    assert docker_timestamp(value) == pytest.approx(epoch, abs=1e-6)


def test_the_engines_oom_event_names_the_kill_and_a_bare_137_under_a_limit_awaits_it():
    from pytest_ccci.swarm.waiter import _may_be_oom, oom_events

    events = [
        {"Type": "container", "Action": "oom", "Actor": {"ID": "c1"}},
        {"Type": "container", "Action": "die", "Actor": {"ID": "c2"}},
        {"Type": "service", "Action": "update", "Actor": {"ID": "s"}},
    ]
    assert oom_events(events) == {"c1"}
    killed = TaskFailure("s_app", "t1", 1, "failed", "task: non-zero exit (137)", 137, "c1", 16 << 20)
    assert _may_be_oom(killed)  # the engine has not said why yet: the verdict waits for its word
    assert not _may_be_oom(TaskFailure("s_app", "t1", 1, "failed", "x", 137, "c1"))  # no limit to run out of
    assert not _may_be_oom(FAILED) and not _may_be_oom(None)
    killed.oom_killed = True
    assert not _may_be_oom(killed)
    assert "OOM-killed (limit 16 MiB)" in killed.describe()
