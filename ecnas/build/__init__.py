"""The builder: sample → measure (train under an energy meter) → fit (surrogates) → fill (the table).

Resumable and shardable; see :mod:`ecnas.build.plan` (sampling, sharding), :mod:`ecnas.build.records`
(durable record files), :mod:`ecnas.build.profiles` (``tiny``, ``nb101-cifar10``),
:mod:`ecnas.build.recipe` (TOML recipes in ``builders/``) and :mod:`ecnas.build.pipeline` (``run``).
Heavy parts (torch) load on first use.
"""

from __future__ import annotations

from ecnas.build.plan import BuildPlan, make_plan, parse_shard, read_plan, write_plan
from ecnas.build.profiles import PROFILES, NB101Cifar10Profile, Profile, TinyProfile, get_profile, register_profile
from ecnas.build.records import RECORD_KEYS, RecordWriter, load_records
from ecnas.build.status import build_status, merge_records

__all__ = [
    "PROFILES",
    "RECORD_KEYS",
    "BuildPlan",
    "NB101Cifar10Profile",
    "Profile",
    "RecordWriter",
    "TinyProfile",
    "build_status",
    "get_profile",
    "load_records",
    "make_plan",
    "measure_shard",
    "merge_records",
    "parse_shard",
    "read_plan",
    "register_profile",
    "write_plan",
]


def __getattr__(name: str) -> object:
    if name == "measure_shard":
        from ecnas.build.measure import measure_shard

        return measure_shard
    raise AttributeError(f"module 'ecnas.build' has no attribute {name!r}")
