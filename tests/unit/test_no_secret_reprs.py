"""What pytest prints on a failure (fixture values, introspected attributes) holds no secret."""

from __future__ import annotations

from pathlib import Path

from pytest_ccci.model.app import App
from pytest_ccci.model.envfile import SecretSpec
from pytest_ccci.model.secrets import SecretVault
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.run.deploy import Deployment
from pytest_ccci.run.repo import Checkout
from pytest_ccci.swarm.convergence import Convergence


def test_settings_repr_leaves_env_values_out_and_shown_masks_them():
    settings = parse_settings("x", {"source": "/x", "env": {"API_TOKEN": "tok-123456", "GREETING": "hi"}}, "ccci.yml")
    assert "tok-123456" not in repr(settings)
    assert settings.shown()["env"] == {"API_TOKEN": "********", "GREETING": "hi"}


def test_deployment_repr_leaves_the_interpolated_compose_out():
    settings = parse_settings("x", {"source": "/x"}, "ccci.yml")
    app = App.for_checkout(settings, "a" * 40, "ccci.test", "run")
    checkout = Checkout("x", Path("/tmp/x"), "main", "a" * 40, False, (), ())
    config = {"services": {"app": {"environment": {"API_TOKEN": "tok-123456"}}}}
    dep = Deployment(app, checkout, "chaos", None, "aaaaaaaa", config, Convergence(True, "converged", {}, 1.0), 1.0)
    assert "tok-123456" not in repr(dep)


def test_vault_repr_counts_and_never_shows_values():
    vault = SecretVault()
    value = vault.value("x_db_password_v1", SecretSpec("db_password", "v1", 40, "default"))
    assert len(value) == 40 and value not in repr(vault) and "1 values" in repr(vault)
    assert vault.value("x_db_password_v1", SecretSpec("db_password", "v1", 40, "default")) == value
