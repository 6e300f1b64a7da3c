"""``python -m ecnas.cli``: the ecnas command line."""

from ecnas.cli import main

main()
