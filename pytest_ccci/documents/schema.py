"""The JSON Schema (draft 2020-12) of results.json, `pytest-ccci/results/1`, for third parties.

Generated from the dataclasses of results.py (wire.py reads their field types), and shipped
beside this module as results-1.schema.json (package data); a unit test checks the shipped file
is what `results_schema()` generates, so the two cannot drift. After changing results.py:

    python -m pytest_ccci.documents.schema   # rewrites results-1.schema.json

The schema requires the keys every version of the format has written and describes the ones
added since (lint `warnings`, `deploy_deadline`...) without requiring them: older files
validate too. Keys it does not name are allowed: the format grows by additions only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_ccci.documents.results import SCHEMA, ResultsDocument
from pytest_ccci.documents.wire import json_schema

SCHEMA_FILE = Path(__file__).with_name("results-1.schema.json")
SCHEMA_ID = "urn:pytest-ccci:schema:results:1"


def results_schema() -> dict[str, Any]:
    """The JSON Schema of results.json documents (single runs and merged ones)."""
    schema = json_schema(ResultsDocument, SCHEMA_ID, f"pytest-ccci results.json ({SCHEMA})")
    schema["properties"]["schema"] = {"const": SCHEMA}
    return schema


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(results_schema(), indent=2) + "\n"


def main() -> None:
    SCHEMA_FILE.write_text(schema_text())
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
