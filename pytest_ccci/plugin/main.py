"""pytest-ccci hooks: options, collection of the tiers, ordering, verdicts and reports.

Fixtures live in fixtures.py, the tiers in tiers.py, per-recipe state in lifecycle.py; this
module only wires them into pytest.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from pytest_ccci.plugin import fixtures as _fixtures
from pytest_ccci.model.app import redact
from pytest_ccci.errors import CcciError, InfraError, RecipeError, UsageError
from pytest_ccci.model.level import TIERS, Status
from pytest_ccci.run.lifecycle import RunContext, new_run_id, secret_fingerprints
from pytest_ccci.run.results import PROPERTY, RecipeRecord, Results
from pytest_ccci.model.settings import enrolled
from pytest_ccci.plugin.stash import CcciContext, TierItem, ccci_context_key, results_key, tier_item_key

TIERS_MODULE = Path(__file__).with_name("test_tiers.py")
# Order on a worker: lint, install, backup, restore, functional, (teardown), upgrade.
TIER_ORDER = {"lint": 0, "install": 1, "backup": 2, "restore": 3, "functional": 4, "upgrade": 6}
PREREQUISITES = {"backup": ("install",), "restore": ("install", "backup"), "functional": ("install",)}
SWARM_TIERS = ("install", "upgrade", "backup", "restore", "functional")
TIER_OF_FUNCTION = {f"test_{t}": t for t in TIERS if t != "functional"}
item_status_key = pytest.StashKey[str]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_ccci.plugin import hookspecs as hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ccci", "Co-op Cloud recipe CI (pytest-ccci)")
    group.addoption("--recipe", action="append", default=[], metavar="NAME",
                    help="recipe to check (repeatable); default: every recipe enrolled in the recipes dir")
    group.addoption("--ref", default=None, metavar="REF",
                    help="recipe git ref under test: SHA (full or short), tag or branch; default: the default branch head")
    group.addoption("--tiers", default=",".join(TIERS), metavar="LIST",
                    help=f"comma list out of {','.join(TIERS)} (default: all)")
    group.addoption("--recipes-dir", default=None, metavar="DIR", help="where recipes are enrolled (ini ccci_recipes_dir)")
    group.addoption("--ccci-json", default=None, metavar="PATH", help="write machine-readable results here")
    group.addoption("--upgrade-from", default="auto", metavar="auto|all",
                    help="auto: the newest older release (default); all: one upgrade per older release (fetches at collection)")
    group.addoption("--no-janitor", action="store_true", help="do not reap leftovers of earlier runs at session start")
    parser.addini("ccci_recipes_dir", "where recipes are enrolled, relative to the rootdir", default="recipes")
    parser.addini("ccci_lock_dir", "stable directory for host-wide locks", default="/tmp/pytest-ccci/locks")
    parser.addini("ccci_cache_dir", "where recipe mirrors are cached", default="")
    parser.addini("ccci_base_domain", "base domain of app domains", default="ccci.test")
    parser.addini("ccci_max_deploys", "deploys in flight at once on the host", default="2")
    parser.addini("ccci_lock_timeout", "seconds to wait for an app-domain lock or a deploy slot", default="900")


# -- configuration ---------------------------------------------------------------------------


def _recipes_dir(config: pytest.Config) -> Path:
    # An option is relative to where pytest was started, the ini value to the rootdir.
    given = config.getoption("recipes_dir")
    path = Path(given or config.getini("ccci_recipes_dir"))
    base = Path(config.invocation_params.dir) if given else Path(config.rootpath)
    return path if path.is_absolute() else (base / path)


def _active(config: pytest.Config, recipes_dir: Path) -> bool:
    """Check recipes when asked by name, or when pytest was given no paths and recipes are enrolled."""
    if config.getoption("recipe"):
        return True
    if config.getoption("recipes_dir") and not enrolled(recipes_dir):
        # Asked for a recipes dir that holds none: silently running something else would be wrong.
        raise pytest.UsageError(f"ccci: --recipes-dir {recipes_dir} holds no enrolled recipe (folders with a ccci.yml)")
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    return not explicit and bool(enrolled(recipes_dir))


def _select(config: pytest.Config, recipes_dir: Path) -> tuple[list[str], tuple[str, ...]]:
    known = enrolled(recipes_dir)
    wanted = config.getoption("recipe")
    if wanted and not recipes_dir.is_dir():
        raise pytest.UsageError(f"ccci: recipes directory {recipes_dir} does not exist (set --recipes-dir or ini ccci_recipes_dir)")
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise pytest.UsageError(
            f"ccci: unknown recipe {unknown[0]!r}: enrolled in {recipes_dir} are {', '.join(known) or 'none'}"
        )
    tiers = tuple(t.strip() for t in config.getoption("tiers").split(",") if t.strip())
    bad = [t for t in tiers if t not in TIERS]
    if bad or not tiers:
        raise pytest.UsageError(f"ccci: --tiers {config.getoption('tiers')!r}: unknown tier {bad[0] if bad else ''!r}; choose from {','.join(TIERS)}")
    if config.getoption("upgrade_from") not in ("auto", "all"):
        raise pytest.UsageError("ccci: --upgrade-from takes auto or all (pin one release with upgrade_from in ccci.yml)")
    return (list(dict.fromkeys(wanted)) if wanted else known), tiers


def _progress(config: pytest.Config):
    worker = getattr(config, "workerinput", {}).get("workerid")
    prefix = f"ccci[{worker}]" if worker else "ccci"

    def say(message: str) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            with capman.global_and_fixture_disabled():
                sys.stderr.write(f"\n{prefix}: {message}\n")
                sys.stderr.flush()
        else:
            sys.stderr.write(f"{prefix}: {message}\n")

    return say


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ccci_tier(name): the lifecycle tier an item belongs to")
    recipes_dir = _recipes_dir(config)
    if not _active(config, recipes_dir):
        return
    recipes, tiers = _select(config, recipes_dir)
    config.pluginmanager.register(_fixtures, "ccci-fixtures")

    workerinput = getattr(config, "workerinput", None)
    run_id = workerinput["ccci_run_id"] if workerinput and "ccci_run_id" in workerinput else new_run_id()
    cache = config.getini("ccci_cache_dir") or os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "pytest-ccci")
    try:
        max_deploys = int(config.getini("ccci_max_deploys"))
        lock_timeout = float(config.getini("ccci_lock_timeout"))
    except ValueError as exc:
        raise pytest.UsageError(f"ccci: ini value is not a number: {exc}") from None
    if max_deploys < 1 or lock_timeout <= 0:
        raise pytest.UsageError("ccci: ccci_max_deploys must be at least 1 and ccci_lock_timeout positive")
    _check_writable_dirs(config, Path(config.getini("ccci_lock_dir")), Path(cache))
    def make_run_dir() -> Path:
        # The run's own basetemp (per xdist worker too); resolved on first use, because pytest's
        # tmp_path_factory does not exist yet while this tryfirst hook runs.
        return config._tmp_path_factory.mktemp("ccci", numbered=False)

    def connect():
        from pytest_ccci.swarm.engine import connect as engine_connect

        return engine_connect()

    runtime = RunContext(
        recipes_dir=recipes_dir,
        ref=config.getoption("ref"),
        base_domain=config.getini("ccci_base_domain"),
        cache_dir=Path(cache) / "mirrors",
        lock_dir=Path(config.getini("ccci_lock_dir")),
        make_run_dir=make_run_dir,
        run_id=run_id,
        lock_timeout=lock_timeout,
        max_deploys=max_deploys,
        progress=_progress(config),
        connect=connect,
    )
    config.stash[ccci_context_key] = CcciContext(runtime, recipes, tiers)
    if workerinput is None:
        config.stash[results_key] = Results(recipes, tiers, run_id)
        config.pluginmanager.register(ResultsCollector(config.stash[results_key]), "ccci-results")
        if config.pluginmanager.hasplugin("xdist"):
            from pytest_ccci.plugin.scheduler import RecipeSchedulerPlugin

            config.pluginmanager.register(RecipeSchedulerPlugin(), "ccci-scheduler")
    if config.pluginmanager.hasplugin("html"):
        from pytest_ccci.plugin.html import HtmlReport

        config.pluginmanager.register(HtmlReport(config), "ccci-html")
    # The tier module and the selected recipes' own test folders are what gets collected.
    extra = [str(recipes_dir)]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args.extend(a for a in extra if a not in config.args)
    else:
        config.args[:] = extra
    config.pluginmanager.register(InterruptReport(config), "ccci-interrupt")
    _terminate_as_interrupt()


def _check_writable_dirs(config: pytest.Config, *dirs: Path) -> None:
    """Lock and cache dirs, and where results go, are checked before anything runs: a bad path
    is one line now, not a traceback after a long sweep."""
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise pytest.UsageError(f"ccci: cannot create {d}: {exc.strerror}") from None
        if not os.access(d, os.W_OK):
            raise pytest.UsageError(f"ccci: {d} is not writable")
    out = config.getoption("ccci_json")
    if out:
        target = Path(out)
        if target.is_dir():
            raise pytest.UsageError(f"ccci: --ccci-json {out} is a directory; give a file path")
        parent = target.parent if str(target.parent) else Path(".")
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise pytest.UsageError(f"ccci: --ccci-json {out}: cannot write in {parent}")


def _terminate_as_interrupt() -> None:
    """SIGTERM (a CI runner's cancel) unwinds like Ctrl-C, so teardown and results still happen."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the default
        pass


class InterruptReport:
    """An interrupt is a normal way for a CI run to end; it must end in one line, exit 2.

    A signal can land mid-instruction, leaving a traceback entry without a line number
    (Python 3.11), which pytest's own interrupt report cannot render: INTERNALERROR, exit 1.
    The interrupt itself is handled (teardown, results) either way, so say it plainly."""

    def __init__(self, config: pytest.Config):
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo):
        try:
            return (yield)
        except Exception as exc:
            message = f"{excinfo.typename}: {excinfo.value}"
            sys.stderr.write(f"ccci: interrupted ({message}); pytest could not render where ({type(exc).__name__})\n")
            # The terminal reporter insists on a rendered interrupt at the end of the run: give
            # it the message alone (its attribute is private; if it moves, this is a no-op).
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None and hasattr(reporter, "_keyboardinterrupt_memo"):
                reporter._keyboardinterrupt_memo = _InterruptMemo(message)
            return None


