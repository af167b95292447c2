"""Plugin behaviour that needs the session connected to a swarm: the functional tier is a swarm
tier, so a run with a recipe's own tests connects at its start. These tests deploy nothing
(their recipe tests read `ccci_recipe` alone) and run with --no-janitor, but they need a
reachable swarm: without one they skip, and in CI they fail (tests/conftest.py).

- Defect 1: a recipe's test failing with requests' or the OS's connection errors (its app is
  down) is the recipe's failure, not an unverified tier: classified by the error's kind, never by
  the module its class lives in, and unverified only when the engine itself is gone.
- Defect 7: under xdist, every item of a recipe runs on one worker even when the recipe's own
  test is parametrized (the node id's parameters say nothing of the recipe).
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from ccci_testkit import load_json

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _swarm(missing_requirement) -> None:
    from pytest_ccci.errors import UsageError
    from pytest_ccci.swarm.facade import connect

    try:
        connect()
    except UsageError as exc:
        missing_requirement(f"no swarm: {exc}")


APP_DOWN = """\
import requests


def test_front_page(ccci_recipe):
    raise requests.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=8080): Connection refused")


def test_notes(ccci_recipe):
    raise ConnectionRefusedError(111, "Connection refused")


def test_fine(ccci_recipe):
    assert ccci_recipe == "a"
"""


def test_app_down_in_a_functional_test_is_a_failure_not_unverified(project):
    project.enroll("a", tests=APP_DOWN)

    result = project.run("--tiers", "functional", "--ccci-json", "out.json")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1, failed=2)
    rec = load_json(project.pytester.path / "out.json")["recipes"]["a"]
    tiers = rec["tiers"]
    assert tiers["recipes/a/test_a.py::test_front_page"] == {
        "tier": "functional",
        "status": "fail",
        "reason": "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=8080): Connection refused",
        "repro": "pytest --recipe a --tiers functional",
    }
    assert tiers["recipes/a/test_a.py::test_notes"] == {
        "tier": "functional",
        "status": "fail",
        "reason": "ConnectionRefusedError: [Errno 111] Connection refused",
        "repro": "pytest --recipe a --tiers functional",
    }
    assert tiers["recipes/a/test_a.py::test_fine"]["status"] == "pass"
    assert rec["rungs"]["functional"]["status"] == "fail"


# A plugin (-p) on the controller: xdist hands it every report with the worker that ran it.
WORKER_OF_REPORT = """\
import json
import os


def pytest_runtest_logreport(report):
    node = getattr(report, "node", None)  # set by xdist on the controller
    if node is not None and report.when == "call":
        with open(os.environ["CCCI_WORKER_LOG"], "a") as fh:
            fh.write(json.dumps([report.nodeid, node.workerinput["workerid"]]) + "\\n")
"""

# Parametrized before the plugin ever sees the test: a parametrized fixture, then a marker. (Node
# ids used to read `test_status[GET-a-1]`, and the scheduler lost the recipe in them.)
PARAMETRIZED_FIRST = """\
import pytest


@pytest.fixture(params=["GET", "HEAD"])
def method(request):
    return request.param


@pytest.mark.parametrize("n", [1, 2])
def test_status(method, n, ccci_recipe):
    assert ccci_recipe == {name!r}
"""


def test_parametrized_recipe_tests_stay_on_their_recipes_worker(project, monkeypatch):
    for name in ("a", "b"):
        project.enroll(name, tests=PARAMETRIZED_FIRST.format(name=name))
    plugins = project.pytester.path / "plugins"
    plugins.mkdir()
    (plugins / "ccci_worker_of_report.py").write_text(WORKER_OF_REPORT)
    log = project.pytester.path / "workers.log"
    monkeypatch.setenv("PYTHONPATH", str(plugins))
    monkeypatch.setenv("CCCI_WORKER_LOG", str(log))

    result = project.run("--tiers", "lint,functional", "-n", "2", "-p", "ccci_worker_of_report")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=10)
    workers: dict[str, set[str]] = defaultdict(set)
    ran: dict[str, list[str]] = defaultdict(list)
    for nodeid, worker in (json.loads(line) for line in log.read_text().splitlines()):
        recipe = "a" if nodeid.startswith(("ccci/a::", "recipes/a/")) else "b"
        workers[recipe].add(worker)
        ran[recipe].append(nodeid)
    for name in ("a", "b"):
        assert len(workers[name]) == 1, f"recipe {name} ran on several workers: {ran[name]}"
        assert ran[name][0] == f"ccci/{name}::test_lint"
        assert sorted(ran[name][1:]) == [
            f"recipes/{name}/test_{name}.py::test_status[{method}-{n}]" for method in ("GET", "HEAD") for n in (1, 2)
        ]
