"""An app's data inside its running tasks: commands, files, backupbot's hooks, backup, restore.

A backup is taken the way backupbot takes one: the pre-hook, every backed-up path copied out
as a tar, the post-hook. It is kept as an operator would keep it: one tar file on disk (a
member per service and path) with a sha256 manifest beside it, in sha256sum's format. It is
verified from disk, and a restore reads that file (verified again) and puts each path back
between the restore hooks. Hooks are bounded by the settings' `hook_timeout`.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.backupbot import backup_plan
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.text import one_line
from pytest_ccci.run.deploy import Deployment
from pytest_ccci.swarm.archives import tar_bytes
from pytest_ccci.swarm.execution import TIMED_OUT
from pytest_ccci.swarm.facade import Swarm

# How long creating a directory may take: it is a single mkdir.
MKDIR_SECONDS = 30


def member_name(service: str, path: str) -> str:
    """The member of the backup file holding `path` of `service` (e.g. `db/var/lib/x.tar`)."""
    return f"{service}/{path.strip('/')}.tar"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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

    def members(self) -> dict[str, bytes]:
        """The members of the file as read from disk (a file that is no tar has none)."""
        try:
            with tarfile.open(self.file) as tar:
                return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
        except (OSError, tarfile.TarError):
            return {}

    def verify(self) -> list[str]:
        """What on disk no longer matches the manifest: one entry per bad path (empty: all good)."""
        try:
            manifest = self.manifest()
        except OSError as exc:
            return [f"manifest {self.manifest_file.name} unreadable: {exc.strerror}"]
        members = self.members()
        bad = []
        for service, path in self.paths:
            name = member_name(service, path)
            if name not in members or name not in manifest:
                bad.append(f"{service}:{path} (missing from {self.file.name})")
            elif _sha256(members[name]) != manifest[name]:
                bad.append(f"{service}:{path} (sha256 differs)")
        return bad

    def load(self) -> dict[str, bytes]:
        """The verified members, keyed "service:path": what a restore puts back."""
        bad = self.verify()
        if bad:
            raise InfraError(f"backup file {self.file} does not match its manifest: {', '.join(bad)}")
        members = self.members()
        return {f"{s}:{p}": members[member_name(s, p)] for s, p in self.paths}


def write_backup(stack: str, parts: dict[tuple[str, str], bytes], dest: Path) -> BackupArchive:
    """Write the copied-out tars as one backup file and its manifest into `dest` (each written
    whole, then renamed: a crash never leaves a half file under the final name)."""
    dest.mkdir(parents=True, exist_ok=True)
    base = dest / f"{stack}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    archive = BackupArchive(stack, list(parts), base.with_suffix(".tar"), base.with_suffix(".sha256"))
    named = {member_name(s, p): data for (s, p), data in parts.items()}
    _write_whole(archive.file, tar_bytes(named))
    _write_whole(archive.manifest_file, "".join(f"{_sha256(d)}  {n}\n" for n, d in named.items()).encode())
    archive.copied = {f"{s}:{p}": len(data) for (s, p), data in parts.items()}
    return archive


def _write_whole(path: Path, data: bytes) -> None:
    part = path.with_name(path.name + ".part")
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

    def exec(self, service: str, cmd: str | list[str], timeout: float = 60) -> tuple[int, str]:
        """Run a command in the service's running task: (exit code, output)."""
        return self.swarm.exec(service, cmd, timeout=timeout)

    def path_kind(self, service: str, path: str) -> str | None:
        """`dir`, `file` or None (missing) for `path` in the service's running task."""
        return self.swarm.path_kind(service, path)

    def write_file(self, service: str, path: str, content: bytes) -> None:
        self.swarm.exec(service, ["mkdir", "-p", posixpath.dirname(path)], timeout=MKDIR_SECONDS)
        self.swarm.put_archive(service, posixpath.dirname(path), tar_bytes({posixpath.basename(path): content}))

    def read_file(self, service: str, path: str) -> bytes:
        data = self.swarm.get_archive(service, path)
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
        parts: dict[tuple[str, str], bytes] = {}
        for svc in backup_plan(deployment.config):
            service = service_name(deployment.app.stack, svc.service)
            self.run_hook("backup pre-hook", service, svc.hooks.backup_pre, timeout)
            for path in svc.paths:
                parts[(svc.service, path)] = self.swarm.get_archive(service, path)
            self.run_hook("backup post-hook", service, svc.hooks.backup_post, timeout)
        return write_backup(deployment.app.stack, parts, dest)

    def restore(self, deployment: Deployment, archive: BackupArchive) -> None:
        """Restore the app from the backup file on disk (verified against its manifest first)."""
        timeout = deployment.app.settings.hook_timeout
        parts = archive.load()
        for svc in backup_plan(deployment.config):
            service = service_name(deployment.app.stack, svc.service)
            self.run_hook("restore pre-hook", service, svc.hooks.restore_pre, timeout)
            for path in svc.paths:
                data = parts.get(f"{svc.service}:{path}")
                if data is not None:
                    # get_archive's tar is rooted at the path's basename: unpack it in the parent.
                    self.swarm.put_archive(service, posixpath.dirname(path.rstrip("/")) or "/", data)
            self.run_hook("restore post-hook", service, svc.hooks.restore_post, timeout)
