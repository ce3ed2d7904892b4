"""Pricing speed per backend and dtype, side by side in one run: path-steps per second.

    python benchmarks/price_speed.py [--paths 1000000] [--out benchmarks/results/price_speed.json]

Compile time (first call in the process) is measured and reported separately from the run time
(best of ``--repeat`` warm runs). The throughput benchmark against numpy/QuantLib comes with
``benchmarks/throughput.py`` (issue 3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba

import riskgpu as rg

PROBLEMS = {
    "european_1step": (rg.European(strike=100.0, maturity=1.0), None),
    "asian_252": (rg.Asian(strike=100.0, maturity=1.0, n_fixings=252), None),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="reference,cpu")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "price_speed.json")
    args = ap.parse_args()
    model = rg.GBM(spot=100.0, vol=0.2, rate=0.03)
    rows = []
    for name, (product, n_steps) in PROBLEMS.items():
        steps = n_steps or product.default_steps()
        for backend in args.backends.split(","):
            for dtype in ("float64", "float32"):
                t0 = time.perf_counter()
                rg.price(product, model, n_paths=64, seed=1, backend=backend, dtype=dtype)
                first = time.perf_counter() - t0
                best = min(
                    rg.price(product, model, n_paths=args.paths, seed=1, backend=backend, dtype=dtype).elapsed_s
                    for _ in range(args.repeat)
                )
                rows.append(
                    {
                        "problem": name,
                        "backend": backend,
                        "dtype": dtype,
                        "paths": args.paths,
                        "steps": steps,
                        "run_s": best,
                        "first_call_s": first,
                        "path_steps_per_s": args.paths * steps / best,
                    }
                )
    threads = numba.config.NUMBA_NUM_THREADS
    print(
        f"{'problem':<16} {'backend':<10} {'dtype':<8} {'run s':>8} {'path-steps/s':>14} {'vs reference':>12} "
        f"{'1st call s':>10}"
    )
    for r in rows:
        ref = next(
            x for x in rows if x["problem"] == r["problem"] and x["dtype"] == r["dtype"] and x["backend"] == "reference"
        )
        print(
            f"{r['problem']:<16} {r['backend']:<10} {r['dtype']:<8} {r['run_s']:8.3f} "
            f"{r['path_steps_per_s']:14.3e} {ref['run_s'] / r['run_s']:11.1f}x {r['first_call_s']:10.2f}"
        )
    meta = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "numba_threads": threads,
        "numba": numba.__version__,
        "python": platform.python_version(),
    }
    print(f"cpu backend threads: {threads} of {os.cpu_count()} CPUs; run s = best of {args.repeat}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
