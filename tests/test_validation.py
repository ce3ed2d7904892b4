"""Bad input is a ValueError naming the field and the value; limits are allowed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskgpu as rg

MODEL = rg.GBM(spot=100.0, vol=0.2, rate=0.03)


@pytest.mark.parametrize("cls", [rg.European, rg.Digital, rg.Asian])
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("strike", -1.0, r"\.strike must be >= 0, got -1\.0"),
        ("strike", math.nan, r"\.strike must be finite, got nan"),
        ("strike", math.inf, r"\.strike must be finite, got inf"),
        ("strike", "100", r"\.strike must be a real number, got '100'"),
        ("maturity", -0.5, r"\.maturity must be >= 0, got -0\.5"),
        ("maturity", math.nan, r"\.maturity must be finite"),
        ("kind", "cal", r"\.kind must be one of 'call', 'put', got 'cal'"),
        ("kind", "CALL", r"\.kind must be one of"),
    ],
)
def test_product_terms_errors_name_field_and_value(cls, field, value, message):
    terms = {"strike": 100.0, "maturity": 1.0, "kind": "call", field: value}
    with pytest.raises(ValueError, match=cls.__name__ + message):
        cls(**terms)


def test_product_specific_errors():
    with pytest.raises(ValueError, match=r"Digital\.payout must be >= 0, got -1"):
        rg.Digital(strike=1.0, maturity=1.0, payout=-1)
    with pytest.raises(ValueError, match=r"Asian\.n_fixings must be an integer >= 1, got 0"):
        rg.Asian(strike=1.0, maturity=1.0, n_fixings=0)
    with pytest.raises(ValueError, match=r"Asian\.n_fixings must be an integer >= 1, got 2\.5"):
        rg.Asian(strike=1.0, maturity=1.0, n_fixings=2.5)
    with pytest.raises(ValueError, match=r"Asian\.average must be one of 'arithmetic', 'geometric', got 'geo'"):
        rg.Asian(strike=1.0, maturity=1.0, average="geo")
    with pytest.raises(TypeError):
        rg.European(100.0, 1.0)  # keyword-only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spot": 0.0}, r"GBM\.spot must be > 0, got 0\.0"),
        ({"spot": -5}, r"GBM\.spot must be > 0"),
        ({"vol": -0.1}, r"GBM\.vol must be >= 0, got -0\.1"),
        ({"vol": math.nan}, r"GBM\.vol must be finite"),
        ({"rate": math.inf}, r"GBM\.rate must be finite"),
        ({"spot": [100, 90], "vol": [0.2, 0.3, 0.4]}, r"GBM\.vol has 3 entries but the model has 2 assets"),
        ({"spot": [100, -90], "vol": 0.2}, r"GBM\.spot\[1\] must be > 0, got -90"),
    ],
)
def test_gbm_errors(kwargs, message):
    args = {"spot": 100.0, "vol": 0.2, "rate": 0.03, **kwargs}
    with pytest.raises(ValueError, match=message):
        rg.GBM(**args)


@pytest.mark.parametrize(
    ("corr", "message"),
    [
        ([[1, 0.5], [0.4, 1]], r"not symmetric: corr\[0, 1\] = 0\.5 but corr\[1, 0\] = 0\.4"),
        ([[1, 0.5], [0.5, 0.9]], r"GBM\.corr\[1, 1\] must be 1 \(unit diagonal\), got 0\.9"),
        ([[1, 1.5], [1.5, 1]], r"GBM\.corr\[0, 1\] must lie in \[-1, 1\], got 1\.5"),
        ([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]], r"not positive semi-definite: smallest eigenvalue -0\.8"),
        ([[1, 0.2], [0.2, 1], [0, 0]], r"shape \(2, 2\) for 2 assets, got shape \(3, 2\)"),
        ([[1, np.nan], [np.nan, 1]], r"GBM\.corr\[0, 1\] must be finite"),
    ],
)
def test_correlation_errors_name_entry_or_eigenvalue(corr, message):
    with pytest.raises(ValueError, match=message):
        rg.GBM(spot=[100, 90, 80][: len(corr[0])], vol=0.2, rate=0.0, corr=corr)


def test_semidefinite_correlation_is_accepted_and_factored():
    m = rg.GBM(spot=[100, 100, 100], vol=0.2, rate=0.0, corr=[[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    low = m.cholesky
    np.testing.assert_allclose(low @ low.T, np.asarray(m.corr), atol=1e-12)
    assert np.all(np.triu(low, 1) == 0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"n_paths": 1}, ValueError, r"price\.n_paths must be an integer >= 2, got 1"),
        ({"n_paths": 1000.0}, ValueError, r"price\.n_paths must be an integer"),
        ({"n_paths": 1001, "antithetic": True}, ValueError, r"antithetic=True needs an even n_paths"),
        ({"antithetic": 1}, ValueError, r"antithetic must be True or False"),
        ({"n_steps": 0}, ValueError, r"price\.n_steps must be an integer >= 1, got 0"),
        ({"dtype": "float16"}, ValueError, r"dtype must be 'float64' or 'float32', got 'float16'"),
        ({"backend": "gpuu"}, ValueError, r"backend must be one of .* got 'gpuu'"),
        ({"seed": -1}, ValueError, r"seed must be an integer in \[0, 2\*\*64\)"),
        ({"stream": 2**32}, ValueError, r"stream must be an integer in \[0, 2\*\*32\)"),
    ],
)
def test_price_argument_errors(kwargs, exc, message):
    args = {"n_paths": 1000, "seed": 1, "backend": "reference", **kwargs}
    with pytest.raises(exc, match=message):
        rg.price(rg.European(strike=100.0, maturity=1.0), MODEL, **args)


def test_asian_steps_must_be_a_multiple_of_fixings():
    with pytest.raises(ValueError, match=r"n_steps must be a multiple of Asian\.n_fixings=4, got 6"):
        rg.price(rg.Asian(strike=100.0, maturity=1.0, n_fixings=4), MODEL, n_paths=64, n_steps=6, seed=1)


def test_single_asset_product_on_basket_model_is_an_error():
    m = rg.GBM(spot=[100, 90], vol=0.2, rate=0.0)
    with pytest.raises(ValueError, match=r"European needs a 1-asset model; the GBM has 2 assets"):
        rg.price(rg.European(strike=100.0, maturity=1.0), m, n_paths=64, seed=1)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="product must be a riskgpu product"):
        rg.price("european", MODEL, n_paths=64, seed=1)
    with pytest.raises(TypeError, match="model must be a riskgpu model"):
        rg.simulate({"spot": 1}, maturity=1.0, n_steps=1, n_paths=2, seed=1)


def test_gpu_backend_is_never_picked_by_auto_under_the_simulator():
    from riskgpu.backends import gpu, resolve

    assert gpu.simulated()
    assert resolve("auto") == "cpu"
    assert rg.backends()["auto"].detail == "-> cpu"


BARRIER = {"strike": 100.0, "maturity": 1.0, "barrier": 120.0}
HESTON = {"spot": 100.0, "v0": 0.04, "kappa": 1.0, "theta": 0.04, "xi": 0.5, "rho": -0.5, "rate": 0.02}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: rg.Barrier(**{**BARRIER, "barrier": 0.0}), r"Barrier\.barrier must be > 0, got 0\.0"),
        (lambda: rg.Barrier(**BARRIER, direction="upp"), r"Barrier\.direction must be one of 'up', 'down', got 'upp'"),
        (lambda: rg.Barrier(**BARRIER, knock="off"), r"Barrier\.knock must be one of 'in', 'out', got 'off'"),
        (lambda: rg.Barrier(**BARRIER, rebate=-1.0), r"Barrier\.rebate must be >= 0, got -1\.0"),
        (lambda: rg.Barrier(**BARRIER, monitoring="daily"), r"Barrier\.monitoring must be one of"),
        (lambda: rg.Barrier(**BARRIER, monitoring="discrete"), r"Barrier\.n_fixings is required"),
        (lambda: rg.Barrier(**BARRIER, n_fixings=12), r"Barrier\.n_fixings=12 needs monitoring='discrete'"),
        (lambda: rg.Barrier(**BARRIER, knocked="yes"), r"Barrier\.knocked must be True or False, got 'yes'"),
        (lambda: rg.Lookback(maturity=1.0, kind="cal"), r"Lookback\.kind must be one of 'call', 'put', got 'cal'"),
        (lambda: rg.Lookback(maturity=1.0, strike=-1.0), r"Lookback\.strike must be >= 0"),
        (lambda: rg.Lookback(maturity=1.0, running_max=0.0), r"Lookback\.running_max must be > 0, got 0\.0"),
        (lambda: rg.Lookback(maturity=1.0, running_max=90.0, running_min=95.0), r"running_min=95\.0 is above"),
        (lambda: rg.Lookback(maturity=1.0, monitoring="discrete"), r"Lookback\.n_fixings is required"),
        (lambda: rg.Asian(strike=1.0, maturity=1.0, past_average=5.0), r"past_average=5\.0 is given but"),
        (lambda: rg.Asian(strike=1.0, maturity=1.0, past_fixings=2), r"Asian\.past_average must be > 0, got 0\.0"),
        (lambda: rg.Asian(strike=1.0, maturity=1.0, past_fixings=-1), r"Asian\.past_fixings must be an integer >= 0"),
        (lambda: rg.Asian(strike=1.0, maturity=1.0, knocked=True), r"Asian\.knocked=True needs a barrier"),
        (lambda: rg.Asian(strike=1.0, maturity=1.0, barrier=-5.0), r"Asian\.barrier must be > 0, got -5\.0"),
        (lambda: rg.Basket(strike=1.0, maturity=1.0, weights=[]), r"Basket\.weights must be a non-empty"),
        (lambda: rg.Basket(strike=1.0, maturity=1.0, weights=[1.0, math.nan]), r"Basket\.weights\[1\] must be finite"),
        (lambda: rg.Heston(**{**HESTON, "v0": -0.01}), r"Heston\.v0 must be >= 0, got -0\.01"),
        (lambda: rg.Heston(**{**HESTON, "rho": -1.5}), r"Heston\.rho must lie in \[-1, 1\], got -1\.5"),
        (lambda: rg.Heston(**{**HESTON, "xi": math.nan}), r"Heston\.xi must be finite, got nan"),
        (lambda: rg.Heston(**HESTON, scheme="QE"), r"Heston\.scheme must be one of 'euler', 'qe', got 'QE'"),
        (lambda: rg.Heston(**{**HESTON, "spot": 0.0}), r"Heston\.spot must be > 0, got 0\.0"),
        (lambda: rg.Merton(spot=100.0, vol=0.2, rate=0.0, lam=-1.0), r"Merton\.lam must be >= 0, got -1\.0"),
        (lambda: rg.Merton(spot=100.0, vol=0.2, rate=0.0, jump_std=-0.1), r"Merton\.jump_std must be >= 0"),
        (lambda: rg.Merton(spot=100.0, vol=-0.2, rate=0.0), r"Merton\.vol must be >= 0, got -0\.2"),
    ],
)
def test_exotic_terms_and_model_errors_name_field_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_pairing_and_grid_errors():
    heston = rg.Heston(**HESTON)
    basket_model = rg.GBM(spot=[100.0, 90.0], vol=[0.2, 0.3], rate=0.0)
    with pytest.raises(ValueError, match=r"Basket needs a 3-asset model; the GBM has 2 assets"):
        rg.price(rg.Basket(strike=1.0, maturity=1.0, weights=[1, 1, 1]), basket_model, n_paths=64, seed=1)
    with pytest.raises(ValueError, match=r"Basket needs a \(multi-asset\) GBM, got a Heston"):
        rg.price(rg.Basket(strike=1.0, maturity=1.0, weights=[1]), heston, n_paths=64, seed=1)
    with pytest.raises(ValueError, match=r"European needs a 1-asset model; the GBM has 2 assets"):
        rg.price(rg.European(strike=1.0, maturity=1.0), basket_model, n_paths=64, seed=1)
    discrete = rg.Barrier(**BARRIER, monitoring="discrete", n_fixings=4)
    with pytest.raises(ValueError, match=r"n_steps must be a multiple of Barrier\.n_fixings=4, got 6"):
        rg.price(discrete, heston, n_paths=64, n_steps=6, seed=1)
    with pytest.raises(ValueError, match=r"Lookback\.running_max=90\.0 is below today's spot 100\.0"):
        rg.price(rg.Lookback(maturity=1.0, running_max=90.0), heston, n_paths=64, seed=1)
    with pytest.raises(TypeError, match=r"model must be a riskgpu model \(GBM, Heston, Merton\)"):
        rg.price(rg.European(strike=1.0, maturity=1.0), object(), n_paths=64, seed=1)


def test_exotic_limits_are_exact():
    """Zero volatility and zero maturity give the deterministic payoffs exactly (no NaN, no noise)."""
    flat = rg.GBM(spot=100.0, vol=0.0, rate=0.05)
    fwd = 100.0 * math.exp(0.05)
    cases = [
        (rg.Barrier(strike=90.0, maturity=1.0, barrier=120.0), math.exp(-0.05) * (fwd - 90.0)),
        (rg.Barrier(strike=90.0, maturity=1.0, barrier=104.0, rebate=2.0), None),  # hit on the way: rebate
        (rg.Lookback(maturity=1.0, kind="put"), 100.0 * math.exp(-0.05) * math.exp(0.05) - 100.0),
        (rg.Lookback(maturity=1.0, kind="call"), math.exp(-0.05) * (fwd - 100.0)),
    ]
    for product, exact in cases:
        for backend in ("reference", "cpu"):
            res = rg.price(product, flat, n_paths=64, seed=1, backend=backend)
            assert res.stderr == pytest.approx(0.0, abs=1e-9)
            if exact is not None:
                assert res.value == pytest.approx(exact, rel=1e-12)
            else:  # the forward path 100 e^{0.05 t} reaches 104 at t = log(1.04)/0.05 = 0.784: step 40 of 50
                assert res.value == pytest.approx(2.0 * math.exp(-0.05 * 40 / 50), rel=1e-9)
    heston = rg.Heston(**HESTON)
    for product in (rg.Barrier(**{**BARRIER, "maturity": 0.0}), rg.Lookback(maturity=0.0, strike=90.0)):
        res = rg.price(product, heston, n_paths=64, seed=1, backend="cpu")
        assert res.value == pytest.approx(10.0 if isinstance(product, rg.Lookback) else 0.0, abs=1e-12)


def test_review_findings_are_errors_naming_the_field():
    with pytest.raises(ValueError, match=r"Barrier\.direction must be one of 'up', 'down', got array"):
        rg.Barrier(**BARRIER, direction=np.array(["up", "down"]))
    with pytest.raises(ValueError, match=r"GBM\.corr must be a matrix of numbers"):
        rg.GBM(spot=[1.0, 1.0], vol=0.2, rate=0.0, corr=[["1", "0.5"], ["0.5", "1"]])
    with pytest.raises(ValueError, match=r"GBM\.corr must be a matrix of numbers"):
        rg.GBM(spot=[1.0, 1.0], vol=0.2, rate=0.0, corr=[[True, False], [False, True]])
    with pytest.raises(ValueError, match=r"Asian\.direction='up' needs a barrier"):
        rg.Asian(strike=1.0, maturity=1.0, direction="up")
    with pytest.raises(ValueError, match=r"Merton\.jump_mean=1000\.0 with Merton\.jump_std=0\.0 gives"):
        rg.Merton(spot=100.0, vol=0.2, rate=0.0, lam=1.0, jump_mean=1e3)
    busy = rg.Merton(spot=100.0, vol=0.2, rate=0.0, lam=200.0, jump_mean=-0.01, jump_std=0.02)
    with pytest.raises(ValueError, match=r"Merton\.lam \* dt = 200 \* 1 = 200 jumps a step exceeds 10.*at least 20x"):
        rg.price(rg.European(strike=100.0, maturity=1.0), busy, n_paths=64, seed=1)
    res = rg.price(rg.European(strike=100.0, maturity=1.0), busy, n_paths=20_000, n_steps=40, seed=1)
    exact = rg.analytic.merton_price(
        kind="call",
        strike=100.0,
        maturity=1.0,
        spot=100.0,
        vol=0.2,
        rate=0.0,
        lam=200.0,
        jump_mean=-0.01,
        jump_std=0.02,
    )
    assert abs(res.value - exact) < 6 * res.stderr


def test_merton_float32_jump_count_does_not_run_on_in_the_far_tail():
    """float32 rounding leaves the running Poisson tail at +-1e-7 instead of 0; a jump-count normal
    beyond ~5 used to run the search to the 64-jump cap. Both the kernel step and its numpy twin.
    float64: P(N > 12) = 2.6e-7 > 1 - Phi(5.2) = 1.0e-7 > P(N > 13) = 3.7e-8 for Poisson(2.041): 13 jumps."""
    from riskgpu.models.merton import _step

    model = rg.Merton(spot=100.0, vol=0.2, rate=0.0, lam=2.041, jump_mean=0.1, jump_std=0.1)
    counts = {}
    for name in ("float64", "float32"):
        dt = np.dtype(name)
        mp = model.kernel_params(1.0, dt)
        z = np.array([[[0.0, 5.2, 0.0]]], dtype=dt)  # one path, one step: the jump count's normal is 5.2
        spots, _ = model.paths_np(z, dt=1.0, dtype=dt)
        (x,), _ = _step((dt.type(0.0),), dt.type(0.0), dt.type(5.2), dt.type(0.0), mp)
        n = (float(np.log(spots[0, 1, 0] / 100.0)) - float(mp[1])) / 0.1  # x = drift + n * jump_mean here
        counts[name] = round(n)
        assert float(x) == pytest.approx(float(np.log(spots[0, 1, 0] / 100.0)), rel=1e-5, abs=1e-5)
    # float32 resolves the tail only to ~16 eps: it may stop one jump short there, never run to the cap
    assert counts["float64"] == 13 and counts["float32"] in (12, 13), counts


def test_a_request_larger_than_memory_is_refused_before_allocating(monkeypatch):
    """``simulate`` and the Longstaff-Schwartz pilot keep their paths: with 64 MiB available, 1,000,000 paths of
    252 steps (about 3.8 GiB with the normals) are an ``InsufficientMemoryError`` naming the sizes and what to
    change; small requests and the fused ``price`` (flat memory) go through."""
    from riskgpu import _memory

    monkeypatch.setattr(_memory, "available_bytes", lambda: 64 * 2**20)
    gbm = rg.GBM(spot=100.0, vol=0.2, rate=0.01)
    message = r"^simulate: 1,000,000 paths x 253 times x 1 asset\(s\) in float64 needs about 3\.8 GiB, more than 90%"
    with pytest.raises(rg.InsufficientMemoryError, match=message + r" of the 64\.0 MiB .*simulate fewer paths"):
        rg.simulate(gbm, maturity=1.0, n_steps=252, n_paths=1_000_000, seed=1, backend="cpu")
    american = rg.American(kind="put", strike=100.0, maturity=1.0, n_exercise=252)
    with pytest.raises(rg.InsufficientMemoryError, match=r"^price_american: 1,000,000 pilot paths .*lower pilot_paths"):
        rg.price(american, gbm, n_paths=1_000_000, pilot_paths=1_000_000, seed=1, backend="cpu")
    assert rg.simulate(gbm, maturity=1.0, n_steps=10, n_paths=100, seed=1, backend="cpu").shape == (100, 11, 1)
    euro = rg.European(kind="call", strike=100.0, maturity=1.0)
    assert rg.price(euro, gbm, n_paths=1_000_000, seed=1, backend="cpu").n_paths == 1_000_000
    monkeypatch.setattr(_memory, "available_bytes", lambda: None)  # unknown: no check
    _memory.ensure_fits("x", 10**18, "a lot", "nothing")


def test_a_request_larger_than_gpu_memory_is_refused_before_allocating(monkeypatch):
    """On a real GPU the stored paths live in device memory: checked against the device's free memory too,
    the paths alone (no normals are stored there); here a device with 64 MiB free is pretended, and the
    simulator itself is never checked."""
    from riskgpu import _memory
    from riskgpu.api import check_paths_fit
    from riskgpu.backends import gpu

    gbm = rg.GBM(spot=100.0, vol=0.2, rate=0.01)
    monkeypatch.setattr(_memory, "device_available_bytes", lambda: 64 * 2**20)
    # under the simulator the gpu backend keeps host memory: only the host check applies
    check_paths_fit("simulate", gbm, n_paths=40_000, n_steps=252, dtype=np.dtype("float64"), hint="", backend="gpu")
    monkeypatch.setattr(gpu, "simulated", lambda: False)
    message = r"^simulate: 40,000 paths x 253 times x 1 asset\(s\) in float64 needs about 77\.2 MiB, more than 90%"
    with pytest.raises(rg.InsufficientMemoryError, match=message + r" of the 64\.0 MiB of GPU memory available"):
        rg.simulate(gbm, maturity=1.0, n_steps=252, n_paths=40_000, seed=1, backend="gpu")
    american = rg.American(kind="put", strike=100.0, maturity=1.0, n_exercise=252)
    with pytest.raises(rg.InsufficientMemoryError, match=r"^price_american: 40,000 pilot paths .* of GPU memory"):
        rg.price(american, gbm, n_paths=40_000, pilot_paths=40_000, seed=1, backend="gpu")
    monkeypatch.setattr(_memory, "device_available_bytes", lambda: None)  # no device information: no check
    _memory.ensure_fits("x", 10**18, "a lot", "nothing", device=True)


def test_device_memory_is_unknown_without_a_device():
    from riskgpu import _memory

    assert _memory.device_available_bytes() is None or _memory.device_available_bytes() > 0


def test_available_memory_is_known_here():
    from riskgpu import _memory

    avail = _memory.available_bytes()
    assert avail is None or avail > 0
