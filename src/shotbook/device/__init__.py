"""shotbook.device."""
