"""The dashboard's templates and the one Jinja2 environment that renders them.

The templates are package data in `report/templates/`: `page.html` (the frame every page
shares), `index.html`, `recipe.html`, `macros.html` (cells and tables), `badge.svg` and
`summary.md`; beside them the inline style (`style.css`) and the index's script (`index.js`),
copied into each page as they are. No external asset, no framework: every page works offline
from file:// (self-contained apart from the badge images beside it).

Escaping is the environment's, not each caller's: every `.html` and `.svg` template
autoescapes, so any value shown is escaped unless a template marks it safe (only the inlined
style and script are).
`summary.md` is Markdown, not HTML: no autoescape there; an app's text goes through the
`markdown` filter (`markdown_text`), which makes it inert Markdown.

The index script sorts the level table by a clicked column (again: the other way) and filters
it by text and level. The filter can also be given in the address, `index.html#q=hello&level=5`
(a link to a filtered view), and the table's state is kept there as it changes.
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

import jinja2
from markupsafe import Markup

from pytest_ccci.model.text import one_line

MARKDOWN_LIMIT = 160  # characters of an app's text in a summary.md cell
# ASCII punctuation with a meaning in GitHub Markdown (links, images, emphasis, code, tables,
# headings, strikethrough, autolinks): each backslash-escaped. `&`, `<`, `>` become entities.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~:])")


def markdown_text(text: object, limit: int | None = MARKDOWN_LIMIT) -> str:
    """`text` as inert Markdown: one line (one_line), rendered as exactly its characters."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", escape(one_line(text, limit), quote=False))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def when(iso: str | None) -> str:
    """`2026-11-22T05:32:10Z` shown as `2026-11-22 05:32Z`."""
    return f"{iso[:10]} {iso[11:16]}Z" if iso and len(iso) >= 16 else (iso or "-")


def percent(rate: float) -> str:
    return f"{rate:.0%}"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_ccci.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "svg"), default_for_string=True),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, never shows as ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(markdown=markdown_text, duration=duration, when=when, percent=percent)
    env.globals["inline"] = functools.partial(_inline, env)
    return env


def _inline(env: jinja2.Environment, name: str) -> Markup:
    """A static file's text as it is (the style, the script): copied, never parsed as a template."""
    assert env.loader is not None
    return Markup(env.loader.get_source(env, name)[0])


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
