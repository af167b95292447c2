"""Eight real recipes, with their history, judged as abra and a Co-op Cloud server would (issue 17).

Each bundle of ../shared/real-recipes/repos is cloned once per session, enrolled (a ccci.yml whose
`source:` is the clone), and resolved once (run/view.py: `docker stack config`, no engine, no
deploy), plus variants an operator would enroll: traefik with its host-mode ports overlay, bonfire
with its postgres tuning overlay (through `env:`, and through its own `.env.sample` in a second
commit: the same verdicts), custom-php with its SMTP overlays and their secret, abramon with the
allowances its host mounts need.

The expected verdicts below were derived by reading each recipe's files against each rule's
docstring (model/lint.py), not copied from the code's output. For every recipe and variant:
lint R018 and the deploy's refusal judge the same findings; no rule fails at error severity
where abra's rule would pass; no verdict names a temporary path. The plugin run shows the lint
warnings in results.json and in the terminal table.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from real_recipe_repos import BUNDLES, Resolved, clone_bundle, enroll, resolve, with_commit

from pytest_ccci.errors import RecipeError
from pytest_ccci.model import abra, lint, routes
from pytest_ccci.model.backupbot import Hooks, ServiceBackup, backup_plan
from pytest_ccci.model.compose import service_labels
from pytest_ccci.model.lint import FAIL, NOT_CHECKABLE, PASS, SKIP
from pytest_ccci.model.policy import HostPolicy, explain, not_permitted
from pytest_ccci.model.versions import upgrade_base
from pytest_ccci.model.view import RecipeView

BONFIRE_TUNE = "compose.yml:compose.postgres.yml:postgres/compose.postgres.tune.yml"
# bonfire's .env.sample enables the tuning overlay with this line, commented out.
BONFIRE_TUNE_LINE = 'COMPOSE_FILE="$COMPOSE_FILE:postgres/compose.postgres.tune.yml"'
# custom-php's "Remote SMTP relay" block of .env.sample, enabled through the enrollment's env.
CUSTOM_PHP_SMTP = {
    "COMPOSE_FILE": "compose.yml:compose.mailrelay.yml:compose.smtp.yml",
    "SECRET_SMTP_PASSWORD_VERSION": "v1",
}


@dataclass(frozen=True)
class Variant:
    bundle: str
    env: dict[str, str] = field(default_factory=dict)
    allow: list[dict[str, str]] = field(default_factory=list)
    sample_line: str | None = None  # a commented-out .env.sample line enabled in a second commit


VARIANTS: dict[str, Variant] = {
    **{name: Variant(name) for name in BUNDLES},
    "traefik-host": Variant("traefik", env={"COMPOSE_FILE": "compose.yml:compose.host.yml"}),
    "bonfire-tune-env": Variant("bonfire", env={"COMPOSE_FILE": BONFIRE_TUNE}),
    "bonfire-tune-sample": Variant("bonfire", sample_line=BONFIRE_TUNE_LINE),
    "custom-php-smtp": Variant("custom-php", env=CUSTOM_PHP_SMTP),
    "abramon-allowed": Variant(
        "abramon",
        allow=[
            {"kind": "engine-socket", "service": "app", "source": "/", "reason": "reads the host's disks, read-only"},
            {"kind": "engine-socket", "service": "socket-proxy", "reason": "read-only docker API for the checks"},
        ],
    ),
}

# Every rule not listed passes. R013 asks git.coopcloud.tech: never checkable offline.
OFFLINE = {"R013": NOT_CHECKABLE}
BONFIRE = {**OFFLINE, "R007": FAIL, "R015": FAIL}  # README's Healthcheck/Backups/Email/SSO empty; 5 keys > 12
ABRAMON = {
    **OFFLINE,
    "R002": FAIL,  # neither app nor socket-proxy has a healthcheck
    "R006": FAIL,  # no tags
    "R007": FAIL,  # README has no metadata block
    "R010": SKIP,  # no DOMAIN in .env.sample: not served over HTTP
    "R015": FAIL,  # postal_api_key
    "R018": FAIL,  # `/:/host:ro` and the engine socket
    "R019": FAIL,  # no coop-cloud.${STACK_NAME}.version label
    "R020": FAIL,  # HEALTHCHECK_VERSION is set in .env.sample, not exported by abra.sh
}
CUSTOM_PHP = {**OFFLINE, "R002": FAIL, "R006": FAIL, "R015": FAIL, "R017": FAIL, "R019": FAIL}
TRAEFIK = {**OFFLINE, "R006": FAIL, "R014": FAIL, "R018": FAIL, "R019": FAIL}  # v2.4.8: lightweight, no release
EXPECTED_LINT: dict[str, dict[str, str]] = {
    "abramon": ABRAMON,
    "abramon-allowed": {rule: status for rule, status in ABRAMON.items() if rule != "R018"},  # allowed
    "bonfire": BONFIRE,
    # The tuning overlay's config versions have defaults (`${POSTGRES_ENTRYPOINT_VERSION:-v6}`):
    # it deploys without abra.sh exporting them, so R020 has nothing more to say.
    "bonfire-tune-env": BONFIRE,
    "bonfire-tune-sample": BONFIRE,
    # No version key, no healthcheck, no tags, its control port 7835 published.
    "bore": {**OFFLINE, "R001": FAIL, "R002": FAIL, "R006": FAIL, "R018": FAIL},
    "custom-php": CUSTOM_PHP,
    "custom-php-smtp": CUSTOM_PHP,  # smtp_password is 13 characters: R015 already fails
    # v1.0.x tags are no releases; no README metadata; start-first with rollback.
    "foodsharing-cms": {**OFFLINE, "R006": FAIL, "R007": FAIL, "R017": FAIL},
    "go-ssb-room": {**OFFLINE, "R002": FAIL, "R006": FAIL, "R019": FAIL},
    "traefik": {**TRAEFIK, "R017": FAIL},
    "traefik-host": TRAEFIK,  # compose.host.yml says order: stop-first
    "wordpress": {**OFFLINE, "R002": FAIL, "R006": FAIL, "R015": FAIL, "R017": FAIL, "R019": FAIL},
}
# The deploy's refusal: (kind, service) of each finding not permitted, in the order found.
EXPECTED_REFUSED: dict[str, list[tuple[str, str]]] = {
    "abramon": [("engine-socket", "app"), ("engine-socket", "socket-proxy")],
    "bore": [("published-ports", "app")],
    "traefik": [("engine-socket", "app"), ("published-ports", "app"), ("published-ports", "app")],
    "traefik-host": [("engine-socket", "app"), *[("host-mode-ports", "app")] * 3],
}
# (key, version, length, charset) of each secret abra generates, in the merged config's order.
EXPECTED_SECRETS: dict[str, list[tuple[str, str, int, str]]] = {
    "abramon": [("postal_api_key", "v1", 32, "default")],
    "bonfire": [
        ("encryption_salt", "v1", 128, "default"),
        ("livebook_password", "v1", 32, "default"),
        ("postgres_password", "v1", 32, "default"),
        ("release_cookie", "v1", 32, "default"),
        ("secret_key_base", "v1", 128, "default"),
        ("seeds_pw", "v1", 32, "default"),
        ("signing_salt", "v1", 128, "default"),
    ],
    "custom-php": [("db_password", "v1", 32, "default"), ("db_root_password", "v1", 32, "default")],
    "foodsharing-cms": [("cms_token", "v1", 32, "default")],
    "wordpress": [("db_password", "v1", 32, "default"), ("db_root_password", "v1", 32, "default")],
}
EXPECTED_SECRETS["abramon-allowed"] = EXPECTED_SECRETS["abramon"]
EXPECTED_SECRETS["bonfire-tune-env"] = EXPECTED_SECRETS["bonfire-tune-sample"] = EXPECTED_SECRETS["bonfire"]
EXPECTED_SECRETS["custom-php-smtp"] = [*EXPECTED_SECRETS["custom-php"], ("smtp_password", "v1", 32, "default")]
# The service traefik routes the app's domain to, and the port it sends to (bore routes only
# `N.${DOMAIN}`; traefik's own router goes to api@internal).
ROUTED = {
    "bonfire": ("app", 4000),
    "custom-php": ("frontend", 80),
    "foodsharing-cms": ("app", 8787),
    "go-ssb-room": ("app", 3000),
    "wordpress": ("app", 80),
}


@pytest.fixture(scope="session")
def sources(
    real_recipe_bundles: Path, tmp_path_factory: pytest.TempPathFactory, missing_requirement
) -> dict[str, Path]:
    """Each variant's source repository: a bundle cloned once, or a copy with its second commit."""
    if shutil.which("docker") is None:
        missing_requirement("the docker CLI is not installed (`docker stack config` merges the compose files)")
    root = tmp_path_factory.mktemp("real-sources")
    clones = {name: clone_bundle(real_recipe_bundles / f"{name}.bundle", root / name) for name in BUNDLES}
    found = {}
    for name, variant in VARIANTS.items():
        source = clones[variant.bundle]
        if variant.sample_line:
            commented = "# " + variant.sample_line
            source = with_commit(source, root / name, ".env.sample", commented, variant.sample_line)
        found[name] = source
    return found


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-work")


