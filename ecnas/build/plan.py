"""The build plan: which configurations a build measures, with which profile, seed and energy settings.

``plan.json`` in the build directory fixes everything the workers need (the search space by name and the
sampled configurations as the space's JSON fields — for NB101 their matrices and ops — so workers never
enumerate the space) and is written once: a second ``sample`` with the same settings is a no-op, one with
other settings is refused.

Sampling a finite space (NB101 up to ``max_vertices``): it is enumerated and ordered by key (ascending ASCII);
``n = max(1, round(sample_fraction x size))`` distinct positions are drawn with
``numpy.random.default_rng(seed).choice(size, n, replace=False)`` and sorted. For the full NB101 space
(423,624 cells) a 1% sample is 4,236 cells. Alternatively the user passes a list of hashes. A space that is
not finite is sampled with its own prior (:meth:`ecnas.spaces.SearchSpace.sample`, ``sample_size``
distinct configurations).

Sharding: shard ``i`` of ``N`` measures the plan's cells at positions ``i, i+N, i+2N, …`` (hash order),
so shards are disjoint, cover the plan, differ in size by at most one cell, and do not depend on
anything but ``(i, N)``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecnas._io import atomic_write_text
from ecnas.errors import EcnasError
from ecnas.spaces import SearchSpace, get_space
from ecnas.spaces.nb101.cells import MAX_VERTICES

__all__ = ["PLAN_FILE", "BuildPlan", "make_plan", "parse_shard", "read_hash_list", "read_plan", "write_plan"]

PLAN_FILE = "plan.json"
#: Plan fields that must agree when a plan is written into a directory that already holds one.
_IDENTITY = ("profile", "profile_options", "seed", "max_vertices", "sample_fraction", "hashes", "energy")


@dataclass(frozen=True)
class BuildPlan:
    """Everything a build's workers share.

    Attributes:
        profile: profile name.
        profile_options: the profile's full options (defaults filled in).
        seed: global seed (sampling and, with each cell's hash, every training run).
        max_vertices: size limit of an NB101 space sampled (other spaces ignore it).
        sample_fraction: fraction drawn, or None when the hashes (or a sample size) were given.
        space_size: number of configurations in the space (-1: not finite).
        hashes: the planned configurations' keys, ascending.
        configs: their JSON fields (:meth:`ecnas.spaces.SearchSpace.config_to_json`; NB101: pruned
            ``matrix`` and ``ops``).
        space: registry name of the search space.
        energy: keyword arguments of :func:`ecnas.energy.auto_meter`.
        sample_method: how the cells were chosen, in words.
        created: ISO time the plan was made.
    """

    profile: str
    profile_options: dict[str, Any]
    seed: int
    max_vertices: int
    sample_fraction: float | None
    space_size: int
    hashes: list[str]
    configs: list[dict[str, Any]]
    space: str = "nb101"
    energy: dict[str, Any] = field(default_factory=dict)
    sample_method: str = ""
    created: str = ""

    def __len__(self) -> int:
        return len(self.hashes)

    def search_space(self) -> SearchSpace:
        """The search space the plan samples."""
        return build_space(self.space, self.max_vertices)

    def cell(self, index: int, space: SearchSpace | None = None) -> Any:
        """The planned configuration at ``index`` (a CellSpec for NB101)."""
        return (space or self.search_space()).config_from_json(self.configs[index])

    def shard_indices(self, index: int, count: int) -> list[int]:
        """Positions of the cells shard ``index`` of ``count`` measures (``index, index+count, …``)."""
        return list(range(index, len(self.hashes), count))


def build_space(name: str, max_vertices: int = MAX_VERTICES) -> SearchSpace:
    """The search space a build samples and fills (``max_vertices`` bounds NB101; other spaces ignore it)."""
    return get_space(name, max_vertices=max_vertices) if name == "nb101" else get_space(name)


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` → ``(i, N)`` with ``0 <= i < N``.

    Raises:
        ValueError: when ``text`` is not of that form.
    """
    try:
        left, right = str(text).split("/")
        index, count = int(left), int(right)
    except ValueError:
        raise ValueError(f"shard must look like 'i/N' (e.g. '0/4'), got {text!r}.") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text!r} needs 0 <= i < N (shards are numbered from 0), got i={index}, N={count}.")
    return index, count


def read_hash_list(path: str | os.PathLike[str]) -> list[str]:
    """Hashes from a text file: one per line; blank lines and ``#`` comments are ignored."""
    file = Path(path)
    if not file.is_file():
        raise EcnasError(f"hash list {str(file)!r} does not exist.")
    hashes = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
            raise EcnasError(f"{file}:{number}: {text!r} is not a 32-character lower-case hex cell hash.")
        hashes.append(text)
    if not hashes:
        raise EcnasError(f"hash list {str(file)!r} holds no hashes.")
    return hashes


