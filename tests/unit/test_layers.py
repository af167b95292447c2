"""The import boundaries the package layout promises.

The layers, lowest first: model (and errors.py), documents, swarm, run, plugin; report sits
beside them.
- pytest_ccci/model/ (and errors.py) is pure: importing any of it loads neither docker,
  requests, urllib3 nor pytest, and nothing in it imports a layer above (documents, swarm, run,
  plugin, report).
- pytest_ccci/documents/ (results.json, the history, merging, shard plans) is pure as model/ is,
  and imports only model/ and errors.py: never swarm, run, plugin or report.
- pytest_ccci/swarm/ is the only package that imports docker, and imports no layer above it.
- pytest_ccci/run/ imports neither the plugin nor the report layer (what a run needs from past
  runs, the history, is read through documents/history.py).
- pytest_ccci/report/ renders results documents: pure apart from file I/O, it reads and writes
  them through documents/, and imports nothing of swarm, run or plugin.

Checked two ways: at run time, each pure or report module imported alone in a fresh interpreter
(what it really pulls in, transitively); and statically, every import statement parsed with ast
(so an import inside a function or under TYPE_CHECKING, which the run-time check cannot see,
counts too).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_ccci"
PURE = sorted(PACKAGE.glob("model/*.py")) + [PACKAGE / "errors.py"]
REPORT = sorted(PACKAGE.glob("report/*.py"))
DOCUMENTS = sorted(PACKAGE.glob("documents/*.py"))
FORBIDDEN_AT_RUN_TIME = ("docker", "requests", "urllib3", "pytest", "_pytest")
SWARM, RUN, PLUGIN, REPORT_LAYER, DOCUMENTS_LAYER = (
    f"pytest_ccci.{layer}" for layer in ("swarm", "run", "plugin", "report", "documents")
)


class Boundary:
    """What the modules of one layer must not import: `forbidden` packages, `allowed` excepted."""

    def __init__(self, layer: str, modules: list[Path], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()):
        self.layer, self.modules, self.forbidden, self.allowed = layer, modules, forbidden, allowed


BOUNDARIES = [
    Boundary("model", PURE, (DOCUMENTS_LAYER, SWARM, RUN, PLUGIN, REPORT_LAYER)),
    Boundary("documents", DOCUMENTS, (SWARM, RUN, PLUGIN, REPORT_LAYER)),
    Boundary("swarm", sorted(PACKAGE.glob("swarm/*.py")), (RUN, PLUGIN, REPORT_LAYER)),
    Boundary("run", sorted(PACKAGE.glob("run/*.py")), (PLUGIN, REPORT_LAYER)),
    Boundary("report", REPORT, (SWARM, RUN, PLUGIN)),
]
# Every module of a layer with its boundary, one test case each.
BOUNDED_MODULES = [(boundary, path) for boundary in BOUNDARIES for path in boundary.modules]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in `path` names, relative imports resolved."""
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool = False) -> set[str]:
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_within(name: str, packages: tuple[str, ...] | str) -> bool:
    packages = (packages,) if isinstance(packages, str) else packages
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_pure_layer_is_all_there():
    names = {p.stem for p in PURE}
    assert {"settings", "envfile", "versions", "naming", "compose", "lint", "backupbot", "level"} <= names
    assert {"app", "tiers", "verdict", "text", "secrets", "http", "errors"} <= names


def modules_loaded_by(path: Path, roots: tuple[str, ...]) -> list[str]:
    """The modules under `roots` that importing `path`'s module alone, in a fresh interpreter, loads."""
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module_name(path)!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {roots!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    return json.loads(out.stdout)


def imports_within(path: Path, packages: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    """The modules in `packages` (and not in `allowed`) that an import statement of `path` names."""
    return sorted(m for m in imported_modules(path) if is_within(m, packages) and not is_within(m, allowed))


@pytest.mark.parametrize("path", PURE + DOCUMENTS + REPORT, ids=module_name)
def test_pure_and_report_modules_load_no_engine_client_and_no_pytest(path: Path):
    assert modules_loaded_by(path, FORBIDDEN_AT_RUN_TIME) == [], f"importing {module_name(path)} loads them"


@pytest.mark.parametrize("path", PURE + DOCUMENTS + REPORT, ids=module_name)
def test_pure_and_report_modules_name_no_forbidden_import(path: Path):
    # Statically too: an import inside a function would not show at import time.
    assert imports_within(path, FORBIDDEN_AT_RUN_TIME) == [], f"{module_name(path)} imports them"


@pytest.mark.parametrize(
    ("boundary", "path"), BOUNDED_MODULES, ids=[f"{b.layer}-{module_name(p)}" for b, p in BOUNDED_MODULES]
)
def test_no_module_imports_across_its_layers_boundary(boundary: Boundary, path: Path):
    crossing = imports_within(path, boundary.forbidden, boundary.allowed)
    assert crossing == [], f"{module_name(path)} ({boundary.layer} layer) imports them"


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=lambda b: b.layer)
def test_every_layer_has_modules_to_check(boundary: Boundary):
    assert boundary.modules, f"no modules found for the {boundary.layer} layer: the scan looks in the wrong place"


def test_the_boundary_check_sees_a_run_module_importing_the_report_layer():
    # What the check catches: run/lifecycle.py reaching into report/.
    source = "def last_green():\n    from pytest_ccci.report.pages import recipe_page\n"
    run = next(b for b in BOUNDARIES if b.layer == "run")
    named = imports_in(source, "pytest_ccci.run.lifecycle")
    assert sorted(m for m in named if is_within(m, run.forbidden)) == [
        "pytest_ccci.report.pages",
        "pytest_ccci.report.pages.recipe_page",
    ]


def test_only_the_swarm_package_imports_docker():
    importers = sorted(
        module_name(path)
        for path in PACKAGE.rglob("*.py")
        if any(is_within(m, "docker") for m in imported_modules(path))
    )
    assert importers, "nothing imports docker: the scan is not looking at the package"
    assert [m for m in importers if not is_within(m, "pytest_ccci.swarm")] == []


def test_backupbot_reads_labels_from_compose_never_the_reverse():
    # One label parser, in compose.py: it used to import from backupbot, which runs the wrong way.
    assert "pytest_ccci.model.compose" in imported_modules(PACKAGE / "model" / "backupbot.py")
    assert not any(
        is_within(m, "pytest_ccci.model.backupbot") for m in imported_modules(PACKAGE / "model" / "compose.py")
    )


def test_the_scan_resolves_relative_imports():
    # The static check must not be fooled by `from ..run import x` or an import in a function.
    source = "from ..run import locks\nfrom . import naming\n\ndef f():\n    import docker.errors\n"
    found = imports_in(source, "pytest_ccci.model.compose")
    assert {"pytest_ccci.run", "pytest_ccci.run.locks", "pytest_ccci.model.naming", "docker.errors"} <= found
    assert "pytest_ccci.model.x" in imports_in("from . import x\n", "pytest_ccci.model", is_package=True)


def test_the_documents_layer_imports_only_the_model():
    # Just above model/: anything else of the package it names is a layer it must not lean on.
    package_imports = {m for path in DOCUMENTS for m in imported_modules(path) if is_within(m, "pytest_ccci")}
    assert package_imports, "the documents layer imports nothing of the package: the scan looks in the wrong place"
    allowed = ("pytest_ccci.model", "pytest_ccci.errors", "pytest_ccci.documents")
    assert sorted(m for m in package_imports if not is_within(m, allowed)) == []


def test_the_report_layer_has_no_exception_to_its_boundary():
    report = next(b for b in BOUNDARIES if b.layer == "report")
    assert report.allowed == ()
