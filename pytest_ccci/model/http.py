"""HTTP as the plugin sees it from inside an app's task: through `wget -S` output, never a socket."""

from __future__ import annotations

import re

# busybox wget -S prints the response headers ("  HTTP/1.1 200 OK"); on an error status it says
# "server returned error: HTTP/1.1 404 Not Found". GNU wget prints "HTTP/1.1 200 OK" too.
_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})")


def last_http_status(wget_output: str) -> int | None:
    """The status of the last response in `wget -S` output (after redirects), or None if there was none."""
    found = _STATUS_LINE.findall(wget_output or "")
    return int(found[-1]) if found else None
