"""Memory and time against problem size: peak RSS stays flat and time grows linearly in paths x steps.

    python benchmarks/scaling.py [--paths 100000,1000000,10000000] [--problems asian_252,european_1step]
                                 [--backend cpu] [--dtype float64] [--out benchmarks/results/scaling.json]

Each (problem, paths) cell runs in a fresh Python process: a warm-up ``rg.price`` on 64 paths (numba's
compilation, timed apart), then one timed ``rg.price`` on the cell's paths. The process reports its peak
resident set size after the warm-up and at the end (``resource.getrusage``: the high-water mark, so a
transient allocation during the timed call shows). Per problem the script fits ``log t = a + b log(paths x
steps)`` over the cells (``b`` is 1 for linear time) and compares the largest cell's peak RSS with the
smallest's (the fused kernels' target: within 10%). Problems are those of ``benchmarks/throughput.py``.
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {bench!r})
import throughput
import riskgpu as rg
p = throughput.PROBLEMS[{problem!r}]
run = dict(n_steps=p.steps, seed=7, backend={backend!r}, dtype={dtype!r})
t0 = time.perf_counter()
rg.price(p.product, p.model, n_paths=64, **run)
compile_s = time.perf_counter() - t0
warm_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
res = rg.price(p.product, p.model, n_paths={paths}, **run)
elapsed = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(compile_s=compile_s, elapsed_s=elapsed, warm_rss_mb=warm_kb / 1024, peak_rss_mb=peak_kb / 1024,
                      value=res.value, stderr=res.stderr, steps=p.steps)))
"""


def cell(problem: str, paths: int, backend: str, dtype: str) -> dict:
    """One cell in a fresh process (see the module docstring)."""
    code = CHILD.format(bench=str(ROOT / "benchmarks"), problem=problem, backend=backend, dtype=dtype, paths=paths)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env.setdefault("RISKGPU_KERNEL_CACHE", "0")  # compile time measured cold, as before the kernel cache
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(f"{problem} at {paths} paths failed:\n{out.stderr[-3000:]}")
    return {"problem": problem, "paths": paths, **json.loads(out.stdout.strip().splitlines()[-1])}


def fit_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ``log y`` against ``log x`` (None with fewer than two points)."""
    if len(xs) < 2:
        return None
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", default="100000,1000000,10000000")
    ap.add_argument("--problems", default="asian_252,european_1step")
    ap.add_argument("--backend", default="cpu", choices=("reference", "cpu", "gpu"))
    ap.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scaling.json")
    args = ap.parse_args(argv)
    sizes = sorted(int(x) for x in args.paths.split(","))
    rows, fits = [], {}
    for problem in args.problems.split(","):
        cells = [cell(problem, n, args.backend, args.dtype) for n in sizes]
        rows += cells
        b = fit_exponent([c["paths"] * c["steps"] for c in cells], [c["elapsed_s"] for c in cells])
        growth = cells[-1]["peak_rss_mb"] / cells[0]["peak_rss_mb"] - 1.0
        fits[problem] = {"time_exponent": None if b is None else round(b, 4), "peak_rss_growth": round(growth, 4)}
    print(f"{'problem':<16}{'paths':>12}{'path-steps/s':>16}{'time s':>10}{'compile s':>11}{'RSS warm MB':>13}"
          f"{'RSS peak MB':>13}")  # fmt: skip
    for r in rows:
        rate = r["paths"] * r["steps"] / r["elapsed_s"]
        print(f"{r['problem']:<16}{r['paths']:>12,}{rate:>16.3e}{r['elapsed_s']:>10.3f}{r['compile_s']:>11.2f}"
              f"{r['warm_rss_mb']:>13.1f}{r['peak_rss_mb']:>13.1f}")  # fmt: skip
    for problem, f in fits.items():
        print(f"{problem}: time ~ (paths x steps)^{f['time_exponent']}; peak RSS {100 * f['peak_rss_growth']:+.1f}% "
              f"from {sizes[0]:,} to {sizes[-1]:,} paths")  # fmt: skip
    from riskgpu.backends import cpu_model

    doc = {
        "script": "benchmarks/scaling.py",
        "argv": sys.argv[1:] if argv is None else argv,
        "backend": args.backend,
        "dtype": args.dtype,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "rows": rows,
        "fits": fits,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
