"""model/secrets.py: masks, forms, fingerprints, and a leak scan linear in the text's size."""

from __future__ import annotations

import hashlib
import html
import random
import string
import time

import pytest

from pytest_ccci.model import secrets
from pytest_ccci.model.envfile import SecretSpec
from pytest_ccci.model.secrets import (
    MASK,
    Fingerprint,
    LeakScan,
    SecretVault,
    fingerprints,
    holds_secret,
    redact,
    secret_forms,
)
from pytest_ccci.model.verdict import Status, TierVerdict

SECRET = "s3cr3t-Value-XYZ-42"
QUOTED = 'pa"ss<w>&rd-0123456789abcdef'  # changes under HTML/XML escaping
MB = 1 << 20


def random_text(size: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(rng.choices(string.printable, k=size))


# -- forms and masks -------------------------------------------------------------------------


def test_secret_forms_cover_html_and_xml_escaping():
    forms = secret_forms(QUOTED)
    assert {QUOTED, html.escape(QUOTED, quote=True), html.escape(QUOTED, quote=False)} <= forms
    assert QUOTED.replace('"', "&#34;") in forms  # how pytest's JUnit XML writes a quote
    assert secret_forms(SECRET) == {SECRET}  # nothing to escape: one form


def test_redact_masks_every_form_and_leaves_the_rest():
    text = f"a {SECRET} b {html.escape(QUOTED)} c"
    assert redact(text, [SECRET, QUOTED, ""]) == f"a {MASK} b {MASK} c"
    assert redact("nothing secret", [SECRET]) == "nothing secret"


def test_vault_generates_from_the_charset_once_per_name():
    vault = SecretVault()
    value = vault.value("s_db_v1", SecretSpec("db", "v1", 48, "special-chars"))
    assert len(value) == 48 and vault.value("s_db_v1", SecretSpec("db", "v1", 8, "default")) == value
    assert vault.values() == [value]


# -- fingerprints ----------------------------------------------------------------------------


def test_fingerprint_of_a_form():
    fp = Fingerprint.of(SECRET)
    assert fp.length == len(SECRET)
    assert fp.sha256 == hashlib.sha256(SECRET.encode()).hexdigest()
    assert SECRET not in repr(fp)


def test_fingerprints_one_per_form_sorted_without_duplicates():
    got = fingerprints([SECRET, "", SECRET, QUOTED])
    assert got == sorted({Fingerprint.of(f) for f in {SECRET} | secret_forms(QUOTED)})
    assert len(got) == 1 + len(secret_forms(QUOTED))


def test_fingerprints_survive_the_wire():
    # xdist ships the verdict as JSON-like data: tuples arrive as lists.
    verdict = TierVerdict("hello", "install", Status.PASS, fingerprints=tuple(fingerprints([SECRET, QUOTED])))
    wire = verdict.to_wire()
    assert all(isinstance(fp, list) for fp in wire["fingerprints"])
    assert TierVerdict.from_wire(wire) == verdict


# -- the leak scan ---------------------------------------------------------------------------


def test_finds_a_secret_anywhere_in_a_text():
    prints = fingerprints([SECRET])
    assert holds_secret(f"error: password={SECRET} rejected", prints)
    assert holds_secret(SECRET, prints)
    assert holds_secret(f"{SECRET} at the start", prints)


@pytest.mark.parametrize(
    "text",
    [
        SECRET[:-1],  # truncated
        SECRET[:-1] + "3",  # last character differs
        SECRET.upper(),
        SECRET[:5] + " " + SECRET[5:],
        SECRET[::-1],  # same characters, other order: same window sum, rejected by sha256
        "",
        "nothing here",
    ],
)
def test_near_misses_are_no_leak(text):
    assert not holds_secret(text, fingerprints([SECRET]))


def test_an_anagram_is_confirmed_and_rejected():
    scan = LeakScan(fingerprints([SECRET]))
    assert not scan.found_in(f"xx{SECRET[::-1]}yy")
    assert scan.confirmations == 1  # the window sum matched; the sha256 said no


def test_without_fingerprints_nothing_is_found():
    assert not holds_secret(SECRET, [])


def test_several_lengths():
    prints = fingerprints([SECRET, "short1"])
    assert holds_secret("xxshort1yy", prints)
    assert not holds_secret("xxshort2yy", prints)


def test_escaped_forms_are_found():
    prints = fingerprints([QUOTED])
    assert holds_secret(f"<td>{html.escape(QUOTED)}</td>", prints)
    assert holds_secret(f'<property value="{QUOTED.replace(chr(34), "&#34;")}"/>', prints)


def test_non_ascii_text_and_lone_surrogates_do_not_break_the_scan():
    secret = "mot-de-passe-été-ünïcødé-✓"
    prints = fingerprints([secret])
    assert holds_secret(f"résumé… {secret} ✓", prints)
    assert not holds_secret("broken \udcff surrogate " + secret[:-1], prints)


def test_a_secret_across_a_piece_boundary_is_found(monkeypatch):
    monkeypatch.setattr(secrets, "_PIECE", 64)  # many pieces, so windows straddle their edges
    for offset in range(50, 70):
        text = "x" * offset + SECRET + "y" * 40
        assert holds_secret(text, fingerprints([SECRET])), offset
    assert not holds_secret("x" * 200, fingerprints([SECRET]))


def test_a_megabyte_scans_in_well_under_a_second_and_a_leak_at_its_end_is_found():
    # The old scan hashed every window: ~3.3 s per MB and per secret length. CPU time, not wall
    # time: other processes on a shared machine must not make this fail.
    text = random_text(MB)
    prints = fingerprints(["".join(random.Random(1).choices(string.ascii_letters, k=32)), QUOTED])
    assert len({fp.length for fp in prints}) == 4  # four window lengths: four passes over the sums
    scan = LeakScan(prints)
    start = time.process_time()
    assert not scan.found_in(text)
    clean = time.process_time() - start
    start = time.process_time()
    assert LeakScan(prints).found_in(text + html.escape(QUOTED))
    leaked = time.process_time() - start
    assert clean < 1.0 and leaked < 1.0, (clean, leaked)
    assert scan.confirmations == 0  # no sha256 computed for a clean text: the per-window work is the sum


def test_the_cost_is_linear_in_the_text(monkeypatch):
    # Counted, not timed (timing is noisy on a shared machine): the scan looks up each window's
    # sum once per secret length, so four times the text means four times the lookups.
    lookups = 0

    class CountingDict(dict):
        def keys(self):  # the fast path: isdisjoint over all window sums
            return CountingKeys(self)

    class CountingKeys:
        def __init__(self, wanted):
            self.wanted = wanted

        def isdisjoint(self, sums):
            nonlocal lookups
            for window_sum in sums:
                lookups += 1
                if window_sum in self.wanted:
                    return False
            return True

    prints = fingerprints([SECRET])
    counts = []
    for size in (10_000, 40_000):
        scan = LeakScan(prints)
        scan._wanted = {length: CountingDict(by_sum) for length, by_sum in scan._wanted.items()}
        lookups = 0
        assert not scan.found_in(random_text(size))
        counts.append(lookups)
    assert counts == [10_000 - len(SECRET) + 1, 40_000 - len(SECRET) + 1]
