"""``riskgpu bench``: a quick throughput check of the pricing backends that work here, side by side.

Each case is priced once to compile (not timed), then timed over ``--repeat`` runs (best kept); the value is
shown beside its closed form as a z-score, so a fast wrong answer stands out. The full comparison with numpy
and QuantLib lives in ``benchmarks/``.
"""

from __future__ import annotations

import argparse
import json
import time

CASES = ("european", "asian")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``bench`` subcommand."""
    p = sub.add_parser(
        "bench",
        help="quick pricing throughput of each working backend (paths/s), values checked against closed forms",
        description="Time a European (one step) and a geometric Asian (52 fixings) call on each backend that "
        "runs here (the CUDA simulator is left out: it is for tests), best of --repeat runs after a "
        "compile run. For side-by-side comparisons with numpy and QuantLib see benchmarks/.",
    )
    p.add_argument("--backend", choices=("reference", "cpu", "gpu"), action="append", help="repeat; default: all")
    p.add_argument("--n-paths", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _cases(rg: object) -> dict:
    model = rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)
    common = {"kind": "call", "strike": 100.0, "maturity": 1.0, "spot": 100.0, "vol": 0.2, "rate": 0.03, "div": 0.01}
    return {
        "european": (rg.European(kind="call", strike=100.0, maturity=1.0), model, 1, float(rg.bs_price(**common))),
        "asian": (
            rg.Asian(kind="call", strike=100.0, maturity=1.0, n_fixings=52, average="geometric"),
            model,
            52,
            rg.geometric_asian_price(**common, n_fixings=52),
        ),
    }


def run(args: argparse.Namespace, input_error: type[Exception]) -> int:
    """Time and print; bad arguments raise ``input_error`` (exit code 2)."""
    import riskgpu as rg
    from riskgpu.backends import gpu

    if args.n_paths < 2 or args.repeat < 1:
        raise input_error(f"--n-paths must be >= 2 and --repeat >= 1, got {args.n_paths}, {args.repeat}")
    names = args.backend or ["reference", "cpu", "gpu"]
    info = rg.backends()
    rows, skipped = [], {}
    for name in names:
        usable = info[name].available and not (name == "gpu" and gpu.simulated())
        if not usable:
            skipped[name] = info[name].detail if name != "gpu" or not gpu.simulated() else "CUDA simulator"
            if args.backend:
                raise input_error(f"--backend {name}: not usable here ({skipped[name]})")
            continue
        for case, (product, model, steps, exact) in _cases(rg).items():
            kw = {"n_paths": args.n_paths, "seed": 1, "backend": name}
            rg.price(product, model, **{**kw, "n_paths": min(args.n_paths, 4096)})  # compile
            best, res = float("inf"), None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                res = rg.price(product, model, **kw)
                best = min(best, time.perf_counter() - t0)
            rows.append({
                "backend": name, "case": case, "n_paths": args.n_paths, "steps": steps, "seconds": best,
                "paths_per_s": args.n_paths / best, "value": res.value, "stderr": res.stderr, "closed_form": exact,
                "z": (res.value - exact) / res.stderr,
            })  # fmt: skip
    if args.json:
        print(json.dumps({"rows": rows, "skipped": skipped}, indent=1))
        return 0
    print(f"{'backend':10} {'case':9} {'paths':>10} {'steps':>5} {'best s':>9} {'paths/s':>12} {'value':>10} {'z':>6}")
    for r in rows:
        print(f"{r['backend']:10} {r['case']:9} {r['n_paths']:>10} {r['steps']:>5} {r['seconds']:9.4f} "
              f"{r['paths_per_s']:12.4g} {r['value']:10.5f} {r['z']:6.2f}")  # fmt: skip
    for name, why in skipped.items():
        print(f"{name}: skipped ({why})")
    print("z = (value - closed form) / stderr; float64; best of", args.repeat)
    return 0
