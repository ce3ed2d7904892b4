"""Seasoned state: a product seasoned at step k, run from that step's spot over the same remaining normals,
pays exactly what the unseasoned product run from inception pays on that path.

The paths come from the reference backend with explicit normals: inception draws ``Z`` for all ``N``
steps; the seasoned product's model starts at ``S_k`` and draws ``Z[k * S:]``. Discrete state (past
fixings, running extremes, a knocked flag) is read off the first ``k`` steps. A continuous barrier's
first ``k`` steps leave a survival weight ``w`` rather than a flag, so there the identity is the mixture
``inception = w * seasoned(knocked=False) + (1 - w) * seasoned(knocked=True)``, exact path by path.
Tolerance: 1e-9 relative (``log(S / S_k)`` and ``log(S / S_0)`` round differently).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import riskgpu as rg
from riskgpu.backends.reference import path_data, payoffs
from riskgpu.rng import normals_np

T, N, K_STEP = 1.0, 16, 6  # 16 steps, seasoned after step 6 (t = 0.375)
N_PATHS = 24
MODELS = {
    "gbm": rg.GBM(spot=100.0, vol=0.35, rate=0.04, div=0.01),
    "merton": rg.Merton(spot=100.0, vol=0.25, rate=0.04, div=0.01, lam=2.0, jump_mean=-0.05, jump_std=0.1),
}
F64 = np.dtype("float64")


def _run(product, model, normals, n_steps, maturity):
    data = path_data(
        model,
        dt=maturity / n_steps,
        n_steps=n_steps,
        paths=np.arange(len(normals), dtype=np.uint64),
        key=(0, 0),
        stream=0,
        dtype=F64,
        normals=normals,
        extra_slots=product.slots,
    )
    return payoffs(product, model, data, np.linspace(0.0, maturity, n_steps + 1)), data[0][:, :, 0]


def _inception(product, model):
    n_slots = model.slots + product.slots
    z = normals_np(N * n_slots, np.arange(N_PATHS, dtype=np.uint64), key=(5, 6), stream=3, dtype=F64)
    pay, spots = _run(product, model, z, N, T)
    assert np.ptp(pay) > 0  # the cases are not degenerate
    return z, n_slots, pay, spots


def _seasoned_payoff(seasoned, model, z_row, n_slots, spot_k):
    model_k = dataclasses.replace(model, spot=float(spot_k))
    pay, _ = _run(seasoned, model_k, z_row[None, K_STEP * n_slots :], N - K_STEP, T * (N - K_STEP) / N)
    return float(pay[0])


def _first_steps(product, model, z):
    """Payoff of ``product`` (maturity ``t_k``) over the first ``K_STEP`` steps of the same paths."""
    n_slots = model.slots + product.slots
    pay, _ = _run(product, model, z[:, : K_STEP * n_slots], K_STEP, T * K_STEP / N)
    return pay


REMAINING = T * (N - K_STEP) / N


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("average", ["arithmetic", "geometric"])
@pytest.mark.parametrize("barrier", [None, 92.0])
def test_asian(model_name, average, barrier):
    model = MODELS[model_name]
    full = rg.Asian(strike=98.0, maturity=T, n_fixings=8, average=average, barrier=barrier)
    z, n_slots, pay, spots = _inception(full, model)
    fix_cols = [c for c in range(2, N + 1, 2) if c <= K_STEP]  # fixings every 2 steps
    for j in range(N_PATHS):
        past = spots[j, fix_cols]
        avg = float(np.exp(np.log(past).mean())) if average == "geometric" else float(past.mean())
        knocked = barrier is not None and bool((spots[j, : K_STEP + 1] <= barrier).any())
        seasoned = rg.Asian(
            strike=98.0,
            maturity=REMAINING,
            n_fixings=8 - len(fix_cols),
            average=average,
            past_average=avg,
            past_fixings=len(fix_cols),
            barrier=barrier,
            knocked=knocked,
        )
        got = _seasoned_payoff(seasoned, model, z[j], n_slots, spots[j, K_STEP])
        assert got == pytest.approx(pay[j], rel=1e-9, abs=1e-9), j


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize(
    ("kind", "direction", "knock", "rebate"), [("call", "up", "out", 0.0), ("put", "down", "in", 2.0)]
)
def test_discrete_barrier(model_name, kind, direction, knock, rebate):
    model = MODELS[model_name]
    barrier = 112.0 if direction == "up" else 90.0
    terms = {"strike": 100.0, "kind": kind, "barrier": barrier, "direction": direction, "knock": knock}
    full = rg.Barrier(**terms, maturity=T, rebate=rebate, monitoring="discrete", n_fixings=8)
    z, n_slots, pay, spots = _inception(full, model)
    cols = [c for c in range(2, N + 1, 2) if c <= K_STEP]
    for j in range(N_PATHS):
        seen = spots[j, cols]
        knocked = bool((seen >= barrier).any() if direction == "up" else (seen <= barrier).any())
        seasoned = rg.Barrier(
            **terms, maturity=REMAINING, rebate=rebate, monitoring="discrete", n_fixings=5, knocked=knocked
        )
        got = _seasoned_payoff(seasoned, model, z[j], n_slots, spots[j, K_STEP])
        assert got == pytest.approx(pay[j], rel=1e-9, abs=1e-9), j


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize(
    ("kind", "direction", "knock", "rebate"), [("call", "up", "out", 0.0), ("put", "down", "in", 2.0)]
)
def test_continuous_barrier_is_the_survival_mixture(model_name, kind, direction, knock, rebate):
    model = MODELS[model_name]
    barrier = 125.0 if direction == "up" else 85.0
    terms = {"strike": 100.0, "kind": kind, "barrier": barrier, "direction": direction, "knock": knock}
    full = rg.Barrier(**terms, maturity=T, rebate=rebate)
    z, n_slots, pay, spots = _inception(full, model)
    # survival weight over the first k steps: a zero-strike knock-out call pays w * S_k
    probe = rg.Barrier(strike=0.0, maturity=T * K_STEP / N, barrier=barrier, direction=direction)
    w = _first_steps(probe, model, z) / spots[:, K_STEP]
    assert (w < 1.0).any()  # some paths came near the barrier
    for j in range(N_PATHS):
        alive, dead = (
            _seasoned_payoff(
                rg.Barrier(**terms, maturity=REMAINING, rebate=rebate, knocked=flag),
                model,
                z[j],
                n_slots,
                spots[j, K_STEP],
            )
            for flag in (False, True)
        )
        assert w[j] * alive + (1.0 - w[j]) * dead == pytest.approx(pay[j], rel=1e-9, abs=1e-9), j


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize(("kind", "strike"), [("call", None), ("put", None), ("call", 103.0), ("put", 97.0)])
@pytest.mark.parametrize("monitoring", ["discrete", "continuous"])
def test_lookback(model_name, kind, strike, monitoring):
    model = MODELS[model_name]
    extra = {"n_fixings": 8} if monitoring == "discrete" else {}
    full = rg.Lookback(maturity=T, kind=kind, strike=strike, monitoring=monitoring, **extra)
    z, n_slots, pay, spots = _inception(full, model)
    if monitoring == "discrete":
        cols = [0] + [c for c in range(2, N + 1, 2) if c <= K_STEP]
        hi, lo = spots[:, cols].max(axis=1), spots[:, cols].min(axis=1)
    else:  # the bridge extremes of the first k steps, from floating lookbacks over them: M - S_k and S_k - m
        first = {"maturity": T * K_STEP / N}
        hi = _first_steps(rg.Lookback(**first, kind="put"), model, z) + spots[:, K_STEP]
        lo = spots[:, K_STEP] - _first_steps(rg.Lookback(**first, kind="call"), model, z)
    for j in range(N_PATHS):
        extra_j = {"n_fixings": 5} if monitoring == "discrete" else {}
        seasoned = rg.Lookback(
            maturity=REMAINING,
            kind=kind,
            strike=strike,
            monitoring=monitoring,
            running_max=max(float(hi[j]), float(spots[j, K_STEP])),
            running_min=min(float(lo[j]), float(spots[j, K_STEP])),
            **extra_j,
        )
        got = _seasoned_payoff(seasoned, model, z[j], n_slots, spots[j, K_STEP])
        assert got == pytest.approx(pay[j], rel=1e-9, abs=1e-9), j
