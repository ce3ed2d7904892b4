"""Work on a Dask cluster: deterministic tasks, combined by task index, never by completion order.

DESIGN.md section 4: a counter-based stream and fixed tiles of paths make each tile's sums a function of the
job and the tile index alone, and every revaluation cell a function of its position and scenario alone, so
any split into tasks, on any worker, gives the same bytes as one process. The splits:

- ``tile_sums``: a pricing's tiles, ``tiles_per_task`` whole tiles per task (``rg.price(..., client=)``);
- ``revalue`` / ``nested``: a VaR revaluation as position blocks x scenario blocks (``rg.var(..., client=)``);
- ``value_positions``: the positions of a book, ``positions_per_task`` per task and one task per
  Longstaff-Schwartz position (the runner's price stage);
- ``backtest_days``: a rolling backtest's days, ``days_per_task`` per task.

A task lost with its worker is re-run elsewhere by the scheduler (up to its ``allowed-failures``) with the same
result. A task that raises stops the call with the task's positions (or tiles, scenarios, days) named; a
position's own pricing error inside a task follows ``on_error`` in ``riskgpu.risk.valuation``. Each task sets
numba to one thread per Dask thread of its worker (``_call``). Dask itself is imported only when a client is
given. Tested on a 2-process ``distributed.LocalCluster`` against the in-process results, bitwise.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import uuid
from collections.abc import Callable, Sequence

import numpy as np

from riskgpu._checks import positive_int

#: Tasks per worker a default split aims at (enough to balance uneven tasks, few enough to keep the
#: per-task overhead, about 2 ms on a local cluster, small).
TASKS_PER_WORKER = 4

_LOCK = threading.Lock()


def _worker_threads() -> int:
    """The Dask threads of the worker running this task (1 outside a worker)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    return int(getattr(worker.state, "nthreads", getattr(worker, "nthreads", 1)))


def _call(fn: Callable, *args: object) -> object:
    """Run one task: numba's parallel regions get one thread on a one-thread worker; on a worker with ``n``
    threads its tasks take turns (numba's default threading layer is not re-entrant) with ``n`` threads each."""
    import numba

    n = _worker_threads()
    if n <= 1:
        numba.set_num_threads(1)
        return fn(*args)
    with _LOCK:
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
        return fn(*args)


def n_workers(client: object) -> int:
    """Workers connected to ``client``'s scheduler (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def per_task(client: object, n: int) -> int:
    """Items per task of a default split of ``n`` items: about ``TASKS_PER_WORKER`` tasks per worker."""
    return max(1, math.ceil(n / (TASKS_PER_WORKER * n_workers(client))))


def check_per_task(owner: str, value: object) -> int | None:
    """``None``, or ``value`` as an integer >= 1 (``riskgpu._checks.positive_int``); ``owner`` is
    ``"function.argument"`` and is named in the ValueError."""
    if value is None:
        return None
    function, _, argument = owner.rpartition(".")
    return positive_int(function, argument, value)


def blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in order, ``size`` items each (the last may be short)."""
    return [(a, min(n, a + size)) for a in range(0, n, size)]


def run_tasks(
    client: object,
    what: str,
    fn: Callable,
    arguments: Sequence[tuple],
    *,
    describe: Callable[[int], str],
    on_done: Callable[[int], None] | None = None,
) -> list:
    """``[fn(*arguments[i]) for i ...]`` as Dask tasks (keys ``riskgpu-{what}-...-{i}``), results in task order.

    ``on_done(i)`` is called as each task finishes (in completion order: progress). A task that raises stops
    the call and cancels the others: a ValueError or ArithmeticError is raised again as a ValueError prefixed
    with ``describe(i)`` (what the task held), anything else (``KilledWorker`` after repeated worker losses
    included) as a RuntimeError naming it too.
    """
    from distributed import as_completed

    token = uuid.uuid4().hex[:12]
    futures = [
        client.submit(_call, fn, *args, key=f"riskgpu-{what}-{token}-{i}", pure=False)
        for i, args in enumerate(arguments)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list = [None] * len(futures)
    try:
        for future in as_completed(futures):
            i = index[future.key]
            try:
                results[i] = future.result()
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"{describe(i)}: {exc}") from exc
            except Exception as exc:
                raise RuntimeError(f"{describe(i)}: {type(exc).__name__}: {exc}") from exc
            if on_done is not None:
                on_done(i)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return results


