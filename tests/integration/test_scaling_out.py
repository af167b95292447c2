"""Scaling out on the real swarm: two shards run in separate processes (as two CI machines
would, each writing its own results) merge into the levels one run gives; and a history with a
tier made flaky on purpose gives its flake rate and last green release, shown by the dashboard
in headless Chromium, driven by Selenium (browser.py): a filter typed, a column sorted, a
recipe page opened by a click, and screenshots kept in .ccci/artifacts/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser import chromium, missing, save_screenshot

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CCCI_TEST_ARTIFACTS", ROOT / ".ccci" / "artifacts"))
SWEEP = {"shd-lint": "hello-lintfail", "shd-nob": "hello-nobackup", "shd-hello": "hello"}
FLAKY_TEST = """\
from pathlib import Path

FLAKED = Path(__file__).with_name(".flaked")


def test_flaky_on_purpose(app):
    first = not FLAKED.exists()
    FLAKED.touch()
    assert not first, "failing on purpose, the first time only: a flaky test"
"""


@pytest.fixture
def browser(missing_requirement, tmp_path):
    """Headless Chromium driven by Selenium (browser.py), with a fresh profile; quit after."""
    reason = missing()
    if reason:
        missing_requirement(reason)
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def js(driver, expression: str):
    """The value of a JavaScript expression in the page."""
    return driver.execute_script(f"return {expression}")


def loaded(driver, path_end: str) -> None:
    """Wait until the page at a path ending in `path_end` has loaded (after a click on a link)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: js(d, "location.pathname").endswith(path_end) and js(d, "document.readyState") == "complete"
    )


