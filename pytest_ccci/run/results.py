"""The controller's view of a run: verdicts per recipe and tier, levels, results.json.

Built only from test reports (which xdist ships from the workers), so `pytest -n 4` computes
exactly the levels a serial run computes. Never touches docker or git.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pytest_ccci.model.level import RUNGS, TIERS, Rung, Status, TierResult, compute_level, rungs_from_tiers, why_not_higher

SCHEMA = "pytest-ccci/results/1"
# The report attribute carrying a tier verdict. A plain attribute (not user_properties): xdist
# ships it from the workers all the same, and JUnit XML does not get the whole dict.
PROPERTY = "ccci"


@dataclass
class ItemVerdict:
    nodeid: str
    tier: str
    status: Status = Status.PASS
    reason: str = ""
    duration: float = 0.0
    settled: bool = False  # a setup or call verdict has been seen


@dataclass
class RecipeRecord:
    name: str
    items: dict[str, ItemVerdict] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    teardown_errors: list[str] = field(default_factory=list)


class Results:
    def __init__(self, recipes: Iterable[str], tiers: Iterable[str], run_id: str):
        self.run_id = run_id
        self.selected_tiers = tuple(tiers)
        self.records: dict[str, RecipeRecord] = {name: RecipeRecord(name) for name in recipes}
        self.started = time.time()
        self.interrupted = False
        self.fingerprints: set[tuple[int, str]] = set()
        self.report_texts: list[str] = []

    # -- intake ------------------------------------------------------------------------------

    def add(self, report) -> None:
        data = getattr(report, PROPERTY, None)
        if not data:
            return
        rec = self.records.setdefault(data["recipe"], RecipeRecord(data["recipe"]))
        rec.facts.update(data.get("facts") or {})
        self.fingerprints.update(tuple(fp) for fp in data.get("fingerprints") or ())
        self.report_texts.append(_report_text(report))
        item = rec.items.setdefault(report.nodeid, ItemVerdict(report.nodeid, data["tier"]))
        item.duration += getattr(report, "duration", 0.0) or 0.0
        if report.when == "teardown":
            if report.failed:
                rec.teardown_errors.append(data.get("reason") or "teardown failed")
            return
        if item.settled and item.status != Status.PASS:
            return  # the first verdict that is not a pass is the one that counts
        item.status, item.reason, item.settled = Status(data["status"]), data.get("reason", ""), True

    # -- verdicts ----------------------------------------------------------------------------

    def not_run_reason(self, tier: str) -> str:
        if tier not in self.selected_tiers:
            return "not selected (--tiers)"
        if self.interrupted:
            return "interrupted before it ran"
        if tier == "functional":
            return "no functional tests (add test_*.py to the recipe's folder, or declare not_applicable.functional)"
        return "did not run"

    def rungs(self, rec: RecipeRecord) -> list[Rung]:
        by_tier: dict[str, list[TierResult]] = {t: [] for t in TIERS}
        for item in rec.items.values():
            if item.settled:
                by_tier[item.tier].append(TierResult(item.status, item.reason))
            else:
                by_tier[item.tier].append(TierResult(Status.UNVER, "interrupted" if self.interrupted else "no verdict"))
        return rungs_from_tiers(by_tier, {t: self.not_run_reason(t) for t in TIERS})

    def leaks(self, extra_texts: Iterable[str] = ()) -> bool:
        """Whether any generated secret value appears in any report or artifact text."""
        return any(find_fingerprints(text, self.fingerprints) for text in [*self.report_texts, *extra_texts])

    def as_dict(self, extra_texts: Iterable[str] = ()) -> dict:
        leak = self.leaks(extra_texts)
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "started": _iso(self.started),
            "finished": _iso(time.time()),
            "interrupted": self.interrupted,
            "recipes": {},
        }
        for name, rec in sorted(self.records.items()):
            rungs = self.rungs(rec)
            facts = rec.facts
            durations: dict[str, float] = {}
            for item in rec.items.values():
                durations[item.tier] = round(durations.get(item.tier, 0.0) + item.duration, 3)
            clean = facts.get("clean_teardown")
            out["recipes"][name] = {
                "level": compute_level(rungs),
                "why_not_higher": why_not_higher(rungs),
                "rungs": {r.name: {"status": r.status.value, "reason": r.reason} for r in rungs},
                "tiers": {
                    item.nodeid: {"tier": item.tier, "status": item.status.value if item.settled else "unver", "reason": item.reason}
                    for item in rec.items.values()
                },
                "ref": facts.get("ref"),
                "head_sha": facts.get("head_sha"),
                "dirty": facts.get("dirty"),
                "domain": facts.get("domain"),
                "upgrade_base": facts.get("upgrade_base"),
                "stamps": {k: v for k, v in facts.items() if k.endswith("stamp")},
                "lock": facts.get("lock"),
                "upgrade_runs": facts.get("upgrade_runs", []),
                "settings": facts.get("settings"),
                "durations": durations,
                "deploy_durations": facts.get("durations", {}),
                "clean_teardown": (clean and not rec.teardown_errors) if clean is not None else None,
                "leftovers": facts.get("leftovers", []),
                "no_secret_leak": not leak,
            }
        return out

    def write_json(self, path: Path, extra_texts: Iterable[str] = ()) -> None:
        """Atomically: a reader never sees half a file, and a crash leaves the old one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(self.as_dict(extra_texts), fh, indent=2, sort_keys=False)
                fh.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- terminal ----------------------------------------------------------------------------

    def table(self) -> list[str]:
        header = ["recipe", "head", "level", *RUNGS]
        rows = [header]
        reasons = []
        for name, rec in sorted(self.records.items()):
            rungs = self.rungs(rec)
            rows.append([name, (rec.facts.get("head_sha") or "-")[:8], f"L{compute_level(rungs)}", *(r.status.value for r in rungs)])
            # One line per distinct reason: a source that could not be fetched fails every rung
            # with the same words, and is said once.
            grouped: dict[tuple[str, str], list[str]] = {}
            for r in rungs:
                if r.status != Status.PASS and r.reason:
                    grouped.setdefault((r.status.value, _one_line(r.reason)), []).append(r.name)
            for (status, reason), names in grouped.items():
                reasons.append(f"  {name} {', '.join(names)}: {status}: {reason}")
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        return lines + reasons


def find_fingerprints(text: str, fingerprints: set[tuple[int, str]]) -> bool:
    """True when a substring of `text` hashes to a secret's fingerprint (length, sha256)."""
    if not text or not fingerprints:
        return False
    wanted: dict[int, set[str]] = {}
    for length, digest in fingerprints:
        wanted.setdefault(length, set()).add(digest)
    for length, digests in wanted.items():
        for i in range(0, len(text) - length + 1):
            if hashlib.sha256(text[i : i + length].encode()).hexdigest() in digests:
                return True
    return False


def _report_text(report) -> str:
    parts = [str(report.longrepr) if report.longrepr else ""]
    parts += [content for _name, content in getattr(report, "sections", [])]
    return "\n".join(parts)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
