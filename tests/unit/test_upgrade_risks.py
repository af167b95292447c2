"""Upgrade risks R022-R027: the head's view compared with the upgrade base's, each risk present
and absent, on views built as run/view.py builds them (files read through ViewFiles, `config`
interpolated with the app env, config and secret files recipe-relative as `./x`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_ccci.model.envfile import interpolate_tree
from pytest_ccci.model.lint import RULES, lint_errors, lint_problem, lint_warnings
from pytest_ccci.model.upgrade_risks import COMPARES, UPGRADE_RULES, skipped_upgrade_risks, upgrade_risks
from pytest_ccci.model.view import RecipeView, ViewFiles

STACK = "demo_example_com"
BASE_TAG = "1.0.0+1.0"
HEAD_VERSION = "1.1.0+1.0"

COMPOSE = """\
version: "3.8"
services:
  app:
    image: demo/app:1
    configs:
      - source: app_py
        target: /app/app.py
    secrets: [db_password]
    deploy:
      labels:
        - "traefik.enable=true"
        - "coop-cloud.${STACK_NAME}.version=@LABEL@"
  db:
    image: postgres:16
    secrets: [db_password]
    volumes:
      - postgres:/var/lib/postgresql/data
volumes:
  postgres:
secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
configs:
  app_py:
    name: ${STACK_NAME}_app_py_${APP_PY_VERSION}
    file: app.py
"""


@dataclass
class Side:
    """One release of the recipe (the head or the base), edited by a case before its view is made."""

    version: str
    app_py: str
    env: dict[str, str] = field(default_factory=dict)
    compose: str = COMPOSE
    files: dict[str, str] = field(default_factory=dict)

    def edit(self, old: str, new: str) -> None:
        assert old in self.compose, f"{old!r} not in the compose file"
        self.compose = self.compose.replace(old, new)

    def view(self, root: Path, problem: str | None = None) -> RecipeView:
        root.mkdir()
        compose = self.compose.replace("@LABEL@", self.version)
        files = {"compose.yml": compose, "app.py": self.app_py, **self.files}
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, errors="surrogateescape")
        env = {"SECRET_DB_PASSWORD_VERSION": "v1", **self.env, "STACK_NAME": STACK}
        raw = yaml.safe_load(compose)
        config = _as_docker_gives_it(interpolate_tree(copy.deepcopy(raw), env, "compose.yml"))
        return RecipeView(
            recipe="demo",
            head_sha="b" * 40,
            stack=STACK,
            domain="demo.example.com",
            files=ViewFiles(root, "at bbbbbbbb"),
            sample=None,
            env=env,
            compose_files=("compose.yml",),
            raw_files={"compose.yml": raw},
            config=None if problem else config,
            problem=problem,
        )


def _as_docker_gives_it(config: dict[str, Any]) -> dict[str, Any]:
    """docker's merge names config and secret files by path (run/view.py makes them `./x`)."""
    for kind in ("configs", "secrets"):
        for spec in (config.get(kind) or {}).values():
            if spec and "file" in spec:
                spec["file"] = "./" + spec["file"]
    return config


def sides() -> tuple[Side, Side]:
    """(head, base): a safe upgrade: app.py changed with its version bumped, the version label
    bumped with its release note, nothing removed."""
    base = Side(BASE_TAG, "print('v1')\n", {"APP_PY_VERSION": "v1"})
    head = Side(
        HEAD_VERSION, "print('v2')\n", {"APP_PY_VERSION": "v2"}, files={f"release/{HEAD_VERSION}": "What changed.\n"}
    )
    return head, base


def judge(tmp_path: Path, head: Side, base: Side) -> dict[str, Any]:
    results = upgrade_risks(head.view(tmp_path / "head"), base.view(tmp_path / "base"), BASE_TAG)
    return {r.rule.id: r for r in results}


# --- the rule table ----------------------------------------------------------------------------


def test_the_rules_have_ids_after_lints_and_say_they_compare():
    assert [r.id for r in UPGRADE_RULES] == ["R022", "R023", "R024", "R025", "R026", "R027"]
    assert not {r.id for r in UPGRADE_RULES} & {r.id for r in RULES}
    assert {r.id: r.severity for r in UPGRADE_RULES} == {
        "R022": "error",
        **{f"R02{n}": "warn" for n in range(3, 8)},
    }
    assert all(r.title.endswith(COMPARES) and r.how_to_fix and r.abra is None for r in UPGRADE_RULES)


def test_a_safe_upgrade_passes_every_rule(tmp_path):
    results = judge(tmp_path, *sides())
    assert {rid: r.status for rid, r in results.items()} == dict.fromkeys(results, "pass")


# --- each risk, present and absent -------------------------------------------------------------

Edit = Callable[[Side, Side], None]


def _drift(head: Side, base: Side) -> None:  # app.py changed, APP_PY_VERSION not bumped
    head.env["APP_PY_VERSION"] = "v1"


def _same_content_same_name(head: Side, base: Side) -> None:
    head.env["APP_PY_VERSION"] = "v1"
    head.app_py = base.app_py


