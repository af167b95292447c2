"""The deploy policy for untrusted refs, on the real swarm (model/policy.py).

- One run carries a recipe per refused kind: each install fails before anything is created,
  with its one line, nothing of it is on the swarm, and the proof a recipe would write on the
  host never appears. The same run carries a credentialed source that cannot be reached: its
  token is in no artifact.
- The allowed case deploys (a read-only bind of a directory the test made, with its allowance),
  beside a recipe over its enforced memory limit (reported OOM-killed); that run's functional
  test proves the runner's environment reaches neither interpolation nor the probe helper.
- An upgrade whose base release holds the bind mount fails the upgrade, not the install.
"""

from __future__ import annotations

import time

from recipe_variants import compose_step

APP_VOLUMES = "      - data:/data\n"
BEFORE_HEALTHCHECK = "    healthcheck:\n"
ENTRYPOINT = "    entrypoint: /docker-entrypoint.sh\n"
TOKEN = "glpat-ccciP0licyT0ken"
CANARY = "runner-canary-4b1d"


def writes_proof(path: str) -> tuple[str, str]:
    """The app's entrypoint, changed to write `path` first: what a hostile recipe would do."""
    return ENTRYPOINT, f'    entrypoint: ["sh", "-c", "date > {path}; exec /docker-entrypoint.sh"]\n'


def refused_variants(proof_dir) -> dict[str, tuple[list[tuple[str, str]], str]]:
    """name -> (compose replacements, what the refusal must say)."""
    return {
        "pol-root": (
            [(APP_VOLUMES, APP_VOLUMES + "      - /:/host\n"), writes_proof(f"/host{proof_dir}/root-proof")],
            "service app volumes: bind / -> /host (the runner's root file system, the container engine's socket",
        ),
        "pol-sock": (
            [(APP_VOLUMES, APP_VOLUMES + "      - /var/run/docker.sock:/var/run/docker.sock\n")],
            # (On hosts where /var/run links to /run the line also says what it resolves to.)
            "bind /var/run/docker.sock -> /var/run/docker.sock",
        ),
        "pol-sockl": (
            [
                (
                    APP_VOLUMES,
                    APP_VOLUMES
                    + "      - type: bind\n        source: /run/docker.sock\n        target: /engine.sock\n",
                )
            ],
            "bind /run/docker.sock -> /engine.sock (the container engine's socket",
        ),
        "pol-priv": ([(BEFORE_HEALTHCHECK, "    privileged: true\n" + BEFORE_HEALTHCHECK)], "privileged: true"),
        "pol-hostnet": (
            [(BEFORE_HEALTHCHECK, "    network_mode: host\n" + BEFORE_HEALTHCHECK)],
            "service app network_mode: host (the host's network stack)",
        ),
        "pol-hostport": (
            [
                (
                    BEFORE_HEALTHCHECK,
                    "    ports:\n      - {target: 8080, published: 18080, mode: host}\n" + BEFORE_HEALTHCHECK,
                )
            ],
            "service app ports: 18080 -> 8080 (mode: host)",
        ),
        "pol-file": (
            [
                (
                    "configs:\n  entrypoint:\n",
                    "configs:\n  leak:\n    file: " + "../" * 20 + "etc/hostname\n  entrypoint:\n",
                ),
                (
                    "      - source: entrypoint\n",
                    "      - source: leak\n        target: /leak\n      - source: entrypoint\n",
                ),
            ],
            "service app configs.leak.file: /etc/hostname (a file outside the recipe checkout)",
        ),
        "pol-vol": (
            [
                (
                    "\nvolumes:\n  data:\n",
                    f"\nvolumes:\n  data:\n    driver_opts: {{type: none, o: bind, device: {proof_dir}}}\n",
                )
            ],
            "service app volumes.data.driver_opts: device=",
        ),
    }


def test_each_refused_kind_fails_install_before_anything_is_created(lab, swarm, assert_clean):
    proof_dir = lab.tmp / "host-proofs"
    proof_dir.mkdir()
    variants = refused_variants(proof_dir)
    for name, (replacements, _) in variants.items():
        lab.enroll(name, extra_steps=compose_step(lab, name, *replacements))
    lab.enroll("pol-cred")
    (lab.recipes_dir / "pol-cred" / "ccci.yml").write_text(f"source: https://ci:{TOKEN}@127.0.0.1:9/cred.git\n")
    junit, html = lab.tmp / "junit.xml", lab.tmp / "report.html"
    names = [*variants, "pol-cred"]

    start = time.monotonic()
    run = lab.run(
        *(a for n in names for a in ("--recipe", n)), "--tiers", "install", f"--junitxml={junit}", f"--html={html}"
    )
    took = time.monotonic() - start

    for name, (_, says) in variants.items():
        install = run.recipe(name)["rungs"]["install"]
        assert install["status"] == "fail", (name, install)
        reason = install["reason"]
        assert reason.startswith(f"recipe {name}: deploy refused by the policy for untrusted refs, nothing created:")
        assert says in reason, (name, reason)
        assert "\n" not in reason and "permit with allow: [{kind: " in reason
        assert_clean(run.recipe(name)["domain"])
    for socket_bind in ("pol-root", "pol-sock", "pol-sockl"):  # each is the engine's socket, whatever its path
        assert "the container engine's socket" in run.recipe(socket_bind)["rungs"]["install"]["reason"]
        assert "allow: [{kind: engine-socket," in run.recipe(socket_bind)["rungs"]["install"]["reason"]
    assert list(proof_dir.iterdir()) == [], "a refused recipe wrote on the host"
    cred = run.recipe("pol-cred")
    assert cred["settings"]["source"] == "https://ci:********@127.0.0.1:9/cred.git"
    assert cred["no_secret_leak"] is True
    artifacts = [run.output, (lab.tmp / "results.json").read_text(), junit.read_text(), html.read_text()]
    assert not [text for text in artifacts if TOKEN in text]
    assert took < 180, f"refusals happen before any deploy; the run took {took:.0f}s"


