"""abra's deploy behaviours on the real swarm (model/abra.py, wired in run/view.py and run/deploy.py).

One plugin run enrolls three recipes built from hello, with one extra history step each:

- `asabra-label`: its app reads ABRA_MOTTO only from the app env (`.env.sample`; compose's
  `environment:` never names it) and its healthcheck fails without it: abra's ExposeAllEnv.
  A `worker` service lists WORKER_NOTE valueless (`- WORKER_NOTE`): it takes the app env's value
  (ExposeAllEnv is `app` only, so this is the valueless-entry rule alone). The app carries
  `coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}` and no deploy_timeout is enrolled: the
  deadline is the label's 300 s. `.env.sample` says `DOCKER_HOST=tcp://socket-proxy:2375` (the
  app's own setting) and, commented out, the SMTP overlay and
  `#SECRET_SMTP_PASSWORD_VERSION=v1 # length=48 charset=special-chars`, which the enrollment's
  env enables (COMPOSE_FILE, SECRET_SMTP_PASSWORD_VERSION): the secret is generated with the
  commented line's modifiers. ENABLE_AUTO_UPDATE unset: autoupdate=false.
- `asabra-ccci`: the same recipe with `deploy_timeout: 30` and ENABLE_AUTO_UPDATE=true.
- `asabra-hex`: the SMTP line says `charset=hex`: one recipe error naming `.env.sample:<line>`,
  and nothing of it ever reached the swarm (docker's own event log says so).

A functional test in the deployed recipes reads each service's spec with `docker service inspect`
(the CLI, not the plugin's code) and the task's view of its env and secret, and hands what it saw
to this test in a file out of band; a secret's value is never written, only its length and
whether it holds a character outside [A-Za-z0-9].
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import yaml
from recipe_variants import HELLO_COMPOSE, stack_of

from conftest import EXAMPLES, Lab
from pytest_ccci.model.naming import stack_name

MOTTO = "exposed by abra"
WORKER_NOTE = "filled from the app env"
APP_DOCKER_HOST = "tcp://socket-proxy:2375"
SMTP_LENGTH = 48

# hello's compose.yml, changed: the healthcheck needs ABRA_MOTTO (which no `environment:` names),
# a timeout label with a default, and a worker whose only env entry is valueless.
COMPOSE = (
    HELLO_COMPOSE.replace("      - GREETING\n", "")
    .replace(
        '      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]\n',
        '      test: ["CMD", "sh", "-c", "test \\"$$ABRA_MOTTO\\" = \\"' + MOTTO + '\\" '
        '&& wget -q -O /dev/null http://127.0.0.1:8080/health"]\n',
    )
    .replace(
        '        - "backupbot.backup=true"\n',
        '        - "coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}"\n        - "backupbot.backup=true"\n',
    )
    .replace(
        "networks:\n  proxy:\n",
        "  worker:\n"
        "    image: ccci/busybox:1.35.0\n"
        '    command: ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 1; done"]\n'
        "    environment:\n"
        "      - WORKER_NOTE\n"
        "\n"
        "networks:\n  proxy:\n",
    )
)

SMTP_OVERLAY = """\
---
version: "3.8"

services:
  app:
    secrets:
      - smtp_password

secrets:
  smtp_password:
    external: true
    name: ${STACK_NAME}_smtp_password_${SECRET_SMTP_PASSWORD_VERSION}
"""

SMTP_LINE = "#SECRET_SMTP_PASSWORD_VERSION=v1 # length=48 charset=special-chars"
ENV_SAMPLE = (
    (EXAMPLES / "hello/0.1.0/.env.sample").read_text()
    + f"""
## Read by the app only through abra's ExposeAllEnv: compose.yml's environment: never names it
ABRA_MOTTO="{MOTTO}"
WORKER_NOTE="{WORKER_NOTE}"

## The app's own Docker API endpoint (a socket proxy), not the runner's
DOCKER_HOST={APP_DOCKER_HOST}

