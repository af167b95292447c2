import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.lint import RULES, LintResult, lint_errors, lint_recipe
from pytest_ccci.model.policy import Allowance, HostPolicy
from pytest_ccci.model.versions import TagInfo

RELEASE = TagInfo("1.0.0+1.25.3", annotated=True, sha="a" * 40)


@pytest.fixture
def copy_real(real_recipes: Path, tmp_path: Path) -> Callable[[str], Path]:
    """A writable copy of a real recipe: the snapshots are read-only, and some tests add files."""

    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(real_recipes / name, dst, copy_function=shutil.copyfile)
        dst.chmod(0o755)
        return dst

    return copy


def by_id(results: list[LintResult]) -> dict[str, LintResult]:
    return {r.rule.id: r for r in results}


# --- rule table ----------------------------------------------------------------------------


def test_rules_match_abra_ids_and_severities():
    assert [r.id for r in RULES] == [f"R{n:03d}" for n in range(1, 19)]
    errors = {r.id for r in RULES if r.severity == "error"}
    assert errors == {"R008", "R009", "R010", "R011", "R012", "R013", "R014", "R016", "R018"}
    assert {r.severity for r in RULES} == {"error", "warn"}
    assert all(r.title and r.how_to_fix for r in RULES)


# --- real recipes --------------------------------------------------------------------------


def test_traefik_2021(copy_real):
    recipe = copy_real("traefik-2021")
    results = lint_recipe(recipe, [TagInfo("v2.4.8", annotated=False, sha="661bec4727df")])
    assert [r.rule.id for r in results] == [r.id for r in RULES]
    got = by_id(results)
    # version: "3.8" everywhere, a healthcheck, image traefik:v2.4.8
    for rule_id in ("R001", "R002", "R003", "R004", "R005", "R008", "R009", "R010", "R011", "R015"):
        assert got[rule_id].status == "pass", got[rule_id]
    assert got["R007"].status == "pass"  # Category/Image/Healthcheck/Backups/Email/SSO all filled
    assert got["R006"].status == "fail" and "v2.4.8" in got["R006"].detail  # v2.4.8 is not a X.Y.Z+upstream release
    assert got["R014"].status == "fail" and "v2.4.8" in got["R014"].detail
    # configs named ${..._VERSION} but the snapshot has no abra.sh
    assert got["R012"].status == "fail"
    assert "abra.sh" in got["R012"].detail and "TRAEFIK_YML_VERSION" in got["R012"].detail
    assert got["R013"].status == "not-checkable"
    # only the old coop-cloud.${STACK_NAME}.app.version label is there
    assert got["R016"].status == "fail" and "app.version=v2.4.8-d7d63b0d" in got["R016"].detail
    assert got["R017"].status == "fail" and "service app" in got["R017"].detail
    # the engine socket and ports 80/443 reach the runner: refused unless allowed (R018)
    assert got["R018"].status == "fail"
    assert "bind /var/run/docker.sock -> /var/run/docker.sock" in got["R018"].detail
    assert "kind: engine-socket, service: app" in got["R018"].detail and "ports: 443:443" in got["R018"].detail
    assert {r.rule.id for r in lint_errors(results)} == {"R012", "R014", "R016", "R018"}


def test_traefik_2021_with_its_allowances_passes_r018(copy_real):
    allow = [
        Allowance("engine-socket", "app", "traefik routes by the engine's service labels"),
        Allowance("published-ports", "app", "traefik is the server's entry point"),
    ]
    recipe = copy_real("traefik-2021")
    assert by_id(lint_recipe(recipe, [], allow))["R018"].status == "pass"
    only_socket = by_id(lint_recipe(recipe, [], allow[:1]))["R018"]
    assert only_socket.status == "fail" and "docker.sock" not in only_socket.detail  # what is not named stays refused


def test_traefik_2021_abra_sh_exporting_versions_vendors_configs(copy_real):
    recipe = copy_real("traefik-2021")
    (recipe / "abra.sh").write_text(
        "export TRAEFIK_YML_VERSION=v1\nexport FILE_PROVIDER_YML_VERSION=v1\nexport ENTRYPOINT_VERSION=v2\n"
    )
    assert by_id(lint_recipe(recipe, []))["R012"].status == "pass"
    (recipe / "abra.sh").write_text("export TRAEFIK_YML_VERSION=v1\nexport FILE_PROVIDER_YML_VERSION=v1\n")
    r012 = by_id(lint_recipe(recipe, []))["R012"]
    assert r012.status == "fail" and "ENTRYPOINT_VERSION" in r012.detail and "TRAEFIK_YML" not in r012.detail


