"""The nightly run's configuration: TOML validated into typed objects (pydantic), errors naming the key path.

``load_config(path)`` reads the file, expands ``${NAME}`` environment variables in path strings, resolves
relative paths against the config file's folder and validates every key: an unknown key, a wrong type, an
out-of-range number or a missing input file is a ``ConfigError`` naming the file, the key path
(``risk[1].confidence``) and the value. ``riskgpu.runner`` checks the rest against the inputs.
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

Probability = Annotated[float, Field(gt=0.0, lt=1.0)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
#: Paths arrive as TOML strings (strict mode would want Path objects).
FilePath = Annotated[Path, Field(strict=False)]


class ConfigError(ValueError):
    """An invalid config; the message names the file, the key path and the value (CLI exit code 2)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Inputs(_Section):
    """``[inputs]``: the portfolio file, the market folder, an optional as-of date check and correlation repair."""

    portfolio: FilePath
    market: FilePath
    asof: datetime.date | None = None
    repair: Literal["none", "nearest"] = "none"


class Engine(_Section):
    """``[engine]``: how positions are priced by Monte Carlo."""

    backend: Literal["auto", "reference", "cpu", "gpu"] = "auto"
    dtype: Literal["float64", "float32"] = "float64"
    seed: Annotated[int, Field(ge=0, lt=2**64)] = 0
    n_paths: Annotated[int, Field(ge=2)] = 100_000
    antithetic: bool = False
    control_variate: bool = False

    @model_validator(mode="after")
    def _pairs(self) -> Engine:
        if self.antithetic and self.n_paths % 2:
            raise ValueError(f"engine.n_paths = {self.n_paths} must be even with antithetic = true (pairs of paths)")
        return self


class Pricing(_Section):
    """``[pricing]``: the Greeks reported per position."""

    greeks: Annotated[tuple[Literal["delta", "gamma", "vega", "rho", "theta"], ...], Field(strict=False)] = ()


class VaRRun(_Section):
    """One ``[[risk]]`` table: the options of ``rg.var`` (those that do not apply to the method are errors
    when the run is made, with this run's name)."""

    name: Annotated[str, Field(min_length=1)]
    method: Literal["historical", "parametric", "monte_carlo"]
    confidence: Probability = 0.99
    es_confidence: Probability | None = None
    horizon_days: Annotated[int, Field(ge=1)] = 1
    lookback_days: Annotated[int, Field(ge=1)] | None = None
    overlapping: bool | None = None
    approximation: Literal["delta_normal", "delta_gamma"] | None = None
    n_scenarios: Annotated[int, Field(ge=2)] | None = None
    returns: Literal["lognormal", "normal", "student_t"] | None = None
    dof: Annotated[float, Field(gt=2.0)] | None = None
    covariance: Literal["market", "sample", "ewma"] | None = None
    ewma_decay: Probability | None = None
    seed: Annotated[int, Field(ge=0, lt=2**64)] | None = None
    revaluation: Literal["full", "nested", "greeks"] | None = None
    inner_paths: Annotated[int, Field(ge=64, multiple_of=64)] | None = None
    tree_steps: Annotated[int, Field(ge=1, le=1024)] | None = None
    stressed: Annotated[tuple[datetime.date, datetime.date], Field(strict=False)] | None = None


class Stress(_Section):
    """One ``[[stress]]`` table: ``rg.StressScenario``'s fields."""

    name: Annotated[str, Field(min_length=1)]
    spot: Finite | dict[str, Finite] = 0.0
    vol: Finite | dict[str, Finite] = 0.0
    rate: Finite = 0.0
    days: Annotated[int, Field(ge=0)] = 0


class Backtest(_Section):
    """``[backtest]``: ``rg.rolling_backtest``'s options."""

    method: Literal["historical", "parametric", "monte_carlo"] = "historical"
    window_days: Annotated[int, Field(ge=2)] = 250
    start: datetime.date | None = None
    end: datetime.date | None = None
    confidence: Probability = 0.99


class Outputs(_Section):
    """``[outputs]``: the parent folder of the run folders, the run folder's name (default
    ``<config stem>_<as-of date>``) and the table formats."""

    folder: FilePath
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")] | None = None

    @field_validator("name")
    @classmethod
    def _not_latest(cls, name: str | None) -> str | None:
        if name == "latest":
            raise ValueError("'latest' is the link to the newest run; choose another name")
        return name

    formats: Annotated[tuple[Literal["parquet", "csv"], ...], Field(strict=False)] = ("parquet", "csv")
    overwrite: bool = False


#: A Dask scheduler address: ``protocol://host[:port]`` (tcp, tls, ucx, ws, wss, inproc).
ADDRESS = r"^(tcp|tls|ucx|ws|wss|inproc)://[^\s/]+$"


