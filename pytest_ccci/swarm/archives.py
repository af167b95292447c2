"""Files in and out of a service's running container, as tar archives (the engine's own form)."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping
from typing import Any

import docker.errors
import docker.utils
from docker.models.containers import Container

from pytest_ccci.errors import InfraError, RecipeError


def get_archive(container: Container, service: str, path: str) -> bytes:
    """`path` in the container as a tar archive, rooted at the path's basename."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        raise RecipeError(f"{service}: path {path} does not exist in the running container") from None
    return b"".join(stream)


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


def put_archive(container: Container, service: str, path: str, data: bytes) -> None:
    """Unpack the tar archive `data` into the directory `path` in the container."""
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
