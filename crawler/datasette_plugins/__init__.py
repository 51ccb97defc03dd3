"""Datasette plugins of `newsmon serve` (loaded with --plugins-dir)."""
