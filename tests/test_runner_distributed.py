"""``riskgpu run`` on a Dask cluster: the demo nightly run gives the same bytes as in-process for two batch
sizes on a running scheduler (``--scheduler``), once with a worker killed mid-run; ``--workers 2`` (a
LocalCluster the run starts) likewise on a small book; failures follow ``on_error`` with the position named;
an unreachable scheduler or one without workers is exit 1 with nothing written.

The demo config here is ``configs/demo.toml`` with ``n_paths = 2000`` and the backtest from 2026-10-01 (every
position, every VaR run, the stress scenarios and a backtest, at a test's cost). Oracle: the same config run
in-process (equal files).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from riskgpu.cli import main

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
RUN = "demo_2026-11-20"
TABLE_FILES = [f"{t}.{ext}" for t in ("positions", "greeks", "var", "contributions", "pnl", "stress", "backtest",
                                      "exceptions") for ext in ("parquet", "csv")]  # fmt: skip


def demo_config(folder: Path, cluster: str = "") -> Path:
    """The demo config at 2,000 paths with a shorter backtest (absolute input paths), plus ``cluster``."""
    text = (ROOT / "configs" / "demo.toml").read_text()
    text = text.replace('"../data/demo/', f'"{DEMO}/').replace('"../runs"', f'"{folder / "runs"}"')
    text = text.replace("n_paths = 20000", "n_paths = 2000")
    text = text.replace("window_days = 250\n", "window_days = 250\nstart = 2026-10-01\n")
    assert "n_paths = 2000" in text and "start = 2026-10-01" in text
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.toml"
    path.write_text(text + cluster)
    return path


def same_files(a: Path, b: Path) -> None:
    for name in [*TABLE_FILES, "summary.json"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("local")
    assert main(["run", str(demo_config(folder)), "--out", str(folder / "out"), "--backend", "cpu",
                 "--log-level", "warning"]) == 0  # fmt: skip
    return folder / "out" / RUN


@pytest.fixture(scope="module")
def cluster():
    """A running scheduler with 2 worker processes (one thread each), as an operator would start one."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as c, distributed.Client(c) as client:  # fmt: skip
        yield c, client


def test_workers_option_starts_local_workers_with_the_in_process_results(tmp_path):
    import polars as pl

    frame = pl.read_csv(DEMO / "portfolio.csv", infer_schema_length=0)
    portfolio = tmp_path / "portfolio.csv"
    frame.filter(pl.col("instrument").is_in(["spot", "european", "american"])).head(8).write_csv(portfolio)
    cfg = tmp_path / "small.toml"
    cfg.write_text(f'[inputs]\nportfolio = "{portfolio}"\nmarket = "{DEMO / "market"}"\n[engine]\nbackend = "cpu"\n'
                   'n_paths = 1000\n[pricing]\ngreeks = ["delta"]\n[[risk]]\nname = "hist"\nmethod = "historical"\n'
                   f'[backtest]\nstart = 2026-11-01\n[outputs]\nfolder = "{tmp_path / "runs"}"\n')  # fmt: skip
    assert main(["run", str(cfg), "--out", str(tmp_path / "local"), "--log-level", "warning"]) == 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--workers", "2", "--log-level", "debug"]) == 0
    folder = tmp_path / "out" / "small_2026-11-20"
    same_files(folder, tmp_path / "local" / "small_2026-11-20")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["cluster"]["kind"] == "local" and manifest["cluster"]["workers"] == 2
    assert manifest["config"]["overrides"]["workers"] == 2
    events = [json.loads(line) for line in (folder / "run.log").read_text().splitlines()]
    assert any(e.get("event") == "cluster" and e["workers"] == 2 for e in events)
    for stage in ("price", "backtest"):  # the tasks' progress reaches the log
        done = [e["done"] for e in events if e.get("event") == "progress" and e["stage"] == stage]
        total = next(e["total"] for e in events if e.get("event") == "stage_start" and e["stage"] == stage)
        assert done and done[-1] == total and done == sorted(done)


class KillOnce(distributed.WorkerPlugin):
    """Exits the worker process when a task whose key starts with ``prefix`` starts executing, once per
    cluster (a marker file): the deterministic loss of a worker in the middle of a run."""

    def __init__(self, marker: str, prefix: str) -> None:
        self.marker, self.prefix = marker, prefix

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing" and str(key).startswith(self.prefix):
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os._exit(13)


