"""An app's data inside its running tasks: commands, files, backupbot's hooks, backup, restore.

A backup is taken the way backupbot takes one: the pre-hook, every backed-up path copied out
as a tar, the post-hook. It is kept as an operator would keep it: one tar file on disk (a
member per service and path) with a sha256 manifest beside it, in sha256sum's format. It is
verified from disk, and a restore reads that file (verified again) and puts each path back
between the restore hooks. Hooks are bounded by the settings' `hook_timeout`, and their output
by execution.py's `OUTPUT_BOUND_BYTES` (its tail is kept).

Nothing of a backup is held in memory: each path's tar streams from the engine to a spool file
beside the backup (hashed as it streams), then into the backup file, and a restore streams each
member from the file to the engine. A backup is bounded on disk by `BACKUP_BOUND_BYTES` in all:
past it the backup stops, its partial files are removed, and it is an InfraError (the runner's
bound, not a verdict on the recipe: the backup is unverified).
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.app import EXEC_TIMEOUT_SECONDS
from pytest_ccci.model.backupbot import backup_plan
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.text import one_line
from pytest_ccci.run.deploy import Deployment
from pytest_ccci.swarm import archives
from pytest_ccci.swarm.archives import tar_bytes
from pytest_ccci.swarm.execution import TIMED_OUT
from pytest_ccci.swarm.facade import Swarm

# How long creating a directory may take: it is a single mkdir.
MKDIR_SECONDS = 30
# The most a backup (all its paths together) may take on the runner's disk: a test app's data
# is far below it; past it, one recipe could fill the runner's disk.
BACKUP_BOUND_BYTES = 2 * 1024**3
# The blocks a file is hashed in.
HASH_BLOCK_BYTES = 64 * 1024


def member_name(service: str, path: str) -> str:
    """The member of the backup file holding `path` of `service` (e.g. `db/var/lib/x.tar`)."""
    return f"{service}/{path.strip('/')}.tar"


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while block := stream.read(HASH_BLOCK_BYTES):
        digest.update(block)
    return digest.hexdigest()


@dataclass
class BackupArchive:
    """A backup on disk: `file` (a tar of one tar per service and path) and `manifest_file`
    (`<sha256>  <member>` lines). `paths` are the (service, path) pairs backed up."""

    stack: str
    paths: list[tuple[str, str]]
    file: Path
    manifest_file: Path
    copied: dict[str, int] = field(default_factory=dict)  # "service:path" -> bytes copied out

    @property
    def size(self) -> int:
        return self.file.stat().st_size if self.file.exists() else 0

    def manifest(self) -> dict[str, str]:
        """The manifest as read from disk: member -> sha256."""
        lines = self.manifest_file.read_text().splitlines()
        return {name: digest for digest, _, name in (ln.partition("  ") for ln in lines if ln.strip())}

    def digests(self) -> dict[str, str]:
        """The sha256 of each member of the file, hashed as it streams from disk (a file that
        is no tar has none)."""
        try:
            with tarfile.open(self.file) as tar:
                return {m.name: _sha256_of(tar.extractfile(m)) for m in tar.getmembers() if m.isfile()}  # type: ignore[arg-type]
        except (OSError, tarfile.TarError):
            return {}

    def verify(self) -> list[str]:
        """What on disk no longer matches the manifest: one entry per bad path (empty: all good)."""
        try:
            manifest = self.manifest()
        except OSError as exc:
            return [f"manifest {self.manifest_file.name} unreadable: {exc.strerror}"]
        digests = self.digests()
        bad = []
        for service, path in self.paths:
            name = member_name(service, path)
            if name not in digests or name not in manifest:
                bad.append(f"{service}:{path} (missing from {self.file.name})")
            elif digests[name] != manifest[name]:
                bad.append(f"{service}:{path} (sha256 differs)")
        return bad

    @contextmanager
    def verified(self) -> Iterator[Callable[[str, str], IO[bytes] | None]]:
        """The file, verified and open: a function giving the stream of a (service, path)'s tar
        (None: not in this backup), read from disk as it is consumed."""
        bad = self.verify()
        if bad:
            raise InfraError(f"backup file {self.file} does not match its manifest: {', '.join(bad)}")
        with tarfile.open(self.file) as tar:

            def part(service: str, path: str) -> IO[bytes] | None:
                return tar.extractfile(member_name(service, path)) if (service, path) in self.paths else None

            yield part


class BackupWriter:
    """A backup file being written (`new_backup`), a path at a time (`part`), under `bound`
    bytes in all."""

    def __init__(self, archive: BackupArchive, tar: tarfile.TarFile, spool: Path, bound: int):
        self.archive, self.tar, self.spool, self.bound = archive, tar, spool, bound
        self.total = 0
        self.digests: dict[str, str] = {}  # member -> sha256, for the manifest

    @contextmanager
    def part(self, service: str, path: str) -> Iterator[Callable[[bytes], None]]:
        """A sink for the tar of `path` of `service`, chunk by chunk: spooled to disk and hashed
        as it comes, then added to the backup file when the block ends without an error."""
        digest, size = hashlib.sha256(), 0
        with self.spool.open("wb") as out:

            def sink(chunk: bytes) -> None:
                nonlocal size
                size += len(chunk)
                if self.total + size > self.bound:
                    raise InfraError(f"backup of {service}:{path} exceeds the runner's bound of {self.bound} bytes")
                digest.update(chunk)
                out.write(chunk)

            yield sink
        info = tarfile.TarInfo(member_name(service, path))
        info.size, info.mtime = size, int(time.time())
        with self.spool.open("rb") as spooled:
            self.tar.addfile(info, spooled)  # copied from disk to disk in blocks
        self.total += size
        self.digests[info.name] = digest.hexdigest()
        self.archive.paths.append((service, path))
        self.archive.copied[f"{service}:{path}"] = size


@contextmanager
def new_backup(stack: str, dest: Path) -> Iterator[BackupWriter]:
    """A backup file being written in `dest`. It gets its final name, with its manifest, only
    when the block ends without an error: a failed or interrupted backup leaves no file under a
    final name, and no partial file behind."""
    dest.mkdir(parents=True, exist_ok=True)
    base = dest / f"{stack}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    archive = BackupArchive(stack, [], base.with_suffix(".tar"), base.with_suffix(".sha256"))
    partial, spool = _partial(archive.file), _partial(base.with_suffix(".spool"))
    try:
        with tarfile.open(partial, "w") as tar:
            writer = BackupWriter(archive, tar, spool, BACKUP_BOUND_BYTES)
            yield writer
        os.replace(partial, archive.file)
        manifest = "".join(f"{digest}  {name}\n" for name, digest in writer.digests.items())
        _write_whole(archive.manifest_file, manifest.encode())
    finally:
        spool.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


def write_backup(stack: str, parts: Mapping[tuple[str, str], bytes], dest: Path) -> BackupArchive:
    """A backup file and its manifest in `dest` holding the tars `parts` (service, path) -> tar."""
    with new_backup(stack, dest) as writer:
        for (service, path), data in parts.items():
            with writer.part(service, path) as sink:
                sink(data)
    return writer.archive


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _write_whole(path: Path, data: bytes) -> None:
    part = _partial(path)
    part.write_bytes(data)
    os.replace(part, path)


def hook_error(kind: str, service: str, container: str, code: int, out: str) -> RecipeError:
    """A hook that failed or hung, named with its container's short id and its own output."""
    if code == TIMED_OUT:
        return RecipeError(f"{kind} of {service} hung in container {container}: {one_line(out)}, killed")
    return RecipeError(f"{kind} of {service} failed in container {container}: exit {code}: {one_line(out)}")


