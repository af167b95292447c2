"""Seeding by command, marker files only where they can be restored, the restore proof, and the
backup kept as a file on disk (tar + sha256 manifest) that is verified and restored from disk.

The swarm is replaced by a small in-memory app: a table of rows in a `db` service that seed
commands write and read, files per service path, and a backup/restore of both."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.app import App
from pytest_ccci.model.settings import Seed, parse_settings
from pytest_ccci.run import proofs
from pytest_ccci.run.data import BackupArchive, member_name, write_backup
from pytest_ccci.swarm.archives import tar_bytes

WRITE = "psql -c \"INSERT INTO notes (body) VALUES ('{marker}')\""
READ = "psql -tA -c 'SELECT body FROM notes'"


def settings(**seed):
    return parse_settings("notes", {"source": "x", "seed": seed} if seed else {"source": "x"}, "ccci.yml")


def seed_error(seed: dict) -> str:
    with pytest.raises(RecipeError) as info:
        settings(**seed)
    return str(info.value)


# -- settings: the command form ------------------------------------------------------------


def test_command_seed_parses():
    seed = settings(service="db", write=WRITE, read=READ).seed
    assert seed == Seed(service="db", write=WRITE, read=READ) and seed.by_command


def test_file_seed_stays_the_default():
    seed = settings().seed
    assert seed == Seed() and not seed.by_command


@pytest.mark.parametrize(
    ("seed", "words"),
    [
        ({"write": WRITE}, "seed.write and seed.read go together"),
        ({"read": READ}, "seed.write and seed.read go together"),
        ({"write": "psql -c 'INSERT 1'", "read": READ}, "seed.write must contain {marker}"),
        ({"write": WRITE, "read": "  "}, "seed.read must be a command"),
        ({"write": WRITE, "read": READ, "path": "/data"}, "exclude each other"),
        ({"write": 5, "read": READ}, "seed.write must be str"),
        ({"write": WRITE, "read": READ, "damage": "DELETE"}, "unknown key seed.damage"),
    ],
)
def test_bad_command_seed_names_file_and_key(seed, words):
    msg = seed_error(seed)
    assert msg.startswith("ccci.yml: ") and words in msg, msg


# -- a small app to seed, back up and restore -----------------------------------------------


class FakeTasks:
    """Services' files and a `db` table, as commands and archives in running tasks see them."""

    def __init__(self, kinds: dict[str, str | None], restores: bool = True):
        self.kinds = kinds  # path -> "dir" / "file" / None, as the engine's stat says
        self.rows: list[str] = []
        self.files: dict[str, bytes] = {}
        self.restores = restores
        self.log: list[str] = []

    def path_kind(self, service: str, path: str) -> str | None:
        return self.kinds.get(path)

    def run_hook(self, kind: str, service: str, command: str | None, timeout: float) -> str:
        assert kind == "seed.write" and command and "{marker}" not in command
        self.rows.append(command.split("'")[1])  # the marker, between the SQL quotes
        self.log.append(f"write {self.rows[-1]}")
        return ""


class FakeBackend:
    def __init__(self, tasks: FakeTasks, tmp: Path):
        self.tasks = tasks
        self.tmp = tmp

    def exec(self, service, cmd, timeout=60):
        assert cmd == READ
        return 0, "".join(f"{row}\n" for row in self.tasks.rows)

    def write_file(self, service, path, content):
        self.tasks.files[path] = content
        self.tasks.log.append(f"file {path}")

    def read_file(self, service, path):
        if path not in self.tasks.files:
            raise RecipeError(f"{service}: path {path} does not exist in the running container")
        return self.tasks.files[path]

    def backup(self, deployment, dest):
        self.tasks.log.append("backup")
        self.saved = (list(self.tasks.rows), dict(self.tasks.files))
        return write_backup("notes", {("db", "/var/lib/db/backup.sql"): b"dump"}, dest)

    def restore(self, deployment, archive):
        self.tasks.log.append("restore")
        if self.tasks.restores:
            self.tasks.rows, self.tasks.files = list(self.saved[0]), dict(self.saved[1])

    def http_status(self, deployment):
        return 200, "answered 200"


