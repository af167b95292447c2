import re

import pytest

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.envfile import (
    EnvVar,
    SecretSpec,
    interpolate,
    interpolate_tree,
    load_env_sample,
    parse_env_sample,
)

# --- real recipes ------------------------------------------------------------------------


def test_traefik_2021_commented_compose_files_and_secrets_are_inactive(real_recipes):
    sample = load_env_sample(real_recipes / "traefik-2021" / ".env.sample")
    assert sample.compose_files == ["compose.yml"]
    assert sample.secrets == []
    assert sample.values() == {
        "TYPE": "traefik",
        "DOMAIN": "traefik.example.com",
        "LETS_ENCRYPT_ENV": "production",
        "LETS_ENCRYPT_EMAIL": "certs@example.com",
        "LOG_LEVEL": "WARN",
    }
    assert "DASHBOARD_ENABLED" not in sample.vars  # "# DASHBOARD_ENABLED=true" is commented out
    assert sample.vars["LOG_LEVEL"].line == 9


def test_bore_commented_secret_is_not_a_var(real_recipes):
    sample = load_env_sample(real_recipes / "bore" / ".env.sample")
    assert sample.values() == {"TYPE": "bore", "DOMAIN": "bore.example.com", "LETS_ENCRYPT_ENV": "production"}
    assert "SECRET" not in sample.vars and "MIN_PORT" not in sample.vars
    assert sample.compose_files == ["compose.yml"]


def test_go_ssb_room_values(real_recipes):
    sample = load_env_sample(real_recipes / "go-ssb-room" / ".env.sample")
    assert sample.values() == {
        "TYPE": "go-ssb-room",
        "DOMAIN": "go-ssb-room.example.com",
        "LETS_ENCRYPT_ENV": "production",
    }
    assert "EXTRA_DOMAINS" not in sample.vars


def test_traefik_2021_ovh_block_uncommented_gives_files_and_secret(real_recipes):
    text = (real_recipes / "traefik-2021" / ".env.sample").read_text()
    text = text.replace('# COMPOSE_FILE="compose.yml:compose.ovh.yml"', 'COMPOSE_FILE="compose.yml:compose.ovh.yml"')
    text = text.replace("# SECRET_OVH_APP_SECRET_VERSION=v1", "SECRET_OVH_APP_SECRET_VERSION=v1")
    sample = parse_env_sample(text)
    assert sample.compose_files == ["compose.yml", "compose.ovh.yml"]
    assert sample.secrets == [SecretSpec("ovh_app_secret", "v1", 32, "default")]


def test_missing_file_names_path(tmp_path):
    missing = tmp_path / ".env.sample"
    with pytest.raises(RecipeError, match=str(missing)):
        load_env_sample(missing)


# --- parsing rules -----------------------------------------------------------------------


def test_blank_and_comment_lines_ignored_and_line_numbers_kept():
    sample = parse_env_sample("\n# A=1\n   # B=2\nC=3\n")
    assert sample.vars == {"C": EnvVar("C", "3", {}, 4)}


def test_last_assignment_wins():
    sample = parse_env_sample("A=1\nA=2\n")
    assert sample.vars["A"] == EnvVar("A", "2", {}, 2)


def test_export_prefix():
    assert parse_env_sample("export A=1").values() == {"A": "1"}


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("A=plain", "plain"),
        ("A='single # not a comment'", "single # not a comment"),
        ('A="double # not a comment"', "double # not a comment"),
        ("A=", ""),
        ("A=a#b", "a#b"),
        ("A=value # trailing comment", "value"),
        ('A="q\\"uote"', 'q"uote'),
        ("A='x' # length=5", "x"),
    ],
)
def test_value_forms(line, value):
    assert parse_env_sample(line).values()["A"] == value


def test_modifiers_from_inline_comment():
    sample = parse_env_sample("SECRET_DB_PASSWORD_VERSION=v1 # length=64 charset=special-chars note")
    assert sample.vars["SECRET_DB_PASSWORD_VERSION"].modifiers == {"length": "64", "charset": "special-chars"}


def test_secret_specs_defaults_and_modifiers():
    sample = parse_env_sample(
        "SECRET_DB_PASSWORD_VERSION=v1 # length=64 charset=special-chars\n"
        "SECRET_API_KEY_VERSION=v2 # generate=false\n"
        "# SECRET_OLD_VERSION=v1\n"
        "SECRETARY=bob\n"
    )
    assert sample.secrets == [
        SecretSpec("db_password", "v1", 64, "special-chars"),
        # generate=false: generated all the same (no operator in CI), and the spec says so
        SecretSpec("api_key", "v2", 32, "default", generate=False),
    ]


@pytest.mark.parametrize("length", ["long", "0", "-5", "4.5"])
def test_a_secret_length_that_is_not_a_positive_integer_is_an_error(length):
    with pytest.raises(RecipeError, match=rf"\.env\.sample:1: SECRET_X_VERSION has length='{re.escape(length)}'"):
        parse_env_sample(f"SECRET_X_VERSION=v1 # length={length}")


