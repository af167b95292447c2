"""A skipped item's verdict (model.verdict.classify_skip): SKIP only for a skip made as not
applicable (plugin/runner.py's skip_not_applicable flags the item), UNVER for any other skip: it
could have run and did not. The verdict follows the flag, never the words of the reason."""

from __future__ import annotations

import pytest

from pytest_ccci.model.verdict import Status, classify_skip


@pytest.mark.parametrize(
    ("skip_text", "not_applicable", "status", "reason"),
    [
        # pytest's own wording of a skip, as a report carries it
        (
            "Skipped: n/a: linted upstream (declared in ccci.yml)",
            True,
            Status.SKIP,
            "n/a: linted upstream (declared in ccci.yml)",
        ),
        ("Skipped: n/a: no older release", True, Status.SKIP, "n/a: no older release"),
        ("Skipped: blocked: install fail", False, Status.UNVER, "blocked: install fail"),
        ("Skipped: needs an SMTP server", False, Status.UNVER, "needs an SMTP server"),
        # the bare reason, without pytest's prefix
        ("n/a: install is not applicable", True, Status.SKIP, "n/a: install is not applicable"),
        ("blocked: backup unver", False, Status.UNVER, "blocked: backup unver"),
        # the words prove nothing: a recipe's own test that skips with "n/a:" is still unverified
        ("Skipped: n/a: I say so myself", False, Status.UNVER, "n/a: I say so myself"),
        ("Skipped: lint is n/a: here", False, Status.UNVER, "lint is n/a: here"),
        ("", False, Status.UNVER, ""),
    ],
)
def test_only_a_skip_made_not_applicable_is_a_skip(
    skip_text: str, not_applicable: bool, status: Status, reason: str
) -> None:
    assert classify_skip(skip_text, not_applicable) == (status, reason)


def test_only_the_first_skipped_prefix_is_pytests():
    assert classify_skip("Skipped: Skipped: n/a: x", False) == (Status.UNVER, "Skipped: n/a: x")
