"""Install's picture of an app on the real swarm: hello deployed, its front page rendered by
headless Chromium inside its task's network namespace (swarm/picture.py), kept as a PNG; and a
dashboard built from a results.json naming it shows the picture on hello's recipe page, in
headless Chromium driven by Selenium (browser.py)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from browser import chromium, missing

from pytest_ccci.documents.results import SCHEMA
from pytest_ccci.swarm.picture import take_picture, why_no_picture

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CCCI_TEST_ARTIFACTS", ROOT / ".ccci" / "artifacts"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_hellos_front_page_is_pictured_and_shown_on_its_dashboard_page(
    direct_hello, swarm, tmp_path, missing_requirement
):
    reason = why_no_picture(swarm.client) or missing()
    if reason:
        missing_requirement(reason)
    backend, app = direct_hello.backend, direct_hello.app
    deployed = backend.deploy(app, direct_hello.head, "chaos")
    assert deployed.convergence.ok, deployed.convergence.reason

    said: list[str] = []
    port = app.settings.health.probe_port(deployed.config)
    run = tmp_path / "run"
    dest = run / "pictures" / "hello.png"
    png = take_picture(swarm.client, app.stack, "app", app.domain, port, "/", dest, said.append)
    assert png == dest, said
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "hello-front-page.png")  # for a person to look at
    data = png.read_bytes()
    assert png_size(data) == (1280, 800)
    assert len(data) > 2_000, "a blank page, not the app's"

    (run / "results.json").write_text(
        json.dumps(
            {
                "schema": SCHEMA,
                "run_id": "picture-test",
                "finished": "2026-01-01T00:00:00Z",
                "recipes": {"hello": {"level": 1, "rungs": {}, "tiers": {}, "picture": "pictures/hello.png"}},
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_ccci", "report", "results.json", "--out", str(tmp_path / "site")],
        cwd=run,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "site" / "recipes" / "hello.html"
    with chromium(tmp_path / "chromium-profile") as driver:
        driver.get(page.as_uri())
        loaded = driver.execute_script(
            "const i = document.getElementById('picture'); return i && [i.complete, i.naturalWidth, i.naturalHeight];"
        )
    assert loaded == [True, 1280, 800], "hello's page does not show its picture"


def test_a_plugin_run_of_hello_names_its_picture_in_results_json(lab, swarm, missing_requirement):
    reason = why_no_picture(swarm.client)
    if reason:
        missing_requirement(reason)
    lab.enroll("tpicture")
    run = lab.run("--recipe", "tpicture", "--tiers", "install")
    rec = run.recipe("tpicture")
    assert rec["rungs"]["install"]["status"] == "pass", rec["rungs"]
    picture = rec.get("picture")
    assert picture and not picture.startswith("/"), f"no picture named relative to results.json: {picture!r}"
    png = (lab.tmp / picture).resolve()  # results.json is written in lab.tmp
    assert png.is_file() and png.name.endswith(".png"), png
    assert png_size(png.read_bytes()) == (1280, 800)
