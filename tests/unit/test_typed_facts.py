"""The lifecycle's typed record (documents/facts.py's RecipeFacts) on its way to results.json,
the swarm's service views (swarm/inventory.py), and a not-applicable skip told by its flag
(plugin/runner.py), not by its words."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from test_results import run_item

from pytest_ccci.documents.facts import Lint, RecipeFacts
from pytest_ccci.documents.results import Backup, LintWarning, Lock, UpgradeBase
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import Status, TierVerdict
from pytest_ccci.plugin.runner import TierRunner, not_applicable_key, skip_not_applicable
from pytest_ccci.run.results import Results
from pytest_ccci.swarm.inventory import ServiceView, snapshot

HEAD = "d" * 40


# -- the record ------------------------------------------------------------------------------


def test_a_later_report_adds_to_the_record_and_erases_nothing():
    record = RecipeFacts(head_sha=HEAD, durations={"deploy": 1.0}, install_stamp={"chaos": "true"})
    record.update(RecipeFacts(domain="d.test", upgrade_base=UpgradeBase("1.0.0+1", "newest older release")))
    assert record.head_sha == HEAD and record.durations == {"deploy": 1.0}, "unrecorded fields erased"
    assert record.domain == "d.test" and record.upgrade_base == UpgradeBase("1.0.0+1", "newest older release")
    record.update(RecipeFacts(durations={"deploy": 1.0, "teardown": 2.0}, clean_teardown=False))
    assert record.durations == {"deploy": 1.0, "teardown": 2.0} and record.clean_teardown is False


def test_an_empty_stamp_read_off_the_swarm_is_recorded():
    record = RecipeFacts(install_stamp={"chaos": "true"})
    record.update(RecipeFacts(install_stamp={}))
    assert record.install_stamp == {}
    assert record.stamps() == {"install_stamp": {}}


def test_a_shipped_copy_shares_nothing_the_lifecycle_goes_on_filling():
    record = RecipeFacts(pulled={"nginx:1": 1.0}, lint=Lint("abra", [LintWarning("R002", "hc", "none")]))
    shipped = record.copy()
    record.pulled["redis:7"] = 2.0
    assert shipped.pulled == {"nginx:1": 1.0}
    assert shipped == RecipeFacts.from_wire(json.loads(json.dumps(shipped.to_wire()))), "not plain data"


def test_the_record_reaches_results_json_by_its_fields():
    res = Results(["app"], TIERS, "r")
    facts = RecipeFacts(
        head_sha=HEAD,
        lock=Lock(1.0, 2.0),
        install_stamp={"chaos-version": HEAD[:8]},
        upgrade_stamp={"version": "1.0.0+1"},
        backup=Backup("/b.tar", "/b.json", 10, ["app:/data"]),
        upgrade_runs=["1.0.0+1"],
        clean_teardown=True,
    )
    for tier in TIERS:
        run_item(res, "app", tier, facts=facts.to_wire())
    out = res.as_dict()["recipes"]["app"]
    assert out["stamps"] == {"install_stamp": {"chaos-version": HEAD[:8]}, "upgrade_stamp": {"version": "1.0.0+1"}}
    assert out["lock"] == {"acquired": 1.0, "released": 2.0}
    assert out["backup"]["paths"] == ["app:/data"] and out["restore"] is None
    assert out["upgrade_runs"] == ["1.0.0+1"] and out["clean_teardown"] is True


def test_a_verdict_without_a_lifecycle_carries_no_record():
    verdict = TierVerdict("app", "install", Status.UNVER, "the worker crashed")
    assert verdict.to_wire()["facts"] is None
    assert TierVerdict.from_wire(verdict.to_wire(), RecipeFacts.from_wire).facts is None


# -- the swarm's service views ---------------------------------------------------------------


def engine_service(name: str, image: str = "nginx:1", update: dict | None = None) -> dict:
    svc = {
        "ID": f"id-{name}",
        "Spec": {
            "Name": name,
            "Labels": {"coop-cloud.st.chaos": "true"},
            "TaskTemplate": {"ContainerSpec": {"Image": image, "Env": ["A=1"]}},
        },
    }
    return svc | ({"UpdateStatus": update} if update else {})


def test_a_service_view_reads_what_the_run_layer_asks_of_a_service():
    view = ServiceView.of(engine_service("st_app", update={"State": "completed"}))
    assert view.name == "st_app" and view.image == "nginx:1"
    assert view.labels == {"coop-cloud.st.chaos": "true"}
    assert view.update_state == "completed" and view.update_status == {"State": "completed"}
    assert view.task_template == {"ContainerSpec": {"Image": "nginx:1", "Env": ["A=1"]}}


def test_a_service_never_updated_has_no_update_state():
    view = ServiceView.of(engine_service("st_db"))
    assert view.update_status is None and view.update_state is None


class Api:
    """The two engine calls a stack snapshot makes."""

    def __init__(self, services: list[dict]):
        self._services = services

    def services(self, filters=None):
        return self._services

    def tasks(self, filters=None):
        return [{"ID": f"task-of-{filters['service']}"}]


def test_a_snapshot_holds_each_services_spec_and_running_tasks():
    taken = snapshot(Api([engine_service("st_app"), engine_service("st_db", image="postgres:16")]), "st")
    assert set(taken) == {"st_app", "st_db"}
    assert taken["st_db"].tasks == frozenset({"task-of-st_db"})
    assert taken["st_db"].task_template["ContainerSpec"]["Image"] == "postgres:16"


# -- not applicable, by the skip's flag ------------------------------------------------------


def skip_report(text: str) -> SimpleNamespace:
    return SimpleNamespace(passed=False, skipped=True, longrepr=("recipe", 1, text))


def test_skip_not_applicable_flags_the_item_and_says_n_a():
    item = SimpleNamespace(stash=pytest.Stash())
    with pytest.raises(pytest.skip.Exception, match=r"^n/a: no older release$"):
        skip_not_applicable(item, "no older release")  # type: ignore[arg-type]
    assert item.stash[not_applicable_key] is True


@pytest.mark.parametrize(("flagged", "status"), [(True, Status.SKIP), (False, Status.UNVER)])
def test_the_verdict_of_a_skip_follows_the_flag_not_the_words(flagged, status):
    """A recipe's own test that skips saying "n/a:" is still unverified: only the plugin's
    not-applicable skips flag the item."""
    item = SimpleNamespace(stash=pytest.Stash())
    if flagged:
        item.stash[not_applicable_key] = True
    runner = TierRunner(SimpleNamespace())  # type: ignore[arg-type]
    verdict = runner.classify(item, skip_report("Skipped: n/a: said by a test"), None)  # type: ignore[arg-type]
    assert verdict == (status, "n/a: said by a test")
