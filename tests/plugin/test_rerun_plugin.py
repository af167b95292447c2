"""--ccci-reruns (plugin/reruns.py) as a run shows it, with no deploy: a recipe's own tests that
read `ccci_recipe` alone. The functional tier is a swarm tier, so those runs connect to the swarm
at their start (as tests/plugin/test_connected_runs.py's): they skip without one, and fail in CI.
The option checks and lint (never rerun) need no swarm.

A head that fails one time in two is a test that fails when a marker file is absent and leaves
it: its first run fails, every later run passes.
"""

from __future__ import annotations

import pytest
from ccci_testkit import git, load_json

from pytest_ccci.documents.results import comparable

ONE_IN_TWO = """\
from pathlib import Path

MARKER = Path(__file__).with_name("ran-once")


def test_second_time(ccci_recipe):
    first = not MARKER.exists()
    MARKER.touch()
    assert not first, "no marker yet: the first run fails"


def test_always(ccci_recipe):
    assert False, "this one always fails"


def test_fine(ccci_recipe):
    assert ccci_recipe == "a"
"""

FLAKY = "recipes/a/test_a.py::test_second_time"
ALWAYS = "recipes/a/test_a.py::test_always"


@pytest.fixture
def swarm(missing_requirement) -> None:
    from pytest_ccci.errors import UsageError
    from pytest_ccci.swarm.facade import connect

    try:
        connect()
    except UsageError as exc:
        missing_requirement(f"no swarm: {exc}")


@pytest.mark.integration
def test_a_failure_is_run_again_and_stays_a_fail_with_every_run_recorded(project, swarm):
    project.enroll("a", tests=ONE_IN_TWO)

    result = project.run("--tiers", "functional", "--ccci-reruns", "2", "--ccci-json", "out.json")

    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out + result.stderr.str()
    result.assert_outcomes(passed=1, failed=2)  # one result per item: reruns are not extra results
    tiers = load_json(project.pytester.path / "out.json")["recipes"]["a"]["tiers"]
    flaky, always = tiers[FLAKY], tiers[ALWAYS]
    assert flaky["status"] == "fail"  # a pass on a rerun never turns into a pass
    assert flaky["reason"] == (
        "intermittent: failed 1 of 3 runs: run 1 failed: no marker yet: the first run fails; run 2 passed; run 3 passed"
    )
    assert [r["status"] for r in flaky["runs"]] == ["fail", "pass", "pass"]
    assert always["reason"] == "failed 3 of 3 runs: this one always fails"
    assert [r["status"] for r in always["runs"]] == ["fail"] * 3
    assert "runs" not in tiers["recipes/a/test_a.py::test_fine"]
    rung = load_json(project.pytester.path / "out.json")["recipes"]["a"]["rungs"]["functional"]
    assert rung["intermittent"] is True and rung["status"] == "fail"
    assert rung["repro"] == "pytest --recipe a --tiers functional"
    # The terminal: the rung marked, the repro line, each failure's runs in its own section.
    assert "fail (intermittent)" in out
    assert "    rerun: pytest --recipe a --tiers functional" in out
    assert "run 2: pass" in out and "run 3: fail: this one always fails" in out
    assert result.stderr.str().count("on a fresh app domain") == 4  # two reruns of each failed item


@pytest.mark.integration
def test_reruns_under_xdist_give_the_serial_results(project, swarm):
    """Reports are shipped to the controller: the runs and the reason travel with the verdict."""
    project.enroll("a", tests=ONE_IN_TWO)
    serial = project.run("--tiers", "functional", "--ccci-reruns", "2", "--ccci-json", "serial.json")
    (project.recipes / "a" / "ran-once").unlink()
    parallel = project.run("--tiers", "functional", "--ccci-reruns", "2", "-n", "2", "--ccci-json", "parallel.json")

    parallel.assert_outcomes(passed=1, failed=2)
    docs = [load_json(project.pytester.path / name) for name in ("serial.json", "parallel.json")]
    assert serial.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED
    assert comparable(docs[0]) == comparable(docs[1])
    assert docs[1]["recipes"]["a"]["rungs"]["functional"]["intermittent"] is True


@pytest.mark.integration
def test_without_reruns_a_failure_runs_once(project, swarm):
    project.enroll("a", tests=ONE_IN_TWO)

    result = project.run("--tiers", "functional", "--ccci-json", "out.json")

    result.assert_outcomes(passed=1, failed=2)
    flaky = load_json(project.pytester.path / "out.json")["recipes"]["a"]["tiers"][FLAKY]
    assert flaky["reason"] == "no marker yet: the first run fails" and "runs" not in flaky
    assert "on a fresh app domain" not in result.stderr.str()


def test_lint_is_never_rerun(project):
    """Lint reads the commit's files only: it cannot fail one time in two (and needs no swarm)."""
    project.enroll("a")
    src = project.pytester.path / "src" / "a"
    compose = src / "compose.yml"
    compose.write_text(compose.read_text().replace('        - "traefik.enable=true"\n', ""))
    git("commit", "--quiet", "-am", "no traefik", cwd=src)

    result = project.run("--tiers", "lint", "--ccci-reruns", "2", "--ccci-json", "out.json", "--html=report.html")

    result.assert_outcomes(failed=1)
    lint = load_json(project.pytester.path / "out.json")["recipes"]["a"]["tiers"]["ccci/a::test_lint"]
    assert lint["status"] == "fail" and "runs" not in lint and "failed 1 of" not in lint["reason"]
    repro = f"pytest --recipe a --ref {project.head('a')} --tiers lint"
    assert lint["repro"] == repro
    # The HTML report lists it under the level table.
    html = (project.pytester.path / "report.html").read_text()
    assert f'<ul id="ccci-repro"><li>a lint (fail): <code>{repro}</code></li></ul>' in html


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_reruns_value_stops_the_run_in_one_line(project, value):
    project.enroll("a")

    result = project.run("--tiers", "lint", f"--ccci-reruns={value}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--ccci-reruns / ccci_reruns" in result.stderr.str() and "Traceback" not in result.stderr.str()


def test_the_ini_value_is_read_and_the_option_wins(project):
    project.enroll("a")
    project.pytester.makeini("[pytest]\nccci_reruns = x\n")

    assert project.run("--tiers", "lint").ret == pytest.ExitCode.USAGE_ERROR
    assert project.run("--tiers", "lint", "--ccci-reruns", "1").ret == pytest.ExitCode.OK
