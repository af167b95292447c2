"""The CI recipes in ci/ (GitHub Actions, Woodpecker): they parse, and every pytest-ccci command
they run exists with the options they pass. They are run for real only on a CI system; this
checks what can be checked here."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_ccci.__main__ import parser

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
GITHUB = CI / "github-actions.yml"
WOODPECKER = sorted((CI / "woodpecker").glob("*.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def shell_lines(path: Path) -> list[str]:
    """Every shell command the file runs, continuation lines joined."""
    doc = load(path)
    if "jobs" in doc:
        scripts = [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]
    else:
        scripts = [cmd for step in doc["steps"] for cmd in step.get("commands", [])]
    return [line for script in scripts for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def words(line: str) -> list[str]:
    """A command's words, with CI expressions and shell variables as placeholders."""
    line = re.sub(r"\$\{\{[^}]*\}\}", "1", line)
    line = re.sub(r"\$\{?\w+\}?", "1", line)
    return shlex.split(line.split(" #")[0], comments=False)


def invocations(module: str) -> list[tuple[Path, list[str]]]:
    """(file, arguments) of every `python3 -m <module>` command in the CI recipes."""
    found = []
    for path in [GITHUB, *WOODPECKER]:
        for line in shell_lines(path):
            ws = words(line)
            for i in range(len(ws) - 2):
                if ws[i].startswith("python") and ws[i + 1] == "-m" and ws[i + 2] == module:
                    found.append((path, ws[i + 3 :]))
    return found


@pytest.fixture(scope="module")
def pytest_help() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("path", [GITHUB, *WOODPECKER], ids=lambda p: p.relative_to(CI).as_posix())
def test_ci_recipe_is_yaml(path):
    assert isinstance(load(path), dict)


def test_github_workflow_has_a_shard_matrix_and_a_report_job():
    doc = load(GITHUB)
    shard, report = doc["jobs"]["shard"], doc["jobs"]["report"]
    assert shard["strategy"]["matrix"]["shard"] == list(range(1, int(doc["env"]["SHARDS"]) + 1))
    assert report["needs"] == "shard" and report["if"] == "always()"
    uses = [step.get("uses", "") for step in report["steps"]]
    assert any(u.startswith("actions/upload-artifact") for u in uses)  # the dashboard, published
    runs = " ".join(step.get("run", "") for step in report["steps"])
    assert 'site/summary.md >> "$GITHUB_STEP_SUMMARY"' in runs and "gh pr comment" in runs


def test_woodpecker_shards_then_report():
    shards, report = (load(CI / "woodpecker" / name) for name in ("shards.yml", "report.yml"))
    count = int(shards["steps"][0]["environment"]["SHARDS"])
    assert shards["matrix"]["SHARD"] == list(range(1, count + 1))
    assert report["depends_on"] == ["shards"]
    assert set(report["runs_on"]) == {"success", "failure"}


def test_every_pytest_run_uses_options_that_exist(pytest_help):
    runs = invocations("pytest")
    assert {path for path, _ in runs} == {GITHUB, CI / "woodpecker" / "shards.yml"}
    for path, args in runs:
        options = [a.split("=", 1)[0] for a in args if a.startswith("-")]
        assert "--ccci-shard" in options, (path, args)
        for option in options:
            assert re.search(rf"(^|[\s,]){re.escape(option)}[\s=,]", pytest_help, re.M), f"{path}: {option} unknown"


def test_every_report_command_parses_with_the_real_parser():
    runs = invocations("pytest_ccci")
    assert {path for path, _ in runs} == {GITHUB, CI / "woodpecker" / "report.yml"}
    for path, args in runs:
        parsed = parser().parse_args(args)  # an unknown option or a missing --out exits here
        assert parsed.command == "report" and parsed.history is not None, path
