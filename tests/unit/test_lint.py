"""Lint on a RecipeView: abra's R001-R016 with abra's meaning, our R017-R021, warnings recorded.

Views are built here as run/view.py builds them: the files in a directory read through ViewFiles,
and `config` a dict shaped as `docker stack config` returns it (labels as a mapping, secret and
config names interpolated). Lint itself merges and interpolates nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_ccci.model.envfile import interpolate_tree, load_env_sample, parse_env_sample
from pytest_ccci.model.lint import (
    ABRA_RULES,
    RULES,
    LintResult,
    lint_errors,
    lint_problem,
    lint_recipe,
    lint_warnings,
)
from pytest_ccci.model.policy import Allowance, Finding, findings
from pytest_ccci.model.versions import TagInfo
from pytest_ccci.model.view import OVERLAY_SHOWN, RecipeView, ViewFiles

STACK = "demo_example_com"
RELEASE = TagInfo("1.0.0+1.25.3", annotated=True, sha="a" * 40)

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

# GOOD_COMPOSE as `docker stack config` returns it with the app env (STACK_NAME=demo_example_com).
GOOD_CONFIG: dict[str, Any] = {
    "version": "3.8",
    "services": {
        "app": {
            "image": "nginx:1.25.3",
            "healthcheck": {"test": ["CMD", "true"]},
            "secrets": [{"source": "db_password"}],
            "configs": [{"source": "nginx_conf", "target": "/etc/nginx/nginx.conf"}],
            "deploy": {
                "update_config": {"order": "start-first", "failure_action": "pause"},
                "labels": {"traefik.enable": "true", f"coop-cloud.{STACK}.version": "1.0.0+1.25.3"},
            },
        },
        "db": {"image": "postgres:16-alpine", "healthcheck": {"test": ["CMD", "pg_isready"]}},
    },
    "secrets": {"db_password": {"external": True, "name": f"{STACK}_db_password_v1"}},
    "configs": {"nginx_conf": {"name": f"{STACK}_nginx_conf_v1", "file": "/srv/demo/nginx.conf.tmpl"}},
}

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

GOOD_FILES = {
    ".env.sample": "TYPE=demo\nDOMAIN=demo.example.com\nSECRET_DB_PASSWORD_VERSION=v1 # length=32\n",
    "compose.yml": GOOD_COMPOSE,
    "abra.sh": "export NGINX_CONF_VERSION=v1\n",
    "README.md": GOOD_README,
}


@dataclass
class Draft:
    """A recipe view's parts, edited by a test before the view is made."""

    files: dict[str, str] = field(default_factory=lambda: dict(GOOD_FILES))
    config: dict[str, Any] | None = field(default_factory=lambda: copy.deepcopy(GOOD_CONFIG))
    tags: list[TagInfo] = field(default_factory=lambda: [RELEASE])
    findings: list[Finding] = field(default_factory=list)
    compose_files: tuple[str, ...] = ("compose.yml",)
    stack: str = STACK
    problem: str | None = None

    @property
    def app(self) -> dict[str, Any]:
        assert self.config is not None
        return self.config["services"]["app"]

    @property
    def app_labels(self) -> dict[str, str]:
        return self.app["deploy"]["labels"]

    def view(self, root: Path) -> RecipeView:
        root.mkdir(exist_ok=True)
        for name, text in self.files.items():
            (root / name).write_text(text)
        sample = parse_env_sample(self.files[".env.sample"]) if ".env.sample" in self.files else None
        raw = {name: yaml.safe_load(self.files[name]) for name in self.compose_files if name in self.files}
        return RecipeView(
            recipe="demo",
            head_sha="b" * 40,
            stack=self.stack,
            domain="demo.example.com",
            files=ViewFiles(root, "at bbbbbbbb"),
            sample=sample,
            env={**(sample.values() if sample else {}), "STACK_NAME": self.stack},
            compose_files=self.compose_files,
            raw_files=raw,
            config=self.config,
            findings=tuple(self.findings),
            problem=self.problem,
            tags=tuple(self.tags),
        )


