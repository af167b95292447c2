"""`python -m pytest_ccci report RESULTS.json... --out DIR [--history DIR]` (also the console
script `pytest-ccci report`): merge shard results and write the dashboard.

Writes DIR/results.json (merged), DIR/index.html, DIR/recipes/<recipe>.html,
DIR/badges/<recipe>.svg and DIR/summary.md, and copies each recipe's picture (install's PNG of
its front page, named relative to its results.json) to DIR/pictures/<recipe>.png, and each
failed tier's story files to DIR/stories/<recipe>/, so the pages show them from file:// and
DIR/results.json names the copies (a file that is gone is left out). With `--history DIR` the inputs' runs are first
added to that history (once per run: `--no-record` only reads it), and the pages show levels
over time, flake rates and the last green release. A bad input is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_ccci.documents import history
from pytest_ccci.documents.files import read_results, write_json_atomically
from pytest_ccci.documents.history import RecipeHistory
from pytest_ccci.documents.merge import merge
from pytest_ccci.documents.results import ResultsDocument, TierItem
from pytest_ccci.errors import UsageError
from pytest_ccci.report import badges, pages
from pytest_ccci.report.summary import summary

PROG = "pytest-ccci report"
DEFAULT_TITLE = "pytest-ccci: recipe levels"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PICTURE_BYTES = 20 << 20  # a 1280x800 front page is well under 1 MiB
STORY_FILE_BYTES = 4 << 20  # a story's log is bounded at 1 MiB (model/story.py), its other files far less


@dataclass(frozen=True)
class Built:
    out: Path
    recipes: int
    recorded: int  # history files written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="RESULTS.json", help="results of runs or shards")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="where the dashboard is written")
    parser.add_argument("--history", type=Path, metavar="DIR", help="history folder (as --ccci-history)")
    parser.add_argument("--no-record", action="store_true", help="read the history, do not add these runs to it")
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the dashboard's title")


def build(
    inputs: Sequence[Path], out: Path, history_dir: Path | None = None, record: bool = True, title: str = DEFAULT_TITLE
) -> Built:
    """Merge, record, render; UsageError (one line) for a bad input or an unwritable folder."""
    doc = merge([(str(p), pictures_from(read_results(p), p.parent)) for p in inputs])
    histories = None
    recorded: list[Path] = []
    if history_dir is not None:
        if record:
            recorded = _writing(history_dir, lambda: history.record(history_dir, doc))
        histories = history.load(history_dir, doc.recipes)
    _writing(out, lambda: write_site(out, doc.to_wire(), histories, title))
    return Built(out, len(doc.recipes), len(recorded))


def write_site(out: Path, doc: dict[str, Any], histories: dict[str, RecipeHistory] | None, title: str) -> None:
    """The dashboard of `doc` (JSON-shaped: the pages render plain data) in `out`."""
    (out / "recipes").mkdir(parents=True, exist_ok=True)
    (out / "badges").mkdir(exist_ok=True)
    doc = copy_stories(out, copy_pictures(out, doc))
    write_json_atomically(out / "results.json", doc)
    (out / "index.html").write_text(pages.index_page(doc, histories, title))
    (out / "summary.md").write_text(summary(doc, histories, title))
    for name, entry in doc["recipes"].items():
        stem = pages.file_stem(name)
        found = histories.get(name) if histories is not None else None
        (out / "recipes" / f"{stem}.html").write_text(pages.recipe_page(name, entry, doc, found))
        (out / "badges" / f"{stem}.svg").write_text(badges.badge(entry.get("level")))


def pictures_from(doc: ResultsDocument, folder: Path) -> ResultsDocument:
    """`doc` with each recipe's picture, and each failed tier's story file, as an absolute path
    (a relative one is relative to `folder`, where its results.json is): merging forgets which
    file a recipe came from."""
    recipes = {
        name: dataclasses.replace(
            e,
            picture=str((folder / e.picture).absolute()) if isinstance(e.picture, str) and e.picture else None,
            tiers={nodeid: _absolute_artifacts(item, folder) for nodeid, item in e.tiers.items()},
        )
        for name, e in doc.recipes.items()
    }
    return dataclasses.replace(doc, recipes=recipes)


def _absolute_artifacts(item: TierItem, folder: Path) -> TierItem:
    if not item.artifacts:
        return item
    artifacts = [dataclasses.replace(a, path=str((folder / a.path).absolute())) for a in item.artifacts if a.path]
    return dataclasses.replace(item, artifacts=artifacts)


def copy_stories(out: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with each failed tier's story file copied to out/stories/<stem>/<n>/<file name> and
    named as that copy (relative to out); a file that is gone, is no regular file or is larger
    than STORY_FILE_BYTES is left out."""
    recipes = {}
    for name, entry in doc["recipes"].items():
        tiers = {}
        for index, (nodeid, item) in enumerate((entry.get("tiers") or {}).items()):
            kept = []
            for artifact in item.get("artifacts") or []:
                source = Path(str(artifact.get("path") or ""))
                if not _is_story_file(source):
                    continue
                copy = out / "stories" / pages.file_stem(name) / str(index) / source.name
                copy.parent.mkdir(parents=True, exist_ok=True)
                if source.resolve() != copy.resolve():
                    shutil.copyfile(source, copy)
                kept.append({**artifact, "path": copy.relative_to(out).as_posix()})
            tiers[nodeid] = {**item, "artifacts": kept} if "artifacts" in item else item
        recipes[name] = {**entry, "tiers": tiers}
    return {**doc, "recipes": recipes}


def _is_story_file(path: Path) -> bool:
    try:
        return path.is_absolute() and path.is_file() and path.stat().st_size <= STORY_FILE_BYTES
    except OSError:
        return False


def copy_pictures(out: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with each recipe's picture copied to out/pictures/<stem>.png and named as that copy
    (relative to out, where its results.json goes); a picture whose file is gone, or is no PNG,
    is left out (a results.json naming some other file never gets it published)."""
    recipes = {}
    for name, entry in doc["recipes"].items():
        source = entry.get("picture")
        entry = {k: v for k, v in entry.items() if k != "picture"}
        if isinstance(source, str) and is_png(Path(source)):
            copy = out / "pictures" / f"{pages.file_stem(name)}.png"
            copy.parent.mkdir(exist_ok=True)
            if Path(source).resolve() != copy.resolve():  # a dashboard rebuilt in place has it there already
                shutil.copyfile(source, copy)
            entry["picture"] = copy.relative_to(out).as_posix()
        recipes[name] = entry
    return {**doc, "recipes": recipes}


def is_png(path: Path) -> bool:
    """Whether `path` is a file of at most PICTURE_BYTES that starts as a PNG does."""
    try:
        with path.open("rb") as fh:
            return path.stat().st_size <= PICTURE_BYTES and fh.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False


def _writing(folder: Path, action: Any) -> Any:
    try:
        return action()
    except OSError as exc:
        raise UsageError(f"cannot write in {folder}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    try:
        built = build(args.inputs, args.out, args.history, not args.no_record, args.title)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    note = f", {built.recorded} run(s) added to {args.history}" if built.recorded else ""
    print(f"{PROG}: {built.recipes} recipes -> {built.out / 'index.html'}{note}")
    return 0
