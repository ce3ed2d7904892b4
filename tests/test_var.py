"""Portfolio VaR/ES (rg.var) against closed forms, independent order statistics and the reference backend.

Oracles: ``z sqrt(w'Cw h/252)`` for linear books; the exact lognormal quantile of a single stock position;
Black-Scholes revaluation computed here with scipy for historical VaR; the closed forms for nested and
delta-gamma revaluation; the reference backend (and the gpu simulator) for the grid.
"""

import dataclasses
import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from conftest import k_sigma
from scipy import stats as st

import riskgpu as rg
from riskgpu.analytic import bs_greeks, bs_price
from riskgpu.risk.stats import rank, var_interval
from riskgpu.risk.streams import position_stream

ASOF = dt.date(2026, 11, 20)
NAMES = ("AAA", "BBB", "CCC")
SPOTS = {"AAA": 100.0, "BBB": 50.0, "CCC": 200.0}
VOLS = {"AAA": 0.2, "BBB": 0.35, "CCC": 0.25}
DIVS = {"AAA": 0.01, "BBB": 0.0, "CCC": 0.02}
CORR = np.array([[1.0, 0.4, 0.2], [0.4, 1.0, 0.5], [0.2, 0.5, 1.0]])
RATE = 0.03


def _history(n_days=400, seed=4):
    rng = np.random.default_rng(seed)
    vols = np.array([VOLS[n] for n in NAMES])
    r = rng.standard_normal((n_days, 3)) @ np.linalg.cholesky(CORR).T * vols / math.sqrt(252)
    logs = np.log([SPOTS[n] for n in NAMES]) - np.vstack([np.cumsum(r[::-1], axis=0)[::-1], np.zeros(3)])
    days = np.busday_offset(np.datetime64(ASOF), -np.arange(n_days + 1)[::-1], roll="backward")
    rows = [
        {"date": d.astype(dt.date), "underlying": n, "close": float(np.exp(logs[i, j]))}
        for i, d in enumerate(days)
        for j, n in enumerate(NAMES)
    ]
    return pl.DataFrame(rows)


HISTORY = _history()


def market(**kw):
    args = {"asof": ASOF, "spots": SPOTS, "vols": VOLS, "rate": RATE, "divs": DIVS, "corr": CORR, "history": HISTORY}
    args.update(kw)
    return rg.Market(**args)


def book(records):
    return rg.Portfolio.from_records(records)


LINEAR = [
    {"position_id": "S1", "instrument": "spot", "underlying": "AAA", "quantity": 100.0},
    {"position_id": "S2", "instrument": "spot", "underlying": "BBB", "quantity": -250.0},
    {"position_id": "S3", "instrument": "spot", "underlying": "CCC", "quantity": 40.0},
]
EUROPEANS = [
    {"position_id": "E1", "instrument": "european", "underlying": "AAA", "quantity": 10.0, "strike": 105.0,
     "maturity": 0.5, "kind": "call"},
    {"position_id": "E2", "instrument": "european", "underlying": "BBB", "quantity": -20.0, "strike": 45.0,
     "maturity": 1.0, "kind": "put"},
    {"position_id": "E3", "instrument": "european", "underlying": "CCC", "quantity": 5.0, "strike": 200.0,
     "maturity": "2027-05-20", "kind": "call"},
]  # fmt: skip
MIXED = [
    *LINEAR,
    *EUROPEANS,
    {"position_id": "F1", "instrument": "forward", "underlying": "CCC", "quantity": -3.0, "strike": 190.0,
     "maturity": 0.75},
    {"position_id": "D1", "instrument": "digital", "underlying": "AAA", "quantity": 50.0, "strike": 100.0,
     "maturity": 0.25, "kind": "call", "payout": 10.0},
    {"position_id": "A1", "instrument": "asian", "underlying": "BBB", "quantity": 30.0, "strike": 50.0,
     "maturity": 1.0, "kind": "call", "n_fixings": 12, "average": "arithmetic", "past_fixings": 2,
     "past_average": 48.0},
    {"position_id": "B1", "instrument": "barrier", "underlying": "AAA", "quantity": 15.0, "strike": 100.0,
     "maturity": 0.5, "kind": "call", "barrier": 120.0, "direction": "up", "knock": "out", "rebate": 1.0},
    {"position_id": "L1", "instrument": "lookback", "underlying": "CCC", "quantity": 2.0, "maturity": 0.5,
     "kind": "put", "running_max": 210.0, "running_min": 190.0},
    {"position_id": "K1", "instrument": "basket", "underlying": ["AAA", "BBB", "CCC"], "weights": [0.3, 0.5, 0.2],
     "quantity": 8.0, "strike": 95.0, "maturity": 1.0, "kind": "call"},
    {"position_id": "M1", "instrument": "american", "underlying": "BBB", "quantity": 25.0, "strike": 52.0,
     "maturity": 0.5, "kind": "put"},
]  # fmt: skip


