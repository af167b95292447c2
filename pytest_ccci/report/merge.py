"""Merging shard results into one document of the same schema.

Each recipe is taken whole from the one input that holds it; a recipe in two inputs, or inputs
of different schemas, is refused with the names of the files (a merge must never silently pick
one of two verdicts). The merged document keeps, per recipe, the run it came from (`run_id`,
`finished`), and lists every run it was made of under `merged_from`, so a merged document can be
merged again, fed to `--ccci-durations`, or recorded in a history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_ccci.errors import UsageError

Labelled = tuple[str, dict[str, Any]]  # (where the document came from, the document)


def merge(inputs: Sequence[Labelled]) -> dict[str, Any]:
    """One document out of several results documents (already loaded and checked)."""
    if not inputs:
        raise UsageError("nothing to merge: give at least one results.json")
    _same_schema(inputs)
    recipes: dict[str, Any] = {}
    origin: dict[str, str] = {}
    runs: list[dict[str, Any]] = []
    for label, doc in inputs:
        runs.extend(_runs_of(doc))
        for name, entry in doc["recipes"].items():
            if name in origin:
                raise UsageError(f"recipe {name} is in two inputs: {origin[name]} and {label}")
            origin[name] = label
            recipes[name] = {
                **entry,
                "run_id": entry.get("run_id", doc.get("run_id")),
                "finished": _finished(doc, entry),
            }
    return {
        "schema": inputs[0][1]["schema"],
        "run_id": "+".join(dict.fromkeys(str(r["run_id"]) for r in runs)),
        "started": min((str(r["started"]) for r in runs if r.get("started")), default=None),
        "finished": max((str(r["finished"]) for r in runs if r.get("finished")), default=None),
        "interrupted": any(r.get("interrupted") for r in runs),
        "merged_from": runs,
        "recipes": dict(sorted(recipes.items())),
    }


def _same_schema(inputs: Sequence[Labelled]) -> None:
    first_label, first = inputs[0]
    for label, doc in inputs[1:]:
        if doc["schema"] != first["schema"]:
            raise UsageError(
                f"inputs of different schemas: {first_label} is {first['schema']}, {label} is {doc['schema']}"
            )


def _runs_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs a document was made of: itself, or (merged already) the runs it lists."""
    if isinstance(doc.get("merged_from"), list):
        return [dict(r) for r in doc["merged_from"]]
    keys = ("run_id", "shard", "started", "finished", "interrupted")
    return [{k: doc.get(k) for k in keys}]


def _finished(doc: dict[str, Any], entry: dict[str, Any]) -> Any:
    return entry.get("finished", doc.get("finished"))
