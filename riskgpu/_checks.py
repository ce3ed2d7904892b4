"""Argument checks shared by models, products and the API: errors name the field and the value."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def finite(owner: str, field: str, value: object, *, min_value: float | None = None, strict: bool = False) -> float:
    """Return ``value`` as a float, or raise ValueError naming ``owner.field`` and the value.

    ``min_value`` with ``strict=False`` means ``value >= min_value``; ``strict=True`` means ``>``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}.{field} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{owner}.{field} must be finite, got {value!r}")
    if min_value is not None:
        if strict and not x > min_value:
            raise ValueError(f"{owner}.{field} must be > {min_value:g}, got {value!r}")
        if not strict and not x >= min_value:
            raise ValueError(f"{owner}.{field} must be >= {min_value:g}, got {value!r}")
    return x


def positive_int(owner: str, field: str, value: object, *, min_value: int = 1) -> int:
    """Return ``value`` as an int >= ``min_value``; bools, floats and strings are errors."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{owner}.{field} must be an integer >= {min_value}, got {value!r}")
    if int(value) < min_value:
        raise ValueError(f"{owner}.{field} must be an integer >= {min_value}, got {value!r}")
    return int(value)


def choice(owner: str, field: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; anything else (a typo too) is an error."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{owner}.{field} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(value)


def dtype_of(value: object) -> np.dtype:
    """The compute dtype: 'float64' (default) or 'float32'; anything else is an error."""
    if value in ("float64", np.float64) or value == np.dtype("float64"):
        return np.dtype("float64")
    if value in ("float32", np.float32) or value == np.dtype("float32"):
        return np.dtype("float32")
    raise ValueError(f"dtype must be 'float64' or 'float32', got {value!r}")