@pytest.fixture(scope="session")
def resolved(sources: dict[str, Path], work: Path) -> dict[str, Resolved]:
    """Every variant enrolled in one recipes dir and resolved once."""
    recipes_dir = work / "recipes"
    for name, variant in VARIANTS.items():
        enroll(recipes_dir, name, sources[name], variant.env, variant.allow)
    return {name: resolve(recipes_dir, name, work) for name in VARIANTS}


@pytest.mark.parametrize("name", VARIANTS)
def test_lint_r018_is_the_deploys_refusal(resolved, name):
    found = resolved[name]
    refused = not_permitted(found.view.findings, found.allowances)
    assert [(f.kind, f.service) for f in refused] == EXPECTED_REFUSED.get(name, [])
    r018 = next(r for r in lint.lint_recipe(found.view, found.allowances) if r.rule.id == "R018")
    policy = HostPolicy().for_recipe(found.settings.allow, found.settings.memory_mb)
    if not refused:
        assert r018.status == PASS, r018.detail
        policy.refuse(name, found.view.findings)  # the deploy goes ahead
        return
    with pytest.raises(RecipeError) as refusal:
        policy.refuse(name, found.view.findings)
    assert r018.status == FAIL
    # The same list: each refused finding in both, and nothing else in either.
    for finding in refused:
        assert explain(finding) in r018.detail
        assert explain(finding) in str(refusal.value)
    assert r018.detail.count("; permit with ") == str(refusal.value).count("; permit with ") == len(refused)


