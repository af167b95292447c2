"""Recipe lint, judged on one RecipeView: abra's rules R001-R016, our R017-R018, and R019-R021
where this project checks more than abra.

R001-R016 keep abra's ids, descriptions, severities, meaning and skip conditions (abra's
pkg/lint/recipe.go). abra's source is not at hand, so each rule's docstring names the abra
function it mirrors, says where its behaviour is known only from public descriptions, and then
takes the lenient reading; a deliberate difference is said there too. What this project checks
beyond abra has its own id after R018, at warn, and says so in its description.

Lint reads the view only (model/view.py): the config docker merged and interpolated with the
app env, the compose files as written, the checkout's files, the tags. It never merges or
interpolates anything itself, so lint and the deploy judge the same configuration. R018 is the
deploy policy's verdict exactly: the view's findings not permitted by the allowances the deploy
honours. A rule that needs the merged config when the view has none is "not-checkable" with the
view's reason; a rule whose skip condition holds (R010 without DOMAIN) is "skip" with its reason.

Errors fail the lint tier (lint_problem); warnings never change a level, but are recorded
(lint_warnings) and shown wherever the level is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import service_images, service_labels, swarm_name
from pytest_ccci.model.naming import MAX_SECRET_NAME_LENGTH
from pytest_ccci.model.policy import Allowance, Finding, explain, not_permitted
from pytest_ccci.model.view import ABRA_SH_EXPORT, OVERLAY_NAME, OVERLAY_SHOWN, RecipeView

# Which abra rule set R001-R016 mirror: recorded in results.json beside the warnings.
ABRA_RULES = "abra pkg/lint/recipe.go R001-R016 (as publicly known, without its source: see each rule)"

PASS, FAIL, SKIP, NOT_CHECKABLE = "pass", "fail", "skip", "not-checkable"
ERROR, WARN = "error", "warn"
POLICY_RULE = "R018"  # the deploy policy's verdict: judged with the allowances, not by a check


@dataclass(frozen=True)
class LintRule:
    id: str
    severity: str  # ERROR | WARN
    title: str  # abra's description for R001-R016
    how_to_fix: str
    abra: str | None = None  # the abra function mirrored; None: this project's own rule


@dataclass(frozen=True)
class LintResult:
    rule: LintRule
    status: str  # PASS | FAIL | SKIP | NOT_CHECKABLE
    detail: str

    def describe(self) -> str:
        """One line: the rule, what is wrong, and how to fix it."""
        return f"{self.rule.id} {self.rule.title}: {self.detail} (fix: {self.rule.how_to_fix})"


Outcome = tuple[str, str]  # (status, detail)
Check = Callable[[RecipeView], Outcome]


@dataclass(frozen=True)
class _Registered:
    rule: LintRule
    check: Check | None  # None: R018, judged with the allowances
    needs_config: bool
    skip: Callable[[RecipeView], str | None] | None


_REGISTRY: list[_Registered] = []


def _rule(
    rule_id: str,
    severity: str,
    title: str,
    how_to_fix: str,
    abra: str | None = None,
    *,
    needs_config: bool = True,
    skip: Callable[[RecipeView], str | None] | None = None,
) -> Callable[[Check], Check]:
    """Registers the decorated check as rule `rule_id` (rules run in the order registered)."""

    def register(check: Check) -> Check:
        _REGISTRY.append(_Registered(LintRule(rule_id, severity, title, how_to_fix, abra), check, needs_config, skip))
        return check

    return register


# --- running the rules ------------------------------------------------------------------------


def lint_recipe(view: RecipeView, allowances: Iterable[Allowance] = ()) -> list[LintResult]:
    """Every rule on the view; R018 honours `allowances` exactly as the deploy does."""
    refused = not_permitted(view.findings, allowances)
    return [LintResult(entry.rule, *_judge(entry, view, refused)) for entry in _REGISTRY]


def _judge(entry: _Registered, view: RecipeView, refused: Sequence[Finding]) -> Outcome:
    if entry.check is None:
        return _policy(refused)
    reason = entry.skip(view) if entry.skip else None
    if reason is not None:
        return SKIP, reason
    if entry.needs_config and view.config is None:
        return NOT_CHECKABLE, view.problem or "no compose config"
    return entry.check(view)


def lint_errors(results: Sequence[LintResult]) -> list[LintResult]:
    """The failed rules of severity error: what fails the lint tier (warnings never do)."""
    return [r for r in results if r.status == FAIL and r.rule.severity == ERROR]


def lint_problem(results: Sequence[LintResult]) -> str:
    """Why the lint tier fails, one line ("" when it passes): each failed error rule, and the
    error rules that could not be checked (no config: abra could not lint it either), said once
    per reason."""
    parts = [r.describe() for r in lint_errors(results)]
    unchecked: dict[str, list[str]] = {}
    for r in results:
        if r.status == NOT_CHECKABLE and r.rule.severity == ERROR:
            unchecked.setdefault(r.detail, []).append(r.rule.id)
    parts += [f"{', '.join(ids)} not checkable: {detail}" for detail, ids in unchecked.items()]
    return "; ".join(parts)


def lint_warnings(results: Sequence[LintResult]) -> list[dict[str, str]]:
    """The failed warn rules as results.json records them: {id, description, detail}."""
    return [
        {"id": r.rule.id, "description": r.rule.title, "detail": r.detail}
        for r in results
        if r.status == FAIL and r.rule.severity == WARN
    ]


def _outcome(problems: list[str], ok: str) -> Outcome:
    """A rule's outcome: failed with every problem named, or passed saying what holds."""
    return (FAIL, "; ".join(problems)) if problems else (PASS, ok)


