"""Shared check cases for the backends: every (model, product) kind the engine supports, with the
tolerance rule under which a backend must match the reference on the same random numbers.

Used by ``tests/test_exotic_backends.py`` (cpu and the CUDA simulator) and ``benchmarks/gpu_suite.py``
(a real GPU), so the two check the same pairs under the same rule.

Tolerance: ``RTOL * |reference| + FLIPS * CAP * spot * disc / n_samples``. Continuous functions of the
normals agree to ``RTOL`` (float64 1e-9: libm vs numpy ulps through at most 16 steps; float32 5e-5).
Discontinuities can flip a path when a quantity lands within rounding of a threshold (a barrier or
fixing crossing, the Poisson jump count of a Merton step, the QE branch ``psi <= 1.5`` / ``U <= p``,
a digital's strike): ``FLIPS`` such paths are allowed, each worth at most ``CAP`` spots, discounted.
"""

from __future__ import annotations

import numpy as np

import riskgpu as rg

GBM = rg.GBM(spot=100.0, vol=0.3, rate=0.03, div=0.01)
HESTON = {"spot": 100.0, "v0": 0.05, "kappa": 1.2, "theta": 0.04, "xi": 0.9, "rho": -0.6, "rate": 0.02, "div": 0.01}
MERTON = rg.Merton(spot=100.0, vol=0.2, rate=0.03, div=0.0, lam=3.0, jump_mean=-0.05, jump_std=0.12)
BASKET_MODEL = rg.GBM(
    spot=[100.0, 90.0, 110.0],
    vol=[0.2, 0.35, 0.25],
    rate=0.03,
    div=[0.0, 0.01, 0.02],
    corr=[[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]],
)

#: name -> (product, model, n_steps, antithetic): the path-dependent and multi-factor pairs.
EXOTIC_CASES = {
    "heston_qe_european": (rg.European(strike=100.0, maturity=1.0), rg.Heston(**HESTON), 16, False),
    "heston_euler_barrier": (
        rg.Barrier(strike=100.0, maturity=1.0, barrier=85.0, direction="down", rebate=2.0),
        rg.Heston(**HESTON, scheme="euler"),
        15,  # odd: the last step of a two-slot model reads the first half of a Philox block
        True,
    ),
    "heston_qe_asian": (rg.Asian(strike=95.0, maturity=1.0, n_fixings=4, kind="put"), rg.Heston(**HESTON), 8, False),
    "merton_european": (rg.European(strike=95.0, maturity=1.0, kind="put"), MERTON, 8, False),
    "merton_lookback": (rg.Lookback(maturity=1.0, kind="put"), MERTON, 8, True),
    "barrier_discrete_up_in": (
        rg.Barrier(
            strike=100.0, maturity=1.0, barrier=115.0, knock="in", rebate=3.0, monitoring="discrete", n_fixings=4
        ),
        GBM,
        8,
        False,
    ),
    "barrier_knocked_in": (
        rg.Barrier(strike=100.0, maturity=1.0, barrier=120.0, knock="in", knocked=True),
        GBM,
        4,
        False,
    ),
    "barrier_continuous_up_out": (
        rg.Barrier(strike=90.0, maturity=1.0, barrier=130.0, rebate=1.5, kind="call"),
        GBM,
        8,
        False,
    ),
    "lookback_fixed_discrete_seasoned": (
        rg.Lookback(maturity=0.5, strike=105.0, monitoring="discrete", n_fixings=6, running_max=108.0),
        GBM,
        6,
        False,
    ),
    "lookback_continuous_fixed_put": (
        rg.Lookback(maturity=0.5, strike=95.0, kind="put", running_min=97.0),
        GBM,
        5,
        False,
    ),
    "asian_seasoned_arithmetic": (
        rg.Asian(strike=100.0, maturity=0.5, n_fixings=3, past_average=104.0, past_fixings=3),
        GBM,
        6,
        False,
    ),
    "asian_seasoned_geometric": (
        rg.Asian(strike=100.0, maturity=0.5, n_fixings=3, average="geometric", past_average=96.0, past_fixings=2),
        GBM,
        3,
        True,
    ),
    "asian_down_out": (rg.Asian(strike=95.0, maturity=1.0, n_fixings=12, barrier=85.0), GBM, 12, False),
    "basket3": (rg.Basket(strike=100.0, maturity=1.0, weights=[0.3, 0.3, 0.4]), BASKET_MODEL, 2, False),
    "basket_spread_put": (
        rg.Basket(strike=5.0, maturity=0.5, weights=[1.0, -1.0, 0.0], kind="put"),
        BASKET_MODEL,
        1,
        True,
    ),
}
#: Every case: the exotic ones plus the vanilla products on GBM.
CASES = EXOTIC_CASES | {
    "gbm_european_call": (rg.European(strike=105.0, maturity=1.0), GBM, 1, False),
    "gbm_european_put_antithetic": (rg.European(strike=95.0, maturity=0.5, kind="put"), GBM, 1, True),
    "gbm_digital": (rg.Digital(strike=100.0, maturity=1.0, payout=3.0), GBM, 1, False),
    "gbm_asian_arithmetic": (rg.Asian(strike=100.0, maturity=1.0, n_fixings=4), GBM, 4, False),
    "gbm_asian_geometric_put": (
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=4, average="geometric", kind="put"),
        GBM,
        4,
        False,
    ),
}
RTOL = {"float64": 1e-9, "float32": 5e-5}
FLIPS = {"float64": 1, "float32": 3}
CAP = 2.0


def allowance(job: object, ref_value: float) -> float:
    """``RTOL * |ref| + FLIPS * CAP * spot * disc / n_samples`` in the job's dtype ."""
    d = job.dtype.name
    spot = float(np.max(job.model.spots))
    return RTOL[d] * abs(ref_value) + FLIPS[d] * CAP * spot * job.disc / job.n_samples