def by_id(results: list[LintResult]) -> dict[str, LintResult]:
    return {r.rule.id: r for r in results}


def lint(draft: Draft, tmp_path: Path, allowances: tuple[Allowance, ...] = ()) -> dict[str, LintResult]:
    return by_id(lint_recipe(draft.view(tmp_path / "view"), allowances))


def drop_line(text: str, line: str) -> str:
    assert line in text, f"{line!r} not in the text"
    return text.replace(line, "")


# --- the rule table ----------------------------------------------------------------------------


def test_rules_keep_abra_ids_severities_and_functions():
    assert [r.id for r in RULES] == [f"R{n:03d}" for n in range(1, 22)]
    errors = {r.id for r in RULES if r.severity == "error"}
    assert errors == {"R008", "R009", "R010", "R011", "R012", "R014", "R016", "R018"}
    assert {r.severity for r in RULES} == {"error", "warn"}
    assert all(r.title and r.how_to_fix for r in RULES)
    abra = {r.id: r.abra for r in RULES}
    assert abra["R001"] == "LintComposeVersion" and abra["R010"] == "LintTraefikEnabled"
    assert abra["R016"] == "LintDeployLabelsPresent" and abra["R015"] == "LintSecretLengths"
    assert all(abra[f"R{n:03d}"] for n in range(1, 17))
    assert not any(abra[f"R{n:03d}"] for n in range(17, 22))  # ours
    # Where we check more than abra, the description says so, at warn.
    assert all("more than abra" in r.title and r.severity == "warn" for r in RULES if r.id >= "R019")
    assert "R001-R016" in ABRA_RULES


# --- a good recipe, and each rule on its own defect --------------------------------------------


def test_good_recipe_passes_everything_checkable(tmp_path):
    results = lint_recipe(Draft().view(tmp_path / "view"))
    assert {r.rule.id: r.status for r in results} == {
        rule.id: ("not-checkable" if rule.id == "R013" else "pass") for rule in RULES
    }
    assert lint_errors(results) == [] and lint_warnings(results) == [] and lint_problem(results) == ""


def _without_version(d: Draft) -> None:
    d.files["compose.yml"] = drop_line(GOOD_COMPOSE, 'version: "3.8"\n')


def _set_db(key: str, value: Any) -> Callable[[Draft], None]:
    def edit(d: Draft) -> None:
        assert d.config is not None
        if value is None:
            del d.config["services"]["db"][key]
        else:
            d.config["services"]["db"][key] = value

    return edit


def _empty_category(d: Draft) -> None:
    d.files["README.md"] = GOOD_README.replace("* **Category**: Apps", "* **Category**:")


def _rename_app(d: Draft) -> None:
    assert d.config is not None
    d.config["services"]["web"] = d.config["services"].pop("app")


def _long_secret_key(d: Draft) -> None:
    assert d.config is not None
    d.config["secrets"] = {"db_password_x": {"external": True, "name": f"{STACK}_db_password_x_v1"}}


def _too_long_secret_name(d: Draft) -> None:
    assert d.config is not None
    d.config["secrets"]["db_password"]["name"] = f"{STACK}_db_password_{'v' * 40}"


