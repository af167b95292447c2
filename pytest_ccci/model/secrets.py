"""Secrets as the plugin handles them: generated values kept in memory only, a mask wherever
something secret-shaped is shown, and fingerprints to find a leaked value in a text without
carrying the value itself.

A fingerprint is (length, sha256, window sum) of one form a secret may take in an artifact (as
is, HTML or XML escaped). The window sum adds a pseudo-random number per character; it rolls
along a text in O(1) per position, so `LeakScan.found_in` is linear in the text's size (a few
C-level passes per distinct secret length). A window whose sum matches is confirmed by its
sha256, so neither a collision nor an anagram is ever reported as a leak. The sum is a function
of a secret's multiset of characters: it narrows down nothing a 32-character random value
needs to keep.
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets as _random
import string
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate, islice
from operator import sub
from typing import Any, NamedTuple
from urllib.parse import unquote

from pytest_ccci.model.envfile import SecretSpec

MASK = "********"
# Names that look like they hold a secret: their values are masked wherever settings are shown.
SECRET_SHAPED = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY", re.IGNORECASE)
# scheme://userinfo@host...: userinfo ends at the last "@" before the path; its password (if
# any) starts after the user's first ":". Without a password, the userinfo may be a token on its
# own (https://ghp_xxx@github.com/...): it is masked whole.
_URL_USERINFO = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.\-]*://(?P<userinfo>(?P<user>[^/@:]*)(?::(?P<password>[^/]*))?)@[^@/]*(?:/|$)"
)
# A password-less userinfo at least this long is taken for a token and known to the leak scan;
# a shorter one is a login name (`ssh://git@host/...`), masked but never redacted from every text.
_TOKEN_MIN_LENGTH = 12
# The runner's own environment variables whose values the leak scan looks for in every report and
# artifact: the secret shapes above, the names CI systems give credentials (GITHUB_TOKEN,
# CI_JOB_TOKEN, CI_JOB_JWT, AWS_SECRET_ACCESS_KEY, ..._PRIVATE_KEY, GitLab's DOCKER_AUTH_CONFIG,
# DB_PASS, SMTPPASS, a session or cookie), and AWS_* as a whole...
RUNNER_SECRET_NAME = re.compile(
    SECRET_SHAPED.pattern + r"|CREDENTIAL|PRIVATE|_PASS|PASS$|AUTH|JWT|COOKIE|SESSION|^AWS_", re.IGNORECASE
)
# ...but not the ones that name a place, a program or a choice, never a credential: AWS_REGION,
# AWS_PROFILE, GIT_AUTHOR_NAME and CI_COMMIT_AUTHOR (AUTHORIZATION is a credential), SSH_ASKPASS,
# and a desktop session's (XDG_SESSION_TYPE, DBUS_SESSION_BUS_ADDRESS, SESSION_MANAGER).
_NOT_A_CREDENTIAL = re.compile(
    r"REGION|PROFILE|AUTHOR(?!I[SZ]ATION)|ASKPASS|^XDG_|^DBUS_|^SESSION_MANAGER$", re.IGNORECASE
)

_CHARSETS = {
    "default": string.ascii_letters + string.digits,
    "safe": string.ascii_letters + string.digits,
    "special-chars": string.ascii_letters + string.digits + "!#%&*+,-.:;<=>?@^_~",
}

# A text is scanned in pieces of this many characters (plus an overlap of the longest secret),
# so the running sums of a large HTML report never have to be held in memory all at once.
_PIECE = 1 << 20


class SecretVault:
    """Generated secret values, kept in memory only: needed to scan artifacts for leaks."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def value(self, name: str, spec: SecretSpec) -> str:
        if name not in self._values:
            alphabet = _CHARSETS.get(spec.charset, _CHARSETS["default"])
            self._values[name] = "".join(_random.choice(alphabet) for _ in range(spec.length))
        return self._values[name]

    def __repr__(self) -> str:
        return f"SecretVault({len(self._values)} values)"

    def values(self) -> list[str]:
        return list(self._values.values())


def secret_forms(value: str) -> set[str]:
    """A secret as it may appear in an artifact: as is, and escaped for HTML and XML."""
    return {value, html.escape(value, quote=True), html.escape(value, quote=False), value.replace('"', "&#34;")}


def url_password(url: str) -> list[str]:
    """The secret in a URL's userinfo: its password (`https://user:token@host/...`, how CI runners
    pass a token), or a token-long userinfo without one (`https://ghp_xxx@host/...`), as written
    and percent-decoded (git prints either); [] when there is none."""
    found = _URL_USERINFO.match(url)
    if not found:
        return []
    written = found.group("password")
    if written is None and len(found.group("user")) >= _TOKEN_MIN_LENGTH:
        written = found.group("user")
    return list(dict.fromkeys([written, unquote(written)])) if written else []


