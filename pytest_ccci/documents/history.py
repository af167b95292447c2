"""The history of runs (schema `pytest-ccci/history/1`): a folder with one small JSON file per
run, written from results documents and read back, here, in one module.

A history file keeps per recipe only what the reports read, so a year of daily runs of hundreds
of recipes loads in a moment:

    {"level": 4, "head": "<sha>", "release": "1.2.0+2.1", "tiers": "pp--fp", "wall": 123.4,
     "runs": {"functional": "fpp"}}

`tiers` has one letter per tier, in the order the file's `tier_order` lists them (the order of
model/tiers.py TIERS when it was written; read back in today's): p pass, f fail, s skip,
u unverified, - did not run. `runs` (only when a failed tier was rerun, --ccci-reruns) has, per
such tier, a letter per run of it, the first run first: the tier's letter in `tiers` stays the
run's verdict (a fail), the runs are counted one by one in the flake rate.

`record` writes each run of a results document (each run a merged document was made of) as
`<run_id>.json`, once: recording the same run again (a shard that recorded itself, then the
merge job recording the merged document) changes nothing.

What a history tells per recipe:
- levels over time, and since when the recipe has had its latest level;
- the flake rate per tier: of the runs that gave the tier a pass or a fail (each rerun a run of
  its own), the share that failed on a head on which the same tier also passed (a head that
  always fails is a real failure, not a flake); and how many runs found the tier intermittent
  (it failed, then passed on a rerun);
- the last green release: the highest release whose latest run was green, where green means the
  install tier passed and no tier failed. The run layer reads it (upgrade_from: last-green).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pytest_ccci.documents.files import write_json_atomically
from pytest_ccci.documents.results import RecipeResult, ResultsDocument
from pytest_ccci.errors import UsageError
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.model.verdict import Status
from pytest_ccci.model.versions import Release, parse_release

HISTORY_SCHEMA = "pytest-ccci/history/1"
LETTER = {Status.PASS: "p", Status.FAIL: "f", Status.SKIP: "s", Status.UNVER: "u"}
STATUS_OF_LETTER = {letter: status.value for status, letter in LETTER.items()}
INSTALL = TIERS.index("install")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class Point(NamedTuple):
    """One run of one recipe. (A tuple: a year of runs of hundreds of recipes loads fast.)"""

    finished: str
    run_id: str
    level: int
    head: str | None
    release: str | None
    tiers: str  # a letter per tier (see the module docstring)
    wall: float | None
    runs: Mapping[str, str] | None = None  # a rerun tier's letter per run (see the module docstring)

    @property
    def green(self) -> bool:
        return self.tiers[INSTALL] == "p" and "f" not in self.tiers

    def statuses(self) -> dict[str, str]:
        """Each tier that ran, with its status (`pass`, `fail`...)."""
        return {t: STATUS_OF_LETTER[c] for t, c in zip(TIERS, self.tiers, strict=False) if c in STATUS_OF_LETTER}

    def letters(self, index: int) -> str:
        """Every run's letter for the tier at `index` of TIERS: its reruns' when it was rerun,
        else its one letter."""
        reruns = (self.runs or {}).get(TIERS[index])
        return reruns if isinstance(reruns, str) and reruns else self.tiers[index : index + 1]

    def intermittent(self, index: int) -> bool:
        """Whether the tier at `index` failed and passed on a rerun within this run."""
        letters = self.letters(index)
        return "f" in letters and "p" in letters


@dataclass(frozen=True)
class Flake:
    rate: float  # failed runs on heads that also passed / runs with a pass or fail
    flaky_heads: int
    runs: int
    intermittent: int = 0  # runs (of the pipeline) in which the tier failed, then passed on a rerun


@dataclass
class RecipeHistory:
    name: str
    points: list[Point] = field(default_factory=list)  # oldest first
    # Computed once for the points there are: the index, the page and the summary all ask.
    _flakes: tuple[int, dict[str, Flake]] | None = field(default=None, repr=False, compare=False)
    _last_green: tuple[int, str | None] | None = field(default=None, repr=False, compare=False)

    def levels(self, last: int | None = None) -> list[Point]:
        return self.points[-last:] if last else list(self.points)

    def since(self) -> str | None:
        """When the latest level began: the first run of the trailing streak at that level."""
        if not self.points:
            return None
        level, start = self.points[-1].level, self.points[-1].finished
        for point in reversed(self.points):
            if point.level != level:
                break
            start = point.finished
        return start

    def flakes(self) -> dict[str, Flake]:
        """Per tier that ever had a verdict of pass or fail (see the module docstring)."""
        if self._flakes is None or self._flakes[0] != len(self.points):
            self._flakes = (len(self.points), self._count_flakes())
        return self._flakes[1]

    def _count_flakes(self) -> dict[str, Flake]:
        by_head: dict[str | None, list[Point]] = {}
        for point in self.points:
            by_head.setdefault(point.head, []).append(point)
        out = {}
        for i, tier in enumerate(TIERS):
            runs = flaky_heads = failed_on_flaky = 0
            for points in by_head.values():
                column = "".join(p.letters(i) for p in points)
                passed, failed = column.count("p"), column.count("f")
                runs += passed + failed
                if passed and failed:
                    flaky_heads += 1
                    failed_on_flaky += failed
            if runs:
                intermittent = sum(p.intermittent(i) for p in self.points)
                out[tier] = Flake(failed_on_flaky / runs, flaky_heads, runs, intermittent)
        return out

    def last_green(self) -> str | None:
        """The highest release whose latest run was green."""
        if self._last_green is None or self._last_green[0] != len(self.points):
            self._last_green = (len(self.points), self._find_last_green())
        return self._last_green[1]

    def _find_last_green(self) -> str | None:
        latest = {point.release: point for point in self.points if point.release}
        versions = {rel: parse_release(rel) for rel, point in latest.items() if point.green}
        green = [Release(rel, v, "") for rel, v in versions.items() if v is not None]
        return max(green, key=Release.sort_key).tag if green else None


def load(history_dir: Path, recipes: Iterable[str] | None = None) -> dict[str, RecipeHistory]:
    """Every recipe's history (or only `recipes`'), each oldest first. A folder that does not
    exist is an empty history; a file in it that is not a history file is a UsageError naming it."""
    wanted = set(recipes) if recipes is not None else None
    if history_dir.exists() and not history_dir.is_dir():
        raise UsageError(f"history {history_dir} is not a directory")
    runs = [_read(path) for path in sorted(history_dir.glob("*.json"))] if history_dir.is_dir() else []
    runs.sort(key=lambda r: (str(r.get("finished") or ""), str(r.get("run_id"))))
    out: dict[str, RecipeHistory] = {}
    for run in runs:
        recode = _recoder(run.get("tier_order"))
        for name, e in run["recipes"].items():
            if wanted is not None and name not in wanted:
                continue
            code = recode(e["tiers"]) if recode else e["tiers"]
            reruns = e.get("runs") if isinstance(e.get("runs"), dict) else None
            point = Point(run["finished"], run["run_id"], e["level"], e["head"], e["release"], code, e["wall"], reruns)
            out.setdefault(name, RecipeHistory(name)).points.append(point)
    return out


def _recoder(order: str | None) -> Callable[[str], str] | None:
    """None when a file's tier letters are in today's order; else what puts them in it."""
    written = order.split(",") if order else list(TIERS)
    if written == list(TIERS):
        return None
    where = [written.index(t) if t in written else None for t in TIERS]
    return lambda code: "".join(code[i] if i is not None and i < len(code) else "-" for i in where)


def _read(path: Path) -> dict[str, Any]:
    try:
        run = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"history file {path}: cannot be read: {exc}") from None
    if not isinstance(run, dict) or run.get("schema") != HISTORY_SCHEMA or not isinstance(run.get("recipes"), dict):
        raise UsageError(f"history file {path}: not a {HISTORY_SCHEMA} file")
    return run


def last_green_release(history_dir: Path, recipe: str) -> str | None:
    """The recipe's last green release in the history (None when it has none)."""
    found = load(history_dir, [recipe]).get(recipe)
    return found.last_green() if found else None