def make_plan(
    profile: str,
    profile_options: dict[str, Any],
    *,
    max_vertices: int = MAX_VERTICES,
    sample_fraction: float | None = 0.01,
    seed: int = 0,
    hashes: Sequence[str] | None = None,
    energy: dict[str, Any] | None = None,
    space: str = "nb101",
    sample_size: int | None = None,
) -> BuildPlan:
    """Choose the configurations to measure: a seeded sample of the space (or the given hashes).

    Args:
        profile: profile name (already validated by the caller).
        profile_options: the profile's options.
        max_vertices: 2..7 (NB101 only).
        sample_fraction: in (0, 1] of a finite space; ignored when ``hashes`` is given.
        seed: sampling seed.
        hashes: cells to measure instead of a sample; each must be in the space.
        energy: :func:`ecnas.energy.auto_meter` settings.
        space: registry name of the search space (the profile's).
        sample_size: how many configurations of a space that is not finite.

    Raises:
        ValueError: bad ``max_vertices``/``sample_fraction``/``sample_size``, or a hash not in the space.
    """
    if not isinstance(max_vertices, int) or not 2 <= max_vertices <= MAX_VERTICES:
        raise ValueError(f"max_vertices must be an integer in 2..{MAX_VERTICES}, got {max_vertices!r}.")
    search_space = build_space(space, max_vertices)
    if not search_space.can_enumerate:
        return _plan_of_sample(profile, profile_options, search_space, sample_size, seed, energy, max_vertices)
    keys, columns = search_space.enumerated_columns()
    size = len(keys)
    all_hashes = keys.astype("U32").tolist()
    if hashes is not None:
        position = {h: i for i, h in enumerate(all_hashes)}
        unknown = [h for h in hashes if h not in position]
        if unknown:
            raise ValueError(
                f"{len(unknown)} of the given hashes are not cells of the space with at most {max_vertices} "
                f"vertices, e.g. {unknown[:3]}; check the list or raise max_vertices."
            )
        chosen = np.unique(np.array([position[h] for h in hashes], dtype=np.int64))
        fraction = None
        method = f"{len(chosen)} cells given by hash"
    else:
        if (
            not isinstance(sample_fraction, (int, float))
            or isinstance(sample_fraction, bool)
            or not 0 < sample_fraction <= 1
        ):
            raise ValueError(f"sample_fraction must be a number in (0, 1], got {sample_fraction!r}.")
        fraction = float(sample_fraction)
        count = max(1, round(fraction * size))
        chosen = np.sort(np.random.default_rng(seed).choice(size, size=count, replace=False))
        method = (
            f"{count} of {size} cells (max_vertices={max_vertices}): numpy.random.default_rng({seed})"
            f".choice({size}, {count}, replace=False) over the hash-sorted space, sorted"
        )
    cells = [search_space.decode(columns, int(i), all_hashes[int(i)]) for i in chosen]
    return BuildPlan(
        profile=profile,
        profile_options=dict(profile_options),
        seed=int(seed),
        max_vertices=max_vertices,
        sample_fraction=fraction,
        space_size=size,
        hashes=[all_hashes[int(i)] for i in chosen],
        configs=[search_space.config_to_json(c) for c in cells],
        space=search_space.name,
        energy=dict(energy or {}),
        sample_method=method,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _plan_of_sample(
    profile: str,
    profile_options: dict[str, Any],
    space: SearchSpace,
    sample_size: int | None,
    seed: int,
    energy: dict[str, Any] | None,
    max_vertices: int,
) -> BuildPlan:
    """A plan of ``sample_size`` distinct configurations drawn from a space that is not finite."""
    if not isinstance(sample_size, int) or isinstance(sample_size, bool) or sample_size < 1:
        raise ValueError(
            f"search space {space.name!r} is not finite: give sample_size (a positive integer), got {sample_size!r}."
        )
    rng = np.random.default_rng(seed)
    chosen: dict[str, Any] = {}
    for _ in range(100):
        for config in space.sample(sample_size - len(chosen), rng):
            chosen.setdefault(space.key(config), config)
        if len(chosen) == sample_size:
            break
    keys = sorted(chosen)
    return BuildPlan(
        profile=profile,
        profile_options=dict(profile_options),
        seed=int(seed),
        max_vertices=max_vertices,
        sample_fraction=None,
        space_size=-1,
        hashes=keys,
        configs=[space.config_to_json(chosen[k]) for k in keys],
        space=space.name,
        energy=dict(energy or {}),
        sample_method=f"{len(keys)} distinct configurations drawn from the {space.name} space's prior, seed {seed}",
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def write_plan(workdir: str | os.PathLike[str], plan: BuildPlan) -> BuildPlan:
    """Write ``plan`` to ``workdir/plan.json`` unless an identical plan is there; returns the plan in force.

    Raises:
        EcnasError: when the directory already holds a plan with other settings.
    """
    directory = Path(workdir)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / PLAN_FILE
    if target.is_file():
        existing = read_plan(directory)
        old, new = asdict(existing), asdict(plan)
        differ = [key for key in _IDENTITY if old[key] != new[key]]
        if differ:
            raise EcnasError(
                f"build directory {str(directory)!r} already holds a plan with other {', '.join(differ)} "
                f"(e.g. {differ[0]}={_short(old[differ[0]])} there vs {_short(new[differ[0]])} now); "
                "resume with the same settings or use another --workdir."
            )
        return existing
    atomic_write_text(target, json.dumps(asdict(plan), indent=1))
    return plan


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) < 80 else text[:77] + "..."


def read_plan(workdir: str | os.PathLike[str]) -> BuildPlan:
    """The plan of a build directory.

    Raises:
        EcnasError: when there is none or it is unreadable.
    """
    target = Path(workdir) / PLAN_FILE
    if not target.is_file():
        raise EcnasError(
            f"no build plan in {str(Path(workdir))!r}; create one with `ecnas build sample --workdir ...` "
            "or run the whole build with `ecnas build run`."
        )
    try:
        data = json.loads(target.read_text())
        if "matrices" in data and "configs" not in data:  # plans written before spaces were plug-ins
            pairs = zip(data.pop("matrices"), data.pop("ops"), strict=True)
            data["configs"] = [{"matrix": matrix, "ops": ops} for matrix, ops in pairs]
        return BuildPlan(**data)
    except (json.JSONDecodeError, TypeError, KeyError, ValueError, RecursionError) as error:
        raise EcnasError(f"build plan {str(target)!r} is unreadable ({error}); delete it and sample again.") from None
