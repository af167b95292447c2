"""versions.py: release tags in semver precedence, and the choice of upgrade base."""

from __future__ import annotations

import random

import pytest

from pytest_ccci.model.versions import (
    Release,
    TagInfo,
    UpgradeBase,
    newest_release,
    older_releases,
    parse_release,
    releases,
    upgrade_base,
)


def sha(n: int) -> str:
    return f"{n:040x}"


def tags_of(rels: list[Release]) -> list[str]:
    return [r.tag for r in rels]


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["1.2.0+3.4.5", "0.1.0+1.35.0", "2.0.0", "1.0.0-rc.1+2.0", "10.20.30+latest"])
def test_release_tags_parse(tag):
    version = parse_release(tag)
    assert version is not None
    assert str(version) == tag


@pytest.mark.parametrize("tag", ["v2.4.8", "latest", "1.2", "release-1.0.0", "1.2.3.4", "", "main"])
def test_non_release_tags_are_not_releases(tag):
    assert parse_release(tag) is None


def test_build_metadata_is_kept_on_the_version():
    v = parse_release("1.2.0+3.4.5")
    assert (v.major, v.minor, v.patch, v.build) == (1, 2, 0, "3.4.5")


# -- ordering --------------------------------------------------------------------------------


def test_releases_skip_non_release_tags():
    found = releases([("v2.4.8", sha(1)), ("latest", sha(2)), ("1.0.0+2.4.8", sha(3)), ("nightly", sha(4))])
    assert tags_of(found) == ["1.0.0+2.4.8"]
    assert found[0].sha == sha(3)


def test_numeric_not_lexical_order():
    found = releases([("1.10.0+1.0", sha(1)), ("1.2.0+9.9", sha(2)), ("1.9.0+0.1", sha(3))])
    assert tags_of(found) == ["1.2.0+9.9", "1.9.0+0.1", "1.10.0+1.0"]


def test_build_metadata_does_not_decide_precedence():
    # The upstream version in build metadata is much larger on the older recipe release.
    found = releases([("1.1.0+1.0.0", sha(1)), ("1.0.0+99.0.0", sha(2))])
    assert tags_of(found) == ["1.0.0+99.0.0", "1.1.0+1.0.0"]


def test_pre_release_is_lower_than_its_release():
    found = releases(
        [("1.0.0+2.0", sha(1)), ("1.0.0-rc.1+2.0", sha(2)), ("0.9.0+1.0", sha(3)), ("1.0.0-beta+2.0", sha(4))]
    )
    assert tags_of(found) == ["0.9.0+1.0", "1.0.0-beta+2.0", "1.0.0-rc.1+2.0", "1.0.0+2.0"]


def test_order_is_total_and_independent_of_input_order():
    tags = [
        ("0.1.0+1.0", sha(1)),
        ("0.2.0+1.0", sha(2)),
        ("0.2.0+1.1", sha(3)),  # same precedence as the one before: build breaks the tie
        ("0.10.0+0.1", sha(4)),
        ("1.0.0-alpha+1", sha(5)),
        ("1.0.0+1", sha(6)),
        ("v9.9.9", sha(7)),
    ]
    expected = tags_of(releases(tags))
    rng = random.Random(1234)
    for _ in range(20):
        shuffled = tags[:]
        rng.shuffle(shuffled)
        assert tags_of(releases(shuffled)) == expected
    assert expected == ["0.1.0+1.0", "0.2.0+1.0", "0.2.0+1.1", "0.10.0+0.1", "1.0.0-alpha+1", "1.0.0+1"]


def test_newest_release():
    rels = releases([("1.0.0+1", sha(1)), ("1.10.0+1", sha(2)), ("1.9.0+5", sha(3))])
    assert newest_release(rels).tag == "1.10.0+1"
    assert newest_release([]) is None


# -- upgrade_base ----------------------------------------------------------------------------

HEAD = sha(99)


@pytest.fixture
def history() -> list[Release]:
    # Three releases behind the head, given out of order.
    return releases([("1.1.0+2.0", sha(2)), ("1.0.0+1.0", sha(1)), ("1.2.0+1.5", sha(3))])


