"""The computing stages of a nightly run, each from validated config objects to polars tables.

Every stage calls the public functions (``rg.var``, ``rg.stress``, ``rg.rolling_backtest``, the valuation of
``rg.price_portfolio``), so a run's numbers are those a quant gets from Python with the same arguments.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from riskgpu.batch.inputs import Skipped
from riskgpu.config import RunConfig, VaRRun

#: ``[[risk]]`` keys that are not ``rg.var`` method options.
COMMON = {"name", "method", "confidence", "es_confidence", "horizon_days", "stressed"}
#: How many contributors the report lists per VaR run.
TOP = 10


def schemas() -> dict[str, dict]:
    """Each table's columns and types, fixed whatever the config (so nightly files stack): filled and empty
    tables alike (positions and greeks come from ``riskgpu.risk.valuation``)."""
    import polars as pl

    f, s, i = pl.Float64, pl.String, pl.Int64
    var = {"run": s, "method": s, "confidence": f, "es_confidence": f, "horizon_days": i, "var": f, "es": f,
           "var_ci_low": f, "var_ci_high": f, "es_ci_low": f, "es_ci_high": f, "n_scenarios": i, "revaluation": s,
           "base_value": f, "stressed_var": f, "stressed_es": f, "stressed_start": s, "stressed_end": s}  # fmt: skip
    return {
        "var": var,
        "contributions": {
            "run": s,
            "level": s,
            "key": s,
            "component_var": f,
            "component_es": f,
            "marginal_var": f,
            "positions": i,
        },
        "pnl": {"run": s, "scenario": i, "pnl": f},
        "stress": {"scenario": s, "position_id": s, "book": s, "underlying": s, "pnl": f},
        "backtest": {"date": pl.Date, "var": f, "pnl": f, "exception": pl.Boolean},
        "exceptions": {"stage": s, "reason": s, "position_id": s, "row": i, "field": s, "value": s, "source": s},
    }


def price_stage(config: RunConfig, portfolio: object, market: object, *, backend: str, step: Callable,
                client: object = None) -> tuple:  # fmt: skip
    """Positions and Greeks tables and the positions whose pricing failed (``on_error="skip"``); with a Dask
    ``client`` the positions are priced as tasks (``riskgpu.distributed.value_positions``)."""
    from riskgpu.risk.book import resolve_book
    from riskgpu.risk.valuation import greeks_frame, positions_frame, value_positions

    e = config.engine
    book = resolve_book(portfolio, market)
    options = {
        "n_paths": e.n_paths,
        "seed": e.seed,
        "backend": backend,
        "dtype": e.dtype,
        "antithetic": e.antithetic,
        "control_variate": e.control_variate,
        "greeks": config.pricing.greeks,
        "on_error": config.on_error,
    }
    if client is None:
        val = value_positions(book, market, on_position=lambda _p: step(), **options)
    else:
        from riskgpu import distributed

        per = config.cluster.positions_per_task
        val = distributed.value_positions(
            client, book, market, positions_per_task=per, on_position=lambda _p: step(), **options
        )
    rows = {p.position_id: p.row for p in portfolio.positions}
    failed = [Skipped("price", reason, pid, rows[pid], source=portfolio.source) for pid, reason in val.failed.items()]
    return positions_frame(val.rows, greeks=config.pricing.greeks), greeks_frame(val.greeks), failed


def var_options(run: VaRRun, engine_seed: int) -> dict:
    """``rg.var`` keyword arguments of one ``[[risk]]`` run (the engine's seed where the method takes one)."""
    from riskgpu.risk.var import _OPTIONS

    kw = {k: v for k, v in run.model_dump().items() if v is not None and k not in {"name"}}
    if kw.get("stressed") is not None:
        kw["stressed"] = tuple(d.isoformat() for d in kw["stressed"])
    draws = run.method == "monte_carlo" or run.revaluation == "nested"  # where var takes a seed
    if "seed" in _OPTIONS[run.method] and run.seed is None and draws:
        kw["seed"] = engine_seed
    return kw


def var_stage(config: RunConfig, portfolio: object, market: object, *, backend: str, step: Callable,
              client: object = None) -> dict:  # fmt: skip
    """Every ``[[risk]]`` run: the ``var``, ``contributions`` and ``pnl`` tables and the report's pieces."""
    import polars as pl

    import riskgpu as rg

    rows, contrib, pnl, report = [], [], [], []
    c = config.cluster
    where = {} if client is None else {"client": client, "positions_per_task": c.positions_per_task,
                                       "scenarios_per_task": c.scenarios_per_task}  # fmt: skip
    for run in config.risk:
        try:
            res = rg.var(portfolio, market, backend=backend, **where, **var_options(run, config.engine.seed))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"risk run {run.name!r}: {exc}") from exc
        except RuntimeError as exc:  # a task's failure on a Dask cluster (riskgpu.distributed.run_tasks)
            raise RuntimeError(f"risk run {run.name!r}: {exc}") from exc
        s = res.summary()
        st = res.stressed
        window = st.details.get("stressed_span") if st is not None else None
        ci, eci = s["var_ci"] or (None, None), s["es_ci"] or (None, None)
        rows.append({
            "run": run.name, "method": res.method, "confidence": res.confidence, "es_confidence": res.es_confidence,
            "horizon_days": res.horizon_days, "var": res.var, "es": res.es, "var_ci_low": ci[0], "var_ci_high": ci[1],
            "es_ci_low": eci[0], "es_ci_high": eci[1], "n_scenarios": res.n_scenarios, "revaluation": res.revaluation,
            "base_value": s["base_value"], "stressed_var": None if st is None else st.var,
            "stressed_es": None if st is None else st.es, "stressed_start": None if st is None else window[0],
            "stressed_end": None if st is None else window[1],
        })  # fmt: skip
        for level in ("position", "book", "underlying"):
            f = res.contributions(level)
            col = "position_id" if level == "position" else level
            key = f[col].fill_null("(none)")
            contrib.append(
                pl.DataFrame({
                    "run": run.name, "level": level, "key": key, "component_var": f["component_var"],
                    "component_es": f["component_es"],
                    "marginal_var": f["marginal_var"] if level == "position" else pl.Series([None] * f.height),
                    "positions": f["positions"] if level != "position" else pl.Series([1] * f.height),
                }, schema_overrides={"marginal_var": pl.Float64, "positions": pl.Int64})
            )  # fmt: skip
        scen = np.zeros(0) if res.pnl is None else res.pnl  # parametric runs have no scenarios
        pnl.append(pl.DataFrame({"run": run.name, "scenario": np.arange(scen.size), "pnl": scen},
                                schema_overrides={"scenario": pl.Int64, "pnl": pl.Float64}))  # fmt: skip
        by_pos = res.contributions("position")
        top = by_pos.sort(pl.col("component_var").abs(), descending=True, maintain_order=True).head(TOP)
        report.append({
            "name": run.name, "method": res.method, "confidence": res.confidence, "es_confidence": res.es_confidence,
            "horizon_days": res.horizon_days, "var": res.var, "es": res.es, "var_ci": s["var_ci"], "es_ci": s["es_ci"],
            "n_scenarios": res.n_scenarios, "revaluation": res.revaluation,
            "stressed": None if st is None else {"var": st.var, "es": st.es, "start": window[0], "end": window[1]},
            "pnl": scen,
            "top_contributors": top.select("position_id", "book", "underlying", "component_var", "component_es")
            .to_dicts(),
            "by_book": res.contributions("book").select("book", "component_var", "component_es").to_dicts(),
        })  # fmt: skip
        step()
    sch = schemas()
    return {
        "var": pl.DataFrame(rows, schema=sch["var"]),
        "contributions": pl.concat([c.cast(sch["contributions"]) for c in contrib]) if contrib
        else pl.DataFrame(schema=sch["contributions"]),
        "pnl": pl.concat(pnl) if pnl else pl.DataFrame(schema=sch["pnl"]),
        "report": report,
    }  # fmt: skip


