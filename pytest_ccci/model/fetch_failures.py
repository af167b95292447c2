"""Whose fault a failed fetch is, from the words of the tool that tried: one rule for a recipe's
git source and for the images it names. Pure.

A source that answered "not there" (a repository, ref, tag or manifest that does not exist) was
reached: the recipe names something nobody can fetch, its failure, whatever else the words say.
Words of a source out of reach (DNS, connection, TLS, timeouts, 5xx, rate limits) are the
runner's: unverified. Any other words go to the side the tool's own failures usually come from:
git's to the recipe (a local git that got an answer fails on what it was asked), the engine's to
the runner (a full disk, a storage driver, the runner's own credentials). The verdict carries
the tool's own words either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FetchFailureWords:
    not_there: re.Pattern[str]  # the source answered: what was asked for does not exist
    unreachable: re.Pattern[str]  # the source could not be reached at all
    other_words_are_recipes: bool  # where words matching neither go

    def recipes_fault(self, words: str) -> bool:
        """Whether a fetch that failed saying `words` is the recipe's fault (else the runner's)."""
        if self.not_there.search(words):
            return True
        if self.unreachable.search(words):
            return False
        return self.other_words_are_recipes


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


# git (and curl or ssh under it). "unable to access" comes with a 404 as with a DNS failure:
# the 404 ("returned error: 404") is what decides.
GIT_SOURCE = FetchFailureWords(
    not_there=_words(
        "not found",
        "does not exist",
        "repository not found",
        "does not appear to be a git repository",
        r"returned error: 4(?!08|29)\d\d",  # 408 (timeout) and 429 (rate limit) are the runner's
    ),
    unreachable=_words(
        "could not resolve host",
        "could not resolve hostname",
        "name or service not known",
        "temporary failure in name resolution",
        "connection refused",
        "connection timed out",
        "operation timed out",
        "timed out",
        "network is unreachable",
        "no route to host",
        "connection reset",
        "unable to access",
        "failed to connect",
        "could not read from remote repository",
        "the remote end hung up unexpectedly",
        "ssl_error",
        "gnutls_handshake",
        "returned error: 408",
        "returned error: 429",
    ),
    other_words_are_recipes=True,
)
# The engine pulling from a registry. Docker Hub answers a repository that does not exist with
# "pull access denied ... repository does not exist"; a bare "denied" or "unauthorized" may be
# the engine's own storage or the runner's stale credentials, so they are not words of a
# missing reference.
REGISTRY_IMAGE = FetchFailureWords(
    not_there=_words(
        "manifest unknown",
        "name unknown",
        "repository does not exist",
        "pull access denied",
        "denied: requested access",
        "invalid reference format",
        r"manifest for \S+ not found",
    ),
    unreachable=_words(
        "no such host",
        "dial tcp",
        "connection refused",
        "connection reset",
        "network is unreachable",
        "i/o timeout",
        "tls handshake timeout",
        "client.timeout exceeded",
        "context deadline exceeded",
        "server misbehaving",
        "toomanyrequests",
        r"unexpected http status: 5\d\d",
        r"\b50[234] ",
        "unexpected eof",
    ),
    other_words_are_recipes=False,
)
