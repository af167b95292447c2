"""`--ccci-reruns N`: a swarm tier item that failed runs again, N times, each on a fresh app domain.

How (the way pytest-rerunfailures runs an item again): this piece's `pytest_runtest_protocol`
runs a tier item with `runtestprotocol(item, log=False)`; when the verdict runner.py gave it is a
fail, it runs it exactly N more times the same way (all N: "failed 1 of 3 runs" means three runs
happened), then logs the first run's reports only. The terminal, JUnit, HTML and xdist's
controller see one result per item: the failing report, still a fail, whose verdict now carries
every run (`runs`) and the reason model/reruns.py words; its reruns' time is added to its
duration. Reruns' own reports are never logged.

Each rerun gets a lifecycle of its own (run/lifecycle.py with variant `r2`, `r3`...: its own app
domain, stack and lock; an upgrade's rerun, the upgrade lifecycle of that: `upr2`...). The
lifecycle the failed run deployed on is closed first (everything it deployed goes) and the
rerun's takes its place in CcciContext.lifecycles while it runs; reruns never overlap
(run/overlap.py), while the main line's upgrade chain, started beside a failed install-side tier,
goes on in the background. Afterwards the recipe's next items get a fresh lifecycle on the
recipe's own domain that goes on filling the first lifecycle's facts, and with its upgrade
lifecycle: results.json's record of the recipe stays the main run's (its domain, stamps,
lint...), each rerun is recorded as a run of its tier item, and whatever a rerun left on the
swarm is recorded there too (clean_teardown, leftovers).

Lint is never rerun: it reads the commit's files only, and cannot fail one time in two.
Prerequisites see the fail: runner.py keeps the worse of every verdict in ctx.outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from _pytest.runner import runtestprotocol  # public in spirit: pytest-rerunfailures and xdist call it

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.model.reruns import TierRun, rerun_variant, reruns_reason
from pytest_ccci.model.secrets import redact
from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import SWARM_TIERS, UPGRADE_TIER
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, SEVERITY, Status, TierVerdict
from pytest_ccci.plugin.collection import tier_item_key
from pytest_ccci.plugin.state import CcciContext
from pytest_ccci.run import overlap
from pytest_ccci.run.lifecycle import RecipeLifecycle

SECTION = "ccci reruns"  # the failing report's section that lists every run


class TierReruns:
    """Registered when --ccci-reruns (ini ccci_reruns) is above 0, on every process that runs items."""

    def __init__(self, ctx: CcciContext):
        self.ctx = ctx

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        tier_item = item.stash.get(tier_item_key, None)
        if tier_item is None or tier_item.tier not in SWARM_TIERS:  # lint reads files only: a rerun tells nothing new
            return None  # pytest's own protocol runs it
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        failing = next((r for r in reports if r.when != "teardown" and _status(r) == Status.FAIL), None)
        if failing is not None:
            main = self.ctx.lifecycle(tier_item.recipe)
            first = run_of(reports, main.for_tier(tier_item.tier).facts.domain)
            reruns, seconds = self.rerun(item, nextitem, main, tier_item.tier)
            self.settle(failing, [first, *reruns], main.recipe_record(), seconds)
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def rerun(
        self, item: pytest.Item, nextitem: pytest.Item | None, main: RecipeLifecycle, tier: str
    ) -> tuple[list[TierRun], float]:
        """The item run again `reruns` times, each on a lifecycle of its own: (the runs, their seconds)."""
        runs, seconds, total = [], 0.0, self.ctx.options.reruns + 1
        # A rerun runs in today's order, one lifecycle at a time (run/overlap.py is the main line's).
        overlapping, self.ctx.overlap = self.ctx.overlap, False
        try:
            for number in range(2, total + 1):
                self.retire(main, tier)
                fresh = main.fresh(rerun_variant(number))
                self.ctx.lifecycles[main.name] = fresh
                self.ctx.runtime.progress(f"{item.nodeid} failed: run {number} of {total}, on a fresh app domain")
                reports = runtestprotocol(item, nextitem=nextitem, log=False)
                runs.append(run_of(reports, fresh.for_tier(tier).facts.domain))
                seconds += sum(r.duration for r in reports)
        finally:
            self.ctx.overlap = overlapping
            self.retire(main, tier)
            self.ctx.lifecycles[main.name] = self.successor(main, nextitem)
        return runs, seconds

    def retire(self, main: RecipeLifecycle, tier: str) -> None:
        """Close the lifecycles the recipe's current run of `tier` deployed on (a no-op once
        closed): the upgrade lifecycle too for the upgrade tier. Any other tier leaves the main
        line's upgrade chain running beside it (the successor goes on with it). What a rerun's
        lifecycles left on the swarm goes into the main record."""
        current = self.ctx.lifecycles.get(main.name)
        if current is None:
            return
        recorded = (main, main.for_tier(UPGRADE_TIER))  # the main record merges these already
        for lifecycle in dict.fromkeys((current, current.for_tier(tier))):
            error = overlap.close_now(lifecycle)
            if error is not None:  # the rerun goes on, on a domain of its own; the record says it
                said = redact(one_line(error), self.ctx.secret_values())
                self.ctx.runtime.progress(
                    f"teardown of {main.name} before a rerun failed: {type(error).__name__}: {said}"
                )
                main.facts.clean_teardown = False
            if all(lifecycle is not own for own in recorded) and (
                lifecycle.leftovers or lifecycle.facts.clean_teardown is False
            ):
                main.facts.clean_teardown = False
                main.facts.leftovers = [*main.facts.leftovers, *lifecycle.leftovers]

    def successor(self, main: RecipeLifecycle, nextitem: pytest.Item | None) -> RecipeLifecycle:
        """Who runs the recipe's next items: a fresh lifecycle on its own domain that fills the
        main record and goes on with main's upgrade lifecycle, or (no next item of the recipe)
        the main one, closed, for the record."""
        following = nextitem.stash.get(tier_item_key, None) if nextitem is not None else None
        if following is None or following.recipe != main.name:
            return main
        return main.successor()

    def settle(self, report: pytest.TestReport, runs: list[TierRun], facts: RecipeFacts, seconds: float) -> None:
        """The failing report as it is logged: still a fail, with every run and their reason, and
        `facts` (the recipe's record, a copy) as it stands after the reruns."""
        verdict = TierVerdict.from_wire(getattr(report, REPORT_ATTRIBUTE), RecipeFacts.from_wire)
        settled = replace(verdict, reason=reruns_reason(runs), runs=tuple(runs), facts=facts)
        setattr(report, REPORT_ATTRIBUTE, settled.to_wire())
        report.sections.append((SECTION, "\n".join(run_lines(runs))))
        report.duration += seconds


def _status(report: pytest.TestReport) -> Status | None:
    data = getattr(report, REPORT_ATTRIBUTE, None)
    return Status(data["status"]) if data else None


def run_of(reports: Sequence[pytest.TestReport], domain: str | None) -> TierRun:
    """One run of an item: the worst verdict of its setup and call, and why."""
    status, reason = Status.PASS, ""
    for report in reports:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if report.when == "teardown" or not data:
            continue
        verdict = TierVerdict.from_wire(data)
        if SEVERITY[verdict.status] > SEVERITY[status]:
            status, reason = verdict.status, verdict.reason
    return TierRun(status, reason, domain)


def run_lines(runs: Sequence[TierRun]) -> list[str]:
    """Every run, one a line, for the failing report's section."""
    return [
        f"run {number}: {run.status.value}"
        + (f" on {run.domain}" if run.domain else "")
        + (f": {run.reason}" if run.reason else "")
        for number, run in enumerate(runs, start=1)
    ]
