"""One recipe's lifecycle in one pytest process: checkout, lock, deployments, teardown.

Fixtures hand out its parts and tiers assert on them. Everything is computed once and cached,
errors included (a source that could not be fetched is not fetched again for every tier), and
`close()` undoes everything, whatever happened before.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from typing import TYPE_CHECKING

from pytest_ccci.model.app import App, SecretVault
from pytest_ccci.errors import CcciError, InfraError
from pytest_ccci.run.locks import DeployAdmission, acquire, app_lock_path, release
from pytest_ccci.run.repo import Checkout, RecipeRepo
from pytest_ccci.model.settings import SECRET_SHAPED, Settings, load_settings, resolve_source
from pytest_ccci.model.versions import Release, UpgradeBase, older_releases, upgrade_base

if TYPE_CHECKING:  # the engine (docker-py) is imported on first use, not by collection
    from pytest_ccci.run.backend import Deployment, SwarmBackend


@dataclass
class RunContext:
    """What every lifecycle of this process shares (one per pytest process, xdist worker included)."""

    recipes_dir: Path
    ref: str | None
    base_domain: str
    cache_dir: Path
    lock_dir: Path
    make_run_dir: Callable[[], Path]
    run_id: str
    lock_timeout: float
    max_deploys: int
    progress: Callable[[str], None]
    connect: Callable[[], Any]
    vault: SecretVault = field(default_factory=SecretVault)
    _backend: "SwarmBackend | None" = None
    _run_dir: Path | None = None

    @property
    def run_dir(self) -> Path:
        """This run's own directory (checkouts, deploy files): never shared with another run."""
        if self._run_dir is None:
            self._run_dir = self.make_run_dir()
        return self._run_dir

    @property
    def backend(self) -> "SwarmBackend":
        if self._backend is None:
            from pytest_ccci.run.backend import SwarmBackend

            self._backend = SwarmBackend(self.connect(), self.run_dir / "deploy", self.vault, self.progress, self.lock_dir)
        return self._backend

    @property
    def admission(self) -> DeployAdmission:
        return DeployAdmission(self.lock_dir, self.max_deploys)


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]