def test_demo_run_on_a_scheduler_is_bitwise_in_process_for_two_batch_sizes_a_worker_killed(in_process, cluster,
                                                                                          tmp_path):  # fmt: skip
    import cloudpickle

    c, client = cluster
    run = ["--backend", "cpu", "--scheduler", c.scheduler_address, "--log-level", "warning"]
    # the default batch sizes (about four tasks per worker)
    assert main(["run", str(demo_config(tmp_path / "default")), "--out", str(tmp_path / "out1"), *run]) == 0
    same_files(tmp_path / "out1" / RUN, in_process)
    # small batches, and a worker killed when the first VaR revaluation task starts (positions already priced)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    client.register_plugin(KillOnce(str(marker), "riskgpu-revalue-"), name="kill-once")
    try:
        small = "\n[cluster]\npositions_per_task = 7\nscenarios_per_task = 333\ndays_per_task = 5\n"
        assert main(["run", str(demo_config(tmp_path / "small", small)), "--out", str(tmp_path / "out2"), *run]) == 0
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()  # a worker did die mid-run
    folder = tmp_path / "out2" / RUN
    same_files(folder, in_process)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["cluster"]["kind"] == "scheduler" and manifest["cluster"]["workers"] == 2
    assert manifest["cluster"]["batch"] == {"positions_per_task": 7, "scenarios_per_task": 333, "days_per_task": 5}


def _flaky_pricing(on: bool) -> None:
    """On a worker: P0003's Greeks raise (a position that fails on its data), or the real function back."""
    import riskgpu as rg

    module = sys.modules["riskgpu.greeks"]
    if not on:
        module.greeks = module.real_greeks
        return
    module.real_greeks = real = module.greeks

    def flaky(product, model, **kw):
        if kw["stream"] == rg.position_stream("P0003"):
            raise FloatingPointError("synthetic failure")
        return real(product, model, **kw)

    module.greeks = flaky


def test_a_position_failing_on_a_worker_follows_on_error(cluster, tmp_path, capsys):
    import polars as pl

    c, client = cluster
    frame = pl.read_csv(DEMO / "portfolio.csv", infer_schema_length=0)
    portfolio = tmp_path / "portfolio.csv"
    frame.head(12).write_csv(portfolio)

    def config(name: str, on_error: str) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(f'on_error = "{on_error}"\n[inputs]\nportfolio = "{portfolio}"\nmarket = "{DEMO / "market"}"\n'
                        '[engine]\nbackend = "cpu"\nn_paths = 1000\n[pricing]\ngreeks = ["delta"]\n'
                        f'[cluster]\npositions_per_task = 5\n[outputs]\nfolder = "{tmp_path / "runs"}"\n')  # fmt: skip
        return path

    client.run(_flaky_pricing, True)
    try:
        args = ["--scheduler", c.scheduler_address, "--log-level", "error"]
        assert main(["run", str(config("skip", "skip")), *args]) == 3
        skipped = pl.read_parquet(tmp_path / "runs" / "skip_2026-11-20" / "exceptions.parquet").row(0, named=True)
        assert skipped["position_id"] == "P0003" and skipped["stage"] == "price"
        assert "synthetic failure" in skipped["reason"] and skipped["row"] == 3
        capsys.readouterr()
        assert main(["run", str(config("strict", "fail")), *args]) == 1
        err = capsys.readouterr().err
        assert re.search(r"pricing positions P0001\.\.P0005 \(5\): position P0003 \(\w+\): FloatingPointError: "
                         "synthetic failure", err), err  # fmt: skip
        assert not (tmp_path / "runs" / "strict_2026-11-20").exists()
    finally:
        client.run(_flaky_pricing, False)


def test_no_scheduler_or_no_workers_is_exit_1_with_nothing_written(tmp_path, capsys):
    cfg = demo_config(tmp_path, "\n[cluster]\nconnect_timeout_s = 1.5\n")
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"]) == 1
    assert re.search(r"--scheduler = 'tcp://127.0.0.1:9': cannot connect to the Dask scheduler",
                     capsys.readouterr().err)  # fmt: skip
    with distributed.LocalCluster(n_workers=0, dashboard_address=None, host="127.0.0.1") as empty:
        assert main(["run", str(cfg), "--out", str(out), "--scheduler", empty.scheduler_address]) == 1
    assert "the scheduler has no workers after 1.5 s" in capsys.readouterr().err
    assert not out.exists()  # not even the --out folder


def test_scheduler_and_workers_are_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(demo_config(tmp_path)), "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