def _dollar_w(records):
    return np.array([sum(r["quantity"] * SPOTS[n] for r in records if r["underlying"] == n) for n in NAMES])


# ---------------------------------------------------------------- linear books: parametric in closed form
@pytest.mark.parametrize("h", [1, 10])
@pytest.mark.parametrize("a", [0.99, 0.975])
def test_delta_normal_linear_book_closed_form(h, a):
    res = rg.var(book(LINEAR), market(), method="parametric", confidence=a, horizon_days=h, backend="cpu")
    w = _dollar_w(LINEAR)
    cov = CORR * np.outer(list(VOLS.values()), list(VOLS.values()))
    want = st.norm.ppf(a) * math.sqrt(w @ cov @ w * h / 252)
    assert res.var == pytest.approx(want, rel=1e-12)
    assert res.es == pytest.approx(want / st.norm.ppf(a) * st.norm.pdf(st.norm.ppf(a)) / (1 - a), rel=1e-12)
    assert res.es >= res.var


@pytest.mark.parametrize("source", ["sample", "ewma"])
def test_delta_normal_with_history_covariance(source):
    closes = HISTORY.pivot(on="underlying", index="date", values="close").sort("date").select(NAMES).to_numpy()
    r = np.diff(np.log(closes), axis=0)[-250:]
    if source == "sample":
        cov = np.cov(r.T) * 252
        kw = {}
    else:
        wts = 0.97 ** np.arange(len(r))[::-1]
        cov = (r * (wts / wts.sum())[:, None]).T @ r * 252
        kw = {"ewma_decay": 0.97}
    res = rg.var(book(LINEAR), market(), method="parametric", covariance=source, lookback_days=250, backend="cpu", **kw)
    w = _dollar_w(LINEAR)
    assert res.var == pytest.approx(st.norm.ppf(0.99) * math.sqrt(w @ cov @ w / 252), rel=1e-12)


def test_delta_normal_with_forwards_and_no_time_decay_in_it():
    fwd = [
        *LINEAR,
        {"position_id": "F1", "instrument": "forward", "underlying": "AAA", "quantity": -70.0, "strike": 300.0,
         "maturity": 1.5},
        {"position_id": "F2", "instrument": "forward", "underlying": "CCC", "quantity": 25.0, "strike": 190.0,
         "maturity": "2027-08-20"},
    ]  # fmt: skip
    res = rg.var(book(fwd), market(), method="parametric", horizon_days=10, backend="cpu")
    w = _dollar_w(LINEAR)
    w[0] += -70.0 * SPOTS["AAA"] * math.exp(-DIVS["AAA"] * 1.5)
    w[2] += 25.0 * SPOTS["CCC"] * math.exp(-DIVS["CCC"] * (dt.date(2027, 8, 20) - ASOF).days / 365)
    cov = CORR * np.outer(list(VOLS.values()), list(VOLS.values()))
    assert res.var == pytest.approx(st.norm.ppf(0.99) * math.sqrt(w @ cov @ w * 10 / 252), rel=1e-12)
    assert res.details["theta"] != 0.0  # the forwards' carry over the horizon, reported beside VaR


