"""The results.json document (schema `pytest-ccci/results/1`) as typed frozen dataclasses.

One document per run (or per merge of runs, merge.py): the run's identity and clocks, and per
recipe its level, rungs, tier items and what the run recorded of it. The format is public
(third parties read it; schema.py ships its JSON Schema): it changes by additions only, and a
reader of this version keeps the keys it does not know (`extra`). `to_wire()` is the document as
plain JSON-shaped data, what results.json holds and what the pages render; `from_wire()` reads
one back, tolerantly (a key a file lacks takes the field's default: None or empty, "not
recorded").

Written by run/results.py (from the verdicts and the lifecycle's facts), read by report/ and
plugin/ through files.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pytest_ccci.documents.wire import from_wire, to_wire, wire_field
from pytest_ccci.model.level import TierResult, aggregate_tier
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import Status

SCHEMA = "pytest-ccci/results/1"
SCHEMA_FAMILY = SCHEMA.rsplit("/", 1)[0] + "/"  # "pytest-ccci/results/"
STATUSES = tuple(s.value for s in Status)
_STATUSES = frozenset(STATUSES)
W = TypeVar("W", bound="Wire")


class Wire:
    """What every document class can do: be written as JSON-shaped data, and be read from it."""

    def to_wire(self) -> dict[str, Any]:
        return dict(to_wire(self))

    @classmethod
    def from_wire(cls: type[W], data: Any) -> W:
        return from_wire(cls, data)


@dataclass(frozen=True)
class RungVerdict(Wire):
    """A rung's status (pass, fail, skip, unver) and why, when it is not a pass; whether it
    failed only sometimes (a rerun passed: it stays a fail), and the command that reruns it."""

    status: str = wire_field("unver", choices=STATUSES)
    reason: str = ""
    intermittent: bool | None = wire_field(omit_none=True)  # true, or absent
    repro: str | None = wire_field(omit_none=True)  # a failed or unverified rung's repro line


@dataclass(frozen=True)
class TierRun(Wire):
    """One run of a tier item that was rerun (--ccci-reruns): its status, why, and the app
    domain it deployed on (absent: it deployed nothing)."""

    status: str = wire_field("unver", choices=STATUSES)
    reason: str = ""
    domain: str | None = wire_field(omit_none=True)


ARTIFACT_KINDS = ("log", "tasks", "update")


@dataclass(frozen=True)
class Artifact(Wire):
    """A file of a failed tier's story, saved before teardown (secrets masked): a service's log
    (bounded, its tail kept), its task history, or its last update (UpdateStatus and spec diff).
    `path` is relative to the results file's folder, or absolute."""

    kind: str = wire_field("log", choices=ARTIFACT_KINDS)
    service: str = ""
    path: str = ""
    bytes: int = 0


@dataclass(frozen=True)
class TierItem(Wire):
    """One test item's verdict (keyed by its node id): its tier, status and reason; every run
    when it was rerun (the first one first), and the command that reruns it when it did not pass;
    a failed or unverified item that had something deployed, the story saved of it (`artifacts`)."""

    tier: str = ""
    status: str = wire_field("unver", choices=STATUSES)
    reason: str = ""
    runs: list[TierRun] | None = wire_field(omit_none=True)
    repro: str | None = wire_field(omit_none=True)
    artifacts: list[Artifact] | None = wire_field(omit_none=True)  # written only when a story was saved


@dataclass(frozen=True)
class UpgradeBase(Wire):
    """The release the upgrade tier started from (None: none), and how it was chosen."""

    version: str | None = None
    how: str = ""


@dataclass(frozen=True)
class Lock(Wire):
    """When the app domain's lock was taken and released (Unix time, seconds)."""

    acquired: float | None = None
    released: float | None = wire_field(omit_none=True)


@dataclass(frozen=True)
class KeptApp(Wire):
    """A recipe with a failed tier left deployed (--ccci-keep-failed): its app domain stays held
    by a marker file beside its lock until `deadline` (ISO 8601, UTC), or `pytest-ccci release`."""

    domain: str = ""
    stack: str = ""
    deadline: str = ""
    run_id: str = ""
    services: list[str] = wire_field(factory=list)  # the stack's services, as `docker service ls` names them
    marker: str | None = wire_field(omit_none=True)  # the marker file, on the runner


