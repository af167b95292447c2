"""One resolved view of a recipe: what every reader of a checkout reads, for one enrollment.

abra reads a recipe one way: the app env (`.env.sample`, abra.sh's exports, TYPE/DOMAIN/STACK_NAME,
then what the operator set) chooses the compose files (`COMPOSE_FILE`) and fills them in, and
docker's loader merges them. Lint, the deploy policy (R018 and install's refusal), secret
generation, the route check, backupbot, seeding and the deploy itself all read this one view,
built once per checkout and enrollment by run/view.py; none of them reads the checkout again.

The view's files are a copy of the checkout made safe to read (run/view.py): regular files
only, each inside the checkout after every symlink was resolved, bounded in size. What could not
be copied is in `refused`, with the reason, and was never read. `ViewFiles` reads the copy and
names files recipe-relative (`compose.yml`), never by the run's temporary path.

Pure: reads the view's files, nothing else.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_ccci.errors import RecipeError
from pytest_ccci.model.envfile import MAX_TREE_DEPTH, EnvSample
from pytest_ccci.model.policy import Finding
from pytest_ccci.model.versions import TagInfo

# A recipe's text files (compose files, .env.sample, abra.sh, README.md) are a few kB: one past
# this is not a recipe file, and reading it whole could take the runner's memory.
MAX_TEXT_BYTES = 1 << 20
# What one YAML document may expand to through aliases: real recipes reuse a few anchors
# (`<<: *default-deploy`); a 1 kB alias bomb expands to billions of nodes.
MAX_YAML_NODES = 100_000
# Where the enrollment's compose.ccci.yml is copied into the view, beside the recipe's files
# (relative paths in it then mean what they mean in the recipe's own files).
OVERLAY_NAME = ".ccci-enrollment-overlay.yml"
OVERLAY_SHOWN = "compose.ccci.yml (the enrollment's)"
# abra reads config versions from abra.sh's `export NAME=value` lines (lint's R020 reads the same).
ABRA_SH_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=")


@dataclass(frozen=True)
class ViewFiles:
    """Reads of a view's files by recipe-relative name: only what the safe copy holds.

    `refused` maps a checkout path to why it was not copied (a symlink out of the checkout, not
    a regular file, too large): asking for one says why, without ever having read it."""

    root: Path
    where: str  # "at 20accc0b": how a message names the checkout
    refused: Mapping[str, str] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        """The view's copy of `name`; RecipeError naming it when it is refused, missing or
        outside the checkout (no symlink is left in a view, so the lexical check is the real one)."""
        rel = relative_name(name)
        if rel is None:
            raise RecipeError(f"{name}: outside the recipe checkout: refused, not read")
        why = self.refusal(rel)
        if why:
            raise RecipeError(f"{rel}: {why}: refused, not read")
        path = self.root / rel
        if not path.is_file():
            raise RecipeError(f"{rel}: missing {self.where}")
        return path

    def refusal(self, rel: str) -> str | None:
        """Why the safe copy refused `rel` ("a symlink out of the checkout"), or a folder above it
        ("in conf, a symlink out of the checkout"); None when it did not."""
        if rel in self.refused:
            return self.refused[rel]
        parts = rel.split("/")
        for end in range(len(parts) - 1, 0, -1):
            above = "/".join(parts[:end])
            if above in self.refused:
                return f"in {above}, {self.refused[above]}"
        return None

    def exists(self, name: str) -> bool:
        rel = relative_name(name)
        return rel is not None and self.refusal(rel) is None and (self.root / rel).is_file()

    def text(self, name: str) -> str:
        """The file's text, bounded (RecipeError past MAX_TEXT_BYTES, or for bytes that are not UTF-8)."""
        path = self.path(name)
        with path.open("rb") as handle:
            data = handle.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            raise RecipeError(f"{relative_name(name)}: over {MAX_TEXT_BYTES >> 10} KiB: not a recipe file, not read")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecipeError(f"{relative_name(name)}: not UTF-8 text (byte {exc.start})") from None

    def relative_text(self, text: str) -> str:
        """`text` (a tool's message) with the view's directory made recipe-relative: no verdict
        names the run's temporary path."""
        root = str(self.root)
        return text.replace(root + "/", "").replace(root, ".")


def relative_name(name: str) -> str | None:
    """`name` normalised, relative to the checkout; None when it leaves it (absolute or `..`)."""
    if not name or posixpath.isabs(name):
        return None
    norm = posixpath.normpath(name)
    return None if norm == ".." or norm.startswith("../") else norm