def test_delta_normal_scales_with_sqrt_horizon():
    one = rg.var(book(LINEAR), market(), method="parametric", horizon_days=1, backend="cpu").var
    ten = rg.var(book(LINEAR), market(), method="parametric", horizon_days=10, backend="cpu").var
    assert ten == pytest.approx(math.sqrt(10) * one, rel=1e-13)


def test_mc_normal_converges_to_delta_normal():
    n, a = 200_000, 0.99
    res = rg.var(book(LINEAR), market(), method="monte_carlo", returns="normal", n_scenarios=n, seed=7, backend="cpu")
    param = rg.var(book(LINEAR), market(), method="parametric", backend="cpu").var
    sd = param / st.norm.ppf(a)
    se = math.sqrt(a * (1 - a) / n) / st.norm.pdf(st.norm.ppf(a)) * sd  # asymptotic sd of the sample quantile
    assert abs(res.var - param) <= k_sigma(2) * se
    lo, hi = res.var_ci  # the order-statistic interval is about 2 * 1.96 sample-quantile standard errors wide
    assert 3.0 * se <= hi - lo <= 5.0 * se


def test_mc_lognormal_single_stock_exact_quantile():
    n, a, h, q = 200_000, 0.99, 10, 1000.0
    one = book([{"position_id": "S", "instrument": "spot", "underlying": "AAA", "quantity": q}])
    res = rg.var(one, market(), method="monte_carlo", n_scenarios=n, horizon_days=h, seed=3, backend="cpu")
    s, sig = SPOTS["AAA"] * q, VOLS["AAA"] * math.sqrt(h / 252)
    z = st.norm.ppf(a)
    want = s * (1.0 - math.exp(-z * sig - 0.5 * sig * sig))
    dens = st.norm.pdf(z) / (s * math.exp(-z * sig - 0.5 * sig * sig) * sig)  # loss density at the quantile
    se = math.sqrt(a * (1 - a) / n) / dens
    assert abs(res.var - want) <= k_sigma(1) * se


SHORT_GAMMA = [
    {
        "position_id": "O1",
        "instrument": "european",
        "underlying": "AAA",
        "quantity": -100.0,
        "strike": 100.0,
        "maturity": 0.25,
        "kind": "call",
    },
    {
        "position_id": "O2",
        "instrument": "european",
        "underlying": "BBB",
        "quantity": -200.0,
        "strike": 50.0,
        "maturity": 0.5,
        "kind": "put",
    },
    {
        "position_id": "K1",
        "instrument": "basket",
        "underlying": ["AAA", "BBB", "CCC"],
        "weights": [0.3, 0.5, 0.2],
        "quantity": -50.0,
        "strike": 95.0,
        "maturity": 1.0,
        "kind": "call",
    },
]
LONG_STRADDLE = [
    {"position_id": "L1", "instrument": "european", "underlying": "AAA", "quantity": 100.0, "strike": 100.0,
     "maturity": 0.03, "kind": "call"},
    {"position_id": "L2", "instrument": "european", "underlying": "AAA", "quantity": 100.0, "strike": 100.0,
     "maturity": 0.03, "kind": "put"},
]  # fmt: skip


@pytest.mark.parametrize(("records", "quantile"), [(SHORT_GAMMA, "cornish_fisher"), (LONG_STRADDLE, "simulated")])
@pytest.mark.parametrize("h", [1, 10])
def test_delta_gamma_against_monte_carlo_of_the_same_quadratic_form(records, quantile, h):
    """Monte Carlo with normal returns and greeks revaluation draws theta + w'r + r'Ar/2 itself; parametric
    delta-gamma leaves theta out: VaR(parametric) = VaR(MC) + theta, within the MC quantile's 99.9% interval
    (Cornish-Fisher's own error is inside it for this short-gamma book; the long straddle is too skewed for
    Cornish-Fisher and takes the simulated quantile, with a warning)."""
    kw = {"horizon_days": h, "backend": "cpu"}
    if quantile == "simulated":
        with pytest.warns(UserWarning, match="too skewed for Cornish-Fisher"):
            p = rg.var(book(records), market(), method="parametric", approximation="delta_gamma", **kw)
    else:
        p = rg.var(book(records), market(), method="parametric", approximation="delta_gamma", **kw)
    assert p.details["quantile"] == quantile
    mc = rg.var(book(records), market(), method="monte_carlo", returns="normal", revaluation="greeks",
                n_scenarios=200_000, seed=4, **kw)  # fmt: skip
    theta = p.details["theta"]
    lo, hi = var_interval(-(mc.pnl - theta), 0.99, level=0.999)
    assert lo <= p.var <= hi
    assert p.es >= p.var


