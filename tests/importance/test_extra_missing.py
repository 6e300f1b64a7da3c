"""Without optuna, the importance functions fail with an error naming the extra to install."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ecnas.importance import Design, fanova


def test_missing_optuna_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "optuna" or m.startswith("optuna.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    design = Design(("x",), np.array([[0.0], [1.0], [2.0]]), np.array([[-0.5, 2.5]]), ("categorical",), (None,))
    with pytest.raises(ImportError, match=r"pip install 'ecnas\[importance\]'"):
        fanova(design, np.array([1.0, 2.0, 3.0]))
