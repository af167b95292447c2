"""The deploy policy's review fixes (POLICY-2): a recipe env cannot steer the docker CLI, host
files reached through `env_file:` and COMPOSE_FILE are vetted before `docker stack config` reads
them, the engine socket is found behind any directory holding it, a bind-mount allowance names
its source path, objects the stack does not own are refused, memory 0 is unbounded, a token-only
URL userinfo is a secret, and one policy serves a whole deploy."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.compose import bound_memory, memory_limits
from pytest_ccci.model.policy import Allowance, DeployPolicy, findings, not_permitted
from pytest_ccci.model.secrets import MASK, fingerprints, holds_secret, mask_url, redact, url_password
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.run.deploy import Deployer, source_findings
from pytest_ccci.swarm import stack

ORIGIN = "recipes/r/ccci.yml"
STACK = "r_abc123"


def config(**service) -> dict:
    return {"services": {"app": {"image": "ccci/busybox:1.35.0", **service}}}


def kinds(cfg: dict, checkout: Path | str = ".", stack_name: str | None = STACK) -> list[tuple[str | None, str, str]]:
    return [(f.service, f.key, f.kind) for f in findings(cfg, checkout, stack_name)]


# -- A1: the deploy env cannot steer the docker CLI -----------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    """What run_cli hands subprocess.run; the runner has DOCKER_HOST unset unless a test sets it."""
    seen: dict = {}

    def run(args, env, **kwargs):
        seen.update(args=args, env=env)
        return SimpleNamespace(returncode=0, stdout="{}", stderr="")

    monkeypatch.setattr(stack.subprocess, "run", run)
    for var in ("DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"):
        monkeypatch.delenv(var, raising=False)
    return seen


@pytest.mark.parametrize(
    "name",
    ["LD_PRELOAD", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "https_proxy", "ALL_PROXY", "SSL_CERT_FILE"]
    + ["GODEBUG", "HOME", "PATH", "TMPDIR", "XDG_CONFIG_HOME", "PYTHONPATH", "GCONV_PATH", "DYLD_INSERT_LIBRARIES"],
)
def test_a_deploy_env_steering_the_cli_is_refused_naming_it(cli, tmp_path, name):
    env = {"DOMAIN": "d", name: "./evil.so"}
    with pytest.raises(RecipeError) as caught:
        stack.stack_config([tmp_path / "compose.yml"], env, tmp_path)
    assert name in str(caught.value) and "steers the docker CLI" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert cli == {}  # the CLI never ran


def test_a_recipes_own_names_pass(cli, tmp_path):
    env = {"DOMAIN": "d", "COMPOSE_FILE": "compose.yml", "LDAP_HOST": "x", "GOTIFY_VERSION": "1", "PATHNAME": "/p"}
    stack.stack_config([tmp_path / "compose.yml"], env, tmp_path)
    assert {k: cli["env"][k] for k in env} == env


def test_the_runners_settings_win_over_the_env(cli, monkeypatch, tmp_path):
    monkeypatch.setattr(stack, "STEERING_ENV", ())  # the refusal aside, the merge itself keeps the runner's
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/etc/runner-certs")
    stack.run_cli(["docker", "stack", "config"], {"DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": "./certs"}, tmp_path)
    assert cli["env"]["DOCKER_TLS_VERIFY"] == "1" and cli["env"]["DOCKER_CERT_PATH"] == "/etc/runner-certs"


def test_the_engine_host_is_always_explicit(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")  # docker-py ignores it: so does the CLI
    stack.run_cli(["docker", "stack", "config"], {}, tmp_path)
    assert cli["args"][-4:] == ["--host", "unix:///var/run/docker.sock", "stack", "config"]
    assert "--context" not in cli["args"] and "DOCKER_CONTEXT" not in cli["env"]


# -- A2: env_file and COMPOSE_FILE are vetted before the CLI reads them ---------------------------


def recipe_checkout(tmp_path: Path, compose: str, extra: dict[str, str] | None = None) -> SimpleNamespace:
    path = tmp_path / "checkout"
    path.mkdir(parents=True)
    (path / "compose.yml").write_text(compose)
    for name, text in (extra or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return SimpleNamespace(path=path)


def test_compose_file_entries_outside_the_checkout_are_found(tmp_path):
    checkout = recipe_checkout(tmp_path, "services: {}\n")
    up = "../" * 40  # past the file system's root: the host's /etc/passwd
    found = source_findings(checkout, {"COMPOSE_FILE": f"compose.yml:{up}etc/passwd:/etc/hostname"})
    assert [(f.service, f.key, f.kind) for f in found] == [(None, "COMPOSE_FILE", "outside-file")] * 2
    assert found[0].value == f"{up}etc/passwd (resolves to /etc/passwd)" and found[1].value == "/etc/hostname"


def test_env_files_outside_the_checkout_are_found_interpolated(tmp_path):
    compose = """\