# --- what the rules read ----------------------------------------------------------------------


def _recipe_compose_files(view: RecipeView) -> list[str]:
    """The recipe's own compose files in the view (not the enrollment's overlay)."""
    return [name for name in view.compose_files if name not in (OVERLAY_SHOWN, OVERLAY_NAME)]


def _unread(view: RecipeView) -> Outcome | None:
    """not-checkable when a recipe compose file was not read (the policy refused it first)."""
    unread = [name for name in _recipe_compose_files(view) if name not in view.raw_files]
    if not unread:
        return None
    return NOT_CHECKABLE, f"{', '.join(unread)} not read: {view.problem or 'refused by the deploy policy'}"


def _raw(view: RecipeView, name: str) -> dict[str, Any]:
    """A compose file of the view as written (uninterpolated); {} for an empty one."""
    raw = view.raw_files.get(name)
    return raw if isinstance(raw, dict) else {}


def _image_ref(image: str) -> tuple[str | None, bool]:
    """(tag, pinned by digest) of an image reference (a ':' before the last '/' is a registry port)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    return (last.rsplit(":", 1)[1] if ":" in last else None), bool(digest)


def _top_level(view: RecipeView, kind: str) -> dict[str, Any]:
    """The merged config's top-level `configs` or `secrets`: key -> spec."""
    return {str(k): v or {} for k, v in ((view.config or {}).get(kind) or {}).items()}


def _present(view: RecipeView, name: str) -> str | None:
    """How `name` is present in the checkout ("present", or present but refused), None if absent."""
    if view.files.exists(name):
        return f"{name} present"
    refused = view.files.refused.get(name)
    return f"{name} present (refused: {refused}, not read)" if refused else None


def _app_labels(view: RecipeView) -> dict[str, str] | None:
    app = view.services.get("app")
    return None if app is None else service_labels(app)


_SEMVER_LIKE_TAG = re.compile(r"v?\d+(\.\d+){0,3}(-[0-9A-Za-z._\-]+)?")
_RELEASE_TAG = re.compile(r"\d+\.\d+\.\d+\+\S+")  # recipe version: <recipe semver>+<upstream version>
_VERSION_LIKE_TAG = re.compile(r"v?\d+(\.\d+)*([+\-].*)?")
# A config version the compose file needs from the env: `${X_VERSION}` or `$X_VERSION`; one with a
# default (`${X_VERSION:-v6}`) deploys without abra.sh, as abra would.
_VERSION_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*_VERSION)\}|([A-Za-z_][A-Za-z0-9_]*_VERSION)\b)")
# "* **Category**: Apps" (abra's template) or "| **Category** | Apps |"; [ \t] so a blank value never eats the next line
_README_FIELD = re.compile(
    r"^[ \t]*(?:[*-]|\|)[ \t]*\*\*([^*]+)\*\*[ \t]*[:|][ \t]*(.*?)[ \t]*\|?[ \t]*$", re.MULTILINE
)
_README_REQUIRED = ("Category", "Image", "Healthcheck", "Backups", "Email", "SSO")  # the fields abra reads
ABRA_SECRET_KEY_LENGTH = 12  # abra warns on secret keys longer than this (R015)


