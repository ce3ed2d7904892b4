"""The public pricing API: ``price`` and ``simulate``. Keyword-only arguments; the market is the model."""

from __future__ import annotations

import functools
import math
import time
import types
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from riskgpu import backends as _backends
from riskgpu import exactsum
from riskgpu._checks import dtype_of, finite, positive_int
from riskgpu.backends.job import PricingJob, centred_estimate
from riskgpu.backends.reference import path_data, payoffs
from riskgpu.kernels import TILE
from riskgpu.rng import check_stream, seed_key

if TYPE_CHECKING:
    from riskgpu.lsm import AmericanResult

_Z95 = float(ndtri(0.975))
MODELS = ("GBM", "Heston", "Merton")
PRODUCTS = ("European", "Digital", "Asian", "Barrier", "Lookback", "Basket", "American", "Forward")
#: Random number sources of ``price``: Philox in the kernels (every backend), CuPy's generator (gpu).
RNGS = ("philox", "cupy")


@dataclass(frozen=True)
class PriceResult:
    """A Monte Carlo price: ``value`` with its standard error and 95% confidence interval.

    With a ``tolerance``: ``stopped`` says why the batches stopped, ``"tolerance"`` (``stderr`` at or below
    it) or ``"max_paths"`` (the cap was reached first), and ``n_paths`` counts the paths used.
    With a control variate: ``control`` names it and ``beta`` is its estimated coefficient.
    With ``qmc=True``: ``randomisations`` counts the independent Sobol scramblings the stderr comes from.
    """

    value: float
    stderr: float
    ci95: tuple[float, float]
    n_paths: int
    backend: str
    dtype: str
    elapsed_s: float
    tolerance: float | None = None
    stopped: str | None = None
    control: str | None = None
    beta: float | None = None
    randomisations: int | None = None

    @classmethod
    def of(cls, value: float, stderr: float, **fields: object) -> PriceResult:
        """A result with its 95% interval ``value ± 1.959964 stderr`` derived from the estimate."""
        return cls(value=value, stderr=stderr, ci95=(value - _Z95 * stderr, value + _Z95 * stderr), **fields)

    def to_dict(self) -> dict:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


def _check_pair(product: object, model: object) -> None:
    if not hasattr(product, "accumulator"):
        raise TypeError(f"product must be a riskgpu product ({', '.join(PRODUCTS)}), got {type(product).__name__}")
    if not hasattr(model, "paths_np"):
        raise TypeError(f"model must be a riskgpu model ({', '.join(MODELS)}), got {type(model).__name__}")
    if model.n_assets != product.n_assets:
        raise ValueError(
            f"{type(product).__name__} needs a {product.n_assets}-asset model; "
            f"the {type(model).__name__} has {model.n_assets} assets"
        )


def make_job(
    product: object,
    model: object,
    *,
    n_paths: int,
    n_steps: int | None,
    seed: int,
    dtype: object,
    antithetic: bool,
    stream: int,
) -> PricingJob:
    """Validate the arguments of ``price`` and resolve them into a ``PricingJob``."""
    _check_pair(product, model)
    multi = getattr(product, "multi_asset", False)
    if multi and not hasattr(model, "basket_params"):
        raise ValueError(f"{type(product).__name__} needs a (multi-asset) GBM, got a {type(model).__name__}")
    n_paths = positive_int("price", "n_paths", n_paths, min_value=2)
    if not isinstance(antithetic, bool):
        raise ValueError(f"antithetic must be True or False, got {antithetic!r}")
    if antithetic and n_paths % 2:
        raise ValueError(f"antithetic=True needs an even n_paths (pairs of paths), got {n_paths}")
    n_steps = product.default_steps() if n_steps is None else positive_int("price", "n_steps", n_steps)
    product.check_steps(n_steps)
    dt = np.dtype(dtype_of(dtype))
    key = seed_key(seed)
    stream = check_stream(stream)
    step = product.maturity / n_steps
    disc = math.exp(-model.rate * product.maturity)
    # The drift-only path's payoff centres the tile sums, so sums of squares do not cancel badly.
    zero = np.zeros((1, n_steps * (model.slots + product.slots)), dtype=dt)
    drift_path = path_data(
        model,
        dt=step,
        n_steps=n_steps,
        paths=np.zeros(1, np.uint64),
        key=key,
        stream=stream,
        dtype=dt,
        normals=zero,
        extra_slots=product.slots,
    )
    times = np.linspace(0.0, product.maturity, n_steps + 1)
    shift = float(payoffs(product, model, drift_path, times)[0] * dt.type(disc))
    return PricingJob(
        model=model,
        product=product,
        n_samples=n_paths // 2 if antithetic else n_paths,
        n_steps=n_steps,
        antithetic=antithetic,
        key=key,
        stream=stream,
        dtype=dt,
        mp=model.basket_params(step, dt) if multi else model.kernel_params(step, dt),
        pp=product.kernel_params(n_steps, dt, spot=model.spots, rate=model.rate),
        disc=disc,
        shift=shift,
    )