def runner_secrets(environ: Mapping[str, str]) -> list[str]:
    """The values of the runner's environment (`environ`, read by the caller) the leak scan must
    look for: those of secret-shaped names (RUNNER_SECRET_NAME), and of any name the password or
    token of a URL's userinfo (`HTTPS_PROXY=http://user:pass@proxy/`, url_password); each long
    enough (_TOKEN_MIN_LENGTH) not to turn up by chance, and not a path (a key file's place is no
    secret, and paths are in every report)."""
    named = (
        value
        for name, value in environ.items()
        if RUNNER_SECRET_NAME.search(name) and not _NOT_A_CREDENTIAL.search(name)
    )
    in_urls = (password for value in environ.values() for password in url_password(value.strip()))
    found = [*named, *in_urls]
    return sorted({v for v in found if len(v.strip()) >= _TOKEN_MIN_LENGTH and not v.startswith(("/", "~"))})


def mask_url(url: str) -> str:
    """`url` with the password of its userinfo masked, or all of a userinfo without a password
    (it may be a token); anything else unchanged."""
    found = _URL_USERINFO.match(url)
    if not found or not found.group("userinfo") or found.group("password") == "":
        return url
    part = "password" if found.group("password") is not None else "userinfo"
    return url[: found.start(part)] + MASK + url[found.end(part) :]


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (in any of its forms) replaced by a mask; longest first."""
    forms = sorted({f for v in secrets if v for f in secret_forms(v)}, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


# --- fingerprints and the leak scan ----------------------------------------------------------


def _sha256(text: str) -> str:
    # surrogatepass: a report may carry lone surrogates; they must not crash the scan.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _char_value(char: str) -> int:
    """A pseudo-random 32-bit number per character, the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.blake2b(char.encode("utf-8", "surrogatepass"), digest_size=4).digest(), "big")


class Fingerprint(NamedTuple):
    """One form of one secret, as the leak scan needs it: enough to find it, useless to a reader."""

    length: int
    sha256: str
    window_sum: int

    @classmethod
    def of(cls, form: str) -> Fingerprint:
        return cls(len(form), _sha256(form), sum(_char_value(c) for c in form))

    @classmethod
    def from_wire(cls, data: Sequence[Any]) -> Fingerprint:
        length, digest, window_sum = data
        return cls(int(length), str(digest), int(window_sum))


def fingerprints(values: Iterable[str]) -> list[Fingerprint]:
    """The fingerprints of every form of every non-empty secret, sorted, without duplicates."""
    forms = {f for v in values if v for f in secret_forms(v)}
    return sorted({Fingerprint.of(f) for f in forms})


class LeakScan:
    """Finds whether a text holds any of a set of fingerprinted secrets, in time linear in the text."""

    def __init__(self, prints: Iterable[Fingerprint]) -> None:
        # length -> window sum -> sha256 digests of the forms with that length and sum
        self._wanted: dict[int, dict[int, set[str]]] = {}
        for fp in prints:
            self._wanted.setdefault(fp.length, {}).setdefault(fp.window_sum, set()).add(fp.sha256)
        self._char_values: dict[str, int] = {}
        self.confirmations = 0  # windows whose sum matched and were hashed: a leak or a rare collision

    def found_in(self, text: str) -> bool:
        if not text or not self._wanted:
            return False
        longest = max(self._wanted)
        for start in range(0, len(text), _PIECE):
            # Every window starts in exactly one piece and ends inside it, thanks to the overlap.
            if self._found_in_piece(text[start : start + _PIECE + longest - 1]):
                return True
        return False

    def _found_in_piece(self, piece: str) -> bool:
        values = self._char_values
        for char in set(piece).difference(values):
            values[char] = _char_value(char)
        sums = list(accumulate(map(values.__getitem__, piece), initial=0))  # sums[i]: first i characters
        for length, by_sum in self._wanted.items():
            if length > len(piece):
                continue
            window_sums = map(sub, islice(sums, length, None), sums)  # sum of piece[i : i + length]
            if not by_sum.keys().isdisjoint(window_sums) and self._confirmed(piece, sums, length, by_sum):
                return True
        return False

    def _confirmed(self, piece: str, sums: list[int], length: int, by_sum: dict[int, set[str]]) -> bool:
        for start, window_sum in enumerate(map(sub, islice(sums, length, None), sums)):
            digests = by_sum.get(window_sum)
            if digests is not None:
                self.confirmations += 1
                if _sha256(piece[start : start + length]) in digests:
                    return True
        return False


def holds_secret(text: str, prints: Iterable[Fingerprint]) -> bool:
    """Whether `text` holds any secret of `prints` (in any form that was fingerprinted)."""
    return LeakScan(prints).found_in(text)
