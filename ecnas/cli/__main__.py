"""``python -m ecnas.cli``: the ``ecnas`` command without the installed entry point."""

from ecnas.cli import main

if __name__ == "__main__":
    main()