class _InterruptMemo:
    """The least of an exception repr the terminal reporter needs: a crash line."""

    def __init__(self, message: str):
        from _pytest._code.code import ReprFileLocation

        self.reprcrash = ReprFileLocation("<interrupt>", 0, message)

    def toterminal(self, tw) -> None:
        tw.line(self.reprcrash.message)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: every worker shares the controller's run id (labels, results)."""
    ctx = node.config.stash.get(ccci_context_key, None)
    if ctx is not None:
        node.workerinput["ccci_run_id"] = ctx.runtime.run_id


# -- collection ------------------------------------------------------------------------------


def pytest_collect_directory(path: Path, parent: pytest.Collector):
    ctx = parent.config.stash.get(ccci_context_key, None)
    if ctx is not None and path == ctx.runtime.recipes_dir:
        return RecipesDir.from_parent(parent, path=path)
    return None


class RecipesDir(pytest.Dir):
    """The recipes folder: the tier module for the selected recipes, and their own test folders.
    Reads no file contents: collection stays fast with hundreds of recipes."""

    def collect(self):
        ctx = self.config.stash[ccci_context_key]
        yield pytest.Module.from_parent(self, path=TIERS_MODULE, nodeid="ccci")
        if "functional" in ctx.tiers:
            for name in ctx.recipes:
                folder = self.path / name
                if any(folder.glob("test_*.py")):
                    yield pytest.Dir.from_parent(self, path=folder)


