"""The results document as the pages and the summary render it: JSON-shaped data (the
`to_wire()` of documents/results.py), and the few figures they read off a recipe's entry, each
computed by the one rule documents/ states (the dashboard templates stay free of the types).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_ccci.documents.results import RecipeResult, ResultsDocument


def recipe_wall(entry: Mapping[str, Any]) -> float | None:
    """A recipe's recorded wall time in seconds (RecipeResult.wall)."""
    return RecipeResult.from_wire(entry).wall


def finished_of(doc: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """When the recipe's run finished (ISO 8601, UTC): its own run's, in a merged document."""
    run = ResultsDocument.from_wire({k: v for k, v in doc.items() if k != "recipes"})
    return run.finished_of(RecipeResult.from_wire(entry)) or ""
