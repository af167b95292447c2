#!/usr/bin/env python3
"""The bare baseline of the `overhead` measure: hello's whole lifecycle, by hand.

Built on bare.py's hand tools (docker CLI, docker-py, a tight poll loop; the plugin only
prepares the compose file). It does what the plugin's full run of `hello` does on the swarm:

    install:    deploy the head (chaos), wait converged + healthy, GET /health from a probe
                helper, read the stamp, read the app's labels (the route check), redeploy the
                same head, wait, check that no task was replaced
    backup:     pre-hook, copy /data out, write the backup file to disk
    restore:    seed a marker file, back up as above, damage the marker, copy /data back from the
                file on disk, GET /health, read the marker back
    functional: the requests, reads and execs of recipes/hello/test_hello.py
    teardown:   stack rm, wait containers gone, remove volume, secret, config, network
    upgrade:    deploy the base release, wait, seed, redeploy the head, wait for the update to
                complete, read the stamp, GET /health, read the seed back; teardown

    python benchmarks/bare_hello.py SOURCE_REPO WORKDIR   # prints a JSON line of phase timings
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from bare import BareApp, Lifecycle, expect

from pytest_ccci.model.settings import Health, Settings

BASE_TAG = "0.2.0+1.35.0"  # the newest release before the head: the upgrade base, and the head's version
PORT = 8080  # the app's traefik loadbalancer port: where the plugin probes
TIMEOUT = 60  # the recipe's deploy_timeout
SEED = "/data/.ccci-seed"
PRE_HOOK = "sh -c 'sync && date > /data/.backup-stamp'"


def backup(app: BareApp, dest: Path) -> None:
    """As backupbot: the pre-hook, /data copied out (a tar), written to disk."""
    app.sh("app", PRE_HOOK)
    dest.write_bytes(app.copy_out("app", "/data"))


def seed(app: BareApp) -> bytes:
    """A marker file in the backed-up directory."""
    marker = f"ccci seed {secrets.token_hex(16)}\n".encode()
    app.write("app", SEED, marker)
    return marker


def restore(app: BareApp, work: Path) -> None:
    marker = seed(app)
    backup(app, work / "restore.tar")
    app.write("app", SEED, b"damaged by ccci before restore\n")
    app.put("app", "/", (work / "restore.tar").read_bytes())
    app.healthy()
    expect(marker in app.read("app", SEED), "the seeded marker is not back after the restore")


def functional(app: BareApp) -> None:
    """The calls of recipes/hello/test_hello.py, in its order, with its checks."""
    status, body = app.http("/")
    expect(status == 200 and "Hello from CI" in body and app.domain in body, "front page")
    status, _ = app.http("/cgi-bin/notes", data="first note from ccci")
    expect(status == 201, f"POST /cgi-bin/notes answered {status}")
    status, body = app.http("/cgi-bin/notes")
    expect(status == 200 and "first note from ccci" in body.splitlines(), "note not listed")
    app.http("/cgi-bin/notes", data="kept in /data")
    expect(b"kept in /data" in app.read("app", "/data/notes.txt"), "note not in /data")
    expect(app.sh("app", "wc -c < /run/secrets/admin_password").strip() == "32", "admin_password secret")
    _status, body = app.http("/")
    expect(app.sh("app", "cat /run/secrets/admin_password") not in body, "the admin password is served on /")


def main(source: str, work: Path, name: str = "barehello") -> dict:
    settings = Settings(name=name, source=source, health=Health(path="/health"), env={"GREETING": "Hello from CI"})
    life = Lifecycle(source, work, settings, PORT, (BASE_TAG, BASE_TAG), TIMEOUT)
    app = life.app
    phases = [
        ("backup", lambda: backup(app, work / "backup.tar")),
        ("restore", lambda: restore(app, work)),
        ("functional", lambda: functional(app)),
    ]
    return life.run(phases, lambda: seed(app), lambda marker: marker in app.read("app", SEED))


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