def _drift_without_name(head: Side, base: Side) -> None:
    for side in (head, base):
        side.edit("    name: ${STACK_NAME}_app_py_${APP_PY_VERSION}\n", "")


def _drift_in_moved_file(head: Side, base: Side) -> None:
    _drift(head, base)
    head.edit("    file: app.py\n", "    file: src/app.py\n")
    head.files["src/app.py"] = "print('moved and changed')\n"


def _file_secret(content: str) -> Edit:
    def edit(head: Side, base: Side) -> None:
        for side, text in ((head, content), (base, "token-1\n")):
            side.edit("configs:\n  app_py:", "  api_token:\n    file: token.txt\nconfigs:\n  app_py:")
            side.files["token.txt"] = text

    return edit


def _binary_drift(head: Side, base: Side) -> None:
    _drift(head, base)
    head.app_py, base.app_py = "\udcff1", "\udcff2"  # written as the bytes 0xff '1' / 0xff '2'


def _config_file_missing_in_head(head: Side, base: Side) -> None:
    _drift(head, base)
    head.edit("    file: app.py\n", "    file: gone.py\n")


def _volume_removed(head: Side, base: Side) -> None:
    head.edit("    volumes:\n      - postgres:/var/lib/postgresql/data\n", "")
    head.edit("volumes:\n  postgres:\n", "")


def _volume_removed_long_syntax(head: Side, base: Side) -> None:
    base.edit("      - postgres:/var/lib/postgresql/data\n", LONG_MOUNT)
    _volume_removed(head, base)


LONG_MOUNT = "      - type: volume\n        source: postgres\n        target: /var/lib/postgresql/data\n"


def _volume_key_renamed(head: Side, base: Side) -> None:
    head.edit("postgres:/var/lib", "pgdata:/var/lib")
    head.edit("volumes:\n  postgres:\n", "volumes:\n  pgdata:\n")


def _volume_name_changed(head: Side, base: Side) -> None:
    head.edit("volumes:\n  postgres:\n", "volumes:\n  postgres:\n    name: ${STACK_NAME}_pg16\n")


def _volume_added(head: Side, base: Side) -> None:
    head.edit("volumes:\n  postgres:\n", "volumes:\n  postgres:\n  uploads:\n")


def _service_removed(head: Side, base: Side) -> None:
    start = head.compose.index("  db:\n")
    head.compose = head.compose[:start] + head.compose[head.compose.index("volumes:\n  postgres:") :]


def _service_added(head: Side, base: Side) -> None:
    head.edit("  db:\n", "  worker:\n    image: demo/app:1\n  db:\n")


def _secret_bumped(head: Side, base: Side) -> None:
    head.env["SECRET_DB_PASSWORD_VERSION"] = "v2"


def _secret_added(head: Side, base: Side) -> None:
    head.edit(
        "configs:\n  app_py:", "  smtp:\n    external: true\n    name: ${STACK_NAME}_smtp_v1\nconfigs:\n  app_py:"
    )


def _label(version: str) -> Edit:
    def edit(head: Side, base: Side) -> None:
        head.version = version

    return edit


def _no_label(head: Side, base: Side) -> None:
    head.edit('        - "coop-cloud.${STACK_NAME}.version=@LABEL@"\n', "")


def _no_note(head: Side, base: Side) -> None:
    head.files.clear()


def _next_note(head: Side, base: Side) -> None:
    head.files = {"release/next": "What will change.\n"}