def test_traefik_2021_enabling_host_overlay_switches_to_stop_first(copy_real):
    recipe = copy_real("traefik-2021")
    sample = recipe / ".env.sample"
    sample.write_text(
        sample.read_text().replace(
            '#COMPOSE_FILE="compose.yml:compose.host.yml"', 'COMPOSE_FILE="compose.yml:compose.host.yml"'
        )
    )
    assert by_id(lint_recipe(recipe, []))["R017"].status == "pass"


def test_traefik_2021_ovh_overlay_secrets_fit(copy_real):
    recipe = copy_real("traefik-2021")
    sample = recipe / ".env.sample"
    text = sample.read_text().replace(
        '# COMPOSE_FILE="compose.yml:compose.ovh.yml"', 'COMPOSE_FILE="compose.yml:compose.ovh.yml"'
    )
    sample.write_text(text)
    # ${STACK_NAME}_ovh_app_secret_v1 = 45 + 18 = 63 characters: just fits
    r015 = by_id(lint_recipe(recipe, []))["R015"]
    assert r015.status == "pass", r015


def test_bore(copy_real):
    recipe = copy_real("bore")
    got = by_id(lint_recipe(recipe, []))
    assert got["R001"].status == "fail" and "compose.yml" in got["R001"].detail  # no version: key
    assert got["R002"].status == "fail" and "service app" in got["R002"].detail  # image from scratch, no healthcheck
    for rule_id in ("R003", "R004", "R005", "R007", "R008", "R009", "R010", "R011", "R012", "R014", "R015", "R017"):
        assert got[rule_id].status == "pass", got[rule_id]
    assert got["R016"].status == "pass" and "0.0.1" in got["R016"].detail
    assert got["R006"].status == "fail"  # no tags at all
    assert got["R013"].status == "not-checkable"
    assert [r.rule.id for r in lint_errors(list(got.values()))] == ["R018"]  # publishes 7835
    assert "service app ports: 7835:7835" in got["R018"].detail
    allowed = by_id(lint_recipe(recipe, [], HostPolicy(("published-ports",)).for_recipe((), None).allowances))
    assert lint_errors(list(allowed.values())) == []


def test_go_ssb_room(copy_real):
    got = by_id(lint_recipe(copy_real("go-ssb-room"), []))
    assert got["R001"].status == "pass"  # version: "3.8"
    assert got["R002"].status == "fail"  # no healthcheck
    for rule_id in ("R003", "R004", "R005", "R007", "R008", "R009", "R010", "R011", "R012", "R014", "R015", "R017"):
        assert got[rule_id].status == "pass", got[rule_id]
    assert got["R016"].status == "fail" and "app.version=2.0.3-eec92a23" in got["R016"].detail
    assert [r.rule.id for r in lint_errors(list(got.values()))] == ["R016"]


# --- synthetic recipes ---------------------------------------------------------------------

GOOD_COMPOSE = """\
version: "3.8"
services:
  app:
    image: nginx:1.25.3
    healthcheck:
      test: ["CMD", "true"]
    secrets: [db_password]
    configs:
      - source: nginx_conf
        target: /etc/nginx/nginx.conf
    deploy:
      update_config:
        order: start-first
        failure_action: pause
      labels:
        - "traefik.enable=true"
        - "coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3"
  db:
    image: postgres:16-alpine
    healthcheck:
      test: ["CMD", "pg_isready"]
secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
configs:
  nginx_conf:
    name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}
    file: nginx.conf.tmpl
"""

GOOD_README = """\
# demo

<!-- metadata -->
* **Category**: Apps
* **Status**: 1
* **Image**: [`nginx`](https://hub.docker.com/_/nginx), 4, upstream
* **Healthcheck**: Yes
* **Backups**: No
* **Email**: No
* **Tests**: No
* **SSO**: No
<!-- endmetadata -->
"""


@pytest.fixture
def recipe(tmp_path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    (root / ".env.sample").write_text("TYPE=demo\nDOMAIN=demo.example.com\nSECRET_DB_PASSWORD_VERSION=v1 # length=32\n")
    (root / "compose.yml").write_text(GOOD_COMPOSE)
    (root / "abra.sh").write_text("export NGINX_CONF_VERSION=v1\n")
    (root / "README.md").write_text(GOOD_README)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new))


def test_good_recipe_passes_everything_checkable(recipe):
    results = lint_recipe(recipe, [RELEASE])
    assert {r.rule.id: r.status for r in results} == {
        rule.id: ("not-checkable" if rule.id == "R013" else "pass") for rule in RULES
    }
    assert lint_errors(results) == []


