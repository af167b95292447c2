"""What feeds and reports the deploy policy: `allow:` in ccci.yml, the source URL's password
(masked everywhere, known to the leak scan), and an OOM-killed task in the verdict."""

from __future__ import annotations

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.policy import Allowance
from pytest_ccci.model.secrets import MASK, fingerprints, holds_secret, mask_url, redact, url_password
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.swarm.convergence import read_service_state

ORIGIN = "recipes/r/ccci.yml"


def settings(**raw):
    return parse_settings("r", {"source": "https://example.invalid/r.git", **raw}, ORIGIN)


# -- allow: in ccci.yml ---------------------------------------------------------------------------


def test_allowances_are_read_with_their_reason():
    got = settings(allow=[{"kind": "engine-socket", "service": "app", "reason": "traefik reads services"}])
    assert got.allow == (Allowance("engine-socket", "app", "traefik reads services"),)
    assert got.shown()["allow"] == [
        {"kind": "engine-socket", "service": "app", "reason": "traefik reads services", "from": "ccci.yml"}
    ]
    assert settings().allow == ()


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        ({"kind": "bind-mount"}, "allow must be list"),
        ([{"kind": "bind", "service": "app", "reason": "x"}], "allow[0].kind: unknown kind 'bind' (kinds: bind-mount,"),
        ([{"kind": "bind-mount", "service": "app"}], "allow[0].reason is required (a non-empty string)"),
        ([{"kind": "bind-mount", "service": "app", "reason": " "}], "allow[0].reason is required"),
        ([{"kind": "bind-mount", "reason": "x"}], "allow[0].service is required"),
        ([{"kind": "bind-mount", "service": "app", "reason": "x", "origin": "ini"}], "unknown key allow[0].origin"),
        (["bind-mount"], "allow[0] must be dict"),
    ],
)
def test_a_bad_allowance_is_one_line_naming_file_and_key(allow, expected):
    with pytest.raises(RecipeError) as caught:
        settings(allow=allow)
    assert str(caught.value).startswith(ORIGIN + ": ")
    assert expected in str(caught.value)


# -- source credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked", "passwords"),
    [
        ("https://ci:glpat-XYZ123@git.example/r.git", f"https://ci:{MASK}@git.example/r.git", ["glpat-XYZ123"]),
        ("https://ci:p%40ss@git.example:8443/r", f"https://ci:{MASK}@git.example:8443/r", ["p%40ss", "p@ss"]),
        ("https://oauth2:t@k@host/r.git", f"https://oauth2:{MASK}@host/r.git", ["t@k"]),
        ("ssh://git:pw@host:22/r.git", f"ssh://git:{MASK}@host:22/r.git", ["pw"]),
        ("https://user@host/r.git", f"https://{MASK}@host/r.git", []),  # a login name, or a token: masked
        ("git@host:org/r.git", "git@host:org/r.git", []),
        ("../../src/r", "../../src/r", []),
    ],
)
def test_source_password_is_masked_and_known(url, masked, passwords):
    assert mask_url(url) == masked
    assert url_password(url) == passwords


def test_settings_show_the_source_masked():
    shown = parse_settings("r", {"source": "https://ci:tok3n-value@host/r.git"}, ORIGIN).shown()
    assert shown["source"] == f"https://ci:{MASK}@host/r.git"


def test_git_error_text_with_the_token_is_redacted_and_scanned():
    source = "https://ci:tok3n-value@127.0.0.1:9/r.git"
    said = f"fatal: unable to access '{source}/': Failed to connect to 127.0.0.1 port 9"
    assert "tok3n-value" not in redact(said, url_password(source))
    assert holds_secret(said, fingerprints(url_password(source)))


# -- OOM-killed in the verdict --------------------------------------------------------------------

SINCE = 1_700_000_000.0
SERVICE = {"Spec": {"Name": "s_app", "TaskTemplate": {"ContainerSpec": {}}}}


def oom_task(container: str = "c0ffee") -> dict:
    return {
        "ID": "t1oomkilled000000",
        "Slot": 1,
        "DesiredState": "shutdown",
        "Spec": {"ContainerSpec": {}, "Resources": {"Limits": {"MemoryBytes": 16 << 20}}},
        "Status": {
            "State": "failed",
            "Timestamp": "2023-11-14T22:13:21Z",
            "Err": "task: non-zero exit (137)",
            "ContainerStatus": {"ContainerID": container, "ExitCode": 137},
        },
    }


def test_an_oom_killed_task_reads_oom_killed_with_its_limit():
    state = read_service_state(SERVICE, [oom_task()], SINCE, oom_killed={"c0ffee"})
    described = state.failures[0].describe()
    assert described.endswith("failed: OOM-killed (limit 16 MiB)")
    assert "137" not in described


def test_a_kill_the_engine_does_not_call_oom_stays_exit_137():
    state = read_service_state(SERVICE, [oom_task()], SINCE, oom_killed=set())
    assert "non-zero exit (137) (exit 137)" in state.failures[0].describe()


class FakeApi:
    """The two engine reads the OOM check makes: a service's tasks, a container's state."""

    def __init__(self, tasks: list[dict], oom: bool):
        self._tasks, self._oom = tasks, oom

    def tasks(self, filters: dict) -> list[dict]:
        return [] if filters.get("desired-state") == "running" else self._tasks

    def inspect_container(self, container_id: str) -> dict:
        return {"State": {"OOMKilled": self._oom, "ExitCode": 137}}


@pytest.mark.parametrize(("oom", "says"), [(True, "OOM-killed (limit 16 MiB)"), (False, "task: non-zero exit (137)")])
def test_a_service_with_no_running_task_names_an_oom_kill(oom, says):
    from pytest_ccci.swarm.inventory import running_container

    client = type("FakeClient", (), {"api": FakeApi([oom_task()], oom)})()
    with pytest.raises(RecipeError) as caught:
        running_container(client, "s_app")
    assert str(caught.value) == f"service s_app has no running task: last task failed: {says}"


# -- the runner's environment ---------------------------------------------------------------------


def test_the_docker_cli_gets_the_runners_settings_as_flags_not_env(monkeypatch, tmp_path):
    from pytest_ccci.swarm import stack

    seen = {}

    def run(args, env, **kwargs):
        seen.update(args=args, env=env)
        return None

    monkeypatch.setattr(stack.subprocess, "run", run)
    for var in ("DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", "/home/runner")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/docker.sock")
    monkeypatch.setenv("CI_JOB_TOKEN", "runner-secret")
    stack.run_cli(["docker", "stack", "config", "-c", "compose.yml"], tmp_path)
    assert seen["env"] == {}  # nothing of the runner's env reaches interpolation (nor any recipe's)
    assert seen["args"][0].endswith("docker")
    assert seen["args"][1:] == [
        "--config",
        "/home/runner/.docker",
        "--host",
        "unix:///run/docker.sock",
        "stack",
        "config",
        "-c",
        "compose.yml",
    ]
