"""Offline runs (`--tiers lint`): verdicts, results JSON, terminal summary, xdist, and the
junit/html reports. Needs git, no Docker: every run here passes with DOCKER_HOST pointing
nowhere. (Any other tier is a swarm tier: the session connects to the engine at its start.)"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ccci_testkit import load_json

from pytest_ccci.documents.results import comparable

NOT_SELECTED = "not selected (--tiers)"


@pytest.fixture(autouse=True)
def _no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof, on every run, that nothing here needs Docker: the engine's address leads nowhere
    (the pytest subprocesses inherit it)."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")


def _only_lint_rungs(lint: dict) -> dict:
    """The rungs results.py produces when only the lint tier was selected."""
    return {
        "install": {"status": "unver", "reason": NOT_SELECTED},
        "upgrade": {"status": "unver", "reason": NOT_SELECTED},
        "backup_restore": {"status": "unver", "reason": f"backup: {NOT_SELECTED}; restore: {NOT_SELECTED}"},
        "functional": {"status": "unver", "reason": NOT_SELECTED},
        "lint": lint,
    }


def _error_section(result: pytest.RunResult, title: str) -> list[str]:
    """The body lines of one `ERROR at setup of ...` section."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if f"ERROR at setup of {title}" in line)
    body = []
    for line in lines[start + 1 :]:
        if line.startswith(("_____", "=====")):
            break
        body.append(line)
    return [line for line in body if line.strip()]


def _output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


# -- verdicts and results JSON ----------------------------------------------------------------


