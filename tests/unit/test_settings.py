"""settings.py: enrollment files validate into typed settings; any mistake names file and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.secrets import MASK
from pytest_ccci.model.settings import (
    OVERLAY_FILE,
    SETTINGS_FILE,
    Health,
    Settings,
    enrolled,
    load_settings,
    parse_settings,
    resolve_source,
)
from pytest_ccci.model.tiers import DECLARABLE

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
REAL = ["custom-html", "discourse", "hello", "keycloak", "n8n", "uptime-kuma"]


def write(tmp_path: Path, text: str, name: str = "demo") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS_FILE).write_text(textwrap.dedent(text))
    return folder


def error_of(folder: Path) -> str:
    with pytest.raises(RecipeError) as info:
        load_settings(folder)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


# -- the real enrollments --------------------------------------------------------------------


def test_real_enrollments_are_listed():
    found = enrolled(RECIPES)
    assert set(REAL) <= set(found)
    assert found == sorted(found)
    assert all((RECIPES / name / SETTINGS_FILE).is_file() for name in found)


# Every folder enrolled today, whoever added it: a settings file in the repo must always validate.
@pytest.mark.parametrize("name", sorted(set(REAL) | set(enrolled(RECIPES))))
def test_real_enrollment_validates(name):
    folder = RECIPES / name
    settings = load_settings(folder)
    raw = yaml.safe_load((folder / SETTINGS_FILE).read_text())
    health = raw.get("health", {})
    assert isinstance(settings, Settings)
    assert settings.name == name
    assert settings.directory == folder
    assert settings.source == raw["source"]
    assert settings.health.path == health.get("path", "/")
    assert settings.health.statuses == tuple(health.get("statuses", [200]))
    assert settings.deploy_timeout == (float(raw["deploy_timeout"]) if "deploy_timeout" in raw else None)
    assert settings.memory_mb == raw.get("memory_mb")
    assert dict(settings.not_applicable) == raw.get("not_applicable", {})
    assert settings.env == {str(k): str(v) for k, v in (raw.get("env") or {}).items()}
    assert (settings.overlay is not None) == (folder / OVERLAY_FILE).is_file()


def test_real_hello_source_is_relative_and_resolves_inside_repo():
    settings = load_settings(RECIPES / "hello")
    assert settings.env == {"GREETING": "Hello from CI"}
    resolved = Path(resolve_source(settings))
    assert resolved.is_absolute()
    assert resolved == (RECIPES / "hello" / settings.source).resolve()
    assert resolved == REPO / ".ccci" / "sources" / "hello"


def test_real_custom_html_declares_functional_not_applicable():
    settings = load_settings(RECIPES / "custom-html")
    assert set(settings.not_applicable) == {"functional"}
    assert settings.not_applicable["functional"].strip()


def test_discourse_overlay_is_found_and_is_stop_first():
    settings = load_settings(RECIPES / "discourse")
    assert settings.overlay == RECIPES / "discourse" / OVERLAY_FILE
    overlay = yaml.safe_load(settings.overlay.read_text())
    assert overlay["services"]["app"]["deploy"]["update_config"]["order"] == "stop-first"


@pytest.mark.parametrize("name", [n for n in REAL if n != "discourse"])
def test_other_real_enrollments_have_no_overlay(name):
    assert load_settings(RECIPES / name).overlay is None


# -- defaults --------------------------------------------------------------------------------


def test_minimal_settings_take_defaults(tmp_path):
    settings = load_settings(write(tmp_path, "source: https://example.test/r.git\n"))
    assert settings.health == Health()
    assert settings.health.statuses == (200,)
    assert settings.deploy_timeout is None  # abra's way: the recipe's timeout label, else 120 s
    assert settings.env == {}
    assert settings.upgrade_from is None
    assert settings.memory_mb is None
    assert settings.overlay is None


def test_full_settings_typed(tmp_path):
    folder = write(
        tmp_path,
        """\
        source: https://example.test/r.git
        health: {path: /up, statuses: [200, 204], port: 8080, service: web}
        deploy_timeout: 30
        env: {PORT: 8080, RATIO: 1.5, NAME: x}
        not_applicable: {backup: "no state", restore: "no state"}
        upgrade_from: 1.0.0+2.0
        memory_mb: 128
        max_task_failures: 2
        hook_timeout: 5
        seed: {service: db, path: /var/lib/data}
        """,
    )
    s = load_settings(folder)
    assert s.health == Health(path="/up", statuses=(200, 204), port=8080, service="web")
    assert s.deploy_timeout == 30.0 and isinstance(s.deploy_timeout, float)
    assert s.env == {"PORT": "8080", "RATIO": "1.5", "NAME": "x"}
    assert s.upgrade_from == "1.0.0+2.0"
    assert s.memory_mb == 128
    assert s.max_task_failures == 2
    assert s.hook_timeout == 5.0
    assert (s.seed.service, s.seed.path) == ("db", "/var/lib/data")


def test_empty_file_is_missing_source(tmp_path):
    msg = error_of(write(tmp_path, ""))
    assert "missing key 'source'" in msg


# -- mistakes name the file and the key ------------------------------------------------------


def test_unknown_top_level_key(tmp_path):
    folder = write(tmp_path, "source: x\nhelth: {path: /}\n")
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg
    assert "unknown key 'helth'" in msg


def test_unknown_nested_key(tmp_path):
    folder = write(tmp_path, "source: x\nhealth: {pth: /}\n")
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg
    assert "health.pth" in msg


def test_unknown_seed_key(tmp_path):
    msg = error_of(write(tmp_path, "source: x\nseed: {services: app}\n"))
    assert "seed.services" in msg


@pytest.mark.parametrize(
    "body, key",
    [
        ("health: {path: 5}", "health.path"),
        ("health: {statuses: 200}", "health.statuses"),
        ("health: {statuses: [200, '302']}", "health.statuses[]"),
        ("health: {statuses: [true]}", "health.statuses[]"),
        ("health: {port: '80'}", "health.port"),
        ("health: {port: true}", "health.port"),
        ("health: [path]", "health"),
        ("deploy_timeout: x", "deploy_timeout"),
        ("deploy_timeout: true", "deploy_timeout"),
        ("hook_timeout: false", "hook_timeout"),
        ("memory_mb: true", "memory_mb"),
        ("memory_mb: 1.5", "memory_mb"),
        ("max_task_failures: '3'", "max_task_failures"),
        ("env: {NESTED: {a: 1}}", "env.NESTED"),
        ("env: {LIST: [1, 2]}", "env.LIST"),
        ("env: [A=1]", "env"),
        ("upgrade_from: 1.0", "upgrade_from"),
        ("not_applicable: [lint]", "not_applicable"),
        ("seed: {path: 7}", "seed.path"),
    ],
)
def test_wrong_type_names_file_and_key(tmp_path, body, key):
    folder = write(tmp_path, f"source: https://example.test/r.git\n{body}\n")
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg
    assert f" {key} must be" in msg


def test_wrong_type_message_says_what_was_wanted(tmp_path):
    msg = error_of(write(tmp_path, "source: x\ndeploy_timeout: x\n"))
    assert "int or float" in msg and "str 'x'" in msg


def test_source_must_be_a_string(tmp_path):
    msg = error_of(write(tmp_path, "source: [a, b]\n"))
    assert "source must be str" in msg


@pytest.mark.parametrize("key", ["deploy_timeout", "hook_timeout", "max_task_failures", "memory_mb"])
@pytest.mark.parametrize("value", [0, -1])
def test_numbers_must_be_positive(tmp_path, key, value):
    msg = error_of(write(tmp_path, f"source: x\n{key}: {value}\n"))
    assert f"{key} must be positive" in msg


def test_settings_not_a_mapping(tmp_path):
    msg = error_of(write(tmp_path, "- source: x\n"))
    assert "the settings must be dict" in msg


def test_not_applicable_unknown_tier(tmp_path):
    folder = write(tmp_path, "source: x\nnot_applicable: {deploy: because}\n")
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg
    assert "not_applicable.deploy" in msg and "not a tier" in msg
    assert all(t in msg for t in DECLARABLE)


@pytest.mark.parametrize("reason", ['""', "'   '", "~", "42"])
def test_not_applicable_needs_reason(tmp_path, reason):
    msg = error_of(write(tmp_path, f"source: x\nnot_applicable: {{backup: {reason}}}\n"))
    assert "not_applicable.backup needs a reason" in msg


@pytest.mark.parametrize("tier", DECLARABLE)
def test_every_declarable_tier_accepted(tmp_path, tier):
    s = load_settings(write(tmp_path, f"source: x\nnot_applicable: {{{tier}: 'some reason'}}\n"))
    assert s.not_applicable == {tier: "some reason"}


def test_missing_source(tmp_path):
    folder = write(tmp_path, "health: {path: /}\n")
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg
    assert "missing key 'source'" in msg


def test_missing_settings_file(tmp_path):
    folder = tmp_path / "nothing"
    folder.mkdir()
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg and "missing" in msg


def test_invalid_yaml_names_the_line(tmp_path):
    folder = write(tmp_path, "source: x\nhealth:\n  path: /\n   statuses: [200\n")
    msg = error_of(folder)
    assert str(folder / SETTINGS_FILE) in msg
    assert "not valid YAML" in msg
    # The problem is on line 4 (1-based), where the bad indentation is.
    assert " line 4 " in msg


def test_invalid_yaml_unclosed_flow_names_a_line(tmp_path):
    msg = error_of(write(tmp_path, "source: x\nenv: {A: 1\nhealth: {path: /}\n"))
    assert "not valid YAML" in msg
    assert " line " in msg


# -- shown() ---------------------------------------------------------------------------------


def test_shown_masks_secret_shaped_env(tmp_path):
    folder = write(
        tmp_path,
        """\
        source: https://example.test/r.git
        env:
          DB_PASSWORD: hunter2
          API_TOKEN: tok
          SECRET_KEY_BASE: skb
          smtp_passwd: pw
          PRIVATE_KEY: k
          aws_secret: s
          GREETING: hello
          DOMAIN: example.test
          PORT: 8080
        """,
    )
    shown = load_settings(folder).shown()
    env = shown["env"]
    for key in ("DB_PASSWORD", "API_TOKEN", "SECRET_KEY_BASE", "smtp_passwd", "PRIVATE_KEY", "aws_secret"):
        assert env[key] == MASK, key
    assert env["GREETING"] == "hello"
    assert env["DOMAIN"] == "example.test"
    assert env["PORT"] == "8080"
    text = repr(shown)
    for secret in ("hunter2", "'tok'", "skb", "'pw'", "'k'", "'s'"):
        assert secret not in text
    assert shown["source"] == "https://example.test/r.git"
    assert shown["deploy_timeout"] is None  # unset: the recipe's timeout label decides, else 120 s


def test_shown_does_not_change_settings():
    s = parse_settings("r", {"source": "x", "env": {"TOKEN": "t"}}, "r/ccci.yml")
    s.shown()
    assert s.env == {"TOKEN": "t"}


# -- resolve_source --------------------------------------------------------------------------


def test_resolve_relative_source(tmp_path):
    folder = write(tmp_path, "source: ../repos/demo\n", name="recipes/demo")
    s = load_settings(folder)
    assert resolve_source(s) == str((tmp_path / "recipes" / "repos" / "demo").resolve())


def test_resolve_dot_source(tmp_path):
    folder = write(tmp_path, "source: ./sub/../repo\n")
    assert resolve_source(load_settings(folder)) == str((folder / "repo").resolve())


@pytest.mark.parametrize(
    "source",
    [
        "https://git.coopcloud.tech/coop-cloud/n8n.git",
        "ssh://git@example.test/r.git",
        "file:///srv/repos/r.git",
        "git@git.coopcloud.tech:coop-cloud/n8n.git",
        "/srv/repos/demo",
    ],
)
def test_resolve_leaves_urls_and_absolute_paths(tmp_path, source):
    folder = write(tmp_path, f"source: '{source}'\n")
    assert resolve_source(load_settings(folder)) == source


def test_resolve_without_directory_leaves_relative():
    s = parse_settings("demo", {"source": "../x"}, "<test>")
    assert resolve_source(s) == "../x"


# -- enrolled --------------------------------------------------------------------------------


def test_enrolled_lists_only_folders_with_settings(tmp_path):
    write(tmp_path, "source: x\n", name="b")
    write(tmp_path, "not: even: valid: yaml: [\n", name="a")  # enrolled() reads no contents
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "README.md").write_text("not enrolled")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / SETTINGS_FILE).mkdir()  # a directory of that name is not a settings file
    (tmp_path / SETTINGS_FILE).write_text("source: x\n")  # a stray file at top level is not a folder
    assert enrolled(tmp_path) == ["a", "b"]


def test_enrolled_missing_dir(tmp_path):
    assert enrolled(tmp_path / "nope") == []


def test_overlay_found_beside_settings(tmp_path):
    folder = write(tmp_path, "source: x\n")
    assert load_settings(folder).overlay is None
    (folder / OVERLAY_FILE).write_text("services: {}\n")
    assert load_settings(folder).overlay == folder / OVERLAY_FILE


def test_a_recipe_may_say_its_images_are_never_pulled():
    assert parse_settings("r", {"source": "x", "pull": "never"}, "ccci.yml").pull == "never"
    assert parse_settings("r", {"source": "x"}, "ccci.yml").pull is None  # the ini decides
    with pytest.raises(RecipeError, match=r"^ccci.yml: pull must be one of missing, never, got 'sometimes'$"):
        parse_settings("r", {"source": "x", "pull": "sometimes"}, "ccci.yml")
