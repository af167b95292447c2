"""Files in and out of a service's running container, as tar archives (the engine's own form).

An archive is streamed, never held whole unless asked for: `copy_archive` hands the engine's
tar stream to a sink chunk by chunk (the sink bounds it, e.g. by raising), `put_archive` sends
bytes or a readable stream, and `get_archive` (a whole archive in memory) refuses one past
`READ_BOUND_BYTES`.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

import docker.errors
import docker.utils
from docker.models.containers import Container

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.swarm.connection import engine_boundary

# The chunks an archive is read in from the engine.
CHUNK_BYTES = 256 * 1024
# The largest archive read whole into memory (a file a test or a proof reads back): a marker
# or a config file is far below it; a path past it is read by streaming, or not at all.
READ_BOUND_BYTES = 64 * 1024 * 1024


@engine_boundary
def copy_archive(container: Container, service: str, path: str, sink: Callable[[bytes], None]) -> None:
    """Stream `path` in the container, as a tar archive rooted at the path's basename, into
    `sink` chunk by chunk. Whatever the sink raises stops the copy and closes the stream."""
    # docker-py's get_archive gives no way to close its stream early: its client's own URL and
    # status helpers make the request as its get_archive does, and the response is closed here.
    api: Any = container.client.api  # type: ignore[union-attr]  # a model from a client always has one
    url = api._url("/containers/{0}/archive", container.id)
    res = api._get(url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"})
    try:
        try:
            api._raise_for_status(res)
        except docker.errors.NotFound:
            raise RecipeError(f"{service}: path {path} does not exist in the running container") from None
        for chunk in res.iter_content(CHUNK_BYTES):
            sink(chunk)
    finally:
        res.close()


def get_archive(container: Container, service: str, path: str, bound: int = READ_BOUND_BYTES) -> bytes:
    """`path` in the container as a tar archive, rooted at the path's basename, read whole; an
    InfraError (the runner's bound, not the recipe's fault) past `bound` bytes."""
    kept = bytearray()

    def keep(chunk: bytes) -> None:
        kept.extend(chunk)
        if len(kept) > bound:
            raise InfraError(f"{service}: {path} exceeds the runner's bound of {bound} bytes for reading a path whole")

    copy_archive(container, service, path, keep)
    return bytes(kept)


# Go's os.ModeDir, as the engine reports a path's mode in its archive stat.
GO_MODE_DIR = 1 << 31


def path_kind(container: Container, path: str) -> str | None:
    """`dir` or `file` (anything else that exists), or None when `path` does not exist: the
    engine's archive stat (a HEAD request), which needs no tool inside the image."""
    # docker-py has no public call for the archive HEAD endpoint: its client's own URL and
    # status helpers make the request as its get_archive does.
    api: Any = container.client.api  # type: ignore[union-attr]  # a model from a client always has one
    res = api.head(api._url("/containers/{0}/archive", container.id), params={"path": path})
    if res.status_code == 404:
        return None
    api._raise_for_status(res)
    stat = docker.utils.decode_json_header(res.headers["X-Docker-Container-Path-Stat"])
    return "dir" if int(stat["mode"]) & GO_MODE_DIR else "file"


@engine_boundary
def put_archive(container: Container, service: str, path: str, data: bytes | IO[bytes]) -> None:
    """Unpack the tar archive `data` (bytes, or a stream read as it is sent) into the directory
    `path` in the container."""
    if not container.put_archive(path, data):
        raise InfraError(f"{service}: could not write archive into {path}")


def tar_bytes(files: Mapping[str, bytes]) -> bytes:
    """A tar archive of {name: content}, for put_archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()
