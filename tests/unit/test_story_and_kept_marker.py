"""A failed tier's story, the pure parts (model/story.py, the spec diff of model/idempotence.py)
and the kept-app marker (documents/kept.py, run/locks.py acquire honouring it), with no swarm."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from offline_context import offline_context

from pytest_ccci.documents.kept import deadline_after, deadline_seconds, expired, marker_text, parse_marker
from pytest_ccci.documents.results import Artifact, KeptApp, RecipeResult, TierItem
from pytest_ccci.errors import InfraError
from pytest_ccci.model.idempotence import FieldChange, field_changes
from pytest_ccci.model.story import TailBuffer, TaskRecord, change_text, log_text, tasks_table, update_text
from pytest_ccci.run.keep import instructions
from pytest_ccci.run.locks import (
    DEFAULT_LOCK_DIR,
    acquire,
    app_lock_path,
    kept_marker_path,
    read_kept_marker,
    release,
    write_kept_marker,
)

# -- the log, bounded ----------------------------------------------------------------------------


def test_a_log_within_its_bound_is_kept_whole():
    buffer = TailBuffer(100)
    for chunk in (b"one\n", b"two\n"):
        buffer.feed(chunk)
    assert buffer.cut == 0 and buffer.text() == "one\ntwo\n"


def test_a_long_log_keeps_its_tail_from_a_whole_line_and_says_what_was_cut():
    buffer = TailBuffer(20)
    for i in range(10):
        buffer.feed(f"line {i}\n".encode())  # 7 bytes each, 70 in all
    text = buffer.text()
    header, _, body = text.partition("\n")
    assert body == "line 8\nline 9\n"  # the half line before them is dropped, not shown cut
    assert header == f"[first 56 of 70 bytes cut: the last {len(body)} bytes kept]"


def test_a_log_loses_its_escape_sequences():
    buffer = TailBuffer(100)
    buffer.feed(b"\x1b[31mred\x1b[0m\n")
    assert buffer.text() == "red\n"


def test_service_log_lines_name_their_task_in_time_order():
    details = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id={}"
    raw = "\n".join(
        [
            f"2026-01-01T00:00:09Z {details.format('task2')} second start",
            f"2026-01-01T00:00:01Z {details.format('task1')} first start",
            "a line of another shape",
        ]
    )
    lines = log_text(raw, {"task1": "s_app.1.task1", "task2": "s_app.1.task2"}).splitlines()
    assert lines == [
        "2026-01-01T00:00:01Z s_app.1.task1 first start",
        "2026-01-01T00:00:09Z s_app.1.task2 second start",
        "a line of another shape",
    ]


# -- the task history ----------------------------------------------------------------------------


def test_the_task_history_lists_every_task_by_slot_newest_first_with_errors_and_checks():
    tasks = [
        TaskRecord("aaa", "s_app.1", "img", "shutdown", "failed", "2026-01-01T00:00:01Z", "task: non-zero exit (1)", 1),
        TaskRecord("bbb", "s_app.1", "img", "running", "running", "2026-01-01T00:00:05Z", health="exit 1: 404"),
        TaskRecord("ccc", "s_db.1", "pg", "running", "running", "2026-01-01T00:00:02Z"),
    ]
    table = tasks_table(tasks)
    rows = table.splitlines()
    assert rows[0].split()[:3] == ["ID", "NAME", "IMAGE"]
    assert [r.split()[0] for r in rows[1:4]] == ["bbb", "aaa", "ccc"]
    assert rows[2].split()[-6:] == ["2026-01-01T00:00:01Z", "1", "task:", "non-zero", "exit", "(1)"]
    assert "  s_app.1.bbb: exit 1: 404" in rows


# -- the last update: UpdateStatus and the spec diff -------------------------------------------


def spec(image="ccci/busybox:1.35.0", env=("A=1", "TOKEN=s3cret")):
    return {"Name": "s_app", "TaskTemplate": {"ContainerSpec": {"Image": image, "Env": list(env)}}}


def test_the_spec_diff_names_each_changed_field_with_both_values():
    changes = field_changes(spec(), spec(image="ccci/busybox:1.36.0"))
    assert changes == [FieldChange("TaskTemplate.ContainerSpec.Image", "ccci/busybox:1.35.0", "ccci/busybox:1.36.0")]
    assert change_text(changes[0]) == (
        'TaskTemplate.ContainerSpec.Image: "ccci/busybox:1.35.0" -> "ccci/busybox:1.36.0"'
    )


def test_the_spec_diff_never_shows_env_values():
    (change,) = field_changes(spec(), spec(env=("A=1", "TOKEN=other")))
    assert change.hidden and change.path == "TaskTemplate.ContainerSpec.Env (TOKEN)"
    assert "s3cret" not in change_text(change) and "other" not in change_text(change)


def test_an_added_field_is_shown_as_absent_before_and_long_values_are_bounded():
    before = spec()
    after = {**spec(), "Labels": {"x": "y" * 1000}}
    (change,) = field_changes(before, after)
    text = change_text(change)
    assert text.startswith("Labels: (absent) -> {") and text.endswith(" chars)") and len(text) < 400


def test_the_update_text_holds_the_update_status_and_the_diff():
    status = {"State": "rollback_completed", "Message": "rollback completed", "StartedAt": "t0"}
    text = update_text(status, spec(image="new"), spec())
    assert "  State: rollback_completed" in text and "  Message: rollback completed" in text
    assert 'TaskTemplate.ContainerSpec.Image: "ccci/busybox:1.35.0" -> "new"' in text


def test_the_update_text_of_a_service_never_updated_says_so():
    text = update_text(None, spec(), None)
    assert "never updated" in text and "keeps no previous spec" in text
    assert "the specs are equal" in update_text({"State": "completed"}, spec(), spec())


# -- results.json records them ------------------------------------------------------------------


def test_artifacts_and_a_kept_app_round_trip_through_results_json():
    item = TierItem("install", "fail", "why", [Artifact("log", "s_app", "run/artifacts/s/test_install/s_app.log", 12)])
    kept = KeptApp("d.ccci.test", "d_ccci_test", "2026-01-01T02:00:00Z", "run1", ["d_ccci_test_app"], "/l/m")
    result = RecipeResult(tiers={"ccci/x::test_install": item}, kept=kept)
    again = RecipeResult.from_wire(json.loads(json.dumps(result.to_wire())))
    assert again.tiers["ccci/x::test_install"].artifacts == item.artifacts and again.kept == kept
    assert "kept" not in RecipeResult().to_wire()  # written only for a kept app


# -- the kept-app marker -------------------------------------------------------------------------


def kept_app(deadline: str, domain: str = "d.ccci.test") -> KeptApp:
    return KeptApp(domain, "d_ccci_test", deadline, "run1", ["d_ccci_test_app"])


def test_a_marker_round_trips_and_its_deadline_is_hours_from_now():
    now = 1_700_000_000.0
    deadline = deadline_after(now, 2)
    assert deadline_seconds(kept_app(deadline)) == now + 7200
    assert parse_marker(marker_text(kept_app(deadline))) == kept_app(deadline)


def test_a_marker_is_expired_only_past_its_deadline():
    now = time.time()
    assert not expired(kept_app(deadline_after(now, 1)), now)
    assert expired(kept_app(deadline_after(now, -1)), now)
    assert expired(kept_app("not a time"), now)  # nothing could release it otherwise


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"domain": "d"}', '{"domain": "", "deadline": "x"}'])
def test_a_text_that_is_no_marker_is_refused(text):
    with pytest.raises(ValueError):
        parse_marker(text)


def test_acquire_fails_at_once_naming_the_marker_and_the_release_when_the_deadline_is_beyond_the_wait(tmp_path):
    path = app_lock_path(tmp_path, "d.ccci.test")
    write_kept_marker(path, kept_app(deadline_after(time.time(), 2)))
    start = time.monotonic()
    with pytest.raises(InfraError) as err:
        acquire(path, "run2", "a test", timeout=60)
    assert time.monotonic() - start < 5, "no point waiting 60s for a 2h deadline"
    message = str(err.value)
    assert str(kept_marker_path(path)) in message and "`pytest-ccci release d.ccci.test`" in message
    assert "\n" not in message
    assert read_kept_marker(path) is not None  # the marker stays


def test_acquire_waits_for_a_deadline_within_its_wait_then_takes_the_domain_and_drops_the_marker(tmp_path):
    path = app_lock_path(tmp_path, "d.ccci.test")
    write_kept_marker(path, kept_app(deadline_after(time.time() + 1.5, 0)))
    start = time.monotonic()
    lock = acquire(path, "run2", "a test", timeout=30)
    try:
        assert time.monotonic() - start >= 0.5
        assert not kept_marker_path(path).exists()
    finally:
        release(lock)


def test_acquire_takes_a_domain_whose_marker_is_past_its_deadline(tmp_path):
    path = app_lock_path(tmp_path, "d.ccci.test")
    write_kept_marker(path, kept_app("2000-01-01T00:00:00Z"))
    lock = acquire(path, "run2", "a test", timeout=5)
    release(lock)
    assert read_kept_marker(path) is None


def test_the_instructions_are_commands_naming_the_service_and_the_release(tmp_path):
    app = KeptApp("d.ccci.test", "d_ccci_test", "2026-01-01T02:00:00Z", "run1", ["d_ccci_test_app"], "/m")
    lines = instructions(app, DEFAULT_LOCK_DIR)
    assert "  logs of d_ccci_test_app:  docker service logs --timestamps d_ccci_test_app" in lines
    shell = next(ln for ln in lines if "docker exec" in ln)
    assert "label=com.docker.swarm.service.name=d_ccci_test_app" in shell and shell.endswith(" sh")
    assert lines[-1] == "  release it:  pytest-ccci release d.ccci.test"
    assert instructions(app, tmp_path)[-1] == f"  release it:  pytest-ccci release --lock-dir {tmp_path} d.ccci.test"


# -- the janitor and kept apps (a stand-in swarm: what it reaps is recorded) ---------------------


class KeptSwarm:
    """One stack, labelled for the lock dir, whose domain may be kept."""

    def __init__(self, domain: str | None) -> None:
        self.domain = domain
        self.removed: list[str] = []

    def labelled(self, label_key, also=None):
        return {self.domain: {"service d_ccci_test_app"}} if self.domain and label_key == "ccci.domain" else {}

    def stack_of_domain(self, label_filter):
        return {"d_ccci_test"}

    def remove(self, stack, label_filter):
        self.removed.append(stack)
        return []


@pytest.mark.parametrize("hours, reaped", [(1, False), (-1, True)])
def test_the_janitor_reaps_a_kept_app_only_past_its_deadline(tmp_path, hours, reaped):
    from pytest_ccci.run import janitor

    path = app_lock_path(tmp_path, "d.ccci.test")
    path.touch()
    write_kept_marker(path, kept_app(deadline_after(time.time(), hours)))
    swarm = KeptSwarm("d.ccci.test")
    said = janitor.reap(SimpleNamespace(swarm=swarm, lock_dir=tmp_path))
    assert (swarm.removed == ["d_ccci_test"]) is reaped and bool(said) is reaped
    assert kept_marker_path(path).exists() is not reaped


def test_the_janitor_drops_an_expired_marker_whose_app_is_gone(tmp_path):
    from pytest_ccci.run import janitor

    path = app_lock_path(tmp_path, "gone.ccci.test")
    write_kept_marker(path, kept_app("2000-01-01T00:00:00Z", domain="gone.ccci.test"))
    swarm = KeptSwarm(None)  # nothing of it left on the swarm
    janitor.reap(SimpleNamespace(swarm=swarm, lock_dir=tmp_path))
    assert not kept_marker_path(path).exists() and swarm.removed == []


# -- the dashboard links each story file, copied beside its pages --------------------------------


def test_the_dashboard_copies_a_failed_tiers_story_and_links_it_from_the_recipe_page(tmp_path):
    from report_docs import doc, entry

    from pytest_ccci.report.cli import build

    runs = tmp_path / "run"
    story = runs / "artifacts" / "s" / "test_install"
    story.mkdir(parents=True)
    (story / "s_app.log").write_text("the app's last words\n")
    hello = entry("hello", tiers={"install": "fail"}, level=0)
    hello["tiers"]["ccci/hello::test_install"]["artifacts"] = [
        {"kind": "log", "service": "s_app", "path": "artifacts/s/test_install/s_app.log", "bytes": 21},
        {"kind": "tasks", "service": "s_app", "path": "artifacts/s/test_install/gone.txt", "bytes": 1},
    ]
    hello["kept"] = {"domain": "d.ccci.test", "stack": "d_ccci_test", "deadline": "2026-01-01T02:00:00Z"}
    (runs / "results.json").write_text(json.dumps(doc({"hello": hello})))
    out = tmp_path / "site"
    build([runs / "results.json"], out)
    copied = json.loads((out / "results.json").read_text())["recipes"]["hello"]["tiers"]["ccci/hello::test_install"]
    assert copied["artifacts"] == [
        {"kind": "log", "service": "s_app", "path": "stories/hello/0/s_app.log", "bytes": 21}
    ], "the file that is gone is left out"
    assert (out / "stories/hello/0/s_app.log").read_text() == "the app's last words\n"
    page = (out / "recipes/hello.html").read_text()
    assert '<a href="../stories/hello/0/s_app.log">log</a>' in page
    assert "kept deployed until" in page and "2026-01-01T02:00:00Z" in page


# -- the lifecycle: a story saved (masked) while deployed, the app kept at close -------------------


class StorySwarm:
    """Stands in for the swarm: one service whose log holds a secret; records teardowns."""

    def __init__(self, stack: str) -> None:
        from pytest_ccci.swarm.story import ServiceStory

        self.stack = stack
        self.torn_down: list[str] = []
        self.story = ServiceStory(
            name=f"{stack}_app",
            log="2026-01-01T00:00:01Z app.1.t1 starting with password s3cret\n",
            tasks=[TaskRecord("t1", f"{stack}_app.1", "img", "shutdown", "failed", "2026-01-01T00:00:02Z", "boom", 1)],
            update_status=None,
            spec=spec(),
        )

    def stack_story(self, stack: str):
        return [self.story] if stack == self.stack else []

    def services(self, stack: str):
        return [SimpleNamespace(name=self.story.name)]

    def teardown(self, app, stopped=None) -> list[str]:
        self.torn_down.append(app.stack)
        return []


def story_lifecycle(tmp_path, keep_hours: float | None):
    from pytest_ccci.model.app import App
    from pytest_ccci.model.settings import parse_settings
    from pytest_ccci.run.lifecycle import RecipeLifecycle

    app = App.for_checkout(parse_settings("hello", {"source": "/x"}, "ccci.yml"), "a" * 40, "ccci.test", "story-test")
    swarm = StorySwarm(app.stack)
    ctx = offline_context(
        tmp_path, run_id="story-test", connect=lambda: swarm, lock_timeout=5, keep_failed_hours=keep_hours
    )
    ctx._backend = swarm  # type: ignore[assignment]
    ctx._swarm = swarm  # type: ignore[assignment]  # connected, as any process that deployed is
    lifecycle = RecipeLifecycle(ctx, "hello")
    lifecycle.app = lambda: app  # type: ignore[method-assign]
    lifecycle.hold_lock()
    lifecycle._deployed.add(app.stack)  # as a deploy does
    return lifecycle, swarm, app


def test_a_story_is_saved_masked_and_recorded_for_its_item(tmp_path):
    lifecycle, swarm, app = story_lifecycle(tmp_path, keep_hours=None)
    lifecycle.save_story("ccci/hello::test_install", "test_install", ["s3cret"])
    saved = lifecycle.facts.stories["ccci/hello::test_install"]
    assert [(a.kind, a.service) for a in saved] == [(k, f"{app.stack}_app") for k in ("log", "tasks", "update")]
    folder = tmp_path / "run" / "artifacts" / app.stack / "test_install"
    assert {Path(a.path).parent for a in saved} == {folder}
    log = (folder / f"{app.stack}_app.log").read_text()
    assert "s3cret" not in log and "password ********" in log
    assert "boom" in (folder / f"{app.stack}_app.tasks.txt").read_text()
    lifecycle.close()  # not kept: torn down
    assert swarm.torn_down == [app.stack, app.stack] and lifecycle.facts.kept is None


def test_a_failed_app_is_kept_at_close_its_lock_freed_and_its_marker_written(tmp_path):
    lifecycle, swarm, app = story_lifecycle(tmp_path, keep_hours=2)
    lifecycle.save_story("ccci/hello::test_install", "test_install", [])
    lifecycle.close()
    assert swarm.torn_down == [app.stack], "only hold_lock's clean start: the failed app stays"
    kept = lifecycle.facts.kept
    assert kept is not None and kept.domain == app.domain and kept.services == [f"{app.stack}_app"]
    path = app_lock_path(tmp_path / "locks", app.domain)
    assert read_kept_marker(path) == replace(kept, marker=None) and kept.marker == str(kept_marker_path(path))
    assert 7000 < deadline_seconds(kept) - time.time() <= 7200
    assert lifecycle.facts.clean_teardown is None and lifecycle.facts.leftovers == []
    with pytest.raises(InfraError, match="free it with `pytest-ccci release"):
        acquire(path, "next-run", "a test", timeout=1)  # the domain stays held past the lock's release


def test_a_passing_lifecycle_is_never_kept(tmp_path):
    lifecycle, swarm, app = story_lifecycle(tmp_path, keep_hours=2)
    lifecycle.close()
    assert lifecycle.facts.kept is None and swarm.torn_down == [app.stack, app.stack]


def test_after_a_rollback_the_update_text_diffs_the_specs_the_run_saw_around_its_deploy():
    status = {"State": "rollback_completed", "Message": "update rolled back"}
    text = update_text(status, spec(), None, deployed=(spec(), spec(image="ccci/busybox:head")))
    assert "the engine keeps no PreviousSpec" in text and "keeps no previous spec" not in text
    assert 'TaskTemplate.ContainerSpec.Image: "ccci/busybox:1.35.0" -> "ccci/busybox:head"' in text
    # The engine's own PreviousSpec, when it has one, is what the text diffs.
    assert "PreviousSpec -> Spec" in update_text(status, spec(), spec(), deployed=(spec(), spec(image="x")))
