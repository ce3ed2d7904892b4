"""Closed forms against QuantLib's analytic engines, and their limits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import qlhelp

import riskgpu as rg

GRID = list(
    itertools.product(["call", "put"], [70.0, 100.0, 130.0], [30, 365, 1095], [0.05, 0.3], [-0.01, 0.04], [0.0, 0.02])
)


@pytest.mark.parametrize(("kind", "strike", "days", "vol", "rate", "div"), GRID)
def test_bs_price_and_greeks_match_quantlib(ql, kind, strike, days, vol, rate, div):
    mkt = {"spot": 100.0, "vol": vol, "rate": rate, "div": div}
    opt = qlhelp.european(ql, kind=kind, strike=strike, days=days, **mkt)
    g = rg.bs_greeks(kind=kind, strike=strike, maturity=days / 365, **mkt)
    assert g["price"] == pytest.approx(opt.NPV(), rel=1e-10, abs=1e-12)
    assert g["delta"] == pytest.approx(opt.delta(), rel=1e-9, abs=1e-12)
    assert g["gamma"] == pytest.approx(opt.gamma(), rel=1e-9, abs=1e-12)
    assert g["vega"] == pytest.approx(opt.vega(), rel=1e-9, abs=1e-10)
    assert g["theta"] == pytest.approx(opt.theta(), rel=1e-9, abs=1e-10)
    assert g["rho"] == pytest.approx(opt.rho(), rel=1e-9, abs=1e-10)


@pytest.mark.parametrize(("kind", "strike", "days", "vol", "rate", "div"), GRID[::3])
def test_digital_price_matches_quantlib(ql, kind, strike, days, vol, rate, div):
    mkt = {"spot": 100.0, "vol": vol, "rate": rate, "div": div}
    opt = qlhelp.european(ql, kind=kind, strike=strike, days=days, payout=7.0, **mkt)
    got = rg.digital_price(kind=kind, strike=strike, maturity=days / 365, payout=7.0, **mkt)
    assert got == pytest.approx(opt.NPV(), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(
    ("kind", "strike", "days", "n_fix", "vol", "div"),
    list(itertools.product(["call", "put"], [85.0, 100.0, 115.0], [360, 720], [1, 4, 12], [0.15, 0.45], [0.0, 0.03])),
)
def test_geometric_asian_matches_quantlib(ql, kind, strike, days, n_fix, vol, div):
    mkt = {"spot": 100.0, "vol": vol, "rate": 0.04, "div": div}
    opt = qlhelp.asian(ql, kind=kind, strike=strike, days=days, n_fixings=n_fix, average="geometric", **mkt)
    got = rg.geometric_asian_price(kind=kind, strike=strike, maturity=days / 365, n_fixings=n_fix, **mkt)
    assert got == pytest.approx(opt.NPV(), rel=1e-9, abs=1e-11)


def test_one_fixing_geometric_asian_is_the_european():
    kw = {"kind": "call", "spot": 100.0, "strike": 95.0, "maturity": 0.7, "vol": 0.3, "rate": 0.02, "div": 0.01}
    assert rg.geometric_asian_price(**kw, n_fixings=1) == pytest.approx(float(rg.bs_price(**kw)), rel=1e-13)


def test_greeks_are_derivatives_of_the_price():
    kw = {"kind": "put", "spot": 100.0, "strike": 105.0, "maturity": 0.8, "vol": 0.25, "rate": 0.03, "div": 0.01}
    g = rg.bs_greeks(**kw)

    def bump(field, h):
        up = float(rg.bs_price(**{**kw, field: kw[field] + h}))
        dn = float(rg.bs_price(**{**kw, field: kw[field] - h}))
        return (up - dn) / (2 * h), (up - 2 * float(rg.bs_price(**kw)) + dn) / (h * h)

    assert g["delta"] == pytest.approx(bump("spot", 1e-3)[0], rel=1e-6)
    assert g["gamma"] == pytest.approx(bump("spot", 1e-2)[1], rel=1e-4)
    assert g["vega"] == pytest.approx(bump("vol", 1e-5)[0], rel=1e-6)
    assert g["rho"] == pytest.approx(bump("rate", 1e-5)[0], rel=1e-6)
    assert g["theta"] == pytest.approx(-bump("maturity", 1e-5)[0], rel=1e-6)


@pytest.mark.parametrize("kind", ["call", "put"])
def test_limits_zero_vol_and_zero_maturity(kind):
    s = 1.0 if kind == "call" else -1.0
    for k in (80.0, 100.0, 120.0):
        fwd = 100.0 * np.exp((0.05 - 0.01) * 2.0)
        zero_vol = float(rg.bs_price(kind=kind, spot=100.0, strike=k, maturity=2.0, vol=0.0, rate=0.05, div=0.01))
        assert zero_vol == pytest.approx(np.exp(-0.1) * max(s * (fwd - k), 0.0), rel=1e-14, abs=1e-14)
        zero_t = float(rg.bs_price(kind=kind, spot=100.0, strike=k, maturity=0.0, vol=0.3, rate=0.05, div=0.01))
        assert zero_t == max(s * (100.0 - k), 0.0)
        dig = float(rg.digital_price(kind=kind, spot=100.0, strike=k, maturity=0.0, vol=0.3, rate=0.05, payout=2.0))
        assert dig == (2.0 if s * (100.0 - k) > 0 else 0.0)
        geo = rg.geometric_asian_price(kind=kind, spot=100.0, strike=k, maturity=0.0, vol=0.3, rate=0.05, n_fixings=5)
        assert geo == max(s * (100.0 - k), 0.0)


def test_put_call_parity_closed_form():
    kw = {"spot": 100.0, "strike": 110.0, "maturity": 1.3, "vol": 0.2, "rate": 0.03, "div": 0.015}
    c = float(rg.bs_price(kind="call", **kw))
    p = float(rg.bs_price(kind="put", **kw))
    assert c - p == pytest.approx(100.0 * np.exp(-0.015 * 1.3) - 110.0 * np.exp(-0.03 * 1.3), rel=1e-12)
