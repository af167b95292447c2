"""Commands run inside a service's running task: bounded in time, and stopped through the engine.

A command is bounded twice over: inside the container by `timeout` (busybox and coreutils both
have it) where the image has one, and from here in any case. A command still running past its
bound is hung: it is killed inside its container by a second exec, which reads the pid the
first one recorded and kills its process group. Never by a pid the daemon reports: with a
remote DOCKER_HOST, or a runner in a container, that number means another local process. If
the kill cannot be done in the container, the container itself is killed through the API, and
the result says so.

A command's output is bounded too: it is read as it streams, and only its last
`OUTPUT_BOUND_BYTES` are kept (prefixed with how many bytes were cut), so a command printing
without end costs the runner that bound, not its memory.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

# The bound of a command whose caller names none: an exec here is a probe, a hook or a file
# operation, each done in seconds when all is well.
DEFAULT_TIMEOUT_SECONDS = 60.0
# Past its bound, a command has this long to end before it counts as hung: the in-container
# `timeout` has ended it by then, if the image has one and the command heeds SIGTERM.
HUNG_GRACE_SECONDS = 5.0
# After the in-container kill, how long the exec has to end before its container is killed.
KILL_GRACE_SECONDS = 5.0
# How the in-container `timeout` ends a command: coreutils says 124, busybox's TERM gives 143.
TIMEOUT_EXIT_CODES = (124, 143)
TIMED_OUT = 124
# How much of a command's output is kept (its tail): enough for any hook's or probe's error,
# and a verdict shows one line of it anyway.
OUTPUT_BOUND_BYTES = 1024 * 1024
# Where the wrapper records its pid, named after a per-exec token (a file, because docker
# reports the exec's pid only in the host's pid namespace).
PID_FILE = "/tmp/.ccci-exec-$0"

# sh -c WRAPPER <token> <bound> <command...>. The exec's first process leads its own process
# group (runc starts each exec in a new session), so the command and all it starts share it.
# The command gets the exec's stderr as fd 3 -> 2; the wrapper's own stderr is /dev/null, or its
# "Terminated" for a command the bound ended would read as the command's output.
WRAPPER = f"""f={PID_FILE}; bound=$1; shift
{{ echo $$ > "$f"; }} 2>/dev/null
if command -v timeout >/dev/null 2>&1; then set -- timeout "$bound" "$@"; fi
exec 3>&2 2>/dev/null
(exec "$@" 2>&3 3>&-)
code=$?
rm -f "$f"
exit $code"""
# sh -c KILLER <token>: kill the wrapper's process group (or the wrapper, if it leads none).
KILLER = f"""f={PID_FILE}
{{ read pid < "$f"; }} 2>/dev/null || exit 3
rm -f "$f" 2>/dev/null
kill -9 -"$pid" 2>/dev/null || kill -9 "$pid"
"""


def ended_by_timeout(code: int | None, elapsed: float, bound: float) -> bool:
    """Whether the in-container `timeout` ended the command: its exit code, and the command ran
    up to the bound. An app that exits 143 (or 124) on its own before then is that exit code."""
    return code in TIMEOUT_EXIT_CODES and elapsed >= bound


def execute(api: docker.APIClient, container: Container, cmd: list[str] | str, timeout: float) -> tuple[int, str]:
    """Run `cmd` (argv, or a string for `sh -c`) in the container; (exit code, combined output).

    A command that the bound ended, or that hung past it, is exit 124 "timed out after Ns"."""
    argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    bound = max(1, int(timeout))
    token = secrets.token_hex(8)
    exec_id = api.exec_create(container.id, ["sh", "-c", WRAPPER, token, str(bound), *argv])["Id"]
    run = _ExecRun(api, exec_id)
    if not run.ended_within(timeout + HUNG_GRACE_SECONDS):
        return TIMED_OUT, f"timed out after {timeout:.0f}s" + _stop_hung(api, container, token, run)
    code, out = run.result()
    if ended_by_timeout(code, run.elapsed, bound):
        return TIMED_OUT, f"timed out after {timeout:.0f}s" + (f": {out.strip()}" if out.strip() else "")
    return code if code is not None else -1, out


class OutputTail:
    """The last `bound` bytes of a stream fed chunk by chunk, and how many before them were cut.
    It holds at most twice the bound (plus a chunk), whatever the stream's length.

    A cut tail starts at a line (else a word) boundary: no word, a secret say, is kept cut in
    half, where masking (which matches whole values) would miss the half shown."""

    def __init__(self, bound: int | None = None):
        self.bound = OUTPUT_BOUND_BYTES if bound is None else bound  # read at use: tests lower it
        self.cut = 0
        self._buf = bytearray()
        self._after_space = True  # whether the byte before the kept tail is whitespace (or none)

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        if len(self._buf) > 2 * self.bound:  # trimmed now and then, not at every chunk
            self._drop(len(self._buf) - self.bound)

    def _drop(self, count: int) -> None:
        if count:
            self._after_space = self._buf[count - 1 : count].isspace()
            del self._buf[:count]
            self.cut += count

    def text(self) -> str:
        """The kept tail as text, after a note of the bytes cut before it (when any were)."""
        if len(self._buf) > self.bound:
            self._drop(len(self._buf) - self.bound)
        if not self._after_space:
            self._drop(_to_boundary(self._buf))
        tail = self._buf.decode(errors="replace")
        return f"[... {self.cut} bytes cut] {tail}" if self.cut else tail


def _to_boundary(buf: bytearray) -> int:
    """How many leading bytes of `buf` end at its first line break, else its first whitespace
    (all of it when it has none)."""
    line = buf.find(b"\n")
    if line >= 0:
        return line + 1
    space = re.search(rb"\s", buf)
    return space.end() if space else len(buf)


class _ExecRun:
    """An exec started on a thread of its own, so the caller can stop waiting for it."""

    def __init__(self, api: docker.APIClient, exec_id: str):
        self.api = api
        self.exec_id = exec_id
        self.output = OutputTail()
        self.error: BaseException | None = None
        self.elapsed = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            # Streamed, so that only the tail is ever held: the rest is dropped as it comes.
            for chunk in self.api.exec_start(self.exec_id, stream=True):
                self.output.feed(chunk)
        except Exception as exc:  # raised again in the caller's thread, by result()
            self.error = exc
        self.elapsed = time.monotonic() - started

    def ended_within(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def result(self) -> tuple[int | None, str]:
        if self.error is not None:
            raise self.error
        code = self.api.exec_inspect(self.exec_id).get("ExitCode")
        return code, self.output.text()


def _stop_hung(api: docker.APIClient, container: Container, token: str, run: _ExecRun) -> str:
    """Stop a hung exec; what had to be done, for its message ("" when the kill inside worked)."""
    if _kill_inside(api, container, token) and run.ended_within(KILL_GRACE_SECONDS):
        return ""
    try:
        container.kill()
    except docker.errors.NotFound:
        return ""  # the container is gone already, and the command with it
    return f"; it could not be stopped inside container {container.short_id}, so the container was killed"


def _kill_inside(api: docker.APIClient, container: Container, token: str) -> bool:
    """Kill the exec that recorded its pid under `token`, by a second exec in the same container."""
    try:
        killer: dict[str, Any] = api.exec_create(container.id, ["sh", "-c", KILLER, token])
        api.exec_start(killer["Id"])
        return api.exec_inspect(killer["Id"]).get("ExitCode") == 0
    except docker.errors.APIError:
        return False