# ---------------------------------------------------------------- historical: an independent order statistic
@pytest.mark.parametrize(("h", "overlapping"), [(1, True), (5, True), (5, False)])
def test_historical_equals_independent_order_statistic(h, overlapping):
    records = LINEAR + EUROPEANS
    res = rg.var(
        book(records), market(), method="historical", horizon_days=h, overlapping=overlapping, lookback_days=250,
        backend="cpu",
    )  # fmt: skip
    closes = HISTORY.pivot(on="underlying", index="date", values="close").sort("date").select(NAMES).to_numpy()
    closes = closes[-251:]
    ends = range(h, 251) if overlapping else range(250, h - 1, -h)
    tau = h / 252
    pnl = []
    for t in ends:
        total = 0.0
        for r in records:
            j = NAMES.index(r["underlying"])
            s0 = SPOTS[r["underlying"]]
            s1 = s0 * closes[t, j] / closes[t - h, j]
            if r["instrument"] == "spot":
                total += r["quantity"] * (s1 - s0)
                continue
            mat = r["maturity"]
            mat = (dt.date.fromisoformat(mat) - ASOF).days / 365 if isinstance(mat, str) else mat
            kw = {"kind": r["kind"], "strike": r["strike"], "vol": VOLS[r["underlying"]], "rate": RATE,
                  "div": DIVS[r["underlying"]]}  # fmt: skip
            later = bs_price(spot=s1, maturity=mat - tau, **kw)
            total += r["quantity"] * (later - bs_price(spot=s0, maturity=mat, **kw))
        pnl.append(total)
    losses = sorted(-np.array(pnl))
    assert res.n_scenarios == len(pnl)
    assert res.var == pytest.approx(losses[rank(0.99, len(pnl)) - 1], rel=1e-10)
    assert res.es >= res.var


# ---------------------------------------------------------------- option books: backends agree
def test_mc_var_equal_on_cpu_gpu_sim_and_reference():
    kw = {"method": "monte_carlo", "n_scenarios": 40, "seed": 5, "horizon_days": 5}
    ref = rg.var(book(MIXED), market(), backend="reference", **kw)
    for name in ("cpu", "gpu"):
        got = rg.var(book(MIXED), market(), backend=name, **kw)
        np.testing.assert_allclose(got.pnl_by_position, ref.pnl_by_position, rtol=1e-9, atol=1e-9)
        assert got.var == pytest.approx(ref.var, rel=1e-9)
        assert got.es == pytest.approx(ref.es, rel=1e-9)


def test_greeks_match_black_scholes():
    from riskgpu.risk import revaluation as rv
    from riskgpu.risk.book import resolve_book

    b = resolve_book(book(EUROPEANS), market())
    sens = rv.sensitivities(b, rv.encode_book(b, 200), elapsed=1 / 252, backend="cpu")
    for p, pid in enumerate(b.ids):
        r = next(x for x in EUROPEANS if x["position_id"] == pid)
        u = r["underlying"]
        i = b.names.index(u)
        mat = b.products[p].maturity
        g = bs_greeks(kind=r["kind"], spot=SPOTS[u], strike=r["strike"], maturity=mat, vol=VOLS[u], rate=RATE,
                      div=DIVS[u])  # fmt: skip
        assert sens["delta"][p, i] == pytest.approx(float(g["delta"]), rel=1e-6)
        assert sens["gamma"][p, i, i] == pytest.approx(float(g["gamma"]), rel=1e-4)
        assert sens["vega"][p, i] == pytest.approx(float(g["vega"]), rel=1e-6)


