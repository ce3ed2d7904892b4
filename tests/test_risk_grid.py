"""The scenario x position revaluation grid (``riskgpu.risk.grid``): the scalar closed forms against
``riskgpu.analytic`` (limits included), the CRR tree against ``binomial_price``, the seasoned geometric Asian
against Monte Carlo, the ``advance`` rules, cpu and gpu (CUDA simulator, two launch shapes) against the
reference backend on a book holding every family and variant, and the input errors."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu import analytic as an
from riskgpu.products import American, Asian, Barrier, Basket, Digital, European, Forward, Lookback, Spot
from riskgpu.risk import closed as cf
from riskgpu.risk.closed_grid import crr, round_half_even
from riskgpu.risk.grid import FAMILIES, MAX_ASSETS, MAX_TREE, Grid, advance, encode, revalue

SPOTS = np.array([100.0, 50.0, 80.0, 120.0])
VOLS = np.array([0.2, 0.3, 0.25, 0.15])
DIVS = np.array([0.01, 0.02, 0.0, 0.03])
CORR = np.array([[1.0, 0.5, 0.3, 0.1], [0.5, 1.0, 0.4, 0.2], [0.3, 0.4, 1.0, -0.2], [0.1, 0.2, -0.2, 1.0]])
TREE = 100
REL, ABS = 1e-10, 1e-12


def _close(got, want, rel=REL, atol=ABS):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert np.all(np.abs(got - want) <= rel * np.abs(want) + atol), np.max(np.abs(got - want))


def book() -> tuple[list, list]:
    """Every family and variant, barriers near the spot so that scenarios cross them."""
    out = [(Spot(), (0,)), (Forward(strike=45.0, maturity=0.5), (1,))]
    for kind in ("call", "put"):
        out += [
            (European(strike=105.0, maturity=1.0, kind=kind), (0,)),
            (European(strike=78.0, maturity=0.02, kind=kind), (2,)),
            (Digital(strike=52.0, maturity=0.7, kind=kind, payout=2.5), (1,)),
        ]
        for direction, level in (("up", 112.0), ("down", 90.0)):
            for knock, strike in itertools.product(("in", "out"), (95.0, 115.0, 85.0)):
                terms = {"kind": kind, "barrier": level, "direction": direction, "knock": knock}
                out.append((Barrier(strike=strike, maturity=0.8, rebate=1.5 * (strike == 95.0), **terms), (0,)))
            terms = {"kind": kind, "barrier": level, "direction": direction, "monitoring": "discrete"}
            out.append((Barrier(strike=100.0, maturity=0.6, knock="out", rebate=2.0, n_fixings=12, **terms), (0,)))
            out.append((Barrier(strike=100.0, maturity=0.6, knock="in", rebate=2.0, n_fixings=12, **terms), (0,)))
        out.append((Barrier(strike=100.0, maturity=0.6, kind=kind, barrier=110.0, knock="in", knocked=True), (0,)))
        for knock in ("in", "out"):  # live but today's spot beyond the barrier: hit today
            out.append(
                (Barrier(strike=97.0, maturity=0.6, kind=kind, barrier=101.0, direction="down", knock=knock), (0,))
            )
        out.append((Barrier(strike=100.0, maturity=0.6, kind=kind, barrier=90.0, direction="down", knocked=True), (0,)))
        for avg in ("geometric", "arithmetic"):
            out.append((Asian(strike=82.0, maturity=0.9, kind=kind, n_fixings=12, average=avg), (2,)))
            seasoned = {"past_fixings": 4, "past_average": 81.0}
            out.append((Asian(strike=78.0, maturity=0.5, kind=kind, n_fixings=6, average=avg, **seasoned), (2,)))
        discrete = {"monitoring": "discrete", "n_fixings": 8}
        out += [
            (Lookback(maturity=0.7, kind=kind), (3,)),
            (Lookback(maturity=0.7, kind=kind, strike=118.0, monitoring="discrete", n_fixings=20), (3,)),
            (Lookback(maturity=0.4, kind=kind, strike=125.0, running_max=130.0, running_min=110.0), (3,)),
            (Lookback(maturity=0.4, kind=kind, running_max=125.0, running_min=115.0, **discrete), (3,)),
            (Basket(strike=70.0, maturity=0.75, kind=kind, weights=(0.3, 0.5, 0.2)), (0, 1, 2)),
            (Basket(strike=70.0, maturity=0.75, kind=kind, weights=(0.3, 0.5, 0.2), average="geometric"), (0, 1, 3)),
            (American(strike=100.0, maturity=1.0, kind=kind), (0,)),
            (American(strike=50.0, maturity=1.0, kind=kind, exercise_dates=(0.25, 0.5, 0.75, 1.0)), (1,)),
            (American(strike=80.0, maturity=0.5, kind=kind, n_exercise=4), (2,)),
            (American(strike=120.0, maturity=0.03, kind=kind), (3,)),
        ]
    return [p for p, _ in out], [a for _, a in out]


def scenarios(n: int, seed: int = 1) -> dict:
    """``n`` scenarios: spots moved ~12%, vols ~20% (the first 0), elapsed today / 1 day / 10 days / beyond
    the short maturities / beyond every maturity."""
    rng = np.random.default_rng(seed)
    vols = VOLS * np.exp(0.2 * rng.standard_normal((n, 4)))
    vols[0] = 0.0
    return {
        "spots": SPOTS * np.exp(0.12 * rng.standard_normal((n, 4))),
        "vols": vols,
        "rates": 0.03 + 0.01 * rng.standard_normal(n),
        "divs": DIVS,
        "corr": CORR,
        "elapsed": np.array([0.0, 10 / 252, 0.3, 2.0, 1 / 252])[np.arange(n) % 5],
    }


@pytest.fixture(scope="module")
def case():
    products, assets = book()
    grid = encode(products, assets, spots=SPOTS, tree_steps=TREE)
    market = scenarios(50)
    return grid, market, revalue(grid, **market, backend="reference")


# ----------------------------------------------------------------------------- backends against the reference
def test_book_covers_every_family_and_the_scenarios_the_edge_cases(case):
    grid, m, _ = case
    assert set(grid.codes.tolist()) == set(FAMILIES.values())
    states = set()
    for product in grid.products:
        if isinstance(product, Barrier) and not product.knocked:
            for spot, h in zip(m["spots"][:, 0], m["elapsed"], strict=True):
                a = advance(product, spot_today=100.0, spot=spot, elapsed=h)
                beyond = spot >= product.barrier if product.direction == "up" else spot <= product.barrier
                states.add((product.knock, a.knocked, beyond, a.maturity == 0.0))
    for knock in ("in", "out"):  # knocked before / during the horizon, live, beyond now, expired
        assert {
            (knock, True, knock == "in", False),
            (knock, False, False, False),
            (knock, False, False, True),
        } <= states
    assert ("out", True, False, False) in states and ("out", False, True, False) in states


def test_cpu_matches_reference(case):
    grid, m, ref = case
    got = revalue(grid, **m, backend="cpu")
    assert got.shape == ref.shape == (50, len(grid.products)) and got.dtype == np.float64
    _close(got, ref)
    european_short = [p for p, x in enumerate(grid.products) if isinstance(x, European) and x.maturity < 0.1]
    for p in european_short:  # expired inside the horizon: the intrinsic value at the scenario spot
        phi = grid.params[p, 2]
        late = m["elapsed"] >= 0.3
        _close(got[late, p], np.maximum(phi * (m["spots"][late, 2] - 78.0), 0.0), 0, 1e-14)


@pytest.mark.parametrize("elapsed", [0.0, 1 / 252, 0.3])
def test_cpu_shared_market_path_matches_reference(case, elapsed):
    """Scenarios sharing vols, rate and elapsed time (a VaR run) take the precomputed Black-Scholes-family
    path on cpu for spot, forward, European and digital columns (zero vol and expired ones excepted)."""
    from riskgpu.risk.grid import _linear_cpu

    grid, m, _ = case
    n = 40
    vols = VOLS.copy()
    vols[0] = 0.0  # underlying 0 has no volatility: its options take the generic kernel
    shared = dict(
        m, spots=m["spots"][:n], vols=np.tile(vols, (n, 1)), rates=np.full(n, 0.02), elapsed=np.full(n, elapsed)
    )
    ref = revalue(grid, **shared, backend="reference")
    got = revalue(grid, **shared, backend="cpu")
    _close(got, ref)
    market = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in shared.items()}
    done = _linear_cpu(grid, market, np.empty_like(got))
    linear = np.isin(grid.codes, [FAMILIES[f] for f in ("spot", "forward", "european", "digital")])
    assert done.any() and not done[~linear].any()
    varied = dict(shared, rates=np.linspace(0.01, 0.03, n))
    assert _linear_cpu(grid, {k: np.asarray(v, dtype=np.float64) for k, v in varied.items()}, got) is None


def test_gpu_simulator_matches_reference_at_two_launch_shapes(case):
    grid, m, ref = case
    rows = slice(0, 6)
    small = {k: (v[rows] if k in ("spots", "vols", "rates", "elapsed") else v) for k, v in m.items()}
    one = revalue(grid, **small, backend="gpu", launch=(1, 32))
    two = revalue(grid, **small, backend="gpu", launch=(3, 64))
    assert one.tobytes() == two.tobytes()
    _close(one, ref[rows])


def test_empty_and_single_cells(case):
    grid, m, ref = case
    one = {k: (v[3:4] if k in ("spots", "vols", "rates", "elapsed") else v) for k, v in m.items()}
    _close(revalue(grid, **one, backend="cpu"), ref[3:4])
    none = {**m, "spots": m["spots"][:0], "vols": m["vols"][:0], "rates": m["rates"][:0], "elapsed": m["elapsed"][:0]}
    assert revalue(grid, **none, backend="cpu").shape == (0, len(grid.products))


# ----------------------------------------------------------------------------- scalar closed forms
SPOT_GRID = (1.0, 60.0, 99.0, 100.0, 140.0, 1e4)
MARKETS = [
    (v, t, r, q) for v in (0.0, 0.25) for t in (0.0, 1e-6, 0.8) for r, q in ((0.03, 0.01), (0.0, 0.0), (-0.02, 0.01))
]


@pytest.mark.parametrize("vol,maturity,rate,div", MARKETS)
def test_vanillas_match_analytic(vol, maturity, rate, div):
    for spot, kind in itertools.product(SPOT_GRID, ("call", "put")):
        kw = {"kind": kind, "spot": spot, "strike": 100.0, "maturity": maturity, "vol": vol, "rate": rate, "div": div}
        phi = 1.0 if kind == "call" else -1.0
        _close(cf.bs(phi, spot, 100.0, maturity, vol, rate, div), an.bs_price(**kw))
        _close(cf.digital(phi, spot, 100.0, maturity, vol, rate, div, 2.0), an.digital_price(**kw, payout=2.0))
    _close(
        cf.forward(90.0, 100.0, maturity, rate, div),
        90.0 * math.exp(-div * maturity) - 100 * math.exp(-rate * maturity),
    )


@pytest.mark.parametrize("vol,maturity,rate,div", MARKETS)
def test_barriers_match_analytic(vol, maturity, rate, div):
    for direction, knock, kind, strike, rebate in itertools.product(
        ("up", "down"), ("in", "out"), ("call", "put"), (90.0, 110.0), (0.0, 2.0)
    ):
        level = 115.0 if direction == "up" else 85.0
        phi, updown = (1.0 if kind == "call" else -1.0), (1.0 if direction == "up" else -1.0)
        for spot in (70.0, 84.0, 85.0, 100.0, 114.0, 115.0, 130.0):
            kw = {"kind": kind, "spot": spot, "strike": strike, "barrier": level, "maturity": maturity, "vol": vol}
            kw |= {"rate": rate, "div": div, "direction": direction, "knock": knock, "rebate": rebate}
            args = (phi, spot, strike, level, maturity, vol, rate, div, updown, knock == "out", rebate)
            _close(cf.barrier(*args), an.barrier_price(**kw), 1e-10, 1e-11)
            _close(cf.discrete_barrier(*args, 12), an.discrete_barrier_price(**kw, n_fixings=12), 1e-10, 1e-11)


@pytest.mark.parametrize("spot", [86.0, 95.0, 110.0, 200.0])
@pytest.mark.parametrize("maturity", [0.05, 1.0, 10.0])
def test_negative_rate_rebate_quadrature_matches_scipy_quad(spot, maturity):
    vol, rate, div = 0.1, -0.01, -0.005  # mu**2 + 2 r / vol**2 < 0: the numerical rebate integral
    mu = (rate - div - 0.5 * vol * vol) / vol**2
    assert mu * mu + 2 * rate / vol**2 < 0
    for direction, level in (("down", 85.0), ("up", 1.01 * spot)):
        kw = {"kind": "call", "spot": spot, "strike": 100.0, "barrier": level, "maturity": maturity, "vol": vol}
        want = an.barrier_price(**kw, rate=rate, div=div, direction=direction, knock="out", rebate=1.0)
        updown = 1.0 if direction == "up" else -1.0
        got = cf.barrier(1.0, spot, 100.0, level, maturity, vol, rate, div, updown, True, 1.0)
        _close(got, want, 1e-8, 1e-12)


@pytest.mark.parametrize("vol,maturity,rate,div", MARKETS)
def test_asians_match_analytic(vol, maturity, rate, div):
    for spot, kind, n in itertools.product((60.0, 100.0, 150.0), ("call", "put"), (1, 12)):
        kw = {"kind": kind, "spot": spot, "strike": 100.0, "maturity": maturity, "vol": vol, "rate": rate, "div": div}
        phi = 1.0 if kind == "call" else -1.0
        _close(
            cf.geometric_asian(phi, spot, 100.0, maturity, vol, rate, div, n),
            an.geometric_asian_price(**kw, n_fixings=n),
        )
        assert cf.seasoned_geometric(spot, vol, rate, div, n, 0, 0.0) == (spot, vol, div)
        for m, past in ((0, 0.0), (5, 90.0), (30, 400.0)):  # the last: effective strike <= 0
            got = cf.arithmetic_asian(phi, spot, 100.0, maturity, vol, rate, div, n, m, past)
            _close(got, an.asian_price_mm(**kw, n_fixings=n, past_fixings=m, past_average=past))


@pytest.mark.parametrize("vol,maturity,rate,div", [*MARKETS, (0.3, 0.5, 0.02, 0.02), (0.01, 2.0, 0.05, 0.0)])
def test_lookbacks_match_analytic(vol, maturity, rate, div):
    spot = 100.0
    for kind, strike, n, (hi, lo) in itertools.product(
        ("call", "put"), (None, 0.0, 90.0, 100.0, 120.0), (None, 4), ((None, None), (130.0, 80.0))
    ):
        kw = {"kind": kind, "spot": spot, "maturity": maturity, "vol": vol, "rate": rate, "div": div}
        want = an.lookback_price(**kw, strike=strike, running_max=hi, running_min=lo, n_fixings=n)
        phi = 1.0 if kind == "call" else -1.0
        args = (strike or 0.0, strike is None, hi or spot, lo or spot, n or 0)
        _close(cf.lookback(phi, spot, maturity, vol, rate, div, *args), want, 1e-10, 1e-11)


def test_normal_helpers_in_the_tails():
    from scipy.special import exprel, log_ndtr, ndtr

    x = np.concatenate([np.linspace(-60, 12, 289), [-30.0, -29.999, -1.0, -0.999, 0.0, 1e-300]])
    _close([cf.ndtr(v) for v in x], ndtr(x), 1e-12, 1e-300)  # libm's and cephes' erfc differ by ~1e-13 far out
    _close([cf.log_ndtr(v) for v in x], log_ndtr(x), 1e-13, 0)
    y = np.array([-50.0, -1.0, -1e-10, 0.0, 1e-17, 1e-8, 0.5, 30.0])
    _close([cf.exprel(v) for v in y], exprel(y), 1e-14, 0)
    assert [round_half_even(v) for v in (0.5, 1.5, 2.5, 2.4999, 3.50001)] == [
        round(v) for v in (0.5, 1.5, 2.5, 2.4999, 3.50001)
    ]


def _mask(n, maturity, times):
    mask = np.zeros(n + 1, dtype=np.uint8)
    mask[n] = 1
    for t in times:
        mask[min(n, round(t / maturity * n)) if maturity > 0 else 0] = 1
    return mask


@pytest.mark.parametrize("vol,maturity", [(0.25, 1.0), (0.0, 1.0), (0.25, 0.0), (0.4, 0.02)])
def test_crr_tree_matches_binomial_price(vol, maturity):
    ws = np.empty(TREE + 1)
    grids = ((), (0.0, 0.3 * maturity, 0.5 * maturity), (0.0, *(maturity * i / 50 for i in range(1, 51))))
    for kind, spot, times in itertools.product(("call", "put"), (60.0, 100.0, 160.0), grids):
        kw = {"kind": kind, "spot": spot, "strike": 100.0, "maturity": maturity, "vol": vol, "rate": 0.04, "div": 0.02}
        want = an.binomial_price(**kw, n_steps=TREE, american=bool(times), exercise_times=times or None)
        phi = 1.0 if kind == "call" else -1.0
        got = crr(ws, _mask(TREE, maturity, times), TREE, phi, spot, 100.0, maturity, vol, 0.04, 0.02)
        _close(got, want)
    assert math.isnan(crr(ws, _mask(4, 1.0, ()), 4, 1.0, 100.0, 100.0, 1.0, 0.001, 0.2, 0.0))


def test_seasoned_geometric_asian_matches_monte_carlo():
    model = rg.GBM(spot=100.0, vol=0.3, rate=0.04, div=0.01)
    products = [
        Asian(strike=k, maturity=0.5, kind=kind, n_fixings=6, average="geometric", past_fixings=m, past_average=a)
        for k, kind, m, a in ((100.0, "call", 4, 92.0), (95.0, "put", 10, 104.0), (100.0, "call", 2, 130.0))
    ]
    k = k_sigma(len(products))
    for product in products:
        mc = rg.price(product, model, n_paths=1 << 16, seed=7, backend="reference", antithetic=True)
        s1, v1, q1 = cf.seasoned_geometric(100.0, 0.3, 0.04, 0.01, 6, product.past_fixings, product.past_average)
        phi = 1.0 if product.kind == "call" else -1.0
        value = cf.geometric_asian(phi, s1, product.strike, 0.5, v1, 0.04, q1, 6)
        assert abs(value - mc.value) <= k * mc.stderr, (value, mc.value, mc.stderr)


# ----------------------------------------------------------------------------- advance
def test_advance_time_passes_and_expires():
    e = European(strike=100.0, maturity=1.0)
    assert advance(e, spot_today=100.0, spot=120.0, elapsed=0.25).maturity == 0.75
    assert advance(e, spot_today=100.0, spot=120.0, elapsed=3.0).maturity == 0.0
    assert advance(e, spot_today=100.0, spot=120.0, elapsed=0.0) is e
    assert advance(Spot(), spot_today=100.0, spot=50.0, elapsed=1.0) == Spot()
    b = Basket(strike=1.0, maturity=0.5, weights=(0.5, 0.5))
    assert advance(b, spot_today=1.0, spot=1.0, elapsed=0.2).maturity == pytest.approx(0.3)
    with pytest.raises(ValueError, match="elapsed"):
        advance(e, spot_today=100.0, spot=100.0, elapsed=-1.0)


def test_advance_barrier_rules():
    up = {"strike": 100.0, "maturity": 1.0, "barrier": 110.0, "direction": "up", "rebate": 3.0}
    ko, ki = Barrier(**up, knock="out"), Barrier(**up, knock="in")
    kw = {"spot_today": 100.0, "elapsed": 0.1}
    assert not advance(ko, spot=105.0, **kw).knocked and not advance(ki, spot=105.0, **kw).knocked
    assert advance(ki, spot=115.0, **kw).knocked  # a knock-in becomes the vanilla
    hit = advance(ko, spot=115.0, **kw)  # hit within the horizon: stays live, beyond: worth its rebate
    assert (
        not hit.knocked
        and an.barrier_price(kind="call", spot=115.0, **{**up, "maturity": 0.9}, vol=0.2, rate=0.0, knock="out") == 3.0
    )
    assert advance(ko, spot=105.0, spot_today=111.0, elapsed=0.1).knocked  # hit today: rebate paid today, gone
    assert advance(ki, spot=105.0, spot_today=111.0, elapsed=0.1).knocked
    assert not advance(ki, spot=105.0, spot_today=111.0, elapsed=0.0).knocked  # elapsed 0: spot replaces today's
    assert advance(dataclasses.replace(ko, knocked=True), spot=100.0, **kw).knocked
    down = Barrier(strike=100.0, maturity=1.0, barrier=90.0, direction="down", knock="in")
    assert advance(down, spot=90.0, **kw).knocked and not advance(down, spot=90.01, **kw).knocked


def test_advance_lookback_asian_american_rules():
    lb = Lookback(maturity=1.0, running_max=120.0, running_min=95.0)
    a = advance(lb, spot_today=100.0, spot=130.0, elapsed=0.5)
    assert (a.maturity, a.running_max, a.running_min) == (0.5, 130.0, 95.0)
    a = advance(Lookback(maturity=1.0), spot_today=100.0, spot=90.0, elapsed=0.5)
    assert (a.running_max, a.running_min) == (100.0, 90.0)
    a = advance(Lookback(maturity=1.0), spot_today=100.0, spot=90.0, elapsed=0.0)
    assert (a.running_max, a.running_min) == (90.0, 90.0)
    asian = Asian(strike=1.0, maturity=1.0, n_fixings=12, past_fixings=3, past_average=2.0)
    assert advance(asian, spot_today=1.0, spot=2.0, elapsed=0.25) == dataclasses.replace(asian, maturity=0.75)
    plain = American(strike=100.0, maturity=1.0)
    assert advance(plain, spot_today=1.0, spot=1.0, elapsed=0.2) == dataclasses.replace(plain, maturity=0.8)
    berm = American(strike=100.0, maturity=1.0, exercise_dates=(0.25, 0.5, 0.75, 1.0))
    a = advance(berm, spot_today=1.0, spot=1.0, elapsed=0.5)
    assert a.exercise_dates == (0.25, 0.5) and a.maturity == 0.5 and not a.exercise_today
    a = advance(American(strike=1.0, maturity=1.0, n_exercise=4), spot_today=1.0, spot=1.0, elapsed=10 / 252)
    assert a.exercise_dates == tuple(d - 10 / 252 for d in (0.25, 0.5, 0.75, 1.0))
    a = advance(berm, spot_today=1.0, spot=1.0, elapsed=0.123456789)  # off every grid: snapped to 1/10000
    assert len(a.exercise_dates) == 4 and a.exercise_dates[-1] == a.maturity
    assert max(abs(x - (d - 0.123456789)) for x, d in zip(a.exercise_dates, (0.25, 0.5, 0.75, 1.0), strict=True)) < 1e-4
    expired = advance(berm, spot_today=1.0, spot=1.0, elapsed=1.0)
    assert expired.maturity == 0.0 and expired.exercise_today


# ----------------------------------------------------------------------------- errors
def test_bad_inputs_name_the_argument(case):
    grid, m, _ = case
    with pytest.raises(ValueError, match="'auto'"):
        revalue(grid, **m, backend="auto")
    with pytest.raises(ValueError, match="vols must have shape \\(50, 4\\)"):
        revalue(grid, **{**m, "vols": m["vols"][:, :3]}, backend="cpu")
    for name, bad in (
        ("rates", np.zeros(3)),
        ("divs", np.zeros(5)),
        ("corr", np.eye(3)),
        ("elapsed", np.zeros((50, 1))),
    ):
        with pytest.raises(ValueError, match=f"{name} must have shape"):
            revalue(grid, **{**m, name: bad}, backend="reference")
    with pytest.raises(ValueError, match="spots must be \\(n_scen, n_und\\)"):
        revalue(grid, **{**m, "spots": m["spots"][0]}, backend="cpu")
    with pytest.raises(ValueError, match="underlying 3"):
        revalue(
            grid,
            **{**m, "spots": m["spots"][:, :3], "vols": m["vols"][:, :3], "divs": DIVS[:3], "corr": CORR[:3, :3]},
            backend="cpu",
        )
    with pytest.raises(ValueError, match="elapsed must be >= 0"):
        revalue(grid, **{**m, "elapsed": -m["elapsed"] - 1}, backend="cpu")


def test_unsupported_products_name_the_position():
    spots = np.array([100.0, 100.0])
    e = European(strike=1.0, maturity=1.0)
    with pytest.raises(ValueError, match=r"position 1: Asian.barrier=80.0.*nested"):
        encode([e, Asian(strike=1.0, maturity=1.0, barrier=80.0)], [(0,), (0,)], spots=spots)
    with pytest.raises(ValueError, match="position 0: unsupported product str"):
        encode(["european"], [(0,)], spots=spots)
    with pytest.raises(ValueError, match="tree_steps"):
        encode([e], [(0,)], spots=spots, tree_steps=MAX_TREE + 1)
    with pytest.raises(ValueError, match="assets has 2 entries for 1 products"):
        encode([e], [(0,), (1,)], spots=spots)
    with pytest.raises(ValueError, match="position 0: assets\\[0\\] has 2 indices for 1"):
        encode([e], [(0, 1)], spots=spots)
    with pytest.raises(ValueError, match="position 0: assets\\[0\\]=\\(2,\\) outside"):
        encode([e], [(2,)], spots=spots)
    big = Basket(strike=1.0, maturity=1.0, weights=(0.1,) * (MAX_ASSETS + 1))
    with pytest.raises(ValueError, match=r"position 0: Basket.weights has 17 assets"):
        encode([big], [tuple(range(MAX_ASSETS + 1))], spots=np.full(MAX_ASSETS + 1, 100.0))
    with pytest.raises(ValueError, match=r"position 0: Lookback.running_max=90.0"):
        encode([Lookback(maturity=1.0, running_max=90.0)], [(0,)], spots=spots)


def test_a_cell_without_value_is_an_error_on_every_backend():
    spread = Basket(strike=1.0, maturity=1.0, weights=(1.0, -1.0))
    grid = encode([spread], [(0, 1)], spots=np.array([100.0, 100.0]))
    assert isinstance(grid, Grid)
    m = {"spots": np.array([[100.0, 120.0]]), "vols": np.full((1, 2), 0.2), "rates": np.zeros(1)}
    m |= {"divs": np.zeros(2), "corr": np.eye(2), "elapsed": np.zeros(1)}
    for backend in ("reference", "cpu"):
        with pytest.raises(ValueError, match=r"positive|position 0 \(Basket\)"):
            revalue(grid, **m, backend=backend)
