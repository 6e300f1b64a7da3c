"""Spaces that register on first lookup (kept out of ``import ecnas.spaces`` so it stays light)."""