@dataclass(frozen=True)
class DomainHold(Wire):
    """One lifecycle's hold on its own app domain (a recipe's install and upgrade each have one):
    the domain, its lock, when the first deploy there started and when the teardown ended (Unix
    time, seconds), what that teardown left, and whether it was kept instead."""

    domain: str | None = None
    lock: Lock | None = None
    first_deploy: float | None = None
    torn_down: float | None = None
    clean_teardown: bool | None = None
    leftovers: list[str] = wire_field(factory=list)
    kept: KeptApp | None = wire_field(omit_none=True)  # left deployed by --ccci-keep-failed


@dataclass(frozen=True)
class Backup(Wire):
    """A backup file on the runner's disk, its manifest, its size and the paths it holds."""

    file: str = ""
    manifest: str = ""
    bytes: int = 0
    paths: list[str] = wire_field(factory=list)  # "service:path"


@dataclass(frozen=True)
class Allowance(Wire):
    """A permitted finding of the deploy policy: ccci.yml's for one service, or the ini's."""

    kind: str = ""
    service: str = ""
    reason: str = ""
    origin: str = wire_field("ccci.yml", name="from")
    source: str | None = wire_field(omit_none=True)


@dataclass(frozen=True)
class Route(Wire):
    """Install's route check as configured: whether it runs, why not, traefik's network."""

    check: bool | None = None
    reason: str | None = None
    network: str | None = None


@dataclass(frozen=True)
class Settings(Wire):
    """The recipe's ccci.yml as the run read it, secret-shaped values masked."""

    source: str | None = None
    env: dict[str, str] = wire_field(factory=dict)
    not_applicable: dict[str, str] = wire_field(factory=dict)
    upgrade_from: str | None = None
    deploy_timeout: float | None = None
    route: Route | None = None
    allow: list[Allowance] = wire_field(factory=list)
    pull: str | None = None


@dataclass(frozen=True)
class ServiceBounds(Wire):
    """One service's bounds as deployed (None: unbounded; stop grace: swarm's default)."""

    memory_mib: int | None = None
    pids: int | None = None
    cpus: float | None = None
    stop_grace_seconds: float | None = None


@dataclass(frozen=True)
class Policy(Wire):
    """The deploy policy: allowances, the bounds every service gets, the infrastructure
    networks; and, once deployed, what each service got."""

    allow: list[Allowance] = wire_field(factory=list)
    memory_limit_mib: int | None = None
    pids_limit: int | None = None
    cpu_limit: float | None = None
    max_stop_grace_seconds: float | None = None
    infrastructure_networks: list[str] = wire_field(factory=list)
    memory_limits: dict[str, int | None] | None = wire_field(omit_none=True)  # when the host bounds memory
    bounds: dict[str, ServiceBounds] | None = wire_field(omit_none=True)  # once a deploy was made


@dataclass(frozen=True)
class LintWarning(Wire):
    """A warning shown beside a rung, never in the level: a failed warn-severity lint rule
    (R..., the lint rung's), or a service that ignored its stop signal (S001, install's)."""

    id: str = ""
    description: str = ""
    detail: str = ""
    rung: str | None = wire_field(omit_none=True)  # the rung it is shown beside; absent: lint


@dataclass(frozen=True)
class Stop(Wire):
    """How a service's tasks ended when teardown stopped them (its worst task's, over every
    teardown of the run): graceful, exited or killed, after how long, under which grace."""

    how: str = ""
    seconds: float = 0.0
    exit_code: int = 0
    grace_seconds: float = 0.0
    signal: str = "SIGTERM"


@dataclass(frozen=True)
class DeployDeadline(Wire):
    """How long deploys could take to converge, and who said so."""

    seconds: float | None = None
    why: str = ""


