"""The latency measure: one recipe's wall time to its verdict, overlapped against serial.

`latency` (hello) and `latency_realistic` (notes-pg): the recipe's whole lifecycle, all tiers,
in four fresh pytest processes per repetition, alternating their order:

* overlapped: the default (ini ccci_max_deploys=2): the upgrade lifecycle runs on its own
  domain beside the install chain, the install's teardown in the background (run/overlap.py);
* serial: `-o ccci_max_deploys=1`, today's order (install chain, its teardown, the upgrade);
* the install chain alone: `--tiers lint,install,backup,restore,functional`;
* the upgrade chain alone: `--tiers upgrade`.

Figures, medians over the repetitions (2; 1 with --quick): overlapped / serial (target ≤ 0.6),
and overlapped / the longer chain alone, the physical bound (target ≤ 1.15). Valid when every
run exited 0 and the overlapped and serial runs reached the same level and rungs. The JSON keeps
each run's results.json timings and both lifecycles' domain holds (lock, first deploy, teardown).
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import Lab, cleanup_domains, contention, log, pytest_cmd, run

from pytest_ccci.swarm.facade import Swarm

LATENCIES = {"latency": ("latehello", "hello"), "latency_realistic": ("latenotes", "notes-pg")}
INSTALL_CHAIN = "lint,install,backup,restore,functional"
MODES: dict[str, list[str]] = {
    "overlapped": ["-o", "ccci_max_deploys=2"],
    "serial": ["-o", "ccci_max_deploys=1"],
    "install_chain": ["--tiers", INSTALL_CHAIN],
    "upgrade_chain": ["--tiers", "upgrade"],
}


def _one(lab: Lab, name: str, mode: str, i: int) -> dict[str, Any]:
    out = lab.tmp / f"{mode}{i}.json"
    r = run(
        pytest_cmd("--recipe", name, "--recipes-dir", str(lab.recipes), "--ccci-json", str(out), *MODES[mode]),
        cwd=lab.tmp,
    )
    r["contention"] = contention()
    try:
        rec = json.loads(out.read_text())["recipes"][name]
        r["level"], r["rungs"] = rec["level"], {k: v["status"] for k, v in rec["rungs"].items()}
        r["durations"] = {"tiers": rec["durations"], "deploys": rec["deploy_durations"]}
        r["lifecycles"] = rec.get("lifecycles")
        r["clean_teardown"] = rec.get("clean_teardown")
    except (OSError, ValueError, KeyError) as exc:
        r["level"] = None
        log(f"latency {mode} {i}: no results: {type(exc).__name__}: {exc}")
    log(f"latency {name} {mode} {i + 1}: {r['wall']:.1f}s rc={r['rc']} level={r.get('level')}")
    return r


def _bench(key: str, quick: bool, sw: Swarm) -> dict:
    name, example = LATENCIES[key]
    reps = 1 if quick else 2
    lab = Lab(Path(tempfile.mkdtemp(prefix=f"ccci-bench-{key.replace('_', '-')}-")))
    lab.enroll(name, example)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    try:
        for i in range(reps):
            order = list(MODES) if i % 2 == 0 else list(reversed(MODES))
            for mode in order:
                runs[mode].append(_one(lab, name, mode, i))
    finally:
        cleanup_domains(sw, lab.domains)
        shutil.rmtree(lab.tmp, ignore_errors=True)
    wall = {m: statistics.median(r["wall"] for r in rs) for m, rs in runs.items()}
    bound = max(wall["install_chain"], wall["upgrade_chain"])
    same = all(
        (a.get("level"), a.get("rungs")) == (b.get("level"), b.get("rungs"))
        for a, b in zip(runs["overlapped"], runs["serial"], strict=True)
    )
    valid = all(r["rc"] == 0 for rs in runs.values() for r in rs) and same
    keys = ("wall", "rc", "level", "durations", "lifecycles", "clean_teardown", "contention")
    detail = {
        "medians": {m: round(w, 2) for m, w in wall.items()},
        "runs": {m: [{k: r.get(k) for k in keys} for r in rs] for m, rs in runs.items()},
        "failed_tails": [r["tail"][-8:] for rs in runs.values() for r in rs if r["rc"] != 0],
    }
    return {
        key: {"value": round(wall["overlapped"] / wall["serial"], 3), "valid": valid, "detail": detail},
        f"{key}_bound": {
            "value": round(wall["overlapped"] / bound, 3),
            "valid": valid,
            "detail": {"longer_chain": "install" if wall["install_chain"] >= wall["upgrade_chain"] else "upgrade"},
        },
    }


def bench_latency(quick: bool, sw: Swarm) -> dict:
    return _bench("latency", quick, sw)


def bench_latency_realistic(quick: bool, sw: Swarm) -> dict:
    return _bench("latency_realistic", quick, sw)


TARGETS: dict[str, tuple[str, str | None, float | None]] = {
    "latency": ("overlapped/serial wall", "<=", 0.6),
    "latency_bound": ("overlapped/longer chain alone", "<=", 1.15),
    "latency_realistic": ("overlapped/serial wall", "<=", 0.6),
    "latency_realistic_bound": ("overlapped/longer chain alone", "<=", 1.15),
}
BENCHES: dict[str, Callable[[bool, Swarm], dict]] = {
    "latency": bench_latency,
    "latency_realistic": bench_latency_realistic,
}