def _owner_recipe(config: pytest.Config, path: Path) -> str | None:
    ctx = config.stash[ccci_context_key]
    try:
        rel = path.relative_to(ctx.runtime.recipes_dir)
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    ctx = metafunc.config.stash.get(ccci_context_key, None)
    if ctx is None or "ccci_recipe" not in metafunc.fixturenames:
        return
    owner = _owner_recipe(metafunc.config, metafunc.definition.path)
    if metafunc.definition.path == TIERS_MODULE:
        tier = TIER_OF_FUNCTION.get(metafunc.function.__name__)
        names = list(ctx.recipes) if tier in ctx.tiers else []
    else:
        names = [owner] if owner in ctx.recipes else []
    if metafunc.function.__name__ == "test_upgrade" and metafunc.config.getoption("upgrade_from") == "all" and names:
        _parametrize_all_bases(metafunc, ctx, names)
        return
    metafunc.parametrize("ccci_recipe", names, ids=names)


def _parametrize_all_bases(metafunc: pytest.Metafunc, ctx: CcciContext, names: list[str]) -> None:
    """--upgrade-from all: one item per older release. The releases are only known from git, so
    this option (alone) makes collection fetch the recipes."""
    params = []
    for name in names:
        try:
            bases = [r.tag for r in ctx.lifecycle(name).upgrade_bases()]
        except CcciError:
            bases = []  # the single item below fails at setup with the same error, named
        params += [pytest.param(name, tag, id=f"{name}-{tag}") for tag in bases] or [pytest.param(name, None, id=name)]
    metafunc.parametrize(("ccci_recipe", "upgraded"), params, indirect=["upgraded"])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    # After every other plugin reordered (--ff, --nf, random orders...): a recipe's items must
    # stay together and in tier order, or its lifecycle would be torn down and redone mid-way.
    result = yield
    ctx = config.stash.get(ccci_context_key, None)
    if ctx is None:
        return result
    _tag_and_order(config, ctx, items)
    return result


