"""shotbook.compile."""
