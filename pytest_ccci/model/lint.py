"""abra's recipe lint rules (R001-R016) plus our R017 and R018, checked natively on a checkout directory.

Which compose files: abra lints the config it would deploy from the sample, i.e. compose.yml plus the
`.env.sample` COMPOSE_FILE set, merged. We do the same for every service-level rule, so an optional
overlay (say compose.host.yml switching to stop-first) only counts once a recipe enables it. The one
file-level rule, R001 (version key), checks every compose*.yml in the recipe, since each overlay is a
file someone may deploy and the finding names the file.

R018 (error) is the deploy policy for untrusted refs (model/policy.py) on the same merged config,
honouring the allowances the deploy honours: `--tiers lint` fails on what a deploy would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.compose import service_images, service_labels
from pytest_ccci.model.envfile import EnvSample, interpolate, interpolate_tree, load_env_sample
from pytest_ccci.model.naming import MAX_SECRET_NAME_LENGTH, MAX_STACK_NAME_LENGTH
from pytest_ccci.model.policy import Allowance, explain, findings, not_permitted
from pytest_ccci.model.versions import TagInfo


@dataclass(frozen=True)
class LintRule:
    id: str
    severity: str  # "error" | "warn"
    title: str
    how_to_fix: str


@dataclass(frozen=True)
class LintResult:
    rule: LintRule
    status: str  # "pass" | "fail" | "not-checkable"
    detail: str

    def describe(self) -> str:
        """One line: the rule, what is wrong, and how to fix it."""
        return f"{self.rule.id} {self.rule.title}: {self.detail} (fix: {self.rule.how_to_fix})"


RULES: tuple[LintRule, ...] = (
    LintRule("R001", "warn", "compose config has expected version", "add 'version: \"3.8\"' to every compose file"),
    LintRule("R002", "warn", "healthcheck enabled for all services", "add a healthcheck to every service"),
    LintRule("R003", "warn", "all images use a tag", "pin every image to a tag, e.g. nginx:1.25.3"),
    LintRule("R004", "warn", "no unstable tags", "replace 'latest' with a versioned tag"),
    LintRule("R005", "warn", "tags use semver-like format", "use tags like 1.2.3 or v1.2.3[-suffix]"),
    LintRule("R006", "warn", "has published version", "cut a release: abra recipe release <recipe>"),
    LintRule("R007", "warn", "README.md metadata filled in", "fill in the metadata block at the top of README.md"),
    LintRule("R008", "error", ".env.sample provided", "add a .env.sample with TYPE, DOMAIN and the app's settings"),
    LintRule("R009", "error", "one service named 'app'", "name the main service 'app'"),
    LintRule(
        "R010", "error", "traefik routing enabled", "add the 'traefik.enable=true' deploy label to the app service"
    ),
    LintRule("R011", "error", "all services have images", "give every service an image"),
    LintRule("R012", "error", "config versions are vendored", "export each config's *_VERSION in abra.sh"),
    LintRule("R013", "error", "git.coopcloud.tech repo exists", "publish the recipe on git.coopcloud.tech"),
    LintRule(
        "R014",
        "error",
        "only annotated tags used for recipe version",
        "replace lightweight tags: git tag -d T && git tag -a T -m T",
    ),
    LintRule(
        "R015", "warn", "long secret names", "shorten secret names so <stack>_<secret>_<version> fits in 64 characters"
    ),
    LintRule(
        "R016",
        "error",
        "deploy labels present",
        "add 'coop-cloud.${STACK_NAME}.version=<version>' to the app service deploy labels",
    ),
    LintRule(
        "R017",
        "warn",
        "no start-first upgrades with rollback",
        "start-first doubles memory during upgrades and a rollback silently reverts the deploy labels "
        "(chaos-version); use order: stop-first or failure_action: pause",
    ),
    LintRule(
        "R018",
        "error",
        "nothing reaches the runner (deploy policy)",
        "drop what reaches the host, or allow it with a reason: `allow: [{kind, service, reason, source}]` in ccci.yml",
    ),
)

# Secret names get what is left of docker's name limit after a worst-case (abra-truncated) stack name.
_STACK = "s" * MAX_STACK_NAME_LENGTH  # placeholder STACK_NAME of the worst-case length
_DEFAULT_DOMAIN = "recipe.example.com"

_SEMVER_LIKE_TAG = re.compile(r"v?\d+(\.\d+){0,2}(-[0-9A-Za-z.\-]+)?")
_RELEASE_TAG = re.compile(r"\d+\.\d+\.\d+\+\S+")  # recipe version: <recipe semver>+<upstream version>
_VERSION_LIKE_TAG = re.compile(r"v?\d+(\.\d+)*([+\-].*)?")
_VERSION_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*_VERSION)\b")
_ABRA_SH_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)
# "* **Category**: Apps" (abra's template) or "| **Category** | Apps |"; [ \t] so a blank value never eats the next line
_README_FIELD = re.compile(
    r"^[ \t]*(?:[*-]|\|)[ \t]*\*\*([^*]+)\*\*[ \t]*[:|][ \t]*(.*?)[ \t]*\|?[ \t]*$", re.MULTILINE
)
_README_REQUIRED = ("Category", "Image", "Healthcheck", "Backups", "Email", "SSO")  # the fields abra checks
_README_PLACEHOLDER = re.compile(r"^(\?|todo|tbd|fixme|xxx)?$|<[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class _Recipe:
    """What the rules look at, loaded once."""

    dir: Path
    sample: EnvSample | None
    compose_files: list[str]
    raw: dict[str, Any]  # merged compose, uninterpolated (R012 reads ${..._VERSION} names)
    config: dict[str, Any]  # merged compose, interpolated
    tags: Sequence[TagInfo]
    allowances: tuple[Allowance, ...] = ()  # what the deploy policy permits (R018)

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return {name: svc or {} for name, svc in (self.config.get("services") or {}).items()}


def lint_recipe(recipe_dir: Path, tags: Sequence[TagInfo], allowances: Iterable[Allowance] = ()) -> list[LintResult]:
    """Every rule on the recipe at `recipe_dir`; R018 honours `allowances` as a deploy does."""
    recipe = _load(recipe_dir, tags, tuple(allowances))
    return [_check(rule, recipe) for rule in RULES]


def lint_errors(results: Sequence[LintResult]) -> list[LintResult]:
    """The failed rules of severity error: what fails the lint tier (warnings never do)."""
    return [r for r in results if r.status == "fail" and r.rule.severity == "error"]


def _check(rule: LintRule, recipe: _Recipe) -> LintResult:
    status, detail = _CHECKS[rule.id](recipe)
    return LintResult(rule, status, detail)


# --- loading -------------------------------------------------------------------------------


def _load(recipe_dir: Path, tags: Sequence[TagInfo], allowances: tuple[Allowance, ...]) -> _Recipe:
    sample_path = recipe_dir / ".env.sample"
    sample = load_env_sample(sample_path) if sample_path.is_file() else None
    files = list(dict.fromkeys(["compose.yml", *(sample.compose_files if sample else [])]))
    env = {"DOMAIN": _DEFAULT_DOMAIN, **(sample.values() if sample else {}), "STACK_NAME": _STACK}
    raw: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for name in files:
        doc = _read_compose(recipe_dir / name)
        raw = _merge(raw, doc)
        config = _merge(config, interpolate_tree(doc, env, str(recipe_dir / name)))
    return _Recipe(recipe_dir, sample, files, raw, config, tags, allowances)


def _read_compose(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: missing (named in COMPOSE_FILE or the default compose.yml)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"{where}: invalid YAML: {problem}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise RecipeError(f"{path}: compose file must be a mapping, got {type(doc).__name__}")
    return doc


def _merge(base: Any, overlay: Any) -> Any:
    """Compose-style override: mappings merge, lists (ports, labels, env) accumulate, scalars replace."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(overlay, list):
        return base + [item for item in overlay if item not in base]
    return overlay


