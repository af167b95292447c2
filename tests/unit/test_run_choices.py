"""The run layer's own decisions, apart from the swarm: which version a deploy is stamped with,
where seed data goes, and when there is nothing to diagnose."""

from __future__ import annotations

from pathlib import Path

import pytest
from offline_context import offline_context

from pytest_ccci.model.backupbot import Hooks, ServiceBackup
from pytest_ccci.model.settings import Seed
from pytest_ccci.model.versions import releases
from pytest_ccci.run.deploy import stamp_versions
from pytest_ccci.run.lifecycle import RecipeLifecycle
from pytest_ccci.run.proofs import seed_target
from pytest_ccci.run.repo import Checkout

HEAD, OLD, MID = "a" * 40, "b" * 40, "c" * 40
RELEASES = tuple(releases([("0.1.0+1.0.0", OLD), ("0.2.0+1.1.0", MID)]))


def checkout(head: str, dirty: bool = False) -> Checkout:
    return Checkout("hello", Path("/nowhere"), "main", head, dirty, (), RELEASES)


@pytest.mark.parametrize(
    ("head", "dirty", "mode", "expected"),
    [
        # chaos: the newest release it is built on, and the head's chaos-version
        (HEAD, False, "chaos", ("0.2.0+1.1.0", "aaaaaaaa")),
        (HEAD, True, "chaos", ("0.2.0+1.1.0", "aaaaaaaa+U")),
        # a release deploy of a tagged head carries that tag, and no chaos-version
        (OLD, False, "release", ("0.1.0+1.0.0", None)),
        # a release deploy of an untagged head: the newest release it is built on
        (HEAD, False, "release", ("0.2.0+1.1.0", None)),
    ],
)
def test_stamp_versions(head, dirty, mode, expected):
    assert stamp_versions(checkout(head, dirty), mode) == expected


def test_stamp_versions_without_any_release():
    bare = Checkout("hello", Path("/nowhere"), "main", HEAD, False, (), ())
    assert stamp_versions(bare, "chaos") == (None, "aaaaaaaa")
    assert stamp_versions(bare, "release") == (None, None)


def backed_up(service: str, *paths: str) -> ServiceBackup:
    return ServiceBackup(service, paths, Hooks())


@pytest.mark.parametrize(
    ("plan", "seed", "expected"),
    [
        # the settings' path wins, on the settings' service
        ([backed_up("db", "/var/lib/db")], Seed("app", "/data"), ("app", ["/data"])),
        # else every backed-up path of the service the settings name
        ([backed_up("db", "/var/lib/db"), backed_up("app", "/a", "/b")], Seed("app"), ("app", ["/a", "/b"])),
        # else those of the first service backupbot backs up
        ([backed_up("db", "/var/lib/db"), backed_up("cache", "/c")], Seed("app"), ("db", ["/var/lib/db"])),
        # nothing backed up, no path given: nothing to seed
        ([], Seed("app"), ("app", [])),
    ],
)
def test_seed_target(plan, seed, expected):
    assert seed_target(plan, seed) == expected


def test_no_diagnostics_without_a_swarm_connection(tmp_path):
    def connect():
        raise AssertionError("diagnostics must not connect to the swarm")

    ctx = offline_context(tmp_path, connect=connect)
    assert RecipeLifecycle(ctx, "hello").diagnostics() == []
    assert not ctx.connected
