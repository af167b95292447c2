"""The dashboard's templates (report/assets.py, report/templates/): HTML autoescaped by the
engine, summary.md escaped for Markdown only (never twice), the style and script copied as they
are, every template shipped as package data, and summary.md under the comment size limit."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path

from report_docs import doc, entry

from pytest_ccci.report import assets
from pytest_ccci.report.pages import index_page, recipe_page
from pytest_ccci.report.summary import MAX_CHARS, summary

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "pytest_ccci" / "report" / "templates"


def test_html_pages_are_escaped_by_the_engine_and_markdown_once():
    name = "a&b<i>"
    e = entry(name, level=2, why="L3 x: <b>bold</b> & more")
    d = doc({name: e})
    for page in (index_page(d, None, "t"), recipe_page(name, e, d, None)):
        assert "a&amp;b&lt;i&gt;" in page and "<i>" not in page
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page
    text = summary(d, None, "t")
    # Markdown's own escaping (entities for & < >), not HTML autoescape on top of it.
    assert "| a&amp;b&lt;i&gt; | L2 |" in text and "&amp;amp;" not in text


def test_style_and_script_are_copied_into_the_pages_as_they_are():
    page = index_page(doc({"a": entry("a")}), None, "t")
    for static in ("style.css", "index.js"):
        assert (TEMPLATES / static).read_text() in page, static
    assert "index.js" not in recipe_page("a", entry("a"), doc({"a": entry("a")}), None)


def test_every_template_is_package_data():
    listed = re.search(r'^"pytest_ccci.report" = (\[.*\])$', (REPO / "pyproject.toml").read_text(), re.M)
    assert listed, "pyproject.toml lists no package data for pytest_ccci.report"
    globs = json.loads(listed.group(1))
    files = [p.relative_to(TEMPLATES.parent).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()]
    assert {"templates/page.html", "templates/summary.md", "templates/index.js"} <= set(files)
    assert all(any(fnmatch(f, g) and "/" not in f[len("templates/") :] for g in globs) for f in files), files
    assert all(assets.environment().get_template(p.name) for p in TEMPLATES.iterdir())


def test_summary_with_too_many_rows_stays_under_the_limit():
    many = {f"recipe-{i:04d}": entry(f"r{i}", level=0, why="L1 install failed: " + "x" * 150) for i in range(2000)}
    many["w"] = entry("w") | {"warnings": [{"id": "R002", "description": "healthcheck"}]}
    text = summary(doc(many), None, "Levels")
    assert len(text) <= MAX_CHARS
    assert "more recipes below L5: see the dashboard." in text
    assert "1 more recipes with lint warnings: see the dashboard." in text  # no room left: counted
