"""model/http.py: the status of an HTTP answer, read from `wget -S` output inside a task."""

from __future__ import annotations

import pytest

from pytest_ccci.model.http import last_http_status

BUSYBOX_OK = "Connecting to 127.0.0.1:8080 (127.0.0.1:8080)\n  HTTP/1.1 200 OK\n  Content-Type: text/plain\n"
BUSYBOX_404 = "Connecting to 127.0.0.1:80 (127.0.0.1:80)\nwget: server returned error: HTTP/1.1 404 Not Found\n"
REDIRECTED = "  HTTP/1.1 302 Found\n  Location: /login\n  HTTP/1.1 200 OK\n"
GNU_HTTP2 = "  HTTP/2 503 \n  server: nginx\n"


@pytest.mark.parametrize(
    ("output", "status"),
    [
        (BUSYBOX_OK, 200),
        (BUSYBOX_404, 404),
        (REDIRECTED, 200),  # the last answer, after redirects
        (GNU_HTTP2, 503),
        ("HTTP/1.0 500 Internal Server Error", 500),
    ],
)
def test_status_of_the_last_answer(output: str, status: int) -> None:
    assert last_http_status(output) == status


@pytest.mark.parametrize(
    "output",
    [
        "",
        "wget: can't connect to remote host (127.0.0.1): Connection refused",
        "sh: wget: not found",
        "HTTP/1.1 20 short",  # not three digits
        "see HTTP/x 200",
    ],
)
def test_no_answer_is_none(output: str) -> None:
    assert last_http_status(output) is None
