"""The controller's view of a run: verdicts per recipe and tier, levels, and the results.json
document (documents/results.py's types) made of them.

Built only from test reports (which xdist ships from the workers), so `pytest -n 4` computes
exactly the levels a serial run computes. Never touches docker or git.

The leak scan (no_secret_leak) looks at each text once: a report's text when the report
arrives, an artifact's (JUnit XML, HTML) when it is handed over. It looks for every secret a
process reported knowing and for the runner's own secret-shaped environment values (handed in by
the plugin: `watch_for`). Only whether a secret was found is kept, never the texts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.documents.files import write_results
from pytest_ccci.documents.results import (
    SCHEMA,
    Artifact,
    LintWarning,
    RecipeResult,
    ResultsDocument,
    RungVerdict,
    TierItem,
    TierRun,
    rung_text,
    warnings_of_rung,
)
from pytest_ccci.model import stops
from pytest_ccci.model.level import Rung, TierResult, compute_level, rungs_from_tiers, why_not_higher
from pytest_ccci.model.repro import Repro, combined
from pytest_ccci.model.reruns import TierRun as Run
from pytest_ccci.model.reruns import intermittent
from pytest_ccci.model.secrets import Fingerprint, LeakScan, fingerprints
from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import RUNGS, TIER_OF_TEST_FUNCTION, TIERS
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict

STOP_WARNING_RUNG = "install"  # a service that ignores its stop signal slows every rolling update


@dataclass
class ItemVerdict:
    nodeid: str
    tier: str
    status: Status = Status.PASS
    reason: str = ""
    duration: float = 0.0
    settled: bool = False  # a setup or call verdict has been seen
    runs: tuple[Run, ...] = ()  # every run, when it was rerun (--ccci-reruns)
    repro: Repro | None = None  # the command that reruns it, when it did not pass

    def result(self) -> TierResult:
        return TierResult(self.status, self.reason, intermittent(self.runs), self.repro)

    def document(self, artifacts: list[Artifact] | None = None) -> TierItem:
        """As results.json's `tiers` has it, with the story saved of it (`artifacts`), if any."""
        return TierItem(
            self.tier,
            self.status.value if self.settled else "unver",
            self.reason,
            runs=[TierRun(r.status.value, r.reason, r.domain) for r in self.runs] or None,
            repro=self.repro.command() if self.repro else None,
            artifacts=artifacts,
        )


@dataclass
class RecipeRecord:
    name: str
    items: dict[str, ItemVerdict] = field(default_factory=dict)
    facts: RecipeFacts = field(default_factory=RecipeFacts)  # what its lifecycle recorded
    teardown_errors: list[str] = field(default_factory=list)


