"""shotbook.session."""
