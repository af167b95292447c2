"""A recipe's tags, and its release versions among them: tags `X.Y.Z+upstream`, in semver precedence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import semver


@dataclass(frozen=True)
class TagInfo:
    """A git tag as the repository has it: annotated or lightweight, and the commit it names."""

    name: str
    annotated: bool
    sha: str


@dataclass(frozen=True, order=False)
class Release:
    tag: str
    version: semver.Version
    sha: str

    def sort_key(self) -> tuple:
        # Build metadata (the upstream version) does not count for semver precedence;
        # it only breaks ties so that the order is total and stable.
        return (self.version, self.version.build or "")


def parse_release(tag: str) -> semver.Version | None:
    """The version of a release tag, or None for tags that are not recipe releases."""
    try:
        return semver.Version.parse(tag)
    except ValueError:
        return None


def releases(tags: Iterable[tuple[str, str]]) -> list[Release]:
    """Release tags out of (name, commit sha) pairs, oldest first."""
    found = [Release(name, v, sha) for name, sha in tags if (v := parse_release(name)) is not None]
    return sorted(found, key=Release.sort_key)


@dataclass(frozen=True)
class UpgradeBase:
    """Which release an upgrade starts from, and why (recorded in the results)."""

    release: Release | None
    how: str  # "settings", "newest older release", or the reason there is none


def upgrade_base(
    head_sha: str,
    ancestors: Sequence[Release],
    override: str | None = None,
) -> UpgradeBase:
    """Choose the upgrade base among the releases reachable from the head.

    `ancestors` are releases whose commit is an ancestor of (or equal to) the head. A release
    on the head itself is skipped: an upgrade from a version to itself proves nothing.
    """
    if override:
        for rel in ancestors:
            if rel.tag == override:
                return UpgradeBase(rel, "settings")
        return UpgradeBase(None, f"settings upgrade_from {override!r} is not a release reachable from the head")
    older = [r for r in ancestors if r.sha != head_sha]
    if not older:
        return UpgradeBase(None, "no older release")
    return UpgradeBase(max(older, key=Release.sort_key), "newest older release")


def older_releases(head_sha: str, ancestors: Sequence[Release]) -> list[Release]:
    """Every release an upgrade could start from (`--upgrade-from all`), oldest first."""
    return sorted((r for r in ancestors if r.sha != head_sha), key=Release.sort_key)


def newest_release(ancestors: Sequence[Release]) -> Release | None:
    return max(ancestors, key=Release.sort_key) if ancestors else None
