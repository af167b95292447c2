"""The verdict record: what one tier item's report says about a recipe, and how an outcome is
classified into pass / fail / skip / unver.

One `TierVerdict` is made per report on the process that ran the item, travels to the
controller as a report attribute (xdist ships it), and is read there by the results, the
terminal table, JUnit and HTML. Nothing else builds or parses that attribute. It carries a
typed payload, the lifecycle's record (documents/facts.py's RecipeFacts): written with its own
`to_wire()`, read back by the reader its receiver hands to `from_wire` (this layer knows no
document class). A verdict may also carry every run of a rerun item (model/reruns.py) and its
repro line (model/repro.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from pytest_ccci.errors import InfraError, RecipeError, UsageError
from pytest_ccci.model.secrets import Fingerprint
from pytest_ccci.model.text import one_line

if TYPE_CHECKING:  # reruns.py and repro.py import Status from here
    from pytest_ccci.model.repro import Repro
    from pytest_ccci.model.reruns import TierRun

# The report attribute that carries a verdict. A plain attribute, not user_properties: xdist
# ships it from the workers all the same, and JUnit XML does not get the whole record.
REPORT_ATTRIBUTE = "ccci"


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    UNVER = "unver"  # could not be verified (infrastructure trouble, not run): not the recipe's fault


# How bad a status is, when one item has several verdicts (setup, call, teardown) or one tier
# several items: the worst one counts.
SEVERITY: dict[Status, int] = {Status.PASS: 0, Status.SKIP: 1, Status.UNVER: 2, Status.FAIL: 3}

# How a not-applicable skip's reason starts, for people reading it. Whether a skip is one is
# said by the skip itself (plugin/runner.py's skip_not_applicable), never read off this text.
NOT_APPLICABLE = "n/a:"


def worse(a: Status | None, b: Status) -> Status:
    """The worse of two statuses (None: no verdict yet)."""
    return b if a is None or SEVERITY[b] > SEVERITY[a] else a


class Payload(Protocol):
    """What a verdict can carry: a record that writes itself as JSON-shaped data."""

    def to_wire(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TierVerdict:
    """One report's verdict on one recipe's tier."""

    recipe: str
    tier: str
    status: Status
    reason: str = ""
    facts: Payload | None = None  # the lifecycle's record when the report was made (None: no lifecycle)
    fingerprints: tuple[Fingerprint, ...] = ()  # of the secrets this process knows (model.secrets)
    runs: tuple[TierRun, ...] = ()  # every run, the first one included, when the item was rerun (reruns.py)
    repro: Repro | None = None  # the command that reruns just this verdict (repro.py), when it is not a pass

    def to_wire(self) -> dict[str, Any]:
        """As plain data, for the report attribute (xdist serialises it)."""
        return {
            "recipe": self.recipe,
            "tier": self.tier,
            "status": self.status.value,
            "reason": self.reason,
            "facts": self.facts.to_wire() if self.facts is not None else None,
            "fingerprints": [list(fp) for fp in self.fingerprints],
            "runs": [run.to_wire() for run in self.runs],
            "repro": self.repro.to_wire() if self.repro is not None else None,
        }

    @classmethod
    def from_wire(
        cls, data: Mapping[str, Any], read_facts: Callable[[Mapping[str, Any]], Payload] | None = None
    ) -> TierVerdict:
        """The verdict `data` describes; its payload read by `read_facts` (None: left unread)."""
        from pytest_ccci.model.repro import Repro
        from pytest_ccci.model.reruns import TierRun

        facts, repro = data.get("facts"), data.get("repro")
        return cls(
            recipe=data["recipe"],
            tier=data["tier"],
            status=Status(data["status"]),
            reason=data.get("reason", ""),
            facts=read_facts(facts) if read_facts is not None and facts is not None else None,
            fingerprints=tuple(Fingerprint.from_wire(fp) for fp in data.get("fingerprints") or ()),
            runs=tuple(TierRun.from_wire(run) for run in data.get("runs") or ()),
            repro=Repro.from_wire(repro) if repro else None,
        )


def classify_skip(reason: str, not_applicable: bool) -> tuple[Status, str]:
    """A skip is n/a (SKIP) only when the skip said so (`not_applicable`); anything else could
    have run and did not (UNVER). The reason as shown, without pytest's "Skipped: " prefix."""
    return (Status.SKIP if not_applicable else Status.UNVER), reason.removeprefix("Skipped: ")


def classify_error(exc: BaseException | None, engine_reachable: Callable[[], bool]) -> tuple[Status, str]:
    """The verdict of an item that raised `exc`.

    By the error's kind, never by where its class is defined: the project's own taxonomy
    (errors.py) says what it is; an assertion is the recipe's failure; any other exception is
    the recipe's failure too (its functional test failed), unless the engine itself is down at
    that moment, in which case nothing about the recipe could be verified.
    """
    if exc is None:
        return Status.FAIL, "failed"
    if isinstance(exc, AssertionError):
        lines = str(exc).strip().splitlines()
        return Status.FAIL, lines[0] if lines else "assertion failed"
    if isinstance(exc, RecipeError):
        return Status.FAIL, str(exc)
    if isinstance(exc, (InfraError, UsageError)):
        return Status.UNVER, f"infrastructure: {one_line(exc)}"
    described = f"{type(exc).__name__}: {one_line(exc)}"
    if not engine_reachable():
        return Status.UNVER, f"infrastructure: the Docker engine is unreachable ({described})"
    return Status.FAIL, described
