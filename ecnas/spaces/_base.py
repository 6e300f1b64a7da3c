"""The search-space contract: everything the table, benchmark, surrogate, optimizers and builder ask of a space.

A space owns its configurations end to end, so no other layer needs to know what a configuration *is*:

- **identity** — :meth:`SearchSpace.validate` turns a raw configuration into the space's config object (or
  raises :class:`~ecnas.errors.InvalidConfigError` naming the rule), :meth:`SearchSpace.key` gives its table
  key: 32 lowercase hex characters (NB101's md5 for cells; an md5 of the canonical values for hyperparameter
  spaces), identical for configurations the space considers equal (NB101: any vertex relabelling);
- **storage** — :attr:`SearchSpace.columns` are the per-row arrays a table stores under ``cells/``;
  :meth:`SearchSpace.encode` and :meth:`SearchSpace.decode` convert between configs and those arrays;
- **surrogate features** — :meth:`SearchSpace.features` (fixed width :attr:`SearchSpace.num_features`);
- **sampling**, **enumeration** (finite spaces only), **mutation** (for the evolutionary optimizers);
- **a box encoding** for pymoo: :meth:`SearchSpace.vector_bounds`, :meth:`SearchSpace.to_vector`,
  :meth:`SearchSpace.from_vector`;
- **ConfigSpace**: :meth:`SearchSpace.configspace` and exact round trips :meth:`SearchSpace.to_configspace` /
  :meth:`SearchSpace.from_configspace`, plus a cheap :meth:`SearchSpace.is_valid` that never raises;
- **the model the builder trains**: :meth:`SearchSpace.build_model`.

A capability a space lacks raises :class:`~ecnas.errors.SpaceCapabilityError` naming the space, so code that
needs it refuses with a clear message instead of failing deep inside (see ``can_enumerate``/``can_mutate``).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from ecnas.errors import InvalidConfigError, SpaceCapabilityError

if TYPE_CHECKING:
    from ConfigSpace import Configuration, ConfigurationSpace

__all__ = ["Column", "SearchSpace", "import_configspace"]

C = TypeVar("C")


@dataclass(frozen=True)
class Column:
    """One per-row array a table stores for a space (``cells/<name>``).

    Attributes:
        name: dataset name under ``cells/``.
        dtype: numpy dtype string of the stored array, e.g. ``"uint8"``.
        shape: shape of one row's entry (``()`` for a scalar).
    """

    name: str
    dtype: str
    shape: tuple[int, ...] = ()


def import_configspace() -> Any:
    """The ``ConfigSpace`` module, or ImportError saying how to install it."""
    try:
        import ConfigSpace
    except ImportError:  # pragma: no cover - ConfigSpace is a core dependency
        raise ImportError("the ConfigSpace representation needs ConfigSpace: pip install 'ConfigSpace>=1.2'") from None
    return ConfigSpace


class SearchSpace(abc.ABC, Generic[C]):
    """Base contract of a search space (see the module docstring for what a space owns).

    Subclasses are registered with :func:`ecnas.spaces.register_space` and looked up with
    :func:`ecnas.spaces.get_space`. Instances are cheap and immutable; :meth:`for_table` may return a variant
    bounded by what one table holds (NB101: its largest cell).
    """

    #: Registry name, set by :func:`ecnas.spaces.register_space`.
    name: ClassVar[str] = ""
    #: One line for ``ecnas info`` and docs.
    description: ClassVar[str] = ""
    #: What :meth:`features` holds, for provenance.
    features_description: ClassVar[str] = ""
    #: The space is finite and :meth:`enumerate` lists it.
    can_enumerate: ClassVar[bool] = False
    #: :meth:`mutate` is implemented (the evolutionary optimizers need it).
    can_mutate: ClassVar[bool] = False
    #: The box encoding takes integer values only (pymoo ``vtype=int``); else real values.
    vector_integer: ClassVar[bool] = False

    # ------------------------------------------------------------------ identity
    @abc.abstractmethod
    def validate(self, raw: Any) -> C:
        """The config object of a raw configuration (a config object passes through).

        Raises:
            InvalidConfigError: ``raw`` is not a member of the space; the message names the rule.
        """

    @abc.abstractmethod
    def key(self, config: C) -> str:
        """The table key of a validated config: 32 lowercase hex characters."""

    def known_key(self, config: C) -> str | None:
        """The key if it is free to get (already computed), else None.

        Lets a lookup try :meth:`structure_index` before paying for :meth:`key`. Default: :meth:`key` (cheap
        keys are always "known").
        """
        return self.key(config)

    def relabel(self, config: C, rng: np.random.Generator) -> C:
        """An equal configuration in another representation (NB101: another vertex order); default: itself.

        The contract suite checks that :meth:`key` does not change under it.
        """
        return config

    #: The JSON fields :meth:`config_to_json` writes (build records must carry them).
    config_fields: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def config_to_json(self, config: C) -> dict[str, Any]:
        """The JSON fields that describe ``config`` in build plans and records (NB101: ``matrix`` and ``ops``)."""

    @abc.abstractmethod
    def config_from_json(self, fields: Mapping[str, Any]) -> C:
        """The config of :meth:`config_to_json` fields (validated).

        Raises:
            InvalidConfigError: the fields do not describe a valid configuration.
        """

    def default(self) -> C:
        """The space's default configuration (e.g. a paper's default)."""
        raise self.unsupported("has no default configuration")

    # ------------------------------------------------------------------ storage
    @property
    @abc.abstractmethod
    def columns(self) -> tuple[Column, ...]:
        """Per-row arrays a table of this space stores under ``cells/`` (besides hash, parameters, source)."""

    @abc.abstractmethod
    def encode(self, configs: Sequence[C]) -> dict[str, np.ndarray]:
        """Column arrays (`n x shape`) of validated configs, in the order given."""

    @abc.abstractmethod
    def decode(self, columns: Mapping[str, np.ndarray], row: int, key: str | None = None) -> C:
        """The config stored at ``row`` of ``columns``; ``key`` (if known) spares recomputing it."""

    def keys(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """`n` keys (`S32`) of every row of ``columns``; spaces with a vectorised key override this."""
        n = len(next(iter(columns.values())))
        return np.array([self.key(self.decode(columns, row)) for row in range(n)], dtype="S32")

    def check_columns(self, columns: Mapping[str, np.ndarray]) -> tuple[int, str] | None:
        """``(row, problem)`` of the first malformed row of ``columns``, or None when every row decodes."""
        n = len(next(iter(columns.values())))
        for row in range(n):
            try:
                self.decode(columns, row)
            except (InvalidConfigError, KeyError, ValueError, IndexError) as error:
                return row, str(error)
        return None

    def structure_index(self, columns: Mapping[str, np.ndarray]) -> Any:
        """An index with ``find(config) -> row`` (-1 when absent) over stored rows, or None (the default).

        It finds a configuration without computing its key; only spaces with costly keys need one.
        """
        return None

    def for_table(self, columns: Mapping[str, np.ndarray]) -> SearchSpace[C]:
        """This space bounded by what a table holds (default: unchanged)."""
        return self

    # ------------------------------------------------------------------ surrogate features
    @property
    @abc.abstractmethod
    def num_features(self) -> int:
        """Width of :meth:`features` rows."""

    @abc.abstractmethod
    def features(self, columns: Mapping[str, np.ndarray], parameters: np.ndarray) -> np.ndarray:
        """`n x num_features` float64 surrogate inputs of stored rows (``parameters``: `n` trainable counts)."""

    def feature_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Natural ``(low, high)`` of every feature (NaN where it depends on the data), or None if unknown.

        Models scale features by them (:meth:`ecnas.optimizers.TableSpace.model_inputs`).
        """
        return None

    #: Feature sets :meth:`surrogate_features` offers; the first is what a new surrogate is fitted on.
    surrogate_feature_sets: ClassVar[tuple[str, ...]] = ("features",)

    def surrogate_features(
        self, columns: Mapping[str, np.ndarray], parameters: np.ndarray, feature_set: str | None = None
    ) -> np.ndarray:
        """`n x d` surrogate inputs of stored rows in one of :attr:`surrogate_feature_sets` (default: the first).

        ``"features"`` is :meth:`features`; a space offers richer sets (e.g. graph features) by
        listing them in :attr:`surrogate_feature_sets` and overriding :meth:`_surrogate_features`.
        A fitted surrogate records its feature set, so a table filled with it is refilled with the same.

        Raises:
            ValueError: ``feature_set`` is not one of :attr:`surrogate_feature_sets`.
        """
        name = self.surrogate_feature_sets[0] if feature_set is None else feature_set
        if name not in self.surrogate_feature_sets:
            raise ValueError(
                f"feature_set must be one of {list(self.surrogate_feature_sets)} for space {self.name!r}, "
                f"got {feature_set!r}"
            )
        return self._surrogate_features(columns, parameters, name)

    def _surrogate_features(
        self, columns: Mapping[str, np.ndarray], parameters: np.ndarray, feature_set: str
    ) -> np.ndarray:
        """Hook of :meth:`surrogate_features` (``feature_set`` is valid); the default serves ``"features"``."""
        return self.features(columns, parameters)

    def surrogate_setup(self, metric: str) -> tuple[str, dict[str, Any]]:
        """Feature set and :class:`~ecnas.surrogate.MLPSurrogate` settings a new surrogate of ``metric`` uses.

        The builder (:func:`ecnas.build.fit.fit_measured`) fits each metric with its own; what a metric depends
        on may differ (NB101: energy and time on the network's compute cost, accuracies on the cell's graph).
        Default: the first of :attr:`surrogate_feature_sets` and no settings of its own.
        """
        return self.surrogate_feature_sets[0], {}

    def num_parameters(self, columns: Mapping[str, np.ndarray], **options: Any) -> np.ndarray:
        """`n` trainable parameters (int64) of the model each stored row trains; -1 where unknown.

        ``options`` are the builder profile's model options (none: the space's default model).
        """
        return np.full(len(next(iter(columns.values()))), -1, dtype=np.int64)

    # ------------------------------------------------------------------ sampling, enumeration, mutation
    @abc.abstractmethod
    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> list[C]:
        """``n`` configurations drawn from the space's prior (seeded; may repeat in small spaces)."""

    def enumerate(self) -> Sequence[C]:
        """Every configuration of a finite space.

        Raises:
            SpaceCapabilityError: the space is not finite.
        """
        raise self.unsupported("cannot be enumerated (it is not a finite space)")

    def enumerated_columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every configuration of a finite space as ``(keys, columns)``, sorted by key (what a builder fills).

        Raises:
            SpaceCapabilityError: the space is not finite.
        """
        configs = list(self.enumerate())
        keys = np.array([self.key(c) for c in configs], dtype="S32")
        order = np.argsort(keys, kind="stable")
        columns = self.encode([configs[i] for i in order])
        return keys[order], columns

    def mutate(self, config: C, rng: np.random.Generator, *, rate: float = 1.0) -> C | None:
        """A random neighbour of ``config``; None when the drawn child is invalid (callers count and redraw).

        Args:
            config: the parent.
            rng: the caller's generator (the only source of randomness).
            rate: expected number of changed components.

        Raises:
            SpaceCapabilityError: the space has no mutation.
        """
        raise self.unsupported("has no mutation operator")

    # ------------------------------------------------------------------ box encoding (pymoo)
    @abc.abstractmethod
    def vector_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(xl, xu)`` of the box encoding."""

    @abc.abstractmethod
    def to_vector(self, config: C) -> np.ndarray:
        """A config as a point of the box."""

    @abc.abstractmethod
    def from_vector(self, x: np.ndarray) -> C | None:
        """The config a point of the box stands for; None when it is not a valid configuration."""

    # ------------------------------------------------------------------ ConfigSpace
    @abc.abstractmethod
    def configspace(self, seed: int | None = None) -> ConfigurationSpace:
        """The space as a ``ConfigSpace.ConfigurationSpace`` (for SMAC3, DeepCAVE, HPOBench-style code)."""

    @abc.abstractmethod
    def to_configspace(self, config: C) -> Configuration:
        """A config as a ``ConfigSpace.Configuration`` of :meth:`configspace`."""

    @abc.abstractmethod
    def from_configspace(self, configuration: Configuration | Mapping[str, Any]) -> C:
        """The config of a ConfigSpace configuration (or its dict).

        Raises:
            InvalidConfigError: the configuration is not a valid member of the space.
        """

    def is_valid(self, configuration: Any) -> bool:
        """True when ``configuration`` (a ConfigSpace configuration, its dict, or a raw config) is valid.

        Never raises: external optimizers call it to reject proposals before querying a table.
        """
        try:
            if isinstance(configuration, Mapping) or hasattr(configuration, "get_dictionary"):
                self.from_configspace(configuration)
            else:
                self.validate(configuration)
        except Exception:
            return False
        return True

    # ------------------------------------------------------------------ the model the builder trains
    def build_model(self, config: C, *, generator: Any = None, **options: Any) -> Any:
        """The torch module that a builder trains to measure ``config``, initialised from ``generator``.

        Raises:
            SpaceCapabilityError: the space has no model (tables of it are built elsewhere).
        """
        raise self.unsupported("has no model to train")

    # ------------------------------------------------------------------ helpers
    def unsupported(self, what: str) -> SpaceCapabilityError:
        """The error for a missing capability, naming the space."""
        return SpaceCapabilityError(f"search space {self.name or type(self).__name__!r} {what}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
