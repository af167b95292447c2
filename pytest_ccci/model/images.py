"""Image references and pulls, pure: which registry a reference names (Docker's own rule),
whether that registry is on the runner's own network (the deploy policy's `private-registry`),
which images are the runner's own (`runner_image`: never pulled, never named by a recipe), and
`PullProgress`, which folds docker's pull stream (one JSON event per layer step) into a few
progress lines, at most one per `every` seconds.

A runner that reaches a registry pulls the images a recipe names and does not have yet, before
the deploy is timed (run/deploy.py); whose fault a failed pull is, is model/fetch_failures.py's.
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
# The project's probe image: busybox-static (sh, wget, timeout), built offline by set-up.
PROBE_IMAGE = "ccci/probe:1"
# The runner's own images: made on the runner by scripts/setup-engine.sh, never pulled (a
# registry's image of that name is someone else's, and would run beside every app). The
# examples' images set-up also builds (ccci/busybox, ccci/postgres) are recipes' images, not these.
RUNNER_IMAGES = frozenset({PROBE_IMAGE})
# How docker spells Docker Hub in a reference it was given in full.
_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


def runner_image(image: str) -> bool:
    """Whether `image` names one of the runner's own images (`docker.io/ccci/probe:1` included)."""
    name = image.strip()
    for prefix in _HUB_PREFIXES:
        name = name.removeprefix(prefix)
    return name in RUNNER_IMAGES


def registry_of(image: str) -> str | None:
    """The registry an image reference names, port included (`127.0.0.1:5000`); None when it
    names none (Docker Hub, implied). Docker's rule (splitDockerDomain): the first path component
    is a registry when it has a `.` or a `:`, is `localhost`, or has a capital letter
    (repository names are lowercase)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first
    return None


def registry_host(image: str) -> str | None:
    """The host of the registry an image names, lowercased, without its port; None for Docker Hub."""
    registry = registry_of(image)
    if registry is None:
        return None
    if registry.startswith("["):  # an IPv6 literal: [::1]:5000
        return registry[1:].partition("]")[0].lower()
    return (registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry).lower()


# Names that only mean something on a local network: special-use and reserved names (RFC 2606,
# 6761, 6762, 8375), top-level names ICANN will not delegate, and the usual private ones. Any
# name not delegated may end in the runner's DNS search domain: a runner that cares pulls never.
_LOCAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".localdomain",
    ".test",
    ".example",
    ".invalid",
    ".corp",
    ".home",
    ".mail",
    ".intranet",
    ".private",
    ".svc",
)


def runner_network_registry(image: str) -> bool:
    """Whether `image` names a registry on the runner's own network: a name of one label
    (`localhost`, `registry:5000`) or under a local-only suffix (`.local`, `.internal`, ...), or
    an address that is not global (loopback, private, link-local, shared 100.64/10, ...). A
    public-looking name that resolves to such an address is not seen (resolving is traffic)."""
    host = registry_host(image)
    if host is None:
        return False
    try:
        return not _address_is_global(ipaddress.ip_address(host))
    except ValueError:
        pass
    name = host.rstrip(".")
    # No top-level name is numeric: `127.1` or `0x7f.0.0.1` is an address in disguise (the C
    # resolver reads it as one), and judging it would need the resolver: not ours to trust.
    last = name.rsplit(".", 1)[-1]
    return "." not in name or last.isdigit() or last.startswith("0x") or name.endswith(_LOCAL_SUFFIXES)


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet really goes to: NAT64's
# well-known prefix (RFC 6052), IPv4-mapped (::ffff:0:0/96) and IPv4-translated (::ffff:0:0:0/96).
_EMBEDDING_V4_IN_LAST_32 = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "::/96")
)
# Local-use NAT64 (RFC 8215): translates to whatever the site routes; never global.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def _address_is_global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `address` is global; an IPv6 one that carries an IPv4 (NAT64, 6to4, mapped,
    compatible) only when that IPv4 is global too: `64:ff9b::7f00:1` reaches 127.0.0.1."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    if address in _LOCAL_NAT64:
        return False
    embedded = address.sixtofour
    if embedded is None and any(address in net for net in _EMBEDDING_V4_IN_LAST_32):
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return embedded is None or embedded.is_global


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