def _image_tag(image: str) -> str | None:
    """The tag of an image reference, or None (a ':' before the last '/' is a registry port)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _images(recipe: _Recipe) -> dict[str, str]:
    return service_images({"services": recipe.services})


def _outcome(problems: list[str], ok: str) -> tuple[str, str]:
    """A rule's (status, detail): failed with every problem named, or passed saying what holds."""
    return ("fail", "; ".join(problems)) if problems else ("pass", ok)


# --- rules ---------------------------------------------------------------------------------


def _r001_version(recipe: _Recipe) -> tuple[str, str]:
    files = sorted({p.name for p in recipe.dir.glob("compose*.yml")} | {"compose.yml"})
    missing = [f for f in files if "version" not in _read_compose(recipe.dir / f)]
    return _outcome([f"{f} has no 'version' key" for f in missing], f"'version' set in {', '.join(files)}")


def _r002_healthchecks(recipe: _Recipe) -> tuple[str, str]:
    missing = [
        name
        for name, svc in recipe.services.items()
        if not isinstance(svc.get("healthcheck"), dict) or svc["healthcheck"].get("disable") is True
    ]
    return _outcome([f"service {n} has no healthcheck" for n in missing], "every service has a healthcheck")


def _r003_tagged(recipe: _Recipe) -> tuple[str, str]:
    untagged = [f"service {n} image {i} has no tag" for n, i in _images(recipe).items() if not _image_tag(i)]
    return _outcome(untagged, "every image is tagged")


