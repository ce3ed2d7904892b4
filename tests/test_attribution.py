"""Contributions, marginal and incremental VaR, stressed VaR and the rolling backtest (issue 6).

Oracles: the totals (components sum to VaR/ES); finite differences of rg.var in a position's quantity;
VaR(with) - VaR(without); rg.var on a market whose history is cut to the stressed window; a rolling
historical VaR and hypothetical P&L recomputed here with numpy and scipy's Black-Scholes.
"""

import datetime as dt
import math
import warnings

import numpy as np
import polars as pl
import pytest
from test_var import (
    ASOF,
    DIVS,
    EUROPEANS,
    HISTORY,
    LINEAR,
    LONG_STRADDLE,
    MIXED,
    NAMES,
    RATE,
    VOLS,
    book,
    market,
)

import riskgpu as rg
from riskgpu.analytic import bs_price
from riskgpu.risk.stats import rank

RUNS = {
    "historical": {"method": "historical"},
    "mc_full": {"method": "monte_carlo", "n_scenarios": 2000, "seed": 3},
    "mc_greeks": {"method": "monte_carlo", "n_scenarios": 2000, "revaluation": "greeks"},
    "mc_student_t": {"method": "monte_carlo", "n_scenarios": 2000, "returns": "student_t", "dof": 4.0},
    "delta_normal": {"method": "parametric"},
    "delta_gamma": {"method": "parametric", "approximation": "delta_gamma"},
}


@pytest.mark.parametrize("run", list(RUNS))
def test_contributions_sum_to_the_totals(run):
    res = rg.var(book(MIXED), market(), backend="cpu", es_confidence=0.975, **RUNS[run])
    for by in ("position", "underlying", "book"):
        frame = res.contributions(by=by)
        assert math.fsum(frame["component_var"].to_list()) == pytest.approx(res.var, rel=1e-10, abs=1e-9)
        assert math.fsum(frame["component_es"].to_list()) == pytest.approx(res.es, rel=1e-10, abs=1e-9)
    by_pos = res.contributions()
    assert by_pos["position_id"].to_list() == sorted(r["position_id"] for r in MIXED)
    assert set(res.contributions(by="book")["book"].to_list()) == {"(none)"}
    if res.pnl is not None:  # simulation: each component is the position's loss in the VaR scenario
        s = res.details["var_scenario"]
        np.testing.assert_array_equal(by_pos["component_var"].to_numpy(), -res.pnl_by_position[s])


def test_contributions_of_a_simulated_delta_gamma():
    with pytest.warns(UserWarning, match="Cornish-Fisher"):
        res = rg.var(book(LONG_STRADDLE), market(), method="parametric", approximation="delta_gamma", backend="cpu")
    assert res.details["quantile"] == "simulated"
    assert math.fsum(res.component_var.tolist()) == pytest.approx(res.var, rel=1e-9)
    assert math.fsum(res.component_es.tolist()) == pytest.approx(res.es, rel=1e-9)


def _with_quantity(records, pid, factor):
    return rg.Portfolio.from_records(
        [dict(r, quantity=r["quantity"] * factor) if r["position_id"] == pid else r for r in records]
    )


@pytest.mark.parametrize("run", ["mc_full", "historical", "delta_normal", "delta_gamma"])
@pytest.mark.parametrize("pid", ["E1", "S2", "K1"])
def test_marginal_var_is_the_derivative_in_position_size(run, pid):
    kw = {"backend": "cpu", **RUNS[run]}
    res = rg.var(book(MIXED), market(), **kw)
    eps = 1e-6
    up = rg.var(_with_quantity(MIXED, pid, 1 + eps), market(), **kw).var
    dn = rg.var(_with_quantity(MIXED, pid, 1 - eps), market(), **kw).var
    q = next(r["quantity"] for r in MIXED if r["position_id"] == pid)
    fd = (up - dn) / (2 * eps * q)
    marginal = res.marginal_var[res.position_ids.index(pid)]
    assert marginal == pytest.approx(fd, rel=1e-5, abs=1e-9 * res.var)


