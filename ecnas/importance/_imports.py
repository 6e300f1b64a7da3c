"""The one guarded import of the optional ``importance`` extra (optuna's fANOVA on scikit-learn forests)."""

from __future__ import annotations

from typing import Any

__all__ = ["INSTALL_HINT", "optuna_fanova"]

#: What to run when the extra is missing.
INSTALL_HINT = "pip install 'ecnas[importance]'"


def optuna_fanova() -> Any:
    """The private fANOVA class of optuna (``optuna.importance._fanova._fanova._Fanova``).

    ecnas uses optuna's forest and per-tree marginal-variance code (the efficient algorithm of Hutter et al.,
    2014) but not its study-based evaluator, because it needs the per-tree variances for pairs and its own
    encoding of the space. The private names are checked here so that an optuna release that moves them gives
    a clear error instead of a failure deep inside.

    Raises:
        ImportError: optuna is not installed (names the ``importance`` extra), or its fANOVA internals moved.
    """
    try:
        from optuna.importance._fanova._fanova import _Fanova
        from optuna.importance._fanova._tree import _FanovaTree
    except ImportError:
        raise ImportError(f"hyperparameter importance needs optuna (>=4) and scikit-learn: {INSTALL_HINT}") from None
    missing = [name for name in ("get_marginal_variance", "variance") if not hasattr(_FanovaTree, name)]
    if missing or not hasattr(_Fanova, "get_importance"):
        import optuna

        raise ImportError(
            f"optuna {optuna.__version__} no longer provides the fANOVA internals ecnas uses "
            f"(missing {missing or ['_Fanova.get_importance']}); install optuna>=4,<6: {INSTALL_HINT}"
        )
    return _Fanova