def _r004_unstable(recipe: _Recipe) -> tuple[str, str]:
    unstable = [f"service {n} image {i} uses 'latest'" for n, i in _images(recipe).items() if _image_tag(i) == "latest"]
    return _outcome(unstable, "no image uses 'latest'")


def _r005_semver(recipe: _Recipe) -> tuple[str, str]:
    odd = [
        f"service {n} image {i} tag is not semver-like"
        for n, i in _images(recipe).items()
        if (tag := _image_tag(i)) and not _SEMVER_LIKE_TAG.fullmatch(tag)
    ]
    return _outcome(odd, "every image tag is semver-like")


def _r006_published(recipe: _Recipe) -> tuple[str, str]:
    releases = [t.name for t in recipe.tags if _RELEASE_TAG.fullmatch(t.name)]
    if releases:
        return "pass", f"release tags: {', '.join(releases)}"
    seen = ", ".join(t.name for t in recipe.tags) or "none"
    return "fail", f"no release tag like 1.0.0+<upstream> (tags: {seen})"


def _r007_metadata(recipe: _Recipe) -> tuple[str, str]:
    readme = recipe.dir / "README.md"
    if not readme.is_file():
        return "fail", "README.md missing"
    fields = {k.strip(): v.strip() for k, v in _README_FIELD.findall(readme.read_text(encoding="utf-8"))}
    problems = [
        f"README.md {key} {'missing' if key not in fields else 'not filled in: ' + repr(fields[key])}"
        for key in _README_REQUIRED
        if key not in fields or _README_PLACEHOLDER.search(fields[key])
    ]
    return _outcome(problems, f"README.md metadata filled in ({', '.join(_README_REQUIRED)})")


def _r008_env_sample(recipe: _Recipe) -> tuple[str, str]:
    return ("pass", ".env.sample present") if recipe.sample else ("fail", ".env.sample missing")


def _r009_app_service(recipe: _Recipe) -> tuple[str, str]:
    if "app" in recipe.services:
        return "pass", "service app present"
    return "fail", f"no service named app (services: {', '.join(recipe.services) or 'none'})"


def _r010_traefik(recipe: _Recipe) -> tuple[str, str]:
    # abra skips this rule for recipes without DOMAIN: they are not served over HTTP
    if recipe.sample and "DOMAIN" not in recipe.sample.vars:
        return "pass", "not applicable: .env.sample has no DOMAIN"
    app = recipe.services.get("app")
    if app is None:
        return "fail", "no app service to carry traefik.enable=true"
    if service_labels(app).get("traefik.enable", "").strip().lower() == "true":
        return "pass", "app service has traefik.enable=true"
    return "fail", "app service deploy labels lack traefik.enable=true"


def _r011_images(recipe: _Recipe) -> tuple[str, str]:
    missing = [f"service {n} has no image" for n, svc in recipe.services.items() if not svc.get("image")]
    return _outcome(missing, "every service has an image")


