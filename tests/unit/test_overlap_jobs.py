"""Overlapping a recipe's lifecycles (run/overlap.py): when a process may, its background jobs,
the locks threads share (run/locks.py), the variant naming and the record the two make."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from offline_context import offline_context

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.documents.results import Artifact, DomainHold, KeptApp, Lock, UpgradeBase
from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.naming import UPGRADE_VARIANT, app_domain, compose_variant
from pytest_ccci.run import overlap
from pytest_ccci.run.lifecycle import RecipeLifecycle, _with_upgrade
from pytest_ccci.run.locks import DeployAdmission, process_lock, read_holder, release, try_acquire
from pytest_ccci.run.overlap import Background, overlaps

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("max_deploys", "workers", "expected"),
    [(2, 1, True), (1, 1, False), (2, 2, False), (4, 2, True), (3, 2, False)],
)
def test_a_process_overlaps_only_with_two_deploy_slots_of_its_own(max_deploys, workers, expected):
    assert overlaps(max_deploys, workers) is expected


def test_the_upgrade_variant_composes_with_a_reruns_and_never_shares_the_install_domain():
    assert compose_variant(UPGRADE_VARIANT, "") == "up"
    assert compose_variant(UPGRADE_VARIANT, "r2") == "upr2"
    install = app_domain("hello", SHA, "ccci.test")
    upgrade = app_domain("hello", SHA, "ccci.test", compose_variant(UPGRADE_VARIANT, ""))
    assert upgrade != install
    assert upgrade == install.replace(".ccci.test", "-up.ccci.test")


def test_a_background_job_hands_back_its_value_or_its_error():
    assert Background("adds", lambda: 1 + 1).result(timeout=5) == 2

    def fails() -> None:
        raise RecipeError("base did not deploy")

    with pytest.raises(RecipeError, match="base did not deploy"):
        Background("fails", fails).result(timeout=5)


def test_a_background_job_past_its_bound_is_an_infra_error():
    gate = threading.Event()
    job = Background("waits", gate.wait)
    with pytest.raises(InfraError, match="did not end within"):
        job.result(timeout=0.05)
    gate.set()
    assert job.wait(5) and job.thread.daemon


def test_two_threads_never_take_one_deploy_slot_and_either_may_release_it(tmp_path: Path):
    path = tmp_path / "deploy-slot-0.lock"
    got: list[object] = []
    start = threading.Barrier(8)

    def take() -> None:
        start.wait()
        got.append(try_acquire(path))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [lock for lock in got if lock is not None]
    assert len(taken) == 1, got
    # Released by another thread than the one that took it (a background teardown does that).
    releaser = threading.Thread(target=release, args=(taken[0],))
    releaser.start()
    releaser.join()
    assert not process_lock(path).is_locked
    assert try_acquire(path) is not None


def test_a_stopping_run_stops_waiting_for_a_deploy_slot(tmp_path: Path):
    admission = DeployAdmission(tmp_path, 1, memory_available=lambda: None, memory_total=lambda: None)
    held = admission.admit("run", "first", 0, timeout=5)
    try:
        with pytest.raises(InfraError, match="the run is stopping"):
            admission.admit("run", "second", 0, timeout=30, cancelled=lambda: True)
    finally:
        release(held)
    assert read_holder(Path(held.lock_file)) is None


def test_the_recipe_record_adds_the_upgrade_lifecycles_to_the_installs():
    install = RecipeFacts(
        domain="hell-abc123.ccci.test",
        lock=Lock(1.0, 5.0),
        durations={"deploy_chaos_x": 3.0, "teardown": 6.0},
        pulled={"a:1": 0.5},
        clean_teardown=True,
    )
    upgrade = RecipeFacts(
        domain="hell-abc123-up.ccci.test",
        lock=Lock(1.5, 9.0),
        durations={"upgrade_from_0.2.0_release_y": 2.5, "teardown": 5.5},
        pulled={"b:1": 0.25},
        clean_teardown=False,
        leftovers=["secret s"],
    )
    merged = _with_upgrade(install, upgrade, {})
    assert merged.domain == install.domain and merged.lock == install.lock  # the install's, as before
    assert merged.durations == {"deploy_chaos_x": 3.0, "upgrade_from_0.2.0_release_y": 2.5, "teardown": 11.5}
    assert merged.pulled == {"a:1": 0.5, "b:1": 0.25}
    assert merged.clean_teardown is False and merged.leftovers == ["secret s"]
    assert _with_upgrade(install, RecipeFacts(), {}).clean_teardown is True  # the upgrade's not known yet


def test_the_recipe_record_carries_each_lifecycles_stories_and_kept_app():
    story = {"t::test_upgrade[x]": [Artifact("log", "hello_app", "/runs/a/hello_app.log")]}
    kept = KeptApp("hell-abc123-up.ccci.test", "hell-abc123-up_ccci_test", "2026-12-06T23:00:00Z", "r", ["a_app"])
    upgrade = RecipeFacts(domain=kept.domain, stories=story, kept=kept)
    install = RecipeFacts(domain="hell-abc123.ccci.test", stories={"t::test_install": []})
    merged = _with_upgrade(install, upgrade, {})
    assert merged.stories == {**install.stories, **story}
    assert merged.kept == kept  # only the upgrade's was kept
    both = _with_upgrade(replace(install, kept=replace(kept, domain=install.domain)), upgrade, {})
    assert both.kept is not None and both.kept.domain == install.domain  # the install's, as before
    both.lifecycles = {
        "install": DomainHold(install.domain, kept=both.kept),
        "upgrade": DomainHold(kept.domain, kept=kept),
    }
    assert [app.domain for app in both.kept_apps()] == [install.domain, kept.domain]  # each once


def test_the_upgrade_tier_runs_on_the_upgrade_lifecycle_and_a_successor_goes_on_with_it(tmp_path: Path):
    ctx = offline_context(tmp_path, max_deploys=2)
    main = RecipeLifecycle(ctx, "hello")
    assert main.for_tier("upgrade") is main  # no upgrade lifecycle yet: nothing else to run on
    upgrade = main.upgrade_lifecycle()
    assert upgrade.variant == UPGRADE_VARIANT and upgrade.settings is main.settings
    assert main.for_tier("upgrade") is upgrade
    assert all(main.for_tier(tier) is main for tier in ("install", "backup", "restore", "functional"))
    main.first_deploy = 10.0
    main.facts.leftovers, main.facts.clean_teardown = ["network r2_default"], False  # a rerun's, recorded
    successor = main.successor()
    assert successor.for_tier("upgrade") is upgrade and successor.facts is main.facts
    assert successor.variant == main.variant == ""  # the same domain
    successor.close()  # nothing deployed: what the record says of earlier teardowns stays
    assert main.facts.clean_teardown is False and main.facts.leftovers == ["network r2_default"]
    assert successor.hold().first_deploy == 10.0


class FakeBackend:
    def __init__(self) -> None:
        self.removed: list[str] = []

    def teardown(self, app: str) -> list[str]:
        self.removed.append(app)
        return []


class FakeContext:
    def __init__(self) -> None:
        self.connected = True
        self.backend = FakeBackend()
        self.said: list[str] = []

    def progress(self, message: str) -> None:
        self.said.append(message)


class FakeLifecycle:
    """What settle(), close_now() and stop_and_close() use of a lifecycle."""

    def __init__(self, name: str, close_error: Exception | None = None, holds_lock: bool = False):
        self.name = name
        self.close_error = close_error
        self.closed = 0
        self.stopped: list[bool] = []
        self.holds_lock = holds_lock
        self.ctx = FakeContext()
        self.background: Background[object] | None = None
        self.snapshot: RecipeFacts | None = None
        self.upgrade: FakeLifecycle | None = None

    @property
    def has_upgrade(self) -> bool:
        return self.upgrade is not None

    def upgrade_lifecycle(self) -> FakeLifecycle:
        assert self.upgrade is not None
        return self.upgrade

    def app(self) -> str:
        return f"{self.name} app"

    def stop(self, with_upgrade: bool = True) -> None:
        self.stopped.append(with_upgrade)

    def close(self) -> None:
        self.closed += 1
        if self.close_error is not None:
            raise self.close_error


def test_settle_awaits_the_jobs_closes_both_lifecycles_and_raises_the_first_error():
    install = FakeLifecycle("hello")
    install.upgrade = FakeLifecycle("hello", close_error=InfraError("teardown of the upgrade left a network"))

    def background_teardown() -> None:
        raise InfraError("teardown of the install left a secret")

    install.background, install.snapshot = Background("teardown", background_teardown), RecipeFacts()
    with pytest.raises(InfraError, match="install left a secret"):
        overlap.settle(install, timeout=5)  # type: ignore[arg-type]  # a stand-in lifecycle
    assert install.closed == 1 and install.upgrade.closed == 1
    assert install.background is None and install.snapshot is None  # the facts are the main thread's again


def test_the_session_end_stops_the_recipe_before_closing_it():
    install = FakeLifecycle("hello")
    install.upgrade = FakeLifecycle("hello")
    overlap.stop_and_close(install, timeout=5)  # type: ignore[arg-type]  # a stand-in lifecycle
    assert install.stopped == [True] and install.closed == 1 and install.upgrade.closed == 1


def test_the_session_end_reports_a_close_never_a_stopped_jobs_own_error():
    install = FakeLifecycle("hello")
    install.upgrade = FakeLifecycle("hello")

    def stopped() -> None:
        raise InfraError("recipe hello: the run is stopping: upgrade_from_0.2.0 not started")

    install.upgrade.background = Background("upgrade", stopped, kind="upgrade")
    overlap.stop_and_close(install, timeout=5)  # type: ignore[arg-type]  # a stand-in lifecycle
    assert install.upgrade.closed == 1 and install.upgrade.background is None
    install.upgrade.close_error = InfraError("teardown left a network")
    install.upgrade.background = Background("teardown", lambda: None, kind="teardown")
    with pytest.raises(InfraError, match="left a network"):
        overlap.stop_and_close(install, timeout=5)  # type: ignore[arg-type]
    assert install.upgrade.ctx.backend.removed == []  # a teardown job is never removed beside


def test_a_record_taken_during_a_background_teardown_has_the_main_threads_upgrade_facts(tmp_path: Path):
    main = RecipeLifecycle(offline_context(tmp_path), "hello")
    main.facts.durations["deploy"] = 1.0
    main.snapshot = main.facts.copy()  # a teardown started in the background
    main.facts.durations["teardown"] = 2.0  # ... which goes on writing
    main.facts.upgrade_base = UpgradeBase("0.2.0+1", "the latest older release")  # the main thread's
    main.facts.upgrade_stamp = {"version": "0.2.0+1"}
    record = main.record()
    assert record.durations == {"deploy": 1.0}
    assert record.upgrade_base == main.facts.upgrade_base and record.upgrade_stamp == {"version": "0.2.0+1"}
    assert main.hold().lock is None and main.hold().first_deploy is None  # only the domain meanwhile


@pytest.mark.parametrize("holds_lock", [True, False])
def test_a_job_past_its_bound_has_its_stack_removed_only_under_its_lock_and_is_never_closed_under(holds_lock):
    """A chain still deploying past the bound: its stack goes (when the domain is its own: one
    still waiting for the lock has deployed nothing, and the stack there is another run's); it is
    never closed while it runs (that would free its lock under a deploy); it is closed once it ends."""
    upgrade = FakeLifecycle("hello", holds_lock=holds_lock)
    gate = threading.Event()
    upgrade.background = Background("upgrade", gate.wait, kind="upgrade")

    error = overlap.close_now(upgrade, timeout=0.05)  # type: ignore[arg-type]  # a stand-in lifecycle

    assert isinstance(error, InfraError) and "did not end within" in str(error)
    assert upgrade.stopped == [False], "only this lifecycle is stopped, never its upgrade"
    assert upgrade.ctx.backend.removed == (["hello app"] if holds_lock else [])
    assert upgrade.closed == 0 and upgrade.background is not None
    gate.set()
    assert overlap.close_now(upgrade, timeout=5) is None  # type: ignore[arg-type]
    assert upgrade.closed == 1 and upgrade.background is None


def test_awaiting_a_job_says_so_and_lets_its_lines_out():
    install = FakeLifecycle("hello")
    install.background = Background("upgrade of hello", lambda: time.sleep(0.3))
    assert overlap._await(install, install.background, None)  # type: ignore[arg-type]
    assert install.ctx.said == []  # within PROGRESS_EVERY_SECONDS: nothing to say
    slow = Background("upgrade of hello", threading.Event().wait)
    assert not overlap._await(install, slow, 0.1)  # type: ignore[arg-type]
