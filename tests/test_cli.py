"""The riskgpu command: exit codes, errors that name the input, the demo config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import riskgpu as rg
from riskgpu.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_info_lists_backends_and_reasons(capsys, monkeypatch):
    monkeypatch.delenv("RISKGPU_VECTOR_WIDTH", raising=False)
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["backends"]) == {"reference", "cpu", "gpu", "auto"}
    assert info["backends"]["reference"]["available"] is True
    assert info["backends"]["gpu"]["detail"]
    assert info["versions"]["riskgpu"] == rg.__version__
    assert info["kernel_cache"] and Path(info["kernel_cache"]).is_dir()  # where the CPU kernels are kept
    assert info["cpu_vector_width"] == "512"


def test_info_refuses_an_unknown_vector_width(monkeypatch, capsys):
    monkeypatch.setenv("RISKGPU_VECTOR_WIDTH", "1024")
    assert main(["info"]) != 0
    assert "RISKGPU_VECTOR_WIDTH='1024'" in capsys.readouterr().err


def test_price_flags_json_matches_api(capsys):
    args = [
        "price",
        "--product",
        "asian",
        "--average",
        "geometric",
        "--n-fixings",
        "4",
        "--strike",
        "95",
        "--n-paths",
        "4000",
        "--seed",
        "3",
        "--backend",
        "reference",
        "--json",
    ]
    assert main(args) == 0
    (row,) = json.loads(capsys.readouterr().out)
    api = rg.price(
        rg.Asian(strike=95.0, maturity=1.0, n_fixings=4, average="geometric"),
        rg.GBM(spot=100.0, vol=0.2, rate=0.03),
        n_paths=4000,
        seed=3,
        backend="reference",
    )
    assert row["value"] == api.value and row["stderr"] == api.stderr
    assert row["closed_form"] == pytest.approx(
        rg.geometric_asian_price(kind="call", spot=100.0, strike=95.0, maturity=1.0, vol=0.2, rate=0.03, n_fixings=4)
    )


def test_price_demo_config_table_flags_override_config(capsys):
    assert main(["price", "--config", str(ROOT / "configs" / "demo_price.toml"), "--n-paths", "4000"]) == 0
    out = capsys.readouterr().out
    assert out.count("european ") == 2 and "digital call K=100 T=1 pays 10" in out
    assert "asian geome call K=100 T=1 n=12" in out and "asian arith call K=100 T=1 n=12" in out
    assert "n_paths=4000 seed=20261124" in out
    assert "barrier up-out cont call K=100 T=1 B=130" in out and "lookback cont put K=float T=1" in out


def test_heston_demo_config_prints_the_characteristic_function_price(capsys):
    cfg = str(ROOT / "configs" / "demo_heston.toml")
    assert main(["price", "--config", cfg, "--n-paths", "4000", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in rows][:2] == ["european call K=100 T=1", "european put K=90 T=1"]
    assert rows[0]["closed_form"] == pytest.approx(
        rg.analytic.heston_price(
            kind="call",
            strike=100.0,
            maturity=1.0,
            spot=100.0,
            v0=0.04,
            kappa=1.5,
            theta=0.04,
            xi=0.6,
            rho=-0.7,
            rate=0.03,
            div=0.01,
        )
    )
    assert rows[2]["closed_form"] is None and rows[3]["closed_form"] is None  # no closed form under Heston


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["price", "--strike", "-1"], "European.strike must be >= 0, got -1.0"),
        (["price", "--vol", "nan"], "GBM.vol must be finite"),
        (["price", "--n-paths", "1"], "price.n_paths must be an integer >= 2, got 1"),
        (["price", "--antithetic", "--n-paths", "1001"], "antithetic=True needs an even n_paths"),
        (["price", "--product", "asian", "--n-fixings", "5", "--n-steps", "7"], "multiple of Asian.n_fixings=5"),
    ],
)
def test_bad_arguments_exit_2_naming_the_field(capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[model]\nspot = 100\nvol = 0.2\nrate = 0.0\n"
            "[[products]]\nproduct = 'europen'\nstrike = 1.0\nmaturity = 1.0",
            "products[0].product must be one of 'european', 'digital', 'asian', 'barrier', 'lookback', 'basket', "
            "'american', got 'europen'",
        ),
        (
            "[[products]]\nproduct = 'european'\nstrike = 1.0\nmaturity = -1.0",
            "products[0]: European.maturity must be >= 0, got -1.0",
        ),
        ("[[products]]\nproduct = 'european'\nstrik = 1.0\nmaturity = 1.0", "products[0]"),
        ("[engine]\nn_path = 10\n[[products]]\nstrike = 1.0\nmaturity = 1.0", "unknown key(s) in [engine]: ['n_path']"),
        ("[model]\nspot = -3\n[[products]]\nstrike = 1.0\nmaturity = 1.0", "[model] GBM.spot must be > 0"),
        ("[[products]\n", "not valid TOML"),
        (
            "[model]\ntype = 'hestn'\n[[products]]\nstrike = 1.0\nmaturity = 1.0",
            "[model] type must be one of 'gbm', 'heston', 'merton', got 'hestn'",
        ),
        (
            "[model]\ntype = 'heston'\nspot = 100\nv0 = 0.04\nkappa = 1\ntheta = 0.04\nxi = 0.5\nrho = -2\n"
            "rate = 0\n[[products]]\nstrike = 1.0\nmaturity = 1.0",
            "[model] Heston.rho must lie in [-1, 1], got -2",
        ),
        (
            "[[products]]\nproduct = 'barrier'\nstrike = 1.0\nmaturity = 1.0\nbarrier = 120\nknock = 'off'",
            "products[0]: Barrier.knock must be one of 'in', 'out', got 'off'",
        ),
        ("[modle]\n", "unknown section(s) ['modle']"),
    ],
)
def test_bad_config_exits_2_naming_file_and_key(capsys, tmp_path, toml, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    assert main(["price", "--config", str(cfg), "--n-paths", "64"]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and message in err


def test_missing_config_file(capsys, tmp_path):
    assert main(["price", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_console_script_and_unknown_choice_exit_2():
    env = {**os.environ}
    run = subprocess.run(
        [sys.executable, "-m", "riskgpu.cli", "price", "--kind", "cal"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 2 and "invalid choice: 'cal'" in run.stderr


def test_import_needs_neither_cupy_nor_numba_cuda():
    code = (
        "import sys, riskgpu; assert 'cupy' not in sys.modules and 'numba.cuda' not in sys.modules, sorted(sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]


def test_tolerance_flags_and_config(capsys, tmp_path):
    assert main(["price", "--n-paths", "2000", "--tolerance", "0.2", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["stopped"] == "tolerance" and row["stderr"] <= 0.2 and row["tolerance"] == 0.2
    cfg = tmp_path / "tol.toml"
    cfg.write_text(
        "[engine]\nn_paths = 1000\ntolerance = 1e-6\nmax_paths = 3000\n[[products]]\nstrike = 100.0\nmaturity = 1.0\n"
    )
    assert main(["price", "--config", str(cfg)]) == 0
    assert "n_paths=3000 (tolerance 1e-06 met by 0 of 1, the others stopped at max_paths)" in capsys.readouterr().out
    assert main(["price", "--n-paths", "2000", "--max-paths", "10"]) == 2
    assert "arguments: max_paths=10 applies only with a tolerance" in capsys.readouterr().err


def test_control_variate_and_qmc_flags(capsys):
    base = ["price", "--product", "asian", "--n-paths", "4096", "--backend", "cpu", "--json"]
    assert main([*base, "--control-variate"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["control"] == "geometric Asian" and row["beta"] > 0.5
    api = rg.price(
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=12),
        rg.GBM(spot=100.0, vol=0.2, rate=0.03),
        n_paths=4096,
        seed=42,
        backend="cpu",
        control_variate=True,
    )
    assert (row["value"], row["stderr"], row["beta"]) == (api.value, api.stderr, api.beta)
    assert main([*base, "--qmc", "--randomisations", "8"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["randomisations"] == 8 and row["n_paths"] == 4096
    assert main([*base, "--qmc", "--randomisations", "3"]) == 2
    assert "arguments: products[0]:" in capsys.readouterr().err
