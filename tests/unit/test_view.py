"""One resolved view of a recipe (run/view.py): the checkout copied safely, the app env, the
compose files interpolated here, docker's own merge with no recipe env, abra's additions.

Each attack below asserts the safe verdict and that a canary value from outside the checkout
appears in no message and nothing of the view. The docker CLI runs `docker stack config`
without asking the engine.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.policy import DeployPolicy, not_permitted
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run import view as run_view
from pytest_ccci.run.view import build_view
from pytest_ccci.swarm import stack

CANARY = "ccci-canary-7f3a9b"
APP = "services:\n  app:\n    image: ccci/busybox:1.35.0\n"


class Recipe:
    """A recipe checkout written into tmp_path (`co/`), with a host file holding the canary
    beside it (outside the checkout), built into a view under `views/`."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.path = tmp_path / "co"
        self.path.mkdir()
        self.host_file = tmp_path / "host-secret.env"
        self.host_file.write_text(f"export CANARY={CANARY}\nTOKEN={CANARY}\n")
        self.dest = tmp_path / "views" / "r"

    def write(self, **files: str) -> Recipe:
        """Files by recipe-relative name, with their text."""
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return self

    def link(self, name: str, target: str | Path) -> Recipe:
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, self.path / name)
        return self

    def build(self, env: dict[str, str] | None = None) -> RecipeView:
        checkout = SimpleNamespace(path=self.path, head_sha="a" * 40, tags=())
        settings = parse_settings("r", {"source": "https://example.invalid/r.git", "env": env or {}}, "ccci.yml")
        app = App.for_checkout(settings, checkout.head_sha, "ccci.test", "run1")
        return build_view(checkout, app, self.dest)  # type: ignore[arg-type]  # a checkout: path, head_sha, tags

    def refused(self, env: dict[str, str] | None = None) -> str:
        """The one-line RecipeError building the view raises, checked to hold no canary."""
        with pytest.raises(RecipeError) as caught:
            self.build(env)
        said = str(caught.value)
        assert "\n" not in said and CANARY not in said, said
        return said


def files(recipe: Recipe, **extra: str) -> dict[str, str]:
    return {"compose.yml": APP, ".env.sample": "DOMAIN=x\n", **extra}


def everything(view: RecipeView) -> str:
    """All a reader of the view could see: its values, messages and the files in its directory."""
    copied = [p.read_text(errors="replace") for p in view.root.rglob("*") if p.is_file()]
    parts = [view.config, dict(view.env), view.findings, view.problem, view.raw_files, view.compose_files, copied]
    return repr(parts)


def assert_clean(view: RecipeView) -> None:
    assert CANARY not in everything(view)


@pytest.fixture
def recipe(tmp_path: Path) -> Recipe:
    return Recipe(tmp_path)


@pytest.fixture
def cli_calls(monkeypatch) -> list[dict[str, Any]]:
    """Each docker CLI run (its args and env), the real CLI still running."""
    calls: list[dict[str, Any]] = []
    real = subprocess.run

    def run(args, **kwargs):
        calls.append({"args": list(args), "env": dict(kwargs.get("env") or {})})
        return real(args, **kwargs)

    monkeypatch.setattr(stack.subprocess, "run", run)
    return calls


# -- the safe copy: symlinks out of the checkout are refused, never read -------------------------


def test_an_env_sample_linked_to_a_host_file_is_refused_unread(recipe):
    recipe.write(**{"compose.yml": APP}).link(".env.sample", recipe.host_file)
    said = recipe.refused()
    assert said.startswith(".env.sample: ") and "refused" in said


@pytest.mark.parametrize("target", ["/proc/self/environ", "/dev/zero"])
def test_an_env_sample_linked_to_a_special_file_is_refused_unread(recipe, target):
    recipe.write(**{"compose.yml": APP}).link(".env.sample", target)
    started = time.monotonic()
    said = recipe.refused()
    assert time.monotonic() - started < 2  # /dev/zero was never read
    assert said.startswith(".env.sample: ") and "refused" in said
    assert os.environ["PATH"] not in said


def test_an_abra_sh_linked_to_a_profile_outside_is_refused(recipe):
    recipe.write(**files(recipe)).link("abra.sh", recipe.host_file)
    said = recipe.refused()
    assert said.startswith("abra.sh: ") and "refused" in said


def test_abra_sh_exports_inside_the_checkout_reach_the_env(recipe):
    view = recipe.write(**files(recipe), **{"abra.sh": "export NGINX_CONF_VERSION=v2\nfoo() { :; }\n"}).build()
    assert view.env["NGINX_CONF_VERSION"] == "v2"


