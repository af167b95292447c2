"""The level ladder: tier results -> five rungs -> one level (0-5) and why it is not higher.

Rungs, in order: L1 install, L2 upgrade, L3 backup_restore, L4 functional, L5 lint.
A level is earned by a PASS; a SKIP lets the ladder continue past a rung but never earns
a level by itself; FAIL and UNVER stop it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_ccci.model.repro import Repro
from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import RUNGS, TIERS
from pytest_ccci.model.verdict import Status

# Words for why_not_higher; "unver" is a column code, not something to show a person.
_STATUS_WORDS: dict[Status, str] = {
    Status.PASS: "passed",
    Status.FAIL: "failed",
    Status.SKIP: "skipped",
    Status.UNVER: "unverified",
}


@dataclass(frozen=True)
class TierResult:
    """One tier item's verdict; reason is "" when it passed. `intermittent`: it failed, and
    passed on a rerun (model/reruns.py); `repro`: the command that reruns it (model/repro.py)."""

    status: Status
    reason: str = ""
    intermittent: bool = False
    repro: Repro | None = None


@dataclass(frozen=True)
class Rung:
    """A rung's verdict: that of the tier result that decides it, with its marks."""

    name: str
    status: Status
    reason: str = ""
    intermittent: bool = False
    repro: Repro | None = None


def aggregate_tier(results: Sequence[TierResult], not_run_reason: str = "not run") -> TierResult:
    """One tier's verdict from its items: any fail wins, then any unverified, then all-skip."""
    if not results:
        return TierResult(Status.UNVER, not_run_reason)
    for wanted in (Status.FAIL, Status.UNVER):
        first = next((r for r in results if r.status == wanted), None)
        if first is not None:
            return first
    if all(r.status == Status.SKIP for r in results):
        return results[0]
    return TierResult(Status.PASS, "")  # all PASS, or PASS mixed with SKIP


def _backup_restore(backup: TierResult, restore: TierResult) -> Rung:
    named = (("backup", backup), ("restore", restore))
    failed = next(((n, r) for n, r in named if r.status == Status.FAIL), None)
    if failed is not None:
        name, result = failed
        return Rung("backup_restore", Status.FAIL, f"{name}: {result.reason}", result.intermittent, result.repro)
    if backup.status == restore.status == Status.PASS:
        return Rung("backup_restore", Status.PASS, "")
    if backup.status == restore.status == Status.SKIP:
        # Usually the same reason ("recipe has no backupbot labels"); say it once.
        reason = backup.reason if backup.reason == restore.reason else _join_reasons(named)
        return Rung("backup_restore", Status.SKIP, reason)
    # Anything else (an UNVER, or one half passed while the other skipped) proves nothing.
    repro = next((r.repro for _, r in named if r.status == Status.UNVER and r.repro), None)
    return Rung(
        "backup_restore", Status.UNVER, _join_reasons(n for n in named if n[1].status != Status.PASS), repro=repro
    )


def _join_reasons(named: Iterable[tuple[str, TierResult]]) -> str:
    return "; ".join(f"{name}: {result.reason}" for name, result in named)


def rungs_from_tiers(
    tiers: Mapping[str, Sequence[TierResult]], not_run_reason: str | Mapping[str, str] = "not run"
) -> list[Rung]:
    """The five rungs, in ladder order, from each tier's item results (a missing tier is not run).

    not_run_reason is the reason for an empty or missing tier; a mapping gives it per tier
    (e.g. {"functional": "no functional tests"}), "not run" for tiers it does not name.
    """
    unknown = set(tiers) - set(TIERS)
    if unknown:
        raise ValueError(f"unknown tier(s): {', '.join(sorted(unknown))}")

    def reason_for(tier: str) -> str:
        if isinstance(not_run_reason, str):
            return not_run_reason
        return not_run_reason.get(tier, "not run")

    agg = {name: aggregate_tier(tiers.get(name, ()), reason_for(name)) for name in TIERS}
    rungs: list[Rung] = []
    for name in RUNGS:
        if name == "backup_restore":
            rungs.append(_backup_restore(agg["backup"], agg["restore"]))
        else:
            result = agg[name]
            rungs.append(Rung(name, result.status, result.reason, result.intermittent, result.repro))
    return rungs


def _ladder(rungs: Sequence[Rung] | Mapping[str, Status]) -> list[Rung]:
    """Rungs in ladder order, whatever order or form they came in; an absent rung is unverified."""
    if isinstance(rungs, Mapping):
        by_name = {name: Rung(name, Status(status), "") for name, status in rungs.items()}
    else:
        by_name = {r.name: r for r in rungs}
    unknown = set(by_name) - set(RUNGS)
    if unknown:
        raise ValueError(f"unknown rung(s): {', '.join(sorted(unknown))}")
    return [by_name.get(name, Rung(name, Status.UNVER, "not run")) for name in RUNGS]


def compute_level(rungs: Sequence[Rung] | Mapping[str, Status]) -> int:
    """Highest rung number that passed with every rung below it passed or skipped; else 0."""
    level = 0
    for number, rung in enumerate(_ladder(rungs), start=1):
        if rung.status == Status.PASS:
            level = number
        elif rung.status != Status.SKIP:
            break
    return level


def why_not_higher(rungs: Sequence[Rung] | Mapping[str, Status]) -> str:
    """One line naming the rung that keeps the level where it is, and why; "" at level 5.

    That is the first failed/unverified rung; if none, the first skipped rung above the
    level (skips let the ladder continue but cannot earn the next level).
    """
    ladder = _ladder(rungs)
    level = compute_level(ladder)
    if level == len(RUNGS):
        return ""
    numbered = list(enumerate(ladder, start=1))
    stopper = next(((n, r) for n, r in numbered if r.status in (Status.FAIL, Status.UNVER)), None)
    if stopper is None:
        stopper = next((n, r) for n, r in numbered if n > level and r.status == Status.SKIP)
    number, rung = stopper
    line = f"L{number} {rung.name} {_STATUS_WORDS[rung.status]}"
    # Uncut: results.json's why_not_higher gives the whole reason; the terminal table cuts its own.
    return f"{line}: {one_line(rung.reason, limit=None)}" if rung.reason.strip() else line
