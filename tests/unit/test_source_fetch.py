"""A source that cannot be fetched: the recipe's fault when the source answered "not there", the
runner's (unverified) when it could not be reached at all, or answered "not now" (run/repo.py,
model/fetch_failures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.run.repo import RecipeRepo, fetch_error

UNREACHABLE = [
    "fatal: unable to access 'https://git.example/x.git/': Could not resolve host: git.example",
    "fatal: unable to access 'http://127.0.0.1:9/x.git/': Failed to connect to 127.0.0.1 port 9: Connection refused",
    "fatal: unable to access 'https://git.example/x.git/': Connection timed out after 30001 milliseconds",
    "fatal: unable to access 'https://git.example/x.git/': Network is unreachable",
    "ssh: connect to host git.example port 22: No route to host\nfatal: Could not read from remote repository.",
    "ssh: Could not resolve hostname git.example: Temporary failure in name resolution",
    # The server answered, but only to say "not now": the runner's trouble, not a missing source.
    "fatal: unable to access 'https://git.example/x.git/': The requested URL returned error: 429",
    "fatal: unable to access 'https://git.example/x.git/': The requested URL returned error: 408",
]
NOT_THERE = [
    "remote: Repository not found.\nfatal: repository 'https://git.example/x.git/' not found",
    "fatal: repository '/nonexistent/repo' does not exist",
    "fatal: unable to access 'https://git.example/x.git/': The requested URL returned error: 404",
    "ERROR: Repository not found.\nfatal: Could not read from remote repository.",
    "fatal: '/tmp/empty' does not appear to be a git repository",
]


@pytest.mark.parametrize("stderr", UNREACHABLE)
def test_an_unreachable_source_is_the_runners_trouble(stderr):
    err = fetch_error("r", "src", stderr, stderr.splitlines()[-1])
    assert isinstance(err, InfraError)
    assert str(err).startswith("recipe r: source src could not be reached from this runner: ")


@pytest.mark.parametrize("stderr", NOT_THERE)
def test_a_source_that_answered_not_there_is_the_recipes_fault(stderr):
    err = fetch_error("r", "src", stderr, stderr.splitlines()[-1])
    assert isinstance(err, RecipeError)
    assert str(err).startswith("recipe r: source src could not be fetched: ")


def test_real_git_on_a_missing_path_is_the_recipes_fault(tmp_path: Path):
    with pytest.raises(RecipeError, match="does not exist"):
        RecipeRepo("gone", str(tmp_path / "nowhere"), tmp_path / "cache").fetch()


def test_real_git_on_a_closed_port_is_the_runners_trouble(tmp_path: Path):
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
    with pytest.raises(InfraError, match="could not be reached from this runner"):
        RecipeRepo("gone", "http://127.0.0.1:9/nowhere/recipe.git", tmp_path / "cache").fetch()
