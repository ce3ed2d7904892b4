"""Logging and progress for one run: readable lines on stderr at the chosen level, a progress bar (tqdm) on
a terminal, and every record and progress step as JSON lines in the run folder's ``run.log``."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

LEVELS = ("debug", "info", "warning", "error")
LOGGER = "riskgpu.run"


class _JsonLines(logging.Handler):
    """Each record as one JSON object per line (``time``, ``level``, ``message`` and the record's ``event``
    fields), into a list until the run folder exists, then into its ``run.log``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.pending: list[str] = []
        self.file: TextIO | None = None

    def emit(self, record: logging.LogRecord) -> None:
        line = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            **getattr(record, "event", {}),
        }
        text = json.dumps(line, default=str)
        if self.file is None:
            self.pending.append(text)
        else:
            self.file.write(text + "\n")
            self.file.flush()

    def open(self, path: Path) -> None:
        self.file = path.open("a", encoding="utf-8")
        for text in self.pending:
            self.file.write(text + "\n")
        self.pending.clear()
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        super().close()


class RunLog:
    """The run's logger (``riskgpu.run``), stage timings and progress.

    ``level`` is the stderr level (``"debug"`` .. ``"error"``); ``run.log`` gets every level. ``stage(name,
    total)`` times a stage and yields a callable advancing its progress by one step.
    """

    def __init__(self, level: str = "info", stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.logger = logging.Logger(LOGGER)  # not registered: nothing is left behind by a run
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.console = logging.StreamHandler(self.stream)
        self.console.setLevel(getattr(logging, level.upper()))
        self.console.setFormatter(logging.Formatter("riskgpu: %(levelname)s: %(message)s"))
        self.jsonl = _JsonLines()
        self.logger.addHandler(self.console)
        self.logger.addHandler(self.jsonl)
        self.timings: dict[str, float] = {}
        self.bar = self.stream.isatty() and self.console.level <= logging.INFO

    def log(self, level: int, message: str, **event: object) -> None:
        """Log ``message``; ``event`` fields go into the JSON line."""
        self.logger.log(level, message, extra={"event": event})

    def info(self, message: str, **event: object) -> None:
        """``log`` at INFO."""
        self.log(logging.INFO, message, **event)

    def warning(self, message: str, **event: object) -> None:
        """``log`` at WARNING."""
        self.log(logging.WARNING, message, **event)

    def attach(self, folder: Path) -> None:
        """Start writing ``folder / "run.log"`` (the lines logged so far first)."""
        self.jsonl.open(folder / "run.log")

    def close(self) -> None:
        """Close the handlers (``run.log`` is complete)."""
        for h in (self.console, self.jsonl):
            self.logger.removeHandler(h)
            h.close()

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[], None]]:
        """Time stage ``name``; yield ``step()`` that advances its progress (``total`` steps)."""
        from tqdm import tqdm

        self.log(logging.DEBUG, f"{name}: started", event="stage_start", stage=name, total=total)
        t0 = time.perf_counter()
        bar = tqdm(total=total, desc=name, file=self.stream, leave=False, disable=not (self.bar and total))
        state = {"done": 0, "logged": -1}

        def step() -> None:
            state["done"] += 1
            bar.update(1)
            done, tenth = state["done"], 10 * state["done"] // total if total else 0
            if total and (tenth > state["logged"] or done == total):
                state["logged"] = tenth
                self.log(logging.DEBUG, f"{name}: {done}/{total}", event="progress", stage=name, done=done,
                         total=total, elapsed_s=round(time.perf_counter() - t0, 3))  # fmt: skip

        try:
            yield step
        finally:
            bar.close()
            self.timings[name] = round(time.perf_counter() - t0, 6)
        self.info(f"{name}: done in {self.timings[name]:.1f} s", event="stage_end", stage=name,
                  elapsed_s=self.timings[name])  # fmt: skip