def combine(job: PricingJob, sums: np.ndarray, sqs: np.ndarray, n: int | None = None) -> tuple[float, float]:
    """Mean and standard error from the tile partials, combined in float64 with exact rounding.

    ``n``: the samples the partials cover (default all of the job's).
    """
    n = job.n_samples if n is None else n
    # exactly rounded (any batching of the tiles gives the same bytes), compiled: no Python float per tile
    s = exactsum.fsum(sums)
    q = exactsum.fsum(sqs)
    return centred_estimate(s, q, n, job.shift)


def price(
    product: object,
    model: object,
    *,
    n_paths: int,
    n_steps: int | None = None,
    seed: int,
    backend: str = "auto",
    dtype: str = "float64",
    antithetic: bool = False,
    stream: int = 0,
    tolerance: float | None = None,
    max_paths: int | None = None,
    control_variate: bool = False,
    qmc: bool = False,
    randomisations: int = 16,
    pilot_paths: int | None = None,
    client: object | None = None,
    tiles_per_task: int | None = None,
    rng: str = "philox",
) -> PriceResult | AmericanResult:
    """Monte Carlo price of ``product`` under ``model``.

    Parameters
    ----------
    n_paths : paths (even with ``antithetic``: pairs of paths with negated normals); with ``tolerance``,
        the size of each batch.
    tolerance : keep adding batches of ``n_paths`` paths (the next counters of the same stream, never
        reused) until ``stderr <= tolerance`` or ``max_paths`` (default ``64 * n_paths``) paths are used;
        ``PriceResult.stopped`` says which. The result is byte-identical to a plain call with the
        ``n_paths`` it reports.
    control_variate : price a control with a known mean on the same paths and subtract ``beta`` times its
        error (``riskgpu.control``: the geometric Asian for arithmetic Asians on GBM, the geometric basket
        for arithmetic baskets, the discounted terminal spot otherwise); ``PriceResult.control`` and
        ``.beta`` report it. With a
        ``tolerance`` the control's batches follow the product's and beta is re-estimated on all the
        tiles so far after each batch.
    qmc : scrambled Sobol points through the inverse normal CDF and a Brownian bridge instead of Philox
        (``riskgpu.qmc``): ``n_paths = randomisations * 2**m``; the stderr is over the ``randomisations``
        independent scramblings (``PriceResult.randomisations``). GBM models and products without their
        own draws; not with antithetic, a control variate or a tolerance.
    pilot_paths : ``American`` only: the paths its Longstaff-Schwartz exercise policy is fitted on
        (default ``min(n_paths, 100_000)``); ``n_paths`` fresh paths then price it out of sample and the
        result is a ``riskgpu.lsm.AmericanResult`` (with the in-sample price and the policy).
    n_steps : time steps (default: the product's, 1 for Europeans, ``n_fixings`` for Asians).
    seed : 64-bit Philox key; ``stream`` separates uses (the counter's fourth word).
    backend : ``"auto"`` (gpu on a real CUDA device, else cpu), ``"reference"``, ``"cpu"``, ``"gpu"``.
    dtype : ``"float64"`` (default) or ``"float32"`` (the fast mode).
    client : a ``dask.distributed.Client``: the tiles of paths are priced as Dask tasks of
        ``tiles_per_task`` whole tiles (``riskgpu.distributed``) and combined in tile order, so the result is
        bitwise that of the same call without a client; ``backend`` is resolved on the workers. An American is
        one task (its regression needs all the pilot paths). Not with ``qmc`` or ``tolerance``.
    rng : ``"philox"`` (default: the counter-based stream every backend shares, drawn inside the fused
        kernels) or ``"cupy"`` (gpu backend: CuPy's generator, seeded from ``(seed, stream)``, writes chunks
        of normals to device memory that the same kernels read; ``riskgpu.kernels.bulk``). ``"cupy"``
        prices the same quantity on other random numbers: checked statistically, not path by path, and
        its bytes depend on the chunking. Single-asset products; not with ``qmc``, a control variate or
        a client.

    Returns
    -------
    PriceResult with ``value``, ``stderr`` (over pair means when antithetic), ``ci95``.
    Tested against Black-Scholes, the geometric Asian closed form and QuantLib within k stderr.
    """
    if not isinstance(control_variate, bool):
        raise ValueError(f"control_variate must be True or False, got {control_variate!r}")
    if not isinstance(qmc, bool):
        raise ValueError(f"qmc must be True or False, got {qmc!r}")
    if rng not in RNGS:
        raise ValueError(f"rng must be one of {', '.join(map(repr, RNGS))}, got {rng!r}")
    if rng == "cupy":
        _refuse("price(rng='cupy') does not take", qmc=qmc, control_variate=control_variate, client=client)
        if getattr(product, "lsm", False) or getattr(product, "multi_asset", False):
            name = type(product).__name__
            raise ValueError(f"price(rng='cupy') takes single-asset European-style products, not {name}")
    if getattr(product, "lsm", False):
        from riskgpu import lsm

        _refuse(
            f"{type(product).__name__} (Longstaff-Schwartz) does not take",
            antithetic=antithetic,
            control_variate=control_variate,
            qmc=qmc,
            tolerance=tolerance,
            max_paths=max_paths,
            tiles_per_task=tiles_per_task,
        )
        run = {"n_paths": n_paths, "seed": seed, "pilot_paths": pilot_paths, "n_steps": n_steps, "dtype": dtype,
               "stream": stream}  # fmt: skip
        if client is None:
            return lsm.price_american(product, model, backend=backend, **run)
        from riskgpu.distributed import resolve_backend, run_tasks

        task = functools.partial(lsm.price_american, backend=resolve_backend(client, backend), **run)
        # the regression needs every pilot path at once: one task
        return run_tasks(client, "lsm", task, [(product, model)], describe=lambda _: type(product).__name__)[0]
    if pilot_paths is not None:
        raise ValueError(f"pilot_paths={pilot_paths!r} applies only to American/Bermudan products")
    if client is None and tiles_per_task is not None:
        raise ValueError(f"price.tiles_per_task={tiles_per_task!r} applies only with a Dask client")
    if client is not None:
        _refuse("price(client=...) does not take (not distributed yet)", qmc=qmc, tolerance=tolerance)
    if qmc:
        return _price_qmc(
            product,
            model,
            n_paths=n_paths,
            n_steps=n_steps,
            seed=seed,
            backend=backend,
            dtype=dtype,
            antithetic=antithetic,
            stream=stream,
            tolerance=tolerance,
            control_variate=control_variate,
            randomisations=randomisations,
        )
    if tolerance is None:
        if max_paths is not None:
            raise ValueError(f"max_paths={max_paths!r} applies only with a tolerance")
        total = n_paths
    else:
        tolerance = finite("price", "tolerance", tolerance, min_value=0.0, strict=True)
        n_paths = positive_int("price", "n_paths", n_paths, min_value=2)
        total = 64 * n_paths if max_paths is None else positive_int("price", "max_paths", max_paths, min_value=2)
        if total < n_paths:
            raise ValueError(f"price.max_paths={total} is below the batch size n_paths={n_paths}")
        if antithetic and total % 2:
            raise ValueError(f"antithetic=True needs an even max_paths (pairs of paths), got {total}")
    job = make_job(
        product, model, n_paths=total, n_steps=n_steps, seed=seed, dtype=dtype, antithetic=antithetic, stream=stream
    )
    from riskgpu.distributed import resolve_backend

    name = resolve_backend(client, backend)
    module = _backends.module(name)
    if rng == "cupy":
        module = _bulk_module(name, backend, seed, job.stream)
    t0 = time.perf_counter()
    control = None
    jobs = [job]
    if control_variate:
        from riskgpu import control as _control

        control_product, mean, control = _control.control_for(product, model)
        c_job = make_job(
            control_product,
            model,
            n_paths=total,
            n_steps=job.n_steps,
            seed=seed,
            dtype=dtype,
            antithetic=antithetic,
            stream=stream,
        )
        jobs.append(c_job)

        def evaluate(sums: list, sqs: list, n: int) -> tuple[float, float, float | None]:
            return _control.estimate(job, sums[0], c_job, sums[1], mean)
    else:

        def evaluate(sums: list, sqs: list, n: int) -> tuple[float, float, float | None]:
            return (*combine(job, sums[0], sqs[0], n), None)

    if client is not None:
        from riskgpu import distributed as _dist

        per = _dist.default_tiles_per_task(client, job.n_tiles) if tiles_per_task is None else tiles_per_task
        parts = [_dist.tile_sums(client, name, j, tiles_per_task=per) for j in jobs]
        value, se, beta = evaluate([p[0] for p in parts], [p[1] for p in parts], job.n_samples)
        used, stopped = n_paths, None
    elif tolerance is None:
        parts = [module.tile_sums(j, 0, j.n_tiles) for j in jobs]
        value, se, beta = evaluate([p[0] for p in parts], [p[1] for p in parts], job.n_samples)
        used, stopped = n_paths, None
    else:
        value, se, beta, used, stopped = _until_tolerance(jobs, module, n_paths, tolerance, evaluate)
    elapsed = time.perf_counter() - t0
    return PriceResult.of(
        value,
        se,
        n_paths=used,
        backend=name,
        dtype=job.dtype.name,
        elapsed_s=elapsed,
        tolerance=tolerance,
        stopped=stopped,
        control=control,
        beta=beta,
    )


