"""The overhead measures: the plugin's full run of one recipe against a bare script doing the
same work on the swarm by hand (bare_hello.py, bare_notes_pg.py on bare.py).

`overhead` is hello (the toy example), `overhead_realistic` notes-pg (an app and PostgreSQL).
Each figure is plugin wall / bare wall, medians of 2 pairs of fresh processes (1 with --quick),
the pairs alternating which side goes first; a sample is valid only when both sides did all
their work (the plugin's recipe reached L5, the bare script's own checks held). The JSON keeps
each plugin run's results.json timings, the bare phases, both split per tier (phase_split),
what the plugin said (janitor, waits) and how long its session took before taking the app lock
and after releasing it.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import ROOT, Lab, cleanup_domains, contention, log, pytest_cmd, run

from pytest_ccci.swarm.facade import Swarm

# measure: (the plugin's recipe name, the example it is built from, the bare script)
OVERHEADS = {
    "overhead": ("benchhello", "hello", "bare_hello.py"),
    "overhead_realistic": ("benchnotes", "notes-pg", "bare_notes_pg.py"),
}
# The bare scripts' phases that match a plugin tier (each bare mark ends the phase it names); the
# plugin's upgrade tier holds the teardown before it and, at the session's end, the last one.
TIER_PHASES = {
    "install": "install",
    "backup": "backup",
    "restore": "restore",
    "functional": "functional",
    "upgrade": "teardown",
}


def _plugin_side(lab: Lab, name: str, i: int) -> dict[str, Any]:
    out = lab.tmp / f"plugin{i}.json"
    cmd = pytest_cmd("--recipe", name, "--recipes-dir", str(lab.recipes), "--ccci-json", str(out))
    started = time.time()
    r = run(cmd, cwd=lab.tmp, keep=200)
    ended = time.time()
    # What the plugin said of its own doings (the janitor's reaping, lock and slot waits): time
    # outside the tiers is explained there.
    r["said"] = [line for line in r["tail"] if line.startswith("ccci:")]
    r["tail"] = r["tail"][-25:]
    if r["rc"] != 0:
        log(f"plugin run failed (rc {r['rc']}): " + " | ".join(r["tail"][-8:]))
    try:
        rec = json.loads(out.read_text())["recipes"][name]
        # results.json's own names: seconds per tier, and per deploy (and teardown)
        r["durations"] = {"tiers": rec["durations"], "deploys": rec["deploy_durations"]}
        r["level"] = rec["level"]
        r["said"] += [f"leftovers: {rec['leftovers']}"] if rec.get("leftovers") else []
        # The app lock is taken just before the first deploy and released once the last teardown
        # is done: what lies before and after it is the session's start and end.
        lock = rec.get("lock") or {}
        r["session_ends"] = {
            "start_to_lock": round(lock["acquired"] - started, 2) if "acquired" in lock else None,
            "unlock_to_exit": round(ended - lock["released"], 2) if "released" in lock else None,
        }
    except (OSError, ValueError, KeyError) as exc:
        r["durations"], r["level"] = None, None
        log(f"plugin run {i}: no durations in {out.name}: {type(exc).__name__}: {exc}")
    return r


def _bare_side(script: str, source: Path, lab: Lab, i: int, bare_domains: set[str]) -> dict[str, Any]:
    b = run([sys.executable, str(ROOT / "benchmarks" / script), str(source), str(lab.tmp / f"bare{i}")], cwd=ROOT)
    try:
        detail = json.loads(b["tail"][-1])
        b["phases"] = detail["phases"]
        bare_domains.add(detail["domain"])
    except (ValueError, IndexError, KeyError):
        b["phases"] = None
        log(f"bare run failed (rc {b['rc']}): " + " | ".join(b["tail"][-8:]))
    return b


def phase_split(plugin: dict[str, Any], bare: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    """Seconds per tier on each side, and what lies outside the tiers (the plugin's start-up,
    collection, janitor, lint and results; the bare side's checkouts and interpreter start)."""
    if not plugin.get("durations") or not bare.get("phases"):
        return None
    tiers, marks = plugin["durations"]["tiers"], bare["phases"]
    order = ["checkouts", *TIER_PHASES.values()]
    ends = {tier: marks[phase] - marks[order[order.index(phase) - 1]] for tier, phase in TIER_PHASES.items()}
    split = {t: {"plugin": round(tiers.get(t, 0.0), 2), "bare": round(ends[t], 2)} for t in TIER_PHASES}
    in_tiers = {"plugin": sum(tiers.get(t, 0.0) for t in TIER_PHASES), "bare": marks["teardown"] - marks["checkouts"]}
    split["outside_tiers"] = {
        side: round(r["wall"] - in_tiers[side], 2) for side, r in (("plugin", plugin), ("bare", bare))
    }
    return split


def _bench_pairs(key: str, quick: bool, sw: Swarm) -> dict:
    """Pairs of fresh runs (plugin, bare) of one recipe's whole lifecycle, alternating which goes first."""
    name, example, script = OVERHEADS[key]
    reps = 1 if quick else 2
    lab = Lab(Path(tempfile.mkdtemp(prefix=f"ccci-bench-{key.replace('_', '-')}-")))
    source = lab.enroll(name, example)
    sides: dict[str, list[dict[str, Any]]] = {"plugin": [], "bare": []}
    bare_domains: set[str] = set()
    try:
        for i in range(reps):
            # Alternate which side goes first, so a drift in the machine's load hits both alike.
            for side in ("plugin", "bare") if i % 2 == 0 else ("bare", "plugin"):
                log(f"{key} {i + 1}/{reps}: {side}, full {example} lifecycle")
                r = _plugin_side(lab, name, i) if side == "plugin" else _bare_side(script, source, lab, i, bare_domains)
                r["contention"] = contention()
                sides[side].append(r)
    finally:
        cleanup_domains(sw, lab.domains | bare_domains)
        shutil.rmtree(lab.tmp, ignore_errors=True)
    plugin, bare = sides["plugin"], sides["bare"]
    p, b = statistics.median(r["wall"] for r in plugin), statistics.median(r["wall"] for r in bare)
    return {
        key: {
            "value": round(p / b, 3),
            # Both sides did all their work: the plugin's recipe reached L5, the bare script's checks held.
            "valid": all(r["rc"] == 0 for r in plugin + bare) and all(r["level"] == 5 for r in plugin),
            "detail": {
                "plugin_walls": [r["wall"] for r in plugin],
                "bare_walls": [r["wall"] for r in bare],
                "plugin_median": p,
                "bare_median": b,
                "plugin_levels": [r["level"] for r in plugin],
                "bare_phases": [r.get("phases") for r in bare],
                "plugin_durations": [r["durations"] for r in plugin],
                "plugin_said": [r["said"] for r in plugin],
                "plugin_session_ends": [r.get("session_ends") for r in plugin],
                "phase_split": [phase_split(pr, br) for pr, br in zip(plugin, bare, strict=True)],
                "contention": [r["contention"] for r in plugin + bare],
                "failed_tails": [r["tail"][-8:] for r in plugin + bare if r["rc"] != 0],
            },
        }
    }


def bench_overhead(quick: bool, sw: Swarm) -> dict:
    return _bench_pairs("overhead", quick, sw)


def bench_overhead_realistic(quick: bool, sw: Swarm) -> dict:
    return _bench_pairs("overhead_realistic", quick, sw)


TARGETS: dict[str, tuple[str, str | None, float | None]] = {
    "overhead": ("plugin/bare wall", "<=", 1.05),
    "overhead_realistic": ("plugin/bare wall", "<=", 1.05),
}
BENCHES: dict[str, Callable[[bool, Swarm], dict]] = {
    "overhead": bench_overhead,
    "overhead_realistic": bench_overhead_realistic,
}
