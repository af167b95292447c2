"""A verdict about a failed task ends with that task's own last log lines (swarm/convergence.py)."""

from __future__ import annotations

from pytest_ccci.swarm.convergence import (
    LOG_TAIL_LINES,
    ServiceState,
    TaskFailure,
    culprit_task,
    log_note,
    read_service_state,
    timeout_reason,
)

FAILED = TaskFailure("s_app", "n4bg78gej6qbtif47h7uo0vf9", 1, "failed", "task: non-zero exit (1)", 1, "c0ffee")
SINCE = 1_700_000_000.0


def test_the_note_names_the_task_and_keeps_its_last_lines_on_one_line():
    log = "starting\n\nmigrating\nhello: refusing v1 data\n  exiting   now \n"
    note = log_note(FAILED, log)
    assert note == (
        "; task s_app.1 (n4bg78gej6qb) last logged: starting | migrating | hello: refusing v1 data | exiting now"
    )


def test_the_note_is_bounded_to_the_last_lines():
    log = "\n".join(f"line {i}" for i in range(50))
    note = log_note(FAILED, log)
    assert note.count(" | ") == LOG_TAIL_LINES - 1
    assert note.endswith("line 49") and "line 44" not in note


def test_no_log_or_no_task_gives_no_note():
    assert log_note(FAILED, "") == ""
    assert log_note(FAILED, "\n  \n") == ""
    assert log_note(None, "something") == ""


def test_a_failed_task_keeps_its_container_id():
    task = {
        "ID": "t1",
        "Slot": 1,
        "DesiredState": "shutdown",
        "Spec": {"ContainerSpec": {}},
        "Status": {
            "State": "failed",
            "Timestamp": "2023-11-14T22:13:21Z",
            "Err": "task: non-zero exit (1)",
            "ContainerStatus": {"ContainerID": "abc123", "ExitCode": 1},
        },
    }
    service = {"Spec": {"Name": "s_app", "TaskTemplate": {"ContainerSpec": {}}}}
    assert read_service_state(service, [task], SINCE).failures[0].container_id == "abc123"


def test_the_culprits_task_is_its_last_failure():
    other = TaskFailure("s_app", "zzz", 2, "failed", "", 1, "beef")
    states = {"s_app": ServiceState("s_app", 1, 0, None, "", [FAILED, other])}
    assert culprit_task(states, "s_app") is other
    assert culprit_task(states, None) is None
    assert culprit_task({"s_app": ServiceState("s_app", 1, 1, None, "")}, "s_app") is None


def test_a_timeout_ends_with_the_failed_tasks_log():
    states = {"s_app": ServiceState("s_app", 1, 0, None, "", [FAILED])}
    reason = timeout_reason(states, 60, lambda name: "", lambda task: f"{task.container_id} said goodbye\n")
    assert reason.endswith("; task s_app.1 (n4bg78gej6qb) last logged: c0ffee said goodbye"), reason
