"""A lint rung that passes with warnings says so everywhere: the terminal table, results.json,
the pytest-html table, the dashboard's pages and summary.md. Warnings never change a level."""

from __future__ import annotations

from pathlib import Path

from report_docs import doc, entry
from test_lint import Draft, _long_secret_key, _set_db
from test_results import all_pass

from pytest_ccci.model.lint import ABRA_RULES, lint_recipe, lint_warnings
from pytest_ccci.model.tiers import RUNGS, TIERS
from pytest_ccci.plugin.html import _rung_cell
from pytest_ccci.report.pages import index_page, recipe_page
from pytest_ccci.report.summary import summary
from pytest_ccci.run.results import Results

WARNINGS = [
    {"id": "R002", "description": "healthcheck enabled for all services", "detail": "service db has no healthcheck"},
    {"id": "R015", "description": "long secret names", "detail": "secret <db_password_x> is 13 characters"},
]


def lint_facts(warnings=WARNINGS) -> dict:
    """What the lint fixture records: facts["lint"]."""
    return {"lint": {"mirrors": ABRA_RULES, "warnings": warnings}}


def test_the_fixture_facts_from_lint_results_reach_the_record(tmp_path: Path):
    draft = Draft()
    _set_db("healthcheck", None)(draft)
    _long_secret_key(draft)
    warnings = lint_warnings(lint_recipe(draft.view(tmp_path / "view")))
    res = Results(["demo"], TIERS, "r")
    all_pass(res, "demo", facts=lint_facts(warnings))
    rec = res.as_dict()["recipes"]["demo"]
    assert [w["id"] for w in rec["warnings"]] == ["R002", "R015"]
    assert rec["lint_mirrors"] == ABRA_RULES
    assert rec["level"] == 5 and rec["rungs"]["lint"]["status"] == "pass"  # warnings never change a level


def test_a_record_without_lint_facts_has_no_warnings():
    res = Results(["demo"], TIERS, "r")
    all_pass(res, "demo")
    rec = res.as_dict()["recipes"]["demo"]
    assert (rec["warnings"], rec["lint_mirrors"]) == ([], None)
    assert "warn" not in "\n".join(res.table())


def test_terminal_table_shows_the_warning_count_and_lists_them():
    res = Results(["demo", "other"], TIERS, "r")
    all_pass(res, "demo", facts=lint_facts())
    all_pass(res, "other")
    lines = res.table()
    demo = next(line for line in lines if line.startswith("demo "))
    other = next(line for line in lines if line.startswith("other "))
    assert demo.endswith("pass (2 warn)") and "L5" in demo
    assert other.split()[-1] == "pass"
    assert lines[0].index("lint") == demo.index("pass (2 warn)")  # the column still lines up
    assert "  demo lint: 2 warning(s): R002 healthcheck enabled for all services; R015 long secret names" in lines


def test_html_report_lint_cell_counts_and_lists_the_warnings():
    cell = _rung_cell("lint", {"status": "pass", "reason": ""}, WARNINGS)
    assert ">pass (2 warn)</td>" in cell and 'class="ccci-pass"' in cell
    assert "R015 long secret names: secret &lt;db_password_x&gt; is 13 characters" in cell  # escaped
    other = _rung_cell("install", {"status": "pass", "reason": ""}, WARNINGS)
    assert ">pass</td>" in other and "R002" not in other


def test_recipe_page_lists_the_warnings_and_the_lint_rung_says_so():
    e = entry("demo") | {"warnings": WARNINGS, "lint_mirrors": ABRA_RULES}
    page = recipe_page("demo", e, doc({"demo": e}), None)
    assert "<h2>Warnings (2)</h2>" in page and "abra pkg/lint/recipe.go" in page
    assert "<td>R002</td><td>healthcheck enabled for all services</td><td>service db has no healthcheck</td>" in page
    assert "&lt;db_password_x&gt;" in page and "<db_password_x>" not in page
    assert "2 warning(s), listed under Warnings" in page
    plain = recipe_page("demo", entry("demo"), doc({"demo": entry("demo")}), None)
    assert "<h2>Warnings" not in plain


def test_index_lint_cell_shows_the_count():
    warned = entry("demo") | {"warnings": WARNINGS}
    page = index_page(doc({"demo": warned, "other": entry("other")}), None, "t")
    assert '<td class="pass">pass (2 warn)</td>' in page
    assert page.count("(2 warn)") == 1
    assert len(RUNGS) == 5  # the lint cell is one of the rung cells, coloured by its status


def test_summary_lists_recipes_with_warnings():
    warned = entry("demo") | {"warnings": WARNINGS}
    text = summary(doc({"demo": warned, "other": entry("other")}), None, "ccci")
    assert "| recipe | rungs | warnings |" in text
    row = next(line for line in text.splitlines() if line.startswith("| demo |"))
    # Markdown-escaped text (parentheses too): renders as `pass (2 warn)`.
    assert "pass \\(2 warn\\)" in row and "R002 healthcheck enabled for all services" in row and "R015" in row
    assert "| other |" not in text
    assert "Warnings (lint" not in summary(doc({"other": entry("other")}), None, "ccci")