def test_upgrade_base_newest_strictly_older(history):
    base = upgrade_base(HEAD, history)
    assert isinstance(base, UpgradeBase)
    assert base.release.tag == "1.2.0+1.5"
    assert base.how == "newest older release"


def test_upgrade_base_by_precedence_not_tag_text():
    rels = releases([("1.9.0+1", sha(1)), ("1.10.0+1", sha(2))])
    assert upgrade_base(HEAD, rels).release.tag == "1.10.0+1"


def test_upgrade_base_prefers_release_over_its_pre_release():
    rels = releases([("2.0.0-rc.1+1", sha(2)), ("2.0.0+1", sha(1))])
    assert upgrade_base(HEAD, rels).release.tag == "2.0.0+1"


def test_upgrade_base_skips_release_on_head(history):
    on_head = releases([*((r.tag, r.sha) for r in history), ("1.3.0+1.5", HEAD)])
    base = upgrade_base(HEAD, on_head)
    assert base.release.tag == "1.2.0+1.5"
    assert base.release.sha != HEAD
    assert base.how == "newest older release"


def test_upgrade_base_single_release_on_head():
    base = upgrade_base(HEAD, releases([("0.1.0+1.0", HEAD)]), tags=[TagInfo("0.1.0+1.0", True, HEAD)])
    assert base.release is None and base.none_older
    assert base.how == "no older release: its releases (0.1.0+1.0) are on the head or not its ancestors"


def test_upgrade_base_no_releases():
    base = upgrade_base(HEAD, [])
    assert base.release is None and base.none_older
    assert base.how.startswith("no older release: the recipe has no tags (abra's releases are annotated tags X.Y.Z+U")


def test_no_older_release_names_the_tags_that_are_not_releases():
    """foodsharing-cms tags v1.0.0..v1.0.3: abra's releases are X.Y.Z+U tags."""
    tags = [TagInfo(f"v1.0.{n}", True, HEAD) for n in range(4)]
    base = upgrade_base(HEAD, [], tags=tags)
    assert base.none_older
    assert base.how == (
        "no older release: tags v1.0.0, v1.0.1, v1.0.2, v1.0.3 are not releases (abra's releases are X.Y.Z+U, "
        "e.g. 1.0.0+2.3.4)"
    )


def test_upgrade_base_settings_override_present(history):
    base = upgrade_base(HEAD, history, override="1.0.0+1.0")
    assert base.release.tag == "1.0.0+1.0"
    assert base.release.sha == sha(1)
    assert base.how == "settings"


def test_upgrade_base_settings_override_not_reachable(history):
    base = upgrade_base(HEAD, history, override="0.9.0+1.0")
    assert base.release is None
    assert "settings" in base.how
    assert "'0.9.0+1.0'" in base.how
    assert "not a release reachable from the head" in base.how


def test_upgrade_base_override_of_non_release_tag(history):
    # v2.4.8 is a tag, but not a release: releases() never yields it, so it cannot be a base.
    rels = releases([*((r.tag, r.sha) for r in history), ("v2.4.8", sha(5))])
    base = upgrade_base(HEAD, rels, override="v2.4.8")
    assert base.release is None
    assert "v2.4.8" in base.how


def test_upgrade_base_empty_override_means_none(history):
    assert upgrade_base(HEAD, history, override="").how == "newest older release"
    assert upgrade_base(HEAD, history, override=None).release.tag == "1.2.0+1.5"


# -- older_releases --------------------------------------------------------------------------


def test_older_releases_oldest_first_without_head():
    rels = releases(
        [("1.10.0+1", sha(4)), ("1.2.0+1", sha(2)), ("1.0.0+1", sha(1)), ("1.11.0+1", HEAD), ("1.2.0-rc.1+1", sha(3))]
    )
    older = older_releases(HEAD, rels)
    assert tags_of(older) == ["1.0.0+1", "1.2.0-rc.1+1", "1.2.0+1", "1.10.0+1"]
    assert all(r.sha != HEAD for r in older)


def test_older_releases_empty_when_only_head():
    assert older_releases(HEAD, releases([("1.0.0+1", HEAD)])) == []


def test_older_releases_last_is_the_upgrade_base(history):
    assert older_releases(HEAD, history)[-1] == upgrade_base(HEAD, history).release
