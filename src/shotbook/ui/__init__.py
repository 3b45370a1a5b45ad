"""shotbook.ui."""
