"""Reading and writing the documents' files: results.json checked as it is read (one line naming
the file when it is not one this version reads), and every document written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pytest_ccci.documents.results import SCHEMA, SCHEMA_FAMILY, ResultsDocument
from pytest_ccci.errors import UsageError


def read_results(path: Path) -> ResultsDocument:
    """The document at `path`; UsageError naming the file when it is not a results.json this
    version reads. Tolerant of files written by earlier versions (keys they lack: not recorded)."""
    return ResultsDocument.from_wire(_checked_json(path))


def _checked_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a results.json") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(SCHEMA_FAMILY):
        raise UsageError(f"{path}: not a pytest-ccci results.json (no schema {SCHEMA_FAMILY}N)")
    if doc["schema"] != SCHEMA:
        raise UsageError(f"{path}: schema {doc['schema']} is not the one this version reads ({SCHEMA})")
    if not isinstance(doc.get("recipes"), dict):
        raise UsageError(f"{path}: has no recipes mapping")
    return doc


def write_results(path: Path, doc: ResultsDocument) -> None:
    """results.json at `path` (its folder made if need be), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, doc.to_wire())


def write_json_atomically(path: Path, data: Any, indent: int | None = 2) -> None:
    """`data` as JSON at `path` (indented, with a final newline; `indent=None`: compact, on one
    line), written beside it first and then renamed over it: a reader never sees half a file, and
    a crash (or a full disk) leaves the one there was. The one way results.json, the merged
    results.json and the history files are written. OSError when it cannot be written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp makes it 0600: the document is for reading (a dashboard served as it is), so it
        # gets the mode any new file gets here.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w") as fh:
            if indent is None:
                json.dump(data, fh, separators=(",", ":"))
            else:
                json.dump(data, fh, indent=indent)
                fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: set back at once
    os.umask(mask)
    return mask
