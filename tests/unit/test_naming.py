"""naming.py: names derived from (recipe, ref) are deterministic and shaped like abra's."""

from __future__ import annotations

import hashlib
import re

import pytest

from pytest_ccci.model import naming
from pytest_ccci.model.naming import (
    LABEL_DOMAIN,
    LABEL_RECIPE,
    LABEL_RUN,
    MAX_STACK_NAME_LENGTH,
    app_domain,
    chaos_version,
    deploy_labels,
    run_labels,
    secret_name,
    stack_name,
)

SHA_A = "0123456789abcdef0123456789abcdef01234567"
SHA_B = "fedcba9876543210fedcba9876543210fedcba98"


# -- app_domain ------------------------------------------------------------------------------


def test_app_domain_is_deterministic():
    assert app_domain("hello", SHA_A, "ci.example") == app_domain("hello", SHA_A, "ci.example")


@pytest.mark.parametrize(
    "recipe, prefix",
    [
        ("hello", "hell"),
        ("uptime-kuma", "upti"),
        ("n8n", "n8n"),
        ("custom-html", "cust"),
        ("a-b-c-d-e", "abcd"),
        ("Keycloak", "keyc"),
    ],
)
def test_app_domain_shape(recipe, prefix):
    domain = app_domain(recipe, SHA_A, "ci.example.org")
    assert re.fullmatch(rf"{re.escape(prefix)}-[0-9a-f]{{6}}\.ci\.example\.org", domain), domain


def test_app_domain_hex_is_sha256_of_recipe_at_sha():
    # The 6 hex are traceable: anyone holding (recipe, sha) can recompute them.
    expected = hashlib.sha256(f"hello@{SHA_A}".encode()).hexdigest()[:6]
    assert app_domain("hello", SHA_A, "x.test") == f"hell-{expected}.x.test"


def test_app_domain_without_alnum_falls_back():
    assert re.fullmatch(r"app-[0-9a-f]{6}\.x\.test", app_domain("---", SHA_A, "x.test"))


def test_app_domain_differs_per_sha():
    assert app_domain("hello", SHA_A, "x.test") != app_domain("hello", SHA_B, "x.test")


def test_app_domain_differs_per_recipe_with_same_prefix():
    # Same first four characters, different recipes: the hash must still separate them.
    a = app_domain("hello", SHA_A, "x.test")
    b = app_domain("hello-nobackup", SHA_A, "x.test")
    assert a.split("-")[0] == b.split("-")[0] == "hell"
    assert a != b


def test_app_domain_keeps_base_domain():
    assert app_domain("hello", SHA_A, "swarm.local").endswith(".swarm.local")
    assert (
        app_domain("hello", SHA_A, "a.test").split(".", 1)[0] == app_domain("hello", SHA_A, "b.test").split(".", 1)[0]
    )


# -- stack_name ------------------------------------------------------------------------------


def test_stack_name_replaces_dots():
    assert stack_name("hell-abc123.ci.example.org") == "hell-abc123_ci_example_org"


def test_stack_name_truncated_like_abra():
    assert MAX_STACK_NAME_LENGTH == 45
    domain = "hell-abc123." + "very-long-subdomain." * 5 + "example.org"
    name = stack_name(domain)
    assert len(name) == 45
    assert name == domain.replace(".", "_")[:45]
    assert "." not in name


def test_stack_name_short_untouched_length():
    domain = "a.b"
    assert stack_name(domain) == "a_b"


def test_stack_name_of_app_domain_fits():
    domain = app_domain("uptime-kuma", SHA_A, "ci.example.org")
    stack = stack_name(domain)
    assert stack.startswith("upti-") and "." not in stack and len(stack) <= 45


# -- secret_name -----------------------------------------------------------------------------


def test_service_name_is_what_docker_stack_deploy_names_a_service():
    assert naming.service_name("hell-abc123_ccci_test", "app") == "hell-abc123_ccci_test_app"
    assert naming.service_name("s", "db") == "s_db"