@pytest.mark.parametrize("name", VARIANTS)
def test_lint_verdicts_are_abras(resolved, name):
    found = resolved[name]
    results = lint.lint_recipe(found.view, found.allowances)
    verdicts = {r.rule.id: r.status for r in results if r.status != PASS}
    assert verdicts == EXPECTED_LINT[name], "\n".join(r.describe() for r in results if r.status != PASS)
    expected_warnings = sorted(i for i, s in EXPECTED_LINT[name].items() if s == FAIL and severity(i) == lint.WARN)
    assert sorted(w["id"] for w in lint.lint_warnings(results)) == expected_warnings


def severity(rule_id: str) -> str:
    return next(rule.severity for rule in lint.RULES if rule.id == rule_id)


def test_r016_and_r010_pass_on_the_recipes_that_have_them(resolved):
    """Every variant but abramon's has traefik.enable=true on some service (custom-php: frontend)
    and DOMAIN in .env.sample; every one has deploy labels on app. abramon has no DOMAIN: R010 skips."""
    for name, found in resolved.items():
        by_id = {r.rule.id: r for r in lint.lint_recipe(found.view, found.allowances)}
        assert by_id["R016"].status == PASS, (name, by_id["R016"].detail)
        expected_r010 = SKIP if VARIANTS[name].bundle == "abramon" else PASS
        assert by_id["R010"].status == expected_r010, (name, by_id["R010"].detail)
        if VARIANTS[name].bundle == "custom-php":
            assert "frontend" in by_id["R010"].detail