# rule -> (the defect, a word the detail names)
FAILURES: dict[str, tuple[Callable[[Draft], None], str]] = {
    "R001": (_without_version, "compose.yml declares no version"),
    "R002": (_set_db("healthcheck", None), "service db"),
    "R003": (_set_db("image", "registry:5000/postgres"), "registry:5000/postgres"),
    "R004": (_set_db("image", "postgres:latest"), "postgres:latest"),
    "R005": (_set_db("image", "postgres:bookworm"), "postgres:bookworm"),
    "R006": (lambda d: setattr(d, "tags", []), "no release tag"),
    "R007": (_empty_category, "Category empty"),
    "R008": (lambda d: d.files.pop(".env.sample"), ".env.sample missing"),
    "R009": (_rename_app, "no service named app"),
    "R010": (lambda d: d.app_labels.update({"traefik.enable": "false"}), "traefik.enable=true"),
    "R011": (_set_db("image", None), "service db has no image"),
    "R012": (lambda d: d.files.pop("abra.sh"), "abra.sh missing"),
    "R014": (lambda d: d.tags.append(TagInfo("1.0.1+1.25.4", False, "c" * 40)), "1.0.1+1.25.4"),
    "R015": (_long_secret_key, "db_password_x is 13 characters"),
    "R016": (lambda d: d.app["deploy"].pop("labels"), "no deploy labels"),
    "R017": (lambda d: d.app["deploy"]["update_config"].update(failure_action="rollback"), "service app"),
    "R018": (lambda d: d.findings.append(Finding("db", "ports", "5432:5432", "published-ports")), "5432:5432"),
    "R019": (lambda d: d.app_labels.pop(f"coop-cloud.{STACK}.version"), "lack coop-cloud.${STACK_NAME}.version"),
    "R020": (lambda d: d.files.update({"abra.sh": "export OTHER_VERSION=v1\n"}), "NGINX_CONF_VERSION"),
    "R021": (_too_long_secret_name, "(69 characters)"),
}


def test_every_rule_has_its_defect_case():
    assert set(FAILURES) == {r.id for r in RULES} - {"R013"}


@pytest.mark.parametrize("rule_id", sorted(FAILURES))
def test_each_rule_fails_on_its_own_defect(tmp_path, rule_id):
    draft = Draft()
    break_it, named = FAILURES[rule_id]
    break_it(draft)
    results = lint_recipe(draft.view(tmp_path / "view"))
    got = by_id(results)[rule_id]
    assert got.status == "fail" and named in got.detail, got
    assert "\n" not in got.detail
    # An error fails the tier; a warning is recorded and fails nothing.
    if got.rule.severity == "error":
        assert got in lint_errors(results) and got.describe() in lint_problem(results)
    else:
        assert {"id": rule_id, "description": got.rule.title, "detail": got.detail} in lint_warnings(results)
        assert rule_id not in lint_problem(results)


# --- abra's meaning, rule by rule --------------------------------------------------------------


def test_r010_skipped_without_domain_whatever_the_labels(tmp_path):
    draft = Draft()
    draft.files[".env.sample"] = "TYPE=demo\nSECRET_DB_PASSWORD_VERSION=v1\n"
    draft.app_labels["traefik.enable"] = "false"
    r010 = lint(draft, tmp_path)["R010"]
    assert r010.status == "skip" and "no DOMAIN" in r010.detail
    draft.files.pop(".env.sample")
    assert lint(draft, tmp_path)["R010"].status == "skip"


def test_r010_passes_with_traefik_enable_on_web(tmp_path):
    draft = Draft()
    del draft.app_labels["traefik.enable"]
    assert draft.config is not None
    draft.config["services"]["web"] = {"image": "nginx:1.25.3", "deploy": {"labels": {"traefik.enable": "true"}}}
    r010 = lint(draft, tmp_path)["R010"]
    assert r010.status == "pass" and "service web" in r010.detail


def test_r016_passes_with_any_deploy_label_and_r019_warns_for_the_version_label(tmp_path):
    draft = Draft()
    draft.app["deploy"]["labels"] = {"backupbot.backup": "true"}
    got = lint(draft, tmp_path)
    assert got["R016"].status == "pass"
    assert got["R019"].status == "fail" and got["R019"].rule.severity == "warn"


def test_r019_names_the_old_app_version_label(tmp_path):
    draft = Draft()
    draft.app_labels.pop(f"coop-cloud.{STACK}.version")
    draft.app_labels[f"coop-cloud.{STACK}.app.version"] = "v2.4.8-d7d63b0d"
    assert "app.version=v2.4.8-d7d63b0d" in lint(draft, tmp_path)["R019"].detail


