"""The level ladder, checked exhaustively against oracles written straight from the definitions,
each derived its own way (never by the implementation's branches), plus hand-written tables."""

from __future__ import annotations

import itertools

import pytest

from pytest_ccci.model.level import (
    Rung,
    TierResult,
    aggregate_tier,
    compute_level,
    rungs_from_tiers,
    why_not_higher,
)
from pytest_ccci.model.tiers import RUNGS, TIERS
from pytest_ccci.model.verdict import Status

P, F, S, U = Status.PASS, Status.FAIL, Status.SKIP, Status.UNVER
ALL_COMBOS = list(itertools.product(list(Status), repeat=len(RUNGS)))


def oracle_level(statuses: tuple[Status, ...]) -> int:
    # "the highest i whose rung i passed with every rung below it PASS or SKIP", read literally:
    # try every i from the top down.
    for i in range(len(statuses), 0, -1):
        if statuses[i - 1] == P and all(s in (P, S) for s in statuses[: i - 1]):
            return i
    return 0


def oracle_blocker(statuses: tuple[Status, ...]) -> int | None:
    """1-based number of the rung why_not_higher should name; None at level 5.

    Looking up from the level: skips are stepped over (they neither earn nor stop), so the
    first rung above the level that is not a skip is what stopped the climb; when every rung
    above the level is a skip, the one just above it is what did not earn the next level.
    (No rung above the level can be a pass: the level would be higher.)"""
    level = oracle_level(statuses)
    if level == len(statuses):
        return None
    above = range(level + 1, len(statuses) + 1)
    return next((n for n in above if statuses[n - 1] != S), level + 1)


# How why_not_higher words the status of the rung it names.
WORDS = {F: "failed", U: "unverified", S: "skipped"}


def as_rungs(statuses: tuple[Status, ...]) -> list[Rung]:
    return [Rung(name, s, f"why {name}") for name, s in zip(RUNGS, statuses, strict=True)]


def test_combo_count() -> None:
    assert len(ALL_COMBOS) == 4**5


@pytest.mark.parametrize("statuses", ALL_COMBOS, ids=lambda c: "-".join(s.value for s in c))
def test_level_matches_oracle(statuses: tuple[Status, ...]) -> None:
    rungs = as_rungs(statuses)
    expected = oracle_level(statuses)
    assert compute_level(rungs) == expected
    assert compute_level(dict(zip(RUNGS, statuses, strict=True))) == expected
    assert compute_level(list(reversed(rungs))) == expected  # matched by name, not position

    line = why_not_higher(rungs)
    blocker = oracle_blocker(statuses)
    if blocker is None:
        assert line == ""
    else:
        name = RUNGS[blocker - 1]
        assert line.startswith(f"L{blocker} {name} {WORDS[statuses[blocker - 1]]}: ")
        assert line.endswith(f": why {name}")
        assert "\n" not in line


@pytest.mark.parametrize(
    ("statuses", "level"),
    [
        ((S, S, S, S, S), 0),  # skips alone earn nothing
        ((P, S, F, F, F), 1),
        ((P, S, P, F, F), 3),
        ((P, P, P, P, P), 5),
        ((F, P, P, P, P), 0),
        ((P, U, P, P, P), 1),
        ((S, S, S, S, P), 5),
    ],
)
def test_level_examples(statuses: tuple[Status, ...], level: int) -> None:
    assert compute_level(dict(zip(RUNGS, statuses, strict=True))) == level


@pytest.mark.parametrize(
    ("statuses", "line"),
    [
        ((P, P, P, P, P), ""),
        ((S, S, S, S, P), ""),
        ((S, S, S, S, S), "L1 install skipped: why install"),
        ((P, S, S, S, S), "L2 upgrade skipped: why upgrade"),
        ((P, S, F, P, P), "L3 backup_restore failed: why backup_restore"),  # past the skip: the fail
        ((P, S, S, U, F), "L4 functional unverified: why functional"),
        ((F, U, S, P, P), "L1 install failed: why install"),
        ((P, P, P, P, S), "L5 lint skipped: why lint"),
        ((P, P, P, P, U), "L5 lint unverified: why lint"),
    ],
)
def test_why_not_higher_examples(statuses: tuple[Status, ...], line: str) -> None:
    assert why_not_higher(as_rungs(statuses)) == line


def test_missing_rung_is_unverified() -> None:
    assert compute_level({"install": P, "backup_restore": P}) == 1
    assert why_not_higher({"install": P}) == "L2 upgrade unverified: not run"


def test_status_strings_accepted_in_mapping() -> None:
    assert compute_level({name: "pass" for name in RUNGS}) == 5  # type: ignore[misc]


def test_unknown_rung_rejected() -> None:
    with pytest.raises(ValueError, match="instal"):
        compute_level({"instal": P})


# --- why_not_higher wording -------------------------------------------------------------


def test_why_not_higher_wording() -> None:
    rungs = [
        Rung("install", P, ""),
        Rung("upgrade", S, "no earlier version"),
        Rung("backup_restore", F, "restore: file /data/x differs"),
        Rung("functional", P, ""),
        Rung("lint", P, ""),
    ]
    assert why_not_higher(rungs) == "L3 backup_restore failed: restore: file /data/x differs"


def test_why_not_higher_unverified_and_multiline_reason() -> None:
    rungs = as_rungs((P, P, P, P, P))
    rungs[3] = Rung("functional", U, "docker daemon\n  went away")
    assert why_not_higher(rungs) == "L4 functional unverified: docker daemon went away"