@pytest.mark.parametrize("name", VARIANTS)
def test_no_verdict_names_a_temporary_path(resolved, work, sources, name):
    found = resolved[name]
    view = found.view
    texts = [r.describe() for r in lint.lint_recipe(view, found.allowances)]
    texts += [explain(f) for f in view.findings] + [view.problem or "", *view.compose_files]
    try:
        HostPolicy().for_recipe(found.settings.allow, found.settings.memory_mb).refuse(name, view.findings)
    except RecipeError as exc:
        texts.append(str(exc))
    if view.config is not None:
        texts += [repr(s) for s in abra.secrets_to_generate(view.config, view.env, view.sample, view.stack)]
    checkout = found.checkout
    texts.append(upgrade_base(checkout.head_sha, checkout.ancestor_releases, tags=checkout.tags).how)
    temporary = ("/tmp/", "pytest-of-", str(work), str(view.root), str(checkout.path), str(sources[name]))
    leaks = [(t, text) for text in texts for t in temporary if t in text]
    assert not leaks


@pytest.mark.parametrize("name", VARIANTS)
def test_secrets_to_generate(resolved, name):
    view = resolved[name].view
    assert secret_rows(view) == EXPECTED_SECRETS.get(name, [])
    specs = abra.secrets_to_generate(view.require_config(), view.env, view.sample, view.stack)
    assert all(s.swarm_name == f"{view.stack}_{s.name}_{s.version}" for s in specs)


def secret_rows(view: RecipeView) -> list[tuple[str, str, int, str]]:
    """(key, version, length, charset) of each secret abra would generate for the view."""
    specs = abra.secrets_to_generate(view.require_config(), view.env, view.sample, view.stack)
    return [(s.name, s.version, s.length, s.charset) for s in specs]


def test_upgrade_bases(resolved):
    def base(name: str):
        checkout = resolved[name].checkout
        return upgrade_base(checkout.head_sha, checkout.ancestor_releases, tags=checkout.tags)

    cms = base("foodsharing-cms")
    assert cms.release is None and cms.none_older
    assert re.search(r"tags v1\.0\.0, v1\.0\.1, v1\.0\.2, v1\.0\.3 are not releases .*X\.Y\.Z\+U", cms.how), cms.how
    for name in ("bonfire", "bonfire-tune-sample"):  # the head, and one more commit on it
        chosen = base(name)
        assert chosen.release is not None and chosen.release.tag == "2.0.1+1.0.6-social-amd64", chosen.how
        assert chosen.how == "newest older release"
    traefik = base("traefik")
    assert traefik.release is None and "tags v2.4.8 are not releases" in traefik.how
    assert "has no tags" in base("bore").how


def test_bonfire_tuning_overlay_through_env_or_sample_is_the_same(resolved):
    by_env, by_sample = resolved["bonfire-tune-env"], resolved["bonfire-tune-sample"]
    assert by_env.view.compose_files == by_sample.view.compose_files == tuple(BONFIRE_TUNE.split(":"))

    def verdicts(found: Resolved):
        view = found.view
        config = view.require_config()
        return (
            [(r.rule.id, r.status, r.detail) for r in lint.lint_recipe(view, found.allowances)],
            [(f.kind, f.service, f.key, f.value) for f in view.findings],
            secret_rows(view),
            backup_plan(config),
            sorted(config["services"]["db"]["configs"], key=str),
        )

    assert verdicts(by_env) == verdicts(by_sample)


