"""Running the tier items of this process (the controller, or an xdist worker).

- setup: a tier declared not applicable, or whose prerequisite did not pass, is skipped with
  the reason (`n/a: ...` or `blocked: <tier> <status>`). Only a skip made by
  `skip_not_applicable` counts as not applicable (SKIP); any other skip is unverified;
- makereport: every report of a tier item gets one `TierVerdict` (model/verdict.py), carried as
  the report attribute REPORT_ATTRIBUTE; secrets are masked in the report first; a verdict that
  failed (or could not be verified while it ran) carries its repro line (model/repro.py); a
  failed or unverified tier's story is saved first, before any teardown (run/story.py), from
  the lifecycle the tier ran on, and named in the item's JUnit properties (`ccci.artifact`);
- overlap (run/overlap.py, when this process has two deploy slots): a recipe's first swarm
  tier starts its upgrade lifecycle in the background, and its last install-side item hands the
  install's teardown to the background;
- teardown: a recipe's last item awaits its background work and tears both lifecycles down
  (or keeps a failed one, --ccci-keep-failed); at session end whatever is still deployed goes,
  with signals deferred until it is gone.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NoReturn

import pytest

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.errors import CcciError
from pytest_ccci.model.repro import Repro, tier_repro
from pytest_ccci.model.secrets import fingerprints, redact
from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import PREREQUISITES, SWARM_TIERS
from pytest_ccci.model.tiers import UPGRADE_TIER as UPGRADE
from pytest_ccci.model.verdict import (
    NOT_APPLICABLE,
    REPORT_ATTRIBUTE,
    Status,
    TierVerdict,
    classify_error,
    classify_skip,
    worse,
)
from pytest_ccci.model.versions import ALL_OLDER
from pytest_ccci.plugin.collection import TierItem, tier_item_key
from pytest_ccci.plugin.state import CcciContext
from pytest_ccci.run import overlap
from pytest_ccci.run.signals import signals_deferred

# An item's worst status over setup and call, for its JUnit properties (set on the teardown report).
item_status_key = pytest.StashKey[Status]()
# Set on an item by skip_not_applicable: its skip is a not-applicable (SKIP), not an unverified one.
not_applicable_key = pytest.StashKey[bool]()


def skip_not_applicable(item: pytest.Item, why: str) -> NoReturn:
    """Skip `item` as not applicable (structurally, or declared so): its verdict is SKIP. The
    reason shown starts with `n/a:`; the verdict is read off the item's flag, never that text."""
    item.stash[not_applicable_key] = True
    pytest.skip(f"{NOT_APPLICABLE} {why}")


