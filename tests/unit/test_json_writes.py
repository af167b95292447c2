"""One atomic JSON write (documents/files.py write_json_atomically) for results.json, the report's
merged results.json and the history files: a failed write leaves the file there was, no
half-written file and no stray temporary beside it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from report_docs import doc, entry, typed

from pytest_ccci.documents import history as documents_history
from pytest_ccci.documents.files import write_json_atomically
from pytest_ccci.report import cli


def test_a_document_is_written_whole_with_the_usual_mode(tmp_path):
    path = tmp_path / "results.json"
    previous = os.umask(0o022)
    try:
        write_json_atomically(path, {"a": [1, 2]})
    finally:
        os.umask(previous)
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600: a dashboard serves it


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"old": true}\n')
    with pytest.raises(TypeError):  # json.dump writes "{"a": 1, " before it meets the object
        write_json_atomically(path, {"a": 1, "b": object()})
    assert path.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


@pytest.mark.parametrize("writer", ["site", "history"])
def test_the_report_layer_writes_through_it(tmp_path, monkeypatch, writer):
    written: list[Path] = []
    monkeypatch.setattr(cli, "write_json_atomically", lambda path, data, indent=2: written.append(path))
    monkeypatch.setattr(documents_history, "write_json_atomically", lambda path, data, indent=2: written.append(path))
    results = doc({"hello": entry("hello")}, run_id="r1")
    if writer == "site":
        cli.write_site(tmp_path / "site", results, None, "title")
        assert written == [tmp_path / "site" / "results.json"]
    else:
        documents_history.record(tmp_path / "history", typed(results))
        assert written == [tmp_path / "history" / "r1.json"]


def test_history_files_are_compact(tmp_path):
    documents_history.record(tmp_path, typed(doc({"hello": entry("hello")}, run_id="r1")))
    text = (tmp_path / "r1.json").read_text()
    assert "\n" not in text and json.loads(text)["run_id"] == "r1"