# -- writing ---------------------------------------------------------------------------------


def runs_of(doc: ResultsDocument) -> dict[str, dict[str, Any]]:
    """The history file of each run in a results document, by run id."""
    out: dict[str, dict[str, Any]] = {}
    for name, entry in doc.recipes.items():
        run_id = doc.run_id_of(entry) or "unknown"
        run = out.setdefault(
            run_id,
            {
                "schema": HISTORY_SCHEMA,
                "run_id": run_id,
                "finished": doc.finished_of(entry) or "",
                "tier_order": ",".join(TIERS),
                "recipes": {},
            },
        )
        run["recipes"][name] = compact(entry)
    return out


def compact(entry: RecipeResult) -> dict[str, Any]:
    """A recipe's line in a history file (`runs` only when a tier was rerun)."""
    line: dict[str, Any] = {
        "level": entry.level,
        "head": entry.head_sha,
        "release": entry.head_release,
        "tiers": tier_code(entry.tier_statuses()),
        "wall": entry.wall,
    }
    runs = {tier: "".join(LETTER[s] for s in statuses) for tier, statuses in entry.tier_runs().items()}
    if runs:
        line["runs"] = runs
    return line


def tier_code(statuses: Mapping[str, Status]) -> str:
    return "".join(LETTER[statuses[t]] if t in statuses else "-" for t in TIERS)


def record(history_dir: Path, doc: ResultsDocument) -> list[Path]:
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