def stress_stage(config: RunConfig, portfolio: object, market: object, *, backend: str, client: object = None
                 ) -> dict:  # fmt: skip
    """The ``[[stress]]`` scenarios: the long ``stress`` table, totals and the report's pieces (one task on a
    worker with a Dask ``client``)."""
    import polars as pl

    import riskgpu as rg

    scenarios = [rg.StressScenario(**s.model_dump()) for s in config.stress]
    if not scenarios:
        return {"stress": pl.DataFrame(schema=schemas()["stress"]), "totals": {}, "report": []}
    if client is None:
        res = rg.stress(portfolio, market, scenarios, backend=backend)
    else:
        from riskgpu.distributed import run_tasks

        task = functools.partial(rg.stress, backend=backend)
        res = run_tasks(client, "stress", task, [(portfolio, market, scenarios)], describe=lambda _: "stress")[0]
    frame = res.frame().cast(schemas()["stress"])
    books = sorted({b for b in res.books if b is not None})
    report = []
    for i, name in enumerate(res.scenario_names):
        by_book = {b: math.fsum(res.pnl_by_position[i, [k for k, x in enumerate(res.books) if x == b]].tolist())
                   for b in books}  # fmt: skip
        report.append({"scenario": name, "pnl": float(res.pnl[i]), "by_book": by_book})
    totals = {name: float(res.pnl[i]) for i, name in enumerate(res.scenario_names)}
    return {"stress": frame, "totals": totals, "report": report}


def backtest_stage(config: RunConfig, portfolio: object, market: object, *, backend: str, step: Callable,
                   client: object = None) -> dict | None:  # fmt: skip
    """The rolling backtest, when configured: its daily table and summary (``step()`` after each day)."""
    import riskgpu as rg

    b = config.backtest
    if b is None:
        return None
    kw = {"seed": config.engine.seed} if b.method == "monte_carlo" else {}
    if client is not None:
        kw |= {"client": client, "days_per_task": config.cluster.days_per_task}
    res = rg.rolling_backtest(
        portfolio,
        market,
        method=b.method,
        window_days=b.window_days,
        start=None if b.start is None else b.start.isoformat(),
        end=None if b.end is None else b.end.isoformat(),
        confidence=b.confidence,
        backend=backend,
        on_day=step,
        **kw,
    )
    r = res.result
    summary = {
        "method": b.method, "window_days": b.window_days, "confidence": b.confidence, "observations": r.n,
        "exceptions": r.exceptions, "expected": r.expected, "kupiec_p": r.kupiec_pvalue,
        "christoffersen_p": r.christoffersen_pvalue, "traffic_light": r.traffic_light,
        "first": str(res.dates[0]) if len(res.dates) else None, "last": str(res.dates[-1]) if len(res.dates) else None,
    }  # fmt: skip
    report = {**summary, "dates": [str(d) for d in res.dates], "var": res.var, "pnl": res.pnl}
    return {"backtest": res.frame().cast(schemas()["backtest"]), "summary": summary, "report": report}
