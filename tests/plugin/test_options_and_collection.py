"""Options, activation and collection of pytest-ccci, driven through pytester.

Collection with swarm tiers selected connects to the Docker daemon at session start (see
test_collect_only_needs_no_docker); every such run here passes --no-janitor so that a listing
never reaps anything on the host's swarm.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from ccci_testkit import collected_ids

FUNCTIONAL_TWO = """\
def test_one(ccci_recipe):
    assert ccci_recipe

def test_two(ccci_recipe):
    assert ccci_recipe
"""


def _tier_ids(recipe: str, tiers=("lint", "install", "backup", "restore", "upgrade")) -> list[str]:
    return [f"ccci/{recipe}::test_{t}" for t in tiers]


# -- collection: ids, tiers, order ------------------------------------------------------------


def test_collects_every_tier_per_recipe_in_lifecycle_order(project):
    project.enroll("a", tests=FUNCTIONAL_TWO)
    project.enroll("b")

    result = project.run_inprocess("--collect-only", "-q")

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == [
        "ccci/a::test_lint",
        "ccci/a::test_install",
        "ccci/a::test_backup",
        "ccci/a::test_restore",
        "recipes/a/test_a.py::test_one",  # functional: the recipe's own tests, in file order
        "recipes/a/test_a.py::test_two",
        "ccci/a::test_upgrade",
        *_tier_ids("b"),  # b has no test_*.py: no functional items
    ]


def test_tiers_option_selects_tiers(project):
    project.enroll("a", tests=FUNCTIONAL_TWO)
    project.enroll("b")

    result = project.run_inprocess("--collect-only", "-q", "--tiers", "lint,install")

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == [
        "ccci/a::test_lint",
        "ccci/a::test_install",
        "ccci/b::test_lint",
        "ccci/b::test_install",
    ]


def test_tiers_option_order_does_not_change_item_order(project):
    project.enroll("a", tests=FUNCTIONAL_TWO)

    result = project.run_inprocess("--collect-only", "-q", "--tiers", " functional , lint ")

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == [
        "ccci/a::test_lint",
        "recipes/a/test_a.py::test_one",
        "recipes/a/test_a.py::test_two",
    ]


def test_functional_tests_not_collected_without_functional_tier(project):
    project.enroll("a", tests=FUNCTIONAL_TWO)

    result = project.run_inprocess("--collect-only", "-q", "--tiers", "lint")

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == ["ccci/a::test_lint"]


def test_recipe_option_selects_recipes(project):
    for name in ("a", "b", "c"):
        project.enroll(name)

    result = project.run_inprocess(
        "--collect-only", "-q", "--tiers", "lint", "--recipe", "c", "--recipe", "a", "--recipe", "c"
    )

    assert result.ret == pytest.ExitCode.OK
    ids = collected_ids(result)
    assert sorted(ids) == ["ccci/a::test_lint", "ccci/c::test_lint"]  # repeated --recipe c: once


@pytest.mark.parametrize("how", ["option", "ini"])
def test_recipes_dir_from_option_or_ini(project, how):
    project.enroll("a")
    project.recipes.rename(project.pytester.path / "elsewhere")  # no `recipes` dir left
    args = ["--recipes-dir", "elsewhere"] if how == "option" else ["-o", "ccci_recipes_dir=elsewhere"]

    result = project.run_inprocess("--collect-only", "-q", "--tiers", "lint", *args)

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == ["ccci/a::test_lint"]


def test_upgrade_from_all_makes_one_item_per_older_release(project):
    project.repo("a", tags=("0.1.0+1.0", "0.2.0+1.0", "0.3.0+1.0"))
    project.enroll("a", source="../../src/a")

    result = project.run("--collect-only", "-q", "--tiers", "upgrade", "--upgrade-from", "all")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    # The head is 0.3.0+1.0 itself: the older releases are the bases, oldest first.
    assert collected_ids(result) == ["ccci/a::test_upgrade[0.1.0+1.0]", "ccci/a::test_upgrade[0.2.0+1.0]"]


# -- collection touches no git ----------------------------------------------------------------


def _fake_git(project) -> tuple[str, object]:
    """A `git` first on PATH that only records that it was called."""
    bindir = project.pytester.path.parent / (project.pytester.path.name + "-bin")
    bindir.mkdir()
    log = bindir / "git-calls.log"
    script = bindir / "git"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 128\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{bindir}{os.pathsep}{os.environ['PATH']}", log


def test_collection_does_not_touch_git(project, monkeypatch):
    project.enroll("gone", source="/nonexistent/repo", tests=FUNCTIONAL_TWO)
    path, log = _fake_git(project)
    monkeypatch.setenv("PATH", path)

    # pytest-benchmark asks git whether the rootdir is a repository: not ours to count.
    result = project.run("--collect-only", "-q", "-p", "no:benchmark")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert collected_ids(result) == [
        "ccci/gone::test_lint",
        "ccci/gone::test_install",
        "ccci/gone::test_backup",
        "ccci/gone::test_restore",
        "recipes/gone/test_gone.py::test_one",
        "recipes/gone/test_gone.py::test_two",
        "ccci/gone::test_upgrade",
    ]
    assert result.duration < 30
    assert not log.exists(), f"collection ran git: {log.read_text()}"
    assert project.mirrors() == []

    # The probe works: running the lint tier does call (the fake) git.
    ran = project.run("--tiers", "lint", "-p", "no:benchmark")
    assert ran.ret == pytest.ExitCode.TESTS_FAILED
    assert log.exists() and "clone" in log.read_text()


def test_collect_only_needs_no_docker(project, monkeypatch):
    project.enroll("a")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

    result = project.run("--collect-only", "-q")

    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    assert collected_ids(result) == _tier_ids("a")


# -- paths do not move with the rootdir -------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    ["--ccci-json", "--html", "--junitxml"],
)
def test_rerun_writing_an_existing_file_outside_the_project(project, tmp_path_factory, option):
    """Defect 8: pytest takes an option's value for a path argument before it knows the option,
    so once the file exists it moves the rootdir to where the file is and finds no ini file. The
    recipes dir comes from the ini file's dir, or where pytest was started: never from there."""
    if option == "--html":
        pytest.importorskip("pytest_html")
    project.pytester.makeini("[pytest]\n")  # the project's ini, as a real project has one
    project.enroll("a")
    artifact = tmp_path_factory.mktemp("artifacts") / "out"  # outside the project, as CI's are
    assert project.pytester.path not in artifact.parents

    first = project.run("--recipe", "a", "--tiers", "lint", option, str(artifact))
    assert first.ret == pytest.ExitCode.OK, first.stdout.str() + first.stderr.str()
    assert artifact.is_file()
    written = artifact.stat().st_mtime_ns
    second = project.run("--recipe", "a", "--tiers", "lint", option, str(artifact))

    assert second.ret == pytest.ExitCode.OK, second.stdout.str() + second.stderr.str()
    second.assert_outcomes(passed=1)
    assert artifact.stat().st_mtime_ns > written  # written again, by the second run
    assert "test_lint" in artifact.read_text()


