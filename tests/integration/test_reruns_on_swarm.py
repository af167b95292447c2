"""--ccci-reruns on the real swarm: a failed tier runs again, each time on a fresh app domain, and
stays a fail whatever the reruns give.

Two hello recipes in one `-n 2` run, each with one functional test that deploys (`app`):
- `rrfl`'s fails one time in two: its first run finds no marker file, leaves one and fails;
  every later run passes. With --ccci-reruns 2 that is 3 runs, 1 failed: `intermittent: failed
  1 of 3 runs`, never a pass. Its upgrade runs after the reruns, on the recipe's own domain,
  and goes into the same record as the first run's facts.
- `rrbr`'s always fails, naming its stack (each run's differs): `failed 3 of 3 runs: <cause>`,
  said once (causes are compared without the run's own app domain).
"""

from __future__ import annotations

import subprocess

from conftest import upgrade_domain

ONE_IN_TWO = """\
from pathlib import Path

MARKER = Path(__file__).with_name("ran-once")


def test_passes_from_the_second_run(app):
    status, _ = app.http("/health")
    assert status == 200, f"GET /health answered {status}"
    first = not MARKER.exists()
    MARKER.touch()
    assert not first, "no marker yet: the first run fails"
"""

ALWAYS = """\
def test_always_fails(app):
    status, _ = app.http("/health")
    assert status == 200, f"GET /health answered {status}"
    assert False, f"{app.stack} fails every time"
"""


def test_a_failed_tier_reruns_on_fresh_domains_and_stays_a_fail(lab, swarm, assert_clean):
    flaky_source = lab.enroll("rrfl")
    lab.enroll("rrbr", settings={"not_applicable": {"upgrade": "its upgrade is not what this test is about"}})
    (lab.recipes_dir / "rrfl" / "test_rrfl.py").write_text(ONE_IN_TWO)
    (lab.recipes_dir / "rrbr" / "test_rrbr.py").write_text(ALWAYS)

    run = lab.run(
        "--recipe", "rrfl", "--recipe", "rrbr", "--tiers", "functional,upgrade", "--ccci-reruns", "2", "-n", "2"
    )

    run.result.assert_outcomes(passed=1, failed=2, skipped=1)  # rrfl's upgrade passes; rrbr's is n/a
    flaky, broken = run.recipe("rrfl"), run.recipe("rrbr")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=flaky_source, capture_output=True, text=True).stdout.strip()

    item = next(i for i in flaky["tiers"].values() if i["tier"] == "functional")
    assert item["status"] == "fail", item
    assert item["reason"] == (
        "intermittent: failed 1 of 3 runs: run 1 failed: no marker yet: the first run fails; run 2 passed; run 3 passed"
    ), item
    domains = [r["domain"] for r in item["runs"]]
    assert [r["status"] for r in item["runs"]] == ["fail", "pass", "pass"], item["runs"]
    assert domains[0] == flaky["domain"], (domains, flaky["domain"])  # the record is the main run's
    assert [d.split(".")[0].rsplit("-", 1)[1] for d in domains[1:]] == ["r2", "r3"], domains
    assert flaky["rungs"]["functional"]["intermittent"] is True
    assert (
        flaky["rungs"]["functional"]["repro"]
        == f"pytest --recipe rrfl --recipes-dir {lab.recipes_dir} --ref {head} --tiers functional"
    )
    assert flaky["level"] == 0, flaky  # install not selected; the functional rung is a fail either way
    # The upgrade ran after the reruns on the recipe's own domain, into the same record.
    assert flaky["rungs"]["upgrade"]["status"] == "pass", flaky["rungs"]["upgrade"]
    assert "upgrade_stamp" in flaky["stamps"] and flaky["clean_teardown"] is True, flaky

    item = next(i for i in broken["tiers"].values() if i["tier"] == "functional")
    stack = broken["domain"].replace(".", "_")
    assert item["reason"] == f"failed 3 of 3 runs: {stack} fails every time", item
    assert "intermittent" not in broken["rungs"]["functional"]
    assert len({r["domain"] for r in item["runs"]}) == 3, item["runs"]

    assert "fail (intermittent)" in run.output
    for domain in {r["domain"] for rec in (flaky, broken) for i in rec["tiers"].values() for r in i.get("runs", [])}:
        assert_clean(domain)