# --- abra's rules ----------------------------------------------------------------------------


@_rule(
    "R001",
    WARN,
    "compose config has expected version",
    'add version: "3.8" to every compose file',
    "LintComposeVersion",
    needs_config=False,
)
def _r001_version(view: RecipeView) -> Outcome:
    """abra: LintComposeVersion compares the loaded config's version with "3.8". What it does
    with another version, or none, cannot be confirmed without its source, so the lenient
    reading: each of the recipe's compose files in the view declares a `version` (any value);
    the enrollment's overlay is not the recipe's."""
    unread = _unread(view)
    if unread:
        return unread
    files = _recipe_compose_files(view)
    versions = {name: _raw(view, name).get("version") for name in files}
    missing = [f"{name} declares no version" for name, version in versions.items() if version is None]
    return _outcome(missing, "version declared in " + ", ".join(f"{n} ({v})" for n, v in versions.items()))


@_rule("R002", WARN, "healthcheck enabled for all services", "add a healthcheck to every service", "LintHealthchecks")
def _r002_healthchecks(view: RecipeView) -> Outcome:
    """abra: LintHealthchecks fails a service whose config has no healthcheck stanza. As
    abra, a stanza counts even when it says `disable: true`."""
    missing = [f"service {name} has no healthcheck" for name, svc in view.services.items() if "healthcheck" not in svc]
    return _outcome(missing, "every service has a healthcheck")


@_rule("R003", WARN, "all images use a tag", "pin every image to a tag, e.g. nginx:1.25.3", "LintAllImagesTagged")
def _r003_tagged(view: RecipeView) -> Outcome:
    """abra: LintAllImagesTagged fails an image that is a name only (no tag, no digest)."""
    images = service_images({"services": view.services})
    untagged = [f"service {n} image {i} has no tag" for n, i in images.items() if _image_ref(i) == (None, False)]
    return _outcome(untagged, "every image is tagged")


@_rule("R004", WARN, "no unstable tags", "replace latest (or no tag) with a versioned tag", "LintNoUnstableTags")
def _r004_unstable(view: RecipeView) -> Outcome:
    """abra: LintNoUnstableTags fails `latest`, and an image with no tag (it pulls latest).
    abra may also fail an image pinned by digest only (it has no tag); unconfirmed, so the
    lenient reading: a digest is stable."""
    unstable = []
    for name, image in service_images({"services": view.services}).items():
        tag, pinned = _image_ref(image)
        if tag == "latest" or (tag is None and not pinned):
            unstable.append(f"service {name} image {image} pulls latest")
    return _outcome(unstable, "no image pulls latest")


@_rule("R005", WARN, "tags use semver-like format", "use tags like 1.2.3, v1.2.3 or 1.2-alpine", "LintSemverLikeTags")
def _r005_semver(view: RecipeView) -> Outcome:
    """abra: LintSemverLikeTags fails a tag tagcmp cannot parse, and an image with no tag.
    tagcmp's exact grammar is not at hand: the lenient reading accepts up to four numeric parts,
    an optional `v` and a `-suffix`; a digest-only image passes (as in R004)."""
    odd = []
    for name, image in service_images({"services": view.services}).items():
        tag, pinned = _image_ref(image)
        if (tag is None and not pinned) or (tag is not None and not _SEMVER_LIKE_TAG.fullmatch(tag)):
            odd.append(f"service {name} image {image} tag is not semver-like")
    return _outcome(odd, "every image tag is semver-like")


