"""Merging shard results into one document of the same schema.

Each recipe is taken whole from the one input that holds it; a recipe in two inputs, or inputs
of different schemas, is refused with the names of the files (a merge must never silently pick
one of two verdicts). The merged document keeps, per recipe, the run it came from (`run_id`,
`finished`), and lists every run it was made of under `merged_from`, so a merged document can be
merged again, fed to `--ccci-durations`, or recorded in a history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from pytest_ccci.documents.results import RecipeResult, ResultsDocument, RunRef
from pytest_ccci.errors import UsageError

Labelled = tuple[str, ResultsDocument]  # (where the document came from, the document)


def merge(inputs: Sequence[Labelled]) -> ResultsDocument:
    """One document out of several results documents (already read and checked)."""
    if not inputs:
        raise UsageError("nothing to merge: give at least one results.json")
    _same_schema(inputs)
    recipes: dict[str, RecipeResult] = {}
    origin: dict[str, str] = {}
    runs: list[RunRef] = []
    for label, doc in inputs:
        runs.extend(doc.runs())
        for name, entry in doc.recipes.items():
            if name in origin:
                raise UsageError(f"recipe {name} is in two inputs: {origin[name]} and {label}")
            origin[name] = label
            recipes[name] = dataclasses.replace(entry, run_id=doc.run_id_of(entry), finished=doc.finished_of(entry))
    return ResultsDocument(
        schema=inputs[0][1].schema,
        run_id="+".join(dict.fromkeys(str(r.run_id) for r in runs)),
        started=min((str(r.started) for r in runs if r.started), default=None),
        finished=max((str(r.finished) for r in runs if r.finished), default=None),
        interrupted=any(r.interrupted for r in runs),
        merged_from=runs,
        recipes=dict(sorted(recipes.items())),
    )


def _same_schema(inputs: Sequence[Labelled]) -> None:
    first_label, first = inputs[0]
    for label, doc in inputs[1:]:
        if doc.schema != first.schema:
            raise UsageError(f"inputs of different schemas: {first_label} is {first.schema}, {label} is {doc.schema}")