def test_american_greeks_from_the_tree():
    """An American call without dividends is the European: its tree Greeks are Black-Scholes's within the
    200-step tree's error; an American put's against central differences (2% of the spot) of an 8000-step
    tree (the 200-step tree's value has kinks a node spacing apart: its bumps span two, measured within 2.5%
    of the fine tree's gamma over spots 44-56)."""
    from riskgpu.analytic import binomial_price
    from riskgpu.risk import revaluation as rv
    from riskgpu.risk.book import resolve_book

    recs = [
        {"position_id": "C", "instrument": "american", "underlying": "BBB", "quantity": 1.0, "strike": 52.0,
         "maturity": 0.5, "kind": "call"},
        {"position_id": "P", "instrument": "american", "underlying": "BBB", "quantity": 1.0, "strike": 50.0,
         "maturity": 0.5, "kind": "put"},
    ]  # fmt: skip
    b = resolve_book(book(recs), market())
    sens = rv.sensitivities(b, rv.encode_book(b, 200), elapsed=1 / 252, backend="cpu")
    i = b.names.index("BBB")
    kw = {"maturity": 0.5, "vol": VOLS["BBB"], "rate": RATE, "div": 0.0}
    g = bs_greeks(kind="call", spot=50.0, strike=52.0, **kw)
    assert sens["delta"][0, i] == pytest.approx(float(g["delta"]), rel=0.01)
    assert sens["gamma"][0, i, i] == pytest.approx(float(g["gamma"]), rel=0.02)
    assert sens["vega"][0, i] == pytest.approx(float(g["vega"]), rel=0.02)
    times = [0.5 * j / 50 for j in range(51)]

    def tree(spot):
        return binomial_price(kind="put", spot=spot, strike=50.0, n_steps=8000, exercise_times=times, **kw)

    h = 1.0
    up, mid, dn = tree(50.0 + h), tree(50.0), tree(50.0 - h)
    assert sens["delta"][1, i] == pytest.approx((up - dn) / (2 * h), rel=0.01)
    assert sens["gamma"][1, i, i] == pytest.approx((up - 2 * mid + dn) / h**2, rel=0.03)


def test_greeks_revaluation_against_full_on_small_moves():
    kw = {"method": "monte_carlo", "n_scenarios": 2000, "seed": 1, "backend": "cpu"}
    full = rg.var(book(EUROPEANS), market(), **kw)
    dg = rg.var(book(EUROPEANS), market(), revaluation="greeks", **kw)
    # third-order remainder: |error| <= |speed| |dS|^3 / 6 ~ tiny for one-day moves; check relative to P&L scale
    scale = np.abs(full.pnl).max()
    assert np.abs(dg.pnl - full.pnl).max() <= 0.02 * scale
    assert dg.var == pytest.approx(full.var, rel=0.02)


