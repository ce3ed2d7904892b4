"""The Python API on a Dask ``LocalCluster`` (2 worker processes, loopback): pricing, VaR and the rolling
backtest are bitwise the in-process results for any split into tasks (oracle: the same call without a client,
same seed and streams); misuse is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import riskgpu as rg
from riskgpu import distributed as dist

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),  # a task may kill 2 workers, not 4
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


CASES = {
    "european": (rg.European(kind="put", strike=105.0, maturity=0.5), rg.GBM(spot=100.0, vol=0.25, rate=0.02), {}),
    "asian-cv-antithetic": (
        rg.Asian(kind="call", strike=100.0, maturity=1.0, n_fixings=12),
        rg.GBM(spot=100.0, vol=0.2, rate=0.03),
        {"control_variate": True, "antithetic": True},
    ),
    "basket": (
        rg.Basket(kind="call", strike=100.0, maturity=1.0, weights=(0.5, 0.5)),
        rg.GBM(spot=(100.0, 90.0), vol=(0.2, 0.3), rate=0.01, corr=((1.0, 0.4), (0.4, 1.0))),
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("tiles_per_task", [1, 3, None, 10_000])
def test_distributed_pricing_is_bitwise_the_in_process_one(client, case, tiles_per_task):
    product, model, options = CASES[case]
    run = {"n_paths": 4_000, "seed": 11, "backend": "cpu", "stream": 5, **options}
    local = rg.price(product, model, **run)
    remote = rg.price(product, model, client=client, tiles_per_task=tiles_per_task, **run)
    assert (remote.value, remote.stderr, remote.beta) == (local.value, local.stderr, local.beta)


def test_distributed_options_that_do_not_apply_are_errors(client):
    product, model, _ = CASES["european"]
    with pytest.raises(ValueError, match="tiles_per_task"):
        rg.price(product, model, n_paths=1000, seed=1, tiles_per_task=2)
    with pytest.raises(ValueError, match=r"tiles_per_task must be an integer >= 1"):
        rg.price(product, model, n_paths=1000, seed=1, backend="cpu", client=client, tiles_per_task=0)
    with pytest.raises(ValueError, match="tolerance"):
        rg.price(product, model, n_paths=1000, seed=1, backend="cpu", client=client, tolerance=0.1)
    american = rg.American(kind="put", strike=100.0, maturity=1.0)
    with pytest.raises(ValueError, match="tiles_per_task"):
        rg.price(american, model, n_paths=1000, seed=1, backend="cpu", client=client, tiles_per_task=2)


def test_an_american_is_one_task_with_the_in_process_result(client):
    american = rg.American(kind="put", strike=100.0, maturity=1.0, n_exercise=20)
    model = rg.GBM(spot=95.0, vol=0.3, rate=0.03)
    run = {"n_paths": 4000, "pilot_paths": 2000, "seed": 3, "backend": "cpu", "stream": 9}
    local = rg.price(american, model, **run)
    remote = rg.price(american, model, client=client, **run)
    assert (remote.value, remote.stderr, remote.in_sample) == (local.value, local.stderr, local.in_sample)


ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def book():
    """Two positions of every instrument of the demo book (Americans, baskets and seasoned exotics included)."""
    market = rg.Market.read(DEMO / "market")
    frame = pl.read_csv(DEMO / "portfolio.csv", infer_schema_length=0)
    ids = frame.group_by("instrument", maintain_order=True).head(2)["position_id"].to_list()
    return rg.Portfolio.read(DEMO / "portfolio.csv").subset(ids), market


def same_var(a, b) -> None:
    """Every number of two VaRResults, bitwise (the stressed figures too)."""
    assert (a.var, a.es, a.var_ci, a.es_ci) == (b.var, b.es, b.var_ci, b.es_ci)
    for name in ("base_values", "pnl", "pnl_by_position", "component_var", "component_es", "marginal_var"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or np.array_equal(x, y), name
    assert a.details.get("nested_bias") == b.details.get("nested_bias")
    if a.stressed is not None or b.stressed is not None:
        same_var(a.stressed, b.stressed)


VAR_RUNS = {
    "historical": {"method": "historical", "lookback_days": 300, "stressed": ("2024-03-01", "2024-09-30")},
    "monte_carlo": {"method": "monte_carlo", "n_scenarios": 1000, "returns": "student_t", "dof": 5.0, "seed": 4},
    "nested": {"method": "monte_carlo", "n_scenarios": 12, "revaluation": "nested", "inner_paths": 128, "seed": 2},
}
#: (positions_per_task, scenarios_per_task): the default split, small blocks of both (about 20 tasks; one
#: position per task for historical), one task holding everything
SPLITS = {
    "historical": [(None, None), (1, 101), (50, 10_000)],
    "monte_carlo": [(None, None), (4, 101), (50, 10_000)],
    "nested": [(None, None), (4, 5), (50, 10_000)],
}


@pytest.fixture(scope="module")
def in_process_var(book):
    """Each VaR run in this process, once (the oracle of every split)."""
    portfolio, market = book
    return {run: rg.var(portfolio, market, backend="cpu", confidence=0.99, **kw) for run, kw in VAR_RUNS.items()}


@pytest.mark.parametrize(
    ("run", "split"), [pytest.param(r, s, id=f"{r}-{s[0]}x{s[1]}") for r in sorted(SPLITS) for s in SPLITS[r]]
)
def test_var_on_the_cluster_is_bitwise_the_in_process_var(client, book, in_process_var, run, split):
    portfolio, market = book
    kw = {"backend": "cpu", "confidence": 0.99, **VAR_RUNS[run]}
    positions, scenarios = split
    local = in_process_var[run]
    remote = rg.var(portfolio, market, client=client, positions_per_task=positions, scenarios_per_task=scenarios, **kw)
    same_var(remote, local)


@pytest.mark.parametrize("kw", [{"method": "parametric"}, {"method": "historical", "revaluation": "greeks"}])
def test_sensitivity_methods_take_a_client_and_give_the_same_numbers(client, book, kw):
    portfolio, market = book
    local = rg.var(portfolio, market, backend="cpu", **kw)
    same_var(rg.var(portfolio, market, backend="cpu", client=client, **kw), local)


@pytest.mark.parametrize("kw", [{"method": "parametric"}, {"method": "historical"}])
def test_with_a_client_nothing_is_revalued_in_the_calling_process(client, monkeypatch, kw):
    """GPU workers driven from a machine without one: the driver's gpu grid is broken here, the workers' (the
    simulator) runs every revaluation, today's values and sensitivities included."""
    from riskgpu.risk import grid

    market = rg.Market.read(DEMO / "market")
    frame = pl.read_csv(DEMO / "portfolio.csv", infer_schema_length=0)
    ids = frame.filter(pl.col("instrument") == "european").head(2)["position_id"].to_list()
    portfolio = rg.Portfolio.read(DEMO / "portfolio.csv").subset(ids)
    local = rg.var(portfolio, market, backend="gpu", lookback_days=60, **kw) if kw["method"] == "historical" else \
        rg.var(portfolio, market, backend="gpu", **kw)  # fmt: skip

    def no_gpu_here(*args, **kwargs):
        raise AssertionError("revalued in the calling process")

    monkeypatch.setattr(grid, "_revalue_gpu", no_gpu_here)
    extra = {"lookback_days": 60} if kw["method"] == "historical" else {}
    same_var(rg.var(portfolio, market, backend="gpu", client=client, **extra, **kw), local)


