"""Untrusted refs, round two (issue 18): what an app, a recipe or the runner's host can slip past.

- teardown is judged by what is left (swarm/teardown.py): a task container that outlives its
  service is force-removed and said so, one that cannot be is named, and a removal wait that
  timed out never reads as clean; the janitor (run/janitor.py) finds such containers by their
  stack, traced through its own lock dir;
- the runner's own images are never pulled (swarm/helper.py runner_image, swarm/images.py);
- git runs with nothing from outside (run/repo.py): no global filter, hook or protocol;
- an app's text is inert: no terminal escapes (model/text.py), no Markdown (report/summary.py);
- the leak scan looks for the runner's own secret-shaped environment values (model/secrets.py,
  run/results.py, plugin/reporter.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import docker.errors
import pytest

from pytest_ccci.errors import InfraError
from pytest_ccci.model.secrets import runner_secrets
from pytest_ccci.model.text import one_line
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict
from pytest_ccci.plugin.reporter import CcciReporter
from pytest_ccci.report.summary import markdown_text, summary
from pytest_ccci.run import janitor
from pytest_ccci.run.locks import app_lock_path
from pytest_ccci.run.repo import GIT_CONFIG, git_env
from pytest_ccci.run.results import Results
from pytest_ccci.swarm import images, teardown
from pytest_ccci.swarm.helper import PROBE_IMAGE, runner_image

STACK = "stub-abc123_ccci_test"
STACK_FILTER = f"com.docker.stack.namespace={STACK}"
TASK = {"Id": "c0ffee" * 10, "Names": [f"/{STACK}_app.1.xyz"], "State": "running"}

# -- teardown truth ----------------------------------------------------------------------------


class QuietFeed:
    """An event feed that never wakes anyone (the removal loop's tries are bounded by its deadline)."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __enter__(self) -> QuietFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def drain(self) -> list:
        return []

    def wait(self, timeout: float) -> None:
        pass


class StackApi:
    """A removed stack whose task container is still running (it ignores SIGTERM); it carries
    only swarm's stack label. `removable`: whether a forced removal works."""

    def __init__(self, removable: bool = True) -> None:
        self.removable = removable
        self.task_containers = [dict(TASK)]
        self.forced: list[str] = []
        self.with_volumes: list[str] = []  # forced with their anonymous volumes (v=True)

    def services(self, filters=None):
        return []

    def containers(self, all=False, filters=None):
        return list(self.task_containers) if filters == {"label": STACK_FILTER} else []

    def remove_container(self, cid, force=False, v=False):
        assert force, "a running container goes only by force"
        if not self.removable:
            raise docker.errors.APIError("removal of container is already in progress")
        self.forced.append(cid)
        if v:
            self.with_volumes.append(cid)
        self.task_containers = [c for c in self.task_containers if c["Id"] != cid]

    def networks(self, filters=None, names=None):
        return []

    def volumes(self, filters=None):
        return {"Volumes": []}

    def secrets(self, filters=None):
        return []

    def configs(self, filters=None):
        return []

    def remove_network(self, key):
        raise AssertionError("nothing else of the stack is listed")

    remove_volume = remove_secret = remove_config = remove_network


@pytest.fixture
def stuck_wait(monkeypatch):
    """The removal wait times out while the stack has containers, and is done once it has none."""
    monkeypatch.setattr(teardown, "EventFeed", QuietFeed)
    monkeypatch.setattr(teardown, "wait_gone", lambda api, stack, timeout, removed: not api.task_containers)


def test_a_container_outliving_its_service_is_force_removed_and_said(stuck_wait):
    api, said = StackApi(), []
    left = teardown.remove(api, STACK, "ccci.domain=stub.test", timeout=0.2, say=said.append)
    assert api.forced == [TASK["Id"]]
    assert api.with_volumes == [TASK["Id"]], "its anonymous volumes must go with it"
    assert left == []
    assert len(said) == 1 and said[0].startswith(f"force-removed container {STACK}_app.1.xyz of stack {STACK}")


def test_a_container_that_cannot_be_removed_is_a_named_leftover_never_clean(stuck_wait):
    api, said = StackApi(removable=False), []
    left = teardown.remove(api, STACK, "ccci.domain=stub.test", timeout=0.2, say=said.append)
    assert f"container {STACK}_app.1.xyz" in left
    assert any("timed out" in x or "did not finish" in x for x in left), left
    assert "could not be force-removed" in said[0]


def test_a_removal_wait_that_timed_out_is_never_clean_even_with_nothing_listed(monkeypatch):
    monkeypatch.setattr(teardown, "EventFeed", QuietFeed)
    monkeypatch.setattr(teardown, "wait_gone", lambda *args: False)  # tasks that never go
    api = StackApi()
    api.task_containers = []
    left = teardown.remove(api, STACK, "ccci.domain=stub.test", timeout=0.2)
    assert left == [f"tasks of {STACK} (their removal did not finish within 0s)"]


def test_leftovers_name_task_containers_by_the_stack_label():
    assert teardown.leftovers(StackApi(), "ccci.domain=stub.test", STACK) == [f"container {STACK}_app.1.xyz"]


# -- the janitor -------------------------------------------------------------------------------


def test_the_janitor_traces_an_orphaned_container_through_its_own_lock_files(tmp_path):
    domain = "stub-abc123.ccci.test"  # its stack is STACK
    app_lock_path(tmp_path, domain).touch()
    app_lock_path(tmp_path, "live-000000.ccci.test").touch()
    by_stack = {
        STACK: {f"container {TASK['Id'][:12]}"},
        "live-000000_ccci_test": {"container c1", "service live-000000_ccci_test_app"},  # a live service
        "other_stack": {"container c2"},  # no lock file here: another lock dir's, or nobody's
    }
    assert janitor.known_domains(tmp_path) == ["live-000000.ccci.test", domain]
    assert janitor.orphaned_containers(by_stack, janitor.known_domains(tmp_path)) == {
        domain: {f"container {TASK['Id'][:12]}"}
    }


def test_a_stack_with_networks_and_no_service_yet_is_no_orphan(tmp_path):
    """`docker stack deploy` makes networks, secrets and configs before services."""
    by_stack = {STACK: {f"network {STACK}_default", f"secret {STACK}_pw_v1"}}
    assert janitor.orphaned_containers(by_stack, ["stub-abc123.ccci.test"]) == {}


class JanitorSwarm:
    def __init__(self) -> None:
        self.removed: list[tuple[str, str]] = []

    def labelled(self, label_key, also=None):
        return {STACK: {"container c0ffeec0ffee"}} if label_key == "com.docker.stack.namespace" else {}

    def stack_of_domain(self, label_filter):
        return set()

    def remove(self, stack, label_filter):
        self.removed.append((stack, label_filter))
        return []


def test_the_janitor_reaps_an_orphaned_task_container_when_its_lock_is_free(tmp_path):
    domain = "stub-abc123.ccci.test"
    app_lock_path(tmp_path, domain).touch()
    swarm = JanitorSwarm()
    reaped = janitor.reap(SimpleNamespace(swarm=swarm, lock_dir=tmp_path))
    assert swarm.removed == [(STACK, f"ccci.domain={domain}")]
    assert reaped == ["container c0ffeec0ffee"]


# -- the runner's own images -------------------------------------------------------------------


@pytest.mark.parametrize("image", [PROBE_IMAGE, f"docker.io/{PROBE_IMAGE}", f"index.docker.io/{PROBE_IMAGE}"])
def test_the_probe_image_is_the_runners_own(image):
    assert runner_image(image)


@pytest.mark.parametrize("image", ["ccci/probe:2", "example.org/ccci/probe:1", "ccci/busybox:1.35.0", "nginx"])
def test_other_images_are_not_the_runners(image):
    assert not runner_image(image)


def test_the_runners_own_image_is_never_pulled():
    class NoEngine:
        def __getattr__(self, name):
            raise AssertionError(f"the engine was asked ({name}) to pull the runner's own image")

    with pytest.raises(InfraError, match=r"ccci/probe:1 is the runner's own image and is never pulled"):
        images.pull(NoEngine(), PROBE_IMAGE, lambda event: None)


# -- git with nothing from outside -------------------------------------------------------------


def plain_git(*args: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.fixture
def hostile_host(tmp_path):
    """A HOME whose global git config sets a smudge filter and a hooks dir that each leave a
    marker, and a source whose .gitattributes asks for that filter. (env, source, markers)"""
    home, markers = tmp_path / "home", tmp_path / "markers"
    hooks = home / "hooks"
    hooks.mkdir(parents=True)
    markers.mkdir()
    (hooks / "post-checkout").write_text(f"#!/bin/sh\ntouch {markers}/hook\n")
    (hooks / "post-checkout").chmod(0o755)
    (home / ".gitconfig").write_text(
        f'[filter "evil"]\n\tsmudge = "touch {markers}/filter; cat"\n\trequired = true\n'
        f"[core]\n\thooksPath = {hooks}\n[protocol]\n\tallow = always\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    env |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(hooks)}
    source, builder = tmp_path / "source", tmp_path / "builder"
    source.mkdir()
    builder.mkdir()
    # The source is made by a git with a config of its own: the hostile one is for the clones.
    clean = {"PATH": os.environ["PATH"], "HOME": str(builder), "GIT_CONFIG_NOSYSTEM": "1"}
    author = ["-c", "user.email=t@example.org", "-c", "user.name=t"]
    plain_git("init", "-q", "-b", "main", cwd=source, env=clean)
    (source / ".gitattributes").write_text("* filter=evil\n")
    (source / "compose.yml").write_text("services: {}\n")
    plain_git("add", ".", cwd=source, env=clean)
    plain_git(*author, "commit", "-q", "-m", "x", cwd=source, env=clean)
    return env, source, markers


def test_the_hostile_host_config_does_run_in_plain_git(hostile_host, tmp_path):
    """The control: without the hardening, the host's filter and hook do run on a clone."""
    env, source, markers = hostile_host
    plain_git("clone", "-q", str(source), str(tmp_path / "plain"), cwd=tmp_path, env=env)
    assert sorted(p.name for p in markers.iterdir()) == ["filter", "hook"]


CHECKOUT_SCRIPT = """
import sys
from pathlib import Path
from pytest_ccci.run.repo import RecipeRepo
repo = RecipeRepo("r", sys.argv[1], Path(sys.argv[2]) / "cache")
repo.fetch()
checkout = repo.checkout(repo.resolve(None), Path(sys.argv[2]) / "work")
print((checkout.path / "compose.yml").read_text(), end="")
"""


def test_git_runs_no_filter_or_hook_from_the_hosts_config(hostile_host, tmp_path):
    env, source, markers = hostile_host
    out = subprocess.run(
        [sys.executable, "-c", CHECKOUT_SCRIPT, str(source), str(tmp_path / "run")],
        env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "services: {}\n"  # checked out for real
    assert not list(markers.iterdir()), "the host's git filter or hook ran"


def test_an_ext_transport_source_never_runs(hostile_host, tmp_path):
    env, _source, markers = hostile_host
    script = CHECKOUT_SCRIPT.replace("print(", "0 and print(")
    out = subprocess.run(
        [sys.executable, "-c", script, f"ext::sh -c touch% {markers}/ext", str(tmp_path / "run")],
        env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "RecipeError" in out.stderr and "uses the ext transport" in out.stderr, out.stderr
    assert not list(markers.iterdir()), "an ext:: source ran its command"


def test_git_env_drops_the_runners_git_variables_but_ssh():
    env = git_env({"PATH": "/bin", "GIT_CONFIG_PARAMETERS": "'core.hookspath'='/x'", "GIT_SSH_COMMAND": "ssh -i k"})
    assert "GIT_CONFIG_PARAMETERS" not in env and env["GIT_SSH_COMMAND"] == "ssh -i k"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert not os.listdir(env["HOME"])
    assert "protocol.allow=never" in GIT_CONFIG and "core.hooksPath=/dev/null" in GIT_CONFIG


# -- inert text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", "click"),  # an OSC 8 hyperlink
        ("\x1b]0;new title\x1b\\after", "after"),
        ("done\x1b[2K\x1b[1Aok", "doneok"),  # erase line, cursor up
        ("\x9b2Jwiped", "wiped"),  # C1 CSI
        ("back\x08\x08space\x00\x7f", "backspace"),
        ("line\rover", "line over"),
        ("\u202eevil", "evil"),
        ("café — naïve", "café — naïve"),
    ],
)
def test_one_line_keeps_no_escape_or_control_character(raw, shown):
    assert one_line(raw) == shown


def test_markdown_text_renders_as_its_characters():
    text = markdown_text("![x](https://evil.example/i.png) <img src=x> | **b** `c` [l](u) # h")
    for live in ("![", "](", "<img", "**", " `c`", " [l]"):
        assert live not in text, f"{live!r} survives in {text!r}"
    assert text == (r"\!\[x\]\(https\://evil.example/i.png\) &lt;img src=x&gt; \| \*\*b\*\* \`c\` \[l\]\(u\) \# h")


def test_summary_escapes_an_apps_words_in_reasons():
    entry = {"level": 1, "why_not_higher": "L2 install failed: log said ![pwn](https://evil.example/x.png)"}
    doc = {"recipes": {"evil_name": entry}, "run_id": "r", "finished": "t"}
    text = summary(doc, None, "Levels")
    assert "![pwn](" not in text and "evil\\_name" in text
    assert r"\!\[pwn\]\(https\://evil.example/x.png\)" in text


# -- the leak scan of the runner's environment ------------------------------------------------

CANARY = "canary-Token-7f3a9c1e5b"


def test_runner_secrets_are_secret_shaped_long_values_not_paths():
    environ = {
        "CCCI_TEST_TOKEN": CANARY,
        "GITHUB_TOKEN": "ghp_" + "x" * 36,
        "CI_JOB_TOKEN": "glcbt-64_abcdefghijkl",
        "AWS_ACCESS_KEY_ID": "AKIAABCDEFGHIJKLMNOP",
        "DEPLOY_PASSWORD": "short",  # too short to be told from chance
        "SSH_PRIVATE_KEY_FILE": "/home/ci/.ssh/id_ed25519",  # a place, not a secret
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "HOME": "/root/with/a/long/path",
        "GREETING": "Hello from CI, friends",
    }
    assert runner_secrets(environ) == sorted(
        [CANARY, "ghp_" + "x" * 36, "glcbt-64_abcdefghijkl", "AKIAABCDEFGHIJKLMNOP"]
    )


def report(text: str) -> SimpleNamespace:
    verdict = TierVerdict("hello", "functional", Status.PASS)  # knows no secret of its own
    return SimpleNamespace(
        nodeid="recipes/hello/test_hello.py::test_x",
        when="call",
        failed=False,
        duration=0.1,
        longrepr=None,
        sections=[("Captured stdout call", text)],
        **{REPORT_ATTRIBUTE: verdict.to_wire()},
    )


def test_a_runner_token_a_functional_test_prints_is_a_leak(monkeypatch):
    monkeypatch.setenv("CCCI_TEST_TOKEN", CANARY)
    results = Results(["hello"], TIERS, "r")
    CcciReporter(SimpleNamespace(), SimpleNamespace(options=SimpleNamespace(json_path=None)), results)
    results.add(report("all good"))
    assert results.as_dict()["recipes"]["hello"]["no_secret_leak"] is True
    results.add(report(f"the env says {CANARY}"))
    assert results.as_dict()["recipes"]["hello"]["no_secret_leak"] is False


def test_a_runner_token_in_an_artifact_is_a_leak(monkeypatch):
    monkeypatch.setenv("CI_JOB_TOKEN", CANARY)
    results = Results(["hello"], TIERS, "r")
    CcciReporter(SimpleNamespace(), SimpleNamespace(options=SimpleNamespace(json_path=None)), results)
    results.add_artifact(json.dumps({"html": f"<td>{CANARY}</td>"}))
    assert results.as_dict()["recipes"]["hello"]["no_secret_leak"] is False