@dataclass(frozen=True)
class RecipeResult(Wire):
    """One recipe's results in a run. In a merged document, also the run it came from."""

    level: int = 0
    why_not_higher: str = ""
    rungs: dict[str, RungVerdict] = wire_field(factory=dict)
    tiers: dict[str, TierItem] = wire_field(factory=dict)  # by test node id
    ref: str | None = None
    head_sha: str | None = None
    head_release: str | None = None  # the release tag on the head, if any
    dirty: bool | None = None
    domain: str | None = None
    upgrade_base: UpgradeBase | None = None
    stamps: dict[str, dict[str, str]] = wire_field(factory=dict)  # "<tier>_stamp": the coop-cloud labels
    lock: Lock | None = None
    upgrade_runs: list[str] = wire_field(factory=list)
    # Each lifecycle's domain and lock, by role ("install", "upgrade"): `domain` and `lock` above
    # are the install's; the upgrade runs on a domain of its own.
    lifecycles: dict[str, DomainHold] = wire_field(factory=dict, required=False)
    backup: Backup | None = None  # the backup tier's file
    restore: Backup | None = None  # the restore tier's own backup file
    settings: Settings | None = None
    policy: Policy | None = None
    warnings: list[LintWarning] = wire_field(factory=list, required=False)
    lint_mirrors: str | None = wire_field(required=False)  # the abra rule set lint mirrors
    endpoint_note: str | None = None  # e.g. "dnsrr (no IPVS on this runner)"
    deploy_deadline: DeployDeadline | None = wire_field(required=False)
    compose_files: list[str] | None = wire_field(required=False)  # as the resolved view read them
    pulled: dict[str, float] = wire_field(factory=dict)  # image -> seconds its pull took
    durations: dict[str, float] = wire_field(factory=dict)  # tier -> seconds
    # The recipe's items back to back on one worker: what shard balancing weighs.
    wall_seconds: float | None = wire_field(omit_none=True)
    deploy_durations: dict[str, float] = wire_field(factory=dict)
    clean_teardown: bool | None = None
    leftovers: list[str] = wire_field(factory=list)
    # Each service's stop at teardown (model/stops.py); absent when teardown measured none.
    stops: dict[str, Stop] = wire_field(factory=dict, required=False)
    no_secret_leak: bool | None = None
    kept: KeptApp | None = wire_field(omit_none=True)  # left deployed by --ccci-keep-failed
    # install's picture of the front page (a PNG): a path relative to the results file's folder,
    # or absolute; absent when none was taken (a remote engine, no browser on the runner).
    picture: str | None = wire_field(omit_none=True)
    run_id: str | None = wire_field(omit_none=True)  # merged documents: the run it came from
    finished: str | None = wire_field(omit_none=True)  # merged documents: when that run finished
    extra: dict[str, Any] = wire_field(factory=dict, extra=True)

    @property
    def wall(self) -> float | None:
        """The recorded wall time in seconds: `wall_seconds`, or (documents written before that
        field) the sum of the tier durations; None when nothing was recorded."""
        if isinstance(self.wall_seconds, (int, float)) and not isinstance(self.wall_seconds, bool):
            return float(self.wall_seconds)
        if self.durations:
            return float(sum(v for v in self.durations.values() if isinstance(v, (int, float))))
        return None

    def tier_statuses(self) -> dict[str, Status]:
        """Each tier that ran, with its verdict over its items (any fail, then any unverified,
        wins); tiers with no item (not selected, no functional tests) are left out."""
        items: dict[str, list[TierResult]] = {}
        for item in self.tiers.values():
            if item.tier in TIERS and item.status in _STATUSES:
                items.setdefault(item.tier, []).append(TierResult(Status(item.status), item.reason or ""))
        return {tier: aggregate_tier(results).status for tier, results in items.items()}

    def tier_runs(self) -> dict[str, list[Status]]:
        """Each rerun tier, with the statuses of every run of the item that decided its
        verdict (its first failed item that was rerun), the first run first."""
        out: dict[str, list[Status]] = {}
        for item in self.tiers.values():
            if item.tier in TIERS and item.tier not in out and item.status == Status.FAIL.value and item.runs:
                out[item.tier] = [Status(r.status) for r in item.runs if r.status in _STATUSES]
        return out


