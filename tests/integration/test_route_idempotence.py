"""Install's route check and idempotence check on the real swarm, and real recipes' compose files
through the real `docker stack config`.

- A head whose traefik router rule names another domain, or whose loadbalancer port is not the
  port the app answered on, fails install naming the label and the value found.
- A recipe whose redeploy of the same head changes its task spec fails install naming the
  service and the field: here an overlay takes an env file from a FIFO that hands out a new
  value each time it is read (what a generated value or a moving tag does on a real server).
- Every real recipe under ../shared/real-recipes merges and interpolates through its resolved
  view (run/view.py: docker's `docker stack config`, no deploy).
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from recipe_variants import compose_step, domain_of, stack_of

from pytest_ccci.model.app import App
from pytest_ccci.model.compose import service_labels
from pytest_ccci.model.routes import proxy_problem, read_routes
from pytest_ccci.model.settings import parse_settings
from pytest_ccci.run.view import build_view

HELLO_RULE = "Host(`${DOMAIN}`)"
HELLO_PORT = "loadbalancer.server.port=8080"


def install_rung(run, recipe: str) -> dict:
    rung = run.recipe(recipe)["rungs"]["install"]
    assert "Traceback" not in run.output, run.output[-3000:]
    return rung


def test_wrong_router_rule_and_wrong_port_each_fail_install_named(lab, assert_clean):
    rule = lab.enroll("rt-rule", extra_steps=compose_step(lab, "rule", (HELLO_RULE, "Host(`www.elsewhere.test`)")))
    # The app serves on 8080 (its settings say so); its label sends traefik to 8081.
    port = lab.enroll(
        "rt-port",
        extra_steps=compose_step(lab, "port", (HELLO_PORT, "loadbalancer.server.port=8081")),
        settings={"health": {"path": "/health", "port": 8080}},
    )
    # No health.port: the probe asks on the label's port, gets no answer, and says where it came from.
    probed = lab.enroll(
        "rt-probe", extra_steps=compose_step(lab, "probe", (HELLO_PORT, "loadbalancer.server.port=8081"))
    )
    # The same wrong rule, on an app declared not behind traefik: not checked, install passes.
    off = lab.enroll(
        "rt-off",
        extra_steps=compose_step(lab, "off", (HELLO_RULE, "Host(`www.elsewhere.test`)")),
        settings={"route": {"check": False, "reason": "served by its own proxy"}},
    )
    recipes = ("rt-rule", "rt-port", "rt-probe", "rt-off")
    run = lab.run(*(arg for name in recipes for arg in ("--recipe", name)), "--tiers", "install")

    stack = stack_of("rt-rule", rule)
    rung = install_rung(run, "rt-rule")
    assert rung["status"] == "fail", rung
    assert f"traefik.http.routers.{stack}.rule=Host(`www.elsewhere.test`)" in rung["reason"], rung
    assert f"Host(`{domain_of('rt-rule', rule)}`)" in rung["reason"], rung

    stack = stack_of("rt-port", port)
    rung = install_rung(run, "rt-port")
    assert rung["status"] == "fail", rung
    assert (
        f"traefik.http.services.{stack}.loadbalancer.server.port=8081, but the app answered on port 8080"
        in rung["reason"]
    ), rung

    stack = stack_of("rt-probe", probed)
    rung = install_rung(run, "rt-probe")
    assert rung["status"] == "fail", rung
    assert ":8081/health" in rung["reason"], rung
    assert f"the port is the app's label traefik.http.services.{stack}.loadbalancer.server.port=8081" in rung["reason"]

    assert install_rung(run, "rt-off") == {"status": "pass", "reason": ""}
    assert run.recipe("rt-off")["settings"]["route"] == {
        "check": False,
        "reason": "served by its own proxy",
        "network": "proxy",
    }

    for name, source in (("rt-rule", rule), ("rt-port", port), ("rt-probe", probed), ("rt-off", off)):
        assert_clean(domain_of(name, source))


class MovingEnvFile:
    """A FIFO that gives `MOVING_VALUE=<n>` with a new n to each reader: an env file whose value
    moves between two deploys of the same head."""

    def __init__(self, path: Path):
        self.path = path
        os.mkfifo(path)
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:  # non-blocking: opening for writing succeeds only once a reader has it open
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                time.sleep(0.05)
                continue
            self.reads += 1
            try:
                os.write(fd, f"MOVING_VALUE={self.reads}-{time.monotonic_ns()}\n".encode())
            except BlockingIOError:
                pass
            finally:
                os.close(fd)
            time.sleep(0.2)  # the reader reads to EOF before the next one opens

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_redeploy_that_changes_the_task_spec_fails_install_naming_service_and_field(lab, assert_clean):
    moving = MovingEnvFile(lab.tmp / "moving.env")
    try:
        # The env file is outside the checkout: the deploy policy refuses it unless the operator
        # (whose overlay this is) allows that very file.
        allow = {
            "kind": "outside-file",
            "service": "app",
            "source": str(moving.path),
            "reason": "the test's moving value",
        }
        source = lab.enroll(
            "idem-moving",
            settings={"allow": [allow]},
            overlay={"version": "3.8", "services": {"app": {"env_file": [str(moving.path)]}}},
        )
        run = lab.run("--recipe", "idem-moving", "--tiers", "install")
    finally:
        moving.stop()
    rung = install_rung(run, "idem-moving")
    assert rung["status"] == "fail", rung
    stack = stack_of("idem-moving", source)
    assert "idempotence: redeploying the same head replaced tasks" in rung["reason"], rung
    assert f"service {stack}_app: task " in rung["reason"], rung
    assert "its spec changed: TaskTemplate.ContainerSpec.Env (MOVING_VALUE)" in rung["reason"], rung
    assert moving.reads >= 2, "the env file was not read by both deploys"
    assert_clean(domain_of("idem-moving", source))


def real_views(real_recipes: Path, tmp_path: Path):
    """(name, view) for every real recipe: its own COMPOSE_FILE, then each of its other compose
    files on top of those, enabled through the enrollment's env as the commented-out blocks would."""
    for folder in sorted(p for p in real_recipes.iterdir() if (p / "compose.yml").is_file()):
        checkout = SimpleNamespace(path=folder, head_sha="a" * 40, tags=())
        base = build_view(checkout, real_app(folder.name, {}), tmp_path / "views" / folder.name)  # type: ignore[arg-type]
        yield folder.name, base
        for extra in sorted({p.name for p in folder.glob("compose.*.yml")} - set(base.compose_files)):
            env = {"COMPOSE_FILE": ":".join([*base.compose_files, extra])}
            view = build_view(checkout, real_app(folder.name, env), tmp_path / "views" / f"{folder.name}+{extra}")  # type: ignore[arg-type]
            assert view.compose_files[-1] == extra
            yield f"{folder.name}+{extra}", view


def real_app(name: str, env: dict[str, str]) -> App:
    settings = parse_settings(name, {"source": f"https://example.invalid/{name}.git", "env": env}, "ccci.yml")
    return App.for_checkout(settings, "a" * 40, "example.com", "run")


def test_real_recipes_merge_and_interpolate_through_their_view(real_recipes, tmp_path):
    seen = []
    for name, view in real_views(real_recipes, tmp_path):
        config = view.require_config()
        app = (config.get("services") or {}).get("app")
        assert app, f"{name}: no app service after merging {view.compose_files}"
        seen.append(name)
        assert proxy_problem(config, "app", "proxy") is None, name
        routes = read_routes(service_labels(app))
        assert routes.routers, f"{name}: no traefik router read from {service_labels(app)}"
        hosts = {h for r in routes.routers.values() for h in r.hosts}
        assert any(h.endswith(view.domain) for h in hosts), (name, hosts)
        assert str(view.root) not in repr(config), name  # paths recipe-relative
    assert {"bore", "go-ssb-room", "traefik-2021"} <= set(seen)
    assert len(seen) >= 12, seen
