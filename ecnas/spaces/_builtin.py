"""Spaces that register on first lookup (kept out of ``import ecnas.spaces`` so it stays light)."""

import ecnas.spaces.dsnn  # noqa: F401  (registers "dsnn")
