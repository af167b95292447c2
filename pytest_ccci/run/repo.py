"""The recipe as a git repository: a mirror in a cache, a private checkout per run.

Runs of the same recipe must not race on one checkout, so the shared mirror is only ever
fetched under a file lock, and each run clones its own working copy from it.

A source that cannot be fetched is judged by what git says: one that answers "not found" (or a
path that does not exist) is the recipe's error; one that could not be reached at all (DNS,
connection refused or timed out, no route) is the runner's trouble, an InfraError (unverified).

git runs on a source nobody vetted, so it runs with nothing from outside: no system or global
config (no filter, hook, credential helper, url rewrite or protocol allowance of the host's or
the user's), a HOME of its own (empty), no GIT_* variable of the runner's environment but the
ssh ones, hooks off, LFS never smudging, only the https, http, git, ssh and file transports
(never `ext::`), and `--` (or `--end-of-options`) before every source, path or ref it is given.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.fetch_failures import GIT_SOURCE
from pytest_ccci.model.secrets import mask_url, redact, url_password
from pytest_ccci.model.versions import Release, TagInfo, releases

GIT_TIMEOUT = 120.0
# Every transport git has is refused but these; `file` serves recipes kept in local paths.
ALLOWED_PROTOCOLS = ("https", "http", "git", "ssh", "file")
# Config given on every git command line: it wins over any config file git could still read.
GIT_CONFIG = (
    "protocol.allow=never",
    *(f"protocol.{name}.allow=always" for name in ALLOWED_PROTOCOLS),
    "protocol.ext.allow=never",
    "core.hooksPath=/dev/null",
    "filter.lfs.smudge=",
    "filter.lfs.process=",
    "filter.lfs.required=false",
)
# The runner's GIT_* variables that stay: how it reaches ssh sources (its keys are the operator's).
KEPT_GIT_VARIABLES = frozenset({"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT"})
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# What git says of a source whose transport is not allowed (protocol.<name>.allow).
_REFUSED_TRANSPORT = re.compile(r"transport '([^']+)' not allowed")


@functools.cache
def _empty_home() -> str:
    """A HOME of git's own for this process: empty, private (mkdtemp makes it 0700), removed at exit."""
    home = tempfile.mkdtemp(prefix="ccci-git-home-")
    atexit.register(shutil.rmtree, home, True)
    return home


def git_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in: the runner's (`environ`, default os.environ) without its
    GIT_* variables (config injected through GIT_CONFIG_*, GIT_ALLOW_PROTOCOL, GIT_DIR...), with
    no system or global config and an empty HOME."""
    base = os.environ if environ is None else environ
    kept = {k: v for k, v in base.items() if not k.startswith("GIT_") or k in KEPT_GIT_VARIABLES}
    return {
        **kept,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "HOME": _empty_home(),
        "XDG_CONFIG_HOME": _empty_home(),
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
        "LC_ALL": "C",
    }


def git_command(*args: str) -> list[str]:
    """`git` with the fixed config (GIT_CONFIG) before `args`."""
    return ["git", *(part for setting in GIT_CONFIG for part in ("-c", setting)), *args]


def git(*args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT) -> str:
    try:
        command = git_command(*args)
        proc = subprocess.run(command, cwd=cwd, env=git_env(), capture_output=True, text=True, timeout=timeout)
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
    (the source could not be reached), from all git wrote (`stderr`); `said` is its last line.
    A source over a transport this runner never allows (ext::, fd::...) is the recipe's."""
    refused = _REFUSED_TRANSPORT.search(stderr)
    if refused:
        return RecipeError(
            f"recipe {recipe}: source {source} uses the {refused.group(1)} transport, which this runner never "
            f"allows (only {', '.join(ALLOWED_PROTOCOLS)})"
        )
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
                    git("clone", "--quiet", "--mirror", "--", self.source, str(tmp))
                    tmp.rename(self.mirror)
            except subprocess.CalledProcessError as err:
                # git echoes the URL, token and all, in its own words: masked there too.
                said = redact(_last_line(err), url_password(self.source))
                raise fetch_error(self.name, self.shown_source, err.stderr or "", said) from None

    def resolve(self, ref: str | None) -> str:
        """The commit a ref names; None means the head of the default branch."""
        spec = ref or "HEAD"
        try:
            found = git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{spec}^{{commit}}", cwd=self.mirror)
            return found.strip()
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
        if not _COMMIT_ID.fullmatch(sha):  # never a ref or an option: resolve() gives commit ids
            raise ValueError(f"not a commit id: {sha!r}")
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            git("clone", "--quiet", "--shared", "--no-checkout", "--", str(self.mirror), str(dest))
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