@dataclass(frozen=True)
class RunRef(Wire):
    """A run a merged document was made of."""

    run_id: str | None = None
    shard: str | None = None
    started: str | None = None
    finished: str | None = None
    interrupted: bool | None = None


@dataclass(frozen=True)
class ResultsDocument(Wire):
    """A results.json: one run's (or a merge of runs') results per recipe."""

    schema: str = SCHEMA
    run_id: str | None = None
    started: str | None = None
    finished: str | None = None
    interrupted: bool = False
    shard: str | None = wire_field(required=False)  # "K/N" for one shard of a sweep
    merged_from: list[RunRef] | None = wire_field(omit_none=True)  # merged documents: every run
    recipes: dict[str, RecipeResult] = wire_field(factory=dict)
    extra: dict[str, Any] = wire_field(factory=dict, extra=True)

    def finished_of(self, entry: RecipeResult) -> str | None:
        """When the recipe's run finished (ISO 8601, UTC): its own run's, in a merged document."""
        return entry.finished or self.finished

    def run_id_of(self, entry: RecipeResult) -> str | None:
        """The run the recipe's results came from: its own, in a merged document."""
        return entry.run_id or self.run_id

    def runs(self) -> list[RunRef]:
        """The runs the document was made of: itself, or (merged already) the runs it lists."""
        if self.merged_from is not None:
            return list(self.merged_from)
        return [RunRef(self.run_id, self.shard, self.started, self.finished, self.interrupted)]

    def walls(self) -> dict[str, float]:
        """Every recipe's recorded wall time, for shard balancing."""
        return {name: e.wall for name, e in self.recipes.items() if e.wall is not None}


# -- what the reports show of a document ------------------------------------------------------


def warning_text(warning: Mapping[str, Any]) -> str:
    """One lint warning as the reports show it: `R002 healthcheck enabled for all services: service db has none`."""
    return f"{warning.get('id')} {warning.get('description')}: {warning.get('detail')}"


LINT_RUNG = "lint"  # the rung of a warning that names none


def warning_rung(warning: LintWarning | Mapping[str, Any]) -> str:
    """The rung a warning is shown beside (a typed one, or results.json's data)."""
    rung = warning.rung if isinstance(warning, LintWarning) else warning.get("rung")
    return str(rung or LINT_RUNG)


def warnings_of_rung(rung: str, warnings: list[Any]) -> list[Any]:
    """The warnings shown beside `rung`."""
    return [w for w in warnings if warning_rung(w) == rung]


INTERMITTENT_MARK = "intermittent"  # beside a rung that failed and passed on a rerun: `fail (intermittent)`


def rung_text(rung: str, status: str, warnings: list[Any], intermittent: bool | None = False) -> str:
    """A rung's status as the tables show it: an intermittent one says so (`fail
    (intermittent)`), a rung with warnings says how many it has (`pass (3 warn)`); neither
    changes the status or the level."""
    marks = [INTERMITTENT_MARK] if intermittent else []
    mine = warnings_of_rung(rung, warnings)
    marks += [f"{len(mine)} warn"] if mine else []
    return f"{status} ({', '.join(marks)})" if marks else status


# What differs between two runs of the same recipes by nature: identities and clocks.
RUN_FIELDS = ("run_id", "started", "finished", "shard")
RECIPE_TIMING_FIELDS = ("durations", "deploy_durations", "wall_seconds", "lock", "pulled", "lifecycles")


def comparable(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A results.json document (as JSON-shaped data) without identities and clocks: two runs
    that reached the same verdicts (say, serial and `-n 4`) compare equal."""
    recipes = {
        name: {k: v for k, v in rec.items() if k not in RECIPE_TIMING_FIELDS} for name, rec in doc["recipes"].items()
    }
    return {k: v for k, v in doc.items() if k not in RUN_FIELDS} | {"recipes": recipes}