def test_nested_revaluation_against_closed_form():
    """Each nested P&L (MC at the scenario minus MC today, same normals) against the closed-form P&L, within
    k times the sum of the two prices' standard errors (a bound: common random numbers only shrink it)."""
    from riskgpu.risk.grid import advance

    inner = 4096
    kw = {"method": "monte_carlo", "n_scenarios": 30, "seed": 2, "backend": "cpu"}
    full = rg.var(book(EUROPEANS), market(), **kw)
    nested = rg.var(book(EUROPEANS), market(), revaluation="nested", inner_paths=inner, **kw)
    m = market()
    b = book(EUROPEANS)
    products = dict(zip(b.ids, b.products(m), strict=True))
    # scenario spots: revalue a spot position alongside to read them back
    probe = [*EUROPEANS, {"position_id": "ZA", "instrument": "spot", "underlying": "AAA", "quantity": 1.0},
             {"position_id": "ZB", "instrument": "spot", "underlying": "BBB", "quantity": 1.0},
             {"position_id": "ZC", "instrument": "spot", "underlying": "CCC", "quantity": 1.0}]  # fmt: skip
    spot_run = rg.var(book(probe), market(), **kw)
    scen = {n: SPOTS[n] + spot_run.pnl_by_position[:, spot_run.position_ids.index("Z" + n[0])] for n in NAMES}
    worst = 0.0
    for p, pid in enumerate(nested.position_ids):
        r = next(x for x in EUROPEANS if x["position_id"] == pid)
        u, q = r["underlying"], r["quantity"]
        run = {"n_paths": inner, "seed": 2, "backend": "cpu", "stream": position_stream(pid)}
        se0 = rg.price(products[pid], rg.GBM(spot=SPOTS[u], vol=VOLS[u], rate=RATE, div=DIVS[u]), **run).stderr
        for s in range(30):
            prod = advance(products[pid], spot_today=SPOTS[u], spot=float(scen[u][s]), elapsed=1 / 252)
            model = rg.GBM(spot=float(scen[u][s]), vol=VOLS[u], rate=RATE, div=DIVS[u])
            se = rg.price(prod, model, **run).stderr
            err = abs(nested.pnl_by_position[s, p] - full.pnl_by_position[s, p])
            assert err <= k_sigma(90) * abs(q) * (se + se0), (pid, s)
            worst = max(worst, err / (abs(q) * (se + se0)))
    assert worst > 0.0  # Monte Carlo noise is there: the check is not vacuous
    assert nested.details["inner_paths"] == inner


def test_nested_bias_estimate_uses_exactly_half_the_paths():
    """The half-path VaR behind details['nested_bias'] is exactly the VaR of a nested run with half the inner
    paths (the same stream's first paths), and the bias estimate is their difference."""
    kw = {"method": "monte_carlo", "n_scenarios": 25, "seed": 3, "backend": "cpu", "revaluation": "nested"}
    full = rg.var(book(EUROPEANS), market(), inner_paths=512, **kw)
    half = rg.var(book(EUROPEANS), market(), inner_paths=256, **kw)
    assert full.details["var_half_paths"] == half.var
    assert full.details["nested_bias"] == half.var - full.var


def test_historical_with_greeks_and_nested_revaluation():
    kw = {"method": "historical", "lookback_days": 40, "backend": "cpu"}
    full = rg.var(book(EUROPEANS), market(), **kw)
    dg = rg.var(book(EUROPEANS), market(), revaluation="greeks", **kw)
    nested = rg.var(book(EUROPEANS), market(), revaluation="nested", inner_paths=2048, seed=1, **kw)
    assert full.n_scenarios == dg.n_scenarios == nested.n_scenarios == 40
    scale = np.abs(full.pnl).max()
    assert np.abs(dg.pnl - full.pnl).max() <= 0.02 * scale
    assert np.abs(nested.pnl - full.pnl).max() <= 0.1 * scale


# ---------------------------------------------------------------- properties
@pytest.mark.parametrize("method", ["historical", "monte_carlo", "parametric"])
def test_doubling_positions_doubles_var(method):
    kw = {"method": method, "backend": "cpu"}
    if method == "monte_carlo":
        kw["n_scenarios"] = 500
    one = rg.var(book(MIXED), market(), **kw)
    two = rg.var(book(MIXED).scaled(2.0), market(), **kw)
    assert two.var == pytest.approx(2.0 * one.var, rel=1e-14)
    assert two.es == pytest.approx(2.0 * one.es, rel=1e-14)
    assert one.es >= one.var