## SMTP
#COMPOSE_FILE="compose.yml:compose.smtp.yml"
{SMTP_LINE}
"""
)
SMTP_LINE_NUMBER = ENV_SAMPLE.splitlines().index(SMTP_LINE) + 1

# The recipe's own test: what the swarm and the task say, written to SEEN (no secret value).
FUNCTIONAL = '''\
"""What the swarm holds for this app, read with the docker CLI, and what its task sees."""

import json
import os
import subprocess
from pathlib import Path

SEEN = Path({seen!r})


def _spec(name):
    out = subprocess.run(["docker", "service", "inspect", name], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["Spec"]


def _env(spec):
    return dict(e.partition("=")[::2] for e in spec["TaskTemplate"]["ContainerSpec"].get("Env") or [])


def test_what_the_swarm_and_the_task_hold(app):
    app_spec, worker_spec = _spec(app.stack + "_app"), _spec(app.stack + "_worker")
    _, task_env = app.exec('printf "%s|%s" "$ABRA_MOTTO" "$DOCKER_HOST"')
    code, length = app.exec("wc -c < /run/secrets/smtp_password")
    _, unusual = app.exec("tr -d 'A-Za-z0-9' < /run/secrets/smtp_password | wc -c")
    SEEN.write_text(json.dumps({{
        "app_env": _env(app_spec),
        "worker_env": _env(worker_spec),
        "app_labels": app_spec.get("Labels") or {{}},
        "task_env": task_env,
        "smtp_length": int(length.strip()) if code == 0 else None,
        "smtp_unusual_chars": int(unusual.strip()) if code == 0 else None,
        "process_docker_host": os.environ.get("DOCKER_HOST"),
    }}))
'''


def _enroll(lab: Lab, name: str, steps: list[dict], settings: dict, keep_deploy_timeout: bool = True) -> None:
    """Enroll hello with `steps` on top, the functional test above, and the lab's settings
    updated with `settings` (the lab's deploy_timeout dropped unless kept)."""
    lab.enroll(name, settings=settings, extra_steps=steps)
    ccci = lab.recipes_dir / name / "ccci.yml"
    doc = yaml.safe_load(ccci.read_text())
    if not keep_deploy_timeout:
        del doc["deploy_timeout"]
    ccci.write_text(yaml.safe_dump(doc))
    seen = lab.tmp / "seen" / f"{name}.json"
    seen.parent.mkdir(exist_ok=True)
    (lab.recipes_dir / name / f"test_{name.replace('-', '_')}.py").write_text(FUNCTIONAL.format(seen=str(seen)))


def _step(lab: Lab, name: str, files: dict[str, str]) -> list[dict]:
    folder = lab.tmp / "steps" / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text)
    return [{"root": folder.parent, "files": name, "message": f"test variant: {name}"}]