class TierRunner:
    """The runtest hooks for tier items; other items pass through untouched."""

    def __init__(self, ctx: CcciContext):
        self.ctx = ctx
        self._upgrading: set[str] | None = None  # the recipes with an upgrade item to run here

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        tier_item = item.stash.get(tier_item_key, None)
        if tier_item is not None:
            self.skip_if_not_runnable(item, tier_item)
            if self.ctx.overlap and tier_item.tier in SWARM_TIERS and tier_item.tier != UPGRADE:
                self.start_upgrade(item.session, tier_item.recipe)

    def start_upgrade(self, session: pytest.Session, recipe: str) -> None:
        """The recipe's upgrade chain, in the background beside its install chain, when its
        upgrade item is to run (not deselected), from one base (--upgrade-from all keeps the
        serial order)."""
        if self.ctx.options.upgrade_from == ALL_OLDER or recipe not in self.upgrading(session):
            return
        lifecycle = self.ctx.lifecycle(recipe)
        if lifecycle.has_upgrade:  # started already (or run)
            return
        try:
            if lifecycle.not_applicable(UPGRADE):
                return
            choice = lifecycle.upgrade_base()
        except CcciError:
            return  # the upgrade tier meets the same error, and reports it
        if choice.release is not None:
            overlap.start_upgrade(lifecycle, choice.release)

    def upgrading(self, session: pytest.Session) -> set[str]:
        """The recipes whose upgrade item this session runs (-k, --deselect and --lf leave some out)."""
        if self._upgrading is None:
            tier_items = (item.stash.get(tier_item_key, None) for item in session.items)
            self._upgrading = {t.recipe for t in tier_items if t is not None and t.tier == UPGRADE}
        return self._upgrading

    def skip_if_not_runnable(self, item: pytest.Item, tier_item: TierItem) -> None:
        """Skip the tier when it must not run now: declared not applicable, or a prerequisite
        that did not pass (not applicable itself, or blocked)."""
        declared = self.ctx.lifecycle(tier_item.recipe).not_applicable(tier_item.tier)
        if declared:
            skip_not_applicable(item, f"{declared} (declared in ccci.yml)")
        for before in PREREQUISITES.get(tier_item.tier, ()):
            status = self.ctx.outcomes.get((tier_item.recipe, before))
            if before not in self.ctx.options.tiers or status in (None, Status.PASS):
                continue
            if status == Status.SKIP:
                # Restore is as inapplicable as the backup it needs (no backupbot labels: neither).
                skip_not_applicable(item, f"{before} is not applicable")
            pytest.skip(f"blocked: {before} {status.value}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        try:
            return (yield)
        finally:
            tier_item = item.stash.get(tier_item_key, None)
            following = nextitem.stash.get(tier_item_key, None) if nextitem is not None else None
            if tier_item is None:
                pass
            elif following is None or following.recipe != tier_item.recipe:
                # The recipe's last item: everything it deployed goes now, inside this item's
                # teardown, so a teardown problem is reported against the recipe that caused it.
                overlap.settle(self.ctx.lifecycle(tier_item.recipe))
            elif tier_item.tier != UPGRADE and following.tier == UPGRADE:
                # The install's tiers are done: its domain goes before the upgrade's tiers, in
                # the background when the upgrade lifecycle runs beside it.
                lifecycle = self.ctx.lifecycle(tier_item.recipe)
                if self.ctx.overlap:
                    overlap.close_in_background(lifecycle)
                else:
                    lifecycle.close()

    # Innermost wrapper: every other plugin's wrapper (pytest-html's, ours in html.py) sees the
    # verdict, and the report with its secrets masked.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        tier_item = item.stash.get(tier_item_key, None)
        if tier_item is None:
            return report
        status, reason = self.classify(item, report, call)
        if call.excinfo is not None and isinstance(call.excinfo.value, CcciError):
            # One clear line, no traceback: the message already names the cause.
            report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
        secrets = self.ctx.secret_values()
        mask_report(report, secrets)
        self.save_story(item, report, secrets)
        verdict = self.verdict(tier_item, status, redact(reason, secrets), secrets, ran=not report.skipped)
        setattr(report, REPORT_ATTRIBUTE, verdict.to_wire())
        self.record(item, report, verdict)
        return report

    def save_story(self, item: pytest.Item, report: pytest.TestReport, secrets: list[str]) -> None:
        """A tier that failed or was unverified (not skipped) in setup or call, with something
        deployed: its whole story saved now, before any teardown (lifecycle.save_story)."""
        tier_item = item.stash[tier_item_key]
        lifecycle = self.ctx.lifecycles.get(tier_item.recipe)
        if report.failed and report.when != "teardown" and lifecycle is not None:
            lifecycle.for_tier(tier_item.tier).save_story(item.nodeid, item.name, secrets)

    def classify(self, item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[Status, str]:
        if report.passed:
            return Status.PASS, ""
        if report.skipped:
            longrepr = report.longrepr
            text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            return classify_skip(text, item.stash.get(not_applicable_key, False))
        return classify_error(call.excinfo.value if call.excinfo else None, self.engine_reachable)

    def engine_reachable(self) -> bool:
        """Whether the engine answers. A process that never connected has no engine to lose: a
        failure there is the recipe's own (say, its app refusing connections)."""
        runtime = self.ctx.runtime
        return not runtime.connected or runtime.swarm.reachable()

    def verdict(
        self, tier_item: TierItem, status: Status, reason: str, secrets: list[str], ran: bool = True
    ) -> TierVerdict:
        """The report's verdict, with the lifecycle's record; a repro line when it failed, or
        could not be verified while it ran (not a skip: a blocked tier's cause is another tier's)."""
        lifecycle = self.ctx.lifecycles.get(tier_item.recipe)
        facts = lifecycle.recipe_record() if lifecycle else None
        return TierVerdict(
            recipe=tier_item.recipe,
            tier=tier_item.tier,
            status=status,
            reason=reason,
            facts=facts,
            fingerprints=tuple(fingerprints(secrets)),
            repro=self.repro(tier_item, facts) if status == Status.FAIL or (status == Status.UNVER and ran) else None,
        )

    def repro(self, tier_item: TierItem, facts: RecipeFacts | None) -> Repro:
        """The command that reruns this tier: at the head's full SHA once it was resolved (else
        the ref as given), from the upgrade base this verdict's upgrade started from."""
        base = facts.upgrade_base.version if facts and facts.upgrade_base else None
        ref = (facts.head_sha if facts else None) or self.ctx.options.ref
        return tier_repro(tier_item.recipe, tier_item.tier, ref, base, self.ctx.options.recipes_dir_given)

    def record(self, item: pytest.Item, report: pytest.TestReport, verdict: TierVerdict) -> None:
        """The verdict for prerequisites, and the item's JUnit properties."""
        if report.when != "teardown":
            key = (verdict.recipe, verdict.tier)
            self.ctx.outcomes[key] = worse(self.ctx.outcomes.get(key), verdict.status)
            item.stash[item_status_key] = worse(item.stash.get(item_status_key, None), verdict.status)
            return
        # JUnit XML reads properties off the teardown report (the levels come as suite properties).
        final = item.stash.get(item_status_key, Status.UNVER)
        facts = verdict.facts if isinstance(verdict.facts, RecipeFacts) else None
        artifacts = facts.stories.get(item.nodeid, []) if facts else []
        report.user_properties = [
            *report.user_properties,
            ("ccci.recipe", verdict.recipe),
            ("ccci.tier", verdict.tier),
            ("ccci.status", final.value),
            *(("ccci.artifact", artifact.path) for artifact in artifacts),  # the failed tier's story
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Interrupt and crash paths included: whatever is still deployed goes. A second Ctrl-C or
        a SIGTERM while tearing down must not leave the stacks up: signals wait until it is done."""
        with signals_deferred():
            secrets = self.ctx.secret_values()  # before the closes, which may forget them
            for lifecycle in list(self.ctx.lifecycles.values()):
                try:
                    overlap.stop_and_close(lifecycle)
                except Exception as exc:  # whatever one recipe's teardown raised, the others still go
                    said = redact(one_line(exc), secrets)
                    self.ctx.runtime.progress(f"teardown of {lifecycle.name} failed: {type(exc).__name__}: {said}")


def mask_report(report: pytest.TestReport, secrets: list[str]) -> None:
    """The one place a secret that reached a report (an app that logs its password, a hook
    that echoes it, an assertion that compares it) is masked, before anything prints or ships it."""
    if not secrets:
        return
    if report.longrepr is not None:
        text = str(report.longrepr)
        clean = redact(text, secrets)
        if clean != text:
            report.longrepr = clean
    report.sections = [(name, redact(content, secrets)) for name, content in report.sections]
