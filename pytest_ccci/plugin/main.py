"""pytest-ccci's entry point (pytest11): the options it adds, and at configure the pieces it
registers. Each piece owns its hooks:

- options.py      one frozen CcciOptions, validated once
- state.py        the per-process state (run context, lifecycles)
- collection.py   the tier items per recipe, a recipe's own tests, their order
- runner.py       setup gating, the verdict of every report, teardown
- reruns.py       --ccci-reruns: a failed swarm tier run again on fresh app domains
- session.py      controller: the swarm connection checked, the janitor
- reporter.py     controller: results.json, JUnit properties, leak scan, level table
- scheduler.py    controller under xdist: one recipe, one worker
- html.py         pytest-html: level table, diagnostics
- interrupts.py   SIGTERM as an interrupt, an interrupt in one line
- fixtures.py, test_tiers.py   what the tiers and a recipe's own tests are given, and the tiers

The plugin stays out of the way of an ordinary test run: nothing is registered unless recipes
are asked for by name, or enrolled and pytest was given no paths.
"""

from __future__ import annotations

import pytest

from pytest_ccci.model.policy import DEFAULT_MAX_STOP_GRACE_SECONDS, DEFAULT_PIDS_LIMIT, INFRASTRUCTURE_NETWORKS
from pytest_ccci.model.tiers import TIERS
from pytest_ccci.plugin import fixtures
from pytest_ccci.plugin.arguments import check_path_options
from pytest_ccci.plugin.collection import RecipeCollection
from pytest_ccci.plugin.interrupts import InterruptReport, TerminateAsInterrupt
from pytest_ccci.plugin.options import CcciOptions, read_options
from pytest_ccci.plugin.reruns import TierReruns
from pytest_ccci.plugin.runner import TierRunner
from pytest_ccci.plugin.state import CcciContext, build_context, ccci_context_key
from pytest_ccci.run.locks import DEFAULT_LOCK_DIR
from pytest_ccci.run.results import Results


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_ccci.plugin import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ccci", "Co-op Cloud recipe CI (pytest-ccci)")
    group.addoption(
        "--recipe",
        action="append",
        default=[],
        metavar="NAME",
        help="recipe to check (repeatable); default: every recipe enrolled in the recipes dir",
    )
    group.addoption(
        "--ref",
        default=None,
        metavar="REF",
        help="recipe git ref under test: SHA (full or short), tag or branch; default: the default branch head",
    )
    group.addoption(
        "--tiers", default=",".join(TIERS), metavar="LIST", help=f"comma list out of {','.join(TIERS)} (default: all)"
    )
    group.addoption(
        "--recipes-dir",
        default=None,
        metavar="DIR",
        help="where recipes are enrolled, relative to the current dir (ini ccci_recipes_dir)",
    )
    group.addoption("--ccci-json", default=None, metavar="PATH", help="write machine-readable results here")
    group.addoption(
        "--upgrade-from",
        default="auto",
        metavar="auto|all|last-green",
        help="auto: the newest older release (default); all: one upgrade per older release (fetches at collection); "
        "last-green: the last green release in the history (--ccci-history)",
    )
    group.addoption("--no-janitor", action="store_true", help="do not reap leftovers of earlier runs at session start")
    group.addoption(
        "--ccci-shard",
        default=None,
        metavar="K/N",
        help="run shard K of N: whole recipes, the same split on every machine",
    )
    group.addoption(
        "--ccci-durations",
        default=None,
        metavar="PATH",
        help="a previous (or merged) results.json: balance --ccci-shard by each recipe's recorded wall time, "
        "and run the longest recipes first",
    )
    group.addoption(
        "--ccci-history",
        default=None,
        metavar="DIR",
        help="add this run's results to the history in DIR (ini ccci_history_dir)",
    )
    group.addoption(
        "--ccci-reruns",
        default=None,
        metavar="N",
        help="run a failed swarm tier N more times, each on a fresh app domain; it stays failed, "
        "its reason says how many runs failed (ini ccci_reruns, default 0)",
    )
    group.addoption(
        "--ccci-keep-failed",
        action="store_true",
        help="leave a recipe with a failed tier deployed, its app domain held for ini ccci_keep_failed_hours "
        "(release it with `pytest-ccci release DOMAIN`)",
    )
    parser.addini("ccci_recipes_dir", "where recipes are enrolled, relative to the ini file", default="recipes")
    parser.addini("ccci_reruns", "how often a failed swarm tier runs again (as --ccci-reruns)", default="0")
    parser.addini("ccci_lock_dir", "stable directory for host-wide locks", default=str(DEFAULT_LOCK_DIR))
    parser.addini("ccci_cache_dir", "where recipe mirrors are cached", default="")
    parser.addini("ccci_base_domain", "base domain of app domains", default="ccci.test")
    parser.addini("ccci_max_deploys", "deploys in flight at once on the host", default="2")
    parser.addini("ccci_lock_timeout", "seconds to wait for an app-domain lock or a deploy slot", default="900")
    parser.addini("ccci_history_dir", "history of runs (as --ccci-history), relative to the ini file", default="")
    parser.addini(
        "ccci_allow", "deploy policy kinds allowed host-wide for every recipe, one a line", type="linelist", default=[]
    )
    parser.addini(
        "ccci_memory_limit_mb", "MiB limit for every service (recipe memory_mb first); empty: off", default=""
    )
    parser.addini(
        "ccci_pids_limit",
        "most processes (threads count) per service task; empty: off",
        default=str(DEFAULT_PIDS_LIMIT),
    )
    parser.addini("ccci_cpu_limit", "most CPUs per service task (e.g. 1.5); empty: off", default="")
    parser.addini(
        "ccci_max_stop_grace",
        "longest stop_grace_period a service gets (e.g. 60s, 2m); empty: off",
        default=f"{DEFAULT_MAX_STOP_GRACE_SECONDS:g}s",
    )
    parser.addini(
        "ccci_networks",
        "external networks that are the runner's infrastructure, one a line",
        type="linelist",
        default=list(INFRASTRUCTURE_NETWORKS),
    )
    parser.addini(
        "ccci_endpoint_mode",
        "services' endpoint mode: auto (dnsrr where the host has no IPVS), vip or dnsrr",
        default="auto",
    )
    parser.addini("ccci_keep_failed_hours", "hours a failed app stays deployed under --ccci-keep-failed", default="2")
    parser.addini(
        "ccci_pull", "images the engine lacks: missing (pull them before the deploy) or never", default="missing"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    options = read_options(config)
    if options is None:
        return
    check_path_options(config)
    ctx = build_context(config, options)
    config.stash[ccci_context_key] = ctx
    _register(config, ctx)
    _collect_recipes_dir(config, options)


def _register(config: pytest.Config, ctx: CcciContext) -> None:
    """The pieces, each a plugin object that owns its hooks. (The runner's report wrapper is the
    innermost whatever the order here, so html.py's diagnostics see the verdict.)"""
    manager = config.pluginmanager
    manager.register(fixtures, "ccci-fixtures")
    manager.register(RecipeCollection(ctx), "ccci-collection")
    manager.register(TierRunner(ctx), "ccci-runner")
    if ctx.options.reruns:
        manager.register(TierReruns(ctx), "ccci-reruns")
    is_controller = not hasattr(config, "workerinput")  # the controller, or a run without xdist
    results = _register_controller(config, ctx) if is_controller else None
    if manager.hasplugin("html"):
        from pytest_ccci.plugin.html import HtmlReport

        manager.register(HtmlReport(ctx, results), "ccci-html")
    manager.register(InterruptReport(config), "ccci-interrupt")
    sigterm = TerminateAsInterrupt()
    manager.register(sigterm, "ccci-sigterm")
    sigterm.install()


def _register_controller(config: pytest.Config, ctx: CcciContext) -> Results:
    """What only the controller does: the session on the swarm, the reports, xdist scheduling."""
    from pytest_ccci.plugin.reporter import CcciReporter
    from pytest_ccci.plugin.session import SwarmSession

    manager = config.pluginmanager
    results = Results(ctx.options.recipes, ctx.options.tiers, ctx.runtime.run_id)
    results.shard = ctx.options.shard
    manager.register(SwarmSession(config, ctx), "ccci-session")
    manager.register(CcciReporter(config, ctx, results), "ccci-reporter")
    if manager.hasplugin("xdist"):
        from pytest_ccci.plugin.scheduler import RecipeSchedulerPlugin

        manager.register(RecipeSchedulerPlugin(ctx, config.rootpath), "ccci-scheduler")
    if ctx.options.history_dir is not None:
        from pytest_ccci.plugin.history import HistoryRecorder

        manager.register(HistoryRecorder(ctx.options.history_dir), "ccci-history")
    return results


def _collect_recipes_dir(config: pytest.Config, options: CcciOptions) -> None:
    """The recipes dir is what gets collected (collection.py makes it the selected recipes'
    tier items and own tests); beside paths given on the command line, if any."""
    recipes_dir = str(options.recipes_dir)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        if recipes_dir not in config.args:
            config.args.append(recipes_dir)
    else:
        config.args[:] = [recipes_dir]
