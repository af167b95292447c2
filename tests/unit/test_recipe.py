"""recipe.py against real (small, local) git repositories: no docker, no network."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.versions import TagInfo
from pytest_ccci.run.repo import RecipeRepo, describe

_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Unit Test",
    "GIT_AUTHOR_EMAIL": "unit@test.invalid",
    "GIT_COMMITTER_NAME": "Unit Test",
    "GIT_COMMITTER_EMAIL": "unit@test.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}


def sh(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "tag.gpgSign=false", "-c", "commit.gpgSign=false", *args],
        cwd=cwd,
        env=_ENV,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def commit(repo: Path, name: str, content: str) -> str:
    (repo / name).write_text(content)
    sh("add", "-A", cwd=repo)
    sh("commit", "--quiet", "-m", f"{name}: {content}", cwd=repo)
    return sh("rev-parse", "HEAD", cwd=repo).strip()


class Source:
    """A recipe source repository with a known history:

    main:    c1 (0.1.0+1.0 annotated) - c2 (0.2.0+1.1 annotated, v-nope lightweight) - c3
    feature: branches off c2 - f1 (9.0.0+1.0 annotated: a release that is not on main)
    c1 also carries 0.0.9+1.0 as a lightweight tag (a release-shaped tag, not annotated).
    """

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        sh("init", "--quiet", cwd=path)
        self.c1 = commit(path, "compose.yml", "version: '3.8'\n")
        sh("tag", "-a", "0.1.0+1.0", "-m", "first release", cwd=path)
        sh("tag", "0.0.9+1.0", cwd=path)
        self.c2 = commit(path, "compose.yml", "version: '3.8'\nservices: {}\n")
        sh("tag", "-a", "0.2.0+1.1", "-m", "second release", cwd=path)
        sh("tag", "v-nope", cwd=path)
        self.c3 = commit(path, "README.md", "unreleased\n")
        sh("checkout", "--quiet", "-b", "feature", self.c2, cwd=path)
        self.f1 = commit(path, "feature.txt", "feature\n")
        sh("tag", "-a", "9.0.0+1.0", "-m", "release on a branch", cwd=path)
        sh("checkout", "--quiet", "main", cwd=path)


@pytest.fixture
def source(tmp_path) -> Source:
    return Source(tmp_path / "src" / "demo")


@pytest.fixture
def repo(source, tmp_path) -> RecipeRepo:
    r = RecipeRepo("demo", str(source.path), tmp_path / "cache")
    r.fetch()
    return r


# -- fetch -----------------------------------------------------------------------------------


def test_fetch_makes_a_mirror_in_the_cache(repo, tmp_path):
    assert repo.mirror.parent == tmp_path / "cache"
    assert repo.mirror.name.startswith("demo-") and repo.mirror.name.endswith(".git")
    assert (repo.mirror / "HEAD").is_file()
    assert sh("rev-parse", "--is-bare-repository", cwd=repo.mirror).strip() == "true"
    assert not repo.mirror.with_suffix(".partial").exists()


def test_mirror_is_keyed_by_source(tmp_path, source):
    a = RecipeRepo("demo", str(source.path), tmp_path / "cache")
    b = RecipeRepo("demo", str(source.path) + "/", tmp_path / "cache")
    c = RecipeRepo("demo", str(source.path), tmp_path / "cache")
    assert a.mirror != b.mirror
    assert a.mirror == c.mirror


def test_fetch_twice_picks_up_new_tag_and_commit(repo, source):
    repo.fetch()  # the update path on an unchanged source is fine
    assert "0.3.0+1.2" not in {t.name for t in repo.tags()}
    c4 = commit(source.path, "compose.yml", "version: '3.8'\nservices: {app: {}}\n")
    sh("tag", "-a", "0.3.0+1.2", "-m", "third", cwd=source.path)
    with pytest.raises(RecipeError):
        repo.resolve("0.3.0+1.2")
    repo.fetch()
    assert repo.resolve("0.3.0+1.2") == c4
    assert repo.resolve(None) == c4
    assert TagInfo("0.3.0+1.2", annotated=True, sha=c4) in repo.tags()


def test_fetch_update_prunes_deleted_tags(repo, source):
    sh("tag", "-d", "v-nope", cwd=source.path)
    repo.fetch()
    assert "v-nope" not in {t.name for t in repo.tags()}


def _assert_unfetchable(err: RecipeError, source: str) -> None:
    msg = str(err)
    assert "could not be fetched" in msg
    assert source in msg
    assert msg.startswith("recipe ")
    assert "\n" not in msg


def test_fetch_nonexistent_path(tmp_path):
    missing = str(tmp_path / "no" / "such" / "repo")
    r = RecipeRepo("ghost", missing, tmp_path / "cache")
    with pytest.raises(RecipeError) as info:
        r.fetch()
    _assert_unfetchable(info.value, missing)
    assert not (r.mirror / "HEAD").exists()


def test_fetch_unresolvable_host(tmp_path):
    """DNS that cannot resolve the host is the runner's trouble (unverified), not the recipe's."""
    url = "https://git.invalid/x.git"
    r = RecipeRepo("ghost", url, tmp_path / "cache")
    with pytest.raises(InfraError) as info:
        r.fetch()
    assert str(info.value) == (
        f"recipe ghost: source {url} could not be reached from this runner: "
        "fatal: unable to access 'https://git.invalid/x.git/': Could not resolve host: git.invalid"
    )
    assert not (r.mirror / "HEAD").exists()


def test_fetch_update_after_source_vanished(repo, source):
    shutil.rmtree(source.path)
    with pytest.raises(RecipeError) as info:
        repo.fetch()
    _assert_unfetchable(info.value, str(source.path))


# -- resolve ---------------------------------------------------------------------------------


def test_resolve_full_sha(repo, source):
    assert repo.resolve(source.c2) == source.c2


def test_resolve_short_sha(repo, source):
    assert repo.resolve(source.c1[:8]) == source.c1


def test_resolve_annotated_tag_peels_to_commit(repo, source):
    assert repo.resolve("0.2.0+1.1") == source.c2
    tag_object = sh("rev-parse", "0.2.0+1.1", cwd=repo.mirror).strip()
    assert tag_object != source.c2  # the tag object itself is not the commit


def test_resolve_lightweight_tag(repo, source):
    assert repo.resolve("0.0.9+1.0") == source.c1


def test_resolve_branch(repo, source):
    assert repo.resolve("feature") == source.f1
    assert repo.resolve("main") == source.c3


def test_resolve_default_is_default_branch_head(repo, source):
    assert repo.resolve(None) == source.c3


def test_resolve_default_follows_source_default_branch(tmp_path):
    src = Source(tmp_path / "src2")
    sh("symbolic-ref", "HEAD", "refs/heads/feature", cwd=src.path)
    r = RecipeRepo("demo", str(src.path), tmp_path / "cache")
    r.fetch()
    assert r.resolve(None) == src.f1


@pytest.mark.parametrize("ref", ["nope", "1.0.0+0", "deadbeefdeadbeef", "main~10"])
def test_resolve_unknown_ref(repo, source, ref):
    with pytest.raises(RecipeError) as info:
        repo.resolve(ref)
    msg = str(info.value)
    assert "does not exist" in msg
    assert repr(ref) in msg
    assert str(source.path) in msg


def test_resolve_default_of_empty_repository(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    sh("init", "--quiet", cwd=empty)
    r = RecipeRepo("empty", str(empty), tmp_path / "cache")
    r.fetch()
    with pytest.raises(RecipeError) as info:
        r.resolve(None)
    assert "does not exist" in str(info.value)


# -- tags ------------------------------------------------------------------------------------


def test_tags_with_annotated_flag_and_peeled_sha(repo, source):
    tags = {t.name: t for t in repo.tags()}
    assert tags == {
        "0.0.9+1.0": TagInfo("0.0.9+1.0", annotated=False, sha=source.c1),
        "0.1.0+1.0": TagInfo("0.1.0+1.0", annotated=True, sha=source.c1),
        "0.2.0+1.1": TagInfo("0.2.0+1.1", annotated=True, sha=source.c2),
        "v-nope": TagInfo("v-nope", annotated=False, sha=source.c2),
        "9.0.0+1.0": TagInfo("9.0.0+1.0", annotated=True, sha=source.f1),
    }


# -- checkout --------------------------------------------------------------------------------


def test_checkout_at_default_head(repo, source, tmp_path):
    co = repo.checkout(repo.resolve(None), tmp_path / "run" / "demo")
    assert co.recipe == "demo"
    assert co.path == tmp_path / "run" / "demo"
    assert co.head_sha == source.c3
    assert co.ref == source.c3  # no ref given: the sha names it
    assert co.dirty is False
    assert (co.path / "README.md").read_text() == "unreleased\n"
    assert sh("rev-parse", "HEAD", cwd=co.path).strip() == source.c3
    assert {t.name for t in co.tags} == {"0.0.9+1.0", "0.1.0+1.0", "0.2.0+1.1", "v-nope", "9.0.0+1.0"}
    # Reachable from main's head: the releases on c1 and c2, not the one on the feature branch,
    # and not v-nope (not a release). The lightweight 0.0.9+1.0 is release-shaped.
    assert [r.tag for r in co.ancestor_releases] == ["0.0.9+1.0", "0.1.0+1.0", "0.2.0+1.1"]
    assert co.release_on_head is None


def test_checkout_of_tag_has_release_on_head(repo, source, tmp_path):
    co = repo.checkout(repo.resolve("0.2.0+1.1"), tmp_path / "co", ref="0.2.0+1.1")
    assert co.ref == "0.2.0+1.1"
    assert co.head_sha == source.c2
    assert not (co.path / "README.md").exists()
    assert [r.tag for r in co.ancestor_releases] == ["0.0.9+1.0", "0.1.0+1.0", "0.2.0+1.1"]
    assert co.release_on_head is not None and co.release_on_head.tag == "0.2.0+1.1"


def test_checkout_of_feature_branch_sees_its_release(repo, source, tmp_path):
    co = repo.checkout(repo.resolve("feature"), tmp_path / "co", ref="feature")
    assert co.head_sha == source.f1
    assert [r.tag for r in co.ancestor_releases] == ["0.0.9+1.0", "0.1.0+1.0", "0.2.0+1.1", "9.0.0+1.0"]
    assert co.release_on_head.tag == "9.0.0+1.0"


def test_checkout_of_first_commit_sees_only_its_releases(repo, source, tmp_path):
    co = repo.checkout(source.c1, tmp_path / "co")
    assert [r.tag for r in co.ancestor_releases] == ["0.0.9+1.0", "0.1.0+1.0"]
    assert all(r.sha == source.c1 for r in co.ancestor_releases)


def test_checkouts_are_independent(repo, source, tmp_path):
    a = repo.checkout(source.c3, tmp_path / "run-a" / "demo")
    b = repo.checkout(source.f1, tmp_path / "run-b" / "demo")
    assert (a.head_sha, b.head_sha) == (source.c3, source.f1)
    assert (a.path / "README.md").exists() and not (b.path / "README.md").exists()
    assert (b.path / "feature.txt").exists() and not (a.path / "feature.txt").exists()
    # Changing one working copy leaves the other (and the mirror) alone.
    (a.path / "compose.yml").write_text("changed\n")
    assert describe("demo", a.path, "x", list(a.tags)).dirty is True
    again_b = describe("demo", b.path, "feature", list(b.tags))
    assert again_b.dirty is False and again_b.head_sha == source.f1
    assert sh("rev-parse", "HEAD", cwd=a.path).strip() == source.c3
    assert repo.resolve(None) == source.c3


def test_checkout_replaces_an_old_working_copy(repo, source, tmp_path):
    dest = tmp_path / "co"
    repo.checkout(source.c3, dest)
    (dest / "junk.txt").write_text("left over\n")
    co = repo.checkout(source.c1, dest)
    assert co.head_sha == source.c1
    assert co.dirty is False
    assert not (dest / "junk.txt").exists()


def test_describe_dirty_with_untracked_file(repo, source, tmp_path):
    co = repo.checkout(source.c3, tmp_path / "co")
    (co.path / "new.txt").write_text("untracked\n")
    assert describe("demo", co.path, co.ref, list(co.tags)).dirty is True


def test_checkout_of_unknown_sha(repo, tmp_path):
    with pytest.raises(RecipeError) as info:
        repo.checkout("0" * 40, tmp_path / "co")
    msg = str(info.value)
    assert "checkout of 00000000 failed" in msg and "\n" not in msg


# -- a real recipe's files -------------------------------------------------------------------


def test_real_traefik_2021_lightweight_tag(real_recipes, tmp_path):
    src = tmp_path / "traefik"
    src.mkdir()
    for f in sorted((real_recipes / "traefik-2021").iterdir()):
        if f.is_file():
            (src / f.name).write_bytes(f.read_bytes())  # not copy2: the snapshot is read-only
    sh("init", "--quiet", cwd=src)
    sh("add", "-A", cwd=src)
    sh("commit", "--quiet", "-m", "traefik as of 2021-06-10", cwd=src)
    sh("tag", "v2.4.8", cwd=src)
    head = sh("rev-parse", "HEAD", cwd=src).strip()

    r = RecipeRepo("traefik", str(src), tmp_path / "cache")
    r.fetch()
    assert r.resolve("v2.4.8") == head
    co = r.checkout(r.resolve(None), tmp_path / "co")
    assert co.head_sha == head
    assert co.dirty is False
    assert co.tags == (TagInfo(name="v2.4.8", annotated=False, sha=head),)
    assert co.ancestor_releases == ()  # v2.4.8 is not a recipe release tag
    assert (co.path / "compose.yml").read_bytes() == (real_recipes / "traefik-2021" / "compose.yml").read_bytes()