def test_reruns_of_an_overlapped_recipe_rerun_each_tier_on_its_own_lifecycle(lab, assert_clean):
    """Without -n the process has both deploy slots: each recipe's upgrade runs beside its install
    chain (run/overlap.py). `ovfl`'s functional test fails once and reruns on `-r2` while its
    upgrade goes on in the background on `-up`, which its upgrade tier then awaits. hello-broken's
    head never converges: `ovbr`'s install and upgrade each fail twice, the upgrade's rerun on
    `-upr2`, the upgrade lifecycle of the rerun (it has no functional tests: no item)."""
    lab.enroll("ovfl")
    lab.enroll("ovbr", example="hello-broken", settings={"max_task_failures": 2})
    (lab.recipes_dir / "ovfl" / "test_ovfl.py").write_text(ONE_IN_TWO)

    run = lab.run("--recipe", "ovfl", "--recipe", "ovbr", "--tiers", "install,functional,upgrade", "--ccci-reruns", "1")

    flaky, broken = run.recipe("ovfl"), run.recipe("ovbr")
    statuses = {
        (name, item["tier"]): item["status"] for name in ("ovfl", "ovbr") for item in run.recipe(name)["tiers"].values()
    }
    assert statuses == {
        ("ovfl", "install"): "pass",
        ("ovfl", "functional"): "fail",
        ("ovfl", "upgrade"): "pass",
        ("ovbr", "install"): "fail",
        ("ovbr", "upgrade"): "fail",
    }, run.output[-3000:]

    def runs(record: dict, tier: str) -> list[tuple[str, str]]:
        item = next(i for i in record["tiers"].values() if i["tier"] == tier)
        return [(r["status"], r["domain"].split(".")[0].rsplit("-", 1)[1]) for r in item["runs"]]

    flaky_install, flaky_upgrade = flaky["lifecycles"]["install"], flaky["lifecycles"]["upgrade"]
    assert runs(flaky, "functional") == [("fail", flaky["domain"].split(".")[0].rsplit("-", 1)[1]), ("pass", "r2")]
    assert flaky_upgrade["domain"] == upgrade_domain(flaky["domain"])
    # The upgrade ran beside the install chain, the functional rerun between them changing nothing of it.
    assert flaky_upgrade["lock"]["acquired"] < flaky_install["lock"]["released"], (flaky_install, flaky_upgrade)
    assert flaky["rungs"]["upgrade"]["status"] == "pass" and flaky["stamps"]["upgrade_stamp"], flaky
    assert flaky["clean_teardown"] is True, flaky
    # The successor that ran the upgrade item went on with the install's hold: taken before its
    # first deploy, released after its teardown (the failed run's, before the rerun).
    lock = flaky_install["lock"]
    assert lock["acquired"] <= flaky_install["first_deploy"] <= flaky_install["torn_down"] <= lock["released"]

    head = broken["domain"].split(".")[0].rsplit("-", 1)[1]
    assert runs(broken, "install") == [("fail", head), ("fail", "r2")]
    assert runs(broken, "upgrade") == [("fail", "up"), ("fail", "upr2")]
    assert broken["lifecycles"]["upgrade"]["domain"] == upgrade_domain(broken["domain"])
    assert broken["clean_teardown"] is True and not broken["leftovers"], broken
    for record in (flaky, broken):
        for item in record["tiers"].values():
            for r in item.get("runs", []):
                assert_clean(r["domain"])
        assert_clean(record["domain"])
        assert_clean(record["lifecycles"]["upgrade"]["domain"])
