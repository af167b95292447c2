"""What every benchmark measure shares: bounded subprocesses with their memory sampled, the
swarm handle, the machine's contention, and labs of recipes enrolled from the examples.

Nothing here measures anything by itself; run.py and detection.py do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "scripts"))

import example_repos  # noqa: E402

from pytest_ccci.model import naming  # noqa: E402
from pytest_ccci.swarm.facade import Swarm, connect  # noqa: E402

PROC_TIMEOUT = 1200  # bound on any one pytest / script subprocess
LOCK_DIR = Path("/tmp/pytest-ccci/locks")  # the host's shared lock dir: deploy slots as in real use


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- processes -----------------------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Sum of VmRSS (bytes) of `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while being read
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def _finish(proc: subprocess.Popen, timeout: float) -> str:
    """The process's output; past `timeout`, SIGTERM (the plugin unwinds it like Ctrl-C and tears
    down), then SIGKILL."""
    try:
        out, _ = proc.communicate(timeout=timeout)
        return out or ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return (out or "") + f"\n[bench] killed after {timeout}s"


def run(
    args: list[str],
    cwd: Path,
    timeout: float = PROC_TIMEOUT,
    sample_memory: bool = False,
    env: dict[str, str] | None = None,
    keep: int = 25,
) -> dict[str, Any]:
    """Run a command in its own session; wall seconds, exit code, the last `keep` lines of its
    output, peak tree RSS."""
    start = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    peak = [0]
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.25)

    thread = threading.Thread(target=sampler, daemon=True)
    if sample_memory:
        thread.start()
    try:
        out = _finish(proc, timeout)
    finally:
        stop.set()
    wall = time.monotonic() - start
    if sample_memory:
        thread.join()
    return {
        "wall": round(wall, 3),
        "rc": proc.returncode,
        "tail": out.strip().splitlines()[-keep:],
        "peak_tree_rss_mib": round(peak[0] / 2**20, 1) if sample_memory else None,
    }


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


# -- the swarm -----------------------------------------------------------------------------------


def swarm() -> Swarm:
    return connect()


def contention() -> dict[str, Any]:
    """What else is on this machine right now: other stacks' services, load."""
    try:
        out = subprocess.run(
            ["docker", "service", "ls", "--format", "{{.Name}}"], capture_output=True, text=True, timeout=30
        ).stdout
        services = len(out.split())
    except (OSError, subprocess.SubprocessError):
        services = None  # unknown, not zero
    return {"time": time.strftime("%H:%M:%S"), "loadavg": os.getloadavg(), "other_services": services}


def cleanup_domains(sw: Swarm, domains: set[str]) -> list[str]:
    """Remove whatever is left of our own app domains (after a killed or failed run)."""
    left: list[str] = []
    for domain in sorted(domains):
        label = f"{naming.LABEL_DOMAIN}={domain}"
        for stack in sw.stack_of_domain(label) or {naming.stack_name(domain)}:
            left += sw.remove(stack, label)
    return left


def head_of(source: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True
    ).stdout.strip()


def domain_of(name: str, source: Path, variant: str = "") -> str:
    return naming.app_domain(name, head_of(source), "ccci.test", variant)


# -- recipes dirs --------------------------------------------------------------------------------


class Lab:
    """A private folder: recipes enrolled from the examples, each with its own source repo.

    Names are the benchmark's own (`benchhello`, `sweep-a`...), never a recipe enrolled in the
    project: the app domain comes from the name and the head commit, and the examples build
    with the same commits everywhere, so a `hello` here would share the lock of `tox -e demo`."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.recipes = tmp / "recipes"
        self.recipes.mkdir(parents=True)
        (tmp / "pytest.ini").write_text(
            "[pytest]\nccci_pull = never\n"
        )  # the examples' images are built here: never pulled
        self.domains: set[str] = set()

    def enroll(self, name: str, example: str) -> Path:
        assert not (ROOT / "recipes" / name).exists(), f"{name} is a project recipe: use a name of the benchmark's own"
        source = example_repos.build(EXAMPLES / example, self.tmp / "sources" / name)
        settings = yaml.safe_load((ROOT / "recipes" / example / "ccci.yml").read_text())
        settings["source"] = str(source)
        folder = self.recipes / name
        folder.mkdir()
        (folder / "ccci.yml").write_text(yaml.safe_dump(settings))
        for test in (ROOT / "recipes" / example).glob("test_*.py"):
            (folder / f"test_{name.replace('-', '_')}.py").write_text(test.read_text())
        # The install's domain, and the upgrade lifecycle's beside it.
        self.domains |= {domain_of(name, source), domain_of(name, source, naming.UPGRADE_VARIANT)}
        return source