def _events_naming(stack: str, since: float) -> list[str]:
    """Every event docker logged since `since` whose object names `stack` (its services,
    secrets, configs, networks, volumes are all named `<stack>_...`)."""
    out = subprocess.run(
        ["docker", "events", "--since", f"{since:.0f}", "--until", f"{time.time():.0f}", "--format", "{{json .}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [
        f"{e['Type']} {e['Action']} {e['Actor']['Attributes'].get('name') or e['Actor']['ID']}"
        for e in events
        if stack in json.dumps(e["Actor"])
    ]


def test_abra_deploy_behaviours_on_the_swarm(lab, assert_clean):
    recipe = {
        "compose.yml": COMPOSE,
        "compose.smtp.yml": SMTP_OVERLAY,
        ".env.sample": ENV_SAMPLE,
    }
    smtp_env = {"COMPOSE_FILE": "compose.yml:compose.smtp.yml", "SECRET_SMTP_PASSWORD_VERSION": "v1"}
    env = {"GREETING": "Hello from CI", **smtp_env}
    _enroll(lab, "asabra-label", _step(lab, "asabra", recipe), {"env": env}, keep_deploy_timeout=False)
    _enroll(
        lab,
        "asabra-ccci",
        _step(lab, "asabra-c", recipe),
        {"env": {**env, "ENABLE_AUTO_UPDATE": "true"}, "deploy_timeout": 30},
    )
    hex_sample = ENV_SAMPLE.replace("charset=special-chars", "charset=hex")
    hex_source = lab.enroll(
        "asabra-hex", settings={"env": env}, extra_steps=_step(lab, "asabra-h", {**recipe, ".env.sample": hex_sample})
    )
    started = time.time() - 1
    run = lab.run("--tiers", "install,functional", "-rA")
    run.result.assert_outcomes(passed=4, errors=1)

    label, ccci, hexed = (run.recipe(n) for n in ("asabra-label", "asabra-ccci", "asabra-hex"))
    for rec in (label, ccci):
        assert rec["rungs"]["install"]["status"] == "pass", (rec["rungs"], run.output[-4000:])
        assert rec["rungs"]["functional"]["status"] == "pass", (rec["rungs"], run.output[-4000:])
        assert_clean(rec["domain"])
    seen = {n: json.loads((lab.tmp / "seen" / f"{n}.json").read_text()) for n in ("asabra-label", "asabra-ccci")}

    # 1. ExposeAllEnv: the app got ABRA_MOTTO (its healthcheck needs it: install passed), in its
    #    service spec and in its task; the worker (not `app`) did not.
    for name, got in seen.items():
        assert got["app_env"].get("ABRA_MOTTO") == MOTTO, (name, got["app_env"])
        assert got["task_env"].split("|")[0] == MOTTO, (name, got["task_env"])
        assert "ABRA_MOTTO" not in got["worker_env"], (name, got["worker_env"])

    # 2. The deadline: the label's 300 s without deploy_timeout; ccci.yml's 30 s with it.
    stack = stack_name(label["domain"])
    assert label["deploy_deadline"] == {
        "seconds": 300,
        "why": f"the recipe's coop-cloud.{stack}.timeout label (abra's deadline)",
    }, label["deploy_deadline"]
    assert seen["asabra-label"]["app_labels"].get(f"coop-cloud.{stack}.timeout") == "300"
    assert ccci["deploy_deadline"] == {"seconds": 30, "why": "deploy_timeout in ccci.yml"}, ccci["deploy_deadline"]

    # 3. The worker's valueless `- WORKER_NOTE` took the app env's value.
    for name, got in seen.items():
        assert got["worker_env"].get("WORKER_NOTE") == WORKER_NOTE, (name, got["worker_env"])

    # 4. The secret enabled through the enrollment's env: generated with the commented line's
    #    modifiers (48 characters, special-chars), readable in the task.
    for name, got in seen.items():
        assert got["smtp_length"] == SMTP_LENGTH, (name, got["smtp_length"])
        assert got["smtp_unusual_chars"] > 0, f"{name}: charset=special-chars gave no character outside [A-Za-z0-9]"

    # 5. autoupdate: false when ENABLE_AUTO_UPDATE is unset, true when the env says so; the
    #    swarm's labels and the stamp the plugin read back agree.
    for name, expected in (("asabra-label", "false"), ("asabra-ccci", "true")):
        stack_n = stack_name(run.recipe(name)["domain"])
        assert seen[name]["app_labels"].get(f"coop-cloud.{stack_n}.autoupdate") == expected, seen[name]["app_labels"]
        assert run.recipe(name)["stamps"]["install_stamp"].get("autoupdate") == expected

    # 6. DOCKER_HOST is the app's setting: not refused, in the app's spec and task; the plugin's
    #    process never took it (it deployed on the local engine, and its env is the runner's).
    for name, got in seen.items():
        assert got["app_env"].get("DOCKER_HOST") == APP_DOCKER_HOST, (name, got["app_env"])
        assert got["task_env"].split("|")[1] == APP_DOCKER_HOST, (name, got["task_env"])
        assert got["process_docker_host"] == os.environ.get("DOCKER_HOST"), got["process_docker_host"]

    # 4'. charset=hex: one recipe error line naming .env.sample and the line; nothing deployed.
    assert hexed["rungs"]["install"]["status"] == "fail", hexed["rungs"]
    reason = hexed["rungs"]["install"]["reason"]
    where = f".env.sample:{SMTP_LINE_NUMBER}: SECRET_SMTP_PASSWORD_VERSION has charset='hex'"
    assert where in reason and "\n" not in reason.strip(), reason
    lines = run.result.stdout.lines
    header = next(i for i, line in enumerate(lines) if "ERROR at setup of test_install[asabra-hex]" in line)
    said = lines[header + 1 : next(i for i in range(header + 1, len(lines)) if lines[i].startswith(("=", "_")))]
    assert said == [f"RecipeError: {reason}"], said  # one line, no traceback
    deployed = _events_naming(stack_name(label["domain"]), started)
    assert any(e.startswith("service create") for e in deployed), deployed  # the log does name stacks
    hex_stack = stack_of("asabra-hex", hex_source)
    assert _events_naming(hex_stack, started) == [], "asabra-hex reached the swarm"
    assert_clean(hexed["domain"])
