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

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_ccci.model.text import PROGRESS_EVERY_SECONDS

# The ini option ccci_pull: `missing` pulls what the engine lacks; `never` leaves images to the
# runner (an air-gapped runner preloads them; a missing one then fails its task in swarm's words).
PULL_CHOICES = ("missing", "never")


def registry_host(image: str) -> str | None:
    """The registry host an image reference names, without its port; None for Docker Hub.
    Docker's rule: the first path component is a registry when it has a `.` or a `:`, or is
    `localhost`."""
    first, slash, _ = image.partition("/")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        return None
    if first.startswith("["):  # an IPv6 literal: [::1]:5000
        return first[1:].partition("]")[0]
    return first.rsplit(":", 1)[0] if first.count(":") == 1 else first


def runner_network_registry(image: str) -> bool:
    """Whether `image` names a registry on the runner's own network: `localhost`, or a loopback,
    private, link-local or unspecified address. A name that resolves to one is not seen here
    (resolving it is network traffic)."""
    host = registry_host(image)
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


# Layer steps after which a layer's bytes are all here.
_DOWNLOADED = ("Download complete", "Verifying Checksum", "Extracting", "Pull complete")
_LAYER_DONE = ("Pull complete", "Already exists")


@dataclass
class PullProgress:
    """Docker's pull events for one image, summed over its layers."""

    image: str
    every: float = PROGRESS_EVERY_SECONDS  # seconds between progress lines
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
