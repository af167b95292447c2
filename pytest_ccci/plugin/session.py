"""The controller's session on the swarm: the connection checked once at session start (no
daemon or no swarm is a usage problem, said in one line before anything runs), and the janitor
(run/janitor.py) at session start, and again after an interrupted xdist run.
"""

from __future__ import annotations

import pytest

from pytest_ccci.errors import CcciError, UsageError
from pytest_ccci.model.text import one_line
from pytest_ccci.plugin.state import CcciContext


class SwarmSession:
    """Registered on the controller only: a worker neither checks the connection nor reaps."""

    def __init__(self, config: pytest.Config, ctx: CcciContext):
        self.config = config
        self.ctx = ctx
        self.interrupted = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.config.option.collectonly or not self.ctx.options.needs_swarm:
            return
        try:
            self.ctx.runtime.swarm  # noqa: B018 -- connects, or says how to get a swarm
        except UsageError as exc:
            raise pytest.UsageError(f"ccci: {exc}") from None
        self.say_endpoint_mode()
        if self.ctx.options.janitor:
            self.reap()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Workers stopped by an interrupt get only seconds to tear down: the controller reaps
        whatever they left, now that they are gone and their locks are free."""
        if self.interrupted and getattr(config.option, "numprocesses", None) and self.ctx.options.janitor:
            self.reap()

    def say_endpoint_mode(self) -> None:
        """Once per run, by the controller: where services get dnsrr, every deploy of the run does.
        The mode is the deployer's own, decided once per process (run/deploy.py)."""
        endpoint = self.ctx.runtime.backend.deployer.endpoint
        if endpoint.dnsrr:
            self.ctx.runtime.progress(
                f"endpoint mode {endpoint.describe()}: every service is deployed with deploy.endpoint_mode: dnsrr"
            )

    def reap(self) -> None:
        from pytest_ccci.run.janitor import reap

        progress = self.ctx.runtime.progress
        try:
            reaped = reap(self.ctx.runtime)
        except (CcciError, OSError) as exc:  # the janitor is a courtesy: never the reason a run crashes
            progress(f"janitor could not run: {type(exc).__name__}: {one_line(exc)}")
            return
        if reaped:
            progress(f"janitor removed leftovers of earlier runs: {', '.join(reaped)}")
