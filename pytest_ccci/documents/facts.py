"""What one recipe's lifecycle recorded in a pytest process, typed: `RecipeFacts`.

The lifecycle (run/lifecycle.py), its fixtures and the tier tests fill it by attribute as they
go; each tier report carries a copy of it to the controller (model/verdict.py's payload, sent as
`to_wire()` data: xdist ships reports as plain data), where run/results.py maps it onto the
recipe's `RecipeResult`. Its parts are results.json's own classes (results.py), so what the
lifecycle records is what the document holds, with no key spelled twice.

Facts only grow in a process: a later report's copy holds everything an earlier one did. The
controller still merges field by field (`update`): what a report recorded wins over what an
earlier one had, what it left unrecorded (None, empty) does not erase it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pytest_ccci.documents.results import (
    Artifact,
    Backup,
    DeployDeadline,
    DomainHold,
    KeptApp,
    LintWarning,
    Lock,
    Policy,
    Settings,
    Stop,
    UpgradeBase,
    Wire,
)
from pytest_ccci.documents.wire import wire_field


@dataclass(frozen=True)
class Lint(Wire):
    """What the lint fixture recorded: the abra rule set it mirrors, the failed warn rules."""

    mirrors: str | None = None
    warnings: list[LintWarning] = wire_field(factory=list)


@dataclass
class RecipeFacts(Wire):
    """One recipe's lifecycle record in this process (None or empty: not recorded)."""

    ref: str | None = None  # the ref under test, "default branch" when none was given
    head_sha: str | None = None
    head_release: str | None = None  # the release tag on the head, if any
    dirty: bool | None = None
    domain: str | None = None
    settings: Settings | None = None  # ccci.yml as read, secret-shaped values masked
    policy: Policy | None = None  # the deploy policy; each deploy adds what the services got
    compose_files: list[str] | None = None  # as the head's resolved view read them
    lock: Lock | None = None
    lifecycles: dict[str, DomainHold] = wire_field(factory=dict)  # by role: install's, upgrade's
    pulled: dict[str, float] = wire_field(factory=dict)  # image -> seconds its pull took
    endpoint_note: str | None = None
    deploy_deadline: DeployDeadline | None = None
    durations: dict[str, float] = wire_field(factory=dict)  # each deploy's and the teardown's seconds
    upgrade_base: UpgradeBase | None = None
    upgrade_runs: list[str] = wire_field(factory=list)  # the bases upgraded from (--upgrade-from all)
    install_stamp: dict[str, str] | None = None  # the coop-cloud labels after install
    upgrade_stamp: dict[str, str] | None = None  # ... and after the upgrade
    lint: Lint | None = None
    backup: Backup | None = None  # the backup tier's file
    restore: Backup | None = None  # the restore tier's own backup file
    clean_teardown: bool | None = None
    leftovers: list[str] = wire_field(factory=list)
    stops: dict[str, Stop] = wire_field(factory=dict)  # each service's worst stop over the teardowns
    picture: str | None = None  # install's picture of the front page, absolute (RecipeResult.picture)
    stories: dict[str, list[Artifact]] = wire_field(factory=dict)  # by item node id: a failed tier's story, absolute
    kept: KeptApp | None = None  # left deployed by --ccci-keep-failed

    def stamps(self) -> dict[str, dict[str, str]]:
        """The stamps recorded, as results.json keys them ("<tier>_stamp")."""
        pairs = (("install_stamp", self.install_stamp), ("upgrade_stamp", self.upgrade_stamp))
        return {key: dict(stamp) for key, stamp in pairs if stamp is not None}

    def kept_apps(self) -> list[KeptApp]:
        """Every app of the recipe left deployed: each lifecycle's (its install's, its upgrade's)."""
        kept = [self.kept, *(hold.kept for hold in self.lifecycles.values())]
        return list({app.domain: app for app in kept if app is not None}.values())

    def update(self, newer: RecipeFacts) -> None:
        """Take every field `newer` recorded; keep the others. Unrecorded is None, or an empty
        collection where the field starts empty (an empty stamp read off the swarm is recorded)."""
        for f in dataclasses.fields(self):
            value = getattr(newer, f.name)
            starts_empty = f.default is dataclasses.MISSING
            if value is not None and not (starts_empty and not value):
                setattr(self, f.name, value)

    def copy(self) -> RecipeFacts:
        """A copy sharing nothing mutable with this record, as JSON would give it back."""
        return RecipeFacts.from_wire(self.to_wire())
