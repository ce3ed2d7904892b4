"""The batched "scenario x position" revaluation grid of portfolio VaR: closed forms and fast approximations.

``encode`` turns a book's products into flat arrays (``Grid``); ``revalue`` values every position per unit
in every scenario, each priced as ``advance(product, ...)`` (the product after ``elapsed`` years) in closed
form: Black-Scholes (European, digital), Reiner-Rubinstein and its BGK shift (barriers), the geometric
Asian closed form and Turnbull-Wakeman (arithmetic Asians), Goldman-Sosin-Gatto / Conze-Viswanathan with
BGK (lookbacks), moment matching and the exact geometric law (baskets), a CRR tree (Americans, Bermudans).

Backends: ``"reference"`` loops over the cells calling ``riskgpu.analytic`` on ``advance``'d products (the
oracle); ``"cpu"`` one numba ``prange`` kernel and ``"gpu"`` one CUDA kernel, both running the scalar ports
of ``riskgpu.risk.closed`` through ``riskgpu.risk.closed_grid.cell`` (the column layout of ``params`` is
documented there). Tested: cpu and gpu (simulator, two launch shapes) against the reference to 1e-10.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from riskgpu.risk.closed_grid import FAMILIES, MAX_ASSETS, MAX_TREE, NPARAM

__all__ = ["FAMILIES", "MAX_ASSETS", "MAX_TREE", "NPARAM", "Grid", "advance", "encode", "revalue"]

BACKENDS = ("reference", "cpu", "gpu")


@dataclass(frozen=True)
class Grid:
    """Encoded positions (one row each): what the kernels read (``closed_grid`` documents ``params``)."""

    codes: np.ndarray  # int64 (n_pos,): FAMILIES values
    params: np.ndarray  # float64 (n_pos, NPARAM)
    assets: np.ndarray  # int64 (n_pos, MAX_ASSETS): index of each underlying in the market's list, -1 padding
    weights: np.ndarray  # float64 (n_pos, MAX_ASSETS): basket weights (1 for single-asset), 0 padding
    extra: np.ndarray  # float64 (n_extra,): Bermudan exercise times from today, located by params[:, 5:7]
    products: tuple  # the product objects, for the reference backend
    tree_steps: int


def _family(p: int, product: object) -> str:
    name = type(product).__name__
    if name in ("Spot", "Forward", "European", "Digital", "Barrier", "Lookback", "American"):
        return name.lower()
    if name in ("Asian", "Basket"):
        if name == "Asian" and product.barrier is not None:
            raise ValueError(
                f"position {p}: Asian.barrier={product.barrier!r} (a knock-out Asian) has no closed form; "
                "use revaluation='nested'"
            )
        return f"{name.lower()}_{product.average}"
    raise ValueError(f"position {p}: unsupported product {name} (the grid prices {', '.join(FAMILIES)})")


def encode(
    products: Sequence[object], assets: Sequence[tuple[int, ...]], *, spots: np.ndarray, tree_steps: int = 200
) -> Grid:
    """Encode ``products`` (riskgpu.products, maturities in years from today) for the grid kernels.

    Parameters
    ----------
    products : the positions' products.
    assets : ``assets[p]`` the indices of product ``p``'s underlyings in the market vector (one for a
        single-asset product, ``len(weights)`` for a Basket).
    spots : ``(n_und,)`` today's spots (``params[:, 3]``, the ``spot_today`` of ``advance``).
    tree_steps : CRR steps of Americans, ``1..MAX_TREE``.

    Errors (ValueError) name the position index and the field.
    """
    spots = np.asarray(spots, dtype=np.float64)
    if spots.ndim != 1 or not np.all(np.isfinite(spots)) or not np.all(spots > 0):
        raise ValueError(f"encode: spots must be a 1-d array of finite positive spots, got shape {spots.shape}")
    if isinstance(tree_steps, bool) or not isinstance(tree_steps, (int, np.integer)) or not 1 <= tree_steps <= MAX_TREE:
        raise ValueError(f"encode: tree_steps must be an integer in [1, {MAX_TREE}], got {tree_steps!r}")
    products = tuple(products)
    if len(assets) != len(products):
        raise ValueError(f"encode: assets has {len(assets)} entries for {len(products)} products")
    n = len(products)
    codes = np.zeros(n, dtype=np.int64)
    params = np.zeros((n, NPARAM), dtype=np.float64)
    idx = np.full((n, MAX_ASSETS), -1, dtype=np.int64)
    weights = np.zeros((n, MAX_ASSETS), dtype=np.float64)
    extra: list[float] = []
    for p, product in enumerate(products):
        family = _family(p, product)
        a = tuple(int(i) for i in assets[p])
        n_assets = product.n_assets
        if n_assets > MAX_ASSETS:
            raise ValueError(f"position {p}: Basket.weights has {n_assets} assets, the grid takes {MAX_ASSETS}")
        if len(a) != n_assets:
            raise ValueError(f"position {p}: assets[{p}] has {len(a)} indices for {n_assets} underlyings")
        if any(not 0 <= i < spots.size for i in a):
            raise ValueError(f"position {p}: assets[{p}]={a} outside [0, {spots.size}) (the market's underlyings)")
        codes[p] = FAMILIES[family]
        idx[p, :n_assets] = a
        weights[p, :n_assets] = getattr(product, "weights", (1.0,))
        row = params[p]
        if family != "spot":
            row[0] = getattr(product, "strike", None) or 0.0
            row[1] = product.maturity
            row[2] = -1.0 if getattr(product, "kind", "call") == "put" else 1.0
        row[3] = n_assets if family.startswith("basket") else spots[a[0]]
        if family == "digital":
            row[4] = product.payout
        elif family == "barrier":
            updown = 1.0 if product.direction == "up" else -1.0
            row[4:8] = (product.barrier, updown, product.knock == "out", product.rebate)
            row[8:10] = (product.n_fixings or 0, product.knocked)
        elif family.startswith("asian"):
            row[4:7] = (product.n_fixings, product.past_fixings, product.past_average)
        elif family == "lookback":
            today = spots[a[0]]
            for field, bad in (("running_max", today.__gt__), ("running_min", today.__lt__)):
                value = getattr(product, field)
                if value is not None and bad(value):
                    raise ValueError(f"position {p}: Lookback.{field}={value!r} does not bracket today's spot {today}")
            row[4:6] = (product.strike is None, product.n_fixings or 0)
            row[6] = product.running_max or 0.0
            row[7] = math.inf if product.running_min is None else product.running_min
        elif family == "american":
            row[4] = product.exercise_today
            if not product.exercise_today:
                times = product.exercise_times()
                row[5:7] = (len(extra), len(times))
                extra.extend(times)
    return Grid(codes, params, idx, weights, np.array(extra, dtype=np.float64), products, int(tree_steps))


def _beyond(spot: float, level: float, direction: str) -> bool:
    return spot >= level if direction == "up" else spot <= level


def _advance_american(product: object, elapsed: float, tau: float) -> object:
    if tau == 0.0:
        return dataclasses.replace(product, maturity=0.0, exercise_dates=None, n_exercise=None)
    if product.exercise_today:
        return dataclasses.replace(product, maturity=tau)
    dates = tuple(d - elapsed for d in product.exercise_times() if d - elapsed > 0)
    try:
        return dataclasses.replace(product, maturity=tau, exercise_dates=dates, n_exercise=None)
    except ValueError:  # shifted dates off every uniform grid of <= 10,000 steps: snap them to the finest
        from riskgpu.products.american import MAX_GRID

        steps = sorted({min(MAX_GRID, round(d / tau * MAX_GRID)) for d in dates} - {0} | {MAX_GRID})
        snapped = tuple(tau * i / MAX_GRID for i in steps)
        return dataclasses.replace(product, maturity=tau, exercise_dates=snapped, n_exercise=None)


def advance(product: object, *, spot_today: float, spot: float, elapsed: float) -> object:
    """The product as it stands after ``elapsed`` years (>= 0) when the spot moved from ``spot_today`` to
    ``spot`` (only the two end points of the path are known; ``dataclasses.replace``, validated).

    * every product: maturity ``max(T - elapsed, 0)`` (expired products are worth their intrinsic value).
    * ``elapsed = 0`` is an instantaneous move: ``spot`` replaces ``spot_today``, which is not observed.
    * Barrier, not yet knocked: ``knocked=True`` when ``spot_today`` (``elapsed > 0``) or ``spot`` is at or
      beyond the barrier. A knock-in becomes the vanilla. A knock-out whose ``spot`` is at or beyond the
      barrier stays unknocked: every pricer pays its rebate now, i.e. it is worth its rebate at the horizon
      (paid at the hit, no interest); one hit only by ``spot_today`` is knocked (rebate paid today, gone).
    * Lookback: ``running_max`` / ``running_min`` widened by ``spot`` (and ``spot_today`` if ``elapsed > 0``).
    * Asian: same terms (``n_fixings``, past average and count) over the remaining maturity, i.e. the future
      fixings are re-spaced over ``[0, T - elapsed]`` and no fixing is added: an approximation.
    * American (plain): still American over the remaining maturity (today plus 50 dates of it).
      Bermudan: exercise dates shifted by ``-elapsed``, those ``<= 0`` dropped (when the shifted dates fit no
      uniform grid of ``<= 10,000`` steps they are snapped to the grid ``(T - elapsed) i / 10000``).
    * Basket, Spot: only the maturity changes (Spot has none).

    The kernels (``closed_grid.cell``) implement the same rules.
    """
    if elapsed < 0 or not math.isfinite(elapsed):
        raise ValueError(f"advance: elapsed must be finite and >= 0, got {elapsed!r}")
    name = type(product).__name__
    if name == "Spot":
        return product
    if elapsed == 0 and name not in ("Barrier", "Lookback"):
        return product
    tau = max(product.maturity - elapsed, 0.0)
    if name == "American":
        return _advance_american(product, elapsed, tau)
    if name == "Barrier" and not product.knocked:
        hit_today = elapsed > 0 and _beyond(spot_today, product.barrier, product.direction)
        hit_now = _beyond(spot, product.barrier, product.direction)
        knocked = hit_today or hit_now if product.knock == "in" else hit_today and not hit_now
        return dataclasses.replace(product, maturity=tau, knocked=knocked)
    if name == "Lookback":
        seen = (spot, spot_today) if elapsed > 0 else (spot,)
        hi = max((*seen, *(() if product.running_max is None else (product.running_max,))))
        lo = min((*seen, *(() if product.running_min is None else (product.running_min,))))
        return dataclasses.replace(product, maturity=tau, running_max=hi, running_min=lo)
    return dataclasses.replace(product, maturity=tau)


def _reference_cell(grid: Grid, p: int, s: int, m: dict) -> float:
    """The oracle: ``riskgpu.analytic`` on the ``advance``'d product."""
    from riskgpu import analytic as an
    from riskgpu.risk.closed import seasoned_geometric

    product = grid.products[p]
    name = type(product).__name__
    idx = list(grid.assets[p, : product.n_assets])
    rate, h = float(m["rates"][s]), float(m["elapsed"][s])
    spot, vol, div = float(m["spots"][s, idx[0]]), float(m["vols"][s, idx[0]]), float(m["divs"][idx[0]])
    if name == "Basket":
        mkt = {"spots": m["spots"][s, idx], "vols": m["vols"][s, idx], "corr": m["corr"][np.ix_(idx, idx)]}
        fn = an.geometric_basket_price if product.average == "geometric" else an.basket_price_mm
        tau = max(product.maturity - h, 0.0)
        kw = {"kind": product.kind, "weights": np.array(product.weights), "strike": product.strike, "maturity": tau}
        return fn(**kw, **mkt, rate=rate, divs=m["divs"][idx])
    adv = advance(product, spot_today=float(grid.params[p, 3]), spot=spot, elapsed=h)
    if name == "Spot":
        return spot
    kw = {"spot": spot, "maturity": adv.maturity, "vol": vol, "rate": rate, "div": div}
    if name == "Forward":
        return spot * math.exp(-div * adv.maturity) - adv.strike * math.exp(-rate * adv.maturity)
    kw["kind"] = adv.kind
    if name == "European":
        return float(an.bs_price(**kw, strike=adv.strike))
    if name == "Digital":
        return float(an.digital_price(**kw, strike=adv.strike, payout=adv.payout))
    if name == "Barrier":
        if adv.knocked:
            return 0.0 if adv.knock == "out" else float(an.bs_price(**kw, strike=adv.strike))
        terms = {"strike": adv.strike, "barrier": adv.barrier, "direction": adv.direction, "knock": adv.knock}
        if adv.monitoring == "discrete":
            return an.discrete_barrier_price(**kw, **terms, rebate=adv.rebate, n_fixings=adv.n_fixings)
        return an.barrier_price(**kw, **terms, rebate=adv.rebate)
    if name == "Asian":
        n, past = adv.n_fixings, {"past_fixings": adv.past_fixings, "past_average": adv.past_average}
        if adv.average == "arithmetic":
            return an.asian_price_mm(**kw, strike=adv.strike, n_fixings=n, **past)
        s1, v1, q1 = seasoned_geometric(spot, vol, rate, div, n, adv.past_fixings, adv.past_average)
        return an.geometric_asian_price(**{**kw, "spot": s1, "vol": v1, "div": q1}, strike=adv.strike, n_fixings=n)
    if name == "Lookback":
        extremes = {"running_max": adv.running_max, "running_min": adv.running_min}
        return an.lookback_price(**kw, strike=adv.strike, n_fixings=adv.n_fixings, **extremes)
    times = ((0.0,) if adv.exercise_today else ()) + adv.exercise_times()
    return an.binomial_price(**kw, strike=adv.strike, n_steps=grid.tree_steps, american=True, exercise_times=times)


