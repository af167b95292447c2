"""pytest-html integration, registered only when pytest-html is active (so `-p no:html` works):
the level table in the report's summary (the lint rung with its warnings: `pass (2 warn)`, each
listed in the cell's title; an intermittent rung: `fail (intermittent)`), under it the command
that reruns each rung that failed or could not be verified, swarm diagnostics on a failed tier,
and links in its row to the files of its story (run/story.py: each service's log, task history
and last update)."""

from __future__ import annotations

import html as _html
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pytest_ccci.documents.facts import RecipeFacts
from pytest_ccci.documents.results import rung_text, warning_text, warnings_of_rung
from pytest_ccci.errors import CcciError
from pytest_ccci.model.secrets import redact
from pytest_ccci.model.tiers import RUNGS
from pytest_ccci.model.verdict import REPORT_ATTRIBUTE, Status, TierVerdict
from pytest_ccci.plugin.state import CcciContext
from pytest_ccci.run.results import Results

_COLOUR = {Status.PASS: "#1a7f37", Status.FAIL: "#cf222e", Status.SKIP: "#6e7781", Status.UNVER: "#bc4c00"}


class HtmlReport:
    """Adds the level table to the report's summary (controller: `results` is given) and, on a
    failed tier, diagnostics read off the swarm (by the process that ran it)."""

    def __init__(self, ctx: CcciContext, results: Results | None):
        self.ctx = ctx
        self.results = results

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        if self.results is None:
            return
        rows, repros = [], []
        for name, rec in self.results.as_dict()["recipes"].items():
            cells = "".join(_rung_cell(r, rec["rungs"][r], rec.get("warnings") or []) for r in RUNGS)
            rows.append(
                f"<tr><td>{_html.escape(name)}</td><td>{_html.escape((rec.get('head_sha') or '-')[:8])}</td>"
                f"<td><b>L{rec['level']}</b></td>{cells}<td>{_html.escape(rec['why_not_higher'])}</td></tr>"
            )
            repros += [_repro_line(name, r, rec["rungs"][r]) for r in RUNGS if rec["rungs"][r].get("repro")]
        head = "".join(f"<th>{h}</th>" for h in ("recipe", "head", "level", *RUNGS, "why not higher"))
        listed = f'<p>Rerun with:</p><ul id="ccci-repro">{"".join(repros)}</ul>' if repros else ""
        prefix.append(f'<h2>ccci levels</h2><table id="ccci-levels"><tr>{head}</tr>{"".join(rows)}</table>{listed}')

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if data and report.failed and report.when == "call":
            from pytest_html import extras

            try:
                text = redact(self._diagnostics(TierVerdict.from_wire(data)), self.ctx.secret_values())
            except (CcciError, OSError) as exc:  # diagnostics are a courtesy: an unreachable daemon is no crash
                text = f"ccci diagnostics unavailable: {type(exc).__name__}: {exc}"
            more = [*getattr(report, "extras", []), extras.text(text, name="ccci diagnostics")]
            report.extras = more  # type: ignore[attr-defined]  # pytest-html reads its extras off the report
        if data and report.failed and report.when != "teardown":
            links = _story_links(TierVerdict.from_wire(data, RecipeFacts.from_wire), item)
            report.extras = [*getattr(report, "extras", []), *links]  # type: ignore[attr-defined]
        return report

    def _diagnostics(self, verdict: TierVerdict) -> str:
        """The app service's image and update status, and its last log lines."""
        lines = [f"recipe {verdict.recipe} tier {verdict.tier}: {verdict.status.value}: {verdict.reason}"]
        lifecycle = self.ctx.lifecycles.get(verdict.recipe)
        if lifecycle is not None:
            lines += lifecycle.for_tier(verdict.tier).diagnostics()
        return "\n".join(lines)


def _story_links(verdict: TierVerdict, item: pytest.Item) -> list[dict[str, Any]]:
    """A link in the tier's row to each file of its story (runner.py saved it just before),
    relative to the HTML report's folder (the report and the run dir move together in a CI
    artifact), or absolute when there is no relative way."""
    from pytest_html import extras

    facts = verdict.facts if isinstance(verdict.facts, RecipeFacts) else None
    artifacts = facts.stories.get(item.nodeid, []) if facts else []
    html_path = getattr(item.config.option, "htmlpath", None)
    folder = Path(html_path).absolute().parent if html_path else None
    return [extras.url(_link(a.path, folder), name=f"ccci {a.service} {a.kind}") for a in artifacts]


def _link(path: str, folder: Path | None) -> str:
    if folder is not None:
        try:
            return quote(Path(os.path.relpath(path, folder)).as_posix())
        except ValueError:  # another drive (Windows)
            pass
    return Path(path).absolute().as_uri()


def _rung_cell(name: str, rung: dict[str, Any], warnings: list[dict[str, str]]) -> str:
    """The rung's status; a rung with warnings (lint's, install's graceful stop) says how many, listed
    in its title."""
    status = Status(rung["status"])
    listed = [warning_text(w) for w in warnings_of_rung(name, warnings)]
    title = "; ".join(part for part in (rung["reason"], *listed) if part)
    shown = rung_text(name, status.value, warnings, rung.get("intermittent"))
    return (
        f'<td class="ccci-{status.value}" title="{_html.escape(title)}" '
        f'style="color:{_COLOUR[status]};font-weight:bold">{_html.escape(shown)}</td>'
    )


def _repro_line(recipe: str, name: str, rung: dict[str, Any]) -> str:
    """One rung's repro line (results.json's), as an item of the list under the level table."""
    said = f"{recipe} {name} ({rung['status']})"
    return f"<li>{_html.escape(said)}: <code>{_html.escape(rung['repro'])}</code></li>"
