"""The attack suite (issue 18): untrusted refs, tried as an attacker would, on the real swarm.

One small hostile recipe per class of attack, run through the plugin as a user runs it. Each test
asserts the safe verdict (a refusal naming the cause before anything is created, or a bound with
a clear verdict), that nothing of a refused deploy is on the swarm, and that the CANARY (the
runner's secret: in a host file outside the checkout and in the run's environment as
CCCI_TEST_TOKEN) appears in no artifact: terminal output, results.json, JUnit XML, HTML.

1. Host files through symlinks: `.env.sample` to a host file and to /proc/self/environ, abra.sh
   to a KEY=VALUE file.
2. Files outside through compose: env_file via a dangling symlink chain and `../`, a `!!binary`
   env_file path, COMPOSE_FILE naming a file outside, compose.yml as a symlink out.
3. Exhaustion: a 400-byte YAML alias bomb, `.env.sample -> /dev/zero`.
4. dockerd dialling out: a syslog logging driver to a port the test listens on.
5. One stack reaching another: an external network named like another stack's `_internal`.
6. Limits that do not limit: `limits.memory: 64G` under `ccci_memory_limit_mb = 256`.
7. A container that outlives teardown: SIGTERM ignored under a year's stop_grace_period.
8. Control characters and Markdown from an app's log lines, through a failed healthcheck.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import uuid

import docker.errors
import pytest
from attack_recipes import (
    APP_NETWORKS,
    BEFORE_HEALTHCHECK,
    CANARY_ENV,
    ENTRYPOINT,
    TOP_NETWORKS,
    Canary,
    artifact_texts,
    assert_no_canary,
    commit,
    failed_saying,
    hello_compose,
    updir_to_root,
)
from recipe_variants import stack_of

from conftest import leftovers
from pytest_ccci.swarm.stack import STACK_LABEL

# A credentials file of the runner's whose first line is not KEY=VALUE: a parse error quoting it
# would carry the canary.
NETRC = "machine git.example.org login ci password {canary}\n"
# A shell profile / dotenv file of the runner's: what interpolation would take in.
PROFILE = "export ENTRYPOINT_VERSION={canary}\nexport GREETING={canary}\nCCCI_CANARY={canary}\n"
# A compose file of the runner's (another enrollment's, say), broken on the canary's line.
HOST_COMPOSE = 'version: "3.8"\nservices: {{app: {{image: {canary} ]\n'
# Nine anchors of nine: 9**9 (387 million) nodes once expanded, from about 400 bytes.
ALIAS_BOMB = '\nx-a: &a ["l","l","l","l","l","l","l","l","l"]\n' + "".join(
    f"x-{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)
QUICK = 30  # seconds: a refusal or a bound ends a run this quickly


@pytest.fixture
def canary(lab, monkeypatch) -> Canary:
    """The runner's secret: in host files outside every checkout, and in the runs' environment."""
    made = Canary.make(lab.tmp / "runner-home")
    monkeypatch.setenv(CANARY_ENV, made.value)
    return made


def reports(lab) -> tuple[str, ...]:
    """The report options every attack run writes (JUnit XML, self-contained HTML)."""
    return (f"--junitxml={lab.tmp / 'junit.xml'}", f"--html={lab.tmp / 'report.html'}", "--self-contained-html")


def attack(lab, name: str, tiers: str, *extra: str):
    """Run recipe `name` for `tiers` with every report; the run, and how long it took."""
    started = time.monotonic()
    run = lab.run("--recipe", name, "--tiers", tiers, *reports(lab), *extra, timeout=300)
    return run, time.monotonic() - started


def artifacts(lab) -> tuple:
    return (lab.tmp / "junit.xml", lab.tmp / "report.html")


# 1. Host files and the runner's environment through symlinks ---------------------------------


def test_env_sample_symlinked_to_a_host_file_is_refused_unread(lab, canary):
    source = lab.enroll("atk-envlink")
    commit(source, links={".env.sample": str(canary.host_file("netrc", NETRC))})
    run, took = attack(lab, "atk-envlink", "lint")
    failed_saying(run.recipe("atk-envlink"), "lint", ".env.sample", "refused, not read")
    assert_no_canary(canary, run, *artifacts(lab))
    assert took < QUICK, took


def test_env_sample_symlinked_to_proc_self_environ_is_refused_unread(lab, canary):
    source = lab.enroll("atk-environ")
    # The recipe interpolates the first variable it would read into a compose key lint quotes.
    leak = "      - LEAK=${" + CANARY_ENV + "}\n"
    compose = hello_compose(("      - APP_REVISION=3\n", "      - APP_REVISION=3\n" + leak))
    commit(source, files={"compose.yml": compose}, links={".env.sample": "/proc/self/environ"})
    run, _ = attack(lab, "atk-environ", "lint")
    failed_saying(run.recipe("atk-environ"), "lint", ".env.sample", "refused, not read")
    assert_no_canary(canary, run, *artifacts(lab))


def test_abra_sh_symlinked_to_a_host_profile_is_refused_before_anything_is_created(lab, canary, assert_clean):
    source = lab.enroll("atk-abralink")
    commit(source, links={"abra.sh": str(canary.host_file("profile", PROFILE))})
    run, _ = attack(lab, "atk-abralink", "lint,install")
    rec = run.recipe("atk-abralink")
    failed_saying(rec, "lint", "abra.sh", "refused, not read")
    failed_saying(rec, "install", "abra.sh", "refused, not read")
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


# 2. Files outside the checkout through compose -----------------------------------------------


def env_file_entry(path: str) -> tuple[str, str]:
    return BEFORE_HEALTHCHECK, f"    env_file:\n      - {path}\n" + BEFORE_HEALTHCHECK


def test_env_file_through_a_dangling_symlink_chain_and_dotdot_is_refused(lab, canary, assert_clean):
    """Python resolves `hop` (20 levels deep, missing) before the `..`: still inside; docker's CLI
    joins lexically: `hop/..` is the checkout, and the rest climbs to / and the host file."""
    host = canary.host_file("dotenv", PROFILE)
    source = lab.enroll("atk-envfile")
    path = "hop/" + "../" * 20 + str(host).lstrip("/")
    commit(source, files={"compose.yml": hello_compose(env_file_entry(path))}, links={"hop": "x/" * 19 + "x"})
    run, _ = attack(lab, "atk-envfile", "lint,install")
    rec = run.recipe("atk-envfile")
    failed_saying(rec, "install", "env_file", "nothing created")
    assert rec["rungs"]["lint"]["status"] == "fail", rec["rungs"]["lint"]
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


def test_binary_env_file_path_is_refused(lab, canary, assert_clean):
    host = canary.host_file("dotenv", PROFILE)
    source = lab.enroll("atk-binenv")
    path = "!!binary " + base64.b64encode(str(host).encode()).decode()
    commit(source, files={"compose.yml": hello_compose(env_file_entry(path))})
    run, _ = attack(lab, "atk-binenv", "lint,install")
    rec = run.recipe("atk-binenv")
    failed_saying(rec, "install", "compose.yml")
    assert rec["rungs"]["lint"]["status"] == "fail", rec["rungs"]["lint"]
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


def test_compose_file_naming_a_file_outside_is_refused_by_lint_and_install(lab, canary, assert_clean):
    host = canary.host_file("other-compose.yml", HOST_COMPOSE)
    source = lab.enroll("atk-composefile")
    sample = (source / ".env.sample").read_text()
    outside = updir_to_root() + str(host).lstrip("/")
    commit(source, files={".env.sample": sample + f'\nCOMPOSE_FILE="compose.yml:{outside}"\n'})
    run, _ = attack(lab, "atk-composefile", "lint,install")
    rec = run.recipe("atk-composefile")
    failed_saying(rec, "lint", "COMPOSE_FILE")
    failed_saying(rec, "install", "COMPOSE_FILE")
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


def test_compose_yml_symlinked_out_is_refused_by_lint_and_install(lab, canary, assert_clean):
    host = canary.host_file("other-compose.yml", HOST_COMPOSE)
    source = lab.enroll("atk-composelink")
    commit(source, links={"compose.yml": str(host)})
    run, _ = attack(lab, "atk-composelink", "lint,install")
    rec = run.recipe("atk-composelink")
    failed_saying(rec, "lint", "compose.yml")
    failed_saying(rec, "install", "compose.yml")
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


# 3. Exhaustion from tiny inputs ----------------------------------------------------------------


def test_a_yaml_alias_bomb_ends_lint_and_install_quickly_with_a_clear_verdict(lab, canary, assert_clean):
    assert len(ALIAS_BOMB) < 450, len(ALIAS_BOMB)
    source = lab.enroll("atk-bomb")
    commit(source, files={"compose.yml": hello_compose() + ALIAS_BOMB})
    run, took = attack(lab, "atk-bomb", "lint,install")
    rec = run.recipe("atk-bomb")
    failed_saying(rec, "lint", "alias")
    failed_saying(rec, "install", "alias")
    assert took < QUICK, f"the alias bomb held the run {took:.0f}s"
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


def test_env_sample_symlinked_to_dev_zero_is_refused_quickly(lab, canary):
    source = lab.enroll("atk-zero")
    commit(source, links={".env.sample": "/dev/zero"})
    run, took = attack(lab, "atk-zero", "lint")
    failed_saying(run.recipe("atk-zero"), "lint", ".env.sample", "refused, not read")
    assert took < QUICK, f"/dev/zero held the run {took:.0f}s"
    assert_no_canary(canary, run, *artifacts(lab))


# 4. dockerd dialling out for the recipe ---------------------------------------------------------


def test_a_syslog_logging_driver_is_refused_and_the_engine_never_dials(lab, canary, assert_clean):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        logging = (
            f'    logging:\n      driver: syslog\n      options:\n        syslog-address: "tcp://127.0.0.1:{port}"\n'
        )
        source = lab.enroll("atk-syslog")
        commit(source, files={"compose.yml": hello_compose((BEFORE_HEALTHCHECK, logging + BEFORE_HEALTHCHECK))})
        run, _ = attack(lab, "atk-syslog", "install")
        listener.setblocking(False)
        try:
            peer = listener.accept()[1]
        except BlockingIOError:
            peer = None
    rec = run.recipe("atk-syslog")
    failed_saying(rec, "install", "nothing created", "syslog", "logging-driver")
    assert peer is None, f"the engine dialled the recipe's syslog address from {peer}"
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


# 5. One stack reaching another ------------------------------------------------------------------


@pytest.fixture
def victim_network(swarm):
    """Another stack's internal network (this test's own, removed at the end)."""
    stack = f"atkvictim{uuid.uuid4().hex[:8]}"
    name = f"{stack}_internal"
    swarm.api.create_network(name, driver="overlay", attachable=True, labels={STACK_LABEL: stack})
    yield name
    try:
        swarm.api.remove_network(name)
    except docker.errors.NotFound:
        pass


def test_an_external_network_of_another_stack_is_refused_and_none_is_created(lab, swarm, canary, victim_network):
    stray = f"atk-stray-{uuid.uuid4().hex[:8]}"
    compose = hello_compose(
        (APP_NETWORKS, APP_NETWORKS + "      - victim\n      - stray\n"),
        (
            TOP_NETWORKS,
            TOP_NETWORKS
            + f"  victim:\n    external: true\n    name: {victim_network}\n"
            + f"  stray:\n    external: true\n    name: {stray}\n",
        ),
    )
    source = lab.enroll("atk-extnet")
    commit(source, files={"compose.yml": compose})
    run, _ = attack(lab, "atk-extnet", "install")
    rec = run.recipe("atk-extnet")
    failed_saying(rec, "install", "nothing created", victim_network, "external-network")
    assert not swarm.api.networks(names=[stray]), f"the recipe's missing external network {stray} was created"
    attached = swarm.api.inspect_network(victim_network).get("Containers") or {}
    assert not attached, f"something joined the victim's network: {attached}"
    assert not leftovers(swarm, rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


def test_a_config_named_in_another_stacks_namespace_is_refused(lab, canary, assert_clean):
    """Deployed first, a config (or secret) with a victim's name would become the victim's own."""
    source = lab.enroll("atk-foreign")
    named = ("    name: ${STACK_NAME}_entrypoint_${ENTRYPOINT_VERSION}\n", "    name: victim_ccci_test_entrypoint_v1\n")
    commit(source, files={"compose.yml": hello_compose(named)})
    run, _ = attack(lab, "atk-foreign", "install")
    rec = run.recipe("atk-foreign")
    failed_saying(rec, "install", "nothing created", "victim_ccci_test_entrypoint_v1", "foreign-object")
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


# 6. Limits that do not limit ---------------------------------------------------------------------

GREEDY = (
    "    deploy:\n",
    "    deploy:\n      resources:\n        limits:\n          memory: 64G\n"
    "        reservations:\n          memory: 4M\n",
)
# The recipe's functional test, here only to see the service as the swarm runs it.
INSPECT_TEST = """
import json, os
import docker


