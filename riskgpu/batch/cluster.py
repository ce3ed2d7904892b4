"""The ``[cluster]`` of a run: a Dask client for the run's duration, or none (in-process).

``local = N`` starts N worker processes on this machine, one thread each (numba one thread per process,
``riskgpu.distributed``), on the loopback interface, without a dashboard, and stops them at the end;
``address`` connects to a running scheduler (a ``dask scheduler`` with ``dask worker`` or ``dask cuda worker``
processes) and leaves it running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from riskgpu.config import Cluster


class ClusterError(RuntimeError):
    """The cluster cannot be reached or has no workers (CLI exit code 1; nothing is written)."""


def describe(client: object, cluster: Cluster) -> dict:
    """The manifest's ``cluster``: where the run computed and the batch sizes it asked for."""
    batch = {k: getattr(cluster, k) for k in ("positions_per_task", "scenarios_per_task", "days_per_task")}
    if client is None:
        return {"kind": "in-process", "batch": batch}
    workers = client.scheduler_info().get("workers", {})
    return {
        "kind": "local" if cluster.local is not None else "scheduler",
        "address": cluster.address,
        "workers": len(workers),
        "threads": sum(int(w.get("nthreads", 0)) for w in workers.values()),
        "batch": batch,
    }


@contextlib.contextmanager
def connect(cluster: Cluster, source: str | Path, *, origin: str | None = None) -> Iterator[object | None]:
    """Yield a ``distributed.Client`` for ``cluster`` (None when it names none); closed (and local workers
    stopped) on exit. Local workers that cannot start, an unreachable scheduler, or one without workers after
    ``connect_timeout_s`` are a ``ClusterError`` naming the setting (``origin``: the command-line flag that
    set it, ``--scheduler`` or ``--workers``, else the config key)."""
    if not cluster.distributed:
        yield None
        return
    from distributed import Client, LocalCluster

    if cluster.local is not None:
        where = f"{source}: {origin or 'cluster.local'} = {cluster.local}"
    else:
        where = f"{source}: {origin or 'cluster.address'} = {cluster.address!r}"
    with contextlib.ExitStack() as stack:
        try:
            if cluster.local is not None:
                local = stack.enter_context(
                    LocalCluster(
                        n_workers=cluster.local,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        host="127.0.0.1",
                    )
                )
                client = stack.enter_context(Client(local))
            else:
                client = stack.enter_context(Client(cluster.address, timeout=f"{cluster.connect_timeout_s}s"))
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"{where}: cannot connect to the Dask scheduler: {exc}") from None
        except Exception as exc:  # e.g. tls without certificates, ucx not installed, workers that cannot start
            raise ClusterError(f"{where}: cannot start or reach the Dask cluster: {type(exc).__name__}: {exc}") from exc
        try:
            client.wait_for_workers(1, timeout=cluster.connect_timeout_s)
        except TimeoutError:
            raise ClusterError(
                f"{where}: the scheduler has no workers after {cluster.connect_timeout_s:g} s "
                "(start some with `dask worker ADDRESS` or `dask cuda worker ADDRESS`)"
            ) from None
        yield client
