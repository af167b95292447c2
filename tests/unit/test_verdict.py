"""The waiter's verdict from what the swarm reports: pure, so every cause is checked here."""

from __future__ import annotations

from pytest_ccci.swarm.engine import ServiceState, TaskFailure, _verdict

FAILED = TaskFailure("s_app", "n4bg78gej6qbtif47h7uo0vf9", 1, "failed", "task: non-zero exit (1)", 1)


def state(running=1, desired=1, update=None, message="", failures=(), stale=0):
    return ServiceState("s_app", desired, running, update, message, list(failures), stale)


def test_a_rollback_is_named_with_the_swarms_message_and_the_task_error():
    ok, reason, culprit = _verdict(
        {"s_app": state(update="rollback_started", message="update rolled back due to failure", failures=[FAILED])},
        {"s_app"}, 3, {"s_app": ["updating", "rollback_started"]},
    )
    assert not ok and culprit == "s_app"
    assert reason.startswith("swarm rolled back the update of s_app (rollback_started)")
    assert "update rolled back due to failure" in reason and "non-zero exit (1)" in reason
    assert "stamp" not in reason


def test_a_rollback_seen_only_as_an_event_still_counts():
    # The service may already show the restored spec as running: the event is the evidence.
    assert _verdict({"s_app": state()}, {"s_app"}, 3, {"s_app": ["updating", "rollback_completed"]})[0] is False


def test_a_paused_update_is_named_paused():
    ok, reason, _ = _verdict({"s_app": state(update="paused")}, {"s_app"}, 3, {})
    assert not ok and "swarm paused the update of s_app" in reason


def test_lost_tasks_end_the_wait_with_the_last_tasks_error():
    ok, reason, culprit = _verdict({"s_app": state(running=0, failures=[FAILED, FAILED])}, set(), 2, {})
    assert not ok and culprit == "s_app"
    assert reason.startswith("s_app lost 2 tasks; last task s_app.1 (n4bg78gej6qb) failed: task: non-zero exit (1)")


def test_fewer_lost_tasks_than_the_limit_keep_waiting():
    assert _verdict({"s_app": state(running=0, failures=[FAILED])}, set(), 2, {}) is None


def test_an_expected_update_must_complete_before_converged():
    assert _verdict({"s_app": state(update="updating")}, {"s_app"}, 3, {"s_app": ["updating"]}) is None
    assert _verdict({"s_app": state(update="completed")}, {"s_app"}, 3, {}) == (True, "converged", None)
    assert _verdict({"s_app": state()}, {"s_app"}, 3, {"s_app": ["updating", "completed"]})[0] is True


def test_old_tasks_still_serving_are_not_converged():
    assert _verdict({"s_app": state(stale=1)}, set(), 3, {}) is None


def test_no_services_yet_is_not_a_verdict():
    assert _verdict({}, set(), 3, {}) is None