def _resolve_here(backend: str) -> str:
    from riskgpu.backends import BackendUnavailableError, resolve

    try:
        return resolve(backend)
    except BackendUnavailableError as exc:
        return f"unavailable: {exc}"


def resolve_backend(client: object | None, backend: str) -> str:
    """``backend`` resolved on every worker (``"auto"`` is gpu where the workers have devices): the workers
    must agree; a worker without the backend raises ``BackendUnavailableError`` naming it. Without a client,
    ``riskgpu.backends.resolve`` in this process."""
    from riskgpu.backends import BackendUnavailableError, resolve

    if client is None or backend not in ("auto", "gpu"):
        return resolve(backend)
    answers = client.run(_resolve_here, backend)
    if not answers:
        raise BackendUnavailableError("the Dask cluster has no workers")
    bad = {w: a for w, a in answers.items() if a.startswith("unavailable")}
    if bad:
        worker, why = sorted(bad.items())[0]
        raise BackendUnavailableError(f"worker {worker}: {why.removeprefix('unavailable: ')}")
    names = sorted(set(answers.values()))
    if len(names) > 1:
        raise BackendUnavailableError(
            f"backend {backend!r} resolves differently on the workers ({', '.join(names)}); name one with --backend"
        )
    return names[0]


# -- pricing: tiles ---------------------------------------------------------------------------------------