def _tag_and_order(config: pytest.Config, ctx: CcciContext, items: list[pytest.Item]) -> None:
    order = {name: i for i, name in enumerate(ctx.recipes)}
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        recipe = callspec.params.get("ccci_recipe") if callspec else None
        in_tiers_module = Path(item.path) == TIERS_MODULE
        if not isinstance(recipe, str):
            # A tier left out with --tiers (or a recipe test of an unselected recipe) leaves an
            # empty parametrization behind: not an item to run.
            (dropped if in_tiers_module or "ccci_recipe" in getattr(item, "fixturenames", ()) else keep).append(item)
            continue
        tier = TIER_OF_FUNCTION.get(item.originalname, "functional") if in_tiers_module else "functional"
        item.stash[tier_item_key] = TierItem(recipe, tier)
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    # Stable: within a tier, collection order (e.g. the order of a recipe's own tests) stays.
    items.sort(key=lambda it: _order_key(it, order))


def _order_key(item: pytest.Item, order: dict[str, int]) -> tuple:
    ti = item.stash.get(tier_item_key, None)
    if ti is None:
        return (-1, 0)
    return (order.get(ti.recipe, len(order)), TIER_ORDER[ti.tier])


# -- running ---------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    ctx = session.config.stash.get(ccci_context_key, None)
    if ctx is None or hasattr(session.config, "workerinput") or session.config.option.collectonly:
        return
    if any(t in SWARM_TIERS for t in ctx.tiers):
        try:
            ctx.runtime.backend  # connects: no daemon or no swarm is a usage problem, said once
        except UsageError as exc:
            raise pytest.UsageError(f"ccci: {exc}") from None
        if not session.config.getoption("no_janitor"):
            _reap(ctx)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    ti = item.stash.get(tier_item_key, None)
    if ti is None:
        return
    ctx = item.config.stash[ccci_context_key]
    declared = ctx.lifecycle(ti.recipe).not_applicable(ti.tier)
    if declared:
        pytest.skip(f"n/a: {declared} (declared in ccci.yml)")
    for before in PREREQUISITES.get(ti.tier, ()):
        status = ctx.outcomes.get((ti.recipe, before))
        if before not in ctx.tiers or status in (None, Status.PASS.value):
            continue
        if status == Status.SKIP.value:
            # Restore is as inapplicable as the backup it needs (no backupbot labels: neither).
            pytest.skip(f"n/a: {before} is not applicable")
        pytest.skip(f"blocked: {before} {status}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    try:
        return (yield)
    finally:
        ti = item.stash.get(tier_item_key, None)
        following = nextitem.stash.get(tier_item_key, None) if nextitem is not None else None
        if ti is not None and (following is None or following.recipe != ti.recipe):
            # The recipe's last item: everything it deployed goes now, inside this item's
            # teardown, so a teardown problem is reported against the recipe that caused it.
            item.config.stash[ccci_context_key].lifecycle(ti.recipe).close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    ti = item.stash.get(tier_item_key, None)
    if ti is None:
        return report
    ctx = item.config.stash[ccci_context_key]
    status, reason = _verdict(report, call)
    if call.excinfo is not None and isinstance(call.excinfo.value, CcciError):
        # One clear line, no traceback: the message already names the cause.
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
    secrets = ctx.secret_values()
    _redact_report(report, secrets)
    reason = redact(reason, secrets)
    if report.when != "teardown":
        key = (ti.recipe, ti.tier)
        ctx.outcomes[key] = _worse(ctx.outcomes.get(key), status)
    lc = ctx.lifecycles.get(ti.recipe)
    data = {
        "recipe": ti.recipe,
        "tier": ti.tier,
        "status": status,
        "reason": reason,
        "facts": _json_safe(lc.facts) if lc else {},
        "fingerprints": secret_fingerprints(secrets),
    }
    setattr(report, PROPERTY, data)
    if report.when != "teardown":
        item.stash[item_status_key] = _worse(item.stash.get(item_status_key, None), status)
    else:
        # JUnit XML reads properties off the teardown report (the level comes as suite properties).
        final = item.stash.get(item_status_key, Status.UNVER.value)
        report.user_properties = [*report.user_properties, ("ccci.recipe", ti.recipe), ("ccci.tier", ti.tier), ("ccci.status", final)]
    return report


def _redact_report(report: pytest.TestReport, secrets: list[str]) -> None:
    """The one place a secret that reached a report (an app that logs its password, a hook
    that echoes it, an assertion that compares it) is masked, before anything prints or ships it."""
    if not secrets:
        return
    if report.longrepr is not None:
        text = str(report.longrepr)
        clean = redact(text, secrets)
        if clean != text:
            report.longrepr = clean
    report.sections = [(name, redact(content, secrets)) for name, content in report.sections]


def _verdict(report: pytest.TestReport, call: pytest.CallInfo) -> tuple[str, str]:
    if report.passed:
        return Status.PASS.value, ""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        return (Status.SKIP.value if reason.startswith("n/a:") else Status.UNVER.value), reason
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, AssertionError):
        text = str(exc).strip().splitlines()
        return Status.FAIL.value, text[0] if text else "assertion failed"
    if isinstance(exc, RecipeError):
        return Status.FAIL.value, str(exc)
    if isinstance(exc, (InfraError, UsageError)) or _is_engine_error(exc):
        return Status.UNVER.value, f"infrastructure: {' '.join(str(exc).split())[:300]}"
    text = " ".join(str(exc).split())[:300] if exc else "failed"
    return Status.FAIL.value, f"{type(exc).__name__}: {text}" if exc else text