@pytest.mark.parametrize("days_per_task", [None, 1, 7])
@pytest.mark.parametrize("method", ["historical", "monte_carlo"])
def test_rolling_backtest_on_the_cluster_is_bitwise_in_process(client, book, method, days_per_task):
    portfolio, market = book
    kw = {"method": method, "window_days": 250, "start": "2026-09-01", "backend": "cpu"}
    if method == "monte_carlo":
        kw["n_scenarios"] = 500
    local = rg.rolling_backtest(portfolio, market, **kw)
    seen = []
    remote = rg.rolling_backtest(portfolio, market, client=client, days_per_task=days_per_task,
                                 on_day=lambda: seen.append(1), **kw)  # fmt: skip
    assert np.array_equal(remote.var, local.var) and np.array_equal(remote.pnl, local.pnl)
    assert remote.frame().equals(local.frame())
    r, q = remote.result, local.result
    assert (r.exceptions, r.kupiec_pvalue, r.traffic_light) == (q.exceptions, q.kupiec_pvalue, q.traffic_light)
    assert len(seen) == len(local.dates)  # progress: once per day


@pytest.mark.parametrize("positions_per_task", [None, 1, 4])
def test_price_portfolio_on_the_cluster_is_the_in_process_frame(client, book, positions_per_task):
    portfolio, market = book
    kw = {"n_paths": 1000, "seed": 5, "backend": "cpu", "greeks": ("delta", "vega"), "control_variate": True}
    local = rg.price_portfolio(portfolio, market, **kw)
    remote = rg.price_portfolio(portfolio, market, client=client, positions_per_task=positions_per_task, **kw)
    assert remote.equals(local) and remote.height == len(portfolio)


