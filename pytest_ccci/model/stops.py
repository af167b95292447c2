"""How a service's tasks ended when teardown stopped them: on their stop signal, or killed.

Swarm stops a task by sending its stop signal (SIGTERM unless the image or service says
otherwise), waits up to the service's stop_grace_period (10 s by default), then sends SIGKILL.
A task that exits with 0 or with the signal's own code (128 + its number: 143 for SIGTERM)
stopped *gracefully*; one that exits 137 (SIGKILL) was *killed*: it ignored its stop signal,
and every rolling update of that service waits out the whole grace period. Any other code
(the app exited promptly, but not cleanly) is *exited*.

Pure: teardown (swarm/teardown.py) measures `seconds` from the engine's events (the first
`kill` event, which carries the stop signal, to the `die` event, which carries the exit code);
this module only classifies, keeps the worst task per service, and words the install rung's
warning (id `S001`, shaped as lint warnings are: {id, description, detail}).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GRACEFUL = "graceful"
EXITED = "exited"
KILLED = "killed"
# Worst last: a service's record is its worst task's.
_RANK = {GRACEFUL: 0, EXITED: 1, KILLED: 2}
# Swarm's stop_grace_period when the service sets none.
DEFAULT_GRACE_SECONDS = 10.0
SIGTERM = int(signal.SIGTERM)
SIGKILL = int(signal.SIGKILL)
# A kill this close to the grace period's end is swarm's own SIGKILL at the end of the grace
# (the agent adds its own delay); an earlier one was someone else's (teardown's force-removal).
GRACE_SLACK_SECONDS = 1.0
STOP_WARNING_ID = "S001"
STOP_WARNING_TITLE = "a service ignores its stop signal"


@dataclass(frozen=True)
class StopRecord:
    """How one task (or a service's worst task) ended after its stop was asked."""

    how: str  # GRACEFUL, EXITED or KILLED
    seconds: float  # from its stop signal to its exit
    exit_code: int
    grace_seconds: float
    signal: int = SIGTERM

    def to_json(self) -> dict[str, Any]:
        """As results.json keeps it under `stops.<service>`."""
        return {
            "how": self.how,
            "seconds": round(self.seconds, 1),
            "exit_code": self.exit_code,
            "grace_seconds": round(self.grace_seconds, 1),
            "signal": signal_name(self.signal),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StopRecord:
        """Back from results.json's record (a name Python does not know stays SIGTERM's)."""
        name = str(data.get("signal", "SIGTERM"))
        number = int(name) if name.isdigit() else int(getattr(signal.Signals, name, SIGTERM))
        return cls(
            str(data["how"]), float(data["seconds"]), int(data["exit_code"]), float(data["grace_seconds"]), number
        )


def signal_name(number: int) -> str:
    """`SIGTERM` for 15; the bare number for a signal Python does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def classify(exit_code: int, seconds: float, grace_seconds: float, stop_signal: int = SIGTERM) -> StopRecord:
    """How a task that exited `exit_code`, `seconds` after its stop signal, ended."""
    if exit_code in (0, 128 + stop_signal):
        how = GRACEFUL
    elif exit_code == 128 + SIGKILL:
        how = KILLED
    else:
        how = EXITED
    return StopRecord(how, max(0.0, seconds), exit_code, grace_seconds, stop_signal)


def worst(record: StopRecord, *others: StopRecord) -> StopRecord:
    """The record that says most about a service: killed over exited over graceful, then slowest."""
    return max((record, *others), key=lambda r: (_RANK[r.how], r.seconds))


def merge(*stops: Mapping[str, StopRecord]) -> dict[str, StopRecord]:
    """Several teardowns' records (install's, then upgrade's), each service's worst kept."""
    merged: dict[str, StopRecord] = {}
    for one in stops:
        for service, record in one.items():
            merged[service] = worst(record, merged[service]) if service in merged else record
    return merged


def stop_warnings(stops: Mapping[str, StopRecord]) -> list[dict[str, str]]:
    """The install rung's warnings: one per service killed instead of stopping on its signal."""
    return [
        {"id": STOP_WARNING_ID, "description": STOP_WARNING_TITLE, "detail": _killed_detail(service, record)}
        for service, record in sorted(stops.items())
        if record.how == KILLED
    ]


def _killed_detail(service: str, record: StopRecord) -> str:
    sent = signal_name(record.signal)
    if record.seconds >= record.grace_seconds - GRACE_SLACK_SECONDS:
        when = f"at the end of its {_duration(record.grace_seconds)} stop_grace_period"
    else:  # force-removed by teardown before a long grace ran out
        when = f"before its {_duration(record.grace_seconds)} stop_grace_period ended (force-removed)"
    return (
        f"service {service} ignored {sent}: killed (exit {record.exit_code}) {record.seconds:.1f}s after it, "
        f"{when}; every rolling update waits that long per task. Run the server so that it stops on "
        f"{sent} (not as a PID 1 without a handler: exec it under an init, or trap the signal)"
    )


def _duration(seconds: float) -> str:
    """As compose writes a stop_grace_period: `3s`, `90s`, `8760h`."""
    return f"{seconds / 3600:g}h" if seconds >= 3600 and seconds % 3600 == 0 else f"{seconds:g}s"
