"""A skipped item's verdict (model.verdict.classify_skip): SKIP only for a declared or structural
not-applicable ("n/a: ..."), UNVER for any other skip: it could have run and did not."""

from __future__ import annotations

import pytest

from pytest_ccci.model.verdict import Status, classify_skip


@pytest.mark.parametrize(
    ("skip_text", "status", "reason"),
    [
        # pytest's own wording of a skip, as a report carries it
        (
            "Skipped: n/a: linted upstream (declared in ccci.yml)",
            Status.SKIP,
            "n/a: linted upstream (declared in ccci.yml)",
        ),
        ("Skipped: n/a: no older release", Status.SKIP, "n/a: no older release"),
        ("Skipped: blocked: install fail", Status.UNVER, "blocked: install fail"),
        ("Skipped: needs an SMTP server", Status.UNVER, "needs an SMTP server"),
        # the bare reason, without pytest's prefix
        ("n/a: install is not applicable", Status.SKIP, "n/a: install is not applicable"),
        ("blocked: backup unver", Status.UNVER, "blocked: backup unver"),
        # n/a only counts as the reason's first word: said anywhere else it proves nothing
        ("Skipped: no older release", Status.UNVER, "no older release"),
        ("Skipped: lint is n/a: here", Status.UNVER, "lint is n/a: here"),
        ("Skipped: N/A: shouting", Status.UNVER, "N/A: shouting"),
        ("", Status.UNVER, ""),
    ],
)
def test_only_a_declared_not_applicable_is_a_skip(skip_text: str, status: Status, reason: str) -> None:
    assert classify_skip(skip_text) == (status, reason)


def test_only_the_first_skipped_prefix_is_pytests():
    assert classify_skip("Skipped: Skipped: n/a: x") == (Status.UNVER, "Skipped: n/a: x")
