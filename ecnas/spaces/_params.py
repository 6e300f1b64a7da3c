"""Mixed hyperparameter spaces (float, integer, categorical) described by a list of parameters.

The description follows optuna's distributions (``FloatDistribution(low, high, log)``, ``IntDistribution``,
``CategoricalDistribution``) and pymoo's ``core/variable.py`` (``Real``, ``Integer``, ``Choice``): a space is
its parameters, and every encoding is derived from them —

- **stored columns**: one per parameter (float64, int64, or the int16 index of a categorical choice);
- **features** and the **box encoding**: numeric values scaled to [0, 1] (on a log scale where ``log``),
  categoricals one-hot (features) or as a bin of [0, 1] (box, like optuna's ``_transform``);
- **ConfigSpace**: ``Float``/``Integer``/``Categorical`` hyperparameters with the same names and defaults.

Floats are kept to 10 significant digits: ConfigSpace stores values as normalised vectors, so a float does not
survive ``Configuration(values=…)`` bit for bit (it moves by an ulp); rounding on validation makes
config → ConfigSpace → config an exact round trip and gives equal configurations equal keys.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.errors import InvalidConfigError
from ecnas.spaces._base import Column, SearchSpace, import_configspace

if TYPE_CHECKING:
    from ConfigSpace import Configuration, ConfigurationSpace

__all__ = ["Categorical", "Float", "HyperparameterSpace", "Integer", "ParamConfig"]

_DIGITS = 10
_MUTATION_STEP = 0.2  # std of a numeric mutation on the [0, 1] scale


def _snap(value: float) -> float:
    return float(f"{value:.{_DIGITS}g}")


def _check_range(name: str, low: float, high: float, default: float, log: bool) -> None:
    """The rules every numeric parameter obeys (optuna's: ``low < high``, log scales above 0, default inside)."""
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"parameter {name!r}: low < high must hold, got ({low}, {high})")
    if log and low <= 0:
        raise ValueError(f"parameter {name!r}: a log scale needs low > 0, got {low}")
    if not low <= default <= high:
        raise ValueError(f"parameter {name!r}: default {default} is outside [{low}, {high}]")


@dataclass(frozen=True)
class Float:
    """A real-valued hyperparameter in ``[low, high]`` (log-uniform when ``log``)."""

    name: str
    low: float
    high: float
    default: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.default, self.log)


@dataclass(frozen=True)
class Integer:
    """An integer hyperparameter in ``[low, high]`` (log-uniform when ``log``)."""

    name: str
    low: int
    high: int
    default: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.default, self.log)


@dataclass(frozen=True)
class Categorical:
    """A hyperparameter taking one of ``choices`` (strings, ints or bools)."""

    name: str
    choices: tuple[Any, ...]
    default: Any

    def __post_init__(self) -> None:
        if len(self.choices) < 2 or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"parameter {self.name!r}: needs at least two distinct choices, got {self.choices}")
        if self.default not in self.choices:
            raise ValueError(f"parameter {self.name!r}: default {self.default!r} is not one of {self.choices}")


Parameter = Float | Integer | Categorical


class ParamConfig(Mapping[str, Any]):
    """A validated configuration of a :class:`HyperparameterSpace`: an immutable name → value mapping."""

    __slots__ = ("_key", "_values")

    def __init__(self, values: dict[str, Any], key: str) -> None:
        self._values = values
        self._key = key

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParamConfig):
            return self._key == other._key
        return NotImplemented

    def __repr__(self) -> str:
        return f"ParamConfig({self._values!r})"

    @property
    def key(self) -> str:
        """The configuration's table key (md5 of its canonical values)."""
        return self._key


