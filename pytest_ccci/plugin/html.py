"""pytest-html integration, registered only when pytest-html is active (so `-p no:html` works)."""

from __future__ import annotations

import html as _html

import pytest

from pytest_ccci.model.app import redact
from pytest_ccci.model.level import RUNGS
from pytest_ccci.run.results import PROPERTY
from pytest_ccci.plugin.stash import ccci_context_key, results_key

_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#6e7781", "unver": "#bc4c00"}


class HtmlReport:
    """Adds the level table to the report's summary (controller) and, on a failed tier,
    diagnostics read off the swarm (the worker that ran it)."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_html_results_summary(self, prefix, summary, postfix) -> None:
        results = self.config.stash.get(results_key, None)
        if results is None:
            return
        rows = []
        for name, rec in results.as_dict()["recipes"].items():
            cells = "".join(_rung_cell(rec["rungs"][r]) for r in RUNGS)
            rows.append(
                f"<tr><td>{_html.escape(name)}</td><td>{_html.escape((rec.get('head_sha') or '-')[:8])}</td>"
                f"<td><b>L{rec['level']}</b></td>{cells}<td>{_html.escape(rec['why_not_higher'])}</td></tr>"
            )
        head = "".join(f"<th>{h}</th>" for h in ("recipe", "head", "level", *RUNGS, "why not higher"))
        prefix.append(f'<h2>ccci levels</h2><table id="ccci-levels"><tr>{head}</tr>{"".join(rows)}</table>')

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        data = getattr(report, PROPERTY, None)
        if data and report.failed and report.when == "call":
            from pytest_html import extras

            try:
                ctx = self.config.stash.get(ccci_context_key, None)
                text = redact(self._diagnostics(data), ctx.secret_values() if ctx else [])
            except Exception as exc:  # diagnostics are a courtesy: an unreachable daemon is no crash
                text = f"ccci diagnostics unavailable: {type(exc).__name__}: {exc}"
            report.extras = [*getattr(report, "extras", []), extras.text(text, name="ccci diagnostics")]
        return report

    def _diagnostics(self, data: dict) -> str:
        """The app service's image and update status, and its last log lines."""
        lines = [f"recipe {data['recipe']} tier {data['tier']}: {data['status']}: {data['reason']}"]
        ctx = self.config.stash.get(ccci_context_key, None)
        lc = ctx.lifecycles.get(data["recipe"]) if ctx is not None else None
        if lc is None or ctx.runtime._backend is None:
            return "\n".join(lines)
        try:
            stack = lc.app().stack
        except Exception:  # no checkout: nothing was deployed to look at
            return "\n".join(lines)
        swarm = ctx.runtime.backend.swarm
        svc = swarm.service(f"{stack}_app")
        if svc:
            spec = svc["Spec"]
            lines.append(f"service {spec['Name']}: image {spec['TaskTemplate']['ContainerSpec'].get('Image')}")
            lines.append(f"update status: {svc.get('UpdateStatus')}")
        lines += ["last log lines:", swarm.task_logs(f"{stack}_app", lines=20)]
        return "\n".join(lines)


def _rung_cell(rung: dict) -> str:
    status = rung["status"]
    return (f'<td class="ccci-{status}" title="{_html.escape(rung["reason"])}" '
            f'style="color:{_COLOUR[status]};font-weight:bold">{status}</td>')
