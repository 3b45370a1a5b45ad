"""shotbook.device.remote."""
