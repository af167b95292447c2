"""Upgrade risks: lint rules R022-R027, judged by comparing the head's view with the upgrade
base's, before any deploy (both checkouts resolved by run/view.py; no swarm).

An upgrade redeploys the head over the base release in place. What that will do can be read off
the two views: a swarm config is immutable, so a config whose file changed under the same swarm
name makes docker refuse the upgrade ("only updates to Labels are allowed"): R022, an error, said
in a second instead of after a deploy. The rest are warnings a maintainer should see before
releasing: a named volume the head no longer declares (its data stays on the swarm, unmounted:
lost to the app), a service removed, a secret whose version was bumped (rotation: the upgrade
generates a new value), the app's `coop-cloud.${STACK_NAME}.version` label not bumped, and no
`release/<version>` note for a new version.

The results are LintResults like lint.py's (warnings through lint_warnings, errors through
lint_problem). When the head has no config, the rules are not-checkable with the head's own
reason (as lint's rules are); when the base has none, they skip: the upgrade tier judges a base
that cannot be resolved. Details name recipe-relative things only: compose keys, files, version
variables, and swarm names with the run's stack shown as `${STACK_NAME}`.

Pure: reads the two views, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import swarm_name
from pytest_ccci.model.lint import (
    ERROR,
    FAIL,
    NOT_CHECKABLE,
    PASS,
    SKIP,
    WARN,
    LintResult,
    LintRule,
    Outcome,
    _app_labels,
    _outcome,
    _raw,
    _recipe_compose_files,
    _top_level,
    _version_vars,
)
from pytest_ccci.model.versions import parse_release
from pytest_ccci.model.view import RecipeView, relative_name

COMPARES = "(compares the head with the upgrade base)"
# What docker says when a stack deploy changes an existing config's content (swarm/stack.py).
DOCKER_REFUSAL = "only updates to Labels are allowed"
# abra's release notes: release/<version>; `abra recipe release` renames release/next to it.
RELEASE_NOTES_DIR = "release"
NEXT_NOTE = "release/next"

Compare = Callable[[RecipeView, RecipeView, str], Outcome]


@dataclass(frozen=True)
class _Registered:
    rule: LintRule
    check: Compare


_REGISTRY: list[_Registered] = []


def _rule(rule_id: str, severity: str, title: str, how_to_fix: str) -> Callable[[Compare], Compare]:
    """Registers the decorated comparison as rule `rule_id` (run in the order registered)."""

    def register(check: Compare) -> Compare:
        _REGISTRY.append(_Registered(LintRule(rule_id, severity, f"{title} {COMPARES}", how_to_fix), check))
        return check

    return register


def upgrade_risks(head: RecipeView, base: RecipeView, base_tag: str) -> list[LintResult]:
    """Every upgrade-risk rule on the head against the upgrade base `base` (release `base_tag`)."""
    return [LintResult(entry.rule, *_judge(entry.check, head, base, base_tag)) for entry in _REGISTRY]


def skipped_upgrade_risks(reason: str) -> list[LintResult]:
    """Every upgrade-risk rule skipped with `reason`: no upgrade base to compare with (no older
    release), or one that could not be checked out or resolved (the upgrade tier judges that)."""
    return [LintResult(entry.rule, SKIP, reason) for entry in _REGISTRY]


def _judge(check: Compare, head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    if head.config is None:
        return NOT_CHECKABLE, head.problem or "no compose config"  # lint's words: said once with its rules
    if base.config is None:
        return SKIP, f"the upgrade base {base_tag} has no compose config: {base.problem or 'unknown reason'}"
    return check(head, base, base_tag)


# --- what the rules read ----------------------------------------------------------------------


def _shown_name(name: str, view: RecipeView) -> str:
    """A swarm name as a message shows it: the run's stack as ${STACK_NAME}."""
    prefix = f"{view.stack}_"
    return "${STACK_NAME}_" + name[len(prefix) :] if name.startswith(prefix) else name


def _raw_name(view: RecipeView, kind: str, key: str) -> str | None:
    """The `name:` of `kind` entry `key` as the recipe's compose files write it (the last file
    that names it wins, as in docker's merge); None when none does."""
    named = None
    for file in _recipe_compose_files(view):
        spec = (_raw(view, file).get(kind) or {}).get(key)
        if isinstance(spec, dict) and spec.get("name"):
            named = str(spec["name"])
    return named