def deployment(seed: dict, labels: dict, volumes: list[str]):
    config = {"services": {"db": {"volumes": volumes, "deploy": {"labels": labels}}, "app": {}}}
    app = App.for_checkout(settings(**seed), "a" * 40, "ccci.test", "run")
    return SimpleNamespace(app=app, config=config)


DUMP_LABELS = {"backupbot.backup": "true", "backupbot.backup.volumes.pg.path": "backup.sql"}
DUMP = "/var/lib/db/backup.sql"


def test_command_seed_writes_a_fresh_marker_and_reads_it_back(tmp_path):
    tasks = FakeTasks({})
    backend = FakeBackend(tasks, tmp_path)
    dep = deployment({"service": "db", "write": WRITE, "read": READ}, DUMP_LABELS, ["pg:/var/lib/db"])
    seeded = proofs.seed(backend, dep, dep.app.settings.seed)
    assert seeded.marker and seeded.marker.startswith("ccci-seed-") and tasks.rows == [seeded.marker]
    assert proofs.seeded_still_there(backend, dep, seeded) == []
    tasks.rows.clear()  # an upgrade that lost the row
    lost = proofs.seeded_still_there(backend, dep, seeded)
    assert lost == [f"{seeded.marker} (seed.read in {dep.app.stack}_db printed: '')"]


def test_file_seed_goes_only_into_existing_directories(tmp_path):
    """A dump file (`backup.sql`) cannot hold a marker and a missing path is never created (it
    may be the app's to create as a file): only the existing directory gets one."""
    labels = {"backupbot.backup": "true", "backupbot.backup.path": f"{DUMP},/var/lib/files,/var/lib/later"}
    tasks = FakeTasks({DUMP: "file", "/var/lib/files": "dir", "/var/lib/later": None})
    dep = deployment({"service": "db"}, labels, [])
    seeded = proofs.seed(FakeBackend(tasks, tmp_path), dep, dep.app.settings.seed)
    assert list(seeded.files) == ["/var/lib/files/.ccci-seed"] and seeded.marker is None


def test_seed_path_that_is_a_file_is_the_recipes_mistake(tmp_path):
    dep = deployment({"service": "db", "path": DUMP}, DUMP_LABELS, ["pg:/var/lib/db"])
    with pytest.raises(RecipeError, match="seed.path /var/lib/db/backup.sql is a file"):
        proofs.seed(FakeBackend(FakeTasks({DUMP: "file"}), tmp_path), dep, dep.app.settings.seed)


def test_only_file_paths_and_no_command_is_unprovable_saying_what_to_declare():
    dep = deployment({"service": "db"}, DUMP_LABELS, ["pg:/var/lib/db"])
    reason = proofs.unprovable_reason(dep, dep.app.settings.seed)
    assert f"db:{DUMP}" in reason and "seed.write and seed.read" in reason


def test_restore_proof_by_command_returns_the_app_to_its_backup(tmp_path):
    tasks = FakeTasks({DUMP: "file"})
    backend = FakeBackend(tasks, tmp_path)
    dep = deployment({"service": "db", "write": WRITE, "read": READ}, DUMP_LABELS, ["pg:/var/lib/db"])
    seeded = proofs.seed(backend, dep, dep.app.settings.seed)
    run = proofs.restore_after_damage(backend, dep, seeded, tmp_path / "backups")
    # After the backup: a second row, and the dump file overwritten; then the restore.
    assert tasks.log == [f"write {seeded.marker}", "backup", f"write {run.later}", f"file {DUMP}", "restore"]
    assert run.archive and run.archive.file.parent == tmp_path / "backups"
    assert run.deployment_healthy and proofs.restore_problems(backend, run) == []


