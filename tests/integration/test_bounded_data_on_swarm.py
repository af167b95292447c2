"""A backup and a hook's output on the real swarm stay within the runner's bounds: hello deployed
once, its /data filled past a (lowered) backup bound, a hook printing megabytes, and a normal
backup that still round-trips through its file on disk. Memory is measured (tracemalloc) where
megabytes pass: what passes through is many times what is held.

The hooks here are added to the deployed config's backupbot labels, which is where a backup reads
them from: what runs, runs in hello's real container."""

from __future__ import annotations

import copy
import dataclasses
import tracemalloc

import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.model.app import DeployMode
from pytest_ccci.model.naming import service_name
from pytest_ccci.run import data
from pytest_ccci.swarm import execution

MIB = 1024 * 1024
# What the noisy hook prints: many times the output bound, in lines that say where they are.
NOISY = "seq 1 2000000"  # 14.9 MB
NOISY_BYTES = sum(len(f"{n}\n") for n in range(1, 2_000_001))


def with_hooks(deployment, **hooks: str):
    """`deployment` whose app service carries these backupbot hook labels (e.g. `pre-hook`)."""
    config = copy.deepcopy(deployment.config)
    labels = config["services"]["app"]["deploy"]["labels"]
    assert isinstance(labels, dict), labels
    labels.update({f"backupbot.backup.{name}": command for name, command in hooks.items()})
    return dataclasses.replace(deployment, config=config)


def peak_bytes_while(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_backups_and_hook_output_stay_within_the_runners_bounds(direct_hello, tmp_path, monkeypatch):
    backend, app = direct_hello.backend, direct_hello.app
    deployed = backend.deploy(app, direct_hello.head, DeployMode.RELEASE)
    assert deployed.convergence.ok, deployed.convergence
    tasks, service = backend.tasks, service_name(app.stack, "app")

    # A hook printing megabytes costs the output bound, and its failure shows the tail.
    monkeypatch.setattr(execution, "OUTPUT_BOUND_BYTES", 4096)
    noisy = with_hooks(deployed, **{"pre-hook": f"sh -c '{NOISY}; exit 3'"})
    with pytest.raises(RecipeError) as failed:
        tasks.backup(noisy, tmp_path / "noisy")
    said = str(failed.value)
    assert f"exit 3: [... {NOISY_BYTES - 4096} bytes cut] " in said and said.startswith("backup pre-hook of"), said
    assert not list((tmp_path / "noisy").iterdir())
    monkeypatch.setattr(execution, "OUTPUT_BOUND_BYTES", 256 * 1024)
    peak = peak_bytes_while(lambda: tasks.run_hook("backup pre-hook", service, NOISY, 60))
    assert peak < 2 * MIB, f"{NOISY_BYTES} bytes printed held {peak} bytes"

    # A path past the backup bound stops the backup: the runner's bound, and no file is left.
    code, out = tasks.exec(service, "dd if=/dev/urandom of=/data/big bs=1M count=16 2>&1")
    assert code == 0, out
    monkeypatch.setattr(data, "BACKUP_BOUND_BYTES", 2 * MIB)
    with pytest.raises(InfraError, match=rf"^backup of app:/data exceeds the runner's bound of {2 * MIB} bytes$"):
        tasks.backup(deployed, tmp_path / "big")
    assert not list((tmp_path / "big").iterdir())

    # Under the bound (a noisy hook that succeeds, too), a backup round-trips from its file,
    # streamed to disk and back.
    monkeypatch.setattr(data, "BACKUP_BOUND_BYTES", 32 * MIB)
    tasks.write_file(service, "/data/notes.txt", b"first note\n")
    taken = []
    peak = peak_bytes_while(
        lambda: taken.append(tasks.backup(with_hooks(deployed, **{"pre-hook": NOISY}), tmp_path / "ok"))
    )
    archive = taken[0]
    assert archive.verify() == [] and archive.copied["app:/data"] > 16 * MIB, archive.copied
    assert peak < 2 * MIB, f"a backup of {archive.copied} held {peak} bytes"
    tasks.write_file(service, "/data/notes.txt", b"damaged\n")
    tasks.write_file(service, "/data/big", b"damaged\n")
    peak = peak_bytes_while(lambda: tasks.restore(deployed, archive))
    assert peak < 2 * MIB, f"a restore of {archive.copied} held {peak} bytes"
    assert tasks.read_file(service, "/data/notes.txt") == b"first note\n"
    code, out = tasks.exec(service, "wc -c < /data/big")
    assert (code, out.strip()) == (0, str(16 * MIB))
