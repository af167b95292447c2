"""The tier graph: the one definition of the lifecycle tiers, the rungs they make, the order
they run in on a worker, and which tier needs which.

Everything else (the level ladder, settings validation, collection and ordering, setup gating,
results) reads these names; nothing restates them.
"""

from __future__ import annotations

TIERS: tuple[str, ...] = ("install", "upgrade", "backup", "restore", "functional", "lint")

# The level ladder, lowest first: L1 install ... L5 lint. backup and restore make one rung.
RUNGS: tuple[str, ...] = ("install", "upgrade", "backup_restore", "functional", "lint")
RUNG_OF_TIER: dict[str, str] = {
    "install": "install",
    "upgrade": "upgrade",
    "backup": "backup_restore",
    "restore": "backup_restore",
    "functional": "functional",
    "lint": "lint",
}

# Order on a worker. lint needs no swarm, so it goes first; install, backup, restore and
# functional share the install's deployment; upgrade is a lifecycle of its own, from a fresh
# base release on an app domain of its own: after the install's teardown, or beside the install
# chain where the process has the deploy slots (run/overlap.py).
WORKER_ORDER: tuple[str, ...] = ("lint", "install", "backup", "restore", "functional", "upgrade")
# The tier that runs on that lifecycle of its own.
UPGRADE_TIER = "upgrade"

# A tier whose prerequisite did not pass is skipped with "blocked: <tier> <status>".
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "backup": ("install",),
    "restore": ("install", "backup"),
    "functional": ("install",),
}

# Tiers that deploy on the swarm (lint reads files only).
SWARM_TIERS: frozenset[str] = frozenset(TIERS) - {"lint"}

# Tiers a recipe may declare not applicable (with a reason). Not install: every other rung
# stands on it, and a skipped install would let a recipe climb without HC1 ever being checked.
DECLARABLE: tuple[str, ...] = tuple(t for t in TIERS if t != "install")

# The tier tests are `test_<tier>` functions; the functional tier is the recipe's own tests.
TIER_OF_TEST_FUNCTION: dict[str, str] = {f"test_{t}": t for t in TIERS if t != "functional"}


def worker_position(tier: str) -> int:
    """Where a tier runs among a recipe's items on its worker."""
    return WORKER_ORDER.index(tier)
