"""The upgrade tier and the incident behind it, reproduced on the real swarm."""

from __future__ import annotations

import json
import re
import sys
from types import SimpleNamespace

import pytest
from recipe_variants import domain_of

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.model.app import DeployMode
from pytest_ccci.model.naming import UPGRADE_VARIANT
from pytest_ccci.plugin import test_tiers as tiers


def test_upgrade_records_base_head_and_stamp(lab, assert_clean):
    lab.enroll("uhello")
    run = lab.run("--recipe", "uhello", "--tiers", "install,upgrade")
    run.result.assert_outcomes(passed=2)
    hello = run.recipe("uhello")
    assert hello["upgrade_base"]["version"] == "0.2.0+1.35.0"
    assert len(hello["head_sha"]) == 40
    stamp = hello["stamps"]["upgrade_stamp"]
    assert stamp["chaos-version"] == hello["head_sha"][:8] and stamp["chaos"] == "true"
    assert_clean(hello["domain"])


def test_rollback_under_start_first_is_named_not_misreported_as_a_stamp_mismatch(lab, assert_clean):
    """Reproduction 1: the head's new task fails while the old one still serves; swarm rolls back."""
    lab.enroll("urollback", example="hello-rollback", settings={"deploy_timeout": 90})
    run = lab.run("--recipe", "urollback", "--tiers", "install,upgrade")
    run.result.assert_outcomes(passed=1, failed=1)
    rungs = run.recipe("urollback")["rungs"]
    assert rungs["install"]["status"] == "pass", rungs["install"]
    reason = rungs["upgrade"]["reason"]
    assert rungs["upgrade"]["status"] == "fail"
    assert "swarm rolled back the update" in reason, reason
    assert "non-zero exit (1)" in reason, f"the failing task's own error is missing: {reason}"
    assert reason.endswith("one writer at a time"), f"the failed task's last log line must end the verdict: {reason}"
    if "last healthcheck" in reason:  # (only once the old task's check has run: timing) it names its task
        assert re.search(r"last healthcheck \(task \S+_app\.\d+ \([0-9a-z]{12}\)\) exit", reason), reason
    assert "HC1" not in reason and "stamp" not in reason
    assert run.recipe("urollback")["upgrade_base"]["version"] == "0.3.0+1.35.0"
    assert_clean(run.recipe("urollback")["domain"])


def test_stop_first_overlay_fixes_the_same_upgrade(lab, assert_clean):
    """Reproduction 2: the same recipe enrolled with compose.ccci.yml setting stop-first."""
    overlay = {"version": "3.8", "services": {"app": {"deploy": {"update_config": {"order": "stop-first"}}}}}
    source = lab.enroll("ufixed", example="hello-rollback", overlay=overlay, settings={"deploy_timeout": 90})
    run = lab.run("--recipe", "ufixed", "--tiers", "upgrade")
    run.result.assert_outcomes(passed=1)
    assert run.recipe("ufixed")["rungs"]["upgrade"]["status"] == "pass"
    # Without the install tier only the upgrade lifecycle's domain was used; `domain` still names
    # the recipe's (the install's), beside which the upgrade's lives.
    assert run.recipe("ufixed")["domain"] == domain_of("ufixed", source)
    assert "install" not in run.recipe("ufixed")["lifecycles"]
    assert run.recipe("ufixed")["lifecycles"]["upgrade"]["domain"] == domain_of("ufixed", source, UPGRADE_VARIANT)
    assert_clean(domain_of("ufixed", source))  # the install's domain, and the upgrade's beside it


def test_hc1_fails_when_the_swarm_really_runs_the_wrong_commit(direct_hello):
    """Reproduction 3: HC1 keeps its teeth. The base commit is what the swarm runs; the head is
    what is expected: the install assertions must fail, on HC1, with both stamps named."""
    head, base = direct_hello.head, direct_hello.base
    deployed = direct_hello.backend.deploy(direct_hello.app, base, DeployMode.CHAOS)  # the base commit, in chaos mode
    assert deployed.convergence.ok, deployed.convergence.reason
    deployed.checkout, deployed.expected_chaos = head, head.head_sha[:8]  # ...but the head is expected
    with pytest.raises(AssertionError) as failed:
        tiers.test_install(deployed, direct_hello.backend, SimpleNamespace(facts=RecipeFacts()))
    message = str(failed.value)
    assert message.startswith("HC1:"), message
    assert base.head_sha[:8] in message and head.head_sha[:8] in message


def test_two_processes_on_one_recipe_and_ref_serialize_on_the_app_lock(lab, assert_clean):
    """Reproduction 4: started together, both pass, and their lifecycles never interleave."""
    lab.enroll("utwice")
    procs = [
        lab.pytester.popen(
            [
                sys.executable,
                "-m",
                "pytest",
                *lab.args("--recipe", "utwice", "--tiers", "install", json_name=f"p{i}.json"),
            ],
            stdin=None,
        )
        for i in (1, 2)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        outputs.append((out or b"").decode() + (err or b"").decode())
        assert proc.returncode == 0, outputs[-1]
    locks = []
    for i in (1, 2):
        rec = json.loads((lab.tmp / f"p{i}.json").read_text())["recipes"]["utwice"]
        assert rec["rungs"]["install"]["status"] == "pass"
        locks.append(rec)
    a, b = sorted((r for r in locks), key=lambda r: r["lock"]["acquired"])
    assert a["domain"] == b["domain"], "same recipe and ref must mean the same app domain"
    assert a["lock"]["released"] <= b["lock"]["acquired"], f"lifecycles overlapped: {a['lock']} {b['lock']}"
    waited = [out for out in outputs if "waiting for lock" in out]
    assert waited and "held by pid" in waited[0], "the second run must say who holds the lock"
    assert_clean(a["domain"])
