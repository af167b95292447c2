"""The recipe as a git repository: a mirror in a cache, a private checkout per run.

Runs of the same recipe must not race on one checkout, so the shared mirror is only ever
fetched under a file lock, and each run clones its own working copy from it.

A source that cannot be fetched is judged by what git says: one that answers "not found" (or a
path that does not exist) is the recipe's error; one that could not be reached at all (DNS,
connection refused or timed out, no route) is the runner's trouble, an InfraError (unverified).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.fetch_failures import GIT_SOURCE
from pytest_ccci.model.secrets import mask_url, redact, url_password
from pytest_ccci.model.versions import Release, TagInfo, releases

GIT_TIMEOUT = 120.0
_GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}


def git(*args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=_GIT_ENV, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise InfraError("git is not installed: install git to check recipes out") from None
    except subprocess.TimeoutExpired:
        # A local git is done in seconds: one that hangs waits on a network or a stuck disk.
        raise InfraError(f"git {args[0]} did not finish within {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, ["git", *args], proc.stdout, proc.stderr)
    return proc.stdout


def _last_line(err: subprocess.CalledProcessError) -> str:
    lines = [ln.strip() for ln in (err.stderr or "").splitlines() if ln.strip()]
    return lines[-1] if lines else f"git exited {err.returncode}"


def fetch_error(recipe: str, source: str, stderr: str, said: str) -> RecipeError | InfraError:
    """A failed fetch as the recipe's error (the source answered: not there) or the runner's
    (the source could not be reached), from all git wrote (`stderr`); `said` is its last line."""
    if not GIT_SOURCE.recipes_fault(stderr):
        return InfraError(f"recipe {recipe}: source {source} could not be reached from this runner: {said}")
    return RecipeError(f"recipe {recipe}: source {source} could not be fetched: {said}")


@dataclass(frozen=True)
class Checkout:
    """A working copy of the recipe at one commit."""

    recipe: str
    path: Path
    ref: str
    head_sha: str
    dirty: bool
    tags: tuple[TagInfo, ...]
    ancestor_releases: tuple[Release, ...]  # releases reachable from the head, oldest first

    @property
    def release_on_head(self) -> Release | None:
        on_head = [r for r in self.ancestor_releases if r.sha == self.head_sha]
        return on_head[-1] if on_head else None


class RecipeRepo:
    def __init__(self, name: str, source: str, cache_dir: Path):
        self.name = name
        self.source = source
        self.shown_source = mask_url(source)  # a token in the URL is never printed
        key = hashlib.sha256(source.encode()).hexdigest()[:12]
        self.mirror = cache_dir / f"{name}-{key}.git"
        self._lock = FileLock(str(self.mirror) + ".lock")

    def fetch(self) -> None:
        """Clone or update the mirror, tags included."""
        self.mirror.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            try:
                if (self.mirror / "HEAD").is_file():
                    git("remote", "update", "--prune", cwd=self.mirror)
                else:
                    tmp = self.mirror.with_suffix(".partial")
                    shutil.rmtree(tmp, ignore_errors=True)
                    git("clone", "--quiet", "--mirror", self.source, str(tmp))
                    tmp.rename(self.mirror)
            except subprocess.CalledProcessError as err:
                # git echoes the URL, token and all, in its own words: masked there too.
                said = redact(_last_line(err), url_password(self.source))
                raise fetch_error(self.name, self.shown_source, err.stderr or "", said) from None

    def resolve(self, ref: str | None) -> str:
        """The commit a ref names; None means the head of the default branch."""
        spec = ref or "HEAD"
        try:
            return git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", cwd=self.mirror).strip()
        except subprocess.CalledProcessError:
            what = f"ref {ref!r}" if ref else "a default branch head"
            raise RecipeError(f"recipe {self.name}: {what} does not exist in {self.shown_source}") from None

    def tags(self) -> list[TagInfo]:
        out = git(
            "for-each-ref",
            "refs/tags",
            "--format=%(refname:short)%09%(objecttype)%09%(*objectname)%09%(objectname)",
            cwd=self.mirror,
        )
        found = []
        for line in out.splitlines():
            name, kind, peeled, obj = line.split("\t")
            found.append(TagInfo(name=name, annotated=kind == "tag", sha=peeled or obj))
        return found

    def checkout(self, sha: str, dest: Path, ref: str | None = None) -> Checkout:
        """A private working copy at `sha` (a shared clone: cheap, and no race on the mirror)."""
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            git("clone", "--quiet", "--shared", "--no-checkout", str(self.mirror), str(dest))
            git("checkout", "--quiet", "--detach", sha, cwd=dest)
        except subprocess.CalledProcessError as err:
            raise RecipeError(f"recipe {self.name}: checkout of {sha[:8]} failed: {_last_line(err)}") from None
        return describe(self.name, dest, ref or sha, self.tags())


def describe(recipe: str, path: Path, ref: str, tags: list[TagInfo]) -> Checkout:
    head = git("rev-parse", "HEAD", cwd=path).strip()
    dirty = bool(git("status", "--porcelain", cwd=path).strip())
    merged = set(git("tag", "--merged", head, cwd=path).split())
    reachable = releases((t.name, t.sha) for t in tags if t.name in merged)
    return Checkout(recipe, path, ref, head, dirty, tuple(tags), tuple(reachable))
