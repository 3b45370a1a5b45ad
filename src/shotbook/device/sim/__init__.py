"""shotbook.device.sim."""
