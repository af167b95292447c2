"""Review findings, tidied: the runner's own images are refused to a recipe (issue 18, kind
`runner-image`); the leak scan of the runner's environment knows more credential names and the
passwords of URLs; an app's text in summary.md neither links, autolinks nor mentions; inert text
keeps no bidirectional mark or zero-width character; one level tally for index and summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.images import PROBE_IMAGE, runner_image
from pytest_ccci.model.policy import KINDS, Allowance, DeployPolicy, HostPolicy, explain, findings, not_permitted
from pytest_ccci.model.secrets import runner_secrets
from pytest_ccci.model.text import one_line
from pytest_ccci.report.assets import markdown_text
from pytest_ccci.report.pages import index_page, level_tally
from pytest_ccci.report.summary import summary

STACK = "r_abc123"
LONG = "Zq8vT3mW9xKp2LrN"  # a 16-character credential value


def config(**service) -> dict:
    return {"version": "3.8", "services": {"app": {"image": "ccci/busybox:1.35.0", **service}}}


def found(cfg: dict) -> list[tuple[str | None, str, str, str]]:
    return [(f.service, f.key, f.value, f.kind) for f in findings(cfg, ".", STACK)]


# -- 1. runner-image (issue 18) -------------------------------------------------------------------


@pytest.mark.parametrize("image", [PROBE_IMAGE, f"docker.io/{PROBE_IMAGE}", f"index.docker.io/{PROBE_IMAGE}"])
def test_a_service_naming_the_runners_own_image_is_found(image):
    assert found(config(image=image)) == [("app", "image", image, "runner-image")]


@pytest.mark.parametrize(
    "image", ["ccci/busybox:1.35.0", "ccci/postgres:15", "ccci/probe:2", "example.org/ccci/probe:1", "nginx:1.27"]
)
def test_recipe_images_are_not_the_runners_own(image):
    # The examples' ccci/busybox and ccci/postgres are built by set-up, but for recipes to name.
    assert not runner_image(image)
    assert found(config(image=image)) == []


def test_runner_image_is_a_kind_an_allowance_names_and_permits():
    assert "runner-image" in KINDS
    found_ = findings(config(image=PROBE_IMAGE), ".", STACK)
    assert not_permitted(found_, [Allowance("runner-image", "app", "probes its peers with the runner's tool")]) == []
    assert not_permitted(found_, [Allowance("runner-image", "other", "a different service")]) == found_


def test_a_recipe_naming_the_probe_image_is_refused_with_the_allowance_that_would_permit_it():
    with pytest.raises(RecipeError) as refused:
        DeployPolicy().vet(config(image=PROBE_IMAGE), Path("."), "demo", STACK)
    line = str(refused.value)
    assert "\n" not in line
    assert f"service app image: {PROBE_IMAGE} ({KINDS['runner-image']})" in line
    assert "allow: [{kind: runner-image, service: app, reason: ...}] in ccci.yml" in line
    assert explain(findings(config(image=PROBE_IMAGE), ".", STACK)[0]) in line


def test_runner_image_allowed_host_wide_by_the_ini():
    policy = HostPolicy(allow=("runner-image",)).for_recipe((), None)
    assert policy.vet(config(image=PROBE_IMAGE), Path("."), "demo", STACK)["services"]


def test_the_swarm_helper_uses_the_models_runner_images():
    from pytest_ccci.swarm import helper

    assert helper.runner_image is runner_image and helper.PROBE_IMAGE == PROBE_IMAGE


# -- 2. the leak scan of the runner's environment ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASS",
        "SMTPPASS",
        "MYSQL_PASS_ROOT",
        "DOCKER_AUTH_CONFIG",
        "HTTP_AUTHORIZATION",
        "OAUTH_CLIENT",
        "CI_JOB_JWT",
        "CI_JOB_JWT_V2",
        "BROWSER_COOKIE",
        "SESSION_ID",
        "GRAFANA_SESSION",
    ],
)
def test_more_credential_names_are_scanned(name):
    assert runner_secrets({name: LONG}) == [LONG]


@pytest.mark.parametrize(
    "name",
    [
        "GIT_AUTHOR_NAME",
        "CI_COMMIT_AUTHOR",
        "SSH_ASKPASS",
        "XDG_SESSION_TYPE",
        "DBUS_SESSION_BUS_ADDRESS",
        "SESSION_MANAGER",
        "COMPASS_DIR",
    ],
)
def test_names_of_places_programs_and_choices_are_not_scanned(name):
    assert runner_secrets({name: "not-a-credential-at-all"}) == []


def test_a_short_value_of_a_new_credential_name_is_not_scanned():
    assert runner_secrets({"DB_PASS": "hunter2", "CI_JOB_JWT": "x" * 11}) == []


def test_a_url_in_any_runner_variable_gives_its_password_and_token():
    environ = {
        "HTTPS_PROXY": f"http://proxyuser:{LONG}@127.0.0.1:3128/",
        "MIRROR": "https://ghp_abcdefghijklmnop@example.org/x.git",
        "ENCODED_URL": "https://u:p%40ss-w0rd-long@example.org/",
        "SHORT_URL": "https://u:pw@example.org/",  # too short to be told from chance
        "PLAIN": "https://example.org/no/userinfo/here",
    }
    assert runner_secrets(environ) == sorted([LONG, "ghp_abcdefghijklmnop", "p%40ss-w0rd-long", "p@ss-w0rd-long"])


# -- 3. inert Markdown: no autolink, mention or issue reference -------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("see www.evil.example now", r"see www\.evil.example now"),
        ("WWW.Evil.Example", r"WWW\.Evil.Example"),
        ("ping @octocat", "ping @&#8203;octocat"),
        ("ping @org/team", "ping @&#8203;org/team"),
        ("mail root@example.org", "mail root@&#8203;example.org"),
        ("fixes #12 and GH-3", r"fixes \#&#8203;12 and GH-&#8203;3"),
        ("# h and #x", r"\# h and \#x"),
    ],
)
def test_markdown_text_neither_autolinks_nor_mentions(raw, shown):
    assert markdown_text(raw) == shown


def test_summary_mentions_nobody_in_a_reason():
    entry = {"level": 2, "why_not_higher": "L3 failed: see www.evil.example, cc @octocat @org/team, fixes #1"}
    text = summary({"recipes": {"demo": entry}, "run_id": "r", "finished": "t"}, None, "Levels")
    for live in ("www.evil", "@octocat", "@org", "#1"):
        assert live not in text, f"{live!r} survives in {text!r}"


# -- 4. inert text: no bidirectional mark or zero-width character -----------------------------------


@pytest.mark.parametrize("hidden", ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_one_line_drops_marks_and_zero_width_characters(hidden):
    assert one_line(f"www.exa{hidden}mple.org") == "www.example.org"


# -- 5. one level tally ------------------------------------------------------------------------------


def test_the_level_tally_lists_the_levels_some_recipe_has_best_first():
    recipes = {"a": {"level": 1}, "b": {"level": 5}, "c": {"level": 1}, "d": {}}
    assert level_tally(recipes) == [(5, 1), (1, 2)]
    doc = {"recipes": recipes, "run_id": "r", "finished": "t"}
    assert "L5: 1, L1: 2" in index_page(doc, None, "Levels")