CASES: list[tuple[str, str, Edit, str, tuple[str, ...]]] = [
    # R022: config content changed under the same swarm name
    (
        "config drift",
        "R022",
        _drift,
        "fail",
        (
            "config app_py: app.py changed since 1.0.0+1.0",
            "APP_PY_VERSION=v1",
            "only updates to Labels are allowed",
            "bump APP_PY_VERSION",
            "${STACK_NAME}_app_py_${APP_PY_VERSION}",
        ),
    ),
    ("config changed and bumped", "R022", lambda h, b: None, "pass", ("(0 compared)",)),
    ("config same content, same name", "R022", _same_content_same_name, "pass", ("same content (1 compared)",)),
    (
        "config without name changed",
        "R022",
        _drift_without_name,
        "fail",
        ("config app_py", "no name:, so ${STACK_NAME}_app_py in every release", "give it a name with a *_VERSION"),
    ),
    ("binary config changed", "R022", _binary_drift, "fail", ("config app_py: app.py changed",)),
    ("config moved and changed", "R022", _drift_in_moved_file, "fail", ("app.py (now src/app.py) changed",)),
    ("file secret changed", "R022", _file_secret("token-2\n"), "fail", ("secret api_token: token.txt changed",)),
    ("file secret unchanged", "R022", _file_secret("token-1\n"), "pass", ("(1 compared)",)),
    (
        "config file unreadable",
        "R022",
        _config_file_missing_in_head,
        "not-checkable",
        ("config app_py: head: gone.py: missing",),
    ),
    # R023: a named volume removed or renamed
    (
        "volume removed",
        "R023",
        _volume_removed,
        "fail",
        ("volume postgres (mounted by db in 1.0.0+1.0) is gone from the head;", "no longer mounts it"),
    ),
    (
        "volume removed, mounted as docker writes it",
        "R023",
        _volume_removed_long_syntax,
        "fail",
        ("volume postgres (mounted by db in 1.0.0+1.0) is gone from the head;",),
    ),
    (
        "volume key renamed",
        "R023",
        _volume_key_renamed,
        "fail",
        ("volume postgres (mounted by db in 1.0.0+1.0) is gone from the head, which adds pgdata: a rename?",),
    ),
    (
        "volume name changed",
        "R023",
        _volume_name_changed,
        "fail",
        ("volume postgres (mounted by db in 1.0.0+1.0) renamed: ${STACK_NAME}_postgres -> ${STACK_NAME}_pg16",),
    ),
    ("volume added", "R023", _volume_added, "pass", ("every named volume",)),
    # R024: a service removed
    ("service removed", "R024", _service_removed, "fail", ("service db of 1.0.0+1.0 is gone from the head",)),
    ("service added", "R024", _service_added, "pass", ("every service",)),
    # R025: a secret rotated
    (
        "secret bumped",
        "R025",
        _secret_bumped,
        "fail",
        ("secret db_password rotated since 1.0.0+1.0 (SECRET_DB_PASSWORD_VERSION v1 -> v2)", "new secret"),
    ),
    ("secret added", "R025", _secret_added, "pass", ("keeps its version",)),
    # R026: the version label bumped
    ("label not bumped", "R026", _label(BASE_TAG), "fail", ("still 1.0.0+1.0, as in release 1.0.0+1.0: not bumped",)),
    ("label lower", "R026", _label("0.9.0+1.0"), "fail", ("0.9.0+1.0 in the head, 1.0.0+1.0 in 1.0.0+1.0: lower",)),
    ("label upstream only", "R026", _label("1.0.0+1.1"), "fail", ("only the upstream part changed",)),
    ("label bumped", "R026", lambda h, b: None, "pass", ("bumped",)),
    ("no label in head", "R026", _no_label, "skip", ("R019",)),
    # R027: a release note for the new version
    ("no release note", "R027", _no_note, "fail", ("no release/1.1.0+1.0 for the head's new version",)),
    ("release note", "R027", lambda h, b: None, "pass", ("release/1.1.0+1.0 present",)),
    ("release/next", "R027", _next_note, "pass", ("release/next present",)),
    ("same version", "R027", _label(BASE_TAG), "skip", ("no new version",)),
]


# Edits that are more than one risk, as a real change would be: the other rules they fail.
ALSO_FAILS = {"label lower": {"R027"}, "label upstream only": {"R027"}, "same version": {"R026"}}


@pytest.mark.parametrize(("case", "rule", "edit", "status", "said"), CASES, ids=[c[0] for c in CASES])
def test_each_risk(tmp_path, case, rule, edit, status, said):
    head, base = sides()
    edit(head, base)
    results = judge(tmp_path, head, base)
    assert results[rule].status == status, results[rule].detail
    for words in said:
        assert words in results[rule].detail
    # Recipe-relative only: never the run's stack or a temporary path.
    assert STACK not in results[rule].detail and str(tmp_path) not in results[rule].detail
    # A risk is its own rule's: the other rules do not fail on the same edit.
    others = {rid for rid, r in results.items() if rid != rule and r.status == "fail"}
    assert others == ALSO_FAILS.get(case, set()), {rid: results[rid].detail for rid in others}


def test_config_drift_fails_the_lint_tier_and_warnings_are_listed(tmp_path):
    head, base = sides()
    _drift(head, base)
    _secret_bumped(head, base)
    results = upgrade_risks(head.view(tmp_path / "head"), base.view(tmp_path / "base"), BASE_TAG)
    assert [r.rule.id for r in lint_errors(results)] == ["R022"]
    assert lint_problem(results).startswith("R022 config content changed without a new name")
    assert [w["id"] for w in lint_warnings(results)] == ["R025"]


def test_no_config_in_the_head_is_not_checkable_with_its_reason(tmp_path):
    head, base = sides()
    results = upgrade_risks(head.view(tmp_path / "head", problem="no compose.yml"), base.view(tmp_path / "b"), "x")
    assert {(r.status, r.detail) for r in results} == {("not-checkable", "no compose.yml")}


def test_no_config_in_the_base_skips_naming_it(tmp_path):
    head, base = sides()
    results = upgrade_risks(head.view(tmp_path / "head"), base.view(tmp_path / "b", problem="bad YAML"), BASE_TAG)
    assert {r.status for r in results} == {"skip"}
    assert all(r.detail == "the upgrade base 1.0.0+1.0 has no compose config: bad YAML" for r in results)
    assert lint_problem(results) == ""  # a base that cannot be resolved is the upgrade tier's to judge


def test_without_a_base_every_rule_skips_with_the_reason():
    results = skipped_upgrade_risks("no older release: the recipe has no tags")
    assert [r.rule for r in results] == list(UPGRADE_RULES)
    assert {(r.status, r.detail) for r in results} == {("skip", "no older release: the recipe has no tags")}
    assert lint_problem(results) == "" and lint_warnings(results) == []
