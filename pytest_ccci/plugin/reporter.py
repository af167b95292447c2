"""The controller's reporter: one object that owns every report of the run, the way pytest's
junitxml.py has LogXML. Registered on the controller only (never on an xdist worker); it feeds
every test report (a worker's included) into the `Results`, writes results.json, puts the
levels into the JUnit XML, scans the written artifacts for secrets, and prints the level table
(and, for each app --ccci-keep-failed kept, how to reach it and how to release it).

The secrets looked for include the runner's own: the values of its secret-shaped environment
variables (model/secrets.py runner_secrets), read once, here, when the reporter is made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_ccci.model.secrets import runner_secrets
from pytest_ccci.plugin.state import CcciContext
from pytest_ccci.run.keep import instructions
from pytest_ccci.run.results import RecipeRecord, Results

# Where pytest's JUnit XML and pytest-html keep their output paths (both public option names).
ARTIFACT_OPTIONS = ("xmlpath", "htmlpath")


class CcciReporter:
    """Results, results.json, JUnit suite properties, the artifact leak scan, the level table."""

    def __init__(self, config: pytest.Config, ctx: CcciContext, results: Results):
        self.config = config
        self.ctx = ctx
        self.json_path = ctx.options.json_path
        self.results = results
        self.results.watch_for(runner_secrets(os.environ))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.add(report)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Generator[None, object, object]:
        """Around the session's end, which tears down what is still deployed (runner.py), writes
        the JUnit XML and the HTML report: results.json before it, whatever happens to teardown,
        and again after it, with what teardown found."""
        self.results.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        self.write()
        self.add_junit_levels()
        try:
            outcome = yield
        finally:
            for lifecycle in self.ctx.lifecycles.values():  # an interrupted item sends no report
                record = self.results.records.setdefault(lifecycle.name, RecipeRecord(lifecycle.name))
                record.facts.update(lifecycle.recipe_record())
            self.write()
        self.config.hook.pytest_ccci_results(config=self.config, results=self.results.as_dict())
        return outcome

    def write(self) -> None:
        if self.json_path is None:
            return
        try:
            self.results.write_json(self.json_path)
        except OSError as exc:
            sys.stderr.write(f"ccci: could not write results to {self.json_path}: {exc.strerror or exc}\n")

    def add_junit_levels(self) -> None:
        """Each recipe's level and rung statuses as JUnit XML suite properties."""
        xml = _junit_xml(self.config)
        if xml is None:
            return
        for name, rec in self.results.document().recipes.items():
            xml.add_global_property(f"ccci.{name}.level", rec.level)
            for rung, verdict in rec.rungs.items():
                xml.add_global_property(f"ccci.{name}.{rung}", verdict.status)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After the JUnit XML and the HTML report are written: look for secrets in them too, and
        record what was found in results.json (no_secret_leak is observed, not assumed)."""
        if self.json_path is None or not self.results.fingerprints:
            return
        for option in ARTIFACT_OPTIONS:
            artifact = getattr(config.option, option, None)
            if artifact and Path(artifact).is_file():
                self.results.add_artifact(Path(artifact).read_text(errors="replace"))
        self.write()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.config.option.collectonly:
            return
        terminalreporter.section("ccci levels")
        for line in self.results.table():
            terminalreporter.write_line(line)
        kept = [app for rec in self.results.records.values() for app in rec.facts.kept_apps()]
        if kept:
            terminalreporter.section("ccci kept apps")
            for app in kept:  # once per kept app: how to reach it, how to release it
                for line in instructions(app, self.ctx.options.lock_dir):
                    terminalreporter.write_line(line)


def _junit_xml(config: pytest.Config) -> Any:
    """pytest's LogXML, when --junitxml is on. pytest has no public accessor for suite properties
    outside a test (the `record_testsuite_property` fixture runs on the workers, where no XML is
    written), so this reads its private stash key, here only; if that moves, no properties."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:
        return None
    return config.stash.get(xml_key, None)
