"""results.py from test reports carrying a TierVerdict, as the plugin's makereport attaches it.
(How the scheduler finds an item's recipe is tested in test_nodeids.py.)"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.model.secrets import Fingerprint
from pytest_ccci.model.tiers import RUNGS, TIERS
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict, classify_skip
from pytest_ccci.run.results import SCHEMA, Results

HEAD = "0123456789abcdef0123456789abcdef01234567"


def nodeid(recipe: str, tier: str, name: str = "test_it") -> str:
    if tier == "functional":
        return f"recipes/{recipe}/test_{recipe}.py::{name}"
    return f"ccci/{recipe}::test_{tier}"


def report(
    recipe,
    tier,
    status="pass",
    when="call",
    reason="",
    *,
    nid=None,
    duration=0.5,
    longrepr=None,
    sections=(),
    facts=None,
    fingerprints=(),
    outcome=None,
):
    """One TestReport as the controller sees it, with the verdict the plugin attaches, as xdist
    ships it from a worker (plain data)."""
    if outcome is None:
        outcome = {"pass": "passed", "fail": "failed", "skip": "skipped", "unver": "skipped"}[status]
    # The lifecycle's record as the plugin attaches it, given here in its wire form (the keys of results.json)
    recorded = RecipeFacts.from_wire(facts) if facts else None
    verdict = TierVerdict(recipe, tier, Status(status), reason, recorded, tuple(fingerprints))
    return SimpleNamespace(
        nodeid=nid or nodeid(recipe, tier),
        when=when,
        outcome=outcome,
        passed=outcome == "passed",
        failed=outcome == "failed",
        skipped=outcome == "skipped",
        duration=duration,
        longrepr=longrepr,
        sections=list(sections),
        user_properties=[("other", {"x": 1})],
        **{REPORT_ATTRIBUTE: verdict.to_wire()},
    )


def run_item(results, recipe, tier, status="pass", reason="", **kw):
    """setup, call, teardown of one item; a non-pass lands on the call."""
    results.add(report(recipe, tier, "pass", "setup", **kw))
    results.add(report(recipe, tier, status, "call", reason, **kw))
    results.add(report(recipe, tier, "pass", "teardown", **kw))


def all_pass(results, recipe, tiers=TIERS, facts=None):
    for tier in tiers:
        run_item(results, recipe, tier, facts=facts)


def rungs_of(results, recipe):
    return {r.name: (r.status, r.reason) for r in results.rungs(results.records[recipe])}


def level_of(results, recipe):
    return results.as_dict()["recipes"][recipe]["level"]


# -- levels from reports ---------------------------------------------------------------------


def test_everything_passes_level_5():
    res = Results(["hello"], TIERS, "run-1")
    all_pass(res, "hello", facts={"head_sha": HEAD, "ref": "main", "dirty": False})
    out = res.as_dict()["recipes"]["hello"]
    assert out["level"] == 5
    assert out["why_not_higher"] == ""
    assert out["rungs"] == {name: {"status": "pass", "reason": ""} for name in RUNGS}
    assert out["head_sha"] == HEAD and out["ref"] == "main" and out["dirty"] is False
    assert set(out["durations"]) == set(TIERS)
    assert out["durations"]["install"] == pytest.approx(1.5)  # setup + call + teardown
    assert out["no_secret_leak"] is True


def test_upgrade_failure_stops_at_level_1():
    res = Results(["hello"], TIERS, "r")
    for tier in TIERS:
        if tier == "upgrade":
            run_item(res, "hello", tier, "fail", "HC1: stamped chaos-version='aaaa', expected 'bbbb'")
        else:
            run_item(res, "hello", tier)
    rungs = rungs_of(res, "hello")
    assert rungs["upgrade"] == (Status.FAIL, "HC1: stamped chaos-version='aaaa', expected 'bbbb'")
    assert rungs["install"] == (Status.PASS, "")
    out = res.as_dict()["recipes"]["hello"]
    assert out["level"] == 1
    assert out["why_not_higher"].startswith("L2 upgrade failed: HC1")


def test_setup_failure_counts_and_call_never_happens():
    res = Results(["hello"], ["install"], "r")
    res.add(report("hello", "install", "fail", "setup", "RecipeError: recipe hello: ref 'x' does not exist"))
    res.add(report("hello", "install", "pass", "teardown"))
    assert rungs_of(res, "hello")["install"] == (Status.FAIL, "RecipeError: recipe hello: ref 'x' does not exist")
    assert level_of(res, "hello") == 0


def test_first_non_pass_verdict_wins():
    res = Results(["hello"], ["install"], "r")
    res.add(report("hello", "install", "unver", "setup", "infrastructure: daemon gone"))
    res.add(report("hello", "install", "fail", "call", "later failure"))
    assert rungs_of(res, "hello")["install"] == (Status.UNVER, "infrastructure: daemon gone")


def test_teardown_failure_does_not_change_verdict_but_marks_clean_teardown():
    res = Results(["hello"], TIERS, "r")
    all_pass(res, "hello", facts={"clean_teardown": True})
    res.add(report("hello", "install", "fail", "teardown", "teardown left volumes", outcome="failed"))
    out = res.as_dict()["recipes"]["hello"]
    assert out["level"] == 5
    assert out["clean_teardown"] is False
    assert res.records["hello"].teardown_errors == ["teardown left volumes"]


def test_clean_teardown_true_and_unknown():
    res = Results(["a", "b"], TIERS, "r")
    all_pass(res, "a", facts={"clean_teardown": True})
    all_pass(res, "b")
    out = res.as_dict()["recipes"]
    assert out["a"]["clean_teardown"] is True
    assert out["b"]["clean_teardown"] is None


def test_not_applicable_backup_restore_skipped_ladder_continues():
    res = Results(["static"], TIERS, "r")
    for tier in ("lint", "install", "upgrade", "functional"):
        run_item(res, "static", tier)
    for tier in ("backup", "restore"):
        res.add(report("static", tier, "skip", "setup", "n/a: no state to back up"))
    rungs = rungs_of(res, "static")
    assert rungs["backup_restore"] == (Status.SKIP, "n/a: no state to back up")
    assert level_of(res, "static") == 5


def test_a_skip_not_declared_na_holds_the_ladder_below_its_rung():
    # The verdict the plugin makes of pytest's skip report (the mapping itself: test_skip_mapping.py).
    status, reason = classify_skip("Skipped: needs an SMTP server", not_applicable=False)
    res = Results(["hello"], TIERS, "r")
    for tier in ("lint", "install", "upgrade", "backup", "restore"):
        run_item(res, "hello", tier)
    res.add(
        report("hello", "functional", status.value, "setup", reason, nid=nodeid("hello", "functional", "test_mail"))
    )
    assert rungs_of(res, "hello")["functional"] == (Status.UNVER, "needs an SMTP server")
    assert level_of(res, "hello") == 3


def test_functional_items_aggregate():
    res = Results(["hello"], TIERS, "r")
    all_pass(res, "hello")
    run_item(res, "hello", "functional", "fail", "greeting wrong", nid=nodeid("hello", "functional", "test_greeting"))
    assert rungs_of(res, "hello")["functional"] == (Status.FAIL, "greeting wrong")
    assert level_of(res, "hello") == 3
    tiers = res.as_dict()["recipes"]["hello"]["tiers"]
    assert tiers[nodeid("hello", "functional", "test_greeting")] == {
        "tier": "functional",
        "status": "fail",
        "reason": "greeting wrong",
    }
    assert tiers[nodeid("hello", "functional")]["status"] == "pass"


def test_functional_with_no_items_is_unverified():
    res = Results(["hello"], TIERS, "r")
    all_pass(res, "hello", tiers=[t for t in TIERS if t != "functional"])
    status, reason = rungs_of(res, "hello")["functional"]
    assert status == Status.UNVER
    assert reason.startswith("no functional tests")
    out = res.as_dict()["recipes"]["hello"]
    assert out["level"] == 3
    assert out["why_not_higher"].startswith("L4 functional unverified: no functional tests")


def test_tiers_not_selected_are_unverified():
    res = Results(["hello"], ["lint", "install"], "r")
    all_pass(res, "hello", tiers=["lint", "install"])
    rungs = rungs_of(res, "hello")
    assert rungs["install"] == (Status.PASS, "")
    assert rungs["lint"] == (Status.PASS, "")
    assert rungs["upgrade"] == (Status.UNVER, "not selected (--tiers)")
    assert rungs["functional"] == (Status.UNVER, "not selected (--tiers)")
    assert rungs["backup_restore"][0] == Status.UNVER
    assert "not selected (--tiers)" in rungs["backup_restore"][1]
    assert level_of(res, "hello") == 1


def test_selected_but_never_reported_did_not_run():
    res = Results(["hello"], TIERS, "r")
    run_item(res, "hello", "install")
    assert rungs_of(res, "hello")["upgrade"] == (Status.UNVER, "did not run")


def test_interrupted_run_is_unverified():
    res = Results(["hello"], TIERS, "r")
    run_item(res, "hello", "lint")
    run_item(res, "hello", "install")
    # The backup item was cut off: only its teardown was reported.
    res.add(report("hello", "backup", "unver", "teardown", outcome="passed"))
    res.interrupted = True
    rungs = rungs_of(res, "hello")
    assert rungs["install"] == (Status.PASS, "")
    assert rungs["upgrade"] == (Status.UNVER, "interrupted before it ran")
    assert rungs["backup_restore"][0] == Status.UNVER
    assert "backup: interrupted" in rungs["backup_restore"][1]
    out = res.as_dict()
    assert out["interrupted"] is True
    assert out["recipes"]["hello"]["level"] == 1
    assert out["recipes"]["hello"]["tiers"][nodeid("hello", "backup")]["status"] == "unver"


def test_item_without_verdict_not_interrupted():
    res = Results(["hello"], ["install"], "r")
    res.add(report("hello", "install", "pass", "teardown"))
    assert rungs_of(res, "hello")["install"] == (Status.UNVER, "no verdict")


def test_interrupted_before_functional_says_interrupted():
    # The recipe has functional tests, but Ctrl-C came before they ran: no report arrived.
    res = Results(["hello"], TIERS, "r")
    run_item(res, "hello", "install")
    res.interrupted = True
    assert rungs_of(res, "hello")["functional"] == (Status.UNVER, "interrupted before it ran")


def test_report_without_ccci_property_is_ignored():
    res = Results(["hello"], TIERS, "r")
    plain = report("hello", "install", "fail")
    delattr(plain, REPORT_ATTRIBUTE)
    res.add(plain)
    assert res.records["hello"].items == {}
    assert res.texts_scanned == 0


def test_report_for_unlisted_recipe_gets_a_record():
    res = Results([], TIERS, "r")
    all_pass(res, "extra")
    assert level_of(res, "extra") == 5


BASE = {"version": "0.1.0+1", "how": "newest older release"}


def test_facts_merge_and_stamps():
    res = Results(["hello"], TIERS, "r")
    facts = {"head_sha": HEAD, "domain": "hell-abcdef.x.test", "endpoint_note": "dnsrr (no IPVS on this runner)"}
    res.add(report("hello", "install", "pass", "setup", facts=facts))
    res.add(
        report("hello", "upgrade", "pass", "call", facts={"upgrade_stamp": {"chaos": "true"}, "upgrade_base": BASE})
    )
    out = res.as_dict()["recipes"]["hello"]
    assert out["head_sha"] == HEAD
    assert out["domain"] == "hell-abcdef.x.test"
    assert out["endpoint_note"] == "dnsrr (no IPVS on this runner)"
    assert out["upgrade_base"] == BASE
    assert out["stamps"] == {"upgrade_stamp": {"chaos": "true"}}


# -- secrets ---------------------------------------------------------------------------------


SECRET = "s3cr3t-Value-XYZ-42"


def fp(value: str) -> Fingerprint:
    return Fingerprint.of(value)


# The scan itself (near misses, several lengths, linear cost) is tested in test_secrets.py.


def test_leak_in_longrepr_is_reported():
    res = Results(["hello"], TIERS, "r")
    all_pass(res, "hello", facts=None)
    res.add(
        report(
            "hello",
            "install",
            "fail",
            "call",
            "boom",
            longrepr=f"AssertionError: got {SECRET}",
            fingerprints=[fp(SECRET)],
        )
    )
    assert res.leaked
    assert res.as_dict()["recipes"]["hello"]["no_secret_leak"] is False


def test_leak_in_captured_section_is_reported():
    res = Results(["hello"], TIERS, "r")
    res.add(
        report(
            "hello",
            "install",
            "pass",
            "call",
            sections=[("Captured stdout call", f"env: {SECRET}\n")],
            fingerprints=[fp(SECRET)],
        )
    )
    assert res.leaked


def test_leak_in_extra_text_only():
    res = Results(["hello"], TIERS, "r")
    res.add(report("hello", "install", "pass", "call", longrepr="clean", fingerprints=[fp(SECRET)]))
    assert not res.leaked
    res.add_artifact(f"<html>{SECRET}</html>")
    assert res.leaked
    assert res.as_dict()["recipes"]["hello"]["no_secret_leak"] is False


# -- results.json ----------------------------------------------------------------------------


def test_write_json_atomic_and_valid(tmp_path):
    res = Results(["hello", "n8n"], TIERS, "run-xyz")
    all_pass(res, "hello", facts={"head_sha": HEAD})
    run_item(res, "n8n", "install", "fail", "n8n did not converge")
    path = tmp_path / "out" / "results.json"
    path.parent.mkdir()
    path.write_text("old, not json")
    res.write_json(path)
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA == "pytest-ccci/results/1"
    assert data["run_id"] == "run-xyz"
    assert data["interrupted"] is False
    assert data["recipes"]["hello"]["level"] == 5
    assert data["recipes"]["n8n"]["level"] == 0
    assert data["recipes"]["n8n"]["why_not_higher"] == "L1 install failed: n8n did not converge"
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.json"]  # no temp file left
    assert path.read_text().endswith("}\n")


def test_write_json_creates_parent(tmp_path):
    res = Results(["hello"], TIERS, "r")
    path = tmp_path / "a" / "b" / "results.json"
    res.write_json(path)
    assert json.loads(path.read_text())["recipes"]["hello"]["level"] == 0
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_write_json_failure_keeps_old_file(tmp_path):
    res = Results(["hello"], TIERS, "r")
    res.add(report("hello", "install", "pass", "call", facts={"head_sha": object()}))  # not JSON-able
    path = tmp_path / "results.json"
    path.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        res.write_json(path)
    assert json.loads(path.read_text()) == {"old": True}


def test_write_json_failure_leaves_no_temp_file(tmp_path):
    res = Results(["hello"], TIERS, "r")
    res.add(report("hello", "install", "pass", "call", facts={"head_sha": object()}))
    path = tmp_path / "results.json"
    with pytest.raises(TypeError):
        res.write_json(path)
    assert list(tmp_path.iterdir()) == []


# -- the terminal table ----------------------------------------------------------------------


def test_table():
    res = Results(["hello", "n8n"], TIERS, "r")
    all_pass(res, "hello", facts={"head_sha": HEAD})
    run_item(res, "n8n", "lint")
    run_item(res, "n8n", "install", "fail", "did not\nconverge   in time")
    lines = res.table()
    header, hello, n8n = lines[:3]
    assert header.split() == ["recipe", "head", "level", *RUNGS]
    assert hello.split() == ["hello", HEAD[:8], "L5", "pass", "pass", "pass", "pass", "pass"]
    assert n8n.split() == ["n8n", "-", "L0", "fail", "unver", "unver", "unver", "pass"]
    # Columns line up: every cell of a column starts at the same offset.
    assert header.index("level") == hello.index("L5") == n8n.index("L0")
    reasons = lines[3:]
    assert "  n8n install: fail: did not converge in time" in reasons
    assert any(r.startswith("  n8n upgrade: unver: did not run") for r in reasons)
    assert not any(" hello " in r for r in reasons)
