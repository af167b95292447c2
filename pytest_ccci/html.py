"""pytest-html integration, registered only when pytest-html is active (so `-p no:html` works)."""

from __future__ import annotations

import html as _html

import pytest

from .results import PROPERTY
from .stash import results_key

_CONFIG: dict[str, pytest.Config] = {}
_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#6e7781", "unver": "#bc4c00"}


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config


def pytest_html_results_summary(prefix, summary, postfix) -> None:
    config = _CONFIG.get("config")
    results = config.stash.get(results_key, None) if config else None
    if results is None:
        return
    doc = results.as_dict()
    rows = []
    from .level import RUNGS

    for name, rec in doc["recipes"].items():
        cells = "".join(
            f'<td class="ccci-{rec["rungs"][r]["status"]}" title="{_html.escape(rec["rungs"][r]["reason"])}"'
            f' style="color:{_COLOUR[rec["rungs"][r]["status"]]};font-weight:bold">{rec["rungs"][r]["status"]}</td>'
            for r in RUNGS
        )
        rows.append(
            f"<tr><td>{_html.escape(name)}</td><td>{_html.escape((rec.get('head_sha') or '-')[:8])}</td>"
            f"<td><b>L{rec['level']}</b></td>{cells}<td>{_html.escape(rec['why_not_higher'])}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("recipe", "head", "level", *RUNGS, "why not higher"))
    prefix.append(f'<h2>ccci levels</h2><table id="ccci-levels"><tr>{head}</tr>{"".join(rows)}</table>')


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    data = getattr(report, PROPERTY, None)
    if data and report.failed and report.when == "call":
        extras = getattr(report, "extras", [])
        from pytest_html import extras as html_extras

        extras.append(html_extras.text(_diagnostics(item, data), name="ccci diagnostics"))
        report.extras = extras
    return report


def _diagnostics(item, data: dict) -> str:
    from .stash import ccci_context_key

    ctx = item.config.stash.get(ccci_context_key, None)
    lines = [f"recipe {data['recipe']} tier {data['tier']}: {data['status']}: {data['reason']}"]
    if ctx is not None and ctx.runtime._backend is not None:
        lc = ctx.lifecycles.get(data["recipe"])
        try:
            app = lc.app() if lc else None
        except Exception:
            app = None
        if app is not None:
            swarm = ctx.runtime.backend.swarm
            svc = swarm.service(f"{app.stack}_app")
            if svc:
                spec = svc["Spec"]
                lines.append(f"service {spec['Name']}: image {spec['TaskTemplate']['ContainerSpec'].get('Image')}")
                lines.append(f"update status: {svc.get('UpdateStatus')}")
            lines.append("last log lines:")
            lines.append(swarm.task_logs(f"{app.stack}_app", lines=20))
    return "\n".join(lines)
