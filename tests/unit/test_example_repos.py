"""The example recipes' git histories are built from content, whatever the files' mtimes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import example_repos  # noqa: E402


def show(repo: Path, rev: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_same_size_same_mtime_changes_are_committed(tmp_path, monkeypatch):
    # A fresh clone gives every file one mtime; 0.1.0/abra.sh and 0.2.0/abra.sh also have one size.
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples)
    for f in examples.rglob("*"):
        if f.is_file():
            os.utime(f, (1_600_000_000, 1_600_000_000))
    monkeypatch.setattr(example_repos, "EXAMPLES", examples)
    repo = example_repos.build(examples / "hello", tmp_path / "hello")
    versions = [show(repo, rev, "abra.sh").split("=")[-1].strip() for rev in ("0.1.0+1.35.0", "0.2.0+1.35.0", "HEAD")]
    assert versions == ["v1", "v2", "v3"]
    assert "APP_REVISION=3" in show(repo, "HEAD", "compose.yml")


def test_releases_are_annotated_tags_and_the_head_is_unreleased(tmp_path):
    repo = example_repos.build(ROOT / "examples" / "hello", tmp_path / "hello")
    kinds = subprocess.run(
        ["git", "for-each-ref", "refs/tags", "--format=%(refname:short) %(objecttype)"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert "0.1.0+1.35.0 tag" in kinds and "0.2.0+1.35.0 tag" in kinds
    described = subprocess.run(
        ["git", "describe", "--tags", "--exact-match", "HEAD"], cwd=repo, capture_output=True, text=True
    )
    assert described.returncode != 0, "the head must be an unreleased commit"


def test_same_sources_give_the_same_commits(tmp_path):
    a = example_repos.build(ROOT / "examples" / "hello", tmp_path / "a")
    b = example_repos.build(ROOT / "examples" / "hello", tmp_path / "b")

    def head(r):
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=r, capture_output=True, text=True).stdout

    assert head(a) == head(b)