def _bulk_module(name: str, backend: str, seed: int, stream: int) -> object:
    """``rng="cupy"``: an object whose ``tile_sums`` draws from one generator for the whole pricing (every
    batch of a tolerance run takes the generator's next normals)."""
    if name != "gpu":
        raise ValueError(
            f"price(rng='cupy') needs the gpu backend (CuPy's generator on a CUDA device); backend={backend!r} "
            f"resolved to {name!r}"
        )
    gpu = _backends.module("gpu")
    generator = gpu.normal_generator(seed, stream)
    return types.SimpleNamespace(tile_sums=functools.partial(gpu.bulk_tile_sums, generator=generator))


def _refuse(what: str, **options: object) -> None:
    """``ValueError("{what} name=value")`` for the first of ``options`` that is set (neither False nor None)."""
    for name, value in options.items():
        if value is not False and value is not None:
            raise ValueError(f"{what} {name}={value!r}")


def _price_qmc(product: object, model: object, *, randomisations: int, **run: object) -> PriceResult:
    """``price(..., qmc=True)``: refuses what QMC does not combine with, then ``riskgpu.qmc.qmc_price``."""
    from riskgpu import qmc as _qmc

    _refuse(
        "qmc=True cannot be combined with",
        antithetic=run["antithetic"],
        control_variate=run["control_variate"],
        tolerance=run["tolerance"],
    )
    randomisations = positive_int("price", "randomisations", randomisations, min_value=2)
    job = make_job(
        product,
        model,
        n_paths=run["n_paths"],
        n_steps=run["n_steps"],
        seed=run["seed"],
        dtype=run["dtype"],
        antithetic=False,
        stream=run["stream"],
    )
    name = _backends.resolve(run["backend"])
    t0 = time.perf_counter()
    value, se, used_r = _qmc.qmc_price(job, randomisations=randomisations, backend=name)
    return PriceResult.of(
        value,
        se,
        n_paths=job.n_samples,
        backend=name,
        dtype=job.dtype.name,
        elapsed_s=time.perf_counter() - t0,
        randomisations=used_r,
    )


