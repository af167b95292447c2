"""`--ccci-history DIR` (ini `ccci_history_dir`): the controller adds the run's results to the
history once they are final (documents/history.py keeps one small file per run).

Left out: an interrupted run (its unfinished recipes would show as levels they never had) and
`--collect-only` (nothing ran). A history that cannot be written is one line on stderr: the
run's own verdicts stand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_ccci.documents.history import record
from pytest_ccci.documents.results import ResultsDocument


class HistoryRecorder:
    def __init__(self, history_dir: Path):
        self.history_dir = history_dir

    def pytest_ccci_results(self, config: pytest.Config, results: dict[str, Any]) -> None:
        # The hook hands every plugin the document as JSON-shaped data (its public form).
        if config.option.collectonly:
            return
        if results.get("interrupted"):
            sys.stderr.write(f"ccci: interrupted: this run was not added to the history in {self.history_dir}\n")
            return
        try:
            record(self.history_dir, ResultsDocument.from_wire(results))
        except OSError as exc:
            sys.stderr.write(
                f"ccci: could not add this run to the history in {self.history_dir}: {exc.strerror or exc}\n"
            )
