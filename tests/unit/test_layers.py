"""The import boundaries the package layout promises.

- pytest_ccci/model/ (and errors.py) is pure: importing any of it loads neither docker,
  requests, urllib3 nor pytest, and nothing in it imports the layers above (swarm, run, plugin).
- pytest_ccci/swarm/ is the only package that imports docker.

Checked two ways: at run time, each module imported alone in a fresh interpreter (what it
really pulls in, transitively); and statically, every import statement parsed with ast (so an
import inside a function or under TYPE_CHECKING, which the run-time check cannot see, counts too).
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
FORBIDDEN_AT_RUN_TIME = ("docker", "requests", "urllib3", "pytest", "_pytest")
UPPER_LAYERS = ("pytest_ccci.swarm", "pytest_ccci.run", "pytest_ccci.plugin")
# The reports read results documents: pure apart from file I/O. They may read the results
# schema from run/results.py (itself pure), nothing else above the model.
REPORT = sorted(PACKAGE.glob("report/*.py"))
REPORT_MAY_IMPORT = ("pytest_ccci.run.results",)


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


@pytest.mark.parametrize("path", PURE, ids=module_name)
def test_pure_module_loads_no_engine_client_and_no_pytest(path: Path):
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module_name(path)!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_AT_RUN_TIME!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert json.loads(out.stdout) == [], f"importing {module_name(path)} loads them"


@pytest.mark.parametrize("path", PURE, ids=module_name)
def test_pure_module_imports_no_upper_layer(path: Path):
    upward = sorted(m for m in imported_modules(path) if is_within(m, UPPER_LAYERS))
    assert upward == [], f"{module_name(path)} imports from a layer above the model"


@pytest.mark.parametrize("path", PURE, ids=module_name)
def test_pure_module_names_no_forbidden_import(path: Path):
    # Statically too: an import inside a function would not show at import time.
    named = sorted(m for m in imported_modules(path) if is_within(m, FORBIDDEN_AT_RUN_TIME))
    assert named == [], f"{module_name(path)} imports them"


@pytest.mark.parametrize("path", REPORT, ids=module_name)
def test_report_module_loads_no_engine_client_and_no_pytest(path: Path):
    test_pure_module_loads_no_engine_client_and_no_pytest(path)
    test_pure_module_names_no_forbidden_import(path)


@pytest.mark.parametrize("path", REPORT, ids=module_name)
def test_report_module_imports_only_the_results_schema_above_the_model(path: Path):
    upward = sorted(
        m for m in imported_modules(path) if is_within(m, UPPER_LAYERS) and not is_within(m, REPORT_MAY_IMPORT)
    )
    assert upward == [], f"{module_name(path)} imports from the swarm, run or plugin layer"


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
