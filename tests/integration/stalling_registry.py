"""A registry on 127.0.0.1 that answers like a real one until a layer is a third sent (or, with
`stall_at="manifest"`, until the manifest is asked for), then goes silent: the stalls a pull
must not hang on. Serves one image (any name, any tag) of one layer.

    with StallingRegistry() as registry:
        image = f"{registry.address}/ccci-pulltest/stall:1"
        ...
        registry.layer_requests  # how often the engine asked for the layer
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class StallingRegistry:
    def __init__(self, stall_seconds: float = 60.0, stall_at: str = "layer"):
        self.stall_seconds, self.stall_at = stall_seconds, stall_at
        self.layer_requests = 0
        self._stop = threading.Event()
        self._layer, diff_id = _random_layer()
        config = json.dumps(
            {"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
        ).encode()
        self._blobs = {_digest(config): config, _digest(self._layer): self._layer}
        self._manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": len(config),
                    "digest": _digest(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(self._layer),
                        "digest": _digest(self._layer),
                    }
                ],
            }
        ).encode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StallingRegistry:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # stalled handlers return, and their connections close
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                registry._answer(self, head=False)

            def do_HEAD(self) -> None:
                registry._answer(self, head=True)

        return Handler

    def _answer(self, request: BaseHTTPRequestHandler, head: bool) -> None:
        path = request.path.split("?")[0]
        digest = path.rsplit("/", 1)[-1]
        if path == "/v2/":
            _send(request, 200, b"{}", "application/json", head)
        elif "/manifests/" in path and self.stall_at == "manifest":
            self._stop.wait(self.stall_seconds)  # nothing is sent: the engine has nothing to say
            request.close_connection = True
        elif "/manifests/" in path:
            _send(request, 200, self._manifest, MANIFEST_TYPE, head, _digest(self._manifest))
        elif "/blobs/" in path and digest == _digest(self._layer) and not head:
            self.layer_requests += 1
            _send_headers(request, 200, len(self._layer), "application/octet-stream", digest)
            request.wfile.write(self._layer[: len(self._layer) // 3])
            request.wfile.flush()
            self._stop.wait(self.stall_seconds)  # the stall: nothing more is sent
            request.close_connection = True
        elif "/blobs/" in path and digest in self._blobs:
            _send(request, 200, self._blobs[digest], "application/octet-stream", head, digest)
        else:
            _send(request, 404, b'{"errors":[{"code":"NOT_FOUND"}]}', "application/json", head)


def _random_layer() -> tuple[bytes, str]:
    """A gzipped tar of 2 MB of random bytes, and its diff id (the digest of the tar)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = os.urandom(2_000_000)
        info = tarfile.TarInfo("stall.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), compresslevel=1), _digest(buf.getvalue())


def _send_headers(request: BaseHTTPRequestHandler, code: int, length: int, ctype: str, digest: str | None) -> None:
    request.send_response(code)
    request.send_header("Docker-Distribution-API-Version", "registry/2.0")
    request.send_header("Content-Type", ctype)
    request.send_header("Content-Length", str(length))
    if digest:
        request.send_header("Docker-Content-Digest", digest)
    request.end_headers()


def _send(
    request: BaseHTTPRequestHandler, code: int, body: bytes, ctype: str, head: bool, digest: str | None = None
) -> None:
    _send_headers(request, code, len(body), ctype, digest)
    if not head:
        request.wfile.write(body)