def _by_swarm_name(view: RecipeView, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The view's top-level `kind` entries by swarm name: {name: (compose key, spec)}."""
    return {swarm_name(key, spec, view.stack): (key, spec) for key, spec in _top_level(view, kind).items()}


def _version_note(view: RecipeView, kind: str, key: str) -> tuple[list[str], str]:
    """(the version variables in the entry's written name, how the name is shown: as written
    with each variable's value, or the compose default `<stack>_<key>` when it has no name)."""
    raw = _raw_name(view, kind, key)
    if raw is None:
        return [], f"no name:, so ${{STACK_NAME}}_{key} in every release"
    variables = _version_vars(raw)
    values = ", ".join(f"{var}={view.env.get(var, '')}" for var in variables)
    return variables, f"name {raw}" + (f" with {values}" if values else "")


def _file_content(view: RecipeView, spec: Mapping[str, Any], side: str) -> bytes:
    """The bytes of the file an entry's `file:` names (a config may be binary; the view's copy is
    bounded), from the view; RecipeError saying which side (`head` or the base's tag) could not."""
    try:
        return view.files.path(str(spec["file"])).read_bytes()
    except RecipeError as exc:
        raise RecipeError(f"{side}: {exc}") from None


def _mounted_by(view: RecipeView, volume: str) -> list[str]:
    """The services of `view` that mount named volume `volume` (short or long syntax)."""
    users = []
    for name, svc in view.services.items():
        for mount in svc.get("volumes") or ():
            source = mount.get("source") if isinstance(mount, dict) else str(mount).split(":", 1)[0]
            if source == volume:
                users.append(name)
                break
    return users


def _version_label(view: RecipeView) -> str | None:
    """The app service's coop-cloud.${STACK_NAME}.version label, stripped; None when absent or empty."""
    value = (_app_labels(view) or {}).get(f"coop-cloud.{view.stack}.version", "").strip()
    return value or None


# --- the rules --------------------------------------------------------------------------------


@_rule(
    "R022",
    ERROR,
    "config content changed without a new name",
    "bump the config's *_VERSION (abra.sh exports it): docker never changes a config in place",
)
def _r022_config_drift(head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    """A config (or a file-backed secret) the deploy creates from a `file:`, whose swarm name is
    the same in the base and the head while the file's content differs: docker refuses the
    upgrade. Generated (external) secrets have no file here: their content is not compared."""
    problems: list[str] = []
    unread: list[str] = []
    compared = 0
    for kind in ("configs", "secrets"):
        base_entries = _by_swarm_name(base, kind)
        for name, (key, spec) in _by_swarm_name(head, kind).items():
            old = base_entries.get(name)
            if old is None or spec.get("external") or not spec.get("file") or not old[1].get("file"):
                continue
            try:
                changed = _file_content(head, spec, "head") != _file_content(base, old[1], base_tag)
            except RecipeError as exc:
                unread.append(f"{kind[:-1]} {key}: {exc}")
                continue
            compared += 1
            if changed:
                problems.append(_drift(head, kind, key, spec, old[1], base_tag))
    if problems:
        return FAIL, "; ".join(problems + [f"not compared: {u}" for u in unread])
    if unread:
        return NOT_CHECKABLE, "; ".join(unread)
    return (
        PASS,
        f"every config or secret file under the same name as in {base_tag} has the same content ({compared} compared)",
    )


def _drift(
    view: RecipeView, kind: str, key: str, spec: Mapping[str, Any], old: Mapping[str, Any], base_tag: str
) -> str:
    """One config's drift, said with its file(s), its name and the variable to bump."""
    variables, named = _version_note(view, kind, key)
    new_file, old_file = (relative_name(str(s["file"])) or str(s["file"]) for s in (spec, old))
    files = new_file if new_file == old_file else f"{old_file} (now {new_file})"
    fix = f"bump {' or '.join(variables)}" if variables else "give it a name with a *_VERSION, and bump it"
    return (
        f"{kind[:-1]} {key}: {files} changed since {base_tag}, but its swarm name is unchanged ({named}): "
        f"the upgrade fails with '{DOCKER_REFUSAL}'; {fix}"
    )


@_rule(
    "R023",
    WARN,
    "no named volume removed or renamed",
    "keep the volume's name, or migrate its data in the release and say so in its release note",
)
def _r023_volumes(head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    """A named volume of the base whose swarm name the head no longer declares: docker keeps its
    data, but the upgraded app no longer mounts it (data loss, from the app's view). Warn: a
    deliberate removal (with a migration) is a release's business; the note must say it."""
    head_names, base_names = _by_swarm_name(head, "volumes"), _by_swarm_name(base, "volumes")
    head_keys = {key: name for name, (key, _) in head_names.items()}
    added = [key for key, name in head_keys.items() if name not in base_names]
    problems = []
    for name, (key, _) in base_names.items():
        if name in head_names:
            continue
        users = _mounted_by(base, key)
        volume = f"volume {key}" + (f" (mounted by {', '.join(users)} in {base_tag})" if users else "")
        if key in head_keys:
            what = f"{volume} renamed: {_shown_name(name, base)} -> {_shown_name(head_keys[key], head)}"
        elif added:
            what = f"{volume} is gone from the head, which adds {', '.join(added)}: a rename?"
        else:
            what = f"{volume} is gone from the head"
        problems.append(f"{what}; its data stays on the swarm, but the upgraded app no longer mounts it")
    return _outcome(problems, f"every named volume of {base_tag} is kept")


@_rule(
    "R024",
    WARN,
    "no service removed",
    "keep the service, or migrate what it did and say so in the release note",
)
def _r024_services(head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    """A service of the base the head no longer has: what it served, and its data, go with it."""
    gone = [name for name in base.services if name not in head.services]
    added = [name for name in head.services if name not in base.services]
    also = f" (the head adds {', '.join(added)})" if added else ""
    problems = [f"service {name} of {base_tag} is gone from the head{also}" for name in gone]
    return _outcome(problems, f"every service of {base_tag} is kept")


@_rule(
    "R025",
    WARN,
    "no secret rotated",
    "rotation is information: make sure the app re-reads the new secret, and what the old one "
    "protected (a database password set at init, data encrypted with it) is migrated; say so in the release note",
)
def _r025_secret_rotation(head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    """A secret (by compose key) whose swarm name changed: its version was bumped, so the upgrade
    gets a new secret (abra generates it): a rotation. Data set or encrypted with the old value
    may no longer be readable (a database keeps the password it was initialised with)."""
    old_secrets = _top_level(base, "secrets")
    problems = []
    for key, spec in _top_level(head, "secrets").items():
        if key not in old_secrets:
            continue
        new, old = swarm_name(key, spec, head.stack), swarm_name(key, old_secrets[key], base.stack)
        if new == old:
            continue
        variables, _ = _version_note(head, "secrets", key)
        bumps = [f"{v} {base.env.get(v, '(unset)')} -> {head.env.get(v, '(unset)')}" for v in variables]
        how = ", ".join(bumps) if bumps else f"{_shown_name(old, base)} -> {_shown_name(new, head)}"
        problems.append(
            f"secret {key} rotated since {base_tag} ({how}): the upgrade gets a new secret; "
            "what was set or encrypted with the old one may be unreadable"
        )
    return _outcome(problems, f"every secret of {base_tag} keeps its version")


@_rule(
    "R026",
    WARN,
    "version label bumped",
    "bump coop-cloud.${STACK_NAME}.version on the app service (abra recipe release does)",
)
def _r026_version_bumped(head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    """The app's coop-cloud.${STACK_NAME}.version is higher in the head than in the base: by
    semver precedence when both are versions (build metadata, the upstream part, does not
    count), else different."""
    new, old = _version_label(head), _version_label(base)
    if new is None:
        return SKIP, "the head's app has no coop-cloud.${STACK_NAME}.version label (R019 says so)"
    if old is None:
        return SKIP, f"{base_tag}'s app has no coop-cloud.${{STACK_NAME}}.version label: nothing to compare"
    said = f"coop-cloud.${{STACK_NAME}}.version is {new} in the head, {old} in {base_tag}"
    if new == old:
        return FAIL, f"coop-cloud.${{STACK_NAME}}.version is still {old}, as in release {base_tag}: not bumped"
    new_v, old_v = parse_release(new), parse_release(old)
    if new_v is None or old_v is None:
        return PASS, f"{said} (not both versions: compared as text, different)"
    if new_v.compare(old_v) < 0:
        return FAIL, f"{said}: lower"
    if new_v.compare(old_v) == 0:
        return FAIL, f"{said}: the recipe version is the same, only the upstream part changed"
    return PASS, f"{said}: bumped"


@_rule(
    "R027",
    WARN,
    "release note for a new version",
    "add release/<version> (the version label's value) saying what the upgrade does; "
    "or release/next, which abra recipe release renames",
)
def _r027_release_note(head: RecipeView, base: RecipeView, base_tag: str) -> Outcome:
    """When the head's version label differs from the base's, the head has release/<version>
    (abra's release notes), or release/next (abra recipe release renames it to release/<version>)."""
    new, old = _version_label(head), _version_label(base)
    if new is None:
        return SKIP, "the head's app has no coop-cloud.${STACK_NAME}.version label (R019 says so)"
    if new == old:
        return SKIP, f"the head keeps version {new} of {base_tag}: no new version to note"
    note = f"{RELEASE_NOTES_DIR}/{new}"
    if head.files.exists(note):
        return PASS, f"{note} present"
    if head.files.exists(NEXT_NOTE):
        return PASS, f"{NEXT_NOTE} present (abra recipe release renames it to {note})"
    return FAIL, f"no {note} for the head's new version {new} (and no {NEXT_NOTE})"


UPGRADE_RULES: tuple[LintRule, ...] = tuple(entry.rule for entry in _REGISTRY)
