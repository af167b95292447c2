"""One recipe's install and upgrade lifecycles overlapped (run/overlap.py), on the real swarm.

The upgrade runs on an app domain of its own beside the install chain; each lifecycle holds its
own lock from its first deploy to the end of its teardown, and the two holds overlap in time.
The verdicts are the serial order's (`-o ccci_max_deploys=1`). (A SIGINT while both lifecycles
have stacks up: the fault matrix, test_faults.py.)
"""

from __future__ import annotations

from recipe_variants import domain_of

from pytest_ccci.documents.results import comparable
from pytest_ccci.model.naming import UPGRADE_VARIANT

VERDICT_KEYS = ("level", "why_not_higher", "rungs", "tiers", "upgrade_base", "upgrade_runs", "domain", "clean_teardown")


def verdicts(results: dict) -> dict:
    """What a run concluded of each recipe, and where: no clocks, no file paths."""
    return {
        name: {
            **{key: rec.get(key) for key in VERDICT_KEYS},
            "stamps": {k: sorted(v) for k, v in rec["stamps"].items()},  # the labels stamped, by name
            "domains": {role: hold["domain"] for role, hold in rec["lifecycles"].items()},
        }
        for name, rec in results["recipes"].items()
    }


def held_around_its_deploys(hold: dict) -> None:
    """The lock was taken before the first deploy and released after the teardown ended."""
    lock = hold["lock"]
    assert lock["acquired"] <= hold["first_deploy"] <= hold["torn_down"] <= lock["released"], hold
    assert hold["clean_teardown"] is True and not hold["leftovers"], hold


def test_overlapped_lifecycles_never_share_a_domain_each_hold_their_lock_and_match_serial(lab, assert_clean):
    source = lab.enroll("ovl", functional=True)
    overlapped = lab.run("--recipe", "ovl", "-o", "ccci_max_deploys=2", json_name="overlapped.json")
    assert overlapped.result.ret == 0, overlapped.output[-3000:]
    serial = lab.run("--recipe", "ovl", "-o", "ccci_max_deploys=1", json_name="serial.json")
    assert serial.result.ret == 0, serial.output[-3000:]

    ovl = overlapped.recipe("ovl")
    assert ovl["level"] == 5, ovl["why_not_higher"]
    install, upgrade = ovl["lifecycles"]["install"], ovl["lifecycles"]["upgrade"]
    assert install["domain"] == ovl["domain"] == domain_of("ovl", source)
    assert upgrade["domain"] == domain_of("ovl", source, UPGRADE_VARIANT) != install["domain"]
    assert install["lock"] == ovl["lock"]  # the existing fields stay the install's
    held_around_its_deploys(install)
    held_around_its_deploys(upgrade)
    # Overlapped: the upgrade's lock was taken while the install's was still held.
    assert upgrade["lock"]["acquired"] < install["lock"]["released"], (install, upgrade)
    assert ovl["clean_teardown"] is True and ovl["stamps"]["upgrade_stamp"]

    ser = serial.recipe("ovl")
    serial_install, serial_upgrade = ser["lifecycles"]["install"], ser["lifecycles"]["upgrade"]
    held_around_its_deploys(serial_install)
    held_around_its_deploys(serial_upgrade)
    # Serial: today's order, the install torn down before the upgrade takes its domain.
    assert serial_install["lock"]["released"] <= serial_upgrade["lock"]["acquired"], (serial_install, serial_upgrade)
    # The same verdicts: levels, rungs, tier items, stamps, the upgrade base, the domains, the
    # teardowns. (Not comparable() as a whole: backup files, pictures and stop times are each
    # run's own, as the runs' directories and clocks are.)
    assert verdicts(overlapped.results) == verdicts(serial.results)
    assert comparable(overlapped.results)["interrupted"] is comparable(serial.results)["interrupted"] is False
    assert_clean(ovl["domain"])