@pytest.mark.parametrize(("key", "status"), [("a" * 12, "pass"), ("a" * 13, "fail")])
def test_r015_warns_on_a_secret_key_over_12_characters(tmp_path, key, status):
    draft = Draft()
    assert draft.config is not None
    draft.config["secrets"] = {key: {"external": True, "name": f"{STACK}_{key}_v1"}}
    r015 = lint(draft, tmp_path)["R015"]
    assert (r015.status, r015.rule.severity) == (status, "warn")


def test_r012_passes_with_configs_and_any_abra_sh_while_r020_warns(tmp_path):
    draft = Draft()
    draft.files["abra.sh"] = "# nothing exported yet\n"
    got = lint(draft, tmp_path)
    assert got["R012"].status == "pass"
    assert got["R020"].status == "fail" and "NGINX_CONF_VERSION" in got["R020"].detail


def test_r012_passes_without_configs_and_r020_without_versioned_config_names(tmp_path):
    draft = Draft()
    draft.files.pop("abra.sh")
    assert draft.config is not None
    del draft.config["configs"]
    draft.files["compose.yml"] = GOOD_COMPOSE.replace("_nginx_conf_${NGINX_CONF_VERSION}", "_nginx_conf")
    got = lint(draft, tmp_path)
    assert (got["R012"].status, got["R020"].status) == ("pass", "pass")


def test_r020_without_abra_sh_says_it_is_missing(tmp_path):
    draft = Draft()
    draft.files.pop("abra.sh")
    r020 = lint(draft, tmp_path)["R020"]
    assert r020.status == "fail" and "abra.sh: missing" in r020.detail and "NGINX_CONF_VERSION" in r020.detail


def test_r002_counts_a_healthcheck_stanza_as_abra_does(tmp_path):
    draft = Draft()
    _set_db("healthcheck", {"disable": True})(draft)
    assert lint(draft, tmp_path)["R002"].status == "pass"


@pytest.mark.parametrize(
    ("image", "r003", "r004", "r005"),
    [
        ("postgres", "fail", "fail", "fail"),  # no tag: pulls latest
        ("postgres:16.1.0.2-bookworm", "pass", "pass", "pass"),
        ("postgres@sha256:" + "0" * 64, "pass", "pass", "pass"),  # pinned by digest (lenient)
        ("registry:5000/postgres:16", "pass", "pass", "pass"),
    ],
)
def test_image_rules(tmp_path, image, r003, r004, r005):
    draft = Draft()
    _set_db("image", image)(draft)
    got = lint(draft, tmp_path)
    assert (got["R003"].status, got["R004"].status, got["R005"].status) == (r003, r004, r005)


def test_r006_needs_a_release_tag(tmp_path):
    draft = Draft()
    draft.tags = [TagInfo("v1.2.3", True, "b" * 40)]
    assert lint(draft, tmp_path)["R006"].status == "fail"
    draft.tags = [TagInfo("0.2.1+2.4.8", True, "b" * 40)]
    assert lint(draft, tmp_path)["R006"].status == "pass"


def test_r014_names_each_lightweight_version_tag_and_ignores_other_tags(tmp_path):
    draft = Draft()
    draft.tags += [TagInfo("1.0.1+1.25.4", False, "c" * 40), TagInfo("wip-branch-marker", False, "d" * 40)]
    r014 = lint(draft, tmp_path)["R014"]
    assert r014.status == "fail" and "1.0.1+1.25.4" in r014.detail and "wip" not in r014.detail


def test_r007_any_value_counts_as_abra_reads_it_and_a_table_is_accepted(tmp_path):
    draft = Draft()
    draft.files["README.md"] = GOOD_README.replace("[`nginx`](https://hub.docker.com/_/nginx)", "?")
    assert lint(draft, tmp_path)["R007"].status == "pass"
    rows = ["Category", "Status", "Image", "Healthcheck", "Backups", "Email", "Tests", "SSO"]
    table = "| | |\n|---|---|\n" + "".join(f"| **{k}** | yes |\n" for k in rows)
    draft.files["README.md"] = f"# demo\n\n{table.replace('| **SSO** | yes |', '| **SSO** |  |')}"
    r007 = lint(draft, tmp_path)["R007"]
    assert r007.status == "fail" and "SSO empty" in r007.detail
    draft.files.pop("README.md")
    (tmp_path / "view" / "README.md").unlink()
    r007 = lint(draft, tmp_path)["R007"]
    assert r007.status == "fail" and "README.md: missing" in r007.detail


