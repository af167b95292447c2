"""Hostile recipes for the attack suite (test_attacks.py), and the checks every attack shares.

A hostile recipe is hello (examples/) with one more commit on top, made here with git itself so
that it can hold what a copied example step cannot: symlinks (to host files, /proc, /dev, or
nowhere) and any bytes. The runner's secrets are stood in for by a CANARY: a random token that
the test puts in a file outside the checkout and in the runner's environment
(`CCCI_TEST_TOKEN`); an attack succeeds when the canary reaches any artifact of the run.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import example_repos
from recipe_variants import HELLO_COMPOSE

from conftest import Run

CANARY_ENV = "CCCI_TEST_TOKEN"
ENTRYPOINT = "    entrypoint: /docker-entrypoint.sh\n"
BEFORE_HEALTHCHECK = "    healthcheck:\n"
APP_NETWORKS = "    networks:\n      - proxy\n"
TOP_NETWORKS = "networks:\n  proxy:\n    external: true  # traefik's network on a Co-op Cloud server\n"


@dataclass(frozen=True)
class Canary:
    """The runner's secret for one test: `value`, and host files holding it outside any checkout."""

    value: str
    host_dir: Path

    @classmethod
    def make(cls, host_dir: Path) -> Canary:
        host_dir.mkdir(parents=True, exist_ok=True)
        return cls(f"canary{secrets.token_hex(12)}", host_dir)

    def host_file(self, name: str, text: str) -> Path:
        """A file of the runner's (outside every checkout) whose text holds the canary ({canary})."""
        path = self.host_dir / name
        path.write_text(text.format(canary=self.value))
        return path


def hello_compose(*replacements: tuple[str, str]) -> str:
    """hello's head compose.yml with each (old, new) replacement applied."""
    text = HELLO_COMPOSE
    for old, new in replacements:
        assert old in text, f"{old!r} is not in hello's compose.yml any more"
        text = text.replace(old, new)
    return text


def commit(
    source: Path,
    files: dict[str, str | bytes] | None = None,
    links: dict[str, str] | None = None,
    message: str = "attack",
) -> None:
    """One more commit on the recipe's source repository: `files` written (text or bytes),
    `links` made symlinks to their targets (which may be outside, special or missing)."""
    for name, content in (files or {}).items():
        path = source / name
        path.unlink(missing_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for name, target in (links or {}).items():
        path = source / name
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    for args in (["add", "--all"], ["commit", "--quiet", "-m", message]):
        subprocess.run(["git", *args], cwd=source, check=True, capture_output=True, env=example_repos.GIT_ENV)


def updir_to_root(depth: int = 40) -> str:
    """Enough `../` to reach / from any checkout (extra ones stay at /)."""
    return "../" * depth


def artifact_texts(run: Run, *paths: Path) -> dict[str, str]:
    """Every artifact of `run` as text, by name: its terminal output, results.json and the files
    given (JUnit XML, HTML, summary.md...), HTML unescaped and base64 data extras decoded too."""
    texts = {"terminal output": run.output}
    results = Path(run.recipes_dir).parent / "results.json"
    for path in (results, *paths):
        if path.is_dir():
            for inner in sorted(p for p in path.rglob("*") if p.is_file()):
                texts[str(inner)] = inner.read_text(errors="replace")
        elif path.exists():
            texts[str(path)] = path.read_text(errors="replace")
    for name, text in list(texts.items()):
        if name.endswith(".html"):
            texts[name + " (unescaped)"] = html.unescape(text)
            texts[name + " (data extras)"] = "\n".join(_decoded_extras(html.unescape(text)))
    return texts


def _decoded_extras(text: str) -> list[str]:
    decoded = []
    for blob in re.findall(r"base64,([A-Za-z0-9+/=]+)", text):
        try:
            decoded.append(base64.b64decode(blob).decode(errors="replace"))
        except (binascii.Error, ValueError):
            continue
    return decoded


def assert_no_canary(canary: Canary, run: Run, *paths: Path) -> None:
    """The canary is in no artifact of the run (nor in a form only lightly disguised)."""
    needles = {canary.value, base64.b64encode(canary.value.encode()).decode()[:16]}
    found = [name for name, text in artifact_texts(run, *paths).items() if any(n in text for n in needles)]
    assert not found, f"the canary reached: {found}"


def failed_saying(rec: dict, rung: str, *says: str) -> str:
    """The rung failed (a refusal is the recipe's fault: never a pass, never unverified), its one
    line saying each of `says`; returns the reason."""
    verdict = rec["rungs"][rung]
    assert verdict["status"] == "fail", (rung, verdict)
    reason = verdict["reason"]
    assert "\n" not in reason, reason
    missing = [s for s in says if s not in reason]
    assert not missing, f"{rung} reason lacks {missing}: {reason}"
    return reason
