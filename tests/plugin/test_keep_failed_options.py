"""--ccci-keep-failed and a failed tier's story through the plugin, offline (`--tiers lint`
deploys nothing): the option and its ini key, checked once; a failure with nothing deployed has
no story and keeps nothing; it and --ccci-reruns exclude each other; `pytest-ccci release` on a
domain with no kept app."""

from __future__ import annotations

import pytest
from ccci_testkit import git, load_json

from pytest_ccci.__main__ import main


@pytest.mark.parametrize("hours", ["lots", "0", "-1", "inf"])
def test_a_bad_keep_failed_deadline_is_one_usage_line(project, hours):
    project.enroll("a")

    result = project.run("--tiers", "lint", "--ccci-keep-failed", "-o", f"ccci_keep_failed_hours={hours}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.errlines if line.strip()]
    assert lines == [f"ERROR: ccci: ccci_keep_failed_hours {hours!r}: give a positive number of hours (e.g. 2)"]


@pytest.mark.parametrize("reruns", [("--ccci-reruns", "1"), ("-o", "ccci_reruns=2")])
def test_keep_failed_with_reruns_is_one_usage_line(project, reruns):
    project.enroll("a")

    result = project.run("--tiers", "lint", "--ccci-keep-failed", *reruns)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.errlines if line.strip()]
    assert lines == [
        "ERROR: ccci: --ccci-keep-failed keeps a failed app deployed, --ccci-reruns tears it down to run the tier"
        " again: give one of them (-o ccci_reruns=0 turns off the ini's reruns)"
    ]


def test_the_option_and_its_ini_key_are_documented(project):
    result = project.run("--help")

    out = result.stdout.str()
    assert "--ccci-keep-failed" in out and "pytest-ccci release DOMAIN" in out
    assert "ccci_keep_failed_hours" in out


def test_a_failed_tier_with_nothing_deployed_has_no_story_and_keeps_nothing(project):
    project.enroll("rooty")
    src = project.pytester.path / "src" / "rooty"
    compose = (
        (src / "compose.yml")
        .read_text()
        .replace("    image: x:1.0\n", "    image: x:1.0\n    volumes:\n      - /:/host\n")
    )
    (src / "compose.yml").write_text(compose)
    git("commit", "--quiet", "-am", "bind the host root", cwd=src)
    out = project.pytester.path / "results.json"

    result = project.run("--tiers", "lint", "--ccci-keep-failed", f"--ccci-json={out}")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    record = load_json(out)["recipes"]["rooty"]
    (lint,) = record["tiers"].values()
    assert lint["status"] == "fail" and "artifacts" not in lint
    assert "kept" not in record and "ccci kept apps" not in result.stdout.str()
    assert not list(project.lock_dir.glob("*.kept.json"))


def test_releasing_a_domain_that_is_not_kept_is_one_line(tmp_path, capsys):
    code = main(["release", "--lock-dir", str(tmp_path), "nothing-000000.ccci.test"])

    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "pytest-ccci release: no kept app 'nothing-000000.ccci.test': "
        f"no marker {tmp_path}/app-nothing-000000.ccci.test.kept.json\n"
    )
