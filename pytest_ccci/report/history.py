"""Recording runs in the history: one small JSON file per run (run/history.py reads them and
describes their format).

`record` writes each run of a results document (each run a merged document was made of) as
`<run_id>.json`, once: recording the same run again (a shard that recorded itself, then the
merge job recording the merged document) changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import Status
from pytest_ccci.report.documents import finished_of, recipe_wall, tier_statuses
from pytest_ccci.run.history import HISTORY_SCHEMA, LETTER
from pytest_ccci.run.results import write_json_atomically

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def runs_of(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The history file of each run in a results document, by run id."""
    out: dict[str, dict[str, Any]] = {}
    for name, entry in doc["recipes"].items():
        run_id = str(entry.get("run_id") or doc.get("run_id") or "unknown")
        run = out.setdefault(
            run_id,
            {
                "schema": HISTORY_SCHEMA,
                "run_id": run_id,
                "finished": finished_of(doc, entry),
                "tier_order": ",".join(TIERS),
                "recipes": {},
            },
        )
        run["recipes"][name] = compact(entry)
    return out


def compact(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "level": entry.get("level", 0),
        "head": entry.get("head_sha"),
        "release": entry.get("head_release"),
        "tiers": tier_code(tier_statuses(entry)),
        "wall": recipe_wall(entry),
    }


def tier_code(statuses: Mapping[str, Status]) -> str:
    return "".join(LETTER[statuses[t]] if t in statuses else "-" for t in TIERS)


def record(history_dir: Path, doc: Mapping[str, Any]) -> list[Path]:
    """Append the document's runs to the history; returns the files written (none for runs
    already recorded). OSError when the folder cannot be written."""
    history_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for run_id, run in runs_of(doc).items():
        path = history_dir / f"{_UNSAFE.sub('_', run_id)}.json"
        if not path.exists():
            write_json_atomically(path, run, indent=None)
            written.append(path)
    return written