class Results:
    def __init__(self, recipes: Iterable[str], tiers: Iterable[str], run_id: str):
        self.run_id = run_id
        self.selected_tiers = tuple(tiers)
        self.records: dict[str, RecipeRecord] = {name: RecipeRecord(name) for name in recipes}
        self.started = time.time()
        self.interrupted = False
        self.shard: str | None = None  # --ccci-shard K/N: this run is one shard of a sweep
        self.fingerprints: set[Fingerprint] = set()  # of every secret any process reported knowing
        self.leaked = False  # a secret was found in a report or artifact text
        self.texts_scanned = 0
        self._scan = LeakScan(())

    # -- intake ------------------------------------------------------------------------------

    def add(self, report: Any) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if not data:
            return
        verdict = TierVerdict.from_wire(data, RecipeFacts.from_wire)
        rec = self.records.setdefault(verdict.recipe, RecipeRecord(verdict.recipe))
        if isinstance(verdict.facts, RecipeFacts):
            rec.facts.update(verdict.facts)
        self._learn(verdict.fingerprints)
        # Scanned now, against every fingerprint known so far: a text can only hold a secret its
        # process knew when the report was made, and the report carries that process's fingerprints.
        self._scan_once(_report_text(report))
        item = rec.items.setdefault(report.nodeid, ItemVerdict(report.nodeid, verdict.tier))
        item.duration += getattr(report, "duration", 0.0) or 0.0
        if report.when == "teardown":
            if report.failed:
                rec.teardown_errors.append(verdict.reason or "teardown failed")
            return
        if item.settled and item.status != Status.PASS:
            return  # the first verdict that is not a pass is the one that counts
        item.status, item.reason, item.settled = verdict.status, verdict.reason, True
        item.runs, item.repro = verdict.runs, verdict.repro

    def add_artifact(self, text: str) -> None:
        """An artifact's text (the JUnit XML, the HTML report), scanned for secrets once, now."""
        self._scan_once(text)

    def watch_for(self, values: Iterable[str]) -> None:
        """Secrets no report carries the fingerprints of (the runner's own environment values):
        looked for in every text from now on."""
        self._learn(fingerprints(values))

    def _learn(self, prints: Iterable[Fingerprint]) -> None:
        new = set(prints) - self.fingerprints
        if new:
            self.fingerprints |= new
            self._scan = LeakScan(self.fingerprints)

    def _scan_once(self, text: str) -> None:
        if self.leaked or not text or not self.fingerprints:
            return  # a leak found stays found; no secret known, nothing to find
        self.texts_scanned += 1
        self.leaked = self._scan.found_in(text)

    # -- verdicts ----------------------------------------------------------------------------

    def not_run_reason(self, tier: str) -> str:
        if tier not in self.selected_tiers:
            return "not selected (--tiers)"
        if self.interrupted:
            return "interrupted before it ran"
        if tier not in TIER_OF_TEST_FUNCTION.values():  # the functional tier: the recipe's own tests
            return "no functional tests (add test_*.py to the recipe's folder, or declare not_applicable.functional)"
        return "did not run"

    def rungs(self, rec: RecipeRecord) -> list[Rung]:
        by_tier: dict[str, list[TierResult]] = {t: [] for t in TIERS}
        for item in rec.items.values():
            if item.settled:
                by_tier[item.tier].append(item.result())
            else:
                by_tier[item.tier].append(TierResult(Status.UNVER, "interrupted" if self.interrupted else "no verdict"))
        return rungs_from_tiers(by_tier, {t: self.not_run_reason(t) for t in TIERS})

    def document(self, folder: Path | None = None) -> ResultsDocument:
        """The results.json document (to be written in `folder`: its pictures named relative to
        it; else absolute). Rescans nothing: each text was scanned when it came in."""
        return ResultsDocument(
            schema=SCHEMA,
            run_id=self.run_id,
            started=_iso(self.started),
            finished=_iso(time.time()),
            interrupted=self.interrupted,
            shard=self.shard,
            recipes={name: self.recipe_result(rec, folder) for name, rec in sorted(self.records.items())},
        )

    def recipe_result(self, rec: RecipeRecord, folder: Path | None = None) -> RecipeResult:
        """One recipe's results: its verdicts, and what its lifecycle recorded (`facts`); its
        picture relative to `folder` (where results.json goes) when given."""
        rungs = self.rungs(rec)
        facts = rec.facts
        durations: dict[str, float] = {}
        for item in rec.items.values():
            durations[item.tier] = round(durations.get(item.tier, 0.0) + item.duration, 3)
        clean = facts.clean_teardown
        return RecipeResult(
            level=compute_level(rungs),
            why_not_higher=why_not_higher(rungs),
            rungs={r.name: rung_verdict(r) for r in rungs},
            tiers={
                item.nodeid: item.document(_artifacts(facts.stories.get(item.nodeid, []), folder))
                for item in rec.items.values()
            },
            ref=facts.ref,
            head_sha=facts.head_sha,
            head_release=facts.head_release,
            dirty=facts.dirty,
            domain=facts.domain,
            upgrade_base=facts.upgrade_base,
            stamps=facts.stamps(),
            lock=facts.lock,
            upgrade_runs=list(facts.upgrade_runs),
            lifecycles=dict(facts.lifecycles),
            backup=facts.backup,
            restore=facts.restore,
            settings=facts.settings,
            policy=facts.policy,
            warnings=warnings_of(facts),
            lint_mirrors=facts.lint.mirrors if facts.lint else None,
            endpoint_note=facts.endpoint_note,
            deploy_deadline=facts.deploy_deadline,
            compose_files=facts.compose_files,
            pulled=dict(facts.pulled),
            durations=durations,
            wall_seconds=round(sum(item.duration for item in rec.items.values()), 3),
            deploy_durations=dict(facts.durations),
            clean_teardown=(clean and not rec.teardown_errors) if clean is not None else None,
            leftovers=list(facts.leftovers),
            stops=dict(facts.stops),
            no_secret_leak=not self.leaked,
            kept=facts.kept,
            picture=_relative(facts.picture, folder),
        )

    def as_dict(self) -> dict[str, Any]:
        """The results.json document as JSON-shaped data (what the hook and the artifacts get)."""
        return self.document().to_wire()

    def write_json(self, path: Path) -> None:
        """Atomically: a reader never sees half a file, and a crash leaves the old one."""
        write_results(path, self.document(path.parent))

    # -- terminal ----------------------------------------------------------------------------

    def table(self) -> list[str]:
        header = ["recipe", "head", "level", *RUNGS]
        rows = [header]
        reasons = []
        for name, rec in sorted(self.records.items()):
            rungs = self.rungs(rec)
            warnings = warnings_of(rec.facts)
            rows.append(
                [
                    name,
                    (rec.facts.head_sha or "-")[:8],
                    f"L{compute_level(rungs)}",
                    *(rung_text(r.name, r.status.value, warnings, r.intermittent) for r in rungs),
                ]
            )
            for rung in RUNGS:
                mine = warnings_of_rung(rung, warnings)
                if mine:
                    listed = "; ".join(f"{w.id} {w.description}" for w in mine)
                    reasons.append(f"  {name} {rung}: {len(mine)} warning(s): {listed}")
            # One line per distinct reason: a source that could not be fetched fails every rung
            # with the same words, and is said once; then the command that reruns them.
            grouped: dict[tuple[str, str], list[Rung]] = {}
            for r in rungs:
                if r.status != Status.PASS and r.reason:
                    grouped.setdefault((r.status.value, one_line(r.reason)), []).append(r)
            for (status, reason), same in grouped.items():
                reasons.append(f"  {name} {', '.join(r.name for r in same)}: {status}: {reason}")
                reasons += [f"    rerun: {repro.command()}" for repro in combined(r.repro for r in same if r.repro)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        return lines + reasons


def rung_verdict(rung: Rung) -> RungVerdict:
    """A rung as results.json has it: marked when intermittent, with its repro line unless it passed."""
    repro = rung.repro.command() if rung.repro and rung.status != Status.PASS else None
    return RungVerdict(rung.status.value, rung.reason, True if rung.intermittent else None, repro)


def lint_warnings_of(facts: RecipeFacts) -> list[LintWarning]:
    """The lint warnings the lint fixture recorded, [] when none."""
    return list(facts.lint.warnings) if facts.lint else []


def stop_warnings_of(facts: RecipeFacts) -> list[LintWarning]:
    """The install rung's warnings: each service teardown had to kill (model/stops.py)."""
    records = {name: stops.StopRecord.from_json(stop.to_wire()) for name, stop in facts.stops.items()}
    return [LintWarning.from_wire({**w, "rung": STOP_WARNING_RUNG}) for w in stops.stop_warnings(records)]


def warnings_of(facts: RecipeFacts) -> list[LintWarning]:
    """Every warning of the recipe, each shown beside its rung: lint's, then install's."""
    return lint_warnings_of(facts) + stop_warnings_of(facts)


def _relative(picture: str | None, folder: Path | None) -> str | None:
    """A picture's (or an artifact's) path relative to `folder` (results.json's), when given and possible."""
    if picture is None or folder is None:
        return picture
    try:
        return Path(os.path.relpath(picture, folder.absolute())).as_posix()
    except ValueError:  # another drive (Windows): it stays absolute
        return picture


def _artifacts(artifacts: list[Artifact], folder: Path | None) -> list[Artifact] | None:
    """A failed tier's story files, each named relative to `folder` (where results.json goes);
    None when it has none."""
    return [replace(a, path=_relative(a.path, folder) or a.path) for a in artifacts] or None


def _report_text(report: Any) -> str:
    parts = [str(report.longrepr) if report.longrepr else ""]
    parts += [content for _name, content in getattr(report, "sections", [])]
    return "\n".join(parts)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