@_rule(
    "R006",
    WARN,
    "has published catalogue version",
    "cut a release: abra recipe release <recipe>",
    "LintHasPublishedVersion",
    needs_config=False,
)
def _r006_published(view: RecipeView) -> Outcome:
    """abra: LintHasPublishedVersion asks the recipe catalogue (network). Offline difference:
    a release tag X.Y.Z+<upstream> in the recipe's repository counts as published."""
    releases = [t.name for t in view.tags if _RELEASE_TAG.fullmatch(t.name)]
    if releases:
        return PASS, f"release tags: {', '.join(releases)}"
    seen = ", ".join(t.name for t in view.tags) or "none"
    return FAIL, f"no release tag like 1.0.0+<upstream> (tags: {seen})"


@_rule(
    "R007",
    WARN,
    "README.md metadata filled in",
    "fill in the metadata block at the top of README.md",
    "LintMetadataFilledIn",
    needs_config=False,
)
def _r007_metadata(view: RecipeView) -> Outcome:
    """abra: LintMetadataFilledIn fails when Category, Image, Healthcheck, Backups, Email or SSO
    is empty. As abra, any value counts as filled in (the template's own values too); the
    metadata may be a bullet list (abra's template) or a table."""
    try:
        text = view.files.text("README.md")
    except RecipeError as exc:
        return FAIL, str(exc)
    fields = {k.strip(): v.strip() for k, v in _README_FIELD.findall(text)}
    problems = [
        f"README.md {key} {'missing' if key not in fields else 'empty'}"
        for key in _README_REQUIRED
        if not fields.get(key)
    ]
    return _outcome(problems, f"README.md metadata filled in ({', '.join(_README_REQUIRED)})")


@_rule(
    "R008",
    ERROR,
    ".env.sample provided",
    "add a .env.sample with TYPE, DOMAIN and the app's settings",
    "LintEnvConfigPresent",
    needs_config=False,
)
def _r008_env_sample(view: RecipeView) -> Outcome:
    """abra: LintEnvConfigPresent: the recipe has a .env.sample."""
    present = _present(view, ".env.sample")
    return (PASS, present) if present else (FAIL, ".env.sample missing")


@_rule("R009", ERROR, "one service named 'app'", "name the main service app", "LintAppService")
def _r009_app_service(view: RecipeView) -> Outcome:
    """abra: LintAppService: some service is named `app`."""
    if "app" in view.services:
        return PASS, "service app present"
    return FAIL, f"no service named app (services: {', '.join(view.services) or 'none'})"


def _no_domain(view: RecipeView) -> str | None:
    """abra: LintTraefikEnabledSkipCondition: no DOMAIN in .env.sample, no route to check.
    (abra errors when there is no .env.sample at all; R008 already fails that, so: skip.)"""
    if view.sample is None:
        return "no .env.sample, so no DOMAIN: not served over HTTP"
    return None if "DOMAIN" in view.sample.vars else ".env.sample has no DOMAIN: not served over HTTP"


@_rule(
    "R010",
    ERROR,
    "traefik routing enabled",
    "add the traefik.enable=true deploy label to the service traefik routes to",
    "LintTraefikEnabled",
    skip=_no_domain,
)
def _r010_traefik(view: RecipeView) -> Outcome:
    """abra: LintTraefikEnabled: some service (recipes route through `app`, `web` or
    `frontend`) has the deploy label traefik.enable=true. abra compares the value with "true"
    exactly; the lenient reading ignores case and surrounding blanks, as traefik does."""
    routed = [
        name
        for name, svc in view.services.items()
        if service_labels(svc).get("traefik.enable", "").strip().lower() == "true"
    ]
    if routed:
        return PASS, f"traefik.enable=true on service {', '.join(routed)}"
    return FAIL, "no service has the deploy label traefik.enable=true"


@_rule("R011", ERROR, "all services have images", "give every service an image", "LintImagePresent")
def _r011_images(view: RecipeView) -> Outcome:
    """abra: LintImagePresent: every service names an image."""
    missing = [f"service {n} has no image" for n, svc in view.services.items() if not svc.get("image")]
    return _outcome(missing, "every service has an image")