services:
  app:
    env_file: [.env.app, /etc/passwd]
  db:
    env_file: ${CREDS}/credentials
  worker:
    env_file:
      - path: ./escape.env
        required: false
"""
    checkout = recipe_checkout(tmp_path, compose, {".env.app": "A=1\n"})
    os.symlink("/etc/hostname", checkout.path / "escape.env")
    found = source_findings(checkout, {"CREDS": "/root/.aws"})
    assert [(f.service, f.key, f.kind) for f in found] == [
        ("app", "env_file", "outside-file"),
        ("db", "env_file", "outside-file"),
        ("worker", "env_file", "outside-file"),
    ]
    assert [f.source for f in found] == ["/etc/passwd", "/root/.aws/credentials", "/etc/hostname"]


def test_env_files_inside_the_checkout_pass(tmp_path):
    checkout = recipe_checkout(tmp_path, "services:\n  app:\n    env_file: ./conf/app.env\n", {"conf/app.env": ""})
    assert source_findings(checkout, {}) == []


def test_lint_sees_an_env_file_outside_the_recipe(tmp_path):
    assert kinds(config(env_file="../../etc/shadow"), tmp_path) == [("app", "env_file", "outside-file")]


class RecordingSwarm:
    """A swarm whose `docker stack config` only records that it ran, and returns `merged`."""

    def __init__(self, merged: dict):
        self.merged, self.configs = merged, 0

    def stack_config(self, files, env, cwd):
        self.configs += 1
        return self.merged

    def image_present(self, image):
        return True  # nothing to pull: these tests stop at admission


class Admitted(Exception):
    """Raised by the admission: the deploy got past the policy."""


def deployment_of(tmp_path: Path, compose: str, swarm: RecordingSwarm, **kwargs):
    checkout = recipe_checkout(tmp_path, compose, {".env.sample": "DOMAIN=x\n"})
    settings = parse_settings("r", {"source": "https://example.invalid/r.git"}, ORIGIN)
    app = App.for_checkout(settings, "a" * 40, "ccci.test", "run")

    def admit(declared):
        raise Admitted

    deployer = Deployer(swarm, tmp_path / "run", vault=None)  # type: ignore[arg-type]
    return lambda: deployer.deploy(app, checkout, "chaos", admit, **kwargs)  # type: ignore[arg-type]


def test_a_deploy_reading_a_host_env_file_is_refused_before_stack_config(tmp_path):
    swarm = RecordingSwarm(config())
    deploy = deployment_of(tmp_path, "services:\n  app:\n    env_file: /etc/passwd\n", swarm)
    with pytest.raises(RecipeError) as caught:
        deploy()
    assert "service app env_file: /etc/passwd (a file outside the recipe checkout)" in str(caught.value)
    assert swarm.configs == 0  # nothing read any host file


# -- B5: one policy per deploy ------------------------------------------------------------------


def test_the_deploy_uses_the_policy_it_is_given(tmp_path):
    swarm = RecordingSwarm(config(ports=["8080:80"]))
    given = DeployPolicy((Allowance("published-ports", "app", "reviewed"),))
    with pytest.raises(Admitted):  # the given policy permits the port: the deploy goes on to admission
        deployment_of(tmp_path / "a", "services: {app: {}}\n", swarm, policy=given)()
    with pytest.raises(RecipeError, match="published-ports"):  # without it, the settings' (none) refuse it
        deployment_of(tmp_path / "b", "services: {app: {}}\n", swarm)()


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
