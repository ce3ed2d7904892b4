"""The nightly runner: ``validate`` checks a run config and every input it names without computing;
``run`` computes and writes one run folder atomically. ``riskgpu validate`` / ``riskgpu run`` are their
commands.

A run: load and check everything first (any problem is an input error and nothing is written), then, in a
temporary folder beside the final one (``riskgpu.io.runfolder``), price the positions, make every VaR run,
the stress scenarios and the backtest, write the tables, ``summary.json``, ``manifest.json`` and
``report.html``, and publish the folder with ``_SUCCESS`` by a rename.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import re
import time
import warnings
from pathlib import Path

from pydantic import ValidationError

from riskgpu.batch.inputs import Skipped, read_portfolio
from riskgpu.config import Cluster, ConfigError, Engine, RunConfig, load_config

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_PARTIAL = 0, 1, 2, 3
#: A run folder's name: what ``outputs.name`` accepts.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")
#: The tables of a run folder, each written in every configured format.
TABLES = ("positions", "greeks", "var", "contributions", "pnl", "stress", "backtest", "exceptions")


def _check_runs(config: RunConfig, path: str | Path, market: object, portfolio: object) -> None:
    """Every VaR run's options against its method, every stress scenario's names and vols."""
    import riskgpu as rg
    from riskgpu.batch.stages import COMMON
    from riskgpu.risk.var import _OPTIONS

    held = portfolio.underlyings
    for i, run in enumerate(config.risk):
        given = {k for k, v in run.model_dump().items() if v is not None and k not in COMMON}
        bad = sorted(given - _OPTIONS[run.method])
        if bad:
            raise ConfigError(f"{path}: risk[{i}] ({run.name!r}): method {run.method!r} does not take {', '.join(bad)}")
        _probe(config, path, market, portfolio, i)
    b = config.backtest
    if b is not None and b.start is not None and b.end is not None and b.start > b.end:
        raise ConfigError(f"{path}: backtest.start = {b.start.isoformat()} is after backtest.end = {b.end.isoformat()}")
    if b is not None:
        from riskgpu.risk.rolling import backtest_days

        try:
            backtest_days(market.closes(held)[0], window_days=b.window_days, start=b.start, end=b.end)
        except ValueError as exc:
            raise ConfigError(f"{path}: backtest.window_days = {b.window_days} (start {b.start}, end {b.end}): "
                              f"{exc}") from None  # fmt: skip
    names = set(market.names) | {"*"}
    for i, s in enumerate(config.stress):
        for field in ("spot", "vol"):
            shocks = getattr(s, field)
            unknown = sorted(set(shocks) - names) if isinstance(shocks, dict) else []
            if unknown:
                raise ConfigError(f"{path}: stress[{i}].{field} ({s.name!r}): unknown underlying(s) {unknown}")
        try:
            scenario = rg.StressScenario(**s.model_dump())
        except ValueError as exc:
            raise ConfigError(f"{path}: stress[{i}] ({s.name!r}): {exc}") from None
        for name in held:
            vol = float(market.vol_vector([name])[0]) + scenario.shock_for("vol", name)
            if vol < 0:
                raise ConfigError(f"{path}: stress[{i}].vol ({s.name!r}): the vol of {name} would be {vol:.6g} < 0")


def _probe(config: RunConfig, path: str | Path, market: object, portfolio: object, i: int) -> None:
    """Make VaR run ``i`` on one cheap position of the book (the reference backend, at most 200 scenarios
    when nested): what ``rg.var`` refuses about the options together (``dof`` without student_t, a stressed
    window outside the history, a lookback longer than it, ...) is an input error before anything is computed,
    naming the key path ``risk[i].<option>``."""
    import riskgpu as rg
    from riskgpu.batch.stages import var_options
    from riskgpu.risk.var import _OPTIONS

    run = config.risk[i]
    cheap = ("spot", "forward", "european")
    pick = min(portfolio.positions, key=lambda p: (p.instrument not in cheap, cheap.index(p.instrument)
                                                   if p.instrument in cheap else 0, p.position_id))  # fmt: skip
    kw = var_options(run, config.engine.seed)
    if run.revaluation == "nested" and "n_scenarios" in _OPTIONS[run.method]:
        kw["n_scenarios"] = min(kw.get("n_scenarios") or 200, 200)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rg.var(portfolio.subset([pick.position_id]), market, backend="reference", **kw)
    except (ValueError, TypeError) as exc:
        text = str(exc)
        keys = [k for k in type(run).model_fields if re.search(rf"\b{k}\b", text)]
        key = min(keys, key=lambda k: re.search(rf"\b{k}\b", text).start()) if keys else None
        where = f"risk[{i}].{key}" if key else f"risk[{i}]"
        value = "" if key is None else f" = {getattr(run, key)!r}"
        raise ConfigError(f"{path}: {where}{value} ({run.name!r}): {text}") from None


def _load(path: str | Path, asof: _dt.date | None, on_error: str | None = None) -> tuple:
    """Config, market and portfolio, all checked: ``(config, market, portfolio, skipped)``."""
    import riskgpu as rg

    config = load_config(path, asof=asof)
    market = rg.Market.read(config.inputs.market, repair=config.inputs.repair)
    if config.inputs.asof is not None and config.inputs.asof != market.asof:
        where = "--asof" if asof is not None else "inputs.asof"
        raise ConfigError(
            f"{path}: {where} = {config.inputs.asof.isoformat()} but the market in {config.inputs.market} is as "
            f"of {market.asof.isoformat()}"
        )
    portfolio, skipped = read_portfolio(config.inputs.portfolio, market, on_error=on_error or config.on_error)
    _check_runs(config, path, market, portfolio)
    return config, market, portfolio, skipped


def validate(path: str | Path, *, asof: _dt.date | None = None) -> tuple[RunConfig, dict]:
    """Load the config, read the market and the portfolio, check the portfolio against the market, the as-of
    date, every VaR run's options against its method and every stress scenario's underlyings.

    Returns ``(config, summary)``; any problem is a ``ConfigError`` (or the inputs' own ``PortfolioError`` /
    ``MarketError``) naming the file, key or row, and the value. Validation is strict whatever ``on_error``
    says: it lists the first bad position rather than skipping it.
    """
    config, market, portfolio, _ = _load(path, asof, on_error="fail")
    summary = {
        "config": str(path),
        "positions": len(portfolio),
        "underlyings": len(portfolio.underlyings),
        "asof": market.asof.isoformat(),
        "var_runs": [r.name for r in config.risk],
        "stress_scenarios": [s.name for s in config.stress],
        "backtest": config.backtest is not None,
        "outputs": str(config.outputs.folder),
        "cluster": config.cluster.model_dump(),
    }
    return config, summary


@dataclasses.dataclass
class RunOutcome:
    """What ``run`` did: the exit code (0, or 3 when positions were skipped), the published folder and its
    ``summary.json`` / ``manifest.json`` documents."""

    exit_code: int
    folder: Path
    summary: dict
    manifest: dict


def _overrides(config: RunConfig, path: str | Path, backend: str | None, seed: int | None,
               scheduler: str | None = None, workers: int | None = None) -> RunConfig:  # fmt: skip
    if scheduler is not None or workers is not None:
        cluster = {**config.cluster.model_dump(), "address": scheduler, "local": workers}
        try:
            config = config.model_copy(update={"cluster": Cluster.model_validate(cluster)})
        except ValidationError as exc:
            err = exc.errors()[0]
            flag = "--scheduler" if err["loc"] and err["loc"][0] == "address" else "--workers"
            raise ConfigError(f"{path}: {flag}: {err['msg']} (got {scheduler if flag == '--scheduler' else workers!r})"
                              ) from None  # fmt: skip
    engine = config.engine.model_dump()
    if backend is not None:
        engine["backend"] = backend
    if seed is not None:
        engine["seed"] = seed
    try:
        checked = Engine.model_validate(engine)
    except ValidationError as exc:
        raise ConfigError(f"{path}: --seed/--backend: {exc.errors()[0]['msg']} (got {seed!r}, {backend!r})") from None
    return config.model_copy(update={"engine": checked})


def run(
    config_path: str | Path,
    *,
    out: str | Path | None = None,
    backend: str | None = None,
    seed: int | None = None,
    asof: _dt.date | None = None,
    overwrite: bool | None = None,
    log_level: str = "info",
    stream: object = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> RunOutcome:
    """Run the config at ``config_path`` and publish ``<outputs.folder or out>/<outputs.name>``.

    ``backend``, ``seed``, ``asof`` and ``overwrite`` replace the config's; ``out`` replaces
    ``outputs.folder``; ``scheduler`` (an address) or ``workers`` (local worker processes) replace its
    ``[cluster]`` (``riskgpu.batch.cluster``: the same tables on any cluster, bitwise). Input errors
    (``ConfigError``, ``MarketError``, ``PortfolioError``, ``RunFolderExistsError``) are raised before anything
    is written, as is a ``ClusterError`` (no scheduler or no workers); an error while computing removes the
    temporary folder and is raised. Tested end to end on the demo (``tests/test_runner.py``).
    """
    import riskgpu as rg
    from riskgpu.batch import stages
    from riskgpu.batch.cluster import connect, describe
    from riskgpu.batch.outputs import device, input_files, plain, versions, write_json
    from riskgpu.batch.progress import RunLog
    from riskgpu.distributed import resolve_backend
    from riskgpu.io.runfolder import RunFolderExistsError, run_folder
    from riskgpu.io.tables import write_formats
    from riskgpu.report import write_report

    log = RunLog(log_level, stream)
    stack = contextlib.ExitStack()
    started = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    caught: list = []
    try:
        with log.stage("validate"), warnings.catch_warnings(record=True) as early:
            warnings.simplefilter("always")
            config_sha = hashlib.sha256(Path(config_path).read_bytes()).hexdigest() if Path(config_path).is_file() \
                else None  # fmt: skip
            config, market, portfolio, skipped = _load(config_path, asof)
            inputs = input_files(config.inputs.portfolio, config.inputs.market)  # hashed as read, not at the end
            config = _overrides(config, config_path, backend, seed, scheduler, workers)
            # with a cluster the workers resolve the backend (they hold the devices); connected before any
            # folder is made, so an unreachable cluster leaves nothing behind
            origin = "--scheduler" if scheduler is not None else "--workers" if workers is not None else None
            client = stack.enter_context(connect(config.cluster, config_path, origin=origin))
            engine_backend = resolve_backend(client, config.engine.backend)
            if client is not None:
                where = describe(client, config.cluster)
                log.info(f"cluster: {where['workers']} workers ({where['threads']} threads), "
                         f"{where['address'] or 'local'}", event="cluster", **where)  # fmt: skip
            name = config.outputs.name or f"{Path(config_path).stem}_{market.asof.isoformat()}"
            if not NAME.match(name) or name == "latest":
                raise ConfigError(f"{config_path}: the run folder's name {name!r} (from the file name and the as-of "
                                  "date) is not a plain folder name; set outputs.name")  # fmt: skip
            parent = Path(out) if out is not None else config.outputs.folder
            replace = config.outputs.overwrite if overwrite is None else overwrite
            where = "--out" if out is not None else "outputs.folder"
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"{config_path}: {where} = {str(parent)!r}: cannot create the folder: {exc}"
                ) from None
            if not os.access(parent, os.W_OK):
                raise ConfigError(f"{config_path}: {where} = {str(parent)!r}: not writable")
            config = config.model_copy(update={"outputs": config.outputs.model_copy(
                update={"folder": parent, "overwrite": replace, "name": name})})  # fmt: skip
            if (parent / name).exists() and not replace:
                raise RunFolderExistsError(f"{parent / name} exists (a previous run); pass --overwrite to replace it")
            caught += early
        log.info(f"{config_path}: {len(portfolio)} positions ({len(skipped)} skipped) as of {market.asof}, backend "
                 f"{engine_backend}, seed {config.engine.seed}", event="inputs", positions=len(portfolio),
                 skipped=len(skipped))  # fmt: skip
        for s in skipped:
            log.warning(f"skipped {s.position_id or '(no id)'} (row {s.row}): {s.reason}", **s.event())
        with run_folder(parent, name, overwrite=replace) as tmp:
            log.attach(tmp)
            with warnings.catch_warnings(record=True) as later:
                warnings.simplefilter("always")
                tables, docs = _compute(config, portfolio, market, skipped, engine_backend, log, stages, client)
            caught += later
            seen = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
            for w in seen:
                log.warning(w, event="warning")
            with log.stage("write"):
                rows = {}
                for table in TABLES:
                    rows |= write_formats(tmp, table, tables[table], config.outputs.formats)
                status = "partial" if docs["skipped"] else "complete"
                summary = _summary(config, market, docs, name, status)
                write_json(tmp / "summary.json", summary)
                context = _report_context(config, config_path, config_sha, docs, summary, seen, log.timings,
                                          engine_backend)  # fmt: skip
                write_report(tmp / "report.html", context)
            overrides = {"out": out, "backend": backend, "seed": seed, "asof": asof, "overwrite": overwrite,
                         "scheduler": scheduler, "workers": workers}  # fmt: skip
            resolved = config.model_dump(mode="json")
            manifest = {
                "riskgpu": rg.__version__,
                "run": name,
                "status": status,
                "exit_code": EXIT_PARTIAL if status == "partial" else EXIT_OK,
                "config": {
                    "path": str(Path(config_path).resolve()),
                    "sha256": config_sha,
                    "resolved": resolved,
                    "resolved_sha256": hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest(),
                    "overrides": {k: v for k, v in overrides.items() if v is not None},
                },
                "seed": config.engine.seed,
                "asof": market.asof.isoformat(),
                "inputs": inputs,
                "versions": versions(),
                "device": device(engine_backend),
                "cluster": describe(client, config.cluster),
                "started": started.isoformat(timespec="seconds"),
                "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "timings_s": {**log.timings, "total": round(time.perf_counter() - t0, 6)},
                "rows": rows,
                "positions": {"in_file": docs["in_file"], "priced": docs["priced"], "skipped": len(docs["skipped"])},
                "warnings": seen,
                "files": sorted([*rows, "summary.json", "manifest.json", "report.html", "run.log", "_SUCCESS"]),
            }
            write_json(tmp / "manifest.json", plain(manifest))
            log.info(f"run {name}: {status}", event="end", status=status, folder=str(parent / name))
            log.close()
        return RunOutcome(manifest["exit_code"], parent / name, summary, manifest)
    finally:
        stack.close()
        log.close()


def _backtest_total(config: RunConfig, portfolio: object, market: object) -> int | None:
    """The backtest's number of days (its progress total), None without one."""
    from riskgpu.risk.rolling import backtest_days

    b = config.backtest
    if b is None:
        return None
    held = portfolio.underlyings
    return len(backtest_days(market.closes(held)[0], window_days=b.window_days, start=b.start, end=b.end))


