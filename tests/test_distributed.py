"""Pricing on a Dask ``LocalCluster`` (2 worker processes, loopback): bitwise the in-process result for any
split of the tiles into tasks (oracle: ``rg.price`` without a client, same seed and stream)."""

from __future__ import annotations

import pytest

import riskgpu as rg

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


CASES = {
    "european": (rg.European(kind="put", strike=105.0, maturity=0.5), rg.GBM(spot=100.0, vol=0.25, rate=0.02), {}),
    "asian-cv-antithetic": (
        rg.Asian(kind="call", strike=100.0, maturity=1.0, n_fixings=12),
        rg.GBM(spot=100.0, vol=0.2, rate=0.03),
        {"control_variate": True, "antithetic": True},
    ),
    "basket": (
        rg.Basket(kind="call", strike=100.0, maturity=1.0, weights=(0.5, 0.5)),
        rg.GBM(spot=(100.0, 90.0), vol=(0.2, 0.3), rate=0.01, corr=((1.0, 0.4), (0.4, 1.0))),
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("tiles_per_task", [1, 3, None, 10_000])
def test_distributed_pricing_is_bitwise_the_in_process_one(client, case, tiles_per_task):
    product, model, options = CASES[case]
    run = {"n_paths": 20_000, "seed": 11, "backend": "cpu", "stream": 5, **options}
    local = rg.price(product, model, **run)
    remote = rg.price(product, model, client=client, tiles_per_task=tiles_per_task, **run)
    assert (remote.value, remote.stderr, remote.beta) == (local.value, local.stderr, local.beta)


def test_distributed_options_that_do_not_apply_are_errors(client):
    product, model, _ = CASES["european"]
    with pytest.raises(ValueError, match="tiles_per_task"):
        rg.price(product, model, n_paths=1000, seed=1, tiles_per_task=2)
    with pytest.raises(ValueError, match="tiles_per_task must be a positive integer"):
        rg.price(product, model, n_paths=1000, seed=1, backend="cpu", client=client, tiles_per_task=0)
    with pytest.raises(ValueError, match="tolerance"):
        rg.price(product, model, n_paths=1000, seed=1, backend="cpu", client=client, tolerance=0.1)
    american = rg.American(kind="put", strike=100.0, maturity=1.0)
    with pytest.raises(ValueError, match="client"):
        rg.price(american, model, n_paths=1000, seed=1, backend="cpu", client=client)
