"""The deploy policy through the plugin (offline: `--tiers lint` deploys nothing): the ini's
host-wide allowances and memory bound, R018 failing the lint tier unless allowed, the policy
and the masked source in results.json."""

from __future__ import annotations

import pytest
from ccci_testkit import git, load_json


def enroll_binding_root(project, name: str, extra: str = "", bind: str = "/:/host") -> None:
    """A recipe whose head bind-mounts a host path (the host's `/` unless told) into its app."""
    project.enroll(name, extra=extra)
    src = project.pytester.path / "src" / name
    volumes = f"    volumes:\n      - {bind}\n"
    compose = (src / "compose.yml").read_text().replace("    image: x:1.0\n", "    image: x:1.0\n" + volumes)
    (src / "compose.yml").write_text(compose)
    git("commit", "--quiet", "-am", "bind the host root", cwd=src)


@pytest.mark.parametrize(
    ("ini", "expected"),
    [
        ("ccci_allow=bind", "ccci: ccci_allow: unknown kind 'bind' (kinds: bind-mount, engine-socket,"),
        ("ccci_memory_limit_mb=lots", "ccci: ccci_memory_limit_mb 'lots': give a whole number of MiB (at least 6)"),
        ("ccci_memory_limit_mb=2", "ccci: ccci_memory_limit_mb '2'"),
        ("ccci_pids_limit=many", "ccci: ccci_pids_limit 'many': give a whole number of processes (at least 1)"),
        ("ccci_pids_limit=0", "ccci: ccci_pids_limit '0': give a whole number of processes (at least 1)"),
        ("ccci_cpu_limit=all", "ccci: ccci_cpu_limit 'all': give a number of CPUs (at least 0.01)"),
        ("ccci_cpu_limit=nan", "ccci: ccci_cpu_limit 'nan': give a number of CPUs (at least 0.01)"),
        ("ccci_max_stop_grace=forever", "ccci: ccci_max_stop_grace 'forever': give a duration such as 60s or 2m"),
        ("ccci_max_stop_grace=5s", "ccci: ccci_max_stop_grace '5s': give a duration such as 60s or 2m"),
        ("ccci_networks=proxy edge!", "ccci: ccci_networks: 'edge!' is not a network name"),
    ],
    ids=[
        "unknown-kind",
        "not-a-number",
        "too-small",
        "pids-not-a-number",
        "pids-zero",
        "cpus-not-a-number",
        "cpus-nan",
        "grace-not-a-duration",
        "grace-below-swarms-default",
        "network-name",
    ],
)
def test_bad_policy_ini_is_one_usage_line(project, ini, expected):
    project.enroll("a")

    result = project.run("--tiers", "lint", "-o", ini)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.errlines if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("ERROR: " + expected.split(" (")[0])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_lint_fails_r018_on_a_bind_of_the_host_root(project):
    enroll_binding_root(project, "rooty")
    out = project.pytester.path / "results.json"

    result = project.run("--tiers", "lint", f"--ccci-json={out}")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lint = load_json(out)["recipes"]["rooty"]["rungs"]["lint"]
    assert lint["status"] == "fail"
    # `/` holds the engine's socket: as much as the socket itself, whatever a bind-mount allowance says
    assert "R018" in lint["reason"]
    assert "service app volumes: bind / -> /host (the runner's root file system" in lint["reason"]
    assert "allow: [{kind: engine-socket, service: app, reason: ...}] in ccci.yml" in lint["reason"]


def test_lint_passes_with_the_allowance_and_results_show_the_policy(project):
    allow = "allow:\n  - {kind: bind-mount, service: app, source: /srv/media, reason: reads host fixtures}\n"
    enroll_binding_root(project, "rooty", extra=allow, bind="/srv/media/films:/films")
    out = project.pytester.path / "results.json"

    result = project.run("--tiers", "lint", f"--ccci-json={out}", "-o", "ccci_allow=published-ports")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    record = load_json(out)["recipes"]["rooty"]
    assert record["rungs"]["lint"]["status"] == "pass"
    allowed = {"kind": "bind-mount", "service": "app", "reason": "reads host fixtures", "from": "ccci.yml"}
    assert record["settings"]["allow"] == [{**allowed, "source": "/srv/media"}]
    assert record["policy"] == {
        "allow": [
            {**allowed, "source": "/srv/media"},
            {"kind": "published-ports", "service": "*", "reason": "allowed host-wide", "from": "ini ccci_allow"},
        ],
        "memory_limit_mib": None,  # off by default
        "pids_limit": 4096,
        "cpu_limit": None,
        "max_stop_grace_seconds": 60.0,
        "infrastructure_networks": ["proxy"],
    }


def test_the_ini_allowance_alone_permits_a_kind_host_wide(project):
    enroll_binding_root(project, "rooty", bind="/srv/media:/media")

    result = project.run("--tiers", "lint", "-o", "ccci_allow=bind-mount", "-o", "ccci_memory_limit_mb=256")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()


def test_a_credentialed_source_is_masked_in_every_artifact(project):
    token = "glpat-s3cr3tT0kenValue"
    project.enroll("cred", source=f"https://ci:{token}@127.0.0.1:9/cred.git")  # loopback, port 9: refused
    out, junit, html = (project.pytester.path / f for f in ("results.json", "junit.xml", "report.html"))

    result = project.run("--tiers", "lint", f"--ccci-json={out}", f"--junitxml={junit}", f"--html={html}", "-rA", "-v")

    record = load_json(out)["recipes"]["cred"]
    assert record["rungs"]["lint"]["status"] in ("fail", "unver")  # the source could not be fetched
    assert "could not be" in record["rungs"]["lint"]["reason"]
    assert record["settings"]["source"] == "https://ci:********@127.0.0.1:9/cred.git"
    assert record["no_secret_leak"] is True
    texts = [result.stdout.str(), result.stderr.str(), out.read_text(), junit.read_text(), html.read_text()]
    assert not [t for t in texts if token in t]


def test_the_ini_bounds_and_infrastructure_networks_reach_the_policy(project):
    project.enroll("a")
    out = project.pytester.path / "results.json"
    ini = ("ccci_pids_limit=512", "ccci_cpu_limit=1.5", "ccci_max_stop_grace=2m", "ccci_networks=proxy edge")

    result = project.run("--tiers", "lint", f"--ccci-json={out}", *(x for o in ini for x in ("-o", o)))

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    policy = load_json(out)["recipes"]["a"]["policy"]
    assert (policy["pids_limit"], policy["cpu_limit"], policy["max_stop_grace_seconds"]) == (512, 1.5, 120.0)
    assert policy["infrastructure_networks"] == ["proxy", "edge"]


def test_empty_ini_bounds_are_off(project):
    project.enroll("a")
    out = project.pytester.path / "results.json"

    result = project.run(
        "--tiers", "lint", f"--ccci-json={out}", "-o", "ccci_pids_limit=", "-o", "ccci_max_stop_grace="
    )

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    policy = load_json(out)["recipes"]["a"]["policy"]
    assert (policy["pids_limit"], policy["cpu_limit"], policy["max_stop_grace_seconds"]) == (None, None, None)
