"""``rg.price(..., tolerance=, max_paths=)``: batches of whole tiles on the same stream until the standard
error is at or below the tolerance, or the path cap is reached; the result says which, and is
byte-identical to a plain call with the path count it reports."""

from __future__ import annotations

import math

import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu.kernels import TILE

MODEL = rg.GBM(spot=100.0, vol=0.25, rate=0.03, div=0.01)
EURO = rg.European(strike=105.0, maturity=1.0)
EXACT = float(rg.bs_price(kind="call", spot=100.0, strike=105.0, maturity=1.0, vol=0.25, rate=0.03, div=0.01))


@pytest.mark.parametrize(
    ("backend", "batch", "tolerance", "antithetic"),
    [("cpu", 2000, 0.05, False), ("reference", 2000, 0.05, True), ("gpu", 96, 0.8, False)],
)
def test_stops_at_the_tolerance_and_equals_the_plain_price(backend, batch, tolerance, antithetic):
    res = rg.price(
        EURO, MODEL, n_paths=batch, seed=3, backend=backend, tolerance=tolerance, antithetic=antithetic, stream=2
    )
    assert res.stopped == "tolerance" and res.tolerance == tolerance
    assert res.stderr <= tolerance
    per = 2 if antithetic else 1
    step = math.ceil(batch // per / TILE) * TILE * per  # batches are whole tiles
    assert res.n_paths % step == 0 and res.n_paths > step  # it needed more than one batch
    plain = rg.price(EURO, MODEL, n_paths=res.n_paths, seed=3, backend=backend, antithetic=antithetic, stream=2)
    assert (plain.value, plain.stderr) == (res.value, res.stderr)  # same counters, same bytes
    fewer = rg.price(EURO, MODEL, n_paths=res.n_paths - step, seed=3, backend=backend, antithetic=antithetic, stream=2)
    assert fewer.stderr > tolerance  # it stopped at the first batch that met the tolerance
    assert abs(res.value - EXACT) <= k_sigma(3) * res.stderr


def test_stops_at_max_paths_and_says_so():
    res = rg.price(EURO, MODEL, n_paths=1000, seed=3, backend="cpu", tolerance=1e-4, max_paths=5000)
    assert (res.stopped, res.n_paths) == ("max_paths", 5000) and res.stderr > 1e-4
    plain = rg.price(EURO, MODEL, n_paths=5000, seed=3, backend="cpu")
    assert (plain.value, plain.stderr) == (res.value, res.stderr)
    default_cap = rg.price(EURO, MODEL, n_paths=100, seed=3, backend="cpu", tolerance=1e-6)
    assert (default_cap.stopped, default_cap.n_paths) == ("max_paths", 6400)  # 64 batches by default
    assert rg.price(EURO, MODEL, n_paths=100, seed=3, backend="cpu").stopped is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tolerance": 0.0}, r"price\.tolerance must be > 0, got 0\.0"),
        ({"tolerance": -1.0}, r"price\.tolerance must be > 0, got -1\.0"),
        ({"tolerance": math.nan}, r"price\.tolerance must be finite, got nan"),
        ({"tolerance": "0.1"}, r"price\.tolerance must be a real number, got '0\.1'"),
        ({"tolerance": 0.1, "max_paths": 500}, r"price\.max_paths=500 is below the batch size n_paths=1000"),
        ({"tolerance": 0.1, "max_paths": 2.5}, r"price\.max_paths must be an integer >= 2, got 2\.5"),
        ({"max_paths": 5000}, r"max_paths=5000 applies only with a tolerance"),
        ({"tolerance": 0.1, "max_paths": 5001, "antithetic": True}, r"even max_paths .* got 5001"),
    ],
)
def test_bad_tolerance_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rg.price(EURO, MODEL, n_paths=1000, seed=3, backend="cpu", **kwargs)