def report(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_ccci", "report", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def levels_and_rungs(doc: dict) -> dict:
    return {n: (e["level"], {r: v["status"] for r, v in e["rungs"].items()}) for n, e in doc["recipes"].items()}


def test_two_shards_merge_into_the_levels_of_one_run(lab, assert_clean):
    for name, example in SWEEP.items():
        lab.enroll(name, example=example)
    single = lab.run("--tiers", "lint,install", json_name="single.json")
    assert single.results is not None, single.output

    # Two machines: two processes at once, each with its own results file, balanced by the
    # single run's wall times.
    shards = []
    for k in (1, 2):
        args = lab.args("--tiers", "lint,install", "--ccci-shard", f"{k}/2", "--ccci-durations=single.json")
        args += [f"--basetemp={lab.tmp / f'basetemp-{k}'}", "--ccci-json", str(lab.tmp / f"shard{k}.json")]
        cmd = [sys.executable, "-m", "pytest", *args]
        shards.append(subprocess.Popen(cmd, cwd=lab.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [proc.communicate(timeout=600)[0] for proc in shards]
    docs = [json.loads((lab.tmp / f"shard{k}.json").read_text()) for k in (1, 2)]
    assert sorted(n for d in docs for n in d["recipes"]) == sorted(SWEEP), outputs
    assert all(d["recipes"] for d in docs), "a shard got nothing: the split is not balanced"

    report(lab.tmp, "shard1.json", "shard2.json", "--out", "site")
    merged = json.loads((lab.tmp / "site" / "results.json").read_text())
    assert levels_and_rungs(merged) == levels_and_rungs(single.results)
    assert {n: e["level"] for n, e in merged["recipes"].items()} == {"shd-lint": 1, "shd-nob": 1, "shd-hello": 1}
    assert merged["recipes"]["shd-lint"]["rungs"]["lint"]["status"] == "fail"
    for name in SWEEP:
        assert (lab.tmp / "site" / "badges" / f"{name}.svg").is_file()
        assert_clean(merged["recipes"][name]["domain"])


def test_flaky_tier_in_the_history_and_the_dashboard_in_chromium(lab, assert_clean, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    lab.enroll("flaky")
    (lab.recipes_dir / "flaky" / "test_flaky.py").write_text(FLAKY_TEST)
    release = "0.1.0+1.35.0"
    runs = [
        lab.run("--tiers", "install,functional", "--ref", release, "--ccci-history=history", json_name=f"run{n}.json")
        for n in (1, 2)
    ]
    assert [r.recipe("flaky")["rungs"]["functional"]["status"] for r in runs] == ["fail", "pass"], runs[1].output
    assert runs[1].recipe("flaky")["head_release"] == release

    report(lab.tmp, "run2.json", "--out", "site", "--history", "history")
    summary = (lab.tmp / "site" / "summary.md").read_text()
    assert "| flaky | functional | 50% | 1 |" in summary, summary
    assert_clean(runs[1].recipe("flaky")["domain"])

    site = lab.tmp / "site"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.get((site / "index.html").as_uri())
    assert js(browser, "document.querySelectorAll('#levels tbody tr').length") == 1
    cells = js(browser, "[...document.querySelectorAll('#levels tbody td')].map(c => c.textContent)")
    assert cells[:2] == ["flaky", "L1"] and "functional 50%" in cells, cells
    query = browser.find_element(By.ID, "q")
    query.send_keys("no such recipe")  # typed, key by key
    assert js(browser, "document.getElementById('shown').textContent") == "0"
    query.send_keys(Keys.CONTROL, "a")
    query.send_keys(Keys.BACKSPACE)
    assert js(browser, "document.getElementById('shown').textContent") == "1"
    save_screenshot(browser, ARTIFACTS / "dashboard-index.png")
    browser.find_element(By.CSS_SELECTOR, "a[href='recipes/flaky.html']").click()  # a real click
    loaded(browser, "/recipes/flaky.html")
    text = js(browser, "document.body.innerText")
    assert f"Last green release: {release}" in text, text
    assert "failing on purpose, the first time only" not in text  # the latest run passed
    badge = js(
        browser, "(() => { const i = document.querySelector('h1 img'); return [i.complete, i.naturalWidth]; })()"
    )
    assert badge[0] and badge[1] > 0, "the badge did not render"
    save_screenshot(browser, ARTIFACTS / "dashboard-recipe.png")


def test_dashboard_sorts_and_filters_in_chromium(browser, tmp_path):
    """Many recipes (no swarm needed): a column sorted both ways by clicks on its header, the
    level filter, and a filtered view opened from its link (index.html#q=...&level=...)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from pytest_ccci.documents.results import SCHEMA

    levels = {f"recipe-{i:02d}": i % 6 for i in range(12)}
    doc = {
        "schema": SCHEMA,
        "run_id": "r1",
        "finished": "2026-01-01T00:00:00Z",
        "recipes": {
            n: {"level": lv, "why_not_higher": f"L{lv + 1} x failed" if lv < 5 else ""} for n, lv in levels.items()
        },
    }
    (tmp_path / "results.json").write_text(json.dumps(doc))
    report(tmp_path, "results.json", "--out", "site")
    index = (tmp_path / "site" / "index.html").as_uri()
    visible = "[...document.querySelectorAll('#levels tbody tr')].filter(r => r.style.display !== 'none')"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.get(index)
    level_header = browser.find_element(By.CSS_SELECTOR, "#levels th:nth-child(2)")
    level_header.click()  # level, ascending
    column = js(browser, f"{visible}.map(r => r.dataset.level)")
    assert column == sorted(column) and len(column) == 12
    level_header.click()  # and descending
    assert js(browser, f"{visible}.map(r => r.dataset.level)") == sorted(column, reverse=True)
    Select(browser.find_element(By.ID, "level")).select_by_value("5")  # chosen as a person does
    assert js(browser, f"{visible}.map(r => r.cells[0].textContent)") == ["recipe-05", "recipe-11"]
    assert js(browser, "location.hash") == "#level=5"
    browser.get("about:blank")  # a new visit: from the index itself, a new #... would not reload it
    browser.get(index + "#q=recipe-1&level=4")  # recipe-10, -11 match the text; -04, -10 the level
    assert js(browser, f"{visible}.map(r => r.cells[0].textContent)") == ["recipe-10"]
    assert js(browser, "document.getElementById('q').value") == "recipe-1"
    save_screenshot(browser, ARTIFACTS / "dashboard-filtered.png")
