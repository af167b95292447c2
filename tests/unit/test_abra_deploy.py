"""abra's deploy behaviours (model/abra.py): env exposure, valueless entries, the timeout label,
the secrets abra generates, the autoupdate label; and the `docker stack config` shapes they read."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.abra import (
    auto_update,
    environment_from_env,
    environment_mapping,
    expose_all_env,
    secrets_to_generate,
    timeout_label,
)
from pytest_ccci.model.envfile import SecretSpec, parse_env_sample
from pytest_ccci.model.naming import deploy_labels

STACK = "stk"


def app_config(environment=None, labels=None, **extra) -> dict:
    app: dict = {"image": "nginx:1"}
    if environment is not None:
        app["environment"] = environment
    if labels is not None:
        app["deploy"] = {"labels": labels}
    return {"services": {"app": app, **extra}}


def app_env(config: dict):
    return config["services"]["app"].get("environment")


# --- expose_all_env (abra's ExposeAllEnv) ------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "env", "expected"),
    [
        ({}, {"A": "1"}, {"A": "1"}),
        (None, {"A": "1"}, {"A": "1"}),  # no environment key at all
        ({"A": "mine"}, {"A": "env", "B": "2"}, {"A": "mine", "B": "2"}),  # the service's own value wins
        ({"A": ""}, {"A": "env"}, {"A": ""}),  # an empty value is a value
        ({"A": None}, {"A": "env"}, {"A": "env"}),  # valueless: abra filled it at load time
        (["A=mine", "B"], {"A": "env", "B": "b", "C": "c"}, {"A": "mine", "B": "b", "C": "c"}),  # list form
        ({"A": "1"}, {}, {"A": "1"}),
    ],
)
def test_expose_all_env_adds_what_app_lacks(environment, env, expected):
    assert app_env(expose_all_env(app_config(environment), env)) == expected


def test_expose_all_env_touches_only_app_and_never_its_input():
    config = app_config({"A": "1"}, db={"image": "postgres", "environment": {"X": "y"}})
    before = copy.deepcopy(config)
    out = expose_all_env(config, {"B": "2"})
    assert out["services"]["db"]["environment"] == {"X": "y"}
    assert app_env(out) == {"A": "1", "B": "2"}
    assert config == before


def test_expose_all_env_without_an_app_service_changes_nothing():
    config = {"services": {"web": {"image": "x"}}}
    assert expose_all_env(config, {"A": "1"}) == config


# --- environment_from_env (valueless entries) ------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "env", "expected"),
    [
        ({"DB_QUERY_TIMEOUT": None}, {"DB_QUERY_TIMEOUT": "30"}, {"DB_QUERY_TIMEOUT": "30"}),
        (["DB_QUERY_TIMEOUT", "FOO=bar"], {"DB_QUERY_TIMEOUT": "30"}, {"DB_QUERY_TIMEOUT": "30", "FOO": "bar"}),
        ({"MISSING": None}, {}, {"MISSING": None}),  # kept valueless, as compose leaves it
        (["MISSING"], {"OTHER": "x"}, {"MISSING": None}),  # and only named entries are filled
        ({"A": "set"}, {"A": "env"}, {"A": "set"}),
        ({"A": ""}, {"A": "env"}, {"A": ""}),
        (["A="], {"A": "env"}, {"A": ""}),  # "A=" has an (empty) value
        ({"PORT": 8080, "ON": True}, {}, {"PORT": "8080", "ON": "true"}),  # YAML scalars as strings
    ],
)
def test_environment_from_env_fills_valueless_entries(environment, env, expected):
    assert app_env(environment_from_env(app_config(environment), env)) == expected


def test_environment_from_env_fills_every_service_and_adds_nothing():
    config = app_config({"A": None}, db={"image": "postgres", "environment": ["B"]}, cache={"image": "redis"})
    out = environment_from_env(config, {"A": "1", "B": "2", "C": "3"})
    assert app_env(out) == {"A": "1"}
    assert out["services"]["db"]["environment"] == {"B": "2"}
    assert "environment" not in out["services"]["cache"]
    assert app_env(config) == {"A": None}  # the input is not changed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, {}), ([], {}), (["A=b=c", "D"], {"A": "b=c", "D": None}), ({"A": None}, {"A": None})],
)
def test_environment_mapping(raw, expected):
    assert environment_mapping(raw) == expected


# --- timeout_label (abra's GetTimeoutFromLabel) ------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"coop-cloud.stk.timeout": "300"}, 300),  # `${TIMEOUT:-300}` as `docker stack config` prints it
        ({"coop-cloud.stk.timeout": 120}, 120),  # unquoted YAML int
        (["coop-cloud.stk.timeout=60"], 60),  # list form
        ({"coop-cloud.other.timeout": "300"}, None),  # another stack's label
        ({"traefik.enable": "true"}, None),
        (None, None),
    ],
)
def test_timeout_label(labels, expected):
    assert timeout_label(app_config(labels=labels), STACK) == expected


@pytest.mark.parametrize("value", ["5m", "", "0", "-10", "1.5"])
def test_a_timeout_label_that_is_not_a_positive_integer_is_an_error(value):
    config = app_config(labels={"coop-cloud.stk.timeout": value})
    with pytest.raises(RecipeError, match=rf"coop-cloud\.stk\.timeout='{re.escape(value)}'") as caught:
        timeout_label(config, STACK)
    assert "\n" not in str(caught.value)


def test_timeout_label_reads_only_the_app_service():
    config = {"services": {"db": {"deploy": {"labels": {"coop-cloud.stk.timeout": "5m"}}}}}
    assert timeout_label(config, STACK) is None


# --- auto_update (abra's SetUpdateLabel) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "false"), ({"ENABLE_AUTO_UPDATE": "true"}, "true"), ({"ENABLE_AUTO_UPDATE": ""}, "")],
)
def test_auto_update_label_value_from_the_env(env, expected):
    labels = deploy_labels(STACK, "hello", version="1.0.0", chaos=None, auto_update=auto_update(env))
    assert labels["coop-cloud.stk.autoupdate"] == expected


# --- secrets_to_generate (abra's secret.ReadSecretsConfig) ------------------------------------


def secret_config(*keys: str, used: tuple[str, ...] | None = None, stack: str = STACK, **extra) -> dict:
    """A merged config as `docker stack config` prints a catalogue recipe's secrets."""
    used = keys if used is None else used
    secrets = {key: {"external": True, "name": f"{stack}_{key}_v1"} for key in keys}
    config = app_config()
    config["services"]["app"]["secrets"] = [{"source": key} for key in used]
    config["secrets"] = {**secrets, **extra}
    return config


