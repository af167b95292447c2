"""An app's data inside its running tasks: commands, files, backupbot's hooks, backup, restore.

A backup is taken the way backupbot takes one: the pre-hook, every backed-up path copied out
as a tar, the post-hook; a restore puts the tars back between the restore hooks. Hooks are
bounded by the settings' `hook_timeout`.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
from dataclasses import dataclass, field

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.backupbot import backup_plan
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.text import one_line
from pytest_ccci.run.deploy import Deployment
from pytest_ccci.swarm.archives import tar_bytes
from pytest_ccci.swarm.execution import TIMED_OUT
from pytest_ccci.swarm.facade import Swarm

# How long creating a directory may take: it is a single mkdir.
MKDIR_SECONDS = 30


@dataclass
class BackupArchive:
    """What a backup copied out: one tar per (service, path), with a sha256 manifest."""

    stack: str
    paths: list[tuple[str, str]]
    files: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, str] = field(default_factory=dict)

    def verify(self) -> list[str]:
        """The keys whose tar no longer matches its manifest entry."""
        return [k for k, data in self.files.items() if hashlib.sha256(data).hexdigest() != self.manifest.get(k)]


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

    def run_hook(self, kind: str, service: str, command: str | None, timeout: float) -> None:
        if not command:
            return
        container = self.swarm.running_container(service)
        code, out = self.swarm.exec(service, command, timeout=timeout)
        if code != 0:
            raise hook_error(kind, service, container.short_id, code, out)

    def backup(self, deployment: Deployment) -> BackupArchive:
        timeout = deployment.app.settings.hook_timeout
        plan = backup_plan(deployment.config)
        archive = BackupArchive(deployment.app.stack, [(s.service, p) for s in plan for p in s.paths])
        for svc in plan:
            service = service_name(deployment.app.stack, svc.service)
            self.run_hook("backup pre-hook", service, svc.hooks.backup_pre, timeout)
            for path in svc.paths:
                data = self.swarm.get_archive(service, path)
                key = f"{svc.service}:{path}"
                archive.files[key] = data
                archive.manifest[key] = hashlib.sha256(data).hexdigest()
            self.run_hook("backup post-hook", service, svc.hooks.backup_post, timeout)
        return archive

    def restore(self, deployment: Deployment, archive: BackupArchive) -> None:
        timeout = deployment.app.settings.hook_timeout
        bad = archive.verify()
        if bad:
            raise RecipeError(f"backup archive of {archive.stack} is corrupt: {', '.join(bad)}")
        for svc in backup_plan(deployment.config):
            service = service_name(deployment.app.stack, svc.service)
            self.run_hook("restore pre-hook", service, svc.hooks.restore_pre, timeout)
            for path in svc.paths:
                data = archive.files.get(f"{svc.service}:{path}")
                if data is not None:
                    # get_archive's tar is rooted at the path's basename: unpack it in the parent.
                    self.swarm.put_archive(service, posixpath.dirname(path.rstrip("/")) or "/", data)
            self.run_hook("restore post-hook", service, svc.hooks.restore_post, timeout)
