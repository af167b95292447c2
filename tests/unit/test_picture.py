"""Install's picture of an app (swarm/picture.py) without a swarm: the command line that renders
it inside the task's network namespace, the reasons a runner cannot take one (each said once),
the bound on the browser and its helpers; and how the dashboard (report/cli.py, pages.py,
summary.py) copies, shows and refuses pictures named by a results.json."""

from __future__ import annotations

import json
import os
import struct
import time
import types
import zlib
from pathlib import Path

import pytest
from report_docs import doc, entry

from pytest_ccci.report.cli import build
from pytest_ccci.report.pages import picture_link
from pytest_ccci.swarm import picture


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, grey) PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def client(base_url: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(api=types.SimpleNamespace(base_url=base_url))


# -- the command line ----------------------------------------------------------------------


def test_the_browser_runs_in_the_tasks_network_namespace_and_dials_only_its_loopback(tmp_path):
    argv = picture.picture_command(4242, "hello.ccci.test", 8080, "/", tmp_path / "p.png", tmp_path / "profile")
    assert argv[:5] == ["/usr/bin/nsenter", "--target=4242", "--net", "--", "/usr/bin/chromium"]
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-proxy-server",
    ):
        assert flag in argv
    assert f"--user-data-dir={tmp_path / 'profile'}" in argv
    assert "--window-size=1280,800" in argv
    assert f"--screenshot={tmp_path / 'p.png'}" in argv
    # The URL keeps the route's domain as its host (so Host is exactly the domain, as traefik
    # passes it); the one mapping leads to the task's 127.0.0.1 and every other name to nothing.
    assert "--host-resolver-rules=MAP hello.ccci.test:80 127.0.0.1:8080, MAP * ~NOTFOUND" in argv
    assert argv[-1] == "http://hello.ccci.test/"


def test_a_path_without_its_slash_gets_one(tmp_path):
    argv = picture.picture_command(1, "a.test", 80, "health", tmp_path / "p.png", tmp_path)
    assert argv[-1] == "http://a.test/health"


# -- what a runner lacks, said once ----------------------------------------------------------


def test_a_remote_engine_gives_no_picture_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setattr(picture, "_said", set())
    said: list[str] = []
    remote = client("https://swarm.example:2376")
    for _ in range(3):
        got = picture.take_picture(remote, "s", "app", "a.test", 80, "/", tmp_path / "p.png", say=said.append)
        assert got is None
    assert len(said) == 1 and "remote" in said[0], said
    assert not (tmp_path / "p.png").exists()


def test_a_missing_browser_is_named(monkeypatch):
    monkeypatch.setattr(picture.os, "geteuid", lambda: 0)
    monkeypatch.setattr(picture, "CHROMIUM", "/nonexistent/chromium")
    reason = picture.why_no_picture(client(picture.LOCAL_ENGINE_URL))
    assert reason is not None and "/nonexistent/chromium missing" in reason


def test_not_root_is_named(monkeypatch):
    monkeypatch.setattr(picture.os, "geteuid", lambda: 1000)
    reason = picture.why_no_picture(client(picture.LOCAL_ENGINE_URL))
    assert reason is not None and "root" in reason


def test_a_pid_that_is_not_the_tasks_container_is_refused(monkeypatch):
    """The engine's PID of a task is trusted only when this host's /proc says it is that
    container's process (a runner in a container, say, sees other processes by those numbers)."""
    for pid in (os.getpid(), 0):
        container = types.SimpleNamespace(id="f" * 64, attrs={"State": {"Pid": pid}})
        monkeypatch.setattr(picture, "running_container", lambda client, service, c=container: c)
        assert picture.task_pid(object(), "s_app") is None


# -- the bound -------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def gone_soon(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


def test_a_hung_browser_is_ended_with_its_helpers_at_the_bound():
    started = time.monotonic()
    code, out = picture._run_bounded(["sh", "-c", "sleep 60 & echo $!; wait"], timeout=0.5)
    assert code is None
    assert time.monotonic() - started < 10
    assert gone_soon(int(out.split()[0])), "the browser's helper outlived the bound"


def test_helpers_left_behind_by_a_browser_that_exited_are_ended_and_its_exit_kept():
    code, out = picture._run_bounded(["sh", "-c", "sleep 60 & echo $!; exit 0"], timeout=0.5)
    assert code == 0
    assert gone_soon(int(out.split()[0]))


def test_a_browser_that_wrote_no_picture_gives_none_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(picture, "picture_command", lambda *args: ["sh", "-c", "echo cannot render; exit 3"])
    said: list[str] = []
    assert picture._render(1, "a.test", 80, "/", tmp_path / "p.png", said.append) is None
    assert said == ["no picture of a.test: chromium exit 3: cannot render"]


# -- the dashboard ---------------------------------------------------------------------------


def results_with_picture(folder: Path, picture_path: str) -> Path:
    hello = entry("hello") | {"picture": picture_path}
    path = folder / "results.json"
    path.write_text(json.dumps(doc({"hello": hello, "other": entry("other")})))
    return path


def test_the_dashboard_copies_the_picture_and_shows_it_on_the_recipe_page_and_summary(tmp_path):
    run = tmp_path / "run"
    (run / "pictures").mkdir(parents=True)
    (run / "pictures" / "hello_stack.png").write_bytes(png_bytes())
    out = tmp_path / "site"
    build([results_with_picture(run, "pictures/hello_stack.png")], out)

    assert (out / "pictures" / "hello.png").read_bytes() == png_bytes()
    merged = json.loads((out / "results.json").read_text())
    assert merged["recipes"]["hello"]["picture"] == "pictures/hello.png"
    assert "picture" not in merged["recipes"]["other"]
    page = (out / "recipes" / "hello.html").read_text()
    assert '<img id="picture" class="picture" src="../pictures/hello.png"' in page
    assert 'id="picture"' not in (out / "recipes" / "other.html").read_text()
    assert "- hello: ![hello: its front page](pictures/hello.png)" in (out / "summary.md").read_text()

    # The dashboard's own results.json builds the same dashboard again, in place.
    build([out / "results.json"], out)
    assert (out / "pictures" / "hello.png").read_bytes() == png_bytes()


def test_a_named_file_that_is_gone_or_no_png_is_never_published(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the dashboard")
    for named in (str(secret), "pictures/gone.png", str(tmp_path)):
        out = tmp_path / "site"
        build([results_with_picture(tmp_path, named)], out)
        assert not (out / "pictures").exists(), named
        assert "picture" not in json.loads((out / "results.json").read_text())["recipes"]["hello"]
        assert 'id="picture"' not in (out / "recipes" / "hello.html").read_text()
        assert "Front pages" not in (out / "summary.md").read_text()


@pytest.mark.parametrize("named", ["http://example.com/x.png", "/etc/x.png", "../x.png", "a/../../x.png", "", 3])
def test_a_page_links_only_to_a_picture_inside_the_dashboard(named):
    assert picture_link({"picture": named}, "../") is None


def test_a_picture_link_is_quoted():
    assert picture_link({"picture": "pictures/a b(1).png"}, "../") == "../pictures/a%20b%281%29.png"
