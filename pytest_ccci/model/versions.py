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

    def sort_key(self) -> tuple[semver.Version, str]:
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


# `upgrade_from: last-green` in ccci.yml, or `--upgrade-from last-green`: the upgrade starts from
# the last green release the history knows (report/history.py says what green is).
LAST_GREEN = "last-green"
ALL_OLDER = "all"  # --upgrade-from all: one upgrade per older release


@dataclass(frozen=True)
class UpgradeBase:
    """Which release an upgrade starts from, and why (recorded in the results)."""

    release: Release | None
    how: str  # "settings", "newest older release", or the reason there is none
    # No release is older than the head: the upgrade tier is not applicable (skip), not failed.
    none_older: bool = False


def no_older_release(head_sha: str, tags: Sequence[TagInfo] = ()) -> UpgradeBase:
    """There is nothing to upgrade from, said with the tags seen and why none is an older release."""
    names = [t.name for t in tags]
    if not names:
        why = "the recipe has no tags (abra's releases are annotated tags X.Y.Z+U, e.g. 1.0.0+2.3.4)"
    else:
        odd = [n for n in names if parse_release(n) is None]
        shown = ", ".join(odd[:8]) + (f" and {len(odd) - 8} more" if len(odd) > 8 else "")
        if odd:
            why = f"tags {shown} are not releases (abra's releases are X.Y.Z+U, e.g. 1.0.0+2.3.4)"
        else:
            why = f"its releases ({', '.join(names[:8])}) are on the head or not its ancestors"
    return UpgradeBase(None, f"no older release: {why}", none_older=True)


def upgrade_base(
    head_sha: str,
    ancestors: Sequence[Release],
    override: str | None = None,
    last_green: str | None = None,
    no_green: str = "the history has no green release",
    tags: Sequence[TagInfo] = (),
) -> UpgradeBase:
    """Choose the upgrade base among the releases reachable from the head.

    `ancestors` are releases whose commit is an ancestor of (or equal to) the head. A release
    on the head itself is skipped: an upgrade from a version to itself proves nothing.
    With `override` last-green, `last_green` is the history's last green release; when it is
    None, `no_green` says why in the note of the fallback. `tags` (all the recipe's) only serve
    to say why there is no older release.
    """
    if override == LAST_GREEN:
        return _last_green_base(head_sha, ancestors, last_green, no_green, tags)
    if override:
        for rel in ancestors:
            if rel.tag == override:
                return UpgradeBase(rel, "settings")
        return UpgradeBase(None, f"settings upgrade_from {override!r} is not a release reachable from the head")
    older = [r for r in ancestors if r.sha != head_sha]
    if not older:
        return no_older_release(head_sha, tags)
    return UpgradeBase(max(older, key=Release.sort_key), "newest older release")


def _last_green_base(
    head_sha: str, ancestors: Sequence[Release], last_green: str | None, no_green: str, tags: Sequence[TagInfo]
) -> UpgradeBase:
    """The last green release when it is an older release reachable from the head; else the
    newest older release, with a note saying why."""
    older = [r for r in ancestors if r.sha != head_sha]
    found = next((r for r in older if r.tag == last_green), None)
    if found is not None:
        return UpgradeBase(found, "last green release (history)")
    if not older:
        return no_older_release(head_sha, tags)
    if last_green is None:
        note = no_green
    else:
        note = f"last green release {last_green} is not an older release reachable from the head"
    return UpgradeBase(max(older, key=Release.sort_key), f"newest older release ({note})")


def older_releases(head_sha: str, ancestors: Sequence[Release]) -> list[Release]:
    """Every release an upgrade could start from (`--upgrade-from all`), oldest first."""
    return sorted((r for r in ancestors if r.sha != head_sha), key=Release.sort_key)


def newest_release(ancestors: Sequence[Release]) -> Release | None:
    return max(ancestors, key=Release.sort_key) if ancestors else None