@pytest.mark.parametrize("pid", ["E1", "K1", "M1"])
def test_delta_gamma_component_es_is_the_euler_derivative(pid):
    """Skew and kurtosis do not change when every quantity scales, so only a derivative in one position's
    size checks their terms of the ES gradient."""
    kw = {"method": "parametric", "approximation": "delta_gamma", "es_confidence": 0.975, "backend": "cpu"}
    res = rg.var(book(MIXED), market(), **kw)
    eps = 1e-6
    up = rg.var(_with_quantity(MIXED, pid, 1 + eps), market(), **kw).es
    dn = rg.var(_with_quantity(MIXED, pid, 1 - eps), market(), **kw).es
    q = next(r["quantity"] for r in MIXED if r["position_id"] == pid)
    p = res.position_ids.index(pid)
    assert res.component_es[p] == pytest.approx(q * (up - dn) / (2 * eps * q), rel=1e-5, abs=1e-9 * res.es)


def test_incremental_var_draws_the_union_of_underlyings():
    """A negligible trade on an underlying the book does not hold changes VaR by about nothing, because both
    runs draw the same scenarios for the book's underlyings."""
    kw = {"method": "monte_carlo", "n_scenarios": 2000, "seed": 5, "backend": "cpu"}
    bc = [r for r in MIXED if r["underlying"] in ("BBB", "CCC")]
    tiny = {"position_id": "T", "instrument": "spot", "underlying": "AAA", "quantity": 1e-9}
    inc = rg.incremental_var(book(bc), market(), tiny, **kw)
    assert abs(inc.incremental_var) <= 1e-9 * 100.0 * 10  # the trade is worth 1e-7


def test_incremental_var_of_a_position_and_a_trade():
    kw = {"method": "monte_carlo", "n_scenarios": 1000, "seed": 2, "backend": "cpu"}
    full = rg.var(book(MIXED), market(), **kw)
    inc = rg.incremental_var(book(MIXED), market(), "E1", **kw)  # AAA stays in the book without E1
    without = rg.var(book([r for r in MIXED if r["position_id"] != "E1"]), market(), **kw)
    assert inc.var_with == full.var and inc.var_without == without.var
    assert inc.incremental_var == full.var - without.var
    assert inc.incremental_es == full.es - without.es
    trade = {"position_id": "T1", "instrument": "european", "underlying": "AAA", "quantity": -40.0, "strike": 95.0,
             "maturity": 0.5, "kind": "put"}  # fmt: skip
    inc = rg.incremental_var(book(LINEAR), market(), trade, **kw)
    assert inc.var_with == rg.var(book([*LINEAR, trade]), market(), **kw).var
    assert inc.var_without == rg.var(book(LINEAR), market(), **kw).var
    assert inc.incremental_var == inc.var_with - inc.var_without


def test_incremental_var_errors():
    kw = {"method": "historical", "backend": "cpu"}
    with pytest.raises(ValueError, match="not in the portfolio"):
        rg.incremental_var(book(LINEAR), market(), "ZZ", **kw)
    with pytest.raises(ValueError, match="already in the portfolio"):
        rg.incremental_var(book(LINEAR), market(), LINEAR[0], **kw)
    with pytest.raises(ValueError, match="method= is required"):
        rg.incremental_var(book(LINEAR), market(), "S1")
    with pytest.raises(TypeError, match="trade must be"):
        rg.incremental_var(book(LINEAR), market(), 42, **kw)


def _cut_market(start, end):
    d0, d1 = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return market(history=HISTORY.filter((pl.col("date") >= d0) & (pl.col("date") <= d1)))


@pytest.mark.parametrize(
    "kw",
    [
        {"method": "historical"},
        {"method": "parametric"},
        {"method": "monte_carlo", "n_scenarios": 500},
    ],
)
def test_stressed_var_equals_a_run_on_the_window(kw):
    window = ("2025-10-01", "2026-03-31")
    res = rg.var(book(MIXED), market(), backend="cpu", stressed=window, **kw)
    cut = dict(kw) if kw["method"] == "historical" else {**kw, "covariance": "sample"}
    want = rg.var(book(MIXED), _cut_market(*window), backend="cpu", **cut)
    assert res.stressed.var == want.var and res.stressed.es == want.es
    assert res.stressed.details["stressed_window"] == window
    assert res.var == rg.var(book(MIXED), market(), backend="cpu", **kw).var  # the current figure beside it
    assert res.summary()["stressed"]["var"] == want.var