@_rule(
    "R012",
    ERROR,
    "config versions are vendored",
    "add an abra.sh exporting each config's *_VERSION",
    "LintAbraShVendors",
)
def _r012_vendored(view: RecipeView) -> Outcome:
    """abra: LintAbraShVendors: a recipe with configs has an abra.sh. That is all abra asks;
    whether abra.sh exports each config's version is R020."""
    configs = _top_level(view, "configs")
    if not configs:
        return PASS, "no configs"
    present = _present(view, "abra.sh")
    if present:
        return PASS, f"{present} for configs {', '.join(configs)}"
    return FAIL, f"abra.sh missing; the recipe has configs ({', '.join(configs)})"


@_rule(
    "R013",
    WARN,
    "git.coopcloud.tech repo exists",
    "publish the recipe on git.coopcloud.tech",
    "LintHasRecipeRepo",
    needs_config=False,
)
def _r013_repo(view: RecipeView) -> Outcome:
    """abra: LintHasRecipeRepo fetches the recipe's repository on git.coopcloud.tech (at warn,
    as far as is publicly known). Not checkable offline."""
    return NOT_CHECKABLE, "needs network access to git.coopcloud.tech; not checked offline"


@_rule(
    "R014",
    ERROR,
    "only annotated tags used for recipe version",
    "replace lightweight tags: git tag -d T && git tag -a T -m T",
    "LintAnnotatedTags",
    needs_config=False,
)
def _r014_annotated(view: RecipeView) -> Outcome:
    """abra: LintAnnotatedTags fails on lightweight tags. abra may look at every tag; the
    lenient reading looks at version-like tags only (a stray marker tag is no recipe version)."""
    versions = [t for t in view.tags if _VERSION_LIKE_TAG.fullmatch(t.name)]
    light = [f"tag {t.name} is lightweight" for t in versions if not t.annotated]
    return _outcome(light, f"{len(versions)} version tag(s), all annotated")


@_rule(
    "R015",
    WARN,
    "long secret names",
    f"shorten secret keys to {ABRA_SECRET_KEY_LENGTH} characters",
    "LintSecretLengths",
)
def _r015_secret_lengths(view: RecipeView) -> Outcome:
    """abra: LintSecretLengths warns on a secret key (the compose key, not the swarm name)
    longer than 12 characters. The full swarm name against docker's limit is R021."""
    long_keys = [
        f"secret {key} is {len(key)} characters"
        for key in _top_level(view, "secrets")
        if len(key) > ABRA_SECRET_KEY_LENGTH
    ]
    return _outcome(long_keys, f"every secret key is at most {ABRA_SECRET_KEY_LENGTH} characters")


@_rule(
    "R016",
    ERROR,
    "deploy labels stanza present",
    "add a deploy: labels: stanza to the app service",
    "LintDeployLabelsPresent",
)
def _r016_deploy_labels(view: RecipeView) -> Outcome:
    """abra: LintDeployLabelsPresent: the app service has deploy labels (any). Not the version
    label: abra stamps that itself at deploy (our check of it is R019)."""
    labels = _app_labels(view)
    if labels is None:
        return FAIL, "no app service to carry deploy labels"
    if not labels:
        return FAIL, "app service has no deploy labels"
    return PASS, f"app service has {len(labels)} deploy label(s)"


# --- this project's rules --------------------------------------------------------------------


@_rule(
    "R017",
    WARN,
    "no start-first upgrades with rollback",
    "start-first doubles memory during upgrades and a rollback silently reverts the deploy labels "
    "(chaos-version); use order: stop-first or failure_action: pause",
)
def _r017_start_first_rollback(view: RecipeView) -> Outcome:
    """Ours (no abra counterpart)."""
    risky = []
    for name, svc in view.services.items():
        update = (svc.get("deploy") or {}).get("update_config") or {}
        if update.get("order") == "start-first" and update.get("failure_action") == "rollback":
            risky.append(f"service {name} uses order: start-first with failure_action: rollback")
    return _outcome(risky, "no service combines start-first with rollback")


