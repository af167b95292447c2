"""A picture of a deployed app: its front page rendered by headless Chromium, kept as a PNG.

The probe rule holds for the browser too: Chromium runs on the runner, but inside the network
namespace of the app's running task (`nsenter --target <task's pid> --net`), and dials 127.0.0.1
of that task only. The URL is `http://<domain><path>` and a host-resolver rule maps
`<domain>:80` to `127.0.0.1:<port>`, so the request's Host header is the route's domain as
traefik would pass it; every other name or address the page refers to resolves to nothing
(`MAP * ~NOTFOUND`), so no page can make the browser dial anything else.

That needs a local engine (the task's PID is a process of this host: the engine is reached on
its unix socket and /proc/<pid>/cgroup names the task's container), root (nsenter joins a
namespace), and Debian's /usr/bin/chromium and util-linux's /usr/bin/nsenter. Where one is
missing, `take_picture` says why once per process and gives None: a picture is a nicety, it
never changes a verdict. A browser that fails or hangs (bounded by `PICTURE_SECONDS`, then its
whole process group is killed) gives None and says so, for that app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.naming import service_name
from pytest_ccci.model.text import one_line
from pytest_ccci.swarm.connection import ENGINE_ERRORS
from pytest_ccci.swarm.inventory import running_container

CHROMIUM = "/usr/bin/chromium"  # Debian's `chromium` (bash scripts/setup-browser.sh)
NSENTER = "/usr/bin/nsenter"  # util-linux
PICTURE_SECONDS = 30.0  # a front page renders in about a second; this bounds a hung app or browser
REAP_SECONDS = 5.0  # past the bound and the kill, how long the output may take to close
WINDOW_SIZE = "1280,800"
# Debian's chromium as root, headless, quiet on the network: no sync, no updates, no QUIC, nothing
# in the background (the browser tests start it the same way).
QUIET_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHROMIUM_FLAGS = (
    *QUIET_CHROMIUM_FLAGS,
    "--no-proxy-server",  # a proxy in the environment would be an address other than 127.0.0.1
    "--hide-scrollbars",
)
# How docker-py spells an engine reached on its local unix socket.
LOCAL_ENGINE_URL = "http+docker://localhost"

_said: set[str] = set()  # the reasons already said in this process: each is said once


def picture_command(pid: int, domain: str, port: int, path: str, png: Path, profile: Path) -> list[str]:
    """The command line that renders `http://<domain><path>` into `png`, inside the network
    namespace of process `pid`, with 127.0.0.1:<port> as the only address it may dial."""
    path = path if path.startswith("/") else "/" + path
    return [
        NSENTER,
        f"--target={pid}",
        "--net",
        "--",
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW_SIZE}",
        f"--host-resolver-rules=MAP {domain}:80 127.0.0.1:{port}, MAP * ~NOTFOUND",
        f"--screenshot={png}",
        f"http://{domain}{path}",
    ]


def why_no_picture(client: docker.DockerClient) -> str | None:
    """Why no picture can be taken on this runner (None: it can)."""
    if not str(client.api.base_url).startswith(LOCAL_ENGINE_URL):
        return f"the Docker engine is remote ({client.api.base_url}): no picture of the apps (it needs a local engine)"
    if os.geteuid() != 0:
        return "not running as root: no picture of the apps (entering a task's network namespace needs root)"
    absent = [tool for tool in (CHROMIUM, NSENTER) if not os.access(tool, os.X_OK)]
    if absent:
        return f"{' and '.join(absent)} missing: no picture of the apps (bash scripts/setup-browser.sh)"
    return None


def task_pid(client: docker.DockerClient, service: str) -> int | None:
    """The host PID of `service`'s running task, when it is a process of this host (its
    /proc/<pid>/cgroup names the task's container); None otherwise."""
    container = running_container(client, service)
    pid = int((container.attrs.get("State") or {}).get("Pid") or 0)
    try:
        cgroup = Path(f"/proc/{pid}/cgroup").read_text() if pid > 0 else ""
    except OSError:
        return None
    return pid if container.id and container.id in cgroup else None


def take_picture(
    swarm_client: docker.DockerClient,
    stack: str,
    service: str,
    domain: str,
    port: int,
    path: str,
    dest: Path,
    say: Callable[[str], None] | None = None,
) -> Path | None:
    """The front page of `stack`'s `service` (`path`, with `domain` as Host, served on `port` in
    its task) as a PNG at `dest`; None, said through `say`, when none could be taken. Never
    raises for a picture that could not be taken: it is a nicety, never a verdict."""
    tell = say or (lambda line: None)
    reason = why_no_picture(swarm_client)
    if reason:
        _say_once(tell, reason)
        return None
    target = service_name(stack, service)
    try:
        pid = task_pid(swarm_client, target)
    except (RecipeError, *ENGINE_ERRORS) as exc:
        tell(f"no picture of {domain}: {one_line(exc)}")
        return None
    if pid is None:
        _say_once(tell, "the engine's task PIDs are not processes of this host: no picture of the apps")
        return None
    return _render(pid, domain, port, path, dest, tell)


def _render(pid: int, domain: str, port: int, path: str, dest: Path, tell: Callable[[str], None]) -> Path | None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.unlink(missing_ok=True)  # a PNG left by an earlier picture is never taken for this one
        with tempfile.TemporaryDirectory(prefix="ccci-chromium-") as profile:
            argv = picture_command(pid, domain, port, path, dest, Path(profile))
            code, out = _run_bounded(argv, PICTURE_SECONDS)
    except OSError as exc:  # an unwritable destination, say
        tell(f"no picture of {domain}: {one_line(exc)}")
        return None
    if code == 0 and dest.is_file() and dest.stat().st_size > 0:
        return dest
    said = "timed out" if code is None else f"exit {code}"
    tell(f"no picture of {domain}: chromium {said}: {one_line(_last_lines(out))}")
    return None


def _run_bounded(argv: list[str], timeout: float) -> tuple[int | None, str]:
    """(exit code, or None when the bound ended it; its output). Chromium starts helpers of its
    own (zygote, renderer) that may hold its output open past its exit: the whole process group
    it leads is killed after, whatever happened."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(proc.pid)
    if timed_out:
        try:  # a helper that left the group could hold the output open: it is not waited for
            out, _ = proc.communicate(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out = b""
    # Killed by its bound (a browser that exited in time, its helpers not, keeps its own code).
    code = None if timed_out and proc.returncode < 0 else proc.returncode
    return code, out.decode(errors="replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it ended, helpers and all


def _last_lines(out: str, lines: int = 3) -> str:
    # Chromium logs D-Bus complaints by the dozen on a server: its own last words say what failed.
    kept = [line for line in out.splitlines() if line.strip() and "dbus" not in line]
    return " | ".join(kept[-lines:]) or "no output"


def _say_once(tell: Callable[[str], None], reason: str) -> None:
    if reason not in _said:
        _said.add(reason)
        tell(reason)
