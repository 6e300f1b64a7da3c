"""Helpers shared by CLI commands: opening tables with user-facing errors, printing JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from ecnas.errors import EcnasError

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark


def open_benchmark(table: str | Path | None, **kwargs: Any) -> Benchmark:
    """Open a table (or the default one), turning ecnas errors into a clean CLI message."""
    from ecnas.benchmark import Benchmark

    try:
        return Benchmark(table, **kwargs)
    except EcnasError as error:
        raise click.ClickException(str(error)) from None


def to_json(value: Any) -> str:
    """JSON with NaN written as null (strict JSON) and numpy values converted."""

    def clean(item: Any) -> Any:
        if isinstance(item, dict):
            return {str(k): clean(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        if isinstance(item, np.ndarray):
            return clean(item.tolist())
        if isinstance(item, np.generic):
            return clean(item.item())
        if isinstance(item, float) and not math.isfinite(item):
            return None
        return item

    return json.dumps(clean(value), indent=2, sort_keys=False)
