"""Entry point of one measure worker process: ``python -m ecnas.build.worker --workdir W --shard i/N``.

The local launcher starts these; ``ecnas build measure`` does the same from the command line (and is
what the Slurm template calls).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ecnas.build.measure import measure_shard
from ecnas.build.plan import parse_shard


def main(argv: list[str] | None = None) -> int:
    """Measure one shard; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m ecnas.build.worker", description=__doc__)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--shard", default="0/1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    from ecnas._lifecycle import PARENT_PID_VARIABLE, die_with_parent, install_stop_handler, stop_requested

    install_stop_handler(graceful=True)  # SIGTERM (Slurm preemption, the launcher): finish the cell, then stop
    if PARENT_PID_VARIABLE in os.environ:
        die_with_parent()  # started by the local launcher: never outlive it
    summary = measure_shard(
        args.workdir, shard=parse_shard(args.shard), threads=args.threads, limit=args.limit, progress=args.progress
    )
    print(
        f"shard {args.shard}: planned {summary.planned}, already done {summary.already_done}, "
        f"measured {summary.measured} in {summary.seconds:.1f} s",
        flush=True,
    )
    return 128 + signal.SIGTERM if stop_requested() else 0


if __name__ == "__main__":
    sys.exit(main())