def test_batch_sizes_without_a_client_or_below_one_are_errors(client, book):
    portfolio, market = book
    with pytest.raises(ValueError, match=r"var.positions_per_task=3 applies only with a Dask client"):
        rg.var(portfolio, market, method="historical", backend="cpu", positions_per_task=3)
    with pytest.raises(ValueError, match=r"var.scenarios_per_task must be an integer >= 1, got 0"):
        rg.var(portfolio, market, method="historical", backend="cpu", client=client, scenarios_per_task=0)
    with pytest.raises(ValueError, match=r"price_portfolio.positions_per_task=2 applies only with a Dask client"):
        rg.price_portfolio(portfolio, market, n_paths=100, seed=1, positions_per_task=2)
    with pytest.raises(ValueError, match=r"^price_portfolio.positions_per_task must be an integer >= 1, got 0"):
        rg.price_portfolio(portfolio, market, n_paths=100, seed=1, backend="cpu", client=client, positions_per_task=0)
    with pytest.raises(ValueError, match=r"days_per_task=2 applies only with a Dask client"):
        rg.rolling_backtest(portfolio, market, backend="cpu", days_per_task=2)
    with pytest.raises(ValueError, match=r"rolling_backtest.days_per_task must be an integer >= 1, got True"):
        rg.rolling_backtest(portfolio, market, backend="cpu", client=client, days_per_task=True)


def test_positions_blocks_keep_order_and_put_each_american_alone(book):
    from riskgpu.risk.book import resolve_book

    b = resolve_book(*book)
    lsm = {p for p, x in enumerate(b.products) if getattr(x, "lsm", False)}
    assert lsm  # the demo slice holds Americans
    for size in (1, 3, 100):
        blocks = dist.position_blocks(b, size, lsm_alone=True)
        assert [p for blk in blocks for p in blk] == list(range(b.n_positions))
        assert all(len(blk) <= size for blk in blocks)
        assert all(blk == [p] for blk in blocks for p in blk if p in lsm)
    assert dist.blocks(10, 4) == [(0, 4), (4, 8), (8, 10)] and dist.blocks(0, 3) == []


def test_a_task_error_names_what_the_task_held(client):
    def boom(x):
        if x == 2:
            raise ZeroDivisionError("bad data")
        if x == 3:
            raise KeyError("a bug")
        return x

    assert dist.run_tasks(client, "t", boom, [(0,), (1,)], describe=lambda i: f"item {i}") == [0, 1]
    with pytest.raises(ValueError, match=r"^item 2: bad data$"):
        dist.run_tasks(client, "t", boom, [(0,), (1,), (2,)], describe=lambda i: f"item {i}")
    with pytest.raises(RuntimeError, match=r"^item 1: KeyError: 'a bug'$"):
        dist.run_tasks(client, "t", boom, [(0,), (3,)], describe=lambda i: f"item {i}")


def _workers_without_gpu(on: bool) -> None:
    from riskgpu.backends import gpu

    if on:
        gpu.real_status, gpu.status = gpu.status, lambda: (False, "no CUDA device")
    else:
        gpu.status = gpu.real_status


def test_numba_runs_one_thread_per_one_thread_worker(client):
    def threads(_):
        import numba

        return numba.get_num_threads()

    assert dist.run_tasks(client, "threads", threads, [(0,), (1,)], describe=str) == [1, 1]


def test_the_backend_is_resolved_on_the_workers(client):
    assert dist.resolve_backend(client, "auto") == "cpu"  # the simulator is no real device
    assert dist.resolve_backend(client, "gpu") == "gpu"  # (the simulator)
    client.run(_workers_without_gpu, True)
    try:
        with pytest.raises(rg.BackendUnavailableError, match=r"^worker tcp://127\.0\.0\.1:\d+: backend 'gpu' is not"):
            dist.resolve_backend(client, "gpu")
    finally:
        client.run(_workers_without_gpu, False)


def test_a_task_that_kills_its_workers_stops_the_call_naming_it_never_hangs(client):
    """(Last in this file: its workers restart.) A worker lost once is survived (tests/test_runner_distributed.py);
    a task that kills every worker it lands on ends as ``KilledWorker`` after ``allowed-failures``."""
    import os

    def die(i):
        os._exit(3)

    with pytest.raises(RuntimeError, match=r"^item 0: KilledWorker: "):
        dist.run_tasks(client, "die", die, [(0,)], describe=lambda i: f"item {i}")
    client.wait_for_workers(2, timeout=60)  # the nannies restart them
