"""The static dashboard (report/pages.py, badges.py, summary.py) and the report command (cli.py,
__main__.py): what is written, that it is self-contained and escaped, and bad input in one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_docs import doc, entry, typed

from pytest_ccci.__main__ import main
from pytest_ccci.documents.history import load, record
from pytest_ccci.report import badges
from pytest_ccci.report.cli import build
from pytest_ccci.report.pages import file_stem, index_page, recipe_page
from pytest_ccci.report.summary import MAX_CHARS, summary

EVIL = "<script>alert(1)</script>"


def shards(tmp_path: Path) -> list[Path]:
    one = doc(
        {
            "hello": entry("hello", release="0.2.0+1.35.0"),
            "lintfail": entry("lintfail", {"install": "pass", "lint": "fail"}, level=4, why=f"L5 lint failed: {EVIL}"),
        },
        run_id="r1",
        shard="1/2",
    )
    two = doc({"nobackup": entry("nobackup", level=2, why="L3 backup_restore skipped: n/a")}, run_id="r2", shard="2/2")
    paths = [tmp_path / "one.json", tmp_path / "two.json"]
    for path, content in zip(paths, (one, two), strict=True):
        path.write_text(json.dumps(content))
    return paths


def test_report_writes_merged_results_pages_badges_and_summary(tmp_path):
    out = tmp_path / "site"
    built = build(shards(tmp_path), out)
    assert built.recipes == 3
    merged = json.loads((out / "results.json").read_text())
    assert {n: e["level"] for n, e in merged["recipes"].items()} == {"hello": 5, "lintfail": 4, "nobackup": 2}
    for name in ("hello", "lintfail", "nobackup"):
        assert (out / "recipes" / f"{name}.html").is_file()
        assert (out / "badges" / f"{name}.svg").is_file()
    index = (out / "index.html").read_text()
    assert index.count('<tr data-level="') == 3
    assert 'href="recipes/lintfail.html"' in index
    assert (out / "summary.md").read_text().startswith("## pytest-ccci: recipe levels")


def test_pages_are_self_contained_and_escape_what_they_show(tmp_path):
    out = tmp_path / "site"
    build(shards(tmp_path), out)
    for page in [out / "index.html", *(out / "recipes").glob("*.html")]:
        text = page.read_text()
        assert EVIL not in text, page
        # No external asset: no http(s) reference at all, no stylesheet or script from elsewhere.
        assert not re.search(r"(src|href)=\"(https?:)?//", text), page
        assert "<script src" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (out / "index.html").read_text()
    assert EVIL not in (out / "summary.md").read_text()


def test_index_has_the_columns_the_issue_asks_for():
    page = index_page(doc({"a": entry("a", level=3, why="L4 functional failed: boom")}), None, "T")
    header = re.findall(r"<th[^>]*>([^<]+)</th>", page)
    assert header == [
        "recipe",
        "level",
        "install",
        "upgrade",
        "backup_restore",
        "functional",
        "lint",
        "head",
        "ref",
        "why not higher",
        "duration",
        "when",
    ]
    assert 'data-sort="3">L3</td>' in page
    assert "L4 functional failed: boom" in page


def test_index_with_history_shows_since_levels_over_time_and_flaky_tiers(tmp_path):
    for n, functional in enumerate(("pass", "fail", "pass"), start=1):
        tiers = {"install": "pass", "functional": functional}
        record(tmp_path, typed(doc({"a": entry("a", tiers, level=5 if functional == "pass" else 3)}, run_id=f"r{n}")))
    histories = load(tmp_path)
    page = index_page(doc({"a": entry("a")}, run_id="r3"), histories, "T")
    assert "<th>history</th>" in page
    assert page.count('<i class="L') == 3
    assert "functional 33%" in page


def test_recipe_page_shows_tier_reasons_stamps_upgrade_and_durations():
    e = entry("a", {"install": "pass", "upgrade": "fail"}, level=1, why="L2 upgrade failed: data lost")
    e["tiers"]["ccci/a::test_upgrade"]["reason"] = "data seeded on 0.2.0 lost in the upgrade: /data/.ccci-seed"
    e["stamps"] = {"install_stamp": "abc123"}
    e["upgrade_base"] = {"version": "0.2.0+1", "how": "newest older release"}
    e["upgrade_runs"] = ["0.2.0+1"]
    e["deploy_durations"] = {"deploy_chaos_aaaaaaaa": 12.5}
    page = recipe_page("a", e, doc({"a": e}), None)
    for shown in (
        "data seeded on 0.2.0 lost in the upgrade: /data/.ccci-seed",
        "install_stamp",
        "abc123",
        "newest older release",
        "deploy_chaos_aaaaaaaa",
        "12.5s",
        "L2 upgrade failed: data lost",
        '<img src="../badges/a.svg" alt="ccci L1">',
        '<a href="../index.html">',
        "********",  # the settings as results.json has them: masked
    ):
        assert shown in page, shown


def test_file_stems_are_safe_and_distinct():
    assert file_stem("hello-world_2.x") == "hello-world_2.x"
    odd = [file_stem(n) for n in ("../etc", "a b", "a_b", ".hidden")]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", s) for s in odd), odd
    assert len(set(odd)) == 4


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5, None])
def test_badge_is_svg_with_the_level_text_and_colour(level):
    svg = badges.badge(level)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    value = f"L{level}" if level is not None else "?"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["ccci", value]
    assert root.get("aria-label") == f"ccci: {value}"
    assert badges.colour(level) in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_badge_colours_go_from_red_to_bright_green():
    assert [badges.colour(n) for n in range(6)] == list(badges.LEVEL_COLOURS)
    assert badges.colour(0) == "#e05d44" and badges.colour(5) == "#4c1"


def test_summary_lists_recipes_below_l5_with_their_level_before(tmp_path):
    record(tmp_path, typed(doc({"a": entry("a", level=5)}, run_id="r0", finished="2025-12-31T00:00:00Z")))
    now = doc({"a": entry("a", level=3, why="L4 functional failed: x|y"), "b": entry("b")}, run_id="r1")
    record(tmp_path, typed(now))
    text = summary(now, load(tmp_path), "Levels")
    assert "| L5 | 1 |" in text and "| L3 | 1 |" in text
    assert "| a | L3 | L5 | L4 functional failed\\: x\\|y |" in text
    assert "| b |" not in text  # at L5: in the tally only


def test_summary_stays_under_the_comment_limit():
    many = {f"recipe-{i:04d}": entry(f"r{i}", level=0, why="L1 install failed: " + "x" * 150) for i in range(2000)}
    text = summary(doc(many), None, "Levels")
    assert len(text) <= MAX_CHARS + 200
    assert re.search(r"… and \d+ more recipes below L5: see the dashboard", text)


def test_report_history_records_the_inputs_once(tmp_path):
    inputs, history = shards(tmp_path), tmp_path / "history"
    assert build(inputs, tmp_path / "site", history).recorded == 2
    assert build(inputs, tmp_path / "site", history).recorded == 0  # the same runs: nothing added
    assert build(inputs, tmp_path / "site", history, record=False).recorded == 0
    assert {n: len(h.points) for n, h in load(history).items()} == {"hello": 1, "lintfail": 1, "nobackup": 1}
    assert "Last green release: <b>0.2.0+1.35.0</b>" in (tmp_path / "site" / "recipes" / "hello.html").read_text()


def test_command_line_bad_input_is_one_line_exit_2(tmp_path, capsys):
    one, _ = shards(tmp_path)
    assert main(["report", str(one), str(one), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err == f"pytest-ccci report: recipe hello is in two inputs: {one} and {one}\n"
    assert main(["report", str(tmp_path / "absent.json"), "--out", str(tmp_path / "site")]) == 2
    assert capsys.readouterr().err.strip().endswith("absent.json: no such file")


def test_command_line_unwritable_out_is_one_line(tmp_path, capsys):
    one, _ = shards(tmp_path)
    (tmp_path / "blocker").write_text("")
    assert main(["report", str(one), "--out", str(tmp_path / "blocker" / "site")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"pytest-ccci report: cannot write in {tmp_path / 'blocker' / 'site'}")


def test_python_dash_m_runs_the_report(tmp_path):
    paths = shards(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_ccci", "report", *map(str, paths), "--out", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"pytest-ccci report: 3 recipes -> {tmp_path / 'site' / 'index.html'}"
    usage = subprocess.run([sys.executable, "-m", "pytest_ccci"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "report" in usage.stderr
