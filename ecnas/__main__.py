"""``python -m ecnas``: the ecnas command line."""

from ecnas.cli import main

main()