def test_a_compose_file_linked_out_is_refused_naming_it(recipe, cli_calls):
    recipe.write(**{".env.sample": "DOMAIN=x\n"}).link("compose.yml", recipe.host_file)
    view = recipe.build()
    assert view.config is None and "compose.yml" in (view.problem or "")
    assert [(f.key, f.kind) for f in view.findings] == [("COMPOSE_FILE", "outside-file")]
    assert view.findings[0].value.startswith("compose.yml (a symlink out of the checkout)")
    with pytest.raises(RecipeError, match="compose.yml"):
        view.require_config()
    assert cli_calls == []  # docker never read it either
    assert_clean(view)


def test_a_symlink_to_a_file_inside_the_checkout_is_copied(recipe):
    recipe.write(**{"compose.real.yml": APP, ".env.sample": "DOMAIN=x\n"}).link("compose.yml", "compose.real.yml")
    view = recipe.build()
    assert "app" in view.services
    copied = view.root / "compose.yml"
    assert not copied.is_symlink() and "ccci/busybox" in copied.read_text()


def test_a_directory_linked_out_is_refused_and_absent_from_the_view(recipe):
    recipe.write(**files(recipe)).link("conf", recipe.tmp)
    view = recipe.build()
    assert view.files.refused == {"conf": "a symlink out of the checkout"}
    assert not (view.root / "conf").exists()
    # Named by the folder the safe copy refused, not as a file that happens to be missing.
    with pytest.raises(
        RecipeError, match="^conf/host-secret.env: in conf, a symlink out of the checkout: refused, not read$"
    ) as caught:
        view.files.text("conf/host-secret.env")
    assert CANARY not in str(caught.value)
    assert_clean(view)


# -- COMPOSE_FILE and env_file outside the checkout: findings, nothing read ---------------------


@pytest.mark.parametrize("outside", ["../../host-secret.env", "/etc/hostname"])
def test_a_compose_file_outside_the_checkout_is_a_finding_and_unread(recipe, cli_calls, outside):
    # ../../ from the view's directory (views/r) and from the checkout's (co) both leave them.
    (recipe.tmp / "host-secret.env").write_text(f"services: {{app: {{image: {CANARY}}}}}\n")
    recipe.write(**files(recipe))
    view = recipe.build({"COMPOSE_FILE": f"compose.yml:{outside}"})
    assert view.config is None and view.raw_files == {}
    assert [(f.service, f.key, f.kind) for f in view.findings] == [(None, "COMPOSE_FILE", "outside-file")]
    assert outside in view.findings[0].value and "outside the checkout" in view.findings[0].value
    assert cli_calls == []
    assert_clean(view)


@pytest.mark.parametrize(
    "links",
    [
        {"d": "e", "e": "x/y/z"},  # a dangling chain: Python resolves it before `..`; Go joins lexically
        {"d": "sub/deeper"},
    ],
)
def test_an_env_file_through_a_dangling_symlink_and_dotdots_is_a_finding(recipe, cli_calls, links):
    # In the checkout, realpath("d/../../x") stays inside; docker's lexical join leaves it.
    (recipe.tmp / "views" / "host-secret.env").parent.mkdir(parents=True)
    (recipe.tmp / "views" / "host-secret.env").write_text(f"TOKEN={CANARY}\n")
    compose = APP + "    env_file: d/../../host-secret.env\n"
    recipe.write(**files(recipe, **{"compose.yml": compose}))
    for name, target in links.items():
        recipe.link(name, target)
    view = recipe.build()
    assert view.config is None
    assert [(f.service, f.key, f.kind) for f in view.findings] == [("app", "env_file", "outside-file")]
    assert cli_calls == []  # docker never read the env file
    assert_clean(view)


def test_an_env_file_inside_the_checkout_is_merged(recipe):
    compose = APP + "    env_file: ./conf/app.env\n"
    view = recipe.write(**files(recipe, **{"compose.yml": compose, "conf/app.env": "FROM_FILE=yes\n"})).build()
    assert view.findings == () and view.services["app"]["environment"]["FROM_FILE"] == "yes"


def test_an_env_file_as_binary_yaml_is_refused(recipe):
    compose = APP + "    env_file: !!binary L2V0Yy9wYXNzd2Q=\n"  # /etc/passwd
    said = recipe.write(**files(recipe, **{"compose.yml": compose})).refused()
    assert said.startswith("compose.yml: ") and "!!binary" in said


# -- bounds: aliases, sizes ----------------------------------------------------------------------


def alias_bomb() -> str:
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        levels.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join([*levels, "services: {app: {image: x, command: *g}}", ""])