def _compute(config: RunConfig, portfolio: object, market: object, skipped: list[Skipped], backend: str,
             log: object, stages: object, client: object = None) -> tuple[dict, dict]:  # fmt: skip
    import polars as pl

    in_file = len(portfolio) + sum(1 for s in skipped if s.stage in ("read", "market"))
    with log.stage("price", total=len(portfolio)) as step:
        positions, greeks, failed = stages.price_stage(config, portfolio, market, backend=backend, step=step,
                                                       client=client)  # fmt: skip
    skipped = [*skipped, *failed]
    if failed and positions.height == 0:
        raise RuntimeError(f"every position failed to price ({len(failed)}); the first, {failed[0].position_id}: "
                           f"{failed[0].reason}")  # fmt: skip
    if failed:
        for s in failed:
            log.warning(f"skipped {s.position_id} (pricing): {s.reason}", **s.event())
        portfolio = portfolio.subset([i for i in portfolio.ids if i not in {s.position_id for s in failed}])
    with log.stage("var", total=len(config.risk)) as step:
        var = stages.var_stage(config, portfolio, market, backend=backend, step=step, client=client)
    with log.stage("stress"):
        stress = stages.stress_stage(config, portfolio, market, backend=backend, client=client)
    with log.stage("backtest", total=_backtest_total(config, portfolio, market)) as step:
        backtest = stages.backtest_stage(config, portfolio, market, backend=backend, step=step,
                                            client=client)  # fmt: skip
    sch = stages.schemas()
    tables = {
        "positions": positions,
        "greeks": greeks,
        "var": var["var"],
        "contributions": var["contributions"],
        "pnl": var["pnl"],
        "stress": stress["stress"],
        "backtest": backtest["backtest"] if backtest else pl.DataFrame(schema=sch["backtest"]),
        "exceptions": pl.DataFrame([s.to_dict() for s in skipped], schema=sch["exceptions"]),
    }
    docs = {
        "positions": positions,
        "var": var,
        "stress": stress,
        "backtest": backtest,
        "skipped": skipped,
        "in_file": in_file,
        "priced": positions.height,
    }
    return tables, docs


