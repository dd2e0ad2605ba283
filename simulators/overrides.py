"""Scenario overrides as models see them: {target: {parameter: value}}, where a target is an entity id,
a road/site/cabinet/hospital id, an area id or "*"; the most specific target that sets a parameter wins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Overrides = dict[str, dict[str, Any]]


def lookup(overrides: Overrides, keys: Sequence[str], param: str, default: Any) -> Any:
    """The value for the first key (most specific first) that sets `param`, then "*", then the default."""
    for key in (*keys, "*"):
        values = overrides.get(key)
        if values is not None and param in values:
            return values[param]
    return default


def per_entity(
    overrides: Overrides, keys: Sequence[Sequence[str]], param: str, default: Any, dtype: Any = np.float64
) -> np.ndarray:
    """`lookup` for many entities at once (keys[i] lists entity i's targets, most specific first)."""
    if not overrides:
        return np.full(len(keys), default, dtype=dtype)
    return np.array([lookup(overrides, k, param, default) for k in keys], dtype=dtype)