FAILURES: dict[str, tuple[Callable[[Path], None], str]] = {
    "R001": (lambda r: (r / "compose.extra.yml").write_text("services: {}\n"), "compose.extra.yml"),
    "R002": (
        lambda r: edit(r / "compose.yml", '      test: ["CMD", "pg_isready"]', "      disable: true"),
        "service db",
    ),
    "R003": (
        lambda r: edit(r / "compose.yml", "postgres:16-alpine", "registry:5000/postgres"),
        "registry:5000/postgres",
    ),
    "R004": (lambda r: edit(r / "compose.yml", "postgres:16-alpine", "postgres:latest"), "postgres:latest"),
    "R005": (lambda r: edit(r / "compose.yml", "postgres:16-alpine", "postgres:bookworm"), "postgres:bookworm"),
    "R007": (lambda r: edit(r / "README.md", "* **Category**: Apps", "* **Category**:"), "Category"),
    "R008": (lambda r: (r / ".env.sample").unlink(), ".env.sample"),
    "R009": (lambda r: edit(r / "compose.yml", "  app:", "  web:"), "no service named app"),
    "R010": (lambda r: edit(r / "compose.yml", '"traefik.enable=true"', '"traefik.enable=false"'), "traefik.enable"),
    "R011": (lambda r: edit(r / "compose.yml", "    image: postgres:16-alpine\n", ""), "service db"),
    "R012": (lambda r: (r / "abra.sh").write_text("export OTHER_VERSION=v1\n"), "NGINX_CONF_VERSION"),
    "R015": (lambda r: edit(r / "compose.yml", "_db_password_", "_a_really_long_database_password_"), "db_password"),
    "R016": (
        lambda r: edit(r / "compose.yml", '        - "coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3"\n', ""),
        "coop-cloud",
    ),
    "R017": (lambda r: edit(r / "compose.yml", "failure_action: pause", "failure_action: rollback"), "service app"),
}


@pytest.mark.parametrize("rule_id", sorted(FAILURES))
def test_each_rule_fails_on_its_own_defect(recipe, rule_id):
    break_it, named = FAILURES[rule_id]
    break_it(recipe)
    got = by_id(lint_recipe(recipe, [RELEASE]))
    assert got[rule_id].status == "fail"
    assert named in got[rule_id].detail
    assert "\n" not in got[rule_id].detail


def test_r006_needs_a_release_tag(recipe):
    assert by_id(lint_recipe(recipe, []))["R006"].status == "fail"
    assert by_id(lint_recipe(recipe, [TagInfo("v1.2.3", True, "b" * 40)]))["R006"].status == "fail"
    assert by_id(lint_recipe(recipe, [TagInfo("0.2.1+2.4.8", True, "b" * 40)]))["R006"].status == "pass"


def test_r014_names_each_lightweight_version_tag_and_ignores_other_tags(recipe):
    tags = [RELEASE, TagInfo("1.0.1+1.25.4", False, "c" * 40), TagInfo("wip-branch-marker", False, "d" * 40)]
    r014 = by_id(lint_recipe(recipe, tags))["R014"]
    assert r014.status == "fail" and "1.0.1+1.25.4" in r014.detail and "wip" not in r014.detail
    assert r014.rule.severity == "error"


def test_r012_without_abra_sh(recipe):
    (recipe / "abra.sh").unlink()
    r012 = by_id(lint_recipe(recipe, [RELEASE]))["R012"]
    assert r012.status == "fail" and "abra.sh missing" in r012.detail


def test_r012_passes_without_versioned_configs(recipe):
    (recipe / "abra.sh").unlink()
    edit(recipe / "compose.yml", "_nginx_conf_${NGINX_CONF_VERSION}", "_nginx_conf")
    assert by_id(lint_recipe(recipe, [RELEASE]))["R012"].status == "pass"


def test_r007_template_placeholder_and_missing_readme(recipe):
    edit(
        recipe / "README.md",
        "[`nginx`](https://hub.docker.com/_/nginx)",
        "[`<image>`](https://hub.docker.com/r/<image>)",
    )
    assert by_id(lint_recipe(recipe, [RELEASE]))["R007"].status == "fail"
    (recipe / "README.md").unlink()
    assert by_id(lint_recipe(recipe, [RELEASE]))["R007"].detail == "README.md missing"


def test_r007_accepts_a_metadata_table(recipe):
    rows = ["Category", "Status", "Image", "Healthcheck", "Backups", "Email", "Tests", "SSO"]
    table = "| | |\n|---|---|\n" + "".join(f"| **{k}** | yes |\n" for k in rows)
    (recipe / "README.md").write_text(f"# demo\n\n<!-- metadata -->\n{table}<!-- endmetadata -->\n")
    assert by_id(lint_recipe(recipe, [RELEASE]))["R007"].status == "pass"
    (recipe / "README.md").write_text(f"# demo\n\n{table.replace('| **SSO** | yes |', '| **SSO** |  |')}")
    r007 = by_id(lint_recipe(recipe, [RELEASE]))["R007"]
    assert r007.status == "fail" and "SSO" in r007.detail


