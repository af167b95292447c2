#!/usr/bin/env python3
"""Benchmarks of pytest-ccci on the real local swarm: one run, one table.

    python benchmarks/run.py [--quick] [--only NAME...] [--out benchmarks/results/latest.json]

Measures (see benchmarks/README.md): overhead and overhead_realistic (overhead.py), latency and
latency_realistic (latency.py: overlapped against serial and the longer chain alone), detection
(detection.py), sweep, collection, memory, images (images.py). Every figure is measured in this
one run on this machine; none is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import detection
import images
import latency
import overhead
from harness import ROOT, Lab, cleanup_domains, contention, log, pytest_cmd, run, swarm

from pytest_ccci.swarm.facade import Swarm

MEASURES = (
    "overhead",
    "overhead_realistic",
    "latency",
    "latency_realistic",
    "detection",
    "sweep",
    "collection",
    "memory",
    "images",
)
TARGETS: dict[str, tuple[str, str | None, float | None]] = {
    **overhead.TARGETS,
    **latency.TARGETS,
    **detection.TARGETS,
    "sweep_default": ("parallel/serial wall", "<=", 0.35),
    "sweep_max4": ("parallel/serial wall", "<=", 0.35),
    "collection": ("s", "<=", 1.5),
    "memory": ("MiB peak tree RSS", None, None),
    **images.TARGETS,
}


# -- 3 + 5. sweep scaling and memory -------------------------------------------------------------

SWEEP = [
    ("sweep-a", "hello"),
    ("sweep-b", "hello"),
    ("sweep-c", "hello"),
    ("sweep-d", "hello"),
    ("sweep-nb1", "hello-nobackup"),
    ("sweep-nb2", "hello-nobackup"),
    ("sweep-lint", "hello-lintfail"),
    ("sweep-broken", "hello-broken"),
]


def _sweep_once(label: str, cmd: list[str], tmp: Path) -> dict[str, Any]:
    r = run(cmd, cwd=tmp, sample_memory=True)
    # Largest single descendant so far (cumulative over this benchmark process).
    r["children_maxrss_mib"] = round(resource_children() / 1024, 1)
    r["contention"] = contention()
    try:
        rec = json.loads((tmp / f"{label}.json").read_text())["recipes"]
        r["levels"] = {n: v.get("level") for n, v in rec.items()}
        # Why each non-passing rung did not pass: parallel and serial must do the same work.
        r["not_passed"] = {
            n: {
                t: (g.get("status"), (g.get("reason") or "")[:200])
                for t, g in (v.get("rungs") or {}).items()
                if g.get("status") != "pass"
            }
            for n, v in rec.items()
        }
    except (OSError, ValueError, KeyError) as exc:
        r["levels"] = None
        log(f"sweep {label}: no results: {type(exc).__name__}: {exc}")
    log(f"sweep {label}: {r['wall']:.1f}s rc={r['rc']} peak tree RSS {r['peak_tree_rss_mib']} MiB")
    return r


def bench_sweep(quick: bool, sw: Swarm) -> dict:
    tiers = "install,backup,restore,functional,lint" + ("" if quick else ",upgrade")
    lab = Lab(Path(tempfile.mkdtemp(prefix="ccci-bench-sweep-")))
    for name, example in SWEEP:
        lab.enroll(name, example)
    base = ["--recipes-dir", str(lab.recipes), "--tiers", tiers]
    for name, _ in SWEEP:
        base += ["--recipe", name]
    configs = [("serial", []), ("n4_default", ["-n", "4"]), ("n4_max4", ["-n", "4", "-o", "ccci_max_deploys=4"])]
    results = {}
    try:
        for label, extra in configs:
            log(f"sweep {label}: 8 recipes, tiers {tiers}")
            results[label] = _sweep_once(
                label, pytest_cmd(*base, *extra, "--ccci-json", str(lab.tmp / f"{label}.json")), lab.tmp
            )
    finally:
        cleanup_domains(sw, lab.domains)
        shutil.rmtree(lab.tmp, ignore_errors=True)
    serial = results["serial"]["wall"]
    keys = ("wall", "rc", "peak_tree_rss_mib", "children_maxrss_mib", "levels", "not_passed", "contention")
    detail = {k: {kk: v.get(kk) for kk in keys} for k, v in results.items()}
    # pytest exits 1 on a failed tier (lintfail, broken fail by design): a crash is rc >= 2. A
    # ratio is only meaningful when the parallel runs reached the same levels as the serial one.
    valid = all(v["rc"] in (0, 1) for v in results.values()) and all(
        v.get("levels") == results["serial"].get("levels") for v in results.values()
    )
    return {
        "sweep_default": {"value": round(results["n4_default"]["wall"] / serial, 3), "valid": valid, "detail": detail},
        "sweep_max4": {
            "value": round(results["n4_max4"]["wall"] / serial, 3),
            "valid": valid,
            "detail": {"tiers": tiers},
        },
        "memory": {
            "value": max(v["peak_tree_rss_mib"] for v in results.values()),
            "valid": valid,
            "detail": {
                k: {"peak_tree_rss_mib": v["peak_tree_rss_mib"], "ru_maxrss_children_mib": v["children_maxrss_mib"]}
                for k, v in results.items()
            },
        },
    }


def resource_children() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, largest single descendant


# -- 4. collection -------------------------------------------------------------------------------


def bench_collection(quick: bool, sw: Swarm) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ccci-bench-collect-"))
    recipes = tmp / "recipes"
    for i in range(500):
        folder = recipes / f"r{i:03d}"
        folder.mkdir(parents=True)
        (folder / "ccci.yml").write_text(f"source: /nonexistent/ccci-bench/r{i:03d}\nhealth: {{path: /health}}\n")
    (tmp / "pytest.ini").write_text(
        "[pytest]\nccci_pull = never\n"
    )  # the examples' images are built here: never pulled
    # This machine's environment sets PYTHONDONTWRITEBYTECODE=1: every pytest start compiles
    # (and assertion-rewrites) every imported module, the hypothesis plugin's included. The
    # headline figure is that environment as is; the variants separate what is the plugin's.
    warm = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
    variants: dict[str, tuple[dict[str, str], list[str]]] = {
        "as_is": ({}, []),
        "no_janitor": ({}, ["--no-janitor"]),
        "warm_pyc": (warm, []),
        "warm_pyc_no_hypothesis": (warm, ["-p", "no:hypothesispytest"]),
    }
    walls: dict[str, list[float]] = {k: [] for k in variants}
    summary = "?"
    try:
        run(pytest_cmd("--version"), cwd=tmp, timeout=60, env=warm)  # fill the pyc cache
        run(pytest_cmd("--collect-only", "-q", "--recipes-dir", str(recipes)), cwd=tmp, timeout=120, env=warm)
        for _ in range(3):
            for key, (env, extra) in variants.items():
                r = run(
                    pytest_cmd("--collect-only", "-q", *extra, "--recipes-dir", str(recipes)),
                    cwd=tmp,
                    timeout=120,
                    env=env,
                )
                walls[key].append(r["wall"])
                if key == "as_is":
                    summary = next((ln for ln in reversed(r["tail"]) if "collected" in ln), "?")
        version = run(pytest_cmd("--version"), cwd=tmp, timeout=60, env=warm)["wall"]
        touched = [str(p) for p in Path(os.path.expanduser("~/.cache/pytest-ccci/mirrors")).glob("r[0-9][0-9][0-9]-*")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: round(statistics.median(v), 3) for k, v in walls.items()}
    return {
        "collection": {
            "value": med["as_is"],
            "valid": not touched,
            "detail": {
                "medians": med,
                "walls": walls,
                "pytest_version_wall_warm": version,
                "summary": summary,
                "mirrors_created": touched,
            },
        }
    }


# -- report --------------------------------------------------------------------------------------


def table(results: dict) -> list[str]:
    lines = ["| measure | value | unit | target | met |", "|---|---|---|---|---|"]
    for key, (unit, op, target) in TARGETS.items():
        if key not in results:
            continue
        r = results[key]
        value = r["value"]
        met = "n/a" if target is None or value is None else ("yes" if value <= target else "**no**")
        if not r.get("valid", True):
            met += " (run had failures: see JSON)"
        lines.append(f"| {key} | {value} | {unit} | {f'{op} {target}' if target else '-'} | {met} |")
    return lines


BENCHES: dict[str, Callable[[bool, Swarm], dict]] = {
    **overhead.BENCHES,
    **latency.BENCHES,
    **detection.BENCHES,
    "collection": bench_collection,
    "sweep": bench_sweep,
    **images.BENCHES,
}


def measure_all(wanted: list[str], quick: bool, sw: Swarm) -> dict:
    results: dict = {}
    for name in (
        "collection",
        "detection",
        "overhead",
        "overhead_realistic",
        "latency",
        "latency_realistic",
        "sweep",
        "images",
    ):
        if name not in wanted:
            continue
        t = time.monotonic()
        try:
            results.update(BENCHES[name](quick, sw))
        except Exception as exc:  # one broken measure must not lose the others: it is recorded
            log(f"{name} failed: {type(exc).__name__}: {exc}")
            results[name] = {"value": None, "valid": False, "detail": {"error": f"{type(exc).__name__}: {exc}"}}
        log(f"{name} done in {time.monotonic() - t:.0f}s")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, sweep without upgrade")
    parser.add_argument("--only", nargs="+", choices=MEASURES, help="run only these measures (memory comes with sweep)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args(argv)
    wanted = args.only or list(MEASURES)
    if "memory" in wanted and "sweep" not in wanted:
        wanted.append("sweep")
    # Every measure builds its own source repos in a temp dir: .ccci/sources (which other
    # sessions may be using) is never touched.
    sw = swarm()
    started = time.time()
    meta: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
        "host": platform.node(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "docker": sw.client.version().get("Version"),
        "contention_at_start": contention(),
    }
    results = measure_all(wanted, args.quick, sw)
    meta["seconds"] = round(time.time() - started, 1)
    meta["contention_at_end"] = contention()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.only and args.out.exists():
        # --only refreshes those measures in an existing results file and keeps the others.
        try:
            old = json.loads(args.out.read_text())
            results = {**old.get("results", {}), **results}
            meta = {**meta, "merged_into": old.get("meta")}
        except (ValueError, OSError):
            pass
    targets = {k: {"unit": u, "op": o, "target": t} for k, (u, o, t) in TARGETS.items()}
    args.out.write_text(json.dumps({"meta": meta, "targets": targets, "results": results}, indent=2, default=str))
    print("\n".join(table(results)))
    load = f"{meta['contention_at_start']['loadavg']} → {meta['contention_at_end']['loadavg']}"
    print(f"\n{meta['seconds']:.0f}s; load {load}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
