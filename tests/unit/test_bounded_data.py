"""The runner stays bounded whatever an app prints or stores: a command's output keeps only its
tail, a backup streams to disk under a bound in all, and a restore streams from disk.

Engines are fakes here, and their streams endless where that proves the bound: an unbounded
reader would never return, or would run out of memory, on them."""

from __future__ import annotations

import itertools
import tarfile
import threading
import tracemalloc
from types import SimpleNamespace

import docker.errors
import pytest

from pytest_ccci.errors import InfraError, RecipeError
from pytest_ccci.run import data
from pytest_ccci.run.data import TaskData, new_backup
from pytest_ccci.swarm import execution
from pytest_ccci.swarm.archives import copy_archive, get_archive, tar_bytes
from pytest_ccci.swarm.execution import KILLER, OutputTail, execute

CHUNK = 64 * 1024


def endless(chunk: bytes = b"x" * CHUNK):
    """Chunks without end, as an app printing or storing without end."""
    while True:
        yield chunk


def peak_bytes_while(run) -> int:
    """The most memory Python allocated (all threads) while `run()` ran."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- a command's output: its tail ------------------------------------------------------------


def lines(count: int) -> list[bytes]:
    """Numbered lines in chunks of 1000, so any tail of them says where it is from."""
    return [b"".join(b"line %08d\n" % n for n in range(i, i + 1000)) for i in range(0, count, 1000)]


def kept(whole: bytes, bound: int) -> str:
    """What a tail of `bound` bytes shows of `whole`: the note, then from its first whole line."""
    tail = whole[-bound:]
    start = 0 if whole[-bound - 1 : -bound] == b"\n" else tail.index(b"\n") + 1
    return f"[... {len(whole) - len(tail) + start} bytes cut] " + tail[start:].decode()


def test_the_tail_is_kept_from_a_whole_line_and_the_cut_counted():
    tail = OutputTail(bound=100)
    chunks = lines(5000)
    for chunk in chunks:
        tail.feed(chunk)
    whole = b"".join(chunks)
    assert tail.text() == kept(whole, 100) == f"[... {len(whole) - 98} bytes cut] " + whole[-98:].decode()


def test_a_tail_cut_at_a_line_break_keeps_all_its_lines():
    tail = OutputTail(bound=14)
    tail.feed(b"line 00000001\nline 00000002\n")
    assert tail.text() == "[... 14 bytes cut] line 00000002\n"


def test_output_within_the_bound_is_kept_whole_without_a_note():
    tail = OutputTail(bound=100)
    tail.feed(b"all of it\n")
    assert tail.text() == "all of it\n"


@pytest.mark.parametrize(
    ("printed", "shown"),
    [
        # A secret straddling the cut is dropped whole, never shown in part.
        (b"password=hunter2-very-secret and more words", "[... 29 bytes cut] and more words"),
        (b"x" * 300, "[... 300 bytes cut] "),  # one word longer than the bound: none of it
        ("ünïcödé ok".encode() * 20, None),
    ],
)
def test_a_cut_tail_starts_at_a_word_when_it_has_no_line(printed, shown):
    tail = OutputTail(bound=18)
    tail.feed(printed)
    text = tail.text()
    if shown is not None:
        assert text == shown
    note, _, rest = text.partition("] ")
    assert "\ufffd" not in rest and printed.decode().endswith(rest) and (not rest or rest[0] != " ")
    assert note == f"[... {len(printed) - len(rest.encode())} bytes cut"


class StreamingEngine:
    """docker-py's exec calls, the command's output streamed as `chunks` (until a killer exec
    stops it, for an endless one)."""

    def __init__(self, chunks, code=0):
        self.chunks, self.code = chunks, code
        self.created: dict[str, list[str]] = {}
        self.codes: dict[str, int] = {}
        self.stopped = threading.Event()

    def exec_create(self, container, cmd, **_):
        exec_id = f"exec{len(self.created)}"
        self.created[exec_id] = cmd
        return {"Id": exec_id}

    def exec_start(self, exec_id, stream=False):
        if self.created[exec_id][2] == KILLER:
            self.stopped.set()
            self.codes[exec_id] = 0
            return b""
        assert stream, "a command's output must be streamed, not read whole"
        return self._output(exec_id)

    def _output(self, exec_id):
        for chunk in self.chunks:
            if self.stopped.is_set():
                break
            yield chunk
        self.codes[exec_id] = 137 if self.stopped.is_set() else self.code

    def exec_inspect(self, exec_id):
        return {"ExitCode": self.codes.get(exec_id)}


CONTAINER = SimpleNamespace(id="c0ffee" * 10, short_id="c0ffee000000", kill=lambda: None)


def test_a_command_printing_a_lot_gives_its_exit_code_and_the_tail(monkeypatch):
    monkeypatch.setattr(execution, "OUTPUT_BOUND_BYTES", 4096)
    chunks = lines(200_000)  # 2.8 MB printed
    code, out = execute(StreamingEngine(chunks, code=3), CONTAINER, "yes", timeout=30)
    assert code == 3 and out == kept(b"".join(chunks), 4096)


def test_a_command_printing_without_end_costs_the_bound_not_memory(monkeypatch):
    monkeypatch.setattr(execution, "OUTPUT_BOUND_BYTES", 1024 * 1024)
    monkeypatch.setattr(execution, "HUNG_GRACE_SECONDS", 0.3)
    monkeypatch.setattr(execution, "KILL_GRACE_SECONDS", 5)
    engine = StreamingEngine(endless())
    result: list[tuple[int, str]] = []
    peak = peak_bytes_while(lambda: result.append(execute(engine, CONTAINER, "yes", timeout=1)))
    assert result == [(124, "timed out after 1s")]
    assert peak < 4 * 1024 * 1024, peak  # twice the bound at most, and a chunk


# -- an archive from the engine: streamed, and closed when its sink stops it -----------------


class FakeResponse:
    def __init__(self, status: int, chunks):
        self.status_code, self.chunks, self.closed = status, chunks, False

    def iter_content(self, size):
        return self.chunks

    def close(self):
        self.closed = True


class FakeApi:
    """docker-py's APIClient, as copy_archive uses it: GET /containers/<id>/archive streams
    `chunks` (404: no such path)."""

    def __init__(self, chunks, status=200):
        self.response = FakeResponse(status, chunks)
        self.puts: list[tuple[str, object]] = []

    def _url(self, template, *args):
        return template.format(*args)

    def _get(self, url, params, stream, headers):
        assert stream and url == f"/containers/{CONTAINER.id}/archive"
        return self.response

    def _raise_for_status(self, res):
        if res.status_code == 404:
            raise docker.errors.NotFound("no such path")


class FakeContainer:
    """A container whose archive GET streams `chunks`; put_archive keeps what it is sent."""

    id = CONTAINER.id

    def __init__(self, chunks, status=200):
        self.client = SimpleNamespace(api=FakeApi(chunks, status))
        self.put: dict[str, bytes] = {}

    def put_archive(self, path, data):
        assert hasattr(data, "read"), "a restore must stream from disk, not hand over bytes"
        self.put[path] = data.read()
        return True


def test_a_sink_stops_an_endless_archive_and_the_stream_is_closed():
    container = FakeContainer(endless())
    seen = []

    def sink(chunk):
        seen.append(len(chunk))
        if len(seen) == 3:
            raise InfraError("enough")

    with pytest.raises(InfraError, match="enough"):
        copy_archive(container, "s_db", "/data", sink)
    assert seen == [CHUNK] * 3 and container.client.api.response.closed


def test_a_missing_path_is_the_recipes_and_the_stream_is_closed():
    container = FakeContainer([], status=404)
    with pytest.raises(RecipeError, match="s_db: path /nope does not exist in the running container"):
        copy_archive(container, "s_db", "/nope", lambda chunk: None)
    assert container.client.api.response.closed


def test_reading_a_path_whole_is_bounded():
    container = FakeContainer(endless())
    with pytest.raises(InfraError, match="s_app: /data exceeds the runner's bound of 1000000 bytes"):
        get_archive(container, "s_app", "/data", bound=1_000_000)
    assert get_archive(FakeContainer([b"ab", b"cd"]), "s_app", "/f") == b"abcd"


# -- a backup: streamed to disk, under a bound in all ----------------------------------------


def test_a_backup_past_the_bound_is_the_runners_limit_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BACKUP_BOUND_BYTES", 32 * 1024 * 1024)

    def back_up():
        with new_backup("s", tmp_path) as writer:
            with writer.part("app", "/data") as sink:
                sink(b"x" * 1000)
            with writer.part("db", "/var/lib/db") as sink:
                for chunk in endless():
                    sink(chunk)

    with pytest.raises(InfraError) as info:
        back_up()
    assert str(info.value) == "backup of db:/var/lib/db exceeds the runner's bound of 33554432 bytes"
    assert list(tmp_path.iterdir()) == []  # neither the partial file nor the spool stays


def test_a_backup_streams_to_disk_not_memory(tmp_path, monkeypatch):
    big = 24 * 1024 * 1024

    def back_up():
        with new_backup("s", tmp_path) as writer:
            with writer.part("db", "/var/lib/db") as sink:
                for chunk in itertools.islice(endless(), big // CHUNK):
                    sink(chunk)

    peak = peak_bytes_while(back_up)
    assert peak < 2 * 1024 * 1024, peak  # 24 MiB went through
    (archive_file,) = tmp_path.glob("*.tar")
    with tarfile.open(archive_file) as tar:
        assert tar.getmember("db/var/lib/db.tar").size == big


# -- backup and restore in a task: the engine's stream to disk and back ----------------------


def deployment(hook_timeout=5):
    labels = {"backupbot.backup": "true", "backupbot.backup.path": "/data"}
    config = {"services": {"app": {"deploy": {"labels": labels}}}}
    app = SimpleNamespace(stack="s", settings=SimpleNamespace(hook_timeout=hook_timeout))
    return SimpleNamespace(app=app, config=config)


class FakeSwarm:
    def __init__(self, container):
        self.container = container

    def running_container(self, service):
        assert service == "s_app"
        return self.container


def test_a_backup_round_trips_through_a_file_streamed_both_ways(tmp_path):
    tar = tar_bytes({"data/notes.txt": b"first note\n" * 50_000})
    chunks = [tar[i : i + CHUNK] for i in range(0, len(tar), CHUNK)]
    container = FakeContainer(chunks)
    tasks = TaskData(FakeSwarm(container))  # type: ignore[arg-type]
    archive = tasks.backup(deployment(), tmp_path)  # type: ignore[arg-type]
    assert archive.verify() == [] and archive.copied == {"app:/data": len(tar)}
    tasks.restore(deployment(), archive)  # type: ignore[arg-type]
    assert container.put == {"/": tar}


def test_a_backup_of_an_endless_path_stops_at_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "BACKUP_BOUND_BYTES", 4 * 1024 * 1024)
    container = FakeContainer(endless())
    with pytest.raises(InfraError, match=r"^backup of app:/data exceeds the runner's bound of 4194304 bytes$"):
        TaskData(FakeSwarm(container)).backup(deployment(), tmp_path)  # type: ignore[arg-type]
    assert container.client.api.response.closed and list(tmp_path.iterdir()) == []
