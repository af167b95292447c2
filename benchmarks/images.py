"""The build time of the realistic examples' local images (`scripts/build-images.sh`).

* images_first: a real build from nothing (mmdebstrap from the host's apt sources, then two
  `docker import`s), by a copy of the script whose image names are throwaway tags
  (`ccci-bench/...`), so the machine's own images, which other runs may be deploying, are never
  removed or replaced. The throwaway images are removed afterwards.
* images_cached: the real script on this machine, where the images are present: the no-op
  every later `tox` run pays.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import docker.errors
from harness import ROOT, log, run

from pytest_ccci.swarm.facade import Swarm

SCRIPT = ROOT / "scripts" / "build-images.sh"
# The script's image names, and the throwaway names the first build uses instead.
RENAMES = {"ccci/postgres:15": "ccci-bench/postgres:15", "ccci/python-psycopg:3": "ccci-bench/python-psycopg:3"}
BUILD_TIMEOUT = 1200.0

TARGETS: dict[str, tuple[str, str | None, float | None]] = {
    "images_first": ("s (mmdebstrap + 2 docker imports)", None, None),
    "images_cached": ("s (images present: no-op)", None, None),
}


def throwaway_copy(dest: Path) -> Path:
    """The script and its image files under `dest`, building the throwaway tags."""
    shutil.copytree(SCRIPT.parent / "images", dest / "images")
    text = SCRIPT.read_text()
    for real, throwaway in RENAMES.items():
        text = text.replace(f"={real}\n", f"={throwaway}\n")
    assert all(f"={t}\n" in text for t in RENAMES.values()), "build-images.sh no longer names its images as expected"
    copy = dest / SCRIPT.name
    copy.write_text(text)
    return copy


def printed_seconds(tail: list[str]) -> int | None:
    """The build time the script itself prints ("built ... in 93s")."""
    found = next((re.search(r" in (\d+)s$", ln) for ln in reversed(tail) if "ready: built" in ln), None)
    return int(found.group(1)) if found else None


def _remove_throwaways(sw: Swarm) -> None:
    for tag in RENAMES.values():
        try:
            sw.client.images.remove(tag)
        except docker.errors.ImageNotFound:
            pass  # none yet (before the build), or the build failed early
        except docker.errors.APIError as exc:  # in use: say so, go on
            log(f"images: could not remove {tag}: {exc}")


def bench_images(quick: bool, sw: Swarm) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ccci-bench-images-"))
    try:
        _remove_throwaways(sw)  # a first build must find none of them
        first = run(["bash", str(throwaway_copy(tmp))], cwd=tmp, timeout=BUILD_TIMEOUT)
        if first["rc"] != 0:
            log("images: first build failed: " + " | ".join(first["tail"][-5:]))
        cached = run(["bash", str(SCRIPT)], cwd=ROOT, timeout=BUILD_TIMEOUT)
    finally:
        _remove_throwaways(sw)
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "images_first": {
            "value": round(first["wall"], 1),
            "valid": first["rc"] == 0,
            "detail": {"script_printed_s": printed_seconds(first["tail"]), "tail": first["tail"][-5:]},
        },
        "images_cached": {
            "value": round(cached["wall"], 2),
            "valid": cached["rc"] == 0 and any("cached" in ln for ln in cached["tail"]),
            "detail": {"tail": cached["tail"][-3:]},
        },
    }


BENCHES = {"images": bench_images}
