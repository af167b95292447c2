#!/usr/bin/env python3
"""The bare baseline of the `overhead_realistic` measure: notes-pg's whole lifecycle, by hand.

notes-pg (examples/notes-pg) is an app and PostgreSQL 15: a db password secret read through
*_FILE, a golang-template entrypoint config, backupbot labels with a pg_dump pre-hook and a psql
restore post-hook, a seed by command, a schema migration from 1.0.0 to 1.1.0. This script does
on the swarm what the plugin's full run of it does, with bare.py's hand tools (docker CLI,
docker-py, a tight poll loop; the plugin only prepares the compose file):

    install:    deploy the head (chaos), wait converged, GET /health from a probe helper, read the
                stamp, read the app's labels (the route check), redeploy the same head, wait,
                check that no task was replaced
    backup:     pg_dump pre-hook in db, copy backup.sql out, write the backup file to disk
    restore:    seed.write a marker, back up as above, seed.write a second marker, damage
                backup.sql, copy it back from the file on disk, psql post-hook, GET /health,
                seed.read: the first marker back, the second gone
    functional: the requests and execs of recipes/notes-pg/test_notes_pg.py
    teardown:   stack rm, containers gone, volume, secret, configs, network removed
    upgrade:    deploy the base release 1.0.0, wait, seed.write; redeploy the head, wait for the
                app's update to complete, read the stamp, GET /health, seed.read; teardown

    python benchmarks/bare_notes_pg.py SOURCE_REPO WORKDIR   # prints a JSON line of phase timings
"""

from __future__ import annotations

import json
import shlex
import sys
import uuid
from pathlib import Path

import yaml
from bare import BareApp, Lifecycle, expect

from pytest_ccci.model.compose import service_labels
from pytest_ccci.model.settings import MARKER, Health, Settings

ROOT = Path(__file__).resolve().parent.parent
BASE_TAG = "1.0.0+15.20"  # the newest release before the head: the plugin's upgrade base
HEAD_TAG = "1.1.0+15.20"  # the head is this release: a chaos deploy stamps it as its version
PORT = 8000  # the app's traefik loadbalancer port: where the plugin probes
TIMEOUT = 180  # the recipe's deploy_timeout
DUMP = "/var/lib/postgresql/data/backup.sql"  # backupbot.backup.volumes.postgres.path, in its volume
DAMAGE = b"damaged by ccci before restore\n"
PSQL = "psql -U notes -d notes -v ON_ERROR_STOP=1 -tA -c "
# The recipe's own seed commands (ccci.yml `seed:`), run in the app's task.
SEED = yaml.safe_load((ROOT / "recipes" / "notes-pg" / "ccci.yml").read_text())["seed"]


def seed_write(app: BareApp) -> str:
    marker = f"ccci-seed-{uuid.uuid4().hex[:16]}"
    app.sh("app", SEED["write"].replace(MARKER, marker))
    return marker


def seed_read(app: BareApp) -> str:
    return app.sh("app", SEED["read"])


def hooks(app: BareApp) -> dict[str, str]:
    """The db service's backupbot labels, as deployed."""
    return service_labels(app.config["services"]["db"])


def backup(app: BareApp, dest: Path) -> None:
    """As backupbot: the pre-hook, the dump copied out (a tar), written to disk."""
    app.sh("db", hooks(app)["backupbot.backup.pre-hook"])
    dest.write_bytes(app.copy_out("db", DUMP))


def restore(app: BareApp, work: Path) -> None:
    marker = seed_write(app)
    backup(app, work / "restore.tar")
    later = seed_write(app)
    app.write("db", DUMP, DAMAGE)
    app.put("db", DUMP.rsplit("/", 1)[0], (work / "restore.tar").read_bytes())
    app.sh("db", hooks(app)["backupbot.restore.post-hook"])
    app.healthy()
    expect(marker in seed_read(app), "the seeded note is not back after the restore")
    expect(later not in seed_read(app), "the note written after the backup survived the restore")


def query(app: BareApp, sql: str) -> list[str]:
    return app.sh("db", PSQL + shlex.quote(sql)).splitlines()


def functional(app: BareApp) -> None:
    """The calls of recipes/notes-pg/test_notes_pg.py, in its order, with its checks."""
    status, _ = app.http("/notes", data="kept in postgres by ccci")
    expect(status == 201 and "kept in postgres by ccci" in query(app, "SELECT body FROM notes"), "note not stored")
    app.http("/notes", data="four words in all")
    expect(query(app, "SELECT words FROM notes WHERE body = 'four words in all'") == ["4"], "words not counted")
    expect(query(app, "SELECT max(version) FROM schema_version") == ["2"], "schema is not 2")
    app.http("/notes", data="listed by the app")
    status, body = app.http("/notes")
    expect(status == 200 and "listed by the app" in body.splitlines(), "note not listed")
    out = app.sh("app", "python3 -c 'import os; print(sorted(k for k in os.environ if \"PASSWORD\" in k))'")
    expect(out.strip() == "[]", f"password-shaped environment in app: {out.strip()!r}")
    expect(app.sh("db", "test -s /run/secrets/db_password && echo present").strip() == "present", "no secret in db")


def main(source: str, work: Path, name: str = "barenotes") -> dict:
    settings = Settings(name=name, source=source, health=Health(path="/health"))
    life = Lifecycle(source, work, settings, PORT, (BASE_TAG, HEAD_TAG), TIMEOUT)
    app = life.app
    phases = [
        ("backup", lambda: backup(app, work / "backup.tar")),
        ("restore", lambda: restore(app, work)),
        ("functional", lambda: functional(app)),
    ]
    return life.run(phases, lambda: seed_write(app), lambda marker: marker in seed_read(app))


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