def test_r010_skipped_without_domain(recipe):
    (recipe / ".env.sample").write_text("TYPE=demo\nSECRET_DB_PASSWORD_VERSION=v1\n")
    edit(recipe / "compose.yml", '"traefik.enable=true"', '"traefik.enable=false"')
    r010 = by_id(lint_recipe(recipe, [RELEASE]))["R010"]
    assert r010.status == "pass" and "DOMAIN" in r010.detail


def test_labels_as_a_mapping(recipe):
    edit(
        recipe / "compose.yml",
        '        - "traefik.enable=true"\n        - "coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3"\n',
        '        traefik.enable: "true"\n        coop-cloud.${STACK_NAME}.version: 1.0.0+1.25.3\n',
    )
    # only R010 is asserted: compose does not interpolate mapping keys, so ${STACK_NAME} in a key stays literal
    assert by_id(lint_recipe(recipe, [RELEASE]))["R010"].status == "pass"
    edit(recipe / "compose.yml", 'traefik.enable: "true"', "traefik.enable: false")
    assert by_id(lint_recipe(recipe, [RELEASE]))["R010"].status == "fail"


def test_labels_as_a_list_with_one_item_mappings(recipe):
    # `- traefik.enable: "true"` in a labels list: once read as the key "{'traefik.enable': 'true'}".
    edit(recipe / "compose.yml", '        - "traefik.enable=true"\n', '        - traefik.enable: "true"\n')
    assert by_id(lint_recipe(recipe, [RELEASE]))["R010"].status == "pass"
    edit(recipe / "compose.yml", '        - traefik.enable: "true"\n', "        - traefik.enable: false\n")
    assert by_id(lint_recipe(recipe, [RELEASE]))["R010"].status == "fail"


def test_labels_with_spaces_around_the_equals_sign(recipe):
    # "k = v": once read as the key "traefik.enable " (trailing space), so R010 and R016 failed.
    edit(recipe / "compose.yml", '"traefik.enable=true"', '"traefik.enable = true"')
    edit(
        recipe / "compose.yml",
        '"coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3"',
        '"coop-cloud.${STACK_NAME}.version = 1.0.0+1.25.3"',
    )
    got = by_id(lint_recipe(recipe, [RELEASE]))
    assert (got["R010"].status, got["R016"].status) == ("pass", "pass")
    assert got["R016"].detail.endswith("version=1.0.0+1.25.3")


def test_a_failed_error_rule_describes_itself_with_its_fix(recipe):
    edit(recipe / "compose.yml", '"traefik.enable=true"', '"traefik.enable=false"')
    (error,) = lint_errors(lint_recipe(recipe, [RELEASE]))
    assert error.describe() == f"R010 traefik routing enabled: {error.detail} (fix: {error.rule.how_to_fix})"
    assert "traefik.enable=true" in error.describe()


def test_compose_file_overlay_is_merged_into_service_checks(recipe):
    (recipe / "compose.extra.yml").write_text(
        'version: "3.8"\nservices:\n  app:\n    deploy:\n      update_config:\n        failure_action: rollback\n'
    )
    assert by_id(lint_recipe(recipe, [RELEASE]))["R017"].status == "pass"  # overlay not enabled yet
    edit(recipe / ".env.sample", "TYPE=demo\n", 'TYPE=demo\nCOMPOSE_FILE="compose.yml:compose.extra.yml"\n')
    assert by_id(lint_recipe(recipe, [RELEASE]))["R017"].status == "fail"


def test_image_from_env_sample_is_interpolated(recipe):
    edit(recipe / ".env.sample", "TYPE=demo\n", "TYPE=demo\nPG_TAG=16.1\n")
    edit(recipe / "compose.yml", "postgres:16-alpine", "postgres:${PG_TAG:-latest}")
    assert by_id(lint_recipe(recipe, [RELEASE]))["R004"].status == "pass"


def test_malformed_yaml_names_file_and_line(recipe):
    (recipe / "compose.yml").write_text('version: "3.8"\nservices:\n  app:\n    image: [unclosed\n')
    with pytest.raises(RecipeError) as err:
        lint_recipe(recipe, [RELEASE])
    message = str(err.value)
    assert message.startswith(f"{recipe / 'compose.yml'}:") and "invalid YAML" in message
    assert "\n" not in message


def test_missing_compose_file_from_compose_file_var(recipe):
    edit(recipe / ".env.sample", "TYPE=demo\n", 'TYPE=demo\nCOMPOSE_FILE="compose.yml:compose.nope.yml"\n')
    with pytest.raises(RecipeError, match=r"compose\.nope\.yml: missing"):
        lint_recipe(recipe, [RELEASE])