class TaskData:
    """Commands and files in a service's running task, and backup/restore built on them."""

    def __init__(self, swarm: Swarm):
        self.swarm = swarm

    def exec(self, service: str, cmd: str | list[str], timeout: float = EXEC_TIMEOUT_SECONDS) -> tuple[int, str]:
        """Run a command in the service's running task: (exit code, output)."""
        return self.swarm.exec(service, cmd, timeout=timeout)

    def path_kind(self, service: str, path: str) -> str | None:
        """`dir`, `file` or None (missing) for `path` in the service's running task."""
        return self.swarm.path_kind(service, path)

    def write_file(self, service: str, path: str, content: bytes) -> None:
        self.swarm.exec(service, ["mkdir", "-p", posixpath.dirname(path)], timeout=MKDIR_SECONDS)
        self.swarm.put_archive(service, posixpath.dirname(path), tar_bytes({posixpath.basename(path): content}))

    def read_file(self, service: str, path: str) -> bytes:
        data = self.swarm.get_archive(service, path)  # whole, but bounded (archives.READ_BOUND_BYTES)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            fh = tar.extractfile(member) if member else None
            if fh is None:
                raise RecipeError(f"{service}: {path} is not a regular file")
            return fh.read()

    def run_hook(self, kind: str, service: str, command: str | None, timeout: float) -> str:
        """Run a hook (or a seed command) in the service's task; its output. Failing is the recipe's."""
        if not command:
            return ""
        container = self.swarm.running_container(service)
        code, out = self.swarm.exec(service, command, timeout=timeout)
        if code != 0:
            raise hook_error(kind, service, container.short_id, code, out)
        return out

    def backup(self, deployment: Deployment, dest: Path) -> BackupArchive:
        """Back the app up as backupbot would, into a new backup file in `dest`."""
        timeout = deployment.app.settings.hook_timeout
        with new_backup(deployment.app.stack, dest) as writer:
            for svc in backup_plan(deployment.config):
                service = service_name(deployment.app.stack, svc.service)
                self.run_hook("backup pre-hook", service, svc.hooks.backup_pre, timeout)
                for path in svc.paths:
                    with writer.part(svc.service, path) as sink:
                        archives.copy_archive(self.swarm.running_container(service), service, path, sink)
                self.run_hook("backup post-hook", service, svc.hooks.backup_post, timeout)
        return writer.archive

    def restore(self, deployment: Deployment, archive: BackupArchive) -> None:
        """Restore the app from the backup file on disk (verified against its manifest first)."""
        timeout = deployment.app.settings.hook_timeout
        with archive.verified() as part:
            for svc in backup_plan(deployment.config):
                service = service_name(deployment.app.stack, svc.service)
                self.run_hook("restore pre-hook", service, svc.hooks.restore_pre, timeout)
                for path in svc.paths:
                    stream = part(svc.service, path)
                    if stream is not None:
                        # get_archive's tar is rooted at the path's basename: unpack it in the parent.
                        parent = posixpath.dirname(path.rstrip("/")) or "/"
                        archives.put_archive(self.swarm.running_container(service), service, parent, stream)
                self.run_hook("restore post-hook", service, svc.hooks.restore_post, timeout)
