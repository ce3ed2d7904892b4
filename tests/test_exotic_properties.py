"""Invariances of the path-dependent products on shared paths (derandomized hypothesis).

Knock-in + knock-out = vanilla path by path (no rebate), for either monitoring and every model; a
barrier that can never be reached changes nothing; lookbacks bound the vanilla from above.
"""

from __future__ import annotations

import pytest
from conftest import k_sigma
from hypothesis import given
from hypothesis import strategies as st

import riskgpu as rg

MODELS = {
    "gbm": rg.GBM(spot=100.0, vol=0.3, rate=0.03, div=0.01),
    "heston": rg.Heston(spot=100.0, v0=0.05, kappa=1.0, theta=0.04, xi=0.7, rho=-0.6, rate=0.03),
    "merton": rg.Merton(spot=100.0, vol=0.2, rate=0.03, lam=1.0, jump_mean=-0.1, jump_std=0.1),
}
RUN = {"n_paths": 2048, "n_steps": 8, "seed": 99, "backend": "cpu"}


@given(
    model=st.sampled_from(sorted(MODELS)),
    kind=st.sampled_from(["call", "put"]),
    strike=st.floats(80.0, 120.0),
    up=st.booleans(),
    distance=st.floats(0.02, 0.4),
    monitoring=st.sampled_from(["continuous", "discrete"]),
)
def test_knock_in_plus_knock_out_is_the_vanilla(model, kind, strike, up, distance, monitoring):
    barrier = 100.0 * (1.0 + distance if up else 1.0 - distance)
    terms = {"strike": strike, "maturity": 1.0, "kind": kind, "barrier": barrier, "direction": "up" if up else "down"}
    extra = {"monitoring": "discrete", "n_fixings": 4} if monitoring == "discrete" else {}
    m = MODELS[model]
    ko = rg.price(rg.Barrier(**terms, knock="out", **extra), m, **RUN).value
    ki = rg.price(rg.Barrier(**terms, knock="in", **extra), m, **RUN).value
    vanilla = rg.price(rg.European(strike=strike, maturity=1.0, kind=kind), m, **RUN).value
    assert ki + ko == pytest.approx(vanilla, rel=1e-12, abs=1e-12)
    assert ko <= vanilla + 1e-12 and ki <= vanilla + 1e-12


@given(model=st.sampled_from(sorted(MODELS)), kind=st.sampled_from(["call", "put"]), strike=st.floats(80.0, 120.0))
def test_unreachable_barriers_change_nothing(model, kind, strike):
    m = MODELS[model]
    far = {"up": 1e12, "down": 1e-12}
    vanilla = rg.price(rg.European(strike=strike, maturity=1.0, kind=kind), m, **RUN).value
    asian = rg.price(rg.Asian(strike=strike, maturity=1.0, kind=kind, n_fixings=4), m, **RUN).value
    for direction, level in far.items():
        for monitoring in ("continuous", "discrete"):
            extra = {"monitoring": "discrete", "n_fixings": 8} if monitoring == "discrete" else {}
            ko = rg.Barrier(strike=strike, maturity=1.0, kind=kind, barrier=level, direction=direction, **extra)
            # the European runs on the paths-inner cpu kernel (riskgpu.kernels.lanes: the vectorised exp), the
            # barrier on the per-path one (the C library's): the same paths, equal to the last bits of exp
            assert rg.price(ko, m, **RUN).value == pytest.approx(vanilla, rel=1e-13, abs=1e-13)
        knock_out_asian = rg.Asian(
            strike=strike, maturity=1.0, kind=kind, n_fixings=4, barrier=level, direction=direction
        )
        assert rg.price(knock_out_asian, m, **RUN).value == asian


@given(model=st.sampled_from(sorted(MODELS)), kind=st.sampled_from(["call", "put"]), strike=st.floats(80.0, 120.0))
def test_fixed_strike_lookback_dominates_the_vanilla_and_continuous_dominates_discrete(model, kind, strike):
    m = MODELS[model]
    vanilla = rg.price(rg.European(strike=strike, maturity=1.0, kind=kind), m, **RUN).value
    discrete = rg.price(
        rg.Lookback(maturity=1.0, kind=kind, strike=strike, monitoring="discrete", n_fixings=8), m, **RUN
    ).value
    assert discrete >= vanilla - 1e-12  # path by path: the extreme includes S_T
    # the continuous extreme is drawn from extra normals: not path by path, so compare in expectation
    cont = rg.price(rg.Lookback(maturity=1.0, kind=kind, strike=strike), m, **{**RUN, "n_paths": 8192})
    assert cont.value >= discrete - k_sigma(25) * cont.stderr  # one check per hypothesis example
