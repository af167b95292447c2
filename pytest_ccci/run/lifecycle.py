"""One recipe's lifecycle in one pytest process: checkout, lock, deployments, data proofs, teardown.

Fixtures hand out its parts and tiers assert on them. Everything is computed once and cached,
errors included (a source that could not be fetched is not fetched again for every tier), and
`close()` undoes everything, whatever happened before. Taking the app lock and tearing down
are critical sections: a SIGINT/SIGTERM landing in one takes effect when it ends.

What it learns on the way goes into `facts`, a typed record (documents/facts.py's RecipeFacts)
that each tier report carries to the controller's results.json (`recipe_record()`).

The upgrade is a lifecycle of its own (`upgrade_lifecycle()`): its own app domain (variant
`up`), lock, stacks, teardown and facts, sharing the recipe's settings, checkouts and views with
the install's. It may run in a background thread (run/overlap.py) beside the install chain, so
everything shared is computed before it starts or built under one lock, a lifecycle's lock is
the process's (run/locks.py), and `stop()` makes a lifecycle start no more deploys or waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from filelock import FileLock

from pytest_ccci.documents import results as document
from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.documents.history import last_green_release
from pytest_ccci.errors import CcciError, InfraError, RecipeError, UsageError
from pytest_ccci.model import routes, stops
from pytest_ccci.model.app import App, DeployMode
from pytest_ccci.model.compose import memory_limits, resource_bounds
from pytest_ccci.model.idempotence import replaced_tasks
from pytest_ccci.model.naming import UPGRADE_VARIANT, compose_variant, service_name
from pytest_ccci.model.policy import DeployPolicy
from pytest_ccci.model.secrets import SECRET_SHAPED, url_password
from pytest_ccci.model.settings import Settings, load_settings, resolve_source
from pytest_ccci.model.tiers import UPGRADE_TIER
from pytest_ccci.model.versions import LAST_GREEN, Release, UpgradeBase, older_releases, upgrade_base
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run import keep, proofs, story
from pytest_ccci.run.context import RunContext
from pytest_ccci.run.locks import acquire, app_lock_path, process_lock, release
from pytest_ccci.run.proofs import RestoreRun, Seeded
from pytest_ccci.run.repo import Checkout, RecipeRepo
from pytest_ccci.run.signals import signals_deferred
from pytest_ccci.run.view import build_view

if TYPE_CHECKING:  # the engine (docker-py) is imported on first use, not by collection
    from pytest_ccci.run.data import BackupArchive
    from pytest_ccci.run.deploy import Deployment
    from pytest_ccci.run.overlap import Background

T = TypeVar("T")


class _Once(Generic[T]):
    """A cached computation that also caches its CcciError, so a failure is reported once per tier
    with the same words instead of being retried."""

    def __init__(self, fn: Callable[[], T]):
        self.fn = fn
        self.done = False
        self.value: T | None = None
        self.error: CcciError | None = None

    @property
    def succeeded(self) -> bool:
        return self.done and self.error is None

    def __call__(self) -> T:
        if not self.done:
            try:
                self.value = self.fn()
            except CcciError as exc:
                self.error = exc
            self.done = True
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set whenever there is no error


@dataclass
class UpgradeRun:
    base: Release
    base_deployment: Deployment
    head_deployment: Deployment | None
    seeded: Seeded  # written on the base, to be found again on the head


def backup_facts(archive: BackupArchive) -> document.Backup:
    """A backup as results.json names it: the file on disk, its manifest, what it holds."""
    return document.Backup(
        file=str(archive.file),
        manifest=str(archive.manifest_file),
        bytes=archive.size,
        paths=[f"{s}:{p}" for s, p in archive.paths],
    )


class RecipeLifecycle:
    def __init__(self, ctx: RunContext, name: str, variant: str = "", shares: RecipeLifecycle | None = None):
        self.ctx = ctx
        self.name = name
        self.variant = variant  # naming.app_domain's: "" for the recipe's first lifecycle
        self.facts = RecipeFacts()  # what results.json records of this lifecycle, as it is learnt
        # `shares`: the install lifecycle whose settings, checkouts and views the upgrade's reads.
        self._owner = shares
        self.settings: _Once[Settings] = shares.settings if shares else _Once(self._load_settings)
        self.repo: _Once[RecipeRepo] = shares.repo if shares else _Once(self._fetch)
        self.checkout: _Once[Checkout] = shares.checkout if shares else _Once(self._checkout)
        self.install: _Once[Deployment] = _Once(self._install)
        self._lock: FileLock | None = None
        self._deployed: set[str] = set()  # stacks with something of ours on them
        self.leftovers: list[str] = []
        self.stops: dict[str, stops.StopRecord] = {}  # each service's worst stop over the teardowns
        self.torn_down = False
        self._policy = DeployPolicy()  # the recipe's, set with its settings
        # By checkout directory and domain: the head's, each base's; built (and base checkouts made) under
        # `_files`, as the upgrade's thread may need one while the install's builds another.
        self._views: dict[str, RecipeView] = shares._views if shares else {}
        self._files: threading.RLock = shares._files if shares else threading.RLock()
        self._upgrade: RecipeLifecycle | None = None
        self._stopping = threading.Event()  # set by stop(): no deploy, lock or slot wait starts
        self._closing = threading.Lock()  # one close at a time (the background's, the session's)
        self.first_deploy: float | None = None  # when the first deploy on the domain started
        self.torn_down_at: float | None = None  # when the last teardown of the domain ended
        self.snapshot: RecipeFacts | None = None  # set while work of its own runs in the background
        self.background: Background[Any] | None = None  # that work (run/overlap.py)
        self.upgrade_started: str | None = None  # the base a background upgrade chain started from
        self.failed = False  # a tier failed (or was unverified) with something deployed: --ccci-keep-failed keeps it
        self.last_deployment: Deployment | None = None

    # -- recipe ------------------------------------------------------------------------------

    def _load_settings(self) -> Settings:
        from pytest_ccci.run.deploy import recipe_policy

        settings = load_settings(self.ctx.options.recipes_dir / self.name)
        self.facts.settings = document.Settings.from_wire(settings.shown())  # secret-shaped values masked
        self._policy = recipe_policy(self.ctx.options.runner, settings)  # built once: every deploy is handed it
        self.facts.policy = document.Policy.from_wire(self._policy.shown())
        return settings

    def policy(self) -> DeployPolicy:
        """The deploy policy of this recipe (model/policy.py): ccci.yml's allowances and the ini's."""
        self.settings()
        return (self._owner or self)._policy

    def _fetch(self) -> RecipeRepo:
        settings = self.settings()
        repo = RecipeRepo(self.name, resolve_source(settings), self.ctx.mirrors_dir)
        repo.fetch()
        return repo

    def _checkout(self) -> Checkout:
        repo = self.repo()
        sha = repo.resolve(self.ctx.options.ref)
        checkout = repo.checkout(sha, self.ctx.run_dir / "checkouts" / f"{self.name}-{sha[:8]}", self.ctx.options.ref)
        self._record_checkout(checkout)
        return checkout

    def _record_checkout(self, checkout: Checkout) -> None:
        self.facts.ref = self.ctx.options.ref or "default branch"
        self.facts.head_sha, self.facts.dirty = checkout.head_sha, checkout.dirty
        self.facts.head_release = checkout.release_on_head.tag if checkout.release_on_head else None

    def view(self, checkout: Checkout) -> RecipeView:
        """The checkout resolved for this enrollment (run/view.py), once: lint, the policy and
        every deploy of it read this one view."""
        # A view holds its app's domain, stack and secret names: each lifecycle resolves its own.
        key = f"{checkout.path}@{self.app().domain}"
        with self._files:
            if key not in self._views:
                dest = self.ctx.run_dir / "views" / (checkout.path.name + (f"-{self.variant}" if self.variant else ""))
                self._views[key] = build_view(checkout, self.app(), dest, self.policy())
                if checkout.path == self.checkout().path:
                    self.facts.compose_files = list(self._views[key].compose_files)
            return self._views[key]

    def base_checkout(self, base: Release) -> Checkout:
        """A private checkout of the upgrade base release (one per base, like the head's)."""
        with self._files:
            dest = self.ctx.run_dir / "checkouts" / f"{self.name}-{base.tag}"
            return self.repo().checkout(base.sha, dest, base.tag)

    def reread_view(self, checkout: Checkout) -> RecipeView:
        """The checkout resolved again, in a directory of its own (the first view stays as it is)."""
        dest = (
            self.ctx.run_dir / "views" / (checkout.path.name + (f"-{self.variant}" if self.variant else "") + "-reread")
        )
        return build_view(checkout, self.app(), dest, self.policy())

    def app(self) -> App:
        return App.for_checkout(
            self.settings(), self.checkout().head_sha, self.ctx.options.base_domain, self.ctx.run_id, self.variant
        )

    def secret_values(self) -> list[str]:
        """Values of the settings' secret-shaped env and the source URL's password (once the
        settings loaded): secrets too."""
        if not self.settings.succeeded:
            return []
        settings = self.settings()
        return [*(v for k, v in settings.env.items() if SECRET_SHAPED.search(k) and v), *url_password(settings.source)]

    def not_applicable(self, tier: str) -> str | None:
        return self.settings().not_applicable.get(tier)

    # -- lock --------------------------------------------------------------------------------

    def hold_lock(self) -> None:
        """Taken before the first deploy of the app, held until close(): redeploys included."""
        if self._lock is None:
            app = self.app()
            path = app_lock_path(self.ctx.lock_dir, app.domain)
            self.facts.domain = app.domain
            # Once taken, the lock is ours with its holder file written and recorded here, or
            # an interrupt would leave it held, nameless, and never released by close(). While
            # it is still awaited (up to the lock timeout), a signal stops the wait at once.
            with signals_deferred(only_while=lambda: process_lock(path).is_locked):
                self._lock = acquire(
                    path,
                    self.ctx.run_id,
                    f"{self.name} lifecycle",
                    self.ctx.options.lock_timeout,
                    self.ctx.progress,
                    cancelled=self._stopping.is_set,
                )
                self.facts.lock = document.Lock(acquired=time.time())
            # Holding the lock, anything still on this domain belongs to no live run (a killed
            # worker's, say): a deploy must start from nothing, not on top of it.
            left = self.ctx.backend.teardown(app)
            if left:
                raise InfraError(
                    f"recipe {self.name}: leftovers on {app.domain} could not be removed: {', '.join(left)}"
                )

    # -- deployments -------------------------------------------------------------------------

    def _deploy(self, checkout: Checkout, mode: DeployMode, what: str = "deploy", reread: bool = False) -> Deployment:
        """Deploy `checkout` from its view; `reread`: from a view built afresh, as an operator's
        second `abra app deploy` reads the recipe (and any file an allowance lets it read) again."""
        if self._stopping.is_set():
            raise InfraError(f"recipe {self.name}: the run is stopping: {what} not started")
        self.torn_down = False
        self.hold_lock()
        self.first_deploy = self.first_deploy or time.time()
        app = self.app()
        estimate = (self.settings().memory_mb or 0) << 20

        def admit(declared: int) -> Callable[[], None]:
            # What compose declares, or the settings' estimate where it declares less (or nothing).
            slot = self.ctx.admission.admit(
                self.ctx.run_id,
                f"{app.stack} ({mode.value})",
                max(declared, estimate),
                self.ctx.options.lock_timeout,
                self.ctx.progress,
                cancelled=self._stopping.is_set,
            )
            return lambda: release(slot)

        self._deployed.add(app.stack)
        view = self.reread_view(checkout) if reread else self.view(checkout)
        # facts.pulled gets each pull as it completes, a failed deploy's too
        deployment = self.ctx.backend.deploy(
            app, checkout, mode, admit=admit, policy=self.policy(), pulled=self.facts.pulled, view=view
        )
        self.last_deployment = deployment  # a failed tier's story reads the specs of its update
        self.facts.endpoint_note = deployment.endpoint_note
        self.facts.deploy_deadline = document.DeployDeadline.from_wire(deployment.deadline.shown())
        self._record_bounds(deployment)
        self.facts.durations[f"{what}_{mode.value}_{checkout.head_sha[:8]}"] = round(deployment.deploy_seconds, 2)
        return deployment

    def _record_bounds(self, deployment: Deployment) -> None:
        """What each service got, beside the policy: pids, cpus and the stop grace as deployed (the
        policy's bounds applied), and its memory limit where the host bounds memory."""
        policy = self.facts.policy or document.Policy()
        bounds = {name: document.ServiceBounds.from_wire(b) for name, b in resource_bounds(deployment.config).items()}
        limits = policy.memory_limits
        if self.policy().memory_limit_mib:
            limits = {**(limits or {}), **memory_limits(deployment.config)}
        self.facts.policy = replace(policy, memory_limits=limits, bounds={**(policy.bounds or {}), **bounds})

    def _install(self) -> Deployment:
        return self._deploy(self.checkout(), DeployMode.CHAOS)

    def route_problems(self, deployment: Deployment) -> list[str]:
        """Install's route check (model/routes.py) on the labels the swarm has on the probed
        service: [] when traefik would serve the app, or the recipe declares it is not behind it."""
        settings = deployment.app.settings
        if not settings.route.check:
            return []
        service = settings.health.service
        labels = self.ctx.backend.swarm.service_labels(service_name(deployment.app.stack, service))
        answered = settings.health.probe_port(deployment.config)
        problems = routes.route_problems(labels, deployment.app.domain, answered)
        off_proxy = routes.proxy_problem(deployment.config, service, settings.route.network)
        return problems + ([off_proxy] if off_proxy else [])

    def picture(self, deployment: Deployment) -> None:
        """Install's picture of the app's front page, kept as run_dir/pictures/<stack>.png and
        recorded (facts.picture, absolute). A picture that cannot be taken is said, never a verdict."""
        app, health = deployment.app, deployment.app.settings.health
        dest = self.ctx.run_dir / "pictures" / f"{app.stack}.png"
        port = health.probe_port(deployment.config)
        try:
            png = self.ctx.backend.swarm.picture(
                app.stack, health.service, app.domain, port, "/", dest, self.ctx.progress
            )
        except InfraError as exc:
            self.ctx.progress(f"no picture of {app.domain}: {exc}")
            return
        if png is not None:
            self.facts.picture = str(png.absolute())

    def redeploy(self, deployment: Deployment) -> tuple[Deployment, list[str]]:
        """The same head deployed again, as an operator re-running `abra app deploy` does:
        (the redeploy, one line per service whose tasks it replaced)."""
        try:
            again = self._deploy(deployment.checkout, deployment.mode, what="redeploy", reread=True)
        except RecipeError as exc:
            raise RecipeError(f"idempotence: redeploying the same head failed: {exc}") from None
        if not again.convergence.ok:
            return again, []
        # The stack as the redeploy found it, against what runs once it converged.
        return again, replaced_tasks(again.before, self.ctx.backend.swarm.snapshot(deployment.app.stack))

    def teardown_deployments(self) -> None:
        """Remove every stack this lifecycle deployed (the lock stays held), recording how each
        service's tasks ended (install's, then the upgrade's: each service's worst kept)."""
        if self._deployed:
            start = time.monotonic()
            self.leftovers = self.ctx.backend.teardown(self.app(), stopped=self._record_stops)
            took = self.facts.durations
            took["teardown"] = round(took.get("teardown", 0.0) + time.monotonic() - start, 2)
            self.torn_down_at = time.time()
            if not self.leftovers:
                self._deployed.clear()

    def _record_stops(self, measured: dict[str, stops.StopRecord]) -> None:
        self.stops = stops.merge(self.stops, measured)
        self.facts.stops = {name: document.Stop.from_wire(r.to_json()) for name, r in self.stops.items()}

    def upgrade_base(self, tag: str | None = None) -> UpgradeBase:
        """The release the upgrade starts from, recorded: release `tag` when --upgrade-from all
        parametrized the tier with it, else the settings' choice (or why there is none)."""
        if tag is not None:
            return self._record_upgrade_base(self._upgrade_base_of_tag(tag), run=True)
        checkout = self.checkout()
        # A run-wide --upgrade-from last-green wins over the recipe's own upgrade_from.
        override = LAST_GREEN if self.ctx.options.upgrade_from == LAST_GREEN else self.settings().upgrade_from
        if override == LAST_GREEN:
            last_green, no_green = self._last_green()
            base = upgrade_base(
                checkout.head_sha, checkout.ancestor_releases, override, last_green, no_green, checkout.tags
            )
        else:
            base = upgrade_base(checkout.head_sha, checkout.ancestor_releases, override, tags=checkout.tags)
        return self._record_upgrade_base(base)

    def _upgrade_base_of_tag(self, tag: str) -> UpgradeBase:
        release = next((r for r in self.upgrade_bases() if r.tag == tag), None)
        if release is None:
            raise RecipeError(f"recipe {self.name}: release {tag} is gone since collection")
        return UpgradeBase(release, "--upgrade-from all")

    def _record_upgrade_base(self, base: UpgradeBase, run: bool = False) -> UpgradeBase:
        """The one place the upgrade base is recorded (`run`: one of --upgrade-from all's runs)."""
        self.facts.upgrade_base = document.UpgradeBase(base.release.tag if base.release else None, base.how)
        if run and base.release is not None:
            self.facts.upgrade_runs.append(base.release.tag)
        return base

    def _last_green(self) -> tuple[str | None, str]:
        """(the recipe's last green release in the run's history, why there is none)."""
        if self.ctx.options.history_dir is None:
            return None, "no history to read: set --ccci-history or ini ccci_history_dir"
        try:
            return last_green_release(self.ctx.options.history_dir, self.name), "the history has no green release"
        except UsageError as exc:  # a history file that cannot be read: the runner's trouble
            raise InfraError(f"recipe {self.name}: upgrade_from last-green: {exc}") from None

    def upgrade_bases(self) -> list[Release]:
        checkout = self.checkout()
        return older_releases(checkout.head_sha, checkout.ancestor_releases)

    @property
    def has_upgrade(self) -> bool:
        """Whether the upgrade lifecycle was made (it deployed, or was about to)."""
        return self._upgrade is not None

    def upgrade_lifecycle(self) -> RecipeLifecycle:
        """The recipe's upgrade lifecycle: a domain of its own (variant `up`, composed with this
        lifecycle's), its own lock, stacks, teardown and facts; the settings, checkouts and views
        are this one's. Never the install's domain: the two may run at once."""
        if self._upgrade is None:
            variant = compose_variant(UPGRADE_VARIANT, self.variant)
            self._upgrade = RecipeLifecycle(self.ctx, self.name, variant, shares=self)
        return self._upgrade

    def for_tier(self, tier: str) -> RecipeLifecycle:
        """The lifecycle `tier` runs on: the upgrade lifecycle for the upgrade tier (once made),
        this one for every other tier."""
        return self._upgrade if tier == UPGRADE_TIER and self._upgrade is not None else self

    def fresh(self, variant: str = "") -> RecipeLifecycle:
        """A lifecycle of this recipe on the domain `variant` names (a rerun's: `r2`...), sharing
        this one's fetched mirror and, once made, its checkout of the head (the same commit's
        files: checking out again would rewrite the directory an upgrade chain in the background
        reads). Each lifecycle resolves its own views (they hold its domain)."""
        fresh = RecipeLifecycle(self.ctx, self.name, variant=variant)
        if self.repo.succeeded:
            fresh.repo = self.repo
        if self.checkout.succeeded:
            fresh.checkout = self.checkout
            fresh._record_checkout(self.checkout())
        return fresh

    def successor(self) -> RecipeLifecycle:
        """A fresh lifecycle on this one's domain that goes on with its record (a rerun's
        successor, for the recipe's next items): its facts, its hold's first deploy and last
        teardown, and its upgrade lifecycle (the chain started beside a failed install-side tier
        is still the recipe's), and each service's worst stop so far. Its lock is its own: the
        record's `lock` becomes its interval once it deploys."""
        fresh = self.fresh()
        fresh.facts = self.facts
        fresh.first_deploy, fresh.torn_down_at = self.first_deploy, self.torn_down_at
        fresh.stops = dict(self.stops)  # each service's worst stop goes on over both lifecycles' teardowns
        fresh._upgrade = self._upgrade
        return fresh

    def upgrade(self, base: Release) -> UpgradeRun:
        """On the upgrade lifecycle's own domain: the previous base's upgrade, if any (--upgrade-from
        all), is removed first, then the base release deployed, seeded, then the head redeployed in
        place in chaos mode."""
        self.hold_lock()
        self.teardown_deployments()
        if self.leftovers:
            left = ", ".join(self.leftovers)
            raise InfraError(f"recipe {self.name}: the previous upgrade could not be torn down, left: {left}")
        head = self.checkout()
        base_checkout = self.base_checkout(base)
        # Keyed by the base in results.json's deploy_durations: one upgrade per base (--upgrade-from
        # all) deploys the same head each time, as install did.
        base_dep = self._deploy(base_checkout, DeployMode.RELEASE, what=f"upgrade_from_{base.tag}")
        run = UpgradeRun(base, base_dep, None, Seeded(self.settings().seed.service))
        if not base_dep.convergence.ok:
            return run
        run.seeded = self.seed(base_dep)
        run.head_deployment = self._deploy(head, DeployMode.CHAOS, what=f"upgrade_from_{base.tag}")
        return run

    # -- data proofs -------------------------------------------------------------------------

    def seed(self, deployment: Deployment) -> Seeded:
        """Known data to find again, the settings' way (proofs.py): by command, or marker files."""
        return proofs.seed(self.ctx.backend, deployment, self.settings().seed)

    def backup(self, deployment: Deployment) -> BackupArchive:
        """A backup of the deployment, taken the way backupbot would (hooks included)."""
        archive = self.ctx.backend.backup(deployment, self.ctx.run_dir / "backups")
        self.facts.backup = backup_facts(archive)
        return archive

    def restore(self, deployment: Deployment) -> RestoreRun:
        """Seed known data, back it up, damage it, restore it: the restore tier judges the result."""
        seeded = self.seed(deployment)
        if not seeded.files and not seeded.marker:
            raise proofs.Unprovable(proofs.unprovable_reason(deployment, self.settings().seed))
        run = proofs.restore_after_damage(self.ctx.backend, deployment, seeded, self.ctx.run_dir / "backups")
        self.facts.restore = backup_facts(run.archive) if run.archive else None
        return run

    def diagnostics(self) -> list[str]:
        """What the swarm says of the app, for a failed tier's report: nothing when this process
        never connected, or the recipe never got as far as a checkout (nothing was deployed)."""
        if not self.ctx.connected or not self.checkout.succeeded:
            return []
        return self.ctx.backend.diagnostics(self.app().stack)

    # -- the record --------------------------------------------------------------------------

    def hold(self) -> document.DomainHold:
        """This lifecycle's hold on its domain, as results.json's `lifecycles` records it; while
        work of its own runs in the background, only the domain (the rest is being written)."""
        if self.snapshot is not None:
            return document.DomainHold(self.snapshot.domain)
        return document.DomainHold(
            domain=self.facts.domain,
            lock=self.facts.lock,
            first_deploy=self.first_deploy,
            torn_down=self.torn_down_at,
            clean_teardown=self.facts.clean_teardown,
            leftovers=list(self.facts.leftovers),
            kept=self.facts.kept,
        )

    def record(self) -> RecipeFacts:
        """A copy of this lifecycle's facts, sharing nothing; while work of its own runs in the
        background (which goes on writing them), the copy made when that work started, with what
        only the main thread writes (the upgrade's base, runs and stamp) as it stands now."""
        if self.snapshot is None:
            return self.facts.copy()
        record = self.snapshot.copy()
        live = self.facts
        record.upgrade_base, record.upgrade_runs = live.upgrade_base, list(live.upgrade_runs)
        record.upgrade_stamp = dict(live.upgrade_stamp) if live.upgrade_stamp is not None else None
        return record

    def recipe_record(self) -> RecipeFacts:
        """What a tier report carries of the recipe: this (the install) lifecycle's record, the
        upgrade lifecycle's merged in, and each one's hold on its domain under `lifecycles`."""
        merged = self.record()
        holds = {"install": self.hold()} if self.facts.domain else {}
        upgrade = self._upgrade
        if upgrade is not None and upgrade.facts.domain:
            # Copies: a background teardown may be adding to either while this reads them.
            merged = _with_upgrade(merged, upgrade.record(), stops.merge(dict(self.stops), dict(upgrade.stops)))
            # `domain` names the recipe's domain at this ref (the install's) once anything was
            # deployed, the upgrade's beside it, as when both shared one.
            merged.domain = merged.domain or self.app().domain
            holds["upgrade"] = upgrade.hold()
        merged.lifecycles = holds
        return merged

    # -- a failed tier ---------------------------------------------------------------------------

    def save_story(self, nodeid: str, item: str, secrets: list[str]) -> None:
        """A failed or unverified tier's story, before any teardown (run/story.py), recorded as
        facts.stories[nodeid]; masked with `secrets`. Nothing when nothing is deployed. A story
        that cannot be read is said, never a verdict."""
        if not self._deployed or not self.ctx.connected:
            return
        self.failed = True
        try:
            root = self.ctx.run_dir / "artifacts"
            saved = story.save_story(self.ctx.swarm, self._deployed, root, item, secrets, self.last_deployment)
        except (InfraError, OSError) as exc:
            self.ctx.progress(f"no story of {self.name} {item}: {type(exc).__name__}: {exc}")
            return
        self.facts.stories[nodeid] = saved

    def keeps(self) -> bool:
        """Whether close() leaves the app deployed: --ccci-keep-failed, a tier failed, something is up."""
        return self.ctx.options.keep_failed_hours is not None and self.failed and bool(self._deployed)

    def _keep(self) -> bool:
        """Leave the app deployed, its domain held by a marker until the deadline (run/keep.py),
        and free the lock: the marker holds the domain from now on. False (said) when the marker
        cannot be written: the app is torn down as usual, never left up unheld."""
        assert self.ctx.options.keep_failed_hours is not None  # keeps() said so
        try:
            self.facts.kept = keep.keep_app(self.ctx, self.app(), self._deployed, self.ctx.options.keep_failed_hours)
        except Exception as exc:  # whatever failed, the app is torn down as usual, never left up unheld
            self.ctx.progress(f"{self.name} not kept: its marker could not be written: {type(exc).__name__}: {exc}")
            return False
        self._deployed.clear()
        self.torn_down = True
        self._release_lock()
        return True

    # -- the end -----------------------------------------------------------------------------

    def stop(self, with_upgrade: bool = True) -> None:
        """No deploy, lock or slot wait starts from now on on this lifecycle (and, `with_upgrade`,
        on its upgrade lifecycle: the run is stopping). Whatever runs is not interrupted; close()
        removes what it deployed."""
        self._stopping.set()
        if with_upgrade and self._upgrade is not None:
            self._upgrade.stop()

    @property
    def holds_lock(self) -> bool:
        """Whether this lifecycle holds its domain's lock: whatever is on the domain is its own."""
        return self._lock is not None

    def close(self) -> None:
        """Tear down everything deployed and release the lock; safe to call more than once, and
        from any thread (one close at a time). In the main thread an interrupt arriving meanwhile
        takes effect once the stacks are gone and the lock free."""
        with self._closing:
            if self.torn_down and not self._deployed and self._lock is None:
                return
            with signals_deferred():
                self._close()

    def _close(self) -> None:
        if self.keeps() and self._keep():
            return
        try:
            if self._deployed:
                self.teardown_deployments()
            self.torn_down = True
        except BaseException:
            self.facts.clean_teardown = False
            raise
        finally:
            # The lock goes even when teardown failed: the next holder (or the janitor) reaps
            # what is left on the domain before deploying anything there.
            self._release_lock()
        # Every teardown of the record counts: a rerun's successor goes on with the main run's
        # record, and must not clear what the main run's (or a rerun's) teardown left.
        self.facts.clean_teardown = self.facts.clean_teardown is not False and not self.leftovers
        self.facts.leftovers += [name for name in self.leftovers if name not in self.facts.leftovers]

    def _release_lock(self) -> None:
        if self._lock is not None:
            release(self._lock)
            self._lock = None
            if self.facts.lock is not None:
                self.facts.lock = replace(self.facts.lock, released=time.time())


def _with_upgrade(install: RecipeFacts, upgrade: RecipeFacts, merged_stops: dict[str, stops.StopRecord]) -> RecipeFacts:
    """The recipe's record: the install lifecycle's facts with the upgrade lifecycle's added
    (its pulls, deploy durations and teardown seconds, the bounds its services got, how they
    stopped, what its teardown left, its failed tiers' stories). `domain`, `lock` and `kept` stay
    the install's (the upgrade's when only it was kept)."""
    took = {**install.durations, **upgrade.durations}
    if "teardown" in install.durations and "teardown" in upgrade.durations:
        took["teardown"] = round(install.durations["teardown"] + upgrade.durations["teardown"], 2)
    cleans = [c for c in (install.clean_teardown, upgrade.clean_teardown) if c is not None]
    policy = install.policy
    if policy is not None and upgrade.policy is not None:
        limits = {**(policy.memory_limits or {}), **(upgrade.policy.memory_limits or {})} or None
        bounds = {**(policy.bounds or {}), **(upgrade.policy.bounds or {})} or None
        policy = replace(policy, memory_limits=limits, bounds=bounds)
    return replace(
        install,
        pulled={**install.pulled, **upgrade.pulled},
        endpoint_note=install.endpoint_note or upgrade.endpoint_note,
        deploy_deadline=install.deploy_deadline or upgrade.deploy_deadline,
        policy=policy,
        durations=took,
        stops={name: document.Stop.from_wire(r.to_json()) for name, r in merged_stops.items()},
        clean_teardown=all(cleans) if cleans else None,
        leftovers=[*install.leftovers, *upgrade.leftovers],
        stories={**install.stories, **upgrade.stories},
        kept=install.kept or upgrade.kept,  # each lifecycle's is under `lifecycles` too
    )
