#!/usr/bin/env python3
"""Benchmarks of pytest-ccci on the real local swarm: one run, one table.

    python benchmarks/run.py [--quick] [--only NAME...] [--out benchmarks/results/latest.json]

Measures (see benchmarks/README.md): overhead, detection, sweep, collection, memory.
Every figure is measured in this one run on this machine; none is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "scripts"))

import example_repos  # noqa: E402

MEASURES = ("overhead", "detection", "sweep", "collection", "memory")
TARGETS = {
    "overhead": ("plugin/bare wall", "<=", 1.05),
    "detection_completed": ("median s", "<=", 0.5),
    "detection_rollback": ("median s", "<=", 0.5),
    "sweep_default": ("parallel/serial wall", "<=", 0.35),
    "sweep_max4": ("parallel/serial wall", "<=", 0.35),
    "collection": ("s", "<=", 1.5),
    "memory": ("MiB peak tree RSS", None, None),
}
PROC_TIMEOUT = 1200  # bound on any one pytest / script subprocess


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- processes -----------------------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Sum of VmRSS (bytes) of `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run(args: list[str], cwd: Path, timeout: float = PROC_TIMEOUT, sample_memory: bool = False,
        env: dict | None = None) -> dict:
    """Run a command in its own session; wall seconds, exit code, output tail, peak tree RSS."""
    start = time.monotonic()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})})
    peak = [0]
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.25)

    thread = threading.Thread(target=sampler, daemon=True)
    if sample_memory:
        thread.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the plugin unwinds SIGTERM like Ctrl-C: it tears down
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        out = (out or "") + f"\n[bench] killed after {timeout}s"
    finally:
        stop.set()
    wall = time.monotonic() - start
    if sample_memory:
        thread.join()
    return {"wall": round(wall, 3), "rc": proc.returncode, "tail": (out or "").strip().splitlines()[-25:],
            "peak_tree_rss_mib": round(peak[0] / 2**20, 1) if sample_memory else None}


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


# -- the swarm -----------------------------------------------------------------------------------


def swarm():
    from pytest_ccci.swarm.engine import connect

    return connect()


def contention() -> dict:
    """What else is on this machine right now: other stacks' services, load."""
    try:
        out = subprocess.run(["docker", "service", "ls", "--format", "{{.Name}}"], capture_output=True, text=True, timeout=30).stdout
        services = [s for s in out.split() if s]
    except Exception:
        services = []
    return {"time": time.strftime("%H:%M:%S"), "loadavg": os.getloadavg(), "other_services": len(services)}


def cleanup_domains(sw, domains: set[str]) -> list[str]:
    """Remove whatever is left of our own app domains (after a killed or failed run)."""
    from pytest_ccci.model.naming import LABEL_DOMAIN

    left = []
    for domain in sorted(domains):
        stacks = sw.stack_of_domain(f"{LABEL_DOMAIN}={domain}") or {domain.replace(".", "_")[:45]}
        for stack in stacks:
            left += sw.remove(stack, f"{LABEL_DOMAIN}={domain}")
    return left


def domain_of(name: str, source: Path) -> str:
    from pytest_ccci.model import naming

    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True).stdout.strip()
    return naming.app_domain(name, sha, "ccci.test")


# -- recipes dirs --------------------------------------------------------------------------------


