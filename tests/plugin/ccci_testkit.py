"""Helpers for the pytester-driven plugin tests: recipe repos, enrollment, isolated runs.

Every run gets its own XDG_CACHE_HOME (recipe mirrors) and ccci_lock_dir, so nothing is shared
with the host or with another test (fixtures in conftest.py).
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

RELEASE = "0.1.0+1.0"

COMPOSE = """\
version: "3.8"
services:
  {service}:
    image: x:1.0
    healthcheck:
      test: ["CMD", "true"]
      interval: 2s
    deploy:
      labels:
        - "traefik.enable=true"
        - "coop-cloud.${{STACK_NAME}}.version={release}"
"""

ENV_SAMPLE = """\
TYPE={name}
DOMAIN={name}.example.com
"""

README = """\
# {name}

* **Category**: Apps
* **Status**: 1, alpha
* **Image**: `x`, 4, upstream
* **Healthcheck**: Yes
* **Backups**: No
* **Email**: No
* **Tests**: No
* **SSO**: No
"""


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def make_repo(path: Path, name: str = "app", service: str = "app", tags: tuple[str, ...] = (RELEASE,)) -> str:
    """A small recipe repository; each tag in `tags` gets a commit of its own (annotated tags).
    Returns the head commit sha."""
    path.mkdir(parents=True)
    git("init", "--quiet", cwd=path)
    # Unique content: two tests building "the same" repo in the same second get different commits.
    (path / ".origin").write_text(f"{path}\n")
    (path / ".env.sample").write_text(ENV_SAMPLE.format(name=name))
    (path / "README.md").write_text(README.format(name=name))
    for i, tag in enumerate(tags or ("",)):
        (path / "compose.yml").write_text(COMPOSE.format(service=service, release=tag or RELEASE))
        git("add", "-A", cwd=path)
        git("commit", "--quiet", "--allow-empty", "-m", f"commit {i}", cwd=path)
        if tag:
            git("tag", "-a", tag, "-m", tag, cwd=path)
    return git("rev-parse", "HEAD", cwd=path).strip()


@dataclass
class CcciProject:
    """A pytester project with a `recipes` dir, and the isolated host state of its runs."""

    pytester: pytest.Pytester
    cache: Path
    lock_dir: Path

    def repo(self, name: str, service: str = "app", tags: tuple[str, ...] = (RELEASE,)) -> str:
        """A recipe repository at src/<name>; its source, relative to recipes/<name>, is ../../src/<name>."""
        return make_repo(self.pytester.path / "src" / name, name=name, service=service, tags=tags)

    @property
    def recipes(self) -> Path:
        return self.pytester.path / "recipes"

    def enroll(self, name: str, source: str | None = None, extra: str = "", tests: str | None = None) -> Path:
        """Enroll `name`; without `source`, a fresh good repo at src/<name> (relative source)."""
        folder = self.recipes / name
        folder.mkdir(parents=True)
        if source is None:
            self.repo(name)
            source = f"../../src/{name}"
        (folder / "ccci.yml").write_text(f"source: {source}\n" + textwrap.dedent(extra))
        if tests is not None:
            (folder / f"test_{name.replace('-', '_')}.py").write_text(textwrap.dedent(tests))
        return folder

    def head(self, name: str) -> str:
        return git("rev-parse", "HEAD", cwd=self.pytester.path / "src" / name).strip()

    def isolation(self) -> tuple[str, ...]:
        # --no-janitor always: with a private lock dir every app-domain lock looks free, so the
        # janitor would reap the host's live deployments whenever a swarm tier is selected.
        return ("-o", f"ccci_lock_dir={self.lock_dir}", "-p", "no:cacheprovider", "--no-janitor")

    def run(self, *args: str, timeout: float = 120) -> pytest.RunResult:
        """A separate pytest process: the plugin installs a SIGTERM handler and keeps module state."""
        return self.pytester.runpytest_subprocess(*self.isolation(), *args, timeout=timeout)

    def run_inprocess(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest(*self.isolation(), *args)

    def mirrors(self) -> list[Path]:
        root = self.cache / "pytest-ccci" / "mirrors"
        return sorted(root.iterdir()) if root.is_dir() else []


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def collected_ids(result: pytest.RunResult) -> list[str]:
    """Node ids printed by `--collect-only -q`, in order."""
    return [line.strip() for line in result.outlines if "::" in line and not line.startswith(("=", " "))]
