"""Benchmarks of scaling out (issue 13). Figures are data, not pass/fail tests.

    python benchmarks/report_bench.py                  # both measures
    python benchmarks/report_bench.py --only render    # no swarm needed
    python benchmarks/report_bench.py --only efficiency --quick

render (target <= 2 s, index < 1 MB): `report` merging and rendering 500 recipes' results with
a year of daily history (365 runs of all 500 recipes, recorded with `history.record`, a few
tiers failing at random, some of them flakes). Timed: `cli.build` as the command runs it (load
and merge the inputs, load the history, write results.json, index, 500 recipe pages, 500
badges, summary.md), median of 3; setting the history up is not timed. Also the index size.

efficiency (target >= 0.85): sweeps of the realistic and toy examples together (every example
recipe enrolled under a name of its own) with `-n` equal to the deploy slots (ccci_max_deploys,
2). efficiency = lower bound / sweep wall, where the lower bound is max(longest recipe's wall,
sum of recipe walls / slots), from the same run's serial figures: each recipe's `wall_seconds`
in its results.json (a recipe's items run back to back on one worker). Two sweeps: a first run
(recipes in name order), then one with the first's results as `--ccci-durations` (longest
first), which is the figure; both are kept. `--quick` leaves the upgrade tier out.

Results go to benchmarks/results/report.json (gitignored) and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_ccci.documents.history import record  # noqa: E402
from pytest_ccci.model.tiers import RUNGS, TIERS  # noqa: E402
from pytest_ccci.report.cli import build  # noqa: E402
from pytest_ccci.run.results import SCHEMA  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "report.json"
RECIPES, DAYS, SLOTS = 500, 365, 2
# The realistic examples (app + PostgreSQL) and the toy ones (busybox hello variants).
EXAMPLES = (
    "notes-pg",
    "notes-pg-badmigration",
    "notes-pg-configdrift",
    "hello",
    "hello-nobackup",
    "hello-lintfail",
    "hello-broken",
    "hello-rollback",
)


def log(msg: str) -> None:
    print(f"[report-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- render ------------------------------------------------------------------------------------


def synthetic_entry(name: str, day: int, rnd: random.Random) -> dict[str, Any]:
    """One recipe's results as run/results.py writes them: six tiers (two functional items),
    reasons, stamps, settings and durations; now and then a tier fails."""
    head = f"{hash((name, day // 30)) & (2**160 - 1):040x}"  # a new head about once a month
    statuses = {t: "fail" if rnd.random() < 0.04 else "pass" for t in TIERS}
    items = {
        f"ccci/{name}::test_{t}": {
            "tier": t,
            "status": s,
            "reason": "" if s == "pass" else f"{t}: exited 1: " + "x" * 80,
        }
        for t, s in statuses.items()
        if t != "functional"
    }
    for i in (1, 2):
        items[f"recipes/{name}/test_{name}.py::test_{i}"] = {
            "tier": "functional",
            "status": statuses["functional"],
            "reason": "",
        }
    level = next((n for n, r in enumerate(RUNGS) if statuses[r if r != "backup_restore" else "backup"] == "fail"), 5)
    return {
        "level": level,
        "why_not_higher": "" if level == 5 else f"L{level + 1} {RUNGS[level]} failed: exited 1: " + "x" * 120,
        "rungs": {r: {"status": "pass" if i < level else "fail", "reason": ""} for i, r in enumerate(RUNGS)},
        "tiers": items,
        "ref": "default branch",
        "head_sha": head,
        "head_release": f"1.{day // 30}.0+2.{day % 7}" if day % 30 == 0 else None,
        "dirty": False,
        "domain": f"{name[:6]}-{head[:6]}.ccci.test",
        "upgrade_base": {"version": "1.0.0+2.0", "how": "newest older release"},
        "stamps": {"install_stamp": {"version": "1.1.0+2.0", "chaos": "true"}},
        "upgrade_runs": [],
        "settings": {"source": f"https://git.example/{name}.git", "env": {"DB_PASSWORD": "********"}},
        "durations": {t: round(rnd.uniform(1, 60), 3) for t in TIERS},
        "wall_seconds": round(rnd.uniform(30, 400), 3),
        "deploy_durations": {"deploy_chaos_abcdef12": 12.3, "teardown": 6.1},
        "clean_teardown": True,
        "leftovers": [],
        "no_secret_leak": True,
    }


def synthetic_run(day: int, rnd: random.Random) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_735_689_600 + day * 86_400))
    return {
        "schema": SCHEMA,
        "run_id": f"day{day:03d}",
        "started": stamp,
        "finished": stamp,
        "interrupted": False,
        "recipes": {f"recipe-{i:03d}": synthetic_entry(f"recipe-{i:03d}", day, rnd) for i in range(RECIPES)},
    }


def bench_render(tmp: Path) -> dict[str, Any]:
    rnd = random.Random(13)
    history = tmp / "history"
    start = time.monotonic()
    for day in range(DAYS):
        record(history, synthetic_run(day, rnd))
    setup = time.monotonic() - start
    today = synthetic_run(DAYS, rnd)
    shards = [tmp / "shard1.json", tmp / "shard2.json"]  # today's run, as two shards
    names = sorted(today["recipes"])
    for k, path in enumerate(shards):
        part = {n: today["recipes"][n] for n in names[k::2]}
        path.write_text(json.dumps({**today, "run_id": f"today-{k}", "recipes": part}))
    walls = []
    for _ in range(3):
        out = tmp / "site"
        shutil.rmtree(out, ignore_errors=True)
        start = time.monotonic()
        build(shards, out, history, record=False)
        walls.append(time.monotonic() - start)
    history_bytes = sum(p.stat().st_size for p in history.iterdir())
    index_bytes = (tmp / "site" / "index.html").stat().st_size
    log(f"render: {statistics.median(walls):.2f}s (samples {walls}), index {index_bytes / 1e6:.2f} MB")
    return {
        "render": {
            "value": round(statistics.median(walls), 3),
            "unit": f"s, {RECIPES} recipes, {DAYS} days of history",
            "target": "<= 2",
            "met": statistics.median(walls) <= 2,
            "detail": {
                "samples": [round(w, 3) for w in walls],
                "history_setup_s": round(setup, 1),
                "history_mb": round(history_bytes / 1e6, 1),
            },
        },
        "index_size": {"value": round(index_bytes / 1e6, 3), "unit": "MB", "target": "< 1", "met": index_bytes < 1e6},
    }


# -- efficiency --------------------------------------------------------------------------------


def lower_bound(walls: list[float], slots: int) -> float:
    """No schedule of these recipes on `slots` slots ends sooner."""
    return max(max(walls), sum(walls) / slots)


def _sweep(lab: Any, tiers: str, label: str, *extra: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from harness import pytest_cmd, run

    out = lab.tmp / f"{label}.json"
    cmd = pytest_cmd(
        "--recipes-dir", str(lab.recipes), "--tiers", tiers, "-n", str(SLOTS), "--ccci-json", str(out), *extra
    )
    sweep = run(cmd, cwd=lab.tmp)
    doc = json.loads(out.read_text())
    walls = {n: e["wall_seconds"] for n, e in doc["recipes"].items()}
    bound = lower_bound(list(walls.values()), SLOTS)
    log(f"efficiency {label}: {bound / sweep['wall']:.3f} (lower bound {bound:.1f}s / sweep {sweep['wall']:.1f}s)")
    detail = {"wall": sweep["wall"], "lower_bound": round(bound, 1), "rc": sweep["rc"], "walls": walls}
    return detail, {n: e["level"] for n, e in doc["recipes"].items()}


def bench_efficiency(tmp: Path, quick: bool) -> dict[str, Any]:
    """Two sweeps: the first as a first run (recipes in name order), the second with the first's
    results as --ccci-durations (longest first), as a CI job with its last results runs."""
    from harness import Lab, cleanup_domains, swarm

    lab = Lab(tmp / "lab")
    for example in EXAMPLES:
        lab.enroll(f"eff-{example}", example)
    tiers = ",".join(t for t in TIERS if not (quick and t == "upgrade"))
    log(f"efficiency: {len(EXAMPLES)} recipes, -n {SLOTS}, tiers {tiers}")
    try:
        first, levels = _sweep(lab, tiers, "first")
        second, levels_again = _sweep(lab, tiers, "with_durations", f"--ccci-durations={lab.tmp / 'first.json'}")
    finally:
        cleanup_domains(swarm(), lab.domains)
    value = second["lower_bound"] / second["wall"]
    return {
        "efficiency": {
            "value": round(value, 3),
            "unit": f"lower bound / sweep wall ({second['lower_bound']}s / {second['wall']:.1f}s), -n {SLOTS}, "
            f"longest first (first run, name order: {first['lower_bound'] / first['wall']:.3f})",
            "target": ">= 0.85",
            "met": value >= 0.85,
            "detail": {
                "tiers": tiers,
                "first": first,
                "with_durations": second,
                "levels": levels,
                "same_levels": levels == levels_again,
            },
        }
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("render", "efficiency"))
    parser.add_argument("--quick", action="store_true", help="efficiency sweep without the upgrade tier")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    found: dict[str, Any] = json.loads(OUT.read_text()) if OUT.is_file() else {}
    tmp = Path(tempfile.mkdtemp(prefix="ccci-report-bench-"))
    try:
        if args.only in (None, "render"):
            found.update(bench_render(tmp))
        if args.only in (None, "efficiency"):
            found.update(bench_efficiency(tmp, args.quick))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(found, indent=2) + "\n")
    print("| measure | value | unit | target | met |\n|---|---|---|---|---|")
    for name, m in found.items():
        print(f"| {name} | {m['value']} | {m['unit']} | {m['target']} | {'yes' if m['met'] else '**no**'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