def test_good_recipe_lint_passes_and_results_json(project):
    project.enroll("a")

    result = project.run("--tiers", "lint", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=1)
    doc = load_json(project.pytester.path / "out.json")
    assert doc["schema"] == "pytest-ccci/results/1"
    assert doc["interrupted"] is False
    assert re.fullmatch(r"\d{14}-[0-9a-f]{6}", doc["run_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["started"])
    assert list(doc["recipes"]) == ["a"]
    rec = doc["recipes"]["a"]
    assert rec["rungs"] == _only_lint_rungs({"status": "pass", "reason": ""})
    assert rec["level"] == 0  # L1 needs install: a lint pass alone earns nothing
    assert rec["why_not_higher"] == f"L1 install unverified: {NOT_SELECTED}"
    assert rec["tiers"] == {"ccci/a::test_lint": {"tier": "lint", "status": "pass", "reason": ""}}
    assert rec["ref"] == "default branch"
    assert rec["head_sha"] == project.head("a")
    assert rec["dirty"] is False
    assert rec["domain"] is None
    # Lint compares the head with its upgrade base (R022-R027), so the base is recorded, or why none.
    assert rec["upgrade_base"]["version"] is None and rec["upgrade_base"]["how"].startswith("no older release")
    assert rec["stamps"] == {} and rec["deploy_durations"] == {}
    assert set(rec["durations"]) == {"lint"} and rec["durations"]["lint"] >= 0
    assert rec["clean_teardown"] is True
    assert rec["leftovers"] == []
    assert rec["no_secret_leak"] is True
    # The recipe's mirror went to $XDG_CACHE_HOME/pytest-ccci/mirrors.
    mirrors = [m.name for m in project.mirrors() if m.suffix == ".git"]
    assert len(mirrors) == 1 and re.fullmatch(r"a-[0-9a-f]{12}\.git", mirrors[0]), mirrors


def test_checkouts_go_under_the_basetemp(project):
    sha = project.repo("a")
    project.enroll("a", source="../../src/a")

    result = project.run("--tiers", "lint")  # pytester passes --basetemp=<project>/runpytest-0

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    checkouts = project.pytester.path / "runpytest-0" / "ccci" / "checkouts"
    assert (checkouts / f"a-{sha[:8]}").is_dir(), (
        f"checkout not under the run's basetemp: {sorted(checkouts.parent.parent.iterdir())}"
    )
    assert not (Path("/tmp/ccci/checkouts") / f"a-{sha[:8]}").exists()  # the old shared fallback: gone


def test_ref_option_checks_out_a_tag(project):
    project.enroll("a")

    result = project.run("--tiers", "lint", "--ref", "0.1.0+1.0", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    rec = load_json(project.pytester.path / "out.json")["recipes"]["a"]
    assert rec["ref"] == "0.1.0+1.0"
    assert rec["head_sha"] == project.head("a")


def test_lint_error_fails_with_rule_id(project):
    project.repo("web", service="web")
    project.enroll("web", source="../../src/web")

    result = project.run("--tiers", "lint", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert any(line.startswith("FAILED ccci/web::test_lint - AssertionError: R009 ") for line in result.outlines)
    assert "no service named app (services: web)" in result.stdout.str()
    rec = load_json(project.pytester.path / "out.json")["recipes"]["web"]
    assert rec["level"] == 0
    assert rec["rungs"]["lint"]["status"] == "fail"
    assert rec["rungs"]["lint"]["reason"].startswith(
        "R009 one service named 'app': no service named app (services: web)"
    )
    assert rec["tiers"]["ccci/web::test_lint"]["status"] == "fail"


def test_unreachable_source_errors_in_one_line(project):
    project.enroll("gone", source="/nonexistent/repo")

    result = project.run("--tiers", "lint", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    assert "Traceback" not in _output(result)
    body = _error_section(result, "test_lint[gone]")
    assert len(body) == 1, body
    assert body[0].startswith("RecipeError: recipe gone: source /nonexistent/repo could not be fetched: ")
    doc = load_json(project.pytester.path / "out.json")
    rec = doc["recipes"]["gone"]
    assert rec["level"] == 0
    lint = {"status": "fail", "reason": rec["rungs"]["lint"]["reason"], "repro": "pytest --recipe gone --tiers lint"}
    assert rec["rungs"] == _only_lint_rungs(lint)  # no commit resolved: the repro has no --ref
    assert "recipe gone: source /nonexistent/repo could not be fetched" in rec["rungs"]["lint"]["reason"]
    assert rec["head_sha"] is None
    assert not [m for m in project.mirrors() if m.suffix == ".git"]  # no half-made mirror left


def test_unknown_settings_key_names_file_and_key(project):
    project.enroll("a", extra="helth:\n  path: /\n")

    result = project.run("--tiers", "lint", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    assert "Traceback" not in _output(result)
    settings = project.recipes / "a" / "ccci.yml"
    body = _error_section(result, "test_lint[a]")
    assert len(body) == 1, body
    assert body[0].startswith(f"RecipeError: {settings}: unknown key 'helth' (known: ")
    rec = load_json(project.pytester.path / "out.json")["recipes"]["a"]
    assert rec["rungs"]["lint"]["status"] == "fail"
    assert rec["rungs"]["lint"]["reason"].startswith(f"{settings}: unknown key 'helth'")
    assert rec["level"] == 0


def test_unknown_ref_fails_with_does_not_exist(project):
    project.enroll("a")

    result = project.run("--tiers", "lint", "--ref", "doesnotexist", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    assert "Traceback" not in _output(result)
    body = _error_section(result, "test_lint[a]")
    assert body == [
        f"RecipeError: recipe a: ref 'doesnotexist' does not exist in {project.pytester.path / 'src' / 'a'}"
    ]
    rec = load_json(project.pytester.path / "out.json")["recipes"]["a"]
    assert rec["rungs"]["lint"] == {
        "status": "fail",
        "reason": f"recipe a: ref 'doesnotexist' does not exist in {project.pytester.path / 'src' / 'a'}",
        "repro": "pytest --recipe a --ref doesnotexist --tiers lint",  # the ref as given: none resolved
    }


def test_lint_declared_not_applicable_is_a_skip(project):
    project.enroll("a", extra="not_applicable:\n  lint: linted upstream\n")

    result = project.run("--tiers", "lint", "--ccci-json", "out.json", "-rs")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=1)
    rec = load_json(project.pytester.path / "out.json")["recipes"]["a"]
    assert rec["rungs"]["lint"] == {"status": "skip", "reason": "n/a: linted upstream (declared in ccci.yml)"}
    assert rec["level"] == 0


# -- terminal summary -------------------------------------------------------------------------


def test_terminal_summary_has_levels_table(project):
    project.enroll("a")
    project.repo("web", service="web")
    project.enroll("web", source="../../src/web")

    result = project.run("--tiers", "lint")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"=+ ccci levels =+", line))
    table = lines[start + 1 : start + 4]
    assert table[0].split() == ["recipe", "head", "level", "install", "upgrade", "backup_restore", "functional", "lint"]
    assert table[1].split() == ["a", project.head("a")[:8], "L0", "unver", "unver", "unver", "unver", "pass"]
    # No app: R009 fails (error), and R019 (the version label on app, a warning) is said too.
    web = ["web", project.head("web")[:8], "L0", "unver", "unver", "unver", "unver", "fail", "(1", "warn)"]
    assert table[2].split() == web
    reasons = lines[start + 4 :]
    # One line per distinct reason, naming every rung it holds for.
    assert f"  a install, upgrade, functional: unver: {NOT_SELECTED}" in reasons
    assert f"  a backup_restore: unver: backup: {NOT_SELECTED}; restore: {NOT_SELECTED}" in reasons
    assert not any(line.startswith("  a lint") for line in reasons)  # passed: nothing to explain
    assert any(line.startswith("  web lint: fail: R009 ") for line in reasons)


# -- xdist ------------------------------------------------------------------------------------
# Offline, so lint alone: a recipe's own tests would make it a swarm run (functional deploys),
# and tests/integration/test_xdist_grouping.py checks a recipe's items keep to one worker.


def test_xdist_matches_serial(project):
    project.enroll("a")
    project.repo("b", service="web")  # a lint failure
    project.enroll("b", source="../../src/b")
    project.enroll("c")

    serial = project.run("--tiers", "lint", "--ccci-json", "serial.json")
    parallel = project.run("--tiers", "lint", "-n", "2", "--ccci-json", "parallel.json")

    assert serial.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED, parallel.stdout.str()
    serial.assert_outcomes(passed=2, failed=1)
    parallel.assert_outcomes(passed=2, failed=1)
    serial_doc = load_json(project.pytester.path / "serial.json")
    parallel_doc = load_json(project.pytester.path / "parallel.json")
    assert comparable(parallel_doc) == comparable(serial_doc)
    assert {n: r["level"] for n, r in parallel_doc["recipes"].items()} == {"a": 0, "b": 0, "c": 0}
    assert {n: r["rungs"]["lint"]["status"] for n, r in parallel_doc["recipes"].items()} == {
        "a": "pass",
        "b": "fail",
        "c": "pass",
    }
    assert "2 workers" in parallel.stdout.str()  # it did run on xdist workers


# -- other reports alongside ------------------------------------------------------------------


def test_junitxml_alongside(project):
    project.enroll("a")

    result = project.run("--tiers", "lint", "--junitxml", "junit.xml", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.OK
    root = ET.parse(project.pytester.path / "junit.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("ccci.a", "test_lint")
    ]  # JUnit classname: the recipe
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    case_props = {p.get("name"): p.get("value") for p in cases[0].iter("property")}
    assert case_props == {"ccci.recipe": "a", "ccci.tier": "lint", "ccci.status": "pass"}
    suite_props = {p.get("name"): p.get("value") for p in suite.find("properties").iter("property")}
    assert {k: v for k, v in suite_props.items() if k.startswith("ccci.")} == {
        "ccci.a.level": "0",
        "ccci.a.install": "unver",
        "ccci.a.upgrade": "unver",
        "ccci.a.backup_restore": "unver",
        "ccci.a.functional": "unver",
        "ccci.a.lint": "pass",
    }
    assert load_json(project.pytester.path / "out.json")["recipes"]["a"]["rungs"]["lint"]["status"] == "pass"


def test_without_pytest_html(project):
    project.enroll("a")

    result = project.run("-p", "no:html", "--tiers", "lint", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= ccci levels =*"])
    assert load_json(project.pytester.path / "out.json")["recipes"]["a"]["rungs"]["lint"]["status"] == "pass"


def test_html_report_has_levels_table(project):
    pytest.importorskip("pytest_html")
    project.enroll("a")

    result = project.run("--tiers", "lint", "--html", "report.html")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    html = (project.pytester.path / "report.html").read_text()
    assert '<table id="ccci-levels">' in html
    table = html[html.index('<table id="ccci-levels">') :]
    table = table[: table.index("</table>")]
    assert "<td>a</td>" in table
    assert f"<td>{project.head('a')[:8]}</td>" in table
    assert "<td><b>L0</b></td>" in table
    assert 'class="ccci-pass"' in table and ">pass</td>" in table