def _summary(config: RunConfig, market: object, docs: dict, name: str, status: str) -> dict:
    positions = docs["positions"]
    books: dict[str | None, list[float]] = {}
    for book, value in zip(positions["book"], positions["value"], strict=True):
        books.setdefault(book, []).append(value)
    order = sorted(books, key=lambda b: (b is None, b or ""))
    keys = ("method", "confidence", "es_confidence", "horizon_days", "var", "es", "var_ci_low", "var_ci_high",
            "stressed_var", "stressed_es")  # fmt: skip
    return {
        "run": name,
        "asof": market.asof.isoformat(),
        "status": status,
        "positions": {"in_file": docs["in_file"], "priced": docs["priced"], "skipped": len(docs["skipped"])},
        "portfolio_value": math.fsum(positions["value"].to_list()),
        "portfolio_value_stderr": math.sqrt(math.fsum((positions["value_stderr"] ** 2).to_list())),
        "by_book": [{"book": b, "positions": len(books[b]), "value": math.fsum(books[b])} for b in order],
        "var": {r["run"]: {k: r.get(k) for k in keys} for r in docs["var"]["var"].iter_rows(named=True)},
        "stress": docs["stress"]["totals"],
        "backtest": None if docs["backtest"] is None else docs["backtest"]["summary"],
        "seed": config.engine.seed,
    }


