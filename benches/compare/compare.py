#!/usr/bin/env python3
"""uoom's solver beside peer solvers (peers.py), in one run.

    python3 benches/compare/compare.py [--quick] [--write docs/benchmarks.md] [--only b-s-0,t-1]

For every instance of benches/instances it runs peers.py (CP-SAT at 0.1 s and
10 s, HiGHS, greedy), the MCF+repair peer (mcf_peer.py: OR-Tools' min-cost flow
on the transportation relaxation, rounding, greedy repair, local search) at 10 ms
and 100 ms, and `uoom solve` (10 ms and 100 ms budgets, and --exact), checks every
answer with verify.py (docs/bench-format.md), and prints a markdown table:
objective, gap to best_known, time. --write replaces the part of the file between
the solve-bench markers with that table.
--quick skips HiGHS and CP-SAT 10 s on the b-l and t families (marked "skipped").
The peers run in a virtualenv under target/compare-venv (ortools, highspy, numpy),
created on first use.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
INSTANCES = os.path.join(ROOT, "benches", "instances")
MCF = os.path.join(HERE, "mcf_peer.py")
VENV = os.path.join(ROOT, "target", "compare-venv")
START, END = "<!-- solve-bench:start -->", "<!-- solve-bench:end -->"


def venv_python():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "ortools", "highspy", "numpy"])
    return py


def verify(inst, sol):
    out = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), inst, sol],
                         capture_output=True, text=True)
    v = json.loads(out.stdout)
    return v


def run_peer(py, inst, solver, limit, out):
    cmd = [py, os.path.join(HERE, "peers.py"), inst, "--solver", solver, "--out", out]
    if limit is not None:
        cmd += ["--time-limit", str(limit)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    sol = json.load(open(out))
    v = verify(inst, out)
    return {"objective": v["objective"], "gap": v.get("gap"), "ms": sol["solve_ms"],
            "feasible": v["feasible"], "status": sol.get("status", "")}


def run_mcf(py, inst, limit, out):
    subprocess.run([py, MCF, inst, "--time-limit", str(limit), "--out", out], check=True,
                   capture_output=True, text=True)
    sol = json.load(open(out))
    v = verify(inst, out)
    return {"objective": v["objective"], "gap": v.get("gap"), "ms": sol["solve_ms"],
            "feasible": v["feasible"], "status": sol.get("status", "")}


def run_uoom(uoom, inst, extra, out, repeat=1):
    runs = []
    cpu = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([uoom, "solve", inst, *extra, "-o", out], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(1000 * (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
        runs.append(json.load(open(out)))
    sol = runs[-1]
    v = verify(inst, out)
    return {"objective": v["objective"], "gap": v.get("gap"),
            "ms": statistics.median(r["solve_ms"] for r in runs), "max_ms": max(r["solve_ms"] for r in runs),
            "feasible": v["feasible"], "status": sol["method"], "bound_gap": sol.get("gap"),
            "same": len({json.dumps(r["assignments"]) for r in runs}) == 1,
            "clock_cut": any(r.get("clock_cut") for r in runs),
            "cpu_ms": statistics.median(cpu)}


def cell(r):
    if r is None:
        return "skipped"
    if not r["feasible"]:
        return "INFEASIBLE"
    gap = "n/a" if r["gap"] is None else f"{100 * r['gap']:.3f} %"
    return f"{r['objective']:.3f} / {gap} / {r['ms']:.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--write", help="markdown file whose solve-bench section is replaced")
    ap.add_argument("--only", help="comma-separated instance names")
    ap.add_argument("--uoom", default=os.path.join(ROOT, "target", "release", "uoom"))
    ap.add_argument("--repeat", type=int, default=5, help="runs of the 100 ms mode (median time)")
    ap.add_argument("--skip-exact", default="", help="comma-separated name prefixes on which uoom --exact is not run")
    args = ap.parse_args()
    py = venv_python()
    inst_dir = INSTANCES
    names = sorted(f[:-5] for f in os.listdir(inst_dir) if f.endswith(".json") and f != "reference.json")
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    ref = json.load(open(os.path.join(inst_dir, "reference.json")))
    work = os.path.join(ROOT, "target", "compare")
    os.makedirs(work, exist_ok=True)
    rows = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    for n in names:
        inst = os.path.join(inst_dir, n + ".json")
        slow = n.startswith("b-l") or n.startswith("t-")
        o = lambda tag: os.path.join(work, f"{n}.{tag}.json")
        r = {"name": n, "best": ref.get(n, {}).get("best_known")}
        print(f"{n}: uoom", file=sys.stderr, flush=True)
        r["uoom"] = run_uoom(args.uoom, inst, [], o("uoom"), args.repeat)
        r["uoom10"] = run_uoom(args.uoom, inst, ["--time-limit-ms", "10"], o("uoom10"), args.repeat)
        r["work"] = run_uoom(args.uoom, inst, ["--no-clock-net"], o("work"), 2)
        skip_exact = any(n.startswith(x) for x in args.skip_exact.split(",") if x)
        r["exact"] = None if skip_exact else run_uoom(args.uoom, inst, ["--exact"], o("exact"))
        print(f"{n}: peers", file=sys.stderr, flush=True)
        r["cpsat01"] = run_peer(py, inst, "cpsat", 0.1, o("cpsat01"))
        r["cpsat10"] = None if (args.quick and slow) else run_peer(py, inst, "cpsat", 10, o("cpsat10"))
        r["highs"] = None if (args.quick and slow) else run_peer(py, inst, "highs", 3600, o("highs"))
        r["greedy"] = run_peer(py, inst, "greedy", None, o("greedy"))
        r["mcf10"] = run_mcf(py, inst, 0.01, o("mcf10"))
        r["mcf100"] = run_mcf(py, inst, 0.1, o("mcf100"))
        rows.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    cmd = "python3 benches/compare/compare.py" + (" --quick" if args.quick else "") + \
        (f" --skip-exact {args.skip_exact}" if args.skip_exact else "") + \
        (f" --only {args.only}" if args.only else "") + (f" --write {args.write}" if args.write else "")
    lines = [
        START,
        "## Assignment solver: uoom vs CP-SAT, HiGHS, MCF+repair and greedy",
        "",
        f"Produced by `{cmd}` (or `make bench-compare`), {started}, on {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), load average {load_before[0]:.1f} before / "
        f"{load_after[0]:.1f} after (above the core count, other work shared the machine and times are noisy).",
        "Each cell: objective / gap to `best_known` (verify.py) / `solve_ms` (from the instance in memory, "
        f"model building included). uoom 100 ms: median of {args.repeat} runs; method and bound gap as uoom reports them."
        + (" `skipped`: not run in this run (--quick: HiGHS and CP-SAT 10 s on b-l and t; --skip-exact: uoom --exact)."
           if (args.quick or args.skip_exact) else ""),
        "",
        "`uoom 100 ms, no clock net`: `--no-clock-net`, the same 100 ms budget spent by work alone (deterministic: "
        "`same` says whether 2 runs gave the same assignment), with the process CPU time (parse, build, solve; all threads).",
        "",
        "MCF+repair: `benches/compare/mcf_peer.py` (OR-Tools' min-cost flow on the transportation relaxation, "
        "rounding, greedy repair, shift/swap/eject local search; its time limit stops only the local search).",
        "`clock cut`: uoom's `clock_cut` field, the wall clock stopped its work before the budget's work was done.",
        "",
        "| instance | best known | uoom 10 ms | MCF+repair 10 ms | uoom 100 ms | MCF+repair 100 ms | uoom method (bound gap) | uoom 100 ms, no clock net (CPU ms, same) | uoom --exact | CP-SAT 0.1 s | CP-SAT 10 s | HiGHS | greedy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        u = r["uoom"]
        bg = "n/a" if u["bound_gap"] is None else f"{100 * u['bound_gap']:.3f} %"
        w = r["work"]
        u10 = r["uoom10"]
        cut = lambda x: ", clock cut" if x.get("clock_cut") else ""
        lines.append(f"| {r['name']} | {r['best']} | {cell(u10)} (max {u10['max_ms']:.1f} ms{cut(u10)}) |"
                     f" {cell(r['mcf10'])} | {cell(u)} (max {u['max_ms']:.1f} ms{cut(u)}) | {cell(r['mcf100'])} |"
                     f" {u['status']} ({bg}) |"
                     f" {cell(w)} ({w['cpu_ms']:.0f} CPU ms, {'same' if w['same'] else 'DIFFERENT'}) |"
                     f" {cell(r['exact'])} | {cell(r['cpsat01'])} | {cell(r['cpsat10'])} | {cell(r['highs'])} |"
                     f" {cell(r['greedy'])} |")
    lines += ["", END]
    table = "\n".join(lines)
    print(table)
    if args.write:
        text = open(args.write).read() if os.path.exists(args.write) else "# Benchmarks\n"
        if START in text and END in text:
            text = text[:text.index(START)] + table + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + table + "\n"
        open(args.write, "w").write(text)


if __name__ == "__main__":
    main()