def test_stressed_errors():
    with pytest.raises(ValueError, match="after its end"):
        rg.var(book(LINEAR), market(), method="historical", stressed=("2026-01-01", "2025-01-01"))
    with pytest.raises(ValueError, match="ISO dates"):
        rg.var(book(LINEAR), market(), method="historical", stressed=("2026-01-01",))
    for bad in ("2026-03", "today", 2025, ""):
        with pytest.raises(ValueError, match="must be a date YYYY-MM-DD"):
            rg.var(book(LINEAR), market(), method="historical", stressed=(bad, "2026-06-30"))
    with pytest.warns(UserWarning, match="runs outside the history"):
        res = rg.var(book(LINEAR), market(), method="historical", stressed=("2026-03-01", "2099-01-01"))
    assert res.stressed.details["stressed_span"][1] == str(ASOF)
    with pytest.raises(ValueError, match="dates in that window"):
        rg.var(book(LINEAR), market(), method="historical", stressed=("2008-09-01", "2009-08-31"))
    with pytest.raises(ValueError, match="not 'market'"):
        rg.var(book(LINEAR), market(), method="parametric", covariance="market", stressed=("2025-10-01", "2026-03-31"))


def test_rolling_backtest_against_an_independent_recount():
    records = LINEAR + EUROPEANS
    window, start = 60, "2026-06-01"
    res = rg.rolling_backtest(book(records), market(), method="historical", window_days=window, start=start,
                              backend="cpu")  # fmt: skip
    closes = HISTORY.pivot(on="underlying", index="date", values="close").sort("date")
    dates = closes["date"].to_list()
    px = closes.select(NAMES).to_numpy()
    tau = 1 / 252

    def value(spots, years):  # the book at these spots, every maturity shortened by `years`
        total = 0.0
        for r in records:
            j = NAMES.index(r["underlying"])
            if r["instrument"] == "spot":
                total += r["quantity"] * spots[j]
                continue
            mat = r["maturity"]
            mat = (dt.date.fromisoformat(mat) - ASOF).days / 365 if isinstance(mat, str) else mat
            u = r["underlying"]
            total += r["quantity"] * bs_price(kind=r["kind"], spot=spots[j], strike=r["strike"], maturity=mat - years,
                                              vol=VOLS[u], rate=RATE, div=DIVS[u])  # fmt: skip
        return total

    want_var, want_pnl = [], []
    for d in range(window + 1, len(dates)):
        if dates[d] < dt.date.fromisoformat(start):
            continue
        t = d - 1
        base = value(px[t], 0.0)
        want_pnl.append(value(px[d], tau) - base)
        r = np.diff(np.log(px[t - window : t + 1]), axis=0)
        losses = sorted(-(value(px[t] * np.exp(ri), tau) - base) for ri in r)
        want_var.append(losses[rank(0.99, len(losses)) - 1])
    assert len(res.var) == len(want_var) > 50
    np.testing.assert_allclose(res.var, want_var, rtol=1e-9)
    np.testing.assert_allclose(res.pnl, want_pnl, rtol=1e-9, atol=1e-9)
    exceptions = sum(-p > v for p, v in zip(want_pnl, want_var, strict=True))
    assert res.result.exceptions == exceptions
    assert res.result.n == len(want_var)
    assert res.frame()["exception"].sum() == exceptions