def _market(grid: Grid, spots: object, vols: object, rates: object, divs: object, corr: object, elapsed: object):  # noqa: ANN202
    """The scenario arrays as C-contiguous float64, shapes checked (errors name the argument and shape)."""
    spots = np.ascontiguousarray(spots, dtype=np.float64)
    if spots.ndim != 2:
        raise ValueError(f"revalue: spots must be (n_scen, n_und), got shape {spots.shape}")
    n_scen, n_und = spots.shape
    shapes = {"vols": (n_scen, n_und), "rates": (n_scen,), "divs": (n_und,), "corr": (n_und, n_und)}
    out = {"spots": spots, "elapsed": np.ascontiguousarray(elapsed, dtype=np.float64)}
    shapes["elapsed"] = (n_scen,)
    for name, arr in (("vols", vols), ("rates", rates), ("divs", divs), ("corr", corr)):
        out[name] = np.ascontiguousarray(arr, dtype=np.float64)
    for name, shape in shapes.items():
        if out[name].shape != shape:
            raise ValueError(f"revalue: {name} must have shape {shape} (spots is {spots.shape}), got {out[name].shape}")
        if not np.all(np.isfinite(out[name])):
            raise ValueError(f"revalue: {name} must be finite")
    for name in ("spots", "vols", "elapsed"):
        if np.any(out[name] < 0) or (name == "spots" and np.any(out[name] == 0)):
            raise ValueError(f"revalue: {name} must be {'> 0' if name == 'spots' else '>= 0'}")
    if grid.assets.size and grid.assets.max() >= n_und:
        raise ValueError(
            f"revalue: the grid uses underlying {grid.assets.max()}, spots has {n_und} (shape {spots.shape})"
        )
    return out