def test_a_yaml_alias_bomb_is_refused_at_once(recipe, cli_calls):
    bomb = alias_bomb()
    assert len(bomb) < 400  # 9**7 strings once expanded
    recipe.write(**files(recipe, **{"compose.yml": bomb}))
    started = time.monotonic()
    said = recipe.refused()
    assert time.monotonic() - started < 1
    assert said.startswith("compose.yml: ") and "alias" in said
    assert cli_calls == []


def test_a_file_over_the_size_bound_is_refused_named(recipe, monkeypatch):
    monkeypatch.setattr(run_view, "MAX_FILE_BYTES", 1 << 20)
    big = APP + "# " + "x" * (1 << 20) + "\n"
    view = recipe.write(**files(recipe, **{"compose.yml": big})).build()
    assert view.config is None
    assert view.files.refused == {"compose.yml": "over 1 MiB"}
    assert [f.value for f in view.findings] == ["compose.yml (over 1 MiB)"]


def test_a_large_side_file_is_refused_and_named_when_read(recipe, monkeypatch):
    monkeypatch.setattr(run_view, "MAX_FILE_BYTES", 1 << 20)
    view = recipe.write(**files(recipe, **{"seed/dump.sql": "x" * ((1 << 20) + 1)})).build()
    assert "app" in view.services and not (view.root / "seed" / "dump.sql").exists()
    with pytest.raises(RecipeError, match=r"^seed/dump.sql: over 1 MiB: refused, not read$"):
        view.files.path("seed/dump.sql")


# -- the compose files: the enrollment's COMPOSE_FILE, docker's merge ----------------------------


def test_an_overlay_enabled_by_the_enrollment_env_is_merged_by_docker(recipe):
    compose = APP + "    environment:\n      - LISTED=1\n      - FROM_ENV\n"
    extra = "services:\n  app:\n    environment:\n      MAPPED: '2'\n  extra:\n    image: ccci/busybox:1.35.0\n"
    recipe.write(**files(recipe, **{"compose.yml": compose, "compose.extra.yml": extra}))
    recipe.write(**{".env.sample": "DOMAIN=x\nFROM_ENV=sample\n"})
    assert set(recipe.build().services) == {"app"}  # not enabled: not read
    view = recipe.build({"COMPOSE_FILE": "compose.yml:compose.extra.yml"})
    assert view.compose_files == ("compose.yml", "compose.extra.yml")
    assert set(view.services) == {"app", "extra"}
    environment = view.services["app"]["environment"]
    assert (environment["LISTED"], environment["MAPPED"], environment["FROM_ENV"]) == ("1", "2", "sample")


def test_a_recipes_settings_named_like_the_clis_reach_the_app_not_the_cli(recipe, cli_calls):
    sample = "DOMAIN=x\nDOCKER_HOST=tcp://203.0.113.9:2375\nPATH=/recipe/bin\nLD_PRELOAD=./evil.so\n"
    compose = APP + "    environment:\n      - DOCKER_HOST\n    command: ['echo', '${LD_PRELOAD}']\n"
    view = recipe.write(**files(recipe, **{"compose.yml": compose, ".env.sample": sample})).build()
    app = view.services["app"]
    assert app["environment"]["DOCKER_HOST"] == "tcp://203.0.113.9:2375"
    assert app["environment"]["PATH"] == "/recipe/bin" and app["command"] == ["echo", "./evil.so"]
    assert len(cli_calls) == 1
    said_to_cli = cli_calls[0]
    assert set(said_to_cli["env"]) <= set(stack.CLI_ENV)
    assert not {"PATH", "DOCKER_HOST", "LD_PRELOAD"} & set(said_to_cli["env"])
    assert "203.0.113.9" not in repr(said_to_cli) and "/recipe/bin" not in repr(said_to_cli)


def test_a_dollar_in_a_value_reaches_the_app_literally(recipe):
    sample = "DOMAIN=x\nPASSWORD_HINT='a$$b ${NOT_A_VAR}'\n"
    compose = APP + "    environment:\n      HINT: ${PASSWORD_HINT}\n"
    view = recipe.write(**files(recipe, **{"compose.yml": compose, ".env.sample": sample})).build()
    assert view.services["app"]["environment"]["HINT"] == view.env["PASSWORD_HINT"]