SAMPLE = """\
TYPE=demo
SECRET_DB_PASSWORD_VERSION=v1 # length=64 charset=special-chars
SECRET_API_KEY_VERSION=v1 # generate=false lenght=12
#SECRET_SMTP_PASSWORD_VERSION=v1 # length=48
"""


@pytest.mark.parametrize(
    ("keys", "env", "expected"),
    [
        (
            ("db_password",),
            {"SECRET_DB_PASSWORD_VERSION": "v1"},
            [SecretSpec("db_password", "v1", 64, "special-chars", swarm_name="stk_db_password_v1")],
        ),
        (  # generate=false is recorded, still generated; the misspelt modifier is kept visible
            ("api_key",),
            {"SECRET_API_KEY_VERSION": "v1"},
            [
                SecretSpec(
                    "api_key",
                    "v1",
                    generate=False,
                    swarm_name="stk_api_key_v1",
                    unknown_modifiers=("lenght=12",),
                )
            ],
        ),
        (  # enabled only through the env: modifiers from the sample's commented line
            ("smtp_password",),
            {"SECRET_SMTP_PASSWORD_VERSION": "v1"},
            [SecretSpec("smtp_password", "v1", 48, swarm_name="stk_smtp_password_v1")],
        ),
        (  # declared nowhere in the sample: the defaults
            ("extra",),
            {"SECRET_EXTRA_VERSION": "v1"},
            [SecretSpec("extra", "v1", 32, "default", swarm_name="stk_extra_v1")],
        ),
    ],
)
def test_secrets_to_generate(keys, env, expected):
    assert secrets_to_generate(secret_config(*keys), env, SAMPLE, STACK) == expected


def test_the_version_comes_from_the_app_env_not_the_sample():
    env = {"SECRET_DB_PASSWORD_VERSION": "v7"}
    config = secret_config("db_password")
    config["secrets"]["db_password"]["name"] = "stk_db_password_v7"
    (spec,) = secrets_to_generate(config, env, parse_env_sample(SAMPLE), STACK)
    assert (spec.version, spec.swarm_name, spec.length) == ("v7", "stk_db_password_v7", 64)


def test_secrets_docker_creates_or_no_service_uses_are_not_generated():
    config = secret_config(
        "db_password",
        "unused",
        used=("db_password", "from_file"),
        from_file={"file": "/tmp/x"},
    )
    env = {"SECRET_DB_PASSWORD_VERSION": "v1"}  # "unused" has no version: not needed, no error
    assert [s.name for s in secrets_to_generate(config, env, SAMPLE, STACK)] == ["db_password"]