def _is_engine_error(exc: BaseException | None) -> bool:
    mod = type(exc).__module__ if exc is not None else ""
    return mod.startswith(("docker.", "requests.", "urllib3."))


_SEVERITY = {Status.PASS.value: 0, Status.SKIP.value: 1, Status.UNVER.value: 2, Status.FAIL.value: 3}


def _worse(a: str | None, b: str) -> str:
    return b if a is None or _SEVERITY[b] > _SEVERITY[a] else a


def _json_safe(obj):
    import json

    return json.loads(json.dumps(obj, default=str))


# -- reports (controller) --------------------------------------------------------------------


class ResultsCollector:
    """Controller-only: feeds every test report (a worker's included) into the results."""

    def __init__(self, results: Results):
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.add(report)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ctx = session.config.stash.get(ccci_context_key, None)
    if ctx is None:
        return
    results = session.config.stash.get(results_key, None)
    if results is not None:
        results.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        _write_results(session.config, results)  # first: whatever happens to teardown, results exist
    # Interrupt and crash paths included: whatever is still deployed goes. A second Ctrl-C or
    # a SIGTERM while tearing down must not leave the stacks up: signals wait until it is done.
    with _signals_deferred():
        for lc in list(ctx.lifecycles.values()):
            try:
                lc.close()
            except BaseException as exc:  # keep closing the others, and still write the results
                ctx.runtime.progress(f"teardown of {lc.name} failed: {type(exc).__name__}: {exc}")
    if results is None:
        return
    for lc in ctx.lifecycles.values():  # an interrupted item sends no report: its facts come here
        results.records.setdefault(lc.name, RecipeRecord(lc.name)).facts.update(_json_safe(lc.facts))
    _junit_levels(session.config, results)
    _write_results(session.config, results)
    session.config.hook.pytest_ccci_results(config=session.config, results=results.as_dict())


