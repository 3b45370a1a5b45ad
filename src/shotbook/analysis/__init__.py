"""shotbook.analysis."""