def _report_context(config: RunConfig, path: str | Path, config_sha: str | None, docs: dict, summary: dict,
                    seen: list[str], timings: dict, backend: str) -> dict:  # fmt: skip
    import riskgpu as rg

    pos = docs["positions"]
    return {
        "title": f"riskgpu run {summary['run']}",
        "asof": summary["asof"],
        "status": summary["status"],
        "config": str(path),
        "config_sha256": config_sha,
        "backend": backend,
        "seed": config.engine.seed,
        "version": rg.__version__,
        "book": {
            "positions": summary["positions"]["priced"],
            "skipped": summary["positions"]["skipped"],
            "value": summary["portfolio_value"],
            "by_book": [{**b, "book": b["book"] or "(none)"} for b in summary["by_book"]],
        },
        "var_runs": docs["var"]["report"],
        "stress": docs["stress"]["report"],
        "positions": {
            "position_id": pos["position_id"].to_list(),
            "instrument": pos["instrument"].to_list(),
            "price": pos["price"].to_numpy(),
            "stderr": pos["stderr"].to_numpy(),
            "closed_form": pos["closed_form"].to_numpy(),
        },
        "backtest": None if docs["backtest"] is None else docs["backtest"]["report"],
        "exceptions": [s.to_dict() for s in docs["skipped"]],
        "warnings": seen,
        "timings": dict(timings),
    }
