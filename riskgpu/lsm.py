"""Longstaff-Schwartz least-squares Monte Carlo for American and Bermudan options (``riskgpu.American``).

Method
------
1. Pilot: ``pilot_paths`` paths on the exercise grid (``riskgpu.api.simulate``). Backward over the
   exercise dates, the discounted realised cash flow of each in-the-money path is regressed on
   polynomials of ``S / strike`` (``basis``), in float64, by least squares (``xp.linalg.lstsq`` on
   unit-norm columns); a path is exercised where its exercise value beats the fitted continuation.
   The coefficients ``(n_dates - 1, degree + 1)`` are the exercise policy (``LSMPolicy``).
2. Out of sample: ``n_paths`` fresh paths, in batches of at most ``max_batch_points`` path points,
   follow the policy (first date where it says exercise; the payoff at the last date; never when the
   payoff is 0). Their mean is a low-biased price (a feasible policy), the pilot's own mean the
   in-sample, typically high-biased price; both are reported.
3. A plain American may also be exercised today: when the intrinsic value beats the pilot's
   continuation value the option is exercised now (value = intrinsic, stderr 0).

Random streams: simulate cannot start at a path offset, so the pilot and every out-of-sample batch
draw from their own Philox stream, ``lsm_stream(stream, role, batch)``: a Philox hash of the caller's
``stream``, the role (``PILOT``/``OUT_OF_SAMPLE``) and the batch number under the ``STREAM_LSM`` tag.
The batch size depends only on ``n_steps`` and ``max_batch_points``, so the same arguments give the
same bytes; changing ``max_batch_points`` changes the paths (unlike ``riskgpu.price``, whose tiles do
not depend on the batching). A bumped revaluation with the same seed and stream and ``policy=`` the
base policy sees the same paths and the same exercise rule (common random numbers for Greeks).

Backends: the paths come from ``simulate`` on the chosen backend (numpy on reference and cpu, CuPy on
the gpu backend); all the array work is written against that array module ``xp``, so on a GPU the
regressions run in CuPy on the device and only scalars (sums, the tiny coefficient matrix) come back
to the host. Under numba's CUDA simulator ``xp`` is numpy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from scipy.special import ndtri

from riskgpu._checks import dtype_of, positive_int
from riskgpu.backends import array_module, to_host
from riskgpu.backends.job import centred_estimate
from riskgpu.rng import check_stream, philox4x32_np

#: Tag of the LSM streams (the Philox counter's fourth word of the stream hash).
STREAM_LSM = 4
#: Roles hashed into the stream id: the pilot (policy fit) and the out-of-sample batches.
PILOT = 0
OUT_OF_SAMPLE = 1
#: Default bound on the path points (paths x (n_steps + 1)) simulated at once out of sample.
MAX_BATCH_POINTS = 2**22
#: Default pilot size: ``min(n_paths, DEFAULT_PILOT_PATHS)``.
DEFAULT_PILOT_PATHS = 100_000
#: A date is regressed only with at least this many in-the-money pilot paths per coefficient;
#: otherwise its row of coefficients is NaN and the policy never exercises there (but at maturity).
MIN_ITM_PER_COEF = 2

_Z95 = float(ndtri(0.975))


def lsm_stream(stream: int, role: int, batch: int) -> int:
    """Stream id (uint32) of the pilot (``role=PILOT``, ``batch=0``) or out-of-sample batch ``batch``.

    Word 0 of Philox4x32-10 at counter ``(batch, role, stream, STREAM_LSM)``, key 0: distinct, well
    mixed ids for every (stream, role, batch).
    """
    out = philox4x32_np(np.uint32(batch), np.uint32(role), np.uint32(check_stream(stream)), STREAM_LSM, 0, 0)
    return int(out[0])


def basis(x: object, *, degree: int, kind: str, xp: ModuleType = np) -> object:
    """Regression basis ``(n, degree + 1)`` float64 at ``x = S / strike`` ``(n,)``.

    ``"laguerre"``: ``L_k(x)``; ``"hermite"``: probabilists' ``He_k(x - 1)``; ``"power"``: ``x**k``;
    ``k = 0..degree`` by the three-term recurrences. All three span the polynomials of ``degree``, so
    the fitted continuation values agree up to rounding; the orthogonal ones are better conditioned.
    """
    x = xp.asarray(x, dtype=xp.float64)
    cols = [xp.ones_like(x)]
    if kind == "laguerre":
        cols.append(1.0 - x)
        for k in range(1, degree):
            cols.append(((2 * k + 1 - x) * cols[k] - k * cols[k - 1]) / (k + 1))
    elif kind == "hermite":
        z = x - 1.0
        cols.append(z)
        for k in range(1, degree):
            cols.append(z * cols[k] - k * cols[k - 1])
    elif kind == "power":
        for _ in range(degree):
            cols.append(cols[-1] * x)
    else:
        raise ValueError(f"basis kind must be one of 'laguerre', 'hermite', 'power', got {kind!r}")
    return xp.stack(cols[: degree + 1], axis=1)


def _solve(a: object, y: object, xp: ModuleType) -> object:
    """Least squares ``a @ beta ~ y`` in float64 on unit-norm columns (scaled back)."""
    norms = xp.sqrt(xp.sum(a * a, axis=0))
    norms = xp.where(norms > 0, norms, 1.0)
    beta = xp.linalg.lstsq(a / norms, y, rcond=None)[0]
    return beta / norms


def _columns(paths: object, steps: np.ndarray, xp: ModuleType) -> object:
    """Spots at the exercise steps ``(n_paths, n_dates)`` in float64 from ``(n_paths, n_steps + 1[, 1])``."""
    s = paths[:, :, 0] if paths.ndim == 3 else paths
    return xp.asarray(s[:, xp.asarray(steps)], dtype=xp.float64)


def _dates(times: object, product: object) -> tuple[np.ndarray, np.ndarray]:
    """Exercise steps and times ``(n_dates,)`` on the simulation grid ``times`` ``(n_steps + 1,)``."""
    times = np.asarray(to_host(times), dtype=np.float64)
    steps = product.exercise_steps(len(times) - 1)
    return steps, times[steps]


def fit_policy(
    paths: object, times: object, product: object, model: object, xp: ModuleType = np, *, scale: float | None = None
) -> object:
    """Fit the exercise policy by backward induction on the pilot ``paths``.

    Parameters
    ----------
    paths : spots ``(n_paths, n_steps + 1)`` or ``(n_paths, n_steps + 1, 1)`` on the grid ``times``
        ``(n_steps + 1,)`` (numpy), which contains the product's exercise dates.
    scale : the unit of ``S`` in the basis (default ``product.scale(spot)``, the strike).

    Returns
    -------
    coefficients ``(n_dates - 1, degree + 1)`` float64 in ``xp``: row ``j`` gives the continuation value
    at exercise date ``j`` as ``basis(S / scale) @ row``; a NaN row means no exercise at that date
    (fewer than ``MIN_ITM_PER_COEF * (degree + 1)`` in-the-money paths). Tested through the prices it
    yields against the CRR tree with the same exercise dates.
    """
    steps, t = _dates(times, product)
    scale = product.scale(float(model.spots[0])) if scale is None else scale
    s = _columns(paths, steps, xp)
    n_dates, width = s.shape[1], product.degree + 1
    rows = [None] * (n_dates - 1)
    v = product.intrinsic(s[:, -1], xp)
    for j in range(n_dates - 2, -1, -1):
        v = v * math.exp(-model.rate * (t[j + 1] - t[j]))
        h = product.intrinsic(s[:, j], xp)
        itm = xp.nonzero(h > 0.0)[0]
        if int(itm.size) < MIN_ITM_PER_COEF * width:
            rows[j] = xp.full(width, xp.nan, dtype=xp.float64)
            continue
        a = basis(s[itm, j] / scale, degree=product.degree, kind=product.basis, xp=xp)
        beta = _solve(a, v[itm], xp)
        rows[j] = beta
        take = itm[h[itm] > a @ beta]
        v[take] = h[take]
    if not rows:
        return xp.zeros((0, width), dtype=xp.float64)
    return xp.stack(rows)


def exercise_values(
    paths: object,
    times: object,
    product: object,
    model: object,
    coefficients: object,
    xp: ModuleType = np,
    *,
    scale: float | None = None,
) -> object:
    """Discounted cash flow ``(n_paths,)`` float64 of each path under the policy ``coefficients``.

    Each path is exercised at the first date ``j`` where its payoff is positive and beats the
    continuation ``basis(S / scale) @ coefficients[j]`` (at the last date: the payoff), and is worth that
    payoff times ``exp(-rate t_j)``. Shapes as ``fit_policy``. With one exercise date (at maturity) this
    is the discounted European payoff, path by path (tested).
    """
    steps, t = _dates(times, product)
    scale = product.scale(float(model.spots[0])) if scale is None else scale
    s = _columns(paths, steps, xp)
    coefficients = xp.asarray(coefficients, dtype=xp.float64)
    n, n_dates = s.shape
    value = xp.zeros(n, dtype=xp.float64)
    alive = xp.ones(n, dtype=bool)
    for j in range(n_dates):
        h = product.intrinsic(s[:, j], xp)
        if j < n_dates - 1:
            cont = basis(s[:, j] / scale, degree=product.degree, kind=product.basis, xp=xp) @ coefficients[j]
            ex = alive & (h > 0.0) & (h > cont)
        else:
            ex = alive
        value = xp.where(ex, h * math.exp(-model.rate * t[j]), value)
        alive = alive & ~ex
    return value


@dataclass(frozen=True, eq=False)
class LSMPolicy:
    """A fitted exercise policy: pass it as ``price_american(..., policy=)`` to reuse it (bumped Greeks).

    ``coefficients`` ``(n_dates - 1, degree + 1)`` float64 (numpy, on the host), ``times`` the exercise
    dates it was fitted on, ``scale`` the unit of ``S`` in the basis, ``exercise_today`` whether the
    pilot said to exercise today (plain Americans only).
    """

    coefficients: np.ndarray
    times: tuple[float, ...]
    basis: str
    degree: int
    kind: str
    scale: float
    exercise_today: bool


@dataclass(frozen=True, eq=False)
class AmericanResult:
    """Longstaff-Schwartz price.

    ``value``, ``stderr``, ``ci95``: the out-of-sample (low-biased) price from ``n_paths`` fresh paths in
    ``n_batches`` batches; ``in_sample``, ``in_sample_stderr``: the pilot's own price (typically
    high-biased; ``None`` when a given ``policy`` was reused); ``pilot_paths`` (0 when reused);
    ``exercised_today``: the policy exercises now (value = intrinsic, stderr 0, no paths); ``policy``
    the ``LSMPolicy`` used.
    """

    value: float
    stderr: float
    ci95: tuple[float, float]
    n_paths: int
    in_sample: float | None
    in_sample_stderr: float | None
    pilot_paths: int
    n_steps: int
    n_batches: int
    exercised_today: bool
    policy: LSMPolicy
    backend: str
    dtype: str
    elapsed_s: float

    def to_dict(self) -> dict:
        """The fields as a plain dict (JSON-ready; the policy's coefficients as nested lists)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "policy"}
        p = self.policy
        out["policy"] = {
            "coefficients": p.coefficients.tolist(),
            "times": list(p.times),
            "basis": p.basis,
            "degree": p.degree,
            "kind": p.kind,
            "scale": p.scale,
            "exercise_today": p.exercise_today,
        }
        return out


def _mean_se(values: object, xp: ModuleType, shift: float) -> tuple[float, float, float]:
    """``(sum(v - shift), sum((v - shift)^2), n)`` as host floats."""
    d = values - shift
    return float(xp.sum(d)), float(xp.sum(d * d)), float(values.shape[0])


def _check_policy(policy: object, product: object) -> LSMPolicy:
    if not isinstance(policy, LSMPolicy):
        raise TypeError(f"policy must be an LSMPolicy (AmericanResult.policy), got {type(policy).__name__}")
    n_dates = len(product.exercise_times())
    want = (n_dates - 1, product.degree + 1)
    if policy.coefficients.shape != want or (policy.basis, policy.kind) != (product.basis, product.kind):
        raise ValueError(
            f"policy does not fit this American: coefficients {policy.coefficients.shape}, basis {policy.basis!r}, "
            f"kind {policy.kind!r}; the product needs {want}, basis {product.basis!r}, kind {product.kind!r}"
        )
    return policy


def out_of_sample(
    product: object,
    model: object,
    policy: LSMPolicy,
    *,
    n_paths: int,
    n_steps: int,
    seed: int,
    backend: str,
    dtype: np.dtype,
    stream: int,
    max_batch_points: int,
    xp: ModuleType,
) -> Iterator[object]:
    """Discounted cash flows ``(batch,)`` float64 (``xp`` arrays) of ``n_paths`` fresh paths following
    ``policy``, batch by batch (``max_batch_points // (n_steps + 1)`` paths each, batch ``b`` on stream
    ``lsm_stream(stream, OUT_OF_SAMPLE, b)``): the same paths for the same arguments, so bumped models
    and products see common random numbers."""
    from riskgpu.api import simulate

    times = np.linspace(0.0, product.maturity, n_steps + 1)
    run = {"maturity": product.maturity, "n_steps": n_steps, "seed": seed, "backend": backend, "dtype": dtype}
    per_batch = max_batch_points // (n_steps + 1)
    coefs = xp.asarray(policy.coefficients)
    for b, start in enumerate(range(0, n_paths, per_batch)):
        paths = simulate(
            model, n_paths=min(per_batch, n_paths - start), stream=lsm_stream(stream, OUT_OF_SAMPLE, b), **run
        )
        yield exercise_values(paths, times, product, model, coefs, xp, scale=policy.scale)


def price_american(
    product: object,
    model: object,
    *,
    n_paths: int,
    seed: int,
    pilot_paths: int | None = None,
    n_steps: int | None = None,
    backend: str = "auto",
    dtype: str = "float64",
    stream: int = 0,
    policy: LSMPolicy | None = None,
    max_batch_points: int = MAX_BATCH_POINTS,
) -> AmericanResult:
    """Longstaff-Schwartz price of an ``American`` (or Bermudan) under a single-asset ``model``.

    Parameters
    ----------
    n_paths : out-of-sample paths (the reported price).
    pilot_paths : paths the policy is fitted on, held in memory at once (default
        ``min(n_paths, 100_000)``); ignored with ``policy``.
    n_steps : simulation steps, a multiple of the exercise grid (default: the grid; more for Heston
        and Merton discretisation, GBM steps are exact).
    seed, stream : Philox key and the caller's stream; the pilot and each batch use
        ``lsm_stream(stream, role, batch)``.
    backend : ``"auto"``, ``"reference"``, ``"cpu"`` or ``"gpu"`` (regressions in CuPy on the device).
    dtype : paths in ``"float64"`` or ``"float32"``; the regressions and sums are float64 either way.
    policy : reuse a fitted ``LSMPolicy`` (no pilot; same basis, degree, kind and number of dates):
        bumped revaluations for Greeks. Row ``j`` applies at the product's ``j``-th exercise date (a
        maturity bump moves the dates with it), and today's exercise decision is the policy's.
    max_batch_points : bound on ``paths x (n_steps + 1)`` simulated at once out of sample.

    Returns
    -------
    AmericanResult. Tested against the CRR tree (``riskgpu.analytic.binomial_price``, 2000+ steps)
    with the same exercise dates and with continuous exercise; one exercise date against the European.
    """
    from riskgpu.api import simulate
    from riskgpu.backends import resolve

    if not getattr(product, "lsm", False):
        raise TypeError(f"product must be a riskgpu.American, got {type(product).__name__}")
    if not hasattr(model, "paths_np"):
        raise TypeError(f"model must be a riskgpu model (GBM, Heston, Merton), got {type(model).__name__}")
    if model.n_assets != 1:
        raise ValueError(f"American needs a 1-asset model; the {type(model).__name__} has {model.n_assets} assets")
    n_paths = positive_int("price_american", "n_paths", n_paths, min_value=2)
    if pilot_paths is None:
        pilot_paths = min(n_paths, DEFAULT_PILOT_PATHS)
    pilot_paths = positive_int("price_american", "pilot_paths", pilot_paths, min_value=2)
    n_steps = product.default_steps() if n_steps is None else positive_int("price_american", "n_steps", n_steps)
    product.check_steps(n_steps)
    max_batch_points = positive_int("price_american", "max_batch_points", max_batch_points, min_value=n_steps + 1)
    dt = dtype_of(dtype)
    stream = check_stream(stream)
    name = resolve(backend)
    if policy is None:  # the pilot is held at once, with float64 cash flows and regressors per path and date
        from riskgpu.api import check_paths_fit

        check_paths_fit("price_american", model, n_paths=pilot_paths, n_steps=n_steps, dtype=np.dtype(dt),
                        extra=2 * pilot_paths * (n_steps + 1) * 8,
                        hint="lower pilot_paths (n_paths are priced in batches of max_batch_points)",
                        label="pilot paths", backend=name)  # fmt: skip
    xp = array_module(name)
    if policy is not None:
        policy = _check_policy(policy, product)
    t0 = time.perf_counter()

    spot = float(model.spots[0])
    today = float(product.intrinsic(spot))
    maturity = product.maturity
    times = np.linspace(0.0, maturity, n_steps + 1)
    run = {"maturity": maturity, "n_steps": n_steps, "seed": seed, "backend": name, "dtype": dt}
    run_oos = {"n_steps": n_steps, "seed": seed, "backend": name, "dtype": dt, "max_batch_points": max_batch_points}
    in_sample = in_sample_se = None
    used_pilot = 0
    if policy is None:
        scale = product.scale(spot)
        if maturity == 0.0:
            coefs = np.zeros((0, product.degree + 1))
            in_sample, in_sample_se = today, 0.0
        else:
            pilot = simulate(model, n_paths=pilot_paths, stream=lsm_stream(stream, PILOT, 0), **run)
            c = fit_policy(pilot, times, product, model, xp, scale=scale)
            values = exercise_values(pilot, times, product, model, c, xp, scale=scale)
            del pilot
            shift = float(values[0])
            in_sample, in_sample_se = centred_estimate(*_mean_se(values, xp, shift), shift)
            coefs = np.asarray(to_host(c))
            used_pilot = pilot_paths
        now = product.exercise_today and today > in_sample
        if product.exercise_today:
            in_sample = max(in_sample, today)
        policy = LSMPolicy(
            coefficients=np.array(coefs, dtype=np.float64),
            times=product.exercise_times(),
            basis=product.basis,
            degree=product.degree,
            kind=product.kind,
            scale=scale,
            exercise_today=bool(now),
        )

    if policy.exercise_today or maturity == 0.0:
        value, se, used, batches = today, 0.0, 0, 0
    else:
        s = q = 0.0
        shift = None
        batches = 0
        for values in out_of_sample(product, model, policy, n_paths=n_paths, xp=xp, stream=stream, **run_oos):
            if shift is None:
                shift = float(xp.mean(values))
            ds, dq, _ = _mean_se(values, xp, shift)
            s, q, batches = s + ds, q + dq, batches + 1
        value, se = centred_estimate(s, q, float(n_paths), shift)
        used = n_paths
    return AmericanResult(
        value=value,
        stderr=se,
        ci95=(value - _Z95 * se, value + _Z95 * se),
        n_paths=used,
        in_sample=in_sample,
        in_sample_stderr=in_sample_se,
        pilot_paths=used_pilot,
        n_steps=n_steps,
        n_batches=batches,
        exercised_today=bool(policy.exercise_today or maturity == 0.0),
        policy=policy,
        backend=name,
        dtype=dt.name,
        elapsed_s=time.perf_counter() - t0,
    )