def test_commented_assignments_are_kept_apart_with_their_modifiers():
    sample = parse_env_sample(
        "A=1\n"
        "# SECRET_SMTP_PASSWORD_VERSION=v1 # length=48\n"
        "## B='x' # charset=special-chars\n"
        "# Set this to something = anything you like, don't quote it\n"
        "#C\n"
    )
    assert sample.vars == {"A": EnvVar("A", "1", {}, 1)}  # what is active is unchanged
    assert sample.commented == {
        "SECRET_SMTP_PASSWORD_VERSION": EnvVar("SECRET_SMTP_PASSWORD_VERSION", "v1", {"length": "48"}, 2),
        "B": EnvVar("B", "x", {"charset": "special-chars"}, 3),
    }
    assert sample.secrets == []
    assert sample.declaration("A") == sample.vars["A"]
    assert sample.declaration("B") == sample.commented["B"]
    assert sample.declaration("D") is None


def test_a_bad_modifier_on_a_commented_line_is_not_an_error_until_it_is_enabled():
    sample = parse_env_sample("# SECRET_X_VERSION=v1 # charset=hex\n")
    assert sample.commented["SECRET_X_VERSION"].modifiers == {"charset": "hex"}


def test_cumulative_compose_file_lines_accumulate():
    sample = parse_env_sample(
        'COMPOSE_FILE="compose.yml"\n'
        'COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"\n'
        "COMPOSE_FILE=${COMPOSE_FILE}:compose.ovh.yml\n"
    )
    assert sample.compose_files == ["compose.yml", "compose.smtp.yml", "compose.ovh.yml"]


def test_cumulative_compose_file_without_earlier_value_drops_empty_part():
    assert parse_env_sample('COMPOSE_FILE="$COMPOSE_FILE:compose.x.yml"').compose_files == ["compose.x.yml"]


def test_expansion_of_earlier_vars_but_not_in_single_quotes():
    sample = parse_env_sample("D=example.com\nU=https://$D\nQ=\"www.${D}\"\nS='${D}'\nL=$LATER\nLATER=x\n")
    assert sample.values()["U"] == "https://example.com"
    assert sample.values()["Q"] == "www.example.com"
    assert sample.values()["S"] == "${D}"
    assert sample.values()["L"] == ""  # only earlier vars expand


@pytest.mark.parametrize("line", ["JUSTTEXT", "1BAD=x", "BAD-NAME=x", "A='unterminated", 'A="x" trailing'])
def test_malformed_line_names_origin_and_line(line):
    with pytest.raises(RecipeError, match=r"^my/.env.sample:2: cannot parse"):
        parse_env_sample(f"OK=1\n{line}\n", origin="my/.env.sample")


# --- interpolation -----------------------------------------------------------------------

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("a-${SET}-b", "a-value-b"),
        ("$UNSET", ""),
        ("${UNSET}", ""),
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),
        ("${UNSET-dflt}", "dflt"),
        ("${SET:-dflt}", "value"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}}", "value"),
        ("$$SET", "$SET"),
        ("price $ 5", "price $ 5"),
        ("${SET:?msg}", "value"),
    ],
)
def test_interpolate(text, expected):
    assert interpolate(text, ENV) == expected


def test_required_variable_error_names_origin_var_and_message():
    with pytest.raises(RecipeError, match=r"^compose.yml: required variable DOMAIN is unset: set a domain$"):
        interpolate("${DOMAIN:?set a domain}", ENV, "compose.yml")
    with pytest.raises(RecipeError, match="required variable EMPTY is unset: need it"):
        interpolate("${EMPTY:?need it}", ENV, "compose.yml")
    assert interpolate("${EMPTY?need it}", ENV) == ""  # without ":" an empty value counts as set
    with pytest.raises(RecipeError, match="required variable UNSET is unset"):
        interpolate("${UNSET?}", ENV)


@pytest.mark.parametrize("text", ["${SET", "${}", "${1X}", "${SET!x}"])
def test_bad_interpolation_syntax_is_a_recipe_error(text):
    with pytest.raises(RecipeError, match="^compose.yml: invalid interpolation"):
        interpolate(text, ENV, "compose.yml")


def test_interpolate_tree_walks_dicts_and_lists_only_in_values():
    tree = {"services": {"${SET}": {"labels": ["a=${SET}", {"k": "$$x"}], "replicas": 2, "on": True}}}
    assert interpolate_tree(tree, ENV) == {
        "services": {"${SET}": {"labels": ["a=value", {"k": "$x"}], "replicas": 2, "on": True}}
    }


def test_go_ssb_room_labels_with_escaped_dollars():
    label = "traefik.http.middlewares.${STACK_NAME}-r.redirectregex.replacement=https://${DOMAIN}/alias/$${1}$${2}"
    assert (
        interpolate(label, {"STACK_NAME": "s", "DOMAIN": "d.org"})
        == "traefik.http.middlewares.s-r.redirectregex.replacement=https://d.org/alias/${1}${2}"
    )