class Cluster(_Section):
    """``[cluster]``: where the run computes. ``address`` of a running Dask scheduler, or ``local = N`` worker
    processes started for the run (one thread each), or neither for in-process; the batch sizes of the tasks
    (``riskgpu.distributed``; default about four tasks per worker)."""

    address: Annotated[str, Field(pattern=ADDRESS)] | None = None
    local: Annotated[int, Field(ge=1, le=1024)] | None = None
    connect_timeout_s: Annotated[float, Field(gt=0.0, le=3600.0, allow_inf_nan=False, strict=False)] = 30.0
    positions_per_task: Annotated[int, Field(ge=1)] | None = None
    scenarios_per_task: Annotated[int, Field(ge=1)] | None = None
    days_per_task: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_place(self) -> Cluster:
        if self.address is not None and self.local is not None:
            raise ValueError(
                f"cluster.address = {self.address!r} and cluster.local = {self.local}: give one (a running "
                "scheduler, or workers started for the run)"
            )
        return self

    @property
    def distributed(self) -> bool:
        """Whether the run uses Dask (an address or local workers)."""
        return self.address is not None or self.local is not None


class RunConfig(_Section):
    """The whole config file."""

    inputs: Inputs
    engine: Engine = Engine()
    pricing: Pricing = Pricing()
    risk: Annotated[tuple[VaRRun, ...], Field(strict=False)] = ()
    stress: Annotated[tuple[Stress, ...], Field(strict=False)] = ()
    backtest: Backtest | None = None
    cluster: Cluster = Cluster()
    outputs: Outputs
    on_error: Literal["fail", "skip"] = "fail"

    @field_validator("risk", "stress")
    @classmethod
    def _unique_names(cls, runs: tuple, info: ValidationInfo) -> tuple:
        seen: dict[str, int] = {}
        for i, run in enumerate(runs):
            if run.name in seen:
                first = f"{info.field_name}[{seen[run.name]}].name"
                raise ValueError(f"{info.field_name}[{i}].name = {run.name!r} repeats {first}; names must be unique")
            seen[run.name] = i
        return runs


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The keys holding paths: ``${NAME}`` is expanded in them and relative paths resolve against the config.
PATH_KEYS = (("inputs", "portfolio"), ("inputs", "market"), ("outputs", "folder"))


def _expand(text: str, where: str, source: Path, asof: str | None) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) == "ASOF":
            if asof is None:
                raise ConfigError(f"{source}: {where} = {text!r}: ${{ASOF}} needs inputs.asof or --asof")
            return asof
        if m.group(1) not in os.environ:
            raise ConfigError(f"{source}: {where} = {text!r}: environment variable ${{{m.group(1)}}} is not set")
        return os.environ[m.group(1)]

    return _ENV.sub(one, text)


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clean(loc: tuple) -> tuple:
    """Drop pydantic's union/type tags (e.g. ``function-after[...]``, ``float``) from an error location."""
    return tuple(p for p in loc if isinstance(p, int) or not re.match(r"^(function-|[a-z]+\[|float$|int$|str$)", p))


def load_config(path: str | Path, *, asof: datetime.date | None = None) -> RunConfig:
    """Read and validate a run config (TOML); ``ConfigError`` names the file, key path and value.

    ``asof`` (``riskgpu run --asof``) replaces ``inputs.asof``; ``${ASOF}`` in a path is the as-of date
    (``YYYY-MM-DD``), so a nightly config can name ``market = "/data/market/${ASOF}"``.

    Tested with malformed configs (unknown keys, wrong types, out-of-range numbers, missing files, bad dates,
    unset environment variables) that each name what is wrong.
    """
    source = Path(path)
    try:
        raw = tomllib.loads(source.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{source}: no such config file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the config: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    base = source.resolve().parent
    if asof is not None and isinstance(raw.get("inputs"), dict):
        raw["inputs"]["asof"] = asof
    day = raw.get("inputs", {}).get("asof") if isinstance(raw.get("inputs"), dict) else None
    day = day.isoformat() if isinstance(day, datetime.date) and not isinstance(day, datetime.datetime) else None
    for section, key in (("outputs", "name"), ("cluster", "address")):
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            table[key] = _expand(table[key], f"{section}.{key}", source, day)
    for section, key in PATH_KEYS:
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            text = _expand(table[key], f"{section}.{key}", source, day)
            table[key] = os.path.normpath(p if (p := Path(text).expanduser()).is_absolute() else base / p)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _loc(_clean(err["loc"])) or "(top level)"
        value = err.get("input")
        shown = "missing" if err["type"] == "missing" else f"= {value!r}"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and msg.startswith((f"{where}[", f"{where}.")):  # names its key and value
            raise ConfigError(f"{source}: {msg}") from None
        raise ConfigError(f"{source}: {where} {shown}: {err['msg']}") from None
    for label, p, kind in (
        ("inputs.portfolio", config.inputs.portfolio, "file"),
        ("inputs.market", config.inputs.market, "folder"),
    ):
        ok = p.is_file() if kind == "file" else p.is_dir()
        if not ok:
            raise ConfigError(f"{source}: {label} = {str(p)!r}: no such {kind}")
    return config
