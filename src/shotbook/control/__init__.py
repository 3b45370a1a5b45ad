"""shotbook.control."""