def test_rerun_that_would_lose_the_ini_settings_says_how_to_write_the_option(project, tmp_path_factory):
    """The other half of defect 8: pytest also chooses its ini file by the value it took for a
    path, so the project's settings (here its lock dir) would silently fall back to defaults on
    the retry. The run stops with one line saying to write the option as one word, which works."""
    lock_dir = tmp_path_factory.mktemp("project-locks")
    project.pytester.makeini(f"[pytest]\nccci_lock_dir = {lock_dir}\n")
    project.enroll("a")
    artifact = tmp_path_factory.mktemp("artifacts") / "results.json"
    artifact.write_text("{}")  # left by the first try of a CI job

    two_words = project.run("--recipe", "a", "--tiers", "lint", "--ccci-json", str(artifact))
    one_word = project.run("--recipe", "a", "--tiers", "lint", f"--ccci-json={artifact}")

    assert two_words.ret == pytest.ExitCode.USAGE_ERROR
    said = two_words.stderr.str()
    assert f"write `--ccci-json={artifact}` (one word)" in said and "Traceback" not in said
    assert one_word.ret == pytest.ExitCode.OK, one_word.stdout.str() + one_word.stderr.str()
    assert json.loads(artifact.read_text())["recipes"]["a"]["rungs"]["lint"]["status"] == "pass"