def test_bonfire_backupbot_is_what_its_labels_say(resolved):
    for name in ("bonfire", "bonfire-tune-env"):
        assert backup_plan(resolved[name].view.require_config()) == [
            # backupbot.backup=${ENABLE_BACKUPS:-true}; upload-data mounted at /opt/app/data/uploads
            ServiceBackup("app", ("/opt/app/data/uploads",), Hooks()),
            # db-data at /var/lib/postgresql/data, only backup.sql; pg_backup.sh around it
            ServiceBackup(
                "db",
                ("/var/lib/postgresql/data/backup.sql",),
                Hooks(backup_pre="/pg_backup.sh backup", restore_post="/pg_backup.sh restore"),
            ),
        ]
    assert backup_plan(resolved["foodsharing-cms"].view.require_config()) == [
        ServiceBackup("app", ("/data",), Hooks())  # backupbot.backup.path=/data, cms_data at /data
    ]


@pytest.mark.parametrize("name", ROUTED)
def test_routes_serve_the_app_domain(resolved, name):
    view = resolved[name].view
    service, port = ROUTED[name]
    config = view.require_config()
    labels = service_labels(view.services[service])
    assert routes.route_problems(labels, view.domain, port) == []
    assert routes.proxy_problem(config, service, "proxy") is None
    if name == "go-ssb-room":  # `$${1}` is compose's escape: traefik gets `${1}`
        regex = next(v for k, v in labels.items() if k.endswith("redirectregex.replacement"))
        assert regex == f"https://{view.domain}/alias/${{1}}${{2}}"


def test_abramon_docker_host_is_its_own_setting(resolved):
    """DOCKER_HOST is an app setting (its socket proxy's address): never refused for its name,
    never seen by the docker CLI that merged the files; its `/` bind and engine socket are."""
    for name in ("abramon", "abramon-allowed"):
        view = resolved[name].view
        assert view.env["DOCKER_HOST"] == "tcp://socket-proxy:2375"
        assert view.services["app"]["environment"]["DOCKER_HOST"] == "tcp://socket-proxy:2375"
        assert not [f for f in view.findings if "DOCKER_HOST" in f.describe()]
        assert [(f.kind, f.service, f.source) for f in view.findings] == [
            ("engine-socket", "app", "/"),
            ("engine-socket", "socket-proxy", str(Path("/var/run/docker.sock").resolve())),
        ]


# A run also compares the head with its upgrade base (R022-R027): bonfire's head still carries its
# newest release's version label 2.0.1+1.0.6-social-amd64 (R026); foodsharing-cms has no release.
UPGRADE_RISK_WARNINGS = {"bonfire": ["R026"], "foodsharing-cms": []}


def test_plugin_shows_lint_warnings(lab, sources):
    """A lint-only plugin run: results.json lists each recipe's warnings, the terminal table says
    `pass (N warn)` on the lint rung and names them."""
    for name in ("bonfire", "foodsharing-cms"):
        enroll(lab.recipes_dir, name, sources[name])
    run = lab.run("--recipe", "bonfire", "--recipe", "foodsharing-cms", "--tiers", "lint", timeout=120)
    assert run.result.ret == 0, run.output
    for name in ("bonfire", "foodsharing-cms"):
        expected = sorted(
            [i for i, s in EXPECTED_LINT[name].items() if s == FAIL and severity(i) == lint.WARN]
            + UPGRADE_RISK_WARNINGS[name]
        )
        recorded = run.recipe(name)
        assert recorded["rungs"]["lint"]["status"] == "pass"
        assert sorted(w["id"] for w in recorded["warnings"]) == expected
        assert all(w["description"] and w["detail"] for w in recorded["warnings"])
        row = next(line for line in run.output.splitlines() if line.startswith(f"{name} "))
        assert f"pass ({len(expected)} warn)" in row, row
        assert f"{name} lint: {len(expected)} warning(s): " in run.output