def _until_tolerance(jobs: list, module: object, batch_paths: int, tolerance: float, evaluate: object) -> tuple:
    """Batches of whole tiles (``batch_paths`` paths, rounded up to whole tiles) of every job in ``jobs``
    (the product's, then its control's, on the same paths) until ``stderr <= tolerance`` or the tiles are
    spent: ``(value, stderr, beta, paths used, "tolerance" | "max_paths")``. ``evaluate(sums, sqs, n)``
    takes the per-job tile partials so far and the samples they cover and gives ``(value, stderr, beta)``
    (beta None without a control)."""
    job = jobs[0]
    per = 2 if job.antithetic else 1
    batch_tiles = max(1, math.ceil(batch_paths // per / TILE))
    sums = [[] for _ in jobs]
    sqs = [[] for _ in jobs]
    done = 0
    while True:
        n_tiles = min(batch_tiles, job.n_tiles - done)
        for k, j in enumerate(jobs):
            s, q = module.tile_sums(j, done, n_tiles)
            sums[k].append(s)
            sqs[k].append(q)
        done += n_tiles
        n = min(done * TILE, job.n_samples)
        value, se, beta = evaluate([np.concatenate(s) for s in sums], [np.concatenate(q) for q in sqs], n)
        if se <= tolerance:
            return value, se, beta, n * per, "tolerance"
        if done == job.n_tiles:
            return value, se, beta, n * per, "max_paths"


def check_paths_fit(owner: str, model: object, *, n_paths: int, n_steps: int, dtype: np.dtype, extra: int = 0,
                    hint: str, label: str = "paths", backend: str = "cpu") -> None:  # fmt: skip
    """``riskgpu._memory.ensure_fits`` for ``n_paths`` stored paths: the paths ``(n_paths, n_steps + 1,
    n_assets)`` and their normals ``(n_paths, n_steps * slots)`` in ``dtype``, plus ``extra`` bytes; on a
    real GPU (resolved ``backend`` "gpu", not the simulator) the paths and ``extra`` against the device's
    memory as well."""
    from riskgpu._memory import ensure_fits

    item = np.dtype(dtype).itemsize
    path_bytes = n_paths * (n_steps + 1) * model.n_assets * item + extra
    nbytes = path_bytes + n_paths * n_steps * model.slots * item
    what = f"{n_paths:,} {label} x {n_steps + 1} times x {model.n_assets} asset(s) in {np.dtype(dtype).name}"
    ensure_fits(owner, nbytes, what, hint)
    if backend == "gpu" and not _backends.module("gpu").simulated():
        # on the device only the paths (and extra) are held: the kernels write normals in place, and Heston and
        # Merton paths are built on the host and copied over
        ensure_fits(owner, path_bytes, what, hint, device=True)


def simulate(
    model: object,
    *,
    maturity: float,
    n_steps: int,
    n_paths: int,
    seed: int,
    backend: str = "auto",
    dtype: str = "float64",
    stream: int = 0,
) -> object:
    """Spot paths of shape ``(n_paths, n_steps + 1, n_assets)`` at times ``maturity * i / n_steps``.

    Column 0 is today's spot. Returns a numpy array, or a CuPy array on the gpu backend (zero-copy to
    PyTorch/JAX through DLPack). Every backend draws the same paths for the same seed and stream. A
    request larger than the memory available is an ``InsufficientMemoryError`` before anything is allocated.
    """

    if not hasattr(model, "paths_np"):
        raise TypeError(f"model must be a riskgpu model ({', '.join(MODELS)}), got {type(model).__name__}")
    maturity = finite("simulate", "maturity", maturity, min_value=0.0)
    n_steps = positive_int("simulate", "n_steps", n_steps)
    n_paths = positive_int("simulate", "n_paths", n_paths)
    dt = np.dtype(dtype_of(dtype))
    hint = "simulate fewer paths per call (separate calls on other streams draw other paths)"
    name = _backends.resolve(backend)
    check_paths_fit("simulate", model, n_paths=n_paths, n_steps=n_steps, dtype=dt, hint=hint, backend=name)
    # Heston and Merton paths come from the reference implementation on every backend (same numbers).
    runner = name if getattr(model, "kernel_id", None) == "gbm" else "reference"
    paths = _backends.module(runner).simulate(
        model,
        dt=maturity / n_steps,
        n_steps=n_steps,
        n_paths=n_paths,
        key=seed_key(seed),
        stream=check_stream(stream),
        dtype=dt,
    )
    return _backends.module("gpu").xp().asarray(paths) if name == "gpu" and runner != name else paths