def load_yaml(text: str, origin: str) -> Any:
    """YAML as safe_load reads it, with bounds on what aliases expand to and on nesting
    (MAX_YAML_NODES, MAX_TREE_DEPTH); RecipeError naming `origin` and the line for invalid YAML."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RecipeError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:  # PyYAML's composer recurses per level: ~500 `[` (1 kB) exhaust it
        raise RecipeError(f"{origin}: nested too deeply: refused") from None
    nodes, depth = expanded_shape(doc, MAX_YAML_NODES)
    if nodes > MAX_YAML_NODES:
        raise RecipeError(
            f"{origin}: its YAML aliases expand to over {MAX_YAML_NODES:,} nodes (an alias bomb?): "
            "refused, not expanded"
        )
    if depth > MAX_TREE_DEPTH:  # every reader of a compose document walks it recursively
        raise RecipeError(f"{origin}: nested too deeply (over {MAX_TREE_DEPTH} levels): refused")
    if _holds_bytes(doc):
        # A `!!binary` path is bytes to a check written for strings, and a path to docker's CLI.
        raise RecipeError(f"{origin}: holds a !!binary value: refused (compose files are text)")
    return doc


def _holds_bytes(doc: Any) -> bool:
    seen: set[int] = set()
    stack = [doc]
    while stack:
        obj = stack.pop()
        if isinstance(obj, bytes):
            return True
        if isinstance(obj, (dict, list)) and id(obj) not in seen:
            seen.add(id(obj))
            stack.extend(obj.values() if isinstance(obj, dict) else obj)
            stack.extend(obj.keys() if isinstance(obj, dict) else ())
    return False


def expanded_shape(doc: Any, bound: int) -> tuple[int, int]:
    """(nodes, depth): how many nodes `doc` holds once its aliases (shared objects) are expanded,
    at most `bound` + 1, and how many levels of mappings and lists it nests. Each shared object
    is walked once (linear time), without recursion; a cycle (a recursive alias) is over both."""
    shapes: dict[int, tuple[int, int]] = {}  # id -> (nodes, depth); (over, over) while in progress
    over = (bound + 1, bound + 1)
    stack: list[tuple[Any, bool]] = [(doc, False)]
    while stack:
        obj, children_done = stack.pop()
        if not isinstance(obj, (dict, list)):
            continue
        children = [c for c in (obj.values() if isinstance(obj, dict) else obj) if isinstance(c, (dict, list))]
        if children_done:
            scalars = len(obj) - len(children)
            nodes = 1 + scalars + sum(shapes[id(c)][0] for c in children)
            depth = 1 + max((shapes[id(c)][1] for c in children), default=0)
            shapes[id(obj)] = (min(nodes, bound + 1), depth)
        elif id(obj) not in shapes:
            shapes[id(obj)] = over
            stack.append((obj, True))
            stack.extend((child, False) for child in children)
    return shapes.get(id(doc), (1, 0))


@dataclass(frozen=True)
class RecipeView:
    """A recipe at one commit, resolved for one enrollment as abra would deploy it.

    `config` is docker's merge of `compose_files`, interpolated with `env`, with abra's deploy
    additions (the app env exposed to `app`, valueless entries filled); None when the policy
    refused a file before any was read (`findings` says which) or the recipe has no compose.yml
    (`problem` says so). `findings` is every deploy-policy finding, before allowances: lint's
    R018 and the deploy's refusal both judge exactly this list."""

    recipe: str
    head_sha: str
    stack: str
    domain: str
    files: ViewFiles
    sample: EnvSample | None  # None: the recipe has no .env.sample
    env: Mapping[str, str] = field(repr=False)  # the app env: holds the enrollment's values
    compose_files: tuple[str, ...]  # recipe-relative, the enrollment's overlay last (OVERLAY_SHOWN)
    raw_files: Mapping[str, Any] = field(repr=False)  # each compose file as written, uninterpolated
    config: dict[str, Any] | None = field(repr=False)
    findings: tuple[Finding, ...] = ()
    problem: str | None = None  # why there is no config, when there is none
    tags: tuple[TagInfo, ...] = ()

    @property
    def root(self) -> Path:
        return self.files.root

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return {str(name): svc or {} for name, svc in ((self.config or {}).get("services") or {}).items()}

    def require_config(self) -> dict[str, Any]:
        """The merged config, or RecipeError saying why there is none."""
        if self.config is None:
            raise RecipeError(f"recipe {self.recipe}: {self.problem or 'no compose config'}")
        return self.config
