#!/usr/bin/env python3
"""The bare baseline of the `overhead` measure: hello's whole lifecycle, by hand.

Plain git, the docker CLI and docker-py with a tight poll loop; pytest-ccci is used only to
*prepare* the compose file (env, `docker stack config`, labels), never to deploy, wait, exec
or tear down. It does what the plugin's full run of `hello` does on the swarm:

    install: deploy the head (chaos), wait converged + healthy, GET /health, read the stamp
    backup:  pre-hook, copy /data out
    restore: seed a marker, pre-hook + copy /data out, damage the marker, copy back, GET /health
    functional: the exec/archive calls of recipes/hello/test_hello.py
    teardown: stack rm, wait containers gone, remove volume, secret, config, network
    upgrade: deploy the base release, wait, seed, redeploy the head, wait for the update to
             complete, read the stamp, GET /health, read the seed back; teardown

    python benchmarks/bare_hello.py SOURCE_REPO WORKDIR   # prints a JSON line of phase timings
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import docker
import yaml

from pytest_ccci.model import compose, naming
from pytest_ccci.model.app import App
from pytest_ccci.model.settings import Health, Settings
from pytest_ccci.run.deploy import compose_files, deploy_env
from pytest_ccci.swarm.archives import tar_bytes
from pytest_ccci.swarm.facade import Swarm

POLL = 0.1  # the tight loop
BASE_TAG = "0.2.0+1.35.0"
STACK_LABEL = "com.docker.stack.namespace"


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def checkout(source: str, dest: Path, ref: str) -> SimpleNamespace:
    git("clone", "--quiet", "--shared", "--no-checkout", source, str(dest))
    git("checkout", "--quiet", "--detach", ref, cwd=dest)
    return SimpleNamespace(path=dest, head_sha=git("rev-parse", "HEAD", cwd=dest).strip())


def prepare(swarm: Swarm, app: App, co: SimpleNamespace, mode: str, out: Path) -> Path:
    """The compose file the backend would deploy (preparation only: helpers allowed here)."""
    env = deploy_env(co, app)
    merged = swarm.stack_config(compose_files(co, app, env), env, co.path)
    if mode == "release":
        labels = naming.deploy_labels(app.stack, app.recipe, version=BASE_TAG, chaos=None)
    else:
        labels = naming.deploy_labels(app.stack, app.recipe, version=BASE_TAG, chaos=co.head_sha[:8])
    final = compose.escape_dollars(compose.stamp(merged, labels, naming.run_labels(app.run_id, app.domain, app.recipe)))
    out.write_text(yaml.safe_dump(final, sort_keys=False))
    return out


def stack_deploy(stack: str, path: Path, cwd: Path) -> None:
    subprocess.run(
        ["docker", "stack", "deploy", "--resolve-image", "never", "--prune", "-c", str(path), stack],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=300,
    )


def wait_running(api, service: str, timeout: float, want_update: bool) -> None:
    """Tight loop: a running task of the service's current spec (healthy: swarm only says
    running after the healthcheck passed) and no other running task; the update completed."""
    deadline = time.monotonic() + timeout
    seen = "no service"
    while time.monotonic() < deadline:
        svcs = [s for s in api.services(filters={"name": service}) if s["Spec"]["Name"] == service]
        if svcs:
            svc = svcs[0]
            spec = svc["Spec"]["TaskTemplate"]["ContainerSpec"]
            tasks = api.tasks(filters={"service": svc["ID"], "desired-state": "running"})
            running = [t for t in tasks if t["Status"]["State"] == "running"]
            current = [
                t
                for t in running
                if t["Spec"]["ContainerSpec"].get("Image") == spec.get("Image")
                and t["Spec"]["ContainerSpec"].get("Env") == spec.get("Env")
                and t["Spec"]["ContainerSpec"].get("Labels") == spec.get("Labels")
            ]
            state = (svc.get("UpdateStatus") or {}).get("State")
            if state in ("rollback_started", "rollback_completed", "paused"):
                raise SystemExit(f"bare: update of {service} failed: {state}")
            if len(current) == 1 and len(running) == 1 and (not want_update or state == "completed"):
                return
            seen = f"update {state}, {len(running)} running, {len(current)} of the current spec; tasks: " + ", ".join(
                f"{t['Status']['State']} {t['Status'].get('Err', '')}" for t in tasks
            )
        time.sleep(POLL)
    raise SystemExit(f"bare: {service} not converged within {timeout}s: {seen}")


def container_of(client, service: str):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for t in client.api.tasks(filters={"service": service, "desired-state": "running"}):
            cid = (t["Status"].get("ContainerStatus") or {}).get("ContainerID")
            if t["Status"]["State"] == "running" and cid:
                return client.containers.get(cid)
        time.sleep(POLL)
    raise SystemExit(f"bare: no running container of {service}")


def sh(client, service: str, cmd: str) -> tuple[int, str]:
    code, out = container_of(client, service).exec_run(["sh", "-c", cmd])
    return code, out.decode(errors="replace")


def wget_health(client, service: str) -> None:
    code, out = container_of(client, service).exec_run(
        ["wget", "-S", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
    )
    if "200" not in out.decode(errors="replace"):
        raise SystemExit(f"bare: /health did not answer 200: {out[:200]!r}")


def write(client, service: str, path: str, content: bytes) -> None:
    c = container_of(client, service)
    c.exec_run(["mkdir", "-p", "/data"])
    c.put_archive("/data", tar_bytes({path.rsplit("/", 1)[1]: content}))


def copy_out(client, service: str, path: str) -> bytes:
    stream, _ = container_of(client, service).get_archive(path)
    return b"".join(stream)


def ensure_secret(client, name: str, labels: dict) -> None:
    if not any(s["Spec"]["Name"] == name for s in client.api.secrets(filters={"name": name})):
        value = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        client.api.create_secret(name=name, data=value.encode(), labels=labels)


def teardown(client, stack: str, domain: str) -> None:
    subprocess.run(["docker", "stack", "rm", stack], capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"}):
        time.sleep(POLL)
    api = client.api
    for v in api.volumes(filters={"label": f"{STACK_LABEL}={stack}"}).get("Volumes") or []:
        api.remove_volume(v["Name"], force=True)
    for s in api.secrets(filters={"label": f"ccci.domain={domain}"}):
        api.remove_secret(s["ID"])
    for c in api.configs(filters={"label": f"{STACK_LABEL}={stack}"}):
        api.remove_config(c["ID"])
    for n in api.networks(filters={"label": f"{STACK_LABEL}={stack}"}):
        try:
            api.remove_network(n["Id"])
        except docker.errors.NotFound:
            pass


def main(source: str, work: Path, name: str = "barehello") -> dict:
    t0 = time.monotonic()
    phases: dict[str, float] = {}

    def mark(phase: str) -> None:
        phases[phase] = round(time.monotonic() - t0, 3)

    client = docker.from_env(timeout=60)
    swarm = Swarm(client)
    work.mkdir(parents=True, exist_ok=True)
    head = checkout(source, work / "head", "HEAD")
    base = checkout(source, work / "base", BASE_TAG)
    settings = Settings(name=name, source=source, health=Health(path="/health"), env={"GREETING": "Hello from CI"})
    app = App.for_checkout(settings, head.head_sha, "ccci.test", f"bare-{int(time.time())}")
    stack, service = app.stack, naming.service_name(app.stack, "app")
    labels = naming.run_labels(app.run_id, app.domain, app.recipe)
    secret = naming.secret_name(stack, "admin_password", "v1")
    mark("checkouts")
    try:
        # install
        ensure_secret(client, secret, labels)
        stack_deploy(stack, prepare(swarm, app, head, "chaos", work / "install.yml"), head.path)
        wait_running(client.api, service, 60, want_update=False)
        wget_health(client, service)
        client.api.inspect_service(service)  # the stamp
        mark("install")
        # backup
        sh(client, service, "sync && date > /data/.backup-stamp")
        copy_out(client, service, "/data")
        mark("backup")
        # restore
        marker = f"seed {secrets.token_hex(8)}\n".encode()
        write(client, service, "/data/.ccci-seed", marker)
        sh(client, service, "sync && date > /data/.backup-stamp")
        archive = copy_out(client, service, "/data")
        write(client, service, "/data/.ccci-seed", b"damaged\n")
        container_of(client, service).put_archive("/", archive)
        wget_health(client, service)
        assert marker in copy_out(client, service, "/data/.ccci-seed")
        mark("restore")
        # functional: the calls of test_hello.py
        sh(client, service, "wget -S -O - http://127.0.0.1:8080/ 2>&1")
        sh(client, service, "wget -S -O - --post-data 'first note' http://127.0.0.1:8080/cgi-bin/notes 2>&1")
        sh(client, service, "wget -S -O - http://127.0.0.1:8080/cgi-bin/notes 2>&1")
        sh(client, service, "wget -S -O - --post-data 'kept in /data' http://127.0.0.1:8080/cgi-bin/notes 2>&1")
        copy_out(client, service, "/data/notes.txt")
        sh(client, service, "wc -c < /run/secrets/admin_password")
        sh(client, service, "wget -S -O - http://127.0.0.1:8080/ 2>&1")
        sh(client, service, "cat /run/secrets/admin_password")
        mark("functional")
        teardown(client, stack, app.domain)
        mark("teardown_install")
        # upgrade: base release, seed, head redeployed in place
        ensure_secret(client, secret, labels)
        stack_deploy(stack, prepare(swarm, app, base, "release", work / "base.yml"), base.path)
        wait_running(client.api, service, 60, want_update=False)
        write(client, service, "/data/.ccci-seed", marker)
        mark("upgrade_base")
        stack_deploy(stack, prepare(swarm, app, head, "chaos", work / "head.yml"), head.path)
        wait_running(client.api, service, 60, want_update=True)
        client.api.inspect_service(service)
        wget_health(client, service)
        assert marker in copy_out(client, service, "/data/.ccci-seed")
        mark("upgrade_head")
    finally:
        teardown(client, stack, app.domain)
        mark("teardown")
    return {"wall": round(time.monotonic() - t0, 3), "phases": phases, "stack": stack, "domain": app.domain}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
