"""`upgrade_from: last-green` (model/versions.py): the history's last green release as the upgrade
base, falling back to the newest older release with a note saying why."""

from __future__ import annotations

from pytest_ccci.model.versions import LAST_GREEN, releases, upgrade_base


def sha(n: int) -> str:
    return f"{n:040x}"


ANCESTORS = releases([("1.0.0+1", sha(1)), ("1.1.0+1", sha(2)), ("1.2.0+1", sha(3))])
HEAD = sha(9)


def test_the_last_green_release_is_the_base():
    base = upgrade_base(HEAD, ANCESTORS, LAST_GREEN, last_green="1.1.0+1")
    assert base.release is not None and base.release.tag == "1.1.0+1"
    assert base.how == "last green release (history)"


def test_no_green_release_falls_back_to_the_newest_older_release_with_a_note():
    base = upgrade_base(HEAD, ANCESTORS, LAST_GREEN, last_green=None)
    assert base.release is not None and base.release.tag == "1.2.0+1"
    assert base.how == "newest older release (the history has no green release)"
    no_history = upgrade_base(HEAD, ANCESTORS, LAST_GREEN, None, no_green="no history to read")
    assert no_history.how == "newest older release (no history to read)"


def test_a_last_green_release_not_reachable_from_the_head_falls_back_naming_it():
    base = upgrade_base(HEAD, ANCESTORS, LAST_GREEN, last_green="3.0.0+1")
    assert base.release is not None and base.release.tag == "1.2.0+1"
    assert "last green release 3.0.0+1 is not an older release reachable from the head" in base.how


def test_the_head_itself_is_never_its_own_base():
    on_head = upgrade_base(sha(3), ANCESTORS, LAST_GREEN, last_green="1.2.0+1")
    assert on_head.release is not None and on_head.release.tag == "1.1.0+1"
    assert on_head.how.startswith("newest older release (last green release 1.2.0+1 is not")


def test_no_older_release_at_all():
    only = releases([("1.0.0+1", sha(1))])
    assert upgrade_base(sha(1), only, LAST_GREEN, last_green="1.0.0+1").how.startswith("no older release")


def test_other_overrides_are_unchanged():
    assert upgrade_base(HEAD, ANCESTORS, "1.0.0+1", last_green="1.1.0+1").release.tag == "1.0.0+1"
    assert upgrade_base(HEAD, ANCESTORS).release.tag == "1.2.0+1"
