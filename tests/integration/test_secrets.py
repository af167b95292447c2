"""No secret value in any output or report: terminal, results.json, HTML, JUnit XML.

hello declares SECRET_ADMIN_PASSWORD_VERSION, so the plugin generates the admin password and
creates it as a swarm secret. A functional test of the recipe reads the real value from the
running task and writes it to a file outside every artifact; then every artifact is searched
for it (and for its base64 form, which is how the engine API carries secret data).
"""

from __future__ import annotations

import base64
from pathlib import Path

from conftest import Lab

TOKEN = "tok-123456"
FUNCTIONAL = '''\
"""Reads the secret the way an app would, and hands it to the outer test out of band."""

import logging
from pathlib import Path

SEEN = Path({seen!r})


def test_reads_its_admin_password(app):
    code, out = app.exec("cat /run/secrets/admin_password")
    assert code == 0, "cannot read /run/secrets/admin_password"
    SEEN.write_text(out)
    logging.getLogger("recipe-test").debug("read the admin password (%d bytes)", len(out))
    print("read the admin password,", len(out), "bytes")
'''


def _artifacts(lab: Lab, run, paths: list[Path]) -> dict[str, str]:
    texts = {"stdout": run.result.stdout.str(), "stderr": run.result.stderr.str()}
    for path in paths:
        assert path.is_file(), f"{path.name} was not written:\n{run.output[-3000:]}"
        texts[path.name] = path.read_text(errors="replace")
    return texts


def test_no_secret_or_secret_shaped_setting_in_any_output_or_report(lab, assert_clean):
    seen = lab.tmp / "vault" / "admin_password"  # outside every artifact below
    seen.parent.mkdir()
    lab.enroll("sec", settings={"env": {"GREETING": "Hello from CI", "API_TOKEN": TOKEN}})
    (lab.recipes_dir / "sec" / "test_sec.py").write_text(FUNCTIONAL.format(seen=str(seen)))
    junit, html = lab.tmp / "junit.xml", lab.tmp / "report.html"
    run = lab.run(
        "--recipe",
        "sec",
        "--tiers",
        "install,functional",
        "--junitxml",
        str(junit),
        "--html",
        str(html),
        "--self-contained-html",
        "-rA",
        "--log-level",
        "DEBUG",
    )
    run.result.assert_outcomes(passed=2)
    assert "read the admin password, 32 bytes" in run.output, "-rA must show the functional test's output"

    secret = seen.read_text()
    assert len(secret) == 32 and secret.isalnum(), "the functional test did not read the generated secret"
    encoded = base64.b64encode(secret.encode()).decode()
    texts = _artifacts(lab, run, [lab.tmp / "results.json", junit, html])
    assert "ccci levels" in texts["report.html"] and "test_reads_its_admin_password" in texts["junit.xml"]
    for name, text in texts.items():
        assert secret not in text, f"the admin password leaked into {name}"
        assert encoded not in text, f"the admin password (base64) leaked into {name}"
        assert TOKEN not in text, f"the API_TOKEN setting's value leaked into {name}"

    rec = run.recipe("sec")
    assert rec["no_secret_leak"] is True, rec
    assert rec["rungs"]["functional"]["status"] == "pass" and rec["rungs"]["install"]["status"] == "pass", rec["rungs"]
    assert_clean(rec["domain"])