def test_record_the_limit_as_deployed(app):
    spec = docker.from_env().api.inspect_service(app.stack + "_app")["Spec"]["TaskTemplate"]
    _, cgroup = app.exec("cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    seen = {"limit": spec.get("Resources", {}).get("Limits", {}).get("MemoryBytes"), "cgroup": cgroup.strip()}
    with open(os.environ["ATK_SEEN"], "w") as out:
        json.dump(seen, out)
"""


def test_a_64g_limit_is_clamped_to_the_runner_limit(lab, canary, monkeypatch, assert_clean):
    lab.set_ini(ccci_memory_limit_mb=256)
    seen_path = lab.tmp / "seen.json"
    monkeypatch.setenv("ATK_SEEN", str(seen_path))
    source = lab.enroll("atk-greedy")
    commit(source, files={"compose.yml": hello_compose(GREEDY)})
    (lab.recipes_dir / "atk-greedy" / "test_atk_greedy.py").write_text(INSPECT_TEST)
    run, _ = attack(lab, "atk-greedy", "install,functional")
    rec = run.recipe("atk-greedy")
    assert rec["rungs"]["install"]["status"] == "pass", rec["rungs"]
    assert seen_path.exists(), f"the functional test did not run: {rec['rungs']}\n{run.output[-3000:]}"
    seen = json.loads(seen_path.read_text())
    assert seen["limit"] == 256 << 20, f"the service was deployed with limit {seen['limit']}: {seen}"
    assert seen["cgroup"] == str(256 << 20), seen
    assert rec["policy"]["memory_limits"]["app"] == 256, rec["policy"]
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


def test_raised_ulimits_are_refused(lab, canary, assert_clean):
    source = lab.enroll("atk-ulimits")
    raised = "    ulimits:\n      nofile: {soft: 4194304, hard: 4194304}\n      rtprio: 99\n"
    commit(source, files={"compose.yml": hello_compose((BEFORE_HEALTHCHECK, raised + BEFORE_HEALTHCHECK))})
    run, _ = attack(lab, "atk-ulimits", "install")
    rec = run.recipe("atk-ulimits")
    failed_saying(rec, "install", "nothing created", "ulimits", "rtprio")
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab))


# 7. A container outliving teardown ---------------------------------------------------------------

STUBBORN = (
    ENTRYPOINT,
    '    entrypoint: ["sh", "-c", "trap \'\' TERM; /docker-entrypoint.sh & while true; do sleep 1; done"]\n'
    "    stop_grace_period: 8760h\n",
)


def test_a_container_ignoring_sigterm_is_removed_or_named_never_clean(lab, swarm, canary):
    source = lab.enroll("atk-stubborn")
    commit(source, files={"compose.yml": hello_compose(STUBBORN)})
    stack = stack_of("atk-stubborn", source)
    try:
        run, took = attack(lab, "atk-stubborn", "install")
        rec = run.recipe("atk-stubborn")
        assert rec["rungs"]["install"]["status"] == "pass", rec["rungs"]
        left = [
            c["Names"][0].lstrip("/")
            for c in swarm.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"})
        ]
        if rec["clean_teardown"]:
            assert not left, f"clean_teardown is true with the stack's containers still there: {left}"
        else:
            named = " ".join(rec["leftovers"])
            assert all(n in named for n in left), (left, rec["leftovers"])
        assert took < 90, f"the run took {took:.0f}s: it waited out the stop grace period"
        assert_no_canary(canary, run, *artifacts(lab))
    finally:  # this test's own stack's containers, by the stack name only it uses
        for container in swarm.api.containers(all=True, filters={"label": f"{STACK_LABEL}={stack}"}):
            try:
                swarm.api.remove_container(container["Id"], force=True)
            except docker.errors.NotFound:
                pass


# 8. Control characters and Markdown from an app's log lines ------------------------------------

MARK = "atk-logmark"
LOUD = (
    (
        ENTRYPOINT,
        '    entrypoint: ["sh", "-c", "printf \'\\\\033[31m'
        + MARK
        + "\\\\033[0m ![x](http://127.0.0.1/x) <img src=x onerror=alert(1)> **bold**\\\\n'; "
        + 'exec /docker-entrypoint.sh"]\n',
    ),
    ('"http://127.0.0.1:8080/health"]', '"http://127.0.0.1:8080/nowhere"]'),
    ("      retries: 5\n", "      retries: 1\n"),
)


def test_escapes_and_markdown_from_app_logs_reach_no_report_raw(lab, canary, assert_clean):
    source = lab.enroll("atk-loud", settings={"max_task_failures": 1, "deploy_timeout": 25})
    commit(source, files={"compose.yml": hello_compose(*LOUD)})
    run, _ = attack(lab, "atk-loud", "install")
    rec = run.recipe("atk-loud")
    failed_saying(rec, "install", MARK)  # the verdict carries the app's last log lines
    assert "\x1b" not in run.output, "an ESC from the app's log lines reached the terminal"
    for name, text in artifact_texts(run, *artifacts(lab)).items():
        assert "\x1b" not in text, f"an ESC from the app's log lines reached {name}"
    out = lab.tmp / "dashboard"
    subprocess.run(
        [sys.executable, "-m", "pytest_ccci", "report", str(lab.tmp / "results.json"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    summary = (out / "summary.md").read_text()
    # The row shows the verdict's start (WHY_LIMIT characters), escaped; the log lines come later.
    assert "| atk-loud | L0 |" in summary and "L1 install failed\\:" in summary, summary
    for raw in ("![x](http://127.0.0.1/x)", "<img src=x", "**bold**", "\x1b"):
        assert raw not in summary, f"{raw!r} reached summary.md unescaped"
    assert_clean(rec["domain"])
    assert_no_canary(canary, run, *artifacts(lab), out)


# The leak scan: the runner's own environment values are looked for in every artifact -------------

# An enrollment's own functional test (operator code, not the ref's) that fails quoting a token.
QUOTING_TEST = """
import os


def test_says_the_token(app):
    assert False, "the token is " + os.environ["CCCI_TEST_TOKEN"]
"""


def test_a_runner_token_in_an_artifact_makes_no_secret_leak_false(lab, canary, assert_clean):
    lab.enroll("atk-quote")
    (lab.recipes_dir / "atk-quote" / "test_atk_quote.py").write_text(QUOTING_TEST)
    run, _ = attack(lab, "atk-quote", "install,functional")
    rec = run.recipe("atk-quote")
    assert rec["rungs"]["functional"]["status"] == "fail", rec["rungs"]
    assert rec["no_secret_leak"] is False, "the runner's token reached the reports, yet no_secret_leak is true"
    assert_clean(rec["domain"])