def test_same_seed_same_bytes_and_row_order_irrelevant():
    kw = {"method": "monte_carlo", "n_scenarios": 300, "seed": 11, "backend": "cpu"}
    a = rg.var(book(MIXED), market(), **kw)
    b = rg.var(book(MIXED[::-1]), market(), **kw)
    assert a.pnl.tobytes() == b.pnl.tobytes()
    assert a.pnl_by_position.tobytes() == b.pnl_by_position.tobytes()
    assert a.position_ids == b.position_ids == tuple(sorted(r["position_id"] for r in MIXED))
    assert (a.var, a.es) == (b.var, b.es)
    c = rg.var(book(MIXED), market(), **{**kw, "seed": 12})
    assert c.pnl.tobytes() != a.pnl.tobytes()


def test_pnl_total_is_sum_of_positions_and_es_at_other_levels():
    res = rg.var(book(MIXED), market(), method="monte_carlo", n_scenarios=1000, es_confidence=0.975, backend="cpu")
    for row, total in zip(res.pnl_by_position, res.pnl, strict=True):
        assert total == math.fsum(row)
    assert res.es == res.es_at(0.975)
    assert res.var == res.var_at(0.99)
    frame = res.pnl_frame()
    assert frame.columns[:2] == ["scenario", "total"] and frame.height == 1000


def test_student_t_has_fatter_tails_than_normal():
    kw = {"method": "monte_carlo", "n_scenarios": 50_000, "seed": 2, "backend": "cpu", "confidence": 0.999}
    normal = rg.var(book(LINEAR), market(), returns="normal", **kw)
    t = rg.var(book(LINEAR), market(), returns="student_t", dof=4.0, **kw)
    assert t.var > normal.var


def test_expiry_inside_the_horizon_reprices_at_intrinsic():
    short = [
        {"position_id": "X", "instrument": "european", "underlying": "AAA", "quantity": 1.0, "strike": 100.0,
         "maturity": 2 / 365, "kind": "call"},
        {"position_id": "Y", "instrument": "spot", "underlying": "AAA", "quantity": 1.0},
    ]  # fmt: skip
    res = rg.var(book(short), market(), method="monte_carlo", n_scenarios=200, horizon_days=5, backend="cpu")
    s1 = SPOTS["AAA"] + res.pnl_by_position[:, 1]  # the spot position's P&L reveals the scenario spot
    np.testing.assert_allclose(res.pnl_by_position[:, 0] + res.base_values[0], np.maximum(s1 - 100.0, 0.0), atol=1e-12)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"method": "montecarlo"}, "method must be one of"),
        ({"method": "historical", "n_scenarios": 10}, "does not take n_scenarios=10"),
        ({"method": "parametric", "revaluation": "full"}, "does not take revaluation"),
        ({"method": "monte_carlo", "overlapping": True}, "does not take overlapping"),
        ({"method": "monte_carlo", "inner_paths": 100}, "applies only with revaluation='nested'"),
        ({"method": "monte_carlo", "revaluation": "nestd"}, "revaluation must be one of"),
        ({"method": "monte_carlo", "ewma_decay": 0.9}, "applies only with covariance='ewma'"),
        ({"method": "parametric", "approximation": "delta-gamma"}, "approximation must be one of"),
        ({"method": "historical", "confidence": 99}, "confidence must be in"),
        ({"method": "historical", "horizon_days": 0}, "horizon_days"),
        ({"method": "historical", "lookback_days": 10_000}, "lookback_days=10000 needs"),
        ({"method": "monte_carlo", "backend": "gpux"}, "backend"),
        ({"method": "historical", "seed": 3}, "seed=3 has no use in a historical run"),
        ({"method": "monte_carlo", "revaluation": "nested", "inner_paths": 100}, "multiple of 64"),
        ({"method": "monte_carlo", "returns": "student_t"}, "needs dof"),
        ({"method": "parametric", "lookback_days": 100}, "needs covariance='sample' or 'ewma'"),
    ],
)
def test_bad_arguments_name_the_argument(kw, match):
    with pytest.raises(ValueError, match=match):
        rg.var(book(LINEAR), market(), **kw)