ALLOWED_FUNCTIONAL = '''\
"""The allowed bind is there, read-only; nothing of the runner's environment reached the app."""

from pytest_ccci.model.naming import service_name


def test_reads_the_allowed_fixture_read_only(app):
    code, out = app.exec("cat /fixtures/hello.txt")
    assert code == 0 and out.strip() == "from the runner", out
    code, out = app.exec("touch /fixtures/written 2>&1")
    assert code != 0, "the allowed bind is writable"


def test_runner_env_reaches_neither_interpolation_nor_the_app(app):
    code, env = app.exec("env")
    assert code == 0
    for line in ("RUNNER_CANARY=absent", "RUNNER_HOME=absent", "RUNNER_PATH=absent"):
        assert line in env.splitlines(), f"{{line}} not in the app's env: interpolation saw the runner's env"
    assert {canary!r} not in env


def test_runner_env_does_not_reach_the_probe_helper(app, ccci_backend):
    code, env = ccci_backend.swarm.run_beside(service_name(app.stack, "app"), ["env"], {{}})
    assert code == 0, env
    assert {canary!r} not in env and "CCCI_RUNNER_CANARY" not in env
'''


def test_allowed_bind_deploys_and_memory_is_bounded(lab, swarm, assert_clean, monkeypatch):
    fixtures = lab.tmp / "fixtures"
    fixtures.mkdir()
    (fixtures / "hello.txt").write_text("from the runner\n")
    env_lines = "      - APP_REVISION=3\n"
    runner_env = "      - RUNNER_CANARY=${CCCI_RUNNER_CANARY:-absent}\n      - RUNNER_HOME=${HOME:-absent}\n"
    ok_step = compose_step(
        lab,
        "pol-ok",
        (APP_VOLUMES, APP_VOLUMES + f"      - {fixtures}:/fixtures:ro\n"),
        (env_lines, env_lines + runner_env + "      - RUNNER_PATH=${PATH:-absent}\n"),
    )
    allow = [{"kind": "bind-mount", "service": "app", "source": str(fixtures), "reason": "read-only test fixtures"}]
    lab.enroll("pol-ok", settings={"allow": allow}, extra_steps=ok_step)
    (lab.recipes_dir / "pol-ok" / "test_pol_ok.py").write_text(ALLOWED_FUNCTIONAL.format(canary=CANARY))
    oom_step = compose_step(
        lab,
        "pol-oom",
        (ENTRYPOINT, '    entrypoint: ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=64M count=1"]\n'),
    )
    lab.enroll("pol-oom", settings={"memory_mb": 16, "max_task_failures": 2}, extra_steps=oom_step)
    monkeypatch.setenv("CCCI_RUNNER_CANARY", CANARY)

    run = lab.run(
        "--recipe", "pol-ok", "--recipe", "pol-oom", "--tiers", "install,functional", "-o", "ccci_memory_limit_mb=64"
    )

    ok = run.recipe("pol-ok")
    assert ok["rungs"]["install"]["status"] == "pass", run.output[-3000:]
    assert ok["rungs"]["functional"]["status"] == "pass", ok["rungs"]["functional"]
    assert ok["policy"]["allow"][0]["kind"] == "bind-mount" and ok["policy"]["memory_limit_mib"] == 64
    assert ok["policy"]["memory_limits"] == {"app": 64}
    oom = run.recipe("pol-oom")
    assert oom["rungs"]["install"]["status"] == "fail"
    assert "OOM-killed (limit 16 MiB)" in oom["rungs"]["install"]["reason"], oom["rungs"]["install"]
    assert "(exit 137)" not in oom["rungs"]["install"]["reason"]
    assert oom["policy"]["memory_limit_mib"] == 16
    for record in (ok, oom):
        assert_clean(record["domain"])


def test_an_upgrade_whose_base_release_binds_the_host_fails_the_upgrade(lab, swarm, assert_clean):
    proof_dir = lab.tmp / "host-proofs"
    proof_dir.mkdir()
    base = compose_step(
        lab, "pol-base", (APP_VOLUMES, APP_VOLUMES + "      - /:/host\n"), writes_proof(f"/host{proof_dir}/base-proof")
    )
    head = compose_step(lab, "pol-head", ("APP_REVISION=3", "APP_REVISION=4"))
    steps = [{**base[0], "tag": "0.3.0+1.35.0"}, head[0]]
    lab.enroll("pol-upg", extra_steps=steps)

    run = lab.run("--recipe", "pol-upg", "--tiers", "install,upgrade")

    rungs = run.recipe("pol-upg")["rungs"]
    assert rungs["install"]["status"] == "pass", run.output[-3000:]
    assert rungs["upgrade"]["status"] == "fail"
    assert "deploy refused by the policy" in rungs["upgrade"]["reason"]
    assert "service app volumes: bind / -> /host" in rungs["upgrade"]["reason"]
    assert run.recipe("pol-upg")["upgrade_base"]["version"] == "0.3.0+1.35.0"
    assert list(proof_dir.iterdir()) == []
    assert_clean(run.recipe("pol-upg")["domain"])
