"""Variants of the example recipe `hello` for integration tests, and the names a run gives them.

A variant is one extra history step on top of an example: hello's head compose.yml with some
lines replaced. `Lab.enroll(..., extra_steps=...)` commits it as the recipe's new head.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import EXAMPLES, Lab
from pytest_ccci.model.naming import app_domain, stack_name

HELLO_COMPOSE = (EXAMPLES / "hello/unreleased/compose.yml").read_text()
BASE_DOMAIN = "ccci.test"  # the ini default, which the lab's runs keep
# An image the engine does not have, named by id: an id names no registry, so nothing checks or
# pulls it before the deploy and the swarm itself rejects the task ("No such image"). (A missing
# image named by reference is stopped before the deploy: tests/integration/test_image_pulls.py.)
MISSING_IMAGE_ID = "sha256:" + "ab" * 32


def compose_step(lab: Lab, name: str, *replacements: tuple[str, str]) -> list[dict]:
    """An extra history step: hello's head compose.yml with each (old, new) replacement applied."""
    text = HELLO_COMPOSE
    for old, new in replacements:
        assert old in text, f"{old!r} is not in hello's compose.yml any more"
        text = text.replace(old, new)
    folder = lab.tmp / "steps" / name
    folder.mkdir(parents=True)
    (folder / "compose.yml").write_text(text)
    return [{"root": folder.parent, "files": name, "message": f"test variant: {name}"}]


def slow_step(lab: Lab) -> list[dict]:
    """A healthy head whose first healthcheck runs only after 15 s: a deploy that stays in
    flight long enough to be observed (or interrupted), without being the recipe's fault."""
    return compose_step(lab, "slow", ("      interval: 2s\n", "      interval: 15s\n"))


def domain_of(name: str, source: Path, variant: str = "") -> str:
    """The app domain a run gives recipe `name` at the head of its source repository (its
    upgrade lifecycle's with variant naming.UPGRADE_VARIANT)."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True
    ).stdout.strip()
    return app_domain(name, head, BASE_DOMAIN, variant)


def stack_of(name: str, source: Path) -> str:
    return stack_name(domain_of(name, source))
