"""``riskgpu run``: the nightly batch from a config (``riskgpu.runner.run``), and the devices ``riskgpu info``
lists."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction, epilog: str) -> None:
    """Register the ``run`` subcommand."""
    rn = sub.add_parser(
        "run",
        help="the nightly batch: config in, one run folder of risk reports out (atomically)",
        description="Price the book, make every VaR run, the stress scenarios and the backtest of a run config "
        "(TOML), and publish <outputs.folder>/<outputs.name> with positions, greeks, var, contributions, pnl, "
        "stress, backtest and exceptions tables (Parquet/CSV), summary.json, manifest.json, report.html, run.log "
        "and _SUCCESS. Nothing is written when an input is invalid; a failed run leaves no complete folder.",
        epilog=epilog,
    )
    rn.add_argument("config", type=Path)
    rn.add_argument("--out", type=Path, help="parent folder of the run folder (replaces outputs.folder)")
    rn.add_argument("--backend", choices=("auto", "reference", "cpu", "gpu"), help="replaces engine.backend")
    rn.add_argument("--seed", type=int, help="replaces engine.seed (and the seed of VaR runs without their own)")
    rn.add_argument("--asof", type=parse_date, help="YYYY-MM-DD: the market must be as of it; ${ASOF} in paths")
    rn.add_argument("--overwrite", action="store_true", default=None, help="replace an existing run folder")
    rn.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    rn.add_argument("--json", action="store_true", help="print summary.json on stdout at the end")
    where = rn.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="compute on the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 (replaces [cluster])",
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="compute on N local Dask worker processes started for the run (replaces [cluster])",
    )


def parse_date(text: str) -> object:
    """An argparse type: a strict YYYY-MM-DD date."""
    from riskgpu.io.tables import cell_date

    try:
        return cell_date(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r} ({exc})") from None


def run(args: argparse.Namespace, input_error: type[Exception]) -> int:
    """Run and print; input errors raise ``input_error`` (exit code 2); returns 0 or 3 (partial)."""
    from riskgpu.backends import BackendUnavailableError
    from riskgpu.config import ConfigError
    from riskgpu.io.runfolder import RunFolderExistsError
    from riskgpu.risk.market import MarketError
    from riskgpu.risk.portfolio import PortfolioError
    from riskgpu.runner import run

    try:
        outcome = run(
            args.config,
            out=args.out,
            backend=args.backend,
            seed=args.seed,
            asof=args.asof,
            overwrite=args.overwrite,
            log_level=args.log_level,
            scheduler=args.scheduler,
            workers=args.workers,
        )
    except (ConfigError, MarketError, PortfolioError, RunFolderExistsError, BackendUnavailableError) as exc:
        raise input_error(str(exc)) from exc
    if args.json:
        print((outcome.folder / "summary.json").read_text(), end="")
    else:
        s = outcome.summary
        print(f"{outcome.folder}: {s['status']} ({s['positions']['priced']} positions priced, "
              f"{s['positions']['skipped']} skipped)")  # fmt: skip
        for name, v in s["var"].items():
            print(f"  {name:<32} VaR {v['var']:>16,.2f}   ES {v['es']:>16,.2f}")
    return outcome.exit_code


def devices() -> dict:
    """The CPU and the CUDA devices numba sees (none under the simulator or without a driver)."""
    import os

    from riskgpu.backends import cpu_model, gpu

    out = {"cpu": f"{cpu_model()}, {os.cpu_count()} logical CPUs", "gpus": []}
    if gpu.simulated() or not gpu.status()[0]:
        return out
    from numba import cuda

    for d in cuda.list_devices():
        with d:
            mem = cuda.current_context().get_memory_info().total / 2**30
            cc = ".".join(map(str, d.compute_capability))
            name = d.name.decode() if isinstance(d.name, bytes) else str(d.name)
            out["gpus"].append({"id": d.id, "name": name, "compute_capability": cc, "memory_gib": round(mem, 1)})
    return out