def test_a_short_form_service_secret_counts_as_used():
    config = secret_config("db_password", used=())
    config["services"]["app"]["secrets"] = ["db_password"]
    assert secrets_to_generate(config, {"SECRET_DB_PASSWORD_VERSION": "v1"}, SAMPLE, STACK)


@pytest.mark.parametrize("env", [{}, {"SECRET_DB_PASSWORD_VERSION": ""}])
def test_a_missing_version_names_the_secret_and_the_variable(env):
    with pytest.raises(RecipeError, match=r"secret db_password .*SECRET_DB_PASSWORD_VERSION is not set"):
        secrets_to_generate(secret_config("db_password"), env, SAMPLE, STACK)


def test_an_unknown_charset_is_one_line_naming_file_line_value_and_known_values():
    sample = parse_env_sample("TYPE=x\n# SECRET_TOKEN_VERSION=v1 # charset=hex\n", "recipe/.env.sample")
    with pytest.raises(RecipeError) as caught:
        secrets_to_generate(secret_config("token"), {"SECRET_TOKEN_VERSION": "v1"}, sample, STACK)
    assert str(caught.value) == (
        "recipe/.env.sample:2: SECRET_TOKEN_VERSION has charset='hex': abra knows default, special-chars"
    )


def test_an_unknown_charset_on_an_active_line_fails_at_load():
    with pytest.raises(RecipeError, match=r"^\.env\.sample:1: SECRET_T_VERSION has charset='hex'"):
        parse_env_sample("SECRET_T_VERSION=v1 # charset=hex")


@pytest.mark.parametrize("generate", ["no", "0"])
def test_an_unknown_generate_value_is_an_error(generate):
    sample = f"SECRET_T_VERSION=v1 # generate={generate}"
    with pytest.raises(RecipeError, match=rf":1: SECRET_T_VERSION has generate='{generate}'"):
        parse_env_sample(sample)


def test_a_secret_name_docker_would_refuse_is_an_error_naming_the_secret():
    stack = "s" * 45
    config = secret_config("db_password_long", stack=stack)
    with pytest.raises(RecipeError, match=r"secret db_password_long: its name s+_db_password_long_v1 is 65"):
        secrets_to_generate(config, {"SECRET_DB_PASSWORD_LONG_VERSION": "v1"}, SAMPLE, stack)
    config = secret_config("db_password_lon", stack=stack)  # 64 characters: allowed
    assert secrets_to_generate(config, {"SECRET_DB_PASSWORD_LON_VERSION": "v1"}, SAMPLE, stack)


# --- the `docker stack config` shapes these functions read -----------------------------------


def _docker_with_stack_config() -> str | None:
    for candidate in ("/usr/local/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run([candidate, "stack", "config", "--help"], capture_output=True, text=True)
            if probe.returncode == 0:
                return candidate
    return None


COMPOSE = """\
version: "3.8"
services:
  app:
    image: nginx:1
    environment:
      - DB_QUERY_TIMEOUT
      - FOO=bar
    secrets: [db_password]
    deploy:
      labels:
        - "coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}"
secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
"""


def test_docker_stack_config_output_has_the_shapes_relied_on(tmp_path: Path):
    docker = _docker_with_stack_config()
    if docker is None:
        pytest.skip("no docker CLI with `stack config` (/usr/local/bin/docker or on PATH)")
    (tmp_path / "compose.yml").write_text(COMPOSE)
    env = {"STACK_NAME": STACK, "SECRET_DB_PASSWORD_VERSION": "v1"}  # and nothing else: `env -i`
    done = subprocess.run(
        [docker, "--host", "unix:///nonexistent", "stack", "config", "-c", "compose.yml"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    # list-form environment becomes a mapping; a valueless entry is null with an empty process env
    assert app_env(config) == {"DB_QUERY_TIMEOUT": None, "FOO": "bar"}
    # deploy.labels become a mapping, interpolated; the timeout label's default arrives as "300"
    assert config["services"]["app"]["deploy"]["labels"] == {"coop-cloud.stk.timeout": "300"}
    assert config["secrets"] == {"db_password": {"name": "stk_db_password_v1", "external": True}}
    # and the functions read that output
    app_env_values = {**env, "DB_QUERY_TIMEOUT": "30"}
    assert app_env(environment_from_env(config, app_env_values))["DB_QUERY_TIMEOUT"] == "30"
    assert timeout_label(config, STACK) == 300
    assert secrets_to_generate(config, env, SAMPLE, STACK) == [
        SecretSpec("db_password", "v1", 64, "special-chars", swarm_name="stk_db_password_v1")
    ]