def test_why_not_higher_trailing_skip() -> None:
    rungs = as_rungs((P, P, S, S, S))
    rungs[2] = Rung("backup_restore", S, "no backupbot labels")
    assert why_not_higher(rungs) == "L3 backup_restore skipped: no backupbot labels"


def test_why_not_higher_no_reason() -> None:
    assert why_not_higher({"install": F}) == "L1 install failed"


def test_why_not_higher_empty_at_five() -> None:
    assert why_not_higher(as_rungs((P, S, P, P, P))) == ""


# --- tier aggregation -------------------------------------------------------------------


# Within one tier the item that proves least decides: a skip proves least of all (it says n/a),
# a pass more, then an unverified item, then a failure. Nothing ran proves nothing: unverified.
TIER_RANK = {S: 0, P: 1, U: 2, F: 3}


def oracle_aggregate(statuses: tuple[Status, ...]) -> Status:
    return max(statuses, key=TIER_RANK.__getitem__) if statuses else U


AGG_COMBOS = [c for n in range(4) for c in itertools.product(list(Status), repeat=n)]


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        ((), U),
        ((S, S), S),  # upgrade-from-all with every base n/a
        ((P, S), P),
        ((S, P, S), P),
        ((P, U, P), U),
        ((S, U), U),
        ((U, F, P), F),
        ((F, S), F),
    ],
)
def test_aggregate_examples(statuses: tuple[Status, ...], status: Status) -> None:
    assert aggregate_tier([TierResult(s, s.value) for s in statuses], "nothing ran").status == status


@pytest.mark.parametrize("statuses", AGG_COMBOS, ids=lambda c: "-".join(s.value for s in c) or "empty")
def test_aggregate_matches_oracle(statuses: tuple[Status, ...]) -> None:
    results = [TierResult(s, f"r{i}" if s != P else "") for i, s in enumerate(statuses)]
    got = aggregate_tier(results, "nothing ran")
    assert got.status == oracle_aggregate(statuses)
    if not statuses:
        assert got.reason == "nothing ran"
    elif got.status == P:
        assert got.reason == ""
    else:
        assert got.reason == f"r{statuses.index(got.status)}"  # the first such item's reason


def ok() -> list[TierResult]:
    return [TierResult(P, "")]


def test_rungs_from_tiers_all_pass() -> None:
    rungs = rungs_from_tiers({t: ok() for t in TIERS})
    assert [r.name for r in rungs] == list(RUNGS)
    assert all(r.status == P and r.reason == "" for r in rungs)


def test_first_fail_reason_wins_within_a_tier() -> None:
    functional = [TierResult(P), TierResult(F, "login page 500"), TierResult(U, "timeout"), TierResult(F, "later")]
    rungs = rungs_from_tiers({**{t: ok() for t in TIERS}, "functional": functional})
    assert rungs[3] == Rung("functional", F, "login page 500")


def test_upgrade_from_all_mixed_pass_skip_is_pass() -> None:
    upgrade = [TierResult(P), TierResult(S, "base 1.0.0 uses a removed image")]
    assert rungs_from_tiers({**{t: ok() for t in TIERS}, "upgrade": upgrade})[1].status == P


def test_empty_or_missing_tier_uses_not_run_reason() -> None:
    rungs = rungs_from_tiers({**{t: ok() for t in TIERS}, "functional": []}, not_run_reason="no functional tests")
    assert rungs[3] == Rung("functional", U, "no functional tests")
    rungs = rungs_from_tiers({"install": ok()})
    assert rungs[1] == Rung("upgrade", U, "not run")


def test_per_tier_not_run_reasons() -> None:
    rungs = rungs_from_tiers({"install": ok(), "functional": []}, not_run_reason={"functional": "no functional tests"})
    assert rungs[1] == Rung("upgrade", U, "not run")
    assert rungs[3] == Rung("functional", U, "no functional tests")


def test_unknown_tier_rejected() -> None:
    with pytest.raises(ValueError, match="backup_restore"):
        rungs_from_tiers({"backup_restore": ok()})


@pytest.mark.parametrize(
    ("backup", "restore", "status", "reason"),
    [
        (TierResult(P), TierResult(P), P, ""),
        (TierResult(F, "bot exited 1"), TierResult(P), F, "backup: bot exited 1"),
        (TierResult(P), TierResult(F, "x differs"), F, "restore: x differs"),
        (TierResult(F, "b"), TierResult(F, "r"), F, "backup: b"),
        (TierResult(U, "swarm down"), TierResult(F, "r"), F, "restore: r"),
        (TierResult(S, "no labels"), TierResult(S, "no labels"), S, "no labels"),
        (TierResult(S, "a"), TierResult(S, "b"), S, "backup: a; restore: b"),
        (TierResult(P), TierResult(S, "skipped"), U, "restore: skipped"),
        (TierResult(S, "skipped"), TierResult(P), U, "backup: skipped"),
        (TierResult(U, "swarm down"), TierResult(P), U, "backup: swarm down"),
        (TierResult(U, "u1"), TierResult(S, "s1"), U, "backup: u1; restore: s1"),
    ],
)
def test_backup_restore_rung(backup: TierResult, restore: TierResult, status: Status, reason: str) -> None:
    rungs = rungs_from_tiers({**{t: ok() for t in TIERS}, "backup": [backup], "restore": [restore]})
    assert rungs[2] == Rung("backup_restore", status, reason)


def test_backup_restore_missing_tiers() -> None:
    rung = rungs_from_tiers({"install": ok()})[2]
    assert rung == Rung("backup_restore", U, "backup: not run; restore: not run")
