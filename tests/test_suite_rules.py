"""The suite's own rules, checked on the suite: `-m integration` selects exactly the integration
tests, and a missing requirement (the real recipe files, a swarm, root) skips on a developer
machine but fails in CI (tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def collected(*args: str) -> list[str]:
    """Node ids `pytest --collect-only -q` prints for `args`, run from the repository root."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_the_integration_marker_selects_the_integration_tests_and_only_them():
    unit = "tests/unit/test_naming.py"
    everything = collected("tests/integration", unit)
    integration = [n for n in everything if n.startswith("tests/integration/")]
    assert integration and len(integration) < len(everything)

    assert collected("-m", "integration", "tests/integration", unit) == integration
    assert collected("-m", "not integration", "tests/integration", unit) == [
        n for n in everything if n.startswith(unit)
    ]


REQUIREMENTS_TESTS = """\
def test_reads_real_recipes(real_recipes):
    assert (real_recipes / "bore").is_dir()


def test_needs_root(missing_requirement):
    missing_requirement("needs root to restart dockerd")
"""


@pytest.fixture
def suite_copy(pytester: pytest.Pytester) -> Path:
    """This suite's tests/conftest.py in a repository of its own, with no ../shared beside it
    (as in a user's fresh clone); returns where ../shared/real-recipes would be."""
    tests = pytester.path / "clone" / "tests"
    tests.mkdir(parents=True)
    shutil.copyfile(TESTS / "conftest.py", tests / "conftest.py")
    (tests / "test_requirements.py").write_text(REQUIREMENTS_TESTS)
    return pytester.path / "shared" / "real-recipes"


def run_copy(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess(str(pytester.path / "clone" / "tests"), "-rs", "-p", "no:cacheprovider")


def test_a_missing_requirement_skips_with_its_reason_outside_ci(pytester, suite_copy, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = run_copy(pytester)
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            f"SKIPPED*the real recipe files are not at {suite_copy} (../shared/real-recipes beside the repository)",
            "SKIPPED*needs root to restart dockerd",
        ]
    )


def test_a_missing_requirement_fails_in_ci(pytester, suite_copy, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = run_copy(pytester)
    result.assert_outcomes(errors=1, failed=1)  # the fixture errors at setup; the test fails
    result.stdout.fnmatch_lines(["*the real recipe files are not at*(CI is set: a test that cannot run fails*"])
    result.stdout.fnmatch_lines(["*needs root to restart dockerd (CI is set*"])


def test_real_recipes_are_found_beside_the_repository(pytester, suite_copy, monkeypatch):
    monkeypatch.setenv("CI", "true")
    (suite_copy / "bore").mkdir(parents=True)
    result = run_copy(pytester)
    result.assert_outcomes(passed=1, failed=1)  # the other test still lacks root, in CI


def test_every_test_module_has_a_basename_of_its_own():
    """The test folders are not packages: two modules of one basename stop collection of the suite."""
    root = Path(__file__).parent
    names = sorted(p.name for p in root.rglob("test_*.py"))
    assert not [n for n in set(names) if names.count(n) > 1]
