"""Issue 20's graceful stop and picture, wired: teardown's patience follows the stack's stop
grace (swarm/teardown.py), the lifecycle merges each teardown's stop records into its facts
(run/lifecycle.py), and results.json and the terminal table show a killed service as the
install rung's S001 warning and the picture relative to results.json (run/results.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_ccci.documents.facts import Lint, RecipeFacts
from pytest_ccci.documents.results import LintWarning, Stop, rung_text
from pytest_ccci.model.stops import GRACEFUL, KILLED, StopRecord
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict
from pytest_ccci.run.lifecycle import RecipeLifecycle
from pytest_ccci.run.results import Results
from pytest_ccci.swarm.teardown import MAX_STOP_PATIENCE_SECONDS, stop_patience

KILLED_AFTER_3S = StopRecord(KILLED, 3.1, 137, 3.0)
GRACEFUL_FAST = StopRecord(GRACEFUL, 0.2, 0, 10.0)


def test_teardown_waits_out_the_longest_grace_before_it_forces():
    assert stop_patience([]) == 20.0  # swarm's default 10 s grace and the agent's delay
    assert stop_patience([3.0, 30.0]) == 40.0  # a legitimate 30 s grace is not killed at 20 s
    assert stop_patience([8760 * 3600.0]) == MAX_STOP_PATIENCE_SECONDS  # an unbounded grace is


def test_the_lifecycle_keeps_each_services_worst_stop_over_its_teardowns():
    handed: list[Any] = []

    class Backend:
        def teardown(self, app: object, stopped: Any = None) -> list[str]:
            handed.append(stopped)
            stopped({"app": KILLED_AFTER_3S, "db": GRACEFUL_FAST} if len(handed) == 1 else {"app": GRACEFUL_FAST})
            return []

    lifecycle = RecipeLifecycle.__new__(RecipeLifecycle)
    lifecycle.ctx, lifecycle.facts, lifecycle.stops = SimpleNamespace(backend=Backend()), RecipeFacts(), {}
    lifecycle._deployed, lifecycle.app = {"stack"}, lambda: "app"  # type: ignore[method-assign]
    lifecycle.teardown_deployments()  # install's
    lifecycle._deployed = {"stack"}
    lifecycle.teardown_deployments()  # the upgrade's: app stopped well this time, killed before
    assert lifecycle.stops == {"app": KILLED_AFTER_3S, "db": GRACEFUL_FAST}
    assert lifecycle.facts.stops["app"] == Stop("killed", 3.1, 137, 3.0, "SIGTERM")
    assert RecipeFacts.from_wire(lifecycle.facts.to_wire()).stops == lifecycle.facts.stops


class Report:
    """A call report of a passed tier, carrying its process's facts."""

    def __init__(self, tier: str, facts: RecipeFacts):
        self.nodeid, self.when, self.duration, self.longrepr, self.failed = (
            f"ccci/demo::test_{tier}",
            "call",
            1.0,
            None,
            False,
        )
        self.sections: list = []
        verdict = TierVerdict("demo", tier, Status.PASS, "", facts=facts)
        setattr(self, REPORT_ATTRIBUTE, verdict.to_wire())


def _results(facts: RecipeFacts) -> Results:
    results = Results(["demo"], ["install"], "run-1")
    results.add(Report("install", facts))
    return results


def test_a_killed_service_is_installs_warning_in_results_json_and_the_table(tmp_path: Path):
    facts = RecipeFacts(stops={"app": Stop.from_wire(KILLED_AFTER_3S.to_json())})
    results = _results(facts)
    path = tmp_path / "out" / "results.json"
    results.write_json(path)
    rec = json.loads(path.read_text())["recipes"]["demo"]
    (warning,) = rec["warnings"]
    assert (warning["id"], warning["rung"]) == ("S001", "install")
    assert "service app ignored SIGTERM" in warning["detail"]
    assert rec["stops"]["app"] == {
        "how": "killed",
        "seconds": 3.1,
        "exit_code": 137,
        "grace_seconds": 3.0,
        "signal": "SIGTERM",
    }
    header, row = results.table()[:2]
    install = header.index("install")
    assert row[install:].startswith("pass (1 warn)"), row
    assert "demo install: 1 warning(s): S001" in "\n".join(results.table())


def test_a_graceful_stop_is_no_warning_and_lint_warnings_stay_on_lint():
    lint = Lint("abra", [LintWarning("R002", "healthcheck", "none")])
    facts = RecipeFacts(stops={"app": Stop.from_wire(GRACEFUL_FAST.to_json())}, lint=lint)
    rec = _results(facts).document().recipes["demo"]
    assert [w.id for w in rec.warnings] == ["R002"]
    wire = [w.to_wire() for w in rec.warnings]
    assert rung_text("lint", "pass", wire) == "pass (1 warn)" and rung_text("install", "pass", wire) == "pass"


def test_the_picture_is_named_relative_to_results_json_when_written(tmp_path: Path):
    png = tmp_path / "run" / "pictures" / "demo.png"
    results = _results(RecipeFacts(picture=str(png)))
    assert results.as_dict()["recipes"]["demo"]["picture"] == str(png)  # not written: absolute
    path = tmp_path / "out" / "results.json"
    results.write_json(path)
    named = json.loads(path.read_text())["recipes"]["demo"]["picture"]
    assert named == "../run/pictures/demo.png" and (path.parent / named).resolve() == png.resolve()