# -- usage errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--recipe", "nope"], "unknown recipe 'nope': enrolled in {recipes} are a, b"),
        (["--tiers", "bogus"], "--tiers 'bogus': unknown tier 'bogus'"),
        (["--tiers", "lint,instal"], "unknown tier 'instal'"),
        (["--upgrade-from", "sometimes"], "--upgrade-from takes auto, all or last-green"),
        (["--recipe", "a", "--recipes-dir", "missing"], "recipes directory {missing} does not exist"),
        (["--recipe", "a", "-o", "ccci_recipes_dir=missing"], "recipes directory {missing} does not exist"),
        (["-o", "ccci_max_deploys=two"], "ini value is not a number"),
    ],
    ids=[
        "unknown-recipe",
        "unknown-tier",
        "typo-tier",
        "upgrade-from",
        "missing-dir-option",
        "missing-dir-ini",
        "ini-number",
    ],
)
def test_usage_errors_are_one_line(project, args, expected):
    project.enroll("a")
    project.enroll("b")
    expected = expected.format(recipes=project.recipes, missing=project.pytester.path / "missing")

    result = project.run("--tiers", "lint", *args) if "--tiers" not in args else project.run(*args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    lines = [line for line in result.errlines if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("ERROR: ccci: ")
    assert expected in lines[0]
    assert project.mirrors() == []


def test_usage_error_lists_none_when_nothing_enrolled(project):
    project.recipes.mkdir()

    result = project.run("--recipe", "a")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()] == [
        f"ERROR: ccci: unknown recipe 'a': enrolled in {project.recipes} are none"
    ]


# -- activation -------------------------------------------------------------------------------

PLAIN = """\
def test_plain():
    assert 1 + 1 == 2
"""


def test_not_active_with_positional_args(project):
    project.enroll("a")
    project.pytester.makepyfile(test_x=PLAIN)

    result = project.run_inprocess("test_x.py", "-v")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_x.py::test_plain PASSED*"])
    assert "ccci/a::" not in result.stdout.str() and "ccci levels" not in result.stdout.str()
    assert project.mirrors() == []


def test_not_active_without_recipes_dir(project):
    project.pytester.makepyfile(test_x=PLAIN)

    result = project.run_inprocess("--collect-only", "-q")

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == ["test_x.py::test_plain"]
    assert "ccci levels" not in result.stdout.str()


def test_not_active_with_empty_recipes_dir(project):
    (project.recipes / "half").mkdir(parents=True)  # a folder without ccci.yml is not enrolled
    project.pytester.makepyfile(test_x=PLAIN)

    result = project.run_inprocess("--collect-only", "-q")

    assert result.ret == pytest.ExitCode.OK
    assert collected_ids(result) == ["test_x.py::test_plain"]


def test_recipe_option_with_positional_args_collects_both(project):
    project.enroll("a")
    project.pytester.makepyfile(test_x=PLAIN)

    result = project.run_inprocess("--collect-only", "-q", "--recipe", "a", "--tiers", "lint", "test_x.py")

    assert result.ret == pytest.ExitCode.OK
    assert sorted(collected_ids(result)) == ["ccci/a::test_lint", "test_x.py::test_plain"]
