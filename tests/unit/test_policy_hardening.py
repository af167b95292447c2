"""The deploy policy's review fixes (POLICY-2): a recipe env never reaches the docker CLI (only
the runner's CLI_ENV does), host files reached through `env_file:` and COMPOSE_FILE are vetted
in the recipe's view (run/view.py) before `docker stack config` reads them, the engine socket is
found behind any directory holding it, a bind-mount allowance names its source path, objects the
stack does not own are refused, memory 0 is unbounded, a token-only URL userinfo is a secret, and
one policy serves a whole deploy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.compose import bound_memory, memory_limits
from pytest_ccci.model.policy import Allowance, DeployPolicy, findings, not_permitted
from pytest_ccci.model.secrets import MASK, fingerprints, holds_secret, mask_url, redact, url_password
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.model.view import RecipeView
from pytest_ccci.run.deploy import Deployer
from pytest_ccci.run.view import build_view
from pytest_ccci.swarm import stack

ORIGIN = "recipes/r/ccci.yml"
STACK = "r_abc123"


def config(**service) -> dict:
    return {"services": {"app": {"image": "ccci/busybox:1.35.0", **service}}}


def kinds(cfg: dict, checkout: Path | str = ".", stack_name: str | None = STACK) -> list[tuple[str | None, str, str]]:
    return [(f.service, f.key, f.kind) for f in findings(cfg, checkout, stack_name)]


# -- A1: a recipe's env never reaches the docker CLI ----------------------------------------------


def recipe_checkout(tmp_path: Path, compose: str, extra: dict[str, str] | None = None) -> SimpleNamespace:
    path = tmp_path / "checkout"
    path.mkdir(parents=True)
    (path / "compose.yml").write_text(compose)
    for name, text in (extra or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return SimpleNamespace(path=path, head_sha="a" * 40, tags=())


def app_of(env: dict[str, str] | None = None) -> App:
    raw = {"source": "https://example.invalid/r.git", "env": env or {}}
    return App.for_checkout(parse_settings("r", raw, ORIGIN), "a" * 40, "ccci.test", "run")


def view_of(tmp_path: Path, compose: str, extra: dict[str, str] | None = None, env: dict | None = None) -> RecipeView:
    checkout = recipe_checkout(tmp_path, compose, {".env.sample": "DOMAIN=x\n", **(extra or {})})
    return build_view(checkout, app_of(env), tmp_path / "views" / "r")  # type: ignore[arg-type]


@pytest.fixture
def cli(monkeypatch):
    """What run_cli hands subprocess.run (which says `{}`); the runner has DOCKER_HOST unset
    unless a test sets it."""
    seen: dict = {}

    def run(args, env, **kwargs):
        seen.update(args=args, env=env)
        return SimpleNamespace(returncode=0, stdout="{}", stderr="")

    monkeypatch.setattr(stack.subprocess, "run", run)
    for var in ("DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"):
        monkeypatch.delenv(var, raising=False)
    return seen


@pytest.fixture
def real_cli(monkeypatch):
    """Each run of the real docker CLI, recorded (its args and env)."""
    calls: list[dict] = []
    real = subprocess.run

    def run(args, **kwargs):
        calls.append({"args": list(args), "env": dict(kwargs.get("env") or {})})
        return real(args, **kwargs)

    monkeypatch.setattr(stack.subprocess, "run", run)
    return calls


STEERING = ["LD_PRELOAD", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "https_proxy", "ALL_PROXY"]
STEERING += ["SSL_CERT_FILE", "GODEBUG", "HOME", "PATH", "TMPDIR", "XDG_CONFIG_HOME", "PYTHONPATH", "GCONV_PATH"]


@pytest.mark.parametrize("name", [*STEERING, "DYLD_INSERT_LIBRARIES"])
def test_a_recipe_env_naming_what_steers_the_cli_is_the_apps_only(real_cli, tmp_path, name):
    # Before: refused by name (STEERING_ENV). Now the CLI never sees a recipe's env: the name is
    # the app's business, interpolated by us.
    compose = "services:\n  app:\n    image: ccci/busybox:1.35.0\n    command: ['${" + name + "}']\n"
    view = view_of(tmp_path, compose, {".env.sample": f"DOMAIN=x\n{name}=./evil.so\n"})
    assert view.services["app"]["command"] == ["./evil.so"]
    assert view.services["app"]["environment"][name] == "./evil.so"
    assert [set(call["env"]) <= set(stack.CLI_ENV) for call in real_cli] == [True]
    assert "./evil.so" not in repr(real_cli) and name not in real_cli[0]["env"]


def test_the_clis_env_is_the_runners_cli_env_whatever_the_recipe_sets(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/etc/runner-certs")
    monkeypatch.setenv("CI_JOB_TOKEN", "runner-secret")
    env = {"DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": "./certs", "LDAP_HOST": "x", "PATHNAME": "/p"}
    view_of(tmp_path, "services: {}\n", env=env)
    assert cli["env"] == {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/etc/runner-certs"}


def test_the_engine_host_is_always_explicit(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")  # docker-py ignores it: so does the CLI
    stack.run_cli(["docker", "stack", "config"], tmp_path)
    assert cli["args"][-4:] == ["--host", "unix:///var/run/docker.sock", "stack", "config"]
    assert "--context" not in cli["args"] and "DOCKER_CONTEXT" not in cli["env"]


# -- A2: env_file and COMPOSE_FILE are vetted before the CLI reads them ---------------------------


def test_compose_file_entries_outside_the_checkout_are_found(real_cli, tmp_path):
    up = "../" * 40  # past the file system's root: the host's /etc/passwd
    view = view_of(tmp_path, "services: {}\n", env={"COMPOSE_FILE": f"compose.yml:{up}etc/passwd:/etc/hostname"})
    assert [(f.service, f.key, f.kind) for f in view.findings] == [(None, "COMPOSE_FILE", "outside-file")] * 2
    assert [f.value for f in view.findings] == [
        f"{up}etc/passwd (outside the checkout)",
        "/etc/hostname (outside the checkout)",
    ]
    assert view.config is None and real_cli == []  # nothing read them


def test_env_files_outside_the_checkout_are_found_interpolated(real_cli, tmp_path):
    compose = """\