def test_r001_checks_the_recipes_compose_files_not_the_enrollment_overlay(tmp_path):
    draft = Draft()
    draft.files["compose.extra.yml"] = "services: {}\n"
    draft.files[OVERLAY_SHOWN] = "services: {}\n"
    draft.compose_files = ("compose.yml", "compose.extra.yml", OVERLAY_SHOWN)
    r001 = lint(draft, tmp_path)["R001"]
    assert r001.status == "fail" and r001.detail == "compose.extra.yml declares no version"


def test_r021_uses_the_views_real_stack_name(tmp_path):
    draft = Draft()
    assert draft.config is not None
    draft.config["secrets"] = {"db_password": {"file": "/srv/demo/pw"}}  # swarm name <stack>_db_password
    draft.stack = "s" * 53
    r021 = lint(draft, tmp_path)["R021"]
    assert r021.status == "fail" and f"named {'s' * 53}_db_password (65 characters)" in r021.detail
    draft.stack = "s" * 52  # 64 characters: docker's limit, just fits
    assert lint(draft, tmp_path)["R021"].status == "pass"


# --- R018 and a view without config ------------------------------------------------------------


def test_r018_is_the_deploy_policys_list_exactly(tmp_path):
    draft = Draft()
    socket = Finding("app", "volumes", "bind /var/run/docker.sock", "engine-socket", "/var/run/docker.sock")
    port = Finding("app", "ports", "443:443", "published-ports")
    draft.findings = [socket, port]
    only_socket = (Allowance("engine-socket", "app", "traefik routes by the engine's labels"),)
    r018 = lint(draft, tmp_path, only_socket)["R018"]
    assert r018.status == "fail" and "443:443" in r018.detail and "docker.sock" not in r018.detail
    both = (*only_socket, Allowance("published-ports", "app", "the entry point"))
    assert lint(draft, tmp_path, both)["R018"].status == "pass"


def test_without_config_rules_needing_it_are_not_checkable_and_r018_still_reports(tmp_path):
    draft = Draft()
    draft.config = None
    draft.problem = "the deploy policy refused compose.yml before it was read"
    draft.findings = [Finding(None, "COMPOSE_FILE", "../outside.yml", "outside-file", "../outside.yml")]
    results = lint_recipe(draft.view(tmp_path / "view"))
    got = by_id(results)
    for rule_id in ("R002", "R009", "R010", "R011", "R012", "R015", "R016", "R019", "R021"):
        assert (got[rule_id].status, got[rule_id].detail) == ("not-checkable", draft.problem), rule_id
    assert got["R018"].status == "fail" and "../outside.yml" in got["R018"].detail
    assert got["R008"].status == "pass" and got["R006"].status == "pass"  # files and tags need no config
    problem = lint_problem(results)
    assert problem.count(draft.problem) == 1  # said once for every error rule it stopped
    assert "R009, R010, R011, R012, R016 not checkable" in problem


def test_without_config_and_without_findings_the_tier_still_fails(tmp_path):
    draft = Draft()
    draft.config, draft.problem = None, "no compose.yml at bbbbbbbb"
    assert "not checkable: no compose.yml at bbbbbbbb" in lint_problem(lint_recipe(draft.view(tmp_path / "view")))


def test_unread_compose_file_makes_file_rules_not_checkable(tmp_path):
    draft = Draft()
    draft.compose_files = ("compose.yml", "compose.evil.yml")  # never read: not in raw_files
    draft.config, draft.problem = None, "compose.evil.yml: a symlink out of the checkout: refused, not read"
    got = lint(draft, tmp_path)
    assert got["R001"].status == "not-checkable" and "compose.evil.yml not read" in got["R001"].detail
    assert got["R020"].status == "not-checkable"