def _tiles(backend: str, job: object, first_tile: int, n_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """One task: ``(sums, sums of squares)`` of tiles ``first_tile .. first_tile + n_tiles - 1``."""
    from riskgpu.backends import module

    return module(backend).tile_sums(job, first_tile, n_tiles)


def default_tiles_per_task(client: object, n_tiles: int) -> int:
    """About four tasks per worker of ``client`` (at least one tile each)."""
    return per_task(client, n_tiles)


def tile_sums(client: object, backend: str, job: object, *, tiles_per_task: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile sums of ``job`` (every tile) computed as Dask tasks of ``tiles_per_task`` tiles each.

    Returns the same arrays as ``backend``'s ``tile_sums(job, 0, job.n_tiles)``, bitwise (the tasks'
    results are gathered in tile order).
    """
    per = check_per_task("price.tiles_per_task", tiles_per_task)
    spans = blocks(job.n_tiles, per)
    parts = run_tasks(
        client,
        "tiles",
        _tiles,
        [(backend, job, a, b - a) for a, b in spans],
        describe=lambda i: f"tiles {spans[i][0]}..{spans[i][1] - 1}",
    )
    if not parts:
        return np.zeros(0, dtype=job.dtype), np.zeros(0, dtype=job.dtype)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# -- books: positions x scenarios -------------------------------------------------------------------------


def sub_book(book: object, index: Sequence[int]) -> object:
    """The positions ``index`` of ``book`` (same underlyings and market vectors)."""
    pick = list(index)
    return dataclasses.replace(
        book,
        ids=tuple(book.ids[p] for p in pick),
        books=tuple(book.books[p] for p in pick),
        instruments=tuple(book.instruments[p] for p in pick),
        quantities=book.quantities[pick],
        products=tuple(book.products[p] for p in pick),
        assets=tuple(book.assets[p] for p in pick),
    )


def position_blocks(book: object, size: int, *, lsm_alone: bool) -> list[list[int]]:
    """Position indices in order, in runs of at most ``size``; with ``lsm_alone`` every Longstaff-Schwartz
    position (American, Bermudan) is a block of its own."""
    out: list[list[int]] = []
    run: list[int] = []
    for p, product in enumerate(book.products):
        if lsm_alone and getattr(product, "lsm", False):
            if run:
                out.append(run)
                run = []
            out.append([p])
            continue
        run.append(p)
        if len(run) == size:
            out.append(run)
            run = []
    if run:
        out.append(run)
    return out


def _ids(book: object, index: Sequence[int]) -> str:
    first, last = book.ids[index[0]], book.ids[index[-1]]
    return f"position {first}" if len(index) == 1 else f"positions {first}..{last} ({len(index)})"


def _grid_tasks(
    client: object, book: object, n_scen: int, positions_per_task: int | None, scenarios_per_task: int | None,
    *, split: str,
) -> tuple[list[list[int]], list[tuple[int, int]]]:  # fmt: skip
    """The position blocks and scenario blocks of a revaluation; by default ``split`` ("scenarios" or
    "positions") is cut into about ``TASKS_PER_WORKER`` tasks per worker and the other kept whole."""
    pos = positions_per_task or (per_task(client, book.n_positions) if split == "positions" else book.n_positions)
    scen = scenarios_per_task or (per_task(client, n_scen) if split == "scenarios" else max(1, n_scen))
    return position_blocks(book, pos, lsm_alone=split == "positions"), blocks(n_scen, scen)


def _cell_tasks(
    client: object, what: str, label: str, fn: Callable, book: object, spots: np.ndarray, arguments: tuple, *,
    split: str, positions_per_task: int | None, scenarios_per_task: int | None,
) -> tuple[list, list]:  # fmt: skip
    """``fn(sub_book, spots_block, *arguments)`` over the position x scenario blocks of ``_grid_tasks``:
    ``(cells, results)``, ``cells[i] = (position indices, (first scenario, stop))`` in task order."""
    pos, scen = _grid_tasks(client, book, spots.shape[0], positions_per_task, scenarios_per_task, split=split)
    cells = [(p, s) for p in pos for s in scen]
    parts = run_tasks(
        client,
        what,
        fn,
        [(sub_book(book, p), spots[a:b], *arguments) for p, (a, b) in cells],
        describe=lambda i: (
            f"{label} {_ids(book, cells[i][0])} in scenarios {cells[i][1][0]}..{cells[i][1][1] - 1} "
            "(positions and scenarios in the message below count from the task's first)"
        ),
    )
    return cells, parts


def _revalue_block(book: object, spots: np.ndarray, tree_steps: int, elapsed: float, backend: str) -> np.ndarray:
    from riskgpu.risk import revaluation as _rv

    return _rv.full(book, _rv.encode_book(book, tree_steps), spots, elapsed=elapsed, backend=backend)


def revalue(
    client: object,
    book: object,
    spots: np.ndarray,
    *,
    elapsed: float,
    backend: str,
    tree_steps: int,
    positions_per_task: int | None = None,
    scenarios_per_task: int | None = None,
) -> np.ndarray:
    """``riskgpu.risk.revaluation.full`` (unit values ``(n_scen, n_pos)``) as position x scenario block tasks;
    by default the scenarios are split (about four tasks per worker) and the positions kept whole."""
    spots = np.atleast_2d(np.asarray(spots, dtype=np.float64))
    cells, parts = _cell_tasks(
        client, "revalue", "revaluing", _revalue_block, book, spots, (tree_steps, elapsed, backend), split="scenarios",
        positions_per_task=positions_per_task, scenarios_per_task=scenarios_per_task,
    )  # fmt: skip
    out = np.empty((spots.shape[0], book.n_positions))
    for (p, (a, b)), part in zip(cells, parts, strict=True):
        out[a:b, p] = part
    return out


def sensitivities_task(book: object, tree_steps: int, elapsed: float, backend: str) -> dict:
    """One task: ``riskgpu.risk.revaluation.sensitivities`` of ``book`` (a few dozen bumped markets)."""
    from riskgpu.risk import revaluation as _rv

    return _rv.sensitivities(book, _rv.encode_book(book, tree_steps), elapsed=elapsed, backend=backend)


def _nested_block(book: object, spots: np.ndarray, tree_steps: int, elapsed: float, inner_paths: int, seed: int,
                  backend: str) -> tuple:  # fmt: skip
    from riskgpu.risk import revaluation as _rv

    grid = _rv.encode_book(book, tree_steps)
    return _rv.nested(book, grid, spots, elapsed=elapsed, inner_paths=inner_paths, seed=seed, backend=backend)


def nested(
    client: object,
    book: object,
    spots: np.ndarray,
    *,
    elapsed: float,
    inner_paths: int,
    seed: int,
    backend: str,
    tree_steps: int,
    positions_per_task: int | None = None,
    scenarios_per_task: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``riskgpu.risk.revaluation.nested`` as position x scenario block tasks: ``(values, half_pnl, base)``.
    By default the positions are split (about four tasks per worker, each Longstaff-Schwartz position alone)
    and the scenarios kept whole; every position prices on its own stream, so each block's numbers are the
    in-process ones."""
    spots = np.atleast_2d(np.asarray(spots, dtype=np.float64))
    cells, parts = _cell_tasks(
        client, "nested", "nested revaluation of", _nested_block, book, spots,
        (tree_steps, elapsed, inner_paths, seed, backend), split="positions",
        positions_per_task=positions_per_task, scenarios_per_task=scenarios_per_task,
    )  # fmt: skip
    n_scen, n_pos = spots.shape[0], book.n_positions
    values, halves, base = np.empty((n_scen, n_pos)), np.empty((n_scen, n_pos)), np.empty(n_pos)
    for (p, (a, b)), (v, h, b0) in zip(cells, parts, strict=True):
        values[a:b, p], halves[a:b, p], base[p] = v, h, b0
    return values, halves, base


# -- the runner's price stage: positions ------------------------------------------------------------------


def _value_block(book: object, market: object, options: dict) -> object:
    from riskgpu.risk.valuation import value_positions as _value

    return _value(book, market, **options)


def value_positions(
    client: object,
    book: object,
    market: object,
    *,
    positions_per_task: int | None = None,
    on_position: Callable[[int], None] | None = None,
    **options: object,
) -> object:
    """``riskgpu.risk.valuation.value_positions`` with ``positions_per_task`` positions per task (default about
    four tasks per worker) and one task per Longstaff-Schwartz position; ``options`` are its arguments.
    ``on_position(p)`` is called for each position of a task as it finishes. The ``Valuation`` is merged in
    Book order, so its rows are the in-process ones."""
    from riskgpu.risk.valuation import Valuation

    size = check_per_task("value_positions.positions_per_task", positions_per_task) or per_task(
        client, book.n_positions
    )
    pos = position_blocks(book, size, lsm_alone=True)

    def done(i: int) -> None:
        if on_position is not None:
            for p in pos[i]:
                on_position(p)

    parts = run_tasks(
        client,
        "price",
        _value_block,
        [(sub_book(book, p), market, options) for p in pos],
        describe=lambda i: f"pricing {_ids(book, pos[i])}",
        on_done=done,
    )
    out = Valuation()
    for part in parts:
        out.rows += part.rows
        out.greeks += part.greeks
        out.failed.update(part.failed)
    return out


# -- rolling backtest: days -------------------------------------------------------------------------------


def backtest_days(
    client: object,
    fn: Callable,
    days: Sequence[int],
    dates: np.ndarray,
    *,
    days_per_task: int | None,
    on_day: Callable[[], None] | None,
    arguments: tuple,
) -> list:
    """``[fn(days[a:b], *arguments) ...]`` over blocks of ``days_per_task`` days (default about four tasks per
    worker), concatenated in day order; ``on_day()`` once per day as its task finishes."""
    size = check_per_task("rolling_backtest.days_per_task", days_per_task) or per_task(client, len(days))
    spans = blocks(len(days), size)

    def done(i: int) -> None:
        if on_day is not None:
            for _ in range(spans[i][1] - spans[i][0]):
                on_day()

    parts = run_tasks(
        client,
        "backtest",
        fn,
        [(list(days[a:b]), *arguments) for a, b in spans],
        describe=lambda i: f"backtest days {dates[days[spans[i][0]]]}..{dates[days[spans[i][1] - 1]]}",
        on_done=done,
    )
    return [x for part in parts for x in part]
