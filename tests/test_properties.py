"""Properties on shared paths (hypothesis, derandomized): parity, monotonicity, limits, determinism."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import riskgpu as rg
from riskgpu.api import combine, make_job
from riskgpu.backends import cpu, gpu, reference

spots = st.floats(50.0, 150.0)
strikes = st.floats(60.0, 140.0)
vols = st.floats(0.05, 0.6)
rates = st.floats(-0.02, 0.08)
mats = st.floats(0.05, 3.0)
backends = st.sampled_from(["reference", "cpu"])
dtypes = st.sampled_from(["float64", "float32"])
EPS = {"float64": 1e-12, "float32": 2e-5}


@given(
    spot=spots,
    strike=strikes,
    vol=vols,
    rate=rates,
    t=mats,
    backend=backends,
    dtype=dtypes,
    seed=st.integers(0, 2**64 - 1),
)
def test_put_call_parity_on_shared_paths(spot, strike, vol, rate, t, backend, dtype, seed):
    """C - P = disc * (mean S_T - K) path by path, with S_T the same paths ``simulate`` draws."""
    model = rg.GBM(spot=spot, vol=vol, rate=rate, div=0.01)
    kw = {"n_paths": 2_000, "seed": seed, "backend": backend, "dtype": dtype}
    c = rg.price(rg.European(strike=strike, maturity=t, kind="call"), model, **kw).value
    p = rg.price(rg.European(strike=strike, maturity=t, kind="put"), model, **kw).value
    s_t = rg.simulate(model, maturity=t, n_steps=1, n_paths=2_000, seed=seed, backend="reference", dtype=dtype)
    fwd = math.exp(-rate * t) * (float(np.mean(s_t[:, -1, 0], dtype=np.float64)) - strike)
    assert c - p == pytest.approx(fwd, abs=EPS[dtype] * 20 * (spot + strike))


@given(
    spot=spots,
    k1=strikes,
    dk=st.floats(0.01, 30.0),
    vol=vols,
    t=mats,
    backend=backends,
    kind=st.sampled_from(["call", "put"]),
    product=st.sampled_from(["european", "digital", "asian"]),
)
def test_monotone_in_strike_on_shared_paths(spot, k1, dk, vol, t, backend, kind, product):
    model = rg.GBM(spot=spot, vol=vol, rate=0.02)
    make = {
        "european": lambda k: rg.European(strike=k, maturity=t, kind=kind),
        "digital": lambda k: rg.Digital(strike=k, maturity=t, kind=kind),
        "asian": lambda k: rg.Asian(strike=k, maturity=t, kind=kind, n_fixings=3),
    }[product]
    kw = {"n_paths": 1_000, "seed": 4, "backend": backend}
    lo = rg.price(make(k1), model, **kw).value
    hi = rg.price(make(k1 + dk), model, **kw).value
    if kind == "call":
        assert hi <= lo + 1e-12 * spot
    else:
        assert hi >= lo - 1e-12 * spot


@given(
    spot=spots,
    strike=strikes,
    rate=rates,
    t=mats,
    backend=backends,
    dtype=dtypes,
    kind=st.sampled_from(["call", "put"]),
    n_fix=st.integers(1, 6),
)
def test_zero_volatility_limit(spot, strike, rate, t, backend, dtype, kind, n_fix):
    model = rg.GBM(spot=spot, vol=0.0, rate=rate, div=0.005)
    rel = EPS[dtype] * 50
    kw = {"n_paths": 64, "seed": 1, "backend": backend, "dtype": dtype}
    exact = float(rg.bs_price(kind=kind, spot=spot, strike=strike, maturity=t, vol=0.0, rate=rate, div=0.005))
    res = rg.price(rg.European(strike=strike, maturity=t, kind=kind), model, **kw)
    assert res.value == pytest.approx(exact, rel=rel, abs=rel * spot)
    assert res.stderr <= rel * spot
    geo = rg.geometric_asian_price(
        kind=kind, spot=spot, strike=strike, maturity=t, vol=0.0, rate=rate, div=0.005, n_fixings=n_fix
    )
    asian = rg.price(rg.Asian(strike=strike, maturity=t, kind=kind, n_fixings=n_fix, average="geometric"), model, **kw)
    assert asian.value == pytest.approx(geo, rel=rel, abs=rel * spot)


@given(
    spot=spots,
    strike=strikes,
    vol=vols,
    backend=backends,
    dtype=dtypes,
    kind=st.sampled_from(["call", "put"]),
    n_fix=st.integers(1, 6),
    average=st.sampled_from(["arithmetic", "geometric"]),
)
def test_zero_maturity_limit(spot, strike, vol, backend, dtype, kind, n_fix, average):
    model = rg.GBM(spot=spot, vol=vol, rate=0.03)
    intrinsic = max((1 if kind == "call" else -1) * (spot - strike), 0.0)
    kw = {"n_paths": 64, "seed": 1, "backend": backend, "dtype": dtype}
    rel = EPS[dtype] * 10
    for product in (
        rg.European(strike=strike, maturity=0.0, kind=kind),
        rg.Asian(strike=strike, maturity=0.0, kind=kind, n_fixings=n_fix, average=average),
    ):
        res = rg.price(product, model, **kw)
        assert res.value == pytest.approx(intrinsic, rel=rel, abs=rel * spot) and res.stderr <= rel * spot
    dig = rg.price(rg.Digital(strike=strike, maturity=0.0, kind=kind, payout=2.0), model, **kw).value
    assert dig == (2.0 if (spot - strike) * (1 if kind == "call" else -1) > 0 else 0.0)


PRODUCTS = [
    rg.European(strike=100.0, maturity=1.0),
    rg.Asian(strike=95.0, maturity=1.0, n_fixings=4),
    rg.Digital(strike=105.0, maturity=1.0, kind="put"),
]


@given(
    product=st.sampled_from(PRODUCTS),
    dtype=dtypes,
    antithetic=st.booleans(),
    n_tiles=st.integers(2, 40),
    cuts=st.lists(st.integers(1, 39), max_size=4),
    ragged=st.integers(0, 31),
)
def test_split_invariance_whole_tiles_give_identical_bytes(product, dtype, antithetic, n_tiles, cuts, ragged):
    model = rg.GBM(spot=100.0, vol=0.3, rate=0.02)
    n_paths = 2 * (32 * n_tiles - ragged)
    job = make_job(product, model, n_paths=n_paths, n_steps=None, seed=99, dtype=dtype, antithetic=antithetic, stream=0)
    bounds = sorted({0, job.n_tiles, *(c for c in cuts if c < job.n_tiles)})
    for backend in (cpu, reference):
        whole = backend.tile_sums(job, 0, job.n_tiles)
        parts = [backend.tile_sums(job, a, b - a) for a, b in itertools.pairwise(bounds)]
        for i in range(2):
            assert np.concatenate([p[i] for p in parts]).tobytes() == whole[i].tobytes()
        merged = tuple(np.concatenate([p[i] for p in parts]) for i in range(2))
        assert combine(job, *merged) == combine(job, *whole)


def test_split_invariance_on_the_gpu_simulator():
    job = make_job(
        PRODUCTS[1],
        rg.GBM(spot=100.0, vol=0.3, rate=0.02),
        n_paths=100,
        n_steps=None,
        seed=5,
        dtype="float32",
        antithetic=False,
        stream=0,
    )
    whole = gpu.tile_sums(job, 0, job.n_tiles, launch=(1, 64))
    parts = [gpu.tile_sums(job, 0, 1, launch=(1, 32)), gpu.tile_sums(job, 1, job.n_tiles - 1, launch=(2, 32))]
    assert np.concatenate([p[0] for p in parts]).tobytes() == whole[0].tobytes()


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_seed_same_bytes_and_other_seed_or_stream_differs(backend, dtype):
    model = rg.GBM(spot=100.0, vol=0.3, rate=0.02)
    kw = {"n_paths": 3_000, "backend": backend, "dtype": dtype}
    a = rg.price(PRODUCTS[1], model, seed=1, **kw)
    b = rg.price(PRODUCTS[1], model, seed=1, **kw)
    assert (a.value, a.stderr) == (b.value, b.stderr)
    assert rg.price(PRODUCTS[1], model, seed=2, **kw).value != a.value
    assert rg.price(PRODUCTS[1], model, seed=1, stream=1, **kw).value != a.value
