"""Tests of shotbook.session."""