@pytest.mark.parametrize("source", ["sample", "ewma"])
def test_mc_with_history_covariance_converges_to_delta_normal(source):
    n, a = 100_000, 0.99
    kw = {"covariance": source, "lookback_days": 300, "backend": "cpu"}
    param = rg.var(book(LINEAR), market(), method="parametric", **kw).var
    res = rg.var(book(LINEAR), market(), method="monte_carlo", returns="normal", n_scenarios=n, seed=8, **kw)
    se = math.sqrt(a * (1 - a) / n) / st.norm.pdf(st.norm.ppf(a)) * param / st.norm.ppf(a)
    assert abs(res.var - param) <= k_sigma(2) * se


def test_market_name_order_changes_nothing():
    order = ("CCC", "AAA", "BBB")
    perm = [NAMES.index(n) for n in order]
    other = rg.Market(
        asof=ASOF, spots={n: SPOTS[n] for n in order}, vols={n: VOLS[n] for n in order}, rate=RATE,
        divs={n: DIVS[n] for n in order}, corr=CORR[np.ix_(perm, perm)], history=HISTORY,
    )  # fmt: skip
    kw = {"method": "monte_carlo", "n_scenarios": 200, "seed": 6, "backend": "cpu"}
    a = rg.var(book(MIXED), market(), **kw)
    b = rg.var(book(MIXED), other, **kw)
    assert a.pnl_by_position.tobytes() == b.pnl_by_position.tobytes()


def test_pnl_frame_refuses_ids_that_clash_with_its_columns():
    clash = [{"position_id": "total", "instrument": "spot", "underlying": "AAA", "quantity": 1.0}]
    res = rg.var(book(clash), market(), method="monte_carlo", n_scenarios=10, backend="cpu")
    with pytest.raises(ValueError, match="clash"):
        res.pnl_frame()


def test_float32_confidence_is_the_decimal_written():
    a = rg.var(book(LINEAR), market(), method="monte_carlo", n_scenarios=1000, backend="cpu")
    b = rg.var(book(LINEAR), market(), method="monte_carlo", n_scenarios=1000, backend="cpu",
               confidence=np.float32(0.99))  # fmt: skip
    assert a.var == b.var and b.confidence == 0.99


# ---------------------------------------------------------------- per-position streams
def test_price_portfolio_equals_rg_price_on_the_position_stream():
    m = market()
    frame = rg.price_portfolio(book(MIXED), m, n_paths=2048, seed=3, backend="cpu")
    assert frame["position_id"].to_list() == sorted(r["position_id"] for r in MIXED)
    b = book(MIXED)
    products = dict(zip(b.ids, b.products(m), strict=True))
    for row in frame.iter_rows(named=True):
        if row["instrument"] in ("spot", "forward"):
            assert row["stderr"] == 0.0
            continue
        pos = next(p for p in b.positions if p.position_id == row["position_id"])
        want = rg.price(
            products[row["position_id"]], m.model(pos.underlyings), n_paths=2048, seed=3, backend="cpu",
            stream=position_stream(row["position_id"]),
        )  # fmt: skip
        assert row["price"] == want.value
        assert abs(row["price"] - row["closed_form"]) <= k_sigma(20) * row["stderr"] + 0.02 * abs(row["closed_form"])
    alone = rg.price_portfolio(book([MIXED[5]]), m, n_paths=2048, seed=3, backend="cpu")
    assert alone["price"][0] == frame.filter(pl.col("position_id") == MIXED[5]["position_id"])["price"][0]


def test_position_stream_is_stable_and_tagged():
    assert position_stream("P1") == position_stream("P1") != position_stream("P2")
    assert position_stream("P1") >= 0x80000000
    with pytest.raises(ValueError, match="position_id"):
        position_stream("")


def test_forward_prices_by_monte_carlo_to_its_closed_form():
    f = rg.Forward(strike=95.0, maturity=1.0)
    m = rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)
    r = rg.price(f, m, n_paths=100_000, seed=1, backend="cpu")
    want = 100.0 * math.exp(-0.01) - 95.0 * math.exp(-0.03)
    assert abs(r.value - want) <= k_sigma(1) * r.stderr
    assert dataclasses.replace(f, strike=90.0).strike == 90.0
