"""``python -m ecnas.cli``: the ``ecnas`` command."""

from ecnas.cli import main

if __name__ == "__main__":
    main(prog_name="ecnas")
