"""results.py's leak scan: each text is scanned once, when it arrives; results.json rescans nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_ccci.model.secrets import LeakScan, fingerprints
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict
from pytest_ccci.run.results import Results

SECRET = "generated-Secret-0123456789-abcdefgh"


def report(tier: str, text: str = "", when: str = "call", known: list[str] | None = None) -> SimpleNamespace:
    """A report as the controller gets it, its verdict built the way the plugin builds it."""
    verdict = TierVerdict(
        "hello", tier, Status.PASS, fingerprints=tuple(fingerprints([SECRET] if known is None else known))
    )
    return SimpleNamespace(
        nodeid=f"ccci::test_{tier}[hello]",
        when=when,
        failed=False,
        duration=0.1,
        longrepr=text or None,
        sections=[],
        **{REPORT_ATTRIBUTE: verdict.to_wire()},
    )


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text LeakScan.found_in is asked about, in order."""
    seen: list[str] = []
    real = LeakScan.found_in

    def counting(self: LeakScan, text: str) -> bool:
        seen.append(text)
        return real(self, text)

    monkeypatch.setattr(LeakScan, "found_in", counting)
    return seen


def test_each_report_text_is_scanned_once_on_arrival(scans):
    res = Results(["hello"], TIERS, "r")
    for n, tier in enumerate(("lint", "install", "backup")):
        res.add(report(tier, f"output {n}"))
    assert scans == ["output 0", "output 1", "output 2"]
    assert res.texts_scanned == 3


def test_results_json_rescans_nothing(scans):
    # Before: as_dict() scanned every report text again, and it ran at least five times a session.
    res = Results(["hello"], TIERS, "r")
    for tier in TIERS:
        res.add(report(tier, f"{tier} said something"))
    scanned = len(scans)
    first, second = res.as_dict(), res.as_dict()
    res.table()
    assert len(scans) == scanned
    assert first["recipes"]["hello"]["no_secret_leak"] is second["recipes"]["hello"]["no_secret_leak"] is True


def test_an_artifact_is_scanned_once_when_handed_over(scans):
    res = Results(["hello"], TIERS, "r")
    res.add(report("install", "clean"))
    res.add_artifact(f"<html><td>{SECRET}</td></html>")
    assert scans[-1].startswith("<html>")
    res.as_dict()
    res.as_dict()
    assert len(scans) == 2
    assert res.as_dict()["recipes"]["hello"]["no_secret_leak"] is False


def test_a_leak_in_a_report_stays_found_and_later_texts_are_not_scanned(scans):
    res = Results(["hello"], TIERS, "r")
    res.add(report("install", f"AssertionError: got {SECRET}"))
    res.add(report("backup", "a long clean text " * 1000))
    assert res.leaked and len(scans) == 1  # nothing a later text holds can undo a leak
    assert res.as_dict()["recipes"]["hello"]["no_secret_leak"] is False


def test_a_text_is_scanned_against_the_fingerprints_its_own_report_brings():
    # The report carrying a text also carries the fingerprints of every secret its process knew.
    res = Results(["hello"], TIERS, "r")
    res.add(report("lint", "clean", known=["another-secret-value-xyz-0123456789"]))
    res.add(report("install", f"echo {SECRET}", known=[SECRET]))
    assert res.leaked


def test_without_fingerprints_nothing_is_scanned(scans):
    res = Results(["hello"], TIERS, "r")
    res.add(report("lint", f"{SECRET}", known=[]))
    assert scans == [] and not res.leaked
