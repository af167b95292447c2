"""The story of a failed tier, as text a maintainer reads: pure.

What the swarm layer reads of each service of a failed tier's stack (swarm/story.py) is turned
into three texts here: its log (bounded: the tail is kept, and the text says what was cut), its
task history as `docker service ps --no-trunc` would list it (shut-down and failed tasks with
their errors, exit codes and timestamps), and its last update (the engine's UpdateStatus, and
what changed from PreviousSpec to Spec, field by field: model/idempotence.py's diff, env values
never shown). Masking secrets is the writer's job (run/story.py), on these very texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_ccci.model.idempotence import FieldChange, field_changes
from pytest_ccci.model.text import inert, one_line

# A service's log in a story: enough for a crash loop's last many starts, small enough that a
# CI artifact store keeps every failed tier's.
LOG_BYTES = 1 << 20
# A value shown in a spec diff, at most (a config's data, a long command line).
VALUE_CHARS = 300


class TailBuffer:
    """The last `limit` bytes of a stream fed in chunks, and how many bytes came in all."""

    def __init__(self, limit: int = LOG_BYTES):
        self.limit = limit
        self.total = 0
        self._kept = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self._kept += chunk
        if len(self._kept) > self.limit:
            del self._kept[: len(self._kept) - self.limit]

    @property
    def cut(self) -> int:
        """Bytes of the stream not kept (its start)."""
        return self.total - len(self._kept)

    def text(self) -> str:
        """The kept tail, decoded and inert. When the start was cut, the text says how much and
        begins at a whole line (a line cut in two could hold half a secret no mask matches)."""
        kept = bytes(self._kept)
        cut = self.cut
        if cut:
            newline = kept.find(b"\n")
            if 0 <= newline < len(kept) - 1:
                cut, kept = cut + newline + 1, kept[newline + 1 :]
        body = inert(kept.decode(errors="replace"))
        if not cut:
            return body
        return f"[first {cut} of {self.total} bytes cut: the last {len(kept)} bytes kept]\n{body}"


def log_text(raw: str, task_names: Mapping[str, str]) -> str:
    """Service log lines as the engine gives them with details (`<time> <k=v,...> <message>`)
    with the details replaced by the task's name (`app.1.<task id>`), as `docker service logs`
    names them, in time order. Lines of another shape are kept as they are."""
    out = []
    for line in raw.splitlines():
        time, _, rest = line.partition(" ")
        details, _, message = rest.partition(" ")
        if "com.docker.swarm.task.id=" not in details:
            out.append(line)
            continue
        attrs = dict(part.partition("=")[::2] for part in details.split(","))
        task_id = attrs.get("com.docker.swarm.task.id", "")
        out.append(f"{time} {task_names.get(task_id, task_id[:12])} {message}")
    # The engine streams one task's lines after another's: in time order, they tell the story.
    out.sort(key=lambda line: line.partition(" ")[0])
    return "\n".join(out) + ("\n" if out else "")


@dataclass(frozen=True)
class TaskRecord:
    """One task of a service as `docker service ps` shows it (any state, the shut-down too)."""

    id: str
    name: str  # <service>.<slot>
    image: str
    desired: str
    state: str
    since: str  # when it reached `state` (the engine's timestamp)
    error: str = ""
    exit_code: int | None = None
    health: str = ""  # its container's last healthcheck that said something ("" : none)


TASK_COLUMNS = ("ID", "NAME", "IMAGE", "DESIRED STATE", "CURRENT STATE", "SINCE", "EXIT", "ERROR")


def tasks_table(tasks: Iterable[TaskRecord]) -> str:
    """The tasks as a table, by slot then newest first (as `docker service ps` orders them)."""
    ordered = sorted(tasks, key=lambda t: t.since, reverse=True)
    ordered.sort(key=lambda t: t.name)
    rows = [TASK_COLUMNS] + [
        (
            t.id,
            t.name,
            t.image,
            t.desired,
            t.state,
            t.since,
            "" if t.exit_code is None else str(t.exit_code),
            inert(t.error),
        )
        for t in ordered
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TASK_COLUMNS) - 1)]
    lines = [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip()
        for row in rows
    ]
    checks = [f"  {t.name}.{t.id[:12]}: {one_line(t.health)}" for t in ordered if t.health]
    if checks:
        lines += ["", "Last healthcheck of each task's container:", *checks]
    return "\n".join(lines) + "\n"


UPDATE_FIELDS = ("State", "StartedAt", "CompletedAt", "Message")


def update_text(
    update_status: Mapping[str, Any] | None,
    spec: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    deployed: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
) -> str:
    """The service's last update: the engine's UpdateStatus, then what it changed (PreviousSpec
    to Spec), one line per field; says so when the service was never updated. A rollback makes
    the engine forget the update's spec (PreviousSpec goes): then `deployed`, (the Spec before
    the run's last deploy, the Spec just after it) as the engine reported them then, is diffed."""
    lines = ["UpdateStatus:"]
    if update_status:
        lines += [f"  {k}: {inert(str(update_status[k]))}" for k in UPDATE_FIELDS if update_status.get(k)]
    else:
        lines.append("  none (the service was created and never updated)")
    if previous is not None:
        lines += ["Spec changes (PreviousSpec -> Spec):", *_changes(previous, spec)]
    elif deployed is not None:
        lines.append("Spec changes of the last deploy (the engine keeps no PreviousSpec: the Spec before the deploy")
        lines += ["  -> the Spec just after it, as the engine reported them then):", *_changes(*deployed)]
    else:
        lines += ["Spec changes (PreviousSpec -> Spec):", "  none: the engine keeps no previous spec"]
    return "\n".join(lines) + "\n"


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [f"  {change_text(c)}" for c in field_changes(before, after)] or ["  none: the specs are equal"]


def change_text(change: FieldChange) -> str:
    """`path: before -> after`, each value as JSON, bounded; an env change names variables only."""
    if change.hidden:
        return f"{change.path}: values not shown"
    return f"{change.path}: {_value(change.before)} -> {_value(change.after)}"


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = inert(json.dumps(value, sort_keys=True, default=str))
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + f"... ({len(text)} chars)"


def story_file_names(service: str) -> Sequence[tuple[str, str]]:
    """(kind, file name) of each file a service's story is written as."""
    return (("log", f"{service}.log"), ("tasks", f"{service}.tasks.txt"), ("update", f"{service}.update.txt"))
