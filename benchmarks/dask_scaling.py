"""Dask scale-out on this machine: per-task overhead, and the speed-up from 1 to 2 local workers.

    python benchmarks/dask_scaling.py [--out benchmarks/results/dask_scaling.json] [--workers 1,2] [--repeat 3]
                                     [--paths 2000000] [--scenarios 20000] [--demo-paths 20000]
                                     [--only overhead,price,var,demo]

Side by side in one run, each on the cpu backend:

- ``overhead``: ``riskgpu.distributed.run_tasks`` over ``--tasks`` no-op tasks on each cluster (per-task cost
  of submitting, scheduling, running and gathering), and ``rg.price`` of a small European with one tile per
  task against the same as one task;
- ``price``: ``rg.price`` of a 12-fixing arithmetic Asian with a control variate on ``--paths`` paths:
  in-process (numba on every core) and on ``local = N`` worker processes (one numba thread each, the
  default split of about four tasks per worker);
- ``var``: ``rg.var`` historical and Monte Carlo (``--scenarios`` lognormal scenarios) full revaluation of the
  demo book, in-process and on each cluster;
- ``demo``: the nightly run of ``configs/demo.toml`` (``--demo-paths`` paths) in-process and through
  ``--scheduler`` on each cluster, after one untimed warm-up run on it (the workers' JIT compilation); the
  tables are compared byte for byte with the in-process run's.

Every cluster is a ``distributed.LocalCluster`` on loopback with one thread per worker. Each timed row: the
best and median of ``--repeat`` calls after one untimed warm-up call (compilation in the workers), plus
whether its numbers equal the in-process ones bitwise. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import riskgpu as rg
from riskgpu import distributed as dist
from riskgpu.backends import cpu_model

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
PARTS = ("overhead", "price", "var", "demo")


def timed(fn: Callable[[], object], repeat: int) -> tuple[dict, object]:
    """One untimed warm-up call, then ``repeat`` timed calls: ``({warmup_s, best_s, median_s}, last result)``."""
    t0 = time.perf_counter()
    fn()
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    stats = {"warmup_s": round(warm, 4), "best_s": round(min(times), 4), "median_s": round(statistics.median(times), 4)}
    return stats, out


def _noop(i: int) -> int:
    return i


def overhead(client: object, tasks: int, repeat: int) -> dict:
    """Seconds per no-op task, and a small pricing split into one task per tile against one task."""
    stats, _ = timed(lambda: dist.run_tasks(client, "noop", _noop, [(i,) for i in range(tasks)],
                                            describe=str), repeat)  # fmt: skip
    per_task = stats["best_s"] / tasks
    product, model = rg.European(kind="call", strike=100.0, maturity=1.0), rg.GBM(spot=100.0, vol=0.2, rate=0.02)
    run = {"n_paths": 64 * 32, "seed": 1, "backend": "cpu"}
    many, _ = timed(lambda: rg.price(product, model, client=client, tiles_per_task=1, **run), repeat)
    one, _ = timed(lambda: rg.price(product, model, client=client, tiles_per_task=64, **run), repeat)
    return {
        "noop_tasks": tasks,
        "noop": stats,
        "per_task_ms": round(1e3 * per_task, 3),
        "price_64_tasks": many,
        "price_1_task": one,
        "per_extra_task_ms": round(1e3 * (many["best_s"] - one["best_s"]) / 63, 3),
    }


def price_case(paths: int) -> tuple:
    product = rg.Asian(kind="call", strike=100.0, maturity=1.0, n_fixings=12)
    model = rg.GBM(spot=100.0, vol=0.2, rate=0.03)
    return product, model, {"n_paths": paths, "seed": 42, "backend": "cpu", "control_variate": True}


def var_cases(scenarios: int) -> dict:
    return {
        "historical": {"method": "historical", "backend": "cpu"},
        "monte_carlo": {"method": "monte_carlo", "n_scenarios": scenarios, "seed": 1, "backend": "cpu"},
    }


def demo_run(out: Path, paths: int, scheduler: str | None) -> Path:
    from riskgpu.runner import run

    text = (ROOT / "configs" / "demo.toml").read_text().replace('"../data/demo/', f'"{DEMO}/')
    text = text.replace("n_paths = 20000", f"n_paths = {paths}")
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / "demo.toml"
    cfg.write_text(text)
    outcome = run(cfg, out=out / "runs", backend="cpu", overwrite=True, log_level="error", scheduler=scheduler,
                  stream=io.StringIO())  # fmt: skip
    return outcome.folder


def tables_equal(a: Path, b: Path) -> bool:
    names = [*sorted(p.name for p in a.iterdir() if p.suffix in (".parquet", ".csv")), "summary.json"]
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dask_scaling.json")
    ap.add_argument("--workers", default="1,2", help="comma-separated local worker counts")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=200, help="no-op tasks of the overhead row")
    ap.add_argument("--paths", type=int, default=2_000_000)
    ap.add_argument("--scenarios", type=int, default=20_000)
    ap.add_argument("--demo-paths", type=int, default=20_000)
    ap.add_argument("--only", default=",".join(PARTS))
    args = ap.parse_args(argv)
    parts = args.only.split(",")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        ap.error(f"--only: unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    counts = [int(x) for x in args.workers.split(",")]

    import distributed

    rows: list[dict] = []
    reference: dict = {}
    work = Path(tempfile.mkdtemp(prefix="riskgpu-dask-bench-"))
    portfolio, market = rg.Portfolio.read(DEMO / "portfolio.csv"), rg.Market.read(DEMO / "market")

    # in-process baselines (numba on every core)
    if "price" in parts:
        product, model, pkw = price_case(args.paths)
        stats, res = timed(lambda: rg.price(product, model, **pkw), args.repeat)
        reference["price"] = (res.value, res.stderr)
        rows.append({"part": "price", "where": "in-process", "workers": 0, **stats, "bitwise": True})
    if "var" in parts:
        for name, vkw in var_cases(args.scenarios).items():
            stats, res = timed(lambda vkw=vkw: rg.var(portfolio, market, **vkw), args.repeat)
            reference[f"var_{name}"] = res.pnl_by_position
            rows.append({"part": f"var_{name}", "where": "in-process", "workers": 0, **stats, "bitwise": True})
    if "demo" in parts:
        stats, folder = timed(lambda: demo_run(work / "local", args.demo_paths, None), 1)
        reference["demo"] = folder
        rows.append({"part": "demo", "where": "in-process", "workers": 0, **stats, "bitwise": True})

    overheads = {}
    for n in counts:
        with (
            distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                     host="127.0.0.1") as cluster,
            distributed.Client(cluster) as client,
        ):  # fmt: skip
            where = f"local = {n}"
            if "overhead" in parts:
                overheads[n] = overhead(client, args.tasks, args.repeat)
            if "price" in parts:
                stats, res = timed(lambda: rg.price(product, model, client=client, **pkw), args.repeat)
                same = (res.value, res.stderr) == reference["price"]
                rows.append({"part": "price", "where": where, "workers": n, **stats, "bitwise": same})
            if "var" in parts:
                for name, vkw in var_cases(args.scenarios).items():
                    stats, res = timed(lambda vkw=vkw: rg.var(portfolio, market, client=client, **vkw), args.repeat)
                    same = bool(np.array_equal(res.pnl_by_position, reference[f"var_{name}"]))
                    rows.append({"part": f"var_{name}", "where": where, "workers": n, **stats, "bitwise": same})
            if "demo" in parts:
                there = (work / f"w{n}", args.demo_paths, cluster.scheduler_address)
                stats, folder = timed(lambda there=there: demo_run(*there), 1)
                same = tables_equal(folder, reference["demo"])
                rows.append({"part": "demo", "where": where, "workers": n, **stats, "bitwise": same})

    base = {(r["part"], r["workers"]): r["best_s"] for r in rows}
    for r in rows:
        one = base.get((r["part"], min(counts)))
        r["speedup_vs_fewest_workers"] = None if not r["workers"] or not one else round(one / r["best_s"], 3)
    print(f"{'part':<22}{'where':<12}{'warm-up s':>11}{'best s':>10}{'median s':>10}{'speed-up':>10}  bitwise")
    for r in rows:
        sp = "" if r["speedup_vs_fewest_workers"] is None else f"{r['speedup_vs_fewest_workers']:.2f}x"
        print(f"{r['part']:<22}{r['where']:<12}{r['warmup_s']:>11.3f}{r['best_s']:>10.3f}{r['median_s']:>10.3f}"
              f"{sp:>10}  {r['bitwise']}")  # fmt: skip
    for n, o in overheads.items():
        print(f"overhead, local = {n}: {o['per_task_ms']:.2f} ms per no-op task ({o['noop_tasks']} tasks); "
              f"a pricing in 64 tasks vs 1: {o['per_extra_task_ms']:.2f} ms per extra task")  # fmt: skip
    doc = {
        "script": "benchmarks/dask_scaling.py",
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {"riskgpu": rg.__version__, "distributed": distributed.__version__},
        "rows": rows,
        "overhead": {str(n): o for n, o in overheads.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["bitwise"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