@pytest.mark.parametrize("method", ["parametric", "monte_carlo"])
def test_rolling_backtest_other_methods_against_rg_var_on_the_window(method):
    """Each forecast equals rg.var at that day's closes with the history cut to the window before it."""
    window = 40
    extra = {"n_scenarios": 500, "seed": 3} if method == "monte_carlo" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rg.rolling_backtest(book(LINEAR), market(), method=method, window_days=window, start="2026-10-01",
                                  backend="cpu", **extra)  # fmt: skip
    assert np.all(res.var > 0) and res.result.n == len(res.pnl)
    closes = HISTORY.pivot(on="underlying", index="date", values="close").sort("date")
    dates = closes["date"].to_list()
    for i in (0, len(res.var) - 1):
        d = dates.index(res.dates[i].astype(object))
        t = d - 1
        cut = HISTORY.filter((pl.col("date") >= dates[t - window]) & (pl.col("date") <= dates[t]))
        spots = dict(zip(NAMES, closes.select(NAMES).row(t), strict=True))
        day = market(history=cut, spots=spots)
        want = rg.var(book(LINEAR), day, method=method, covariance="sample", backend="cpu", **extra)
        assert res.var[i] == pytest.approx(want.var, rel=1e-12)


def test_rolling_backtest_errors():
    with pytest.raises(ValueError, match="no P&L day"):
        rg.rolling_backtest(book(LINEAR), market(), window_days=5000)
    with pytest.raises(ValueError, match="method must be one of"):
        rg.rolling_backtest(book(LINEAR), market(), method="hist")
    with pytest.raises(ValueError, match="apply only to method='monte_carlo'"):
        rg.rolling_backtest(book(LINEAR), market(), n_scenarios=100)
    with pytest.raises(ValueError, match="start must be a date YYYY-MM-DD"):
        rg.rolling_backtest(book(LINEAR), market(), start="2026-03")
    with pytest.raises(ValueError, match="is after end"):
        rg.rolling_backtest(book(LINEAR), market(), start="2026-06-01", end="2026-01-01")
    with pytest.raises(ValueError, match=r"VaR forecast for .* is negative"):
        rg.rolling_backtest(book(LINEAR), market(), window_days=40, start="2026-10-01", confidence=0.3)


def test_contributions_of_nested_revaluation_sum_to_the_totals():
    res = rg.var(book(EUROPEANS), market(), method="monte_carlo", n_scenarios=50, revaluation="nested",
                 inner_paths=256, backend="cpu")  # fmt: skip
    assert math.fsum(res.component_var.tolist()) == pytest.approx(res.var, rel=1e-12)
    assert math.fsum(res.component_es.tolist()) == pytest.approx(res.es, rel=1e-12)


def test_rolling_backtest_of_the_demo_book():
    """The shipped demo book (every instrument type) over the first half of 2025: the exceptions of the series
    recounted here (and there are some: the count is not vacuous). The whole history runs in the nightly
    demo run (tests/test_runner.py)."""
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    portfolio, mkt = rg.Portfolio.read(demo / "portfolio.csv"), rg.Market.read(demo / "market")
    res = rg.rolling_backtest(portfolio, mkt, window_days=250, start="2025-01-01", end="2025-06-30", backend="cpu")
    assert res.result.n == len(res.var) == len(res.pnl) > 100
    days = [i for i in range(len(res.var)) if -res.pnl[i] > res.var[i]]
    assert len(days) > 0 and res.result.exceptions == len(days)
    assert list(res.result.exception_days) == days
    assert np.all(res.var > 0) and np.all(np.isfinite(res.pnl))


def test_group_labels_of_the_demo_book():
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    portfolio, mkt = rg.Portfolio.read(demo / "portfolio.csv"), rg.Market.read(demo / "market")
    res = rg.var(portfolio, mkt, method="historical", backend="cpu")
    comp = dict(zip(res.position_ids, res.component_var, strict=True))
    for by, key in (("book", lambda p: p.book), ("underlying", lambda p: "|".join(p.underlyings))):
        want = {}
        for p in portfolio.positions:
            want.setdefault(key(p), []).append(comp[p.position_id])
        frame = res.contributions(by=by)
        got = dict(zip(frame[by].to_list(), frame["component_var"].to_list(), strict=True))
        assert got == pytest.approx({k: math.fsum(v) for k, v in want.items()}, rel=1e-12, abs=1e-9)
    assert set(res.contributions(by="book")["book"].to_list()) == {"delta_one", "vol"}