def test_a_restore_that_changes_nothing_is_caught(tmp_path):
    tasks = FakeTasks({}, restores=False)
    backend = FakeBackend(tasks, tmp_path)
    dep = deployment({"service": "db", "write": WRITE, "read": READ}, DUMP_LABELS, ["pg:/var/lib/db"])
    run = proofs.restore_after_damage(backend, dep, proofs.seed(backend, dep, dep.app.settings.seed), tmp_path)
    assert proofs.restore_problems(backend, run) == [
        f"restore did not return the data to the backup: {run.later}, written after the backup, is still there"
    ]


def test_a_restore_that_loses_the_data_is_caught(tmp_path):
    tasks = FakeTasks({})
    backend = FakeBackend(tasks, tmp_path)
    dep = deployment({"service": "db", "write": WRITE, "read": READ}, DUMP_LABELS, ["pg:/var/lib/db"])
    run = proofs.restore_after_damage(backend, dep, proofs.seed(backend, dep, dep.app.settings.seed), tmp_path)
    tasks.rows.clear()
    (problem,) = proofs.restore_problems(backend, run)
    assert problem.startswith(f"restore did not bring back the seeded data: {run.seeded.marker} (seed.read in")


# -- the backup file on disk ------------------------------------------------------------------


PARTS = {
    ("db", "/var/lib/db/backup.sql"): tar_bytes({"backup.sql": b"-- dump\n"}),
    ("app", "/data"): tar_bytes({"data": b""}),
}


def test_backup_file_and_manifest_verify_and_load_from_disk(tmp_path):
    archive = write_backup("notes_stack", PARTS, tmp_path / "backups")
    assert archive.file.parent == tmp_path / "backups" and archive.file.name.startswith("notes_stack-")
    assert archive.file.suffix == ".tar" and archive.manifest_file.suffix == ".sha256"
    assert not list((tmp_path / "backups").glob("*.part"))
    assert archive.verify() == []
    assert archive.copied == {f"{s}:{p}": len(d) for (s, p), d in PARTS.items()}
    # A fresh object knows only the file names and what was backed up: it reads everything from disk.
    again = BackupArchive("notes_stack", list(PARTS), archive.file, archive.manifest_file)
    with again.verified() as part:
        assert {f"{s}:{p}": part(s, p).read() for s, p in PARTS} == {f"{s}:{p}": d for (s, p), d in PARTS.items()}
        assert part("db", "/elsewhere") is None


def test_manifest_is_sha256sum_checkable(tmp_path):
    if not shutil.which("sha256sum"):
        pytest.skip("sha256sum not installed")
    archive = write_backup("notes_stack", PARTS, tmp_path / "backups")
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive.file) as tar:
        tar.extractall(unpacked, filter="data")
    check = subprocess.run(["sha256sum", "-c", str(archive.manifest_file)], cwd=unpacked, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_byte_changed_on_disk_names_the_path_and_stops_the_restore(tmp_path):
    archive = write_backup("notes_stack", PARTS, tmp_path)
    raw = bytearray(archive.file.read_bytes())
    at = raw.index(b"-- dump")
    raw[at] ^= 0xFF
    archive.file.write_bytes(bytes(raw))
    assert archive.verify() == ["db:/var/lib/db/backup.sql (sha256 differs)"]
    with pytest.raises(InfraError, match=r"does not match its manifest: db:/var/lib/db/backup.sql \(sha256 differs\)"):
        with archive.verified():
            pass


def test_a_missing_member_or_a_lost_file_is_named(tmp_path):
    archive = write_backup("notes_stack", PARTS, tmp_path)
    manifest = archive.manifest_file.read_text().splitlines()
    archive.manifest_file.write_text("\n".join(ln for ln in manifest if member_name("app", "/data") not in ln) + "\n")
    assert archive.verify() == [f"app:/data (missing from {archive.file.name})"]
    archive.file.unlink()
    assert len(archive.verify()) == 2
    archive.manifest_file.unlink()
    assert archive.verify() == [f"manifest {archive.manifest_file.name} unreadable: No such file or directory"]
