"""The runner's ini choices through the plugin (offline: `--tiers lint` deploys nothing): a value
outside an option's choices stops the run with one usage line naming the option and its choices."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("ini", "expected"),
    [
        ("ccci_pull=always", "ERROR: ccci: ccci_pull 'always': choose from missing, never"),
        ("ccci_endpoint_mode=ipvs", "ERROR: ccci: ccci_endpoint_mode 'ipvs': choose from auto, vip, dnsrr"),
    ],
    ids=["pull", "endpoint-mode"],
)
def test_a_runner_choice_outside_its_choices_is_one_usage_line(project, ini, expected):
    project.enroll("a")

    result = project.run("--tiers", "lint", "-o", ini)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.errlines if line.strip()]
    assert lines == [expected]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("value", ["missing", "never", " never "])
def test_each_pull_choice_is_accepted(project, value):
    project.enroll("a")

    result = project.run("--tiers", "lint", "-o", f"ccci_pull={value}")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:] + result.stderr.str()