class HyperparameterSpace(SearchSpace[ParamConfig]):
    """A search space given by a list of :class:`Float`, :class:`Integer` and :class:`Categorical` parameters.

    Subclasses set :attr:`parameters` (or pass them to the constructor) and may add a model to train.

    Args:
        parameters: the parameters, in the order of every encoding; names must be distinct.
    """

    can_mutate = True
    config_fields = ("config",)
    features_description = "parameters on [0, 1] (log scale where log), categoricals one-hot"
    parameters: tuple[Parameter, ...] = ()

    def __init__(self, parameters: Sequence[Parameter] | None = None) -> None:
        if parameters is not None:
            self.parameters = tuple(parameters)
        names = [p.name for p in self.parameters]
        if not names or len(set(names)) != len(names) or any(not n or "/" in n for n in names):
            raise ValueError(f"parameters must have distinct non-empty names without '/', got {names}")
        self._by_name = {p.name: p for p in self.parameters}
        widths = [len(p.choices) if isinstance(p, Categorical) else 1 for p in self.parameters]
        self._offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)

    # ------------------------------------------------------------------ identity
    def validate(self, raw: Any) -> ParamConfig:
        """A :class:`ParamConfig` from a mapping of every parameter's value (a ConfigSpace configuration too).

        Raises:
            InvalidConfigError: a name is unknown or missing, or a value breaks its parameter's rule.
        """
        if isinstance(raw, ParamConfig):
            return raw
        if not isinstance(raw, Mapping):
            raise InvalidConfigError(
                f"a configuration of space {self.name!r} must be a mapping of parameter names to values, "
                f"got {type(raw).__name__}"
            )
        unknown = sorted(str(k) for k in raw if k not in self._by_name)
        missing = [p.name for p in self.parameters if p.name not in raw]
        if unknown or missing:
            raise InvalidConfigError(
                f"configuration of space {self.name!r}: unknown parameters {unknown}, missing parameters {missing}; "
                f"the parameters are {list(self._by_name)}"
            )
        values = {p.name: self._checked(p, raw[p.name]) for p in self.parameters}
        return ParamConfig(values, self._key_of(values))

    def _checked(self, parameter: Parameter, value: Any) -> Any:
        where = f"parameter {parameter.name!r} of space {self.name!r}"
        if isinstance(parameter, Categorical):
            if isinstance(value, np.generic):
                value = value.item()
            for choice in parameter.choices:
                if type(choice) is type(value) and choice == value:
                    return choice
            raise InvalidConfigError(f"{where} must be one of {list(parameter.choices)}, got {value!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidConfigError(f"{where} must be a number, got {value!r}")
        if isinstance(parameter, Integer):
            if not float(value).is_integer():
                raise InvalidConfigError(f"{where} must be an integer, got {value!r}")
            number: float = int(value)
        else:
            if not math.isfinite(float(value)):
                raise InvalidConfigError(f"{where} must be finite, got {value!r}")
            number = _snap(float(value))
        if not parameter.low <= number <= parameter.high:
            raise InvalidConfigError(f"{where} must lie in [{parameter.low}, {parameter.high}], got {value!r}")
        return number

    def _key_of(self, values: Mapping[str, Any]) -> str:
        text = json.dumps([[name, values[name]] for name in self._by_name], separators=(",", ":"))
        return hashlib.md5(text.encode("utf-8")).hexdigest()

    def key(self, config: ParamConfig) -> str:
        """md5 of the canonical JSON of the values, in parameter order."""
        return config.key

    def config_to_json(self, config: ParamConfig) -> dict[str, Any]:
        """``{"config": {name: value}}``."""
        return {"config": dict(config)}

    def config_from_json(self, fields: Mapping[str, Any]) -> ParamConfig:
        """The config of ``fields["config"]``."""
        if not isinstance(fields, Mapping) or not isinstance(fields.get("config"), Mapping):
            raise InvalidConfigError(f"a {self.name!r} configuration record needs a 'config' mapping")
        return self.validate(fields["config"])

    def default(self) -> ParamConfig:
        """Every parameter at its default."""
        return self.validate({p.name: p.default for p in self.parameters})

    # ------------------------------------------------------------------ storage
    @property
    def columns(self) -> tuple[Column, ...]:
        """One column per parameter: float64, int64, or int16 choice index."""
        kinds = {Float: "float64", Integer: "int64", Categorical: "int16"}
        return tuple(Column(p.name, kinds[type(p)]) for p in self.parameters)

    def encode(self, configs: Sequence[ParamConfig]) -> dict[str, np.ndarray]:
        """Column arrays of validated configs."""
        out: dict[str, np.ndarray] = {}
        for p, column in zip(self.parameters, self.columns, strict=True):
            if isinstance(p, Categorical):
                values = [p.choices.index(c[p.name]) for c in configs]
            else:
                values = [c[p.name] for c in configs]
            out[p.name] = np.asarray(values, dtype=column.dtype).reshape(len(configs))
        return out

    def decode(self, columns: Mapping[str, np.ndarray], row: int, key: str | None = None) -> ParamConfig:
        """The config at ``row``."""
        raw: dict[str, Any] = {}
        for p in self.parameters:
            value = columns[p.name][row]
            if isinstance(p, Categorical):
                index = int(value)
                if not 0 <= index < len(p.choices):
                    raise InvalidConfigError(f"parameter {p.name!r}: stored choice index {index} is out of range")
                raw[p.name] = p.choices[index]
            else:
                raw[p.name] = value.item()
        return self.validate(raw)

    # ------------------------------------------------------------------ unit scale
    def _to_unit(self, p: Float | Integer, values: np.ndarray) -> np.ndarray:
        if p.log:
            return (np.log(values) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
        return (values - p.low) / (p.high - p.low)

    def _from_unit(self, p: Float | Integer, u: float) -> float | int:
        u = min(max(u, 0.0), 1.0)
        if isinstance(p, Integer):
            # Equal-width bins over [low - 0.5, high + 0.5] (on the log scale where log): every integer reachable.
            lo, hi = (math.log(p.low - 0.5 if p.low > 0.5 else p.low), math.log(p.high + 0.5)) if p.log else (
                p.low - 0.5,
                p.high + 0.5,
            )
            x = lo + u * (hi - lo)
            return int(min(max(round(math.exp(x) if p.log else x), p.low), p.high))
        if p.log:
            return _snap(min(max(math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low))), p.low), p.high))
        return _snap(min(max(p.low + u * (p.high - p.low), p.low), p.high))

    # ------------------------------------------------------------------ features
    @property
    def num_features(self) -> int:
        """Numeric parameters one column each, categoricals one-hot."""
        return int(self._offsets[-1])

    def feature_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Every feature lies in [0, 1]."""
        return np.zeros(self.num_features), np.ones(self.num_features)

    def features(self, columns: Mapping[str, np.ndarray], parameters: np.ndarray) -> np.ndarray:
        """Numeric values on [0, 1] (log scale where ``log``), categoricals one-hot; ``parameters`` unused."""
        n = len(columns[self.parameters[0].name])
        out = np.zeros((n, self.num_features))
        for k, p in enumerate(self.parameters):
            values = np.asarray(columns[p.name])
            if isinstance(p, Categorical):
                out[np.arange(n), self._offsets[k] + values.astype(np.int64)] = 1.0
            else:
                out[:, self._offsets[k]] = self._to_unit(p, values.astype(np.float64))
        return out

    # ------------------------------------------------------------------ sampling and mutation
    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> list[ParamConfig]:
        """``n`` configurations: numeric values uniform on their (log) scale, choices uniform."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        draws = rng.random((int(n), len(self.parameters)))  # the box encoding is the unit cube
        return [self.from_vector(row) for row in draws]  # type: ignore[misc]

    def mutate(self, config: ParamConfig, rng: np.random.Generator, *, rate: float = 1.0) -> ParamConfig:
        """Each parameter changes with probability ``rate / d`` (at least one does).

        Numeric values take a Gaussian step of 0.2 on their [0, 1] scale (clipped); categoricals move to
        another choice.
        """
        x = self.to_vector(config)
        d = len(self.parameters)
        change = rng.random(d) < min(rate / d, 1.0)
        if not change.any():
            change[rng.integers(d)] = True
        for k in np.flatnonzero(change):
            p = self.parameters[k]
            if isinstance(p, Categorical):
                current = p.choices.index(config[p.name])
                other = (current + rng.integers(1, len(p.choices))) % len(p.choices)
                x[k] = (other + 0.5) / len(p.choices)
            else:
                x[k] = float(np.clip(x[k] + rng.normal(0.0, _MUTATION_STEP), 0.0, 1.0))
        return self.from_vector(x)  # type: ignore[return-value]

    # ------------------------------------------------------------------ box encoding
    def vector_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The unit cube, one dimension per parameter."""
        d = len(self.parameters)
        return np.zeros(d), np.ones(d)

    def to_vector(self, config: ParamConfig) -> np.ndarray:
        """Numeric values on their [0, 1] scale; a categorical at the centre of its choice's bin."""
        x = np.empty(len(self.parameters))
        for k, p in enumerate(self.parameters):
            if isinstance(p, Categorical):
                x[k] = (p.choices.index(config[p.name]) + 0.5) / len(p.choices)
            elif isinstance(p, Integer):
                lo, hi = (math.log(p.low - 0.5 if p.low > 0.5 else p.low), math.log(p.high + 0.5)) if p.log else (
                    p.low - 0.5,
                    p.high + 0.5,
                )
                value = math.log(config[p.name]) if p.log else config[p.name]
                x[k] = (value - lo) / (hi - lo)
            else:
                x[k] = float(self._to_unit(p, np.float64(config[p.name])))
        return x

    def from_vector(self, x: np.ndarray) -> ParamConfig | None:
        """The config of a point of the unit cube (clipped); None for a point with NaN."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if x.size != len(self.parameters) or not np.isfinite(x).all():
            return None
        values: dict[str, Any] = {}
        for k, p in enumerate(self.parameters):
            if isinstance(p, Categorical):
                values[p.name] = p.choices[min(int(max(x[k], 0.0) * len(p.choices)), len(p.choices) - 1)]
            else:
                values[p.name] = self._from_unit(p, float(x[k]))
        return self.validate(values)

    # ------------------------------------------------------------------ ConfigSpace
    def configspace(self, seed: int | None = None) -> ConfigurationSpace:
        """``Float``/``Integer``/``Categorical`` hyperparameters with the same names, bounds and defaults."""
        cs = import_configspace()
        hyperparameters = []
        for p in self.parameters:
            if isinstance(p, Categorical):
                hyperparameters.append(cs.Categorical(p.name, list(p.choices), default=p.default))
            elif isinstance(p, Integer):
                hyperparameters.append(cs.Integer(p.name, (p.low, p.high), default=p.default, log=p.log))
            else:
                hyperparameters.append(cs.Float(p.name, (p.low, p.high), default=p.default, log=p.log))
        space = cs.ConfigurationSpace(name=self.name or None, seed=seed)
        space.add(hyperparameters)
        return space

    def to_configspace(self, config: ParamConfig) -> Configuration:
        """The ConfigSpace configuration of a config."""
        cs = import_configspace()
        return cs.Configuration(self._configspace(), values=dict(config))

    def _configspace(self) -> ConfigurationSpace:
        cached = getattr(self, "_cs_cache", None)
        if cached is None:
            cached = self._cs_cache = self.configspace()
        return cached

    def from_configspace(self, configuration: Configuration | Mapping[str, Any]) -> ParamConfig:
        """The config of a ConfigSpace configuration (floats rounded to 10 significant digits)."""
        return self.validate(dict(configuration))
