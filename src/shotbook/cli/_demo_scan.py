"""Kept for older imports: the demo's scan is public in :mod:`shotbook.demo`."""

from shotbook.demo import demo_globals, demo_scan

__all__ = ["demo_globals", "demo_scan"]
