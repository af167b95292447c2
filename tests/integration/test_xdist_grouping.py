"""`-n 2` keeps each recipe's items on one worker, in tier order, and gives the serial run's results.

The recipes' own (functional) tests are what make a recipe more than one item, and functional
is a swarm tier: the session connects to the engine (and runs its janitor) even though these
tests read nothing but the recipe name and deploy nothing. That is why this lives here, and
the offline check in tests/plugin/test_reports_offline.py runs lint alone.
"""

from __future__ import annotations

import json

import pytest

from conftest import Lab
from pytest_ccci.documents.results import comparable

RECIPES = ("xga", "xgb", "xgc")  # xgb fails lint: the runs must agree on a failure too
FUNCTIONS = ("one", "two", "three")

# A plugin (-p), not a conftest: the tier items live in the plugin's own test module, outside
# the project dir, so a conftest's hooks would not see their reports.
WORKER_LOG_PLUGIN = """\
import json
import os

CONFIG = []


def pytest_configure(config):
    CONFIG.append(config)


def pytest_runtest_logreport(report):
    workerinput = getattr(CONFIG[0], "workerinput", None) if CONFIG else None
    if workerinput is not None and report.when == "call":
        with open(os.environ["CCCI_WORKER_LOG"], "a") as fh:
            fh.write(json.dumps([report.nodeid, workerinput["workerid"]]) + "\\n")
"""


def functional_tests(name: str) -> str:
    return "".join(f"def test_{f}(ccci_recipe):\n    assert ccci_recipe == {name!r}\n\n" for f in FUNCTIONS)


def enroll(lab: Lab) -> None:
    for name in RECIPES:
        lab.enroll(name, example="hello-lintfail" if name == "xgb" else "hello")
        (lab.recipes_dir / name / f"test_{name}.py").write_text(functional_tests(name))


def test_xdist_keeps_a_recipe_on_one_worker_in_order_and_matches_serial(lab, monkeypatch):
    enroll(lab)
    plugins = lab.tmp / "plugins"
    plugins.mkdir()
    (plugins / "ccci_worker_log.py").write_text(WORKER_LOG_PLUGIN)
    log = lab.tmp / "workers.log"
    monkeypatch.setenv("PYTHONPATH", str(plugins))  # the xdist workers inherit it
    monkeypatch.setenv("CCCI_WORKER_LOG", str(log))
    args = ("--tiers", "lint,functional", "-p", "ccci_worker_log", *(a for n in RECIPES for a in ("--recipe", n)))

    serial = lab.run(*args, json_name="serial.json")
    parallel = lab.run(*args, "-n", "2", json_name="parallel.json")

    assert serial.result.ret == parallel.result.ret == pytest.ExitCode.TESTS_FAILED, parallel.output[-3000:]
    serial.result.assert_outcomes(passed=11, failed=1)
    parallel.result.assert_outcomes(passed=11, failed=1)
    assert comparable(parallel.results) == comparable(serial.results)  # verdicts, not clocks
    assert parallel.recipe("xga")["rungs"]["functional"] == {"status": "pass", "reason": ""}
    assert parallel.recipe("xgb")["rungs"]["lint"]["status"] == "fail"
    assert {name: parallel.recipe(name)["level"] for name in RECIPES} == dict.fromkeys(RECIPES, 0)  # no install
    assert len(parallel.recipe("xga")["tiers"]) == 1 + len(FUNCTIONS)

    runs = [json.loads(line) for line in log.read_text().splitlines()]  # only the workers write
    assert len(runs) == 12, runs
    assert len({worker for _, worker in runs}) == 2  # three recipes over two workers: both busy
    for name in RECIPES:
        mine = [
            (nodeid, worker) for nodeid, worker in runs if nodeid.startswith((f"ccci/{name}::", f"recipes/{name}/"))
        ]
        assert len({worker for _, worker in mine}) == 1, f"recipe {name} ran on several workers: {mine}"
        assert [nodeid for nodeid, _ in mine] == [
            f"ccci/{name}::test_lint",
            *(f"recipes/{name}/test_{name}.py::test_{f}" for f in FUNCTIONS),
        ]