def _write_results(config: pytest.Config, results: Results, extra_texts=()) -> None:
    path = config.getoption("ccci_json")
    if not path:
        return
    try:
        results.write_json(Path(path), extra_texts=extra_texts)
    except OSError as exc:
        sys.stderr.write(f"ccci: could not write results to {path}: {exc.strerror or exc}\n")


class _signals_deferred:
    """SIGINT/SIGTERM received inside the block are re-raised as KeyboardInterrupt after it."""

    def __enter__(self):
        self.received: list[int] = []
        self.previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, lambda signum, frame: self.received.append(signum))
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        if self.received and exc[0] is None:
            raise KeyboardInterrupt(f"signal {self.received[0]} during teardown")


def _junit_levels(config: pytest.Config, results: Results) -> None:
    """Each recipe's level and rung statuses as JUnit XML suite properties."""
    try:
        from _pytest.junitxml import xml_key  # where pytest keeps its LogXML; no public accessor
    except ImportError:
        return
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for name, rec in results.as_dict()["recipes"].items():
        xml.add_global_property(f"ccci.{name}.level", rec["level"])
        for rung, verdict in rec["rungs"].items():
            xml.add_global_property(f"ccci.{name}.{rung}", verdict["status"])


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After JUnit XML and the HTML report are written: look for secrets in them too, and
    record what was found in results.json (no_secret_leak is observed, not assumed). Under
    xdist, workers stopped by an interrupt get only seconds to tear down: the controller reaps
    whatever they left, now that their locks are free."""
    results = config.stash.get(results_key, None)
    ctx = config.stash.get(ccci_context_key, None)
    if results is None or ctx is None:
        return
    if results.fingerprints and config.getoption("ccci_json", None):
        texts = []
        for option in ("xmlpath", "htmlpath"):
            artifact = getattr(config.option, option, None)
            if artifact and Path(artifact).is_file():
                texts.append(Path(artifact).read_text(errors="replace"))
        _write_results(config, results, extra_texts=texts)
    if results.interrupted and getattr(config.option, "numprocesses", None) and not config.getoption("no_janitor"):
        _reap(ctx)


def _reap(ctx: CcciContext) -> None:
    from pytest_ccci.run.janitor import reap

    try:
        reaped = reap(ctx.runtime)
    except Exception as exc:  # the janitor is a courtesy: never the reason a run crashes
        ctx.runtime.progress(f"janitor could not run: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        return
    if reaped:
        ctx.runtime.progress(f"janitor removed leftovers of earlier runs: {', '.join(reaped)}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    results = config.stash.get(results_key, None)
    if results is None or config.option.collectonly:
        return
    terminalreporter.section("ccci levels")
    for line in results.table():
        terminalreporter.write_line(line)
