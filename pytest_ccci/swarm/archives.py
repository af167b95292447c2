"""Files in and out of a service's running container, as tar archives (the engine's own form)."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping

import docker.errors
from docker.models.containers import Container

from pytest_ccci.errors import InfraError, RecipeError


def get_archive(container: Container, service: str, path: str) -> bytes:
    """`path` in the container as a tar archive, rooted at the path's basename."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        raise RecipeError(f"{service}: path {path} does not exist in the running container") from None
    return b"".join(stream)


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
