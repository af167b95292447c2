"""The images a deploy needs, and what a failed pull means. Pure: docker's words in, verdicts out.

A runner that reaches a registry pulls the images a recipe names and does not have yet, before
the deploy is timed (run/deploy.py). What happens when a pull fails decides whose problem it is:

- the registry answered and does not know the reference (a tag or repository that does not
  exist, a malformed name, access refused): the recipe names an image nobody can pull, a
  recipe failure;
- the registry could not be reached (DNS, connection, TLS, timeouts, 5xx, rate limits): the
  runner's problem, unverified;
- words we do not know: the runner's problem too. The verdict then carries docker's own words;
  failing a recipe on a guess would send its maintainers after the wrong cause.

`PullProgress` folds docker's pull stream (one JSON event per layer step) into a few progress
lines, at most one per `every` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The ini option ccci_pull: `missing` pulls what the engine lacks; `never` leaves images to the
# runner (an air-gapped runner preloads them; a missing one then fails its task in swarm's words).
PULL_CHOICES = ("missing", "never")

# Connection-level words first: a reference error never says these, an unreachable registry
# says nothing else ("dial tcp: lookup registry-1.docker.io ...: no such host").
_UNREACHABLE_WORDS = (
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
    "unexpected http status: 5",
    "503 service unavailable",
    "502 bad gateway",
    "unexpected eof",
)
# The registry answered: the reference is wrong. Docker Hub says "pull access denied ...
# repository does not exist" for a repository that does not exist.
_UNKNOWN_REFERENCE_WORDS = (
    "manifest unknown",
    "not found",
    "name unknown",
    "repository does not exist",
    "pull access denied",
    "denied",
    "unauthorized",
    "invalid reference format",
)

# Layer steps after which a layer's bytes are all here.
_DOWNLOADED = ("Download complete", "Verifying Checksum", "Extracting", "Pull complete")
_LAYER_DONE = ("Pull complete", "Already exists")


def service_images(config: Mapping[str, Any]) -> list[str]:
    """The images the services of a compose config run, each once, in service order."""
    images = ((svc or {}).get("image") for svc in (config.get("services") or {}).values())
    return list(dict.fromkeys(str(image) for image in images if image))


def pull_failure_is_recipes(message: str) -> bool:
    """Whether a pull that failed with docker's `message` is the recipe's fault (the registry
    does not know the reference) rather than the runner's (the registry cannot be reached, or
    words nobody classified)."""
    words = message.lower()
    if any(w in words for w in _UNREACHABLE_WORDS):
        return False
    return any(w in words for w in _UNKNOWN_REFERENCE_WORDS)


@dataclass
class PullProgress:
    """Docker's pull events for one image, summed over its layers."""

    image: str
    every: float = 10.0  # seconds between progress lines
    started: float = 0.0  # the clock when the pull began (the caller's monotonic seconds)
    _layers: dict[str, str] = field(default_factory=dict)  # layer id -> its last status
    _bytes: dict[str, tuple[int, int]] = field(default_factory=dict)  # layer id -> (current, total)
    _said_at: float | None = None

    def feed(self, event: Mapping[str, Any], now: float) -> str | None:
        """Take one event of the stream; a progress line when one is due, else None."""
        layer, status = event.get("id"), str(event.get("status") or "")
        if layer and "progressDetail" in event:  # per-layer steps carry progressDetail; others do not
            self._layers[str(layer)] = status
            detail = event.get("progressDetail") or {}
            if status == "Downloading" and detail.get("total"):
                self._bytes[str(layer)] = (int(detail.get("current") or 0), int(detail["total"]))
            elif status in _DOWNLOADED and str(layer) in self._bytes:
                total = self._bytes[str(layer)][1]
                self._bytes[str(layer)] = (total, total)
        if now - (self.started if self._said_at is None else self._said_at) < self.every:
            return None
        self._said_at = now
        return self.line(now)

    def line(self, now: float) -> str:
        """`pulling IMAGE: 2 of 5 layers done, 12.3 of 40.0 MB downloaded, 14s`."""
        done = sum(1 for status in self._layers.values() if status in _LAYER_DONE)
        current = sum(c for c, _ in self._bytes.values()) / 1e6
        total = sum(t for _, t in self._bytes.values()) / 1e6
        size = f", {current:.1f} of {total:.1f} MB downloaded" if total else ""
        return f"pulling {self.image}: {done} of {len(self._layers)} layers done{size}, {now - self.started:.0f}s"