def test_warnings_are_recorded_with_id_description_and_detail(tmp_path):
    draft = Draft()
    _set_db("healthcheck", None)(draft)
    _long_secret_key(draft)
    warnings = lint_warnings(lint_recipe(draft.view(tmp_path / "view")))
    assert [w["id"] for w in warnings] == ["R002", "R015"]
    assert warnings[0] == {
        "id": "R002",
        "description": "healthcheck enabled for all services",
        "detail": "service db has no healthcheck",
    }
    assert warnings[1]["detail"] == "secret db_password_x is 13 characters"


# --- real recipes ------------------------------------------------------------------------------


def real_view(root: Path, tags: tuple[TagInfo, ...] = ()) -> RecipeView:
    """A view of a real single-file recipe snapshot. Its config stands in for docker's: one
    compose file interpolated with the app env (nothing to merge)."""
    sample = load_env_sample(root / ".env.sample")
    env = {**sample.values(), "DOMAIN": "real.example.com", "STACK_NAME": STACK}
    raw = yaml.safe_load((root / "compose.yml").read_text())
    config = interpolate_tree(raw, env, "compose.yml")
    return RecipeView(
        recipe=root.name,
        head_sha="c" * 40,
        stack=STACK,
        domain="real.example.com",
        files=ViewFiles(root, "at cccccccc"),
        sample=sample,
        env=env,
        compose_files=("compose.yml",),
        raw_files={"compose.yml": raw},
        config=config,
        findings=tuple(findings(config, root, STACK)),
        tags=tags,
    )


def statuses(results: list[LintResult]) -> dict[str, str]:
    return {r.rule.id: r.status for r in results}


def test_traefik_2021(real_recipes):
    results = lint_recipe(real_view(real_recipes / "traefik-2021", (TagInfo("v2.4.8", False, "661bec4727df"),)))
    got = by_id(results)
    passing = ("R001", "R002", "R003", "R004", "R005", "R007", "R008", "R009", "R010", "R011", "R015", "R016", "R021")
    assert all(got[i].status == "pass" for i in passing), {i: got[i] for i in passing if got[i].status != "pass"}
    assert got["R006"].status == "fail" and "v2.4.8" in got["R006"].detail
    assert got["R012"].status == "fail" and "abra.sh missing" in got["R012"].detail  # configs, no abra.sh
    assert got["R013"].status == "not-checkable"
    assert got["R014"].status == "fail" and "v2.4.8" in got["R014"].detail
    assert got["R017"].status == "fail" and "service app" in got["R017"].detail
    assert "app.version=v2.4.8-d7d63b0d" in got["R019"].detail
    assert "TRAEFIK_YML_VERSION" in got["R020"].detail
    assert "kind: engine-socket, service: app" in got["R018"].detail and "443:443" in got["R018"].detail
    assert {r.rule.id for r in lint_errors(results)} == {"R012", "R014", "R018"}
    assert [w["id"] for w in lint_warnings(results)] == ["R006", "R017", "R019", "R020"]


def test_bore(real_recipes):
    results = lint_recipe(real_view(real_recipes / "bore"))
    got = statuses(results)
    assert got["R001"] == "fail"  # no version: key
    assert got["R002"] == "fail"  # built from scratch: no healthcheck
    assert got["R016"] == "pass" and got["R019"] == "pass"  # coop-cloud.${STACK_NAME}.version=0.0.1
    assert [r.rule.id for r in lint_errors(results)] == ["R018"]  # publishes 7835


def test_go_ssb_room(real_recipes):
    results = lint_recipe(real_view(real_recipes / "go-ssb-room"))
    got = statuses(results)
    assert got["R016"] == "pass"  # abra asks for a labels stanza: it has one
    assert got["R019"] == "fail"  # only the old .app.version label: ours, a warning
    assert lint_errors(results) == []
    assert [w["id"] for w in lint_warnings(results)] == ["R002", "R006", "R019"]