class Lab:
    """A private folder: recipes enrolled from the examples, each with its own source repo."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.recipes = tmp / "recipes"
        self.recipes.mkdir(parents=True)
        (tmp / "pytest.ini").write_text("[pytest]\n")
        self.domains: set[str] = set()

    def enroll(self, name: str, example: str) -> Path:
        source = example_repos.build(EXAMPLES / example, self.tmp / "sources" / name)
        settings = yaml.safe_load((ROOT / "recipes" / example / "ccci.yml").read_text())
        settings["source"] = str(source)
        folder = self.recipes / name
        folder.mkdir()
        (folder / "ccci.yml").write_text(yaml.safe_dump(settings))
        for test in (ROOT / "recipes" / example).glob("test_*.py"):
            (folder / f"test_{name.replace('-', '_')}.py").write_text(test.read_text())
        self.domains.add(domain_of(name, source))
        return source


# -- 1. overhead ---------------------------------------------------------------------------------


def bench_overhead(quick: bool, sw) -> dict:
    reps = 1 if quick else 2
    tmp = Path(tempfile.mkdtemp(prefix="ccci-bench-overhead-"))
    lab = Lab(tmp)
    source = lab.enroll("benchhello", "hello")
    plugin, bare = [], []
    bare_domains: set[str] = set()
    try:
        for i in range(reps):
            # Alternate, so a drift in the machine's load hits both sides alike.
            log(f"overhead {i + 1}/{reps}: plugin, full hello lifecycle")
            r = run(pytest_cmd("--recipe", "benchhello", "--recipes-dir", str(lab.recipes),
                               "--ccci-json", str(tmp / f"plugin{i}.json")), cwd=tmp)
            r["contention"] = contention()
            plugin.append(r)
            if r["rc"] != 0:
                log(f"plugin run failed (rc {r['rc']}): " + " | ".join(r["tail"][-8:]))
            log(f"overhead {i + 1}/{reps}: bare script")
            b = run([sys.executable, str(ROOT / "benchmarks" / "bare_hello.py"), str(source), str(tmp / f"bare{i}")], cwd=ROOT)
            b["contention"] = contention()
            try:
                detail = json.loads(b["tail"][-1])
                b["phases"] = detail["phases"]
                bare_domains.add(detail["domain"])
            except (ValueError, IndexError, KeyError):
                log(f"bare run failed (rc {b['rc']}): " + " | ".join(b["tail"][-8:]))
            bare.append(b)
    finally:
        cleanup_domains(sw, lab.domains | bare_domains)
    ok = all(r["rc"] == 0 for r in plugin + bare)
    p, b = statistics.median(r["wall"] for r in plugin), statistics.median(r["wall"] for r in bare)
    levels = {}
    try:
        levels = json.loads((tmp / "plugin0.json").read_text())["recipes"]["benchhello"].get("facts", {})
    except Exception:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "overhead": {
            "value": round(p / b, 3), "valid": ok,
            "detail": {"plugin_walls": [r["wall"] for r in plugin], "bare_walls": [r["wall"] for r in bare],
                       "plugin_median": p, "bare_median": b, "bare_phases": [r.get("phases") for r in bare],
                       "plugin_durations": levels.get("durations"),
                       "contention": [r["contention"] for r in plugin + bare],
                       "failed_tails": [r["tail"][-8:] for r in plugin + bare if r["rc"] != 0]},
        }
    }


# -- 2. detection latency ------------------------------------------------------------------------


class UpdateEvents:
    """Our own event stream: the `timeNano` of every service updatestate.new, by state."""

    def __init__(self, sw):
        self.api = sw.api
        self.seen: list[tuple[str, str, float]] = []  # (service, state, event time)
        self.lock = threading.Lock()
        self.stream = self.api.events(since=int(time.time()) - 1, decode=True, filters={"type": ["service"]})
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        try:
            for ev in self.stream:
                attrs = (ev.get("Actor") or {}).get("Attributes") or {}
                if attrs.get("updatestate.new"):
                    with self.lock:
                        self.seen.append((attrs.get("name", "?"), attrs["updatestate.new"], ev["timeNano"] / 1e9))
        except Exception:
            pass

    def first(self, service: str, state: str, after: float, timeout: float = 10) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                hits = [t for s, st, t in self.seen if s == service and st == state and t >= after]
            if hits:
                return min(hits)
            time.sleep(0.05)
        return None

    def close(self) -> None:
        try:
            self.stream.close()
        except Exception:
            pass


def bench_detection(quick: bool, sw) -> dict:
    from pytest_ccci.run.backend import App, SecretVault, SwarmBackend
    from pytest_ccci.run.locks import acquire, app_lock_path, release
    from pytest_ccci.run.repo import RecipeRepo
    from pytest_ccci.model.settings import load_settings

    runs = 2 if quick else 4
    tmp = Path(tempfile.mkdtemp(prefix="ccci-bench-detect-"))
    lab = Lab(tmp)
    out = {}
    cases = [("completed", "benchdetect", "hello", "0.2.0+1.35.0"),
             ("rollback_started", "benchrollback", "hello-rollback", "0.3.0+1.35.0")]
    events = UpdateEvents(sw)
    try:
        for state, name, example, base_tag in cases:
            lab.enroll(name, example)
            settings = load_settings(lab.recipes / name)
            repo = RecipeRepo(name, settings.source, tmp / "cache")
            repo.fetch()
            head = repo.checkout(repo.resolve(None), tmp / f"{name}-head")
            base = repo.checkout(repo.resolve(base_tag), tmp / f"{name}-base")
            app = App.for_checkout(settings, head.head_sha, "ccci.test", f"bench-{int(time.time())}")
            backend = SwarmBackend(sw, tmp / "deploy", SecretVault())
            service = f"{app.stack}_app"
            returned: list[float] = []
            real_wait = sw.wait_converged

            def timed_wait(*a, **kw):
                conv = real_wait(*a, **kw)
                returned.append(time.time())
                return conv

            latencies, notes = [], []
            lock = acquire(app_lock_path(Path("/tmp/pytest-ccci/locks"), app.domain), app.run_id, "benchmark", timeout=300)
            sw.wait_converged = timed_wait
            try:
                log(f"detection {state}: deploy base {base_tag} of {name}")
                first = backend.deploy(app, base, "release")
                if not first.convergence.ok:
                    raise RuntimeError(f"base did not converge: {first.convergence.reason}")
                target, last_ev = head, 0.0
                for i in range(runs):
                    mark = time.time()
                    dep = backend.deploy(app, target, "chaos" if target is head else "release")
                    t_ret = returned[-1]
                    # Strictly after this redeploy began: the previous run's event is seconds old
                    # at most, and must never be taken for this one.
                    t_ev = events.first(service, state, max(mark, last_ev + 1e-6))
                    conv = dep.convergence
                    if t_ev is None:
                        notes.append(f"run {i}: no {state} event seen (verdict: {conv.ok} {conv.reason[:80]})")
                    else:
                        last_ev = t_ev
                        latencies.append(round(t_ret - t_ev, 3))
                        log(f"detection {state} run {i + 1}/{runs}: {latencies[-1]:.3f}s (deploy {dep.deploy_seconds:.1f}s, ok={conv.ok}: {conv.reason[:90]})")
                    if t_ev is not None and t_ret < t_ev:
                        notes.append(f"run {i}: wait_converged returned {t_ev - t_ret:.3f}s BEFORE the {state} event")
                    if state == "completed":
                        target = base if target is head else head  # every redeploy is an update
                        # wait_converged reads events from int(since - 1): a `completed` of the
                        # previous run younger than ~2 s would satisfy this run's expected update
                        # (see README, "stale events"). Keep the runs apart.
                        time.sleep(3)
                    else:
                        # Let swarm finish rolling back before the head is redeployed again, and
                        # let 3 s pass: wait_converged reads events from int(since - 1), so a
                        # rollback_completed of the previous run younger than ~2 s would be
                        # taken for this run's verdict (see README, "stale events").
                        deadline = time.monotonic() + 90
                        while time.monotonic() < deadline:
                            svc = sw.service(service)
                            if (svc.get("UpdateStatus") or {}).get("State") == "rollback_completed":
                                break
                            time.sleep(0.5)
                        time.sleep(3)
            finally:
                sw.wait_converged = real_wait
                backend.teardown(app)
                release(lock)
            out[f"detection_{'completed' if state == 'completed' else 'rollback'}"] = {
                "value": round(statistics.median(latencies), 3) if latencies else None,
                "valid": bool(latencies) and not notes,
                "detail": {"latencies": latencies, "notes": notes, "contention": contention()},
            }
    finally:
        events.close()
        cleanup_domains(sw, lab.domains)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# -- 3 + 5. sweep scaling and memory -------------------------------------------------------------

SWEEP = [("sweep-a", "hello"), ("sweep-b", "hello"), ("sweep-c", "hello"), ("sweep-d", "hello"),
         ("sweep-nb1", "hello-nobackup"), ("sweep-nb2", "hello-nobackup"),
         ("sweep-lint", "hello-lintfail"), ("sweep-broken", "hello-broken")]


def bench_sweep(quick: bool, sw) -> dict:
    tiers = "install,backup,restore,functional,lint" + ("" if quick else ",upgrade")
    tmp = Path(tempfile.mkdtemp(prefix="ccci-bench-sweep-"))
    lab = Lab(tmp)
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
            cmd = pytest_cmd(*base, *extra, "--ccci-json", str(tmp / f"{label}.json"))
            r = run(cmd, cwd=tmp, sample_memory=True)
            # Largest single descendant so far (cumulative over this benchmark process).
            r["children_maxrss_mib"] = round(resource_children() / 1024, 1)
            r["contention"] = contention()
            try:
                rec = json.loads((tmp / f"{label}.json").read_text())["recipes"]
                r["levels"] = {n: v.get("level") for n, v in rec.items()}
                # Why each non-passing rung did not pass: parallel and serial must do the same work.
                r["not_passed"] = {n: {t: (g.get("status"), (g.get("reason") or "")[:200]) for t, g in (v.get("rungs") or {}).items()
                                       if g.get("status") != "pass"} for n, v in rec.items()}
            except Exception:
                r["levels"] = None
            log(f"sweep {label}: {r['wall']:.1f}s rc={r['rc']} peak tree RSS {r['peak_tree_rss_mib']} MiB")
            results[label] = r
    finally:
        cleanup_domains(sw, lab.domains)
        shutil.rmtree(tmp, ignore_errors=True)
    serial = results["serial"]["wall"]
    detail = {k: {kk: v.get(kk) for kk in ("wall", "rc", "peak_tree_rss_mib", "children_maxrss_mib", "levels", "not_passed", "contention")}
              for k, v in results.items()}
    # pytest exits 1 on a failed tier (lintfail, broken fail by design): a crash is rc >= 2. A
    # ratio is only meaningful when the parallel runs reached the same levels as the serial one.
    valid = all(v["rc"] in (0, 1) for v in results.values()) and all(
        v.get("levels") == results["serial"].get("levels") for v in results.values())
    return {
        "sweep_default": {"value": round(results["n4_default"]["wall"] / serial, 3), "valid": valid, "detail": detail},
        "sweep_max4": {"value": round(results["n4_max4"]["wall"] / serial, 3), "valid": valid, "detail": {"tiers": tiers}},
        "memory": {"value": max(v["peak_tree_rss_mib"] for v in results.values()), "valid": valid,
                   "detail": {k: {"peak_tree_rss_mib": v["peak_tree_rss_mib"],
                                  "ru_maxrss_children_mib": v["children_maxrss_mib"]} for k, v in results.items()}},
    }


def resource_children() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, largest single descendant


# -- 4. collection -------------------------------------------------------------------------------


def bench_collection(quick: bool, sw) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="ccci-bench-collect-"))
    recipes = tmp / "recipes"
    for i in range(500):
        folder = recipes / f"r{i:03d}"
        folder.mkdir(parents=True)
        (folder / "ccci.yml").write_text(f"source: /nonexistent/ccci-bench/r{i:03d}\nhealth: {{path: /health}}\n")
    (tmp / "pytest.ini").write_text("[pytest]\n")
    # This machine's environment sets PYTHONDONTWRITEBYTECODE=1: every pytest start compiles
    # (and assertion-rewrites) every imported module, the hypothesis plugin's included. The
    # headline figure is that environment as is; the variants separate what is the plugin's.
    pycache = tmp / "pycache"
    variants = {
        "as_is": ({}, []),
        "no_janitor": ({}, ["--no-janitor"]),
        "warm_pyc": ({"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(pycache)}, []),
        "warm_pyc_no_hypothesis": ({"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(pycache)}, ["-p", "no:hypothesispytest"]),
    }
    walls: dict[str, list[float]] = {k: [] for k in variants}
    summary = "?"
    try:
        run(pytest_cmd("--version"), cwd=tmp, timeout=60, env=variants["warm_pyc"][0])  # fill the pyc cache
        run(pytest_cmd("--collect-only", "-q", "--recipes-dir", str(recipes)), cwd=tmp, timeout=120, env=variants["warm_pyc"][0])
        for _ in range(3):
            for key, (env, extra) in variants.items():
                r = run(pytest_cmd("--collect-only", "-q", *extra, "--recipes-dir", str(recipes)), cwd=tmp, timeout=120, env=env)
                walls[key].append(r["wall"])
                if key == "as_is":
                    summary = next((ln for ln in reversed(r["tail"]) if "collected" in ln), "?")
        version = run(pytest_cmd("--version"), cwd=tmp, timeout=60, env=variants["warm_pyc"][0])["wall"]
        touched = [str(p) for p in Path(os.path.expanduser("~/.cache/pytest-ccci/mirrors")).glob("r[0-9][0-9][0-9]-*")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: round(statistics.median(v), 3) for k, v in walls.items()}
    return {"collection": {"value": med["as_is"], "valid": not touched,
                           "detail": {"medians": med, "walls": walls, "pytest_version_wall_warm": version,
                                      "summary": summary, "mirrors_created": touched}}}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    results: dict = {}
    meta = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": args.quick, "host": platform.node(),
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "docker": sw.client.version().get("Version"), "contention_at_start": contention()}
    benches = {"overhead": bench_overhead, "detection": bench_detection, "collection": bench_collection, "sweep": bench_sweep}
    for name in ("collection", "detection", "overhead", "sweep"):
        if name not in wanted:
            continue
        t = time.monotonic()
        try:
            results.update(benches[name](args.quick, sw))
        except Exception as exc:  # one broken measure must not lose the others
            log(f"{name} failed: {type(exc).__name__}: {exc}")
            results[name] = {"value": None, "valid": False, "detail": {"error": f"{type(exc).__name__}: {exc}"}}
        log(f"{name} done in {time.monotonic() - t:.0f}s")
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
    args.out.write_text(json.dumps({"meta": meta, "targets": {k: {"unit": u, "op": o, "target": t} for k, (u, o, t) in TARGETS.items()},
                                    "results": results}, indent=2, default=str))
    print("\n".join(table(results)))
    print(f"\n{meta['seconds']:.0f}s; load {meta['contention_at_start']['loadavg']} → {meta['contention_at_end']['loadavg']}; "
          f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
