"""A redeploy that changed a config's content under the same name: docker's words, and the
config named by its compose key and swarm name (swarm/stack.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.swarm import stack

# What docker stack deploy 20.10 printed on this machine for exactly that redeploy.
DOCKER_SAID = (
    "failed to update config notes_abcd_entrypoint_v1: Error response from daemon: rpc error: "
    "code = InvalidArgument desc = only updates to Labels are allowed"
)
COMPOSE = {
    "services": {"app": {"image": "x"}},
    "configs": {
        "entrypoint": {"name": "notes_abcd_entrypoint_v1", "file": "entrypoint.sh"},
        "nginx": {"file": "nginx.conf"},
    },
    "secrets": {"db_password": {"external": True, "name": "notes_abcd_db_password_v1"}},
}


def test_swarm_names_map_back_to_compose_keys():
    assert stack.swarm_names(COMPOSE, "configs", "notes_abcd") == {
        "notes_abcd_entrypoint_v1": "entrypoint",
        "notes_abcd_nginx": "nginx",  # unnamed: the stack deploy prefixes the key
    }
    assert stack.swarm_names(COMPOSE, "secrets", "s") == {"notes_abcd_db_password_v1": "db_password"}


def test_the_verdict_names_the_config_and_quotes_docker():
    names = {"configs": stack.swarm_names(COMPOSE, "configs", "notes_abcd")}
    said = stack.immutable_update(DOCKER_SAID, names)
    assert said is not None
    assert "config entrypoint (swarm name notes_abcd_entrypoint_v1)" in said
    assert "'only updates to Labels are allowed'" in said
    assert "bump its version" in said


def test_an_unknown_name_is_still_named_as_docker_gave_it():
    said = stack.immutable_update(DOCKER_SAID, {})
    assert said is not None and said.startswith("config notes_abcd_entrypoint_v1 changed its content")


def test_other_failures_are_not_drift():
    assert stack.immutable_update("network proxy declared as external, but could not be found", {}) is None


def fake_cli(monkeypatch, said: str) -> None:
    def run(args, cwd):
        return subprocess.CompletedProcess(args, 1, stdout="", stderr=said)

    monkeypatch.setattr(stack, "run_cli", run)


def test_stack_deploy_raises_the_drift_as_the_recipes_error(monkeypatch, tmp_path: Path):
    deploy_file = tmp_path / "deploy.yml"
    deploy_file.write_text(yaml.safe_dump(COMPOSE))
    fake_cli(monkeypatch, "Creating service notes_abcd_app\n" + DOCKER_SAID + "\n")
    with pytest.raises(RecipeError) as failed:
        stack.stack_deploy("notes_abcd", deploy_file, tmp_path)
    message = str(failed.value)
    assert message.startswith("docker stack deploy notes_abcd failed: config entrypoint (swarm name")
    assert "only updates to Labels are allowed" in message


def test_engine_trouble_stays_unverified(monkeypatch, tmp_path: Path):
    deploy_file = tmp_path / "deploy.yml"
    deploy_file.write_text(yaml.safe_dump(COMPOSE))
    fake_cli(monkeypatch, "error during connect: context deadline exceeded")
    with pytest.raises(InfraError):
        stack.stack_deploy("notes_abcd", deploy_file, tmp_path)


def test_the_error_is_found_behind_the_clis_progress_lines():
    """docker stack deploy prints a line per object before it fails: the verdict must still hold
    docker's own error, not progress lines cut off at the one-line limit."""
    progress = "".join(f"Updating service notes_abcd_service_{i} (id: {'x' * 25})\n" for i in range(8))
    said = stack.cli_error(progress + DOCKER_SAID + "\n")
    assert said == DOCKER_SAID
    names = {"configs": stack.swarm_names(COMPOSE, "configs", "notes_abcd")}
    assert "only updates to Labels are allowed" in (stack.immutable_update(said, names) or "")
