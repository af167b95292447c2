"""The HTML report (pytest-html) on a real failure: the failed tier carries diagnostics read off
the swarm, the app service's image and its last log lines, as a "ccci diagnostics" extra."""

from __future__ import annotations

import base64
import html
import json
import re

from recipe_variants import compose_step

from pytest_ccci.model.naming import stack_name

# What the crashing task says on its way out: the line an operator needs from the logs.
LAST_WORDS = "hello: cannot open /data/notes.db: read-only file system"


def html_test_data(report: str) -> dict:
    """pytest-html's per-test data, which it embeds in the page as a JSON blob."""
    blob = re.search(r'data-jsonblob="([^"]*)"', report)
    assert blob, "no data blob in the HTML report"
    return json.loads(html.unescape(blob.group(1)))


def text_extra(extra: dict) -> str:
    """A self-contained report inlines a text extra as a base64 data URI."""
    prefix, _, data = extra["content"].partition("base64,")
    assert prefix.startswith("data:text/plain"), extra
    return base64.b64decode(data).decode()


def test_failed_install_has_the_image_and_last_log_lines_in_the_html_report(lab, assert_clean):
    """A task that crashes saying why: the report shows which image ran and the task's own words."""
    crash = f"""    entrypoint: ["sh", "-c", "echo '{LAST_WORDS}' >&2; exit 1"]\n"""
    steps = compose_step(lab, "crash", ("    entrypoint: /docker-entrypoint.sh\n", crash))
    lab.enroll("htmd", extra_steps=steps, settings={"max_task_failures": 2})
    report = lab.tmp / "report.html"
    run = lab.run("--recipe", "htmd", "--tiers", "install", "--html", str(report), "--self-contained-html")
    run.result.assert_outcomes(failed=1)
    rec = run.recipe("htmd")
    assert rec["rungs"]["install"]["status"] == "fail", rec["rungs"]["install"]
    tests = html_test_data(report.read_text())["tests"]
    extras = {
        test_id: extra
        for test_id, results in tests.items()
        for result in results
        for extra in result.get("extras", [])
        if extra["name"] == "ccci diagnostics"
    }
    assert len(extras) == 1 and "test_install" in next(iter(extras)), tests  # the failed tier's, only
    diagnostics = text_extra(next(iter(extras.values())))
    stack = stack_name(rec["domain"])
    assert f"service {stack}_app: image ccci/busybox:1.35.0" in diagnostics, diagnostics
    log = diagnostics.partition("last log lines:")[2]
    assert LAST_WORDS in log, diagnostics
    assert_clean(rec["domain"])
