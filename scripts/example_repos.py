#!/usr/bin/env python3
"""Build the git repositories of the offline example recipes from their readable sources.

Each `examples/<name>/history.yml` lists steps; a step copies a folder over the tree of the
previous step and commits it, and a step with a tag is a release (an annotated tag). The
repositories land in `.ccci/sources/<name>` (or wherever `--dest` says), where the enrolled
`recipes/<name>/ccci.yml` points.

    python scripts/example_repos.py            # every example
    python scripts/example_repos.py hello      # just one
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEST = ROOT / ".ccci" / "sources"
# Fixed identity and dates: the same sources always give the same commits.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "ccci examples",
    "GIT_AUTHOR_EMAIL": "examples@ccci.invalid",
    "GIT_COMMITTER_NAME": "ccci examples",
    "GIT_COMMITTER_EMAIL": "examples@ccci.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(repo: Path, *args: str, when: int) -> None:
    date = f"{1700000000 + when * 86400} +0000"
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={**GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )


def steps_of(example: Path) -> list[dict]:
    """The steps of an example, with a `based_on` example's steps first."""
    history = yaml.safe_load((example / "history.yml").read_text())
    steps = steps_of(EXAMPLES / history["based_on"]) if history.get("based_on") else []
    return steps + [{**s, "root": example} for s in history.get("steps", [])]


def build(example: Path, dest: Path, extra_steps: list[dict] | None = None) -> Path:
    """(Re)build the repository of `example` at `dest`; extra steps (tests' variants) go last."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    _git(dest, "init", "--quiet", "--initial-branch=main", when=0)
    for i, step in enumerate(steps_of(example) + list(extra_steps or []), start=1):
        src = Path(step["root"]) / step["files"]
        shutil.copytree(src, dest, dirs_exist_ok=True)
        for gone in step.get("delete", []):
            (dest / gone).unlink()
        # A fresh index, hashed from content: git's stat cache would take a copied file with the
        # size and mtime of the one it replaces (a fresh clone gives all files one mtime) as unchanged.
        (dest / ".git" / "index").unlink(missing_ok=True)
        _git(dest, "add", "--all", when=i)
        _git(dest, "commit", "--quiet", "--allow-empty", "-m", step["message"], when=i)
        if step.get("tag"):
            kind = ["-a", "-m", f"release {step['tag']}"] if step.get("annotated", True) else []
            _git(dest, "tag", *kind, step["tag"], when=i)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="examples to build (default: all)")
    parser.add_argument("--dest", type=Path, default=DEST)
    args = parser.parse_args(argv)
    names = args.names or sorted(p.name for p in EXAMPLES.iterdir() if (p / "history.yml").is_file())
    for name in names:
        if not (EXAMPLES / name / "history.yml").is_file():
            print(f"example_repos: no example named {name!r} in {EXAMPLES}", file=sys.stderr)
            return 2
        repo = build(EXAMPLES / name, args.dest / name)
        print(f"example_repos: built {name} at {repo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
