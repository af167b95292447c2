"""backupbot label conventions read from synthetic compose dicts and one real recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_ccci.model.backupbot import (
    Hooks,
    ServiceBackup,
    VolumeMount,
    backup_plan,
    is_backup_capable,
    volume_mounts,
)
from pytest_ccci.model.compose import service_labels


def svc(labels: Any = None, volumes: list[Any] | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {"image": "x"}
    if labels is not None:
        service["deploy"] = {"labels": labels}
    if volumes is not None:
        service["volumes"] = volumes
    return service


def compose(**services: dict[str, Any]) -> dict[str, Any]:
    return {"services": services}


# Label parsing itself (every form compose accepts) is tested in test_compose.py.


# --- volume_mounts ----------------------------------------------------------------------


def test_volume_mounts_short_and_long_forms() -> None:
    service = svc(
        volumes=[
            "data:/var/lib/app",
            "conf:/etc/app:ro",
            "./local:/srv/local",
            "/host/abs:/srv/abs",
            "~/home:/srv/home",
            "/anonymous",
            {"type": "volume", "source": "db", "target": "/var/lib/db/"},
            {"type": "bind", "source": "/host", "target": "/h"},
            {"type": "tmpfs", "target": "/dev/shm"},
            {"type": "volume", "target": "/anon-long"},
        ]
    )
    assert volume_mounts(service) == [
        VolumeMount("data", "/var/lib/app"),
        VolumeMount("conf", "/etc/app"),
        VolumeMount("db", "/var/lib/db"),
    ]


# --- backup_plan ------------------------------------------------------------------------


def test_v1_paths() -> None:
    plan = backup_plan(compose(app=svc(["backupbot.backup=true", "backupbot.backup.path=/a, /b/,/a,"])))
    assert plan == [ServiceBackup("app", ("/a", "/b"), Hooks())]


def test_v2_volumes_included_by_default() -> None:
    app = svc(
        {"backupbot.backup": "true"}, ["data:/data", "./cfg:/cfg", {"type": "volume", "source": "db", "target": "/db"}]
    )
    assert backup_plan(compose(app=app)) == [ServiceBackup("app", ("/data", "/db"), Hooks())]


def test_v2_volume_excluded() -> None:
    app = svc(
        {
            "backupbot.backup": "true",
            "backupbot.backup.volumes.cache": "false",
            "backupbot.backup.volumes.data": "true",
        },
        ["data:/data", "cache:/cache"],
    )
    assert backup_plan(compose(app=app))[0].paths == ("/data",)


def test_v2_volume_path_restriction() -> None:
    app = svc(
        {"backupbot.backup": "true", "backupbot.backup.volumes.db-data.path": "backup.sql, /dumps/,sub/../x"},
        ["db-data:/var/lib/postgresql/data", "other:/other"],
    )
    assert backup_plan(compose(app=app))[0].paths == (
        "/var/lib/postgresql/data/backup.sql",
        "/var/lib/postgresql/data/dumps",
        "/var/lib/postgresql/data/x",
        "/other",
    )


def test_exclusion_beats_path_restriction() -> None:
    labels = {"backupbot.backup": "true", "backupbot.backup.volumes.v": "false", "backupbot.backup.volumes.v.path": "x"}
    assert backup_plan(compose(app=svc(labels, ["v:/v"])))[0].paths == ()


def test_v1_and_v2_combined_and_deduplicated() -> None:
    labels = ["backupbot.backup=true", "backupbot.backup.path=/data,/etc/app"]
    assert backup_plan(compose(app=svc(labels, ["data:/data", "logs:/logs"])))[0].paths == (
        "/data",
        "/etc/app",
        "/logs",
    )


def test_plan_reads_every_label_form() -> None:
    # "k = v" with spaces and a one-item mapping in a labels list, as real recipes write them.
    labels = ["backupbot.backup = true", {"backupbot.backup.path": "/etc/app"}]
    assert backup_plan(compose(app=svc(labels, ["data:/data"])))[0].paths == ("/etc/app", "/data")


def test_labels_for_unmounted_volume_are_ignored() -> None:
    labels = {"backupbot.backup": "true", "backupbot.backup.volumes.ghost.path": "x"}
    assert backup_plan(compose(app=svc(labels, ["data:/data"])))[0].paths == ("/data",)


def test_hooks() -> None:
    labels = {
        "backupbot.backup": "true",
        "backupbot.backup.pre-hook": "/pg_backup.sh backup",
        "backupbot.backup.post-hook": "rm -f /data/dump.sql",
        "backupbot.restore.pre-hook": "  ",
        "backupbot.restore.post-hook": "/pg_backup.sh restore",
    }
    plan = backup_plan(compose(db=svc(labels, ["data:/data"])))
    assert plan[0].hooks == Hooks(
        backup_pre="/pg_backup.sh backup",
        backup_post="rm -f /data/dump.sql",
        restore_pre=None,
        restore_post="/pg_backup.sh restore",
    )


def test_compose_order_and_only_participants() -> None:
    c = compose(
        web=svc(["backupbot.backup=true"], ["web:/w"]),
        cache=svc(["backupbot.backup=false"], ["cache:/c"]),
        proxy=svc(["traefik.enable=true"]),
        db=svc({"backupbot.backup": True}, ["db:/d"]),
    )
    assert [entry.service for entry in backup_plan(c)] == ["web", "db"]


@pytest.mark.parametrize("value", ["true", "True", "TRUE", " true", True])
def test_enabled_values(value: Any) -> None:
    assert is_backup_capable(compose(app=svc({"backupbot.backup": value}, ["d:/d"])))


@pytest.mark.parametrize("value", ["false", False, "", "yes", "1", None])
def test_not_enabled_values(value: Any) -> None:
    c = compose(app=svc({"backupbot.backup": value, "backupbot.backup.path": "/d"}, ["d:/d"]))
    assert backup_plan(c) == []
    assert not is_backup_capable(c)


def test_no_labels_not_capable() -> None:
    c = compose(app=svc(None, ["data:/data"]), db=svc(["traefik.enable=true"]))
    assert backup_plan(c) == []
    assert not is_backup_capable(c)


def test_participant_with_nothing_to_copy_is_not_capable() -> None:
    c = compose(app=svc(["backupbot.backup=true", "backupbot.backup.pre-hook=true"], ["./bind:/b"]))
    assert backup_plan(c) == [ServiceBackup("app", (), Hooks(backup_pre="true"))]
    assert not is_backup_capable(c)


@pytest.mark.parametrize("c", [{}, {"services": None}, {"services": {}}, {"services": {"app": None}}])
def test_degenerate_compose(c: dict[str, Any]) -> None:
    assert backup_plan(c) == []
    assert not is_backup_capable(c)


def test_real_recipe_bore_is_not_backup_capable(real_recipes: Path) -> None:
    # bore's backupbot labels are commented out; its other labels still contain ${...}, uninterpolated.
    loaded = yaml.safe_load((real_recipes / "bore" / "compose.yml").read_text())
    assert "traefik.enable" in service_labels(loaded["services"]["app"])
    assert backup_plan(loaded) == []
    assert not is_backup_capable(loaded)