def test_nothing_names_the_views_directory(recipe):
    compose = """\
services:
  app:
    image: ccci/busybox:1.35.0
    volumes: ['./data:/data']
    configs: [conf]
configs:
  conf:
    file: ./conf/app.conf
secrets:
  key:
    file: ./key.txt
"""
    view = recipe.write(**files(recipe, **{"compose.yml": compose, "conf/app.conf": "x\n"})).build()
    root = str(view.root)
    assert root not in repr(view.config) and root not in repr(view.findings)
    assert view.services["app"]["volumes"][0]["source"] == "./data"
    assert view.config is not None
    assert view.config["configs"]["conf"]["file"] == "./conf/app.conf"
    assert view.config["secrets"]["key"]["file"] == "./key.txt"


def test_dockers_rejection_names_the_file_not_the_views_directory(recipe):
    said = recipe.write(**files(recipe, **{"compose.yml": APP + "    bogus: 1\n"})).refused()
    assert "docker rejected its compose files (compose.yml)" in said and "bogus" in said
    assert str(recipe.dest) not in said


# -- abra's additions ---------------------------------------------------------------------------


def test_a_valueless_entry_takes_the_app_envs_value_and_only_app_gets_the_whole_env(recipe):
    compose = APP + (
        "    environment: [SMTP_HOST, UNSET_NAME]\n"
        "  db:\n    image: ccci/busybox:1.35.0\n    environment: [SMTP_HOST, DB_ONLY=1]\n"
    )
    sample = "DOMAIN=x\nSMTP_HOST=mail.example\nOTHER=o\n"
    view = recipe.write(**files(recipe, **{"compose.yml": compose, ".env.sample": sample})).build()
    app, db = view.services["app"]["environment"], view.services["db"]["environment"]
    assert app["SMTP_HOST"] == db["SMTP_HOST"] == "mail.example"
    assert app["UNSET_NAME"] is None  # compose and abra leave it unset
    assert {name: app[name] for name in view.env} == dict(view.env)  # ExposeAllEnv: app has it all
    assert db == {"SMTP_HOST": "mail.example", "DB_ONLY": "1"}  # and only app


def test_the_app_env_is_abras_order(recipe):
    recipe.write(**files(recipe, **{".env.sample": "DOMAIN=x\nA=sample\nB=sample\nC=sample\n"}))
    recipe.write(**{"abra.sh": "export B=abra\nexport C=abra\n"})
    view = recipe.build({"C": "enrollment"})
    assert (view.env["A"], view.env["B"], view.env["C"]) == ("sample", "abra", "enrollment")
    assert (view.env["TYPE"], view.env["DOMAIN"], view.env["STACK_NAME"]) == ("r", view.domain, view.stack)


# -- review fixes: reserved names, git's own files, allowed outside files -------------------------


def test_a_checkout_file_named_like_the_enrollments_overlay_is_refused(recipe):
    """A ref may not ship the file the enrollment's compose.ccci.yml becomes in the view, nor list
    it in COMPOSE_FILE to take the operator's overlay's place in the merge."""
    recipe.write(**files(recipe, **{run_view.OVERLAY_NAME: APP}))
    view = recipe.build(env={"COMPOSE_FILE": f"compose.yml:{run_view.OVERLAY_NAME}"})
    assert view.files.refused == {run_view.OVERLAY_NAME: run_view.RESERVED}
    assert view.config is None and [f.key for f in view.findings] == ["COMPOSE_FILE"]


def test_a_symlink_into_the_checkouts_git_is_refused(recipe):
    recipe.write(**files(recipe))
    (recipe.path / ".git").mkdir()
    (recipe.path / ".git" / "config").write_text(f"[remote]\n url = {CANARY}\n")
    recipe.link("gitconfig", ".git/config")
    view = recipe.build()
    assert view.files.refused == {"gitconfig": "a symlink into the checkout's .git"}
    assert_clean(view)


def test_an_allowed_outside_env_file_is_read_by_docker_and_kept_as_a_finding(recipe):
    host_env = recipe.tmp / "fixture.env"
    host_env.write_text("FROM_HOST=1\n")
    recipe.write(**files(recipe, **{"compose.yml": APP + f"    env_file: {host_env}\n"}))
    checkout = SimpleNamespace(path=recipe.path, head_sha="a" * 40, tags=())
    allow = [{"kind": "outside-file", "service": "app", "source": str(host_env), "reason": "operator's fixture"}]
    settings = parse_settings("r", {"source": "https://example.invalid/r.git", "allow": allow}, "ccci.yml")
    app = App.for_checkout(settings, checkout.head_sha, "ccci.test", "run1")
    view = build_view(checkout, app, recipe.dest, DeployPolicy(settings.allow))  # type: ignore[arg-type]
    assert view.services["app"]["environment"]["FROM_HOST"] == "1"
    assert {f.kind for f in view.findings} == {"outside-file"}
    assert not not_permitted(view.findings, settings.allow)
