"""shotbook.extension."""