def test_secret_name():
    assert secret_name("hell-abc123_x_test", "db_password", "v1") == "hell-abc123_x_test_db_password_v1"


def test_secret_name_of_longest_stack_fits_docker_limit_for_short_secrets():
    stack = "s" * MAX_STACK_NAME_LENGTH
    assert len(secret_name(stack, "db", "v1")) <= naming.MAX_SECRET_NAME_LENGTH


# -- chaos_version ---------------------------------------------------------------------------


def test_chaos_version_clean():
    assert chaos_version(SHA_A, False) == SHA_A[:8]


def test_chaos_version_dirty():
    assert chaos_version(SHA_A, True) == SHA_A[:8] + "+U"


# -- deploy_labels ---------------------------------------------------------------------------


def test_deploy_labels_release():
    labels = deploy_labels("stk", "hello", version="0.1.0+1.35.0", chaos=None)
    assert labels == {
        "coop-cloud.stk.recipe": "hello",
        "coop-cloud.stk.version": "0.1.0+1.35.0",
        "coop-cloud.stk.chaos": "false",
        "coop-cloud.stk.autoupdate": "false",  # abra's SetUpdateLabel: ENABLE_AUTO_UPDATE unset
    }
    assert "coop-cloud.stk.chaos-version" not in labels


@pytest.mark.parametrize("auto_update", ["true", "false", ""])
def test_deploy_labels_carry_the_auto_update_value_as_given(auto_update):
    labels = deploy_labels("stk", "hello", version="1.0.0", chaos=None, auto_update=auto_update)
    assert labels["coop-cloud.stk.autoupdate"] == auto_update


def test_deploy_labels_chaos_on_top_of_release():
    chaos = chaos_version(SHA_A, dirty=True)
    labels = deploy_labels("stk", "hello", version="0.1.0+1.35.0", chaos=chaos)
    assert labels["coop-cloud.stk.chaos"] == "true"
    assert labels["coop-cloud.stk.chaos-version"] == SHA_A[:8] + "+U"
    assert labels["coop-cloud.stk.version"] == "0.1.0+1.35.0"
    assert labels["coop-cloud.stk.recipe"] == "hello"


def test_deploy_labels_chaos_without_any_release():
    labels = deploy_labels("stk", "hello", version=None, chaos=SHA_A[:8])
    assert "coop-cloud.stk.version" not in labels
    assert labels["coop-cloud.stk.chaos"] == "true"
    assert labels["coop-cloud.stk.chaos-version"] == SHA_A[:8]


def test_deploy_labels_are_namespaced_by_stack():
    labels = deploy_labels("other_stack", "hello", version="1.0.0", chaos=None)
    assert all(k.startswith("coop-cloud.other_stack.") for k in labels)


# -- run_labels ------------------------------------------------------------------------------


def test_run_labels():
    labels = run_labels("run-42", "hell-abc123.x.test", "hello")
    assert labels == {LABEL_RUN: "run-42", LABEL_DOMAIN: "hell-abc123.x.test", LABEL_RECIPE: "hello"}
    assert set(labels) == {"ccci.run", "ccci.domain", "ccci.recipe"}


def test_a_variant_gives_a_domain_of_its_own():
    plain = app_domain("hello", SHA_A, "x.test")
    upgrade = app_domain("hello", SHA_A, "x.test", "up")
    rerun = app_domain("hello", SHA_A, "x.test", "r2")
    assert len({plain, upgrade, rerun}) == 3
    assert upgrade == plain.replace(".x.test", "-up.x.test")
    assert app_domain("hello", SHA_A, "x.test", "u p!") == upgrade  # only letters and digits


def test_variant_stacks_stay_apart_when_truncated():
    base = "a.rather.long.base.domain.example.org.that.abra.truncates"
    stacks = {stack_name(app_domain("recipe", SHA_A, base, v)) for v in ("", "up", "r2", "upr2")}
    assert len(stacks) == 4
    assert all(len(s) <= MAX_STACK_NAME_LENGTH for s in stacks)