def revalue(
    grid: Grid,
    *,
    spots: np.ndarray,
    vols: np.ndarray,
    rates: np.ndarray,
    divs: np.ndarray,
    corr: np.ndarray,
    elapsed: np.ndarray,
    backend: str,
    launch: tuple[int, int] | None = None,
) -> np.ndarray:
    """Value per unit of every position in every scenario: ``(n_scen, n_pos)`` float64 host numpy.

    Parameters
    ----------
    spots, vols : ``(n_scen, n_und)`` per-scenario spots and vols of the market's underlyings.
    rates : ``(n_scen,)``; divs : ``(n_und,)``; corr : ``(n_und, n_und)``.
    elapsed : ``(n_scen,)`` years passed (the horizon; 0 for today).
    backend : ``"reference"`` | ``"cpu"`` | ``"gpu"`` (resolved: anything else is a ValueError).
    launch : gpu only, ``(grid, block)`` of the CUDA kernel (tests run two; the result does not depend on it).

    Cell ``(s, p)`` is ``advance(product, spot_today=grid.params[p, 3], spot=spots[s, asset],
    elapsed=elapsed[s])`` in closed form. A cell without a value (tree up-probability outside [0, 1],
    arithmetic basket with a non-positive mean) is a ValueError naming the position and scenario.
    Oracle of cpu and gpu: the reference backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"revalue: backend must be one of {BACKENDS} (resolved, not 'auto'), got {backend!r}")
    m = _market(grid, spots, vols, rates, divs, corr, elapsed)
    n_scen, n_pos = m["spots"].shape[0], grid.codes.size
    out = np.empty((n_scen, n_pos), dtype=np.float64)
    if backend == "reference":
        for p in range(n_pos):
            for s in range(n_scen):
                out[s, p] = _reference_cell(grid, p, s, m)
        return out
    args = (grid.codes, grid.params, grid.assets, grid.weights, grid.extra if grid.extra.size else np.zeros(1))
    args += tuple(m[k] for k in ("spots", "vols", "rates", "divs", "corr", "elapsed"))
    if n_scen and n_pos:
        if backend == "cpu":
            from riskgpu.risk.closed_grid import revalue_cpu

            cols = np.arange(n_pos, dtype=np.int64)
            fast = _linear_cpu(grid, m, out)
            if fast is not None:
                cols = np.flatnonzero(~fast).astype(np.int64)
            if cols.size:
                revalue_cpu(out, cols, *args, np.int64(grid.tree_steps))
        else:
            out = _revalue_gpu(args, (n_scen, n_pos), grid.tree_steps, launch)
    bad = np.argwhere(np.isnan(out))
    if bad.size:
        s, p = bad[0]
        raise ValueError(
            f"revalue: position {p} ({type(grid.products[p]).__name__}) has no closed-form value in scenario {s} "
            "(CRR up-probability outside [0, 1]: raise tree_steps; or an arithmetic basket with mean <= 0)"
        )
    return out


def _linear_cpu(grid: Grid, m: dict, out: np.ndarray) -> np.ndarray | None:
    """Fill the Black-Scholes-family columns (spot, forward, European, digital with ``vol sqrt(tau) > 0``)
    with ``closed_grid.revalue_linear_cpu`` when every scenario shares the vols, rate and elapsed time (a
    VaR run); returns the mask of the columns done, or ``None`` when the scenarios differ in those."""
    from riskgpu.risk.closed_grid import revalue_linear_cpu

    vols, rates, elapsed = m["vols"], m["rates"], m["elapsed"]
    if not (np.all(vols == vols[0]) and np.all(rates == rates[0]) and np.all(elapsed == elapsed[0])):
        return None
    codes = grid.codes
    kind = np.select([codes == FAMILIES[f] for f in ("spot", "forward", "european", "digital")], [0, 1, 2, 3], -1)
    a = grid.assets[:, 0]
    strike, phi = grid.params[:, 0], grid.params[:, 2]
    tau = np.maximum(grid.params[:, 1] - elapsed[0], 0.0)
    vol, div, r = vols[0][a], m["divs"][a], rates[0]
    sd = vol * np.sqrt(tau)
    done = (kind == 0) | (kind == 1) | ((kind >= 2) & (sd > 0) & (strike > 0))
    if not done.any():
        return done
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_sd = np.where(sd > 0, 1.0 / sd, 0.0)
        c0 = np.where(sd > 0, ((r - div) * tau - np.log(np.where(strike > 0, strike, 1.0))) * inv_sd + 0.5 * sd, 0.0)
    kr = np.where(kind == 3, grid.params[:, 4], strike) * np.exp(-r * tau)
    cols = np.flatnonzero(done)
    pick = [np.ascontiguousarray(x[cols]) for x in (kind.astype(np.int64), a, phi, c0, inv_sd, sd)]
    fq = np.exp(-div * tau)
    revalue_linear_cpu(out, cols.astype(np.int64), *pick[:2], np.log(m["spots"]), m["spots"], *pick[2:],
                       np.ascontiguousarray(fq[cols]), np.ascontiguousarray(kr[cols]))  # fmt: skip
    return done


def _revalue_gpu(args: tuple, shape: tuple[int, int], tree_steps: int, launch: tuple[int, int] | None) -> np.ndarray:
    from riskgpu.backends import gpu
    from riskgpu.risk.closed_grid import cuda_kernel

    xp = gpu.xp()
    out = xp.empty(shape, dtype=np.float64)
    total = shape[0] * shape[1]
    grid_dim, block = launch if launch is not None else (min(gpu.MAX_GRID, -(-total // gpu.BLOCK)), gpu.BLOCK)
    gpu._launch(cuda_kernel(), grid_dim, block)(out, *(xp.asarray(a) for a in args), np.int64(tree_steps))
    return out if xp is np else xp.asnumpy(out)