def _r012_vendored(recipe: _Recipe) -> tuple[str, str]:
    needed = {
        var: name
        for name, spec in (recipe.raw.get("configs") or {}).items()
        for var in _VERSION_VAR.findall(str((spec or {}).get("name", "")))
    }
    if not needed:
        return "pass", "no versioned config names"
    abra_sh = recipe.dir / "abra.sh"
    if not abra_sh.is_file():
        return "fail", f"abra.sh missing; it must export {', '.join(needed)}"
    exported = set(_ABRA_SH_EXPORT.findall(abra_sh.read_text(encoding="utf-8")))
    missing = [f"abra.sh does not export {var} (config {cfg})" for var, cfg in needed.items() if var not in exported]
    return _outcome(missing, f"abra.sh exports {', '.join(needed)}")


def _r013_repo(recipe: _Recipe) -> tuple[str, str]:
    return "not-checkable", "needs network access to git.coopcloud.tech; not checked offline"


def _r014_annotated(recipe: _Recipe) -> tuple[str, str]:
    versions = [t for t in recipe.tags if _VERSION_LIKE_TAG.fullmatch(t.name)]
    light = [f"tag {t.name} is lightweight" for t in versions if not t.annotated]
    return _outcome(light, f"{len(versions)} version tag(s), all annotated")


def _r015_secret_lengths(recipe: _Recipe) -> tuple[str, str]:
    env = {"DOMAIN": _DEFAULT_DOMAIN, **(recipe.sample.values() if recipe.sample else {}), "STACK_NAME": _STACK}
    too_long = []
    for key, spec in (recipe.raw.get("secrets") or {}).items():
        raw_name = str((spec or {}).get("name") or f"${{STACK_NAME}}_{key}")
        versions = {var: "v1" for var in _VERSION_VAR.findall(raw_name) if not env.get(var)}  # assume v1 if unset
        length = len(interpolate(raw_name, {**env, **versions}))
        if length > MAX_SECRET_NAME_LENGTH:
            too_long.append(f"secret {key} is {length} characters with a {MAX_STACK_NAME_LENGTH}-character stack name")
    return _outcome(too_long, f"secret names fit in {MAX_SECRET_NAME_LENGTH} characters")


def _r016_version_label(recipe: _Recipe) -> tuple[str, str]:
    app = recipe.services.get("app")
    if app is None:
        return "fail", "no app service to carry coop-cloud.${STACK_NAME}.version"
    labels = service_labels(app)
    version = labels.get(f"coop-cloud.{_STACK}.version")
    if version is None:
        # older recipes (e.g. traefik in 2021) carry "coop-cloud.${STACK_NAME}.app.version":
        # say so, it is the likely fix
        old = labels.get(f"coop-cloud.{_STACK}.app.version")
        hint = f" (has the old coop-cloud.${{STACK_NAME}}.app.version={old})" if old is not None else ""
        return "fail", f"app service deploy labels lack coop-cloud.${{STACK_NAME}}.version{hint}"
    if not version.strip():
        return "fail", "app service label coop-cloud.${STACK_NAME}.version is empty"
    return "pass", f"app service has coop-cloud.${{STACK_NAME}}.version={version}"


def _r017_start_first_rollback(recipe: _Recipe) -> tuple[str, str]:
    risky = []
    for name, svc in recipe.services.items():
        update = (svc.get("deploy") or {}).get("update_config") or {}
        if update.get("order") == "start-first" and update.get("failure_action") == "rollback":
            risky.append(f"service {name} uses order: start-first with failure_action: rollback")
    return _outcome(risky, "no service combines start-first with rollback")


def _r018_policy(recipe: _Recipe) -> tuple[str, str]:
    refused = not_permitted(findings(recipe.config, recipe.dir, _STACK), recipe.allowances)
    problems = [explain(f) for f in refused]
    return _outcome(problems, "nothing in the compose config reaches the runner (or it is allowed)")


_CHECKS = {
    "R001": _r001_version,
    "R002": _r002_healthchecks,
    "R003": _r003_tagged,
    "R004": _r004_unstable,
    "R005": _r005_semver,
    "R006": _r006_published,
    "R007": _r007_metadata,
    "R008": _r008_env_sample,
    "R009": _r009_app_service,
    "R010": _r010_traefik,
    "R011": _r011_images,
    "R012": _r012_vendored,
    "R013": _r013_repo,
    "R014": _r014_annotated,
    "R015": _r015_secret_lengths,
    "R016": _r016_version_label,
    "R017": _r017_start_first_rollback,
    "R018": _r018_policy,
}