services:
  app:
    env_file: [.env.app, /etc/passwd]
  db:
    env_file: ${CREDS}/credentials
"""
    view = view_of(tmp_path, compose, {".env.app": "A=1\n"}, env={"CREDS": "/root/.aws"})
    assert [(f.service, f.key, f.kind) for f in view.findings] == [
        ("app", "env_file", "outside-file"),
        ("db", "env_file", "outside-file"),
    ]
    assert [f.source for f in view.findings] == ["/etc/passwd", "/root/.aws/credentials"]
    assert view.config is None and real_cli == []


def test_an_env_file_linked_out_of_the_checkout_is_a_finding_before_docker_reads(real_cli, tmp_path):
    checkout_file = "services:\n  app:\n    image: ccci/busybox:1.35.0\n    env_file: ./escape.env\n"
    checkout = recipe_checkout(tmp_path, checkout_file, {".env.sample": "DOMAIN=x\n"})
    os.symlink("/etc/hostname", checkout.path / "escape.env")
    view = build_view(checkout, app_of(), tmp_path / "views" / "r")  # type: ignore[arg-type]
    assert view.config is None and real_cli == []  # docker's CLI never ran
    assert [(f.service, f.key, f.value, f.kind) for f in view.findings] == [
        ("app", "env_file", "./escape.env (a symlink out of the checkout)", "outside-file")
    ]
    assert Path("/etc/hostname").read_text().strip() not in view.findings[0].describe()


def test_env_files_inside_the_checkout_pass(tmp_path):
    compose = "services:\n  app:\n    image: ccci/busybox:1.35.0\n    env_file: ./conf/app.env\n"
    view = view_of(tmp_path, compose, {"conf/app.env": "FROM_FILE=1\n"})
    assert view.findings == () and view.services["app"]["environment"]["FROM_FILE"] == "1"


def test_lint_sees_an_env_file_outside_the_recipe(tmp_path):
    assert kinds(config(env_file="../../etc/shadow"), tmp_path) == [("app", "env_file", "outside-file")]


class NoPullSwarm:
    """A swarm with every image: these tests stop at admission (the deployer's view is merged by
    the real docker CLI, which `real_cli` records)."""

    def image_present(self, image):
        return True


class Admitted(Exception):
    """Raised by the admission: the deploy got past the policy."""


def deployment_of(tmp_path: Path, compose: str, **kwargs):
    checkout = recipe_checkout(tmp_path, compose, {".env.sample": "DOMAIN=x\n"})

    def admit(declared):
        raise Admitted

    deployer = Deployer(NoPullSwarm(), tmp_path / "run", vault=None)  # type: ignore[arg-type]
    return lambda: deployer.deploy(app_of(), checkout, "chaos", admit, **kwargs)  # type: ignore[arg-type]


def test_a_deploy_reading_a_host_env_file_is_refused_before_stack_config(real_cli, tmp_path):
    deploy = deployment_of(tmp_path, "services:\n  app:\n    env_file: /etc/passwd\n")
    with pytest.raises(RecipeError) as caught:
        deploy()
    assert "service app env_file: /etc/passwd (a file outside the recipe checkout)" in str(caught.value)
    assert real_cli == []  # docker's CLI never ran: nothing read any host file


# -- B5: one policy per deploy ------------------------------------------------------------------


def test_the_deploy_uses_the_policy_it_is_given(tmp_path):
    compose = "services:\n  app:\n    image: ccci/busybox:1.35.0\n    ports: ['8080:80']\n"
    given = DeployPolicy((Allowance("published-ports", "app", "reviewed"),))
    with pytest.raises(Admitted):  # the given policy permits the port: the deploy goes on to admission
        deployment_of(tmp_path / "a", compose, policy=given)()
    with pytest.raises(RecipeError, match="published-ports"):  # without it, the settings' (none) refuse it
        deployment_of(tmp_path / "b", compose)()


# -- A5: memory 0 is unbounded ------------------------------------------------------------------


@pytest.mark.parametrize("zero", [0, "0", "0M"])
def test_a_memory_limit_of_zero_is_bounded(zero):
    cfg = config(deploy={"resources": {"limits": {"memory": zero}}})
    assert memory_limits(cfg) == {"app": None}  # swarm reads 0 as unlimited
    assert memory_limits(bound_memory(cfg, 128)) == {"app": 128}


# -- A9: a token-only userinfo is a secret ------------------------------------------------------


def test_a_token_only_userinfo_is_masked_and_scanned():
    token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    url = f"https://{token}@github.com/org/r.git"
    assert mask_url(url) == f"https://{MASK}@github.com/org/r.git"
    assert url_password(url) == [token]
    said = f"fatal: unable to access '{url}/': The requested URL returned error: 403"
    assert token not in redact(said, url_password(url))
    assert holds_secret(said, fingerprints(url_password(url)))


def test_a_short_login_name_is_masked_but_not_redacted_everywhere():
    assert mask_url("ssh://git@host:22/r.git") == f"ssh://{MASK}@host:22/r.git"
    assert url_password("ssh://git@host:22/r.git") == []  # "git" in every text is no leak


# -- A3: the engine socket behind a directory; bind-mount allowances name their source -----------


@pytest.mark.parametrize("source", ["/", "/run", "/var/run", "/var", "/var/lib/docker", "/run/containerd", "//run/"])
def test_a_directory_holding_the_engine_socket_is_the_engine_socket(source):
    assert kinds(config(volumes=[f"{source}:/host"])) == [("app", "volumes", "engine-socket")]


def test_a_symlink_in_the_checkout_to_the_root_is_the_engine_socket(tmp_path):
    os.symlink("/", tmp_path / "data")
    found = findings(config(volumes=["./data:/data"]), tmp_path)
    assert [(f.kind, f.source) for f in found] == [("engine-socket", "/")]
    assert "(resolves to /)" in found[0].value


def test_a_named_volume_binding_the_root_is_the_engine_socket():
    cfg = config(volumes=["root:/r"])
    cfg["volumes"] = {"root": {"driver_opts": {"type": "none", "o": "bind", "device": "/"}}}
    assert kinds(cfg) == [("app", "volumes.root.driver_opts", "engine-socket")]


@pytest.mark.parametrize(
    ("bind", "permitted"),
    [
        ("/srv/media:/m", True),
        ("/srv/media/films:/f:ro", True),
        ("/srv/mediaX:/m", False),
        ("/etc:/etc", False),
        ("/:/host", False),  # the engine socket: no bind-mount allowance covers it
    ],
)
def test_a_bind_mount_allowance_covers_its_source_only(bind, permitted):
    allow = [Allowance("bind-mount", "app", "reviewed media", source="/srv/media")]
    assert not_permitted(findings(config(volumes=[bind]), "."), allow) == (
        [] if permitted else findings(config(volumes=[bind]), ".")
    )


def test_a_relative_source_covers_the_same_path_for_lint_and_deploy(tmp_path):
    allow = [Allowance("bind-mount", "app", "its own fixtures", source="./fixtures")]
    lint = config(volumes=["./fixtures/seed:/seed"])
    deploy = config(volumes=[{"type": "bind", "source": str(tmp_path / "fixtures" / "seed"), "target": "/seed"}])
    elsewhere = config(volumes=["./data:/data"])
    assert not_permitted(findings(lint, tmp_path), allow) == []
    assert not_permitted(findings(deploy, tmp_path), allow) == []
    assert [f.source for f in not_permitted(findings(elsewhere, tmp_path), allow)] == ["data"]


def settings(allow):
    return parse_settings("r", {"source": "https://example.invalid/r.git", "allow": allow}, ORIGIN)


def test_an_allowance_source_is_read_and_shown():
    got = settings([{"kind": "bind-mount", "service": "app", "source": "/srv/media", "reason": "media"}])
    assert got.allow == (Allowance("bind-mount", "app", "media", source="/srv/media"),)
    assert got.shown()["allow"][0]["source"] == "/srv/media"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"kind": "bind-mount", "service": "app", "reason": "x"}, "allow[0].source: is required for bind-mount"),
        ({"kind": "bind-mount", "service": "app", "reason": "x", "source": " "}, "allow[0].source is required"),
        ({"kind": "privileged", "service": "app", "reason": "x", "source": "/"}, "allow[0].source: privileged"),
    ],
)
def test_a_bad_allowance_source_is_one_line(entry, expected):
    with pytest.raises(RecipeError) as caught:
        settings([entry])
    assert str(caught.value).startswith(f"{ORIGIN}: {expected}")


# -- A4: objects the stack does not own ---------------------------------------------------------


def test_volumes_and_configs_outside_the_stack_are_foreign():
    cfg = config(volumes=["other:/o", "ext:/e", "plugin:/p", "own:/own", "own_ext:/oe"], configs=["shared", "mine"])
    cfg["volumes"] = {
        "other": {"name": "n8n_abc123_data"},  # another recipe's volume: stack names are predictable
        "ext": {"external": True},
        "plugin": {"driver": "rexray/ebs"},
        "own": {"name": f"{STACK}_own"},
        "own_ext": {"external": {"name": f"{STACK}_ext"}},
        "unused": {"external": True},  # no service mounts it: nothing reaches it
    }
    cfg["configs"] = {"shared": {"external": True}, "mine": {"external": True, "name": f"{STACK}_mine"}}
    found = findings(cfg, ".", STACK)
    assert [(f.key, f.value, f.kind) for f in found] == [
        ("volumes.other", "name n8n_abc123_data", "foreign-object"),
        ("volumes.ext", "external name ext", "foreign-object"),
        ("volumes.plugin.driver", "rexray/ebs", "foreign-object"),
        ("configs.shared", "external name shared", "foreign-object"),
    ]
    assert not_permitted(found, [Allowance("foreign-object", "app", "reviewed")]) == []
