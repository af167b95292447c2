"""Reruns of a failed tier (`--ccci-reruns N`): what each run gave, and the one place the
verdict's words for them are made.

A tier that failed runs again N times, each on a fresh app domain; the verdict stays FAIL
whatever the reruns gave (a head that passes sometimes is the incident's head: it is never
reported green). Its reason says how many of the runs failed, and why:

- every run failed: `failed 3 of 3 runs: <the first run's cause>`, then any later run whose cause
  differs, named (`; run 2: ...`). Causes are compared without the run's own app domain and stack
  name, which differ from run to run by construction;
- some run passed: `intermittent: failed 1 of 3 runs: run 1 failed: <cause>; run 2 passed; ...`;
- no run passed, but some could not be verified (or were skipped): `failed 2 of 3 runs: run 1
  failed: ...; run 2 unverified: ...; ...` (nothing shows the head can pass: not intermittent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_ccci.model.naming import stack_name
from pytest_ccci.model.verdict import Status

# A rerun's app-domain variant (naming.app_domain): run 2 deploys on `<x>-<hex>-r2.<base>`.
RERUN_VARIANT = "r{number}"
# How one run's outcome is said in a listing.
_OUTCOME_WORDS: dict[Status, str] = {
    Status.PASS: "passed",
    Status.FAIL: "failed",
    Status.SKIP: "skipped",
    Status.UNVER: "unverified",
}
INTERMITTENT = "intermittent:"  # how an intermittent verdict's reason starts, for people reading it


def rerun_variant(number: int) -> str:
    """The app-domain variant of run `number` (2 for the first rerun)."""
    return RERUN_VARIANT.format(number=number)


@dataclass(frozen=True)
class TierRun:
    """One run of a tier item: its status, why (when it did not pass), and the app domain it
    deployed on (None when it deployed nothing)."""

    status: Status
    reason: str = ""
    domain: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"status": self.status.value, "reason": self.reason, "domain": self.domain}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> TierRun:
        return cls(Status(data["status"]), data.get("reason") or "", data.get("domain"))


def intermittent(runs: Sequence[TierRun]) -> bool:
    """Whether the runs both failed and passed: the head fails only sometimes."""
    statuses = {run.status for run in runs}
    return Status.FAIL in statuses and Status.PASS in statuses


def reruns_reason(runs: Sequence[TierRun]) -> str:
    """The verdict's reason over every run of a tier item (the first run, then its reruns)."""
    failed = [run for run in runs if run.status == Status.FAIL]
    count = f"failed {len(failed)} of {len(runs)} runs"
    if len(failed) == len(runs) and runs:
        first = runs[0]
        differing = [
            f"run {number}: {run.reason}"
            for number, run in enumerate(runs[1:], start=2)
            if _cause(run) != _cause(first)
        ]
        return "; ".join([f"{count}: {first.reason}", *differing])
    listing = "; ".join(_said(number, run) for number, run in enumerate(runs, start=1))
    prefix = f"{INTERMITTENT} " if intermittent(runs) else ""
    return f"{prefix}{count}: {listing}"


def _said(number: int, run: TierRun) -> str:
    words = f"run {number} {_OUTCOME_WORDS[run.status]}"
    return f"{words}: {run.reason}" if run.reason and run.status != Status.PASS else words


def _cause(run: TierRun) -> str:
    """A run's reason with its own app domain and stack name taken out, for comparing causes."""
    if not run.domain:
        return run.reason
    return run.reason.replace(run.domain, "<app>").replace(stack_name(run.domain), "<app>")
