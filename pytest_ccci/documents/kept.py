"""The kept-app marker (`--ccci-keep-failed`): pure.

A recipe with a failed tier may be left deployed for a maintainer to look at. Its app domain's
lock (run/locks.py) is a file lock, freed when the process exits; what keeps the domain held
afterwards is a marker file beside the lock, holding results.json's KeptApp record (run id,
domain, stack, deadline). Until its deadline a waiting run treats the domain as held and the
janitor leaves it alone; after it, both reap it. This module writes and reads the marker's text
and says whether a marker is past its deadline.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from pytest_ccci.documents.results import KeptApp

ISO = "%Y-%m-%dT%H:%M:%SZ"


def deadline_after(now: float, hours: float) -> str:
    """The deadline `hours` after `now` (Unix time), as a marker and results.json write it."""
    return time.strftime(ISO, time.gmtime(now + hours * 3600))


def deadline_seconds(kept: KeptApp) -> float:
    """The marker's deadline as Unix time; ValueError when it is no ISO 8601 UTC time."""
    return datetime.strptime(kept.deadline, ISO).replace(tzinfo=timezone.utc).timestamp()


def expired(kept: KeptApp, now: float) -> bool:
    """Whether the kept app's deadline has passed (an unreadable deadline has: nothing could
    ever release it otherwise)."""
    try:
        return deadline_seconds(kept) <= now
    except ValueError:
        return True


def marker_text(kept: KeptApp) -> str:
    return json.dumps(kept.to_wire(), indent=2, sort_keys=True) + "\n"


def parse_marker(text: str) -> KeptApp:
    """The KeptApp a marker holds; ValueError (one line) for a text that is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("domain"), str) or not data.get("domain"):
        raise ValueError("no domain in it")
    if not isinstance(data.get("deadline"), str):
        raise ValueError("no deadline in it")
    return KeptApp.from_wire(data)