class _Once:
    """A cached computation that also caches its CcciError, so a failure is reported once per tier
    with the same words instead of being retried."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.done = False
        self.value: Any = None
        self.error: CcciError | None = None

    def __call__(self) -> Any:
        if not self.done:
            try:
                self.value = self.fn()
            except CcciError as exc:
                self.error = exc
            self.done = True
        if self.error is not None:
            raise self.error
        return self.value


@dataclass
class UpgradeRun:
    base: Release
    base_deployment: Deployment
    head_deployment: Deployment | None
    seeded: dict[str, bytes]  # container path → marker content written on the base


class RecipeLifecycle:
    def __init__(self, ctx: RunContext, name: str):
        self.ctx = ctx
        self.name = name
        self.facts: dict[str, Any] = {"recipe": name}
        self.settings: Callable[[], Settings] = _Once(self._load_settings)
        self.repo: Callable[[], RecipeRepo] = _Once(self._fetch)
        self.checkout: Callable[[], Checkout] = _Once(self._checkout)
        self.install: Callable[[], Deployment] = _Once(self._install)
        self._lock = None
        self._deployed: set[str] = set()  # stacks with something of ours on them
        self.leftovers: list[str] = []
        self.torn_down = False

    # -- recipe ------------------------------------------------------------------------------

    def _load_settings(self) -> Settings:
        settings = load_settings(self.ctx.recipes_dir / self.name)
        self.facts["settings"] = settings.shown()  # secret-shaped values masked
        return settings

    def _fetch(self) -> RecipeRepo:
        settings = self.settings()
        repo = RecipeRepo(self.name, resolve_source(settings), self.ctx.cache_dir)
        repo.fetch()
        return repo

    def _checkout(self) -> Checkout:
        repo = self.repo()
        sha = repo.resolve(self.ctx.ref)
        checkout = repo.checkout(sha, self.ctx.run_dir / "checkouts" / f"{self.name}-{sha[:8]}", self.ctx.ref)
        self.facts.update(ref=self.ctx.ref or "default branch", head_sha=checkout.head_sha, dirty=checkout.dirty)
        return checkout

    def app(self) -> App:
        return App.for_checkout(self.settings(), self.checkout().head_sha, self.ctx.base_domain, self.ctx.run_id)

    def secret_values(self) -> list[str]:
        """Values of the settings' secret-shaped env (once the settings loaded): secrets too."""
        loaded = self.settings.done and self.settings.error is None  # type: ignore[attr-defined]
        if not loaded:
            return []
        return [v for k, v in self.settings().env.items() if SECRET_SHAPED.search(k) and v]

    def not_applicable(self, tier: str) -> str | None:
        return self.settings().not_applicable.get(tier)

    # -- lock --------------------------------------------------------------------------------

    def hold_lock(self) -> None:
        """Taken before the first deploy of the app, held until close(): redeploys included."""
        if self._lock is None:
            app = self.app()
            path = app_lock_path(self.ctx.lock_dir, app.domain)
            self.facts["domain"] = app.domain
            self._lock = acquire(path, self.ctx.run_id, f"{self.name} lifecycle", self.ctx.lock_timeout, self.ctx.progress)
            self.facts["lock"] = {"acquired": time.time()}
            # Holding the lock, anything still on this domain belongs to no live run (a killed
            # worker's, say): a deploy must start from nothing, not on top of it.
            left = self.ctx.backend.teardown(app)
            if left:
                raise InfraError(f"recipe {self.name}: leftovers on {app.domain} could not be removed: {', '.join(left)}")

    # -- deployments -------------------------------------------------------------------------

    def _deploy(self, checkout: Checkout, mode: str) -> Deployment:
        self.torn_down = False
        self.hold_lock()
        app = self.app()
        estimate = (self.settings().memory_mb or 0) << 20

        def admit(declared: int) -> Callable[[], None]:
            # What compose declares, or the settings' estimate where it declares less (or nothing).
            slot = self.ctx.admission.admit(
                self.ctx.run_id, f"{app.stack} ({mode})", max(declared, estimate), self.ctx.lock_timeout, self.ctx.progress
            )
            return lambda: release(slot)

        self._deployed.add(app.stack)
        deployment = self.ctx.backend.deploy(app, checkout, mode, admit=admit)
        self.facts.setdefault("durations", {})[f"deploy_{mode}_{checkout.head_sha[:8]}"] = round(deployment.deploy_seconds, 2)
        return deployment

    def _install(self) -> Deployment:
        deployment = self._deploy(self.checkout(), "chaos")
        self.facts["install"] = {"converged": deployment.convergence.ok, "reason": deployment.convergence.reason}
        return deployment

    def teardown_deployments(self) -> None:
        """Remove every stack this lifecycle deployed (the lock stays held)."""
        if self._deployed:
            start = time.monotonic()
            self.leftovers = self.ctx.backend.teardown(self.app())
            took = self.facts.setdefault("durations", {})
            took["teardown"] = round(took.get("teardown", 0.0) + time.monotonic() - start, 2)
            if not self.leftovers:
                self._deployed.clear()

    def upgrade_base(self) -> UpgradeBase:
        checkout = self.checkout()
        base = upgrade_base(checkout.head_sha, checkout.ancestor_releases, self.settings().upgrade_from)
        self.facts["upgrade_base"] = {"version": base.release.tag if base.release else None, "how": base.how}
        return base

    def upgrade_bases(self) -> list[Release]:
        checkout = self.checkout()
        return older_releases(checkout.head_sha, checkout.ancestor_releases)

    def upgrade(self, base: Release, seed: Callable[[Deployment], dict[str, bytes]]) -> UpgradeRun:
        """Its own lifecycle on the app domain: whatever the install tier left is removed first,
        then the base release, seeded, then the head redeployed in place in chaos mode."""
        self.hold_lock()
        self.teardown_deployments()
        if self.leftovers:
            raise InfraError(
                f"recipe {self.name}: the install could not be torn down before the upgrade, left: {', '.join(self.leftovers)}"
            )
        repo = self.repo()
        head = self.checkout()
        base_checkout = repo.checkout(base.sha, self.ctx.run_dir / "checkouts" / f"{self.name}-{base.tag}", base.tag)
        base_dep = self._deploy(base_checkout, "release")
        run = UpgradeRun(base, base_dep, None, {})
        if not base_dep.convergence.ok:
            return run
        run.seeded = seed(base_dep)
        run.head_deployment = self._deploy(head, "chaos")
        return run

    # -- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        """Tear down everything deployed and release the lock; safe to call more than once."""
        if self.torn_down and not self._deployed and self._lock is None:
            return
        try:
            if self._deployed:
                self.teardown_deployments()
            self.torn_down = True
        except BaseException:
            self.facts["clean_teardown"] = False
            raise
        finally:
            # The lock goes even when teardown failed: the next holder (or the janitor) reaps
            # what is left on the domain before deploying anything there.
            if self._lock is not None:
                release(self._lock)
                self._lock = None
                self.facts["lock"]["released"] = time.time()
        self.facts["clean_teardown"] = not self.leftovers
        if self.leftovers:
            self.facts["leftovers"] = self.leftovers


def secret_fingerprints(values: list[str]) -> list[tuple[int, str]]:
    """(length, sha256) of each secret, in each form it may take in an artifact (as is, HTML
    and XML escaped): enough to find a leak in an artifact, useless to a reader."""
    from pytest_ccci.model.app import secret_forms

    forms = {f for v in values if v for f in secret_forms(v)}
    return sorted({(len(f), hashlib.sha256(f.encode()).hexdigest()) for f in forms})