# R018 has no check of its own: lint_recipe judges it with the allowances (_policy).
_REGISTRY.append(
    _Registered(
        LintRule(
            POLICY_RULE,
            ERROR,
            "nothing reaches the runner (deploy policy)",
            "drop what reaches the host, or allow it with a reason: "
            "`allow: [{kind, service, reason, source}]` in ccci.yml",
        ),
        check=None,
        needs_config=False,
        skip=None,
    )
)


def _policy(refused: Sequence[Finding]) -> Outcome:
    """R018: the findings the deploy would refuse, exactly (also when the view has no config)."""
    return _outcome(
        [explain(f) for f in refused], "nothing in the compose config reaches the runner (or it is allowed)"
    )


@_rule(
    "R019",
    WARN,
    "version label on app (more than abra checks)",
    "add coop-cloud.${STACK_NAME}.version=<version> to the app service deploy labels",
)
def _r019_version_label(view: RecipeView) -> Outcome:
    """Ours: the app service carries coop-cloud.<stack>.version (abra stamps it at deploy, and
    does not lint it), with a hint when only the older `.app.version` label is there."""
    labels = _app_labels(view)
    key = f"coop-cloud.{view.stack}.version"
    if labels is None:
        return FAIL, "no app service to carry coop-cloud.${STACK_NAME}.version"
    version = labels.get(key)
    if version is None:
        old = labels.get(f"coop-cloud.{view.stack}.app.version")
        hint = f" (has the old coop-cloud.${{STACK_NAME}}.app.version={old})" if old is not None else ""
        return FAIL, f"app service deploy labels lack coop-cloud.${{STACK_NAME}}.version{hint}"
    if not version.strip():
        return FAIL, "app service label coop-cloud.${STACK_NAME}.version is empty"
    return PASS, f"app service has coop-cloud.${{STACK_NAME}}.version={version}"


def _version_vars(name: str) -> list[str]:
    return [braced or bare for braced, bare in _VERSION_VAR.findall(name)]


@_rule(
    "R020",
    WARN,
    "config versions exported by abra.sh (more than abra checks)",
    "export each config's ${..._VERSION} in abra.sh",
    needs_config=False,
)
def _r020_config_versions(view: RecipeView) -> Outcome:
    """Ours: every `${..._VERSION}` in a config's name, as the recipe's compose files write it,
    is exported by abra.sh (abra's R012 only asks that abra.sh exists)."""
    unread = _unread(view)
    if unread:
        return unread
    needed = {
        var: key
        for name in _recipe_compose_files(view)
        for key, spec in (_raw(view, name).get("configs") or {}).items()
        for var in _version_vars(str((spec or {}).get("name", "")))
    }
    if not needed:
        return PASS, "no versioned config names without a default"
    try:
        text = view.files.text("abra.sh")
        exported = {m.group(1) for line in text.splitlines() if (m := ABRA_SH_EXPORT.match(line))}
    except RecipeError as exc:
        return FAIL, f"{exc}; it must export {', '.join(needed)}"
    missing = [f"abra.sh does not export {var} (config {cfg})" for var, cfg in needed.items() if var not in exported]
    return _outcome(missing, f"abra.sh exports {', '.join(needed)}")


@_rule(
    "R021",
    WARN,
    f"secret names fit docker's {MAX_SECRET_NAME_LENGTH} characters (more than abra checks)",
    "shorten the secret's key or name",
)
def _r021_secret_names(view: RecipeView) -> Outcome:
    """Ours: each secret's swarm name (`<stack>_<key>_<version>` as recipes name them), with the
    view's real stack name, fits docker's limit."""
    names = {key: swarm_name(key, spec, view.stack) for key, spec in _top_level(view, "secrets").items()}
    too_long = [
        f"secret {key} is named {name} ({len(name)} characters)"
        for key, name in names.items()
        if len(name) > MAX_SECRET_NAME_LENGTH
    ]
    return _outcome(too_long, f"every secret name fits in {MAX_SECRET_NAME_LENGTH} characters")


RULES: tuple[LintRule, ...] = tuple(entry.rule for entry in _REGISTRY)
